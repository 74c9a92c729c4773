"""Kernel writes straight into a persistent coherent mapping, in-process (os.preadv into the mapped
pointer). The mprotect tracker write-protects clean pages, and the kernel fails with EFAULT
instead of faulting like a user write: in-process, the program calls
glcoherent.prepare_kernel_write first (the interposer wraps the libc calls itself, see
test_interposer.py::test_kernel_writes_into_mappings). The bytes then reach the next GL command
that reads the buffer."""

import os
import tempfile

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import C, P, W, arr, delete_buffers, get_sub, raw, storage

import glcoherent

pytestmark = pytest.mark.gl

PAGE = 4096
SIZE = 16 * PAGE


def setup_buffers():
    src = storage(GL.GL_COPY_READ_BUFFER, SIZE, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_COPY_READ_BUFFER, 0, SIZE, W | P | C)
    dst = storage(GL.GL_COPY_WRITE_BUFFER, SIZE, GL.GL_DYNAMIC_STORAGE_BIT)
    m = arr(ptr, SIZE)
    m[0] = 1
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
    return src, dst, ptr, m


def test_kernel_write_after_prepare_reaches_the_gpu(gl, glc):
    src, dst, ptr, m = setup_buffers()
    data = np.arange(256, dtype=np.uint8)
    with tempfile.TemporaryFile() as f:
        f.write(data.tobytes())
        f.flush()
        for page in (3, 7):
            raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
            off = page * PAGE + 100
            glcoherent.prepare_kernel_write(ptr + off, 256)
            n = os.preadv(f.fileno(), [m[off:off + 256]], 0)
            assert n == 256
            raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
            assert np.array_equal(get_sub(GL.GL_COPY_WRITE_BUFFER, off, 256), data)
    GL.glUnmapBuffer(GL.GL_COPY_READ_BUFFER)
    delete_buffers(src, dst)


NEGATIVE_CONTROL = r"""
import errno, os, tempfile
from glcoherent.egl import HeadlessContext
ctx = HeadlessContext()
import glcoherent
glc = glcoherent.install(tracker="mprotect")
from OpenGL import GL
F = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
SIZE = 16 * 4096
src, dst = GL.glGenBuffers(2)
GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
GL.glBufferStorage(GL.GL_COPY_READ_BUFFER, SIZE, None, F)
ptr = GL.glMapBufferRange(GL.GL_COPY_READ_BUFFER, 0, SIZE, F)
GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, dst)
GL.glBufferStorage(GL.GL_COPY_WRITE_BUFFER, SIZE, None, GL.GL_DYNAMIC_STORAGE_BIT)
m = glcoherent.mapping_array(ptr, SIZE)
m[0] = 1
GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
off = 9 * 4096
with tempfile.TemporaryFile() as f:
    f.write(bytes(range(64)))
    f.flush()
    try:
        os.preadv(f.fileno(), [m[off:off + 64]], 0)
        without = "ok"
    except OSError as exc:
        without = errno.errorcode.get(exc.errno, str(exc.errno))
    glcoherent.prepare_kernel_write(ptr + off, 64)
    n = os.preadv(f.fileno(), [m[off:off + 64]], 0)
GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
back = GL.glGetBufferSubData(GL.GL_COPY_WRITE_BUFFER, off, 64)
print(without, n, bytes(back) == bytes(range(64)))
"""


def test_prepare_is_what_makes_the_kernel_write_work_under_mprotect():
    """Negative control where the pages are write-protected for sure (the mprotect tracker,
    in a fresh process): without prepare the kernel refuses with EFAULT; with it the write
    succeeds and reaches the GPU."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", NEGATIVE_CONTROL], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.split() == ["EFAULT", "64", "True"], p.stdout
