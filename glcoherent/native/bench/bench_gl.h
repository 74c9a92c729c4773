/* bench/bench_gl.h [bench module, not shipped] - the per-frame loops of `python -m glcoherent
 * bench`, in C.
 *
 * PyOpenGL costs microseconds per call, which would drown the emulation cost being measured
 * (the `tiny` workload makes 20,000 draws per frame), so each workload runs here against a
 * table of GL entry points that the caller fills: with the driver's own entry points for the
 * `native`, `fullcopy-naive` and `explicit-flush` modes, or with the entry points a glcoherent
 * instance hands out (glcoherent_api_1.get_proc_address) for the emulated modes. Python
 * (glcoherent/bench/) creates the context, times frames and reads the statistics.
 *
 * The header stays free of GL headers (it is part of the cffi binding): GL objects are opaque.
 * Not part of the library API.
 */
#ifndef GLC_BENCH_GL_H
#define GLC_BENCH_GL_H

#include <stddef.h>
#include <stdint.h>

/* Table of GL entry points used by the workloads. */
typedef struct glc_bench_gl glc_bench_gl;

glc_bench_gl *glc_bench_gl_new(void);
void glc_bench_gl_free(glc_bench_gl *gl);
/* Entry names (e.g. "glDrawArrays"), index 0 .. count-1. */
size_t glc_bench_gl_count(void);
const char *glc_bench_gl_name(size_t i);
/* Set entry i. Returns 0, or -1 when i is out of range. */
int glc_bench_gl_set(glc_bench_gl *gl, size_t i, void *fn);
/* Name of the first entry still NULL, or NULL when the table is complete. */
const char *glc_bench_gl_missing(const glc_bench_gl *gl);
/* glGetString through the table (GL_VENDOR 0x1F00, GL_RENDERER 0x1F01, GL_VERSION 0x1F02). */
const char *glc_bench_gl_string(const glc_bench_gl *gl, uint32_t name);

enum {
    GLC_BENCH_STREAM = 0,   /* ring of 4 KiB appends, a draw after each, fences per 1/16 */
    GLC_BENCH_TINY = 1,     /* 48-byte write + draw, many times per frame */
    GLC_BENCH_SPARSE = 2,   /* random pages of a large pool rewritten, one draw */
    GLC_BENCH_BULK = 3,     /* whole buffer rewritten (SSBO), one multi-draw-indirect */
    GLC_BENCH_READBACK = 4, /* GPU copy into a READ|COHERENT buffer, fence, CPU reads it all */
    GLC_BENCH_IDLE = 5,     /* draws, nothing written */
    GLC_BENCH_POLL = 6,     /* query result written into a coherent buffer, CPU polls */
    GLC_BENCH_PRESSURE = 7, /* map many large persistent buffers at once */
    GLC_BENCH_RING = 8,     /* a D3D-on-GL layer's dynamic buffers: one ring, per draw a small
                             * constant block (UBO range) and a few vertices, a fence and an
                             * occlusion-style query per ring segment, results polled */
    GLC_BENCH_WORKLOADS = 9
};

/* How the application side behaves. */
enum {
    GLC_BENCH_DIRECT = 0,   /* persistent coherent mapping, plain writes (native or emulated) */
    GLC_BENCH_FULLCOPY = 1, /* app writes its own shadow, copies the whole mapping before every
                             * draw (and back after every GL call for readable mappings) */
    GLC_BENCH_EXPLICIT = 2, /* non-coherent persistent mapping with FLUSH_EXPLICIT, the app
                             * flushes exactly what it wrote */
    GLC_BENCH_NOSTORAGE = 3 /* no persistent mapping: each update is a glMapNamedBufferRange
                             * (WRITE | INVALIDATE_RANGE | UNSYNCHRONIZED) and an unmap, as
                             * wined3d does without ARB_buffer_storage (stream, tiny, ring) */
};

