/* gl/group.h [GL layer] - the records of a share group: its mapped buffers, the names bound
 * where shaders may write, the fences it waits on, and the functions over them that the files
 * of gl/ share (group.c keeps the records, layer.c, maps.c, sync.c and stats.c use them).
 * Private to gl/. The group's mutex guards everything but the counters marked as read without
 * it.
 */
#ifndef GLC_GL_GROUP_H
#define GLC_GL_GROUP_H

#include <stdatomic.h>
#include <sys/types.h> /* ssize_t */

#include "gl/layer.h"

/* Atomic access to the instance's counters (gl/layer.h) and those of a share group below. */
#define LOAD(x) atomic_load_explicit(&(x), memory_order_acquire)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_release)
#define ADD(x, v) atomic_fetch_add_explicit(&(x), (v), memory_order_relaxed)

/* One context's GPU writes to a mapping that no sync point has covered yet. A sync point covers
 * the writes of the context that made it (glFinish, or the context a fence was made in) up to
 * the write sequence number it was made at; ctx 0 stands for "any context" (writes of a
 * destroyed context, or of more writer contexts than a mapping keeps apart). */
typedef struct glc_writer {
    uint64_t ctx;
    uint64_t seq;
} glc_writer;

#define GLC_MAP_WRITERS 4

struct glc_map {
    GLuint name;
    glc_shadow *shadow;        /* never NULL: a map already below the limit gets no record */
    uint8_t *driver;           /* driver pointer at the map offset */
    uint8_t *client;
    GLintptr offset;
    GLsizeiptr length;
    GLbitfield access;
    int persistent;
    int gpu_writable;          /* bound where shaders may write it */
    int pending;               /* GPU writes not yet brought back */
    GLintptr wlo, whi;         /* while pending: the mapping-relative byte range [wlo, whi)
                                * those writes may have touched (copy-back looks only there) */
    int flush_failed;          /* a flush of this mapping failed (logged once) */
    glc_writer writers[GLC_MAP_WRITERS]; /* who issued them (uncovered writes only) */
    unsigned nwriters;
    glc_shadow_stats base;     /* the shadow's counters when this map took it over (a kept
                                * shadow, glc_keep_map): its stats count from there */
};

/* A persistent map's shadow kept after the unmap (glc_keep_map): it equals the buffer until
 * something may write the buffer, so a map of the same range takes it back without a load,
 * and without the shadow's destruction and creation (wined3d unmaps and maps its 64 MiB chunks
 * again). */
typedef struct glc_kept {
    GLuint name;
    GLintptr offset;
    GLsizeiptr length;
    glc_shadow *shadow;
    glc_shadow_stats base;     /* its counters at the unmap (retired then) */
} glc_kept;

#define GLC_KEPT_MAX 4         /* per share group; the oldest goes first */

/* Names, each with the union of the buffer ranges it was bound with ([lo, hi), buffer
 * offsets; hi INT64_MAX: to the end). */
typedef struct name_set {
    GLuint *v;
    int64_t *lo, *hi;
    size_t n, cap;
} name_set;

typedef struct fence_rec {
    GLsync sync;
    uint64_t seq;              /* group write sequence when the fence was made */
    uint64_t ctx;              /* id of the context it was made in */
} fence_rec;

struct glc_group {
    pthread_mutex_t lock;
    int refs;
    glc_group *next;
    glc_map **maps;            /* every live mapping of the group */
    atomic_size_t nmaps;       /* written under the lock, read without it too */
    size_t capmaps;
    name_set writable;         /* names bound where shaders may write them, and where */
    name_set texbufs;          /* names behind buffer textures, and where (shaders that read
                                * buffer textures may read anywhere there) */
    name_set fresh;            /* big immutable stores made without data and not written or
                                * mapped since (glc_storage_fresh): a first map skips the load */
    atomic_size_t nfresh;      /* fresh.n, read without the lock */
    glc_kept kept[GLC_KEPT_MAX]; /* oldest first */
    atomic_size_t nkept;       /* read without the lock too */
    atomic_int images_writable; /* an image unit was bound for writing: buffer textures may be
                                * written too (their buffers are in `writable` from then on) */
    fence_rec *fences;
    size_t nfences, capfences;
    uint64_t write_seq;        /* bumped by every GPU write to a persistent mapping */
    atomic_size_t nflush;      /* persistent writable shadows (read without the lock) */
    atomic_size_t ncand;       /* persistent mappings that shaders may write (ditto) */
    atomic_size_t npending;    /* mappings with GPU writes to bring back (ditto) */
    struct glc_programs *progs; /* shader and program records (gl/program.c) */
    fence_rec *polls;          /* the layer's own polling fences, at most one per context */
    size_t npolls, cappolls;
};

