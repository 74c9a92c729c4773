"""`glcoherent bench track`: the cost of dirty tracking alone, per backend (no GL).

Runs the C microbenchmark glc_trackbench_run (glcoherent/native/bench/trackbench.c) on memfd memory
like a shadow's: first-write cost per tracked page (pages written in random order, so the
mprotect backend cannot batch them, and in order), collect cost per MiB with nothing and with
everything written, and memcpy bandwidth on a buffer of the same size.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .. import core
from ._benchnative import ffi, lib

# (report name, backend, extra flags)
_BACKENDS: List[Tuple[str, str, int]] = [
    ("uffd", "uffd", 0),
    ("mprotect", "mprotect", 0),
    ("copy", "copy", 0),
]
_KIND = {"uffd": lib.GLC_TRACKER_UFFD, "mprotect": lib.GLC_TRACKER_MPROTECT,
         "copy": lib.GLC_TRACKER_COPY}
_NAMES = {lib.GLC_TRACKER_UFFD: "uffd", lib.GLC_TRACKER_MPROTECT: "mprotect",
          lib.GLC_TRACKER_COPY: "copy"}


def _one(kind: int, pages: int, flags: int, reps: int) -> Tuple[int, dict]:
    res = ffi.new("glc_trackbench_result *")
    rc = lib.glc_trackbench_run(kind, pages, flags, reps, res)
    return rc, res


def measure(pages: int = 4096, reps: int = 5) -> Dict[str, dict]:
    out: Dict[str, dict] = {}
    for name, backend, extra in _BACKENDS:
        if not core.tracker_available(backend):
            out[name] = {"available": False}
            continue
        rc, r = _one(_KIND[backend], pages, lib.GLC_TRACKBENCH_MEMFD |
                     lib.GLC_TRACKBENCH_RANDOM | extra, reps)
        if rc != 0:
            out[name] = {"available": True, "error": int(rc)}
            continue
        rc2, s = _one(_KIND[backend], pages, lib.GLC_TRACKBENCH_MEMFD | extra, reps)
        out[name] = {
            "available": True,
            "backend": _NAMES.get(r.kind, str(r.kind)),
            "pages": int(r.pages),
            "bytes": int(r.bytes),
            "reps": int(r.reps),
            "first_write_ns_per_page": r.write_ns_per_page,
            "first_write_ns_per_page_sequential": s.write_ns_per_page if rc2 == 0 else None,
            "collect_dirty_ns_per_page": r.collect_dirty_ns_per_page,
            "tracked_page_ns": r.write_ns_per_page + r.collect_dirty_ns_per_page,
            "scan_clean_ns_per_mib": r.scan_clean_ns_per_mib,
            "scan_dirty_ns_per_mib": r.scan_dirty_ns_per_mib,
            "collect_clean_us": r.collect_clean_ns / 1e3,
            "memcpy_bytes_per_s": r.memcpy_bytes_per_s,
            "memcpy_ns_per_page": 4096 / r.memcpy_bytes_per_s * 1e9
            if r.memcpy_bytes_per_s else None,
            "write_faults": int(r.write_faults),
            "pages_reported": int(r.pages_reported),
        }
    return out


def run(pages: int = 4096, reps: int = 5) -> dict:
    from .runner import machine_info

    trackers = measure(pages, reps)
    doc = {"machine": machine_info(None), "pages": pages, "reps": reps, "trackers": trackers}
    u, m = trackers.get("uffd", {}), trackers.get("mprotect", {})
    if u.get("tracked_page_ns") and m.get("tracked_page_ns"):
        doc["mprotect_over_uffd_per_tracked_page"] = m["tracked_page_ns"] / u["tracked_page_ns"]
        doc["mprotect_over_uffd_first_write"] = (m["first_write_ns_per_page"] /
                                                 u["first_write_ns_per_page"])
    return doc


def table(doc: dict) -> str:
    t = doc["trackers"]
    lines = [f"dirty tracking alone: {doc['pages']} pages ({doc['pages'] * 4096 >> 20} MiB) "
             f"of memfd memory, median of {doc['reps']}",
             f"{'backend':14s} {'1st write':>10s} {'(in order)':>10s} {'collect':>9s} "
             f"{'total':>9s} {'scan clean':>11s} {'scan dirty':>11s} {'memcpy':>9s}",
             f"{'':14s} {'ns/page':>10s} {'ns/page':>10s} {'ns/page':>9s} {'ns/page':>9s} "
             f"{'us/MiB':>11s} {'us/MiB':>11s} {'GB/s':>9s}"]

    def f(x: Optional[float], scale: float = 1.0, fmt: str = "{:.0f}") -> str:
        return "-" if x is None else fmt.format(x * scale)

    for name, r in t.items():
        if not r.get("available"):
            lines.append(f"{name:14s} not available")
            continue
        if "error" in r:
            lines.append(f"{name:14s} error {r['error']}")
            continue
        lines.append(
            f"{name:14s} {f(r['first_write_ns_per_page']):>10s} "
            f"{f(r['first_write_ns_per_page_sequential']):>10s} "
            f"{f(r['collect_dirty_ns_per_page']):>9s} {f(r['tracked_page_ns']):>9s} "
            f"{f(r['scan_clean_ns_per_mib'], 1e-3, '{:.1f}'):>11s} "
            f"{f(r['scan_dirty_ns_per_mib'], 1e-3, '{:.1f}'):>11s} "
            f"{f(r['memcpy_bytes_per_s'], 1e-9, '{:.1f}'):>9s}")
    if "mprotect_over_uffd_per_tracked_page" in doc:
        lines.append(f"mprotect / uffd per tracked page (first write + collect): "
                     f"{doc['mprotect_over_uffd_per_tracked_page']:.1f}x "
                     f"(first write alone {doc['mprotect_over_uffd_first_write']:.1f}x; "
                     f"target >= 5x)")
    return "\n".join(lines)
