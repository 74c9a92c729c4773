/* api/glcoherent.h [API layer] - public C API of glcoherent, version 1.
 *
 * glcoherent gives 32-bit code in a 64-bit process OpenGL buffer mappings below a chosen
 * address (4 GiB by default), including persistent coherent ones: the application gets a
 * low-address shadow whose writes are tracked and copied into the real buffer before every GL
 * command that can read it, and GPU writes come back at every point where the application may
 * look.
 *
 * Use (model: renderdoc_app.h - one versioned table of function pointers):
 *
 *     const glcoherent_api_1 *glc;
 *     if (glcoherent_get_api(GLCOHERENT_API_VERSION_1, (const void **)&glc) != 0) ...;
 *     glcoherent_config cfg = GLCOHERENT_CONFIG_INIT;
 *     cfg.get_proc = my_get_proc;            // eglGetProcAddress, glXGetProcAddressARB, ...
 *     glcoherent_instance *inst;
 *     glc->create(&cfg, &inst);
 *     glc->context_created(inst, my_ctx, share_ctx_or_NULL);
 *     glc->make_current(inst, my_ctx);       // whenever the host makes a context current
 *     PFNGLMAPBUFFERRANGEPROC map = (PFNGLMAPBUFFERRANGEPROC)glc->get_proc_address(inst,
 *                                                                  "glMapBufferRange");
 *
 * get_proc_address returns the wrapped entry point for every GL function glcoherent needs to
 * see (maps, storage, draws, dispatches, copies, pixel transfers, sync, errors) and the real
 * one for everything else, so a host can fill its whole dispatch table through it. A wrapped
 * entry point is returned even before the driver's function can be found (no GL library
 * loaded yet, no context yet): it looks the driver's function up again at its first call, and
 * if the driver has none it logs one error line naming it and returns 0 without doing
 * anything, like a GLVND no-op stub. No wrapper ever calls NULL.
 *
 * Threads: each thread has its own current context, as in GL. Contexts created with a share
 * context share buffers, fences and shadows. Several instances may coexist.
 */
#ifndef GLCOHERENT_H
#define GLCOHERENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(GLC_BUILD_SHARED)
#define GLCOHERENT_EXPORT __attribute__((visibility("default")))
#else
#define GLCOHERENT_EXPORT
#endif

#define GLCOHERENT_API_VERSION_1 1

typedef struct glcoherent_instance glcoherent_instance;

/* Returns the driver's entry point for name (eglGetProcAddress and friends). */
typedef void *(*glcoherent_get_proc_fn)(void *user, const char *name);
/* Returns the host's current native context handle on this thread, or NULL. */
typedef void *(*glcoherent_get_current_fn)(void *user);
/* Host allocator for the low arena (Wine: NtAllocateVirtualMemory with zero_bits). Returns
 * size bytes, page aligned, ending at or below high, or NULL. */
typedef void *(*glcoherent_alloc_fn)(void *user, size_t size, uintptr_t high);
typedef void (*glcoherent_free_fn)(void *user, void *addr, size_t size);
/* Log levels (the level argument of glcoherent_log_fn; GLCOHERENT_LOG=debug|info|warning|error
 * picks the lowest one printed on stderr when no callback is given). */
enum {
    GLCOHERENT_LOG_DEBUG = 0,
    GLCOHERENT_LOG_INFO = 1,
    GLCOHERENT_LOG_WARNING = 2,
    GLCOHERENT_LOG_ERROR = 3,
};
/* level: one of GLCOHERENT_LOG_*. */
typedef void (*glcoherent_log_fn)(void *user, int level, const char *message);

typedef struct glcoherent_config {
    uint32_t struct_size;         /* sizeof(glcoherent_config) */
    uint64_t limit;               /* shadows end at or below this; 0: GLCOHERENT_LIMIT or 4 GiB */
    uint64_t low;                 /* shadows start at or above this; 0: 64 KiB */
    const char *tracker;          /* "auto", "uffd", "mprotect", "copy"; NULL: GLCOHERENT_TRACKER */
    glcoherent_get_proc_fn get_proc;        /* required */
    void *get_proc_user;
    /* optional: asked at GL calls that need the exact context (maps, context switches the
     * layer cannot see) until the host first calls make_current; from then on the host
     * promises to call make_current for every change of current context on every thread,
     * and get_current is no longer asked (it costs ~0.3 us per map through GLVND's EGL). */
    glcoherent_get_current_fn get_current;
    void *get_current_user;
    glcoherent_alloc_fn host_alloc;         /* optional, with host_free */
    glcoherent_free_fn host_free;
    void *host_user;
    glcoherent_log_fn log;                  /* optional; default: stderr, warnings and up */
    void *log_user;
    /* Lines below this level (GLCOHERENT_LOG_*) are never formatted: a host whose logger
     * drops debug lines says so here, and a map / unmap cycle then costs no log work.
     * 0 (debug): every line reaches the callback; on stderr GLCOHERENT_LOG still filters.
     * Added after the first release: struct_size tells whether a caller has it. */
    int32_t log_level;
} glcoherent_config;

