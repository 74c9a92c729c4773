/* bench/bench_gl.c [bench module, not shipped] - see bench_gl.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "bench/bench_gl.h"

#include <GL/glcorearb.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* ---- the table ------------------------------------------------------------------------------ */

#define BENCH_GL_LIST(X)                                            \
    X(PFNGLGETERRORPROC, GetError)                                  \
    X(PFNGLGETSTRINGPROC, GetString)                                \
    X(PFNGLGETINTEGERVPROC, GetIntegerv)                            \
    X(PFNGLFINISHPROC, Finish)                                      \
    X(PFNGLCLEARPROC, Clear)                                        \
    X(PFNGLCLEARCOLORPROC, ClearColor)                              \
    X(PFNGLVIEWPORTPROC, Viewport)                                  \
    X(PFNGLCREATEBUFFERSPROC, CreateBuffers)                        \
    X(PFNGLDELETEBUFFERSPROC, DeleteBuffers)                        \
    X(PFNGLBINDBUFFERPROC, BindBuffer)                              \
    X(PFNGLBINDBUFFERBASEPROC, BindBufferBase)                      \
    X(PFNGLBINDBUFFERRANGEPROC, BindBufferRange)                    \
    X(PFNGLNAMEDBUFFERSTORAGEPROC, NamedBufferStorage)              \
    X(PFNGLMAPNAMEDBUFFERRANGEPROC, MapNamedBufferRange)            \
    X(PFNGLUNMAPNAMEDBUFFERPROC, UnmapNamedBuffer)                  \
    X(PFNGLFLUSHMAPPEDNAMEDBUFFERRANGEPROC, FlushMappedNamedBufferRange) \
    X(PFNGLCOPYNAMEDBUFFERSUBDATAPROC, CopyNamedBufferSubData)      \
    X(PFNGLNAMEDBUFFERSUBDATAPROC, NamedBufferSubData)              \
    X(PFNGLGETNAMEDBUFFERSUBDATAPROC, GetNamedBufferSubData)        \
    X(PFNGLCREATEVERTEXARRAYSPROC, CreateVertexArrays)              \
    X(PFNGLDELETEVERTEXARRAYSPROC, DeleteVertexArrays)              \
    X(PFNGLBINDVERTEXARRAYPROC, BindVertexArray)                    \
    X(PFNGLVERTEXATTRIBPOINTERPROC, VertexAttribPointer)            \
    X(PFNGLENABLEVERTEXATTRIBARRAYPROC, EnableVertexAttribArray)    \
    X(PFNGLVERTEXARRAYVERTEXBUFFERPROC, VertexArrayVertexBuffer)    \
    X(PFNGLVERTEXARRAYATTRIBFORMATPROC, VertexArrayAttribFormat)    \
    X(PFNGLVERTEXARRAYATTRIBBINDINGPROC, VertexArrayAttribBinding)  \
    X(PFNGLENABLEVERTEXARRAYATTRIBPROC, EnableVertexArrayAttrib)    \
    X(PFNGLCREATESHADERPROC, CreateShader)                          \
    X(PFNGLSHADERSOURCEPROC, ShaderSource)                          \
    X(PFNGLCOMPILESHADERPROC, CompileShader)                        \
    X(PFNGLGETSHADERIVPROC, GetShaderiv)                            \
    X(PFNGLGETSHADERINFOLOGPROC, GetShaderInfoLog)                  \
    X(PFNGLDELETESHADERPROC, DeleteShader)                          \
    X(PFNGLCREATEPROGRAMPROC, CreateProgram)                        \
    X(PFNGLATTACHSHADERPROC, AttachShader)                          \
    X(PFNGLLINKPROGRAMPROC, LinkProgram)                            \
    X(PFNGLGETPROGRAMIVPROC, GetProgramiv)                          \
    X(PFNGLGETPROGRAMINFOLOGPROC, GetProgramInfoLog)                \
    X(PFNGLDELETEPROGRAMPROC, DeleteProgram)                        \
    X(PFNGLUSEPROGRAMPROC, UseProgram)                              \
    X(PFNGLCREATETEXTURESPROC, CreateTextures)                      \
    X(PFNGLTEXTURESTORAGE2DPROC, TextureStorage2D)                  \
    X(PFNGLDELETETEXTURESPROC, DeleteTextures)                      \
    X(PFNGLCREATEFRAMEBUFFERSPROC, CreateFramebuffers)              \
    X(PFNGLNAMEDFRAMEBUFFERTEXTUREPROC, NamedFramebufferTexture)    \
    X(PFNGLCHECKNAMEDFRAMEBUFFERSTATUSPROC, CheckNamedFramebufferStatus) \
    X(PFNGLDELETEFRAMEBUFFERSPROC, DeleteFramebuffers)              \
    X(PFNGLBINDFRAMEBUFFERPROC, BindFramebuffer)                    \
    X(PFNGLDRAWARRAYSPROC, DrawArrays)                              \
    X(PFNGLMULTIDRAWARRAYSINDIRECTPROC, MultiDrawArraysIndirect)    \
    X(PFNGLFENCESYNCPROC, FenceSync)                                \
    X(PFNGLCLIENTWAITSYNCPROC, ClientWaitSync)                      \
    X(PFNGLDELETESYNCPROC, DeleteSync)                              \
    X(PFNGLGENQUERIESPROC, GenQueries)                              \
    X(PFNGLDELETEQUERIESPROC, DeleteQueries)                        \
    X(PFNGLBEGINQUERYPROC, BeginQuery)                              \
    X(PFNGLENDQUERYPROC, EndQuery)                                  \
    X(PFNGLGETQUERYOBJECTUI64VPROC, GetQueryObjectui64v)

struct glc_bench_gl {
#define X(type, member) type member;
    BENCH_GL_LIST(X)
#undef X
};

static const char *const gl_names[] = {
#define X(type, member) "gl" #member,
    BENCH_GL_LIST(X)
#undef X
};

static const size_t gl_offsets[] = {
#define X(type, member) offsetof(struct glc_bench_gl, member),
    BENCH_GL_LIST(X)
#undef X
};

