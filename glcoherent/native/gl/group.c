/* gl/group.c [GL layer] - a share group's records (gl/group.h): its lifetime, the mapping
 * records and the spare shadows of ordinary maps, the name sets of shader-writable bindings,
 * pending GPU writes and the sync points that cover them, flushes of the group's shadows. */
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

glc_group *glc_group_new(void)
{
    glc_group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->refs = 1;
    return g;
}

void glc_map_stats(const glc_map *m, glc_shadow_stats *out)
{
    glc_shadow_get_stats(m->shadow, out);
    out->flushes -= m->base.flushes;
    out->bytes_flushed -= m->base.bytes_flushed;
    out->copy_backs -= m->base.copy_backs;
    out->bytes_read_back -= m->base.bytes_read_back;
    out->mode_switches -= m->base.mode_switches;
    out->write_faults -= m->base.write_faults;
    out->scans -= m->base.scans;
    out->pages_dirty -= m->base.pages_dirty;
}

static void map_retire_stats(glcoherent_instance *inst, glc_map *m)
{
    glc_shadow_stats st;
    glc_map_stats(m, &st);
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
glc_shadow *glc_spare_take(glcoherent_instance *inst, size_t length, size_t lead)
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
size_t glc_spare_drop(glcoherent_instance *inst)
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

void glc_group_unref(glcoherent_instance *inst, glc_group *g)
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
    set_free(&g->texbufs);
    set_free(&g->fresh);
    glc_kept_forget(g, 0);
    free(g->fences);
    free(g->polls); /* the fences themselves go with the share group's last context */
    glc_programs_free(g->progs);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

/* ---- group bookkeeping (group lock held) --------------------------------------------------- */

glc_map *glc_find_map(glc_group *g, GLuint name)
{
    for (size_t i = 0; i < g->nmaps; i++)
        if (g->maps[i]->name == name)
            return g->maps[i];
    return NULL;
}

ssize_t glc_set_find(const name_set *s, GLuint name)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == name)
            return (ssize_t)i;
    return -1;
}

int glc_set_has(const name_set *s, GLuint name)
{
    return glc_set_find(s, name) >= 0;
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
        return -ENOMEM;
    s->cap = cap;
    return 0;
}

int glc_set_add(name_set *s, GLuint name, int64_t lo, int64_t hi)
{
    ssize_t i = glc_set_find(s, name);
    if (i >= 0) {
        s->lo[i] = lo < s->lo[i] ? lo : s->lo[i];
        s->hi[i] = hi > s->hi[i] ? hi : s->hi[i];
        return 0;
    }
    if (s->n == s->cap && set_grow(s) != 0)
        return -ENOMEM;
    s->v[s->n] = name;
    s->lo[s->n] = lo;
    s->hi[s->n] = hi;
    s->n++;
    return 0;
}

