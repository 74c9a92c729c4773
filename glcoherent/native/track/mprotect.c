/* track/mprotect.c [tracking layer] - write tracking with mprotect(PROT_READ) and the SIGSEGV
 * handler.
 *
 * Armed pages are read-only. The handler (sigsegv.c) makes the faulting page writable (a growing
 * window for sequential writers), THEN sets its dirty bit, then the region's maybe_dirty flag.
 *
 * collect: clear maybe_dirty, TAKE the dirty bits (atomic exchange, so a bit set by a handler
 * after this point stays set), re-protect the taken runs, then report them (the caller copies
 * after the re-protect, so it sees every write made before it). Taking before protecting is
 * what makes concurrent faults safe: with "protect, then clear" a second thread whose fault on
 * a page was already being handled can unprotect the page after our protect and have its
 * (already set) bit cleared after, leaving the page writable and clean, i.e. a lost write.
 *
 * Each writable island inside a read-only mapping costs up to two VMAs; when the process nears
 * vm.max_map_count (checked at collect from a cheap estimate) or an mprotect fails, the region
 * is left writable as a whole and reported whole at every collect ("degraded").
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "track/sigsegv.h"
#include "track/backend.h"

static size_t words_of(size_t npages)
{
    return (npages + 63) / 64;
}

static int mp_region_init(glc_region *r)
{
    size_t words = words_of(r->npages);
    _Atomic uint64_t *bits = calloc(words, sizeof *bits);
    uint64_t *scratch = calloc(words, sizeof *scratch);
    if (!bits || !scratch) {
        free((void *)bits);
        free(scratch);
        return -ENOMEM;
    }
    for (size_t i = 0; i < words; i++)
        atomic_init(&bits[i], 0);
    r->scratch = scratch;
    r->segv.start = r->base;
    r->segv.end = r->base + r->map_len;
    r->segv.npages = r->npages;
    r->segv.page_shift = r->t->page_shift;
    r->segv.kind = GLC_SEGV_TRACK;
    r->segv.bits = bits;
    int rc = glc_segv_add(&r->segv);
    if (rc) {
        free((void *)bits);
        free(scratch);
        r->scratch = NULL;
        return rc;
    }
    r->has_segv = 1;
    if (mprotect((void *)r->base, r->map_len, PROT_READ) != 0) {
        rc = -errno;
        glc_segv_remove(&r->segv);
        r->has_segv = 0;
        free((void *)bits);
        free(scratch);
        r->scratch = NULL;
        return rc;
    }
    return 0;
}

static void mp_region_fini(glc_region *r)
{
    mprotect((void *)r->base, r->map_len, PROT_READ | PROT_WRITE);
    if (r->has_segv)
        glc_segv_remove(&r->segv);
    r->has_segv = 0;
    free((void *)r->segv.bits);
    free(r->scratch);
}

static long degrade(glc_region *r, glc_run_fn fn, void *user)
{
    mprotect((void *)r->base, r->map_len, PROT_READ | PROT_WRITE);
    atomic_store(&r->segv.degraded, 1);
    atomic_store(&r->segv.maybe_dirty, 1);
    glc_region_emit(r, fn, user, 0, r->npages);
    return (long)r->npages;
}

/* First set bit at or after `from` in bm (npages bits); npages if none. */
static size_t find_set(const uint64_t *bm, size_t npages, size_t from)
{
    while (from < npages) {
        uint64_t w = bm[from / 64] >> (from % 64);
        if (w)
            return from + (size_t)__builtin_ctzll(w);
        from = (from / 64 + 1) * 64;
    }
    return npages;
}

/* First clear bit at or after `from`; npages if none. */
static size_t find_clear(const uint64_t *bm, size_t npages, size_t from)
{
    while (from < npages) {
        uint64_t w = ~bm[from / 64] >> (from % 64);
        if (w) {
            size_t p = from + (size_t)__builtin_ctzll(w);
            return p < npages ? p : npages;
        }
        from = (from / 64 + 1) * 64;
    }
    return npages;
}