#define GLCOHERENT_CONFIG_INIT {sizeof(glcoherent_config), 0, 0, NULL, NULL, NULL, NULL, NULL, \
                                NULL, NULL, NULL, NULL, NULL, 0}

/* The 64-bit statistics counters, in struct order: the one list behind glcoherent_stats, the
 * interposer's `glcoherent-stats:` JSON line and the Python binding's declaration of the struct.
 *   maps             successful map calls seen
 *   persistent_maps  of which persistent
 *   shadowed_maps    maps handed out as a low shadow
 *   live_shadows     shadows alive now
 *   max_mapped_end   highest end address of any pointer handed out
 *   bytes_flushed    shadow -> real buffer
 *   bytes_read_back  real buffer -> shadow
 *   flushes          flush passes that copied something
 *   copy_backs       copy-back passes
 *   write_faults     write faults / signals taken by the trackers
 *   scans            collects that scanned page tables or bitmaps
 *   mode_switches    tracked <-> whole-copy switches of the adaptive policy
 *   merges           shadows switched to byte-exact merge
 *   oom              maps refused with GL_OUT_OF_MEMORY
 *   limit            the address limit mappings end at or below */
#define GLCOHERENT_STATS_COUNTERS(X) \
    X(maps) X(persistent_maps) X(shadowed_maps) X(live_shadows) X(max_mapped_end) \
    X(bytes_flushed) X(bytes_read_back) X(flushes) X(copy_backs) X(write_faults) X(scans) \
    X(mode_switches) X(merges) X(oom) X(limit)

typedef struct glcoherent_stats {
#define GLCOHERENT_STATS_FIELD(name) uint64_t name;
    GLCOHERENT_STATS_COUNTERS(GLCOHERENT_STATS_FIELD)
#undef GLCOHERENT_STATS_FIELD
    int32_t tracker;            /* 1 uffd, 2 mprotect, 3 copy: the backend in use */
    int32_t tracker_auto;       /* 1 when the adaptive policy is on */
} glcoherent_stats;

typedef struct glcoherent_api_1 {
    uint32_t version;
    int (*create)(const glcoherent_config *config, glcoherent_instance **out);   /* 0 or -errno */
    void (*destroy)(glcoherent_instance *inst);
    void (*context_created)(glcoherent_instance *inst, void *ctx, void *share_ctx);
    void (*context_destroyed)(glcoherent_instance *inst, void *ctx);
    void (*make_current)(glcoherent_instance *inst, void *ctx);                 /* NULL: none */
    void *(*get_proc_address)(glcoherent_instance *inst, const char *name);
    void (*get_stats)(glcoherent_instance *inst, glcoherent_stats *out);
    const char *(*tracker_name)(glcoherent_instance *inst);
    uint64_t (*limit)(glcoherent_instance *inst);
    /* Call before the host itself makes the kernel write into memory that may be a mapping
     * (a read(2), pread, readv, recv... straight into a mapped pointer, as Wine's NtReadFile
     * does): the tracked pages of [addr, addr + len) are made writable and counted as written
     * by the client, so the kernel write neither fails with EFAULT (the mprotect tracker
     * write-protects pages) nor goes unseen (needed with mprotect; harmless with the others). Memory that is no mapping is
     * left alone; any thread, any time. Programs under the interposer need not call it: it
     * wraps those libc calls. Returns 0. (Appended to version 1; check for NULL when the
     * library may be older.) */
    int (*prepare_kernel_write)(glcoherent_instance *inst, void *addr, size_t len);
} glcoherent_api_1;

/* Fills *out with the API table of that version. Returns 0, or -EINVAL for an unknown version
 * or a NULL out. */
GLCOHERENT_EXPORT int glcoherent_get_api(int version, const void **out);

#ifdef __cplusplus
}
#endif
#endif
