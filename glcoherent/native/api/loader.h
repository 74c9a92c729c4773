/* api/loader.h [API layer] - built-in get-proc-address / current-context callbacks for in-process
 * use. */
#ifndef GLC_LOADER_H
#define GLC_LOADER_H

/* eglGetProcAddress, else glXGetProcAddressARB, from the libraries already loaded. */
void *glc_builtin_get_proc(void *user, const char *name);
/* eglGetCurrentContext, else glXGetCurrentContext. */
void *glc_builtin_get_current(void *user);

/* What eglGetProcAddress / glXGetProcAddress(ARB) return in a process that runs glcoherent
 * in-process: the wrapped entry point for every name glcoherent wraps, the driver's for the
 * rest. The Python front door points PyOpenGL's loader functions here, so raw entry points a
 * program fetches through them (and calls through ctypes) go through the layer too. */
void *glc_loader_egl_get_proc_address(const char *name);
void *glc_loader_glx_get_proc_address(const char *name);

#endif
