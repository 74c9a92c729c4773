"""More commands that read mapped buffers (indirect and parameter buffers, uniform buffers,
buffer textures) or write them (image stores to buffer textures), persistent maps of unaligned
sub-ranges, a non-GL thread writing the mapping, and the extension / alias entry points that
name the same operations.
"""

import ctypes
import threading

import numpy as np
import pytest
from OpenGL import GL
from test_gl_helpers import (
    COLOR_FS,
    COLOR_VS,
    DYN,
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
    fence_and_wait,
    get_sub,
    pattern,
    program,
    raw,
    storage,
    triangle,
)

import glcoherent

pytestmark = pytest.mark.gl

T = GL.GL_COPY_WRITE_BUFFER
S = GL.GL_COPY_READ_BUFFER


def test_persistent_unaligned_sub_range_both_ways(gl, limit):
    """A persistent READ|WRITE coherent map of [1000, 1000 + 9000) of a 16 KiB buffer: client
    writes at the first and last mapped bytes go down; bytes of the same pages outside the
    mapped range, which the GPU changes meanwhile, are never overwritten by a flush; GPU writes
    inside the range come back at the right offsets."""
    size, off, length = 16384, 1000, 9000
    buf = storage(T, size, RWPC | DYN, pattern(size, 1))
    ptr = raw.glMapBufferRange(T, off, length, RWPC)
    assert_low(ptr, length, limit)
    v = arr(ptr, length)
    want = pattern(size, 1)
    assert np.array_equal(v, want[off:off + length])
    for k in range(3):
        # the GPU writes bytes just outside the map, in the first and last mapped pages
        outside = np.full(8, 0xE0 + k, np.uint8)
        raw.glBufferSubData(T, off - 8, 8, outside.ctypes.data)
        raw.glBufferSubData(T, off + length, 8, outside.ctypes.data)
        want[off - 8:off] = outside
        want[off + length:off + length + 8] = outside
        # the client writes the first and last bytes of the map and one in the middle
        v[0] = v[-1] = v[4000] = 0x10 + k
        want[off] = want[off + length - 1] = want[off + 4000] = 0x10 + k
        assert np.array_equal(get_sub(T, 0, size), want), f"round {k}"
        # the GPU writes inside the range; it comes back after a fence
        src = storage(S, 64, 0, np.full(64, 0x70 + k, np.uint8))
        GL.glBindBuffer(T, buf)
        raw.glCopyBufferSubData(S, T, 0, off + 2000, 64)
        want[off + 2000:off + 2064] = 0x70 + k
        fence_and_wait()
        assert np.array_equal(v, want[off:off + length]), f"round {k}"
        delete_buffers(src)
        GL.glBindBuffer(T, buf)
    raw.glUnmapBuffer(T)
    delete_buffers(buf)


def test_overlapping_copy_within_mapped_buffer(gl, limit):
    """glCopyBufferSubData from a mapped buffer to itself (non-overlapping ranges) sees the
    client's bytes and its result comes back into the map."""
    size = 8192
    buf = storage(T, size, RWPC)
    ptr = raw.glMapBufferRange(T, 0, size, RWPC)
    assert_low(ptr, size, limit)
    v = arr(ptr, size)
    v[:] = pattern(size, 2)
    raw.glCopyBufferSubData(T, T, 0, 4096, 1000)
    want = pattern(size, 2)
    want[4096:5096] = want[0:1000]
    v[3000] = 0xAA  # client write after the command, before the sync
    want[3000] = 0xAA
    fence_and_wait()
    assert np.array_equal(v, want)
    raw.glUnmapBuffer(T)
    delete_buffers(buf)


def test_client_writes_from_another_thread(gl, limit):
    """A thread without any GL context writes vertices into a coherent mapping; the GL thread
    draws after joining it."""
    vbo = storage(GL.GL_ARRAY_BUFFER, 8192, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 8192, W | P | C)
    assert_low(ptr, 8192, limit)
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(vbo, 4096)
    tgt = Target()
    GL.glUseProgram(prog)
    for rgba in ((255, 0, 0, 255), (0, 255, 0, 255), (1, 2, 3, 4)):
        t = threading.Thread(target=lambda c=rgba: arr(ptr + 4096, 18, np.float32).__setitem__(
            slice(None), triangle(c)))
        t.start()
        t.join()
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    delete_buffers(vbo)


