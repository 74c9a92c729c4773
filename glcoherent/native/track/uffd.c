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
 * GLC_REGION_SENTINEL ("sentinel with hot windows"): the region is also kept PROT_READ, except
 * for a few writable windows, so that a clean check costs a memory read instead of a scan:
 *  - a user-space write to a read-only page raises SIGSEGV; the handler (sigsegv.c) records a
 *    window of pages at the fault (g_win_min pages, doubling up to g_win_max for a writer that
 *    continues right after its previous window; one page at hint_page, see below) in the
 *    range's slot table, sets maybe_dirty and makes the window writable. Inside a window only
 *    userfaultfd tracks (kernel-resolved write faults, no signal);
 *  - collect scans only the windows (one PAGEMAP_SCAN per group of nearby windows). A window
 *    that had dirty pages stays writable ("hot"), so a writer that keeps going in it costs no
 *    signal per draw; a window clean for g_win_decay collects in a row is re-protected and
 *    dropped. maybe_dirty says 1 while windows exist;
 *  - a page that was the last dirty page of its window in g_copy_after collects in a row (a
 *    small ring writer, a block rewritten before every draw) is "copied blindly": left out of
 *    the scans and reported at every collect, so writing it again costs neither a fault nor a
 *    scan. It goes back to tracking when the page after it is written (the writer moved on:
 *    that page becomes the copied one, and hint_page makes the fault there open just it), when
 *    GLC_COPY_MAX newer ones need room, or when its content was found unchanged over
 *    GLC_COPY_CHECK collects;
 *  - scattered writes: when the slot table overflows the handler makes the whole region
 *    writable; when signals come faster than whole scans would cost (a moving average of
 *    faults per collect against a cost model) collect does the same. The region is then
 *    scanned whole ("plain" mode, like a non-sentinel region) and re-armed after
 *    GLC_REARM_IDLE clean scans, or after a period that doubles while the overflows come back
 *    soon, if the scans found few dirty runs.
 * Lost-write argument: writes are made only to writable pages; a page is writable only inside
 * a recorded window (recorded before it is unprotected), a blindly copied page, or under the
 * overflow bit (set before the whole region is unprotected); collect re-protects a window or
 * copied page BEFORE its last scan and forgets it after, never forgets a window or the
 * overflow bit that a handler is still unprotecting (pending marks), and PAGEMAP_SCAN reports
 * and re-arms each page atomically. A writer that sees a page writable therefore wrote it
 * after the owner could see why, and the next collect scans or copies it. Kernel writes
 * (read(2)) into a read-only page fail with EFAULT: the owner opts in (shadow.c does unless
 * GLCOHERENT_KERNEL_WRITES=1).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "track/sigsegv.h"
#include "track/backend.h"
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

