/* preload/interpose.c [preload layer] - the LD_PRELOAD front door: `glcoherent run -- PROGRAM`.
 *
 * Hands the GL layer's wrapped entry points to programs that know nothing of glcoherent, through
 * every door a program uses to reach GL:
 *
 *   - exported gl* symbols (gl/wrap.c exports each wrapped entry point under its GL name when
 *     built with GLC_BUILD_PRELOAD): programs linked against libGL / libOpenGL / libGLESv2;
 *   - dlsym (PyOpenGL, glfw, waffle, epoxy...): a GL name glc_wrapper_for() knows gets its
 *     wrapper when the real lookup finds the symbol; eglGetProcAddress, eglCreateContext, ... and
 *     glXGetProcAddressARB, glXCreateContext, ... get the hooks below; everything else is the
 *     real dlsym, entered by a tail jump so that RTLD_NEXT / RTLD_DEFAULT / the caller's scope
 *     behave exactly as without us;
 *   - eglGetProcAddress, glXGetProcAddress, glXGetProcAddressARB: wrappers for wrapped names,
 *     our hooks for the hooked egl* / glX* names, the real answer otherwise.
 *
 * Contexts: eglCreateContext / glXCreateContext / glXCreateNewContext /
 * glXCreateContextAttribsARB feed glc_preload_context_created(ctx, share); eglMakeCurrent / glXMakeCurrent /
 * glXMakeContextCurrent / eglReleaseThread feed make_current; eglDestroyContext /
 * glXDestroyContext feed context_destroyed, deferred while the context is current on some thread
 * (as EGL and GLX defer the destruction itself).
 *
 * The instance: one per process, created by the first hook that needs it (or, for a program
 * linked against a GL library, by the constructor: exported gl* wrappers fall back to the first
 * instance's dispatch table when no context is current, so one must exist before main).
 * Its get_proc is the REAL eglGetProcAddress / glXGetProcAddressARB (then the real exported
 * symbol), found through the real dlsym on the GL libraries' own handles, never our hooks.
 * The constructor runs before the program's main but possibly before the GL libraries'
 * constructors are done with their work, so there it fills the dispatch table from exported
 * symbols only; the first hook call later fills what is missing through get-proc-address.
 *
 * Configuration (environment, read at instance creation): GLCOHERENT_LIMIT, GLCOHERENT_TRACKER,
 * GLCOHERENT_LOG (debug, info, warning, error), GLCOHERENT_STATS=1: at exit, a process that
 * used GL prints exactly one line `glcoherent-stats: {json}` on stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/config.h"
#include "preload/preload.h"
#include "gl/wrap.h"
#include "api/glcoherent.h"
#include "track/tracker.h"

#define LOAD(x) atomic_load_explicit(&(x), memory_order_acquire)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_release)

/* ---- lookups: preload/lookup.c ---------------------------------------------------------------- */

/* Set while the dispatch table may only be filled from exported symbols (the constructor). */
static _Thread_local int t_symbols_only;

/* The instance's get_proc: the real get-proc-address functions, then the exported symbol. */
static void *instance_get_proc(void *user, const char *name)
{
    (void)user;
    void *p = NULL;
    if (!t_symbols_only) {
        gpa_fn egl = glc_preload_real_egl_gpa();
        if (egl)
            p = egl(name);
        if (!p) {
            gpa_fn glx = glc_preload_real_glx_gpa();
            if (glx)
                p = glx(name);
        }
    }
    if (!p)
        p = glc_preload_gl_symbol(name);
    return glc_preload_is_ours(p) ? NULL : p;
}

/* ---- the instance ------------------------------------------------------------------------------ */

#define NSLOTS ((size_t)GLC_FN_COUNT)

static glc_slot *slot_ptr(glcoherent_instance *inst, size_t i)
{
    return glc_dispatch_slot(&inst->gl, (unsigned)i);
}

static _Atomic(glcoherent_instance *) g_inst;

glcoherent_instance *glc_preload_instance_if_any(void)
{
    return LOAD(g_inst);
}
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int g_failed;
static atomic_uint g_filled;   /* get-proc-address used to fill the table: 1 egl, 2 glx */
static _Thread_local int t_busy;

/* Fill the dispatch slots left empty (g_lock held): once, when a real get-proc-address first
 * becomes available after the constructor filled the table from exported symbols only. */