#define GL_COUNT (sizeof gl_names / sizeof gl_names[0])

glc_bench_gl *glc_bench_gl_new(void)
{
    return calloc(1, sizeof(glc_bench_gl));
}

void glc_bench_gl_free(glc_bench_gl *gl)
{
    free(gl);
}

size_t glc_bench_gl_count(void)
{
    return GL_COUNT;
}

const char *glc_bench_gl_name(size_t i)
{
    return i < GL_COUNT ? gl_names[i] : NULL;
}

int glc_bench_gl_set(glc_bench_gl *gl, size_t i, void *fn)
{
    if (!gl || i >= GL_COUNT)
        return -1;
    /* Function and object pointers have the same representation on the platforms we run on
     * (POSIX dlsym relies on it). */
    memcpy((char *)gl + gl_offsets[i], &fn, sizeof fn);
    return 0;
}

const char *glc_bench_gl_missing(const glc_bench_gl *gl)
{
    for (size_t i = 0; i < GL_COUNT; i++) {
        void *fn;
        memcpy(&fn, (const char *)gl + gl_offsets[i], sizeof fn);
        if (!fn)
            return gl_names[i];
    }
    return NULL;
}

const char *glc_bench_gl_string(const glc_bench_gl *gl, uint32_t name)
{
    if (!gl || !gl->GetString)
        return NULL;
    return (const char *)gl->GetString((GLenum)name);
}

/* ---- state ---------------------------------------------------------------------------------- */

#define MAX_SEGMENTS 64
#define FBO_SIZE 16
#define BULK_DRAWS 64
#define POLL_SENTINEL UINT64_MAX
#define POLL_MAX 1000000u
#define PAGE 4096u
/* ring: each op's slot holds its constant block at the start and its vertices at VERTS_AT. */
#define RING_CONST_BYTES 64
#define RING_VERTS_AT 256
#define RING_VERT_BYTES 48 /* 3 points */

struct glc_bench {
    glc_bench_gl gl;
    glc_bench_params p;
    glc_bench_counters c;
    char err[256];
    GLuint prog, vao, fbo, tex, buf, src[2], indirect, query;
    /* ring: one query per segment, their results in a coherent buffer (not for nostorage) */
    GLuint queries[MAX_SEGMENTS], qbuf;
    volatile uint64_t *qmap;
    uint32_t sec_draws[MAX_SEGMENTS];
    size_t size;
    uint8_t *map;       /* what the map call returned */
    uint8_t *app;       /* fullcopy: the application's own copy */
    uint8_t *w;         /* where the application writes and reads */
    size_t head;
    size_t seg_bytes;
    unsigned segments;
    GLsync fences[MAX_SEGMENTS];
    uint64_t rng;
    uint32_t frame;
    uint64_t expect_sum[2];
    size_t last_off, last_len;
    uint32_t last_seed;       /* nostorage: fill seed of the last update */
    /* pressure */
    GLuint *pbuf;
    size_t *psize;
    size_t pn;
    int pmapped;
};

static int fail(glc_bench *b, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(glc_bench *b, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->err, sizeof b->err, fmt, ap);
    va_end(ap);
    return rc;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void *alloc_pages(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Vertex-like data: vec4(x, y, 0, 1) with x, y in [-1, 1). `dst` is 16-byte aligned. */
static void fill_vertices(uint8_t *dst, size_t bytes, uint32_t seed)
{
    float *f = (float *)(void *)dst;
    size_t n = bytes / 16;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = seed + (uint32_t)i * 7u;
        f[4 * i + 0] = (float)(v & 1023u) * (1.0f / 512.0f) - 1.0f;
        f[4 * i + 1] = (float)((v >> 3) & 1023u) * (1.0f / 512.0f) - 1.0f;
        f[4 * i + 2] = 0.0f;
        f[4 * i + 3] = 1.0f;
    }
    size_t tail = bytes % 16;
    if (tail)
        memset(dst + n * 16, (int)(seed & 0xff), tail);
}

static void wait_sync(glc_bench *b, GLsync s)
{
    GLenum r;
    do
        r = b->gl.ClientWaitSync(s, GL_SYNC_FLUSH_COMMANDS_BIT, 1000000000ull);
    while (r == GL_TIMEOUT_EXPIRED);
    b->gl.DeleteSync(s);
}

/* The application wrote [off, off + len) of the mapping. */
static void wrote(glc_bench *b, size_t off, size_t len)
{
    b->c.bytes_written += len;
    b->last_off = off;
    b->last_len = len;
    if (b->p.variant == GLC_BENCH_EXPLICIT) {
        b->gl.FlushMappedNamedBufferRange(b->buf, (GLintptr)off, (GLsizeiptr)len);
        b->c.app_flushes++;
        b->c.app_bytes_copied += len;
    }
}

/* Before a GL command that reads the buffer: the naive emulation copies everything down. */
static void before_draw(glc_bench *b)
{
    if (b->p.variant == GLC_BENCH_FULLCOPY) {
        memcpy(b->map, b->app, b->size);
        b->c.app_bytes_copied += b->size;
    }
}

/* After a GL call, for a mapping the GPU writes: the naive emulation copies everything up. */
static void after_call(glc_bench *b)
{
    if (b->p.variant == GLC_BENCH_FULLCOPY) {
        memcpy(b->app, b->map, b->size);
        b->c.app_bytes_copied += b->size;
    }
}

static uint32_t op_count(const glc_bench *b)
{
    uint32_t n = b->p.ops;
    if (b->p.op_limit && b->p.op_limit < n)
        n = b->p.op_limit;
    return n;
}

/* ---- shaders and objects ------------------------------------------------------------------ */

static GLuint compile(glc_bench *b, GLenum type, const char *src)
{
    GLuint s = b->gl.CreateShader(type);
    b->gl.ShaderSource(s, 1, &src, NULL);
    b->gl.CompileShader(s);
    GLint ok = 0;
    b->gl.GetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[200];
        log[0] = 0;
        b->gl.GetShaderInfoLog(s, sizeof log, NULL, log);
        fail(b, -EINVAL, "shader compile failed: %s", log);
        b->gl.DeleteShader(s);
        return 0;
    }
    return s;
}

