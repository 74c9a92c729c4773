/* gl/instance.c [GL layer] - instances, contexts and the current context, the GL error
 * queue (see gl/layer.h). A context record is made at creation or first make-current; share
 * groups are made and dropped with their contexts (gl/group.c). */
#include "gl/layer.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/config.h"
#include "gl/group.h"
#include "gl/program.h"
#include "gl/vertex.h"

/* The interposer wraps the libc calls through which the kernel writes into user memory
 * (preload/kernel_writes.c), so there a write-protecting backend keeps them working. */
#ifdef GLC_BUILD_PRELOAD
#define KERNEL_WRITES_WRAPPED 1
#else
#define KERNEL_WRITES_WRAPPED 0
#endif

/* initial-exec: every wrapped GL call reads these; the default (dynamic) model for a shared
 * library costs a __tls_get_addr call each time. The library already uses static TLS
 * (track/sigsegv.c), which dlopen provides from glibc's reserve. */
#define TLS_IE __attribute__((tls_model("initial-exec")))
static _Thread_local glc_ctx *tls_ctx TLS_IE;
/* Bumped whenever a context record is freed: a thread whose tls_ctx was set before the bump
 * checks that its record still exists before using it (another thread may have destroyed the
 * context after this thread last made a call with it current). */
static _Atomic uint64_t ctx_generation;
static _Thread_local uint64_t tls_generation TLS_IE;
static _Atomic uint64_t next_ctx_id = 1;
static pthread_mutex_t instances_lock = PTHREAD_MUTEX_INITIALIZER;
static glcoherent_instance *instances;

/* ---- instances and contexts --------------------------------------------------------------- */

static uint64_t config_limit(const glcoherent_config *cfg, int *bad)
{
    *bad = 0;
    if (cfg->limit)
        return cfg->limit;
    const char *e = getenv("GLCOHERENT_LIMIT");
    uint64_t v;
    if (e && *e) {
        if (glc_parse_limit(e, &v) == 0)
            return v;
        *bad = 1;
    }
    return GLC_ARENA_DEFAULT_HIGH;
}

/* A forked child has none of the parent's threads: its instances start their completion
 * threads afresh when they need them. */
static void completion_atfork_child(void)
{
    for (glcoherent_instance *i = instances; i; i = i->next_instance)
        glc_completion_init(&i->completion);
}

void glc_completion_stop_all(void)
{
    pthread_mutex_lock(&instances_lock);
    for (glcoherent_instance *i = instances; i; i = i->next_instance)
        glc_completion_stop(&i->completion);
    pthread_mutex_unlock(&instances_lock);
}

static pthread_once_t completion_atfork_once = PTHREAD_ONCE_INIT;

static void completion_atfork_register(void)
{
    pthread_atfork(NULL, NULL, completion_atfork_child);
}

