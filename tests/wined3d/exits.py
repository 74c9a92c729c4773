#!/usr/bin/env python3
"""How runs of a D3D11 program with a window and a swap chain (tests/wined3d/swapchain.cpp) end
through Wine's wined3d: natively and under `python -m glcoherent run --stats`, alternating, RUNS
times each. A run ends well when the application's own exit status (0) comes back within the
timeout with its RESULT line (the same in every run) and, interposed, exactly one stats line
from the application. Everything else is counted by how it ended (exit status, signal, timeout)
and the first lines of each kind are kept. Not run by CI (minutes); needs wine, mingw-w64, Xvfb.

    python tests/wined3d/exits.py [--runs 100] [--modes native,auto] [--timeout 60]
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wined3d_harness as H  # noqa: E402

ARGS = ("30", "32")


def outcome(r: H.Run, mode: str, reference: str | None) -> str:
    if r.timed_out:
        return "timed out (killed)"
    if r.returncode is None or r.returncode < 0:
        return f"signal {-(r.returncode or 0)}"
    if r.returncode != 0:
        return f"exit status {r.returncode}"
    if r.result is None:
        return "exit 0 without RESULT"
    if reference is not None and r.result != reference:
        return "different RESULT"
    if mode != "native" and len(r.app_stats()) != 1:
        return f"{len(r.app_stats())} application stats lines"
    return "ok"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs per mode")
    ap.add_argument("--modes", default="native,auto")
    ap.add_argument("--timeout", type=float, default=60, help="seconds per run")
    ap.add_argument("--display", help="use this X display instead of a private Xvfb")
    opts = ap.parse_args()
    modes = [m for m in opts.modes.split(",") if m]

    counts = {m: collections.Counter() for m in modes}
    examples = {}
    seconds = {m: [] for m in modes}
    reference = None
    t0 = time.monotonic()
    with H.standalone_session(opts.display, "exits") as (tools, work, prefix):
        exe = H.build(tools["cxx"], work / "bin", names=["swapchain"])["swapchain"]
        print(f"prefix initialised in {prefix.start():.1f} s", file=sys.stderr)
        for i in range(opts.runs):
            for mode in modes:
                r = H.run(prefix, exe, ARGS, mode, timeout=opts.timeout)
                if reference is None and r.ok:
                    reference = r.result
                how = outcome(r, mode, reference)
                counts[mode][how] += 1
                seconds[mode].append(r.seconds)
                if how != "ok":
                    examples.setdefault((mode, how), r.describe()[-1500:])
            done = ", ".join(f"{m} {counts[m]['ok']}/{i + 1} ok" for m in modes)
            print(f"run {i + 1}: {done}", file=sys.stderr)

    print(f"{opts.runs} runs per mode of swapchain.exe {' '.join(ARGS)} in "
          f"{time.monotonic() - t0:.0f} s; RESULT {reference}")
    for mode in modes:
        c = counts[mode]
        bad = sum(n for how, n in c.items() if how != "ok")
        kinds = ", ".join(f"{how}: {n}" for how, n in c.most_common() if how != "ok") or "none"
        mean = sum(seconds[mode]) / max(1, len(seconds[mode]))
        print(f"{mode}: {c['ok']} ok, {bad} not ({kinds}); {mean:.2f} s per run")
    for (mode, how), text in examples.items():
        print(f"\n--- first {mode} run that ended with {how}:\n{text}")
    return 0 if all(set(counts[m]) <= {"ok"} for m in modes if m != "native") else 1


if __name__ == "__main__":
    sys.exit(main())
