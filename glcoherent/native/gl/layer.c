/* gl/layer.c [GL layer] - see gl/layer.h. */
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

static void group_forget_ctx(glc_group *g, uint64_t ctx);

/* The interposer wraps the libc calls through which the kernel writes into user memory
 * (preload/kernel_writes.c), so there a write-protecting backend keeps them working. */
#ifdef GLC_BUILD_PRELOAD
#define KERNEL_WRITES_WRAPPED 1
#else
#define KERNEL_WRITES_WRAPPED 0
#endif

static _Thread_local glc_ctx *tls_ctx;
/* Bumped whenever a context record is freed: a thread whose tls_ctx was set before the bump
 * checks that its record still exists before using it (another thread may have destroyed the
 * context after this thread last made a call with it current). */
static _Atomic uint64_t ctx_generation;
static _Thread_local uint64_t tls_generation;
static _Atomic uint64_t next_ctx_id = 1;
static pthread_mutex_t instances_lock = PTHREAD_MUTEX_INITIALIZER;
static glcoherent_instance *instances;

static void atomic_max(_Atomic uint64_t *p, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(p, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

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

static glc_group *group_new(void)
{
    glc_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->refs = 1;
    return g;
}

static void map_retire_stats(glcoherent_instance *inst, glc_map *m)
{
    glc_shadow_stats st;
    glc_shadow_get_stats(m->shadow, &st);
    ADD(inst->retired_flushed, st.bytes_flushed);
    ADD(inst->retired_read_back, st.bytes_read_back);
    ADD(inst->retired_flushes, st.flushes);
    ADD(inst->retired_copy_backs, st.copy_backs);
    ADD(inst->retired_faults, st.write_faults);
    ADD(inst->retired_scans, st.scans);
    ADD(inst->retired_switches, st.mode_switches);
}

/* An ordinary map's shadow goes to the spares (or away). */
static void spare_put(glcoherent_instance *inst, glc_shadow *sh)
{
    pthread_mutex_lock(&inst->spare_lock);
    if (inst->nspare < GLC_SPARE_SHADOWS && glc_shadow_length(sh) <= GLC_SPARE_MAX_BYTES) {
        inst->spare[inst->nspare++] = sh;
        sh = NULL;
    }
    pthread_mutex_unlock(&inst->spare_lock);
    glc_shadow_destroy(sh);
}

/* A spare shadow for an ordinary map of length bytes at lead, or NULL. */
static glc_shadow *spare_take(glcoherent_instance *inst, size_t length, size_t lead)
{
    glc_shadow *sh = NULL;
    pthread_mutex_lock(&inst->spare_lock);
    for (size_t i = 0; i < inst->nspare; i++)
        if (glc_shadow_reset(inst->spare[i], length, lead) == 0) {
            sh = inst->spare[i];
            inst->spare[i] = inst->spare[--inst->nspare];
            break;
        }
    pthread_mutex_unlock(&inst->spare_lock);
    return sh;
}

/* Destroy every spare; returns how many there were. */
static size_t spare_drop(glcoherent_instance *inst)
{
    pthread_mutex_lock(&inst->spare_lock);
    size_t n = inst->nspare;
    for (size_t i = 0; i < n; i++)
        glc_shadow_destroy(inst->spare[i]);
    inst->nspare = 0;
    pthread_mutex_unlock(&inst->spare_lock);
    return n;
}

static void map_free(glcoherent_instance *inst, glc_map *m)
{
    map_retire_stats(inst, m);
    if (m->persistent)
        glc_shadow_destroy(m->shadow);
    else
        spare_put(inst, m->shadow);
    free(m);
}

static void set_free(name_set *s); /* below, with the other name_set helpers */

static void group_unref(glcoherent_instance *inst, glc_group *g)
{
    if (--g->refs > 0)
        return;
    STORE(inst->ngroups, inst->ngroups - 1);
    for (glc_group **pp = &inst->groups; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    for (size_t i = 0; i < g->nmaps; i++)
        map_free(inst, g->maps[i]);
    free(g->maps);
    set_free(&g->writable);
    free(g->fences);
    free(g->polls); /* the fences themselves go with the share group's last context */
    glc_programs_free(g->progs);
    pthread_mutex_destroy(&g->lock);
    free(g);
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
        c->group = group_new();
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
            group_forget_ctx(c->group, c->id);
            group_unref(inst, c->group);
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
    spare_drop(inst);
    pthread_mutex_destroy(&inst->spare_lock);
    glc_tracker_destroy(inst->tracker);
    glc_arena_destroy(inst->arena);
    pthread_mutex_destroy(&inst->lock);
    free(inst);
}

/* ---- errors -------------------------------------------------------------------------------- */

void glc_push_error(glc_ctx *c, GLenum error)
{
    /* The driver's pending errors happened first: move them into the queue ahead of ours. */
    if (GLC_FN(&c->inst->gl, glGetError)) {
        GLenum e;
        while (c->nerrors < 15 && (e = GLC_FN(&c->inst->gl, glGetError)()) != GL_NO_ERROR)
            c->errors[c->nerrors++] = e;
    }
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

/* ---- group bookkeeping (group lock held) --------------------------------------------------- */

static glc_map *find_map(glc_group *g, GLuint name)
{
    for (size_t i = 0; i < g->nmaps; i++)
        if (g->maps[i]->name == name)
            return g->maps[i];
    return NULL;
}

static ssize_t set_find(const name_set *s, GLuint name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == name)
            return (ssize_t)i;
    return -1;
}

static int set_has(const name_set *s, GLuint name)
{
    return set_find(s, name) >= 0;
}

static int set_grow(name_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 16;
    GLuint *v = realloc(s->v, cap * sizeof *v);
    if (v)
        s->v = v;
    int64_t *lo = v ? realloc(s->lo, cap * sizeof *lo) : NULL;
    if (lo)
        s->lo = lo;
    int64_t *hi = lo ? realloc(s->hi, cap * sizeof *hi) : NULL;
    if (hi)
        s->hi = hi;
    if (!hi)
        return -1;
    s->cap = cap;
    return 0;
}

/* Adds name with [lo, hi), or widens its range to cover it; 0, or -1 when out of memory
 * (the set then stays as it was). */
static int set_add(name_set *s, GLuint name, int64_t lo, int64_t hi)
{
    ssize_t i = set_find(s, name);
    if (i >= 0) {
        s->lo[i] = lo < s->lo[i] ? lo : s->lo[i];
        s->hi[i] = hi > s->hi[i] ? hi : s->hi[i];
        return 0;
    }
    if (s->n == s->cap && set_grow(s) != 0)
        return -1;
    s->v[s->n] = name;
    s->lo[s->n] = lo;
    s->hi[s->n] = hi;
    s->n++;
    return 0;
}

static void set_remove(name_set *s, GLuint name)
{
    ssize_t i = set_find(s, name);
    if (i < 0)
        return;
    s->n--;
    s->v[i] = s->v[s->n];
    s->lo[i] = s->lo[s->n];
    s->hi[i] = s->hi[s->n];
}

static void set_free(name_set *s)
{
    free(s->v);
    free(s->lo);
    free(s->hi);
}

static int flushes(const glc_map *m)
{
    return m->persistent && (m->access & GL_MAP_WRITE_BIT);
}

static int candidate(const glc_map *m)
{
    return m->persistent && m->gpu_writable;
}

static void set_pending(glc_group *g, glc_map *m, int on)
{
    if (!on)
        m->wlo = m->whi = 0;
    if (m->pending == on)
        return;
    m->pending = on;
    STORE(g->npending, g->npending + (on ? 1 : (size_t)-1));
}

static void remove_map(glcoherent_instance *inst, glc_group *g, glc_map *m)
{
    for (size_t i = 0; i < g->nmaps; i++)
        if (g->maps[i] == m) {
            g->maps[i] = g->maps[--g->nmaps];
            break;
        }
    if (flushes(m))
        STORE(g->nflush, g->nflush - 1);
    if (candidate(m))
        STORE(g->ncand, g->ncand - 1);
    set_pending(g, m, 0);
    map_free(inst, m);
}

/* Bring back the bytes pending GPU writes may have touched (byte exact when merging). */
static void copy_back(glc_map *m)
{
    if (m->whi > m->wlo)
        glc_shadow_copy_back(m->shadow, m->driver, (size_t)m->wlo, (size_t)(m->whi - m->wlo));
}

/* A sync point: the GPU writes that context `ctx` issued up to write sequence `seq` are
 * complete. Bring back every pending mapping that has such a write (a mapping whose writes are
 * all another context's stays as it is: its data may be incomplete), and clear the writes this
 * sync covers; a mapping stays pending while some
 * context's writes to it are not covered (glFinish in one context says nothing about another
 * context's commands). seq 0 covers nothing (a fence we do not know). */
void glc_group_cover(glc_group *g, uint64_t ctx, uint64_t seq)
{
    for (size_t i = 0; i < g->nmaps && g->npending; i++) {
        glc_map *m = g->maps[i];
        if (!m->pending)
            continue;
        int covered = 0;
        for (unsigned k = 0; k < m->nwriters; k++)
            covered |= (m->writers[k].ctx == ctx || m->writers[k].ctx == 0) &&
                       m->writers[k].seq <= seq;
        if (!covered)
            continue; /* nothing this sync waited for: the data may be incomplete */
        copy_back(m);
        unsigned keep = 0;
        for (unsigned k = 0; k < m->nwriters; k++) {
            glc_writer w = m->writers[k];
            if ((w.ctx == ctx || w.ctx == 0) && w.seq <= seq)
                continue;
            m->writers[keep++] = w;
        }
        m->nwriters = keep;
        if (!keep)
            set_pending(g, m, 0);
    }
}

/* Context `ctx` is going away: its uncovered writes become "any context's" (they complete on
 * their own; whichever sync point comes next may clear them). */
static void group_forget_ctx(glc_group *g, uint64_t ctx)
{
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nmaps; i++)
        for (unsigned k = 0; k < g->maps[i]->nwriters; k++)
            if (g->maps[i]->writers[k].ctx == ctx)
                g->maps[i]->writers[k].ctx = 0;
    pthread_mutex_unlock(&g->lock);
}

/* Before a command may write m: make flushes byte exact from now on. */
static void prepare_write(glcoherent_instance *inst, glc_map *m)
{
    if (!m->persistent)
        return;
    if ((m->access & GL_MAP_WRITE_BIT) && !glc_shadow_merging(m->shadow)) {
        if (glc_shadow_enable_merge(m->shadow, m->driver) == 0) {
            if (m->unloaded) {
                /* The reference was taken from a shadow never filled from the buffer, whose
                 * bytes the app left undefined: make the buffer equal to it, or a client write
                 * of the reference's value (zero) would look unchanged and never go down. No
                 * GPU write happened since the map (this is the first one). */
                memcpy(m->driver, glc_shadow_internal(m->shadow), (size_t)m->length);
                m->unloaded = 0;
            }
            ADD(inst->merges, 1);
            glc_log(inst, GLC_LOG_DEBUG,
                    "buffer %u: CPU and GPU both write it, merging byte by byte",
                    m->name);
        } else {
            glc_log(inst, GLC_LOG_ERROR, "buffer %u: no memory for the merge reference", m->name);
        }
    }
}

/* Context `ctx` issued a command that may write [offset, offset + size) of m's buffer (size < 0:
 * anywhere in it). A write that misses the mapped range does not concern the shadow. Returns 1
 * when m became pending (the completion thread is to be woken). */
static int mark_written(glc_group *g, glc_map *m, uint64_t ctx, GLintptr offset,
                        GLsizeiptr size)
{
    /* Write-only persistent maps too: programs read them (piglit bufferstorage-persistent
     * read maps WRITE|PERSISTENT and reads GPU results through the pointer, as drivers allow),
     * and merge mode keeps the copy-back byte exact. */
    if (!m->persistent)
        return 0;
    GLintptr lo = 0, hi = m->length;
    if (size >= 0) {
        if (offset < 0)
            return 0; /* an error: the driver wrote nothing */
        GLintptr rel = offset - m->offset; /* mapping-relative; may be negative */
        lo = rel > 0 ? rel : 0;
        hi = rel >= m->length || size >= m->length - rel ? m->length : rel + size;
        if (lo >= m->length || hi <= lo)
            return 0;
    }
    if (m->whi > m->wlo) {
        lo = lo < m->wlo ? lo : m->wlo;
        hi = hi > m->whi ? hi : m->whi;
    }
    m->wlo = lo;
    m->whi = hi;
    uint64_t seq = ++g->write_seq;
    unsigned k = 0;
    while (k < m->nwriters && m->writers[k].ctx != ctx)
        k++;
    if (k == m->nwriters) {
        if (m->nwriters < GLC_MAP_WRITERS) {
            m->nwriters++;
        } else {
            k = GLC_MAP_WRITERS - 1; /* more writers than slots: fold into "any context" */
            ctx = 0;
        }
    }
    m->writers[k] = (glc_writer){ctx, seq};
    int was = m->pending;
    set_pending(g, m, 1);
    return !was;
}

/* Flush m's shadow into the driver's mapping before `op`. A failure (the tracker could not
 * collect: the shadow's writes stay pending for the next flush) is logged once per mapping. */
static void flush_map(glcoherent_instance *inst, glc_map *m, const char *op)
{
    long n = glc_shadow_flush(m->shadow, m->driver);
    if (n < 0 && !m->flush_failed) {
        m->flush_failed = 1;
        glc_log(inst, GLC_LOG_ERROR, "buffer %u: flush before %s failed: %s", m->name, op,
                strerror((int)-n));
    }
}

static void flush_locked(glcoherent_instance *inst, glc_group *g, const char *op)
{
    for (size_t i = 0; i < g->nmaps; i++) {
        glc_map *m = g->maps[i];
        if (flushes(m) && glc_shadow_maybe_dirty(m->shadow))
            flush_map(inst, m, op);
    }
}

/* ---- what the wrappers call ---------------------------------------------------------------- */

void glc_flush_all(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush))
        return;
    pthread_mutex_lock(&g->lock);
    flush_locked(c->inst, g, "a command that may use buffer memory");
    pthread_mutex_unlock(&g->lock);
}

