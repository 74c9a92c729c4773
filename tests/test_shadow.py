"""Shadows: two views, flush of client writes, copy-back, byte-exact merge, every backend.

The Hypothesis machine plays CPU and "GPU" (a plain array standing in for the driver mapping)
against a reference model: no byte may be lost and none invented.
"""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from glcoherent import Arena, Shadow, tracker_available
from glcoherent.core import PAGE_SIZE

BACKENDS = [b for b in ("uffd", "mprotect", "copy", "auto") if tracker_available(b)]


@pytest.fixture(scope="module")
def arena():
    a = Arena()
    yield a
    a.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_views_alias_and_lie_low(arena, backend):
    with Shadow(arena, 3 * PAGE_SIZE + 100, backend, lead=64) as s:
        assert s.address < arena.high and s.end <= arena.high
        assert s.address % PAGE_SIZE == 64
        c, i = s.client(), s.internal()
        c[10] = 7
        assert i[10] == 7
        i[20] = 9
        assert c[20] == 9


@pytest.mark.parametrize("backend", BACKENDS)
def test_flush_sends_client_writes_not_internal_ones(arena, backend):
    n = 16 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        dst = np.zeros(n, np.uint8)
        s.internal()[:] = 3  # the library's own writes: not client writes
        s.flush(dst)
        dst[:] = 3
        c = s.client()
        c[5 * PAGE_SIZE + 1] = 42
        c[9 * PAGE_SIZE:9 * PAGE_SIZE + 10] = 43
        sent = s.flush(dst)
        assert dst[5 * PAGE_SIZE + 1] == 42
        assert (dst[9 * PAGE_SIZE:9 * PAGE_SIZE + 10] == 43).all()
        assert (dst == c).all()
        if backend in ("uffd", "mprotect"):
            assert sent == 2 * PAGE_SIZE  # exactly the two dirty pages
        assert s.flush(dst) in (0, n)  # nothing new (copy sends everything again)


@pytest.mark.parametrize("backend", BACKENDS)
def test_clean_check(arena, backend):
    with Shadow(arena, 4 * PAGE_SIZE, backend) as s:
        dst = np.zeros(4 * PAGE_SIZE, np.uint8)
        s.flush(dst)
        if backend == "mprotect":
            assert not s.maybe_dirty()
        s.client()[1] = 1
        assert s.maybe_dirty()


@pytest.mark.parametrize("backend", BACKENDS)
def test_merge_keeps_cpu_and_gpu_bytes_of_one_page(arena, backend):
    n = 2 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        gpu = np.zeros(n, np.uint8)
        s.flush(gpu)
        s.enable_merge(gpu)
        assert s.merging
        c = s.client()
        c[0:16] = 0x11                # CPU writes 16 bytes
        gpu[100:116] = 0x22           # "GPU" writes 16 other bytes of the same page
        s.flush(gpu)                  # only CPU-changed bytes go down
        assert (gpu[0:16] == 0x11).all() and (gpu[100:116] == 0x22).all()
        c[200:204] = 0x33             # a later CPU write, not flushed yet
        s.copy_back(gpu)              # only GPU-changed bytes come up
        assert (c[100:116] == 0x22).all()
        assert (c[200:204] == 0x33).all(), "copy-back overwrote a pending client write"
        s.flush(gpu)
        assert (gpu[200:204] == 0x33).all()
        assert (gpu == c).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_copy_back_without_merge_is_a_plain_copy(arena, backend):
    n = 3 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        src = np.arange(n, dtype=np.uint32).astype(np.uint8)
        assert s.copy_back(src) == n
        assert (s.client() == src).all()
        dst = np.zeros(n, np.uint8)
        # copy-back goes through the internal view: it is not a client write
        if backend in ("uffd", "mprotect"):
            assert s.flush(dst) == 0


