"""Commands that make the GPU read and write mapped buffers: compute SSBOs, atomic counters in a
page the CPU writes too (byte-exact merge), pixel pack and unpack buffers, transform feedback,
query buffers polled without a fence (wined3d).
"""

import ctypes
import time

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    COLOR_FS,
    COLOR_VS,
    RWPC,
    C,
    P,
    R,
    Target,
    W,
    arr,
    assert_color,
    assert_low,
    cleanup_draw,
    color_vao,
    delete_buffers,
    errors,
    fence,
    fence_and_wait,
    get_sub,
    pattern,
    program,
    raw,
    storage,
    triangle,
)

pytestmark = pytest.mark.gl

COMPUTE = """#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer In { uint a[]; };
layout(std430, binding = 1) writeonly buffer Out { uint b[]; };
layout(location = 0) uniform uint k;
void main() { uint i = gl_GlobalInvocationID.x; b[i] = a[i] * 3u + k; }
"""


def test_compute_reads_cpu_written_ssbo_and_writes_mapped_ssbo(gl, limit):
    """Input SSBO mapped WRITE|PERSISTENT|COHERENT, written by the CPU before each dispatch;
    output SSBO mapped READ|PERSISTENT|COHERENT, read after glClientWaitSync(timeout 0) polling."""
    n = 1024
    size = n * 4
    src = storage(GL.GL_SHADER_STORAGE_BUFFER, size, W | P | C)
    sp = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, W | P | C)
    dst = storage(GL.GL_SHADER_STORAGE_BUFFER, size, R | P | C)
    dp = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, size, R | P | C)
    assert_low(sp, size, limit)
    assert_low(dp, size, limit)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, src)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 1, dst)
    prog = program(cs=COMPUTE)
    GL.glUseProgram(prog)
    a, b = arr(sp, n, np.uint32), arr(dp, n, np.uint32)
    for k in range(4):
        a[:] = np.arange(n, dtype=np.uint32) * (k + 1)
        GL.glUniform1ui(0, k)
        raw.glDispatchCompute(n // 64, 1, 1)
        fence_and_wait()
        assert np.array_equal(b, a * 3 + k), f"round {k}"
    # The CPU changes a single element: only it differs in the next result.
    a[517] = 99
    raw.glDispatchCompute(n // 64, 1, 1)
    fence_and_wait()
    assert b[517] == 99 * 3 + 3 and b[516] == 516 * 4 * 3 + 3
    GL.glUseProgram(0)
    GL.glDeleteProgram(prog)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 1, 0)
    delete_buffers(src, dst)


INPLACE = """#version 450
layout(local_size_x = 16) in;
layout(std430, binding = 0) buffer B { uint v[]; };
void main() { uint i = gl_GlobalInvocationID.x * 64u; v[i] = v[i] + 1000u; }
"""


def test_compute_and_cpu_write_different_bytes_of_one_page(gl, limit):
    """The shader writes every 64th uint of a READ|WRITE coherent SSBO while the CPU writes the
    uints in between, with no sync point in between: both sets of bytes survive, in the shadow
    and in the buffer."""
    n = 4096  # 16 KiB, 4 pages
    buf = storage(GL.GL_SHADER_STORAGE_BUFFER, n * 4, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, n * 4, RWPC)
    assert_low(ptr, n * 4, limit)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, buf)
    v = arr(ptr, n, np.uint32)
    v[:] = 0
    prog = program(cs=INPLACE)
    GL.glUseProgram(prog)
    gpu = np.arange(0, n, 64)
    cpu = np.setdiff1d(np.arange(n), gpu)
    want = np.zeros(n, np.uint32)
    for k in range(3):
        raw.glDispatchCompute(n // 64 // 16, 1, 1)
        want[gpu] += 1000
        # CPU writes neighbouring bytes after the dispatch, before the sync point
        v[cpu] = k + 1
        want[cpu] = k + 1
        fence_and_wait()
        assert np.array_equal(v, want), f"round {k}"
    # and the buffer itself holds both (synchronous readback)
    assert np.array_equal(get_sub(GL.GL_SHADER_STORAGE_BUFFER, 0, n * 4).view(np.uint32), want)
    GL.glUseProgram(0)
    GL.glDeleteProgram(prog)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
    delete_buffers(buf)


ATOMIC_FS = """#version 450
layout(binding = 0, offset = 0) uniform atomic_uint c0;
layout(binding = 0, offset = 4) uniform atomic_uint c1;
in vec4 c;
out vec4 o;
void main() { atomicCounterIncrement(c0); atomicCounterIncrement(c1); o = c; }
"""


@pytest.mark.parametrize("sync", ["finish", "fence"])
def test_atomic_counters_and_vertices_share_a_page(gl, limit, sync):
    """The Khronos CTS map_persistent_draw idea: one READ|WRITE|PERSISTENT|COHERENT buffer holds
    atomic counters (written by the GPU, bytes 0..7) and vertex data plus client bytes (written
    by the CPU) in the same page. The CPU resets one counter and changes the vertices each
    round, and writes more neighbouring bytes between the draw and the sync point."""
    size = 4096
    buf = storage(GL.GL_ARRAY_BUFFER, size, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, size, RWPC)
    assert_low(ptr, size, limit)
    page = arr(ptr, size)
    page[:] = 0
    counters = arr(ptr, 2, np.uint32)
    verts = arr(ptr + 256, 18, np.float32)
    marker = arr(ptr + 8, 8)  # right next to the counters
    GL.glBindBufferBase(GL.GL_ATOMIC_COUNTER_BUFFER, 0, buf)
    prog = program(COLOR_VS, ATOMIC_FS)
    vao = color_vao(buf, 256)
    tgt = Target()
    GL.glUseProgram(prog)
    colors = [(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)]
    for k, rgba in enumerate(colors):
        counters[0] = 1000 * k  # a CPU write into the GPU's bytes, after a sync point
        verts[:] = triangle(rgba)
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        marker[:] = k + 1  # CPU write between draw and sync, same page as the counters
        page[3000:3100] = 50 + k
        if sync == "finish":
            GL.glFinish()
        else:
            fence_and_wait()
        assert counters[0] == 1000 * k + 64, f"round {k}: c0={counters[0]}"
        assert counters[1] == 64 * (k + 1), f"round {k}: c1={counters[1]}"
        assert (marker == k + 1).all() and (page[3000:3100] == 50 + k).all()
        assert np.array_equal(verts, triangle(rgba))
        assert_color(tgt.pixels(), rgba)
    server = get_sub(GL.GL_ARRAY_BUFFER, 0, size)
    assert np.array_equal(server, page), "buffer and shadow disagree"
    GL.glBindBufferBase(GL.GL_ATOMIC_COUNTER_BUFFER, 0, 0)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf)


