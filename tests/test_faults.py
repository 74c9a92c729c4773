"""Fault injection: glcoherent under the conditions that break naive emulators.

(a) the preferred tracker is unavailable (GLCOHERENT_DISABLE_UFFD=1): fallback, logged, correct;
(b) the low arena runs out (GLCOHERENT_LIMIT small): that map fails with GL_OUT_OF_MEMORY, the
    log names the limit, everything else keeps working, freed space is reused;
(c) a SIGSEGV handler installed after glcoherent's displaces it (mprotect tracker): no lost
    write, no crash, glcoherent back on top at the next flush, the host's own faults still
    reach the host;
(d) fork() with live mappings: the parent keeps working; the child may read mapped memory
    (it shares the shadow pages with the parent), must not use GL, exits cleanly;
(e) vm.max_map_count pressure for the mprotect backend: the VMA count stays bounded, no write
    is lost;
(f) writes from several threads into a coherent persistent mapping while the main thread
    flushes, dispatches, copies and syncs: no lost write, no stale overwrite.

Most run in a subprocess (a crash must not take pytest down, and environment variables are read
once per process). Run per tracker: GLCOHERENT_TRACKER=uffd|mprotect|copy|auto pytest ...
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from glcoherent._native import lib as native_lib  # noqa: E402

pytestmark = pytest.mark.gl

TRACKER = os.environ.get("GLCOHERENT_TRACKER", "auto")
UFFD_OK = bool(native_lib.glc_tracker_available(native_lib.GLC_TRACKER_UFFD))


def run_child(code, env=None, timeout=180, expect_rc=0):
    """Run fuzz_helpers.child's prelude + code in a fresh interpreter; return (result dict,
    completed process)."""
    full = "from fuzz_helpers.child import *\n" + textwrap.dedent(code)
    e = dict(os.environ)
    e.pop("GLCOHERENT_DISABLE_UFFD", None)
    e.pop("GLCOHERENT_LIMIT", None)
    e["PYTHONPATH"] = os.pathsep.join([HERE, ROOT, e.get("PYTHONPATH", "")])
    e["PYOPENGL_PLATFORM"] = "egl"
    e.update(env or {})
    proc = subprocess.run([sys.executable, "-c", full], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=timeout)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    if expect_rc is not None and proc.returncode != expect_rc:
        raise AssertionError(f"child exited with {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}"
                             f"\nstderr:\n{proc.stderr[-4000:]}")
    if result is None and expect_rc == 0:
        raise AssertionError(f"child printed no result\nstdout:\n{proc.stdout[-4000:]}\n"
                             f"stderr:\n{proc.stderr[-4000:]}")
    return result, proc


# ------------------------------------------------------------------ (a) tracker unavailable

FALLBACK_CHILD = """
s = setup()
problems = []
for seed in range(3):
    problems += roundtrip(s, s.E, seed=seed)
# a short differential run on top
import test_fuzz as T
from hypothesis.stateful import run_state_machine_as_test
T.get_env(s.ctx, s.glc)
fuzz = "ok"
try:
    run_state_machine_as_test(T.GLDifferential, settings=T.fuzz_settings(8))
except AssertionError as e:
    fuzz = str(e)[:2000]
st = s.inst.stats()
done({"tracker": st.tracker_name, "problems": problems, "fuzz": fuzz,
      "records": s.records.records})
