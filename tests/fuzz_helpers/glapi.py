"""A minimal ctypes GL binding with two dispatch tables over the same context.

    native = GLApi.native()            # the driver's entry points (eglGetProcAddress)
    emul = GLApi.emulated(instance)    # glcoherent's wrappers where it has one, else the driver

No PyOpenGL error checking is involved: glGetError is called explicitly, so the error sequence
of each side can be compared. Calls through `native` never touch glcoherent's bookkeeping: use it
only on buffers glcoherent never saw (the native twins, the check buffers).
"""

from __future__ import annotations

import ctypes
from ctypes import (
    POINTER,
    c_char_p,
    c_int,
    c_ssize_t,
    c_uint,
    c_uint64,
    c_void_p,
)

GLenum = c_uint
GLuint = c_uint
GLint = c_int
GLbitfield = c_uint
GLsizei = c_int
GLintptr = c_ssize_t
GLsizeiptr = c_ssize_t
GLsync = c_void_p
GLboolean = ctypes.c_ubyte

# enums
GL_NO_ERROR = 0
GL_INVALID_ENUM = 0x0500
GL_INVALID_VALUE = 0x0501
GL_INVALID_OPERATION = 0x0502
GL_OUT_OF_MEMORY = 0x0505
GL_MAP_READ_BIT = 0x0001
GL_MAP_WRITE_BIT = 0x0002
GL_MAP_INVALIDATE_RANGE_BIT = 0x0004
GL_MAP_INVALIDATE_BUFFER_BIT = 0x0008
GL_MAP_FLUSH_EXPLICIT_BIT = 0x0010
GL_MAP_UNSYNCHRONIZED_BIT = 0x0020
GL_MAP_PERSISTENT_BIT = 0x0040
GL_MAP_COHERENT_BIT = 0x0080
GL_DYNAMIC_STORAGE_BIT = 0x0100
GL_CLIENT_STORAGE_BIT = 0x0200
GL_ARRAY_BUFFER = 0x8892
GL_COPY_READ_BUFFER = 0x8F36
GL_COPY_WRITE_BUFFER = 0x8F37
GL_SHADER_STORAGE_BUFFER = 0x90D2
GL_SHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT = 0x90DF
GL_MIN_MAP_BUFFER_ALIGNMENT = 0x90BC
GL_BUFFER_SIZE = 0x8764
GL_BUFFER_USAGE = 0x8765
GL_BUFFER_ACCESS_FLAGS = 0x911F
GL_BUFFER_MAPPED = 0x88BC
GL_BUFFER_MAP_LENGTH = 0x9120
GL_BUFFER_MAP_OFFSET = 0x9121
GL_BUFFER_MAP_POINTER = 0x88BD
GL_BUFFER_IMMUTABLE_STORAGE = 0x821F
GL_BUFFER_STORAGE_FLAGS = 0x8220
GL_READ_ONLY = 0x88B8
GL_WRITE_ONLY = 0x88B9
GL_READ_WRITE = 0x88BA
GL_STATIC_DRAW = 0x88E4
GL_DYNAMIC_DRAW = 0x88E8
GL_STREAM_READ = 0x88E1
GL_R8UI = 0x8232
GL_R32UI = 0x8236
GL_RED_INTEGER = 0x8D94
GL_UNSIGNED_BYTE = 0x1401
GL_UNSIGNED_INT = 0x1405
GL_SYNC_GPU_COMMANDS_COMPLETE = 0x9117
GL_SYNC_FLUSH_COMMANDS_BIT = 0x00000001
GL_SYNC_STATUS = 0x9114
GL_SIGNALED = 0x9119
GL_UNSIGNALED = 0x9118
GL_ALREADY_SIGNALED = 0x911A
GL_TIMEOUT_EXPIRED = 0x911B
GL_CONDITION_SATISFIED = 0x911C
GL_WAIT_FAILED = 0x911D
GL_ALL_BARRIER_BITS = 0xFFFFFFFF
GL_CLIENT_MAPPED_BUFFER_BARRIER_BIT = 0x00004000
GL_COMPUTE_SHADER = 0x91B9
GL_COMPILE_STATUS = 0x8B81
GL_LINK_STATUS = 0x8B82
GL_MAJOR_VERSION = 0x821B
GL_VERTEX_SHADER = 0x8B31
GL_FRAGMENT_SHADER = 0x8B30
GL_POINTS = 0x0000
GL_RASTERIZER_DISCARD = 0x8C89
GL_TRANSFORM_FEEDBACK_BUFFER = 0x8C8E
GL_INTERLEAVED_ATTRIBS = 0x8C8C
GL_ELEMENT_ARRAY_BUFFER = 0x8893
GL_UNSIGNED_SHORT = 0x1403
GL_FRAMEBUFFER = 0x8D40
GL_RENDERBUFFER = 0x8D41
GL_COLOR_ATTACHMENT0 = 0x8CE0
GL_RGBA8 = 0x8058

