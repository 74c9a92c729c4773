"""Print the README's benchmark table from a `python -m glcoherent bench --json` file.

    python tools/bench_table.py docs/bench.json

One row per workload: native and auto frame times, auto's ratios (native, copy floor, best fixed
strategy, nostorage), every other mode's frame / native, and auto's targets (met, or each missed
one with its figure).
"""

from __future__ import annotations

import json
import sys

OTHERS = ["uffd", "mprotect", "copy", "fullcopy-naive", "explicit-flush", "nostorage"]


def fmt(x, digits=3):
    if x is None:
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}g}" if abs(x) < 1 else f"{x:.2f}"


def targets(auto: dict) -> str:
    missed = [t for t in auto.get("targets", []) if not t["met"]]
    if not missed:
        return "met"
    return "**missed**: " + "; ".join(f"{t['target']} ({fmt(t['value'])})" for t in missed)


def main(path: str) -> None:
    doc = json.load(open(path))
    head = ["workload", "native ms", "auto ms", "auto", "auto ovh / floor", "auto / best fixed",
            "auto / nostorage"] + OTHERS + ["targets (auto)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, w in doc["workloads"].items():
        modes = w["modes"]
        auto, native = modes.get("auto", {}), modes.get("native", {})
        row = [name, fmt(native.get("frame_ms")), fmt(auto.get("frame_ms")),
               fmt(auto.get("ratio_vs_native")), fmt(auto.get("overhead_vs_floor")),
               fmt(auto.get("ratio_vs_best_fixed")), fmt(auto.get("ratio_vs_nostorage"))]
        row += [fmt(modes.get(m, {}).get("ratio_vs_native")) for m in OTHERS]
        row.append(targets(auto))
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/bench.json")
