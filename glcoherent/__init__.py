"""glcoherent: OpenGL persistent coherent buffer mappings below 4 GiB for 32-bit code in 64-bit
processes, on any GL 4.4+ driver.

Front doors: the C API (glcoherent.h, libglcoherent.so), the LD_PRELOAD interposer
(`glcoherent run -- PROGRAM`), and this package (`glcoherent.install()` for PyOpenGL programs).

The names that need the compiled C core (everything but the configuration helpers and the
exceptions) are imported on first use, so that a source tree without a built extension still
imports and can say what to do (:class:`NativeExtensionMissing`) instead of failing bare.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from ._config import parse_size, resolve_limit, resolve_tracker
from .errors import (
    ConfigError,
    GlcoherentError,
    NativeError,
    NativeExtensionMissing,
    OutOfLowMemory,
    TrackerUnavailable,
)

if TYPE_CHECKING:
    from .core import Arena, Shadow, Tracker, tracker_available, trackers
    from .gl import Installation, Instance, Stats, install, installed, mapping_array, uninstall

__version__ = "0.1.0"

logging.getLogger("glcoherent").addHandler(logging.NullHandler())

_LAZY = {
    "Arena": "core",
    "Shadow": "core",
    "Tracker": "core",
    "tracker_available": "core",
    "trackers": "core",
    "Installation": "gl",
    "Instance": "gl",
    "Stats": "gl",
    "install": "gl",
    "installed": "gl",
    "mapping_array": "gl",
    "uninstall": "gl",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'glcoherent' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Arena",
    "ConfigError",
    "GlcoherentError",
    "Installation",
    "Instance",
    "NativeError",
    "NativeExtensionMissing",
    "OutOfLowMemory",
    "Shadow",
    "Stats",
    "Tracker",
    "TrackerUnavailable",
    "__version__",
    "install",
    "installed",
    "mapping_array",
    "parse_size",
    "resolve_limit",
    "resolve_tracker",
    "tracker_available",
    "trackers",
    "uninstall",
]
