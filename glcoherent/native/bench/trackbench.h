/* bench/trackbench.h [bench module, not shipped] - microbenchmark of the tracking backends, plus
 * small helpers for the tests.
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
    GLC_TRACKBENCH_SENTINEL = 1u << 1, /* uffd: GLC_REGION_SENTINEL */
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

/* ---- test helpers (used by tests/test_tracker.py; not part of the library API) ---- */

/* Install a SIGSEGV handler that resolves write faults in [addr, addr + len) by making that
 * range writable, counts every call, and passes every other fault to the handler it displaced
 * (called the way the kernel would). Returns 0 or -errno. Re-installing replaces the range and
 * chains to whatever is installed at that time. */
int glc_test_install_foreign_segv_handler(void *addr, size_t len);
/* Calls of that handler: total, and those it resolved itself. */
unsigned long glc_test_foreign_segv_calls(void);
unsigned long glc_test_foreign_segv_own(void);

/* Pseudo-random 4-byte writes (value = tag << 24 | counter) at random offsets of
 * [base, base + len), `iters` of them. Deterministic for a seed. Returns iters. */
uint64_t glc_test_random_writes(void *base, size_t len, uint64_t seed, uint64_t iters,
                                uint32_t tag);

/* Records of rec_bytes (filled with tag << 24 | counter) appended at a cursor that wraps
 * around [base, base + len), `count` of them: a ring writer. Returns count. */
uint64_t glc_test_ring_writes(void *base, size_t len, size_t rec_bytes, uint64_t count,
                              uint32_t tag);

/* A SIGSEGV handler that escapes with siglongjmp when armed (else chains to the one it
 * displaced), and a probe that writes one byte at addr: 1 if that faulted, 0 if not. */
int glc_test_install_jmp_probe_handler(void);
int glc_test_jmp_probe(void *addr);

/* sigsegv.c internals the tests look at (sigsegv.h stays out of the binding). */
int glc_test_segv_installed(void);            /* our SIGSEGV handler is the installed one */
int glc_test_segv_ensure_installed(void);     /* glc_segv_ensure_installed() */
unsigned long glc_test_segv_reinstalls(void); /* times the handler had to be put back */
unsigned glc_test_segv_max_window(void);      /* GLC_SEGV_MAX_WINDOW */
void glc_test_set_max_map_count(long n);      /* pretend vm.max_map_count is n (<= 0: real) */

/* Registry of the SIGSEGV handler (sigsegv.c): 1 if this copy serves itself, the registry in
 * use (an opaque pointer, equal across copies that share one), the serving handler. */
int glc_test_segv_serves_itself(void);
const void *glc_test_segv_registry(void);
void *glc_test_segv_handler(void);

/* uffd sentinel regions (track/uffd.c). */
typedef struct glc_test_sentinel_state {
    int32_t windows;      /* recorded windows */
    int32_t copy_pages;   /* pages copied blindly */
    int32_t plain;        /* 1: overflowed, scanned whole */
    int32_t overflow;     /* overflow word (bit 0: whole region writable) */
    int32_t hot;          /* maybe_dirty says 1 because of windows / copies / plain mode */
    uint64_t win_min, win_max;
    uint64_t win_first[32], win_pages[32];
    uint64_t copy_page[8];
} glc_test_sentinel_state;
void glc_test_sentinel_state_of(const glc_region *r, glc_test_sentinel_state *out);
/* Window sizes (pages), clean collects before re-protection, dirty collects in a row before a
 * page is copied blindly, for regions created afterwards; 0 = default. */
void glc_test_set_sentinel_params(size_t win_min, size_t win_max, unsigned decay,
                                  unsigned copy_after);

/* glc_region_collect with a callback that copies each dirty run from src to dst (same offsets),
 * i.e. what a shadow flush does. Returns what collect returned. */
long glc_test_collect_copy(glc_region *r, const void *src, void *dst);

#endif
