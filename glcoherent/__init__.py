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
import importlib.abc
import importlib.util
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict

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
    from .gl import (
        Installation,
        Instance,
        Stats,
        install,
        installed,
        mapping_array,
        prepare_kernel_write,
        uninstall,
    )

__version__ = "0.1.0"


class _TopLevelPackages(importlib.abc.MetaPathFinder):
    """Finds glcoherent.demos and glcoherent.shaders in a source checkout, where they sit at
    the top level (pyproject's package-dir maps them there; an installed copy has them inside
    the package and never needs this)."""

    def __init__(self, mapping: Dict[str, Path]) -> None:
        self.mapping = mapping

    def find_spec(self, fullname, path=None, target=None):
        folder = self.mapping.get(fullname)
        if folder is None:
            return None
        return importlib.util.spec_from_file_location(
            fullname, folder / "__init__.py", submodule_search_locations=[str(folder)])


def _map_source_tree_packages() -> None:
    here = Path(__file__).resolve().parent
    root = here.parent
    if not (root / "pyproject.toml").is_file():
        return
    mapping = {f"{__name__}.{sub}": root / sub for sub in ("demos", "shaders")
               if not (here / sub).exists() and (root / sub / "__init__.py").is_file()}
    if mapping and not any(isinstance(f, _TopLevelPackages) for f in sys.meta_path):
        sys.meta_path.insert(0, _TopLevelPackages(mapping))


_map_source_tree_packages()

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
    "prepare_kernel_write": "gl",
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
    "prepare_kernel_write",
    "resolve_limit",
    "resolve_tracker",
    "tracker_available",
    "trackers",
    "uninstall",
]
