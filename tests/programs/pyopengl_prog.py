"""(e) A PyOpenGL program that knows nothing of glcoherent.

It makes its own context - a surfaceless EGL one through OpenGL.EGL, or with --glfw a hidden
glfw window (GLX, needs a display) - maps a persistent coherent buffer and checks both
directions (client writes seen by a GL copy, a GPU copy seen through the mapping after a fence
wait / glFinish). Prints `ptr=0x... len=N` and `RESULT: pass|fail`; exits 0 only on pass.
Run it as is, or under `python -m glcoherent run --stats -- python THIS [--glfw]`.
"""

import ctypes
import os
import sys

USE_GLFW = "--glfw" in sys.argv[1:]
os.environ["PYOPENGL_PLATFORM"] = "glx" if USE_GLFW else "egl"

from OpenGL import GL  # noqa: E402

SIZE = 65536
WORDS = SIZE // 4
EGL_PLATFORM_SURFACELESS_MESA = 0x31DD


def make_glfw_context():
    import glfw

    if not glfw.init():
        raise RuntimeError("glfw.init failed (no display?)")
    glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 4)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 5)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.NATIVE_CONTEXT_API)
    win = glfw.create_window(64, 64, "glcoherent test", None, None)
    if not win:
        raise RuntimeError("glfw.create_window failed")
    glfw.make_context_current(win)

    def done():
        glfw.make_context_current(None)
        glfw.destroy_window(win)
        glfw.terminate()
    return done


def make_context():
    from OpenGL import EGL

    dpy = EGL.eglGetPlatformDisplay(EGL_PLATFORM_SURFACELESS_MESA, EGL.EGL_DEFAULT_DISPLAY, None)
    major, minor = EGL.EGLint(), EGL.EGLint()
    if not EGL.eglInitialize(dpy, ctypes.pointer(major), ctypes.pointer(minor)):
        raise RuntimeError("eglInitialize failed")
    EGL.eglBindAPI(EGL.EGL_OPENGL_API)
    attribs = (EGL.EGLint * 5)(EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT,
                                EGL.EGL_SURFACE_TYPE, EGL.EGL_PBUFFER_BIT, EGL.EGL_NONE)
    config = EGL.EGLConfig()
    n = EGL.EGLint()
    if not EGL.eglChooseConfig(dpy, attribs, ctypes.pointer(config), 1, ctypes.pointer(n)) \
            or n.value < 1:
        raise RuntimeError("no EGL config")
    cattr = (EGL.EGLint * 7)(EGL.EGL_CONTEXT_MAJOR_VERSION, 4, EGL.EGL_CONTEXT_MINOR_VERSION, 5,
                              EGL.EGL_CONTEXT_OPENGL_PROFILE_MASK,
                              EGL.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL.EGL_NONE)
    ctx = EGL.eglCreateContext(dpy, config, EGL.EGL_NO_CONTEXT, cattr)
    if not ctx:
        raise RuntimeError("eglCreateContext failed")
    if not EGL.eglMakeCurrent(dpy, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, ctx):
        raise RuntimeError("eglMakeCurrent failed")

    def done():
        EGL.eglMakeCurrent(dpy, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
        EGL.eglDestroyContext(dpy, ctx)
    return done


def words_at(address):
    return (ctypes.c_uint32 * WORDS).from_address(address)


def main() -> int:
    done = make_glfw_context() if USE_GLFW else make_context()
    print("GL_VERSION:", GL.glGetString(GL.GL_VERSION).decode())
    mapped, scratch, source = GL.glGenBuffers(3)
    flags = (GL.GL_MAP_READ_BIT | GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT
             | GL.GL_MAP_COHERENT_BIT)
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, mapped)
    GL.glBufferStorage(GL.GL_COPY_WRITE_BUFFER, SIZE, None, flags | GL.GL_DYNAMIC_STORAGE_BIT)
    ptr = GL.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, SIZE, flags)
    address = ctypes.cast(ptr, ctypes.c_void_p).value
    print(f"ptr=0x{address:x} len={SIZE}")
    view = words_at(address)
    GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, scratch)
    GL.glBufferData(GL.GL_COPY_READ_BUFFER, SIZE, None, GL.GL_STREAM_COPY)
    ok = True
    for rnd in range(2):
        seed = 0x1000 * (rnd + 1)
        for i in range(WORDS):
            view[i] = seed + i
        GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, mapped)
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, scratch)
        GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
        out = (ctypes.c_uint32 * WORDS)()
        GL.glGetBufferSubData(GL.GL_COPY_WRITE_BUFFER, 0, SIZE, out)
        if list(out) != [seed + i for i in range(WORDS)]:
            print("client write not seen by GL in round", rnd)
            ok = False
        seed2 = 0x900000 + seed
        data = (ctypes.c_uint32 * WORDS)(*[seed2 + i for i in range(WORDS)])
        GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, source)
        GL.glBufferData(GL.GL_COPY_READ_BUFFER, SIZE, data, GL.GL_STATIC_DRAW)
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, mapped)
        GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, SIZE)
        if rnd == 0:
            fence = GL.glFenceSync(GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
            GL.glClientWaitSync(fence, GL.GL_SYNC_FLUSH_COMMANDS_BIT, GL.GL_TIMEOUT_IGNORED)
            GL.glDeleteSync(fence)
        else:
            GL.glFinish()
        if list(view) != [seed2 + i for i in range(WORDS)]:
            print("GPU write not seen through the mapping in round", rnd)
            ok = False
    GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, mapped)
    GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
    GL.glDeleteBuffers(3, [mapped, scratch, source])
    done()
    print("RESULT:", "pass" if ok else "fail")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