/* ---- gl/group.c: what the other files of gl/ share. "Group lock held" unless said. ---- */

/* A new share group (one reference), or NULL; drop a reference (inst->lock held), freeing the
 * group, its mappings and its records with the last one. */
glc_group *glc_group_new(void);
void glc_group_unref(glcoherent_instance *inst, glc_group *g);
/* Context `ctx` is going away: its uncovered writes become "any context's" (they complete on
 * their own; whichever sync point comes next may clear them). Takes the group lock. */
void glc_group_forget_ctx(glc_group *g, uint64_t ctx);

/* With the group lock held: a sync point made by context ctx at write sequence seq has
 * signalled: bring back the mappings whose pending writes it covers (see glc_writer) and drop
 * those writes (called by gl/sync.c). */
void glc_group_cover(glc_group *g, uint64_t ctx, uint64_t seq);

/* Spare shadows of ordinary (non-persistent) maps, per instance (their own lock): one for
 * length bytes at lead, or NULL; destroy them all (returns how many there were). */
glc_shadow *glc_spare_take(glcoherent_instance *inst, size_t length, size_t lead);
size_t glc_spare_drop(glcoherent_instance *inst);

/* The group's mapping of buffer `name`, or NULL; unlink m and free it (its shadow goes to the
 * spares or away). */
glc_map *glc_find_map(glc_group *g, GLuint name);
void glc_remove_map(glcoherent_instance *inst, glc_group *g, glc_map *m);
/* The driver unmapped m's buffer: like glc_remove_map, but the shadow is kept (0) when it may
 * be: a persistent map of GLC_KEPT_MIN_BYTES or more whose last flush worked, with no GPU
 * write pending and never bound where shaders may write or behind a buffer texture; else 1
 * and nothing was done (lock held for both). */
#define GLC_KEPT_MIN_BYTES ((GLsizeiptr)1 << 20)
int glc_keep_map(glcoherent_instance *inst, glc_group *g, glc_map *m);
/* The kept shadow of [offset, offset + length) of buffer `name`, taken back (NULL: none; a kept
 * shadow of another range of it is destroyed); *base receives its counters. Lock held. */
glc_shadow *glc_kept_take(glc_group *g, GLuint name, GLintptr offset, GLsizeiptr length,
                          glc_shadow_stats *base);
/* Buffer `name` (0: every buffer) may change: destroy its kept shadow. Lock held. */
void glc_kept_forget(glc_group *g, GLuint name);
/* m's shadow counters since m took the shadow over. */
void glc_map_stats(const glc_map *m, glc_shadow_stats *out);
/* m's shadow is flushed (persistent, mapped for writing); m may receive GPU writes to bring
 * back (persistent, bound where shaders may write it). */
int glc_map_flushes(const glc_map *m);
int glc_map_candidate(const glc_map *m);

/* Name sets: index of name or -1; whether it is in; add name with [lo, hi) or widen its range
 * (0, or -ENOMEM with the set unchanged); remove it. */
ssize_t glc_set_find(const name_set *s, GLuint name);
int glc_set_has(const name_set *s, GLuint name);
int glc_set_add(name_set *s, GLuint name, int64_t lo, int64_t hi);
void glc_set_remove(name_set *s, GLuint name);

/* Before a command may write m: make flushes byte exact from now on. */
void glc_prepare_write(glcoherent_instance *inst, glc_map *m);
/* Context `ctx` issued a command that may write [offset, offset + size) of m's buffer (size < 0:
 * anywhere in it). A write that misses the mapped range does not concern the shadow. Returns 1
 * when m became pending (the completion thread is to be woken). */
int glc_mark_written(glc_group *g, glc_map *m, uint64_t ctx, GLintptr offset,
                     GLsizeiptr size);

/* Flush m's shadow into the driver's mapping before `op`; every flushed shadow of the group.
 * A failure (the tracker could not collect: the shadow's writes stay pending for the next
 * flush) is logged once per mapping. */
void glc_flush_map(glcoherent_instance *inst, glc_map *m, const char *op);
void glc_flush_locked(glcoherent_instance *inst, glc_group *g, const char *op);

/* ---- gl/layer.c ---- */

/* Range flush of [lo, hi) of m's buffer (buffer offsets; clipped to the mapping). */
void glc_flush_map_range(glcoherent_instance *inst, glc_map *m, int64_t lo, int64_t hi,
                         const char *op);

#endif
