/* track/sentinel.c [tracking layer] - the uffd backend's sentinel mode (GLC_REGION_SENTINEL):
 * hot windows, pages copied blindly, whole scans after scattered writes, the fault-rate guard.
 *
 * The region is kept PROT_READ (besides its userfaultfd write-protection, uffd.c), except
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
 * (read(2)) into a read-only page fail with EFAULT: the owner opts in. Shadows never do
 * (core/policy.c: range-exact flushes made the sentinel unnecessary and it broke kernel
 * writes); the mode stays for `bench track` comparisons and its tests.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "track/sigsegv.h"
#include "track/uffd.h"

/* ---------------------------------------------------------------- sentinel windows */

/* Tunables (see the top of this file). Tests and the benchmark may change them
 * (glc_uffd_set_params) for regions created afterwards. */
static size_t g_win_min = 16;      /* pages of a first window */
static size_t g_win_max = 128;     /* pages of a sequential writer's window */
static unsigned g_win_decay = 2;   /* clean collects before a window is re-protected */
static unsigned g_copy_after = 3;  /* collects in a row a page must be dirty to be copied */
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

int glc_sentinel_init(glc_region *r)
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

void glc_sentinel_fini(glc_region *r)
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

/* Scan pages [a, b) of r through e. Returns pages reported or -errno. */
static long scan_pages(glc_region *r, glc_emit_sink *e, size_t a, size_t b)
{
    unsigned shift = r->t->page_shift;
    return glc_uffd_scan_range(r->t->pagemap_fd, r->base + (a << shift), r->base + (b << shift), &e->base,
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

/* Entering plain mode: blindly copied pages are ordinary writable pages now (the whole scans
 * report them when written); windows mean nothing. The period doubles while overflows come
 * back soon after re-arming. */
static void enter_plain(struct glc_uffd_win *w)
{
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

/* The whole region is (or may be) writable: scan it whole; re-arm when the time has come. */
static long plain_collect(glc_region *r, glc_run_fn fn, void *user)
{
    struct glc_uffd_win *w = r->win;
    glc_segv_range *sr = &r->segv;
    if (!w->plain)
        enter_plain(w);
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
    glc_emit_sink e = {.base = {.cb = glc_emit_cb}, .r = r, .fn = fn, .user = user, .first = SIZE_MAX};
    long n = scan_pages(r, &e, 0, r->npages);
    glc_emit_flush(&e);
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

/* One collect's view of the windows and the blindly copied pages, shared by its steps. */
typedef struct sentinel_plan {
    uint64_t cur[GLC_SEGV_SLOTS];          /* snapshot of the slot table */
    unsigned char retire[GLC_SEGV_SLOTS];  /* window re-protected and dropped now */
    unsigned char fresh[GLC_SEGV_SLOTS];   /* recorded since the previous collect */
    ivl live[IVL_CAP], gone[IVL_CAP], scan[IVL_CAP];
    size_t nlive, ngone, nscan;
    int any_retire;
    ivl copies[GLC_COPY_MAX];              /* copied pages reported whole (not scanned) */
    size_t ncopies;
    unsigned char copy_gone[GLC_COPY_MAX];  /* going back to tracking in this collect */
    unsigned char copy_moved[GLC_COPY_MAX]; /* ... because a window opened right after */
} sentinel_plan;

static void plan_reset(sentinel_plan *p)
{
    p->nlive = p->ngone = p->nscan = p->ncopies = 0;
    p->any_retire = 0;
    memset(p->retire, 0, sizeof p->retire);
    memset(p->fresh, 0, sizeof p->fresh);
    memset(p->copy_gone, 0, sizeof p->copy_gone);
    memset(p->copy_moved, 0, sizeof p->copy_moved);
}

/* Step 1a: snapshot the windows; decide which are re-protected now (clean for g_win_decay
 * collects and not being opened by a handler). */
static void plan_windows(glc_region *r, sentinel_plan *p)
{
    struct glc_uffd_win *w = r->win;
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        uint64_t v = atomic_load(&r->segv.slots[i]);
        p->cur[i] = v;
        if (!v) {
            w->w[i].val = 0;
            continue;
        }
        uint64_t base = v & ~GLC_SEGV_SLOT_PENDING;
        if (w->w[i].val != base) {
            w->w[i] = (win_state){.val = base, .hot_page = SIZE_MAX};
            p->fresh[i] = 1;
        }
        size_t a = glc_segv_slot_first(v), b = a + glc_segv_slot_pages(v);
        p->scan[p->nscan++] = (ivl){a, b};
        if (!(v & GLC_SEGV_SLOT_PENDING) && w->w[i].clean >= g_win_decay) {
            p->retire[i] = 1;
            p->any_retire = 1;
            p->gone[p->ngone++] = (ivl){a, b};
        } else {
            p->live[p->nlive++] = (ivl){a, b};
        }
    }
}

/* Step 1b: blindly copied pages: those going back to tracking are re-protected (unless a live
 * window keeps them writable) and scanned once more; the others are reported whole. */
static void plan_copies(glc_region *r, sentinel_plan *p)
{
    struct glc_uffd_win *w = r->win;
    for (unsigned j = 0; j < w->ncopy; j++) {
        size_t pg = w->copy_page[j];
        /* A new window at the next page: its small writer has moved on (hint_page); this one
         * goes back now, in the same scan as that window. */
        for (int i = 0; i < GLC_SEGV_SLOTS && !w->copy_retire[j]; i++)
            if (p->fresh[i] && glc_segv_slot_first(p->cur[i]) == pg + 1)
                w->copy_retire[j] = p->copy_moved[j] = 1;
        if (w->copy_retire[j]) {
            p->copy_gone[j] = 1;
            p->gone[p->ngone++] = (ivl){pg, pg + 1};
            p->scan[p->nscan++] = (ivl){pg, pg + 1};
            p->any_retire = 1;
        } else {
            p->live[p->nlive++] = (ivl){pg, pg + 1};
            p->copies[p->ncopies++] = (ivl){pg, pg + 1};
        }
    }
}

/* Step 2: re-protect what is dropped, BEFORE its last scan. */
static void reprotect_dropped(glc_region *r, sentinel_plan *p)
{
    if (!p->any_retire) {
        segv_check(r->win, 0);
        return;
    }
    segv_check(r->win, 1);
    ivl keep[IVL_CAP], ro[IVL_CAP];
    memcpy(keep, p->live, p->nlive * sizeof *keep);
    size_t nro = ivl_subtract(p->gone, p->ngone, 0, keep, p->nlive, ro);
    for (size_t k = 0; k < nro; k++) {
        if (protect_pages(r, ro[k].a, ro[k].b, PROT_READ) != 0) {
            /* Cannot re-protect (out of mappings): scan it whole from now on. */
            atomic_fetch_or(&r->segv.overflow, GLC_SEGV_OVF_BIT);
            atomic_store(&r->segv.maybe_dirty, 1);
            break;
        }
    }
}

/* Step 3: scan the windows (nearby ones together), minus the blindly copied pages, and report
 * those pages in between, in ascending order. Returns pages reported or -errno. */
static long scan_windows(glc_region *r, sentinel_plan *p, glc_emit_sink *e)
{
    struct glc_uffd_win *w = r->win;
    ivl keep[IVL_CAP], ro[IVL_CAP];
    memcpy(keep, p->copies, p->ncopies * sizeof *keep);
    size_t nseg = ivl_subtract(p->scan, p->nscan, GLC_SCAN_GAP, keep, p->ncopies, ro);
    ivl_sort(p->copies, p->ncopies);
    long total = 0;
    size_t c = 0;
    if (nseg)
        atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    w->last_scan_pages = 0;
    for (size_t k = 0; k < nseg; k++)
        w->last_scan_pages += ro[k].b - ro[k].a;
    for (size_t k = 0; k <= nseg; k++) {
        size_t a = k < nseg ? ro[k].a : SIZE_MAX;
        while (c < p->ncopies && p->copies[c].a < a) {
            glc_emit_pages(e, p->copies[c].a, p->copies[c].b);
            total += 1;
            c++;
        }
        if (k == nseg)
            break;
        long n = scan_pages(r, e, ro[k].a, ro[k].b);
        if (n < 0) {
            /* Keep everything as it is; the next collect scans again. */
            glc_emit_flush(e);
            atomic_store(&r->segv.maybe_dirty, 1);
            return n;
        }
        total += n;
    }
    glc_emit_flush(e);
    return total;
}

/* Step 4a: drop re-protected windows, age the others (clean count, the page a writer keeps
 * ending on). */
static void age_windows(glc_region *r, const sentinel_plan *p, const glc_emit_sink *e)
{
    struct glc_uffd_win *w = r->win;
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        if (!p->cur[i])
            continue;
        if (p->retire[i]) {
            atomic_store(&r->segv.slots[i], 0); /* not pending: only we change it */
            w->w[i].val = 0;
            continue;
        }
        win_state *ws = &w->w[i];
        if (!e->dirty[i]) {
            ws->clean++;
            ws->hot_page = SIZE_MAX;
            ws->hot_count = 0;
            continue;
        }
        ws->clean = 0;
        size_t last = e->last_dirty[i];
        if (last == ws->hot_page) {
            ws->hot_count++;
        } else {
            ws->hot_page = last;
            ws->hot_count = 1;
        }
    }
}

/* Step 4b: the page after a copied one was written: that writer has moved on, to that page
 * (which is copied blindly from now on if a live window keeps it writable). Pages that went
 * back to tracking in this collect (re-protected and scanned above) are removed; flags set
 * since then take effect at the next collect. */
static void move_copies(glc_region *r, const sentinel_plan *p, const glc_emit_sink *e)
{
    struct glc_uffd_win *w = r->win;
    size_t handoff[GLC_COPY_MAX];
    unsigned nhandoff = 0;
    for (unsigned j = 0; j < w->ncopy; j++) {
        if (!e->next_dirty[j] || (p->copy_gone[j] && !p->copy_moved[j]) ||
            (!p->copy_gone[j] && w->copy_retire[j]))
            continue;
        if (!p->copy_gone[j])
            w->copy_retire[j] = 1; /* back to tracking at the next collect */
        handoff[nhandoff++] = w->copy_page[j] + 1;
    }
    unsigned m = 0;
    for (unsigned j = 0; j < w->ncopy; j++) {
        if (p->copy_gone[j])
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
            uint64_t v = p->cur[i];
            if (!v || p->retire[i] || (v & GLC_SEGV_SLOT_PENDING) ||
                next < glc_segv_slot_first(v) ||
                next >= glc_segv_slot_first(v) + glc_segv_slot_pages(v))
                continue;
            if (add_copy(r, next) && w->w[i].hot_page == next) {
                w->w[i].hot_page = SIZE_MAX;
                w->w[i].hot_count = 0;
            }
            break;
        }
    }
}

/* Step 4c: a copied page unchanged over GLC_COPY_CHECK collects goes back to tracking; a
 * page a window's writer ended on g_copy_after collects in a row is copied from now on. */
static void check_and_add_copies(glc_region *r, const sentinel_plan *p)
{
    struct glc_uffd_win *w = r->win;
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
    for (int i = 0; i < GLC_SEGV_SLOTS; i++) {
        win_state *ws = &w->w[i];
        if (!p->cur[i] || p->retire[i] || (p->cur[i] & GLC_SEGV_SLOT_PENDING) ||
            ws->hot_count < g_copy_after)
            continue;
        if (copy_index(w, ws->hot_page) >= 0 || add_copy(r, ws->hot_page)) {
            ws->hot_page = SIZE_MAX;
            ws->hot_count = 0;
        }
    }
}

/* Step 5, the fault-rate guard: signals cost more than whole scans would (scattered writes
 * that do not fill the slot table): make the region writable and scan it whole for a while
 * (the overflow path: re-armed after quiet scans, or after a period that doubles). */
static void fault_guard(glc_region *r)
{
    struct glc_uffd_win *w = r->win;
    glc_segv_range *sr = &r->segv;
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
}

long glc_sentinel_collect(glc_region *r, glc_run_fn fn, void *user)
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

    sentinel_plan p;
    plan_reset(&p);
    plan_windows(r, &p);
    plan_copies(r, &p);
    reprotect_dropped(r, &p);
    glc_emit_sink e = {.base = {.cb = glc_emit_cb}, .r = r, .fn = fn, .user = user,
                       .first = SIZE_MAX, .slots = p.cur, .copy_page = w->copy_page,
                       .ncopy = w->ncopy};
    for (int i = 0; i < GLC_SEGV_SLOTS; i++)
        e.last_dirty[i] = SIZE_MAX;
    long total = scan_windows(r, &p, &e);
    if (total < 0)
        return total;
    age_windows(r, &p, &e);
    move_copies(r, &p, &e);
    check_and_add_copies(r, &p);
    int any = w->ncopy > 0;
    for (int i = 0; i < GLC_SEGV_SLOTS && !any; i++)
        any = atomic_load(&sr->slots[i]) != 0;
    atomic_store(&w->hot, any);
    fault_guard(r);
    return total;
}

int glc_sentinel_maybe_dirty(const glc_region *r)
{
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

