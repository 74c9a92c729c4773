/* tracker.h - dirty-page tracking of one address range, three backends behind one interface.
 *
 * Backends:
 *   GLC_TRACKER_UFFD     userfaultfd write-protect (async mode) + PAGEMAP_SCAN (Linux 6.7+)
 *   GLC_TRACKER_MPROTECT mprotect(PROT_READ) + SIGSEGV handler that unprotects and records
 *   GLC_TRACKER_COPY     no tracking: every collect reports the whole range dirty
 *   GLC_TRACKER_AUTO     resolves to the best available of the above (uffd, then mprotect)
 *
 * A glc_tracker owns the per-instance resources (the userfaultfd descriptor); there may be
 * several trackers in one process (one per glcoherent instance). The SIGSEGV handler is process
 * wide by nature; its table of protected ranges is internal to sigsegv.c and thread-safe.
 */
#ifndef GLC_TRACKER_H
#define GLC_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef enum glc_tracker_kind {
    GLC_TRACKER_AUTO = 0,
    GLC_TRACKER_UFFD = 1,
    GLC_TRACKER_MPROTECT = 2,
    GLC_TRACKER_COPY = 3,
} glc_tracker_kind;

/* Region flags. */
enum {
    /* uffd only: also keep the whole armed region PROT_READ so that the first user-space write
     * after a collect raises one SIGSEGV that sets the maybe-dirty flag and restores write
     * access; a clean check then costs a memory read instead of a scan. Kernel writes
     * (read(2) into the range) fail with EFAULT while armed, so this is opt-in. */
    GLC_REGION_SENTINEL = 1u << 0,
};

typedef struct glc_track_stats {
    uint64_t pages_tracked; /* pages currently under tracking */
    uint64_t write_faults;  /* faults / signals taken by this region (mprotect, sentinel) */
    uint64_t scans;         /* collect calls that had to look (scan page tables or bitmap) */
    uint64_t pages_dirty;   /* pages reported dirty, cumulative */
    uint64_t degraded;      /* 1: tracking gave up on this region (mprotect near the process
                             * mapping limit); every collect reports the whole range */
} glc_track_stats;

/* Called once per dirty run: byte offset from the region start and length, both multiples of
 * the page size (the last run is clipped to the region length), ascending, coalesced. */
typedef void (*glc_run_fn)(void *user, size_t offset, size_t length);

typedef struct glc_tracker glc_tracker;
typedef struct glc_region glc_region;

/* 1 if the backend works on this machine (probed once, cached), else 0. AUTO and COPY are 1. */
int glc_tracker_available(glc_tracker_kind kind);
/* AUTO -> best available; an unavailable backend -> the next best available one. */
glc_tracker_kind glc_tracker_resolve(glc_tracker_kind kind);
/* "auto", "uffd", "mprotect", "copy". */
const char *glc_tracker_name(glc_tracker_kind kind);
/* Parse a name as above (case-insensitive). Returns 0, or -EINVAL. */
int glc_tracker_parse(const char *name, glc_tracker_kind *out);

/* Create a tracker of the resolved kind. Returns 0 or -errno. */
int glc_tracker_create(glc_tracker **out, glc_tracker_kind kind);
void glc_tracker_destroy(glc_tracker *t);
glc_tracker_kind glc_tracker_kind_of(const glc_tracker *t);

/* Start tracking [addr, addr + len); addr page aligned, len > 0 (rounded up to pages).
 * The memory must be mapped PROT_READ|PROT_WRITE (anonymous or shared memfd). All pages start
 * clean. Returns 0 or -errno (-EBUSY: range already registered elsewhere, ...). */
int glc_region_create(glc_tracker *t, void *addr, size_t len, unsigned flags, glc_region **out);
/* Stop tracking; leaves the memory readable and writable. */
void glc_region_destroy(glc_region *r);

/* Cheap (a memory read for mprotect/sentinel): 0 means certainly nothing was written since
 * the last collect. 1 means "maybe": call collect. Always 1 for copy and plain uffd. */
int glc_region_maybe_dirty(const glc_region *r);

/* Report every page written since the last collect through fn (may be NULL), and re-arm those
 * pages. A write racing with collect is reported now or by the next collect, never lost.
 * Returns the number of dirty pages reported, or -errno. Thread-safe per region. */
long glc_region_collect(glc_region *r, glc_run_fn fn, void *user);

void glc_region_get_stats(const glc_region *r, glc_track_stats *out);
glc_tracker_kind glc_region_kind(const glc_region *r);

#endif