static void refill(glcoherent_instance *inst)
{
    unsigned have = (glc_preload_real_egl_gpa() ? 1u : 0u) | (glc_preload_real_glx_gpa() ? 2u : 0u);
    if (g_filled || !have)
        return;
    size_t n = 0;
    for (size_t i = 0; i < NSLOTS; i++) {
        glc_slot *s = slot_ptr(inst, i);
        if (!LOAD(*s)) {
            void *p = instance_get_proc(NULL, glc_dispatch_name((unsigned)i));
            if (p) {
                STORE(*s, p);
                n++;
            }
        }
    }
    STORE(g_filled, have);
    glc_log(inst, GLC_LOG_DEBUG,
            "interposer: %zu dispatch entries filled through get-proc-address", n);
}

/* The process's instance, created on first need. NULL before any GL library is loaded, while
 * this thread is inside the creation (the driver may call back into dlsym), or on failure. */
glcoherent_instance *glc_preload_ensure_instance(void)
{
    glcoherent_instance *inst = LOAD(g_inst);
    if (inst && (LOAD(g_filled) || t_symbols_only))
        return inst;
    if (t_busy)
        return inst;
    if (!inst && (LOAD(g_failed) || !glc_preload_any_gl_loaded()))
        return NULL;
    t_busy = 1;
    pthread_mutex_lock(&g_lock);
    inst = g_inst;
    if (!inst && !g_failed) {
        glcoherent_config cfg = GLCOHERENT_CONFIG_INIT;
        cfg.get_proc = instance_get_proc;
        int rc = glc_instance_create(&cfg, &inst);
        if (rc) {
            glc_log(NULL, GLC_LOG_ERROR,
                    "interposer: cannot create the instance (%s); retrying with "
                    "limit 4G and the copy tracker", strerror(-rc));
            cfg.limit = (uint64_t)1 << 32;
            cfg.tracker = "copy";
            rc = glc_instance_create(&cfg, &inst);
        }
        if (rc) {
            glc_log(NULL, GLC_LOG_ERROR,
                    "interposer: cannot create the instance (%s); GL goes to the "
                    "driver untouched", strerror(-rc));
            g_failed = 1;
            inst = NULL;
        } else {
            if (!t_symbols_only)
                STORE(g_filled, (glc_preload_real_egl_gpa() ? 1u : 0u) | (glc_preload_real_glx_gpa() ? 2u : 0u));
            STORE(g_inst, inst);
            glc_log(inst, GLC_LOG_INFO, "interposer: instance ready (pid %d)", (int)getpid());
        }
    }
    if (inst && !t_symbols_only)
        refill(inst);
    pthread_mutex_unlock(&g_lock);
    t_busy = 0;
    return inst;
}

/* The wrapper for a GL name whose real entry point is `real` (non-NULL), or NULL when it must
 * not be interposed. Makes sure the dispatch slot behind the wrapper is filled. */
static void *wrapper_for_real(const char *name, void *real)
{
    void *w = glc_wrapper_for(name);
    if (!w || !real || glc_preload_is_ours(real))
        return NULL;
    glcoherent_instance *inst = glc_preload_ensure_instance();
    if (!inst)
        return NULL;
    for (size_t i = 0; i < NSLOTS; i++) {
        if (!strcmp(glc_dispatch_name((unsigned)i), name)) {
            void *expected = NULL;
            atomic_compare_exchange_strong(slot_ptr(inst, i), &expected, real);
            break;
        }
    }
    return w;
}

/* ---- contexts: preload/contexts.c ----------------------------------------------------------- */

/* ---- hooks ---------------------------------------------------------------------------------------- */

/* EGL and GLX types without their headers (only the ABI matters here). */
typedef void *EGLDisplay_, *EGLConfig_, *EGLContext_, *EGLSurface_;
typedef int32_t EGLint_;
typedef unsigned int EGLBoolean_;
typedef void Display_;
typedef unsigned long XID_;
typedef void *GLXContext_, *GLXFBConfig_;
typedef int Bool_;

enum {
    H_eglGetProcAddress,
    H_eglCreateContext,
    H_eglDestroyContext,
    H_eglMakeCurrent,
    H_eglReleaseThread,
    H_eglTerminate,
    H_glXGetProcAddress,
    H_glXGetProcAddressARB,
    H_glXCreateContext,
    H_glXCreateNewContext,
    H_glXCreateContextAttribsARB,
    H_glXMakeCurrent,
    H_glXMakeContextCurrent,
    H_glXDestroyContext,
    H_COUNT
};

