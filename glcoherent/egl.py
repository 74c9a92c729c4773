"""Headless OpenGL contexts through EGL (Mesa's surfaceless platform), no display needed.

    from glcoherent.egl import HeadlessContext
    ctx = HeadlessContext()        # GL 4.5 core, current on this thread
    other = HeadlessContext(share=ctx)

Importing this module before OpenGL selects PyOpenGL's EGL platform (PYOPENGL_PLATFORM=egl).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from typing import List, Optional

if "OpenGL" not in sys.modules:
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_NONE = 0x3038
EGL_RENDERABLE_TYPE = 0x3040
EGL_OPENGL_BIT = 0x0008
EGL_SURFACE_TYPE = 0x3033
EGL_PBUFFER_BIT = 0x0001
EGL_OPENGL_API = 0x30A2
EGL_CONTEXT_MAJOR_VERSION = 0x3098
EGL_CONTEXT_MINOR_VERSION = 0x30FB
EGL_CONTEXT_OPENGL_PROFILE_MASK = 0x30FD
EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT = 0x1
EGL_CONTEXT_OPENGL_DEBUG = 0x31B0

_lib = None
_lib_lock = threading.Lock()
_display = None
_live: List[HeadlessContext] = []


class EGLError(RuntimeError):
    pass


def _egl():
    global _lib
    with _lib_lock:
        if _lib is None:
            lib = ctypes.CDLL("libEGL.so.1", mode=ctypes.RTLD_GLOBAL)
            vp = ctypes.c_void_p
            lib.eglGetProcAddress.restype = vp
            lib.eglGetProcAddress.argtypes = [ctypes.c_char_p]
            lib.eglInitialize.argtypes = [vp, ctypes.POINTER(ctypes.c_int),
                                          ctypes.POINTER(ctypes.c_int)]
            lib.eglChooseConfig.argtypes = [vp, ctypes.POINTER(ctypes.c_int),
                                            ctypes.POINTER(vp), ctypes.c_int,
                                            ctypes.POINTER(ctypes.c_int)]
            lib.eglCreateContext.restype = vp
            lib.eglCreateContext.argtypes = [vp, vp, vp, ctypes.POINTER(ctypes.c_int)]
            lib.eglMakeCurrent.argtypes = [vp, vp, vp, vp]
            lib.eglDestroyContext.argtypes = [vp, vp]
            lib.eglGetCurrentContext.restype = vp
            lib.eglGetError.restype = ctypes.c_int
            lib.eglBindAPI.argtypes = [ctypes.c_uint]
            _lib = lib
        return _lib


def display() -> int:
    """The surfaceless EGL display (initialised once per process)."""
    global _display
    lib = _egl()
    if _display is None:
        get_platform_display = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_uint, ctypes.c_void_p,
                                                ctypes.c_void_p)(
            lib.eglGetProcAddress(b"eglGetPlatformDisplayEXT"))
        dpy = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, None, None)
        if not dpy:
            raise EGLError("no surfaceless EGL display (is Mesa's libEGL installed?)")
        major, minor = ctypes.c_int(), ctypes.c_int()
        if not lib.eglInitialize(dpy, ctypes.byref(major), ctypes.byref(minor)):
            raise EGLError(f"eglInitialize failed: 0x{lib.eglGetError():x}")
        _display = dpy
    return _display


class HeadlessContext:
    """A GL context on the surfaceless EGL display, made current on creation."""

    def __init__(self, share: Optional[HeadlessContext] = None, major: int = 4,
                 minor: int = 5, debug: bool = False, make_current: bool = True) -> None:
        lib = _egl()
        dpy = display()
        if not lib.eglBindAPI(EGL_OPENGL_API):
            raise EGLError("eglBindAPI(EGL_OPENGL_API) failed")
        attribs = (ctypes.c_int * 5)(EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE,
                                     EGL_PBUFFER_BIT, EGL_NONE)
        config = ctypes.c_void_p()
        n = ctypes.c_int()
        if not lib.eglChooseConfig(dpy, attribs, ctypes.byref(config), 1, ctypes.byref(n)) \
                or n.value < 1:
            raise EGLError("no EGL config with desktop OpenGL")
        cattr = [EGL_CONTEXT_MAJOR_VERSION, major, EGL_CONTEXT_MINOR_VERSION, minor,
                 EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT]
        if debug:
            cattr += [EGL_CONTEXT_OPENGL_DEBUG, 1]
        cattr.append(EGL_NONE)
        carr = (ctypes.c_int * len(cattr))(*cattr)
        ctx = lib.eglCreateContext(dpy, config, share.handle if share else None, carr)
        if not ctx:
            raise EGLError(f"eglCreateContext failed: 0x{lib.eglGetError():x}")
        self.handle: int = ctx
        self.share = share
        self.display = dpy
        _live.append(self)
        from . import gl as _gl

        inst = _gl.installed()
        if inst is not None:
            inst.instance.context_created(ctx, share.handle if share else None)
        if make_current:
            self.make_current()

    def make_current(self) -> None:
        if not _egl().eglMakeCurrent(self.display, None, None, self.handle):
            raise EGLError(f"eglMakeCurrent failed: 0x{_egl().eglGetError():x}")

    @staticmethod
    def release() -> None:
        """Make no context current on this thread."""
        if _display is not None:
            _egl().eglMakeCurrent(_display, None, None, None)

    def destroy(self) -> None:
        if self.handle:
            lib = _egl()
            if lib.eglGetCurrentContext() == self.handle:
                self.release()
            from . import gl as _gl

            inst = _gl.installed()
            if inst is not None:
                inst.instance.context_destroyed(self.handle)
            lib.eglDestroyContext(self.display, self.handle)
            if self in _live:
                _live.remove(self)
            self.handle = 0

    def __enter__(self) -> HeadlessContext:
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()


def live_contexts() -> List[HeadlessContext]:
    return list(_live)
