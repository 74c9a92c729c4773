/* preload/preload.h [preload layer] - what the interposer's files share. The layer offers no C
 * API: what it exports (the interposed gl*, egl*, glX* entry points and dlsym, the public API
 * and its instance) is listed in interpose.map. */
#ifndef GLC_PRELOAD_H
#define GLC_PRELOAD_H

#include "gl/layer.h"

/* Write the `glcoherent-stats:` line of inst to stderr (stats.c). */
void glc_preload_print_stats(glcoherent_instance *inst);

#endif
