"""Helpers shared by the GL conformance suite (tests/test_gl_*.py); holds no tests itself.

- `raw`: GL entry points called through plain ctypes with exact C prototypes (PyOpenGL mangles
  some of them: glGetBufferPointerv, 64-bit parameter queries, offsets passed as pointers).
  They resolve to glcoherent's wrapped entry points, or to the driver's own inside `native()`.
- `native(glc)`: a block where both PyOpenGL and `raw` go straight to the driver, to run the
  same sequence natively and compare app-visible state and errors.
- small GL fixtures: programs, an 8x8 framebuffer, a full-screen triangle, buffer parameters.
"""

from __future__ import annotations

import contextlib
import ctypes
import time
from ctypes import POINTER, c_int, c_int64, c_ssize_t, c_ubyte, c_uint, c_uint64, c_void_p

import numpy as np
import pytest
from OpenGL import GL

import glcoherent

P = GL.GL_MAP_PERSISTENT_BIT
C = GL.GL_MAP_COHERENT_BIT
R = GL.GL_MAP_READ_BIT
W = GL.GL_MAP_WRITE_BIT
FE = GL.GL_MAP_FLUSH_EXPLICIT_BIT
DYN = GL.GL_DYNAMIC_STORAGE_BIT
CLIENT = GL.GL_CLIENT_STORAGE_BIT
RWPC = R | W | P | C

W_, H_ = 8, 8  # render target size

_PROTOS = {
    "glGetError": (c_uint, []),
    "glFlush": (None, []),
    "glFinish": (None, []),
    "glBufferStorage": (None, [c_uint, c_ssize_t, c_void_p, c_uint]),
    "glNamedBufferStorage": (None, [c_uint, c_ssize_t, c_void_p, c_uint]),
    "glBufferData": (None, [c_uint, c_ssize_t, c_void_p, c_uint]),
    "glNamedBufferData": (None, [c_uint, c_ssize_t, c_void_p, c_uint]),
    "glBufferSubData": (None, [c_uint, c_ssize_t, c_ssize_t, c_void_p]),
    "glNamedBufferSubData": (None, [c_uint, c_ssize_t, c_ssize_t, c_void_p]),
    "glGetBufferSubData": (None, [c_uint, c_ssize_t, c_ssize_t, c_void_p]),
    "glGetNamedBufferSubData": (None, [c_uint, c_ssize_t, c_ssize_t, c_void_p]),
    "glCopyBufferSubData": (None, [c_uint, c_uint, c_ssize_t, c_ssize_t, c_ssize_t]),
    "glCopyNamedBufferSubData": (None, [c_uint, c_uint, c_ssize_t, c_ssize_t, c_ssize_t]),
    "glClearBufferSubData": (None, [c_uint, c_uint, c_ssize_t, c_ssize_t, c_uint, c_uint,
                                    c_void_p]),
    "glClearNamedBufferSubData": (None, [c_uint, c_uint, c_ssize_t, c_ssize_t, c_uint, c_uint,
                                         c_void_p]),
    "glClearBufferData": (None, [c_uint, c_uint, c_uint, c_uint, c_void_p]),
    "glMapBuffer": (c_void_p, [c_uint, c_uint]),
    "glMapNamedBuffer": (c_void_p, [c_uint, c_uint]),
    "glMapBufferRange": (c_void_p, [c_uint, c_ssize_t, c_ssize_t, c_uint]),
    "glMapNamedBufferRange": (c_void_p, [c_uint, c_ssize_t, c_ssize_t, c_uint]),
    "glUnmapBuffer": (c_ubyte, [c_uint]),
    "glUnmapNamedBuffer": (c_ubyte, [c_uint]),
    "glFlushMappedBufferRange": (None, [c_uint, c_ssize_t, c_ssize_t]),
    "glFlushMappedNamedBufferRange": (None, [c_uint, c_ssize_t, c_ssize_t]),
    "glGetBufferPointerv": (None, [c_uint, c_uint, POINTER(c_void_p)]),
    "glGetNamedBufferPointerv": (None, [c_uint, c_uint, POINTER(c_void_p)]),
    "glGetBufferParameteri64v": (None, [c_uint, c_uint, POINTER(c_int64)]),
    "glGetNamedBufferParameteri64v": (None, [c_uint, c_uint, POINTER(c_int64)]),
    "glGetBufferParameteriv": (None, [c_uint, c_uint, POINTER(c_int)]),
    "glGetNamedBufferParameteriv": (None, [c_uint, c_uint, POINTER(c_int)]),
    "glFenceSync": (c_void_p, [c_uint, c_uint]),
    "glClientWaitSync": (c_uint, [c_void_p, c_uint, c_uint64]),
    "glGetSynciv": (None, [c_void_p, c_uint, c_int, POINTER(c_int), POINTER(c_int)]),
    "glDeleteSync": (None, [c_void_p]),
    "glReadPixels": (None, [c_int, c_int, c_int, c_int, c_uint, c_uint, c_void_p]),
    "glTexSubImage2D": (None, [c_uint, c_int, c_int, c_int, c_int, c_int, c_uint, c_uint,
                               c_void_p]),
    "glGetTexImage": (None, [c_uint, c_int, c_uint, c_uint, c_void_p]),
    "glGetTextureSubImage": (None, [c_uint, c_int, c_int, c_int, c_int, c_int, c_int, c_int,
                                    c_uint, c_uint, c_int, c_void_p]),
    "glGetCompressedTexImage": (None, [c_uint, c_int, c_void_p]),
    "glGetQueryObjectuiv": (None, [c_uint, c_uint, c_void_p]),
    "glGetQueryObjectui64v": (None, [c_uint, c_uint, c_void_p]),
    "glGetQueryBufferObjectuiv": (None, [c_uint, c_uint, c_uint, c_ssize_t]),
    "glMemoryBarrier": (None, [c_uint]),
    "glDrawArrays": (None, [c_uint, c_int, c_int]),
    "glDrawElements": (None, [c_uint, c_int, c_uint, c_void_p]),
    "glDispatchCompute": (None, [c_uint, c_uint, c_uint]),
    "glDeleteBuffers": (None, [c_int, POINTER(c_uint)]),
    "glCreateBuffers": (None, [c_int, POINTER(c_uint)]),
}