int glc_uffd_probe(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096, shift = 0;
    while (((size_t)1 << shift) < page)
        shift++;
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

/* ---------------------------------------------------------------- sentinel windows */

/* Tunables (see the top of this file). Tests and the benchmark may change them
 * (glc_uffd_set_params) for regions created afterwards. */
static size_t g_win_min = 16;      /* pages of a first window */
static size_t g_win_max = 128;     /* pages of a sequential writer's window */
static unsigned g_win_decay = 2;   /* clean collects before a window is re-protected */
static unsigned g_copy_after = 3;  /* collects in a row a page must be dirty to be copied */
#define GLC_COPY_MAX 4             /* pages copied blindly per region */
#define GLC_COPY_CHECK 16          /* collects between content checks of a copied page */
#define GLC_SCAN_GAP 64            /* windows closer than this (pages) share one scan */
#define GLC_PLAIN_MIN 8            /* collects in plain mode after a first overflow */
#define GLC_PLAIN_MAX 4096         /* ... doubling while overflows come back soon */
#define GLC_REARM_MAX_RUNS (GLC_SEGV_SLOTS / 4) /* re-arm only if whole scans found few runs */
#define GLC_REARM_IDLE 16          /* ... or at once after this many clean whole scans */
/* Cost model of the fault-rate guard (ns, measured on a 2-core VM, Linux 6.18): a signal with
 * its window (handler, unprotect, re-protect later) vs. a whole scan of n pages. Windows are
 * dropped for plain mode when faults per collect (moving average) cost more than a scan. */
#define GLC_COST_SIGNAL_NS 25000u
#define GLC_COST_SCAN_NS(n) (700u + (n) * 3u / 2u)
/* Collects only happen on draws that find something dirty; plain mode scans on every draw.
 * Assume up to this many draws per dirty one when writes are that frequent. */
#define GLC_GUARD_DRAWS 2u
#define GLC_GUARD_MIN_COLLECTS 16u /* ... judged after this many collects since arming */
#define GLC_SEGV_CHECK_EVERY 256   /* collects between checks that our handler is on top */

void glc_uffd_set_params(size_t win_min, size_t win_max, unsigned decay, unsigned copy_after)
{
    g_win_min = win_min ? win_min : 16;
    g_win_max = win_max ? win_max : 128;
    if (g_win_max < g_win_min)
        g_win_max = g_win_min;
    if (g_win_max > GLC_SEGV_SLOT_MAX_PAGES)
        g_win_max = GLC_SEGV_SLOT_MAX_PAGES;
    g_win_decay = decay ? decay : 2;
    g_copy_after = copy_after ? copy_after : 3;
}

_Static_assert(GLC_SEGV_SLOTS <= 32 && GLC_COPY_MAX <= 8, "glc_uffd_sentinel_info_t arrays");

typedef struct win_state {
    uint64_t val;       /* slot value this state belongs to (0: none) */
    unsigned clean;     /* collects in a row without a dirty page */
    size_t hot_page;    /* last dirty page at the previous collect (SIZE_MAX: none) */
    unsigned hot_count; /* collects in a row hot_page was the last dirty page */
} win_state;

struct glc_uffd_win {
    win_state w[GLC_SEGV_SLOTS];
    size_t copy_page[GLC_COPY_MAX];
    unsigned copy_age[GLC_COPY_MAX];
    unsigned char copy_retire[GLC_COPY_MAX];
    unsigned ncopy;
    unsigned char *snap;    /* GLC_COPY_MAX pages: content of the copied pages at the last check */
    atomic_int hot;         /* windows or copied pages exist, or plain mode: maybe_dirty says 1 */
    int plain;              /* whole region writable, scanned whole */
    unsigned plain_left, plain_len;
    size_t plain_runs;      /* most dirty runs one whole scan found in this plain period */
    unsigned plain_clean;   /* whole scans in a row that found nothing */
    unsigned long faults_seen; /* segv.faults at the previous armed collect */
    unsigned fault_ema;     /* faults per armed collect, moving average (x 1024) */
    unsigned armed_collects; /* collects that did work since the region was (re-)armed */
    size_t last_scan_pages; /* pages the last collect that did work scanned */
    uint64_t collects, armed_at;
    unsigned segv_check;
};

typedef struct ivl {
    size_t a, b; /* pages [a, b) */
} ivl;

#define IVL_CAP (4 * (GLC_SEGV_SLOTS + GLC_COPY_MAX) + 8)

static void ivl_sort(ivl *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        ivl x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1].a > x.a) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* Sort, then merge intervals that overlap or are at most `gap` pages apart. */
static size_t ivl_merge(ivl *v, size_t n, size_t gap)
{
    if (n == 0)
        return 0;
    ivl_sort(v, n);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (v[i].a <= v[k].b + gap) {
            if (v[i].b > v[k].b)
                v[k].b = v[i].b;
        } else {
            v[++k] = v[i];
        }
    }
    return k + 1;
}