int glc_instance_create(const glcoherent_config *cfg, glcoherent_instance **out)
{
    *out = NULL;
    /* Callers built before log_level was added pass the shorter struct. */
    if (!cfg || !cfg->get_proc || cfg->struct_size < offsetof(glcoherent_config, log_level))
        return -EINVAL;
    glcoherent_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return -ENOMEM;
    memcpy(&inst->cfg, cfg,
           cfg->struct_size < sizeof inst->cfg ? cfg->struct_size : sizeof inst->cfg);
    inst->cfg.struct_size = sizeof inst->cfg;
    inst->log_min = glc_log_min(&inst->cfg);
    pthread_mutex_init(&inst->lock, NULL);
    pthread_mutex_init(&inst->spare_lock, NULL);
    glc_completion_init(&inst->completion);
    if (!glc_env_flag("GLCOHERENT_COMPLETION_THREAD", 1))
        inst->completion.stop = 1; /* results then arrive at GL calls only */

    int bad_limit;
    inst->limit = config_limit(cfg, &bad_limit);
    if (bad_limit)
        glc_log(inst, GLC_LOG_ERROR, "GLCOHERENT_LIMIT=%s is not a size in [1 MiB, 4 GiB] "
                "(examples: 2G, 3GiB, 0xC0000000); using 4 GiB", getenv("GLCOHERENT_LIMIT"));
    int rc = glc_arena_create(&inst->arena, (uintptr_t)cfg->low, (uintptr_t)inst->limit);
    if (rc) {
        glc_log(inst, GLC_LOG_ERROR, "cannot create the low arena [0x%llx, 0x%llx): %s",
                (unsigned long long)cfg->low, (unsigned long long)inst->limit, strerror(-rc));
        glc_completion_fini(&inst->completion);
        free(inst);
        return rc;
    }
    if (cfg->host_alloc)
        glc_arena_set_host_allocator(inst->arena, cfg->host_alloc, cfg->host_free,
                                     cfg->host_user);

    const char *tname = cfg->tracker ? cfg->tracker : getenv("GLCOHERENT_TRACKER");
    glc_tracker_kind want = GLC_TRACKER_BEST;
    if (tname && *tname && glc_tracker_parse(tname, &want) != 0) {
        glc_log(inst, GLC_LOG_ERROR, "unknown tracker '%s' (choose one of auto, uffd, "
                "mprotect, copy); using auto", tname);
        want = GLC_TRACKER_BEST;
    }
    glc_tracker_kind got = glc_policy_backend(want, KERNEL_WRITES_WRAPPED);
    if (want == GLC_TRACKER_BEST && got != GLC_TRACKER_UFFD)
        glc_log(inst, GLC_LOG_WARN,
                "userfaultfd write-protect is not available here; auto tracking "
                "falls back to '%s'%s", glc_tracker_name(got),
                got == GLC_TRACKER_COPY && glc_tracker_available(GLC_TRACKER_MPROTECT)
                    ? " (not mprotect: kernel writes into mappings would fail in-process; "
                      "glcoherent run wraps them)"
                    : "");
    else if (want != GLC_TRACKER_BEST && got != want)
        glc_log(inst, GLC_LOG_WARN, "tracker '%s' is not available here; falling back to '%s'",
                glc_tracker_name(want), glc_tracker_name(got));
    inst->kind = want == GLC_TRACKER_BEST ? GLC_TRACKER_BEST : got;
    if (got != GLC_TRACKER_COPY) {
        rc = glc_tracker_create(&inst->tracker, got);
        if (rc) {
            glc_log(inst, GLC_LOG_WARN, "cannot create the %s tracker (%s); falling back to copy",
                    glc_tracker_name(got), strerror(-rc));
            inst->tracker = NULL;
            inst->kind = GLC_TRACKER_COPY;
        }
    }

glc_dispatch_init(&inst->gl, cfg->get_proc, cfg->get_proc_user, inst);

    glc_log(inst, GLC_LOG_INFO,
            "ready: limit 0x%llx, tracker %s%s", (unsigned long long)inst->limit,
            inst->tracker ? glc_tracker_name(glc_tracker_kind_of(inst->tracker)) : "copy",
            glc_policy_for(inst->kind) == GLC_POLICY_ADAPTIVE ? " (adaptive)" : "");
    pthread_once(&completion_atfork_once, completion_atfork_register);
    pthread_mutex_lock(&instances_lock);
    inst->next_instance = instances;
    instances = inst;
    pthread_mutex_unlock(&instances_lock);
    *out = inst;
    return 0;
}

glcoherent_instance *glc_first_instance(void)
{
    pthread_mutex_lock(&instances_lock);
    glcoherent_instance *i = instances;
    pthread_mutex_unlock(&instances_lock);
    return i;
}

/* inst->lock held. */
static glc_ctx *find_ctx(glcoherent_instance *inst, void *native)
{
    for (glc_ctx *c = inst->contexts; c; c = c->next)
        if (c->native == native)
            return c;
    return NULL;
}

/* inst->lock held. */
static glc_ctx *new_ctx(glcoherent_instance *inst, void *native, glc_ctx *share)
{
    glc_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->inst = inst;
    c->native = native;
    c->id = ADD(next_ctx_id, 1);
    if (share) {
        c->group = share->group;
        c->group->refs++;
    } else {
        c->group = glc_group_new();
        if (!c->group) {
            free(c);
            return NULL;
        }
        STORE(inst->ngroups, inst->ngroups + 1);
        c->group->next = inst->groups; /* inst->lock held */
        inst->groups = c->group;
    }
    c->next = inst->contexts;
    inst->contexts = c;
    STORE(inst->ncontexts, inst->ncontexts + 1);
    return c;
}

void glc_context_created(glcoherent_instance *inst, void *native, void *share)
{
    if (!native)
        return;
    pthread_mutex_lock(&inst->lock);
    if (!find_ctx(inst, native)) {
        glc_ctx *s = share ? find_ctx(inst, share) : NULL;
        if (share && !s)
            s = new_ctx(inst, share, NULL);
        new_ctx(inst, native, s);
    }
    pthread_mutex_unlock(&inst->lock);
}