static GLuint program(glc_bench *b, const char *vs_src, const char *fs_src)
{
    if (!vs_src || !fs_src) {
        fail(b, -EINVAL, "missing shader source");
        return 0;
    }
    GLuint vs = compile(b, GL_VERTEX_SHADER, vs_src);
    if (!vs)
        return 0;
    GLuint fs = compile(b, GL_FRAGMENT_SHADER, fs_src);
    if (!fs) {
        b->gl.DeleteShader(vs);
        return 0;
    }
    GLuint p = b->gl.CreateProgram();
    b->gl.AttachShader(p, vs);
    b->gl.AttachShader(p, fs);
    b->gl.LinkProgram(p);
    b->gl.DeleteShader(vs);
    b->gl.DeleteShader(fs);
    GLint ok = 0;
    b->gl.GetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[200];
        log[0] = 0;
        b->gl.GetProgramInfoLog(p, sizeof log, NULL, log);
        fail(b, -EINVAL, "program link failed: %s", log);
        b->gl.DeleteProgram(p);
        return 0;
    }
    return p;
}

static int make_target(glc_bench *b)
{
    b->gl.CreateTextures(GL_TEXTURE_2D, 1, &b->tex);
    b->gl.TextureStorage2D(b->tex, 1, GL_RGBA8, FBO_SIZE, FBO_SIZE);
    b->gl.CreateFramebuffers(1, &b->fbo);
    b->gl.NamedFramebufferTexture(b->fbo, GL_COLOR_ATTACHMENT0, b->tex, 0);
    if (b->gl.CheckNamedFramebufferStatus(b->fbo, GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE)
        return fail(b, -EIO, "framebuffer incomplete");
    return 0;
}

/* Storage and map flags of the main buffer. */
static void buffer_flags(const glc_bench *b, GLbitfield *storage, GLbitfield *access)
{
    GLbitfield rw;
    switch (b->p.workload) {
    case GLC_BENCH_READBACK: rw = GL_MAP_READ_BIT; break;
    case GLC_BENCH_POLL: rw = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT; break;
    default: rw = GL_MAP_WRITE_BIT; break;
    }
    if (b->p.variant == GLC_BENCH_EXPLICIT) {
        *storage = rw | GL_MAP_PERSISTENT_BIT;
        *access = rw | GL_MAP_PERSISTENT_BIT | GL_MAP_FLUSH_EXPLICIT_BIT;
    } else {
        *storage = rw | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT;
        *access = *storage;
    }
}

static int make_buffer(glc_bench *b)
{
    GLbitfield storage, access;
    buffer_flags(b, &storage, &access);
    b->gl.CreateBuffers(1, &b->buf);
    if (b->p.variant == GLC_BENCH_NOSTORAGE) {
        /* Mapped per update (frame_ring); the client's bytes are regenerated to verify. */
        b->gl.NamedBufferStorage(b->buf, (GLsizeiptr)b->size, NULL, GL_MAP_WRITE_BIT);
        return 0;
    }
    b->gl.NamedBufferStorage(b->buf, (GLsizeiptr)b->size, NULL, storage);
    b->map = b->gl.MapNamedBufferRange(b->buf, 0, (GLsizeiptr)b->size, access);
    if (!b->map)
        return fail(b, -ENOMEM, "glMapNamedBufferRange of %zu bytes failed (GL error 0x%x)",
                    b->size, b->gl.GetError());
    if ((uint64_t)(uintptr_t)b->map + b->size > b->c.max_mapped_end)
        b->c.max_mapped_end = (uint64_t)(uintptr_t)b->map + b->size;
    if (b->p.variant == GLC_BENCH_FULLCOPY) {
        b->app = alloc_pages(b->size);
        if (!b->app)
            return fail(b, -ENOMEM, "no memory for the application's copy");
        b->w = b->app;
    } else {
        b->w = b->map;
    }
    return 0;
}

/* Stride of the 4 points a stream draw takes from its append: the first at its start, the last
 * ending at its end, so the draw reads the whole append (as a real program draws what it
 * wrote) while the GPU work stays 4 points. */
static GLsizei stream_stride(const glc_bench *b)
{
    return (GLsizei)((b->p.op_bytes - 16) / 3 / 16 * 16);
}

static void vertex_source(glc_bench *b, int from_buffer)
{
    b->gl.CreateVertexArrays(1, &b->vao);
    if (!from_buffer)
        return;
    if (b->p.workload == GLC_BENCH_STREAM || b->p.workload == GLC_BENCH_RING) {
        /* Direct state access, the vertex buffer re-bound at each append's offset per draw
         * (what a D3D-on-GL layer does for a no-overwrite stream). */
        b->gl.VertexArrayAttribFormat(b->vao, 0, 4, GL_FLOAT, GL_FALSE, 0);
        b->gl.VertexArrayAttribBinding(b->vao, 0, 0);
        b->gl.EnableVertexArrayAttrib(b->vao, 0);
        return;
    }
    b->gl.BindVertexArray(b->vao);
    b->gl.BindBuffer(GL_ARRAY_BUFFER, b->buf);
    b->gl.VertexAttribPointer(0, 4, GL_FLOAT, GL_FALSE, 16, NULL);
    b->gl.EnableVertexAttribArray(0);
    b->gl.BindBuffer(GL_ARRAY_BUFFER, 0);
    b->gl.BindVertexArray(0);
}

/* nostorage: map [off, off + len) for one update, write it, unmap. 0 or -1. */
static int update_mapped(glc_bench *b, size_t off, size_t len, uint32_t seed, GLbitfield inval)
{
    uint8_t *p = b->gl.MapNamedBufferRange(b->buf, (GLintptr)off, (GLsizeiptr)len,
                                           GL_MAP_WRITE_BIT | GL_MAP_UNSYNCHRONIZED_BIT | inval);
    if (!p) {
        b->c.map_failures++;
        return -1;
    }
    if ((uint64_t)(uintptr_t)p + len > b->c.max_mapped_end)
        b->c.max_mapped_end = (uint64_t)(uintptr_t)p + len;
    fill_vertices(p, len, seed);
    b->gl.UnmapNamedBuffer(b->buf);
    b->last_seed = seed;
    return 0;
}

/* Write the whole buffer once and let it reach the GL buffer (untimed setup). */
static void initial_fill(glc_bench *b)
{
    if (b->p.variant == GLC_BENCH_NOSTORAGE) {
        update_mapped(b, 0, b->size, 0x1234, GL_MAP_INVALIDATE_BUFFER_BIT);
        b->last_off = 0;
        b->last_len = b->size;
        return;
    }
    fill_vertices(b->w, b->size, 0x1234);
    if (b->p.variant == GLC_BENCH_FULLCOPY)
        memcpy(b->map, b->app, b->size);
    else if (b->p.variant == GLC_BENCH_EXPLICIT)
        b->gl.FlushMappedNamedBufferRange(b->buf, 0, (GLsizeiptr)b->size);
    b->last_off = 0;
    b->last_len = b->size;
}

static uint64_t pattern_word(int which, uint64_t i)
{
    return which ? i * 0x9e3779b97f4a7c15ull + 1 : i ^ 0xa5a5a5a5a5a5a5a5ull;
}

static int setup_readback(glc_bench *b)
{
    uint64_t *tmp = alloc_pages(b->size);
    if (!tmp)
        return fail(b, -ENOMEM, "no memory for the readback source");
    size_t n = b->size / 8;
    for (int k = 0; k < 2; k++) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            tmp[i] = pattern_word(k, i);
            sum += tmp[i];
        }
        b->expect_sum[k] = sum;
        b->gl.CreateBuffers(1, &b->src[k]);
        b->gl.NamedBufferStorage(b->src[k], (GLsizeiptr)b->size, tmp, 0);
    }
    munmap(tmp, b->size);
    return 0;
}

