"""Runs the workloads in every mode, interleaved, and gathers the figures.

One headless EGL context serves every mode. The emulated modes are glcoherent instances
(tracker uffd, mprotect, copy, auto) whose wrapped entry points fill the C loop's GL table;
switching mode means making that instance's context current (api.make_current), so each
instance only ever sees the buffers it mapped itself. `native`, `fullcopy-naive` and
`explicit-flush` call the driver directly.

Per workload: set up every mode, one untimed warm-up frame each, then `rounds` rounds of
`frames` frames in which the modes take turns frame by frame (in an order rotated per round).
Each frame is timed with perf_counter_ns around the C frame function (which ends with
glFinish); glcoherent statistics and the loop's counters are read around each frame, outside
the timed region.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from .. import __version__, core
from .._config import resolve_limit
from .._native import ffi as core_ffi
from .._native import lib as core_lib
from ..gl import Instance
from ._benchnative import ffi, lib
from .workloads import (
    AUTO_VS_BEST,
    FIXED_STRATEGIES,
    INSTANCE_TRACKER,
    MODES,
    NOSTORAGE_MODES,
    ORDINARY_MAPS,
    TRACKER_MODES,
    VARIANT,
    Target,
    Workload,
)

GL_VENDOR, GL_RENDERER, GL_VERSION = 0x1F00, 0x1F01, 0x1F02

_COUNTERS = ("frames", "ops", "draws", "bytes_written", "bytes_gpu_written", "bytes_read",
             "app_bytes_copied", "app_flushes", "fence_waits", "polls", "poll_cycles",
             "poll_timeouts", "mismatches", "maps", "map_failures", "above_limit")
_STATS = ("bytes_flushed", "bytes_read_back", "flushes", "copy_backs", "write_faults", "scans",
          "mode_switches", "merges", "oom")


class BenchError(RuntimeError):
    pass


class GLTable:
    """A glc_bench_gl table of GL entry points, filled by name."""

    def __init__(self, getter: Callable[[str], int]) -> None:
        self._ptr = ffi.gc(lib.glc_bench_gl_new(), lib.glc_bench_gl_free)
        for i in range(lib.glc_bench_gl_count()):
            name = ffi.string(lib.glc_bench_gl_name(i)).decode()
            lib.glc_bench_gl_set(self._ptr, i, ffi.cast("void *", getter(name) or 0))
        missing = lib.glc_bench_gl_missing(self._ptr)
        if missing != ffi.NULL:
            raise BenchError(f"GL entry point {ffi.string(missing).decode()} is missing")

    @classmethod
    def native(cls) -> GLTable:
        return cls(lambda n: int(core_ffi.cast(
            "uintptr_t", core_lib.glc_builtin_get_proc(core_ffi.NULL, n.encode()))))

    @classmethod
    def of_instance(cls, inst: Instance) -> GLTable:
        return cls(inst.get_proc_address)

    def string(self, name: int) -> str:
        s = lib.glc_bench_gl_string(self._ptr, name)
        return ffi.string(s).decode(errors="replace") if s != ffi.NULL else ""


class Bench:
    """One workload set up in one mode (a glc_bench)."""

    def __init__(self, table: GLTable, w: Workload, variant: int, limit: int, seed: int,
                 op_limit: int, sources: Dict[str, object]) -> None:
        p = ffi.new("glc_bench_params *")
        p.workload = w.kind
        p.variant = variant
        p.buffer_bytes = w.buffer_bytes
        p.ops = w.ops
        p.op_bytes = w.op_bytes
        p.segments = w.segments
        p.op_limit = op_limit
        p.limit = limit
        p.seed = seed
        p.vs_source = sources["vs"]
        p.vs_ssbo_source = sources["vs_ssbo"]
        p.fs_source = sources["fs"]
        p.vs_ubo_source = sources["vs_ubo"]
        out = ffi.new("glc_bench **")
        err = ffi.new("char[256]")
        rc = lib.glc_bench_create(table._ptr, p, out, err, 256)
        if rc != 0:
            raise BenchError(ffi.string(err).decode(errors="replace") or f"error {rc}")
        self._ptr = out[0]
        self._counters = ffi.new("glc_bench_counters *")

    def frame(self) -> None:
        if lib.glc_bench_frame(self._ptr) != 0:
            raise BenchError(ffi.string(lib.glc_bench_error(self._ptr)).decode(errors="replace"))

    def after_frame(self) -> None:
        lib.glc_bench_after_frame(self._ptr)

    def counters(self) -> Dict[str, int]:
        lib.glc_bench_get_counters(self._ptr, self._counters)
        d = {k: int(getattr(self._counters, k)) for k in _COUNTERS}
        d["max_mapped_end"] = int(self._counters.max_mapped_end)
        return d

    def call_ns(self, which: int, n: int, reps: int = 3) -> float:
        return _median([lib.glc_bench_call_ns(self._ptr, which, n) for _ in range(reps)])

    def verify(self) -> int:
        return int(lib.glc_bench_verify(self._ptr))

    def destroy(self) -> None:
        if self._ptr is not None:
            lib.glc_bench_destroy(self._ptr)
            self._ptr = None


@dataclass
class ModeRun:
    name: str
    table: Optional[GLTable] = None
    instance: Optional[Instance] = None
    variant: int = 0
    bench: Optional[Bench] = None
    op_limit: int = 0
    error: Optional[str] = None
    samples: List[dict] = field(default_factory=list)

    def make_current(self, ctx_handle: int) -> None:
        if self.instance is not None:
            inst = self.instance
            inst._api.make_current(inst._ptr, core_ffi.cast("void *", ctx_handle))

    def stats(self) -> Dict[str, int]:
        if self.instance is None:
            return {}
        st = self.instance.stats()
        return {k: getattr(st, k) for k in _STATS}

    @property
    def tracker(self) -> str:
        if self.instance is None:
            return "-"
        return self.instance.stats().tracker_name


@dataclass
class Options:
    workloads: List[Workload]
    modes: List[str]
    frames: Optional[int] = None      # None: each workload's default
    rounds: int = 5
    warmup: int = 1
    naive_budget_s: float = 0.4       # fullcopy-naive: run at most this long per frame
    limit: Optional[int] = None
    seed: int = 1
    quick: bool = False


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_info(native: Optional[GLTable]) -> dict:
    info = {
        "kernel": platform.release(),
        "arch": platform.machine(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_bytes": _mem_total(),
        "python": platform.python_version(),
        "glcoherent": __version__,
        "trackers": core.trackers(),
        "auto_resolves_to": core.tracker_resolve("auto"),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if native is not None:
        info["gl_vendor"] = native.string(GL_VENDOR)
        info["gl_renderer"] = native.string(GL_RENDERER)
        info["gl_version"] = native.string(GL_VERSION)
        version = info["gl_version"]
        info["mesa"] = version[version.find("Mesa"):] if "Mesa" in version else version
    return info


def _load_sources() -> Dict[str, object]:
    from .. import shaders  # noqa: F401 - may be absent in odd installs
    from ..shaders import load

    return {
        "vs": ffi.new("char[]", load("bench_points.vert").encode()),
        "vs_ssbo": ffi.new("char[]", load("bench_matrices.vert").encode()),
        "fs": ffi.new("char[]", load("bench_flat.frag").encode()),
        "vs_ubo": ffi.new("char[]", load("bench_constants.vert").encode()),
    }


def _median(v: List[float]) -> float:
    return float(statistics.median(v)) if v else float("nan")


def _mean(v: List[float]) -> float:
    return float(sum(v) / len(v)) if v else 0.0


class Runner:
    def __init__(self, opts: Options, progress: Callable[[str], None] = lambda s: None) -> None:
        from ..egl import HeadlessContext

        self.opts = opts
        self.progress = progress
        self.limit = resolve_limit(opts.limit)
        self.ctx = HeadlessContext()
        self.native = GLTable.native()
        self.sources = _load_sources()

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.destroy()
            self.ctx = None

    # ---- one workload -----------------------------------------------------------------------

    def _memcpy_floor(self, w: Workload) -> dict:
        if w.dirty_bytes and w.floor_chunk:
            bw = lib.glc_bench_memcpy_bw(w.floor_buffer, w.floor_chunk, int(w.floor_random), 5)
        else:
            bw = lib.glc_bench_memcpy_bw(16 << 20, 16 << 20, 0, 5)
        floor_ms = w.dirty_bytes / bw * 1e3 if bw > 0 else float("nan")
        return {"memcpy_bytes_per_s": bw, "copy_floor_ms": floor_ms}

    def _naive_op_limit(self, w: Workload) -> int:
        """fullcopy-naive and the copy tracker copy the whole buffer per op in stream, tiny and
        idle (seconds per frame): bound their frame time by running only the first ops of each
        frame and scaling time and counters by ops / ops run (reported as extrapolated; the
        cost is linear in the ops)."""
        if w.name not in ("stream", "tiny", "idle"):
            return 0
        size = w.buffer_bytes
        bw = lib.glc_bench_memcpy_bw(size, size, 0, 3)
        per_op = size / bw if bw > 0 else 1e-3
        if per_op * w.ops <= self.opts.naive_budget_s:
            return 0
        return max(1, int(self.opts.naive_budget_s / per_op))

    def _setup(self, w: Workload) -> List[ModeRun]:
        runs = []
        naive_limit = None
        for m in w.modes(self.opts.modes):
            run = ModeRun(m, variant=VARIANT.get(m, lib.GLC_BENCH_DIRECT))
            runs.append(run)
            try:
                tracker = INSTANCE_TRACKER.get(m)
                if tracker:
                    if tracker != "auto" and not core.tracker_available(tracker):
                        raise BenchError(f"tracker {tracker} is not available here")
                    run.instance = Instance(limit=self.limit, tracker=tracker)
                    run.table = GLTable.of_instance(run.instance)
                else:
                    run.table = self.native
                if m in ("fullcopy-naive", "copy"):
                    if naive_limit is None:
                        naive_limit = self._naive_op_limit(w)
                    run.op_limit = naive_limit
                run.make_current(self.ctx.handle)
                run.bench = Bench(run.table, w, run.variant, self.limit, self.opts.seed,
                                  run.op_limit, self.sources)
            except (BenchError, OSError) as exc:
                run.error = str(exc)
        return runs

    def _frame(self, run: ModeRun, record: bool) -> None:
        s0 = run.stats()
        c0 = run.bench.counters()
        t0 = time.perf_counter_ns()
        run.bench.frame()
        t1 = time.perf_counter_ns()
        run.bench.after_frame()
        c1 = run.bench.counters()
        s1 = run.stats()
        if not record:
            return
        sample = {"ns": t1 - t0}
        for k in _COUNTERS:
            sample[k] = c1[k] - c0[k]
        for k in _STATS:
            sample[k] = s1.get(k, 0) - s0.get(k, 0)
        sample["max_mapped_end"] = c1["max_mapped_end"]
        sample["merges_total"] = s1.get("merges", 0)
        run.samples.append(sample)

    def run_workload(self, w: Workload, index: int, total: int) -> dict:
        opts = self.opts
        frames = opts.frames or w.frames
        if opts.quick:
            frames = min(frames, 2 if w.name != "pressure" else 1)
        floor = self._memcpy_floor(w)
        runs = self._setup(w)
        live = [r for r in runs if r.error is None]
        label = f"[{index}/{total}] {w.name}"
        t_start = time.monotonic()

        def step(r: ModeRun, record: bool) -> None:
            try:
                r.make_current(self.ctx.handle)
                self._frame(r, record)
            except BenchError as exc:
                r.error = f"frame failed: {exc}"

        warmup = 0 if opts.quick and w.name == "pressure" else opts.warmup
        for r in live:
            for _ in range(warmup):
                self.progress(f"{label}: warm-up {r.name}")
                if r.error is None:
                    step(r, False)
        # Frame-level round robin (the mode order rotates every round): every mode sees the
        # same mix of quiet and busy moments on a shared machine.
        for rnd in range(opts.rounds):
            order = live[rnd % len(live):] + live[:rnd % len(live)] if live else []
            for f in range(frames):
                for r in order:
                    if r.error is not None:
                        continue
                    self.progress(f"{label}: round {rnd + 1}/{opts.rounds}, frame "
                                  f"{f + 1}/{frames}, {r.name} "
                                  f"({time.monotonic() - t_start:.0f} s)")
                    step(r, True)

        calls = self._call_costs(w, live)
        out_modes = {}
        for r in runs:
            entry = {"mode": r.name}
            entry.update(calls.get(r.name, {}))
            if r.error is None and r.bench is not None:
                r.make_current(self.ctx.handle)
                diff = r.bench.verify()
                entry["verify_diff"] = diff
                entry["tracker"] = r.tracker
            if r.error is not None:
                entry["error"] = r.error
            entry.update(self._aggregate(w, r))
            out_modes[r.name] = entry
        # tear down: benches first (they unmap through their instance), then the instances
        for r in runs:
            if r.bench is not None:
                r.make_current(self.ctx.handle)
                r.bench.destroy()
                r.bench = None
            if r.instance is not None:
                r.instance._api.make_current(r.instance._ptr, core_ffi.NULL)
                r.instance.close()
                r.instance = None
        result = {
            "shape": w.shape,
            "buffer_bytes": w.buffer_bytes,
            "ops_per_frame": w.ops,
            "frames_per_round": frames,
            "rounds": opts.rounds,
            "dirty_bytes_per_frame": w.dirty_bytes,
            "copy_floor_ms": floor["copy_floor_ms"],
            "memcpy_bytes_per_s": floor["memcpy_bytes_per_s"],
            "memcpy_pattern": {"chunk": w.floor_chunk, "buffer": w.floor_buffer,
                               "random": w.floor_random},
            "targets": [t.describe() for t in w.targets],
            "modes": out_modes,
            "seconds": round(time.monotonic() - t_start, 2),
        }
        _derive(w, result, self.limit)
        return result

    def _call_costs(self, w: Workload, live: List[ModeRun]) -> Dict[str, dict]:
        """idle: the cost of one wrapped call and of one empty draw (count 0, so the driver
        does nothing and only the emulation's "anything dirty?" check remains), per mode."""
        if w.name != "idle":
            return {}
        out: Dict[str, dict] = {}
        for r in live:
            if r.error is not None or r.name in ("fullcopy-naive", "explicit-flush"):
                continue
            n = 20 if r.name == "copy" else 20000  # copy sends the whole buffer per draw
            self.progress(f"idle: call costs, {r.name}")
            r.make_current(self.ctx.handle)
            out[r.name] = {"call_ns": r.bench.call_ns(0, n), "empty_draw_ns": r.bench.call_ns(1, n)}
        nat = out.get("native")
        if nat:
            for d in out.values():
                d["call_overhead_ns"] = d["call_ns"] - nat["call_ns"]
                d["empty_draw_overhead_ns"] = d["empty_draw_ns"] - nat["empty_draw_ns"]
        return out

    def _aggregate(self, w: Workload, r: ModeRun) -> dict:
        s = r.samples
        if not s:
            return {"frames": 0}
        scale = [1.0] * len(s)
        extrapolated = False
        if r.op_limit:
            scale = [w.ops / x["ops"] if x["ops"] else 1.0 for x in s]
            extrapolated = any(abs(k - 1.0) > 1e-9 for k in scale)
        ms = [x["ns"] * 1e-6 * k for x, k in zip(s, scale)]

        def per_frame(key: str) -> float:
            return _mean([x[key] * k for x, k in zip(s, scale)])

        copied_keys = ("bytes_flushed", "bytes_read_back", "app_bytes_copied")
        d = {
            "frames": len(s),
            "frame_ms": _median(ms),
            "frame_ms_min": min(ms),
            "frame_ms_max": max(ms),
            "bytes_written": int(round(per_frame("bytes_written"))),
            "bytes_gpu_written": int(round(per_frame("bytes_gpu_written"))),
            "bytes_copied": int(round(sum(per_frame(k) for k in copied_keys))),
            "bytes_flushed": int(round(per_frame("bytes_flushed"))),
            "bytes_read_back": int(round(per_frame("bytes_read_back"))),
            "faults": int(round(per_frame("write_faults"))),
            "scans": int(round(per_frame("scans"))),
            "faults_per_frame": per_frame("write_faults"),
            "scans_per_frame": per_frame("scans"),
            "draws_per_frame": per_frame("draws"),
            "flushes_per_frame": per_frame("flushes"),
            "copy_backs_per_frame": per_frame("copy_backs"),
            "mode_switches": int(sum(x["mode_switches"] for x in s)),
            "merges": int(sum(x["merges"] for x in s)),
            "merged_buffers": int(s[-1]["merges_total"]),  # shadows in byte-exact merge mode
            "extrapolated": extrapolated,
        }
        if extrapolated:
            d["ops_run_per_frame"] = r.op_limit
        if w.name in ("poll", "ring"):
            cycles = sum(x["poll_cycles"] for x in s) or 1
            d["poll_cycles"] = int(sum(x["poll_cycles"] for x in s))
            d["polls_per_result"] = sum(x["polls"] for x in s) / cycles
            d["bytes_read_back_per_result"] = sum(
                x["bytes_read_back"] + (x["app_bytes_copied"] if r.name == "fullcopy-naive"
                                        else 0) for x in s) / cycles
            d["poll_timeouts"] = int(sum(x["poll_timeouts"] for x in s))
            d["mismatches"] = int(sum(x["mismatches"] for x in s))
        if w.name == "readback":
            d["mismatches"] = int(sum(x["mismatches"] for x in s))
        if w.name == "pressure":
            d["maps_per_frame"] = per_frame("maps")
            d["map_failures"] = int(sum(x["map_failures"] for x in s))
            d["mappings_above_limit"] = int(sum(x["above_limit"] for x in s))
            d["max_mapped_end"] = hex(max(x["max_mapped_end"] for x in s))
        return d


def _derive(w: Workload, result: dict, limit: int) -> None:
    """Ratios, overheads, amplification, verification and target checks."""
    modes = result["modes"]
    floor = result["copy_floor_ms"]
    native = modes.get("native", {}).get("frame_ms")
    naive = modes.get("fullcopy-naive", {}).get("frame_ms")
    fixed = [modes[k]["frame_ms"] for k in FIXED_STRATEGIES
             if "frame_ms" in modes.get(k, {}) and "error" not in modes[k]]
    best_fixed = min(fixed) if fixed else None
    nostorage = modes.get("nostorage", {}).get("frame_ms")
    for name, m in modes.items():
        if "frame_ms" not in m:
            continue
        fm = m["frame_ms"]
        if native:
            m["ratio_vs_native"] = fm / native
            m["overhead_ms"] = fm - native
            if floor and floor == floor and floor > 0:
                m["overhead_vs_floor"] = (fm - native) / floor
        src = m["bytes_written"] or m.get("bytes_gpu_written", 0)
        m["write_amplification"] = (m["bytes_copied"] / src) if src else None
        if naive and fm > 0 and name != "fullcopy-naive":
            m["speedup_vs_naive"] = naive / fm
        if best_fixed and name == "auto":
            m["ratio_vs_best_fixed"] = fm / best_fixed
        if nostorage:
            m["ratio_vs_nostorage"] = fm / nostorage
        # correctness
        ok = m.get("verify_diff", -1) == 0
        if w.name == "pressure":
            failures = m.get("map_failures", 0)
            above = m.get("mappings_above_limit", 0)
            m["below_limit"] = above == 0
            ok = failures == 0 and (above == 0 or name == "native")
        if "error" in m:
            ok = False
        m["verified"] = ok
        if name in TRACKER_MODES:
            targets = tuple(t for t in w.targets if t.kind != "vs_nostorage" or nostorage)
            targets += (AUTO_VS_BEST,) if name == "auto" and best_fixed else ()
            m["targets"] = [_check(t, m) for t in targets]
            m["targets_met"] = all(t["met"] for t in m["targets"])
        elif name in NOSTORAGE_MODES and name != "nostorage" and nostorage:
            m["targets"] = [_check(ORDINARY_MAPS, m)]
            m["targets_met"] = m["targets"][0]["met"]


def _check(t: Target, m: dict) -> dict:
    value: Optional[float]
    if t.kind == "ratio":
        value = m.get("ratio_vs_native")
        met = value is not None and value <= t.limit
    elif t.kind == "floor":
        value = m.get("overhead_vs_floor")
        met = value is not None and value <= t.limit
    elif t.kind == "amplification":
        value = m.get("write_amplification")
        met = value is not None and value <= t.limit
    elif t.kind == "vs_naive":
        value = m.get("speedup_vs_naive")
        met = value is not None and value >= t.limit
    elif t.kind == "vs_nostorage":
        value = m.get("ratio_vs_nostorage")
        met = value is not None and value <= t.limit
    elif t.kind == "vs_best":
        value = m.get("ratio_vs_best_fixed")
        met = value is not None and value <= t.limit
    elif t.kind == "verified":
        value = float(bool(m.get("verified")))
        met = bool(m.get("verified"))
    elif t.kind == "below_limit":
        value = float(bool(m.get("below_limit")))
        met = bool(m.get("below_limit"))
    elif t.kind == "read_back_per_cycle":
        value = m.get("bytes_read_back_per_result")
        met = value is not None and value <= t.limit
    else:
        value, met = None, False
    return {"target": t.describe(), "kind": t.kind, "limit": t.limit, "value": value,
            "met": bool(met)}


def run(opts: Options, progress: Callable[[str], None] = lambda s: None) -> dict:
    """Run the benchmark; returns the result document (see glcoherent/bench/cli.py)."""
    unknown = [m for m in opts.modes if m not in MODES]
    if unknown:
        raise ValueError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
    t0 = time.monotonic()
    runner = Runner(opts, progress)
    try:
        doc = {
            "machine": machine_info(runner.native),
            "config": {
                "modes": list(opts.modes),
                "rounds": opts.rounds,
                "frames": opts.frames,
                "warmup": opts.warmup,
                "quick": opts.quick,
                "limit": hex(runner.limit),
                "naive_budget_s": opts.naive_budget_s,
            },
            "workloads": {},
        }
        n = len(opts.workloads)
        for i, w in enumerate(opts.workloads, 1):
            doc["workloads"][w.name] = runner.run_workload(w, i, n)
    finally:
        runner.close()
    doc["seconds"] = round(time.monotonic() - t0, 1)
    return doc