/* out = v minus sub (v merged with `gap`), sorted and disjoint. Returns the count. */
static size_t ivl_subtract(ivl *v, size_t n, size_t gap, ivl *sub, size_t m, ivl *out)
{
    n = ivl_merge(v, n, gap);
    m = ivl_merge(sub, m, 0);
    size_t k = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        size_t a = v[i].a, b = v[i].b;
        while (j < m && sub[j].b <= a)
            j++;
        for (size_t jj = j; a < b && k < IVL_CAP;) {
            if (jj >= m || sub[jj].a >= b) {
                out[k++] = (ivl){a, b};
                break;
            }
            if (sub[jj].a > a)
                out[k++] = (ivl){a, sub[jj].a};
            if (sub[jj].b > a)
                a = sub[jj].b;
            jj++;
        }
    }
    return k;
}

static int sentinel_init(glc_region *r)
{
    struct glc_uffd_win *w = calloc(1, sizeof *w);
    if (!w)
        return -ENOMEM;
    atomic_init(&w->hot, 0);
    r->win = w;
    r->segv.start = r->base;
    r->segv.end = r->base + r->map_len;
    r->segv.npages = r->npages;
    r->segv.page_shift = r->t->page_shift;
    r->segv.kind = GLC_SEGV_SENTINEL;
    r->segv.bits = NULL;
    r->segv.win_min = g_win_min;
    r->segv.win_max = g_win_max;
    int rc = glc_segv_add(&r->segv);
    if (rc) {
        free(w);
        r->win = NULL;
        return rc;
    }
    r->has_segv = 1;
    if (mprotect((void *)r->base, r->map_len, PROT_READ) != 0) {
        rc = -errno;
        glc_segv_remove(&r->segv);
        r->has_segv = 0;
        free(w);
        r->win = NULL;
        return rc;
    }
    r->sentinel = 1;
    return 0;
}

static void sentinel_fini(glc_region *r)
{
    mprotect((void *)r->base, r->map_len, PROT_READ | PROT_WRITE);
    if (r->has_segv)
        glc_segv_remove(&r->segv);
    r->has_segv = 0;
    r->sentinel = 0;
    if (r->win) {
        free(r->win->snap);
        free(r->win);
        r->win = NULL;
    }
}

/* Emission: runs in pages, ascending; adjacent runs are coalesced before they are reported.
 * For sentinel regions the runs are also attributed to the windows scanned. */
typedef struct emit_sink {
    scan_sink base;
    glc_region *r;
    glc_run_fn fn;
    void *user;
    size_t first, end; /* pending run, pages; first == SIZE_MAX: none */
    /* sentinel only */
    const uint64_t *slots;       /* snapshot of the slot table (NULL: no attribution) */
    unsigned char dirty[GLC_SEGV_SLOTS];
    size_t last_dirty[GLC_SEGV_SLOTS];
    const size_t *copy_page;     /* blindly copied pages: was the page after each written? */
    unsigned ncopy;
    unsigned char next_dirty[GLC_COPY_MAX];
    size_t runs;                 /* coalesced runs emitted */
} emit_sink;

static void emit_pages(emit_sink *e, size_t a, size_t b)
{
    if (e->first != SIZE_MAX && a == e->end) {
        e->end = b;
        return;
    }
    e->runs++;
    if (e->first != SIZE_MAX)
        glc_region_emit(e->r, e->fn, e->user, e->first, e->end - e->first);
    e->first = a;
    e->end = b;
}

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
    if (e->slots) {
        for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
            uint64_t v = e->slots[i];
            if (!v)
                continue;
            size_t wa = glc_segv_slot_first(v), wb = wa + glc_segv_slot_pages(v);
            if (a < wb && b > wa) {
                e->dirty[i] = 1;
                size_t last = (b < wb ? b : wb) - 1;
                if (e->last_dirty[i] == SIZE_MAX || last > e->last_dirty[i])
                    e->last_dirty[i] = last;
            }
        }
        for (unsigned j = 0; j < e->ncopy; j++)
            if (e->copy_page[j] + 1 >= a && e->copy_page[j] + 1 < b)
                e->next_dirty[j] = 1;
    }
    emit_pages(e, a, b);
}

/* Scan pages [a, b) of r through e. Returns pages reported or -errno. */
static long scan_pages(glc_region *r, emit_sink *e, size_t a, size_t b)
{
    unsigned shift = r->t->page_shift;
    return scan_range(r->t->pagemap_fd, r->base + (a << shift), r->base + (b << shift), &e->base,
                      shift);
}