_native_depth = 0
_egl = ctypes.CDLL("libEGL.so.1")
_egl.eglGetProcAddress.restype = c_void_p
_egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]


class _Raw:
    """raw.glFoo(...): the wrapped entry point (or the driver's inside native())."""

    def __init__(self) -> None:
        self._cache = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        key = (name, _native_depth > 0)
        fn = self._cache.get(key)
        if fn is None:
            restype, argtypes = _PROTOS[name]
            if key[1]:
                addr = _egl.eglGetProcAddress(name.encode())
            else:
                addr = glcoherent.installed().instance.get_proc_address(name)
            assert addr, f"no entry point for {name}"
            fn = ctypes.CFUNCTYPE(restype, *argtypes)(addr)
            self._cache[key] = fn
        return fn


raw = _Raw()


@contextlib.contextmanager
def native(glc):
    """PyOpenGL and `raw` go straight to the driver inside the block. Do not map, unmap or
    delete buffers that glcoherent shadows here."""
    global _native_depth
    _native_depth += 1
    try:
        with glc.bypass():
            yield
    finally:
        _native_depth -= 1


# ---- errors ----------------------------------------------------------------------------------

def errors() -> list:
    """Drain glGetError: the list of errors in the order returned."""
    out = []
    for _ in range(32):
        e = raw.glGetError()
        if e == GL.GL_NO_ERROR:
            break
        out.append(e)
    return out


def no_error():
    assert errors() == []


# ---- pointers --------------------------------------------------------------------------------

def assert_low(ptr, length, limit):
    assert ptr, "NULL mapping"
    assert ptr + length <= limit, f"mapping 0x{ptr:x}+{length} is not below 0x{limit:x}"


def arr(ptr, length, dtype=np.uint8):
    return glcoherent.mapping_array(ptr, length * np.dtype(dtype).itemsize, np.uint8).view(dtype)