def test_indirect_and_parameter_buffers_mapped(gl, limit):
    """glDrawArraysIndirect and glMultiDrawArraysIndirectCount read their command and count
    from a persistently mapped buffer the CPU rewrites between draws; glDispatchComputeIndirect
    reads its group counts from one."""
    size = 4096
    ind = storage(GL.GL_DRAW_INDIRECT_BUFFER, size, W | P | C)
    ip = raw.glMapBufferRange(GL.GL_DRAW_INDIRECT_BUFFER, 0, size, W | P | C)
    assert_low(ip, size, limit)
    cmd = arr(ip, 4, np.uint32)          # count, instanceCount, first, baseInstance
    cnt = arr(ip + 256, 1, np.uint32)    # draw count for the *Count variant
    GL.glBindBuffer(GL.GL_PARAMETER_BUFFER, ind)
    vbo = storage(GL.GL_ARRAY_BUFFER, 144, 0,
                  np.concatenate([triangle((255, 0, 0, 255)), triangle((0, 0, 255, 255))]))
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(vbo)
    GL.glBindBuffer(GL.GL_DRAW_INDIRECT_BUFFER, ind)
    tgt = Target()
    GL.glUseProgram(prog)
    for first, rgba in ((0, (255, 0, 0, 255)), (3, (0, 0, 255, 255)), (0, (255, 0, 0, 255))):
        cmd[:] = [3, 1, first, 0]
        tgt.clear()
        GL.glDrawArraysIndirect(GL.GL_TRIANGLES, ctypes.c_void_p(0))
        assert_color(tgt.pixels(), rgba)
    cmd[:] = [3, 1, 3, 0]
    # GL 4.6 name in a 4.5 context: the ARB_indirect_parameters one, through glcoherent
    draw_count = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_void_p, ctypes.c_ssize_t,
                                  ctypes.c_int, ctypes.c_int)(
        glcoherent.installed().instance.get_proc_address("glMultiDrawArraysIndirectCountARB"))
    for n, rgba in ((0, (0, 0, 0, 0)), (1, (0, 0, 255, 255)), (0, (0, 0, 0, 0))):
        cnt[0] = n
        tgt.clear()
        draw_count(GL.GL_TRIANGLES, 0, 256, 1, 16)
        assert_color(tgt.pixels(), rgba)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    # compute: group counts from the mapped buffer, output into a mapped READ buffer
    cs = program(cs="""#version 450
layout(local_size_x = 4) in;
layout(std430, binding = 2) writeonly buffer O { uint o[]; };
void main() { o[gl_GlobalInvocationID.x] = gl_NumWorkGroups.x; }
""")
    out = storage(GL.GL_SHADER_STORAGE_BUFFER, 1024, R | P | C)
    op = raw.glMapBufferRange(GL.GL_SHADER_STORAGE_BUFFER, 0, 1024, R | P | C)
    assert_low(op, 1024, limit)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 2, out)
    GL.glBindBuffer(GL.GL_DISPATCH_INDIRECT_BUFFER, ind)
    GL.glUseProgram(cs)
    groups = arr(ip + 512, 3, np.uint32)
    o = arr(op, 256, np.uint32)
    for g in (2, 7, 64):
        groups[:] = [g, 1, 1]
        GL.glDispatchComputeIndirect(512)
        fence_and_wait()
        assert (o[:4 * g] == g).all(), (g, o[:4 * g])
    GL.glUseProgram(0)
    GL.glDeleteProgram(cs)
    GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 2, 0)
    for tgt_ in (GL.GL_DRAW_INDIRECT_BUFFER, GL.GL_DISPATCH_INDIRECT_BUFFER,
                 GL.GL_PARAMETER_BUFFER):
        GL.glBindBuffer(tgt_, 0)
    delete_buffers(ind, vbo, out)


