/* track/copy.c [tracking layer] - the "no tracking" backend: every collect reports the whole
 * range. The baseline of `bench track` and the backend tests; shadows never put a region on it
 * (for them "copy" is whole-copy mode without a region, core/shadow.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "track/backend.h"

static long copy_collect(glc_region *r, glc_run_fn fn, void *user)
{
    glc_region_emit(r, fn, user, 0, r->npages);
    return (long)r->npages;
}

static long copy_collect_range(glc_region *r, size_t first, size_t count, glc_run_fn fn,
                               void *user)
{
    glc_region_emit(r, fn, user, first, count);
    return (long)count;
}

static int copy_maybe_dirty(const glc_region *r)
{
    (void)r;
    return 1;
}

const glc_backend_ops glc_backend_copy = {
    .kind = GLC_TRACKER_COPY,
    .collect = copy_collect,
    .collect_range = copy_collect_range,
    .maybe_dirty = copy_maybe_dirty,
};
