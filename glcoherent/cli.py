"""Command line: python -m glcoherent {info, config, run, bench, demo} (also `glcoherent ...`).

Subcommands with real weight live in their own modules (run.py, bench/, demos/) and register
themselves through `add_parser(subparsers)` and `main(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import List, Optional

from . import __version__
from ._config import format_size, parse_log_level, resolve_limit, resolve_tracker
from .errors import ConfigError, NativeExtensionMissing

PACKAGE_DIR = Path(__file__).resolve().parent

# subcommand -> module that provides add_parser() and main()
_MODULES = {
    "run": "glcoherent.run",
    "bench": "glcoherent.bench.cli",
    "demo": "glcoherent.demos.cli",
}


def info_dict(limit: Optional[str] = None, tracker: Optional[str] = None) -> dict:
    from . import core

    avail = core.trackers()
    return {
        "version": __version__,
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "limit": resolve_limit(limit),
        "trackers": avail,
        "default_tracker": core.tracker_resolve(resolve_tracker(tracker)),
        "requested_tracker": resolve_tracker(tracker),
        "library": str(PACKAGE_DIR / "libglcoherent.so"),
        "preload": str(PACKAGE_DIR / "libglcoherent_preload.so"),
        "include": str(PACKAGE_DIR / "native" / "api"),
    }


def cmd_info(args: argparse.Namespace) -> int:
    info = info_dict(args.limit, args.tracker)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"glcoherent {info['version']} on Linux {info['kernel']} ({info['machine']})")
    print(f"  limit:    mappings end at or below {format_size(info['limit'])} "
          f"(0x{info['limit']:x})")
    for name, ok in info["trackers"].items():
        print(f"  tracker {name:9s} {'available' if ok else 'not available'}")
    print(f"  default tracker: auto -> {info['default_tracker']} (adaptive per buffer)")
    print(f"  C library: {info['library']}")
    print(f"  preload:   {info['preload']}")
    return 0


def pkgconfig_text() -> str:
    return (
        f"prefix={PACKAGE_DIR}\n"
        "includedir=${prefix}/native/api\n"
        "libdir=${prefix}\n\n"
        "Name: glcoherent\n"
        "Description: Low-address persistent coherent OpenGL buffer mappings\n"
        f"Version: {__version__}\n"
        "Cflags: -I${includedir}\n"
        "Libs: -L${libdir} -Wl,-rpath,${libdir} -lglcoherent\n"
    )


def cmd_config(args: argparse.Namespace) -> int:
    parts: List[str] = []
    if args.pkgconfig:
        sys.stdout.write(pkgconfig_text())
        return 0
    if args.cflags:
        parts.append(f"-I{PACKAGE_DIR / 'native' / 'api'}")
    if args.libs:
        parts.append(f"-L{PACKAGE_DIR} -Wl,-rpath,{PACKAGE_DIR} -lglcoherent")
    if args.preload:
        parts.append(str(PACKAGE_DIR / "libglcoherent_preload.so"))
    if not parts:
        print("give --cflags, --libs, --preload or --pkgconfig", file=sys.stderr)
        return 2
    print(" ".join(parts))
    return 0


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, of the module subcommands just that one."""
    p = argparse.ArgumentParser(prog="glcoherent", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"glcoherent {__version__}")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="log more (-v info, -vv debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="what this machine offers (trackers, limit)")
    info.add_argument("--json", action="store_true", help="print a JSON object")
    info.add_argument("--limit", help="address limit to report (default GLCOHERENT_LIMIT or 4G)")
    info.add_argument("--tracker", help="tracker to resolve (default GLCOHERENT_TRACKER or auto)")
    info.set_defaults(func=cmd_info)

    cfg = sub.add_parser("config", help="compiler and linker flags for the C API")
    cfg.add_argument("--cflags", action="store_true")
    cfg.add_argument("--libs", action="store_true")
    cfg.add_argument("--preload", action="store_true", help="path of the LD_PRELOAD library")
    cfg.add_argument("--pkgconfig", action="store_true", help="print a glcoherent.pc file")
    cfg.set_defaults(func=cmd_config)

    for name, modname in _MODULES.items():
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(modname)
        except NativeExtensionMissing:
            raise
        except ImportError as exc:  # a part not built yet must not break the others
            stub = sub.add_parser(name, help=f"(unavailable: {exc})")
            stub.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
            stub.set_defaults(func=lambda a, e=exc: _unavailable(e))
            continue
        mod.add_parser(sub)
    return p


def _unavailable(exc: Exception) -> int:
    print(f"glcoherent: this command is unavailable: {exc}", file=sys.stderr)
    return 2


def main(argv: Optional[List[str]] = None) -> int:
    try:
        return _main(argv)
    except (NativeExtensionMissing, ConfigError) as exc:
        # One line that says what to do, not a traceback.
        msg = str(exc)
        print(msg if msg.startswith("glcoherent:") else f"glcoherent: {msg}", file=sys.stderr)
        return 2


def _command_named(argv: Optional[List[str]]) -> Optional[str]:
    """The module subcommand argv names (its first word that is not an option), or None. Only
    that module is imported then: `glcoherent run` starts every wrapped program, and the demos'
    modules load numpy (tens of milliseconds, and BLAS threads on a small machine)."""
    words = [a for a in (sys.argv[1:] if argv is None else argv) if not a.startswith("-")]
    return words[0] if words and words[0] in _MODULES else None


def _main(argv: Optional[List[str]]) -> int:
    from . import _ext  # noqa: F401 - the C core, or NativeExtensionMissing saying what to do

    parser = build_parser(_command_named(argv))
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    env_level = parse_log_level(os.environ.get("GLCOHERENT_LOG"))
    if env_level is not None and env_level <= 1:  # GLCOHERENT_LOG_DEBUG / _INFO
        level = min(level, logging.DEBUG if env_level == 0 else logging.INFO)
    logging.basicConfig(level=level, format="%(name)s: %(levelname)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
