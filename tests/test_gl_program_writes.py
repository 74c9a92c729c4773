"""Shader-aware writability: a buffer bound as shader storage is only "GPU-written" by a draw
or dispatch whose program can write it (the GLSL check of gl/program.c). A read-only program
needs no reference copy and no byte-exact diff; a writing one still gets its results back.
A buffer behind a buffer texture is read (in its whole range) only by programs that declare a
buffer-texture type, and written only once an image unit was bound for writing.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from test_gl_helpers import (
    COLOR_FS,
    RWPC,
    Target,
    arr,
    assert_color,
    assert_low,
    cleanup_draw,
    create_buffer,
    program,
    raw,
)

import glcoherent
from glcoherent._ext import ffi, lib

# Reads the colour from a storage buffer; writes only the framebuffer (no buffer).
READ_VS = """#version 450
layout(std430, binding = 0) readonly buffer In { vec4 col[]; };
out vec4 c;
void main() {
    vec2 p[3] = vec2[](vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
    gl_Position = vec4(p[gl_VertexID], 0.0, 1.0);
    c = col[7];
}
"""
WRITE_CS = """#version 450
layout(local_size_x = 64) in;
layout(std430, binding = 0) buffer InOut { uint v[]; };
void main() { v[gl_GlobalInvocationID.x] += 1u; }
"""


def _use(fn, sources, lengths):
    strs = [ffi.new("char[]", s.encode()) for s in sources]
    arrp = ffi.new("const char *[]", strs)
    lens = ffi.new("int[]", lengths) if lengths is not None else ffi.NULL
    return fn(len(sources), arrp, lens)


def writes(*sources, lengths=None) -> bool:
    return bool(_use(lib.glc_glsl_writes, sources, lengths))


def reads_texbufs(*sources) -> bool:
    return bool(_use(lib.glc_glsl_use, sources, None) & 2)  # GLC_PROG_TEXBUF


@pytest.mark.parametrize("src, want", [
    ("layout(std430) readonly buffer B { float x[]; };", False),
    ("layout(std430) buffer readonly B { float x[]; };", False),
    ("layout(std430) buffer B { float x[]; };", True),
    ("readonly buffer A { int a; }; buffer B { int b; };", True),
    ("uniform U { vec4 u; }; in vec4 p; void main() { gl_Position = p * u; }", False),
    ("layout(r32ui) uniform uimage2D im; void main() { imageStore(im, ivec2(0), uvec4(1)); }",
     True),
    ("void main() { imageAtomicAdd(im, ivec2(0), 1u); }", True),
    ("layout(binding = 0) uniform atomic_uint c; void main() { atomicCounterIncrement(c); }",
     True),
    ("// buffer B { int b; };\nvoid main() {}", False),
    ("/* imageStore */ void main() {}", False),
    ("/* a comment\n spanning */ buffer B { int b; };", True),
    ("#define W imageStore\nvoid main() { }", True),
])
def test_glsl_classifier(glc, src, want):
    assert writes(src) is want


@pytest.mark.parametrize("src, want", [
    ("uniform samplerBuffer t; void main() {}", True),
    ("layout(binding = 2) uniform usamplerBuffer t;", True),
    ("uniform isamplerBuffer t;", True),
    ("layout(r32f) readonly uniform imageBuffer i;", True),
    ("uniform sampler2D s; uniform samplerBufferX y;", False),
    ("// samplerBuffer\nvoid main() {}", False),
    ("layout(std430) buffer B { float x[]; };", False),
])
def test_glsl_buffer_texture_classifier(glc, src, want):
    assert reads_texbufs(src) is want


def test_glsl_classifier_joins_strings_and_lengths(glc):
    # A comment opened in one string and closed in the next; lengths cut the strings.
    assert writes("/* buffer", " X { */ void main() {}") is False
    assert writes("readonly buffer B { int b; }; XXXX", "", lengths=[29, 0]) is False
    assert writes("buf", "fer B { int b; };") is True


def _mapped_ssbo(GL, n_words):
    size = 4 * n_words
    buf = create_buffer()
    raw.glNamedBufferStorage(buf, size, None, RWPC)
    ptr = raw.glMapNamedBufferRange(buf, 0, size, RWPC)
    assert_low(ptr, size, glcoherent.installed().instance.limit)
    return buf, arr(ptr, n_words, np.uint32)


def test_readonly_program_needs_no_merge(gl, glc):
    """A persistent buffer read through a readonly storage block by a vertex shader: CPU
    writes reach the shader, and the buffer never goes byte exact (no reference copy)."""
    GL = gl
    n = 64
    src, view = _mapped_ssbo(GL, n)
    fview = view.view(np.float32)
    prog = program(vs=READ_VS, fs=COLOR_FS)
    target = Target()
    vao = GL.glGenVertexArrays(1)
    merges = glc.instance.stats().merges
    try:
        GL.glUseProgram(prog)
        GL.glBindVertexArray(vao)
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, src)
        for rgba in ((10, 20, 30, 255), (200, 100, 50, 255), (1, 2, 3, 4)):
            fview[28:32] = np.array(rgba, np.float32) / 255.0
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            assert_color(target.pixels(), rgba)
        assert glc.instance.stats().merges == merges, "a read-only program made a buffer merge"
    finally:
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
        cleanup_draw(vao=vao, prog=prog, target=target)
        GL.glUnmapNamedBuffer(src)
        GL.glDeleteBuffers(1, [src])


@pytest.mark.parametrize("stage", ["linked", "separable"])
def test_writing_program_still_gets_results_back(gl, glc, stage):
    GL = gl
    n = 256
    buf, view = _mapped_ssbo(GL, n)
    if stage == "linked":
        prog = program(cs=WRITE_CS)
    else:
        s = ctypes.c_char_p(WRITE_CS.encode())
        fn = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_uint, ctypes.c_int,
                              ctypes.POINTER(ctypes.c_char_p))(
            glc.instance.get_proc_address("glCreateShaderProgramv"))
        prog = fn(GL.GL_COMPUTE_SHADER, 1, ctypes.byref(s))
        assert prog
    try:
        view[:] = 7
        GL.glUseProgram(prog)
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, buf)
        GL.glDispatchCompute(n // 64, 1, 1)
        GL.glFinish()
        assert (view == 8).all(), "the shader's writes did not come back"
        view[5] = 40  # CPU and GPU bytes of one page: both survive
        GL.glDispatchCompute(n // 64, 1, 1)
        GL.glFinish()
        assert view[5] == 41 and (np.delete(view, 5) == 9).all()
    finally:
        GL.glUseProgram(0)
        GL.glBindBufferBase(GL.GL_SHADER_STORAGE_BUFFER, 0, 0)
        GL.glUnmapNamedBuffer(buf)
        GL.glDeleteBuffers(1, [buf])
        GL.glDeleteProgram(prog)


# Colour from texel 3 of a buffer texture (RGBA8); no vertex input.
TEXBUF_VS = """#version 450
layout(binding = 0) uniform samplerBuffer tb;
out vec4 c;
void main() {
    vec2 p[3] = vec2[](vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
    gl_Position = vec4(p[gl_VertexID], 0.0, 1.0);
    c = texelFetch(tb, 3);
}
"""
# The same triangle in a fixed colour: reads no buffer.
PLAIN_VS = """#version 450
out vec4 c;
void main() {
    vec2 p[3] = vec2[](vec2(-1.0, -1.0), vec2(3.0, -1.0), vec2(-1.0, 3.0));
    gl_Position = vec4(p[gl_VertexID], 0.0, 1.0);
    c = vec4(0.0, 0.0, 1.0, 1.0);
}
"""


def test_buffer_texture_read_only_where_programs_read_it(gl, glc):
    """A persistent coherent buffer behind a buffer texture (no image unit bound): a program
    that samples the buffer texture sees every CPU write; one that does not flushes none of
    it; neither makes the buffer GPU-writable (no merge). In a share group of its own: once an
    image unit was bound for writing in a group (an earlier test does), its buffer textures
    stay shader-writable."""
    from glcoherent.egl import HeadlessContext

    own = HeadlessContext()
    own.make_current()
    try:
        _buffer_texture_reads(gl, glc)
    finally:
        own.destroy()


def _buffer_texture_reads(GL, glc):
    size = 1 << 20
    buf = create_buffer()
    raw.glNamedBufferStorage(buf, size, None, RWPC)
    ptr = raw.glMapNamedBufferRange(buf, 0, size, RWPC)
    assert_low(ptr, size, glcoherent.installed().instance.limit)
    bytes_ = arr(ptr, size, np.uint8)
    tex = GL.glGenTextures(1)
    GL.glActiveTexture(GL.GL_TEXTURE0)
    GL.glBindTexture(GL.GL_TEXTURE_BUFFER, tex)
    GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_RGBA8, buf)
    reader = program(vs=TEXBUF_VS, fs=COLOR_FS)
    plain = program(vs=PLAIN_VS, fs=COLOR_FS)
    target = Target()
    vao = GL.glGenVertexArrays(1)
    st = glc.instance.stats
    merges = st().merges
    try:
        GL.glBindVertexArray(vao)
        for rgba in ((10, 20, 30, 255), (200, 100, 50, 255), (1, 2, 3, 4)):
            bytes_[:] = 7                       # every page of the buffer written
            bytes_[12:16] = rgba
            GL.glUseProgram(plain)
            before = st().bytes_flushed
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            assert st().bytes_flushed == before, "a program without buffer textures flushed"
            assert_color(target.pixels(), (0, 0, 255, 255))
            GL.glUseProgram(reader)
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            assert st().bytes_flushed > before
            assert_color(target.pixels(), rgba)
        assert st().merges == merges, "a buffer texture without image units made a merge"
    finally:
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
        GL.glDeleteTextures(1, [tex])
        cleanup_draw(vao=vao, prog=reader, target=target)
        GL.glDeleteProgram(plain)
        GL.glUnmapNamedBuffer(buf)
        GL.glDeleteBuffers(1, [buf])
