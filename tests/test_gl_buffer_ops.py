"""Buffer commands on mapped buffers: glBufferSubData / glCopyBufferSubData /
glClearBufferSubData / glGetBufferSubData while persistently mapped (allowed, and the map shows
the result) and while mapped without PERSISTENT (INVALID_OPERATION, as the driver says);
non-persistent maps (copy in at map, out at unmap, FLUSH_EXPLICIT, INVALIDATE bits, glMapBuffer).
"""

import ctypes

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    COLOR_FS,
    COLOR_VS,
    DYN,
    FE,
    C,
    P,
    R,
    Target,
    W,
    arr,
    assert_low,
    buffer_params,
    buffer_pointer,
    cleanup_draw,
    color_vao,
    delete_buffers,
    errors,
    fence_and_wait,
    gen_buffer,
    get_sub,
    native,
    no_error,
    pattern,
    program,
    raw,
    storage,
)

pytestmark = pytest.mark.gl

T = GL.GL_COPY_WRITE_BUFFER
S = GL.GL_COPY_READ_BUFFER


@pytest.mark.parametrize("coherent", [True, False])
def test_sub_copy_clear_get_while_persistently_mapped(gl, limit, coherent):
    """Every buffer command on a READ|WRITE persistently mapped DYNAMIC buffer: the command sees
    the client's latest bytes, and after a sync point the map shows the command's result with
    the client's other bytes intact."""
    size = 3 * 4096
    cbit = C if coherent else 0
    buf = storage(T, size, R | W | P | cbit | DYN)
    ptr = raw.glMapBufferRange(T, 0, size, R | W | P | cbit)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    want = pattern(size, 1)
    view[:] = want
    if not coherent:
        raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)

    def settle():
        if not coherent:
            raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
        fence_and_wait()
        assert np.array_equal(view, want)

    # glGetBufferSubData sees client writes (no sync needed before it)
    assert np.array_equal(get_sub(T, 0, size), want)
    view[100:200] = 1
    want[100:200] = 1
    if not coherent:
        raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
    assert np.array_equal(get_sub(T, 50, 300), want[50:350])

    # glBufferSubData into the middle of a page the client also wrote
    data = np.full(64, 0xEE, np.uint8)
    raw.glBufferSubData(T, 4096 + 10, 64, data.ctypes.data)
    want[4096 + 10:4096 + 74] = 0xEE
    view[4096 + 100] = 0x11  # client byte in the same page, after the command
    want[4096 + 100] = 0x11
    settle()

    # glCopyBufferSubData into the mapped buffer, and out of it
    src = storage(S, size, 0, pattern(size, 7))
    raw.glCopyBufferSubData(S, T, 0, 8000, 300)
    want[8000:8300] = pattern(size, 7)[:300]
    settle()
    view[0:16] = 0x42
    want[0:16] = 0x42
    if not coherent:
        raw.glMemoryBarrier(GL.GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT)
    out = storage(S, size, DYN)
    raw.glCopyBufferSubData(T, S, 0, 0, size)
    assert np.array_equal(get_sub(S, 0, size), want)

    # glClearBufferSubData
    val = (ctypes.c_uint8 * 1)(0x5A)
    raw.glClearBufferSubData(T, GL.GL_R8UI, 2048, 256, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE,
                             ctypes.addressof(val))
    want[2048:2304] = 0x5A
    view[2304] = 0x77
    want[2304] = 0x77
    settle()

    # glClearBufferData (whole buffer)
    val32 = (ctypes.c_uint32 * 1)(0x01020304)
    raw.glClearBufferData(T, GL.GL_R32UI, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_INT,
                          ctypes.addressof(val32))
    want[:] = np.frombuffer(bytes(val32) * (size // 4), np.uint8)
    settle()
    assert np.array_equal(get_sub(T, 0, size), want)

    GL.glBindBuffer(T, buf)
    raw.glUnmapBuffer(T)
    delete_buffers(buf, src, out)


def test_write_only_map_and_buffer_sub_data(gl, limit):
    """A WRITE-only persistent map (no READ: GPU writes need not come back) must not overwrite
    bytes that glBufferSubData put into the buffer when the client later writes other bytes of
    the same page."""
    size = 4096
    buf = storage(T, size, W | P | C | DYN)
    ptr = raw.glMapBufferRange(T, 0, size, W | P | C)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    view[:] = 1
    data = np.full(16, 9, np.uint8)
    raw.glBufferSubData(T, 32, 16, data.ctypes.data)
    view[0:8] = 2
    want = np.ones(size, np.uint8)
    want[32:48] = 9
    want[0:8] = 2
    assert np.array_equal(get_sub(T, 0, size), want)
    raw.glUnmapBuffer(T)
    delete_buffers(buf)


# ---- INVALID_OPERATION on buffers mapped without PERSISTENT -------------------------------

def _nonpersistent_ops(buf, other, tgt_fbo):
    """Each command that must fail on a buffer mapped without PERSISTENT; returns the errors
    after each, in order."""
    res = []
    one = (ctypes.c_uint8 * 16)()
    GL.glBindBuffer(T, buf)
    GL.glBindBuffer(S, other)
    raw.glBufferSubData(T, 0, 16, ctypes.addressof(one))
    res.append(("BufferSubData", errors()))
    raw.glCopyBufferSubData(S, T, 0, 0, 16)
    res.append(("CopyBufferSubData dst", errors()))
    raw.glCopyBufferSubData(T, S, 0, 0, 16)
    res.append(("CopyBufferSubData src", errors()))
    raw.glClearBufferSubData(T, GL.GL_R8UI, 0, 16, GL.GL_RED_INTEGER, GL.GL_UNSIGNED_BYTE,
                             ctypes.addressof(one))
    res.append(("ClearBufferSubData", errors()))
    raw.glGetBufferSubData(T, 0, 16, ctypes.addressof(one))
    res.append(("GetBufferSubData", errors()))
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, buf)
    raw.glReadPixels(0, 0, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, 0)
    res.append(("ReadPixels pack", errors()))
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
    GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, buf)
    raw.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, 1, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, 0)
    res.append(("TexSubImage2D unpack", errors()))
    GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
    raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
    res.append(("DrawArrays", errors()))
    return res