static int protect_pages(glc_region *r, size_t a, size_t b, int prot)
{
    unsigned shift = r->t->page_shift;
    return mprotect((void *)(r->base + (a << shift)), (b - a) << shift, prot);
}

static void segv_check(struct glc_uffd_win *w, int now)
{
    if (now || ++w->segv_check >= GLC_SEGV_CHECK_EVERY) {
        w->segv_check = 0;
        glc_segv_ensure_installed();
    }
}

/* The whole region is (or may be) writable: scan it whole; re-arm when the time has come. */
static long plain_collect(glc_region *r, glc_run_fn fn, void *user)
{
    struct glc_uffd_win *w = r->win;
    glc_segv_range *sr = &r->segv;
    if (!w->plain) {
        /* Entering: blindly copied pages are ordinary writable pages now (the whole scans
         * report them when written); windows mean nothing. */
        uint64_t armed_for = w->collects - w->armed_at;
        if (w->plain_len && armed_for <= 4 * (uint64_t)w->plain_len + 16)
            w->plain_len = w->plain_len * 2 > GLC_PLAIN_MAX ? GLC_PLAIN_MAX : w->plain_len * 2;
        else
            w->plain_len = GLC_PLAIN_MIN;
        w->plain_left = w->plain_len;
        w->plain_runs = 0;
        w->plain_clean = 0;
        w->plain = 1;
        w->ncopy = 0;
        atomic_store(&w->hot, 1);
    }
    uint64_t snap[GLC_SEGV_SLOTS];
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        uint64_t v = atomic_load(&sr->slots[i]);
        snap[i] = (v & GLC_SEGV_SLOT_PENDING) ? 0 : v;
    }
    int rearm = 0;
    if (w->plain_left > 0)
        w->plain_left--;
    if (w->plain_clean >= GLC_REARM_IDLE)
        w->plain_left = 0; /* quiet: arm again now */
    else if (w->plain_left == 0 && w->plain_runs > GLC_REARM_MAX_RUNS) {
        /* Writes too scattered for the windows: re-arming would overflow again. */
        w->plain_left = w->plain_len;
        w->plain_runs = 0;
    }
    if (w->plain_left == 0) {
        unsigned ovf = atomic_load(&sr->overflow);
        if (ovf <= GLC_SEGV_OVF_BIT && atomic_compare_exchange_strong(&sr->overflow, &ovf, 0)) {
            segv_check(w, 1);
            if (mprotect((void *)r->base, r->map_len, PROT_READ) == 0) {
                rearm = 1;
            } else {
                atomic_fetch_or(&sr->overflow, GLC_SEGV_OVF_BIT);
                w->plain_left = w->plain_len;
            }
        } else {
            w->plain_left = 1; /* a handler is still unprotecting: next time */
        }
    }
    /* Windows recorded before the re-protect (or while writable anyway) are covered by the
     * whole scan below. A window recorded after the snapshot stays. */
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        if (snap[i]) {
            uint64_t v = snap[i];
            atomic_compare_exchange_strong(&sr->slots[i], &v, 0);
        }
        w->w[i].val = 0;
    }
    atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    emit_sink e = {.base = {.cb = emit_cb}, .r = r, .fn = fn, .user = user, .first = SIZE_MAX};
    long n = scan_pages(r, &e, 0, r->npages);
    emit_flush(&e);
    if (n < 0) {
        atomic_store(&sr->maybe_dirty, 1);
        return n;
    }
    if (e.runs > w->plain_runs)
        w->plain_runs = e.runs;
    w->plain_clean = n == 0 ? w->plain_clean + 1 : 0;
    if (rearm) {
        w->plain = 0;
        w->armed_at = w->collects;
        w->faults_seen = atomic_load(&sr->faults);
        w->fault_ema = 0;
        w->armed_collects = 0;
        int any = 0;
        for (int i = 0; i < GLC_SEGV_SLOTS; i++)
            any |= atomic_load(&sr->slots[i]) != 0;
        atomic_store(&w->hot, any);
    }
    return n;
}