static void *hook_fn(int i);
static int interesting(const char *name);

static struct {
    const char *name;
    _Atomic(void *) real;
} hooks[H_COUNT] = {
    [H_eglGetProcAddress] = {"eglGetProcAddress", NULL},
    [H_eglCreateContext] = {"eglCreateContext", NULL},
    [H_eglDestroyContext] = {"eglDestroyContext", NULL},
    [H_eglMakeCurrent] = {"eglMakeCurrent", NULL},
    [H_eglReleaseThread] = {"eglReleaseThread", NULL},
    [H_eglTerminate] = {"eglTerminate", NULL},
    [H_glXGetProcAddress] = {"glXGetProcAddress", NULL},
    [H_glXGetProcAddressARB] = {"glXGetProcAddressARB", NULL},
    [H_glXCreateContext] = {"glXCreateContext", NULL},
    [H_glXCreateNewContext] = {"glXCreateNewContext", NULL},
    [H_glXCreateContextAttribsARB] = {"glXCreateContextAttribsARB", NULL},
    [H_glXMakeCurrent] = {"glXMakeCurrent", NULL},
    [H_glXMakeContextCurrent] = {"glXMakeContextCurrent", NULL},
    [H_glXDestroyContext] = {"glXDestroyContext", NULL},
};

static int hook_index(const char *name)
{
    if (name[0] == 'e' ? strncmp(name, "egl", 3) : strncmp(name, "glX", 3))
        return -1;
    for (int i = 0; i < H_COUNT; i++)
        if (!strcmp(hooks[i].name, name))
            return i;
    return -1;
}

static void remember_real(int i, void *real)
{
    void *expected = NULL;
    if (real && !glc_preload_is_ours(real))
        atomic_compare_exchange_strong(&hooks[i].real, &expected, real);
}

/* The function our hook i stands for: what the application's own lookup returned, else the GL
 * library's export, else its get-proc-address. */
static void *real_of(int i)
{
    void *p = LOAD(hooks[i].real);
    if (p)
        return p;
    const char *name = hooks[i].name;
    if (name[0] == 'e') {
        p = glc_preload_lookup_in("libEGL.so.1", name);
        if (!p && i != H_eglGetProcAddress) {
            gpa_fn gpa = glc_preload_real_egl_gpa();
            p = gpa ? gpa(name) : NULL;
        }
    } else {
        p = glc_preload_lookup_in("libGLX.so.0", name);
        if (!p)
            p = glc_preload_lookup_in("libGL.so.1", name);
        if (!p && i != H_glXGetProcAddress && i != H_glXGetProcAddressARB) {
            gpa_fn gpa = glc_preload_real_glx_gpa();
            p = gpa ? gpa(name) : NULL;
        }
    }
    if (!p)
        p = glc_preload_lookup_after_us(name, NULL);
    if (glc_preload_is_ours(p))
        p = NULL;
    remember_real(i, p);
    return p;
}

/* What a get-proc-address or dlsym lookup of `name` made from `caller` hands out, given the real
 * answer (the GL implementation's own lookups get real answers). */
static void *interposed(const char *name, void *real, const void *caller)
{
    if (!real || !name || glc_preload_is_ours(real) || !interesting(name) ||
        glc_preload_caller_is_gl_stack_or_self(caller))
        return real;
    if (name[0] == 'g' && name[1] == 'l' && name[2] != 'X') {
        void *w = wrapper_for_real(name, real);
        return w ? w : real;
    }
    int i = hook_index(name);
    if (i < 0)
        return real;
    remember_real(i, real);
    return hook_fn(i);
}

static int interesting(const char *name)
{
    if (!name)
        return 0;
    if (name[0] == 'g' && name[1] == 'l')
        return name[2] == 'X' ? hook_index(name) >= 0 : glc_wrapper_for(name) != NULL;
    return name[0] == 'e' && hook_index(name) >= 0;
}

#define REAL(i, type) ((type)real_of(i))

GLCOHERENT_EXPORT void *eglGetProcAddress(const char *name)
{
    gpa_fn real = REAL(H_eglGetProcAddress, gpa_fn);
    void *p = real ? real(name) : NULL;
    return interposed(name, p, __builtin_return_address(0));
}

