"""Genuine 32-bit code on glcoherent's mappings, as Wine's WoW64 mode runs it.

i386 functions run in compatibility mode (selector 0x23) through the thunk of
glcoherent.demos.compat32 (demos/compat32_thunk.S) and write and read persistent mappings that
GL draws from, flushes, copies and computes into. The scenarios live in
tests/programs/wow64_prog.py; they run through both doors:

  in-process   glcoherent.install() with PyOpenGL in this process (the session's `gl` fixture):
               the tracker is the suite's (GLCOHERENT_TRACKER; tools/test.sh runs the suite once
               per tracker), plus a fresh process that installs with a 2 GiB limit;
  interposer   `python -m glcoherent run --tracker T [--limit 2G] -- python wow64_prog.py` for
               each of uffd, mprotect, copy and auto.

With the mprotect tracker the write faults are taken while the CPU is in compatibility mode (the
scenarios never write the mappings from 64-bit code): write_faults > 0 shows the SIGSEGV was
handled in 64-bit mode and the 32-bit code resumed. Every pointer the 32-bit code received is
checked against the limit.

Skips: only when this machine cannot run 32-bit code in a 64-bit process - not x86-64, or a
kernel whose IA-32 support leaves no present 32-bit user code segment behind selector 0x23 (the
thunk checks with LAR before any far call); the reason is the thunk's own message. A missing
libcompat32.so is an error, not a skip.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

from glcoherent.run import parse_stats

ROOT = Path(__file__).resolve().parents[1]
PROGRAMS = Path(__file__).resolve().parent / "programs"
PROGRAM = PROGRAMS / "wow64_prog.py"
TRACKERS = ["uffd", "mprotect", "copy", "auto"]
GIB = 1 << 30
PTR_RE = re.compile(r"^ptr=0x([0-9a-f]+) len=(\d+)$", re.M)
PTR32_RE = re.compile(r"^ptr32=0x([0-9a-f]+)$", re.M)

sys.path.insert(0, str(PROGRAMS))
import wow64_prog  # noqa: E402

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def c32():
    from glcoherent.demos import compat32

    reason = compat32.unavailable_reason()      # a missing library raises: an error, no skip
    if reason:
        pytest.skip(f"32-bit code cannot run here: {reason}")
    return compat32.Compat32()


def base_env(**extra) -> dict:
    env = dict(os.environ)
    for k in ("GLCOHERENT_LIMIT", "GLCOHERENT_STATS", "LD_PRELOAD"):
        env.pop(k, None)
    env["PYOPENGL_PLATFORM"] = "egl"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def run(cmd, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], env=env or base_env(), capture_output=True,
                          text=True, timeout=180)


def check_program(proc, limit: int) -> None:
    """The program passed every scenario, and its pointers are below limit."""
    out = proc.stdout
    assert proc.returncode == 0 and "RESULT: pass" in out, \
        f"rc {proc.returncode}\n{out}\n{proc.stderr}"
    for name in wow64_prog.SCENARIOS:
        assert f"scenario {name}: pass" in out, out
    maps = PTR_RE.findall(out)
    assert len(maps) >= 4, out
    for addr, length in maps:
        assert int(addr, 16) + int(length) <= limit, f"mapping 0x{addr} above 0x{limit:x}"
    received = [int(p, 16) for p in PTR32_RE.findall(out)]
    assert received, out
    assert all(0 < p < limit for p in received), [hex(p) for p in received]


# ---- the thunk itself --------------------------------------------------------------------------

def test_thunk_is_not_in_the_shipped_libraries():
    """The thunk is test and demo support: only libcompat32.so has it."""
    import glcoherent
    import glcoherent._native as native

    pkg = Path(glcoherent.__file__).resolve().parent
    for lib in (pkg / "libglcoherent.so", pkg / "libglcoherent_preload.so",
                Path(native.__file__)):
        data = lib.read_bytes()
        assert b"compat32" not in data and b"c32_particles" not in data, lib
    from glcoherent.demos import compat32

    if platform.machine() in ("x86_64", "AMD64"):     # built only there (setup.py)
        assert b"compat32_enter" in Path(compat32.library_path()).read_bytes()


def test_thunk_code_and_stack_are_low_and_registers_survive(c32):
    code, stack_lo, stack_hi = c32.layout()
    assert 0 < code < stack_lo < stack_hi <= 2 * GIB, (hex(code), hex(stack_hi))
    assert wow64_prog.scenario_registers(c32) == []
    assert c32.regs_lost() == 0


def test_32bit_code_cannot_be_given_a_high_pointer(c32):
    from glcoherent.demos.compat32 import OutOfReach

    with pytest.raises(OutOfReach, match="out of reach of 32-bit code"):
        c32.fill(1 << 32, 4, 1, 0)
    with pytest.raises(OutOfReach):
        c32.verify((1 << 32) - 8, 4, 1, 0)       # starts below, ends above 4 GiB
    with pytest.raises(OutOfReach):
        c32.echo(1 << 32)


def test_32bit_code_on_plain_low_memory(c32):
    import numpy as np

    addr, words = c32.alloc(4096, np.uint32)
    assert addr + 4096 <= 2 * GIB
    assert c32.fill(addr, 512, 2, 100) == 512
    assert words[0] == 100 and words[1] == 0 and words[1022] == 611
    assert c32.verify(addr, 512, 2, 100) == 0 and c32.verify(addr, 512, 2, 101) == 512


# ---- door 1: glcoherent.install() in this process ----------------------------------------------

@pytest.mark.parametrize("name", ["draw", "flush", "readback", "page"])
def test_in_process(name, gl, glc, limit, c32):
    before = glc.stats()
    c32.pointers.clear()
    problems = wow64_prog.SCENARIOS[name](c32, log=lambda _line: None)
    assert problems == []
    after = glc.stats()
    assert c32.pointers and all(0 < p < limit for p in c32.pointers)
    assert after.persistent_maps > before.persistent_maps
    assert after.max_mapped_end <= limit
    if name in ("draw", "page") and after.tracker_name == "mprotect":
        # only 32-bit code wrote the mapping: the faults came from compatibility mode
        assert after.write_faults > before.write_faults, (before, after)


def test_draw_check_notices_a_skipped_flush(gl, glc, c32):
    """The negative control: with glcoherent bypassed around the draws, the 32-bit writes do
    not reach the buffer the GPU reads, and the draw scenario must say so."""
    problems = wow64_prog.scenario_draw(c32, log=lambda _line: None, draw_guard=glc.bypass)
    assert problems and "pixels" in problems[0], problems


def test_in_process_limit_2g():
    """A fresh process: glcoherent.install(limit=2G); every pointer 32-bit code gets < 2 GiB."""
    proc = run([sys.executable, PROGRAM, "--install", "2G"])
    if proc.returncode == 3:
        pytest.skip(proc.stdout.strip())
    check_program(proc, 2 * GIB)


# ---- door 2: the interposer, every tracker -----------------------------------------------------

def interposed(tracker: str, *options: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "glcoherent", "run", "--stats", "--tracker", tracker,
                *options, "--", sys.executable, PROGRAM])


def check_stats(proc, tracker: str, limit: int) -> dict:
    stats = parse_stats(proc.stderr)
    assert len(stats) == 1, proc.stderr
    st = stats[0]
    assert st["tracker"] == tracker and st["limit"] == limit, st
    assert st["persistent_maps"] >= 4 and st["shadowed_maps"] >= 1, st
    assert 0 < st["max_mapped_end"] <= limit and st["oom"] == 0, st
    if st["tracker_resolved"] == "mprotect":
        # the program never writes a mapping from 64-bit code: these faults were taken in
        # compatibility mode and returned to the 32-bit code
        assert st["write_faults"] > 0, st
    if st["tracker_resolved"] == "uffd":
        assert st["scans"] > 0, st
    return st


@pytest.mark.parametrize("tracker", TRACKERS)
def test_interposer(tracker, c32):
    proc = interposed(tracker)
    check_program(proc, 4 * GIB)
    check_stats(proc, tracker, 4 * GIB)


@pytest.mark.parametrize("tracker", TRACKERS)
def test_interposer_limit_2g(tracker, c32):
    """--limit 2G: a program that is not large-address-aware gets pointers below 2 GiB only."""
    proc = interposed(tracker, "--limit", "2G")
    check_program(proc, 2 * GIB)
    check_stats(proc, tracker, 2 * GIB)


def test_native_driver_pointer_is_out_of_reach(c32):
    """Without glcoherent the driver's pointer decides: above 4 GiB, 32-bit code cannot get it."""
    proc = run([sys.executable, PROGRAM])
    maps = PTR_RE.findall(proc.stdout)
    assert maps, proc.stdout + proc.stderr
    if any(int(a, 16) + int(n) > 1 << 32 for a, n in maps):
        assert proc.returncode == 4 and "out of reach of 32-bit code" in proc.stdout, proc.stdout
    else:
        check_program(proc, 4 * GIB)