static int setup_bulk(glc_bench *b)
{
    GLuint cmds[BULK_DRAWS][4];
    GLuint nmat = (GLuint)(b->size / 64);
    for (GLuint i = 0; i < BULK_DRAWS; i++) {
        cmds[i][0] = 1;                           /* count */
        cmds[i][1] = 1;                           /* instanceCount */
        cmds[i][2] = i * (nmat / BULK_DRAWS);     /* first: gl_VertexID picks the matrix */
        cmds[i][3] = 0;                           /* baseInstance */
    }
    b->gl.CreateBuffers(1, &b->indirect);
    b->gl.NamedBufferStorage(b->indirect, sizeof cmds, cmds, 0);
    return 0;
}

static int setup_pressure(glc_bench *b)
{
    const size_t mib = (size_t)1 << 20;
    size_t total = b->size, big = total * 512 / 600 / (64 * mib);
    size_t mid = total * 64 / 600 / (16 * mib);
    size_t rest = total - big * 64 * mib - mid * 16 * mib;
    size_t small = rest / mib;
    b->pn = big + mid + small;
    if (!b->pn)
        return fail(b, -EINVAL, "pressure needs at least 1 MiB");
    b->pbuf = calloc(b->pn, sizeof *b->pbuf);
    b->psize = calloc(b->pn, sizeof *b->psize);
    if (!b->pbuf || !b->psize)
        return fail(b, -ENOMEM, "out of memory");
    for (size_t i = 0; i < b->pn; i++)
        b->psize[i] = i < big ? 64 * mib : i < big + mid ? 16 * mib : mib;
    return 0;
}

/* ring: a query per segment, and (except nostorage) the coherent buffer their results are
 * written into, 16 bytes per segment (result, availability), as wined3d's query buffers. */
static int setup_ring_queries(glc_bench *b)
{
    GLint align = 0;
    b->gl.GetIntegerv(GL_UNIFORM_BUFFER_OFFSET_ALIGNMENT, &align);
    if (align <= 0 || b->p.op_bytes % (uint32_t)align || RING_VERTS_AT % align ||
        b->p.op_bytes < RING_VERTS_AT + RING_VERT_BYTES)
        return fail(b, -EINVAL, "ring slot of %u bytes does not fit the uniform buffer offset "
                    "alignment %d", b->p.op_bytes, align);
    b->gl.GenQueries((GLsizei)b->segments, b->queries);
    if (b->p.variant == GLC_BENCH_NOSTORAGE)
        return 0;
    const GLbitfield flags = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                             GL_MAP_COHERENT_BIT;
    GLsizeiptr bytes = (GLsizeiptr)b->segments * 16;
    b->gl.CreateBuffers(1, &b->qbuf);
    b->gl.NamedBufferStorage(b->qbuf, bytes, NULL, flags);
    b->qmap = b->gl.MapNamedBufferRange(b->qbuf, 0, bytes, flags);
    if (!b->qmap)
        return fail(b, -ENOMEM, "cannot map the query buffer (GL error 0x%x)", b->gl.GetError());
    for (unsigned i = 0; i < 2 * b->segments; i++)
        b->qmap[i] = 0;
    return 0;
}

