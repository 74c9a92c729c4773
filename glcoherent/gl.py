"""The GL front door for Python programs: run PyOpenGL through glcoherent in-process.

    import glcoherent
    with glcoherent.install():          # or glcoherent.install() ... glcoherent.uninstall()
        ptr = GL.glMapBufferRange(...)  # a low shadow, below the limit

install() creates one glcoherent instance (the C core, with its GL layer), then points the
PyOpenGL function objects of every entry point glcoherent wraps at the wrapped C entry points,
so unchanged PyOpenGL code (and any library built on it) goes through the layer. uninstall()
points them back.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import sys
import threading
from dataclasses import dataclass, fields
from typing import Dict, List, Optional, Tuple

import numpy as np

from ._config import format_size, resolve_limit, resolve_tracker
from ._ext import ffi, lib
from .errors import GlcoherentError, NativeError

log = logging.getLogger("glcoherent")

_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}


def _native_level(level: int) -> int:
    """The lowest GLCOHERENT_LOG_* level a Python logger at `level` keeps."""
    return min((n for n, py in _LEVELS.items() if py >= level), default=3)


@ffi.def_extern()
def glc_py_log(_user, level, message):
    log.log(_LEVELS.get(level, logging.WARNING), "%s", ffi.string(message).decode(errors="replace"))


@dataclass(frozen=True)
class Stats:
    """Counters of one glcoherent instance (see glcoherent.h)."""

    maps: int
    persistent_maps: int
    shadowed_maps: int
    live_shadows: int
    max_mapped_end: int
    bytes_flushed: int
    bytes_read_back: int
    flushes: int
    copy_backs: int
    write_faults: int
    scans: int
    mode_switches: int
    merges: int
    oom: int
    limit: int
    tracker: int
    tracker_auto: int

    @property
    def tracker_name(self) -> str:
        base = {1: "uffd", 2: "mprotect", 3: "copy"}.get(self.tracker, "?")
        return f"auto({base})" if self.tracker_auto else base

    def as_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["tracker"] = self.tracker_name
        return d


def wrapped_names() -> List[str]:
    """Every GL entry point glcoherent wraps."""
    return [ffi.string(lib.glc_wrapper_name(i)).decode() for i in range(lib.glc_wrapper_count())]


class Instance:
    """One glcoherent instance: the arena, the tracker and the GL layer, fed with the driver's
    entry points from the EGL/GLX library the process has loaded."""

    def __init__(self, limit: Optional[str | int] = None, tracker: Optional[str] = None,
                 low: int = 0) -> None:
        api = ffi.new("const void **")
        if lib.glcoherent_get_api(1, api) != 0:
            raise NativeError(errno.ENOSYS, "glcoherent C API version 1 is missing")
        self._api = ffi.cast("const glcoherent_api_1 *", api[0])
        self.limit = resolve_limit(limit)
        self.requested_tracker = resolve_tracker(tracker)
        cfg = ffi.new("glcoherent_config *")
        cfg.struct_size = ffi.sizeof("glcoherent_config")
        cfg.limit = self.limit
        cfg.low = low
        self._tracker_name = ffi.new("char[]", self.requested_tracker.encode())
        cfg.tracker = self._tracker_name
        cfg.get_proc = ffi.addressof(lib, "glc_builtin_get_proc")
        cfg.get_current = ffi.addressof(lib, "glc_builtin_get_current")
        cfg.log = lib.glc_py_log
        # Lines the logger would drop are not even formatted (a map costs no log work); the
        # level is read now: set the glcoherent logger's level before install().
        cfg.log_level = _native_level(log.getEffectiveLevel())
        out = ffi.new("glcoherent_instance **")
        rc = self._api.create(cfg, out)
        if rc != 0:
            raise NativeError(-rc, f"cannot create a glcoherent instance below "
                                   f"{format_size(self.limit)}: {os.strerror(-rc)}")
        self._ptr = out[0]
        self._owned = True

    @classmethod
    def attach(cls, address: int) -> Instance:
        """Wrap an instance that lives elsewhere in the process (the interposer's); it is
        neither configured nor destroyed from here."""
        self = cls.__new__(cls)
        api = ffi.new("const void **")
        lib.glcoherent_get_api(1, api)
        self._api = ffi.cast("const glcoherent_api_1 *", api[0])
        self._ptr = ffi.cast("glcoherent_instance *", address)
        self._owned = False
        self.limit = int(self._api.limit(self._ptr))
        self.requested_tracker = self.tracker
        return self

    @property
    def tracker(self) -> str:
        return ffi.string(self._api.tracker_name(self._ptr)).decode()

    def get_proc_address(self, name: str) -> int:
        """Address of the entry point to call for name: the wrapper, or the driver's own."""
        return int(ffi.cast("uintptr_t", self._api.get_proc_address(self._ptr, name.encode())))

    def context_created(self, ctx: int, share: Optional[int] = None) -> None:
        """Tell the layer about a native context and the one it shares objects with."""
        self._api.context_created(self._ptr, ffi.cast("void *", ctx),
                                  ffi.cast("void *", share or 0))

    def context_destroyed(self, ctx: int) -> None:
        self._api.context_destroyed(self._ptr, ffi.cast("void *", ctx))

    def prepare_kernel_write(self, address: int, length: int) -> None:
        """Make [address, address + length) ready for a write by the kernel (os.readv,
        socket.recv_into, file.readinto straight into a mapping): write-protected tracked pages
        become writable and count as client writes. Needed with the mprotect tracker in-process
        (harmless with the others); the interposer does it for the libc calls itself."""
        self._api.prepare_kernel_write(self._ptr, ffi.cast("void *", address), length)

    def stats(self) -> Stats:
        st = ffi.new("glcoherent_stats *")
        self._api.get_stats(self._ptr, st)
        return Stats(**{f.name: getattr(st, f.name) for f in fields(Stats)})

    def close(self) -> None:
        if getattr(self, "_ptr", None) is not None and self._owned:
            self._api.destroy(self._ptr)
        self._ptr = None


def preload_instance() -> Optional[int]:
    """Address of the interposer's instance when libglcoherent_preload.so is loaded (the
    program runs under `glcoherent run`), else None."""
    try:
        fn = ctypes.CDLL(None).glcoherent_preload_instance
    except AttributeError:
        return None
    fn.restype = ctypes.c_void_p
    return fn() or None


# ---- PyOpenGL redirection ----------------------------------------------------------------------

# PyOpenGL's loader functions -> the core's loaders that hand out wrapped entry points.
_LOADERS = {
    "eglGetProcAddress": "glc_loader_egl_get_proc_address",
    "glXGetProcAddress": "glc_loader_glx_get_proc_address",
    "glXGetProcAddressARB": "glc_loader_glx_get_proc_address",
}
_SCANNED_MODULES = ("OpenGL.raw.GL", "OpenGL.GL", "OpenGL.raw.EGL", "OpenGL.EGL",
                    "OpenGL.raw.GLX", "OpenGL.GLX")


def _loader_address(name: str) -> int:
    return int(ffi.cast("uintptr_t", ffi.addressof(lib, _LOADERS[name])))


def _fn_slot(fn) -> ctypes.c_void_p:
    """The word inside a ctypes function object that holds the address it calls."""
    return ctypes.c_void_p.from_address(ctypes.addressof(fn))


class Installation:
    """What install() did; uninstall() (or leaving the with block) undoes it."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self._patched: Dict[int, Tuple[object, int, int]] = {}  # id -> (fn, original, target)
        self._suspended = 0
        self._names = set(wrapped_names())
        self._orig_construct = None
        self._platform = None
        self._egl_patch: Optional[Tuple[object, object, object]] = None

    # a ctypes function object of PyOpenGL -> our wrapper (a GL entry point) or our loader
    # (eglGetProcAddress, glXGetProcAddress(ARB): raw entry points fetched through them and
    # called through ctypes must reach the layer too)
    def _redirect(self, fn) -> None:
        name = getattr(fn, "__name__", None)
        if (name not in self._names and name not in _LOADERS) or id(fn) in self._patched:
            return
        slot = _fn_slot(fn)
        original = slot.value
        if not original:
            return
        target = (_loader_address(name) if name in _LOADERS
                  else self.instance.get_proc_address(name))
        if target and target != original:
            self._patched[id(fn)] = (fn, original, target)
            if not self._suspended:
                slot.value = target

    def _scan_modules(self) -> None:
        for modname, mod in list(sys.modules.items()):
            if mod is None or not modname.startswith(_SCANNED_MODULES):
                continue
            for name in (*self._names, *_LOADERS):
                fn = mod.__dict__.get(name)
                if isinstance(fn, ctypes._CFuncPtr):
                    self._redirect(fn)
                wrapped = getattr(fn, "wrappedOperation", None)
                while wrapped is not None:
                    if isinstance(wrapped, ctypes._CFuncPtr):
                        self._redirect(wrapped)
                    wrapped = getattr(wrapped, "wrappedOperation", None)

    def _hook_platform(self) -> None:
        from OpenGL import platform

        plat = platform.PLATFORM
        orig = plat.constructFunction

        def construct(*args, **kwargs):
            fn = orig(*args, **kwargs)
            if isinstance(fn, ctypes._CFuncPtr):
                self._redirect(fn)
            return fn

        self._platform, self._orig_construct = plat, orig
        plat.constructFunction = construct

    def _hook_egl_contexts(self) -> None:
        """Tell the layer which contexts share objects, and which die, when the app uses
        OpenGL.EGL (a handle the driver reuses must not inherit a dead context's records)."""
        egl_mod = sys.modules.get("OpenGL.EGL")
        if egl_mod is None or not hasattr(egl_mod, "eglCreateContext"):
            return
        create, destroy = egl_mod.eglCreateContext, egl_mod.eglDestroyContext
        inst = self.instance

        def handle(ctx) -> int:
            return ctypes.cast(ctx, ctypes.c_void_p).value or 0 if ctx else 0

        def eglCreateContext(display, config, share, attribs):  # noqa: N802 - GL name
            ctx = create(display, config, share, attribs)
            if handle(ctx):
                inst.context_created(handle(ctx), handle(share) or None)
            return ctx

        def eglDestroyContext(display, ctx):  # noqa: N802 - GL name
            if handle(ctx):
                inst.context_destroyed(handle(ctx))
            return destroy(display, ctx)

        egl_mod.eglCreateContext = eglCreateContext
        egl_mod.eglDestroyContext = eglDestroyContext
        self._egl_patch = (egl_mod, create, destroy)

    def apply(self) -> None:
        if not self.instance._owned:
            # Under the interposer PyOpenGL already resolves through the wrapped entry points
            # (its dlsym is hooked); a second layer on top would only see low pointers.
            log.info("glcoherent is already active through the interposer; using its instance")
            return
        import OpenGL.GL  # noqa: F401 - loads the core entry points to redirect
        for extra in ("OpenGL.GL.ARB.buffer_storage", "OpenGL.GL.ARB.direct_state_access",
                      "OpenGL.GL.ARB.query_buffer_object", "OpenGL.GL.ARB.indirect_parameters",
                      "OpenGL.GL.EXT.direct_state_access"):
            try:
                __import__(extra)
            except Exception:  # noqa: BLE001 - an extension module PyOpenGL lacks
                log.debug("PyOpenGL has no %s", extra)
        self._scan_modules()
        self._hook_platform()
        self._hook_egl_contexts()
        log.info("glcoherent installed: %d PyOpenGL entry points redirected, limit %s, "
                 "tracker %s", len(self._patched), format_size(self.instance.limit),
                 self.instance.tracker)

    @contextlib.contextmanager
    def bypass(self):
        """Within the block, PyOpenGL calls go straight to the driver (for native comparisons).
        Do not map, unmap or delete buffers that glcoherent shadows inside it."""
        self._suspended += 1
        if self._suspended == 1:
            for fn, original, _ in self._patched.values():
                _fn_slot(fn).value = original
        try:
            yield
        finally:
            self._suspended -= 1
            if self._suspended == 0:
                for fn, _, target in self._patched.values():
                    _fn_slot(fn).value = target

    def remove(self) -> None:
        for fn, original, _ in self._patched.values():
            _fn_slot(fn).value = original
        self._patched.clear()
        if self._platform is not None:
            self._platform.constructFunction = self._orig_construct
            self._platform = None
        if self._egl_patch is not None:
            mod, create, destroy = self._egl_patch
            mod.eglCreateContext, mod.eglDestroyContext = create, destroy
            self._egl_patch = None

    @property
    def redirected(self) -> int:
        return len(self._patched)

    def stats(self) -> Stats:
        return self.instance.stats()

    def __enter__(self) -> Installation:
        return self

    def __exit__(self, *exc) -> None:
        uninstall()


_lock = threading.Lock()
_current: Optional[Installation] = None
_instances: List[Instance] = []  # kept alive: shadows may outlive an uninstall


def install(limit: Optional[str | int] = None, tracker: Optional[str] = None) -> Installation:
    """Route this process's PyOpenGL calls through glcoherent. Idempotent: a second call returns
    the current installation (its settings win). Usable as a context manager.

    Call it before or after creating contexts and loading EGL/GLX, in any order: the driver's
    entry points are resolved when they can be (at their first use at the latest). Bad settings
    raise :class:`~glcoherent.errors.ConfigError` before anything is touched."""
    global _current
    with _lock:
        if _current is not None:
            return _current
        # Bad settings fail here, before anything is created or patched (ConfigError).
        resolve_limit(limit)
        resolve_tracker(tracker)
        preloaded = preload_instance()
        inst = (Instance.attach(preloaded) if preloaded
                else Instance(limit=limit, tracker=tracker))
        _instances.append(inst)
        inst_ = Installation(inst)
        try:
            inst_.apply()
        except BaseException:
            inst_.remove()  # nothing half installed
            raise
        _current = inst_
        return inst_


def uninstall() -> None:
    """Point PyOpenGL back at the driver. Mappings made while installed stay valid."""
    global _current
    with _lock:
        if _current is not None:
            _current.remove()
            _current = None


def installed() -> Optional[Installation]:
    return _current


def stats() -> Stats:
    """Statistics of the current installation."""
    if _current is None:
        raise GlcoherentError("glcoherent is not installed")
    return _current.stats()


def prepare_kernel_write(address: int, length: int) -> None:
    """Instance.prepare_kernel_write of the current installation."""
    if _current is None:
        raise GlcoherentError("glcoherent is not installed")
    _current.instance.prepare_kernel_write(address, length)


def mapping_array(ptr: int, length: int, dtype=np.uint8) -> np.ndarray:
    """A writable numpy view of a mapped pointer (as returned by glMapBufferRange)."""
    if not ptr:
        raise ValueError("NULL mapping")
    buf = (ctypes.c_char * length).from_address(ptr)
    return np.frombuffer(buf, dtype=np.uint8).view(dtype)
