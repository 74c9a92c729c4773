"""The exceptions glcoherent raises: one hierarchy under :class:`GlcoherentError`.

Each also derives from the built-in exception a caller would catch without knowing glcoherent
(``ValueError`` for bad configuration, ``MemoryError`` when low memory runs out, ``OSError`` for
a failing system call, ``ImportError`` for a missing C extension).
"""

from __future__ import annotations


class GlcoherentError(Exception):
    """Base class of every error glcoherent raises."""


class ConfigError(GlcoherentError, ValueError):
    """A bad configuration value (argument or ``GLCOHERENT_*`` variable); the message names the
    value and what is accepted. Raised before any GL call is touched."""


class OutOfLowMemory(GlcoherentError, MemoryError):
    """The low arena cannot give the memory asked for below the address limit."""


class NativeError(GlcoherentError, OSError):
    """A call into the C core failed; ``errno`` and message as the core reported them."""


class TrackerUnavailable(NativeError):
    """The requested dirty-tracking backend cannot run on this kernel or in this process."""


class NativeExtensionMissing(GlcoherentError, ImportError):
    """The C extension is not built where the package was imported from (a source tree)."""


__all__ = [
    "ConfigError",
    "GlcoherentError",
    "NativeError",
    "NativeExtensionMissing",
    "OutOfLowMemory",
    "TrackerUnavailable",
]