def test_pixel_pack_into_mapped_buffer(gl, limit):
    """glReadPixels into a PIXEL_PACK buffer mapped READ|WRITE|PERSISTENT|COHERENT, at an offset
    inside a page whose other bytes the CPU writes; visible after glFinish or a fence."""
    size = 8192
    off = 1000
    nbytes = 8 * 8 * 4
    buf = storage(GL.GL_PIXEL_PACK_BUFFER, size, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_PIXEL_PACK_BUFFER, 0, size, RWPC)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    view[:] = 7
    tgt = Target()
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    for k, rgba in enumerate([(1, 2, 3, 4), (250, 128, 0, 255), (9, 9, 9, 9)]):
        tgt.clear(rgba)
        raw.glReadPixels(0, 0, 8, 8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, off)
        view[off - 10:off] = 100 + k  # CPU bytes right before the pack region
        view[off + nbytes:off + nbytes + 10] = 110 + k  # and right after
        if k % 2:
            GL.glFinish()
        else:
            fence_and_wait()
        px = view[off:off + nbytes].reshape(8, 8, 4)
        assert_color(px, rgba)
        assert (view[off - 10:off] == 100 + k).all()
        assert (view[off + nbytes:off + nbytes + 10] == 110 + k).all()
        assert (view[:off - 10] == 7).all() and (view[off + nbytes + 10:] == 7).all()
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
    tgt.delete()
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_PIXEL_PACK_BUFFER)
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
    delete_buffers(buf)