GLCOHERENT_EXPORT EGLContext_ eglCreateContext(EGLDisplay_ dpy, EGLConfig_ config,
                                               EGLContext_ share, const EGLint_ *attribs)
{
    typedef EGLContext_ (*fn)(EGLDisplay_, EGLConfig_, EGLContext_, const EGLint_ *);
    fn real = REAL(H_eglCreateContext, fn);
    if (!real)
        return NULL;
    EGLContext_ ctx = real(dpy, config, share, attribs);
    if (ctx) {
        glc_preload_context_created(ctx, share);
        glc_preload_egl_context_display(ctx, dpy);
    }
    return ctx;
}

GLCOHERENT_EXPORT EGLBoolean_ eglDestroyContext(EGLDisplay_ dpy, EGLContext_ ctx)
{
    typedef EGLBoolean_ (*fn)(EGLDisplay_, EGLContext_);
    fn real = REAL(H_eglDestroyContext, fn);
    if (!real)
        return 0;
    EGLBoolean_ ok = real(dpy, ctx);
    if (ok) {
        glc_preload_egl_context_display(ctx, NULL);
        glc_preload_context_destroyed(ctx);
    }
    return ok;
}

/* eglTerminate marks every context of the display for deletion (a context current on some
 * thread goes when it is released, as in EGL): their records, mappings and shadows go too. */
GLCOHERENT_EXPORT EGLBoolean_ eglTerminate(EGLDisplay_ dpy)
{
    typedef EGLBoolean_ (*fn)(EGLDisplay_);
    fn real = REAL(H_eglTerminate, fn);
    if (!real)
        return 0;
    EGLBoolean_ ok = real(dpy);
    if (ok)
        glc_preload_egl_display_terminated(dpy);
    return ok;
}

GLCOHERENT_EXPORT EGLBoolean_ eglMakeCurrent(EGLDisplay_ dpy, EGLSurface_ draw, EGLSurface_ read,
                                             EGLContext_ ctx)
{
    typedef EGLBoolean_ (*fn)(EGLDisplay_, EGLSurface_, EGLSurface_, EGLContext_);
    fn real = REAL(H_eglMakeCurrent, fn);
    if (!real)
        return 0;
    EGLBoolean_ ok = real(dpy, draw, read, ctx);
    if (ok)
        glc_preload_made_current(ctx);
    return ok;
}

GLCOHERENT_EXPORT EGLBoolean_ eglReleaseThread(void)
{
    typedef EGLBoolean_ (*fn)(void);
    fn real = REAL(H_eglReleaseThread, fn);
    if (!real)
        return 1;
    EGLBoolean_ ok = real();
    if (ok && glc_preload_current())
        glc_preload_made_current(NULL);
    return ok;
}

GLCOHERENT_EXPORT void *glXGetProcAddressARB(const unsigned char *name)
{
    gpa_fn real = REAL(H_glXGetProcAddressARB, gpa_fn);
    void *p = real ? real((const char *)name) : NULL;
    return interposed((const char *)name, p, __builtin_return_address(0));
}

GLCOHERENT_EXPORT void *glXGetProcAddress(const unsigned char *name)
{
    gpa_fn real = REAL(H_glXGetProcAddress, gpa_fn);
    if (!real)
        real = REAL(H_glXGetProcAddressARB, gpa_fn);
    void *p = real ? real((const char *)name) : NULL;
    return interposed((const char *)name, p, __builtin_return_address(0));
}

GLCOHERENT_EXPORT GLXContext_ glXCreateContext(Display_ *dpy, void *vis, GLXContext_ share,
                                               Bool_ direct)
{
    typedef GLXContext_ (*fn)(Display_ *, void *, GLXContext_, Bool_);
    fn real = REAL(H_glXCreateContext, fn);
    if (!real)
        return NULL;
    GLXContext_ ctx = real(dpy, vis, share, direct);
    if (ctx)
        glc_preload_context_created(ctx, share);
    return ctx;
}

GLCOHERENT_EXPORT GLXContext_ glXCreateNewContext(Display_ *dpy, GLXFBConfig_ config,
                                                  int render_type, GLXContext_ share,
                                                  Bool_ direct)
{
    typedef GLXContext_ (*fn)(Display_ *, GLXFBConfig_, int, GLXContext_, Bool_);
    fn real = REAL(H_glXCreateNewContext, fn);
    if (!real)
        return NULL;
    GLXContext_ ctx = real(dpy, config, render_type, share, direct);
    if (ctx)
        glc_preload_context_created(ctx, share);
    return ctx;
}