def test_commands_on_non_persistent_map_fail_like_native(gl, glc, limit):
    """Sub/Copy/Clear/Get/pixel transfers/draws on a buffer mapped without PERSISTENT raise
    INVALID_OPERATION, exactly as natively (same sequence run on a second buffer with glcoherent
    bypassed); the map stays valid and unchanged."""
    size = 4096
    tgt = Target()
    tex = GL.glGenTextures(1)
    GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
    GL.glTexStorage2D(GL.GL_TEXTURE_2D, 1, GL.GL_RGBA8, 4, 4)
    prog = program(COLOR_VS, COLOR_FS)
    GL.glUseProgram(prog)
    results = {}
    for mode in ("glcoherent", "native"):
        ctx = native(glc) if mode == "native" else _null()
        with ctx:
            buf = storage(T, size, R | W | P | C | DYN, pattern(size, 3))
            other = storage(S, size, DYN)
            ptr = raw.glMapBufferRange(T, 0, size, R | W)
            assert ptr
            if mode == "glcoherent":
                assert_low(ptr, size, limit)
            vao = color_vao(buf)
            results[mode] = _nonpersistent_ops(buf, other, tgt)
            assert np.array_equal(arr(ptr, size), pattern(size, 3))
            GL.glBindBuffer(T, buf)
            assert raw.glUnmapBuffer(T)
            cleanup_draw(vao=vao)
            GL.glUseProgram(prog)
            if mode == "native":
                delete_buffers(buf, other)
        if mode == "glcoherent":
            delete_buffers(buf, other)
    # Mesa does not check draws against mapped vertex buffers (the spec leaves that to
    # implementations); every other command must fail natively, and glcoherent must agree.
    assert all(e == [GL.GL_INVALID_OPERATION] for what, e in results["native"]
               if what != "DrawArrays"), results["native"]
    assert results["glcoherent"] == results["native"]
    cleanup_draw(prog=prog, target=tgt)
    GL.glDeleteTextures(1, [tex])


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