"""


@pytest.mark.parametrize("wanted", ["uffd", "auto"])
def test_fallback_when_uffd_unavailable(wanted):
    res, _ = run_child(FALLBACK_CHILD, {"GLCOHERENT_DISABLE_UFFD": "1",
                                        "GLCOHERENT_TRACKER": wanted})
    assert res["problems"] == []
    assert res["fuzz"] == "ok"
    warnings = [m for lvl, m in res["records"] if lvl in ("WARNING", "ERROR")]
    if wanted == "uffd":
        assert "mprotect" in res["tracker"], res["tracker"]
        assert any("mprotect" in m and "uffd" in m for m in warnings), (
            f"no warning naming the fallback; log was {res['records']}")
    else:
        # In-process the default never write-protects pages (kernel writes into mappings
        # would fail with EFAULT): copy, with range flushes; the warning says why.
        assert res["tracker"] == "auto(copy)", res["tracker"]
        assert any("copy" in m and "mprotect" in m for m in warnings), res["records"]


def test_auto_fallback_is_warned():
    """BUG-5 (the issue asks for a warning naming the fallback): with GLCOHERENT_TRACKER=auto
    (the default) and userfaultfd unavailable, glcoherent uses mprotect and only says so at
    INFO level ("ready: ..., tracker mprotect (adaptive)"); nothing at WARNING names the
    fallback or why uffd is missing."""
    res, _ = run_child(FALLBACK_CHILD.replace("range(3)", "range(1)").replace(
        "fuzz_settings(8)", "fuzz_settings(1)"),
        {"GLCOHERENT_DISABLE_UFFD": "1", "GLCOHERENT_TRACKER": "auto"})
    warnings = [m for lvl, m in res["records"] if lvl in ("WARNING", "ERROR")]
    assert any("mprotect" in m for m in warnings), (
        f"no warning naming the fallback; log was {res['records'][:3]}")


def test_no_fallback_warning_when_mprotect_asked():
    res, _ = run_child(FALLBACK_CHILD.replace("range(3)", "range(1)").replace(
        "fuzz_settings(8)", "fuzz_settings(2)"),
        {"GLCOHERENT_DISABLE_UFFD": "1", "GLCOHERENT_TRACKER": "mprotect"})
    assert res["problems"] == [] and res["fuzz"] == "ok"
    assert res["tracker"] == "mprotect"
    assert not [m for lvl, m in res["records"] if lvl in ("WARNING", "ERROR")]


def test_disable_uffd_zero_means_enabled():
    if not UFFD_OK:
        pytest.skip("no userfaultfd here")
    res, _ = run_child(FALLBACK_CHILD.replace("range(3)", "range(1)").replace(
        "fuzz_settings(8)", "fuzz_settings(2)"),
        {"GLCOHERENT_DISABLE_UFFD": "0", "GLCOHERENT_TRACKER": "uffd"})
    assert res["tracker"] == "uffd" and res["problems"] == []


# ------------------------------------------------------------------ (b) low memory runs out

OOM_CHILD = """
import numpy as np
s = setup()
E, N = s.E, s.N
limit = s.inst.limit
SIZE = 256 * 1024
names = [make_buffer(E, SIZE) for _ in range(8)]
ptrs, errors = {}, {}
for b in names:
    p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
    errors[b] = E.errors()
    if p:
        ptrs[b] = p
failed = [b for b in names if b not in ptrs]
out = {"limit": limit, "mapped": len(ptrs), "failed": len(failed),
       "fail_errors": [errors[b] for b in failed], "ok_errors": [errors[b] for b in ptrs],
       "ptr_ends_ok": all(p + SIZE <= limit for p in ptrs.values()),
       "failed_still_mapped": [E.param(b, G.GL_BUFFER_MAPPED) for b in failed],
       "failed_pointer": [E.pointer(b) for b in failed]}
# every mapped buffer keeps working: CPU -> GPU and GPU -> CPU
problems = []
for k, (b, p) in enumerate(ptrs.items()):
    m = view(p, SIZE)
    m[::4093] = k + 1
    m[5000:5100] = 0x42
    got = gpu_bytes(s, E, b, 0, SIZE)
    if not np.array_equal(got, m):
        problems.append(f"buffer {b}: GPU misses CPU writes")
    E.glClearNamedBufferSubData(b, G.GL_R8UI, 8192, 100, G.GL_RED_INTEGER, G.GL_UNSIGNED_BYTE,
                                (ctypes.c_uint8 * 1)(0x77))
    E.glFinish()
    if not (m[8192:8292] == 0x77).all():
        problems.append(f"buffer {b}: CPU misses GPU writes")
# a small non-persistent map still fits? (depends on leftovers; must not break anything)
small = make_buffer(E, 100, G.GL_MAP_READ_BIT | G.GL_MAP_WRITE_BIT)
sp = E.glMapNamedBufferRange(small, 0, 100, G.GL_MAP_READ_BIT | G.GL_MAP_WRITE_BIT)
out["small_errors"] = E.errors()
if sp:
    view(sp, 100)[:] = 9
    E.glUnmapNamedBuffer(small)
    if s.N.read(small, 0, 100) != bytes([9]) * 100:
        problems.append("small map lost its data")
