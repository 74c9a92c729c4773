"""Dirty-page trackers (glcoherent/native/track/) through cffi, no GL.

Backends: uffd (userfaultfd async write-protect + PAGEMAP_SCAN), mprotect (+ SIGSEGV), copy.
Anything that may crash the interpreter (SIGSEGV chaining) runs in a subprocess.
"""

import ctypes
import errno
import glob
import mmap
import os
import subprocess
import sys
import textwrap
import threading
import time

import native_helpers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glcoherent.bench import _benchnative as bench

# The trackers under test are the test module's own copy of the tracking layer (with the C
# helpers that look inside it); the trackbench tests use the bench module's copy.
_T = native_helpers.load()
ffi, lib = _T.ffi, _T.lib

PAGE = mmap.PAGESIZE
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KINDS = {
    "uffd": lib.GLC_TRACKER_UFFD,
    "mprotect": lib.GLC_TRACKER_MPROTECT,
    "copy": lib.GLC_TRACKER_COPY,
}

UFFD_OK = bool(lib.glc_tracker_available(lib.GLC_TRACKER_UFFD))
needs_uffd = pytest.mark.skipif(not UFFD_OK, reason="userfaultfd async WP unavailable")


def backend_params(*names):
    return [pytest.param(n, marks=needs_uffd) if n.startswith("uffd") else n for n in names]


ALL = backend_params("uffd", "mprotect", "copy")
TRACKING = backend_params("uffd", "mprotect")

# ---------------------------------------------------------------- memory helpers

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.read.restype = ctypes.c_ssize_t
_libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]

PROT_READ, PROT_WRITE = 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_ANONYMOUS = 0x01, 0x02, 0x20
MAP_FIXED_NOREPLACE = 0x100000
MAP_FAILED = ctypes.c_void_p(-1).value


class Mem:
    """Page-aligned memory: private anonymous, or a shared memfd (optionally below 4 GiB)."""

    def __init__(self, npages, kind="anon", low=False):
        self.size = npages * PAGE
        self.fd = -1
        if kind == "memfd":
            self.fd = os.memfd_create("glc-test", os.MFD_CLOEXEC)
            os.ftruncate(self.fd, self.size)
            flags = MAP_SHARED
        else:
            flags = MAP_PRIVATE | MAP_ANONYMOUS
        self.addr = self._map(flags, low)
        self.buf = ffi.buffer(ffi.cast("char *", self.addr), self.size)
        self._views = []

    def _map(self, flags, low):
        if not low:
            p = _libc.mmap(None, self.size, PROT_READ | PROT_WRITE, flags, self.fd, 0)
            assert p not in (None, MAP_FAILED), os.strerror(ctypes.get_errno())
            return p
        for hint in range(0x40000000, 0xF0000000, 0x01000000):
            p = _libc.mmap(hint, self.size, PROT_READ | PROT_WRITE, flags | MAP_FIXED_NOREPLACE,
                           self.fd, 0)
            if p not in (None, MAP_FAILED):
                if p == hint:
                    return p
                _libc.munmap(p, self.size)
        pytest.skip("no free range below 4 GiB")

    def second_view(self):
        """Another mapping of the same memfd (the library's internal view)."""
        p = _libc.mmap(None, self.size, PROT_READ | PROT_WRITE, MAP_SHARED, self.fd, 0)
        assert p not in (None, MAP_FAILED)
        self._views.append(p)
        return ffi.buffer(ffi.cast("char *", p), self.size)

    def write(self, off, data):
        self.buf[off:off + len(data)] = data

    def close(self):
        for p in self._views:
            _libc.munmap(p, self.size)
        _libc.munmap(self.addr, self.size)
        if self.fd >= 0:
            os.close(self.fd)


