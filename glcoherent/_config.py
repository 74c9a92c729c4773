"""Configuration: explicit arguments first, GLCOHERENT_* environment variables second."""

from __future__ import annotations

import os
import re
from typing import Optional

from .errors import ConfigError

DEFAULT_LIMIT = 1 << 32
MAX_LIMIT = 1 << 32          # 32-bit code cannot address more
MIN_LIMIT = 1 << 20          # shadows start above 64 KiB (and vm.mmap_min_addr): leave room
TRACKERS = ("auto", "uffd", "mprotect", "copy")

_SIZE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*$")


def parse_size(text: str | int) -> int:
    """Parse '4G', '3GiB', '2048M', '0xC0000000' or a plain number of bytes."""
    if isinstance(text, int):
        if text <= 0:
            raise ConfigError(f"size must be positive, got {text}")
        return text
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(f"not a size: {text!r} (examples: 4G, 3GiB, 2048M, 0xC0000000)")
    value = int(m.group(1), 0)
    shift = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2).lower()]
    value <<= shift
    if value <= 0:
        raise ConfigError(f"size must be positive: {text!r}")
    return value


def check_limit(value: int, source: str) -> int:
    """value if it is a usable address limit, else ConfigError naming source."""
    if not MIN_LIMIT <= value <= MAX_LIMIT:
        raise ConfigError(f"{source}: 0x{value:x} is outside the accepted range "
                          f"[{format_size(MIN_LIMIT)}, {format_size(MAX_LIMIT)}] (mappings must "
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


def resolve_tracker(tracker: Optional[str] = None) -> str:
    """The tracker name: the argument, else GLCOHERENT_TRACKER, else 'auto'."""
    if tracker is not None:
        source, raw = "tracker", tracker
    else:
        source, raw = "GLCOHERENT_TRACKER", os.environ.get("GLCOHERENT_TRACKER", "auto")
    if not isinstance(raw, str):
        raise ConfigError(f"{source}={raw!r}: not a tracker name; choose one of "
                          f"{', '.join(TRACKERS)}")
    name = (raw or "auto").strip().lower()
    if name not in TRACKERS:
        raise ConfigError(f"{source}={raw!r}: unknown tracker; choose one of "
                          f"{', '.join(TRACKERS)}")
    return name


def format_size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"0x{n:x}"