/* An extension entry point: handed out by glXGetProcAddress / dlsym, not exported (no GL
 * library exports it, and a program probing for it must see what it would see without us). */
static GLXContext_ hook_glXCreateContextAttribsARB(Display_ *dpy, GLXFBConfig_ config,
                                                   GLXContext_ share, Bool_ direct,
                                                   const int *attribs)
{
    typedef GLXContext_ (*fn)(Display_ *, GLXFBConfig_, GLXContext_, Bool_, const int *);
    fn real = REAL(H_glXCreateContextAttribsARB, fn);
    if (!real)
        return NULL;
    GLXContext_ ctx = real(dpy, config, share, direct, attribs);
    if (ctx)
        glc_preload_context_created(ctx, share);
    return ctx;
}

GLCOHERENT_EXPORT Bool_ glXMakeCurrent(Display_ *dpy, XID_ drawable, GLXContext_ ctx)
{
    typedef Bool_ (*fn)(Display_ *, XID_, GLXContext_);
    fn real = REAL(H_glXMakeCurrent, fn);
    if (!real)
        return 0;
    Bool_ ok = real(dpy, drawable, ctx);
    if (ok)
        glc_preload_made_current(ctx);
    return ok;
}

GLCOHERENT_EXPORT Bool_ glXMakeContextCurrent(Display_ *dpy, XID_ draw, XID_ read,
                                              GLXContext_ ctx)
{
    typedef Bool_ (*fn)(Display_ *, XID_, XID_, GLXContext_);
    fn real = REAL(H_glXMakeContextCurrent, fn);
    if (!real)
        return 0;
    Bool_ ok = real(dpy, draw, read, ctx);
    if (ok)
        glc_preload_made_current(ctx);
    return ok;
}

GLCOHERENT_EXPORT void glXDestroyContext(Display_ *dpy, GLXContext_ ctx)
{
    typedef void (*fn)(Display_ *, GLXContext_);
    fn real = REAL(H_glXDestroyContext, fn);
    if (!real)
        return;
    real(dpy, ctx);
    glc_preload_context_destroyed(ctx);
}

static void *hook_fn(int i)
{
    switch (i) {
    case H_eglGetProcAddress: return (void *)eglGetProcAddress;
    case H_eglCreateContext: return (void *)eglCreateContext;
    case H_eglDestroyContext: return (void *)eglDestroyContext;
    case H_eglMakeCurrent: return (void *)eglMakeCurrent;
    case H_eglReleaseThread: return (void *)eglReleaseThread;
    case H_eglTerminate: return (void *)eglTerminate;
    case H_glXGetProcAddress: return (void *)glXGetProcAddress;
    case H_glXGetProcAddressARB: return (void *)glXGetProcAddressARB;
    case H_glXCreateContext: return (void *)glXCreateContext;
    case H_glXCreateNewContext: return (void *)glXCreateNewContext;
    case H_glXCreateContextAttribsARB: return (void *)hook_glXCreateContextAttribsARB;
    case H_glXMakeCurrent: return (void *)glXMakeCurrent;
    case H_glXMakeContextCurrent: return (void *)glXMakeContextCurrent;
    case H_glXDestroyContext: return (void *)glXDestroyContext;
    }
    return NULL;
}

/* ---- dlsym, dlvsym ------------------------------------------------------------------------------ */

/* What the exported dlsym and dlvsym do: `result`, or, when `pass` is set, a jump to `pass` (the
 * real function) with the caller's own arguments and return address, so that the real one sees
 * the real caller (RTLD_NEXT, RTLD_DEFAULT and namespaces depend on it). */
typedef struct dlsym_step {
    void *result;
    void *pass;
} dlsym_step;

/* name (of `version`; NULL: dlsym) in handle as seen from caller, given the real function
 * `real_fn`. GL entry points we wrap come back as our wrappers (on the usual GL stacks the
 * libraries are unversioned, so glibc's dlvsym never finds them: it passes through); the libc
 * calls the kernel writes through (kernel_writes.c) come back as our wrappers wherever the real
 * answer is the function the wrapper forwards to, so a program that finds `read` through a libc
 * handle or by version does not bypass them. */
