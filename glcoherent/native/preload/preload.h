/* preload/preload.h [preload layer] - what the interposer's files share. The layer offers no C
 * API: what it exports (the interposed gl*, egl*, glX* entry points, dlsym and dlclose, the libc
 * calls through which the kernel writes into memory (kernel_writes.c), the public API and its
 * instance) is listed in interpose.map. */
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
/* EGL: remember the display of ctx (dpy NULL: forget ctx); eglTerminate(dpy) released the
 * display: its contexts are destroyed as eglDestroyContext would (contexts.c). */
void glc_preload_egl_context_display(void *ctx, void *dpy);
void glc_preload_egl_display_terminated(void *dpy);
/* The context this thread made current through the hooks (NULL: none). */
void *glc_preload_current(void);

/* The real dlsym (libc's), never our hook (interpose.c). */
void *glc_preload_real_dlsym(void *handle, const char *name);

/* Write the `glcoherent-stats:` line of inst to stderr (stats.c): no GL call, no stdio, and
 * no lock waited for without bound ("partial": true when some live shadows went uncounted). */
void glc_preload_print_stats(glcoherent_instance *inst);

#endif