def test_pixel_unpack_from_mapped_buffer(gl, limit):
    """glTexSubImage2D sourcing a PIXEL_UNPACK buffer mapped WRITE|PERSISTENT|COHERENT that the
    CPU rewrites before each upload; glGetTexImage (client memory) checks the texture."""
    size = 4096
    off = 512
    buf = storage(GL.GL_PIXEL_UNPACK_BUFFER, size, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_PIXEL_UNPACK_BUFFER, 0, size, W | P | C)
    assert_low(ptr, size, limit)
    tex = GL.glGenTextures(1)
    GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
    GL.glTexStorage2D(GL.GL_TEXTURE_2D, 1, GL.GL_RGBA8, 8, 8)
    GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    texels = arr(ptr + off, 256)
    for k in range(3):
        data = pattern(256, seed=k)
        texels[:] = data
        raw.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, 8, 8, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                            off)
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
        out = np.zeros(256, np.uint8)
        raw.glGetTexImage(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, out.ctypes.data)
        assert np.array_equal(out, data), f"round {k}"
        GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_PIXEL_UNPACK_BUFFER)
    GL.glBindBuffer(GL.GL_PIXEL_UNPACK_BUFFER, 0)
    GL.glDeleteTextures(1, [tex])
    delete_buffers(buf)


XFB_VS = """#version 450
layout(location = 0) uniform uint k;
out uint v;
void main() { v = uint(gl_VertexID) * 5u + k; gl_Position = vec4(0.0); }
"""


def test_transform_feedback_into_mapped_read_buffer(gl, limit):
    """Transform feedback writes a buffer mapped READ|PERSISTENT|COHERENT; results are read
    through the map after a fence."""
    n = 256
    size = n * 4
    buf = storage(GL.GL_TRANSFORM_FEEDBACK_BUFFER, size, R | P | C)
    ptr = raw.glMapBufferRange(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, size, R | P | C)
    assert_low(ptr, size, limit)
    out = arr(ptr, n, np.uint32)
    prog = program(vs=XFB_VS, xfb=["v"])
    vao = GL.glGenVertexArrays(1)
    GL.glBindVertexArray(vao)
    tgt = Target()  # surfaceless: no default framebuffer to draw to
    GL.glUseProgram(prog)
    GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, buf)
    GL.glEnable(GL.GL_RASTERIZER_DISCARD)
    for k in (3, 11):
        GL.glUniform1ui(0, k)
        GL.glBeginTransformFeedback(GL.GL_POINTS)
        raw.glDrawArrays(GL.GL_POINTS, 0, n)
        GL.glEndTransformFeedback()
        fence_and_wait()
        assert np.array_equal(out, np.arange(n, dtype=np.uint32) * 5 + k), f"k={k}"
    GL.glDisable(GL.GL_RASTERIZER_DISCARD)
    GL.glBindBufferBase(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)
    GL.glBindBuffer(GL.GL_TRANSFORM_FEEDBACK_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_TRANSFORM_FEEDBACK_BUFFER)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf)


def _poll_until(view_fn, done, poll, timeout=10.0):
    """Re-read mapped memory until done(value); between reads make one ordinary GL call."""
    deadline = time.monotonic() + timeout
    n = 0
    while True:
        v = view_fn()
        if done(v):
            return v, n
        assert time.monotonic() < deadline, f"mapped value never changed ({v!r})"
        poll()
        n += 1