void glc_set_remove(name_set *s, GLuint name)
{
    ssize_t i = glc_set_find(s, name);
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

int glc_map_flushes(const glc_map *m)
{
    return m->persistent && (m->access & GL_MAP_WRITE_BIT);
}

int glc_map_candidate(const glc_map *m)
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

/* Take m out of the group's lists and counts. */
static void unlist_map(glc_group *g, glc_map *m)
{
    for (size_t i = 0; i < g->nmaps; i++)
        if (g->maps[i] == m) {
            g->maps[i] = g->maps[--g->nmaps];
            break;
        }
    if (glc_map_flushes(m))
        STORE(g->nflush, g->nflush - 1);
    if (glc_map_candidate(m))
        STORE(g->ncand, g->ncand - 1);
    set_pending(g, m, 0);
}

void glc_remove_map(glcoherent_instance *inst, glc_group *g, glc_map *m)
{
    unlist_map(g, m);
    map_free(inst, m);
}

/* Take kept entry i out of the list; returns its shadow. */
static glc_shadow *kept_unlist(glc_group *g, size_t i)
{
    glc_shadow *sh = g->kept[i].shadow;
    memmove(&g->kept[i], &g->kept[i + 1], (g->nkept - i - 1) * sizeof g->kept[0]);
    STORE(g->nkept, g->nkept - 1);
    return sh;
}

static void kept_drop(glc_group *g, size_t i)
{
    glc_shadow_destroy(kept_unlist(g, i));
}

int glc_keep_map(glcoherent_instance *inst, glc_group *g, glc_map *m)
{
    if (!m->persistent || m->pending || m->flush_failed || m->length < GLC_KEPT_MIN_BYTES ||
        glc_set_has(&g->writable, m->name) || glc_set_has(&g->texbufs, m->name))
        return 1;
    glc_kept_forget(g, m->name);
    if (g->nkept == GLC_KEPT_MAX)
        kept_drop(g, 0);
    unlist_map(g, m);
    map_retire_stats(inst, m);
    glc_kept *k = &g->kept[g->nkept];
    k->name = m->name;
    k->offset = m->offset;
    k->length = m->length;
    k->shadow = m->shadow;
    glc_shadow_get_stats(m->shadow, &k->base);
    STORE(g->nkept, g->nkept + 1);
    free(m);
    return 0;
}

glc_shadow *glc_kept_take(glc_group *g, GLuint name, GLintptr offset, GLsizeiptr length,
                          glc_shadow_stats *base)
{
    for (size_t i = 0; i < g->nkept; i++) {
        if (g->kept[i].name != name)
            continue;
        if (g->kept[i].offset != offset || g->kept[i].length != length) {
            kept_drop(g, i);
            return NULL;
        }
        *base = g->kept[i].base;
        return kept_unlist(g, i);
    }
    return NULL;
}

void glc_kept_forget(glc_group *g, GLuint name)
{
    for (size_t i = g->nkept; i-- > 0;)
        if (!name || g->kept[i].name == name)
            kept_drop(g, i);
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
void glc_group_forget_ctx(glc_group *g, uint64_t ctx)
{
    pthread_mutex_lock(&g->lock);
    for (size_t i = 0; i < g->nmaps; i++)
        for (unsigned k = 0; k < g->maps[i]->nwriters; k++)
            if (g->maps[i]->writers[k].ctx == ctx)
                g->maps[i]->writers[k].ctx = 0;
    pthread_mutex_unlock(&g->lock);
}

/* Before a command may write m: make flushes byte exact from now on. */
void glc_prepare_write(glcoherent_instance *inst, glc_map *m)
{
    if (!m->persistent)
        return;
    if ((m->access & GL_MAP_WRITE_BIT) && !glc_shadow_merging(m->shadow)) {
        int rc = glc_shadow_enable_merge(m->shadow, m->driver);
        if (rc == 0) {
            /* (A shadow never loaded from the buffer - the map invalidated it - is copied
             * into it there, where the buffer is not zero: a client write of the reference's
             * value must not look unchanged.) */
            ADD(inst->merges, 1);
            glc_log(inst, GLC_LOG_DEBUG,
                    "buffer %u: CPU and GPU both write it, merging byte by byte",
                    m->name);
        } else {
            glc_log(inst, GLC_LOG_ERROR, "buffer %u: cannot merge CPU and GPU writes byte by "
                    "byte before a GPU write (%s); copy-back replaces whole ranges", m->name,
                    strerror(-rc));
        }
    }
}

/* Context `ctx` issued a command that may write [offset, offset + size) of m's buffer (size < 0:
 * anywhere in it). A write that misses the mapped range does not concern the shadow. Returns 1
 * when m became pending (the completion thread is to be woken). */
int glc_mark_written(glc_group *g, glc_map *m, uint64_t ctx, GLintptr offset,
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
void glc_flush_map(glcoherent_instance *inst, glc_map *m, const char *op)
{
    long n = glc_shadow_flush(m->shadow, m->driver);
    if (n < 0 && !m->flush_failed) {
        m->flush_failed = 1;
        glc_log(inst, GLC_LOG_ERROR, "buffer %u: flush before %s failed: %s", m->name, op,
                strerror((int)-n));
    }
}

void glc_flush_locked(glcoherent_instance *inst, glc_group *g, const char *op)
{
    for (size_t i = 0; i < g->nmaps; i++) {
        glc_map *m = g->maps[i];
        if (glc_map_flushes(m) && glc_shadow_maybe_dirty(m->shadow))
            glc_flush_map(inst, m, op);
    }
}
