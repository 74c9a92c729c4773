/* core/shadow.h [core layer] - a low-address shadow of one mapped GL buffer range.
 *
 * The shadow's pages come from a memfd (close-on-exec, nothing on disk, not openable by other
 * processes) mapped twice: the client view lies in the arena (below the limit) and is what the
 * application gets; the internal view lies anywhere and is how the library writes GPU data back
 * without tripping its own write tracking. The client view is tracked by a glc_region.
 *
 * Data layout: the shadow holds `length` bytes starting `lead` bytes into its first page, so
 * that the client pointer keeps the alignment of the GL map offset (lead = offset % page).
 *
 * Exchange with the real buffer:
 *  - flush: bytes the client wrote since the last exchange go to the real buffer. Without a
 *    reference copy, whole dirty pages go down (exact as long as nobody else wrote the real
 *    buffer); with a reference copy (merge mode) only bytes that differ from it go down.
 *  - copy-back: bytes of the real buffer come up into the shadow through the internal view.
 *    In merge mode only bytes that differ from the reference come up, so client bytes written
 *    to the same page since the last exchange survive.
 *
 * How the shadow is tracked (by its region, or copied whole) is decided by the policy
 * (core/policy.h): adaptive for GLC_TRACKER_BEST ("auto"), fixed for a named backend.
 *
 * A shadow is used by one thread at a time (the GL layer serialises per share group); the client
 * may write from any thread at any time.
 */
#ifndef GLC_SHADOW_H
#define GLC_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "track/tracker.h"

typedef struct glc_shadow glc_shadow;

typedef struct glc_shadow_stats {
    uint64_t length;            /* bytes shadowed */
    uint64_t flushes;           /* flush calls that found something to copy */
    uint64_t bytes_flushed;     /* bytes copied to the real buffer */
    uint64_t copy_backs;        /* copy-back calls */
    uint64_t bytes_read_back;   /* bytes copied into the shadow */
    uint64_t mode_switches;     /* tracked <-> copy switches */
    uint64_t pages_tracked;     /* from the tracker */
    uint64_t write_faults;
    uint64_t scans;
    uint64_t pages_dirty;
    int32_t tracker;            /* glc_tracker_kind in use now */
    int32_t merge;              /* 1 when a reference copy is kept */
} glc_shadow_stats;

/* Receives one run of bytes to write into the real buffer: offset relative to the mapped range
 * start (the GL map offset), source pointer, length. */
typedef void (*glc_copy_fn)(void *user, size_t offset, const void *src, size_t length);

/* Create a shadow of `length` bytes with `lead` bytes of offset into the first page.
 * kind: GLC_TRACKER_BEST (the adaptive policy on `tracker`, core/policy.h; with tracker NULL
 * or on the copy backend, whole-copy mode for life), UFFD or MPROTECT (regions are created on
 * `tracker`, fixed policy), or COPY (whole-copy mode for life; tracker may be NULL). Shadows
 * never create a region on the copy backend: "copy" for a shadow is whole-copy mode.
 * Returns 0 or -errno (-ENOMEM when the arena is exhausted). */
int glc_shadow_create(glc_arena *arena, glc_tracker *tracker, glc_tracker_kind kind,
                      size_t length, size_t lead, glc_shadow **out);
void glc_shadow_destroy(glc_shadow *s);
/* Reuse a shadow of the copy kind (no region, no reference copy) for another mapping of
 * `length` bytes at `lead`: 0 when it has exactly the pages that needs (its statistics start
 * again; its bytes are the old mapping's until loaded), else -EINVAL. Saves the memfd and the
 * two mappings that make ordinary map / unmap cycles costly. */
int glc_shadow_reset(glc_shadow *s, size_t length, size_t lead);

void *glc_shadow_client(const glc_shadow *s);   /* client pointer (base + lead), below limit */
void *glc_shadow_internal(const glc_shadow *s); /* internal view of the same data */
size_t glc_shadow_length(const glc_shadow *s);
uintptr_t glc_shadow_end(const glc_shadow *s);  /* end address of the client view's pages */

