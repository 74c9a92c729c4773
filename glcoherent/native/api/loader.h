/* api/loader.h [API layer] - built-in get-proc-address / current-context callbacks for in-process
 * use. */
#ifndef GLC_LOADER_H
#define GLC_LOADER_H

/* eglGetProcAddress, else glXGetProcAddressARB, from the libraries already loaded. */
void *glc_builtin_get_proc(void *user, const char *name);
/* eglGetCurrentContext, else glXGetCurrentContext. */
void *glc_builtin_get_current(void *user);

#endif