static dlsym_step lookup_step(void *handle, const char *name, const char *version, void *caller,
                              void *real_fn)
{
    dlsym_step s = {NULL, real_fn};
    int kernel_write = glc_preload_is_kernel_write(name);
    if ((!kernel_write && !interesting(name)) || glc_preload_caller_is_gl_stack_or_self(caller))
        return s;
    void *real;
    if (handle == RTLD_NEXT)
        real = glc_preload_lookup_next(caller, name, version);
    else if (handle == RTLD_DEFAULT)
        real = glc_preload_lookup_default(caller, name, version);
    else {
        real = glc_preload_lookup_handle(handle, name, version);
        if (!real)
            return s;   /* not found: the real function again, which sets dlerror() */
        if (glc_preload_is_ours(real))
            real = glc_preload_lookup_after_us(name, version);
    }
    if (!real) {
        /* The only definition is ours: a GL name does not exist for the application; our
         * kernel-write wrapper is what the real function finds. */
        if (!kernel_write)
            s.pass = NULL;
        return s;
    }
    s.pass = NULL;
    s.result = kernel_write ? glc_preload_kernel_write_wrapper(name, real)
                            : interposed(name, real, NULL);   /* caller checked above */
    return s;
}

__attribute__((visibility("hidden"))) dlsym_step glc_dlsym_step(void *handle, const char *name,
                                                                 void *caller);
__attribute__((visibility("hidden"))) dlsym_step glc_dlvsym_step(void *handle, const char *name,
                                                                  const char *version,
                                                                  void *caller);

dlsym_step glc_dlsym_step(void *handle, const char *name, void *caller)
{
    return lookup_step(handle, name, NULL, caller, (void *)glc_preload_real_dlsym());
}

dlsym_step glc_dlvsym_step(void *handle, const char *name, const char *version, void *caller)
{
    void *real_fn = glc_preload_real_dlvsym();
    if (!version) /* glibc's dlvsym wants a version: let it answer */
        return (dlsym_step){NULL, real_fn};
    return lookup_step(handle, name, version, caller, real_fn);
}

#if defined(__x86_64__)
/* Tail jumps keep the application's return address for the real functions. dlsym(rdi, rsi)
 * and dlvsym(rdi, rsi, rdx) save their arguments, call the step with the return address as the
 * last argument, and return its result (rax) or jump to its `pass` (rdx; r11 for dlvsym, whose
 * rdx is an argument) with the arguments restored. */
__asm__(".text\n"
        ".globl dlsym\n"
        ".type dlsym, @function\n"
        ".p2align 4\n"
        "dlsym:\n"
        "    .cfi_startproc\n"
#ifdef __CET__
        "    endbr64\n"
#endif
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    subq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rdx\n"
        "    call glc_dlsym_step\n"
        "    addq $8, %rsp\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %rdx, %rdx\n"
        "    jnz 1f\n"
        "    ret\n"
        "1:  jmp *%rdx\n"
        "    .cfi_endproc\n"
        ".size dlsym, .-dlsym\n"
        "\n"
        ".globl dlvsym\n"
        ".type dlvsym, @function\n"
        ".p2align 4\n"
        "dlvsym:\n"
        "    .cfi_startproc\n"
#ifdef __CET__
        "    endbr64\n"
#endif
        "    pushq %rdi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rsi\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    pushq %rdx\n"
        "    .cfi_adjust_cfa_offset 8\n"
        "    movq 24(%rsp), %rcx\n"
        "    call glc_dlvsym_step\n"
        "    movq %rdx, %r11\n"
        "    popq %rdx\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rsi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    popq %rdi\n"
        "    .cfi_adjust_cfa_offset -8\n"
        "    testq %r11, %r11\n"
        "    jnz 1f\n"
        "    ret\n"
        "1:  jmp *%r11\n"
        "    .cfi_endproc\n"
        ".size dlvsym, .-dlvsym\n");
#else
/* Elsewhere the real functions see this library as the caller: emulate RTLD_NEXT. */
GLCOHERENT_EXPORT void *dlsym(void *handle, const char *name)
{
    void *caller = __builtin_return_address(0);
    dlsym_step s = glc_dlsym_step(handle, name, caller);
    if (!s.pass)
        return s.result;
    if (handle == RTLD_NEXT)
        return name ? glc_preload_lookup_next(caller, name, NULL) : NULL;
    return ((dlsym_fn)s.pass)(handle, name);
}