UBO_FS = """#version 450
layout(std140, binding = 1) uniform U { vec4 color; };
layout(binding = 0) uniform usamplerBuffer tb;
layout(binding = 0, r32ui) uniform writeonly uimageBuffer img;
in vec4 c;
out vec4 o;
void main() {
    uint i = uint(gl_FragCoord.y) * 8u + uint(gl_FragCoord.x);
    imageStore(img, int(i), uvec4(texelFetch(tb, int(i)).r * 2u + 1u));
    o = color;
}
"""


def test_uniform_buffer_buffer_texture_and_image_store(gl, limit):
    """A uniform block and a buffer texture read from persistently mapped buffers the CPU
    rewrites; an image store writes a buffer texture whose buffer is mapped READ: the client
    sees the shader's writes after a fence."""
    ubo = storage(GL.GL_UNIFORM_BUFFER, 4096, W | P | C)
    up = raw.glMapBufferRange(GL.GL_UNIFORM_BUFFER, 0, 4096, W | P | C)
    src = storage(GL.GL_TEXTURE_BUFFER, 256, W | P | C)
    sp = raw.glMapBufferRange(GL.GL_TEXTURE_BUFFER, 0, 256, W | P | C)
    dst = storage(GL.GL_TEXTURE_BUFFER, 256, R | P | C)
    dp = raw.glMapBufferRange(GL.GL_TEXTURE_BUFFER, 0, 256, R | P | C)
    for p_, n in ((up, 4096), (sp, 256), (dp, 256)):
        assert_low(p_, n, limit)
    GL.glBindBufferRange(GL.GL_UNIFORM_BUFFER, 1, ubo, 256, 16)
    tex = GL.glGenTextures(2)
    GL.glActiveTexture(GL.GL_TEXTURE0)
    GL.glBindTexture(GL.GL_TEXTURE_BUFFER, tex[0])
    GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_R32UI, src)
    GL.glBindTexture(GL.GL_TEXTURE_BUFFER, tex[1])
    GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_R32UI, dst)
    GL.glBindTexture(GL.GL_TEXTURE_BUFFER, tex[0])
    GL.glBindImageTexture(0, tex[1], 0, False, 0, GL.GL_WRITE_ONLY, GL.GL_R32UI)
    prog = program(COLOR_VS, UBO_FS)
    vbo = storage(GL.GL_ARRAY_BUFFER, 72, 0, triangle((0, 0, 0, 0)))
    vao = color_vao(vbo)
    tgt = Target()
    GL.glUseProgram(prog)
    color = arr(up + 256, 4, np.float32)
    texels = arr(sp, 64, np.uint32)
    result = arr(dp, 64, np.uint32)
    for k, rgba in enumerate(((255, 0, 0, 255), (0, 255, 0, 255))):
        color[:] = np.array(rgba, np.float32) / 255
        texels[:] = np.arange(64, dtype=np.uint32) + 100 * k
        tgt.clear()
        raw.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
        assert_color(tgt.pixels(), rgba)
        fence_and_wait()
        assert np.array_equal(result, (np.arange(64, dtype=np.uint32) + 100 * k) * 2 + 1)
    GL.glBindImageTexture(0, 0, 0, False, 0, GL.GL_WRITE_ONLY, GL.GL_R32UI)
    GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
    GL.glDeleteTextures(2, tex)
    GL.glBindBufferBase(GL.GL_UNIFORM_BUFFER, 1, 0)
    cleanup_draw(vao=vao, prog=prog, target=tgt)
    delete_buffers(ubo, src, dst, vbo)


# ---- extension and alias names ----------------------------------------------------------------

