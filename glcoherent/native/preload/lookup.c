/* preload/lookup.c [preload layer] - finding symbols as the program would without us: the real
 * dlsym (dlvsym, never through our own dlsym), whether an address is ours or the GL
 * implementation's, dlsym(RTLD_NEXT / RTLD_DEFAULT) as seen from a caller, the real
 * get-proc-address functions, and the exported symbols of the loaded GL libraries. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload/preload.h"

/* ---- the real dlsym --------------------------------------------------------------------------- */

static _Atomic(dlsym_fn) real_dlsym_p;

dlsym_fn glc_preload_real_dlsym(void)
{
    dlsym_fn f = atomic_load_explicit(&real_dlsym_p, memory_order_acquire);
    if (f)
        return f;
    /* dlvsym is not hooked. glibc >= 2.34 moved dlsym into libc under GLIBC_2.34; older ones
     * (and the compatibility symbol) carry GLIBC_2.2.5 on x86-64. */
    static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17",
                                           "GLIBC_2.0", NULL};
    for (const char *const *v = versions; *v && !f; v++)
        f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", *v);
    if (!f) {
        static const char msg[] = "glcoherent: cannot find the real dlsym\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort();
    }
    atomic_store_explicit(&real_dlsym_p, f, memory_order_release);
    return f;
}

/* ---- where an address lives ------------------------------------------------------------------- */

static char self_anchor;

void *glc_preload_self_base(void)
{
    static _Atomic(void *) base;
    void *b = atomic_load_explicit(&base, memory_order_acquire);
    if (!b) {
        Dl_info info;
        if (dladdr(&self_anchor, &info))
            b = info.dli_fbase;
        atomic_store_explicit(&base, b, memory_order_release);
    }
    return b;
}

/* This library's address range (all its PT_LOAD segments). */
static uintptr_t self_lo;
static _Atomic uintptr_t self_hi;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    uintptr_t lo = UINTPTR_MAX, hi = 0, a = (uintptr_t)&self_anchor;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
        mine |= a >= s && a < e;
    }
    if (!mine)
        return 0;
    self_lo = lo;
    atomic_store_explicit(&self_hi, hi, memory_order_release);
    return 1;
}

/* Is p inside this library (our exports, wrappers, hooks)? */
int glc_preload_is_ours(const void *p)
{
    if (!atomic_load_explicit(&self_hi, memory_order_acquire)) {
        dl_iterate_phdr(find_self, NULL);
        if (!self_hi) {     /* cannot happen; fall back to dladdr */
            Dl_info info;
            return p && dladdr(p, &info) && info.dli_fbase == glc_preload_self_base();
        }
    }
    return (uintptr_t)p >= self_lo && (uintptr_t)p < self_hi;
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "";
}

/* The GL implementation itself (GLVND dispatch libraries, Mesa's vendor libraries and drivers)
 * gets real answers: only the application's view is interposed. */
static int is_gl_stack(const char *path)
{
    static const char *const prefixes[] = {"libGLX", "libEGL", "libGLdispatch", "libGL.so",
                                           "libOpenGL", "libGLES", "libglapi", "libgallium",
                                           "libvulkan", "libnvidia", NULL};
    const char *b = base_name(path);
    for (const char *const *p = prefixes; *p; p++)
        if (!strncmp(b, *p, strlen(*p)))
            return 1;
    return strstr(b, "_dri.so") != NULL;
}

int glc_preload_caller_is_gl_stack_or_self(const void *caller)
{
    Dl_info info;
    if (!caller || !dladdr(caller, &info))
        return 0;
    return info.dli_fbase == glc_preload_self_base() || is_gl_stack(info.dli_fname);
}

/* Handle of an already loaded library (NULL when it is not loaded); the reference taken is
 * dropped at once: the library stays loaded for as long as its other users keep it. */
static void *loaded(const char *soname)
{
    void *h = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);
    if (h)
        dlclose(h);
    return h;
}

/* The definition found after this library in the global scope (RTLD_NEXT from here), never our
 * own. */
void *glc_preload_lookup_after_us(const char *name)
{
    void *p = glc_preload_real_dlsym()(RTLD_NEXT, name);
    return glc_preload_is_ours(p) ? NULL : p;
}

void *glc_preload_lookup_in(const char *soname, const char *name)
{
    void *h = loaded(soname);
    void *p = h ? glc_preload_real_dlsym()(h, name) : NULL;
    return glc_preload_is_ours(p) ? NULL : p;
}