/* Objects, buffer and initial contents of the workload. 0 or -errno (message in b->err). */
static int setup_workload(glc_bench *b, const glc_bench_params *params)
{
    int rc;
    uint32_t w = params->workload;
    if (w == GLC_BENCH_PRESSURE)
        return setup_pressure(b);
    if (w == GLC_BENCH_POLL) {
        b->size = 16; /* two 64-bit words: the result and its availability */
    } else if (b->size < PAGE || b->size % 64) {
        return fail(b, -EINVAL, "buffer size %zu must be >= 4096 and a multiple of 64", b->size);
    }
    rc = make_target(b);
    if (rc)
        return rc;
    b->prog = program(b, w == GLC_BENCH_BULK   ? params->vs_ssbo_source
                         : w == GLC_BENCH_RING ? params->vs_ubo_source
                                               : params->vs_source,
                      params->fs_source);
    if (!b->prog)
        return -EINVAL;
    rc = make_buffer(b);
    if (rc)
        return rc;
    int from_buffer = w == GLC_BENCH_STREAM || w == GLC_BENCH_TINY || w == GLC_BENCH_SPARSE ||
                      w == GLC_BENCH_IDLE || w == GLC_BENCH_RING;
    vertex_source(b, from_buffer);
    if (w == GLC_BENCH_STREAM || w == GLC_BENCH_TINY || w == GLC_BENCH_RING) {
        b->segments = params->segments ? params->segments : 1;
        if (b->segments > MAX_SEGMENTS)
            b->segments = MAX_SEGMENTS;
        b->seg_bytes = b->size / b->segments;
        if (!params->op_bytes || b->seg_bytes % params->op_bytes || params->op_bytes % 16)
            return fail(b, -EINVAL, "ring segment %zu is not a multiple of the append size %u",
                        b->seg_bytes, params->op_bytes);
        b->size = b->seg_bytes * b->segments;
    }
    if (w == GLC_BENCH_RING && (rc = setup_ring_queries(b)) != 0)
        return rc;
    if (w == GLC_BENCH_READBACK) {
        rc = setup_readback(b);
    } else if (w == GLC_BENCH_POLL) {
        b->gl.GenQueries(1, &b->query);
        memset(b->w, 0, 16);
        before_draw(b);
    } else {
        if (w == GLC_BENCH_BULK)
            rc = setup_bulk(b);
        if (w == GLC_BENCH_SPARSE) {
            b->gl.CreateBuffers(1, &b->indirect);
            b->gl.NamedBufferStorage(b->indirect, 16, NULL, GL_DYNAMIC_STORAGE_BIT);
        }
        initial_fill(b);
    }
    b->gl.Finish();
    GLenum e = b->gl.GetError();
    if (!rc && e != GL_NO_ERROR)
        rc = fail(b, -EIO, "GL error 0x%x during setup", e);
    return rc;
}

int glc_bench_create(const glc_bench_gl *gl, const glc_bench_params *params, glc_bench **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = 0;
    const char *missing = gl ? glc_bench_gl_missing(gl) : "table";
    if (missing) {
        if (err)
            snprintf(err, errlen, "GL entry point %s is missing", missing);
        return -ENOSYS;
    }
    if (params->workload >= GLC_BENCH_WORKLOADS || params->variant > GLC_BENCH_NOSTORAGE ||
        (params->variant == GLC_BENCH_NOSTORAGE && params->workload != GLC_BENCH_STREAM &&
         params->workload != GLC_BENCH_TINY && params->workload != GLC_BENCH_RING)) {
        if (err)
            snprintf(err, errlen, "bad workload %u / variant %u", params->workload,
                     params->variant);
        return -EINVAL;
    }
    glc_bench *b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->gl = *gl;
    b->p = *params;
    b->p.vs_source = b->p.vs_ssbo_source = b->p.fs_source = NULL; /* not kept */
    b->p.vs_ubo_source = NULL;
    b->rng = params->seed ? params->seed : 0x9e3779b97f4a7c15ull;
    b->size = (size_t)params->buffer_bytes;
    while (b->gl.GetError() != GL_NO_ERROR)
        ;

    int rc = setup_workload(b, params);
    if (rc) {
        if (err)
            snprintf(err, errlen, "%s", b->err[0] ? b->err : "setup failed");
        glc_bench_destroy(b);
        return rc;
    }
    memset(&b->c, 0, sizeof b->c);
    if (b->map)
        b->c.max_mapped_end = (uint64_t)(uintptr_t)b->map + b->size;
    *out = b;
    return 0;
}

/* ---- frames -------------------------------------------------------------------------------- */

/* Ring of `segments` fenced segments: returns the offset of the next `len` bytes, waiting for
 * the segment's fence from the previous lap when entering it. */
static size_t ring_take(glc_bench *b, size_t len)
{
    if (b->head + len > b->size)
        b->head = 0;
    size_t seg = b->head / b->seg_bytes;
    if (b->head % b->seg_bytes == 0 && b->fences[seg]) {
        wait_sync(b, b->fences[seg]);
        b->fences[seg] = NULL;
        b->c.fence_waits++;
    }
    size_t off = b->head;
    b->head += len;
    return off;
}

/* After the draws that read [.., head): fence a segment that is complete. */
static void ring_done(glc_bench *b)
{
    if (b->head % b->seg_bytes == 0) {
        size_t seg = (b->head - 1) / b->seg_bytes;
        b->fences[seg] = b->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    }
}

static void frame_ring(glc_bench *b, GLsizei verts)
{
    uint32_t n = op_count(b);
    size_t len = b->p.op_bytes;
    for (uint32_t i = 0; i < n; i++) {
        size_t off = ring_take(b, len);
        if (b->p.variant == GLC_BENCH_NOSTORAGE)
            update_mapped(b, off, len, b->frame * 131u + i, GL_MAP_INVALIDATE_RANGE_BIT);
        else
            fill_vertices(b->w + off, len, b->frame * 131u + i);
        wrote(b, off, len);
        before_draw(b);
        if (b->p.workload == GLC_BENCH_STREAM) {
            b->gl.VertexArrayVertexBuffer(b->vao, 0, b->buf, (GLintptr)off, stream_stride(b));
            b->gl.DrawArrays(GL_POINTS, 0, verts);
        } else {
            b->gl.DrawArrays(GL_POINTS, (GLint)(off / 16), verts);
        }
        b->c.draws++;
        ring_done(b);
    }
    b->c.ops += n;
}

/* ring: the client writes [off, off + len) with data of `seed` (nostorage: through a map). */
static void ring_write(glc_bench *b, size_t off, size_t len, uint32_t seed)
{
    if (b->p.variant == GLC_BENCH_NOSTORAGE)
        update_mapped(b, off, len, seed, GL_MAP_INVALIDATE_RANGE_BIT);
    else
        fill_vertices(b->w + off, len, seed);
    wrote(b, off, len);
}

/* ring: segment `seg` is complete; its query result goes to the query buffer (a GPU write
 * into a coherent mapping the client then polls). */