@pytest.mark.parametrize("poll", ["glGetError", "glFlush", "glGetIntegerv"])
def test_query_buffer_polled_without_fence(gl, limit, poll):
    """wined3d's query buffers: occlusion (SAMPLES_PASSED) and timestamp results are written
    with GL_QUERY_BUFFER bound into a READ|WRITE|PERSISTENT|COHERENT buffer; the CPU re-reads
    the mapped bytes until they change, making only ordinary GL calls (no fence, no finish).
    Neighbouring slots written by the CPU meanwhile survive."""
    poll_fn = {"glGetError": lambda: raw.glGetError(), "glFlush": lambda: raw.glFlush(),
               "glGetIntegerv": lambda: GL.glGetIntegerv(GL.GL_QUERY_BUFFER_BINDING)}[poll]
    size = 4096
    buf = storage(GL.GL_QUERY_BUFFER, size, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_QUERY_BUFFER, 0, size, RWPC)
    assert_low(ptr, size, limit)
    GL.glBindBuffer(GL.GL_QUERY_BUFFER, 0)
    slots = arr(ptr, size // 4, np.uint32)
    slots[:] = 0xFFFFFFFF  # "not available yet"
    prog = program(COLOR_VS, COLOR_FS)
    vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((1, 2, 3, 4)))
    vao = color_vao(vbo)
    tgt = Target()
    GL.glUseProgram(prog)
    q, ts = GL.glGenQueries(2)
    for k in range(2):
        base = 16 * k  # uint index: 64-byte slots
        GL.glBeginQuery(GL.GL_SAMPLES_PASSED, q)
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        GL.glEndQuery(GL.GL_SAMPLES_PASSED)
        GL.glQueryCounter(ts, GL.GL_TIMESTAMP)
        GL.glBindBuffer(GL.GL_QUERY_BUFFER, buf)
        raw.glGetQueryObjectuiv(q, GL.GL_QUERY_RESULT, ctypes.c_void_p(base * 4))
        raw.glGetQueryObjectui64v(ts, GL.GL_QUERY_RESULT, ctypes.c_void_p(base * 4 + 8))
        GL.glBindBuffer(GL.GL_QUERY_BUFFER, 0)
        slots[base + 1] = 0xABCD0000 + k  # CPU writes next to the GPU's result
        v, _ = _poll_until(lambda b=base: int(slots[b]), lambda x: x != 0xFFFFFFFF, poll_fn)
        assert v == 64
        t, _ = _poll_until(lambda b=base: int(slots[b + 2]) | (int(slots[b + 3]) << 32),
                           lambda x: x != 0xFFFFFFFFFFFFFFFF, poll_fn)
        assert t != 0
        assert slots[base + 1] == 0xABCD0000 + k
        assert (slots[base + 4:] == 0xFFFFFFFF).all()
    GL.glDeleteQueries(2, [q, ts])
    GL.glBindBuffer(GL.GL_QUERY_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_QUERY_BUFFER)
    GL.glBindBuffer(GL.GL_QUERY_BUFFER, 0)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf, vbo)


def test_query_buffer_object_dsa_polled(gl, limit):
    """glGetQueryBufferObjectuiv (GL 4.5) into a mapped READ|PERSISTENT|COHERENT buffer, polled
    with glGetError only."""
    size = 256
    buf = storage(GL.GL_COPY_WRITE_BUFFER, size, R | W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, size, R | W | P | C)
    assert_low(ptr, size, limit)
    slots = arr(ptr, size // 4, np.uint32)
    slots[:] = 0xFFFFFFFF
    q = GL.glGenQueries(1)[0]
    prog = program(COLOR_VS, COLOR_FS)
    vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((1, 2, 3, 4)))
    vao = color_vao(vbo)
    tgt = Target()
    GL.glUseProgram(prog)
    GL.glBeginQuery(GL.GL_SAMPLES_PASSED, q)
    raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
    GL.glEndQuery(GL.GL_SAMPLES_PASSED)
    raw.glGetQueryBufferObjectuiv(q, buf, GL.GL_QUERY_RESULT, 8)
    v, _ = _poll_until(lambda: int(slots[2]), lambda x: x != 0xFFFFFFFF,
                       lambda: raw.glGetError())
    assert v == 64 and slots[1] == 0xFFFFFFFF and slots[3] == 0xFFFFFFFF
    GL.glDeleteQueries(1, [q])
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(buf, vbo)


