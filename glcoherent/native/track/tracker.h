/* track/tracker.h [tracking layer] - dirty-page tracking of one address range, three backends
 * behind one interface.
 *
 * Backends:
 *   GLC_TRACKER_UFFD     userfaultfd write-protect (async mode) + PAGEMAP_SCAN (Linux 6.7+)
 *   GLC_TRACKER_MPROTECT mprotect(PROT_READ) + SIGSEGV handler that unprotects and records
 *   GLC_TRACKER_COPY     no tracking: every collect reports the whole range dirty
 *   GLC_TRACKER_BEST     the best available backend: resolves to uffd, else mprotect, else
 *                        copy. Named "auto": shadows requested with it follow the adaptive
 *                        policy (core/policy.h); the backends themselves only track.
 *
 * The tracking layer's one header: what the core (core/shadow.c) uses. backend.h is what
 * tracker.c shares with the backends, sigsegv.h the SIGSEGV registry, uffd_compat.h kernel ABI;
 * none of them is for use outside track/ (but for the tests' C helpers).
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
    GLC_TRACKER_BEST = 0,
    GLC_TRACKER_UFFD = 1,
    GLC_TRACKER_MPROTECT = 2,
    GLC_TRACKER_COPY = 3,
} glc_tracker_kind;

/* Region flags. */
typedef struct glc_track_stats {
    uint64_t pages_tracked; /* pages currently under tracking */
    uint64_t write_faults;  /* faults / signals taken by this region (mprotect) */
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

/* 1 if the backend works on this machine (probed once, cached), else 0. BEST and COPY are 1. */
int glc_tracker_available(glc_tracker_kind kind);
/* BEST -> best available; an unavailable backend -> the next best available one. */
glc_tracker_kind glc_tracker_resolve(glc_tracker_kind kind);
/* "auto", "uffd", "mprotect", "copy". */
const char *glc_tracker_name(glc_tracker_kind kind);
/* Parse a name as above (case-insensitive). Returns 0, or -EINVAL. */
int glc_tracker_parse(const char *name, glc_tracker_kind *out);

/* The page size, and its log2: computed once for the whole process (sysconf; 4096 if that
 * does not give a power of two). Every layer takes it from here. */
size_t glc_page_size(void);
unsigned glc_page_shift(void);

/* Create a tracker of the resolved kind. Returns 0 or -errno. */
int glc_tracker_create(glc_tracker **out, glc_tracker_kind kind);
void glc_tracker_destroy(glc_tracker *t);
glc_tracker_kind glc_tracker_kind_of(const glc_tracker *t);

/* Start tracking [addr, addr + len); addr page aligned, len > 0 (rounded up to pages).
 * The memory must be mapped PROT_READ|PROT_WRITE (anonymous or shared memfd). All pages start
 * clean. Returns 0 or -errno (-EBUSY: range already registered elsewhere, ...). */
int glc_region_create(glc_tracker *t, void *addr, size_t len, glc_region **out);
/* Stop tracking; leaves the memory readable and writable. */
void glc_region_destroy(glc_region *r);

/* Cheap (a memory read for mprotect): 0 means certainly nothing was written since the last
 * collect. 1 means "maybe": call collect. Always 1 for copy and uffd. */
int glc_region_maybe_dirty(const glc_region *r);

/* Report every page written since the last collect through fn (may be NULL), and re-arm those
 * pages. A write racing with collect is reported now or by the next collect, never lost.
 * Returns the number of dirty pages reported, or -errno. Thread-safe per region. */
long glc_region_collect(glc_region *r, glc_run_fn fn, void *user);

/* The same as collect, for the pages that overlap [offset, offset + len) of the region only:
 * every dirty page there is reported (whole) and re-armed; pages outside keep their state for
 * a later collect. Backends that cannot look at part of a region collect it whole (copy);
 * every page reported must then be sent, as with collect. */
long glc_region_collect_range(glc_region *r, size_t offset, size_t len, glc_run_fn fn,
                              void *user);

void glc_region_get_stats(const glc_region *r, glc_track_stats *out);

/* Put glcoherent's SIGSEGV handler back on top if another one displaced it (it then chains to
 * the displacer). Hosts call it after installing a handler of their own; collects also check.
 * Returns 1 if it had to re-install, 0 if it was in place, -errno on failure. */
int glc_tracker_reassert_handler(void);
glc_tracker_kind glc_region_kind(const glc_region *r);

/* 1 when a collect now has to look at the whole region (uffd, a degraded mprotect region,
 * copy); 0 when it only looks near what was written (mprotect). */
int glc_region_scans_whole(const glc_region *r);

#endif