static void ring_section_end(glc_bench *b, unsigned seg)
{
    b->gl.EndQuery(GL_PRIMITIVES_GENERATED);
    if (!b->qmap)
        return;
    b->qmap[2 * seg] = POLL_SENTINEL;
    b->qmap[2 * seg + 1] = POLL_SENTINEL;
    b->gl.BindBuffer(GL_QUERY_BUFFER, b->qbuf);
    /* With a query buffer bound, the pointer argument is an offset into it. */
    b->gl.GetQueryObjectui64v(b->queries[seg], GL_QUERY_RESULT,
                              (GLuint64 *)(uintptr_t)(16 * seg));
    b->gl.GetQueryObjectui64v(b->queries[seg], GL_QUERY_RESULT_AVAILABLE,
                              (GLuint64 *)(uintptr_t)(16 * seg + 8));
    b->gl.BindBuffer(GL_QUERY_BUFFER, 0);
    b->c.bytes_gpu_written += 16;
}

/* ring: wait for segment seg's query result the way the client's GetData loop does. */
static void ring_poll(glc_bench *b, unsigned seg)
{
    GLuint64 want = (GLuint64)b->sec_draws[seg] * (RING_VERT_BYTES / 16), got = 0, avail = 0;
    unsigned polls = 0;
    GLint dummy;
    if (b->qmap) {
        volatile uint64_t *q = b->qmap + 2 * seg;
        while (q[0] == POLL_SENTINEL || q[1] == POLL_SENTINEL) {
            if (++polls > POLL_MAX)
                break;
            b->gl.GetIntegerv(GL_CURRENT_PROGRAM, &dummy);
        }
        got = q[0];
        avail = q[1];
    } else { /* no query buffer: ask GL, as wined3d does without ARB_buffer_storage */
        while (!avail && ++polls <= POLL_MAX)
            b->gl.GetQueryObjectui64v(b->queries[seg], GL_QUERY_RESULT_AVAILABLE, &avail);
        b->gl.GetQueryObjectui64v(b->queries[seg], GL_QUERY_RESULT, &got);
    }
    b->c.bytes_read += 16;
    b->c.polls += polls;
    b->c.poll_cycles++;
    if (polls > POLL_MAX)
        b->c.poll_timeouts++;
    else if (got != want || avail != 1)
        b->c.mismatches++;
}

/* ring: per draw a 64-byte constant block (a uniform buffer range) and 3 vertices written
 * into the op's slot of one persistent coherent ring (D3D's Map(NO_OVERWRITE) of a dynamic
 * buffer, sub-allocated), a fence and a query per ring segment, the frame's query results
 * polled at its end. */
static void frame_d3d_ring(glc_bench *b)
{
    uint32_t n = op_count(b);
    unsigned ended[MAX_SEGMENTS], nended = 0;
    for (uint32_t i = 0; i < n; i++) {
        size_t off = ring_take(b, b->p.op_bytes);
        unsigned seg = (unsigned)(off / b->seg_bytes);
        if (off % b->seg_bytes == 0) {
            b->sec_draws[seg] = 0;
            b->gl.BeginQuery(GL_PRIMITIVES_GENERATED, b->queries[seg]);
        }
        uint32_t seed = b->frame * 131u + i;
        ring_write(b, off, RING_CONST_BYTES, seed ^ 0x5a5a5u);
        ring_write(b, off + RING_VERTS_AT, RING_VERT_BYTES, seed);
        before_draw(b);
        b->gl.BindBufferRange(GL_UNIFORM_BUFFER, 0, b->buf, (GLintptr)off, RING_CONST_BYTES);
        b->gl.VertexArrayVertexBuffer(b->vao, 0, b->buf, (GLintptr)(off + RING_VERTS_AT), 16);
        b->gl.DrawArrays(GL_POINTS, 0, RING_VERT_BYTES / 16);
        b->c.draws++;
        b->sec_draws[seg]++;
        if (b->head % b->seg_bytes == 0) {
            ring_section_end(b, seg);
            if (nended == MAX_SEGMENTS) /* more than a lap per frame: poll as we go */
                ring_poll(b, ended[--nended]);
            ended[nended++] = seg;
        }
        ring_done(b);
    }
    for (unsigned k = 0; k < nended; k++)
        ring_poll(b, ended[k]);
    b->c.ops += n;
}

static void frame_sparse(glc_bench *b)
{
    size_t pages = b->size / PAGE, pg = 0;
    uint32_t n = op_count(b);
    for (uint32_t i = 0; i < n; i++) {
        pg = (size_t)(xorshift(&b->rng) % pages);
        fill_vertices(b->w + pg * PAGE, PAGE, b->frame * 977u + i);
        wrote(b, pg * PAGE, PAGE);
    }
    b->c.ops += n;
    /* An indirect draw: what it reads is not known to a layer (a large pool drawn from by
     * GPU-chosen ranges), so the pages the client wrote must be found. */
    GLuint cmd[4] = {4, 1, (GLuint)(pg * PAGE / 16), 0};
    b->gl.NamedBufferSubData(b->indirect, 0, sizeof cmd, cmd);
    b->gl.BindBuffer(GL_DRAW_INDIRECT_BUFFER, b->indirect);
    before_draw(b);
    b->gl.MultiDrawArraysIndirect(GL_POINTS, NULL, 1, 0);
    b->c.draws++;
    b->gl.BindBuffer(GL_DRAW_INDIRECT_BUFFER, 0);
}

static void frame_bulk(glc_bench *b)
{
    fill_vertices(b->w, b->size, b->frame * 31u);
    wrote(b, 0, b->size);
    b->c.ops++;
    b->gl.BindBufferBase(GL_SHADER_STORAGE_BUFFER, 0, b->buf);
    b->gl.BindBuffer(GL_DRAW_INDIRECT_BUFFER, b->indirect);
    before_draw(b);
    b->gl.MultiDrawArraysIndirect(GL_POINTS, NULL, BULK_DRAWS, 0);
    b->c.draws++;
    b->gl.BindBuffer(GL_DRAW_INDIRECT_BUFFER, 0);
}