# ---- non-persistent maps ------------------------------------------------------------------

def test_map_copies_current_contents_in(gl, limit):
    """A READ map shows the buffer's current contents, after glBufferSubData, a copy and a
    persistent map's client writes (all server-side changes)."""
    size = 8192
    buf = storage(T, size, R | W | DYN, pattern(size, 1))
    raw.glBufferSubData(T, 10, 4, (ctypes.c_uint8 * 4)(1, 2, 3, 4))
    src = storage(S, 100, 0, np.full(100, 0xCC, np.uint8))
    raw.glCopyBufferSubData(S, T, 0, 5000, 100)
    want = pattern(size, 1)
    want[10:14] = [1, 2, 3, 4]
    want[5000:5100] = 0xCC
    for off, length in ((0, size), (4000, 1500), (4097, 3)):
        ptr = raw.glMapBufferRange(T, off, length, R)
        assert_low(ptr, length, limit)
        assert np.array_equal(arr(ptr, length), want[off:off + length]), (off, length)
        assert raw.glUnmapBuffer(T)
    no_error()
    delete_buffers(buf, src)


def test_write_map_copies_out_at_unmap(gl, limit):
    """WRITE (and READ|WRITE) maps of a sub-range: writes reach the buffer at unmap; bytes
    outside the range are untouched; bytes of the range the client did not write keep their
    old values."""
    size = 8192
    for access in (W, R | W):
        buf = storage(T, size, R | W, pattern(size, 2))
        want = pattern(size, 2)
        ptr = raw.glMapBufferRange(T, 1000, 3000, access)
        assert_low(ptr, 3000, limit)
        v = arr(ptr, 3000)
        v[0:10] = 0xAB
        v[2990:3000] = 0xCD
        want[1000:1010] = 0xAB
        want[3990:4000] = 0xCD
        assert raw.glUnmapBuffer(T)
        assert np.array_equal(get_sub(T, 0, size), want), hex(access)
        delete_buffers(buf)


def test_flush_explicit_non_persistent(gl, limit):
    """WRITE|FLUSH_EXPLICIT: ranges passed to glFlushMappedBufferRange (relative to the map
    offset) reach the buffer; the rest of the buffer outside the map is untouched."""
    size = 8192
    buf = storage(T, size, R | W, pattern(size, 3))
    want = pattern(size, 3)
    off = 2048
    ptr = raw.glMapBufferRange(T, off, 4096, W | FE)
    assert_low(ptr, 4096, limit)
    v = arr(ptr, 4096)
    v[:] = pattern(4096, 4)
    raw.glFlushMappedBufferRange(T, 100, 50)
    raw.glFlushMappedBufferRange(T, 4000, 96)
    want[off + 100:off + 150] = pattern(4096, 4)[100:150]
    want[off + 4000:off + 4096] = pattern(4096, 4)[4000:4096]
    assert raw.glUnmapBuffer(T)
    got = get_sub(T, 0, size)
    # Bytes of the map that were not flushed are undefined: compare what is defined.
    assert np.array_equal(got[:off], want[:off])
    assert np.array_equal(got[off + 4096:], want[off + 4096:])
    assert np.array_equal(got[off + 100:off + 150], want[off + 100:off + 150])
    assert np.array_equal(got[off + 4000:off + 4096], want[off + 4000:off + 4096])
    no_error()
    delete_buffers(buf)


