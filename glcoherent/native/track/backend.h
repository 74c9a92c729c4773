/* track/backend.h [tracking layer] - what tracker.c shares with the backends (not part of the
 * API). */
#ifndef GLC_TRACKER_INTERNAL_H
#define GLC_TRACKER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "track/sigsegv.h"
#include "track/tracker.h"

typedef struct glc_backend_ops {
    glc_tracker_kind kind;
    /* Per-tracker resources (tracker fields zeroed, fds -1). Returns 0 or -errno. */
    int (*tracker_init)(glc_tracker *t);
    void (*tracker_fini)(glc_tracker *t);
    /* Start tracking r (base and lengths filled in, lock initialised). 0 or -errno. */
    int (*region_init)(glc_region *r);
    /* Stop tracking; memory left readable and writable. */
    void (*region_fini)(glc_region *r);
    /* Called with r->lock held. */
    long (*collect)(glc_region *r, glc_run_fn fn, void *user);
    /* The same for pages [first, first + count) only (count > 0, inside the region); pages
     * outside stay as they are. Called with r->lock held. NULL: collect the whole region. */
    long (*collect_range)(glc_region *r, size_t first, size_t count, glc_run_fn fn, void *user);
    int (*maybe_dirty)(const glc_region *r);
    /* Whether the backend works on this machine (uncached: tracker.c caches it); NULL: it
     * always does. 1 or 0. */
    int (*probe)(void);
    /* 1 when a collect now has to look at the whole region, or most of it; NULL: always. */
    int (*scans_whole)(const glc_region *r);
} glc_backend_ops;

struct glc_tracker {
    const glc_backend_ops *ops;
    glc_tracker_kind kind;
    size_t page;
    unsigned page_shift;
    int uffd;       /* uffd backend: the userfaultfd, else -1 */
    int pagemap_fd; /* uffd backend: /proc/self/pagemap, else -1 */
    pid_t pid;      /* uffd backend: the process that opened them (fork check) */
    unsigned long forks; /* glc_fork_generation() when they were opened */
};

struct glc_region {
    glc_tracker *t;
    uintptr_t base;
    size_t len;     /* bytes, as requested: runs are clipped to it */
    size_t map_len; /* len rounded up to pages */
    size_t npages;
    pthread_mutex_t lock; /* serialises collect */
    atomic_ullong scans;
    atomic_ullong pages_dirty;
    int has_segv;         /* segv is registered in the SIGSEGV table */
    glc_segv_range segv;  /* mprotect: the range in the SIGSEGV table */
    uint64_t *scratch;    /* mprotect: bitmap snapshot taken by collect (under lock) */
};

extern const glc_backend_ops glc_backend_uffd;
extern const glc_backend_ops glc_backend_mprotect;
extern const glc_backend_ops glc_backend_copy;

/* Counts fork()s into children of this process (a pthread_atfork child handler): compared
 * against a value saved earlier it says "we are a forked child" for the price of a memory
 * read, where getpid() is a system call. */
unsigned long glc_fork_generation(void);


/* Report [first, first + count) pages of r through fn, clipped to r->len. */
static inline void glc_region_emit(const glc_region *r, glc_run_fn fn, void *user, size_t first,
                                   size_t count)
{
    size_t off = first << r->t->page_shift;
    size_t len = count << r->t->page_shift;
    if (off >= r->len)
        return;
    if (len > r->len - off)
        len = r->len - off;
    if (fn)
        fn(user, off, len);
}

#endif