def test_kernel_writes_are_tracked_by_uffd(arena):
    if not tracker_available("uffd"):
        pytest.skip("userfaultfd write-protect is not available on this kernel")
    n = 8 * PAGE_SIZE
    with Shadow(arena, n, "uffd") as s:
        dst = np.zeros(n, np.uint8)
        s.flush(dst)
        r, w = os.pipe()
        os.write(w, b"K" * 100)
        os.close(w)
        view = memoryview(s.client())[3 * PAGE_SIZE + 7:3 * PAGE_SIZE + 107]
        assert os.readv(r, [view]) == 100  # the kernel writes into the shadow
        os.close(r)
        assert s.flush(dst) == PAGE_SIZE
        assert bytes(dst[3 * PAGE_SIZE + 7:3 * PAGE_SIZE + 107]) == b"K" * 100


@pytest.mark.parametrize("backend", BACKENDS)
def test_threads_write_while_flushing(arena, backend):
    n = 64 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        dst = np.zeros(n, np.uint8)
        s.flush(dst)
        c = s.client()
        stop = threading.Event()

        def writer(k):
            rng = np.random.default_rng(k)
            value = 1
            while not stop.is_set():
                for off in rng.integers(0, n // 4, 64):
                    c[off * 4 + k] = value  # each thread owns one byte lane
                value = value % 250 + 1

        ts = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in ts:
            t.start()
        for _ in range(200):
            s.flush(dst)
        stop.set()
        for t in ts:
            t.join()
        s.flush(dst)
        assert (dst == c).all(), "a write made during a flush was lost"


@pytest.mark.parametrize("backend", BACKENDS)
def test_adaptive_or_fixed_policy_reports_its_tracker(arena, backend):
    n = 8 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        dst = np.zeros(n, np.uint8)
        for k in range(8):
            s.client()[:] = k  # rewritten whole every time
            s.flush(dst)
            assert (dst == k).all()
        st_ = s.stats()
        if backend == "auto":
            assert st_.mode_switches >= 1 and st_.tracker_name == "copy"
        else:
            assert st_.tracker_name == backend
        assert st_.bytes_flushed >= 8 * n


class ShadowModel(RuleBasedStateMachine):
    """CPU writes the client view, the "GPU" writes the destination array; flush and copy-back
    must move exactly the bytes each side changed (disjoint between exchanges, as GL requires
    of well-defined programs)."""

    backend = "auto"

    @initialize(npages=st.integers(1, 6), lead=st.sampled_from([0, 64, 4000]))
    def setup(self, npages, lead):
        self.n = npages * PAGE_SIZE - lead
        self.arena = Arena()
        self.s = Shadow(self.arena, self.n, self.backend, lead=lead)
        self.gpu = np.zeros(self.n, np.uint8)
        self.s.flush(self.gpu)
        self.cpu_exp = np.zeros(self.n, np.uint8)
        self.gpu_exp = np.zeros(self.n, np.uint8)
        self.cpu_dirty = np.zeros(self.n, bool)
        self.gpu_dirty = np.zeros(self.n, bool)

    def teardown(self):
        if hasattr(self, "s"):
            self.s.close()
            self.arena.close()

    def _range(self, data):
        off = data.draw(st.integers(0, self.n - 1))
        length = data.draw(st.integers(1, min(300, self.n - off)))
        return off, length

    @rule(data=st.data(), value=st.integers(0, 255))
    def cpu_write(self, data, value):
        off, length = self._range(data)
        sl = slice(off, off + length)
        if self.gpu_dirty[sl].any():
            return  # racing with an unsynchronised GPU write: undefined in GL
        self.s.client()[sl] = value
        self.cpu_exp[sl] = value
        self.cpu_dirty[sl] = True

    @rule(data=st.data(), value=st.integers(0, 255))
    def gpu_write(self, data, value):
        off, length = self._range(data)
        sl = slice(off, off + length)
        if self.cpu_dirty[sl].any():
            return
        # The GL layer makes the shadow byte exact before the first GPU write.
        if not self.s.merging:
            self.s.enable_merge(self.gpu)
            self.gpu_exp[self.cpu_dirty] = self.cpu_exp[self.cpu_dirty]
            self.cpu_dirty[:] = False
        self.gpu[sl] = value
        self.gpu_exp[sl] = value
        self.gpu_dirty[sl] = True

    @rule()
    def flush(self):
        self.s.flush(self.gpu)
        self.gpu_exp[self.cpu_dirty] = self.cpu_exp[self.cpu_dirty]
        self.cpu_dirty[:] = False
        np.testing.assert_array_equal(self.gpu, self.gpu_exp)

    @rule(data=st.data())
    def flush_range(self, data):
        """What one draw reads: the range must arrive; outside it only bytes the CPU wrote may
        move (whole dirty pages), never a GPU byte."""
        off, length = self._range(data)
        self.s.flush_range(self.gpu, off, length)
        sl = slice(off, off + length)
        np.testing.assert_array_equal(self.gpu[sl], np.where(self.cpu_dirty[sl],
                                                             self.cpu_exp[sl], self.gpu_exp[sl]))
        self.gpu_exp[sl] = self.gpu[sl]
        self.cpu_dirty[sl] = False
        moved = self.gpu != self.gpu_exp
        assert (self.cpu_dirty[moved] & (self.gpu[moved] == self.cpu_exp[moved])).all(), \
            "a range flush changed bytes the CPU did not write"
        self.gpu_exp[moved] = self.gpu[moved]

    @precondition(lambda self: self.s.merging)
    @rule()
    def copy_back(self):
        self.s.copy_back(self.gpu)
        self.cpu_exp[self.gpu_dirty] = self.gpu_exp[self.gpu_dirty]
        self.gpu_dirty[:] = False
        np.testing.assert_array_equal(self.s.client(), self.cpu_exp)

    @invariant()
    def client_view_is_what_the_cpu_expects_outside_gpu_writes(self):
        if hasattr(self, "s"):
            view = self.s.client()
            keep = ~self.gpu_dirty
            np.testing.assert_array_equal(view[keep], self.cpu_exp[keep])


def _machine_for(backend):
    cls = type(f"ShadowModel_{backend}", (ShadowModel,), {"backend": backend})
    cls.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])
    return cls.TestCase