GLCOHERENT_EXPORT void *dlvsym(void *handle, const char *name, const char *version)
{
    typedef void *(*dlvsym_fn)(void *, const char *, const char *);
    void *caller = __builtin_return_address(0);
    dlsym_step s = glc_dlvsym_step(handle, name, version, caller);
    if (!s.pass)
        return s.result;
    if (handle == RTLD_NEXT)
        return name && version ? glc_preload_lookup_next(caller, name, version) : NULL;
    return ((dlvsym_fn)s.pass)(handle, name, version);
}
#endif

/* ---- dlclose ------------------------------------------------------------------------------------ */

/* Forget `*slot` if the object it pointed into is gone. Returns 1 when it was forgotten. */
static int forget_if_unloaded(glc_slot *slot)
{
    void *p = atomic_load_explicit(slot, memory_order_acquire);
    Dl_info info;
    if (!p || dladdr(p, &info))
        return 0;
    atomic_store_explicit(slot, NULL, memory_order_release);
    return 1;
}

/* After a dlclose: every driver entry point we keep (dispatch slots, the functions our hooks
 * stand for, the real get-proc-address functions) that no longer lies in a loaded object is
 * forgotten; the next call resolves it again through the libraries loaded then. A program that
 * unloads its GL libraries and loads them again would otherwise call into unmapped code. */
static void forget_unloaded(void)
{
    size_t n = 0;
    n += glc_preload_forget_unloaded_gpa();
    for (int i = 0; i < H_COUNT; i++)
        n += (size_t)forget_if_unloaded(&hooks[i].real);
    glcoherent_instance *inst = LOAD(g_inst);
    if (inst)
        for (size_t i = 0; i < NSLOTS; i++)
            n += (size_t)forget_if_unloaded(slot_ptr(inst, i));
    if (n) {
        STORE(g_filled, 0u); /* refill through get-proc-address once one is loaded again */
        glc_log(inst, GLC_LOG_DEBUG, "interposer: %zu entry points forgotten after dlclose", n);
    }
}

GLCOHERENT_EXPORT int dlclose(void *handle)
{
    typedef int (*fn)(void *);
    static _Atomic(fn) real_close;
    fn real = atomic_load_explicit(&real_close, memory_order_acquire);
    if (!real) {
        real = (fn)glc_preload_real_dlsym()(RTLD_NEXT, "dlclose");
        atomic_store_explicit(&real_close, real, memory_order_release);
    }
    if (!real)
        return -1;
    int rc = real(handle);
    if (rc == 0)
        forget_unloaded();
    return rc;
}


/* ---- in-process access -------------------------------------------------------------------------- */

/* The interposer's instance (NULL before any GL library is loaded): code running inside a
 * program under `glcoherent run` can find it with dlsym(RTLD_DEFAULT,
 * "glcoherent_preload_instance") and read its statistics through glcoherent_get_api() instead
 * of stacking a second glcoherent on top. */
GLCOHERENT_EXPORT glcoherent_instance *glcoherent_preload_instance(void);

glcoherent_instance *glcoherent_preload_instance(void)
{
    return glc_preload_ensure_instance();
}

/* ---- statistics at exit (stats.c), constructor -------------------------------------------------------------- */

static atomic_int stats_printed;

/* The stats line at exit. Runs as an atexit handler registered by the constructor, so before
 * any library's destructor (libGLX's may wait on the X display lock), and again as our own
 * destructor for exits that skip atexit handlers; it prints once. */
static void print_stats_at_exit(void)
{
    glcoherent_instance *inst = LOAD(g_inst);
    if (!inst || !glc_env_flag("GLCOHERENT_STATS", 0) ||
        atomic_exchange_explicit(&stats_printed, 1, memory_order_acq_rel))
        return;
    glc_preload_print_stats(inst);
}

__attribute__((destructor)) static void interpose_fini(void)
{
    print_stats_at_exit();
}

__attribute__((constructor)) static void interpose_init(void)
{
    atexit(print_stats_at_exit);
    glc_preload_real_dlsym();
    glc_preload_self_base();
    glc_preload_is_ours(NULL);
    /* A program linked against a GL library can call an exported gl* wrapper before any hook
     * runs; the wrappers' no-context fallback needs an instance. Fill it from exported symbols
     * only: the GL libraries may not be initialised yet. */
    if (glc_preload_any_gl_loaded()) {
        t_symbols_only = 1;
        glc_preload_ensure_instance();
        t_symbols_only = 0;
    }
}
