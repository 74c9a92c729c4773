"""glcoherent: OpenGL persistent coherent buffer mappings below 4 GiB for 32-bit code in 64-bit
processes, on any GL 4.4+ driver.

Front doors: the C API (glcoherent.h, libglcoherent.so), the LD_PRELOAD interposer
(`glcoherent run -- PROGRAM`), and this package (`glcoherent.install()` for PyOpenGL programs).
"""

from __future__ import annotations

import logging

from ._config import parse_size, resolve_limit, resolve_tracker
from .core import Arena, GlcoherentError, Shadow, Tracker, tracker_available, trackers
from .gl import Installation, Instance, Stats, install, installed, mapping_array, uninstall

__version__ = "0.1.0"

logging.getLogger("glcoherent").addHandler(logging.NullHandler())

__all__ = [
    "Arena",
    "GlcoherentError",
    "Installation",
    "Instance",
    "Shadow",
    "Stats",
    "Tracker",
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