/* Fill [offset, offset+len) of the shadow from src without marking it dirty (map-time copy-in).
 * Keeps the reference copy in step when merge mode is on. */
void glc_shadow_load(glc_shadow *s, size_t offset, const void *src, size_t len);
/* The same for [0, len) of a shadow that reads as zero (new, not reset): only the 4 KiB chunks
 * of src that are not zero are copied, so zero pages stay unpopulated; pages of src that
 * private anonymous memory never populated are not even read (base/vmem.h). */
void glc_shadow_load_fresh(glc_shadow *s, const void *src, size_t len);

/* Cheap: 0 means the client certainly wrote nothing since the last flush. */
int glc_shadow_maybe_dirty(const glc_shadow *s);

/* Send client writes since the last flush to dst (pointer to the real buffer's mapped range
 * start). Returns bytes copied (or -errno). */
long glc_shadow_flush(glc_shadow *s, void *dst);
/* Same, with a callback per run. */
long glc_shadow_flush_cb(glc_shadow *s, glc_copy_fn fn, void *user);

/* Send the client's writes to bytes [offset, offset + len) of the data (what one command may
 * read) to dst: either those bytes blindly (byte exact against the reference in merge mode) or
 * the dirty pages overlapping them, as the policy decides (glc_policy_range_blind). Writes
 * elsewhere stay for a later flush. Returns bytes copied (or -errno). */
long glc_shadow_flush_range(glc_shadow *s, void *dst, size_t offset, size_t len);

/* Keep a reference copy from now on, so that flush and copy-back are byte exact. Flushes
 * pending client writes to dst first; the reference and dst then hold the shadow's bytes
 * (also for a shadow never loaded from dst: an invalidating map), read only where dst is not
 * zero. dst may be NULL if the caller just flushed (the reference is then the shadow).
 * Returns 0, -ENOMEM, or the tracker's -errno when it could not collect (no merge then). */
int glc_shadow_enable_merge(glc_shadow *s, void *dst);
int glc_shadow_merging(const glc_shadow *s);

/* Bring [offset, offset+len) of the real buffer (src points at the mapped range start) into the
 * shadow. In merge mode only bytes that changed since the last exchange come up; otherwise the
 * range is copied whole (the caller must have flushed client writes first).
 * Returns bytes written into the shadow. */
long glc_shadow_copy_back(glc_shadow *s, const void *src, size_t offset, size_t len);
/* The same from a copy of the driver's bytes: `bytes` holds [offset, offset + len) (the
 * completion thread reads the driver's mapping into a buffer of its own first). */
long glc_shadow_copy_back_bytes(glc_shadow *s, const void *bytes, size_t offset, size_t len);

void glc_shadow_get_stats(const glc_shadow *s, glc_shadow_stats *out);

/* The tracked region now (NULL in whole-copy mode). */
const glc_region *glc_shadow_region(const glc_shadow *s);

/* Byte-exact difference of two buffers: calls fn(user, offset, new + offset, len) for every
 * maximal run of bytes where new differs from ref, then makes ref equal to new on that run.
 * Returns the bytes that differed. Exposed for tests and the benchmark. */
size_t glc_diff_apply(uint8_t *ref, const uint8_t *new_, size_t len, size_t base,
                      glc_copy_fn fn, void *user);
/* The same into memory: dst[k] = ref[k] = new[k] for every byte k that differs, without a call
 * per run (a readback whose pixels keep their alpha changes 3 bytes in 4). Returns the bytes
 * that differed. */
size_t glc_diff_apply_to(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst);
/* The same, one 8-byte word a step: what glc_diff_apply_to runs where the CPU has no AVX-512BW
 * (whose byte-masked stores it uses otherwise: 64 bytes a step). Exposed for tests. */
size_t glc_diff_apply_to_scalar(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst);

#endif
