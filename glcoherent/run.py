"""`glcoherent run [--limit SIZE] [--tracker NAME] [--stats] -- PROGRAM ARGS...`

Runs PROGRAM with the interposer (libglcoherent_preload.so) preloaded, so that every GL buffer
mapping it makes - persistent coherent ones included - is handed out below the limit, whatever
way the program reaches GL: linked against libGL / libOpenGL / libEGL, dlopen + dlsym (PyOpenGL,
glfw, waffle/piglit, epoxy), eglGetProcAddress or glXGetProcAddress(ARB).

How the settings reach the program and its children
---------------------------------------------------
`run` only builds an environment and replaces itself with PROGRAM (os.execvpe: same pid, so
the exit status and signals are PROGRAM's own):

- LD_PRELOAD gets the absolute path of libglcoherent_preload.so prepended (an existing value
  is kept after it, and a second copy of our library is never added);
- GLCOHERENT_LIMIT (from --limit, in bytes), GLCOHERENT_TRACKER (--tracker),
  GLCOHERENT_STATS=1 (--stats) and GLCOHERENT_LOG (-v / -vv on the glcoherent command line) are
  set when given, and otherwise left as they are in the caller's environment.

Environment variables are inherited by every child process, so children, grandchildren and
programs started through a shell or a launcher script run with the interposer and the same
settings too (unless something clears LD_PRELOAD; setuid programs ignore it). Each process
reads the settings once, when it first uses GL, and has its own shadows and statistics: with
--stats every process that used GL prints exactly one `glcoherent-stats: {json}` line on stderr
when it exits; processes that never touch GL print nothing and run unchanged.

GLCOHERENT_PRELOAD=/path/to/libglcoherent_preload.so overrides the library (a sanitizer or
debug build, say).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from ._config import TRACKERS, check_limit, parse_size, resolve_limit, resolve_tracker

PRELOAD_NAME = "libglcoherent_preload.so"
STATS_PREFIX = "glcoherent-stats: "


def preload_path() -> Path:
    """The interposer library (GLCOHERENT_PRELOAD overrides the one in the package)."""
    override = os.environ.get("GLCOHERENT_PRELOAD")
    if override:
        return Path(override).resolve()
    return (Path(__file__).resolve().parent / PRELOAD_NAME)


def _prepend_preload(lib: str, current: Optional[str]) -> str:
    """LD_PRELOAD with lib first; other entries (space or colon separated) kept in order."""
    entries = [e for e in (current or "").replace(" ", ":").split(":") if e]
    entries = [e for e in entries if os.path.basename(e) != PRELOAD_NAME]
    return ":".join([lib] + entries)


def build_env(limit: Optional[str] = None, tracker: Optional[str] = None, stats: bool = False,
              log: Optional[str] = None, base: Optional[Mapping[str, str]] = None,
              lib: Optional[Path] = None) -> Dict[str, str]:
    """The environment `run` gives PROGRAM (base defaults to os.environ)."""
    env = dict(os.environ if base is None else base)
    lib = lib or preload_path()
    env["LD_PRELOAD"] = _prepend_preload(str(lib), env.get("LD_PRELOAD"))
    if limit is not None:
        env["GLCOHERENT_LIMIT"] = str(check_limit(parse_size(limit), f"--limit {limit}"))
    if tracker is not None:
        env["GLCOHERENT_TRACKER"] = resolve_tracker(tracker)
    if stats:
        env["GLCOHERENT_STATS"] = "1"
    if log:
        env["GLCOHERENT_LOG"] = log
    return env


def parse_stats(text: str) -> List[dict]:
    """Every `glcoherent-stats: {json}` line in text (a program's stderr), parsed."""
    import json

    out = []
    for line in text.splitlines():
        i = line.find(STATS_PREFIX)
        if i >= 0:
            out.append(json.loads(line[i + len(STATS_PREFIX):]))
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run",
        help="run a program with glcoherent preloaded (LD_PRELOAD)",
        description="Run PROGRAM with every GL buffer mapping below the limit. Settings go "
                    "through the environment, so child processes inherit them.",
        usage="glcoherent run [--limit SIZE] [--tracker NAME] [--stats] -- PROGRAM [ARGS...]")
    p.add_argument("--limit", metavar="SIZE",
                   help="mappings end at or below SIZE (4G, 3GiB, 0xC0000000; "
                        "default GLCOHERENT_LIMIT or 4G)")
    p.add_argument("--tracker", choices=TRACKERS,
                   help="write tracker (default GLCOHERENT_TRACKER or auto)")
    p.add_argument("--stats", action="store_true",
                   help="each process that used GL prints one 'glcoherent-stats: {json}' line "
                        "on stderr at exit")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="PROGRAM [ARGS...]")
    p.set_defaults(func=main)
    return p


def main(args: argparse.Namespace) -> int:
    cmd = list(args.command or [])
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("glcoherent run: give a program to run: glcoherent run [options] -- PROGRAM",
              file=sys.stderr)
        return 2
    lib = preload_path()
    if not lib.is_file():
        print(f"glcoherent run: {lib} is missing (build it: python setup.py build_ext "
              "--inplace, or pip install -e .)", file=sys.stderr)
        return 2
    verbose = getattr(args, "verbose", 0) or 0
    log = {0: None, 1: "info"}.get(verbose, "debug")
    try:
        env = build_env(args.limit, args.tracker, args.stats, log, lib=lib)
        # Inherited settings are checked too: the interposer can only log a bad value.
        if args.limit is None:
            resolve_limit(None)
        if args.tracker is None:
            resolve_tracker(None)
    except ValueError as exc:
        print(f"glcoherent run: {exc}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(cmd[0], cmd, env)
    except FileNotFoundError:
        print(f"glcoherent run: {cmd[0]}: command not found", file=sys.stderr)
        return 127
    except PermissionError as exc:
        print(f"glcoherent run: {cmd[0]}: {exc.strerror}", file=sys.stderr)
        return 126
    except OSError as exc:
        print(f"glcoherent run: {cmd[0]}: {exc}", file=sys.stderr)
        return 126
    return 0  # not reached