static void frame_readback(glc_bench *b)
{
    int k = (int)(b->frame & 1);
    b->gl.CopyNamedBufferSubData(b->src[k], b->buf, 0, 0, (GLsizeiptr)b->size);
    b->c.bytes_gpu_written += b->size;
    wait_sync(b, b->gl.FenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0));
    after_call(b);
    const volatile uint64_t *v = (const volatile uint64_t *)(void *)b->w;
    uint64_t sum = 0;
    size_t n = b->size / 8;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    b->c.bytes_read += b->size;
    if (sum != b->expect_sum[k])
        b->c.mismatches++;
    b->c.ops++;
}

static void frame_idle(glc_bench *b)
{
    uint32_t n = op_count(b);
    GLint slots = (GLint)(b->size / 64);
    for (uint32_t i = 0; i < n; i++) {
        before_draw(b);
        b->gl.DrawArrays(GL_POINTS, (GLint)(i % (uint32_t)slots) * 4, 4);
    }
    b->c.draws += n;
    b->c.ops += n;
}

static void frame_poll(glc_bench *b)
{
    uint32_t n = op_count(b);
    volatile uint64_t *m = (volatile uint64_t *)(void *)b->w;
    b->gl.BindBuffer(GL_QUERY_BUFFER, b->buf);
    for (uint32_t i = 0; i < n; i++) {
        GLuint64 want = 1 + i % 13;
        m[0] = POLL_SENTINEL;
        m[1] = POLL_SENTINEL;
        wrote(b, 0, 16);
        before_draw(b);
        b->gl.BeginQuery(GL_PRIMITIVES_GENERATED, b->query);
        b->gl.DrawArrays(GL_POINTS, 0, (GLsizei)want);
        b->gl.EndQuery(GL_PRIMITIVES_GENERATED);
        b->c.draws++;
        /* With a query buffer bound, the pointer argument is an offset into it. */
        b->gl.GetQueryObjectui64v(b->query, GL_QUERY_RESULT, (GLuint64 *)(uintptr_t)0);
        b->gl.GetQueryObjectui64v(b->query, GL_QUERY_RESULT_AVAILABLE, (GLuint64 *)(uintptr_t)8);
        b->c.bytes_gpu_written += 16;
        unsigned polls = 0;
        GLint dummy;
        /* Until both results are there, as wined3d's validity check does (two writes: either
         * may become visible first, the completion thread can bring one in alone). */
        while (m[0] == POLL_SENTINEL || m[1] == POLL_SENTINEL) {
            if (++polls > POLL_MAX) {
                b->c.poll_timeouts++;
                break;
            }
            b->gl.GetIntegerv(GL_CURRENT_PROGRAM, &dummy);
            after_call(b);
        }
        b->c.bytes_read += 16;
        b->c.polls += polls;
        b->c.poll_cycles++;
        if (polls <= POLL_MAX && (m[0] != want || m[1] != 1))
            b->c.mismatches++;
    }
    b->gl.BindBuffer(GL_QUERY_BUFFER, 0);
    b->c.ops += n;
}

static void frame_pressure(glc_bench *b)
{
    const GLbitfield flags = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                             GL_MAP_COHERENT_BIT;
    for (size_t i = 0; i < b->pn; i++) {
        b->gl.CreateBuffers(1, &b->pbuf[i]);
        b->gl.NamedBufferStorage(b->pbuf[i], (GLsizeiptr)b->psize[i], NULL, flags);
        void *p = b->gl.MapNamedBufferRange(b->pbuf[i], 0, (GLsizeiptr)b->psize[i], flags);
        if (!p) {
            b->c.map_failures++;
            continue;
        }
        b->c.maps++;
        uint64_t end = (uint64_t)(uintptr_t)p + b->psize[i];
        if (end > b->c.max_mapped_end)
            b->c.max_mapped_end = end;
        if (b->p.limit && end > b->p.limit)
            b->c.above_limit++;
    }
    b->pmapped = 1;
    b->c.ops += b->pn;
}

int glc_bench_frame(glc_bench *b)
{
    glc_bench_gl *gl = &b->gl;
    if (b->p.workload != GLC_BENCH_PRESSURE) {
        gl->BindFramebuffer(GL_FRAMEBUFFER, b->fbo);
        gl->Viewport(0, 0, FBO_SIZE, FBO_SIZE);
        gl->UseProgram(b->prog);
        gl->BindVertexArray(b->vao);
        gl->ClearColor(0.0f, 0.0f, 0.0f, 1.0f);
        gl->Clear(GL_COLOR_BUFFER_BIT);
    }
    switch (b->p.workload) {
    case GLC_BENCH_STREAM: frame_ring(b, 4); break;
    case GLC_BENCH_TINY: frame_ring(b, (GLsizei)(b->p.op_bytes / 16)); break;
    case GLC_BENCH_SPARSE: frame_sparse(b); break;
    case GLC_BENCH_BULK: frame_bulk(b); break;
    case GLC_BENCH_READBACK: frame_readback(b); break;
    case GLC_BENCH_IDLE: frame_idle(b); break;
    case GLC_BENCH_POLL: frame_poll(b); break;
    case GLC_BENCH_PRESSURE: frame_pressure(b); break;
    case GLC_BENCH_RING: frame_d3d_ring(b); break;
    default: return fail(b, -EINVAL, "bad workload");
    }
    gl->Finish();
    if (b->p.workload != GLC_BENCH_PRESSURE) {
        gl->BindVertexArray(0);
        gl->UseProgram(0);
        gl->BindFramebuffer(GL_FRAMEBUFFER, 0);
    }
    GLenum e = gl->GetError();
    b->frame++;
    b->c.frames++;
    if (e != GL_NO_ERROR) {
        b->c.gl_errors++;
        while (gl->GetError() != GL_NO_ERROR)
            ;
        return fail(b, -EIO, "GL error 0x%x in frame %u", e, b->frame);
    }
    return 0;
}

void glc_bench_after_frame(glc_bench *b)
{
    if (b->p.workload != GLC_BENCH_PRESSURE || !b->pmapped)
        return;
    for (size_t i = 0; i < b->pn; i++)
        if (b->pbuf[i])
            b->gl.UnmapNamedBuffer(b->pbuf[i]);
    b->gl.DeleteBuffers((GLsizei)b->pn, b->pbuf);
    memset(b->pbuf, 0, b->pn * sizeof *b->pbuf);
    b->pmapped = 0;
    b->gl.Finish();
}

