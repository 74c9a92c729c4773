/* gl/stats.c [GL layer] - an instance's statistics: its counters plus those of every live
 * shadow of every share group (glc_get_stats, gl/layer.h). */
#include <string.h>

#include "gl/group.h"

void glc_get_stats(glcoherent_instance *inst, glcoherent_stats *out)
{
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
    pthread_mutex_lock(&inst->lock);
    for (glc_group *g = inst->groups; g; g = g->next) {
        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < g->nmaps; i++) {
            glc_map *m = g->maps[i];
            glc_shadow_stats st;
            glc_shadow_get_stats(m->shadow, &st);
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
}