static long mp_collect(glc_region *r, glc_run_fn fn, void *user)
{
    /* Something may have displaced our handler since the last collect. */
    glc_segv_ensure_installed();

    if (atomic_load(&r->segv.degraded))
        return degrade(r, fn, user);
    if (!atomic_load(&r->segv.maybe_dirty))
        return 0;
    atomic_store(&r->segv.maybe_dirty, 0);
    if (glc_segv_vma_pressure())
        return degrade(r, fn, user);
    atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);

    size_t words = words_of(r->npages), shift = r->t->page_shift;
    int any = 0;
    for (size_t i = 0; i < words; i++) {
        r->scratch[i] = atomic_exchange(&r->segv.bits[i], 0);
        any |= r->scratch[i] != 0;
    }
    if (!any)
        return 0;

    for (size_t p = find_set(r->scratch, r->npages, 0); p < r->npages;) {
        size_t e = find_clear(r->scratch, r->npages, p);
        if (mprotect((void *)(r->base + (p << shift)), (e - p) << shift, PROT_READ) != 0)
            return degrade(r, fn, user);
        p = find_set(r->scratch, r->npages, e);
    }

    long total = 0;
    for (size_t p = find_set(r->scratch, r->npages, 0); p < r->npages;) {
        size_t e = find_clear(r->scratch, r->npages, p);
        glc_region_emit(r, fn, user, p, e - p);
        total += (long)(e - p);
        p = find_set(r->scratch, r->npages, e);
    }
    return total;
}

/* Pages [first, first + count) only: take their bits, re-protect, report. maybe_dirty stays as
 * it is (pages outside may still be dirty). */
static long mp_collect_range(glc_region *r, size_t first, size_t count, glc_run_fn fn,
                             void *user)
{
    glc_segv_ensure_installed();
    if (atomic_load(&r->segv.degraded) || glc_segv_vma_pressure())
        return degrade(r, fn, user);
    if (!atomic_load(&r->segv.maybe_dirty))
        return 0;
    atomic_fetch_add_explicit(&r->scans, 1, memory_order_relaxed);
    size_t end = first + count, shift = r->t->page_shift;
    size_t w0 = first / 64, w1 = (end + 63) / 64;
    int any = 0;
    for (size_t i = w0; i < w1; i++) {
        uint64_t mask = ~0ull;
        if (i == first / 64)
            mask &= ~0ull << (first % 64);
        if (i == (end - 1) / 64 && end % 64)
            mask &= ~0ull >> (64 - end % 64);
        r->scratch[i] = atomic_fetch_and(&r->segv.bits[i], ~mask) & mask;
        any |= r->scratch[i] != 0;
    }
    if (!any)
        return 0;
    for (size_t p = find_set(r->scratch, end, first); p < end;) {
        size_t e = find_clear(r->scratch, end, p);
        if (mprotect((void *)(r->base + (p << shift)), (e - p) << shift, PROT_READ) != 0) {
            /* Not re-protected: give the bits back so the pages stay reported. */
            for (size_t i = w0; i < w1; i++)
                atomic_fetch_or(&r->segv.bits[i], r->scratch[i]);
            return degrade(r, fn, user);
        }
        p = find_set(r->scratch, end, e);
    }
    long total = 0;
    for (size_t p = find_set(r->scratch, end, first); p < end;) {
        size_t e = find_clear(r->scratch, end, p);
        glc_region_emit(r, fn, user, p, e - p);
        total += (long)(e - p);
        p = find_set(r->scratch, end, e);
    }
    return total;
}

static int mp_maybe_dirty(const glc_region *r)
{
    glc_region *m = (glc_region *)r;
    return atomic_load(&m->segv.maybe_dirty) || atomic_load(&m->segv.degraded);
}

/* Degraded (near the process mapping limit): every collect reports the whole range. */
static int mp_scans_whole(const glc_region *r)
{
    return atomic_load(&((glc_region *)r)->segv.degraded);
}

const glc_backend_ops glc_backend_mprotect = {
    .kind = GLC_TRACKER_MPROTECT,
    .region_init = mp_region_init,
    .region_fini = mp_region_fini,
    .collect = mp_collect,
    .collect_range = mp_collect_range,
    .maybe_dirty = mp_maybe_dirty,
    .probe = glc_segv_available,
    .scans_whole = mp_scans_whole,
};