class Tracked:
    """One tracker with one region over a Mem."""

    def __init__(self, backend, mem, length=None):
        tp = ffi.new("glc_tracker **")
        assert lib.glc_tracker_create(tp, KINDS[backend]) == 0
        self.t = tp[0]
        assert lib.glc_tracker_kind_of(self.t) == KINDS[backend]
        self.mem = mem
        self.length = mem.size if length is None else length
        rp = ffi.new("glc_region **")
        rc = lib.glc_region_create(self.t, ffi.cast("void *", mem.addr), self.length, rp)
        if rc:
            lib.glc_tracker_destroy(self.t)
            raise OSError(-rc, os.strerror(-rc))
        self.r = rp[0]

    def runs(self):
        runs = []

        @ffi.callback("void(void *, size_t, size_t)")
        def cb(user, off, length):
            runs.append((off, length))

        n = lib.glc_region_collect(self.r, cb, ffi.NULL)
        assert n >= 0, os.strerror(-n)
        check_runs(runs, self.length)
        assert n == sum((ln + PAGE - 1) // PAGE for _, ln in runs)
        return runs

    def pages(self):
        return runs_to_pages(self.runs())

    def stats(self):
        s = ffi.new("glc_track_stats *")
        lib.glc_region_get_stats(self.r, s)
        return s

    def maybe_dirty(self):
        return lib.glc_region_maybe_dirty(self.r)

    def close(self):
        if self.r is not None:
            lib.glc_region_destroy(self.r)
            lib.glc_tracker_destroy(self.t)
            self.r = None


def check_runs(runs, length):
    """The collect contract: page-aligned, ascending, coalesced, clipped to the length."""
    prev_end = -1
    for off, ln in runs:
        assert off % PAGE == 0 and ln > 0
        assert off > prev_end, "runs must be ascending and coalesced"
        end = off + ln
        assert end <= length
        assert ln % PAGE == 0 or end == length
        prev_end = end


def runs_to_pages(runs):
    out = set()
    for off, ln in runs:
        out.update(range(off // PAGE, (off + ln + PAGE - 1) // PAGE))
    return out


@pytest.fixture
def track():
    made = []

    def make(backend, npages=16, memkind="anon", low=False, length=None):
        mem = Mem(npages, memkind, low)
        tr = Tracked(backend, mem, length)
        made.append(tr)
        return tr

    yield make
    for tr in made:
        tr.close()
        tr.mem.close()


def expected(backend, written, npages):
    return set(range(npages)) if backend == "copy" else set(written)


def run_child(code, env=None, timeout=60):
    """Run CHILD_PRELUDE + code in a fresh interpreter (no faulthandler unless it enables it)."""
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = os.pathsep.join([ROOT, os.path.join(ROOT, "tests"),
                                              full_env.get("PYTHONPATH", "")])
    full_env.pop("PYTHONFAULTHANDLER", None)
    if "libasan" in full_env.get("LD_PRELOAD", ""):
        # Under AddressSanitizer: let faults reach the handlers under test (and SIG_DFL)
        # instead of ASan's own SEGV report.
        opts = full_env.get("ASAN_OPTIONS", "")
        full_env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
            "handle_segv=0:allow_user_segv_handler=1"
    if env:
        env = dict(env)
        if "LD_PRELOAD" in env and full_env.get("LD_PRELOAD"):
            env["LD_PRELOAD"] = full_env["LD_PRELOAD"] + " " + env["LD_PRELOAD"]
        full_env.update(env)
    source = CHILD_PRELUDE + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", source], env=full_env,
                          capture_output=True, text=True, timeout=timeout)


CHILD_PRELUDE = """
import ctypes, mmap, os, sys
import native_helpers
_T = native_helpers.load()
ffi, lib = _T.ffi, _T.lib
PAGE = mmap.PAGESIZE
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

def anon(npages, prot=3):
    p = libc.mmap(None, npages * PAGE, prot, 0x22, -1, 0)
    assert p not in (None, ctypes.c_void_p(-1).value)
    return p

def tracked(kind, addr, size):
    tp = ffi.new("glc_tracker **")
    assert lib.glc_tracker_create(tp, kind) == 0
    rp = ffi.new("glc_region **")
    assert lib.glc_region_create(tp[0], ffi.cast("void *", addr), size, rp) == 0
    return tp[0], rp[0]

def pages(r):
    out = []
    @ffi.callback("void(void *, size_t, size_t)")
    def cb(u, off, ln):
        out.extend(range(off // PAGE, (off + ln) // PAGE))
    n = lib.glc_region_collect(r, cb, ffi.NULL)
    assert n >= 0, n
    return out

def poke(addr):
    ctypes.memset(addr, 0x5A, 1)
"""

# ---------------------------------------------------------------- names, probing, selection


def test_names_and_parse():
    for name, kind in [("auto", 0), ("uffd", 1), ("mprotect", 2), ("copy", 3)]:
        assert ffi.string(lib.glc_tracker_name(kind)).decode() == name
        out = ffi.new("glc_tracker_kind *")
        assert lib.glc_tracker_parse(name.upper().encode(), out) == 0
        assert out[0] == kind
    out = ffi.new("glc_tracker_kind *")
    assert lib.glc_tracker_parse(b"bogus", out) == -errno.EINVAL
    assert lib.glc_tracker_parse(ffi.NULL, out) == -errno.EINVAL
    assert ffi.string(lib.glc_tracker_name(99)) == b"invalid"


def test_availability_and_resolve():
    assert lib.glc_tracker_available(lib.GLC_TRACKER_BEST) == 1
    assert lib.glc_tracker_available(lib.GLC_TRACKER_COPY) == 1
    assert lib.glc_tracker_available(lib.GLC_TRACKER_MPROTECT) == 1
    best = lib.GLC_TRACKER_UFFD if UFFD_OK else lib.GLC_TRACKER_MPROTECT
    assert lib.glc_tracker_resolve(lib.GLC_TRACKER_BEST) == best
    assert lib.glc_tracker_resolve(lib.GLC_TRACKER_COPY) == lib.GLC_TRACKER_COPY
    assert lib.glc_tracker_resolve(lib.GLC_TRACKER_MPROTECT) == lib.GLC_TRACKER_MPROTECT
    tp = ffi.new("glc_tracker **")
    assert lib.glc_tracker_create(tp, 7) == -errno.EINVAL
    assert lib.glc_tracker_create(tp, lib.GLC_TRACKER_BEST) == 0
    assert lib.glc_tracker_kind_of(tp[0]) == best
    lib.glc_tracker_destroy(tp[0])


def test_disable_uffd_env_falls_back_to_mprotect():
    code = """
    assert lib.glc_tracker_available(lib.GLC_TRACKER_UFFD) == 0
    assert lib.glc_tracker_resolve(lib.GLC_TRACKER_BEST) == lib.GLC_TRACKER_MPROTECT
    assert lib.glc_tracker_resolve(lib.GLC_TRACKER_UFFD) == lib.GLC_TRACKER_MPROTECT
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_UFFD, a, 8 * PAGE)
    assert lib.glc_tracker_kind_of(t) == lib.GLC_TRACKER_MPROTECT
    assert lib.glc_region_kind(r) == lib.GLC_TRACKER_MPROTECT
    poke(a + 3 * PAGE)
    assert pages(r) == [3]
    print("OK")
    """
    res = run_child(code, env={"GLCOHERENT_DISABLE_UFFD": "1"})
    assert res.returncode == 0, res.stderr
    assert "OK" in res.stdout


def test_region_create_rejects_bad_arguments():
    tp = ffi.new("glc_tracker **")
    assert lib.glc_tracker_create(tp, lib.GLC_TRACKER_COPY) == 0
    t = tp[0]
    rp = ffi.new("glc_region **")
    mem = Mem(2)
    try:
        base = ffi.cast("char *", mem.addr)
        assert lib.glc_region_create(t, base + 1, PAGE, rp) == -errno.EINVAL
        assert lib.glc_region_create(t, base, 0, rp) == -errno.EINVAL
        assert lib.glc_region_create(t, ffi.NULL, PAGE, rp) == -errno.EINVAL
        assert lib.glc_region_create(t, base, PAGE, ffi.NULL) == -errno.EINVAL
    finally:
        lib.glc_tracker_destroy(t)
        mem.close()


# ---------------------------------------------------------------- basic behaviour per backend


@pytest.mark.parametrize("memkind", ["anon", "memfd"])
@pytest.mark.parametrize("backend", ALL)
def test_starts_clean_and_single_write(track, backend, memkind):
    tr = track(backend, 16, memkind)
    assert tr.pages() == expected(backend, set(), 16)
    tr.mem.write(5 * PAGE + 100, b"x")
    assert tr.pages() == expected(backend, {5}, 16)
    tr.mem.write(0, b"y")
    assert tr.pages() == expected(backend, {0}, 16)


@pytest.mark.parametrize("memkind", ["anon", "memfd"])
@pytest.mark.parametrize("backend", ALL)
def test_nothing_written_reports_nothing(track, backend, memkind):
    mem = Mem(16, memkind)
    mem.write(0, os.urandom(mem.size))  # populated pages before tracking starts
    tr = Tracked(backend, mem)
    try:
        assert tr.pages() == expected(backend, set(), 16)
        assert tr.pages() == expected(backend, set(), 16)
    finally:
        tr.close()
        mem.close()


@pytest.mark.parametrize("backend", ALL)
def test_scattered_writes(track, backend):
    tr = track(backend, 64, "memfd")
    written = {1, 7, 8, 30, 63}
    for p in written:
        tr.mem.write(p * PAGE + 17, b"ab")
    got = tr.pages()
    if backend == "mprotect":
        assert written <= got  # the sequential window may add pages after 7 -> 8
        assert got <= {p + i for p in written for i in range(lib.glc_test_segv_max_window())}
    else:
        assert got == expected(backend, written, 64)


@pytest.mark.parametrize("backend", ALL)
def test_sequential_writes(track, backend):
    tr = track(backend, 200, "memfd")
    # page by page, in order: one big copy may not touch pages in order (glibc's memcpy
    # interleaves several page streams above its non-temporal threshold, which depends on the
    # machine's cache), and this test is about a writer that does
    for p in range(10, 160):
        tr.mem.write(p * PAGE, b"\x01" * PAGE)
    got = tr.pages()
    assert got >= set(range(10, 160))
    if backend == "uffd":
        assert got == set(range(10, 160))
    if backend == "mprotect":
        st = tr.stats()
        assert st.write_faults < 40, "the window should grow for a sequential writer"
        assert got <= set(range(10, 160 + lib.glc_test_segv_max_window()))


@pytest.mark.parametrize("backend", TRACKING)
def test_rearm_and_next_collect(track, backend):
    tr = track(backend, 16, "memfd")
    tr.mem.write(2 * PAGE, b"a")
    tr.mem.write(9 * PAGE, b"b")
    assert tr.pages() >= {2, 9}
    assert tr.pages() == set()
    assert tr.pages() == set()
    tr.mem.write(2 * PAGE + 1, b"c")  # same page again after re-arm
    tr.mem.write(15 * PAGE + PAGE - 1, b"d")
    assert tr.pages() == {2, 15}
    assert tr.pages() == set()


@pytest.mark.parametrize("backend", ALL)
def test_last_run_clipped_to_length(track, backend):
    tr = track(backend, 4, "anon", length=3 * PAGE + 10)
    tr.mem.write(3 * PAGE + 2, b"z")
    runs = tr.runs()
    if backend == "copy":
        assert runs == [(0, 3 * PAGE + 10)]
    else:
        assert runs == [(3 * PAGE, 10)]


@pytest.mark.parametrize("backend", ALL)
def test_stats_and_maybe_dirty(track, backend):
    tr = track(backend, 32, "memfd")
    st = tr.stats()
    assert st.pages_tracked == 32 and st.pages_dirty == 0 and st.degraded == 0
    if backend == "copy":
        assert tr.maybe_dirty() == 1
        assert len(tr.pages()) == 32
        assert tr.stats().pages_dirty == 32
        return
    if backend == "mprotect":
        assert tr.maybe_dirty() == 0
    tr.mem.write(3 * PAGE, b"q")
    assert tr.maybe_dirty() == 1
    assert tr.pages() == {3}
    st = tr.stats()
    assert st.pages_dirty == 1 and st.scans == 1
    if backend == "mprotect":
        assert st.write_faults == 1
        assert tr.maybe_dirty() == 0
        tr.pages()  # clean: no scan needed
        assert tr.stats().scans == 1


@pytest.mark.parametrize("backend", TRACKING)
def test_destroy_leaves_memory_writable(backend):
    mem = Mem(8, "memfd")
    tr = Tracked(backend, mem)
    tr.mem.write(PAGE, b"a")
    tr.close()
    mem.write(0, b"\x07" * mem.size)  # would crash if left read-only
    assert mem.buf[5 * PAGE] == b"\x07"
    mem.close()


# ---------------------------------------------------------------- uffd specifics


@needs_uffd
@pytest.mark.parametrize("memkind", ["anon", "memfd"])
def test_uffd_kernel_writes_are_tracked(track, memkind):
    tr = track("uffd", 16, memkind)
    r, w = os.pipe()
    try:
        os.write(w, b"k" * (2 * PAGE))
        n = _libc.read(r, ctypes.c_void_p(tr.mem.addr + 4 * PAGE + 8), 2 * PAGE)
        assert n == 2 * PAGE
        assert tr.pages() == {4, 5, 6}
        os.write(w, b"v" * 100)
        n = os.readv(r, [memoryview(tr.mem.buf)[11 * PAGE:11 * PAGE + 100]])
        assert n == 100
        assert tr.pages() == {11}
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("backend", backend_params("mprotect"))
def test_mprotect_kernel_writes_fail_with_efault(track, backend):
    """Documented limitation: a read(2) into a write-protected page fails instead of faulting."""
    tr = track(backend, 4, "anon")
    r, w = os.pipe()
    try:
        os.write(w, b"k" * 10)
        n = _libc.read(r, ctypes.c_void_p(tr.mem.addr + PAGE), 10)
        assert n == -1 and ctypes.get_errno() == errno.EFAULT
    finally:
        os.close(r)
        os.close(w)


@needs_uffd
def test_uffd_low_memfd_and_internal_view(track):
    tr = track("uffd", 64, "memfd", low=True)
    assert tr.mem.addr + tr.mem.size <= 1 << 32
    internal = tr.mem.second_view()
    internal[0:PAGE * 64] = b"\x33" * (PAGE * 64)  # copy-back through the internal view
    assert tr.pages() == set(), "writes through another mapping must not be reported"
    assert tr.mem.buf[100] == b"\x33"
    tr.mem.write(40 * PAGE, b"client")
    assert tr.pages() == {40}
    assert internal[40 * PAGE:40 * PAGE + 6] == b"client"


@needs_uffd
def test_uffd_same_range_twice_is_ebusy(track):
    tr = track("uffd", 8, "memfd")
    tp = ffi.new("glc_tracker **")
    assert lib.glc_tracker_create(tp, lib.GLC_TRACKER_UFFD) == 0
    rp = ffi.new("glc_region **")
    try:
        rc = lib.glc_region_create(tp[0], ffi.cast("void *", tr.mem.addr), PAGE, rp)
        assert rc == -errno.EBUSY
    finally:
        lib.glc_tracker_destroy(tp[0])


# ---------------------------------------------------------------- bench scenarios


@needs_uffd
def test_trackbench_scenarios_run():
    MiB = 1 << 20
    B = bench.lib
    cases = [(B.GLC_SCEN_RING, 4 * MiB, 4096, 1, 200), (B.GLC_SCEN_RING, 1 * MiB, 48, 1, 500),
             (B.GLC_SCEN_IDLE, 1 * MiB, 0, 0, 200), (B.GLC_SCEN_SPARSE, 8 * MiB, 0, 16, 5),
             (B.GLC_SCEN_BULK, 1 * MiB, 0, 0, 3), (B.GLC_SCEN_PERIODIC, 1 * MiB, 64, 4, 100)]
    for sc, size, opb, ops, cycles in cases:
        for kind, flags in [(B.GLC_TRACKER_UFFD, 0), (B.GLC_TRACKER_MPROTECT, 0),
                            (B.GLC_TRACKER_COPY, 0)]:
            res = bench.ffi.new("glc_trackbench_scen_result *")
            rc = B.glc_trackbench_scenario(kind, flags, sc, size, opb, ops, cycles, 2, res)
            assert rc == 0 and res.error == 0, (sc, kind, flags, rc)
            assert res.cycle_ns > 0 and res.native_ns > 0
            if sc == B.GLC_SCEN_IDLE and kind == B.GLC_TRACKER_MPROTECT:
                assert res.scans_per_cycle == 0 and res.bytes_copied_per_cycle == 0
            if sc == B.GLC_SCEN_RING and opb == 4096 and kind != B.GLC_TRACKER_COPY:
                assert res.bytes_copied_per_cycle <= 1.6 * 4096


# ---------------------------------------------------------------- concurrency


@pytest.mark.parametrize("backend", ALL)
def test_threads_write_while_collecting_no_lost_write(backend):
    """4 writer threads (C loops, GIL released) and a collector that, like a shadow flush,
    checks maybe_dirty and copies the dirty runs into a shadow: at the end the shadow equals
    the memory, i.e. no write was lost (this catches "protect, then clear the bits")."""
    npages = 64
    mem = Mem(npages, "memfd")
    tr = Tracked(backend, mem)
    shadow = ffi.new("char[]", mem.size)
    src = ffi.cast("char *", mem.addr)
    stop = threading.Event()
    seen = set()
    collects = [0]

    @ffi.callback("void(void *, size_t, size_t)")
    def copy_cb(user, off, length):
        ffi.memmove(shadow + off, src + off, length)
        seen.update(range(off // PAGE, (off + length + PAGE - 1) // PAGE))

    def collector():
        while not stop.is_set():
            if lib.glc_region_maybe_dirty(tr.r):
                assert lib.glc_region_collect(tr.r, copy_cb, ffi.NULL) >= 0
                collects[0] += 1

    def writer(tag):
        deadline = time.monotonic() + 0.7
        rnd = 0
        while time.monotonic() < deadline:
            rnd += 1
            lib.glc_test_random_writes(src, mem.size, tag * 100000 + rnd, 2000, tag)

    try:
        c = threading.Thread(target=collector)
        c.start()
        ws = [threading.Thread(target=writer, args=(i + 1,)) for i in range(4)]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        stop.set()
        c.join()
        assert lib.glc_region_collect(tr.r, copy_cb, ffi.NULL) >= 0
        assert collects[0] > 3
        assert seen == set(range(npages))
        assert ffi.buffer(shadow, mem.size)[:] == mem.buf[:], "a write was lost"
    finally:
        tr.close()
        mem.close()


@pytest.mark.parametrize("backend", backend_params("uffd", "mprotect"))
def test_threads_stream_writers_no_lost_write(backend):
    """Ring writers like the benchmarks' (one thread appends 48-byte records, one appends
    4 KiB blocks, one rewrites one small block in place, each in its own stripe) while a
    collector flushes as fast as it can (mprotect windows open and grow under concurrent
    writes); nothing may be lost."""
    npages = 512
    mem = Mem(npages, "memfd")
    tr = Tracked(backend, mem)
    shadow = ffi.new("char[]", mem.size)
    src = ffi.cast("char *", mem.addr)
    stop = threading.Event()
    stripe = mem.size // 4

    def collector():
        while not stop.is_set():
            if lib.glc_region_maybe_dirty(tr.r):
                assert lib.glc_test_collect_copy(tr.r, src, shadow) >= 0

    def writer(base, rec, length, count, tag):
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # C loops, GIL released
            lib.glc_test_ring_writes(src + base, length, rec, count, tag)

    small = (48, stripe, 3000)   # the `tiny` pattern
    big = (PAGE, stripe, 64)     # the `stream` pattern
    inplace = (8, 8, 1000)       # one block rewritten in place

    try:
        c = threading.Thread(target=collector)
        c.start()
        ws = [threading.Thread(target=writer, args=(k * stripe,) + f + (k + 1,))
              for k, f in enumerate((small, big, inplace))]
        for w in ws:
            w.start()
        for w in ws:
            w.join()
        stop.set()
        c.join()
        assert lib.glc_test_collect_copy(tr.r, src, shadow) >= 0
        assert ffi.buffer(shadow, mem.size)[:] == mem.buf[:], "a write was lost"
    finally:
        tr.close()
        mem.close()


@pytest.mark.parametrize("backend", ALL)
def test_collect_copy_helper_matches(backend):
    mem = Mem(8, "anon")
    tr = Tracked(backend, mem)
    shadow = ffi.new("char[]", mem.size)
    try:
        lib.glc_test_random_writes(ffi.cast("void *", mem.addr), mem.size, 7, 100, 9)
        assert lib.glc_test_collect_copy(tr.r, ffi.cast("void *", mem.addr), shadow) > 0
        assert ffi.buffer(shadow, mem.size)[:] == mem.buf[:]
    finally:
        tr.close()
        mem.close()


# ---------------------------------------------------------------- model-based (Hypothesis)

NP = 12
op = st.one_of(
    st.tuples(st.just("w"), st.integers(0, NP * PAGE - 1), st.integers(1, 3 * PAGE),
              st.integers(0, 255)),
    st.tuples(st.just("c")),
)


@pytest.mark.parametrize("backend", ALL)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, max_size=25))
def test_model_no_lost_or_invented_pages(backend, ops):
    mem = Mem(NP, "memfd")
    tr = Tracked(backend, mem)
    window = lib.glc_test_segv_max_window()
    try:
        written = set()
        for o in ops + [("c",)]:
            if o[0] == "w":
                _, off, ln, val = o
                ln = min(ln, NP * PAGE - off)
                mem.write(off, bytes([val]) * ln)
                written.update(range(off // PAGE, (off + ln - 1) // PAGE + 1))
                continue
            got = tr.pages()
            assert written <= got, f"lost pages {sorted(written - got)}"
            if backend == "uffd":
                assert got == written, f"invented pages {sorted(got - written)}"
            elif backend == "mprotect":
                # Only the sequential window may over-report: pages just after a written one.
                for p in got - written:
                    assert any(0 < p - q < window for q in written), (p, sorted(written))
            else:
                assert got == set(range(NP))
            written = set()
    finally:
        tr.close()
        mem.close()


# ---------------------------------------------------------------- mapping-count degradation


def test_mprotect_degrades_near_map_count_limit(track):
    with open("/proc/self/maps") as f:
        count = sum(1 for _ in f)
    lib.glc_test_set_max_map_count(int((count + 150) * 5 / 4) + 5)
    try:
        tr = track("mprotect", 600, "anon")
        for p in range(0, 600, 2):  # 300 isolated pages: ~600 extra mappings
            tr.mem.write(p * PAGE, b"x")
        got = tr.pages()
        st = tr.stats()
        assert st.degraded == 1
        assert got == set(range(600))
        faults = st.write_faults
        tr.mem.write(7 * PAGE, b"y")
        assert tr.maybe_dirty() == 1
        assert tr.pages() == set(range(600))
        assert tr.stats().write_faults == faults, "degraded: no more faults"
    finally:
        lib.glc_test_set_max_map_count(0)


# ---------------------------------------------------------------- SIGSEGV handler chaining


def test_mprotect_works_with_faulthandler_enabled(track):
    import faulthandler

    assert faulthandler.is_enabled()  # pytest enables it
    tr = track("mprotect", 8, "anon")
    tr.mem.write(PAGE * 6, b"f")
    assert tr.pages() == {6}
    assert lib.glc_test_segv_installed() == 1


def test_untracked_fault_reaches_faulthandler():
    code = """
    import faulthandler
    faulthandler.enable()
    a = anon(4)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 4 * PAGE)
    poke(a + PAGE)
    assert pages(r) == [1]
    ro = anon(1, prot=1)
    print("BEFORE", flush=True)
    poke(ro)  # SEGV_ACCERR outside any tracked range
    print("NOT REACHED", flush=True)
    """
    res = run_child(code)
    assert res.returncode == -11, (res.returncode, res.stderr)
    assert "BEFORE" in res.stdout and "NOT REACHED" not in res.stdout
    assert "Segmentation fault" in res.stderr  # faulthandler's traceback


@pytest.mark.parametrize("disposition", ["default", "ignore"])
def test_untracked_fault_with_default_disposition_kills(disposition):
    code = f"""
    import signal
    if {disposition!r} == "ignore":
        signal.signal(signal.SIGSEGV, signal.SIG_IGN)
    a = anon(4)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 4 * PAGE)
    poke(a)
    assert pages(r) == [0]
    print("BEFORE", flush=True)
    ctypes.string_at(0x10, 1)  # SEGV_MAPERR
    """
    res = run_child(code, timeout=30)
    assert res.returncode == -11, (res.returncode, res.stderr)
    assert "BEFORE" in res.stdout


def test_foreign_handler_installed_before_ours():
    code = """
    foreign = anon(1, prot=1)
    assert lib.glc_test_install_foreign_segv_handler(ffi.cast("void *", foreign), PAGE) == 0
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 8 * PAGE)
    poke(a + 2 * PAGE)
    assert lib.glc_test_foreign_segv_calls() == 0  # ours handled it
    poke(foreign)  # not tracked: reaches the foreign handler, which resolves it
    assert lib.glc_test_foreign_segv_own() == 1
    assert pages(r) == [2]
    print("OK", flush=True)
    ro = anon(1, prot=1)
    poke(ro)  # neither ours nor foreign: default action
    """
    res = run_child(code, timeout=30)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11


def test_foreign_handler_displacing_ours_is_fixed_at_collect():
    code = """
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 8 * PAGE)
    assert lib.glc_test_segv_installed() == 1
    foreign = anon(1, prot=1)
    # Installed after ours: it chains to ours like a well-behaved host (Wine) would.
    assert lib.glc_test_install_foreign_segv_handler(ffi.cast("void *", foreign), PAGE) == 0
    assert lib.glc_test_segv_installed() == 0
    poke(a + 3 * PAGE)  # through the foreign handler, then ours
    assert lib.glc_test_foreign_segv_calls() == 1
    assert pages(r) == [3]  # not lost; collect also puts ours back on top
    assert lib.glc_test_segv_installed() == 1
    assert lib.glc_test_segv_reinstalls() == 1
    calls = lib.glc_test_foreign_segv_calls()
    poke(a + 5 * PAGE)
    assert lib.glc_test_foreign_segv_calls() == calls  # ours first now
    assert pages(r) == [5]
    poke(foreign)  # ours -> foreign (resolves it); no loop back through ours
    assert lib.glc_test_foreign_segv_own() == 1
    assert lib.glc_test_segv_ensure_installed() == 0
    print("OK", flush=True)
    ro = anon(1, prot=1)
    poke(ro)  # ours -> foreign -> ours (depth 1) -> default: dies, does not loop
    """
    res = run_child(code, timeout=30)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11, (res.returncode, res.stderr)


def test_faulthandler_reenabled_over_ours_is_fixed_at_collect():
    # The raw faulthandler.enable (glcoherent's wrapper would re-assert ours at once): a
    # displacement glcoherent does not hear about, caught at the next collect.
    code = """
    import faulthandler
    faulthandler.enable()
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 8 * PAGE)
    faulthandler.disable()  # restores what it displaced: SIG_DFL, over ours
    raw_enable = getattr(faulthandler.enable, "__wrapped__", faulthandler.enable)
    raw_enable()  # faulthandler on top again, chained to SIG_DFL
    assert lib.glc_test_segv_installed() == 0
    assert pages(r) == []   # collect notices and puts ours back on top
    assert lib.glc_test_segv_installed() == 1
    poke(a + 7 * PAGE)
    assert pages(r) == [7]
    print("OK", flush=True)
    ro = anon(1, prot=1)
    poke(ro)  # ours -> faulthandler (traceback) -> default
    """
    res = run_child(code, timeout=30)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11
    assert "Segmentation fault" in res.stderr


def test_faulthandler_enabled_after_ours_no_loop():
    """faulthandler installed over ours chains back by restoring its previous handler (ours)
    and raising: the re-entry must go on down the chain, not loop."""
    code = """
    import faulthandler
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 8 * PAGE)
    getattr(faulthandler.enable, "__wrapped__", faulthandler.enable)()
    assert pages(r) == []  # ours back on top, chained to faulthandler, then SIG_DFL
    assert lib.glc_test_segv_installed() == 1
    poke(a + 4 * PAGE)
    assert pages(r) == [4]
    print("OK", flush=True)
    ctypes.string_at(0x10, 1)
    """
    res = run_child(code, timeout=30)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11
    assert res.stderr.count("Fatal Python error: Segmentation fault") == 1


@pytest.mark.parametrize("order", ["before", "after"])
def test_handler_that_longjmps_keeps_working(order):
    """A chained handler that escapes with siglongjmp never returns to ours: the next faults
    must still reach it (no stale nesting state), and tracking must keep working."""
    code = f"""
    a = anon(8)
    probe = anon(1, prot=1)
    if {order!r} == "before":
        assert lib.glc_test_install_jmp_probe_handler() == 0
    t, r = tracked(lib.GLC_TRACKER_MPROTECT, a, 8 * PAGE)
    if {order!r} == "after":
        assert lib.glc_test_install_jmp_probe_handler() == 0
        assert pages(r) == []  # collect puts ours back on top of the prober
    assert lib.glc_test_segv_installed() == 1
    for i in range(0, 8, 2):  # not sequential: no window
        assert lib.glc_test_jmp_probe(ffi.cast("void *", probe)) == 1
        poke(a + i * PAGE)
        assert pages(r) == [i]
    assert lib.glc_test_jmp_probe(ffi.cast("void *", a)) == 0  # writable: no fault
    print("OK", flush=True)
    ctypes.string_at(0x10, 1)  # unarmed prober -> default action
    """
    res = run_child(code, timeout=30)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11


# ---------------------------------------------------------------- one SIGSEGV registry per process

PKG = os.path.join(ROOT, "glcoherent")
LIBGLC = os.path.join(PKG, "libglcoherent.so")
PRELOAD = os.path.join(PKG, "libglcoherent_preload.so")

REGISTRY_PRELUDE = """
class DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]

def object_of(ptr):
    info = DlInfo()
    assert libc.dladdr(ctypes.c_void_p(int(ffi.cast("uintptr_t", ptr))), ctypes.byref(info))
    return os.path.basename(info.fname.decode())

def our_registry():
    return int(ffi.cast("uintptr_t", lib.glc_test_segv_registry()))

def registry_of(cdll):
    f = cdll.glcoherent_segv_registry_v1
    f.restype = ctypes.c_void_p
    return f()

def check_tracking():
    for kind in [lib.GLC_TRACKER_MPROTECT] + [
            lib.GLC_TRACKER_UFFD for _ in [0] if lib.glc_tracker_available(lib.GLC_TRACKER_UFFD)]:
        a = anon(32)
        tp = ffi.new("glc_tracker **")
        assert lib.glc_tracker_create(tp, kind) == 0
        rp = ffi.new("glc_region **")
        assert lib.glc_region_create(tp[0], ffi.cast("void *", a), 32 * PAGE, rp) == 0
        poke(a + 5 * PAGE)
        poke(a + 9 * PAGE)
        assert pages(rp[0]) == [5, 9], kind
        lib.glc_region_destroy(rp[0])
        lib.glc_tracker_destroy(tp[0])
"""


def run_registry_child(code, env=None):
    return run_child(REGISTRY_PRELUDE + textwrap.dedent(code), env=env, timeout=60)


@pytest.mark.skipif(not os.path.exists(LIBGLC), reason="libglcoherent.so not built")
def test_segv_registry_delegates_to_global_copy():
    """libglcoherent.so loaded RTLD_GLOBAL before the cffi module's first use: the module
    finds its registry through dlsym(RTLD_DEFAULT) and uses it; that copy's handler is the
    only one installed."""
    code = f"""
    L = ctypes.CDLL({LIBGLC!r}, mode=ctypes.RTLD_GLOBAL)
    check_tracking()
    assert lib.glc_test_segv_serves_itself() == 0
    assert object_of(lib.glc_test_segv_handler()) == "libglcoherent.so"
    assert lib.glc_test_segv_installed() == 1   # i.e. that copy's handler is on top
    assert registry_of(L) == our_registry()
    print("OK", flush=True)
    ro = anon(1, prot=1)
    poke(ro)  # not tracked: the default action, through the one handler
    """
    res = run_registry_child(code)
    assert "OK" in res.stdout, res.stderr
    assert res.returncode == -11


@pytest.mark.skipif(not os.path.exists(LIBGLC), reason="libglcoherent.so not built")
@pytest.mark.parametrize("mode", ["local", "global"])
def test_segv_registry_later_copy_finds_serving_one(mode):
    """The cffi module serves first (it is RTLD_LOCAL: invisible to dlsym); a copy loaded
    later finds it through the installed handler and delegates to it."""
    code = f"""
    check_tracking()
    assert lib.glc_test_segv_serves_itself() == 1
    mode = ctypes.RTLD_GLOBAL if {mode!r} == "global" else ctypes.RTLD_LOCAL
    L = ctypes.CDLL({LIBGLC!r}, mode=mode)
    assert registry_of(L) == our_registry()
    check_tracking()
    assert lib.glc_test_segv_installed() == 1
    print("OK", flush=True)
    """
    res = run_registry_child(code)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr


def test_segv_registry_delegates_to_preloaded_library():
    # Not in the ASan pass of tools/test.sh: the interposer's dlsym and ASan's runtime do not
    # preload together.
    code = """
    check_tracking()
    assert lib.glc_test_segv_serves_itself() == 0
    assert object_of(lib.glc_test_segv_handler()) == "libglcoherent_preload.so"
    assert lib.glc_test_segv_installed() == 1
    print("OK", flush=True)
    """
    res = run_registry_child(code, env={"LD_PRELOAD": PRELOAD})
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr


HELPER_C = r"""
#include <stdint.h>
#include <sys/mman.h>
#include "track/sigsegv.h"
#include "track/tracker.h"
#define EXPORT __attribute__((visibility("default")))
static void count(void *u, size_t off, size_t len) { (void)off; *(size_t *)u += len; }
/* A second copy of the trackers: track 16 pages, write two, collect. Returns the bytes
 * reported (2 pages expected) or -errno. */
EXPORT long helper_track(int kind)
{
    long page = 4096;
    unsigned char *m = mmap(0, 16 * page, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    glc_tracker *t; glc_region *r;
    int rc = glc_tracker_create(&t, (glc_tracker_kind)kind);
    if (rc) return rc;
    rc = glc_region_create(t, m, 16 * page, &r);
    if (rc) { glc_tracker_destroy(t); return rc; }
    m[3 * page] = 1;
    m[9 * page] = 1;
    size_t bytes = 0;
    long n = glc_region_collect(r, count, &bytes);
    glc_region_destroy(r);
    glc_tracker_destroy(t);
    munmap(m, 16 * page);
    return n < 0 ? n : (long)bytes;
}
EXPORT int helper_serves_itself(void) { return glc_segv_serves_itself(); }
EXPORT const void *helper_registry(void) { return glc_segv_registry(); }
"""


@pytest.fixture(scope="module")
def helper_so(tmp_path_factory):
    """Another binary with its own copy of sigsegv.c and the trackers (like a host program
    that links the core statically)."""
    import shutil
    if not shutil.which("gcc"):
        pytest.skip("gcc not available")
    d = tmp_path_factory.mktemp("segv_helper")
    (d / "helper.c").write_text(HELPER_C)
    native = os.path.join(ROOT, "glcoherent", "native")
    srcs = sorted(glob.glob(os.path.join(native, "track", "*.c")) +
                  glob.glob(os.path.join(native, "base", "*.c")))
    out = d / "libhelper.so"
    subprocess.run(["gcc", "-std=c11", "-D_GNU_SOURCE", "-O1", "-fPIC", "-shared",
                    "-fvisibility=hidden", "-I", native, str(d / "helper.c"), *srcs,
                    "-o", str(out), "-ldl", "-lpthread"], check=True)
    return str(out)


@pytest.mark.parametrize("order", ["helper-first-global", "module-first", "displaced"])
def test_segv_registry_two_copies_both_track(helper_so, order):
    """Two copies of the trackers in one process, both tracking: one serves, the other
    delegates, one handler. If our handler was displaced before the second copy looked
    (faulthandler), it cannot find the first and serves itself: two handlers chained, and
    both still track."""
    code = f"""
    order = {order!r}
    mode = ctypes.RTLD_GLOBAL if order == "helper-first-global" else ctypes.RTLD_LOCAL
    if order == "helper-first-global":
        H = ctypes.CDLL({helper_so!r}, mode=mode)
        H.helper_registry.restype = ctypes.c_void_p
        assert H.helper_track(lib.GLC_TRACKER_MPROTECT) == 2 * PAGE
    check_tracking()
    if order == "displaced":
        import faulthandler
        getattr(faulthandler.enable, "__wrapped__", faulthandler.enable)()  # on top of ours
    if order != "helper-first-global":
        H = ctypes.CDLL({helper_so!r}, mode=mode)
        H.helper_registry.restype = ctypes.c_void_p
    uffd = lib.glc_tracker_available(lib.GLC_TRACKER_UFFD)
    for _ in range(2):
        assert H.helper_track(lib.GLC_TRACKER_MPROTECT) == 2 * PAGE
        if uffd:
            assert H.helper_track(lib.GLC_TRACKER_UFFD) == 2 * PAGE
        check_tracking()
    ours, theirs = lib.glc_test_segv_serves_itself(), H.helper_serves_itself()
    if order == "displaced":
        assert ours == 1 and theirs == 1
    else:
        assert ours + theirs == 1, (ours, theirs)
        assert H.helper_registry() == our_registry()
        server = "libhelper.so" if theirs else object_of(lib.glc_test_segv_handler())
        assert object_of(lib.glc_test_segv_handler()) == server
    print("OK", flush=True)
    """
    res = run_registry_child(code)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr


@pytest.mark.parametrize("backend", backend_params("uffd", "mprotect"))
def test_forked_child_does_not_steal_parent_pages(backend):
    """After fork the child reports whole ranges (uffd) or keeps tracking (mprotect); the
    parent's next collect still sees its writes."""
    code = f"""
    a = anon(8)
    t, r = tracked(lib.GLC_TRACKER_{backend.upper()}, a, 8 * PAGE)
    poke(a + 2 * PAGE)
    pid = os.fork()
    if pid == 0:
        got = pages(r)
        os._exit(0 if 2 in got else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert 2 in pages(r)
    print("OK", flush=True)
    """
    res = run_child(code, timeout=30)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr


# ---------------------------------------------------------------- benchmark entry point


@pytest.mark.parametrize("backend", ALL)
def test_trackbench_runs(backend):
    res = bench.ffi.new("glc_trackbench_result *")
    rc = bench.lib.glc_trackbench_run(KINDS[backend], 256, bench.lib.GLC_TRACKBENCH_MEMFD, 3, res)
    assert rc == 0 and res.error == 0
    assert res.kind == KINDS[backend]
    assert res.pages_reported == 3 * 256
    assert res.write_ns_per_page > 0 and res.memcpy_bytes_per_s > 0
    assert res.scan_dirty_ns_per_mib >= 0 and res.scan_clean_ns_per_mib >= 0
