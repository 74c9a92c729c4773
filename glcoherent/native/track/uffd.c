/* track/uffd.c [tracking layer] - write tracking with userfaultfd async write-protect +
 * PAGEMAP_SCAN (6.7+).
 *
 * Registered pages are write-protected in the page tables; the first write to one is resolved
 * by the kernel without any signal (async mode) and leaves the page "written". collect is one
 * PAGEMAP_SCAN ioctl (repeated while the output vector fills up) that reports the written pages
 * and write-protects them again, atomically per page: a write racing with it is either
 * reported now or left for the next collect.
 *
 * Only the kernel's fast path is used: category_mask = return_mask = PAGE_IS_WRITTEN, flags
 * PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC (the scan fails instead of silently skipping
 * pages that are not registered). Writes through another mapping of the same memfd are not
 * seen (that mapping is not registered), which lets the owner copy data back into the shadow
 * without tripping the tracking.
 *
 * maybe_dirty has no cheap answer here (it says 1): the clean check is the scan itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "track/backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "track/uffd_compat.h"

/* page_region entries per PAGEMAP_SCAN call (24 bytes each, on the stack). */
#define GLC_UFFD_VEC 128

typedef struct scan_sink {
    void (*cb)(struct scan_sink *s, uintptr_t start, uintptr_t end);
} scan_sink;

/* Scan [start, end) for written pages, re-protecting them; cb gets each reported range
 * (ascending; adjacent ranges of consecutive calls are not merged). Returns pages or -errno. */
static long scan_range(int pagemap_fd, uintptr_t start, uintptr_t end, scan_sink *sink,
                       size_t page_shift)
{
    struct page_region vec[GLC_UFFD_VEC];
    long total = 0;
    while (start < end) {
        struct pm_scan_arg a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
        a.start = start;
        a.end = end;
        a.vec = (uintptr_t)vec;
        a.vec_len = GLC_UFFD_VEC;
        a.category_mask = PAGE_IS_WRITTEN;
        a.return_mask = PAGE_IS_WRITTEN;
        int n = ioctl(pagemap_fd, PAGEMAP_SCAN, &a);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (int i = 0; i < n; i++) {
            total += (long)((vec[i].end - vec[i].start) >> page_shift);
            if (sink)
                sink->cb(sink, (uintptr_t)vec[i].start, (uintptr_t)vec[i].end);
        }
        if (a.walk_end >= end)
            break;
        if (a.walk_end <= start)
            return -EIO; /* no progress: should not happen */
        start = (uintptr_t)a.walk_end;
    }
    return total;
}

static int uffd_open(void)
{
#ifdef SYS_userfaultfd
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd < 0 && errno == EINVAL)
        fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct uffdio_api api;
    memset(&api, 0, sizeof api);
    api.api = UFFD_API;
    api.features = UFFD_FEATURE_WP_ASYNC;
    if (ioctl(fd, UFFDIO_API, &api) != 0) {
        int e = errno;
        close(fd);
        return e == EINVAL ? -EOPNOTSUPP : -e;
    }
    /* Kernels that do not know the feature clear it (or fail above). */
    if (!(api.features & UFFD_FEATURE_WP_ASYNC)) {
        close(fd);
        return -EOPNOTSUPP;
    }
    return fd;
#else
    return -ENOSYS;
#endif
}

static int open_pagemap(void)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static void uffd_unregister(int uffd, uintptr_t start, size_t len)
{
    struct uffdio_range range = {.start = start, .len = len};
    ioctl(uffd, UFFDIO_UNREGISTER, &range);
}

/* Register [start, start + len) for async write-protect and start it clean. */
static int uffd_register(int uffd, int pagemap_fd, uintptr_t start, size_t len, size_t page_shift)
{
    /* A huge page would be reported written as a whole 2 MiB. */
    madvise((void *)start, len, MADV_NOHUGEPAGE);
    struct uffdio_register reg;
    memset(&reg, 0, sizeof reg);
    reg.range.start = start;
    reg.range.len = len;
    reg.mode = UFFDIO_REGISTER_MODE_WP;
    if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0)
        return -errno;
    struct uffdio_writeprotect wp;
    memset(&wp, 0, sizeof wp);
    wp.range.start = start;
    wp.range.len = len;
    wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
    int rc = 0;
    if (ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) != 0) {
        rc = -errno;
    } else {
        /* Anything still reported written (present pages the ioctl raced with) is
         * re-protected and dropped: all pages start clean. */
        long n = scan_range(pagemap_fd, start, start + len, NULL, page_shift);
        if (n < 0)
            rc = (int)n;
    }
    if (rc)
        uffd_unregister(uffd, start, len);
    return rc;
}

/* ---------------------------------------------------------------- probe */

typedef struct probe_sink {
    scan_sink base;
    uintptr_t start, end;
    int calls;
} probe_sink;

static void probe_cb(scan_sink *s, uintptr_t start, uintptr_t end)
{
    probe_sink *p = (probe_sink *)s;
    if (p->calls++ == 0) {
        p->start = start;
        p->end = end;
    }
}

