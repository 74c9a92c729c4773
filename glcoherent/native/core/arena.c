/* core/arena.c [core layer] - see arena.h. */
#include "core/arena.h"

#include "track/tracker.h" /* glc_page_size */

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* Reserve at least this much per gap taken, so that small allocations do not each cost a
 * /proc/self/maps read. */
#define GLC_ARENA_CHUNK ((size_t)64 << 20)

typedef struct range {
    uintptr_t start, end;
} range;

typedef struct range_vec {
    range *v;
    size_t n, cap;
} range_vec;

struct glc_arena {
    pthread_mutex_t lock;
    uintptr_t low, high;
    size_t page;
    range_vec chunks; /* reservations owned by the arena */
    range_vec free;   /* free sub-ranges inside chunks, sorted by start, coalesced */
    glc_host_alloc_fn host_alloc;
    glc_host_free_fn host_free;
    void *host_user;
    glc_arena_stats stats;
};

static int vec_insert(range_vec *rv, size_t at, range r)
{
    if (rv->n == rv->cap) {
        size_t cap = rv->cap ? rv->cap * 2 : 16;
        range *v = realloc(rv->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        rv->v = v;
        rv->cap = cap;
    }
    memmove(rv->v + at + 1, rv->v + at, (rv->n - at) * sizeof *rv->v);
    rv->v[at] = r;
    rv->n++;
    return 0;
}

static void vec_remove(range_vec *rv, size_t at)
{
    memmove(rv->v + at, rv->v + at + 1, (rv->n - at - 1) * sizeof *rv->v);
    rv->n--;
}

/* Insert [start, end) into the sorted free list, merging with neighbours. */
static int free_insert(glc_arena *a, uintptr_t start, uintptr_t end)
{
    range_vec *f = &a->free;
    size_t i = 0;
    while (i < f->n && f->v[i].start < start)
        i++;
    int merge_prev = i > 0 && f->v[i - 1].end == start;
    int merge_next = i < f->n && f->v[i].start == end;
    if (merge_prev && merge_next) {
        f->v[i - 1].end = f->v[i].end;
        vec_remove(f, i);
        return 0;
    }
    if (merge_prev) {
        f->v[i - 1].end = end;
        return 0;
    }
    if (merge_next) {
        f->v[i].start = start;
        return 0;
    }
    return vec_insert(f, i, (range){start, end});
}

static uintptr_t read_min_addr(void)
{
    uintptr_t v = 0x10000;
    FILE *fp = fopen("/proc/sys/vm/mmap_min_addr", "re");
    if (fp) {
        unsigned long long x;
        if (fscanf(fp, "%llu", &x) == 1 && x > v)
            v = (uintptr_t)x;
        fclose(fp);
    }
    return v;
}

int glc_arena_create(glc_arena **out, uintptr_t low, uintptr_t high)
{
    *out = NULL;
    size_t page = glc_page_size();
    if (!low)
        low = GLC_ARENA_DEFAULT_LOW;
    if (!high)
        high = GLC_ARENA_DEFAULT_HIGH;
    uintptr_t min_addr = read_min_addr();
    if (low < min_addr)
        low = min_addr;
    low = (low + page - 1) & ~(uintptr_t)(page - 1);
    high &= ~(uintptr_t)(page - 1);
    if (high <= low || high > ((uintptr_t)1 << 47))
        return -EINVAL;
    glc_arena *a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    pthread_mutex_init(&a->lock, NULL);
    a->low = low;
    a->high = high;
    a->page = page;
    *out = a;
    return 0;
}

void glc_arena_destroy(glc_arena *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->chunks.n; i++)
        munmap((void *)a->chunks.v[i].start, a->chunks.v[i].end - a->chunks.v[i].start);
    free(a->chunks.v);
    free(a->free.v);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void glc_arena_set_host_allocator(glc_arena *a, glc_host_alloc_fn alloc, glc_host_free_fn free_fn,
                                  void *user)
{
    pthread_mutex_lock(&a->lock);
    a->host_alloc = alloc;
    a->host_free = free_fn;
    a->host_user = user;
    pthread_mutex_unlock(&a->lock);
}

/* Reserve [start, start+len) exactly; 0 on success. */
static int reserve_at(uintptr_t start, size_t len)
{
    void *p = mmap((void *)start, len, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    if ((uintptr_t)p != start) { /* kernel without MAP_FIXED_NOREPLACE treated it as a hint */
        munmap(p, len);
        return -EEXIST;
    }
    return 0;
}

/* Find a gap of at least need bytes in [a->low, a->high) and reserve up to want bytes of it.
 * Called with the lock held. Returns 0 and adds a chunk + free range, or -ENOMEM. */
static int grow(glc_arena *a, size_t need, size_t want)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        FILE *fp = fopen("/proc/self/maps", "re");
        if (!fp)
            return -errno;
        uintptr_t cursor = a->low, best_start = 0, best_len = 0;
        char line[512];
        int done = 0;
        for (;;) {
            uintptr_t ms = UINTPTR_MAX, me = UINTPTR_MAX;
            int have = fgets(line, sizeof line, fp) != NULL;
            if (have) {
                unsigned long long s, e;
                if (sscanf(line, "%llx-%llx", &s, &e) != 2)
                    continue;
                ms = (uintptr_t)s;
                me = (uintptr_t)e;
                /* long lines: swallow the rest */
                while (!strchr(line, '\n') && fgets(line, sizeof line, fp))
                    ;
            }
            uintptr_t gap_end = ms < a->high ? ms : a->high;
            if (gap_end > cursor) {
                size_t len = gap_end - cursor;
                if (len >= need) {
                    best_start = cursor;
                    best_len = len;
                    done = 1;
                    break;
                }
            }
            if (!have || ms >= a->high)
                break;
            if (me > cursor)
                cursor = me;
        }
        fclose(fp);
        if (!done)
            return -ENOMEM;
        size_t take = best_len < want ? best_len : want;
        if (take < need)
            take = need;
        int rc = reserve_at(best_start, take);
        if (rc == -EEXIST || rc == -EINVAL)
            continue; /* raced with another mmap: re-read the map */
        if (rc)
            return rc;
        size_t at = 0;
        while (at < a->chunks.n && a->chunks.v[at].start < best_start)
            at++;
        if (vec_insert(&a->chunks, at, (range){best_start, best_start + take}) ||
            free_insert(a, best_start, best_start + take)) {
            munmap((void *)best_start, take);
            return -ENOMEM;
        }
        a->stats.reserved_bytes += take;
        a->stats.reservations++;
        return 0;
    }
    return -ENOMEM;
}

