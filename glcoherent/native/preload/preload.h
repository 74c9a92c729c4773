/* preload/preload.h [preload layer] - what the interposer's files share. The layer offers no C
 * API: what it exports (the interposed gl*, egl*, glX* entry points and dlsym, the public API
 * and its instance) is listed in interpose.map. */
#ifndef GLC_PRELOAD_H
#define GLC_PRELOAD_H

#include "gl/layer.h"

/* The interposer's instance, created on first need (NULL if it cannot be: GL goes to the
 * driver untouched), and the instance if it exists already (interpose.c). */
glcoherent_instance *glc_preload_ensure_instance(void);
glcoherent_instance *glc_preload_instance_if_any(void);

/* What the EGL/GLX hooks report (contexts.c). */
void glc_preload_context_created(void *ctx, void *share);
void glc_preload_made_current(void *ctx);
void glc_preload_context_destroyed(void *ctx);
/* The context this thread made current through the hooks (NULL: none). */
void *glc_preload_current(void);

/* Write the `glcoherent-stats:` line of inst to stderr (stats.c). */
void glc_preload_print_stats(glcoherent_instance *inst);

#endif