def test_gpu_write_visible_by_polling_without_fence(gl, limit):
    """A copy into a mapped READ buffer becomes visible to a client that only polls with
    glGetError (no fence, no finish): 'any wrapped GL call is an opportunity'."""
    size = 4096
    dst = storage(GL.GL_COPY_WRITE_BUFFER, size, R | P | C)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, size, R | P | C)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    data = pattern(size, 5)
    src = storage(GL.GL_COPY_READ_BUFFER, size, 0, data)
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, size)
    _poll_until(lambda: bool(np.array_equal(view, data)), bool, lambda: raw.glGetError())
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, dst)
    raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(src, dst)


def test_fence_poll_zero_timeout_only(gl, limit):
    """glClientWaitSync(sync, 0, 0) returning ALREADY_SIGNALED is enough (no flush bit)."""
    size = 4096
    dst = storage(GL.GL_COPY_WRITE_BUFFER, size, R | P | C)
    ptr = raw.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, size, R | P | C)
    assert_low(ptr, size, limit)
    data = pattern(size, 9)
    src = storage(GL.GL_COPY_READ_BUFFER, size, 0, data)
    raw.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, size)
    s = fence()
    raw.glFlush()
    deadline = time.monotonic() + 10
    while raw.glClientWaitSync(s, 0, 0) not in (GL.GL_ALREADY_SIGNALED,
                                                 GL.GL_CONDITION_SATISFIED):
        assert time.monotonic() < deadline
    raw.glDeleteSync(s)
    assert np.array_equal(arr(ptr, size), data)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, dst)
    raw.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    delete_buffers(src, dst)


def _texture(target, levels_data, internal, fmt, typ):
    """A texture with the given (w, h, d, bytes) levels; returns its name (bound)."""
    tex = GL.glGenTextures(1)
    GL.glBindTexture(target, tex)
    GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
    for lv, (w, h, d, data) in enumerate(levels_data):
        if target == GL.GL_TEXTURE_3D:
            GL.glTexImage3D(target, lv, internal, w, h, d, 0, fmt, typ, data)
        else:
            GL.glTexImage2D(target, lv, internal, w, h, 0, fmt, typ, data)
    GL.glTexParameteri(target, GL.GL_TEXTURE_MAX_LEVEL, len(levels_data) - 1)
    return tex


