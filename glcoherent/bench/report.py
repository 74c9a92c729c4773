"""Text table, JSON and PNG plot of a benchmark result document."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Optional

from .workloads import MODES, NOSTORAGE_MODES, TRACKER_MODES


def _bytes(n: Optional[float]) -> str:
    if n is None:
        return "-"
    n = float(n)
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if abs(n) >= div:
            return f"{n / div:.1f}{unit}"
    return f"{n:.0f}"


def _num(x: Optional[float], fmt: str = "{:.2f}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return fmt.format(x)


def _ms(x: Optional[float]) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def table(doc: dict) -> str:
    m = doc.get("machine", {})
    lines = [
        f"glcoherent bench - Linux {m.get('kernel', '?')}, {m.get('gl_renderer', '?')}, "
        f"{m.get('mesa', '?')}, {m.get('cpus', '?')} x {m.get('cpu', '?')}",
        "trackers: " + ", ".join(f"{k} {'yes' if v else 'no'}"
                                 for k, v in m.get("trackers", {}).items())
        + f"; auto -> {m.get('auto_resolves_to', '?')}",
        "frame = median per frame; ovh = frame - native; floor = dirty bytes / memcpy bw; "
        "written/copied per frame; ampl = copied / written",
        "",
    ]
    hdr = (f"{'mode':18s} {'frame ms':>9s} {'ratio':>8s} {'ovh ms':>8s} {'ovh/floor':>9s} "
           f"{'written':>8s} {'copied':>8s} {'ampl':>7s} {'faults':>7s} {'scans':>7s}  notes")
    for name, w in doc.get("workloads", {}).items():
        floor = w.get("copy_floor_ms")
        lines.append(f"== {name}: {w.get('shape', '')}")
        lines.append(f"   copy floor {_ms(floor)} ms ({_bytes(w.get('dirty_bytes_per_frame'))} "
                     f"at {w.get('memcpy_bytes_per_s', 0) / 1e9:.1f} GB/s); target: "
                     f"{'; '.join(w.get('targets', []))}")
        lines.append("   " + hdr)
        modes = w.get("modes", {})
        for mode in [k for k in MODES if k in modes] + [k for k in modes if k not in MODES]:
            e = modes[mode]
            if "frame_ms" not in e:
                lines.append(f"   {mode:18s} {e.get('error', 'no frames')}")
                continue
            notes = []
            if e.get("tracker") and e["tracker"] not in ("-", mode):
                notes.append(e["tracker"])
            if e.get("extrapolated"):
                notes.append(f"extrapolated from {e.get('ops_run_per_frame')} ops")
            if e.get("mode_switches"):
                notes.append(f"{e['mode_switches']} switches")
            if e.get("merged_buffers"):
                notes.append("byte-exact merge")
            if "polls_per_result" in e:
                notes.append(f"{e['polls_per_result']:.2f} polls/result, "
                             f"{e.get('bytes_read_back_per_result', 0):.0f} B back/result")
            if "empty_draw_overhead_ns" in e and mode != "native":
                notes.append(f"+{e['empty_draw_overhead_ns']:.0f} ns/draw, "
                             f"+{e['call_overhead_ns']:.0f} ns/call")
            if "ratio_vs_best_fixed" in e:
                notes.append(f"{e['ratio_vs_best_fixed']:.2f}x best fixed")
            if "ratio_vs_nostorage" in e and mode not in ("nostorage", "native"):
                notes.append(f"{e['ratio_vs_nostorage']:.2f}x nostorage")
            if "max_mapped_end" in e:
                notes.append(f"end {e['max_mapped_end']}")
            if not e.get("verified"):
                notes.append("NOT VERIFIED" + (f" ({e['error']})" if "error" in e else ""))
            if "targets" in e:
                notes.append("target " + ("met" if e.get("targets_met") else "MISSED"))
            ampl = e.get("write_amplification")
            ovf = e.get("overhead_vs_floor") if (floor or 0) >= 0.001 else None
            lines.append(
                f"   {mode:18s} {_ms(e['frame_ms']):>9s} {_num(e.get('ratio_vs_native')):>8s} "
                f"{_ms(e.get('overhead_ms')):>8s} {_num(ovf, '{:.1f}'):>9s} "
                f"{_bytes(e.get('bytes_written')):>8s} {_bytes(e.get('bytes_copied')):>8s} "
                f"{_num(ampl, '{:.2f}'):>7s} {_num(e.get('faults_per_frame'), '{:.0f}'):>7s} "
                f"{_num(e.get('scans_per_frame'), '{:.0f}'):>7s}  {'; '.join(notes)}")
        lines.append("")
    for mode, title in [("auto", "targets for auto:")] + [
            (m, f"ordinary maps through glcoherent ({m}):") for m in NOSTORAGE_MODES[1:]]:
        summary = targets_summary(doc, mode)
        if summary:
            lines.append(title)
            lines.extend("   " + s for s in summary)
    if "seconds" in doc:
        lines.append(f"run time {doc['seconds']:.0f} s")
    return "\n".join(lines)


def targets_summary(doc: dict, mode: str) -> List[str]:
    out = []
    for name, w in doc.get("workloads", {}).items():
        e = w.get("modes", {}).get(mode)
        if not e or "targets" not in e:
            continue
        for t in e["targets"]:
            v = t["value"]
            vs = "-" if v is None else f"{v:.3g}"
            out.append(f"{name:9s} {t['target']:45s} {vs:>9s}  {'ok' if t['met'] else 'MISSED'}")
    return out


def write_json(doc: dict, path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=False, default=_json_default)
        f.write("\n")


def _json_default(o):
    if isinstance(o, float) and math.isnan(o):
        return None
    raise TypeError(f"not serialisable: {type(o)}")


_COLORS = {"native": "#444444", "uffd": "#1f77b4", "mprotect": "#ff7f0e", "copy": "#2ca02c",
           "auto": "#d62728", "fullcopy-naive": "#9467bd", "explicit-flush": "#8c564b",
           "nostorage": "#7f7f7f", "nostorage-auto": "#e377c2", "nostorage-uffd": "#17becf",
           "nostorage-mprotect": "#bcbd22", "nostorage-copy": "#aec7e8"}


def plot(doc: dict, path: str) -> None:
    """Two panels: frame time / native per workload and mode; overhead / copy floor."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wl = doc.get("workloads", {})
    names = list(wl)
    modes = [m for m in MODES if any(m in wl[n].get("modes", {}) for n in names)]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7.5))
    width = 0.8 / max(len(modes), 1)
    for i, mode in enumerate(modes):
        xs, ys = [], []
        for j, n in enumerate(names):
            r = wl[n]["modes"].get(mode, {}).get("ratio_vs_native")
            if r:
                xs.append(j + (i - (len(modes) - 1) / 2) * width)
                ys.append(r)
        ax1.bar(xs, ys, width, label=mode, color=_COLORS.get(mode))
    ax1.set_xticks(range(len(names)))
    ax1.set_xticklabels(names)
    ax1.set_yscale("log")
    ax1.axhline(1.0, color="black", linewidth=0.6)
    ax1.set_ylabel("frame time / native")
    ax1.set_title("frame time relative to native (log scale, lower is better)", fontsize=10)
    ax1.legend(ncol=len(modes), fontsize=7, loc="upper left")
    ax1.grid(axis="y", which="both", alpha=0.3)

    fnames = [n for n in names if (wl[n].get("copy_floor_ms") or 0) > 0 and n != "poll"]
    emul = [m for m in modes if m != "native"]
    width2 = 0.8 / max(len(emul), 1)
    for i, mode in enumerate(emul):
        xs, ys = [], []
        for j, n in enumerate(fnames):
            v = wl[n]["modes"].get(mode, {}).get("overhead_vs_floor")
            if v is not None:
                xs.append(j + (i - (len(emul) - 1) / 2) * width2)
                ys.append(max(v, 0.01))
        ax2.bar(xs, ys, width2, label=mode, color=_COLORS.get(mode))
    for j, n in enumerate(fnames):
        for t in wl[n].get("targets", []):
            if "copy floor" in t:
                lim = float(t.split("<=")[1].split("x")[0])
                ax2.hlines(lim, j - 0.45, j + 0.45, colors="black", linestyles="dashed",
                           linewidth=1)
    ax2.set_xticks(range(len(fnames)))
    ax2.set_xticklabels([f"{n}\nfloor {wl[n]['copy_floor_ms']:.2f} ms" for n in fnames])
    ax2.set_yscale("log")
    ax2.axhline(1.0, color="black", linewidth=0.6)
    ax2.set_ylabel("overhead / copy floor")
    ax2.set_title("emulation overhead per frame in units of the copy floor "
                  "(dashed: target)", fontsize=10)
    ax2.grid(axis="y", which="both", alpha=0.3)
    m = doc.get("machine", {})
    fig.suptitle(f"glcoherent bench: Linux {m.get('kernel', '?')}, {m.get('mesa', '?')}, "
                 f"{m.get('cpus', '?')} CPUs", fontsize=10)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


__all__ = ["table", "targets_summary", "write_json", "plot", "TRACKER_MODES"]