# freed space is reused: unmap one, the failed one maps now
victim = next(iter(ptrs))
E.glUnmapNamedBuffer(victim)
retry = E.glMapNamedBufferRange(failed[0], 0, SIZE, RW_PC) if failed else 0
out["retry_ok"] = bool(retry)
out["retry_errors"] = E.errors()
if retry:
    m = view(retry, SIZE)
    m[:] = 0x5A
    if not (gpu_bytes(s, E, failed[0], 0, SIZE) == 0x5A).all():
        problems.append("re-mapped buffer does not work")
# deleting frees too
E.glUnmapNamedBuffer(failed[0])
others = list(ptrs)[1:]
if others:
    E.delete_buffer(others[0])
    again = E.glMapNamedBufferRange(failed[-1], 0, SIZE, RW_PC)
    out["after_delete_ok"] = bool(again)
    out["after_delete_errors"] = E.errors()
out["problems"] = problems
out["oom_stat"] = s.inst.stats().oom
out["records"] = s.records.records
done(out)
"""


def test_low_memory_exhaustion():
    res, _ = run_child(OOM_CHILD, {"GLCOHERENT_LIMIT": "1M"})
    assert res["mapped"] >= 1 and res["failed"] >= 1, res
    assert all(e == [0x0505] for e in res["fail_errors"]), res["fail_errors"]
    assert all(e == [] for e in res["ok_errors"])
    assert res["ptr_ends_ok"]
    assert res["failed_still_mapped"] == [0] * res["failed"], "a refused map left the buffer mapped"
    assert res["failed_pointer"] == [0] * res["failed"]
    assert res["problems"] == []
    assert res["retry_ok"] and res["retry_errors"] == []
    assert res.get("after_delete_ok", True)
    assert res["oom_stat"] == res["failed"]
    logs = [m for lvl, m in res["records"] if lvl in ("ERROR", "WARNING")]
    assert any(("0x100000" in m or "1 MiB" in m or "1M" in m) and "memory" in m for m in logs), \
        f"no log line naming the limit: {logs}"


# ------------------------------------------------------------------ (c) displaced SIGSEGV handler

DISPLACE_CHILD = """
import numpy as np
s = setup()
E = s.E
h = build_helper(OUT_DIR)
SIZE = 64 * PAGE
b = make_buffer(E, SIZE, data=bytes(SIZE))
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE)
m[0] = 1
problems = []
gpu_bytes(s, E, b, 0, SIZE)            # flush: armed again
# the host installs its handler now, after glcoherent's, with a guard page of its own
import ctypes as _ct
libc = _ct.CDLL(None, use_errno=True)
libc.mmap.restype = _ct.c_void_p
libc.mmap.argtypes = [_ct.c_void_p, _ct.c_size_t, _ct.c_int, _ct.c_int, _ct.c_int, _ct.c_long]
gaddr = libc.mmap(None, PAGE, 1, 0x22, -1, 0)   # PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS
assert h.fh_install(gaddr, PAGE) == 0
on_top_before = h.fh_on_top()
rounds = []
for r in range(4):
    idx = np.arange(r, SIZE, PAGE + 7)
    m[idx] = (r + 2) & 0xFF
    calls = h.fh_calls()
    got = gpu_bytes(s, E, b, 0, SIZE)   # a flush: glcoherent checks its handler here
    if not np.array_equal(got, m):
        problems.append(f"round {r}: GPU misses {int((got != m).sum())} CPU bytes")
    rounds.append({"host_calls": calls, "host_on_top_after_flush": h.fh_on_top()})
# the host's own faults still reach it, through glcoherent's chain
_ct.c_uint8.from_address(gaddr).value = 7
own = h.fh_own()
# GPU -> CPU still fine
E.glClearNamedBufferSubData(b, G.GL_R8UI, 0, 64, G.GL_RED_INTEGER, G.GL_UNSIGNED_BYTE,
                            (_ct.c_uint8 * 1)(0x33))
