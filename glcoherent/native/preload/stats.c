/* preload/stats.c [preload layer] - the `glcoherent-stats: {json}` line that a process under
 * `glcoherent run --stats` (GLCOHERENT_STATS=1) prints once at exit: the process, the tracker
 * asked for and the one in use, then every counter of GLCOHERENT_STATS_COUNTERS. */
#include "preload/preload.h"

#include <stdio.h> /* snprintf only */
#include <unistd.h>

void glc_preload_print_stats(glcoherent_instance *inst)
{
    glcoherent_stats st;
    int partial = glc_get_stats_nowait(inst, &st);
    const char *tracker = glc_policy_for(inst->kind) == GLC_POLICY_ADAPTIVE
                              ? "auto"
                              : glc_tracker_name(inst->kind);
    char line[1024];
    size_t n = 0;
#define GLC_APPEND(...)                                                                   \
    do {                                                                                  \
        int k = snprintf(line + n, sizeof line - n, __VA_ARGS__);                         \
        n = k < 0 ? n : (size_t)k < sizeof line - n ? n + (size_t)k : sizeof line - 1;   \
    } while (0)
    GLC_APPEND("glcoherent-stats: {\"pid\": %d, \"tracker\": \"%s\", \"tracker_resolved\": \"%s\"",
               (int)getpid(), tracker, glc_tracker_name((glc_tracker_kind)st.tracker));
#define GLC_X(name) GLC_APPEND(", \"" #name "\": %llu", (unsigned long long)st.name);
    GLCOHERENT_STATS_COUNTERS(GLC_X)
#undef GLC_X
    GLC_APPEND("%s}\n", partial ? ", \"partial\": true" : "");
#undef GLC_APPEND
    (void)!write(2, line, n); /* no stdio: another thread may hold its lock at exit */
}