ERROR_NAMES = {GL_NO_ERROR: "NO_ERROR", GL_INVALID_ENUM: "INVALID_ENUM",
               GL_INVALID_VALUE: "INVALID_VALUE", GL_INVALID_OPERATION: "INVALID_OPERATION",
               GL_OUT_OF_MEMORY: "OUT_OF_MEMORY"}

_PROTOS = {
    "glGetError": (GLenum, []),
    "glFinish": (None, []),
    "glFlush": (None, []),
    "glGetIntegerv": (None, [GLenum, POINTER(GLint)]),
    "glCreateBuffers": (None, [GLsizei, POINTER(GLuint)]),
    "glGenBuffers": (None, [GLsizei, POINTER(GLuint)]),
    "glDeleteBuffers": (None, [GLsizei, POINTER(GLuint)]),
    "glBindBuffer": (None, [GLenum, GLuint]),
    "glBindBufferRange": (None, [GLenum, GLuint, GLuint, GLintptr, GLsizeiptr]),
    "glBindBufferBase": (None, [GLenum, GLuint, GLuint]),
    "glBufferStorage": (None, [GLenum, GLsizeiptr, c_void_p, GLbitfield]),
    "glNamedBufferStorage": (None, [GLuint, GLsizeiptr, c_void_p, GLbitfield]),
    "glBufferData": (None, [GLenum, GLsizeiptr, c_void_p, GLenum]),
    "glNamedBufferData": (None, [GLuint, GLsizeiptr, c_void_p, GLenum]),
    "glBufferSubData": (None, [GLenum, GLintptr, GLsizeiptr, c_void_p]),
    "glNamedBufferSubData": (None, [GLuint, GLintptr, GLsizeiptr, c_void_p]),
    "glGetNamedBufferSubData": (None, [GLuint, GLintptr, GLsizeiptr, c_void_p]),
    "glGetBufferSubData": (None, [GLenum, GLintptr, GLsizeiptr, c_void_p]),
    "glMapBufferRange": (c_void_p, [GLenum, GLintptr, GLsizeiptr, GLbitfield]),
    "glMapNamedBufferRange": (c_void_p, [GLuint, GLintptr, GLsizeiptr, GLbitfield]),
    "glMapNamedBuffer": (c_void_p, [GLuint, GLenum]),
    "glUnmapBuffer": (GLboolean, [GLenum]),
    "glUnmapNamedBuffer": (GLboolean, [GLuint]),
    "glFlushMappedNamedBufferRange": (None, [GLuint, GLintptr, GLsizeiptr]),
    "glFlushMappedBufferRange": (None, [GLenum, GLintptr, GLsizeiptr]),
    "glCopyNamedBufferSubData": (None, [GLuint, GLuint, GLintptr, GLintptr, GLsizeiptr]),
    "glCopyBufferSubData": (None, [GLenum, GLenum, GLintptr, GLintptr, GLsizeiptr]),
    "glClearNamedBufferSubData": (None, [GLuint, GLenum, GLintptr, GLsizeiptr, GLenum, GLenum,
                                         c_void_p]),
    "glClearNamedBufferData": (None, [GLuint, GLenum, GLenum, GLenum, c_void_p]),
    "glClearBufferSubData": (None, [GLenum, GLenum, GLintptr, GLsizeiptr, GLenum, GLenum,
                                    c_void_p]),
    "glGetNamedBufferParameteriv": (None, [GLuint, GLenum, POINTER(GLint)]),
    "glGetNamedBufferPointerv": (None, [GLuint, GLenum, POINTER(c_void_p)]),
    "glGetBufferPointerv": (None, [GLenum, GLenum, POINTER(c_void_p)]),
    "glFenceSync": (GLsync, [GLenum, GLbitfield]),
    "glClientWaitSync": (GLenum, [GLsync, GLbitfield, c_uint64]),
    "glGetSynciv": (None, [GLsync, GLenum, GLsizei, POINTER(GLsizei), POINTER(GLint)]),
    "glDeleteSync": (None, [GLsync]),
    "glMemoryBarrier": (None, [GLbitfield]),
    "glCreateShader": (GLuint, [GLenum]),
    "glShaderSource": (None, [GLuint, GLsizei, POINTER(c_char_p), POINTER(GLint)]),
    "glCompileShader": (None, [GLuint]),
    "glGetShaderiv": (None, [GLuint, GLenum, POINTER(GLint)]),
    "glGetShaderInfoLog": (None, [GLuint, GLsizei, POINTER(GLsizei), c_char_p]),
    "glCreateProgram": (GLuint, []),
    "glAttachShader": (None, [GLuint, GLuint]),
    "glLinkProgram": (None, [GLuint]),
    "glGetProgramiv": (None, [GLuint, GLenum, POINTER(GLint)]),
    "glGetProgramInfoLog": (None, [GLuint, GLsizei, POINTER(GLsizei), c_char_p]),
    "glUseProgram": (None, [GLuint]),
    "glGetUniformLocation": (GLint, [GLuint, c_char_p]),
    "glProgramUniform1ui": (None, [GLuint, GLint, GLuint]),
    "glDispatchCompute": (None, [GLuint, GLuint, GLuint]),
    "glDrawArrays": (None, [GLenum, GLint, GLsizei]),
    "glCreateVertexArrays": (None, [GLsizei, POINTER(GLuint)]),
    "glBindVertexArray": (None, [GLuint]),
    "glEnable": (None, [GLenum]),
    "glDisable": (None, [GLenum]),
    "glDrawElementsBaseVertex": (None, [GLenum, GLsizei, GLenum, c_void_p, GLint]),
    "glDrawRangeElements": (None, [GLenum, GLuint, GLuint, GLsizei, GLenum, c_void_p]),
    "glVertexAttribIPointer": (None, [GLuint, GLint, GLenum, GLsizei, c_void_p]),
    "glEnableVertexAttribArray": (None, [GLuint]),
    "glVertexArrayVertexBuffer": (None, [GLuint, GLuint, GLuint, GLintptr, GLsizei]),
    "glVertexArrayAttribIFormat": (None, [GLuint, GLuint, GLint, GLenum, GLuint]),
    "glVertexArrayAttribBinding": (None, [GLuint, GLuint, GLuint]),
    "glEnableVertexArrayAttrib": (None, [GLuint, GLuint]),
    "glVertexArrayElementBuffer": (None, [GLuint, GLuint]),
    "glTransformFeedbackVaryings": (None, [GLuint, GLsizei, POINTER(c_char_p), GLenum]),
    "glBeginTransformFeedback": (None, [GLenum]),
    "glEndTransformFeedback": (None, []),
    "glCreateFramebuffers": (None, [GLsizei, POINTER(GLuint)]),
    "glCreateRenderbuffers": (None, [GLsizei, POINTER(GLuint)]),
    "glNamedRenderbufferStorage": (None, [GLuint, GLenum, GLsizei, GLsizei]),
    "glNamedFramebufferRenderbuffer": (None, [GLuint, GLenum, GLenum, GLuint]),
    "glBindFramebuffer": (None, [GLenum, GLuint]),
}


