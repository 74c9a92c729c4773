"""`python -m glcoherent bench`: emulation cost against native, per workload and mode.

    glcoherent bench                          # every workload and mode, table at the end
    glcoherent bench --quick                  # smoke preset (< 2 minutes on 2 cores)
    glcoherent bench --workloads stream,tiny --modes native,uffd,auto --rounds 3
    glcoherent bench --json out.json --plot out.png
    glcoherent bench track [--json PATH]      # dirty tracking alone, per backend

JSON: {"machine": {...}, "config": {...}, "workloads": {"<name>": {"copy_floor_ms": ...,
"modes": {"<mode>": {"frame_ms", "ratio_vs_native", "overhead_ms", "overhead_vs_floor",
"bytes_written", "bytes_copied", "write_amplification", "faults", "scans", "verified",
"targets", ...}}}}}; all byte and fault counts are per frame.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

from .._config import parse_size
from .workloads import MODES, WORKLOADS


def _csv(text: Optional[str]) -> Optional[List[str]]:
    if not text:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "bench", help="benchmark the emulation against native GL (table, JSON, plot)",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"workloads: {', '.join(WORKLOADS)}\nmodes: {', '.join(MODES)}")
    p.add_argument("--workloads", help="comma-separated workloads (default: all)")
    p.add_argument("--modes", help="comma-separated modes (default: all; native is always "
                                   "added since every ratio needs it)")
    p.add_argument("--frames", type=int, help="timed frames per mode and round "
                                              "(default: per workload, 2-10)")
    p.add_argument("--rounds", type=int, help="rounds of all modes, interleaved (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed frames per mode (default 1)")
    p.add_argument("--quick", action="store_true",
                   help="smoke preset: 2 rounds of at most 2 frames, naive runs bounded")
    p.add_argument("--size", action="append", default=[], metavar="WORKLOAD=SIZE",
                   help="main buffer size of a workload, e.g. sparse=64M (repeatable)")
    p.add_argument("--limit", help="address limit of the emulated modes (default 4G)")
    p.add_argument("--naive-budget", type=float, default=None, metavar="SECONDS",
                   help="fullcopy-naive and copy: time per frame after which the loop is cut and "
                        "the frame extrapolated (stream, tiny, idle; default 0.4, quick 0.05)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--plot", metavar="PATH", help="write a PNG plot (matplotlib)")
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=main)

    sub = p.add_subparsers(dest="bench_command", metavar="{track}")
    t = sub.add_parser("track", help="dirty tracking alone: cost per tracked page, per backend")
    t.add_argument("--json", dest="track_json", metavar="PATH", help="write the results as JSON")
    t.add_argument("--pages", type=int, default=4096, help="tracked pages (default 4096)")
    t.add_argument("--reps", type=int, default=5, help="repetitions, median (default 5)")
    t.set_defaults(func=track_main)
    return p


class Progress:
    """One line on stderr, rewritten in place on a terminal; sparse lines otherwise."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.width = 0
        self.last_head = ""

    def __call__(self, text: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if now - self.last < 0.1:
                return
            self.last = now
            line = text[:120]
            sys.stderr.write("\r" + line + " " * max(0, self.width - len(line)))
            self.width = len(line)
            sys.stderr.flush()
            return
        head = text.split(":")[0]
        if head != self.last_head or now - self.last >= 10:
            self.last_head = head
            self.last = now
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.tty and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def build_options(args: argparse.Namespace):
    from .runner import Options
    from .workloads import resolve, with_size

    workloads = resolve(_csv(args.workloads))
    sizes = {}
    for item in args.size or []:
        name, _, size = item.partition("=")
        if name not in WORKLOADS or not size:
            raise ValueError(f"--size wants WORKLOAD=SIZE, got {item!r}")
        sizes[name] = parse_size(size)
    workloads = [with_size(w, sizes[w.name]) if w.name in sizes else w for w in workloads]
    modes = _csv(args.modes) or list(MODES)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    if "native" not in modes:
        modes = ["native"] + modes
    modes = [m for m in MODES if m in modes]
    quick = bool(args.quick)
    rounds = args.rounds if args.rounds else (2 if quick else 5)
    budget = args.naive_budget if args.naive_budget is not None else (0.05 if quick else 0.4)
    if args.frames is not None and args.frames < 1:
        raise ValueError("--frames must be >= 1")
    if rounds < 1:
        raise ValueError("--rounds must be >= 1")
    return Options(workloads=workloads, modes=modes, frames=args.frames, rounds=rounds,
                   warmup=max(0, args.warmup), naive_budget_s=budget, limit=args.limit,
                   quick=quick)


def main(args: argparse.Namespace) -> int:
    from . import report, runner

    try:
        opts = build_options(args)
    except ValueError as exc:
        print(f"glcoherent bench: {exc}", file=sys.stderr)
        return 2
    from ..egl import EGLError

    progress = Progress(not args.no_progress)
    try:
        doc = runner.run(opts, progress)
    except (runner.BenchError, EGLError, OSError) as exc:
        progress.done()
        print(f"glcoherent bench: {exc}", file=sys.stderr)
        return 1
    progress.done()
    print(report.table(doc))
    if args.json:
        report.write_json(doc, args.json)
        print(f"JSON written to {args.json}")
    if args.plot:
        report.plot(doc, args.plot)
        print(f"plot written to {args.plot}")
    failed = [f"{w}/{m}" for w, wd in doc["workloads"].items()
              for m, md in wd["modes"].items() if not md.get("verified")
              and not (m == "native" and w == "pressure")]
    if failed:
        print(f"not verified: {', '.join(failed)}", file=sys.stderr)
    return 0


def track_main(args: argparse.Namespace) -> int:
    from . import report, track

    doc = track.run(pages=max(16, args.pages), reps=max(1, args.reps))
    print(track.table(doc))
    if args.track_json:
        report.write_json(doc, args.track_json)
        print(f"JSON written to {args.track_json}")
    return 0
