"""Shader-aware writability: a buffer bound as shader storage is only "GPU-written" by a draw
or dispatch whose program can write it (the GLSL check of gl/program.c). A read-only program
needs no reference copy and no byte-exact diff; a writing one still gets its results back.
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


def writes(*sources, lengths=None) -> bool:
    strs = [ffi.new("char[]", s.encode()) for s in sources]
    arrp = ffi.new("const char *[]", strs)
    lens = ffi.new("int[]", lengths) if lengths is not None else ffi.NULL
    return bool(lib.glc_glsl_writes(len(sources), arrp, lens))


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