static int copy_index(const struct glc_uffd_win *w, size_t page)
{
    for (unsigned j = 0; j < w->ncopy; j++)
        if (w->copy_page[j] == page)
            return (int)j;
    return -1;
}

/* Copy `page` blindly from the next collect on (it was just scanned, so nothing written
 * before now is pending). Returns 1, or 0 when there is no room: then the oldest copied page
 * goes back to tracking at the next collect. */
static int add_copy(glc_region *r, size_t page)
{
    struct glc_uffd_win *w = r->win;
    if (!w->snap && !(w->snap = malloc((size_t)GLC_COPY_MAX << r->t->page_shift)))
        return 0;
    if (w->ncopy == GLC_COPY_MAX) {
        unsigned old = 0;
        for (unsigned j = 1; j < w->ncopy; j++)
            if (w->copy_age[j] > w->copy_age[old])
                old = j;
        if (!w->copy_retire[old])
            w->copy_retire[old] = 1;
        return 0;
    }
    unsigned j = w->ncopy++;
    w->copy_page[j] = page;
    w->copy_age[j] = 0;
    w->copy_retire[j] = 0;
    memcpy(w->snap + ((size_t)j << r->t->page_shift),
           (const void *)(r->base + (page << r->t->page_shift)), r->t->page);
    /* A small writer moves on to the next page: a fault there opens just that page. */
    if (page + 1 < r->npages)
        atomic_store_explicit(&r->segv.hint_page, page + 1, memory_order_relaxed);
    return 1;
}

