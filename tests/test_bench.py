"""`python -m glcoherent bench` and `bench track`: shape and sanity of the results (never timing).

The GL runs go through a subprocess (the CLI as users run it) with tiny configurations: one
round, two frames, small buffers, every mode.
"""

import json
import os
import subprocess
import sys

import pytest

from glcoherent.bench import cli, workloads
from glcoherent.bench._benchnative import ffi, lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UFFD_OK = bool(lib.glc_tracker_available(lib.GLC_TRACKER_UFFD))


def run_cli(*args, timeout=600):
    env = dict(os.environ)
    env.setdefault("PYOPENGL_PLATFORM", "egl")
    res = subprocess.run([sys.executable, "-m", "glcoherent", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"exit {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res


# ---- no GL ------------------------------------------------------------------------------------

def test_workloads_cover_the_brief():
    assert set(workloads.WORKLOADS) == {"stream", "tiny", "sparse", "bulk", "readback", "idle",
                                        "poll", "pressure", "ring"}
    assert workloads.MODES[0] == "native"
    for w in workloads.WORKLOADS.values():
        assert w.targets, w.name
        modes = w.modes(list(workloads.MODES))
        assert "native" in modes and "auto" in modes
    assert workloads.WORKLOADS["stream"].buffer_bytes == 64 << 20
    assert workloads.WORKLOADS["sparse"].buffer_bytes == 256 << 20
    assert workloads.WORKLOADS["tiny"].ops == 20_000
    assert "explicit-flush" not in workloads.WORKLOADS["readback"].modes(list(workloads.MODES))


def test_with_size_keeps_rings_consistent():
    w = workloads.with_size(workloads.WORKLOADS["stream"], 3 << 20)
    assert w.buffer_bytes % (w.segments * 4096) == 0
    t = workloads.with_size(workloads.WORKLOADS["tiny"], 1 << 20)
    assert t.buffer_bytes == t.ops * 48 * t.segments


def test_gl_table_names():
    names = [ffi.string(lib.glc_bench_gl_name(i)).decode()
             for i in range(lib.glc_bench_gl_count())]
    assert "glDrawArrays" in names and "glMapNamedBufferRange" in names
    assert len(names) == len(set(names))
    assert lib.glc_bench_gl_name(len(names)) == ffi.NULL
    table = lib.glc_bench_gl_new()
    try:
        assert ffi.string(lib.glc_bench_gl_missing(table)).decode() == names[0]
        assert lib.glc_bench_gl_set(table, len(names), ffi.NULL) == -1
    finally:
        lib.glc_bench_gl_free(table)


def test_create_refuses_an_incomplete_table():
    table = lib.glc_bench_gl_new()
    params = ffi.new("glc_bench_params *")
    out = ffi.new("glc_bench **")
    err = ffi.new("char[256]")
    try:
        assert lib.glc_bench_create(table, params, out, err, 256) < 0
        assert b"missing" in ffi.string(err)
    finally:
        lib.glc_bench_gl_free(table)


def test_memcpy_bandwidth_is_positive():
    for buffer, chunk, rnd in ((1 << 20, 4096, 0), (1 << 20, 4096, 1), (1 << 20, 48, 0)):
        assert lib.glc_bench_memcpy_bw(buffer, chunk, rnd, 1) > 1e6
    assert lib.glc_bench_memcpy_bw(4096, 8192, 0, 1) == 0


def test_options_parsing():
    import argparse

    p = argparse.ArgumentParser()
    sub = p.add_subparsers()
    cli.add_parser(sub)
    args = p.parse_args(["bench", "--workloads", "tiny,poll", "--modes", "auto", "--quick",
                         "--size", "tiny=1M"])
    opts = cli.build_options(args)
    assert [w.name for w in opts.workloads] == ["tiny", "poll"]
    assert opts.modes == ["native", "auto"]  # native is always there for the ratios
    assert opts.quick and opts.rounds == 2
    assert opts.workloads[0].buffer_bytes < workloads.WORKLOADS["tiny"].buffer_bytes
    with pytest.raises(ValueError):
        cli.build_options(p.parse_args(["bench", "--modes", "nope"]))
    with pytest.raises(ValueError):
        cli.build_options(p.parse_args(["bench", "--workloads", "nope"]))
    args = p.parse_args(["bench", "track", "--json", "x.json"])
    assert args.func is cli.track_main and args.track_json == "x.json"


def test_track_json(tmp_path):
    path = tmp_path / "track.json"
    res = run_cli("bench", "track", "--pages", "64", "--reps", "1", "--json", str(path),
                  timeout=120)
    assert "backend" in res.stdout
    doc = json.loads(path.read_text())
    assert doc["machine"]["kernel"]
    t = doc["trackers"]
    assert set(t) >= {"uffd", "mprotect", "copy"}
    for name in ("mprotect", "copy") + (("uffd",) if UFFD_OK else ()):
        r = t[name]
        assert r["available"] and "error" not in r, (name, r)
        assert r["first_write_ns_per_page"] > 0
        assert r["scan_clean_ns_per_mib"] >= 0 and r["scan_dirty_ns_per_mib"] >= 0
        assert r["memcpy_bytes_per_s"] > 0
        assert r["pages"] == 64
        assert r["pages_reported"] >= 64  # every written page was reported
    if UFFD_OK:
        assert t["uffd"]["write_faults"] == 0  # resolved in the kernel, no signal
        assert doc["mprotect_over_uffd_per_tracked_page"] > 0
    assert t["mprotect"]["write_faults"] > 0


# ---- GL ---------------------------------------------------------------------------------------

MIB = 1 << 20


@pytest.fixture(scope="module")
def bench_doc(tmp_path_factory):
    d = tmp_path_factory.mktemp("bench")
    path, png = d / "bench.json", d / "bench.png"
    res = run_cli("bench", "--workloads", "stream,tiny,bulk,readback,idle,poll,ring",
                  "--frames", "2",
                  "--rounds", "1", "--size", "stream=4M", "--size", "bulk=1M",
                  "--size", "readback=1M", "--size", "idle=256K", "--size", "tiny=144K",
                  "--size", "ring=96K",
                  "--naive-budget", "0.02",
                  "--json", str(path),
                  "--plot", str(png))
    return json.loads(path.read_text()), res.stdout, png


@pytest.mark.gl
def test_bench_json_shape(bench_doc):
    doc, stdout, png = bench_doc
    m = doc["machine"]
    for key in ("kernel", "cpu", "trackers", "date", "gl_renderer", "gl_version", "mesa"):
        assert m[key], key
    assert set(m["trackers"]) == {"uffd", "mprotect", "copy"}
    assert set(doc["workloads"]) == {"stream", "tiny", "bulk", "readback", "idle", "poll", "ring"}
    for name, w in doc["workloads"].items():
        assert isinstance(w["copy_floor_ms"], float) and w["copy_floor_ms"] >= 0
        want = set(workloads.WORKLOADS[name].modes(list(workloads.MODES)))
        if not UFFD_OK:
            want -= {"uffd", "nostorage-uffd"}
        assert want <= set(w["modes"]), name
        for mode, e in w["modes"].items():
            if mode in ("uffd", "nostorage-uffd") and not UFFD_OK:
                continue
            assert "error" not in e, (name, mode, e.get("error"))
            assert e["frames"] == 2
            assert e["frame_ms"] > 0 and e["ratio_vs_native"] > 0
            for key in ("bytes_written", "bytes_copied", "faults", "scans"):
                assert isinstance(e[key], int) and e[key] >= 0, (name, mode, key)
            if mode in workloads.TRACKER_MODES:
                assert e["targets"] and all("met" in t for t in e["targets"])
            if mode.startswith("nostorage-"):
                # ordinary maps through glcoherent are judged against the same client natively
                assert [t["kind"] for t in e["targets"]] == ["vs_nostorage"], (name, mode)
                assert e["bytes_copied"] >= e["bytes_written"] > 0, (name, mode)
    assert "stream" in stdout and "frame ms" in stdout
    assert png.exists() and 0 < png.stat().st_size < 200_000


@pytest.mark.gl
def test_bench_results_are_correct(bench_doc):
    doc = bench_doc[0]
    for name, w in doc["workloads"].items():
        for mode, e in w["modes"].items():
            if mode in ("uffd", "nostorage-uffd") and not UFFD_OK:
                continue
            assert e["verified"], (name, mode, e)


@pytest.mark.gl
def test_bench_bytes_are_sane(bench_doc):
    doc = bench_doc[0]
    stream = doc["workloads"]["stream"]["modes"]
    for mode, e in stream.items():
        assert e["bytes_written"] == 256 * 4096, mode
    assert stream["native"]["bytes_copied"] == 0
    assert stream["explicit-flush"]["bytes_copied"] == 256 * 4096
    # the naive emulation copies the whole ring before every draw (possibly extrapolated)
    assert stream["fullcopy-naive"]["bytes_copied"] == 256 * 4 * MIB
    for mode in ("mprotect", "copy", "auto") + (("uffd",) if UFFD_OK else ()):
        # every byte written must reach the real buffer at least once
        assert stream[mode]["bytes_copied"] >= stream[mode]["bytes_written"], mode
    if UFFD_OK:
        assert stream["uffd"]["scans"] >= 256  # a named tracker looks at every draw's range
        assert stream["uffd"]["faults"] == 0
        # auto copies a draw's 4 KiB range blindly: no scan, no fault, nothing sent twice
        assert stream["auto"]["scans"] == 0 and stream["auto"]["bytes_copied"] == 256 * 4096
    # (mprotect's growing window leaves a sequential writer's next pages open: no fault per
    # append; the 48-byte writer of tiny faults)
    assert doc["workloads"]["tiny"]["modes"]["mprotect"]["faults"] > 0
    rb = doc["workloads"]["readback"]["modes"]
    for mode in ("mprotect", "copy", "auto") + (("uffd",) if UFFD_OK else ()):
        assert rb[mode]["bytes_read_back"] >= 1 * MIB, mode  # GPU data came back
    assert rb["native"]["bytes_copied"] == 0
    poll = doc["workloads"]["poll"]["modes"]
    for mode in ("mprotect", "copy", "auto") + (("uffd",) if UFFD_OK else ()):
        assert poll[mode]["poll_timeouts"] == 0 and poll[mode]["mismatches"] == 0
        assert 0 < poll[mode]["bytes_read_back_per_result"]
    idle = doc["workloads"]["idle"]["modes"]
    for mode, e in idle.items():
        assert e["bytes_written"] == 0, mode
        if mode in ("native", "mprotect", "auto") + (("uffd",) if UFFD_OK else ()):
            assert e["call_ns"] > 0 and e["empty_draw_ns"] > 0, mode
    assert idle["native"]["call_overhead_ns"] == 0
    bulk = doc["workloads"]["bulk"]["modes"]
    assert bulk["native"]["bytes_written"] == 1 * MIB
    # ring (96K: 3 frames of 64 draws in 512-byte slots): a 64-byte constant block and 48 bytes
    # of vertices per draw, four query results per frame, every one seen and exact
    ring = doc["workloads"]["ring"]["modes"]
    for mode, e in ring.items():
        assert e["bytes_written"] == 64 * (64 + 48), mode
        assert e["poll_cycles"] == 4 * e["frames"], mode
        assert e["mismatches"] == 0 and e["poll_timeouts"] == 0, mode


@pytest.mark.gl
def test_bench_pressure_maps_below_the_limit(tmp_path):
    path = tmp_path / "p.json"
    run_cli("bench", "--workloads", "pressure", "--modes", "auto,mprotect", "--frames", "1",
            "--rounds", "1", "--warmup", "0", "--size", "pressure=40M", "--json", str(path))
    modes = json.loads(path.read_text())["workloads"]["pressure"]["modes"]
    for mode in ("auto", "mprotect"):
        e = modes[mode]
        assert e["verified"] and e["below_limit"], e
        assert int(e["max_mapped_end"], 16) <= 1 << 32
        assert e["maps_per_frame"] > 1
    assert modes["native"]["maps_per_frame"] == modes["auto"]["maps_per_frame"]


def test_unknown_workload_is_an_error():
    res = subprocess.run([sys.executable, "-m", "glcoherent", "bench", "--workloads", "nope"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "unknown workload" in res.stderr