E.glFinish()
if not (m[:64] == 0x33).all():
    problems.append("CPU misses GPU writes")
done({"problems": problems, "on_top_before": on_top_before, "rounds": rounds, "own": own,
      "stats": s.inst.stats().as_dict(), "errors": E.errors()})
"""


@pytest.mark.parametrize("tracker", ["mprotect", TRACKER] if TRACKER != "mprotect"
                         else ["mprotect"])
def test_displaced_sigsegv_handler(tracker, tmp_path):
    res, _ = run_child(DISPLACE_CHILD.replace("OUT_DIR", repr(str(tmp_path))),
                       {"GLCOHERENT_TRACKER": tracker})
    assert res["problems"] == [], res
    assert res["errors"] == []
    assert res["on_top_before"] == 1
    assert res["own"] == 1, "the host's own fault did not reach the host's handler"
    if tracker == "mprotect":
        # first round: the host handler saw our faults (and chained them); after that flush
        # glcoherent is back on top
        assert res["rounds"][0]["host_calls"] >= 1
        assert all(r["host_on_top_after_flush"] == 0 for r in res["rounds"]), res["rounds"]
        assert res["stats"]["write_faults"] > 0


FAULTHANDLER_CHILD = """
import faulthandler, numpy as np
s = setup()
E = s.E
SIZE = 16 * PAGE
b = make_buffer(E, SIZE, data=bytes(SIZE))
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE)
m[0] = 1
gpu_bytes(s, E, b, 0, SIZE)
faulthandler.enable()          # the host enables Python's faulthandler after the map
m[3 * PAGE + 5] = 9            # a tracked write: goes to faulthandler first
got = gpu_bytes(s, E, b, 0, SIZE)
done({"ok": bool(np.array_equal(got, m))})
"""


def test_faulthandler_enabled_after_map_keeps_tracking():
    """BUG-3, fixed (glcoherent re-asserts its handler after faulthandler.enable()). Before:
    Python's faulthandler enabled after glcoherent armed a mapping displaced glcoherent's
    SIGSEGV handler. The first tracked write goes to faulthandler, which
    prints "Fatal Python error: Segmentation fault", restores the previous handler (ours) and
    raise()s SIGSEGV; ours gets an SI_TKILL signal it cannot attribute, chains it to SIG_DFL,
    and the process dies. A tracked write must neither crash nor be lost."""
    res, proc = run_child(FAULTHANDLER_CHILD, {"GLCOHERENT_TRACKER": "mprotect"},
                          expect_rc=None)
    assert proc.returncode == 0, (f"crashed (rc {proc.returncode}); stderr:\n"
                                  f"{proc.stderr[-3000:]}")
    assert res["ok"]


# ------------------------------------------------------------------ (d) fork

FORK_CHILD = """
import numpy as np
s = setup()
E = s.E
SIZE = 8 * PAGE + 100
b = make_buffer(E, SIZE, data=bytes(SIZE))
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE)
m[:] = np.arange(SIZE, dtype=np.uint8)
m[PAGE:PAGE + 50] = 0xEE
gpu_bytes(s, E, b, 0, SIZE)             # flushed
E.glClearNamedBufferSubData(b, G.GL_R8UI, 2 * PAGE, 64, G.GL_RED_INTEGER, G.GL_UNSIGNED_BYTE,
                            (ctypes.c_uint8 * 1)(0x33))
E.glFinish()                            # GPU bytes copied back
at_fork = m.copy()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    # the child: no GL. Read the mapping, then (case "write") write one byte, then leave.
    os.close(r)
    same = bool(np.array_equal(view(p, SIZE), at_fork))
    if CHILD_WRITES:
        view(p, SIZE)[7 * PAGE + 1] = 0xC5
    os.write(w, b"1" if same else b"0")
    os.close(w)
    if NORMAL_EXIT:
        sys.exit(0)
    os._exit(0)
