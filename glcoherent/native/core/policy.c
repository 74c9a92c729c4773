/* core/policy.c [core layer] - see policy.h. */
#include "core/policy.h"


glc_policy_kind glc_policy_for(glc_tracker_kind kind)
{
    return kind == GLC_TRACKER_BEST ? GLC_POLICY_ADAPTIVE : GLC_POLICY_FIXED;
}

glc_tracker_kind glc_policy_backend(glc_tracker_kind want, int kernel_writes_wrapped)
{
    if (want != GLC_TRACKER_BEST)
        return glc_tracker_resolve(want);
    if (glc_tracker_available(GLC_TRACKER_UFFD))
        return GLC_TRACKER_UFFD;
    if (kernel_writes_wrapped && glc_tracker_available(GLC_TRACKER_MPROTECT))
        return GLC_TRACKER_MPROTECT;
    return GLC_TRACKER_COPY;
}

void glc_policy_init(glc_policy *p, glc_tracker_kind kind)
{
    *p = (glc_policy){.kind = glc_policy_for(kind)};
}

glc_policy_action glc_policy_after_flush(glc_policy *p, const glc_region *region, size_t map_len,
                                         size_t dirty_pages, size_t total_pages)
{
    if (p->kind != GLC_POLICY_ADAPTIVE)
        return GLC_POLICY_STAY;
    if (!region) {
        /* Copy mode: after the probe period, track again and measure. */
        unsigned len = p->whole_len ? p->whole_len : GLC_SHADOW_WHOLE_PROBE;
        return ++p->whole_flushes >= len ? GLC_POLICY_TO_TRACKED : GLC_POLICY_STAY;
    }
    p->tracked_flushes++;
    p->hot_flushes = dirty_pages * 2 > total_pages ? p->hot_flushes + 1 : 0;
    /* A small shadow that the tracker scans whole anyway (scattered, frequent writes) is
     * cheaper to copy whole. */
    int small_whole = map_len <= GLC_SHADOW_SMALL_WHOLE_BYTES && glc_region_scans_whole(region);
    if (p->hot_flushes < GLC_SHADOW_HOT_FLUSHES && !small_whole)
        return GLC_POLICY_STAY;
    p->whole_flushes = 0;
    /* Back in whole-copy mode soon after a probe: probe half as often (up to a limit). */
    if (p->whole_len && p->tracked_flushes < GLC_SHADOW_HOT_FLUSHES * 4)
        p->whole_len = p->whole_len * 2 > GLC_SHADOW_WHOLE_PROBE_MAX ? GLC_SHADOW_WHOLE_PROBE_MAX
                                                                  : p->whole_len * 2;
    else
        p->whole_len = GLC_SHADOW_WHOLE_PROBE;
    return GLC_POLICY_TO_WHOLE;
}

int glc_policy_range_blind(const glc_policy *p, const glc_region *region, size_t len)
{
    if (!region)
        return 1;
    return p->kind == GLC_POLICY_ADAPTIVE && len <= GLC_POLICY_BLIND_BYTES;
}

void glc_policy_tracking_again(glc_policy *p)
{
    p->hot_flushes = 0;
    p->tracked_flushes = 0;
}
