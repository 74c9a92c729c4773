/* core/policy.h [core layer] - the adaptive policy: how each shadow is tracked over its life.
 *
 * Two words, two ideas:
 *   - the best available backend (GLC_TRACKER_BEST, track/tracker.h) is chosen once per tracker
 *     from what the machine offers: uffd, else mprotect, else copy;
 *   - the adaptive policy (GLC_POLICY_ADAPTIVE, here) is what a shadow follows when the user
 *     asked for "auto" (GLC_TRACKER_BEST): per shadow and over its life it decides
 *       (1) how a range flush (the bytes one command may read, found by the GL layer) is
 *           done: copied blindly when small, else the dirty pages among them are collected
 *           (glc_policy_range_blind);
 *       (2) when a tracked shadow switches to whole copy and when it goes back to tracking to
 *           measure again (glc_policy_after_flush).
 *     Nothing write-protects a page beyond what the backend needs to track it, so kernel
 *     writes into mappings (read(2)) work under every policy.
 * A shadow created for a named backend has the fixed policy: tracked by it for life (or copied
 * whole for the copy backend), never switched.
 *
 * The policy only decides; the shadow (core/shadow.c) carries the decisions out.
 */
#ifndef GLC_POLICY_H
#define GLC_POLICY_H

#include <stddef.h>

#include "track/tracker.h"

/* Whole-copy switch: this many flushes in a row that each found more than half of the pages
 * dirty send a tracked shadow to whole copy (no faults, no scans). */
#define GLC_SHADOW_HOT_FLUSHES 3
/* Copy mode lasts this many flushes, then the shadow is tracked again to measure. */
#define GLC_SHADOW_WHOLE_PROBE 64
/* ... doubling up to this while probes end in whole-copy mode again within a few flushes. */
#define GLC_SHADOW_WHOLE_PROBE_MAX 4096
/* Adaptive shadows up to this size go to whole-copy mode as soon as their tracker scans them whole
 * (a whole copy of 64 KiB, ~0.6 us, is cheaper than a scan). */
#define GLC_SHADOW_SMALL_WHOLE_BYTES (64u * 1024u)

/* Range flushes (what one command may read, gl/): up to this many bytes an adaptive shadow
 * copies them blindly instead of looking for dirty pages among them (a PAGEMAP_SCAN costs about
 * a system call, ~1 us here; memcpy moves 8 KiB in ~0.5 us). Blind copies leave the pages
 * marked written: a later whole flush sends them again (correct, counted as amplification). */
#define GLC_POLICY_BLIND_BYTES (8u * 1024u)

typedef enum glc_policy_kind {
    GLC_POLICY_FIXED = 0,    /* the requested backend, for life */
    GLC_POLICY_ADAPTIVE = 1, /* decisions (1) and (2) above */
} glc_policy_kind;

/* The backend an instance asking for `want` gets. For "auto" (GLC_TRACKER_BEST): uffd where the
 * machine has it; else mprotect only when every kernel write into mappings is prepared for
 * (kernel_writes_wrapped: the interposer wraps the libc calls), because a kernel write into an
 * mprotect-armed page fails with EFAULT; else copy, which the range flushes make usable for
 * bounded draws. A named backend: itself, or the next available one (glc_tracker_resolve). */
glc_tracker_kind glc_policy_backend(glc_tracker_kind want, int kernel_writes_wrapped);

/* The policy of a shadow requested with `kind`: adaptive for GLC_TRACKER_BEST ("auto"). */
glc_policy_kind glc_policy_for(glc_tracker_kind kind);

/* One shadow's policy state. */
typedef struct glc_policy {
    glc_policy_kind kind;
    unsigned hot_flushes;     /* consecutive flushes with > half the pages dirty */
    unsigned whole_flushes;    /* flushes since entering whole-copy mode */
    unsigned whole_len;        /* flushes to stay in whole-copy mode (0: GLC_SHADOW_WHOLE_PROBE) */
    unsigned tracked_flushes; /* flushes since tracking (re)started */
} glc_policy;

void glc_policy_init(glc_policy *p, glc_tracker_kind kind);

typedef enum glc_policy_action {
    GLC_POLICY_STAY = 0,       /* keep the current mode */
    GLC_POLICY_TO_WHOLE = 1,    /* drop the region: copy the shadow whole at every flush */
    GLC_POLICY_TO_TRACKED = 2, /* create a region again (the shadow was just flushed whole) */
} glc_policy_action;

/* After a flush of a shadow of map_len bytes that found dirty_pages of its total_pages dirty;
 * region: its tracked region, NULL in whole-copy mode. */
glc_policy_action glc_policy_after_flush(glc_policy *p, const glc_region *region, size_t map_len,
                                         size_t dirty_pages, size_t total_pages);

/* A range flush of len bytes on a shadow tracked by region (NULL: whole-copy mode): 1 to copy the
 * bytes blindly, 0 to collect the dirty pages among them. Copy mode and the copy backend copy
 * (they track nothing); a named tracker always looks (fixed policy); the adaptive policy copies
 * up to GLC_POLICY_BLIND_BYTES. */
int glc_policy_range_blind(const glc_policy *p, const glc_region *region, size_t len);

/* The shadow carried out GLC_POLICY_TO_TRACKED (its region exists again). */
void glc_policy_tracking_again(glc_policy *p);

#endif