static int probe_mapping(int uffd, int pm, unsigned char *mem, size_t page, size_t shift)
{
    for (size_t i = 0; i < 4; i++)
        mem[i * page] = 1;
    if (uffd_register(uffd, pm, (uintptr_t)mem, 4 * page, shift) != 0)
        return 0;
    int ok = 0;
    mem[2 * page + 7] = 2;
    probe_sink s = {.base = {.cb = probe_cb}};
    long n = scan_range(pm, (uintptr_t)mem, (uintptr_t)mem + 4 * page, &s.base, shift);
    if (n == 1 && s.calls == 1 && s.start == (uintptr_t)mem + 2 * page &&
        s.end == (uintptr_t)mem + 3 * page) {
        probe_sink again = {.base = {.cb = probe_cb}};
        n = scan_range(pm, (uintptr_t)mem, (uintptr_t)mem + 4 * page, &again.base, shift);
        ok = n == 0 && again.calls == 0;
    }
    uffd_unregister(uffd, (uintptr_t)mem, 4 * page);
    return ok;
}

static int uffd_probe(void)
{
    size_t page = glc_page_size(), shift = glc_page_shift();
    int uffd = uffd_open();
    if (uffd < 0)
        return 0;
    int pm = open_pagemap();
    if (pm < 0) {
        close(uffd);
        return 0;
    }
    int ok = 0;
    /* Anonymous memory. */
    unsigned char *mem = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                              -1, 0);
    if (mem != MAP_FAILED) {
        ok = probe_mapping(uffd, pm, mem, page, shift);
        munmap(mem, 4 * page);
    }
    /* Shared memfd (shmem) memory, what the shadows use. */
    if (ok) {
        ok = 0;
        int mfd = memfd_create("glcoherent-probe", MFD_CLOEXEC);
        if (mfd >= 0) {
            if (ftruncate(mfd, (off_t)(4 * page)) == 0) {
                mem = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
                if (mem != MAP_FAILED) {
                    ok = probe_mapping(uffd, pm, mem, page, shift);
                    munmap(mem, 4 * page);
                }
            }
            close(mfd);
        }
    }
    close(pm);
    close(uffd);
    return ok;
}

/* ---------------------------------------------------------------- emission */

/* Runs in pages, ascending; adjacent runs are coalesced before they are reported. */
typedef struct emit_sink {
    scan_sink base;
    glc_region *r;
    glc_run_fn fn;
    void *user;
    size_t first, end; /* pending run, pages; first == SIZE_MAX: none */
} emit_sink;

static void emit_flush(emit_sink *e)
{
    if (e->first != SIZE_MAX)
        glc_region_emit(e->r, e->fn, e->user, e->first, e->end - e->first);
    e->first = SIZE_MAX;
}

static void emit_cb(scan_sink *s, uintptr_t start, uintptr_t end)
{
    emit_sink *e = (emit_sink *)s;
    unsigned shift = e->r->t->page_shift;
    size_t a = (start - e->r->base) >> shift, b = (end - e->r->base) >> shift;
    if (e->first != SIZE_MAX && a == e->end) {
        e->end = b;
        return;
    }
    emit_flush(e);
    e->first = a;
    e->end = b;
}

/* One scan of pages [first, first + count) of r. */
static long scan_pages(glc_region *r, size_t first, size_t count, glc_run_fn fn, void *user)
{
    glc_tracker *t = r->t;
    atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    emit_sink e = {.base = {.cb = emit_cb}, .r = r, .fn = fn, .user = user, .first = SIZE_MAX};
    uintptr_t start = r->base + (first << t->page_shift);
    long n = scan_range(t->pagemap_fd, start, start + (count << t->page_shift), &e.base,
                        t->page_shift);
    emit_flush(&e);
    return n;
}

/* ---------------------------------------------------------------- backend */

static int uffd_tracker_init(glc_tracker *t)
{
    int fd = uffd_open();
    if (fd < 0)
        return fd;
    int pm = open_pagemap();
    if (pm < 0) {
        close(fd);
        return pm;
    }
    t->uffd = fd;
    t->pagemap_fd = pm;
    t->pid = getpid();
    t->forks = glc_fork_generation();
    return 0;
}

static void uffd_tracker_fini(glc_tracker *t)
{
    if (t->pagemap_fd >= 0)
        close(t->pagemap_fd);
    if (t->uffd >= 0)
        close(t->uffd);
    t->pagemap_fd = t->uffd = -1;
}

static int uffd_region_init(glc_region *r)
{
    glc_tracker *t = r->t;
    return uffd_register(t->uffd, t->pagemap_fd, r->base, r->map_len, t->page_shift);
}

static void uffd_region_fini(glc_region *r)
{
    if (r->t->forks == glc_fork_generation())
        uffd_unregister(r->t->uffd, r->base, r->map_len);
}

/* Part of a region (all of it from uffd_collect): one scan of those pages. */
static long uffd_collect_range(glc_region *r, size_t first, size_t count, glc_run_fn fn,
                               void *user)
{
    if (r->t->forks != glc_fork_generation()) {
        /* A forked child: the registration did not follow us, and the pagemap descriptor
         * still names the parent's address space (scanning it would steal the parent's
         * dirty pages). Report everything. */
        glc_region_emit(r, fn, user, 0, r->npages);
        return (long)r->npages;
    }
    return scan_pages(r, first, count, fn, user);
}

static long uffd_collect(glc_region *r, glc_run_fn fn, void *user)
{
    return uffd_collect_range(r, 0, r->npages, fn, user);
}

const glc_backend_ops glc_backend_uffd = {
    .kind = GLC_TRACKER_UFFD,
    .tracker_init = uffd_tracker_init,
    .tracker_fini = uffd_tracker_fini,
    .region_init = uffd_region_init,
    .region_fini = uffd_region_fini,
    .collect = uffd_collect,
    .collect_range = uffd_collect_range,
    .probe = uffd_probe,
};
