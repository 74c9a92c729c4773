"""GPU writes are tracked by range: a command that writes part of a mapped buffer brings back
only that part at the next sync point (a 256 KiB copy into a 64 MiB chunk must not diff 64 MiB).

White-box check: right after the tracked command, a "spy" change is made to the real buffer
behind glcoherent's back (a native, bypassed glBufferSubData at another offset). A copy-back
limited to the written range leaves the spy invisible in the mapping at the next sync point; one
that diffed the whole mapping would bring it in. The written
range itself must arrive exactly.
"""

import ctypes

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import DYN, RWPC, arr, delete_buffers, native, raw, storage

pytestmark = pytest.mark.gl

SIZE = 1 << 20
SPY = 4096          # the spy's offset, far from the written ranges below
AT = 512 << 10      # where the commands write


def chunk():
    """A persistent coherent READ|WRITE buffer, mapped whole, that the CPU wrote (so that
    copy-back merges byte by byte, as with wined3d's allocator chunks)."""
    buf = storage(GL.GL_COPY_WRITE_BUFFER, SIZE, RWPC | DYN)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, SIZE, RWPC)
    m = arr(ptr, SIZE)
    m[:] = 1
    return buf, m


def plant_spy(glc, buf):
    with native(glc):
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, buf)
        raw.glBufferSubData(GL.GL_COPY_WRITE_BUFFER, SPY, 4, (ctypes.c_ubyte * 4)(9, 9, 9, 9))
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, buf)


def source(n, value):
    src = GL.glGenBuffers(1)
    GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
    GL.glBufferData(GL.GL_COPY_READ_BUFFER, n, np.full(n, value, np.uint8), GL.GL_STATIC_DRAW)
    return src


def test_copy_brings_back_only_the_destination_range(gl, glc):
    buf, m = chunk()
    src = source(256, 7)
    raw.glFinish()
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, AT, 256)
    plant_spy(glc, buf)
    raw.glFinish()
    assert (m[AT:AT + 256] == 7).all() and m[AT - 1] == 1 and m[AT + 256] == 1
    assert (m[SPY:SPY + 4] == 1).all(), "copy-back looked beyond the written range"
    # The spy is still in the buffer: a command that may write everywhere brings it in.
    raw.glClearBufferData(GL.GL_COPY_WRITE_BUFFER, GL.GL_R8UI, GL.GL_RED_INTEGER,
                          GL.GL_UNSIGNED_BYTE, None)
    raw.glFinish()
    assert (m == 0).all()
    GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(buf, src)


def test_sub_data_and_clear_sub_data_ranges(gl, glc):
    buf, m = chunk()
    raw.glFinish()
    raw.glBufferSubData(GL.GL_COPY_WRITE_BUFFER, AT, 8, (ctypes.c_ubyte * 8)(*range(10, 18)))
    raw.glClearBufferSubData(GL.GL_COPY_WRITE_BUFFER, GL.GL_R8UI, AT + 64, 16,
                             GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE,
                             (ctypes.c_ubyte * 1)(5))
    plant_spy(glc, buf)
    raw.glFinish()
    assert list(m[AT:AT + 8]) == list(range(10, 18))
    assert (m[AT + 64:AT + 80] == 5).all() and m[AT + 80] == 1
    assert (m[SPY:SPY + 4] == 1).all()
    GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(buf)


def test_query_result_range(gl, glc):
    buf, m = chunk()
    GL.glBindBuffer(GL.GL_QUERY_BUFFER, buf)
    q = int(np.ravel(GL.glGenQueries(1))[0])
    GL.glQueryCounter(q, GL.GL_TIMESTAMP)
    raw.glFinish()
    raw.glGetQueryObjectui64v(q, GL.GL_QUERY_RESULT, ctypes.c_void_p(AT))
    plant_spy(glc, buf)
    raw.glFinish()
    assert m[AT:AT + 8].view(np.uint64)[0] != 0x0101010101010101
    assert m[AT + 8] == 1 and (m[SPY:SPY + 4] == 1).all()
    GL.glBindBuffer(GL.GL_QUERY_BUFFER, 0)
    GL.glDeleteQueries(1, [q])
    GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(buf)


def test_write_outside_the_mapped_range_leaves_the_shadow_alone(gl, glc):
    """The buffer is mapped from offset 64 KiB on; a copy into its first bytes does not concern
    the mapping (and a later in-range write still arrives)."""
    buf = storage(GL.GL_COPY_WRITE_BUFFER, SIZE, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 65536, SIZE - 65536, RWPC)
    m = arr(ptr, SIZE - 65536)
    m[:] = 1
    src = source(256, 3)
    raw.glFinish()
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, 256)
    raw.glFinish()
    assert (m == 1).all()
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 65536 - 128, 256)
    raw.glFinish()
    assert (m[:128] == 3).all() and m[128] == 1
    GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(buf, src)
