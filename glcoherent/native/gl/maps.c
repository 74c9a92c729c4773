/* gl/maps.c [GL layer] - mapped-buffer records (see gl/layer.h): a map gets a low shadow,
 * unmap and glFlushMappedBufferRange send it down, storage changes and deletes drop it. */
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

#include "gl/group.h"
#include "gl/program.h"
#include "gl/vertex.h"

static void atomic_max(_Atomic uint64_t *p, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(p, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* ---- fresh storage (gl/layer.h) ------------------------------------------------------ */

/* Buffer `name` (0: any) may hold other data from now on: it is no longer fresh, and a
 * shadow kept from its last map no longer equals it (group lock held). */
static void may_change_locked(glc_group *g, GLuint name)
{
    if (!name)
        g->fresh.n = 0;
    else
        glc_set_remove(&g->fresh, name);
    STORE(g->nfresh, g->fresh.n);
    glc_kept_forget(g, name);
}

static void may_change(glc_group *g, GLuint name)
{
    if (!LOAD(g->nfresh) && !LOAD(g->nkept))
        return;
    pthread_mutex_lock(&g->lock);
    may_change_locked(g, name);
    pthread_mutex_unlock(&g->lock);
}

void glc_buffer_may_change(glc_ctx *c, GLuint name)
{
    may_change(c->group, name);
}

/* GL_BUFFER_IMMUTABLE_STORAGE of the buffer bound to target (a buffer is bound), or -1. */
static int immutable_storage(glc_ctx *c, GLenum target)
{
    glc_dispatch *gl = &c->inst->gl;
    GLint v = 0;
    if (!target || !GLC_HAS(gl, glGetBufferParameteriv))
        return -1;
    GLC_FN(gl, glGetBufferParameteriv)(target, GL_BUFFER_IMMUTABLE_STORAGE, &v);
    return v != 0;
}

int glc_storage_fresh_begin(glc_ctx *c, GLenum target, GLsizeiptr size, const void *data)
{
    /* (Nothing is asked of GL for the common small or initialised stores.) */
    if (data || size < GLC_FRESH_MIN_BYTES || !target)
        return 0;
    return glc_bound_buffer(c, target) != 0 && immutable_storage(c, target) == 0;
}

void glc_storage_fresh(glc_ctx *c, GLuint name, GLenum target, int candidate)
{
    glc_group *g = c->group;
    /* Immutable now and mutable before: this call made the store (a failed one changes
     * nothing, and the buffer stays mutable). */
    if (!candidate || immutable_storage(c, target) != 1)
        return;
    pthread_mutex_lock(&g->lock);
    /* (A buffer bound where shaders may write before it had storage can be written by the
     * next draw: not fresh.) */
    if (g->fresh.n < GLC_FRESH_MAX && !glc_set_has(&g->fresh, name) &&
        !glc_set_has(&g->writable, name) && !glc_set_has(&g->texbufs, name) &&
        glc_set_add(&g->fresh, name, 0, INT64_MAX) == 0)
        STORE(g->nfresh, g->fresh.n);
    pthread_mutex_unlock(&g->lock);
}

/* 1 if the map of `name` about to be made is its store's first since a fresh storage call:
 * (and it is no longer fresh after it). */
static int fresh_take(glc_group *g, GLuint name)
{
    if (!LOAD(g->nfresh))
        return 0;
    pthread_mutex_lock(&g->lock);
    int was = glc_set_has(&g->fresh, name);
    if (was)
        may_change_locked(g, name);
    pthread_mutex_unlock(&g->lock);
    return was;
}

int glc_gl_version(glc_ctx *c)
{
    if (!c->gl_version && GLC_HAS(&c->inst->gl, glGetString)) {
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

/* Buffer targets, the query of what is bound there, and the GL version (x10) that has it. */
static const struct {
    GLenum target, binding;
    int need;
} bind_queries[] = {
    {GL_ARRAY_BUFFER, GL_ARRAY_BUFFER_BINDING, 0},
    {GL_ELEMENT_ARRAY_BUFFER, GL_ELEMENT_ARRAY_BUFFER_BINDING, 0},
    {GL_PIXEL_PACK_BUFFER, GL_PIXEL_PACK_BUFFER_BINDING, 21},
    {GL_PIXEL_UNPACK_BUFFER, GL_PIXEL_UNPACK_BUFFER_BINDING, 21},
    {GL_UNIFORM_BUFFER, GL_UNIFORM_BUFFER_BINDING, 31},
    {GL_TEXTURE_BUFFER, GL_TEXTURE_BUFFER_BINDING, 31},
    {GL_TRANSFORM_FEEDBACK_BUFFER, GL_TRANSFORM_FEEDBACK_BUFFER_BINDING, 30},
    {GL_COPY_READ_BUFFER, GL_COPY_READ_BUFFER_BINDING, 31},
    {GL_COPY_WRITE_BUFFER, GL_COPY_WRITE_BUFFER_BINDING, 31},
    {GL_DRAW_INDIRECT_BUFFER, GL_DRAW_INDIRECT_BUFFER_BINDING, 40},
    {GL_SHADER_STORAGE_BUFFER, GL_SHADER_STORAGE_BUFFER_BINDING, 43},
    {GL_DISPATCH_INDIRECT_BUFFER, GL_DISPATCH_INDIRECT_BUFFER_BINDING, 43},
    {GL_ATOMIC_COUNTER_BUFFER, GL_ATOMIC_COUNTER_BUFFER_BINDING, 42},
    {GL_QUERY_BUFFER, GL_QUERY_BUFFER_BINDING, 44},
    {GL_PARAMETER_BUFFER, GL_PARAMETER_BUFFER_BINDING, 46},
};

GLuint glc_bound_buffer(glc_ctx *c, GLenum target)
{
    unsigned k = 0;
    while (k < sizeof bind_queries / sizeof bind_queries[0] && bind_queries[k].target != target)
        k++;
    if (k == sizeof bind_queries / sizeof bind_queries[0])
        return 0;
    GLenum binding = bind_queries[k].binding;
    int need = bind_queries[k].need;
    glc_dispatch *gl = &c->inst->gl;
    GLint v = 0;
    if (!GLC_HAS(gl, glGetIntegerv))
        return 0;
    if (need && glc_gl_version(c) < need && glc_gl_version(c) > 0) {
        /* Older than the version that made the target core, but an extension may provide it
         * (ARB_indirect_parameters' PARAMETER_BUFFER in 4.5, ARB_query_buffer_object in 4.3,
         * ES 3.1 SSBOs): query it anyway, without letting a possible INVALID_ENUM reach the
         * application. Errors the driver already holds move into our queue first, so the order
         * the application sees stays the same. A buffer recorded under name 0 would never be
         * found again (delete, unmap, writes), so guessing is not an option. */
        if (!GLC_HAS(gl, glGetError))
            return 0;
        glc_take_driver_errors(c);
        GLC_FN(gl, glGetIntegerv)(binding, &v);
        int failed = 0;
        for (int i = 0; i < 16 && GLC_FN(gl, glGetError)() != GL_NO_ERROR; i++)
            failed = 1;
        return failed ? 0 : (GLuint)v;
    }
    GLC_FN(gl, glGetIntegerv)(binding, &v);
    return (GLuint)v;
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
    if (glc_map_flushes(m))
        STORE(g->nflush, g->nflush + 1);
    if (glc_map_candidate(m))
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
    /* Every map ends the store's freshness: the client may write through it. */
    int fresh = fresh_take(c->group, name);
    ADD(inst->maps, 1);
    if (persistent)
        ADD(inst->persistent_maps, 1);
    int low = (uint64_t)(uintptr_t)ptr + (uint64_t)length <= inst->limit;
    glc_shadow_stats base = {0};
    glc_shadow *sh = NULL;
    if (LOAD(c->group->nkept)) {
        /* The shadow kept from this range's last map equals the buffer: no load. Any other
         * map of the buffer (ordinary, or placed low: no shadow) may change it: it goes. */
        pthread_mutex_lock(&c->group->lock);
        if (persistent && !low)
            sh = glc_kept_take(c->group, name, offset, length, &base);
        else
            glc_kept_forget(c->group, name);
        pthread_mutex_unlock(&c->group->lock);
    }
    int kept = sh != NULL;
    if (low) {
        atomic_max(&inst->max_mapped_end, (uint64_t)(uintptr_t)ptr + (uint64_t)length);
        return ptr; /* already low enough */
    }
    size_t page = glc_page_size();
    glc_tracker_kind kind = persistent ? inst->kind : GLC_TRACKER_COPY;
    if (!persistent)
        sh = glc_spare_take(inst, (size_t)length, (size_t)offset % page);
    int reused = sh != NULL && !kept;
    int rc = sh ? 0 : glc_shadow_create(inst->arena, inst->tracker, kind, (size_t)length,
                                        (size_t)offset % page, &sh);
    if (rc == -ENOMEM && (glc_spare_drop(inst) || LOAD(c->group->nkept))) {
        /* Low memory held by spares or kept shadows: give it back, retry. */
        pthread_mutex_lock(&c->group->lock);
        glc_kept_forget(c->group, 0);
        pthread_mutex_unlock(&c->group->lock);
        rc = glc_shadow_create(inst->arena, inst->tracker, kind, (size_t)length,
                               (size_t)offset % page, &sh);
    }
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
    /* An invalidating map's bytes are undefined, and so are a fresh store's: the shadow's
     * zeros stand for them. */
    int unloaded = fresh ||
                   (access & (GL_MAP_INVALIDATE_RANGE_BIT | GL_MAP_INVALIDATE_BUFFER_BIT)) != 0;
    if (kept)
        ; /* (it equals the buffer) */
    else if (!unloaded && reused)
        glc_shadow_load(sh, 0, ptr, (size_t)length); /* (not zero: it held another map) */
    else if (!unloaded)
        glc_shadow_load_fresh(sh, ptr, (size_t)length);
    glc_map *m = calloc(1, sizeof *m);
    if (!m) {
        glc_shadow_destroy(sh);
        unmap(c, name, target);
        glc_push_error(c, GL_OUT_OF_MEMORY);
        return NULL;
    }
    m->name = name;
    m->shadow = sh;
    m->base = base;
    m->driver = ptr;
    m->client = glc_shadow_client(sh);
    m->offset = offset;
    m->length = length;
    m->access = access;
    m->persistent = persistent;
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    /* A stale record (name reused after a delete we did not see) goes first. */
    glc_map *old = glc_find_map(g, name);
    if (old)
        glc_remove_map(inst, g, old);
    m->gpu_writable = glc_set_has(&g->writable, name);
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
            "buffer %u: %s map of %lld bytes at offset %lld -> %p (driver %p)%s", name,
            persistent ? "persistent" : "plain", (long long)length, (long long)offset,
            m->client, ptr, fresh ? ", fresh store: not loaded" : kept ? ", kept shadow" : "");
    return m->client;
}

/* The map of buffer `name` with the group's lock held (NULL, unlocked: the group maps nothing;
 * NULL, locked: not this buffer). The caller unlocks when it returned 1. */
static int lock_map(glc_ctx *c, GLuint name, glc_map **m)
{
    glc_group *g = c->group;
    *m = NULL;
    if (!LOAD(g->nmaps))
        return 0;
    pthread_mutex_lock(&g->lock);
    *m = glc_find_map(g, name);
    return 1;
}

void glc_before_unmap(glc_ctx *c, GLuint name)
{
    glc_map *m;
    if (!lock_map(c, name, &m))
        return;
    if (m && (m->access & GL_MAP_WRITE_BIT)) {
        if (m->persistent || !(m->access & GL_MAP_FLUSH_EXPLICIT_BIT))
            glc_flush_map(c->inst, m, "unmap");
    }
    pthread_mutex_unlock(&c->group->lock);
}

/* The driver unmapped `name`: its record goes, its shadow is kept when `keep` and it may. */
static void map_dropped(glc_ctx *c, GLuint name, int keep)
{
    glc_map *m;
    if (!lock_map(c, name, &m))
        return;
    if (m && (!keep || glc_keep_map(c->inst, c->group, m) != 0))
        glc_remove_map(c->inst, c->group, m);
    pthread_mutex_unlock(&c->group->lock);
}

void glc_map_dropped(glc_ctx *c, GLuint name)
{
    map_dropped(c, name, 1);
}

void glc_before_flush_range(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr length)
{
    glc_map *m;
    if (!lock_map(c, name, &m))
        return;
    /* A persistent mapping needs no copy here: every command that can read it flushes what it
     * reads first (the range a bounded draw or a copy reads; every dirty shadow before the
     * others), so the flushed bytes reach the real buffer before anything can see them. A copy
     * here would cost the whole range each time where the shadow is copied blindly (the copy
     * tracker, whole-copy mode): wined3d flushes all 16 MiB of a dynamic buffer after each
     * DISCARD map of it. An ordinary map's flushed bytes go down now (no command reads the
     * buffer while it is mapped; its unmap copies the rest). offset is relative to the
     * mapping; a bad range is the driver's error to give. */
    if (m && !m->persistent && (m->access & GL_MAP_WRITE_BIT) && offset >= 0 && length > 0 &&
        offset < m->length) {
        if (length > m->length - offset)
            length = m->length - offset;
        memcpy(m->driver + offset, m->client + offset, (size_t)length);
    }
    pthread_mutex_unlock(&c->group->lock);
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
    if (name)
        may_change(g, name); /* (glc_storage_fresh marks it again when it is) */
    if (!name || !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    int have = glc_find_map(g, name) != NULL;
    pthread_mutex_unlock(&g->lock);
    if (!have)
        return;
    GLint mapped = 0;
    glc_dispatch *gl = &c->inst->gl;
    if (target && GLC_HAS(gl, glGetBufferParameteriv))
        GLC_FN(gl, glGetBufferParameteriv)(target, GL_BUFFER_MAPPED, &mapped);
    else if (GLC_HAS(gl, glGetNamedBufferParameteriv))
        GLC_FN(gl, glGetNamedBufferParameteriv)(name, GL_BUFFER_MAPPED, &mapped);
    else if (GLC_HAS(gl, glGetNamedBufferParameterivEXT))
        GLC_FN(gl, glGetNamedBufferParameterivEXT)(name, GL_BUFFER_MAPPED, &mapped);
    else
        mapped = 1;
    if (!mapped)
        map_dropped(c, name, 0); /* (new storage: nothing to keep) */
}

void glc_buffers_deleted(glc_ctx *c, GLsizei n, const GLuint *names)
{
    glc_group *g = c->group;
    if (n <= 0 || !names)
        return;
    pthread_mutex_lock(&g->lock);
    for (GLsizei i = 0; i < n; i++) {
        glc_map *m = names[i] ? glc_find_map(g, names[i]) : NULL;
        if (m)
            glc_remove_map(c->inst, g, m);
        glc_set_remove(&g->writable, names[i]);
        glc_set_remove(&g->texbufs, names[i]);
        if (names[i])
            may_change_locked(g, names[i]);
    }
    pthread_mutex_unlock(&g->lock);
}

/* [lo, hi) of buffer `name` may be written by shaders (group lock held). */
static void add_writable(glc_ctx *c, glc_group *g, GLuint name, int64_t lo, int64_t hi,
                         const char *call)
{
    int known = glc_set_has(&g->writable, name);
    if (glc_set_add(&g->writable, name, lo, hi) != 0) {
        /* No memory for the record: shader writes through this binding cannot be brought
         * back (said here, once per binding call). */
        glc_log(c->inst, GLC_LOG_ERROR, "buffer %u: no memory to record a shader-writable "
                "binding; GPU writes to it may not reach its mapping", name);
    } else if (!known) {
        glc_log(c->inst, GLC_LOG_DEBUG, "buffer %u: bound where shaders may write it (%s, "
                "offset %lld, size %lld)", name, call, (long long)lo,
                hi == INT64_MAX ? -1LL : (long long)(hi - lo));
        glc_map *m = glc_find_map(g, name);
        if (m && !m->gpu_writable) {
            int was = glc_map_candidate(m);
            m->gpu_writable = 1;
            if (!was && glc_map_candidate(m))
                STORE(g->ncand, g->ncand + 1);
        }
    }
}

/* A binding of [offset, offset + size) of buffer `name` (size < 0: to the end) where shaders
 * may write it, or (`texture`) behind a buffer texture: that is shader-writable only once an
 * image unit was bound for writing, or when there is no memory for its record (then every
 * draw flushes it whole, as a writable binding). */
static void record_binding(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size,
                           const char *call, int texture)
{
    if (!name)
        return;
    int64_t lo = offset > 0 ? offset : 0;
    int64_t hi = size < 0 || offset < 0 ? INT64_MAX : lo + size;
    glc_group *g = c->group;
    pthread_mutex_lock(&g->lock);
    may_change_locked(g, name); /* shaders may write it from now on */
    if (!texture || glc_set_add(&g->texbufs, name, lo, hi) != 0 || g->images_writable)
        add_writable(c, g, name, lo, hi, call);
    pthread_mutex_unlock(&g->lock);
}

void glc_buffer_gpu_writable(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size,
                             const char *call)
{
    record_binding(c, name, offset, size, call, 0);
}

void glc_buffer_texture(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size,
                        const char *call)
{
    record_binding(c, name, offset, size, call, 1);
}

void glc_image_bound(glc_ctx *c, GLuint texture, GLenum access, const char *call)
{
    glc_group *g = c->group;
    if (!texture || access == GL_READ_ONLY || LOAD(g->images_writable))
        return;
    pthread_mutex_lock(&g->lock);
    if (!g->images_writable) {
        /* Which texture is a buffer texture, and of which buffer, is not followed: from now on
         * every buffer behind a buffer texture may be written by shaders. */
        STORE(g->images_writable, 1);
        for (size_t i = 0; i < g->texbufs.n; i++)
            add_writable(c, g, g->texbufs.v[i], g->texbufs.lo[i], g->texbufs.hi[i], call);
    }
    pthread_mutex_unlock(&g->lock);
}
