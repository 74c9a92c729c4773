"""install() before or after the context, for each kind of context (issue: install() at the top
of a program, before any GL/EGL/GLX library was loaded, crashed at the first GL call).

    python install_order.py ORDER KIND      ORDER: install-first | context-first
                                            KIND:  egl (OpenGL.EGL, surfaceless) | glfw | glx

Then, with PyOpenGL going through glcoherent: a persistent coherent mapping below the limit whose
CPU writes a GPU copy sees (no flush call), and a query result written by a raw entry point that
the program fetched itself through PyOpenGL's loader (OpenGL.EGL.eglGetProcAddress or
OpenGL.GLX.glXGetProcAddress) and called through ctypes, into a persistent coherent query
buffer that the program polls with ordinary GL calls in between and no fence wait. Prints one
JSON line.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

ORDER, KIND = sys.argv[1], sys.argv[2]
os.environ["PYOPENGL_PLATFORM"] = "egl" if KIND == "egl" else "glx"
if KIND == "egl":
    os.environ["EGL_PLATFORM"] = "surfaceless"


def gl_libraries_loaded() -> list:
    with open("/proc/self/maps") as f:
        names = {line.split()[-1].rsplit("/", 1)[-1] for line in f if "/" in line}
    return sorted(n for n in names if n.startswith(("libEGL", "libGL", "libOpenGL", "libGLX")))


out: dict = {"order": ORDER, "kind": KIND}


def install() -> None:
    import glcoherent

    out.setdefault("loaded_before_install", gl_libraries_loaded())
    glcoherent.install()


if ORDER == "install-first":
    install()


def make_egl_context():
    from OpenGL import EGL

    dpy = EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
    major, minor = EGL.EGLint(), EGL.EGLint()
    assert EGL.eglInitialize(dpy, ctypes.pointer(major), ctypes.pointer(minor))
    assert EGL.eglBindAPI(EGL.EGL_OPENGL_API)
    attribs = (EGL.EGLint * 5)(EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT,
                               EGL.EGL_SURFACE_TYPE, EGL.EGL_PBUFFER_BIT, EGL.EGL_NONE)
    config = EGL.EGLConfig()
    n = EGL.EGLint()
    assert EGL.eglChooseConfig(dpy, attribs, ctypes.pointer(config), 1, ctypes.pointer(n))
    assert n.value > 0, "no EGL config"
    ctx_attribs = (EGL.EGLint * 7)(0x3098, 4, 0x30FB, 5, 0x30FD, 1, EGL.EGL_NONE)
    ctx = EGL.eglCreateContext(dpy, config, EGL.EGL_NO_CONTEXT, ctx_attribs)
    assert ctx, "eglCreateContext failed"
    assert EGL.eglMakeCurrent(dpy, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, ctx)
    return ctx


def make_glfw_context():
    import glfw

    assert glfw.init(), "glfw.init failed (no display?)"
    glfw.window_hint(glfw.VISIBLE, glfw.FALSE)
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 4)
    glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 5)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    win = glfw.create_window(64, 64, "install order", None, None)
    assert win, "glfw.create_window failed"
    glfw.make_context_current(win)
    return win


def make_glx_context():
    x11 = ctypes.CDLL("libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(None)
    assert dpy, "XOpenDisplay failed"
    glx = ctypes.CDLL("libGL.so.1")
    vp = ctypes.c_void_p
    glx.glXChooseFBConfig.restype = ctypes.POINTER(vp)
    glx.glXChooseFBConfig.argtypes = [vp, ctypes.c_int, ctypes.POINTER(ctypes.c_int),
                                      ctypes.POINTER(ctypes.c_int)]
    glx.glXGetProcAddressARB.restype = vp
    glx.glXGetProcAddressARB.argtypes = [ctypes.c_char_p]
    glx.glXCreatePbuffer.restype = ctypes.c_ulong
    glx.glXCreatePbuffer.argtypes = [vp, vp, ctypes.POINTER(ctypes.c_int)]
    glx.glXMakeContextCurrent.argtypes = [vp, ctypes.c_ulong, ctypes.c_ulong, vp]
    fb_attribs = (ctypes.c_int * 7)(0x8010, 0x4, 0x8011, 0x1, 0x8012, 0x1, 0)  # pbuffer, RGBA
    n = ctypes.c_int()
    configs = glx.glXChooseFBConfig(dpy, x11.XDefaultScreen(dpy), fb_attribs, ctypes.byref(n))
    assert configs and n.value > 0, "no GLX FB config"
    create = ctypes.CFUNCTYPE(vp, vp, vp, vp, ctypes.c_int, ctypes.POINTER(ctypes.c_int))(
        glx.glXGetProcAddressARB(b"glXCreateContextAttribsARB"))
    ctx_attribs = (ctypes.c_int * 7)(0x2091, 4, 0x2092, 5, 0x9126, 1, 0)  # 4.5 core
    ctx = create(dpy, configs[0], None, 1, ctx_attribs)
    assert ctx, "glXCreateContextAttribsARB failed"
    pb_attribs = (ctypes.c_int * 5)(0x8041, 64, 0x8040, 64, 0)  # PBUFFER_WIDTH/HEIGHT
    pbuf = glx.glXCreatePbuffer(dpy, configs[0], pb_attribs)
    assert glx.glXMakeContextCurrent(dpy, pbuf, pbuf, ctx), "glXMakeContextCurrent failed"
    return ctx


context = {"egl": make_egl_context, "glfw": make_glfw_context, "glx": make_glx_context}[KIND]()

if ORDER == "context-first":
    install()

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

import glcoherent  # noqa: E402

LIMIT = glcoherent.installed().instance.limit
FLAGS = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_READ_BIT | GL.GL_MAP_PERSISTENT_BIT | \
    GL.GL_MAP_COHERENT_BIT

# 1. A persistent coherent mapping below the limit; CPU writes seen by the next GPU command.
size = 4096
src, dst = GL.glGenBuffers(2)
GL.glBindBuffer(GL.GL_COPY_READ_BUFFER, src)
GL.glBufferStorage(GL.GL_COPY_READ_BUFFER, size, None, FLAGS)
ptr = GL.glMapBufferRange(GL.GL_COPY_READ_BUFFER, 0, size, FLAGS)
out["pointer"] = ptr or 0
view = glcoherent.mapping_array(ptr, size)
view[:] = np.arange(size, dtype=np.uint32).astype(np.uint8)
GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, dst)
GL.glBufferData(GL.GL_COPY_WRITE_BUFFER, size, None, GL.GL_STATIC_READ)
GL.glCopyBufferSubData(GL.GL_COPY_READ_BUFFER, GL.GL_COPY_WRITE_BUFFER, 0, 0, size)
got = np.frombuffer(GL.glGetBufferSubData(GL.GL_COPY_WRITE_BUFFER, 0, size), dtype=np.uint8)
out["copy_ok"] = bool(np.array_equal(got, view))

# 2. A raw entry point fetched through PyOpenGL's own loader, called through ctypes.
if KIND == "egl":
    from OpenGL import EGL

    raw_addr = EGL.eglGetProcAddress(b"glGetQueryObjectui64v")
else:
    from OpenGL import GLX

    raw_addr = GLX.glXGetProcAddress(b"glGetQueryObjectui64v")
raw_addr = ctypes.cast(raw_addr, ctypes.c_void_p).value if raw_addr else 0
wrapped = glcoherent.installed().instance.get_proc_address("glGetQueryObjectui64v")
out["loader_returns_wrapper"] = bool(raw_addr) and raw_addr == wrapped
raw_get_query = ctypes.CFUNCTYPE(None, ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p)(raw_addr)

qbuf = GL.glGenBuffers(1)
GL.glBindBuffer(GL.GL_QUERY_BUFFER, qbuf)
GL.glBufferStorage(GL.GL_QUERY_BUFFER, 64, np.zeros(64, np.uint8), FLAGS)
qptr = GL.glMapBufferRange(GL.GL_QUERY_BUFFER, 0, 64, FLAGS)
qview = glcoherent.mapping_array(qptr, 64, np.uint64)
query = int(np.ravel(GL.glGenQueries(1))[0])
GL.glQueryCounter(query, GL.GL_TIMESTAMP)
GL.glFlush()
# With QUERY_BUFFER bound, the result goes into the buffer at offset 8 (a GPU write).
raw_get_query(int(query), GL.GL_QUERY_RESULT, ctypes.c_void_p(8))
polls = 0
while qview[1] == 0 and polls < 100000:
    GL.glGetError()          # ordinary GL calls in between, no fence, no wait
    polls += 1
out["query_result"] = int(qview[1])
out["polls"] = polls
out["query_pointer"] = qptr or 0
out["below_limit"] = 0 < out["pointer"] < LIMIT and 0 < out["query_pointer"] < LIMIT
out["stats"] = glcoherent.installed().stats().as_dict()
out["gl_error"] = int(GL.glGetError())
print(json.dumps(out))