os.close(w)
child_read_ok = os.read(r, 1) == b"1"
_, status = os.waitpid(pid, 0)
# the parent keeps working
problems = []
for k in range(3):
    m[k * 97:(k + 1) * 97] = k + 1
    got = gpu_bytes(s, E, b, 0, SIZE)
    if not np.array_equal(got, m):
        problems.append(f"round {k}: GPU misses {int((got != m).sum())} CPU bytes")
    E.glClearNamedBufferSubData(b, G.GL_R8UI, 3 * PAGE, 16, G.GL_RED_INTEGER,
                                G.GL_UNSIGNED_BYTE, (ctypes.c_uint8 * 1)(k + 0x40))
    E.glFinish()
    if not (m[3 * PAGE:3 * PAGE + 16] == k + 0x40).all():
        problems.append(f"round {k}: CPU misses GPU writes")
problems += roundtrip(s, E)
done({"child_read_ok": child_read_ok, "child_status": status, "problems": problems,
      "parent_sees_child_byte": int(m[7 * PAGE + 1]), "at_fork_byte": int(at_fork[7 * PAGE + 1]),
      "errors": E.errors()})
"""


@pytest.mark.parametrize("normal_exit", [False, True], ids=["_exit", "sys.exit"])
def test_fork_with_live_mappings(normal_exit):
    """The parent keeps working after fork(); the child (no GL) reads the mapped memory as it
    was at fork() and exits cleanly, with os._exit or a normal interpreter exit."""
    code = FORK_CHILD.replace("CHILD_WRITES", "False").replace("NORMAL_EXIT", str(normal_exit))
    res, _ = run_child(code)
    assert res["child_status"] == 0, "the child crashed"
    assert res["child_read_ok"], "the child does not read the mapped data as of fork()"
    assert res["problems"] == [] and res["errors"] == []
    assert res["parent_sees_child_byte"] == res["at_fork_byte"]


def test_fork_child_writes_a_private_copy():
    """As with the native driver, a forked child's mapping is a private copy-on-write snapshot:
    its writes never reach the parent's mapping (glcoherent replaces each client view with a
    private copy in a pthread_atfork child handler), and the parent's writes keep reaching the
    GPU exactly."""
    code = FORK_CHILD.replace("CHILD_WRITES", "True").replace("NORMAL_EXIT", "False")
    res, _ = run_child(code)
    assert res["child_status"] == 0 and res["child_read_ok"]
    assert res["parent_sees_child_byte"] == res["at_fork_byte"], \
        "the child's write changed the parent's mapping"
    assert res["problems"] == []


# ------------------------------------------------------------------ (e) max_map_count pressure

VMA_CHILD = """
import numpy as np
import glcoherent._native
import native_helpers
s = setup()
E = s.E
h = build_helper(OUT_DIR)
MB = SIZE_MB
SIZE = MB << 20
if MAX_MAP:  # through the SIGSEGV registry that glcoherent._native uses
    assert native_helpers.load().lib.glc_test_set_max_map_count_of(
        glcoherent._native.__file__.encode(), MAX_MAP) == 0
limit = MAX_MAP or int(open("/proc/sys/vm/max_map_count").read())
b = make_buffer(E, SIZE, data=None)
E.glClearNamedBufferData(b, G.GL_R8UI, G.GL_RED_INTEGER, G.GL_UNSIGNED_BYTE,
                         (ctypes.c_uint8 * 1)(0))
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE)
base = h.vma_count()
samples = []
problems = []
for r in range(ROUNDS):
    n = h.touch_pages(p, SIZE, 2, r + 1)      # every other page: isolated islands
    peak = h.vma_count()
    check = make_buffer(s.N, SIZE, G.GL_DYNAMIC_STORAGE_BIT)
    got = gpu_bytes(s, E, b, 0, SIZE, check)  # flush
    s.N.delete_buffer(check)
    after = h.vma_count()
    samples.append({"pages": int(n), "peak": peak, "after_flush": after})
    if not np.array_equal(got, m):
        problems.append(f"round {r}: GPU misses {int((got != m).sum())} CPU bytes")
done({"base": base, "samples": samples, "problems": problems, "limit": limit,
      "stats": s.inst.stats().as_dict(), "errors": E.errors()})
