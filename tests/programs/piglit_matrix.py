"""piglit under `glcoherent run`: the matrix behind .ci/piglit.sh and tests/test_interposer.py.

Every run is `python -m glcoherent run --stats --tracker T [--limit L] -- PIGLIT_TEST ARGS -auto
-fbo` with PIGLIT_PLATFORM=surfaceless_egl. A run passes only when
  - piglit prints `PIGLIT: {"result": "pass" }`,
  - the program printed exactly one `glcoherent-stats: {json}` line,
  - the stats show max_mapped_end <= the limit (and the limit is the one asked for), and
  - for tests that use persistent mappings, persistent_maps > 0 (the maps went through
    glcoherent, not around it).

The matrix: bufferstorage-persistent {draw, read} x {-, coherent, client-storage,
coherent client-storage} for every tracker (uffd, mprotect, copy, auto) and once more with
--limit 2G; the other persistent-map tests (GLES3 variant, UBO / TBO / enhanced-layouts buffer
storage) for every tracker; the non-persistent map tests (map_buffer_range, map_buffer_alignment,
VBO / PBO / clear / copy on mapped buffers) once, with the default tracker. All of them pass
natively on Mesa llvmpipe.

Usage: python tests/programs/piglit_matrix.py [--quick] [-j N] [--json FILE]
Environment: PIGLIT_BIN (directory of the piglit binaries), GLCOHERENT_PRELOAD (library).
Exit status: 0 all passed, 1 a run failed, 2 piglit not found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]
TRACKERS = ("uffd", "mprotect", "copy", "auto")
DEFAULT_LIMIT = 1 << 32
FALLBACKS = {"uffd": ("mprotect", "copy"), "mprotect": ("copy",)}
PIGLIT_DIRS = ("/usr/lib/x86_64-linux-gnu/piglit/bin", "/usr/lib/piglit/bin",
               "/usr/local/lib/piglit/bin", "/usr/lib64/piglit/bin")
RESULT_RE = re.compile(r'PIGLIT: \{"result": "(\w+)"')
STATS_PREFIX = "glcoherent-stats: "

PERSISTENT_VARIANTS = ([], ["coherent"], ["client-storage"], ["coherent", "client-storage"])

# Other piglit tests whose buffers are mapped persistently.
PERSISTENT_EXTRA = [
    *(["bufferstorage-persistent_gles3", mode, *v] for mode in ("draw", "read")
      for v in PERSISTENT_VARIANTS),
    ["arb_uniform_buffer_object-bufferstorage"],
    ["arb_texture_buffer_object-bufferstorage"],
    ["arb_enhanced_layouts-explicit-offset-bufferstorage"],
]

# Tests that map buffers (not persistently): every pointer must still come out below the limit.
MAPPED_EXTRA = [
    ["arb_map_buffer_alignment-sanity_test"],
    ["arb_map_buffer_alignment-map-invalidate-range"],
    ["map_buffer_range_error_check"],
    ["map_buffer_range_test"],
    *(["map_buffer_range-invalidate", how, offset]
      for how in ("MAP_INVALIDATE_RANGE_BIT", "MAP_INVALIDATE_BUFFER_BIT", "CopyBufferSubData")
      for offset in ("offset=0", "increment-offset", "decrement-offset")),
    ["vbo-map-remap"],
    ["vbo-map-unsync"],
    ["arb_vertex_buffer_object-map-after-draw"],
    ["arb_vertex_buffer_object-delete-mapped-buffer"],
    ["arb_clear_buffer_object-mapped"],
    ["arb_clear_buffer_object-sub-mapped"],
    ["arb_copy_buffer-negative-mapped"],
    ["copybuffersubdata"],
    ["gl-2.1-pbo"],
    ["pbo-readpixels-small"],
]


@dataclass
class Run:
    argv: List[str]
    tracker: str
    limit: Optional[int] = None          # None: the default (4 GiB), no --limit
    persistent: bool = True              # require persistent_maps > 0
    needs_maps: bool = True              # require maps > 0
    # results
    result: str = "not run"
    stats: Optional[dict] = None
    nstats: int = 0
    verdict: str = "not run"
    why: str = ""
    seconds: float = 0.0
    output: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        return " ".join(self.argv)

    @property
    def want_limit(self) -> int:
        return self.limit if self.limit is not None else DEFAULT_LIMIT


def find_piglit() -> Optional[Path]:
    """The directory holding the piglit test binaries, or None."""
    cands = [os.environ.get("PIGLIT_BIN", "")] + list(PIGLIT_DIRS)
    exe = shutil.which("bufferstorage-persistent")
    if exe:
        cands.append(str(Path(exe).parent))
    for c in cands:
        if c and (Path(c) / "bufferstorage-persistent").is_file():
            return Path(c)
    return None


def matrix(quick: bool = False) -> List[Run]:
    runs = []
    for tracker in TRACKERS:
        for mode in ("draw", "read"):
            for v in PERSISTENT_VARIANTS:
                runs.append(Run(["bufferstorage-persistent", mode, *v], tracker))
    for mode in ("draw", "read"):
        for v in PERSISTENT_VARIANTS:
            runs.append(Run(["bufferstorage-persistent", mode, *v], "auto", limit=2 << 30))
    if quick:
        return runs
    for tracker in TRACKERS:
        for argv in PERSISTENT_EXTRA:
            runs.append(Run(list(argv), tracker))
    for argv in MAPPED_EXTRA:
        runs.append(Run(list(argv), "auto", persistent=False))
    return runs


def parse_stats(text: str) -> List[dict]:
    out = []
    for line in text.splitlines():
        i = line.find(STATS_PREFIX)
        if i >= 0:
            try:
                out.append(json.loads(line[i + len(STATS_PREFIX):]))
            except ValueError:
                out.append({"unparsable": line})
    return out


def execute(run: Run, bindir: Path, timeout: float = 300.0) -> Run:
    cmd = [sys.executable, "-m", "glcoherent", "run", "--stats", "--tracker", run.tracker]
    if run.limit is not None:
        cmd += ["--limit", str(run.limit)]
    cmd += ["--", str(bindir / run.argv[0]), *run.argv[1:], "-auto", "-fbo"]
    env = dict(os.environ)
    env["PIGLIT_PLATFORM"] = "surfaceless_egl"
    env.pop("GLCOHERENT_LIMIT", None)
    env.pop("GLCOHERENT_STATS", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in
                                         env.get("PYTHONPATH", "").split(os.pathsep) if p])
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="glc-piglit-") as cwd:
        try:
            p = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                               timeout=timeout)
            out, err, rc = p.stdout, p.stderr, p.returncode
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) \
                else (exc.stdout or "")
            err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) \
                else (exc.stderr or "")
            rc = None
    run.seconds = time.monotonic() - t0
    run.output = out + err
    m = RESULT_RE.search(out + err)
    run.result = m.group(1) if m else ("timeout" if rc is None else f"no result (rc {rc})")
    stats = parse_stats(err)
    run.nstats = len(stats)
    run.stats = stats[-1] if stats else None
    problems, notes = [], []
    if run.result != "pass":
        problems.append(f"piglit {run.result}")
    if run.nstats != 1:
        problems.append(f"{run.nstats} stats lines")
    st = run.stats or {}
    if run.stats is not None:
        if st.get("limit") != run.want_limit:
            problems.append(f"limit {st.get('limit')} != {run.want_limit}")
        if st.get("max_mapped_end", 1 << 64) > run.want_limit:
            problems.append(f"max_mapped_end 0x{st.get('max_mapped_end', 0):x} above the limit")
        if run.needs_maps and not st.get("maps"):
            problems.append("no map went through glcoherent")
        if run.persistent and not st.get("persistent_maps"):
            problems.append("persistent_maps == 0")
        got = st.get("tracker")
        if run.tracker != "auto" and got != run.tracker:
            # A backend the machine lacks (userfaultfd under a seccomp profile) falls back.
            if got in FALLBACKS.get(run.tracker, ()):
                notes.append(f"{run.tracker} unavailable, ran {got}")
            else:
                problems.append(f"tracker {got} (asked {run.tracker})")
    run.verdict = "FAIL" if problems else "pass"
    run.why = "; ".join(problems + notes)
    return run


def run_matrix(runs: List[Run], bindir: Path, jobs: int = 2,
               progress: bool = False) -> List[Run]:
    def one(r: Run) -> Run:
        execute(r, bindir)
        if progress:
            print(f"  {r.verdict:4s} {r.tracker:8s} {_limit_text(r):4s} {r.name}"
                  + (f"  ({r.why})" if r.why else ""), file=sys.stderr, flush=True)
        return r

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, runs))


def _limit_text(r: Run) -> str:
    n = r.want_limit
    return f"{n >> 30}G" if n % (1 << 30) == 0 else hex(n)


def table(runs: List[Run]) -> str:
    head = ("test", "tracker", "limit", "piglit", "maps", "pers.", "max_mapped_end", "flushed",
            "read back", "verdict")
    rows = []
    for r in runs:
        st = r.stats or {}
        rows.append((r.name, r.tracker + (f"->{st.get('tracker_resolved')}" if r.tracker ==
                                          "auto" and st else ""),
                     _limit_text(r), r.result, str(st.get("maps", "-")),
                     str(st.get("persistent_maps", "-")),
                     hex(st["max_mapped_end"]) if "max_mapped_end" in st else "-",
                     str(st.get("bytes_flushed", "-")), str(st.get("bytes_read_back", "-")),
                     r.verdict + (f" ({r.why})" if r.why else "")))
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    fmt = lambda row: " | ".join(c.ljust(w) for c, w in zip(row, widths))  # noqa: E731
    lines = [fmt(head), "-+-".join("-" * w for w in widths)] + [fmt(row) for row in rows]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="only bufferstorage-persistent (per tracker, and with --limit 2G)")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="runs in parallel (default 2)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--verbose", action="store_true", help="print the output of failed runs")
    args = ap.parse_args(argv)
    bindir = find_piglit()
    if bindir is None:
        print("piglit not found (apt-get install piglit, or set PIGLIT_BIN)", file=sys.stderr)
        return 2
    runs = matrix(args.quick)
    print(f"piglit: {bindir}; {len(runs)} runs", file=sys.stderr)
    t0 = time.monotonic()
    run_matrix(runs, bindir, args.jobs, progress=True)
    print(table(runs))
    failed = [r for r in runs if r.verdict != "pass"]
    example = next((r for r in runs if r.stats and r.stats.get("persistent_maps")), None)
    if example:
        print(f"\nexample: {example.name} ({example.tracker}): "
              f"{STATS_PREFIX}{json.dumps(example.stats)}")
    print(f"\n{len(runs) - len(failed)}/{len(runs)} runs passed in "
          f"{time.monotonic() - t0:.0f} s")
    if args.verbose:
        for r in failed:
            print(f"\n==== {r.name} ({r.tracker}, {_limit_text(r)}) ====\n{r.output[-4000:]}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{k: v for k, v in asdict(r).items() if k != "output"} for r in runs], indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