# (name, pack state, the readback into the pack buffer at `off`): each packs bytes up to an end
# that follows from the pack state, so a range the layer computes one byte short leaves the
# shadow different from the buffer.
def _pack_cases():
    rnd = np.random.default_rng(5)

    def rgba8(w, h, d=1):
        return rnd.integers(1, 255, w * h * d * 4, dtype=np.uint8)

    def read_pixels(fmt, typ, w, h):
        def run(off):
            tgt = Target()
            tgt.clear((200, 100, 50, 25))
            raw.glReadPixels(0, 0, w, h, fmt, typ, off)
            return tgt.delete
        return run

    def get_tex(target, levels, level, fmt, typ, internal=GL.GL_RGBA8):
        def run(off):
            tex = _texture(target, levels, internal, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
            raw.glGetTexImage(target, level, fmt, typ, off)
            return lambda: GL.glDeleteTextures([tex])
        return run

    def get_sub_image(w, h, bufsize):
        def run(off):
            tex = _texture(GL.GL_TEXTURE_2D, [(8, 8, 1, rgba8(8, 8))], GL.GL_RGBA8, GL.GL_RGBA,
                           GL.GL_UNSIGNED_BYTE)
            raw.glGetTextureSubImage(tex, 0, 1, 2, 0, w, h, 1, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                                     bufsize, off)
            return lambda: GL.glDeleteTextures([tex])
        return run

    def get_compressed(off):
        tex = _texture(GL.GL_TEXTURE_2D, [(16, 8, 1, rgba8(16, 8))], GL.GL_COMPRESSED_RED_RGTC1,
                       GL.GL_RGBA, GL.GL_UNSIGNED_BYTE)
        raw.glGetCompressedTexImage(GL.GL_TEXTURE_2D, 0, off)
        return lambda: GL.glDeleteTextures([tex])

    P_ = "GL_PACK_"
    return {
        "readpixels-rowlength-skip-align8": (
            {P_ + "ALIGNMENT": 8, P_ + "ROW_LENGTH": 13, P_ + "SKIP_PIXELS": 3,
             P_ + "SKIP_ROWS": 2}, read_pixels(GL.GL_RGB, GL.GL_UNSIGNED_BYTE, 7, 5)),
        "readpixels-short-align4": (
            {P_ + "ALIGNMENT": 4}, read_pixels(GL.GL_RGB, GL.GL_UNSIGNED_SHORT, 5, 3)),
        "readpixels-packed-8888rev": (
            {P_ + "ALIGNMENT": 1}, read_pixels(GL.GL_BGRA, GL.GL_UNSIGNED_INT_8_8_8_8_REV, 8, 8)),
        "getteximage-3d-imageheight-skipimages": (
            {P_ + "ALIGNMENT": 2, P_ + "IMAGE_HEIGHT": 4, P_ + "SKIP_IMAGES": 1},
            get_tex(GL.GL_TEXTURE_3D, [(5, 3, 4, rgba8(5, 3, 4))], 0, GL.GL_RGBA, GL.GL_FLOAT)),
        "getteximage-level1": (
            {P_ + "ALIGNMENT": 4},
            get_tex(GL.GL_TEXTURE_2D, [(10, 6, 1, rgba8(10, 6)), (5, 3, 1, rgba8(5, 3))], 1,
                    GL.GL_RGB, GL.GL_UNSIGNED_BYTE)),
        "gettexturesubimage-bufsize": ({P_ + "ALIGNMENT": 1}, get_sub_image(5, 4, 5 * 4 * 4)),
        "getcompressedteximage": ({}, get_compressed),
    }


PACK_CASES = _pack_cases()


@pytest.mark.parametrize("case", sorted(PACK_CASES))
def test_pixel_pack_range_into_a_large_chunk(gl, limit, case):
    """Readbacks into a slice of a 4 MiB persistent coherent chunk (wined3d sub-allocates its
    pixel buffers so): the layer counts only the packed range as GPU-written, and that range
    must cover every byte the driver packs. After a fence the whole shadow equals the buffer,
    and CPU bytes written around the slice while the readback was pending stay."""
    state, run = PACK_CASES[case]
    size, off = 4 << 20, (2 << 20) + 24  # inside a page; a multiple of any datum size
    buf = storage(GL.GL_PIXEL_PACK_BUFFER, size, RWPC)
    ptr = raw.glMapBufferRange(GL.GL_PIXEL_PACK_BUFFER, 0, size, RWPC)
    assert_low(ptr, size, limit)
    view = arr(ptr, size)
    view[:] = 0xAB
    names = {k: getattr(GL, k) for k in state}
    for k, v in state.items():
        GL.glPixelStorei(names[k], v)
    done = run(off)
    view[off - 20:off - 3] = 0x11      # CPU writes before the slice, same page
    view[size - 100:] = 0x22           # and far after it
    fence_and_wait()
    assert not errors()
    truth = get_sub(GL.GL_PIXEL_PACK_BUFFER, 0, size)
    assert (truth[off:size - 100] != 0xAB).any(), "the readback wrote nothing"
    assert (view[off - 20:off - 3] == 0x11).all() and (view[size - 100:] == 0x22).all()
    bad = np.flatnonzero(view != truth)
    assert bad.size == 0, f"{bad.size} shadow bytes differ from the buffer, first at {bad[0]}"
    for k in state:
        GL.glPixelStorei(names[k], 1 if k.endswith("ALIGNMENT") else 0)
    done()
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, buf)
    raw.glUnmapBuffer(GL.GL_PIXEL_PACK_BUFFER)
    GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
    delete_buffers(buf)
