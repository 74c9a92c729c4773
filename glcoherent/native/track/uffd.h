/* track/uffd.h [tracking layer] - what the uffd backend (uffd.c) shares with its sentinel
 * mode (sentinel.c): the PAGEMAP_SCAN loop and the emission of dirty runs. Private to track/.
 */
#ifndef GLC_TRACK_UFFD_H
#define GLC_TRACK_UFFD_H

#include <stddef.h>
#include <stdint.h>

#include "track/backend.h"

/* Pages copied blindly per sentinel region (sentinel.c). */
#define GLC_COPY_MAX 4

typedef struct glc_scan_sink {
    void (*cb)(struct glc_scan_sink *s, uintptr_t start, uintptr_t end);
} glc_scan_sink;

/* Scan [start, end) for written pages, re-protecting them; sink->cb gets each reported range
 * (ascending; adjacent ranges of consecutive calls are not merged). Returns pages or -errno. */
long glc_uffd_scan_range(int pagemap_fd, uintptr_t start, uintptr_t end, glc_scan_sink *sink,
                         size_t page_shift);

/* Emission: runs in pages, ascending; adjacent runs are coalesced before they are reported.
 * For sentinel regions the runs are also attributed to the windows scanned. */
typedef struct glc_emit_sink {
    glc_scan_sink base;
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
} glc_emit_sink;

static inline void glc_emit_pages(glc_emit_sink *e, size_t a, size_t b)
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

static inline void glc_emit_flush(glc_emit_sink *e)
{
    if (e->first != SIZE_MAX)
        glc_region_emit(e->r, e->fn, e->user, e->first, e->end - e->first);
    e->first = SIZE_MAX;
}

/* The glc_scan_sink callback of a glc_emit_sink. */
void glc_emit_cb(glc_scan_sink *s, uintptr_t start, uintptr_t end);

/* Sentinel mode (GLC_REGION_SENTINEL, sentinel.c). */
int glc_sentinel_init(glc_region *r);
void glc_sentinel_fini(glc_region *r);
long glc_sentinel_collect(glc_region *r, glc_run_fn fn, void *user);
int glc_sentinel_maybe_dirty(const glc_region *r);
/* 1 while collects scan the whole region (or most of it: hot windows covering half); 1 for a
 * region without the sentinel. */
int glc_uffd_region_scans_whole(const glc_region *r);

#endif
