/* api/api.c [API layer] - the public, versioned API table (glcoherent.h) and the built-in loader
 * callbacks used when glcoherent runs in-process (the Python front door): GL entry points and
 * the current context come from whichever of libEGL / libGL (GLX) the process has loaded. */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>

#include "gl/layer.h"
#include "gl/wrap.h"
#include "api/glcoherent.h"
#include "api/loader.h"
#include "track/sigsegv.h"

static void *api_get_proc_address(glcoherent_instance *inst, const char *name)
{
    /* A wrapper resolves the driver's function itself, at its first call if not before. */
    void *w = glc_wrapper_for(name);
    return w ? w : inst->cfg.get_proc(inst->cfg.get_proc_user, name);
}

static const char *api_tracker_name(glcoherent_instance *inst)
{
    if (glc_policy_for(inst->kind) == GLC_POLICY_ADAPTIVE)
        return "auto";
    return glc_tracker_name(inst->tracker ? glc_tracker_kind_of(inst->tracker)
                                          : GLC_TRACKER_COPY);
}

static uint64_t api_limit(glcoherent_instance *inst) { return inst->limit; }

static int api_prepare_kernel_write(glcoherent_instance *inst, void *addr, size_t len)
{
    (void)inst; /* the write-protected ranges are registered process-wide */
    glc_segv_prepare_write(addr, len);
    return 0;
}

static const glcoherent_api_1 api_1 = {
    .version = GLCOHERENT_API_VERSION_1,
    .create = glc_instance_create,
    .destroy = glc_instance_destroy,
    .context_created = glc_context_created,
    .context_destroyed = glc_context_destroyed,
    .make_current = glc_host_make_current,
    .get_proc_address = api_get_proc_address,
    .get_stats = glc_get_stats,
    .tracker_name = api_tracker_name,
    .limit = api_limit,
    .prepare_kernel_write = api_prepare_kernel_write,
};

GLCOHERENT_EXPORT int glcoherent_get_api(int version, const void **out)
{
    if (!out)
        return -EINVAL;
    if (version == GLCOHERENT_API_VERSION_1) {
        *out = &api_1;
        return 0;
    }
    *out = NULL;
    return -EINVAL;
}

/* ---- built-in loader ------------------------------------------------------------------------ */

typedef void *(*get_proc_t)(const char *);
typedef void *(*get_current_t)(void);

static void *lib_sym(const char *lib, const char *sym)
{
    void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return NULL;
    void *s = dlsym(h, sym);
    dlclose(h);
    return s;
}

/* Resolved once per symbol (a NULL result is retried: the library may be loaded later). */
static void *cached_sym(_Atomic(void *) *slot, const char *const *libs, const char *sym)
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    if (p)
        return p;
    for (; *libs && !p; libs++)
        p = lib_sym(*libs, sym);
    if (p)
        atomic_store_explicit(slot, p, memory_order_release);
    return p;
}

static const char *const egl_libs[] = {"libEGL.so.1", NULL};
static const char *const glx_libs[] = {"libGLX.so.0", "libGL.so.1", NULL};
static _Atomic(void *) egl_get_proc, glx_get_proc, egl_get_current, glx_get_current;

void *glc_builtin_get_proc(void *user, const char *name)
{
    (void)user;
    get_proc_t egl = (get_proc_t)cached_sym(&egl_get_proc, egl_libs, "eglGetProcAddress");
    void *p = egl ? egl(name) : NULL;
    if (p)
        return p;
    get_proc_t glx = (get_proc_t)cached_sym(&glx_get_proc, glx_libs, "glXGetProcAddressARB");
    return glx ? glx(name) : NULL;
}

void *glc_builtin_get_current(void *user)
{
    (void)user;
    get_current_t egl =
        (get_current_t)cached_sym(&egl_get_current, egl_libs, "eglGetCurrentContext");
    void *c = egl ? egl() : NULL;
    if (c)
        return c;
    get_current_t glx =
        (get_current_t)cached_sym(&glx_get_current, glx_libs, "glXGetCurrentContext");
    return glx ? glx() : NULL;
}

void *glc_loader_egl_get_proc_address(const char *name)
{
    void *w = name ? glc_wrapper_for(name) : NULL;
    if (w)
        return w;
    get_proc_t egl = (get_proc_t)cached_sym(&egl_get_proc, egl_libs, "eglGetProcAddress");
    return egl && name ? egl(name) : NULL;
}

void *glc_loader_glx_get_proc_address(const char *name)
{
    void *w = name ? glc_wrapper_for(name) : NULL;
    if (w)
        return w;
    get_proc_t glx = (get_proc_t)cached_sym(&glx_get_proc, glx_libs, "glXGetProcAddressARB");
    return glx && name ? glx(name) : NULL;
}