typedef struct glc_bench_params {
    uint32_t workload;      /* GLC_BENCH_STREAM ... */
    uint32_t variant;       /* GLC_BENCH_DIRECT ... */
    uint64_t buffer_bytes;  /* main buffer size (pressure: total of all buffers) */
    uint32_t ops;           /* appends / draws / pages / query cycles per frame */
    uint32_t op_bytes;      /* bytes written per op (stream 4096, tiny 48, sparse: page) */
    uint32_t segments;      /* ring segments with a fence each (stream 16, tiny 3) */
    uint32_t op_limit;      /* > 0: run only this many ops per frame (the caller scales) */
    uint64_t limit;         /* address limit the mappings must end below (pressure check) */
    uint64_t seed;
    const char *vs_source;  /* points vertex shader (attribute 0) */
    const char *vs_ssbo_source; /* bulk: vertex shader reading matrices from an SSBO */
    const char *fs_source;
    const char *vs_ubo_source;  /* ring: points offset by a uniform block (binding 0) */
} glc_bench_params;

typedef struct glc_bench_counters {
    uint64_t frames;
    uint64_t ops;              /* ops executed */
    uint64_t draws;
    uint64_t bytes_written;    /* by the client (CPU) into the mapping */
    uint64_t bytes_gpu_written;/* by the GPU into a mapping the client reads (readback, poll) */
    uint64_t bytes_read;       /* read by the client from the mapping */
    uint64_t app_bytes_copied; /* fullcopy-naive memcpys, explicit-flush flushed ranges */
    uint64_t app_flushes;      /* glFlushMappedBufferRange calls (explicit) */
    uint64_t fence_waits;      /* ring fences waited on */
    uint64_t polls;            /* poll: ordinary GL calls made while waiting for a result */
    uint64_t poll_cycles;      /* poll: query results waited for */
    uint64_t poll_timeouts;    /* poll: results never seen */
    uint64_t mismatches;       /* values read back that differ from what they must be */
    uint64_t maps;             /* pressure: successful maps */
    uint64_t map_failures;     /* pressure: NULL maps */
    uint64_t above_limit;      /* pressure: mappings ending above params.limit */
    uint64_t max_mapped_end;   /* highest end address of a mapping seen */
    uint64_t gl_errors;        /* glGetError != 0 seen at frame end */
} glc_bench_counters;

typedef struct glc_bench glc_bench;

/* Create the GL objects of one workload and variant with the given table (the context the
 * table belongs to must be current). The table is copied. Returns 0 or a negative value with a
 * message in err. */
int glc_bench_create(const glc_bench_gl *gl, const glc_bench_params *params, glc_bench **out,
                     char *err, size_t errlen);
/* One frame, ending with glFinish. Returns 0 or a negative value (see glc_bench_error). */
int glc_bench_frame(glc_bench *b);
/* Untimed work after a frame (pressure: unmap and delete the buffers of the frame). */
void glc_bench_after_frame(glc_bench *b);
/* Compare what the GL buffer holds with what the client wrote / read (through the table's
 * glGetNamedBufferSubData). Returns the number of bytes that differ, or a negative value. */
long glc_bench_verify(glc_bench *b);
void glc_bench_get_counters(const glc_bench *b, glc_bench_counters *out);
const char *glc_bench_error(const glc_bench *b);
/* Delete the GL objects (unmapping first). */
void glc_bench_destroy(glc_bench *b);

/* Cost of one GL call through the table, in ns (mean of n calls, n >= 1), with the workload's
 * objects bound and its buffers mapped but not written: which = 0 glGetIntegerv (a call that
 * only polls), 1 an empty glDrawArrays (count 0: the driver returns at once, the emulation still
 * runs its whole "anything dirty?" check). */
double glc_bench_call_ns(glc_bench *b, uint32_t which, uint32_t n);

/* memcpy bandwidth in bytes/s: copies of `chunk` bytes between two populated buffers of
 * `buffer` bytes, at consecutive offsets (random = 0) or random chunk-aligned offsets, about
 * max(buffer, 16 MiB) bytes per repetition; median of reps. 0 on allocation failure. */
double glc_bench_memcpy_bw(size_t buffer, size_t chunk, int random, unsigned reps);

#endif
