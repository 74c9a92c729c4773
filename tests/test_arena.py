"""The low arena: bounds, reuse, fragmentation, exhaustion, threads, host allocators."""

from __future__ import annotations

import ctypes
import errno
import mmap
import threading

import pytest

from glcoherent import Arena, parse_size
from glcoherent._native import ffi, lib
from glcoherent.core import PAGE_SIZE

MiB = 1 << 20


def test_defaults_lie_below_4g():
    with Arena() as a:
        assert a.low >= 0x10000
        assert a.high == 1 << 32
        addrs = [a.alloc(100 * 1024) for _ in range(8)]
        for p in addrs:
            assert a.low <= p and p + 100 * 1024 <= a.high
            assert p % PAGE_SIZE == 0
        assert len(set(addrs)) == 8
        st = a.stats()
        assert st.allocations == 8
        assert st.used_bytes == 8 * ((100 * 1024 + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE)
        assert st.highest_end <= a.high


@pytest.mark.parametrize("limit", ["2G", "3G", "0xC0000000", 1 << 31])
def test_limits(limit):
    with Arena(limit=limit) as a:
        assert a.high == parse_size(limit)
        p = a.alloc(MiB)
        assert p + MiB <= a.high


def test_reserved_memory_is_usable_after_mapping_over_it():
    with Arena() as a:
        p = a.alloc(2 * PAGE_SIZE)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        r = libc.mmap(p, 2 * PAGE_SIZE, mmap.PROT_READ | mmap.PROT_WRITE,
                      mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x10, -1, 0)  # MAP_FIXED
        assert r == p
        ctypes.memset(p, 0x5A, 2 * PAGE_SIZE)
        assert ctypes.string_at(p + PAGE_SIZE, 4) == b"\x5a" * 4
        a.free(p, 2 * PAGE_SIZE)


def test_free_and_reuse_and_fragmentation():
    with Arena() as a:
        blocks = [a.alloc(64 * 1024) for _ in range(32)]
        for p in blocks[::2]:
            a.free(p, 64 * 1024)
        # holes of 64 KiB are reused for same-size requests
        again = [a.alloc(64 * 1024) for _ in range(16)]
        assert set(again) <= set(blocks[::2]) | set(again)
        assert len(set(again) & set(blocks[::2])) == 16
        # a request bigger than any hole still succeeds (another part of a chunk or a new gap)
        big = a.alloc(3 * MiB)
        assert big + 3 * MiB <= a.high
        for p in blocks[1::2] + again:
            a.free(p, 64 * 1024)
        a.free(big, 3 * MiB)
        assert a.stats().used_bytes == 0


def test_grows_by_reserving_more_gaps():
    with Arena() as a:
        ps = [a.alloc(48 * MiB) for _ in range(4)]  # more than one 64 MiB chunk
        assert a.stats().reservations >= 2
        assert all(p + 48 * MiB <= a.high for p in ps)
        for p in ps:
            a.free(p, 48 * MiB)


def test_exhaustion_is_an_error_not_a_crash():
    with Arena(limit="8M") as a:
        got = []
        with pytest.raises(MemoryError, match="low arena"):
            for _ in range(1000):
                got.append(a.alloc(MiB))
        assert got, "some allocations must fit below 8 MiB"
        assert a.stats().failures >= 1
        a.free(got[0], MiB)
        assert a.alloc(MiB) == got[0]  # freed space is reused


def test_zero_and_oversized_requests():
    with Arena(limit="8M") as a:
        out = ffi.new("void **")
        assert lib.glc_arena_alloc(a._ptr, 0, out) == -errno.EINVAL and out[0] == ffi.NULL
        assert lib.glc_arena_alloc(a._ptr, 1 << 40, out) == -errno.ENOMEM and out[0] == ffi.NULL
        with pytest.raises(ValueError):
            a.alloc(0)
        with pytest.raises(MemoryError):
            a.alloc(1 << 40)


def test_bad_bounds_are_rejected():
    out = ffi.new("glc_arena **")
    assert lib.glc_arena_create(out, 1 << 32, 1 << 31) < 0
    assert lib.glc_arena_create(out, 0, 1 << 60) < 0


def test_threads_get_disjoint_ranges():
    with Arena() as a:
        results: list = []
        lock = threading.Lock()
        errors: list = []

        def worker():
            try:
                mine = []
                for i in range(200):
                    size = PAGE_SIZE * (1 + i % 7)
                    mine.append((a.alloc(size), size))
                    if i % 3 == 0:
                        p, s = mine.pop(0)
                        a.free(p, s)
                with lock:
                    results.extend(mine)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        ts = [threading.Thread(target=worker) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert not errors
        spans = sorted(results)
        for (p1, s1), (p2, _) in zip(spans, spans[1:]):
            assert p1 + s1 <= p2, "two live allocations overlap"
        for p, s in results:
            a.free(p, s)
        assert a.stats().used_bytes == 0


def test_host_allocator_is_used_and_checked():
    region = mmap.mmap(-1, 16 * MiB)
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    calls = {"alloc": 0, "free": 0}
    cursor = [base]

    def host_alloc(size, high):
        calls["alloc"] += 1
        p = cursor[0]
        cursor[0] += size
        return p

    def host_free(addr, size):
        calls["free"] += 1

    # The region lies wherever Python's mmap put it; set the limit just above it.
    limit = base + 16 * MiB
    with Arena(limit=limit, host_alloc=host_alloc, host_free=host_free) as a:
        p = a.alloc(PAGE_SIZE)
        assert p == base and calls["alloc"] == 1
        a.free(p, PAGE_SIZE)
        assert calls["free"] == 1
        # A host allocator that hands out memory beyond the limit is refused, not trusted.
        cursor[0] = limit
        with pytest.raises(MemoryError):
            a.alloc(PAGE_SIZE)
        assert calls["free"] == 2
    del a
    import gc

    gc.collect()
    region.close()