void glc_context_destroyed(glcoherent_instance *inst, void *native)
{
    pthread_mutex_lock(&inst->lock);
    for (glc_ctx **pp = &inst->contexts; *pp; pp = &(*pp)->next) {
        if ((*pp)->native == native) {
            glc_ctx *c = *pp;
            *pp = c->next;
            if (tls_ctx == c)
                tls_ctx = NULL;
            glc_group_forget_ctx(c->group, c->id);
            glc_group_unref(inst, c->group);
            glc_vertex_free(c->vtx);
            glc_pipelines_free(c->pipes);
            free(c);
            STORE(inst->ncontexts, inst->ncontexts - 1);
            ADD(ctx_generation, 1);
            break;
        }
    }
    pthread_mutex_unlock(&inst->lock);
}

void glc_make_current(glcoherent_instance *inst, void *native)
{
    if (!native) {
        if (tls_ctx && tls_ctx->inst == inst)
            tls_ctx = NULL;
        return;
    }
    pthread_mutex_lock(&inst->lock);
    tls_generation = LOAD(ctx_generation);
    glc_ctx *c = find_ctx(inst, native);
    if (!c)
        c = new_ctx(inst, native, NULL);
    pthread_mutex_unlock(&inst->lock);
    tls_ctx = c;
}

void glc_host_make_current(glcoherent_instance *inst, void *native)
{
    STORE(inst->host_current, 1);
    glc_make_current(inst, native);
}

/* Is c (compared as a pointer, never dereferenced) still a live context record? */
static int ctx_alive(const glc_ctx *c)
{
    int alive = 0;
    pthread_mutex_lock(&instances_lock);
    for (glcoherent_instance *i = instances; i && !alive; i = i->next_instance) {
        pthread_mutex_lock(&i->lock);
        for (glc_ctx *x = i->contexts; x && !alive; x = x->next)
            alive = x == c;
        pthread_mutex_unlock(&i->lock);
    }
    pthread_mutex_unlock(&instances_lock);
    return alive;
}

glc_ctx *glc_current(void)
{
    glc_ctx *c = tls_ctx;
    if (c && tls_generation != LOAD(ctx_generation)) {
        /* Contexts were destroyed since this thread last looked: drop a dangling record. */
        uint64_t gen = LOAD(ctx_generation);
        if (!ctx_alive(c))
            tls_ctx = c = NULL;
        tls_generation = gen;
    }
    glcoherent_instance *inst = c ? c->inst : glc_first_instance();
    if (!inst || !inst->cfg.get_current || LOAD(inst->host_current))
        return c;
    /* The host did not promise to call make_current: check the native current context. */
    void *native = inst->cfg.get_current(inst->cfg.get_current_user);
    if (c && c->native == native)
        return c;
    if (!native) {
        tls_ctx = NULL;
        return NULL;
    }
    glc_make_current(inst, native);
    return tls_ctx;
}

glc_ctx *glc_current_fast(void)
{
    glc_ctx *c = tls_ctx;
    if (c && tls_generation == LOAD(ctx_generation) && LOAD(c->inst->ngroups) <= 1)
        return c;
    return glc_current();
}

void glc_instance_destroy(glcoherent_instance *inst)
{
    if (!inst)
        return;
    pthread_mutex_lock(&instances_lock);
    for (glcoherent_instance **pp = &instances; *pp; pp = &(*pp)->next_instance)
        if (*pp == inst) {
            *pp = inst->next_instance;
            break;
        }
    pthread_mutex_unlock(&instances_lock);
    glc_completion_fini(&inst->completion);
    while (inst->contexts)
        glc_context_destroyed(inst, inst->contexts->native);
    glc_spare_drop(inst);
    pthread_mutex_destroy(&inst->spare_lock);
    glc_tracker_destroy(inst->tracker);
    glc_arena_destroy(inst->arena);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

/* ---- errors -------------------------------------------------------------------------------- */

void glc_take_driver_errors(glc_ctx *c)
{
    GLenum e;
    while (c->nerrors < 15 && (e = GLC_FN(&c->inst->gl, glGetError)()) != GL_NO_ERROR)
        c->errors[c->nerrors++] = e;
}

void glc_push_error(glc_ctx *c, GLenum error)
{
    /* The driver's pending errors happened first: move them into the queue ahead of ours. */
    glc_take_driver_errors(c);
    for (unsigned i = 0; i < c->nerrors; i++)
        if (c->errors[i] == error)
            return; /* GL keeps one flag per error code */
    if (c->nerrors < 16)
        c->errors[c->nerrors++] = error;
}

GLenum glc_pop_error(glc_ctx *c)
{
    if (!c->nerrors)
        return GL_NO_ERROR;
    GLenum e = c->errors[0];
    memmove(c->errors, c->errors + 1, (--c->nerrors) * sizeof c->errors[0]);
    return e;
}