/* Group lock held: before a draw or dispatch, make the shadows it may write byte exact. */
static void prepare_draw_writes(glc_ctx *c, glc_group *g)
{
    if (!g->ncand || !glc_prog_may_write(c))
        return; /* (a read-only program writes nothing: no reference copy, no diff) */
    for (size_t i = 0; i < g->nmaps; i++)
        if (candidate(g->maps[i]))
            prepare_write(c->inst, g->maps[i]);
}

void glc_before_draw(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush) && !LOAD(g->ncand))
        return;
    pthread_mutex_lock(&g->lock);
    prepare_draw_writes(c, g);
    flush_locked(c->inst, g, "a draw");
    pthread_mutex_unlock(&g->lock);
}

void glc_after_draw(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->ncand))
        return;
    int kick = 0;
    pthread_mutex_lock(&g->lock);
    if (glc_prog_may_write(c))
        for (size_t i = 0; i < g->nmaps; i++) {
            glc_map *m = g->maps[i];
            ssize_t k = candidate(m) ? set_find(&g->writable, m->name) : -1;
            if (k < 0)
                continue;
            /* Only where the buffer was bound for writing (the union of those ranges). */
            int64_t lo = g->writable.lo[k], hi = g->writable.hi[k];
            kick |= mark_written(g, m, c->id, (GLintptr)lo,
                                 hi == INT64_MAX ? -1 : (GLsizeiptr)(hi - lo));
        }
    pthread_mutex_unlock(&g->lock);
    if (kick)
        glc_completion_kick(c->inst);
}