def buffer_pointer(target):
    p = c_void_p()
    raw.glGetBufferPointerv(target, GL.GL_BUFFER_MAP_POINTER, ctypes.byref(p))
    return p.value or 0


def named_buffer_pointer(buf):
    p = c_void_p()
    raw.glGetNamedBufferPointerv(buf, GL.GL_BUFFER_MAP_POINTER, ctypes.byref(p))
    return p.value or 0


PARAMS = ("GL_BUFFER_SIZE", "GL_BUFFER_USAGE", "GL_BUFFER_ACCESS", "GL_BUFFER_ACCESS_FLAGS",
          "GL_BUFFER_IMMUTABLE_STORAGE", "GL_BUFFER_MAPPED", "GL_BUFFER_MAP_OFFSET",
          "GL_BUFFER_MAP_LENGTH", "GL_BUFFER_STORAGE_FLAGS")


def buffer_params(target=None, buf=None) -> dict:
    """Every buffer parameter, as 64-bit queries (named when buf is given)."""
    out = {}
    for name in PARAMS:
        v = c_int64(-12345)
        if buf is not None:
            raw.glGetNamedBufferParameteri64v(buf, getattr(GL, name), ctypes.byref(v))
        else:
            raw.glGetBufferParameteri64v(target, getattr(GL, name), ctypes.byref(v))
        out[name] = v.value
    return out


def gen_buffer() -> int:
    return int(GL.glGenBuffers(1))


def delete_buffers(*names):
    a = (c_uint * len(names))(*names)
    raw.glDeleteBuffers(len(names), a)


def create_buffer() -> int:
    v = c_uint()
    raw.glCreateBuffers(1, ctypes.byref(v))
    return v.value


def storage(target, size, flags, data=None):
    """Bind a new buffer to target with immutable storage; returns its name."""
    b = gen_buffer()
    GL.glBindBuffer(target, b)
    raw.glBufferStorage(target, size, _ptr(data), flags)
    return b


def _ptr(data):
    if data is None:
        return None
    if isinstance(data, np.ndarray):
        return data.ctypes.data
    return data


def get_sub(target, offset, size) -> np.ndarray:
    out = np.zeros(size, np.uint8)
    raw.glGetBufferSubData(target, offset, size, out.ctypes.data)
    return out


def get_named_sub(buf, offset, size) -> np.ndarray:
    out = np.zeros(size, np.uint8)
    raw.glGetNamedBufferSubData(buf, offset, size, out.ctypes.data)
    return out


def pattern(n, seed=0) -> np.ndarray:
    return ((np.arange(n, dtype=np.uint32) * 7 + seed * 13 + 1) & 0xFF).astype(np.uint8)