static long sentinel_collect(glc_region *r, glc_run_fn fn, void *user)
{
    struct glc_uffd_win *w = r->win;
    glc_segv_range *sr = &r->segv;
    unsigned ovf = atomic_load(&sr->overflow);
    if (!atomic_load(&sr->maybe_dirty) && !atomic_load_explicit(&w->hot, memory_order_relaxed) &&
        !ovf) {
        segv_check(w, 0);
        return 0;
    }
    w->collects++;
    /* Cleared before the slots are read: a window recorded after the read sets it again. */
    atomic_store(&sr->maybe_dirty, 0);
    if (w->plain || (ovf & GLC_SEGV_OVF_BIT))
        return plain_collect(r, fn, user);

    /* 1. Snapshot the windows; decide which are re-protected now. */
    uint64_t cur[GLC_SEGV_SLOTS];
    unsigned char retire[GLC_SEGV_SLOTS] = {0};
    unsigned char fresh[GLC_SEGV_SLOTS] = {0}; /* recorded since the previous collect */
    ivl live[IVL_CAP], gone[IVL_CAP], scan[IVL_CAP], ro[IVL_CAP], keep[IVL_CAP];
    size_t nlive = 0, ngone = 0, nscan = 0;
    int any_retire = 0;
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        uint64_t v = atomic_load(&sr->slots[i]);
        cur[i] = v;
        if (!v) {
            w->w[i].val = 0;
            continue;
        }
        uint64_t base = v & ~GLC_SEGV_SLOT_PENDING;
        if (w->w[i].val != base) {
            w->w[i] = (win_state){.val = base, .hot_page = SIZE_MAX};
            fresh[i] = 1;
        }
        size_t a = glc_segv_slot_first(v), b = a + glc_segv_slot_pages(v);
        scan[nscan++] = (ivl){a, b};
        if (!(v & GLC_SEGV_SLOT_PENDING) && w->w[i].clean >= g_win_decay) {
            retire[i] = 1;
            any_retire = 1;
            gone[ngone++] = (ivl){a, b};
        } else {
            live[nlive++] = (ivl){a, b};
        }
    }
    /* Blindly copied pages: those going back to tracking are re-protected (unless a live
     * window keeps them writable) and scanned once more; the others are reported whole. */
    ivl copies[GLC_COPY_MAX];
    size_t ncopies = 0;
    unsigned char copy_gone[GLC_COPY_MAX] = {0}; /* going back to tracking in this collect */
    unsigned char copy_moved[GLC_COPY_MAX] = {0}; /* ... because a window opened right after */
    for (unsigned j = 0; j < w->ncopy; j++) {
        size_t p = w->copy_page[j];
        /* A new window at the next page: its small writer has moved on (hint_page); this one
         * goes back now, in the same scan as that window. */
        for (int i = 0; i < GLC_SEGV_SLOTS && !w->copy_retire[j]; i++)
            if (fresh[i] && glc_segv_slot_first(cur[i]) == p + 1)
                w->copy_retire[j] = copy_moved[j] = 1;
        if (w->copy_retire[j]) {
            copy_gone[j] = 1;
            gone[ngone++] = (ivl){p, p + 1};
            scan[nscan++] = (ivl){p, p + 1};
            any_retire = 1;
        } else {
            live[nlive++] = (ivl){p, p + 1};
            copies[ncopies++] = (ivl){p, p + 1};
        }
    }

    /* 2. Re-protect what is dropped, BEFORE its last scan. */
    if (any_retire) {
        segv_check(w, 1);
        memcpy(keep, live, nlive * sizeof *keep);
        size_t nro = ivl_subtract(gone, ngone, 0, keep, nlive, ro);
        for (size_t k = 0; k < nro; k++) {
            if (protect_pages(r, ro[k].a, ro[k].b, PROT_READ) != 0) {
                /* Cannot re-protect (out of mappings): scan it whole from now on. */
                atomic_fetch_or(&sr->overflow, GLC_SEGV_OVF_BIT);
                atomic_store(&sr->maybe_dirty, 1);
                break;
            }
        }
    } else {
        segv_check(w, 0);
    }

    /* 3. Scan the windows (nearby ones together), minus the blindly copied pages, and report
     * those pages in between, in ascending order. */
    memcpy(keep, copies, ncopies * sizeof *keep);
    size_t nseg = ivl_subtract(scan, nscan, GLC_SCAN_GAP, keep, ncopies, ro);
    ivl_sort(copies, ncopies);
    emit_sink e = {.base = {.cb = emit_cb}, .r = r, .fn = fn, .user = user, .first = SIZE_MAX,
                   .slots = cur, .copy_page = w->copy_page, .ncopy = w->ncopy};
    for (int i = 0; i < GLC_SEGV_SLOTS; i++)
        e.last_dirty[i] = SIZE_MAX;
    long total = 0;
    size_t c = 0;
    if (nseg)
        atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    w->last_scan_pages = 0;
    for (size_t k = 0; k < nseg; k++)
        w->last_scan_pages += ro[k].b - ro[k].a;
    for (size_t k = 0; k <= nseg; k++) {
        size_t a = k < nseg ? ro[k].a : SIZE_MAX;
        while (c < ncopies && copies[c].a < a) {
            emit_pages(&e, copies[c].a, copies[c].b);
            total += 1;
            c++;
        }
        if (k == nseg)
            break;
        long n = scan_pages(r, &e, ro[k].a, ro[k].b);
        if (n < 0) {
            /* Keep everything as it is; the next collect scans again. */
            emit_flush(&e);
            atomic_store(&sr->maybe_dirty, 1);
            return n;
        }
        total += n;
    }
    emit_flush(&e);

    /* 4. Bookkeeping: drop re-protected windows and pages, age the others, pick pages to copy
     * blindly, decide what goes back to tracking at the next collect. */
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        if (!cur[i])
            continue;
        if (retire[i]) {
            atomic_store(&sr->slots[i], 0); /* not pending: only we change it */
            w->w[i].val = 0;
            continue;
        }
        win_state *ws = &w->w[i];
        if (!e.dirty[i]) {
            ws->clean++;
            ws->hot_page = SIZE_MAX;
            ws->hot_count = 0;
            continue;
        }
        ws->clean = 0;
        size_t last = e.last_dirty[i];
        if (last == ws->hot_page) {
            ws->hot_count++;
        } else {
            ws->hot_page = last;
            ws->hot_count = 1;
        }
    }
    /* The page after a copied one was written: that writer has moved on, to that page (which
     * is copied blindly from now on if a live window keeps it writable; below). */
    size_t handoff[GLC_COPY_MAX];
    unsigned nhandoff = 0;
    for (unsigned j = 0; j < w->ncopy; j++) {
        if (!e.next_dirty[j] || (copy_gone[j] && !copy_moved[j]) ||
            (!copy_gone[j] && w->copy_retire[j]))
            continue;
        if (!copy_gone[j])
            w->copy_retire[j] = 1; /* back to tracking at the next collect */
        handoff[nhandoff++] = w->copy_page[j] + 1;
    }
    /* Remove the pages that went back to tracking in this collect (re-protected and scanned
     * above); flags set since then take effect at the next collect. */
    unsigned m = 0;
    for (unsigned j = 0; j < w->ncopy; j++) {
        if (copy_gone[j])
            continue;
        if (m != j)
            memcpy(w->snap + ((size_t)m << r->t->page_shift),
                   w->snap + ((size_t)j << r->t->page_shift), r->t->page);
        w->copy_page[m] = w->copy_page[j];
        w->copy_age[m] = w->copy_age[j];
        w->copy_retire[m] = w->copy_retire[j];
        m++;
    }
    w->ncopy = m;
    for (unsigned k = 0; k < nhandoff; k++) {
        size_t next = handoff[k];
        if (copy_index(w, next) >= 0)
            continue;
        for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
            uint64_t v = cur[i];
            if (!v || retire[i] || (v & GLC_SEGV_SLOT_PENDING) || next < glc_segv_slot_first(v) ||
                next >= glc_segv_slot_first(v) + glc_segv_slot_pages(v))
                continue;
            if (add_copy(r, next) && w->w[i].hot_page == next) {
                w->w[i].hot_page = SIZE_MAX;
                w->w[i].hot_count = 0;
            }
            break;
        }
    }
    /* Content check: a copied page unchanged over GLC_COPY_CHECK collects goes back. */
    for (unsigned j = 0; j < w->ncopy; j++) {
        if (w->copy_retire[j] || ++w->copy_age[j] % GLC_COPY_CHECK)
            continue;
        const void *page = (const void *)(r->base + (w->copy_page[j] << r->t->page_shift));
        unsigned char *sp = w->snap + ((size_t)j << r->t->page_shift);
        if (memcmp(sp, page, r->t->page) == 0)
            w->copy_retire[j] = 1;
        else
            memcpy(sp, page, r->t->page);
    }
    /* New pages to copy blindly. */
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        win_state *ws = &w->w[i];
        if (!cur[i] || retire[i] || (cur[i] & GLC_SEGV_SLOT_PENDING) ||
            ws->hot_count < g_copy_after)
            continue;
        if (copy_index(w, ws->hot_page) >= 0 || add_copy(r, ws->hot_page)) {
            ws->hot_page = SIZE_MAX;
            ws->hot_count = 0;
        }
    }
    int any = w->ncopy > 0;
    for (int i = 0; i < GLC_SEGV_SLOTS && !any; i++)
        any = atomic_load(&sr->slots[i]) != 0;
    atomic_store(&w->hot, any);

    /* Fault-rate guard: signals cost more than whole scans would (scattered writes that do not
     * fill the slot table): make the region writable and scan it whole for a while (the
     * overflow path: re-armed after quiet scans, or after a period that doubles). */
    unsigned long faults = atomic_load(&sr->faults);
    unsigned long d = faults - w->faults_seen;
    w->faults_seen = faults;
    if (d > 64)
        d = 64;
    w->fault_ema = w->fault_ema - (w->fault_ema >> 5) + (unsigned)(d << 5); /* 1/32 */
    if (++w->armed_collects >= GLC_GUARD_MIN_COLLECTS &&
        (uint64_t)w->fault_ema * GLC_COST_SIGNAL_NS >
        (uint64_t)GLC_COST_SCAN_NS(r->npages) * GLC_GUARD_DRAWS << 10) {
        /* Bit first, then writable: the next collect scans whole (even if this fails). */
        atomic_fetch_or(&sr->overflow, GLC_SEGV_OVF_BIT);
        mprotect((void *)r->base, r->map_len, PROT_READ | PROT_WRITE);
    }
    return total;
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
    int rc = uffd_register(t->uffd, t->pagemap_fd, r->base, r->map_len, t->page_shift);
    if (rc)
        return rc;
    if (r->flags & GLC_REGION_SENTINEL) {
        rc = sentinel_init(r);
        if (rc) {
            uffd_unregister(t->uffd, r->base, r->map_len);
            return rc;
        }
    }
    return 0;
}