/* Range flush of [lo, hi) of m's buffer (buffer offsets; clipped to the mapping). */
static void flush_map_range(glcoherent_instance *inst, glc_map *m, int64_t lo, int64_t hi,
                            const char *op)
{
    int64_t mlo = m->offset, mhi = (int64_t)m->offset + m->length;
    lo = lo > mlo ? lo : mlo;
    hi = hi < mhi ? hi : mhi;
    if (hi <= lo)
        return;
    long n = glc_shadow_flush_range(m->shadow, m->driver, (size_t)(lo - mlo), (size_t)(hi - lo));
    if (n < 0 && !m->flush_failed) {
        m->flush_failed = 1;
        glc_log(inst, GLC_LOG_ERROR, "buffer %u: flush before %s failed: %s", m->name, op,
                strerror((int)-n));
    }
}

void glc_before_write(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush) && !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = name ? find_map(g, name) : NULL;
    if (m) {
        prepare_write(c->inst, m);
        /* Client bytes written before the command must be down before it overwrites them;
         * the command overwrites only its range, the rest waits for what reads it. */
        if (flushes(m) && size >= 0 && offset >= 0)
            flush_map_range(c->inst, m, offset, (int64_t)offset + size, "a buffer write");
        else if (flushes(m) && glc_shadow_maybe_dirty(m->shadow))
            flush_map(c->inst, m, "a buffer write");
    } else if (!name) {
        flush_locked(c->inst, g, "a buffer write");
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_before_read(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = name ? find_map(g, name) : NULL;
    if (!name)
        flush_locked(c->inst, g, "a command that may read buffer memory");
    else if (m && flushes(m) && size < 0 && glc_shadow_maybe_dirty(m->shadow))
        flush_map(c->inst, m, "a buffer read");
    else if (m && flushes(m) && size > 0 && offset >= 0)
        flush_map_range(c->inst, m, offset, (int64_t)offset + size, "a buffer read");
    pthread_mutex_unlock(&g->lock);
}

/* The client's index bytes of a draw (gl/vertex.h: glc_index_fn), from the shadow when the
 * indices lie in a mapping without pending GPU writes. */
static const void *index_bytes(void *user, GLuint buffer, int64_t offset, size_t len)
{
    glc_map *m = find_map(user, buffer);
    if (!m || m->pending || offset < m->offset ||
        offset + (int64_t)len > (int64_t)m->offset + m->length)
        return NULL;
    return m->client + (offset - m->offset);
}

/* Flush what a bounded draw reads: the ranges in rd, and whole every shadow bound where
 * shaders may read it without a range (storage, atomic-counter, texture buffers). */
static void flush_reads(glcoherent_instance *inst, glc_group *g, const glc_reads *rd)
{
    for (size_t i = 0; i < g->nmaps; i++) {
        glc_map *m = g->maps[i];
        if (!flushes(m))
            continue;
        if (set_has(&g->writable, m->name)) {
            if (glc_shadow_maybe_dirty(m->shadow))
                flush_map(inst, m, "a draw");
            continue;
        }
        for (size_t k = 0; k < rd->n; k++)
            if (rd->r[k].buffer == m->name)
                flush_map_range(inst, m, rd->r[k].lo, rd->r[k].hi, "a draw");
    }
}

/* Once per context: a draw that could have been bounded was not, and why. */
static void log_unbounded(glc_ctx *c)
{
    if (c->unbounded_logged)
        return;
    c->unbounded_logged = 1;
    glc_log(c->inst, GLC_LOG_INFO, "context %p: a draw's vertex reads cannot be bounded (%s); "
            "such draws flush every dirty shadow (said once per context)", c->native,
            glc_vtx_why(c));
}

void glc_before_draw_bounded(glc_ctx *c, const glc_draw *draws, size_t ndraws)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush) && !LOAD(g->ncand))
        return;
    if (!glc_vtx_ready(c)) {
        log_unbounded(c);
        glc_before_draw(c);
        return;
    }
    glc_reads rd;
    rd.n = 0;
    pthread_mutex_lock(&g->lock);
    prepare_draw_writes(c, g);
    int bounded = 1;
    for (size_t i = 0; i < ndraws && bounded; i++)
        bounded = glc_vtx_reads(c, &draws[i], index_bytes, g, &rd) == 0;
    if (bounded)
        flush_reads(c->inst, g, &rd);
    else
        flush_locked(c->inst, g, "a draw");
    if (!bounded)
        log_unbounded(c);
    pthread_mutex_unlock(&g->lock);
}