for _b in BACKENDS:
    globals()[f"TestShadowModel_{_b}"] = _machine_for(_b)


# ---------------------------------------------------------------- AUTO: kernel writes

needs_uffd = pytest.mark.skipif(not tracker_available("uffd"),
                                reason="userfaultfd write-protect is not available")


@pytest.mark.parametrize("size", [PAGE_SIZE, 64 * PAGE_SIZE, 1024 * PAGE_SIZE])
def test_auto_kernel_writes_work(arena, size):
    """The default never makes shadow pages read-only: the kernel writes into a clean page of
    it (readv, as read(2) into a mapping does) without EFAULT, and the next flush sends the
    bytes."""
    r, w = os.pipe()
    try:
        os.write(w, b"K" * 100)
        with Shadow(arena, size, "auto") as s:
            dst = np.zeros(size, np.uint8)
            s.flush(dst)
            at = size // 2 + 3 if size > PAGE_SIZE else 3
            view = memoryview(s.client())[at:at + 100]
            assert os.readv(r, [view]) == 100
            assert s.flush(dst) >= 100
            assert bytes(dst[at:at + 100]) == b"K" * 100
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("merge", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_flush_range_sends_what_was_asked_and_keeps_the_rest(arena, backend, merge):
    """A range flush (what one draw reads) sends the client's writes there; writes elsewhere
    are not lost: the next whole flush sends them. Byte exact in merge mode."""
    n = 64 * PAGE_SIZE
    with Shadow(arena, n, backend) as s:
        dst = np.zeros(n, np.uint8)
        s.flush(dst)
        if merge:
            s.enable_merge(dst)
        c = s.client()
        c[10 * PAGE_SIZE + 5:10 * PAGE_SIZE + 53] = 7      # inside the range below
        c[40 * PAGE_SIZE + 100] = 9                          # elsewhere
        got = s.flush_range(dst, 10 * PAGE_SIZE, 64)
        assert got >= 48
        assert (dst[10 * PAGE_SIZE + 5:10 * PAGE_SIZE + 53] == 7).all()
        assert dst[40 * PAGE_SIZE + 100] == 0, "a range flush sent bytes outside its range"
        # A large range: looked up among dirty pages (or copied), never a byte lost.
        c[20 * PAGE_SIZE:22 * PAGE_SIZE] = 3
        s.flush_range(dst, 16 * PAGE_SIZE, 16 * PAGE_SIZE)
        assert (dst[20 * PAGE_SIZE:22 * PAGE_SIZE] == 3).all()
        s.flush(dst)
        assert (dst == c).all(), "a write outside the flushed ranges was lost"
        if merge:  # bytes the "GPU" wrote next to client bytes survive a range flush
            dst[10 * PAGE_SIZE + 60] = 42
            c[10 * PAGE_SIZE + 61] = 43
            s.flush_range(dst, 10 * PAGE_SIZE, 128)
            assert dst[10 * PAGE_SIZE + 60] == 42 and dst[10 * PAGE_SIZE + 61] == 43


@needs_uffd
def test_auto_stream_and_tiny_writers(arena):
    """The benchmark shapes through a shadow: 4 KiB appends and 48-byte appends, a flush
    after each; every byte arrives, few signals, little write amplification for 4 KiB."""
    n = 512 * PAGE_SIZE
    with Shadow(arena, n, "auto") as s:
        dst = np.zeros(n, np.uint8)
        c = s.client()
        sent = 0
        for i in range(300):
            c[i * PAGE_SIZE:(i + 1) * PAGE_SIZE] = i % 251 + 1
            sent += s.flush(dst)
        assert (dst == c).all()
        assert sent <= 1.1 * 300 * PAGE_SIZE
        assert s.stats().write_faults <= 8
        for i in range(2000):
            off = 300 * PAGE_SIZE + i * 48
            c[off:off + 48] = i % 250 + 1
            s.flush(dst)
        assert (dst == c).all()
        assert s.stats().write_faults <= 8 + 2 * 30


@needs_uffd
def test_small_auto_shadow_goes_to_whole_copy_when_scanned_whole(arena):
    """A small shadow written at scattered places before every flush: signals would cost more
    than scanning, scanning more than copying it whole: it ends up in whole-copy mode."""
    n = 4 * PAGE_SIZE
    with Shadow(arena, n, "auto") as s:
        dst = np.zeros(n, np.uint8)
        c = s.client()
        for k in range(40):
            c[(k * 3 % 4) * PAGE_SIZE + k] = k + 1
            s.flush(dst)
            assert (dst == c).all()
        st_ = s.stats()
        assert st_.tracker_name == "copy" and st_.mode_switches >= 1


@needs_uffd
def test_auto_threads_write_while_flushing(arena):
    """Like test_threads_write_while_flushing, on a large auto shadow, with ring writers (one
    48-byte, one 4 KiB) next to the random ones."""
    n = 1024 * PAGE_SIZE
    with Shadow(arena, n, "auto") as s:
        dst = np.zeros(n, np.uint8)
        s.flush(dst)
        c = s.client()
        stop = threading.Event()

        def ring(k, rec):
            base, off, v = k * (n // 4), 0, 1
            while not stop.is_set():
                if off + rec > n // 4:
                    off = 0
                c[base + off:base + off + rec] = v
                off += rec
                v = v % 250 + 1

        def scattered(k):
            rng = np.random.default_rng(k)
            while not stop.is_set():
                for off in rng.integers(0, n // 8, 16):
                    c[n // 2 + off * 4 + k] = rng.integers(1, 255)

        ts = [threading.Thread(target=ring, args=(0, 48)),
              threading.Thread(target=ring, args=(1, PAGE_SIZE)),
              threading.Thread(target=scattered, args=(2,))]
        for t in ts:
            t.start()
        for _ in range(300):
            s.flush(dst)
        stop.set()
        for t in ts:
            t.join()
        s.flush(dst)
        assert (dst == c).all(), "a write made during a flush was lost"


@pytest.mark.parametrize("impl", ["glc_diff_apply_to", "glc_diff_apply_to_scalar"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_diff_apply_to_stores_exactly_the_changed_bytes(impl, data):
    """The copy-back and merge-flush diff: every byte that differs goes to ref and dst, no other
    byte of dst is stored (it may hold a client write not yet flushed). Inputs mix equal runs,
    whole changed words and words with some bytes equal (RGBA pixels with a fixed alpha). Both
    implementations: the dispatching one (AVX-512BW where the CPU has it) and the scalar one."""
    from glcoherent._native import ffi, lib

    n = data.draw(st.integers(0, 700))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    ref = rng.integers(0, 256, n, dtype=np.uint8)
    new = ref.copy()
    kind = rng.integers(0, 3, n)
    flip = rng.integers(1, 256, n, dtype=np.uint8)
    new[kind == 1] ^= flip[kind == 1]
    new[(kind == 2) & (np.arange(n) % 4 != 3)] ^= 0x5A  # pixels: alpha bytes stay
    dst = rng.integers(0, 256, n, dtype=np.uint8)
    want_dst = np.where(ref != new, new, dst)
    want_changed = int((ref != new).sum())
    got = getattr(lib, impl)(ffi.from_buffer(ref), ffi.from_buffer(new), n,
                             ffi.from_buffer(dst))
    assert got == want_changed
    assert (ref == new).all()
    assert (dst == want_dst).all()


@pytest.mark.parametrize("write", ["client", "zeros", "kernel", "load", "copy_back"])
def test_whole_copy_skips_only_pages_nothing_wrote(arena, write):
    """A big copy-mode shadow's whole copy leaves the memfd's holes alone (core/shadow.c
    send_written) and sends every page something wrote, zeros included."""
    size = 4 << 20
    with Shadow(arena, size, tracker="copy") as sh:
        dst = np.full(size, 0xAA, dtype=np.uint8)
        page = 5 * PAGE_SIZE + 100
        if write == "client":
            sh.client()[page : page + 10] = 7
        elif write == "zeros":
            sh.client()[page : page + 10] = 0  # a write of zeros allocates the page too
        elif write == "kernel":
            r, w = os.pipe()
            os.write(w, b"\x07" * 10)
            os.close(w)
            assert os.readv(r, [memoryview(sh.client())[page : page + 10]]) == 10
            os.close(r)
        elif write == "load":
            sh.load(b"\x07" * 10, page)
        else:
            sh.copy_back(np.full(size, 7, dtype=np.uint8), page, 10)
        sent = sh.flush(dst)
        first = page - page % PAGE_SIZE
        assert sent == PAGE_SIZE  # one page: the rest was never written
        want = np.full(size, 0xAA, dtype=np.uint8)
        want[first : first + PAGE_SIZE] = sh.internal()[first : first + PAGE_SIZE]
        assert np.array_equal(dst, want)
        assert (dst[page : page + 10] == (0 if write == "zeros" else 7)).all()


def test_whole_copy_sends_everything_when_descriptors_are_scarce(arena):
    """With the descriptor table half used, a big shadow does not keep its memfd: its whole
    copy sends every page (and nothing is lost)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    probe = os.open("/dev/null", os.O_RDONLY)
    os.close(probe)
    resource.setrlimit(resource.RLIMIT_NOFILE, (probe + 1, hard))  # next memfd >= soft / 2
    try:
        sh = Shadow(arena, 4 << 20, tracker="copy")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    with sh:
        sh.client()[5 * PAGE_SIZE] = 7
        dst = np.full(4 << 20, 0xAA, dtype=np.uint8)
        assert sh.flush(dst) == 4 << 20
        assert dst[5 * PAGE_SIZE] == 7 and dst[0] == 0
