"""The benchmark workloads and modes (docs: the performance brief, section "Workloads").

Each workload is a C loop in glcoherent/native/bench/bench_gl.c; this module holds its parameters,
the bytes it must copy at least once per frame (for the copy floor), which modes apply and the
target the project aims at.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

from ._benchnative import lib

MiB = 1 << 20

# glcoherent instances (tracker=...) and the application-side variants.
TRACKER_MODES = ("uffd", "mprotect", "copy", "auto")
# nostorage: the path users have today (no persistent map: a map/unmap per update, as wined3d
# does without ARB_buffer_storage), natively and through glcoherent with each tracker (what
# ordinary maps cost a program run under the interposer).
NOSTORAGE_MODES = ("nostorage",) + tuple(f"nostorage-{t}" for t in TRACKER_MODES)
MODES = ("native",) + TRACKER_MODES + ("fullcopy-naive", "explicit-flush") + NOSTORAGE_MODES
# The fixed strategies the adaptive default must never lose to (by more than AUTO_VS_BEST).
FIXED_STRATEGIES = ("uffd", "mprotect", "copy", "fullcopy-naive")
VARIANT = {"fullcopy-naive": lib.GLC_BENCH_FULLCOPY, "explicit-flush": lib.GLC_BENCH_EXPLICIT,
           **{m: lib.GLC_BENCH_NOSTORAGE for m in NOSTORAGE_MODES}}
# The glcoherent instance a mode runs through (None: the driver directly).
INSTANCE_TRACKER = {**{m: m for m in TRACKER_MODES},
                    **{f"nostorage-{t}": t for t in TRACKER_MODES}}


@dataclass(frozen=True)
class Target:
    """One target of the brief. kind: 'ratio' (frame / native), 'floor' (overhead / copy
    floor), 'amplification' (bytes copied / written), 'vs_naive' (naive frame / this frame,
    at least `limit`), 'verified', 'below_limit', 'read_back_per_cycle' (bytes)."""

    kind: str
    limit: float = 0.0

    def describe(self) -> str:
        return {
            "ratio": f"<= {self.limit:g}x native",
            "floor": f"overhead <= {self.limit:g}x copy floor",
            "amplification": f"write amplification <= {self.limit:g}",
            "vs_naive": f">= {self.limit:g}x faster than fullcopy-naive",
            "verified": "correct result",
            "below_limit": "all mappings below the limit",
            "read_back_per_cycle": f"<= {self.limit:g} bytes read back per result",
            "vs_best": f"<= {self.limit:g}x the best fixed strategy",
            "vs_nostorage": f"<= {self.limit:g}x nostorage (no persistent maps, natively)",
        }[self.kind]


@dataclass(frozen=True)
class Workload:
    name: str
    kind: int                 # GLC_BENCH_*
    shape: str
    buffer_bytes: int
    ops: int                  # per frame
    op_bytes: int = 0
    segments: int = 0
    frames: int = 5           # default frames per round
    dirty_bytes: int = 0      # bytes that must cross once per frame (copy floor)
    floor_chunk: int = 0      # memcpy pattern measured for the floor
    floor_random: bool = False
    floor_buffer: int = 0
    explicit: bool = False    # explicit-flush applies
    naive: bool = True        # fullcopy-naive applies
    nostorage: bool = False   # the nostorage modes apply
    targets: Tuple[Target, ...] = field(default_factory=tuple)

    def modes(self, wanted: List[str]) -> List[str]:
        out = []
        for m in wanted:
            if m == "explicit-flush" and not self.explicit:
                continue
            if m == "fullcopy-naive" and not self.naive:
                continue
            if m in NOSTORAGE_MODES and not self.nostorage:
                continue
            out.append(m)
        return out


# Every workload: auto within 10 % of the best fixed strategy measured in the same run.
AUTO_VS_BEST = Target("vs_best", 1.10)
# Ordinary (non-persistent) maps through glcoherent, every nostorage-<tracker> mode.
ORDINARY_MAPS = Target("vs_nostorage", 1.5)

_TINY_FRAME = 20_000 * 48
_RING_OPS, _RING_FRAMES = 2_000, 3

WORKLOADS: Dict[str, Workload] = {w.name: w for w in [
    Workload("stream", lib.GLC_BENCH_STREAM,
             "64 MiB WRITE|PERSISTENT|COHERENT ring, 256 appends of 4 KiB with a draw after "
             "each, a fence per 1/16 of the ring waited on before reuse",
             buffer_bytes=64 * MiB, ops=256, op_bytes=4096, segments=16, frames=8,
             dirty_bytes=256 * 4096, floor_chunk=4096, floor_buffer=64 * MiB, explicit=True,
             nostorage=True,
             targets=(Target("floor", 3.0), Target("amplification", 1.1),
                      Target("vs_nostorage", 1.0))),
    Workload("tiny", lib.GLC_BENCH_TINY,
             "20,000 x (48-byte write, a draw that reads it) per frame; ring of 3 frames "
             "with a fence per frame",
             buffer_bytes=3 * _TINY_FRAME, ops=20_000, op_bytes=48, segments=3, frames=3,
             dirty_bytes=_TINY_FRAME, floor_chunk=48, floor_buffer=3 * _TINY_FRAME,
             explicit=True, nostorage=True,
             targets=(Target("ratio", 1.5), Target("vs_nostorage", 1.0))),
    Workload("sparse", lib.GLC_BENCH_SPARSE,
             "256 MiB buffer, 64 random 4 KiB pages rewritten per frame, one draw",
             buffer_bytes=256 * MiB, ops=64, op_bytes=4096, frames=10,
             dirty_bytes=64 * 4096, floor_chunk=4096, floor_random=True,
             floor_buffer=256 * MiB, explicit=True,
             targets=(Target("floor", 3.0), Target("vs_naive", 100.0))),
    Workload("bulk", lib.GLC_BENCH_BULK,
             "16 MiB of matrices (SSBO) rewritten per frame, one multi-draw-indirect of 64 "
             "draws",
             buffer_bytes=16 * MiB, ops=1, frames=10, dirty_bytes=16 * MiB,
             floor_chunk=16 * MiB, floor_buffer=16 * MiB, explicit=True,
             targets=(Target("floor", 1.3),)),
    Workload("readback", lib.GLC_BENCH_READBACK,
             "GPU copies 16 MiB into a READ|PERSISTENT|COHERENT buffer, fence, the CPU reads "
             "it all",
             buffer_bytes=16 * MiB, ops=1, frames=10, dirty_bytes=16 * MiB,
             floor_chunk=16 * MiB, floor_buffer=16 * MiB,
             targets=(Target("floor", 1.3),)),
    Workload("idle", lib.GLC_BENCH_IDLE,
             "10,000 draws per frame from a mapped 16 MiB persistent buffer, nothing written",
             buffer_bytes=16 * MiB, ops=10_000, frames=3,
             targets=(Target("ratio", 1.05),)),
    Workload("poll", lib.GLC_BENCH_POLL,
             "64 query results per frame written by the GPU into a 16-byte coherent buffer; "
             "the CPU polls it with ordinary GL calls in between, no fence wait",
             buffer_bytes=4096, ops=64, frames=5, dirty_bytes=16 * 64, floor_chunk=16,
             floor_buffer=4096,
             targets=(Target("verified"), Target("read_back_per_cycle", 16))),
    Workload("ring", lib.GLC_BENCH_RING,
             "a D3D-on-GL layer's dynamic buffers: one 2.9 MiB persistent coherent ring, 2,000 "
             "draws per frame each with a 64-byte constant block (uniform buffer range) and 3 "
             "vertices written into its 512-byte slot, a fence and a primitives query per 1/4 "
             "frame, the query results polled from a coherent buffer",
             buffer_bytes=_RING_FRAMES * _RING_OPS * 512, ops=_RING_OPS, op_bytes=512,
             segments=4 * _RING_FRAMES, frames=3, dirty_bytes=_RING_OPS * (64 + 48),
             floor_chunk=64, floor_buffer=_RING_FRAMES * _RING_OPS * 512, explicit=True,
             nostorage=True,
             targets=(Target("floor", 3.0), Target("ratio", 1.5), Target("vs_nostorage", 1.0),
                      Target("verified"))),
    Workload("pressure", lib.GLC_BENCH_PRESSURE,
             "map 600 MiB of persistent buffers at once (8 x 64 MiB, 4 x 16 MiB, 24 x 1 MiB), "
             "time to create and map them all",
             buffer_bytes=600 * MiB, ops=1, frames=2, naive=False,
             targets=(Target("below_limit"), Target("ratio", 1.5))),
]}


def with_size(w: Workload, size: int) -> Workload:
    """The workload with another main buffer size (rings keep their segment count)."""
    if w.name == "tiny":
        frame = max(size // w.segments // 48, 1) * 48
        return replace(w, buffer_bytes=frame * w.segments, ops=frame // 48, dirty_bytes=frame,
                       floor_buffer=frame * w.segments)
    if w.name == "stream":
        seg = max(size // w.segments // 4096, 1) * 4096
        size = seg * w.segments
        return replace(w, buffer_bytes=size, floor_buffer=size,
                       ops=min(w.ops, size // 4096))
    if w.name == "ring":  # whole quarter frames of 512-byte slots, 3 frames in the ring
        ops = max(size // _RING_FRAMES // 512 // 4, 1) * 4
        size = ops * _RING_FRAMES * 512
        return replace(w, buffer_bytes=size, ops=ops, dirty_bytes=ops * (64 + 48),
                       floor_buffer=size)
    if w.name in ("bulk", "readback"):
        size = max(size // 4096, 1) * 4096
        return replace(w, buffer_bytes=size, dirty_bytes=size, floor_chunk=size,
                       floor_buffer=size)
    if w.name == "sparse":
        size = max(size // 4096, 1) * 4096
        return replace(w, buffer_bytes=size, floor_buffer=size, ops=min(w.ops, size // 4096))
    return replace(w, buffer_bytes=max(size // 64, 64) * 64)


def resolve(names: Optional[List[str]]) -> List[Workload]:
    if not names:
        return list(WORKLOADS.values())
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(WORKLOADS)}")
    return [WORKLOADS[n] for n in names]
