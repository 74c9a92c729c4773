/* gl/layer.h [GL layer] - the GL semantics of glcoherent (internal).
 *
 * The GL layer's header: what the API table (api/) and the interposer (preload/) use. gl/wrap.h,
 * the name -> wrapper table, is its GL-header-free part (the cffi binding includes it).
 *
 * An instance owns the arena, the tracker, the driver dispatch table and the contexts. Contexts
 * belong to share groups; a group owns the mapped-buffer records, the fence sequence map and the
 * pending copy-backs, behind one mutex. The wrapped entry points (gl/wrap.c) find the current
 * context through a thread-local pointer and call into this module.
 *
 * Pending GPU writes are kept per issuing context: a sync point covers only the writes of the
 * context whose commands it waited for (glFinish: the calling context; a fence: the context it
 * was made in, wherever it is waited), so one context's glFinish cannot mark another context's
 * unfinished writes as done.
 *
 * The application's GL calls are forwarded to the driver with the application's own arguments
 * (storage flags, map access bits), so all app-visible state and the driver's errors stay
 * exactly the driver's; glcoherent only swaps the pointer a map returns for a low shadow and
 * moves bytes between the two.
 */
#ifndef GLC_GL_LAYER_H
#define GLC_GL_LAYER_H

#define GL_GLEXT_LEGACY 1
#include <GL/gl.h>
#undef GL_GLEXT_LEGACY
#include <GL/glext.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "api/glcoherent.h"
#include "core/core.h"
#include "track/tracker.h"

#include "gl/complete.h"
#include "gl/dispatch.h"

typedef struct glc_group glc_group;
typedef struct glc_ctx glc_ctx;
typedef struct glc_map glc_map;
typedef struct glc_vertex glc_vertex; /* gl/vertex.h */
typedef struct glc_draw glc_draw;     /* gl/vertex.h */
typedef struct glc_pipelines glc_pipelines; /* gl/program.h */

#define GLC_SPARE_SHADOWS 8                 /* kept per instance */
#define GLC_SPARE_MAX_BYTES (1u << 20)      /* each at most this long */

struct glcoherent_instance {
    glc_dispatch gl;
    glc_arena *arena;
    glc_tracker *tracker;          /* NULL when the tracker kind is COPY */
    glc_tracker_kind kind;         /* kind persistent shadows get (BEST: adaptive policy) */
    uint64_t limit;
    glcoherent_config cfg;
    int log_min;                   /* lines below this level are dropped before formatting */
    pthread_mutex_t lock;          /* contexts list, groups list */
    glc_ctx *contexts;
    glc_group *groups;             /* live share groups (inst->lock) */
    glcoherent_instance *next_instance;
    /* global counters (atomics) */
    atomic_size_t ngroups;         /* live share groups: 1 allows the fast path */
    atomic_size_t ncontexts;       /* live contexts: per-context state needs the exact one */
    atomic_int host_current;       /* the host calls make_current: cfg.get_current unused */
    _Atomic uint64_t maps, persistent_maps, shadowed_maps, oom, max_mapped_end, merges;
    _Atomic uint64_t retired_flushed, retired_read_back, retired_flushes, retired_copy_backs;
    _Atomic uint64_t retired_faults, retired_scans, retired_switches;
    glc_completion completion;     /* GPU results that arrive without GL traffic */
    /* Shadows of ordinary (non-persistent) maps kept after their unmap for the next map of
     * the same size (gl/layer.c: map / unmap cycles need no new memfd and mappings). */
    pthread_mutex_t spare_lock;
    glc_shadow *spare[GLC_SPARE_SHADOWS];
    size_t nspare;
};

struct glc_ctx {
    glcoherent_instance *inst;
    void *native;
    glc_group *group;
    glc_ctx *next;
    uint64_t id;                   /* unique, never reused: names the issuer of GPU writes */
    /* Emulated errors, queued behind the driver's (drained first) so glGetError keeps order. */
    GLenum errors[16];
    unsigned nerrors;
    int gl_version;                /* major * 10 + minor, 0 until known */
    glc_vertex *vtx;               /* vertex-input model (gl/vertex.c), NULL until used */
    /* What the program in use may write (gl/program.c). */
    GLuint program, pipeline;
    int program_known;             /* glUseProgram seen since the layer knew the context */
    int tfb_active;
    glc_pipelines *pipes;
    int unbounded_logged;          /* the "draw not bounded" line was logged */
};

/* The context's GL version, major * 10 + minor (-1 when it cannot be read). */
int glc_gl_version(glc_ctx *c);

