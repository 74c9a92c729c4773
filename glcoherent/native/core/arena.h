/* core/arena.h [core layer] - address space below a limit: reserve gaps, sub-allocate
 * page-aligned ranges.
 *
 * The arena finds unmapped gaps in [low, high) from /proc/self/maps, reserves them with
 * MAP_FIXED_NOREPLACE (PROT_NONE, MAP_NORESERVE) and hands out page-aligned sub-ranges, which
 * callers then map over with MAP_FIXED. Freed ranges return to a free list (coalesced) and are
 * re-reserved PROT_NONE. When no free range fits, the arena reserves more gaps. A host that owns
 * the low address space (Wine) installs its own allocate/free callbacks instead.
 * All functions are thread-safe. Running out returns NULL with -ENOMEM, never aborts.
 */
#ifndef GLC_ARENA_H
#define GLC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define GLC_ARENA_DEFAULT_LOW ((uintptr_t)0x10000)          /* 64 KiB */
#define GLC_ARENA_DEFAULT_HIGH ((uintptr_t)0x100000000ull)  /* 4 GiB */

/* Host allocator: return size bytes (page aligned, readable/writable or reserved) whose end is
 * at or below high, or NULL. free gets back exactly what alloc returned. */
typedef void *(*glc_host_alloc_fn)(void *user, size_t size, uintptr_t high);
typedef void (*glc_host_free_fn)(void *user, void *addr, size_t size);

typedef struct glc_arena glc_arena;

typedef struct glc_arena_stats {
    uint64_t reserved_bytes;  /* address space reserved by the arena */
    uint64_t used_bytes;      /* handed out and not freed */
    uint64_t allocations;     /* live allocations */
    uint64_t reservations;    /* reserved chunks (gaps taken) */
    uint64_t failures;        /* allocations that failed for lack of space */
    uint64_t highest_end;     /* highest end address ever handed out */
} glc_arena_stats;

/* low/high: 0 picks the defaults; low is raised to vm.mmap_min_addr and 64 KiB. Returns 0 or
 * -errno (-EINVAL when the bounds are empty or high is above the user address space). */
int glc_arena_create(glc_arena **out, uintptr_t low, uintptr_t high);
/* Unmaps every reservation of the arena (callers must have freed their ranges). */
void glc_arena_destroy(glc_arena *a);
void glc_arena_set_host_allocator(glc_arena *a, glc_host_alloc_fn alloc, glc_host_free_fn free_fn,
                                  void *user);
/* A page-aligned range of at least size bytes, reserved PROT_NONE (or whatever the host
 * gives), lying in [low, high), in *out. 0; -EINVAL for size 0; -ENOMEM when the arena cannot
 * give it (*out is NULL then). */
int glc_arena_alloc(glc_arena *a, size_t size, void **out);
/* Return a range from glc_arena_alloc (same size). The range is re-reserved PROT_NONE. */
void glc_arena_free(glc_arena *a, void *addr, size_t size);
uintptr_t glc_arena_low(const glc_arena *a);
uintptr_t glc_arena_high(const glc_arena *a);
void glc_arena_get_stats(glc_arena *a, glc_arena_stats *out);

#endif
