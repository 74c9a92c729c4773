"""wined3d as a real client: Direct3D 11 programs (tests/wined3d/*.cpp, built here with
mingw-w64) run through Debian's Wine, whose wined3d maps its buffers persistent and coherent
(ARB_buffer_storage) on llvmpipe.

Each program runs natively, natively with ARB_buffer_storage hidden (the fallback Wine's WoW64
users get today), and under `python -m glcoherent run --stats` with every tracker and with
`--limit 2G`. Required: the same deterministic RESULT line as the native run with the same
arguments, and exactly one stats line from the application with persistent_maps > 0,
max_mapped_end within the limit and no out-of-memory. The programs render offscreen (no swap
chain; tests/wined3d/exits.py counts how swap-chain runs end); a run that fails anyway is
retried once and counted.

Marked `xvfb` as well as `wined3d`: tools/test.sh runs it once (in the default pass); it covers
every tracker itself. Set GLCOHERENT_WINED3D_REPORT=FILE to get every run's figures as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from conftest import in_ci

sys.path.insert(0, str(Path(__file__).resolve().parent / "wined3d"))
import wined3d_harness as H  # noqa: E402

pytestmark = [pytest.mark.wined3d, pytest.mark.xvfb]

RUN_TIMEOUT = 120


class Session:
    def __init__(self, prefix, exes):
        self.prefix = prefix
        self.exes = exes
        self.native_runs = {}      # (name, args) -> Run
        self.records = []          # every run, for the summary
        self.retries = []          # (name, mode, first attempt's description)

    def run(self, name: str, mode: str, args: tuple) -> H.Run:
        """Run once. A run that looks like Wine's exit race (its RESULT printed, then a bad exit
        status) or that timed out is retried once and recorded; a program whose own checks
        failed (no RESULT) is not retried: that must not be hidden."""
        r = H.run(self.prefix, self.exes[name], args, mode, timeout=RUN_TIMEOUT)
        if r.timed_out or (r.result is not None and r.returncode != 0):
            self.retries.append((name, mode, r.describe()))
            r = H.run(self.prefix, self.exes[name], args, mode, timeout=RUN_TIMEOUT)
        self.records.append((name, r))
        assert r.ok, f"{name} failed twice; last attempt: {r.describe()}"
        assert r.timing, f"{name}: no TIME line\n{r.describe()}"
        return r

    def native(self, name: str, args: tuple) -> H.Run:
        key = (name, args)
        if key not in self.native_runs:
            self.native_runs[key] = self.run(name, "native", args)
        return self.native_runs[key]


@pytest.fixture(scope="session")
def wine_tools():
    tools, missing = H.find_tools()
    if missing:
        msg = "wined3d tests need " + ", ".join(missing)
        if in_ci():
            pytest.fail(msg + " (.ci/run installs them)")
        pytest.skip(msg)
    return tools


@pytest.fixture(scope="session")
def wined3d(wine_tools, xvfb_display, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("wined3d")
    t0 = time.monotonic()
    exes = H.build(wine_tools["cxx"], root / "bin")
    build_s = time.monotonic() - t0
    prefix = H.WinePrefix(root / "prefix", xvfb_display, wine_tools)
    try:
        boot_s = prefix.start()
        session = Session(prefix, exes)
        yield session
    finally:
        prefix.stop()
    _summary(request.config, session, build_s, boot_s, time.monotonic() - t0)


def _summary(config, session, build_s, boot_s, total_s):
    lines = [f"wined3d: build {build_s:.1f} s, prefix {boot_s:.1f} s, all {total_s:.1f} s; "
             f"{len(session.records)} runs, {len(session.retries)} retried"]
    for name, r in session.records:
        unit = H.PROGRAMS[name].unit
        app = r.app_stats()
        stats = (f" persistent_maps={app[0]['persistent_maps']} "
                 f"max_mapped_end=0x{app[0]['max_mapped_end']:x}") if app else ""
        lines.append(f"  {name:9s} {r.mode:9s} {' '.join(r.args):12s} "
                     f"{unit}={r.timing.get(unit, float('nan')):9.3f} run={r.seconds:5.1f}s"
                     f"{stats}")
    for name, mode, first in session.retries:
        lines.append(f"  retried {name} {mode}: {first.splitlines()[0]}")
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capman is not None:
        with capman.global_and_fixture_disabled():     # into the CI log, pass or fail
            reporter.write_line("")
            for line in lines:
                reporter.write_line(line)
    out = os.environ.get("GLCOHERENT_WINED3D_REPORT")
    if out:
        Path(out).write_text(json.dumps({
            "build_s": build_s, "prefix_s": boot_s, "total_s": total_s,
            "retries": [{"program": n, "mode": m, "first": f} for n, m, f in session.retries],
            "runs": [{"program": n, "mode": r.mode, "args": r.args, "result": r.result,
                      "timing": r.timing, "seconds": r.seconds, "stats": r.app_stats()}
                     for n, r in session.records]}, indent=1))


@pytest.mark.parametrize("name", list(H.PROGRAMS))
def test_native(wined3d, name):
    """The program's own checks pass natively (the reference for every other mode)."""
    prog = H.PROGRAMS[name]
    r = wined3d.native(name, prog.args)
    assert r.result.startswith(name + " ")
    assert not r.stats, "a native run printed glcoherent stats"


@pytest.mark.parametrize("mode", [m for m in H.MODES if m != "native"])
@pytest.mark.parametrize("name", list(H.PROGRAMS))
def test_mode(wined3d, name, mode):
    prog = H.PROGRAMS[name]
    args = prog.args_for(mode)
    native = wined3d.native(name, args)
    r = wined3d.run(name, mode, args)
    assert r.result == native.result, (
        f"{name} {mode}: result differs from native\n native: {native.result}\n"
        f" {mode}: {r.result}")
    if mode == "hidden":
        assert not r.stats
        return

    app = r.app_stats()
    assert len(app) == 1, f"expected one stats line from the application:\n{r.stderr[-3000:]}"
    st = app[0]
    limit = H.limit_of(mode)
    assert st["persistent_maps"] > 0, st
    assert st["limit"] == limit, st
    assert 0 < st["max_mapped_end"] <= limit, st
    assert st["oom"] == 0, st
    if mode in ("uffd", "mprotect", "copy"):
        assert st["tracker"] == mode and st["tracker_resolved"] == mode, st
    # the pointers D3D's Map handed out are glcoherent's, below the limit
    if "lowest_map" in r.timing:
        assert int(r.timing["lowest_map"], 16) < limit, r.timing
    if "maps" in r.timing:
        lo, hi = (int(x, 16) for x in r.timing["maps"].split("-"))
        assert 0 < lo < hi <= limit, r.timing


def test_limit_2g_exhausted(wined3d):
    """Forty 16 MiB dynamic buffers do not fit below 2 GiB next to Wine's own reservations: the
    map that does not fit fails with GL_OUT_OF_MEMORY and says so (wined3d then hands the
    application a NULL pointer and it crashes). Required: that message, and an exit (a crash
    exits: winedbg is disabled), not a hang."""
    prog = H.PROGRAMS["manybuf"]
    r = H.run(wined3d.prefix, wined3d.exes["manybuf"], prog.args, "limit2G", timeout=RUN_TIMEOUT)
    assert not r.timed_out, r.describe()
    assert "out of low memory" in r.stderr and "GL_OUT_OF_MEMORY" in r.stderr, r.describe()