@pytest.mark.parametrize("bit", ["range", "buffer"])
def test_invalidate_maps(gl, limit, bit):
    """INVALIDATE_RANGE / INVALIDATE_BUFFER write maps: what the client writes arrives; bytes
    outside the range survive INVALIDATE_RANGE."""
    size = 8192
    inv = GL.GL_MAP_INVALIDATE_RANGE_BIT if bit == "range" else GL.GL_MAP_INVALIDATE_BUFFER_BIT
    buf = storage(T, size, R | W, pattern(size, 5))
    ptr = raw.glMapBufferRange(T, 4096, 2048, W | inv)
    assert_low(ptr, 2048, limit)
    arr(ptr, 2048)[:] = 0x3C
    assert raw.glUnmapBuffer(T)
    got = get_sub(T, 0, size)
    assert (got[4096:6144] == 0x3C).all()
    if bit == "range":
        assert np.array_equal(got[:4096], pattern(size, 5)[:4096])
        assert np.array_equal(got[6144:], pattern(size, 5)[6144:])
    no_error()
    delete_buffers(buf)


@pytest.mark.parametrize("access", ["GL_READ_ONLY", "GL_WRITE_ONLY", "GL_READ_WRITE"])
def test_legacy_map_buffer(gl, glc, limit, access):
    """glMapBuffer on a glBufferData buffer: contents in, writes out, and GL_BUFFER_ACCESS,
    ACCESS_FLAGS, MAP_LENGTH etc. equal to a native run."""
    size = 5000
    acc = getattr(GL, access)
    params = {}
    for mode in ("glcoherent", "native"):
        ctx = native(glc) if mode == "native" else _null()
        with ctx:
            buf = gen_buffer()
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf)
            init = pattern(size, 6)
            raw.glBufferData(GL.GL_ARRAY_BUFFER, size, init.ctypes.data, GL.GL_DYNAMIC_DRAW)
            ptr = raw.glMapBuffer(GL.GL_ARRAY_BUFFER, acc)
            assert ptr
            if mode == "glcoherent":
                assert_low(ptr, size, limit)
                assert buffer_pointer(GL.GL_ARRAY_BUFFER) == ptr
            v = arr(ptr, size)
            if acc != GL.GL_WRITE_ONLY:
                assert np.array_equal(v, pattern(size, 6))
            if acc != GL.GL_READ_ONLY:
                v[10:20] = 0xF0
            params[mode] = buffer_params(GL.GL_ARRAY_BUFFER)
            assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
            want = pattern(size, 6)
            if acc != GL.GL_READ_ONLY:
                want[10:20] = 0xF0
            assert np.array_equal(get_sub(GL.GL_ARRAY_BUFFER, 0, size), want)
            if mode == "native":
                delete_buffers(buf)
        if mode == "glcoherent":
            delete_buffers(buf)
    assert params["glcoherent"] == params["native"]
    no_error()


def test_map_unmap_cycles_drop_shadows(gl, glc, limit):
    """Many map/unmap cycles of plain maps leave no shadow behind."""
    before = glc.stats().live_shadows
    buf = storage(T, 4096, R | W)
    for i in range(50):
        ptr = raw.glMapBufferRange(T, 0, 4096, W | (GL.GL_MAP_INVALIDATE_BUFFER_BIT if i % 2
                                                       else R))
        assert_low(ptr, 4096, limit)
        arr(ptr, 4096)[:] = i
        assert raw.glUnmapBuffer(T)
        assert get_sub(T, 4095, 1)[0] == i
    assert glc.stats().live_shadows == before
    delete_buffers(buf)


def test_draw_reads_vertices_written_through_non_persistent_map(gl, limit):
    """Vertices written through a plain WRITE map are drawn after unmap."""
    from test_gl_helpers import assert_color, triangle

    buf = storage(GL.GL_ARRAY_BUFFER, 4096, W)
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(buf, 128)
    tgt = Target()
    GL.glUseProgram(prog)
    for rgba in ((255, 0, 0, 255), (0, 0, 255, 255)):
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf)
        ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 128, 72,
                                   W | GL.GL_MAP_INVALIDATE_RANGE_BIT)
        assert_low(ptr, 72, limit)
        arr(ptr, 18, np.float32)[:] = triangle(rgba)
        assert raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf)