long glc_bench_verify(glc_bench *b)
{
    switch (b->p.workload) {
    case GLC_BENCH_READBACK:
    case GLC_BENCH_POLL:
        return (long)(b->c.mismatches + b->c.poll_timeouts);
    case GLC_BENCH_PRESSURE:
        return (long)(b->c.map_failures + b->c.above_limit);
    default:
        break;
    }
    long bad = b->p.workload == GLC_BENCH_RING ? (long)(b->c.mismatches + b->c.poll_timeouts) : 0;
    if (!b->buf || !b->last_len)
        return bad;
    uint8_t *tmp = alloc_pages(b->last_len);
    if (!tmp)
        return -ENOMEM;
    b->gl.GetNamedBufferSubData(b->buf, (GLintptr)b->last_off, (GLsizeiptr)b->last_len, tmp);
    const uint8_t *want = b->w ? b->w + b->last_off : NULL;
    uint8_t *regen = NULL;
    if (!want) { /* nostorage: what the last update wrote */
        regen = alloc_pages(b->last_len);
        if (!regen) {
            munmap(tmp, b->last_len);
            return -ENOMEM;
        }
        fill_vertices(regen, b->last_len, b->last_seed);
        want = regen;
    }
    long diff = 0;
    for (size_t i = 0; i < b->last_len; i++)
        diff += tmp[i] != want[i];
    munmap(tmp, b->last_len);
    if (regen)
        munmap(regen, b->last_len);
    GLenum e = b->gl.GetError();
    if (e != GL_NO_ERROR)
        return fail(b, -EIO, "GL error 0x%x in verify", e);
    return diff + bad;
}

void glc_bench_get_counters(const glc_bench *b, glc_bench_counters *out)
{
    *out = b->c;
}

const char *glc_bench_error(const glc_bench *b)
{
    return b->err;
}

void glc_bench_destroy(glc_bench *b)
{
    if (!b)
        return;
    glc_bench_after_frame(b);
    for (unsigned i = 0; i < MAX_SEGMENTS; i++)
        if (b->fences[i])
            b->gl.DeleteSync(b->fences[i]);
    if (b->map)
        b->gl.UnmapNamedBuffer(b->buf);
    GLuint bufs[4] = {b->buf, b->src[0], b->src[1], b->indirect};
    b->gl.DeleteBuffers(4, bufs);
    if (b->query)
        b->gl.DeleteQueries(1, &b->query);
    if (b->queries[0])
        b->gl.DeleteQueries((GLsizei)b->segments, b->queries);
    if (b->qmap)
        b->gl.UnmapNamedBuffer(b->qbuf);
    if (b->qbuf)
        b->gl.DeleteBuffers(1, &b->qbuf);
    if (b->vao)
        b->gl.DeleteVertexArrays(1, &b->vao);
    if (b->prog)
        b->gl.DeleteProgram(b->prog);
    if (b->fbo)
        b->gl.DeleteFramebuffers(1, &b->fbo);
    if (b->tex)
        b->gl.DeleteTextures(1, &b->tex);
    if (b->app)
        munmap(b->app, b->size);
    free(b->pbuf);
    free(b->psize);
    b->gl.Finish();
    while (b->gl.GetError() != GL_NO_ERROR)
        ;
    free(b);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double glc_bench_call_ns(glc_bench *b, uint32_t which, uint32_t n)
{
    glc_bench_gl *gl = &b->gl;
    if (n == 0)
        n = 1;
    if (b->fbo) {
        gl->BindFramebuffer(GL_FRAMEBUFFER, b->fbo);
        gl->UseProgram(b->prog);
        gl->BindVertexArray(b->vao);
    }
    GLint v = 0;
    double t0 = now_s();
    if (which == 0) {
        for (uint32_t i = 0; i < n; i++)
            gl->GetIntegerv(GL_CURRENT_PROGRAM, &v);
    } else {
        for (uint32_t i = 0; i < n; i++)
            gl->DrawArrays(GL_POINTS, 0, 0);
    }
    double t1 = now_s();
    gl->Finish();
    if (b->fbo) {
        gl->BindVertexArray(0);
        gl->UseProgram(0);
        gl->BindFramebuffer(GL_FRAMEBUFFER, 0);
    }
    while (gl->GetError() != GL_NO_ERROR)
        ;
    return (t1 - t0) * 1e9 / (double)n;
}

/* ---- memcpy bandwidth ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double glc_bench_memcpy_bw(size_t buffer, size_t chunk, int random, unsigned reps)
{
    if (!buffer || !chunk || chunk > buffer)
        return 0;
    if (reps == 0)
        reps = 5;
    if (reps > 32)
        reps = 32;
    uint8_t *src = alloc_pages(buffer), *dst = alloc_pages(buffer);
    if (!src || !dst) {
        if (src)
            munmap(src, buffer);
        if (dst)
            munmap(dst, buffer);
        return 0;
    }
    memset(src, 1, buffer);
    memset(dst, 2, buffer);
    size_t slots = buffer / chunk;
    size_t min_total = (size_t)16 << 20;
    size_t count = slots;
    if (count * chunk < min_total)
        count = (min_total + chunk - 1) / chunk;
    uint64_t rng = 0x2545f4914f6cdd1dull;
    double bw[32];
    for (unsigned r = 0; r < reps; r++) {
        double t0 = now_s();
        for (size_t i = 0; i < count; i++) {
            size_t slot = random ? (size_t)(xorshift(&rng) % slots) : i % slots;
            memcpy(dst + slot * chunk, src + slot * chunk, chunk);
            __asm__ __volatile__("" : : "r"(dst) : "memory");
        }
        double t1 = now_s();
        bw[r] = (double)(count * chunk) / (t1 - t0);
    }
    munmap(src, buffer);
    munmap(dst, buffer);
    qsort(bw, reps, sizeof bw[0], cmp_double);
    return bw[reps / 2];
}
