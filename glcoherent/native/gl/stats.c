/* gl/stats.c [GL layer] - an instance's statistics: its counters plus those of every live
 * shadow of every share group (glc_get_stats, gl/layer.h). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "gl/group.h"

/* Lock m; with patient == 0 give up after about 50 ms (exit paths: the holder may be a thread
 * that never runs again). Returns 0 when locked. */
static int lock_within(pthread_mutex_t *m, int patient)
{
    if (patient)
        return pthread_mutex_lock(m);
    for (int i = 0; i < 50; i++) {
        if (pthread_mutex_trylock(m) == 0)
            return 0;
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
    return EBUSY;
}

static int get_stats(glcoherent_instance *inst, glcoherent_stats *out, int patient)
{
    int partial = 0;
    memset(out, 0, sizeof *out);
    out->maps = LOAD(inst->maps);
    out->persistent_maps = LOAD(inst->persistent_maps);
    out->shadowed_maps = LOAD(inst->shadowed_maps);
    out->max_mapped_end = LOAD(inst->max_mapped_end);
    out->oom = LOAD(inst->oom);
    out->merges = LOAD(inst->merges);
    out->bytes_flushed = LOAD(inst->retired_flushed);
    out->bytes_read_back = LOAD(inst->retired_read_back);
    out->flushes = LOAD(inst->retired_flushes);
    out->copy_backs = LOAD(inst->retired_copy_backs);
    out->write_faults = LOAD(inst->retired_faults);
    out->scans = LOAD(inst->retired_scans);
    out->mode_switches = LOAD(inst->retired_switches);
    out->limit = inst->limit;
    out->tracker = inst->tracker ? (int32_t)glc_tracker_kind_of(inst->tracker)
                                 : (int32_t)GLC_TRACKER_COPY;
    out->tracker_auto = glc_policy_for(inst->kind) == GLC_POLICY_ADAPTIVE;
    if (lock_within(&inst->lock, patient))
        return 1;
    for (glc_group *g = inst->groups; g; g = g->next) {
        if (lock_within(&g->lock, patient)) {
            partial = 1;
            continue;
        }
        for (size_t i = 0; i < g->nmaps; i++) {
            glc_map *m = g->maps[i];
            glc_shadow_stats st;
            glc_map_stats(m, &st);
            out->live_shadows++;
            out->bytes_flushed += st.bytes_flushed;
            out->bytes_read_back += st.bytes_read_back;
            out->flushes += st.flushes;
            out->copy_backs += st.copy_backs;
            out->write_faults += st.write_faults;
            out->scans += st.scans;
            out->mode_switches += st.mode_switches;
        }
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&inst->lock);
    return partial;
}

void glc_get_stats(glcoherent_instance *inst, glcoherent_stats *out)
{
    get_stats(inst, out, 1);
}

int glc_get_stats_nowait(glcoherent_instance *inst, glcoherent_stats *out)
{
    return get_stats(inst, out, 0);
}