void glc_buffer_written(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    glc_group *g = c->group;
    if (!name || !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = find_map(g, name);
    int kick = m && mark_written(g, m, c->id, offset, size);
    pthread_mutex_unlock(&g->lock);
    if (kick)
        glc_completion_kick(c->inst);
}

/* Read [src, src + len) of this process through the kernel: a mapping the driver has just
 * unmapped (an unmap, a re-specified or deleted buffer, a destroyed context or display, racing
 * with the completion thread) gives an error instead of a fault. 0, or -errno. */
static int read_own_memory(void *dst, const void *src, size_t len)
{
    struct iovec local = {dst, len};
    struct iovec remote = {(void *)src, len};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    if (n == (ssize_t)len)
        return 0;
    return n < 0 ? -errno : -EFAULT;
}

int glc_refresh_pending(glcoherent_instance *inst, void *scratch, size_t max_bytes)
{
    if (pthread_mutex_trylock(&inst->lock) != 0)
        return 1; /* contexts are being created or destroyed: next pass */
    int watched = 0;
    for (glc_group *g = inst->groups; g; g = g->next) {
        if (!LOAD(g->npending))
            continue;
        if (pthread_mutex_trylock(&g->lock) != 0) {
            watched++;
            continue;
        }
        for (size_t i = 0; i < g->nmaps; i++) {
            glc_map *m = g->maps[i];
            size_t len = (size_t)(m->whi - m->wlo);
            if (!m->pending || len == 0 || len > max_bytes)
                continue;
            watched++;
            int rc = read_own_memory(scratch, m->driver + m->wlo, len);
            if (rc == -ENOSYS || rc == -EPERM) {
                pthread_mutex_unlock(&g->lock);
                pthread_mutex_unlock(&inst->lock);
                return rc; /* cannot read safely here (seccomp): the thread stops */
            }
            if (rc == 0)
                glc_shadow_copy_back_bytes(m->shadow, scratch, (size_t)m->wlo, len);
        }
        pthread_mutex_unlock(&g->lock);
    }
    pthread_mutex_unlock(&inst->lock);
    return watched;
}

int glc_gl_version(glc_ctx *c)
{
    if (!c->gl_version && GLC_FN(&c->inst->gl, glGetString)) {
        const char *v = (const char *)GLC_FN(&c->inst->gl, glGetString)(GL_VERSION);
        int major = 0, minor = 0;
        if (v) {
            while (*v && (*v < '0' || *v > '9'))
                v++;
            sscanf(v, "%d.%d", &major, &minor);
        }
        c->gl_version = major * 10 + minor;
        if (!c->gl_version)
            c->gl_version = -1;
    }
    return c->gl_version;
}

GLuint glc_bound_buffer(glc_ctx *c, GLenum target)
{
    GLenum binding;
    int need = 0;
    switch (target) {
    case GL_ARRAY_BUFFER: binding = GL_ARRAY_BUFFER_BINDING; break;
    case GL_ELEMENT_ARRAY_BUFFER: binding = GL_ELEMENT_ARRAY_BUFFER_BINDING; break;
    case GL_PIXEL_PACK_BUFFER: binding = GL_PIXEL_PACK_BUFFER_BINDING; need = 21; break;
    case GL_PIXEL_UNPACK_BUFFER: binding = GL_PIXEL_UNPACK_BUFFER_BINDING; need = 21; break;
    case GL_UNIFORM_BUFFER: binding = GL_UNIFORM_BUFFER_BINDING; need = 31; break;
    case GL_TEXTURE_BUFFER: binding = GL_TEXTURE_BUFFER_BINDING; need = 31; break;
    case GL_TRANSFORM_FEEDBACK_BUFFER:
        binding = GL_TRANSFORM_FEEDBACK_BUFFER_BINDING;
        need = 30;
        break;
    case GL_COPY_READ_BUFFER: binding = GL_COPY_READ_BUFFER_BINDING; need = 31; break;
    case GL_COPY_WRITE_BUFFER: binding = GL_COPY_WRITE_BUFFER_BINDING; need = 31; break;
    case GL_DRAW_INDIRECT_BUFFER: binding = GL_DRAW_INDIRECT_BUFFER_BINDING; need = 40; break;
    case GL_SHADER_STORAGE_BUFFER: binding = GL_SHADER_STORAGE_BUFFER_BINDING; need = 43; break;
    case GL_DISPATCH_INDIRECT_BUFFER:
        binding = GL_DISPATCH_INDIRECT_BUFFER_BINDING;
        need = 43;
        break;
    case GL_ATOMIC_COUNTER_BUFFER: binding = GL_ATOMIC_COUNTER_BUFFER_BINDING; need = 42; break;
    case GL_QUERY_BUFFER: binding = GL_QUERY_BUFFER_BINDING; need = 44; break;
    case GL_PARAMETER_BUFFER: binding = GL_PARAMETER_BUFFER_BINDING; need = 46; break;
    default: return 0;
    }
    glc_dispatch *gl = &c->inst->gl;
    GLint v = 0;
    if (!GLC_FN(gl, glGetIntegerv))
        return 0;
    if (need && glc_gl_version(c) < need && glc_gl_version(c) > 0) {
        /* Older than the version that made the target core, but an extension may provide it
         * (ARB_indirect_parameters' PARAMETER_BUFFER in 4.5, ARB_query_buffer_object in 4.3,
         * ES 3.1 SSBOs): query it anyway, without letting a possible INVALID_ENUM reach the
         * application. Errors the driver already holds move into our queue first, so the order
         * the application sees stays the same. A buffer recorded under name 0 would never be
         * found again (delete, unmap, writes), so guessing is not an option. */
        if (!GLC_FN(gl, glGetError))
            return 0;
        GLenum e;
        while (c->nerrors < 15 && (e = GLC_FN(gl, glGetError)()) != GL_NO_ERROR)
            c->errors[c->nerrors++] = e;
        GLC_FN(gl, glGetIntegerv)(binding, &v);
        int failed = 0;
        for (int i = 0; i < 16 && GLC_FN(gl, glGetError)() != GL_NO_ERROR; i++)
            failed = 1;
        return failed ? 0 : (GLuint)v;
    }
    GLC_FN(gl, glGetIntegerv)(binding, &v);
    return (GLuint)v;
}

static int all_zero(const uint8_t *p, size_t n)
{
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof w);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Map-time copy-in. A fresh shadow reads as zeros, so runs of zero pages in the buffer (new
 * storage, mostly) are only read, never written: no shadow page gets populated for them. */
static void load_nonzero(glc_shadow *sh, const uint8_t *src, size_t len)
{
    const size_t chunk = 4096;
    size_t run = 0, i = 0;
    for (; i < len; i += chunk) {
        size_t n = len - i < chunk ? len - i : chunk;
        if (all_zero(src + i, n)) {
            if (i > run)
                glc_shadow_load(sh, run, src + run, i - run);
            run = i + n;
        }
    }
    if (len > run)
        glc_shadow_load(sh, run, src + run, len - run);
}

/* Group lock held: add m to the group's mappings. 0, or -ENOMEM. */
static int group_add_map(glc_group *g, glc_map *m)
{
    if (g->nmaps == g->capmaps) {
        size_t cap = g->capmaps ? g->capmaps * 2 : 16;
        glc_map **v = realloc(g->maps, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        g->maps = v;
        g->capmaps = cap;
    }
    g->maps[g->nmaps++] = m;
    if (flushes(m))
        STORE(g->nflush, g->nflush + 1);
    if (candidate(m))
        STORE(g->ncand, g->ncand + 1);
    return 0;
}

void *glc_map_created(glc_ctx *c, GLuint name, void *ptr, GLintptr offset, GLsizeiptr length,
                      GLbitfield access, GLboolean (*unmap)(glc_ctx *, GLuint, GLenum),
                      GLenum target)
{
    glcoherent_instance *inst = c->inst;
    if (!ptr || length <= 0)
        return ptr;
    int persistent = (access & GL_MAP_PERSISTENT_BIT) != 0;
    ADD(inst->maps, 1);
    if (persistent)
        ADD(inst->persistent_maps, 1);
    if ((uint64_t)(uintptr_t)ptr + (uint64_t)length <= inst->limit) {
        atomic_max(&inst->max_mapped_end, (uint64_t)(uintptr_t)ptr + (uint64_t)length);
        return ptr; /* already low enough */
    }
    size_t page = glc_page_size();
    glc_tracker_kind kind = persistent ? inst->kind : GLC_TRACKER_COPY;
    glc_shadow *sh = persistent ? NULL : spare_take(inst, (size_t)length, (size_t)offset % page);
    int reused = sh != NULL;
    int rc = reused ? 0 : glc_shadow_create(inst->arena, inst->tracker, kind, (size_t)length,
                                            (size_t)offset % page, &sh);
    if (rc == -ENOMEM && spare_drop(inst)) /* low memory held by spares: give it back, retry */
        rc = glc_shadow_create(inst->arena, inst->tracker, kind, (size_t)length,
                               (size_t)offset % page, &sh);
    if (rc) {
        unmap(c, name, target);
        ADD(inst->oom, 1);
        glc_log(inst, GLC_LOG_ERROR,
                "out of low memory: cannot map %lld bytes of buffer %u below 0x%llx (%s); "
                "GL_OUT_OF_MEMORY",
                (long long)length, name, (unsigned long long)inst->limit, strerror(-rc));
        glc_push_error(c, GL_OUT_OF_MEMORY);
        return NULL;
    }
    int unloaded = (access & (GL_MAP_INVALIDATE_RANGE_BIT | GL_MAP_INVALIDATE_BUFFER_BIT)) != 0;
    if (!unloaded && reused)
        glc_shadow_load(sh, 0, ptr, (size_t)length); /* (not zero: it held another map) */
    else if (!unloaded)
        load_nonzero(sh, ptr, (size_t)length);
    glc_map *m = calloc(1, sizeof *m);
    if (!m) {
        glc_shadow_destroy(sh);
        unmap(c, name, target);
        glc_push_error(c, GL_OUT_OF_MEMORY);
        return NULL;
    }
    m->name = name;
    m->shadow = sh;
    m->driver = ptr;
    m->client = glc_shadow_client(sh);
    m->offset = offset;
    m->length = length;
    m->access = access;
    m->persistent = persistent;
    m->unloaded = unloaded;
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    /* A stale record (name reused after a delete we did not see) goes first. */
    glc_map *old = find_map(g, name);
    if (old)
        remove_map(inst, g, old);
    m->gpu_writable = set_has(&g->writable, name);
    if (group_add_map(g, m) != 0) {
        pthread_mutex_unlock(&g->lock);
        glc_shadow_destroy(sh);
        free(m);
        unmap(c, name, target);
        glc_push_error(c, GL_OUT_OF_MEMORY);
        return NULL;
    }
    pthread_mutex_unlock(&g->lock);
    ADD(inst->shadowed_maps, 1);
    atomic_max(&inst->max_mapped_end, (uint64_t)(uintptr_t)m->client + (uint64_t)length);
    glc_log(inst, GLC_LOG_DEBUG,
            "buffer %u: %s map of %lld bytes at offset %lld -> %p (driver %p)", name,
            persistent ? "persistent" : "plain", (long long)length, (long long)offset,
            m->client, ptr);
    return m->client;
}

void glc_before_unmap(glc_ctx *c, GLuint name)
{
    glc_group *g = c->group;
    if (!LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = find_map(g, name);
    if (m && (m->access & GL_MAP_WRITE_BIT)) {
        if (m->persistent || !(m->access & GL_MAP_FLUSH_EXPLICIT_BIT))
            flush_map(c->inst, m, "unmap");
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_map_dropped(glc_ctx *c, GLuint name)
{
    glc_group *g = c->group;
    if (!LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = find_map(g, name);
    if (m)
        remove_map(c->inst, g, m);
    pthread_mutex_unlock(&g->lock);
}

void glc_before_flush_range(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr length)
{
    glc_group *g = c->group;
    if (!LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = find_map(g, name);
    if (m && (m->access & GL_MAP_WRITE_BIT)) {
        if (m->persistent) {
            /* Only the flushed bytes: a sub-allocating client (wined3d) flushes its slice of a
             * 64 MiB chunk per map; the rest of the shadow waits for the command that reads it.
             * offset is relative to the mapping; a bad range is the driver's error to give. */
            if (offset >= 0 && length > 0)
                flush_map_range(c->inst, m, (int64_t)m->offset + offset,
                                (int64_t)m->offset + offset + length, "glFlushMappedBufferRange");
        } else if (offset >= 0 && length > 0 && offset < m->length) {
            if (length > m->length - offset)
                length = m->length - offset;
            memcpy(m->driver + offset, m->client + offset, (size_t)length);
        }
    }
    pthread_mutex_unlock(&g->lock);
}

void *glc_client_pointer(glc_ctx *c, void *driver_ptr)
{
    glc_group *g = c->group;
    if (!driver_ptr || !LOAD(g->nmaps))
        return driver_ptr;
    void *r = driver_ptr;
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nmaps; i++)
        if (g->maps[i]->driver == driver_ptr) {
            r = g->maps[i]->client;
            break;
        }
    pthread_mutex_unlock(&g->lock);
    return r;
}

void glc_storage_changed(glc_ctx *c, GLuint name, GLenum target)
{
    glc_group *g = c->group;
    if (!name || !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    int have = find_map(g, name) != NULL;
    pthread_mutex_unlock(&g->lock);
    if (!have)
        return;
    GLint mapped = 0;
    glc_dispatch *gl = &c->inst->gl;
    if (target && GLC_FN(gl, glGetBufferParameteriv))
        GLC_FN(gl, glGetBufferParameteriv)(target, GL_BUFFER_MAPPED, &mapped);
    else if (GLC_FN(gl, glGetNamedBufferParameteriv))
        GLC_FN(gl, glGetNamedBufferParameteriv)(name, GL_BUFFER_MAPPED, &mapped);
    else if (GLC_FN(gl, glGetNamedBufferParameterivEXT))
        GLC_FN(gl, glGetNamedBufferParameterivEXT)(name, GL_BUFFER_MAPPED, &mapped);
    else
        mapped = 1;
    if (!mapped)
        glc_map_dropped(c, name);
}

void glc_buffers_deleted(glc_ctx *c, GLsizei n, const GLuint *names)
{
    glc_group *g = c->group;
    if (n <= 0 || !names)
        return;
    pthread_mutex_lock(&g->lock);
    for (GLsizei i = 0; i < n; i++) {
        glc_map *m = names[i] ? find_map(g, names[i]) : NULL;
        if (m)
            remove_map(c->inst, g, m);
        set_remove(&g->writable, names[i]);
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_buffer_gpu_writable(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    if (!name)
        return;
    int64_t lo = offset > 0 ? offset : 0;
    int64_t hi = size < 0 || offset < 0 ? INT64_MAX : lo + size;
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    int known = set_has(&g->writable, name);
    if (set_add(&g->writable, name, lo, hi) != 0) {
        /* No memory for the record: shader writes through this binding cannot be brought
         * back (said here, once per binding call). */
        glc_log(c->inst, GLC_LOG_ERROR, "buffer %u: no memory to record a shader-writable "
                "binding; GPU writes to it may not reach its mapping", name);
    } else if (!known) {
        glc_log(c->inst, GLC_LOG_DEBUG, "buffer %u: bound where shaders may write it", name);
        glc_map *m = find_map(g, name);
        if (m && !m->gpu_writable) {
            int was = candidate(m);
            m->gpu_writable = 1;
            if (!was && candidate(m))
                STORE(g->ncand, g->ncand + 1);
        }
    }
    pthread_mutex_unlock(&g->lock);
}
