"""Configuration: explicit arguments first, GLCOHERENT_* environment variables second."""

from __future__ import annotations

import os
import re
from typing import Optional

DEFAULT_LIMIT = 1 << 32
TRACKERS = ("auto", "uffd", "mprotect", "copy")

_SIZE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|\d+)\s*([kKmMgGtT]?)(i?[bB])?\s*$")


def parse_size(text: str | int) -> int:
    """Parse '4G', '3GiB', '2048M', '0xC0000000' or a plain number of bytes."""
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"size must be positive, got {text}")
        return text
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (examples: 4G, 3GiB, 2048M, 0xC0000000)")
    value = int(m.group(1), 0)
    shift = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m.group(2).lower()]
    value <<= shift
    if value <= 0:
        raise ValueError(f"size must be positive: {text!r}")
    return value


def resolve_limit(limit: Optional[str | int] = None) -> int:
    """The address limit: the argument, else GLCOHERENT_LIMIT, else 4 GiB."""
    if limit is not None:
        return parse_size(limit)
    env = os.environ.get("GLCOHERENT_LIMIT")
    return parse_size(env) if env else DEFAULT_LIMIT


def resolve_tracker(tracker: Optional[str] = None) -> str:
    """The tracker name: the argument, else GLCOHERENT_TRACKER, else 'auto'."""
    name = tracker if tracker is not None else os.environ.get("GLCOHERENT_TRACKER", "auto")
    name = (name or "auto").strip().lower()
    if name not in TRACKERS:
        raise ValueError(f"unknown tracker {name!r}; choose one of {', '.join(TRACKERS)}")
    return name


def format_size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift} {unit}"
    return f"0x{n:x}"