static void uffd_region_fini(glc_region *r)
{
    if (r->sentinel || r->win)
        sentinel_fini(r);
    if (r->t->forks == glc_fork_generation())
        uffd_unregister(r->t->uffd, r->base, r->map_len);
}

static long uffd_collect(glc_region *r, glc_run_fn fn, void *user)
{
    glc_tracker *t = r->t;
    if (t->forks != glc_fork_generation()) {
        /* A forked child: the registration did not follow us, and the pagemap descriptor
         * still names the parent's address space (scanning it would steal the parent's
         * dirty pages). Report everything. */
        glc_region_emit(r, fn, user, 0, r->npages);
        return (long)r->npages;
    }
    if (r->sentinel)
        return sentinel_collect(r, fn, user);
    atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    emit_sink e = {.base = {.cb = emit_cb}, .r = r, .fn = fn, .user = user, .first = SIZE_MAX};
    long n = scan_range(t->pagemap_fd, r->base, r->base + r->map_len, &e.base, t->page_shift);
    emit_flush(&e);
    return n;
}

static int uffd_maybe_dirty(const glc_region *r)
{
    if (!r->sentinel)
        return 1;
    glc_region *m = (glc_region *)r;
    return atomic_load_explicit(&m->segv.maybe_dirty, memory_order_relaxed) ||
           atomic_load_explicit(&m->win->hot, memory_order_relaxed) ||
           atomic_load_explicit(&m->segv.overflow, memory_order_relaxed);
}