static void *take_free(glc_arena *a, size_t size)
{
    for (size_t i = 0; i < a->free.n; i++) {
        range *r = &a->free.v[i];
        if (r->end - r->start >= size) {
            uintptr_t p = r->start;
            r->start += size;
            if (r->start == r->end)
                vec_remove(&a->free, i);
            return (void *)p;
        }
    }
    return NULL;
}

int glc_arena_alloc(glc_arena *a, size_t size, void **out)
{
    *out = NULL;
    if (size == 0)
        return -EINVAL;
    if (size > a->high - a->low) {
        pthread_mutex_lock(&a->lock);
        a->stats.failures++;
        pthread_mutex_unlock(&a->lock);
        return -ENOMEM;
    }
    size = (size + a->page - 1) & ~(a->page - 1);
    pthread_mutex_lock(&a->lock);
    void *p = NULL;
    if (a->host_alloc) {
        p = a->host_alloc(a->host_user, size, a->high);
        if (p && ((uintptr_t)p + size > a->high || ((uintptr_t)p & (a->page - 1)))) {
            /* A host allocator that breaks the contract must not leak a high pointer out. */
            if (a->host_free)
                a->host_free(a->host_user, p, size);
            p = NULL;
        }
    } else {
        p = take_free(a, size);
        if (!p) {
            size_t want = size > GLC_ARENA_CHUNK ? size : GLC_ARENA_CHUNK;
            if (grow(a, size, want) == 0)
                p = take_free(a, size);
        }
    }
    if (p) {
        a->stats.used_bytes += size;
        a->stats.allocations++;
        if ((uintptr_t)p + size > a->stats.highest_end)
            a->stats.highest_end = (uintptr_t)p + size;
    } else {
        a->stats.failures++;
    }
    pthread_mutex_unlock(&a->lock);
    *out = p;
    return p ? 0 : -ENOMEM;
}

void glc_arena_free(glc_arena *a, void *addr, size_t size)
{
    if (!addr || !size)
        return;
    size = (size + a->page - 1) & ~(a->page - 1);
    pthread_mutex_lock(&a->lock);
    if (a->host_alloc) {
        if (a->host_free)
            a->host_free(a->host_user, addr, size);
    } else {
        /* Drop the pages and put the hole back to PROT_NONE in one step. */
        mmap(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
             0);
        free_insert(a, (uintptr_t)addr, (uintptr_t)addr + size);
    }
    a->stats.used_bytes -= size;
    a->stats.allocations--;
    pthread_mutex_unlock(&a->lock);
}

uintptr_t glc_arena_low(const glc_arena *a) { return a->low; }
uintptr_t glc_arena_high(const glc_arena *a) { return a->high; }

void glc_arena_get_stats(glc_arena *a, glc_arena_stats *out)
{
    pthread_mutex_lock(&a->lock);
    *out = a->stats;
    pthread_mutex_unlock(&a->lock);
}