"""


@pytest.mark.parametrize("size_mb,max_map,rounds", [
    (64, 0, 3),        # 8k islands: far below the real limit, re-protect merges them back
    (32, 3000, 3),     # simulated low limit: collect sees the pressure and degrades
    (320, 0, 2),       # 40k islands: the kernel's own limit (65530) is hit inside the handler
], ids=["below-limit", "simulated-limit", "kernel-limit"])
def test_vma_pressure_mprotect(size_mb, max_map, rounds, tmp_path):
    code = (VMA_CHILD.replace("OUT_DIR", repr(str(tmp_path))).replace("SIZE_MB", str(size_mb))
            .replace("MAX_MAP", str(max_map)).replace("ROUNDS", str(rounds)))
    res, _ = run_child(code, {"GLCOHERENT_TRACKER": "mprotect"}, timeout=300)
    assert res["problems"] == [] and res["errors"] == [], res
    limit = res["limit"]
    real = int(open("/proc/sys/vm/max_map_count").read())
    for smp in res["samples"]:
        assert smp["peak"] <= real, smp
        # after a flush the mappings are merged back (or the region degraded to one mapping)
        assert smp["after_flush"] <= res["base"] + 64, (smp, res["base"])
    if max_map:
        # with the simulated limit the estimate must trip before the count passes it
        assert res["samples"][-1]["peak"] <= max(limit, res["base"] + 2 * 4096 + 64)


# ------------------------------------------------------------------ kernel writes into a mapping

KERNEL_WRITE_CHILD = """
import numpy as np
s = setup()
E = s.E
SIZE = 4 * PAGE
b = make_buffer(E, SIZE, data=bytes(SIZE))
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE)
gpu_bytes(s, E, b, 0, SIZE)              # armed (clean)
r, w = os.pipe()
os.write(w, bytes(range(1, 201)))
err = None
try:
    n = os.readv(r, [memoryview(m)[PAGE + 10:PAGE + 210]])   # read(2) straight into the map
except OSError as e:
    err = e.errno
    n = 0
got = gpu_bytes(s, E, b, 0, SIZE)
done({"n": n, "errno": err, "gpu_sees": bool(np.array_equal(got, m)),
      "cpu_has": bool(m[PAGE + 10:PAGE + 210].tolist() == list(range(1, 201)))})
"""


@pytest.mark.parametrize("tracker", ["uffd", "mprotect", "copy"])
def test_kernel_write_into_mapping(tracker):
    """read(2) straight into a mapped pointer. uffd and copy: works, and the GPU sees the data
    (kernel writes are tracked like user writes). mprotect: documented limit, the kernel does
    not fault on a protected page, read(2) fails with EFAULT and nothing is written."""
    if tracker == "uffd" and not UFFD_OK:
        pytest.skip("no userfaultfd here")
    res, _ = run_child(KERNEL_WRITE_CHILD, {"GLCOHERENT_TRACKER": tracker})
    assert res["gpu_sees"], res
    if tracker == "mprotect":
        assert res["errno"] == 14 and res["n"] == 0, res   # EFAULT
    else:
        assert res["n"] == 200 and res["cpu_has"], res


# ------------------------------------------------------------------ (f) threads writing

THREADS_CHILD = """
import numpy as np, time
s = setup()
E, N = s.E, s.N
h = build_helper(OUT_DIR)
h.wr_pause.restype = None
h.wr_resume.restype = None
NW = 16 * PAGE // 4                       # 16 pages of 32-bit words
SIZE = NW * 4
NT = 4
# word w: owned by the GPU if w % 5 == 4 (every page has some), else by thread (w % 5) % NT;
# a thread stores owner << 28 | counter (tearing between two of its values keeps the tag)
owner = np.array([0 if w % 5 == 4 else 1 + (w % 5) % NT for w in range(NW)], np.uint8)
gpu_words = np.nonzero(owner == 0)[0]
cpu = owner != 0
init = (owner.astype(np.uint32) << np.uint32(28))
b = make_buffer(E, SIZE, data=init.tobytes())
p = E.glMapNamedBufferRange(b, 0, SIZE, RW_PC)
m = view(p, SIZE).view(np.uint32)
import test_fuzz as T
env = T.get_env(s.ctx, s.glc)
P = env.prog
E.glBindBufferRange(G.GL_SHADER_STORAGE_BUFFER, 0, b, 16, SIZE - 16)  # d[k*5] = word 4+5k
N.glProgramUniform1ui(P, env.loc["count"], len(gpu_words))
N.glProgramUniform1ui(P, env.loc["stride"], 5)
N.glProgramUniform1ui(P, env.loc["use_src"], 0)
owner_arr = (ctypes.c_uint8 * NW).from_buffer(owner)
assert h.wr_start(p, NW, owner_arr, NT) == 0
check = make_buffer(N, SIZE, G.GL_DYNAMIC_STORAGE_BIT)
problems = []
t_end = time.monotonic() + SECONDS
it = checkpoints = 0
def gpu_value(it, k):
    return (np.uint32(0xA0000000) + np.uint32(it)) ^ (k.astype(np.uint32) * np.uint32(2654435761))