/* dlsym(RTLD_NEXT, name) as seen from `caller` (glibc: the objects after the caller's in load
 * order). Only used for the names we interpose; others reach the real dlsym by a tail jump. */
void *glc_preload_lookup_next(const void *caller, const char *name)
{
    struct link_map *lm = NULL;
    Dl_info info;
    if (!caller || !dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return glc_preload_lookup_after_us(name);
    if (info.dli_fbase == glc_preload_self_base())
        return glc_preload_lookup_after_us(name);
    for (struct link_map *l = lm->l_next; l; l = l->l_next) {
        if (!l->l_name || !l->l_name[0])
            continue;
        void *h = dlopen(l->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (!h)
            continue;
        void *p = glc_preload_real_dlsym()(h, name);
        dlclose(h);
        struct link_map *def = NULL;
        if (p && !glc_preload_is_ours(p) && dladdr1(p, &info, (void **)&def, RTLD_DL_LINKMAP) && def == l)
            return p;
    }
    return NULL;
}

/* dlsym(RTLD_DEFAULT, name) as seen from `caller`, skipping our own definitions: the global
 * scope, then the caller's own local scope (a library dlopened RTLD_LOCAL sees its
 * dependencies). */
void *glc_preload_lookup_default(const void *caller, const char *name)
{
    void *p = glc_preload_real_dlsym()(RTLD_DEFAULT, name);
    if (p && !glc_preload_is_ours(p))
        return p;
    p = glc_preload_lookup_after_us(name);
    if (p)
        return p;
    Dl_info info;
    if (caller && dladdr(caller, &info) && info.dli_fname && info.dli_fname[0] &&
        info.dli_fbase != glc_preload_self_base()) {
        void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            p = glc_preload_real_dlsym()(h, name);
            dlclose(h);
            if (p && !glc_preload_is_ours(p))
                return p;
        }
    }
    return NULL;
}

/* ---- the real get-proc-address functions -------------------------------------------------------- */

static _Atomic(gpa_fn) egl_gpa_p, glx_gpa_p;

gpa_fn glc_preload_real_egl_gpa(void)
{
    gpa_fn f = atomic_load_explicit(&egl_gpa_p, memory_order_acquire);
    if (!f) {
        f = (gpa_fn)glc_preload_lookup_in("libEGL.so.1", "eglGetProcAddress");
        if (f)
            atomic_store_explicit(&egl_gpa_p, f, memory_order_release);
    }
    return f;
}

gpa_fn glc_preload_real_glx_gpa(void)
{
    gpa_fn f = atomic_load_explicit(&glx_gpa_p, memory_order_acquire);
    if (!f) {
        f = (gpa_fn)glc_preload_lookup_in("libGLX.so.0", "glXGetProcAddressARB");
        if (!f)
            f = (gpa_fn)glc_preload_lookup_in("libGL.so.1", "glXGetProcAddressARB");
        if (f)
            atomic_store_explicit(&glx_gpa_p, f, memory_order_release);
    }
    return f;
}

static const char *const gl_libs[] = {"libOpenGL.so.0", "libGL.so.1", "libGLESv2.so.2", NULL};

/* An exported GL symbol of a loaded GL library (no call into the GL libraries). */
static size_t forget_gpa(_Atomic(gpa_fn) *slot)
{
    gpa_fn f = atomic_load_explicit(slot, memory_order_acquire);
    Dl_info info;
    if (!f || dladdr((void *)f, &info))
        return 0;
    atomic_store_explicit(slot, NULL, memory_order_release);
    return 1;
}

size_t glc_preload_forget_unloaded_gpa(void)
{
    return forget_gpa(&egl_gpa_p) + forget_gpa(&glx_gpa_p);
}

void *glc_preload_gl_symbol(const char *name)
{
    void *p = NULL;
    for (const char *const *l = gl_libs; *l && !p; l++)
        p = glc_preload_lookup_in(*l, name);
    return p ? p : glc_preload_lookup_after_us(name);
}

int glc_preload_any_gl_loaded(void)
{
    static const char *const libs[] = {"libOpenGL.so.0", "libGL.so.1", "libGLESv2.so.2",
                                       "libGLX.so.0", "libEGL.so.1", NULL};
    for (const char *const *l = libs; *l; l++)
        if (loaded(*l))
            return 1;
    return 0;
}
