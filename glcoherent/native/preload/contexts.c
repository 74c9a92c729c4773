/* preload/contexts.c [preload layer] - the program's contexts as the hooks see them: created,
 * made current, destroyed; a context destroyed while some thread still has it current is
 * forgotten only when the last thread lets it go (as the drivers do). */
#include <pthread.h>
#include <stdlib.h>

#include "preload/preload.h"

/* Contexts that have been current: how many threads have them current, and whether the
 * application destroyed them meanwhile (destruction deferred until no thread has them). */
typedef struct live_ctx {
    void *ctx;
    int current;
    int destroyed;
    struct live_ctx *next;
} live_ctx;

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static live_ctx *live_list;
/* initial-exec: read by every wrapped GL call (no __tls_get_addr; the interposer is loaded at
 * startup, where static TLS is the norm). */
static _Thread_local void *t_current __attribute__((tls_model("initial-exec")));

void *glc_preload_current(void)
{
    return t_current;
}

/* ctx_lock held. */
static live_ctx **live_find(void *ctx)
{
    live_ctx **pp = &live_list;
    while (*pp && (*pp)->ctx != ctx)
        pp = &(*pp)->next;
    return pp;
}

void glc_preload_context_created(void *ctx, void *share)
{
    if (!ctx)
        return;
    glcoherent_instance *inst = glc_preload_ensure_instance();
    if (!inst)
        return;
    pthread_mutex_lock(&ctx_lock);
    /* The driver just returned this handle, so any record under it is stale: a context
     * destroyed behind our back (eglTerminate, a deferred destruction) whose memory was
     * reused. Its shadows must not leak into the new context. */
    live_ctx **pp = live_find(ctx);
    if (*pp) {
        live_ctx *l = *pp;
        *pp = l->next;
        free(l);
    }
    glc_context_destroyed(inst, ctx);
    pthread_mutex_unlock(&ctx_lock);
    glc_context_created(inst, ctx, share);
    glc_log(inst, GLC_LOG_DEBUG, "interposer: context %p created (share %p)", ctx, share);
}

void glc_preload_made_current(void *ctx)
{
    glcoherent_instance *inst = glc_preload_ensure_instance();
    if (!inst)
        return;
    void *old = t_current;
    glc_make_current(inst, ctx);
    if (old == ctx)
        return;
    t_current = ctx;
    pthread_mutex_lock(&ctx_lock);
    if (ctx) {
        live_ctx **pp = live_find(ctx);
        if (!*pp) {
            live_ctx *l = calloc(1, sizeof *l);
            if (l) {
                l->ctx = ctx;
                *pp = l;
            }
        }
        if (*pp)
            (*pp)->current++;
    }
    if (old) {
        live_ctx **pp = live_find(old);
        if (*pp && --(*pp)->current <= 0) {
            live_ctx *l = *pp;
            if (l->destroyed) {
                *pp = l->next;
                free(l);
                glc_context_destroyed(inst, old);
            }
        }
    }
    pthread_mutex_unlock(&ctx_lock);
}

void glc_preload_context_destroyed(void *ctx)
{
    glcoherent_instance *inst = glc_preload_instance_if_any();
    if (!inst || !ctx)
        return;
    pthread_mutex_lock(&ctx_lock);
    live_ctx **pp = live_find(ctx);
    if (*pp && (*pp)->current > 0) {
        (*pp)->destroyed = 1;
        pthread_mutex_unlock(&ctx_lock);
        return;
    }
    if (*pp) {
        live_ctx *l = *pp;
        *pp = l->next;
        free(l);
    }
    glc_context_destroyed(inst, ctx);
    pthread_mutex_unlock(&ctx_lock);
}

/* EGL contexts and their displays, for eglTerminate (ctx_lock held). */
typedef struct egl_ctx {
    void *ctx, *dpy;
    struct egl_ctx *next;
} egl_ctx;

static egl_ctx *egl_list;

static void *egl_ctx_take(void *ctx, void *dpy)
{
    for (egl_ctx **pp = &egl_list; *pp; pp = &(*pp)->next)
        if ((ctx && (*pp)->ctx == ctx) || (!ctx && (*pp)->dpy == dpy)) {
            egl_ctx *e = *pp;
            void *found = e->ctx;
            *pp = e->next;
            free(e);
            return found;
        }
    return NULL;
}

void glc_preload_egl_context_display(void *ctx, void *dpy)
{
    pthread_mutex_lock(&ctx_lock);
    egl_ctx_take(ctx, NULL);
    egl_ctx *e = dpy ? calloc(1, sizeof *e) : NULL;
    if (e) {
        *e = (egl_ctx){ctx, dpy, egl_list};
        egl_list = e;
    }
    pthread_mutex_unlock(&ctx_lock);
}

void glc_preload_egl_display_terminated(void *dpy)
{
    for (;;) {
        pthread_mutex_lock(&ctx_lock);
        void *ctx = egl_ctx_take(NULL, dpy);
        pthread_mutex_unlock(&ctx_lock);
        if (!ctx)
            return;
        glc_preload_context_destroyed(ctx);
    }
}
