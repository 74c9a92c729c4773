/* preload/lookup.c [preload layer] - finding symbols as the program would without us: the real
 * dlvsym and dlsym (read from libc's symbol table, never through our own hooks), whether an address is ours or the GL
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

/* ---- the real dlvsym and dlsym ------------------------------------------------------------------ */

/* GNU hash of a symbol name (the ELF gABI extension glibc uses). */
static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = h * 33 + *c;
    return h;
}

typedef struct elf_find {
    const char *lib_prefix; /* base name of the object, "libc.so" */
    const char *name;
    void *found;
} elf_find;

/* glibc relocates the address entries of a loaded object's dynamic section in place; other
 * loaders may not: an entry below the load base is still an offset. */
static const void *dyn_ptr(ElfW(Addr) base, ElfW(Addr) p)
{
    return (const void *)(p < base ? p + base : p);
}

static const char *base_name(const char *path);

/* The default-version definition of find->name in the first object whose base name starts with
 * find->lib_prefix, read from its dynamic symbol table (GNU hash). No dlsym/dlvsym involved:
 * this is how the interposer finds the real dlvsym while exporting its own. */
static int find_elf_symbol(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    elf_find *f = data;
    if (strncmp(base_name(info->dlpi_name), f->lib_prefix, strlen(f->lib_prefix)))
        return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    const ElfW(Sym) *symtab = NULL;
    const char *strtab = NULL;
    const uint32_t *gh = NULL;
    const ElfW(Half) *versym = NULL;
    for (; dyn && dyn->d_tag != DT_NULL; dyn++) {
        const void *p = dyn_ptr(info->dlpi_addr, dyn->d_un.d_ptr);
        switch (dyn->d_tag) {
        case DT_SYMTAB: symtab = p; break;
        case DT_STRTAB: strtab = p; break;
        case DT_GNU_HASH: gh = p; break;
        case DT_VERSYM: versym = p; break;
        }
    }
    if (!symtab || !strtab || !gh)
        return 1; /* the object, but unreadable: give up */
    uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_words = gh[2];
    const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(gh + 4) + bloom_words);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t h = gnu_hash(f->name);
    for (uint32_t i = nbuckets ? buckets[h % nbuckets] : 0; i >= symoffset && i; i++) {
        uint32_t h2 = chain[i - symoffset];
        const ElfW(Sym) *s = &symtab[i];
        if ((h | 1) == (h2 | 1) && s->st_shndx != SHN_UNDEF && s->st_value &&
            !(versym && (versym[i] & 0x8000)) && !strcmp(strtab + s->st_name, f->name)) {
            f->found = (void *)(info->dlpi_addr + s->st_value);
            return 1;
        }
        if (h2 & 1)
            break;
    }
    return 1;
}

typedef void *(*dlvsym_fn)(void *, const char *, const char *);

/* Without the real dlsym or dlvsym no lookup can be answered: say so and stop. */
static void missing_real(const char *msg, size_t len)
{
    (void)!write(2, msg, len);
    abort();
}
#define MISSING_REAL(what) missing_real("glcoherent: cannot find the real " what "\n", \
                                        sizeof "glcoherent: cannot find the real " what "\n" - 1)

static _Atomic(dlvsym_fn) real_dlvsym_p;

/* The real dlvsym: libc's since glibc 2.34, libdl's before. */
static dlvsym_fn real_dlvsym(void)
{
    dlvsym_fn f = atomic_load_explicit(&real_dlvsym_p, memory_order_acquire);
    if (f)
        return f;
    static const char *const libs[] = {"libc.so", "libdl.so", NULL};
    for (const char *const *l = libs; *l && !f; l++) {
        elf_find find = {*l, "dlvsym", NULL};
        dl_iterate_phdr(find_elf_symbol, &find);
        f = (dlvsym_fn)find.found;
    }
    if (!f)
        MISSING_REAL("dlvsym");
    atomic_store_explicit(&real_dlvsym_p, f, memory_order_release);
    return f;
}

void *glc_preload_real_dlvsym(void)
{
    return (void *)real_dlvsym();
}

static _Atomic(dlsym_fn) real_dlsym_p;

dlsym_fn glc_preload_real_dlsym(void)
{
    dlsym_fn f = atomic_load_explicit(&real_dlsym_p, memory_order_acquire);
    if (f)
        return f;
    /* glibc >= 2.34 moved dlsym into libc under GLIBC_2.34; older ones (and the compatibility
     * symbol) carry GLIBC_2.2.5 on x86-64. */
    static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5", "GLIBC_2.17",
                                           "GLIBC_2.0", NULL};
    for (const char *const *v = versions; *v && !f; v++)
        f = (dlsym_fn)real_dlvsym()(RTLD_NEXT, "dlsym", *v);
    if (!f)
        MISSING_REAL("dlsym");
    atomic_store_explicit(&real_dlsym_p, f, memory_order_release);
    return f;
}

/* name (of version `version`, NULL: any) in handle, by the real dlsym or dlvsym. */
static void *sym_in(void *handle, const char *name, const char *version)
{
    return version ? real_dlvsym()(handle, name, version) : glc_preload_real_dlsym()(handle, name);
}

void *glc_preload_lookup_handle(void *handle, const char *name, const char *version)
{
    return sym_in(handle, name, version);
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
void *glc_preload_lookup_after_us(const char *name, const char *version)
{
    void *p = sym_in(RTLD_NEXT, name, version);
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
void *glc_preload_lookup_next(const void *caller, const char *name, const char *version)
{
    struct link_map *lm = NULL;
    Dl_info info;
    if (!caller || !dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return glc_preload_lookup_after_us(name, version);
    if (info.dli_fbase == glc_preload_self_base())
        return glc_preload_lookup_after_us(name, version);
    for (struct link_map *l = lm->l_next; l; l = l->l_next) {
        if (!l->l_name || !l->l_name[0])
            continue;
        void *h = dlopen(l->l_name, RTLD_LAZY | RTLD_NOLOAD);
        if (!h)
            continue;
        void *p = sym_in(h, name, version);
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
void *glc_preload_lookup_default(const void *caller, const char *name, const char *version)
{
    void *p = sym_in(RTLD_DEFAULT, name, version);
    if (p && !glc_preload_is_ours(p))
        return p;
    p = glc_preload_lookup_after_us(name, version);
    if (p)
        return p;
    Dl_info info;
    if (caller && dladdr(caller, &info) && info.dli_fname && info.dli_fname[0] &&
        info.dli_fbase != glc_preload_self_base()) {
        void *h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
        if (h) {
            p = sym_in(h, name, version);
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
    return p ? p : glc_preload_lookup_after_us(name, NULL);
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
