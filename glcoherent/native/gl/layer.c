/* gl/layer.c [GL layer] - the coherence points (see gl/layer.h): what the wrappers call
 * before and after the commands that read or write buffer memory (flushes, range-exact draw
 * flushes, GPU writes recorded by range, copy-back at sync points and on the completion
 * thread). */
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

/* ---- what the wrappers call ---------------------------------------------------------------- */

void glc_flush_all(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush))
        return;
    pthread_mutex_lock(&g->lock);
    glc_flush_locked(c->inst, g, "a command that may use buffer memory");
    pthread_mutex_unlock(&g->lock);
}

/* Group lock held: before a draw or dispatch, make the shadows it may write byte exact. */
static void prepare_draw_writes(glc_ctx *c, glc_group *g)
{
    if (!g->ncand || !glc_prog_may_write(c))
        return; /* (a read-only program writes nothing: no reference copy, no diff) */
    for (size_t i = 0; i < g->nmaps; i++)
        if (glc_map_candidate(g->maps[i]))
            glc_prepare_write(c->inst, g->maps[i]);
}

void glc_before_draw(glc_ctx *c)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush) && !LOAD(g->ncand))
        return;
    pthread_mutex_lock(&g->lock);
    prepare_draw_writes(c, g);
    glc_flush_locked(c->inst, g, "a draw");
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
            ssize_t k = glc_map_candidate(m) ? glc_set_find(&g->writable, m->name) : -1;
            if (k < 0)
                continue;
            /* Only where the buffer was bound for writing (the union of those ranges). */
            int64_t lo = g->writable.lo[k], hi = g->writable.hi[k];
            kick |= glc_mark_written(g, m, c->id, (GLintptr)lo,
                                     hi == INT64_MAX ? -1 : (GLsizeiptr)(hi - lo));
        }
    pthread_mutex_unlock(&g->lock);
    if (kick)
        glc_completion_kick(c->inst);
}

/* Range flush of [lo, hi) of m's buffer (buffer offsets; clipped to the mapping). */
void glc_flush_map_range(glcoherent_instance *inst, glc_map *m, int64_t lo, int64_t hi,
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
    glc_buffer_may_change(c, name);
    if (!LOAD(g->nflush) && !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = name ? glc_find_map(g, name) : NULL;
    if (m) {
        glc_prepare_write(c->inst, m);
        /* Client bytes written before the command must be down before it overwrites them;
         * the command overwrites only its range, the rest waits for what reads it. */
        if (glc_map_flushes(m) && size >= 0 && offset >= 0)
            glc_flush_map_range(c->inst, m, offset, (int64_t)offset + size, "a buffer write");
        else if (glc_map_flushes(m) && glc_shadow_maybe_dirty(m->shadow))
            glc_flush_map(c->inst, m, "a buffer write");
    } else if (!name) {
        glc_flush_locked(c->inst, g, "a buffer write");
    }
    pthread_mutex_unlock(&g->lock);
}

void glc_before_read(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    glc_group *g = c->group;
    if (!LOAD(g->nflush))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = name ? glc_find_map(g, name) : NULL;
    if (!name)
        glc_flush_locked(c->inst, g, "a command that may read buffer memory");
    else if (m && glc_map_flushes(m) && size < 0 && glc_shadow_maybe_dirty(m->shadow))
        glc_flush_map(c->inst, m, "a buffer read");
    else if (m && glc_map_flushes(m) && size > 0 && offset >= 0)
        glc_flush_map_range(c->inst, m, offset, (int64_t)offset + size, "a buffer read");
    pthread_mutex_unlock(&g->lock);
}

/* The client's index bytes of a draw (gl/vertex.h: glc_index_fn), from the shadow when the
 * indices lie in a mapping without pending GPU writes. */
static const void *index_bytes(void *user, GLuint buffer, int64_t offset, size_t len)
{
    glc_map *m = glc_find_map(user, buffer);
    if (!m || m->pending || offset < m->offset ||
        offset + (int64_t)len > (int64_t)m->offset + m->length)
        return NULL;
    return m->client + (offset - m->offset);
}

/* Flush what a bounded draw of c reads: the ranges in rd, whole every shadow bound where
 * shaders may read it without a range (storage and atomic-counter buffers), and the ranges
 * behind buffer textures when the program may read those. */
static void flush_reads(glc_ctx *c, glc_group *g, const glc_reads *rd)
{
    glcoherent_instance *inst = c->inst;
    int texbufs = g->texbufs.n && glc_prog_may_read_texbufs(c);
    for (size_t i = 0; i < g->nmaps; i++) {
        glc_map *m = g->maps[i];
        if (!glc_map_flushes(m))
            continue;
        if (glc_set_has(&g->writable, m->name)) {
            if (glc_shadow_maybe_dirty(m->shadow))
                glc_flush_map(inst, m, "a draw");
            continue;
        }
        ssize_t t = texbufs ? glc_set_find(&g->texbufs, m->name) : -1;
        if (t >= 0)
            glc_flush_map_range(inst, m, g->texbufs.lo[t], g->texbufs.hi[t], "a draw");
        for (size_t k = 0; k < rd->n; k++)
            if (rd->r[k].buffer == m->name)
                glc_flush_map_range(inst, m, rd->r[k].lo, rd->r[k].hi, "a draw");
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
        flush_reads(c, g, &rd);
    else
        glc_flush_locked(c->inst, g, "a draw");
    if (!bounded)
        log_unbounded(c);
    pthread_mutex_unlock(&g->lock);
}

/* Group lock held: a small GPU write into m that was just issued is looked at once right away
 * (glc_buffer_written). A driver that completed it within the call (llvmpipe writes query
 * results and copies on the CPU) has its result in the shadow before the application can look,
 * without waiting for a fence of ours to be checked; on a driver that has not written yet,
 * the bytes are still the ones the shadow holds (flushed before the command). Either way the
 * write stays pending for the sync points and the completion thread. */
static void peek_written(glc_map *m, GLintptr offset, GLsizeiptr size)
{
    GLintptr lo = offset - m->offset, hi = lo + size;
    lo = lo > 0 ? lo : 0;
    hi = hi < m->length ? hi : m->length;
    if (hi > lo)
        glc_shadow_copy_back(m->shadow, m->driver, (size_t)lo, (size_t)(hi - lo));
}

void glc_buffer_written(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size)
{
    glc_group *g = c->group;
    if (!name || !LOAD(g->nmaps))
        return;
    pthread_mutex_lock(&g->lock);
    glc_map *m = glc_find_map(g, name);
    int kick = m && glc_mark_written(g, m, c->id, offset, size);
    if (m && m->pending && offset >= 0 && size > 0 && size <= GLC_PEEK_MAX_BYTES)
        peek_written(m, offset, size);
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
