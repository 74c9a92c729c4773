"""The native core without GL: the low arena, trackers and shadows.

Mostly for tests, benchmarks and hosts that want the pieces; GL programs use
:func:`glcoherent.install` or the interposer instead.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, fields
from typing import Callable, List, Optional, Tuple

import numpy as np

from ._config import TRACKERS, resolve_limit, resolve_tracker
from ._ext import ffi, lib
from .errors import ConfigError, NativeError, OutOfLowMemory, TrackerUnavailable

log = logging.getLogger("glcoherent")

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")

_KIND = {
    "auto": lib.GLC_TRACKER_BEST,
    "uffd": lib.GLC_TRACKER_UFFD,
    "mprotect": lib.GLC_TRACKER_MPROTECT,
    "copy": lib.GLC_TRACKER_COPY,
}
_NAME = {v: k for k, v in _KIND.items()}


def _check(rc: int, what: str) -> None:
    if rc < 0:
        raise NativeError(-rc, f"{what}: {os.strerror(-rc)}")


def _stats(cls, cdata):
    return cls(**{f.name: getattr(cdata, f.name) for f in fields(cls)})




def tracker_available(name: str) -> bool:
    """Whether a tracker backend works on this machine ('auto' and 'copy' always do)."""
    return bool(lib.glc_tracker_available(_KIND[resolve_tracker(name)]))


def tracker_resolve(name: str) -> str:
    """What a tracker name resolves to here ('auto' -> the best available backend)."""
    return _NAME[lib.glc_tracker_resolve(_KIND[resolve_tracker(name)])]


def trackers() -> dict:
    """Availability of each concrete backend here."""
    return {name: tracker_available(name) for name in TRACKERS if name != "auto"}


@dataclass(frozen=True)
class ArenaStats:
    reserved_bytes: int
    used_bytes: int
    allocations: int
    reservations: int
    failures: int
    highest_end: int


class Arena:
    """Address space in [low, high), reserved from gaps and sub-allocated page by page."""

    def __init__(self, limit: Optional[str | int] = None, low: int = 0,
                 host_alloc: Optional[Callable[[int, int], int]] = None,
                 host_free: Optional[Callable[[int, int], None]] = None) -> None:
        out = ffi.new("glc_arena **")
        _check(lib.glc_arena_create(out, low, resolve_limit(limit, bounded=False)), "arena")
        self._ptr = out[0]
        self._handle = None
        if host_alloc is not None:
            self._handle = ffi.new_handle((host_alloc, host_free))
            lib.glc_arena_set_host_allocator(self._ptr, lib.glc_py_host_alloc,
                                             lib.glc_py_host_free, self._handle)

    @property
    def low(self) -> int:
        return int(lib.glc_arena_low(self._ptr))

    @property
    def high(self) -> int:
        return int(lib.glc_arena_high(self._ptr))

    def alloc(self, size: int) -> int:
        """Reserve size bytes (PROT_NONE); returns the address. OutOfLowMemory (a MemoryError)
        when the arena cannot give them; ConfigError (a ValueError) for size 0."""
        out = ffi.new("void **")
        rc = lib.glc_arena_alloc(self._ptr, size, out)
        if rc == -errno.EINVAL:
            raise ConfigError(f"cannot reserve {size} bytes: the size must be positive")
        if rc:
            raise OutOfLowMemory(f"low arena [0x{self.low:x}, 0x{self.high:x}) cannot give "
                                 f"{size} bytes: {os.strerror(-rc)}")
        return int(ffi.cast("uintptr_t", out[0]))

    def free(self, addr: int, size: int) -> None:
        lib.glc_arena_free(self._ptr, ffi.cast("void *", addr), size)

    def stats(self) -> ArenaStats:
        st = ffi.new("glc_arena_stats *")
        lib.glc_arena_get_stats(self._ptr, st)
        return _stats(ArenaStats, st)

    def close(self) -> None:
        if self._ptr is not None:
            lib.glc_arena_destroy(self._ptr)
            self._ptr = None

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


@ffi.def_extern()
def glc_py_host_alloc(user, size, high):
    alloc, _ = ffi.from_handle(user)
    try:
        addr = alloc(int(size), int(high))
    except Exception:  # noqa: BLE001 - a host allocator failing means "no memory"
        log.exception("host allocator failed")
        return ffi.NULL
    return ffi.cast("void *", addr or 0)


@ffi.def_extern()
def glc_py_host_free(user, addr, size):
    _, free = ffi.from_handle(user)
    if free is not None:
        free(int(ffi.cast("uintptr_t", addr)), int(size))


class Tracker:
    """One tracker instance (owns the userfaultfd descriptor for the uffd backend)."""

    def __init__(self, name: Optional[str] = None) -> None:
        self.requested = resolve_tracker(name)
        self._ptr = None
        out = ffi.new("glc_tracker **")
        rc = lib.glc_tracker_create(out, _KIND[self.requested])
        if rc < 0:
            raise TrackerUnavailable(-rc, f"tracker {self.requested!r} cannot run here: "
                                          f"{os.strerror(-rc)}")
        self._ptr = out[0]

    @property
    def kind(self) -> str:
        return _NAME[lib.glc_tracker_kind_of(self._ptr)]

    def close(self) -> None:
        if self._ptr is not None:
            lib.glc_tracker_destroy(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True)
class ShadowStats:
    length: int
    flushes: int
    bytes_flushed: int
    copy_backs: int
    bytes_read_back: int
    mode_switches: int
    pages_tracked: int
    write_faults: int
    scans: int
    pages_dirty: int
    tracker: int
    merge: int

    @property
    def tracker_name(self) -> str:
        return _NAME.get(self.tracker, "?")


class Shadow:
    """A low-address shadow of `length` bytes (client view below the limit, internal view
    elsewhere), tracked by `tracker` ('auto' = adaptive)."""

    def __init__(self, arena: Arena, length: int, tracker: Optional[str] = None,
                 lead: int = 0) -> None:
        name = resolve_tracker(tracker)
        self._tracker = None if name == "copy" else Tracker(name)
        out = ffi.new("glc_shadow **")
        rc = lib.glc_shadow_create(arena._ptr, self._tracker._ptr if self._tracker else ffi.NULL,
                                   _KIND[name], length, lead, out)
        if rc == -errno.ENOMEM:
            raise OutOfLowMemory(f"no room for {length} bytes below 0x{arena.high:x}")
        _check(rc, "shadow")
        self._ptr = out[0]
        self._arena = arena
        self.length = length

    @property
    def address(self) -> int:
        return int(ffi.cast("uintptr_t", lib.glc_shadow_client(self._ptr)))

    @property
    def end(self) -> int:
        return int(lib.glc_shadow_end(self._ptr))

    def client(self) -> np.ndarray:
        """A writable numpy view of the client (low) view; writes through it are tracked."""
        buf = ffi.buffer(lib.glc_shadow_client(self._ptr), self.length)
        return np.frombuffer(buf, dtype=np.uint8)

    def internal(self) -> np.ndarray:
        """The internal view of the same bytes; writes through it are not tracked."""
        buf = ffi.buffer(lib.glc_shadow_internal(self._ptr), self.length)
        return np.frombuffer(buf, dtype=np.uint8)

    def load(self, data: bytes | np.ndarray, offset: int = 0) -> None:
        src = np.ascontiguousarray(np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8))
        lib.glc_shadow_load(self._ptr, offset, ffi.from_buffer(src), src.nbytes)

    def maybe_dirty(self) -> bool:
        return bool(lib.glc_shadow_maybe_dirty(self._ptr))

    def flush(self, dst: np.ndarray) -> int:
        """Copy client writes since the last flush into dst (a uint8 array of length bytes)."""
        self._check_target(dst)
        n = lib.glc_shadow_flush(self._ptr, ffi.from_buffer(dst))
        _check(n, "flush")
        return int(n)

    def flush_range(self, dst: np.ndarray, offset: int, length: int) -> int:
        """Copy client writes to bytes [offset, offset + length) into dst (what one command
        reads): those bytes, or the dirty pages among them, as the policy decides. Writes
        elsewhere stay for a later flush. Returns bytes copied."""
        self._check_target(dst)
        if offset < 0 or length < 0:
            raise ValueError("offset and length must not be negative")
        n = lib.glc_shadow_flush_range(self._ptr, ffi.from_buffer(dst), offset, length)
        _check(n, "flush_range")
        return int(n)

    def flush_runs(self) -> List[Tuple[int, bytes]]:
        """Client writes since the last flush as (offset, bytes) runs."""
        runs: List[Tuple[int, bytes]] = []

        @ffi.callback("void(void *, size_t, const void *, size_t)")
        def cb(_user, offset, src, length):
            runs.append((int(offset), bytes(ffi.buffer(src, length))))

        _check(lib.glc_shadow_flush_cb(self._ptr, cb, ffi.NULL), "flush")
        return runs

    def enable_merge(self, dst: Optional[np.ndarray] = None) -> None:
        if dst is not None:
            self._check_target(dst)
        _check(lib.glc_shadow_enable_merge(self._ptr, ffi.from_buffer(dst)
                                           if dst is not None else ffi.NULL), "merge")

    @property
    def merging(self) -> bool:
        return bool(lib.glc_shadow_merging(self._ptr))

    def copy_back(self, src: np.ndarray, offset: int = 0, length: Optional[int] = None) -> int:
        """Bring bytes of src (the real buffer) into the shadow; returns bytes written."""
        self._check_target(src)
        n = lib.glc_shadow_copy_back(self._ptr, ffi.from_buffer(src), offset,
                                     self.length - offset if length is None else length)
        return int(n)

    def stats(self) -> ShadowStats:
        st = ffi.new("glc_shadow_stats *")
        lib.glc_shadow_get_stats(self._ptr, st)
        return _stats(ShadowStats, st)

    def _check_target(self, arr: np.ndarray) -> None:
        if arr.nbytes < self.length or not arr.flags.c_contiguous:
            raise ValueError(f"target must be a contiguous buffer of at least {self.length} "
                             f"bytes")

    def close(self) -> None:
        if getattr(self, "_ptr", None) is not None:
            lib.glc_shadow_destroy(self._ptr)
            self._ptr = None
        if getattr(self, "_tracker", None) is not None:
            self._tracker.close()
            self._tracker = None

    def __enter__(self) -> Shadow:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