def _egl_get_proc(name: str) -> int:
    from glcoherent.egl import _egl

    return _egl().eglGetProcAddress(name.encode()) or 0


class GLApi:
    def __init__(self, resolve, label: str) -> None:
        self.label = label
        for name, (res, args) in _PROTOS.items():
            addr = resolve(name)
            if not addr:
                raise RuntimeError(f"{label}: no {name}")
            setattr(self, name, ctypes.CFUNCTYPE(res, *args)(addr))

    @classmethod
    def native(cls) -> GLApi:
        return cls(_egl_get_proc, "native")

    @classmethod
    def emulated(cls, instance) -> GLApi:
        return cls(instance.get_proc_address, "emulated")

    # ---- conveniences -------------------------------------------------------------------------

    def errors(self) -> list:
        out = []
        for _ in range(32):
            e = self.glGetError()
            if e == GL_NO_ERROR:
                break
            out.append(e)
        return out

    def create_buffer(self) -> int:
        n = GLuint()
        self.glCreateBuffers(1, ctypes.byref(n))
        return n.value

    def delete_buffer(self, name: int) -> None:
        n = GLuint(name)
        self.glDeleteBuffers(1, ctypes.byref(n))

    def param(self, name: int, pname: int) -> int:
        v = GLint(-12345)
        self.glGetNamedBufferParameteriv(name, pname, ctypes.byref(v))
        return v.value

    def pointer(self, name: int) -> int:
        p = c_void_p()
        self.glGetNamedBufferPointerv(name, GL_BUFFER_MAP_POINTER, ctypes.byref(p))
        return p.value or 0

    def create(self, fn, n=1) -> int:
        v = GLuint()
        fn(n, ctypes.byref(v))
        return v.value

    def get_integer(self, pname: int) -> int:
        v = GLint()
        self.glGetIntegerv(pname, ctypes.byref(v))
        return v.value

    def read(self, name: int, offset: int, size: int) -> bytes:
        buf = ctypes.create_string_buffer(size)
        self.glGetNamedBufferSubData(name, offset, size, buf)
        return buf.raw

    def sync_status(self, sync) -> int:
        v = GLint(0)
        n = GLsizei(0)
        self.glGetSynciv(sync, GL_SYNC_STATUS, 1, ctypes.byref(n), ctypes.byref(v))
        return v.value

    def program(self, sources, xfb=()) -> int:
        """Link a program from [(stage, source)] (transform feedback varyings xfb, interleaved),
        raising on compile/link errors."""
        prog = self.glCreateProgram()
        for stage, src in sources:
            sh = self.glCreateShader(stage)
            s = c_char_p(src.encode())
            self.glShaderSource(sh, 1, ctypes.byref(s), None)
            self.glCompileShader(sh)
            ok = GLint()
            self.glGetShaderiv(sh, GL_COMPILE_STATUS, ctypes.byref(ok))
            if not ok.value:
                log = ctypes.create_string_buffer(4096)
                self.glGetShaderInfoLog(sh, 4096, None, log)
                raise RuntimeError(f"shader compile failed: {log.value.decode()}")
            self.glAttachShader(prog, sh)
        if xfb:
            names = (c_char_p * len(xfb))(*[n.encode() for n in xfb])
            self.glTransformFeedbackVaryings(prog, len(xfb), names, GL_INTERLEAVED_ATTRIBS)
        self.glLinkProgram(prog)
        ok = GLint()
        self.glGetProgramiv(prog, GL_LINK_STATUS, ctypes.byref(ok))
        if not ok.value:
            log = ctypes.create_string_buffer(4096)
            self.glGetProgramInfoLog(prog, 4096, None, log)
            raise RuntimeError(f"program link failed: {log.value.decode()}")
        return prog


def view(ptr: int, n: int):
    """A writable numpy uint8 view of n bytes at ptr."""
    import numpy as np

    return np.frombuffer((ctypes.c_ubyte * n).from_address(ptr), dtype=np.uint8)
