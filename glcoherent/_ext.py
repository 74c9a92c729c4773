"""The compiled C core (``glcoherent._native``), or one clear error saying how to get it.

Imported from a source checkout whose extension was never built (``python -m glcoherent`` run
in the clone's root puts the checkout first on ``sys.path``, ahead of an installed copy), the
bare ``ModuleNotFoundError`` would say nothing useful; this says what to do instead.
"""

from __future__ import annotations

from pathlib import Path

from .errors import NativeExtensionMissing


def missing_message() -> str:
    here = Path(__file__).resolve().parent
    source_tree = (here.parent / "setup.py").is_file()
    if source_tree:
        return (f"glcoherent: the C extension is not built in the source tree {here.parent}; "
                f"run `pip install .` (or `pip install -e .`) there, or run from another "
                f"directory to use an installed glcoherent")
    return (f"glcoherent: the C extension glcoherent._native is missing from {here}; "
            f"reinstall the package (`pip install --force-reinstall glcoherent`)")


try:
    from ._native import ffi, lib
except ModuleNotFoundError as exc:
    if exc.name != f"{__package__}._native":
        raise
    raise NativeExtensionMissing(missing_message(), name=exc.name) from None


def _keep_handler_on_top_of_faulthandler() -> None:
    """Python's faulthandler, enabled after glcoherent armed a mapping, would take tracked
    write faults for fatal ones (it re-raises them as a signal nobody can attribute). Re-assert
    glcoherent's SIGSEGV handler after every later faulthandler.enable(); it then chains to
    faulthandler for faults that are not its own."""
    import faulthandler

    enable = faulthandler.enable
    if getattr(enable, "_glcoherent", False):
        return

    def enable_then_reassert(*args, **kwargs):
        result = enable(*args, **kwargs)
        lib.glc_tracker_reassert_handler()
        return result

    enable_then_reassert._glcoherent = True  # type: ignore[attr-defined]
    enable_then_reassert.__wrapped__ = enable  # type: ignore[attr-defined]
    enable_then_reassert.__doc__ = enable.__doc__
    faulthandler.enable = enable_then_reassert


# Whoever loads the core (install(), the bare core objects, the bench) gets the guard.
_keep_handler_on_top_of_faulthandler()

__all__ = ["ffi", "lib"]
