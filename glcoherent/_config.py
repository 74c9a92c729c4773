"""Configuration: explicit arguments first, GLCOHERENT_* environment variables second."""

from __future__ import annotations

import os
from typing import Any, Optional, Tuple

from .errors import ConfigError

# The accepted spellings and ranges are the C library's (base/config.h): one parser for C hosts,
# the interposer and this front end. The C core is loaded at first use, so that importing the
# package works in a source tree without a built extension (which then says what to do).
DEFAULT_LIMIT = 1 << 32


def _native() -> Tuple[Any, Any]:
    from ._ext import ffi, lib
    return ffi, lib


def _constants() -> dict:
    ffi, lib = _native()
    kinds = (lib.GLC_TRACKER_BEST, lib.GLC_TRACKER_UFFD, lib.GLC_TRACKER_MPROTECT,
             lib.GLC_TRACKER_COPY)
    return {"MIN_LIMIT": int(lib.GLC_LIMIT_MIN),  # shadows start above 64 KiB: leave room
            "MAX_LIMIT": int(lib.GLC_LIMIT_MAX),  # 32-bit code cannot address more
            "TRACKERS": tuple(ffi.string(lib.glc_tracker_name(k)).decode() for k in kinds)}


def __getattr__(name: str) -> Any:
    """MIN_LIMIT, MAX_LIMIT and TRACKERS ('auto', 'uffd', 'mprotect', 'copy'), from the C core."""
    if name in ("MIN_LIMIT", "MAX_LIMIT", "TRACKERS"):
        value = globals().get(name)
        if value is None:
            value = _constants()[name]
            globals()[name] = value
        return value
    raise AttributeError(name)


def parse_size(text: str | int) -> int:
    """Parse '4G', '3GiB', '2048M', '0xC0000000' or a plain number of bytes."""
    if isinstance(text, int):
        value = text
    else:
        ffi, lib = _native()
        out = ffi.new("uint64_t *")
        if not isinstance(text, str) or lib.glc_parse_size(text.encode(), out) != 0:
            raise ConfigError(f"not a size: {text!r} (examples: 4G, 3GiB, 2048M, 0xC0000000)")
        value = int(out[0])
    if value <= 0:
        raise ConfigError(f"size must be positive: {text!r}")
    return value


def parse_flag(text: Optional[str], default: bool = False) -> bool:
    """A GLCOHERENT_* flag's value: unset or empty gives default; 0, false, no, off: False."""
    ffi, lib = _native()
    return bool(lib.glc_parse_flag(ffi.NULL if text is None else text.encode(), int(default)))


def parse_log_level(text: Optional[str]) -> Optional[int]:
    """GLCOHERENT_LOG's level (GLCOHERENT_LOG_*: 0 debug .. 3 error), or None if not one."""
    ffi, lib = _native()
    out = ffi.new("int *")
    if text is None or lib.glc_parse_log_level(text.encode(), out) != 0:
        return None
    return int(out[0])


def check_limit(value: int, source: str) -> int:
    """value if it is a usable address limit, else ConfigError naming source."""
    lo, hi = __getattr__("MIN_LIMIT"), __getattr__("MAX_LIMIT")
    if not lo <= value <= hi:
        raise ConfigError(f"{source}: 0x{value:x} is outside the accepted range "
                          f"[{format_size(lo)}, {format_size(hi)}] (mappings must "
                          f"end at or below 4 GiB for 32-bit code; 2G, 3G and 4G are typical)")
    return value


def resolve_limit(limit: Optional[str | int] = None, bounded: bool = True) -> int:
    """The address limit: the argument, else GLCOHERENT_LIMIT, else 4 GiB. ConfigError names the
    bad value and what is accepted. bounded=False accepts any explicit size (the bare arena of
    glcoherent.core, which tests also use above 4 GiB)."""
    if limit is not None:
        source = f"limit={limit!r}"
        try:
            value = parse_size(limit)
            return check_limit(value, source) if bounded else value
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}" if not str(exc).startswith(source)
                              else str(exc)) from None
    env = os.environ.get("GLCOHERENT_LIMIT")
    if not env:
        return DEFAULT_LIMIT
    source = f"GLCOHERENT_LIMIT={env!r}"
    try:
        return check_limit(parse_size(env), source)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}" if not str(exc).startswith(source)
                          else str(exc)) from None


def _tracker_list() -> str:
    return ", ".join(__getattr__("TRACKERS"))


def resolve_tracker(tracker: Optional[str] = None) -> str:
    """The tracker name: the argument, else GLCOHERENT_TRACKER, else 'auto'."""
    if tracker is not None:
        source, raw = "tracker", tracker
    else:
        source, raw = "GLCOHERENT_TRACKER", os.environ.get("GLCOHERENT_TRACKER", "auto")
    if not isinstance(raw, str):
        raise ConfigError(f"{source}={raw!r}: not a tracker name; choose one of "
                          f"{_tracker_list()}")
    name = (raw or "auto").strip().lower()
    ffi, lib = _native()
    kind = ffi.new("glc_tracker_kind *")
    if lib.glc_tracker_parse(name.encode(), kind) != 0:
        raise ConfigError(f"{source}={raw!r}: unknown tracker; choose one of "
                          f"{_tracker_list()}")
    return name


def format_size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"0x{n:x}"
