"""Persistent mappings: the client writes, the GPU reads (draw); the GPU writes, the client reads.

Rows of 02-gl-contract.md: visibility through COHERENT maps; non-coherent maps with
glFlushMappedBufferRange and with glMemoryBarrier(CLIENT_MAPPED_BUFFER_BARRIER_BIT); client
storage (piglit bufferstorage-persistent draw/read x coherent x client-storage).
"""

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    CLIENT,
    COLOR_FS,
    COLOR_VS,
    FE,
    C,
    P,
    R,
    Target,
    W,
    arr,
    assert_color,
    assert_low,
    buffer_pointer,
    cleanup_draw,
    color_vao,
    delete_buffers,
    fence_and_wait,
    get_sub,
    pattern,
    program,
    raw,
    storage,
    triangle,
)

pytestmark = pytest.mark.gl

COLORS = [(255, 0, 0, 255), (0, 255, 0, 255), (10, 20, 30, 40), (0, 0, 255, 255),
          (200, 100, 50, 255)]

# (storage extra flags, map extra flags, how the client makes writes visible)
DRAW_MODES = {
    "coherent": (C, C, None),
    "coherent-client-storage": (C | CLIENT, C, None),
    "flush-explicit": (0, FE, "flush"),
    "flush-explicit-client-storage": (CLIENT, FE, "flush"),
    "barrier": (0, 0, "barrier"),
    "barrier-client-storage": (CLIENT, 0, "barrier"),
}


@pytest.mark.parametrize("mode", list(DRAW_MODES))
def test_persistent_draw(gl, glc, limit, mode):
    """piglit bufferstorage-persistent draw: vertices written through the map after mapping,
    drawn without unmapping, several times in a row with new data each time."""
    sflags, mflags, how = DRAW_MODES[mode]
    size, off = 3 * 4096, 4096 + 256  # vertices on the second page, not at the map start
    vbo = storage(GL.GL_ARRAY_BUFFER, size, W | P | sflags)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, size, W | P | mflags)
    assert_low(ptr, size, limit)
    assert buffer_pointer(GL.GL_ARRAY_BUFFER) == ptr
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(vbo, off)
    tgt = Target()
    GL.glUseProgram(prog)
    verts = arr(ptr + off, 18, np.float32)
    for rgba in COLORS:
        verts[:] = triangle(rgba)
        if how == "flush":
            raw.glFlushMappedBufferRange(GL.GL_ARRAY_BUFFER, off, 18 * 4)
        elif how == "barrier":
            raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(vbo)


@pytest.mark.parametrize("mode", list(DRAW_MODES))
def test_persistent_draw_elements_from_mapped_index_buffer(gl, limit, mode):
    """Element (index) data and vertex data in one persistently mapped buffer; the index data
    changes between draws."""
    sflags, mflags, how = DRAW_MODES[mode]
    size = 4096
    buf = storage(GL.GL_ARRAY_BUFFER, size, W | P | sflags)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, size, W | P | mflags)
    assert_low(ptr, size, limit)
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(buf, 0)
    GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, buf)
    tgt = Target()
    GL.glUseProgram(prog)
    verts = arr(ptr, 36, np.float32)
    verts[:18] = triangle(COLORS[0])
    verts[18:] = triangle(COLORS[1])
    idx = arr(ptr + 2048, 3, np.uint16)
    for first, rgba in ((0, COLORS[0]), (3, COLORS[1]), (0, COLORS[0])):
        idx[:] = [first, first + 1, first + 2]
        if how == "flush":
            raw.glFlushMappedBufferRange(GL.GL_ARRAY_BUFFER, 0, size)
        elif how == "barrier":
            raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
        tgt.clear()
        raw.glDrawElements(GL.GL_TRIANGLES, 3, GL.GL_UNSIGNED_SHORT, 2048)
        assert_color(tgt.pixels(), rgba)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf)
    assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf)


READ_MODES = {
    "coherent": (C, C, False),
    "coherent-client-storage": (C | CLIENT, C, False),
    "noncoherent-barrier": (0, 0, True),
    "noncoherent-barrier-client-storage": (CLIENT, 0, True),
}


@pytest.mark.parametrize("mode", list(READ_MODES))
def test_persistent_read(gl, limit, mode):
    """piglit bufferstorage-persistent read: the GPU writes a persistently mapped READ buffer
    (a copy from another buffer), the client waits on a fence and reads through the map.
    Non-coherent maps need glMemoryBarrier(CLIENT_MAPPED_BUFFER_BARRIER_BIT) before the fence."""
    sflags, mflags, barrier = READ_MODES[mode]
    size = 8192
    dst = storage(GL.GL_COPY_WRITE_BUFFER, size, R | P | sflags)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, size, R | P | mflags)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    assert not view.any()
    for k in range(3):
        data = pattern(size, seed=k)
        src = storage(GL.GL_COPY_READ_BUFFER, size, 0, data)
        raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, size)
        if barrier:
            raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
        fence_and_wait()
        assert np.array_equal(view, data), f"round {k}"
        delete_buffers(src)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, dst)
    assert raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(dst)


def test_persistent_write_then_read_same_buffer(gl, limit):
    """READ|WRITE coherent map: client bytes go down (seen by a copy to another buffer) and GPU
    bytes (a copy into the mapped buffer) come back, in alternation on the same pages."""
    size = 4 * 4096
    buf = storage(GL.GL_COPY_WRITE_BUFFER, size, R | W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, size, R | W | P | C)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    other = storage(GL.GL_COPY_READ_BUFFER, size, GL.GL_DYNAMIC_STORAGE_BIT)
    for k in range(4):
        view[:] = pattern(size, seed=k)
        # client -> GPU: mapped buffer is the copy source
        raw.glCopyBufferSubData(GL.GL_COPY_WRITE_BUFFER, GL.GL_COPY_READ_BUFFER, 0, 0, size)
        assert np.array_equal(get_sub(GL.GL_COPY_READ_BUFFER, 0, size), pattern(size, seed=k))
        # GPU -> client: a different pattern copied back in, half of the buffer
        g = pattern(size // 2, seed=100 + k)
        raw.glBufferSubData(GL.GL_COPY_READ_BUFFER, 0, size // 2, g.ctypes.data)
        raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 1000,
                                size // 2)
        fence_and_wait()
        want = pattern(size, seed=k)
        want[1000:1000 + size // 2] = g
        assert np.array_equal(view, want), f"round {k}"
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(buf, other)


@pytest.mark.parametrize("size", [3 * 4096 + 100, (1 << 20) + 4096 + 100])
def test_map_loads_lone_bytes_at_chunk_edges(gl, limit, size):
    """A new map loads only the non-zero 4 KiB chunks of the buffer: a lone non-zero byte at
    either edge of a chunk, in the short last chunk and at the very end must all arrive."""
    data = np.zeros(size, np.uint8)
    for at in (4095, 4096 * 2, 4096 * 3, size - 1):
        data[at] = (at % 251) + 1
    buf = storage(GL.GL_ARRAY_BUFFER, size, R | W | P | C, data)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, size, R | W | P | C)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    assert np.array_equal(view, data)
    assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    delete_buffers(buf)