int glc_uffd_region_scans_whole(const glc_region *r)
{
    if (!r->sentinel || !r->win)
        return 1;
    glc_region *m = (glc_region *)r;
    return r->win->plain || (atomic_load(&m->segv.overflow) & GLC_SEGV_OVF_BIT) ||
           (atomic_load_explicit(&m->win->hot, memory_order_relaxed) &&
            r->win->last_scan_pages * 2 >= r->npages);
}

void glc_uffd_sentinel_info(const glc_region *r, glc_uffd_sentinel_info_t *out)
{
    memset(out, 0, sizeof *out);
    if (!r || !r->sentinel || !r->win)
        return;
    glc_region *m = (glc_region *)r;
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        uint64_t v = atomic_load(&m->segv.slots[i]);
        if (!v)
            continue;
        unsigned k = out->windows++;
        out->win_first[k] = glc_segv_slot_first(v);
        out->win_pages[k] = glc_segv_slot_pages(v);
    }
    out->copy_pages = r->win->ncopy;
    for (unsigned j = 0; j < r->win->ncopy; j++)
        out->copy_page[j] = r->win->copy_page[j];
    out->plain = r->win->plain;
    out->overflow = (int32_t)atomic_load(&m->segv.overflow);
    out->hot = atomic_load(&m->win->hot);
    out->win_min = r->segv.win_min;
    out->win_max = r->segv.win_max;
}

const glc_backend_ops glc_backend_uffd = {
    .kind = GLC_TRACKER_UFFD,
    .tracker_init = uffd_tracker_init,
    .tracker_fini = uffd_tracker_fini,
    .region_init = uffd_region_init,
    .region_fini = uffd_region_fini,
    .collect = uffd_collect,
    .maybe_dirty = uffd_maybe_dirty,
};
