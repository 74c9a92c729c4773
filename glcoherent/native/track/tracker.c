/* track/tracker.c [tracking layer] - backend selection, probing and the region/tracker objects
 * (see track/tracker.h).
 *
 * Environment:
 *   GLCOHERENT_DISABLE_UFFD=1  make the userfaultfd backend report itself unavailable, as it is
 *                              under Docker's default seccomp profile or before Linux 6.7 (tests
 *                              use this to exercise the fallback). Read at every availability
 *                              query; the kernel probe itself runs once per process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "track/tracker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "base/config.h"
#include "track/sigsegv.h"
#include "track/backend.h"

static pthread_once_t g_uffd_once = PTHREAD_ONCE_INIT;
static int g_uffd_ok;
static pthread_once_t g_mprotect_once = PTHREAD_ONCE_INIT;
static int g_mprotect_ok;

static pthread_once_t g_page_once = PTHREAD_ONCE_INIT;
static size_t g_page;
static unsigned g_page_shift;

static void page_once(void)
{
    long page = sysconf(_SC_PAGESIZE);
    g_page = page > 0 && !(page & (page - 1)) ? (size_t)page : 4096;
    while (((size_t)1 << g_page_shift) < g_page)
        g_page_shift++;
}

size_t glc_page_size(void)
{
    pthread_once(&g_page_once, page_once);
    return g_page;
}

unsigned glc_page_shift(void)
{
    pthread_once(&g_page_once, page_once);
    return g_page_shift;
}

static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static atomic_ulong g_fork_generation;

static void on_fork_child(void)
{
    atomic_fetch_add(&g_fork_generation, 1);
}

static void atfork_once(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

unsigned long glc_fork_generation(void)
{
    return atomic_load_explicit(&g_fork_generation, memory_order_relaxed);
}

static void uffd_probe_once(void)
{
    g_uffd_ok = glc_backend_uffd.probe();
}

static void mprotect_probe_once(void)
{
    g_mprotect_ok = glc_backend_mprotect.probe();
}

static int env_disables_uffd(void)
{
    return glc_env_flag("GLCOHERENT_DISABLE_UFFD", 0);
}

int glc_tracker_available(glc_tracker_kind kind)
{
    switch (kind) {
    case GLC_TRACKER_BEST:
    case GLC_TRACKER_COPY:
        return 1;
    case GLC_TRACKER_UFFD:
        if (env_disables_uffd())
            return 0;
        pthread_once(&g_uffd_once, uffd_probe_once);
        return g_uffd_ok;
    case GLC_TRACKER_MPROTECT:
        pthread_once(&g_mprotect_once, mprotect_probe_once);
        return g_mprotect_ok;
    }
    return 0;
}

glc_tracker_kind glc_tracker_resolve(glc_tracker_kind kind)
{
    switch (kind) {
    case GLC_TRACKER_COPY:
        return GLC_TRACKER_COPY;
    case GLC_TRACKER_MPROTECT:
        return glc_tracker_available(GLC_TRACKER_MPROTECT) ? GLC_TRACKER_MPROTECT
                                                           : GLC_TRACKER_COPY;
    case GLC_TRACKER_UFFD:
    case GLC_TRACKER_BEST:
    default:
        if (glc_tracker_available(GLC_TRACKER_UFFD))
            return GLC_TRACKER_UFFD;
        if (glc_tracker_available(GLC_TRACKER_MPROTECT))
            return GLC_TRACKER_MPROTECT;
        return GLC_TRACKER_COPY;
    }
}

static const char *const g_names[] = {"auto", "uffd", "mprotect", "copy"};

const char *glc_tracker_name(glc_tracker_kind kind)
{
    if ((unsigned)kind < sizeof g_names / sizeof g_names[0])
        return g_names[kind];
    return "invalid";
}

int glc_tracker_parse(const char *name, glc_tracker_kind *out)
{
    if (!name)
        return -EINVAL;
    for (unsigned i = 0; i < sizeof g_names / sizeof g_names[0]; i++) {
        if (strcasecmp(name, g_names[i]) == 0) {
            if (out)
                *out = (glc_tracker_kind)i;
            return 0;
        }
    }
    return -EINVAL;
}

static const glc_backend_ops *ops_for(glc_tracker_kind kind)
{
    switch (kind) {
    case GLC_TRACKER_UFFD:
        return &glc_backend_uffd;
    case GLC_TRACKER_MPROTECT:
        return &glc_backend_mprotect;
    default:
        return &glc_backend_copy;
    }
}

int glc_tracker_create(glc_tracker **out, glc_tracker_kind kind)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if ((unsigned)kind > GLC_TRACKER_COPY)
        return -EINVAL;
    pthread_once(&g_atfork_once, atfork_once);
    glc_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->page = glc_page_size();
    t->page_shift = glc_page_shift();
    t->uffd = -1;
    t->pagemap_fd = -1;
    t->kind = glc_tracker_resolve(kind);
    t->ops = ops_for(t->kind);
    int rc = t->ops->tracker_init ? t->ops->tracker_init(t) : 0;
    if (rc) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void glc_tracker_destroy(glc_tracker *t)
{
    if (!t)
        return;
    if (t->ops->tracker_fini)
        t->ops->tracker_fini(t);
    free(t);
}

glc_tracker_kind glc_tracker_kind_of(const glc_tracker *t)
{
    return t ? t->kind : GLC_TRACKER_COPY;
}

int glc_region_create(glc_tracker *t, void *addr, size_t len, glc_region **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!t || !addr || len == 0 || ((uintptr_t)addr & (t->page - 1)))
        return -EINVAL;
    size_t map_len = (len + t->page - 1) & ~(t->page - 1);
    if (map_len < len || (uintptr_t)addr + map_len < (uintptr_t)addr)
        return -EINVAL;

    glc_region *r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    r->t = t;
    r->base = (uintptr_t)addr;
    r->len = len;
    r->map_len = map_len;
    r->npages = map_len >> t->page_shift;
    atomic_init(&r->scans, 0);
    atomic_init(&r->pages_dirty, 0);
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return -ENOMEM;
    }
    int rc = t->ops->region_init ? t->ops->region_init(r) : 0;
    if (rc) {
        pthread_mutex_destroy(&r->lock);
        free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void glc_region_destroy(glc_region *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    if (r->t->ops->region_fini)
        r->t->ops->region_fini(r);
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

int glc_region_maybe_dirty(const glc_region *r)
{
    if (!r)
        return 1;
    return r->t->ops->maybe_dirty ? r->t->ops->maybe_dirty(r) : 1;
}

long glc_region_collect(glc_region *r, glc_run_fn fn, void *user)
{
    if (!r)
        return -EINVAL;
    pthread_mutex_lock(&r->lock);
    long n = r->t->ops->collect(r, fn, user);
    pthread_mutex_unlock(&r->lock);
    if (n > 0)
        atomic_fetch_add_explicit(&r->pages_dirty, (unsigned long long)n, memory_order_relaxed);
    return n;
}

long glc_region_collect_range(glc_region *r, size_t offset, size_t len, glc_run_fn fn,
                              void *user)
{
    if (!r)
        return -EINVAL;
    if (!len || offset >= r->len)
        return 0;
    if (len > r->len - offset)
        len = r->len - offset;
    unsigned shift = r->t->page_shift;
    size_t first = offset >> shift, last = (offset + len - 1) >> shift;
    if (!r->t->ops->collect_range || (first == 0 && last + 1 >= r->npages))
        return glc_region_collect(r, fn, user);
    pthread_mutex_lock(&r->lock);
    long n = r->t->ops->collect_range(r, first, last + 1 - first, fn, user);
    pthread_mutex_unlock(&r->lock);
    if (n > 0)
        atomic_fetch_add_explicit(&r->pages_dirty, (unsigned long long)n, memory_order_relaxed);
    return n;
}

void glc_region_get_stats(const glc_region *r, glc_track_stats *out)
{
    if (!out)
        return;
    if (!r) {
        *out = (glc_track_stats){0};
        return;
    }
    glc_region *m = (glc_region *)r; /* atomics are read only */
    out->pages_tracked = r->npages;
    out->write_faults = r->has_segv ? atomic_load(&m->segv.faults) : 0;
    out->scans = atomic_load(&m->scans);
    out->pages_dirty = atomic_load(&m->pages_dirty);
    out->degraded = r->has_segv && r->segv.kind == GLC_SEGV_TRACK
                        ? (uint64_t)atomic_load(&m->segv.degraded)
                        : 0;
}

int glc_region_scans_whole(const glc_region *r)
{
    if (!r)
        return 1;
    return r->t->ops->scans_whole ? r->t->ops->scans_whole(r) : 1;
}

glc_tracker_kind glc_region_kind(const glc_region *r)
{
    return r ? r->t->kind : GLC_TRACKER_COPY;
}

int glc_tracker_reassert_handler(void)
{
    return glc_segv_ensure_installed();
}