def wait_fence(sync, timeout_s=10.0):
    """glClientWaitSync with timeout 0, polled until signalled (as games do)."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = raw.glClientWaitSync(sync, GL.GL_SYNC_FLUSH_COMMANDS_BIT, 0)
        if r in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED):
            return r
        assert r == GL.GL_TIMEOUT_EXPIRED, f"glClientWaitSync -> 0x{r:x}"
        assert time.monotonic() < deadline, "fence never signalled"


def fence():
    return raw.glFenceSync(GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)


def fence_and_wait():
    s = fence()
    wait_fence(s)
    raw.glDeleteSync(s)


# ---- shaders, framebuffer, drawing -----------------------------------------------------------

def _shader(kind, src):
    sh = GL.glCreateShader(kind)
    GL.glShaderSource(sh, src)
    GL.glCompileShader(sh)
    if not GL.glGetShaderiv(sh, GL.GL_COMPILE_STATUS):
        raise RuntimeError(GL.glGetShaderInfoLog(sh).decode())
    return sh


def program(vs=None, fs=None, cs=None, xfb=None):
    prog = GL.glCreateProgram()
    shaders = []
    for kind, src in ((GL.GL_VERTEX_SHADER, vs), (GL.GL_FRAGMENT_SHADER, fs),
                      (GL.GL_COMPUTE_SHADER, cs)):
        if src:
            sh = _shader(kind, src)
            GL.glAttachShader(prog, sh)
            shaders.append(sh)
    if xfb:
        names = (ctypes.c_char_p * len(xfb))(*[n.encode() for n in xfb])
        GL.glTransformFeedbackVaryings(prog, len(xfb), ctypes.cast(names, POINTER(POINTER(
            ctypes.c_char))), GL.GL_INTERLEAVED_ATTRIBS)
    GL.glLinkProgram(prog)
    for sh in shaders:
        GL.glDeleteShader(sh)
    if not GL.glGetProgramiv(prog, GL.GL_LINK_STATUS):
        raise RuntimeError(GL.glGetProgramInfoLog(prog).decode())
    return prog


COLOR_VS = """#version 450
layout(location = 0) in vec2 pos;
layout(location = 1) in vec4 col;
out vec4 c;
void main() { gl_Position = vec4(pos, 0.0, 1.0); c = col; }
"""
COLOR_FS = """#version 450
in vec4 c;
out vec4 o;
void main() { o = c; }
"""
# A full-screen triangle: 3 vertices x (vec2 position, vec4 colour) = 72 bytes.
TRI_POS = np.array([[-1, -1], [3, -1], [-1, 3]], np.float32)
VERTEX_BYTES = 24


def triangle(rgba) -> np.ndarray:
    """Vertex data (float32 x 18) of a full-screen triangle of one colour (0..255 ints)."""
    col = np.array(rgba, np.float32) / 255.0
    return np.concatenate([np.concatenate([p, col]) for p in TRI_POS]).astype(np.float32)


class Target:
    """An 8x8 RGBA8 framebuffer object (bound on creation)."""

    def __init__(self):
        self.rb = GL.glGenRenderbuffers(1)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.rb)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_RGBA8, W_, H_)
        self.fbo = GL.glGenFramebuffers(1)
        self.bind()
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0,
                                     GL.GL_RENDERBUFFER, self.rb)
        assert GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE

    def bind(self):
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glViewport(0, 0, W_, H_)

    def clear(self, rgba=(0, 0, 0, 0)):
        GL.glClearColor(*[x / 255.0 for x in rgba])
        GL.glClear(GL.GL_COLOR_BUFFER_BIT)

    def pixels(self) -> np.ndarray:
        """glReadPixels into client memory (a synchronous readback): (H, W, 4) uint8."""
        out = np.zeros((H_, W_, 4), np.uint8)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        raw.glReadPixels(0, 0, W_, H_, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, out.ctypes.data)
        return out

    def delete(self):
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        GL.glDeleteFramebuffers(1, [self.fbo])
        GL.glDeleteRenderbuffers(1, [self.rb])


def color_vao(vbo, offset=0):
    """A VAO reading the triangle layout from vbo at offset (pos at 0, colour at 1)."""
    vao = GL.glGenVertexArrays(1)
    GL.glBindVertexArray(vao)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    GL.glEnableVertexAttribArray(0)
    GL.glVertexAttribPointer(0, 2, GL.GL_FLOAT, False, VERTEX_BYTES, c_void_p(offset))
    GL.glEnableVertexAttribArray(1)
    GL.glVertexAttribPointer(1, 4, GL.GL_FLOAT, False, VERTEX_BYTES, c_void_p(offset + 8))
    return vao


def assert_color(px, rgba):
    want = np.array(rgba, np.uint8)
    bad = np.argwhere(np.any(px != want, axis=-1))
    assert len(bad) == 0, f"{len(bad)} pixels differ, e.g. {px[tuple(bad[0])]} != {want}"


def cleanup_draw(*, vao=None, prog=None, target=None):
    GL.glBindVertexArray(0)
    GL.glUseProgram(0)
    if vao:
        GL.glDeleteVertexArrays(1, [vao])
    if prog:
        GL.glDeleteProgram(prog)
    if target:
        target.delete()


def live_shadows(glc) -> int:
    return glc.stats().live_shadows


def needs(ext_or_version):
    """Skip unless the context has the extension."""
    n = GL.glGetIntegerv(GL.GL_NUM_EXTENSIONS)
    exts = {GL.glGetStringi(GL.GL_EXTENSIONS, i).decode() for i in range(n)}
    if ext_or_version not in exts:
        pytest.skip(f"{ext_or_version} not supported")
