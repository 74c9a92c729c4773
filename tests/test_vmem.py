"""base/vmem.c: which pages of a range may hold non-zero bytes, asked of the kernel instead of
read (the map-time load of a fresh buffer skips what the driver never touched)."""

from __future__ import annotations

import ctypes
import errno
import mmap
import os

from glcoherent._native import ffi, lib

PAGE = mmap.PAGESIZE
SIZE = 4 << 20


def populated(addr: int, length: int) -> tuple[int, list[tuple[int, int]]]:
    runs: list[tuple[int, int]] = []

    @ffi.callback("void(void *, size_t, size_t)")
    def run(_user, off, n):
        runs.append((off, n))

    rc = lib.glc_vmem_populated(ffi.cast("void *", addr), length, run, ffi.NULL)
    return rc, runs


def address(m: mmap.mmap) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


def covered(runs: list[tuple[int, int]]) -> set[int]:
    return {p for off, n in runs for p in range(off // PAGE, (off + n + PAGE - 1) // PAGE)}


def test_untouched_anonymous_memory_reports_nothing():
    m = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        rc, runs = populated(address(m), SIZE)
        assert rc == 0 and runs == []
    finally:
        m.close()


def test_written_pages_and_only_they_are_reported():
    m = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        pages = {0, 3, 4, 5, 700, SIZE // PAGE - 1}
        for p in pages:
            m[p * PAGE + 17] = 0x5A
        rc, runs = populated(address(m), SIZE)
        assert rc == 0
        assert covered(runs) == pages
        assert all(a[0] + a[1] < b[0] for a, b in zip(runs, runs[1:]))  # ascending, disjoint
        # An unaligned range: runs are relative to its start and clipped to it.
        rc, runs = populated(address(m) + 100, SIZE - 200)
        assert rc == 0 and runs[0][0] == 0 and runs[-1][0] + runs[-1][1] == SIZE - 200
    finally:
        m.close()


def test_many_runs_merge_instead_of_failing():
    m = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        pages = set(range(0, SIZE // PAGE, 2))  # 512 separate runs, more than the list holds
        for p in pages:
            m[p * PAGE] = 1
        rc, runs = populated(address(m), SIZE)
        assert rc == 0 and pages <= covered(runs)
    finally:
        m.close()


def test_shared_or_file_memory_cannot_be_shown_zero():
    fd = os.memfd_create("vmem-test")
    try:
        os.ftruncate(fd, SIZE)
        m = mmap.mmap(fd, SIZE)
        try:
            assert populated(address(m), SIZE)[0] == -errno.ENOTSUP
        finally:
            m.close()
    finally:
        os.close(fd)


def test_small_ranges_are_read_instead():
    m = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        assert lib.GLC_VMEM_MIN_BYTES > PAGE
        assert populated(address(m), lib.GLC_VMEM_MIN_BYTES - 1)[0] == -errno.ENOTSUP
    finally:
        m.close()


def test_a_hole_in_the_range_cannot_be_shown_zero():
    m = mmap.mmap(-1, SIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        base = address(m)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        assert libc.munmap(base + SIZE // 2, PAGE) == 0
        assert populated(base, SIZE)[0] == -errno.ENOTSUP
        assert populated(base, SIZE // 2)[0] == 0  # the part before the hole still can
    finally:
        m.close()