/* Thread's current context of any instance (NULL when none). Asks the host's get_current
 * callback when one is configured (eglGetCurrentContext costs ~0.3 us through GLVND). */
glc_ctx *glc_current(void);
/* The same for per-draw calls: trusts the thread's last context while the instance has a
 * single share group (then every context's commands see the same shadows, so a switch we did
 * not see cannot misroute a flush); otherwise as glc_current. */
glc_ctx *glc_current_fast(void);
/* First live instance (the fallback dispatch for calls made with no known context). */
glcoherent_instance *glc_first_instance(void);

int glc_instance_create(const glcoherent_config *cfg, glcoherent_instance **out);
void glc_instance_destroy(glcoherent_instance *inst);
void glc_context_created(glcoherent_instance *inst, void *native, void *share);
void glc_context_destroyed(glcoherent_instance *inst, void *native);
void glc_make_current(glcoherent_instance *inst, void *native);
/* The public make_current: as glc_make_current, and the host now tracks the current context
 * itself, so glc_current stops asking cfg.get_current. */
void glc_host_make_current(glcoherent_instance *inst, void *native);
void glc_get_stats(glcoherent_instance *inst, glcoherent_stats *out);
/* The same for exit paths: never waits more than about 50 ms for a lock another thread may
 * hold. Returns 0, or 1 when some live shadows could not be counted. */
int glc_get_stats_nowait(glcoherent_instance *inst, glcoherent_stats *out);
/* Log levels, short names of the public GLCOHERENT_LOG_* (api/glcoherent.h). */
enum {
    GLC_LOG_DEBUG = GLCOHERENT_LOG_DEBUG,
    GLC_LOG_INFO = GLCOHERENT_LOG_INFO,
    GLC_LOG_WARN = GLCOHERENT_LOG_WARNING,
    GLC_LOG_ERROR = GLCOHERENT_LOG_ERROR,
};
/* One log line at `level` (GLC_LOG_*): the instance's callback, else stderr (gl/log.c).
 * Nothing is formatted below the instance's level (glc_log_min). */
void glc_log(glcoherent_instance *inst, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The lowest level an instance made from cfg logs: cfg's log_level, and on stderr (no
 * callback) also GLCOHERENT_LOG's. */
int glc_log_min(const glcoherent_config *cfg);

/* ---- what the wrappers call (the group lock is taken inside) ---- */

/* Every wrapped call: give pending GPU writes a chance to come back (cheap when none). */
void glc_poll(glc_ctx *c);
/* Before any command that may read or write buffer memory: flush every dirty shadow. */
void glc_flush_all(glc_ctx *c);
/* Around a draw or dispatch: flush, and make buffers that shaders may write byte exact before;
 * count them as GPU-written after. */
void glc_before_draw(glc_ctx *c);
void glc_after_draw(glc_ctx *c);
/* The same for draws whose vertex fetches may be bounded (gl/vertex.h): ndraws draws of one
 * call. Flushes only what they may read when the model can bound them, else as
 * glc_before_draw. */
void glc_before_draw_bounded(glc_ctx *c, const glc_draw *draws, size_t ndraws);
/* Before a command that reads [offset, offset + size) of buffer `name` (size < 0: all of it;
 * name 0: nothing known, flush every shadow). */
void glc_before_read(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size);
/* Before a command that writes [offset, offset + size) of buffer `name` (size < 0: anywhere in
 * it; name 0: unknown): flush that range of its shadow (all of it for size < 0, every shadow
 * for name 0), and make the shadow exact (byte merge) from now on. */
void glc_before_write(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size);
/* After a command that wrote [offset, offset+size) of buffer `name` (size < 0: all of it).
 * Writes of up to GLC_PEEK_MAX_BYTES (query results) are copied back once right away, in case
 * the driver completed them within the call; they stay pending all the same. */
#define GLC_PEEK_MAX_BYTES 256
void glc_buffer_written(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size);
/* Buffer currently bound to target in this context (0 when none or unknown target). */
GLuint glc_bound_buffer(glc_ctx *c, GLenum target);
/* A sync point that guarantees completion of everything this context issued so far
 * (glFinish): GPU writes issued by other contexts of the group stay pending. */
void glc_sync_all(glc_ctx *c);
/* A fence became signalled: bring back writes issued before it. */
void glc_fence_signalled(glc_ctx *c, GLsync sync);
void glc_fence_created(glc_ctx *c, GLsync sync);
void glc_fence_deleted(glc_ctx *c, GLsync sync);
/* A sync point through synchronous readback (ReadPixels into client memory, GetBufferSubData). */
void glc_readback_sync(glc_ctx *c);