ALIASES = [
    # same operations under extension names: each must be glcoherent's wrapper
    "glDrawArraysInstancedEXT", "glDrawElementsInstancedEXT", "glDrawArraysInstancedARB",
    "glMultiDrawArraysIndirectAMD", "glMultiDrawElementsIndirectAMD",
    "glMultiDrawArraysIndirectCountARB", "glBindBufferBaseEXT", "glBindBufferRangeEXT",
    "glBindBufferOffsetEXT", "glReadnPixelsARB", "glGetnTexImageARB",
    "glGetQueryObjectuivARB", "glGetQueryObjectivARB", "glGetQueryObjecti64vEXT",
    "glGetQueryObjectui64vEXT", "glCompressedTexSubImage2DARB", "glTexSubImage2DEXT",
    "glMapBufferARB", "glUnmapBufferARB", "glBufferDataARB", "glBufferSubDataARB",
    "glGetBufferSubDataARB", "glGetBufferPointervARB", "glDeleteBuffersARB", "glTexBufferARB",
    "glBufferStorageMemEXT", "glNamedBufferStorageMemEXT",
    # EXT_direct_state_access
    "glNamedBufferStorageEXT", "glNamedBufferDataEXT", "glMapNamedBufferEXT",
    "glMapNamedBufferRangeEXT", "glUnmapNamedBufferEXT", "glFlushMappedNamedBufferRangeEXT",
    "glNamedBufferSubDataEXT", "glNamedCopyBufferSubDataEXT", "glGetNamedBufferSubDataEXT",
    "glGetNamedBufferPointervEXT", "glClearNamedBufferDataEXT", "glClearNamedBufferSubDataEXT",
    "glTextureSubImage2DEXT", "glTextureImage2DEXT", "glGetTextureImageEXT",
    "glTextureBufferEXT", "glMultiTexBufferEXT",
]


@pytest.mark.parametrize("name", ALIASES)
def test_alias_names_are_wrapped(gl, name):
    """Extension and alias names of wrapped operations resolve to glcoherent's wrappers (a GL
    layer that fills its dispatch table through get_proc_address must not get the driver's)."""
    assert name in glcoherent.gl.wrapped_names()


def test_ext_draw_instanced_and_ext_transform_feedback(gl, limit):
    """glDrawArraysInstancedEXT reads a mapped vertex buffer; glBindBufferBaseEXT binds a
    mapped READ buffer for transform feedback whose output comes back after a fence."""
    from test_gl_helpers import _egl  # noqa: F401 - the driver must know the names

    inst = glcoherent.installed().instance
    draw_inst = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_int, ctypes.c_int, ctypes.c_int)(
        inst.get_proc_address("glDrawArraysInstancedEXT"))
    bind_base = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint)(
        inst.get_proc_address("glBindBufferBaseEXT"))
    vbo = storage(GL.GL_ARRAY_BUFFER, 4096, W | P | C)
    ptr = raw.glMapBufferRange(GL.GL_ARRAY_BUFFER, 0, 4096, W | P | C)
    assert_low(ptr, 4096, limit)
    prog = program(COLOR_VS, COLOR_FS)
    vao = color_vao(vbo)
    tgt = Target()
    GL.glUseProgram(prog)
    for rgba in ((255, 0, 0, 255), (0, 255, 0, 255)):
        arr(ptr, 18, np.float32)[:] = triangle(rgba)
        tgt.clear()
        draw_inst(GL.GL_TRIANGLES, 0, 3, 2)
        assert_color(tgt.pixels(), rgba)
    cleanup_draw(vao=vao, prog=prog)
    xfb_prog = program(vs="""#version 450
out uint v;
void main() { v = uint(gl_VertexID) + 1000u; gl_Position = vec4(0.0); }
""", xfb=["v"])
    out = storage(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 256, R | P | C)
    op = raw.glMapBufferRange(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 256, R | P | C)
    assert_low(op, 256, limit)
    bind_base(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, out)
    vao = GL.glGenVertexArrays(1)
    GL.glBindVertexArray(vao)
    GL.glUseProgram(xfb_prog)
    GL.glEnable(GL.GL_RASTERIZER_DISCARD)
    GL.glBeginTransformFeedback(GL.GL_POINTS)
    raw.glDrawArrays(GL.GL_POINTS, 0, 64)
    GL.glEndTransformFeedback()
    GL.glDisable(GL.GL_RASTERIZER_DISCARD)
    fence_and_wait()
    assert np.array_equal(arr(op, 64, np.uint32), np.arange(64, dtype=np.uint32) + 1000)
    bind_base(GL.GL_TRANSFORM_FEEDBACK_BUFFER, 0, 0)
    cleanup_draw(vao=vao, prog=xfb_prog, target=tgt)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    raw.glUnmapBuffer(GL.GL_ARRAY_BUFFER)
    delete_buffers(vbo, out)
