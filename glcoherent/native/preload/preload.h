/* preload/preload.h [preload layer] - what the interposer's files share. The layer offers no C
 * API: what it exports (the interposed gl*, egl*, glX* entry points, dlsym, dlvsym, dlclose,
 * the libc calls through which the kernel writes into memory (kernel_writes.c), the public API
 * and its instance) is listed in interpose.map. */
#ifndef GLC_PRELOAD_H
#define GLC_PRELOAD_H

#include "gl/layer.h"

typedef void *(*dlsym_fn)(void *, const char *);
typedef void *(*gpa_fn)(const char *);

/* Lookups (lookup.c). The real dlsym and dlvsym (a dlvsym_fn); this library's load base; whether p is inside this
 * library; whether caller is this library or the GL implementation (which get real answers). */
dlsym_fn glc_preload_real_dlsym(void);
void *glc_preload_real_dlvsym(void);
void *glc_preload_self_base(void);
int glc_preload_is_ours(const void *p);
int glc_preload_caller_is_gl_stack_or_self(const void *caller);
/* name after this library in the global scope; in the already loaded library soname; as
 * dlsym(RTLD_NEXT / RTLD_DEFAULT, name) would find it from caller; in handle by the real dlsym.
 * With a version, as dlvsym(..., name, version) would. Never our own definitions, except that
 * lookup_handle answers what the real functions answer. */
void *glc_preload_lookup_after_us(const char *name, const char *version);
void *glc_preload_lookup_in(const char *soname, const char *name);
void *glc_preload_lookup_next(const void *caller, const char *name, const char *version);
void *glc_preload_lookup_default(const void *caller, const char *name, const char *version);
void *glc_preload_lookup_handle(void *handle, const char *name, const char *version);
/* The real eglGetProcAddress and glXGetProcAddressARB (NULL until their library is loaded). */
gpa_fn glc_preload_real_egl_gpa(void);
gpa_fn glc_preload_real_glx_gpa(void);
/* After a dlclose: forget those two if their library is gone. Returns how many were. */
size_t glc_preload_forget_unloaded_gpa(void);
/* An exported GL symbol of a loaded GL library; whether any GL library is loaded. */
void *glc_preload_gl_symbol(const char *name);
int glc_preload_any_gl_loaded(void);

/* The kernel-write wrappers (kernel_writes.c): whether name is one of the libc calls wrapped
 * there; our wrapper when `real` is the function it forwards to, else real. */
int glc_preload_is_kernel_write(const char *name);
void *glc_preload_kernel_write_wrapper(const char *name, void *real);

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

/* Write the `glcoherent-stats:` line of inst to stderr (stats.c): no GL call, no stdio, and
 * no lock waited for without bound ("partial": true when some live shadows went uncounted). */
void glc_preload_print_stats(glcoherent_instance *inst);

#endif
