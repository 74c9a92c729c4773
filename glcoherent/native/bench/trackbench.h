/* bench/trackbench.h [bench module, not shipped] - microbenchmark of the tracking backends
 * (glcoherent.bench._benchnative; the tests' C helpers are in tests/native_helpers/).
 *
 * glc_trackbench_run: for one backend and a buffer of `pages` pages it measures
 *   (a) the cost of the first write to an armed page (arm, write one byte per page, collect),
 *       the write loop and the collect timed separately;
 *   (b) the cost of collect per MiB of tracked memory when nothing was written and when every
 *       page was written (the latter includes re-arming);
 *   (c) memcpy bandwidth on buffers of the same size.
 * Each figure is the median of `reps` repetitions; clock_gettime(CLOCK_MONOTONIC).
 */
#ifndef GLC_TRACKBENCH_H
#define GLC_TRACKBENCH_H

#include <stddef.h>
#include <stdint.h>

#include "track/tracker.h"

enum {
    GLC_TRACKBENCH_MEMFD = 1u << 0,    /* MAP_SHARED memfd memory (else private anonymous) */
    GLC_TRACKBENCH_RANDOM = 1u << 2,   /* write the pages in a random order (defeats the
                                        * mprotect sequential window) */
    GLC_TRACKBENCH_POPULATE = 1u << 3, /* scenarios: fill the memory through the tracked view
                                        * (else through a second view, as shadows are) */
};

typedef struct glc_trackbench_result {
    int32_t kind;  /* backend measured (resolved) */
    int32_t error; /* 0 or -errno */
    uint64_t pages;
    uint64_t bytes;
    uint32_t reps;
    double write_ns_per_page;        /* (a) first write to an armed page */
    double collect_dirty_ns;         /* (a) collect after every page was written */
    double collect_dirty_ns_per_page;
    double collect_clean_ns;         /* collect with nothing written */
    double scan_clean_ns_per_mib;    /* (b) */
    double scan_dirty_ns_per_mib;    /* (b) */
    double memcpy_bytes_per_s;       /* (c) */
    uint64_t write_faults;           /* faults taken by the region over the run */
    uint64_t pages_reported;         /* pages reported by the dirty collects (sanity) */
} glc_trackbench_result;

/* Returns 0 or -errno (also stored in out->error). reps 0 means 5; capped at 64. */
int glc_trackbench_run(glc_tracker_kind kind, size_t pages, unsigned flags, unsigned reps,
                       glc_trackbench_result *out);

/* ---- scenarios: what the GL layer does per draw, per collect ----
 *
 * One cycle = the writes of one draw (or frame), then maybe_dirty() and, if it says so, a collect
 * whose callback copies every dirty run to a destination buffer (what a shadow flush does).
 * The same cycles run first on untracked memory (the native baseline: the writes alone).
 * Figures are per cycle: mean over `cycles` cycles, median over `reps` repetitions (after one
 * warm-up repetition).
 */
enum {
    GLC_SCEN_RING = 0,   /* op_bytes appended at a cursor that wraps around the region */
    GLC_SCEN_IDLE = 1,   /* nothing written */
    GLC_SCEN_SPARSE = 2, /* ops random whole pages rewritten */
    GLC_SCEN_BULK = 3,   /* the whole region rewritten */
    GLC_SCEN_PERIODIC = 4, /* op_bytes at a random offset every `ops` cycles */
};

typedef struct glc_trackbench_scen_result {
    int32_t kind;            /* backend measured (resolved) */
    int32_t error;           /* 0 or -errno */
    uint64_t region_bytes;
    uint64_t cycles;         /* per repetition */
    uint32_t reps;
    double cycle_ns;         /* writes + maybe_dirty + collect (+ copy), per cycle */
    double native_ns;        /* the same writes on untracked memory, per cycle */
    double overhead_ns;      /* cycle_ns - native_ns */
    double collect_ns;       /* maybe_dirty + collect (+ copy) alone, per cycle */
    double floor_ns;         /* bytes written per cycle / memcpy bandwidth */
    double memcpy_bytes_per_s;
    double faults_per_cycle; /* SIGSEGVs taken by the region */
    double scans_per_cycle;  /* collects that looked */
    double bytes_copied_per_cycle;
    int64_t vma_delta;       /* mappings added by tracking, at the end of the run */
    double cycle_median_ns;  /* median single cycle (hides the periodic costs the mean has) */
    double collect_median_ns;
    double cycle_p99_ns;
} glc_trackbench_scen_result;

/* flags: GLC_TRACKBENCH_* (MEMFD is implied: shadows are memfd). op_bytes: RING / PERIODIC
 * write size; ops: RING writes per cycle (0: 1), SPARSE pages per cycle, PERIODIC cycles per
 * write. Returns 0 or -errno. */
int glc_trackbench_scenario(glc_tracker_kind kind, unsigned flags, int scenario,
                            size_t region_bytes, size_t op_bytes, size_t ops, uint64_t cycles,
                            unsigned reps, glc_trackbench_scen_result *out);

#endif