/* The driver mapped `name`; returns the pointer to hand to the application (a shadow, the
 * driver pointer when it is already low, or NULL with GL_OUT_OF_MEMORY queued). `unmap` undoes
 * the driver's map on failure. */
void *glc_map_created(glc_ctx *c, GLuint name, void *ptr, GLintptr offset, GLsizeiptr length,
                      GLbitfield access, GLboolean (*unmap)(glc_ctx *, GLuint, GLenum),
                      GLenum target);
/* Before the driver's unmap of `name`: final flush. After: call glc_map_dropped. */
void glc_before_unmap(glc_ctx *c, GLuint name);
void glc_map_dropped(glc_ctx *c, GLuint name);
/* Before the driver's FlushMappedBufferRange(offset, length) on `name`. */
void glc_before_flush_range(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr length);
/* Driver pointer -> client pointer (unchanged when not a shadowed mapping). */
void *glc_client_pointer(glc_ctx *c, void *driver_ptr);
/* Storage of `name` was (re)specified: drop the shadow if the driver unmapped it. */
void glc_storage_changed(glc_ctx *c, GLuint name, GLenum target);
/* Fresh storage: glBufferStorage without data leaves the store's contents undefined (drivers
 * zero it: llvmpipe memsets it), so the first map of a big one need not read the driver's
 * pages (a 64 MiB wined3d chunk: ~19 ms of reading zeros); the shadow's zeros stand for them.
 * Call glc_storage_fresh_begin before the driver's glBufferStorage(target, ...) (1: a
 * candidate: data NULL, at least GLC_FRESH_MIN_BYTES, a buffer bound to target that is mutable
 * now, so that a failed call cannot pass for a new store) and glc_storage_fresh after it and
 * after glc_storage_changed, with that answer. Any write command, shader-writable or texture
 * binding, map, re-specification or delete of the buffer ends its freshness. Named (DSA)
 * stores are never fresh: asking GL about a name that may not be a buffer object could raise
 * an error the application would see. */
#define GLC_FRESH_MIN_BYTES ((GLsizeiptr)1 << 20)
#define GLC_FRESH_MAX 64 /* fresh stores remembered per share group (more: loaded as before) */
int glc_storage_fresh_begin(glc_ctx *c, GLenum target, GLsizeiptr size, const void *data);
void glc_storage_fresh(glc_ctx *c, GLuint name, GLenum target, int candidate);
/* Buffer `name` (0: any buffer) may be written: it is no longer fresh, and a shadow kept from
 * its last map (gl/group.h) goes. */
void glc_buffer_may_change(glc_ctx *c, GLuint name);
void glc_buffers_deleted(glc_ctx *c, GLsizei n, const GLuint *names);
/* A buffer was bound where shaders may write it (SSBO, atomic, xfb), at
 * [offset, offset + size) (size < 0: from offset to the end). Draws and dispatches of
 * programs that may write count as writing the union of every range it was bound with. `call`:
 * the entry point, for the log. */
void glc_buffer_gpu_writable(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size,
                             const char *call);
/* A buffer texture was given buffer `name` at [offset, offset + size) (size < 0: to the end):
 * draws of programs that read buffer textures flush that range; shader-writable as well once
 * an image unit was bound for writing. */
void glc_buffer_texture(glc_ctx *c, GLuint name, GLintptr offset, GLsizeiptr size,
                        const char *call);
/* glBindImageTexture(s): an image unit holds `texture` with `access`. */
void glc_image_bound(glc_ctx *c, GLuint texture, GLenum access, const char *call);
/* The completion thread's pass: bring back the pending GPU-written ranges of every mapping
 * whose range is at most max_bytes, without covering them (the next sync point still does).
 * The driver's bytes are read through the kernel into `scratch` (max_bytes long), so a mapping
 * the driver unmaps meanwhile is skipped, never faulted on. Makes no GL call and waits for no
 * lock (a busy group is tried on the next pass). Returns how many ranges are still watched
 * (0: nothing left for the thread), or -ENOSYS/-EPERM when this process cannot read its own
 * memory that way (the thread then stops). */
int glc_refresh_pending(glcoherent_instance *inst, void *scratch, size_t max_bytes);
/* Queue an emulated error behind the driver's pending ones; move the driver's pending errors
 * into the queue (before a query whose own error the application must not see). */
void glc_push_error(glc_ctx *c, GLenum error);
void glc_take_driver_errors(glc_ctx *c);
GLenum glc_pop_error(glc_ctx *c);

#endif
