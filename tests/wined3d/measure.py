#!/usr/bin/env python3
"""Frame times of the wined3d programs: natively, natively with ARB_buffer_storage hidden (the
fallback wined3d takes under Wine's WoW64 today), and under `python -m glcoherent run` with each
tracker. Runs alternate (every mode of a workload back to back, then the next repetition) and
each cell is the median of --reps runs. Not run by CI; needs wine, mingw-w64 and Xvfb.

    python tests/wined3d/measure.py [--reps 3] [--timeout 180] [--markdown]

Every mode runs the same frames/rounds: with few of them, the one-time costs of a mode (the
copy tracker's map-time load and unmap-time copy of wined3d's 64 MiB chunks) would dominate
its per-frame figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wined3d_harness as H  # noqa: E402

MODES = ("native", "hidden", "uffd", "mprotect", "copy", "auto")

# (label, program, args)
WORKLOADS = [
    ("stream 60 frames x 64 draws, readback every frame", "stream", ("60", "64", "1")),
    ("stream 300 frames x 64 draws, one readback", "stream", ("300", "64", "0")),
    ("stream 60 frames x 1,024 draws, one readback", "stream", ("60", "1024", "0")),
    ("readback paths, 256 KiB, 20 rounds", "readback", ("20", "256")),
    ("query polling, 7 kinds, 50 rounds", "queries", ("50", "10000")),
    ("40 x 16 MiB dynamic buffers, 5 rounds", "manybuf", ("5", "40", "16")),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=180, help="seconds per run")
    ap.add_argument("--display", help="use this X display instead of a private Xvfb")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    ap.add_argument("--modes", default=",".join(MODES))
    opts = ap.parse_args()
    modes = [m for m in opts.modes.split(",") if m]

    samples = {}        # (label, mode) -> [value]
    stats = {}          # (label, mode) -> last app stats
    problems = []
    t_start = time.monotonic()
    with H.standalone_session(opts.display, "wined3d") as (tools, work, prefix):
        exes = H.build(tools["cxx"], work / "bin")
        print(f"prefix initialised in {prefix.start():.1f} s", file=sys.stderr)
        reference = {}
        for rep in range(opts.reps):
            for label, name, a in WORKLOADS:
                unit = H.PROGRAMS[name].unit
                for mode in modes:
                    r = H.run(prefix, exes[name], a, mode, timeout=opts.timeout)
                    key = (label, mode)
                    if r.timed_out:
                        samples.setdefault(key, []).append(float("inf"))
                        problems.append(f"{label} {mode}: timed out ({opts.timeout:.0f} s)")
                        continue
                    if not r.ok:
                        problems.append(f"{label} {mode}: {r.describe().splitlines()[0]}")
                        continue
                    ref = reference.setdefault((name, a), r.result)
                    if r.result != ref:
                        problems.append(f"{label} {mode}: result differs from the first run")
                    samples.setdefault(key, []).append(r.timing[unit])
                    if r.app_stats():
                        stats[key] = r.app_stats()[0]
                    print(f"rep {rep + 1} {label} {mode}: {r.timing[unit]:.3f} {unit}",
                          file=sys.stderr)

    def cell(label, mode):
        v = samples.get((label, mode))
        if not v:
            return "-"
        m = statistics.median(v)
        return f"> {opts.timeout:.0f} s" if m == float("inf") else f"{m:.2f}"

    header = ["workload", "unit"] + modes + (["auto / native", "auto / hidden"]
                                              if {"auto", "native", "hidden"} <= set(modes)
                                              else [])
    rows = []
    for label, name, _args in WORKLOADS:
        unit = H.PROGRAMS[name].unit.replace("_", " ")
        row = [label, unit] + [cell(label, m) for m in modes]
        if len(header) > len(modes) + 2:
            try:
                auto = statistics.median(samples[(label, "auto")])
                row.append(f"{auto / statistics.median(samples[(label, 'native')]):.1f}x")
                row.append(f"{auto / statistics.median(samples[(label, 'hidden')]):.1f}x")
            except (KeyError, ZeroDivisionError, statistics.StatisticsError):
                row += ["-", "-"]
        rows.append(row)
    if opts.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
        for row in [header] + rows:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths)))
    print(f"\nmedian of {opts.reps} alternating runs; "
          f"{time.monotonic() - t_start:.0f} s in all")
    for key, st in sorted(stats.items()):
        if key[1] == "auto":
            print(f"auto, {key[0]}: persistent_maps={st['persistent_maps']} "
                  f"max_mapped_end=0x{st['max_mapped_end']:x}")
    for p in problems:
        print("problem:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