def tags_ok(words):
    return ((words[cpu] >> np.uint32(28)) == owner[cpu]).all()
while time.monotonic() < t_end and len(problems) < 6:
    it += 1
    N.glProgramUniform1ui(P, env.loc["value"], 0xA0000000 + it)
    E.glUseProgram(P)
    E.glDispatchCompute((len(gpu_words) + 63) // 64, 1, 1)     # flush + GPU writes its words
    E.glMemoryBarrier(G.GL_ALL_BARRIER_BITS)
    E.glUseProgram(0)
    want_gpu = gpu_value(it, np.arange(len(gpu_words)))
    got = gpu_bytes(s, E, b, 0, SIZE, check).view(np.uint32)    # flush + GPU reads
    if not np.array_equal(got[gpu_words], want_gpu):
        problems.append(f"it {it}: the GPU's words are wrong on the GPU side (CPU flush "
                        f"overwrote them)")
    if not tags_ok(got):
        problems.append(f"it {it}: a CPU word holds another party's value on the GPU side")
    if it % 3 == 0:
        E.glFinish()
    elif it % 3 == 1:
        f = E.glFenceSync(G.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
        E.glClientWaitSync(f, G.GL_SYNC_FLUSH_COMMANDS_BIT, 1_000_000_000)
        E.glDeleteSync(f)
    else:
        f = E.glFenceSync(G.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
        E.glFinish()
        E.sync_status(f)
        E.glDeleteSync(f)
    snap = m.copy()
    if not np.array_equal(snap[gpu_words], want_gpu):
        problems.append(f"it {it}: the CPU does not see the GPU's words after the sync")
    if not tags_ok(snap):
        problems.append(f"it {it}: a CPU word in the mapping holds another party's value "
                        f"(copy-back clobbered it)")
    if it % 16 == 0:
        # checkpoint: writers parked, one flush, every CPU word must be on the GPU exactly
        h.wr_pause()
        held = m.copy()
        got = gpu_bytes(s, E, b, 0, SIZE, check).view(np.uint32)
        lost = np.nonzero(got[cpu] != held[cpu])[0]
        if lost.size:
            problems.append(f"checkpoint {it}: {lost.size} CPU words not on the GPU after a "
                            f"flush (lost writes)")
        checkpoints += 1
        h.wr_resume()
writes = h.wr_stop()
final = m.copy()
got = gpu_bytes(s, E, b, 0, SIZE, check).view(np.uint32)
lost = np.nonzero(got[cpu] != final[cpu])[0]
if lost.size:
    problems.append(f"final: {lost.size} CPU words lost (GPU holds an older value)")
done({"problems": problems[:10], "iterations": it, "checkpoints": checkpoints,
      "writes": int(writes), "stats": s.inst.stats().as_dict(), "errors": E.errors()})
"""


@pytest.mark.parametrize("tracker", sorted({TRACKER, "uffd", "mprotect", "copy"}))
def test_threads_write_during_flushes(tracker, tmp_path):
    if tracker == "uffd" and not UFFD_OK:
        pytest.skip("no userfaultfd here")
    code = THREADS_CHILD.replace("OUT_DIR", repr(str(tmp_path))).replace("SECONDS", "2.0")
    res, _ = run_child(code, {"GLCOHERENT_TRACKER": tracker})
    assert res["iterations"] > 10 and res["writes"] > 10000 and res["checkpoints"] > 0, res
    assert res["problems"] == [] and res["errors"] == [], res
