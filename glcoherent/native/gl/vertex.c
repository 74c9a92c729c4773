/* gl/vertex.c [GL layer] - see vertex.h. */
#include "gl/vertex.h"

#include <stdlib.h>
#include <string.h>

typedef struct vattrib {
    uint8_t enabled;
    uint8_t binding;
    uint32_t reloffset;
    uint32_t size;           /* bytes of one element; 0: unknown format (the VAO is stale) */
} vattrib;

typedef struct vbinding {
    GLuint buffer;
    int64_t offset;
    int64_t stride;
    GLuint divisor;
} vbinding;

typedef struct vao {
    GLuint name;
    int synced;              /* the record matches the driver's state */
    uint64_t gen;            /* glc_vertex.gen it was synced at */
    GLuint element;
    vattrib a[GLC_VTX_ATTRIBS];
    vbinding b[GLC_VTX_ATTRIBS];
} vao;

typedef struct ubo {
    GLuint buffer;
    int64_t offset, size;    /* size < 0: the whole buffer */
} ubo;

struct glc_vertex {
    vao **vaos;
    size_t nvaos, cap;
    vao *cur;                /* never NULL once created */
    uint64_t gen;            /* bumped when every VAO must be read back */
    GLuint array_buffer;
    int array_known;
    int legacy;              /* fixed-function arrays seen */
    int ubo_known;           /* ubos[] read from the driver once */
    int ubo_overflow;        /* a binding point beyond GLC_VTX_UBOS is in use */
    unsigned nubo;           /* binding points in use: [0, nubo) */
    ubo ubos[GLC_VTX_UBOS];
    GLint max_attribs;       /* min(GL_MAX_VERTEX_ATTRIBS, GLC_VTX_ATTRIBS), 0 until known */
    const char *why;         /* why the last draw could not be bounded (for the log) */
};

void glc_vertex_free(glc_vertex *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->nvaos; i++)
        free(v->vaos[i]);
    free(v->vaos);
    free(v);
}

/* The record of VAO `name`, created (not synced) on first sight; NULL without memory. */
static vao *vao_get(glc_vertex *v, GLuint name)
{
    for (size_t i = 0; i < v->nvaos; i++)
        if (v->vaos[i]->name == name)
            return v->vaos[i];
    if (v->nvaos == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        vao **n = realloc(v->vaos, cap * sizeof *n);
        if (!n)
            return NULL;
        v->vaos = n;
        v->cap = cap;
    }
    vao *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->name = name;
    v->vaos[v->nvaos++] = a;
    return a;
}

/* The context's model, created on first use (every VAO starts stale: state may have been set
 * before glcoherent saw the context). NULL without memory. */
static glc_vertex *model(glc_ctx *c)
{
    if (!c->vtx) {
        glc_vertex *v = calloc(1, sizeof *v);
        if (!v)
            return NULL;
        v->cur = vao_get(v, 0);
        if (!v->cur) {
            free(v);
            return NULL;
        }
        c->vtx = v;
    }
    return c->vtx;
}

/* The record a call changes: `name` (DSA) or the bound VAO (~0u); only when it is in step with
 * the driver (a stale record is read back whole anyway). */
static vao *target_vao(glc_ctx *c, GLuint name)
{
    glc_vertex *v = model(c);
    if (!v)
        return NULL;
    vao *a = name == ~0u ? v->cur : vao_get(v, name);
    return a && a->synced && a->gen == v->gen ? a : NULL;
}

static void vao_stale(vao *a)
{
    if (a)
        a->synced = 0;
}

/* Bytes of one element of `size` components of `type` (kind 'L': doubles); 0 if unknown. */
static uint32_t elem_size(GLint size, GLenum type, int kind)
{
    if (size == GL_BGRA)
        size = 4;
    if (size < 1 || size > 4)
        return 0;
    switch (type) {
    case GL_BYTE:
    case GL_UNSIGNED_BYTE: return (uint32_t)size;
    case GL_SHORT:
    case GL_UNSIGNED_SHORT:
    case GL_HALF_FLOAT: return 2u * (uint32_t)size;
    case GL_INT:
    case GL_UNSIGNED_INT:
    case GL_FLOAT:
    case GL_FIXED: return kind == 'L' ? 0 : 4u * (uint32_t)size;
    case GL_DOUBLE: return 8u * (uint32_t)size;
    case GL_INT_2_10_10_10_REV:
    case GL_UNSIGNED_INT_2_10_10_10_REV:
    case GL_UNSIGNED_INT_10F_11F_11F_REV: return 4;
    default: return 0;
    }
}

static GLint max_attribs(glc_ctx *c)
{
    glc_vertex *v = c->vtx;
    if (!v->max_attribs) {
        GLint n = 0;
        GLC_FN(&c->inst->gl, glGetIntegerv)(GL_MAX_VERTEX_ATTRIBS, &n);
        v->max_attribs = n <= 0 ? 16 : n > GLC_VTX_ATTRIBS ? GLC_VTX_ATTRIBS : n;
    }
    return v->max_attribs;
}

/* ---- entry points -------------------------------------------------------------------------- */

void glc_vtx_bind_buffer(glc_ctx *c, GLenum target, GLuint buffer)
{
    glc_vertex *v = model(c);
    if (!v)
        return;
    if (target == GL_ARRAY_BUFFER) {
        v->array_buffer = buffer;
        v->array_known = 1;
    } else if (target == GL_ELEMENT_ARRAY_BUFFER) {
        vao *a = target_vao(c, ~0u);
        if (a)
            a->element = buffer;
    }
}

void glc_vtx_bind_vertex_array(glc_ctx *c, GLuint name)
{
    glc_vertex *v = model(c);
    if (!v)
        return;
    vao *a = vao_get(v, name);
    if (a)
        v->cur = a;
    else
        vao_stale(v->cur); /* no memory: the old record must not be trusted as the bound one */
}

void glc_vtx_delete_vertex_arrays(glc_ctx *c, GLsizei n, const GLuint *names)
{
    glc_vertex *v = model(c);
    if (!v || !names)
        return;
    for (GLsizei k = 0; k < n; k++) {
        if (!names[k])
            continue;
        for (size_t i = 0; i < v->nvaos; i++) {
            if (v->vaos[i]->name != names[k])
                continue;
            vao *a = v->vaos[i];
            v->vaos[i] = v->vaos[--v->nvaos];
            if (v->cur == a)
                v->cur = vao_get(v, 0); /* deleting the bound VAO binds 0 */
            free(a);
            break;
        }
    }
    if (!v->cur) { /* no memory for VAO 0's record: start again */
        glc_vertex_free(v);
        c->vtx = NULL;
    }
}

void glc_vtx_attrib_pointer(glc_ctx *c, GLuint index, GLint size, GLenum type, int kind,
                            GLsizei stride, const void *pointer)
{
    vao *a = target_vao(c, ~0u);
    if (!a)
        return;
    glc_vertex *v = c->vtx;
    uint32_t es = elem_size(size, type, kind);
    if (index >= (GLuint)max_attribs(c))
        return; /* GL_INVALID_VALUE: nothing changed */
    if (!es || stride < 0 || !v->array_known || (!v->array_buffer && pointer)) {
        /* An error, a format we do not know, or client memory: read it back. */
        vao_stale(a);
        return;
    }
    a->a[index].binding = (uint8_t)index;
    a->a[index].reloffset = 0;
    a->a[index].size = es;
    a->b[index].buffer = v->array_buffer;
    a->b[index].offset = (int64_t)(uintptr_t)pointer;
    a->b[index].stride = stride ? stride : (int64_t)es;
}

void glc_vtx_enable(glc_ctx *c, GLuint name, GLuint index, int on)
{
    vao *a = target_vao(c, name);
    if (a && index < (GLuint)max_attribs(c))
        a->a[index].enabled = (uint8_t)(on != 0);
}

void glc_vtx_attrib_divisor(glc_ctx *c, GLuint index, GLuint divisor)
{
    vao *a = target_vao(c, ~0u);
    if (!a || index >= (GLuint)max_attribs(c))
        return;
    a->a[index].binding = (uint8_t)index;
    a->b[index].divisor = divisor;
}

void glc_vtx_vertex_buffer(glc_ctx *c, GLuint name, GLuint binding, GLuint buffer,
                           GLintptr offset, GLsizei stride)
{
    vao *a = target_vao(c, name);
    if (!a)
        return;
    if (binding >= (GLuint)max_attribs(c) || offset < 0 || stride < 0) {
        vao_stale(a); /* an error or a binding point beyond the model: read it back */
        return;
    }
    a->b[binding].buffer = buffer;
    a->b[binding].offset = offset;
    a->b[binding].stride = stride;
}

void glc_vtx_element_buffer(glc_ctx *c, GLuint name, GLuint buffer)
{
    vao *a = target_vao(c, name);
    if (a)
        a->element = buffer;
}

void glc_vtx_attrib_format(glc_ctx *c, GLuint name, GLuint index, GLint size, GLenum type,
                           int kind, GLuint reloffset)
{
    vao *a = target_vao(c, name);
    if (!a || index >= (GLuint)max_attribs(c))
        return;
    uint32_t es = elem_size(size, type, kind);
    if (!es) {
        vao_stale(a);
        return;
    }
    a->a[index].size = es;
    a->a[index].reloffset = reloffset;
}

void glc_vtx_attrib_binding(glc_ctx *c, GLuint name, GLuint index, GLuint binding)
{
    vao *a = target_vao(c, name);
    if (!a || index >= (GLuint)max_attribs(c))
        return;
    if (binding >= (GLuint)max_attribs(c)) {
        vao_stale(a);
        return;
    }
    a->a[index].binding = (uint8_t)binding;
}

void glc_vtx_binding_divisor(glc_ctx *c, GLuint name, GLuint binding, GLuint divisor)
{
    vao *a = target_vao(c, name);
    if (!a)
        return;
    if (binding >= (GLuint)max_attribs(c)) {
        vao_stale(a);
        return;
    }
    a->b[binding].divisor = divisor;
}

void glc_vtx_uniform_buffer(glc_ctx *c, GLuint index, GLuint buffer, GLintptr offset,
                            GLsizeiptr size)
{
    glc_vertex *v = model(c);
    if (!v || !v->ubo_known)
        return; /* read back whole before the first bounded draw */
    if (index >= GLC_VTX_UBOS) {
        v->ubo_overflow = 1;
        return;
    }
    if (offset < 0) {
        v->ubo_known = 0; /* an error: read it back */
        return;
    }
    v->ubos[index] = (ubo){buffer, offset, size < 0 ? -1 : size};
    if (buffer && index >= v->nubo)
        v->nubo = index + 1;
}

void glc_vtx_stale(glc_ctx *c)
{
    glc_vertex *v = model(c);
    if (v) {
        v->gen++;
        v->array_known = 0;
        v->ubo_known = 0;
    }
}

void glc_vtx_legacy(glc_ctx *c, const char *call)
{
    glc_vertex *v = model(c);
    if (v && !v->legacy) {
        v->legacy = 1;
        glc_log(c->inst, GLC_LOG_INFO, "context %p: %s (fixed-function vertex arrays): its "
                "draws flush every dirty shadow from now on", c->native, call);
    }
}

/* ---- reading the driver's state back ------------------------------------------------------ */

static int sync_vao(glc_ctx *c, vao *a)
{
    glc_dispatch *gl = &c->inst->gl;
    GLint n = max_attribs(c);
    GLint el = 0;
    GLC_FN(gl, glGetIntegerv)(GL_ELEMENT_ARRAY_BUFFER_BINDING, &el);
    a->element = (GLuint)el;
    for (GLint i = 0; i < n; i++) {
        GLint en = 0, bind = i, rel = 0, size = 0, type = 0, isint = 0, islong = 0;
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_ARRAY_ENABLED, &en);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_BINDING, &bind);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_RELATIVE_OFFSET, &rel);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_ARRAY_SIZE, &size);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_ARRAY_TYPE, &type);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_ARRAY_INTEGER, &isint);
        GLC_FN(gl, glGetVertexAttribiv)((GLuint)i, GL_VERTEX_ATTRIB_ARRAY_LONG, &islong);
        uint32_t es = elem_size(size, (GLenum)type, islong ? 'L' : isint ? 'I' : 0);
        if (bind < 0 || bind >= n || rel < 0 || (en && !es))
            return 0;
        a->a[i] = (vattrib){(uint8_t)(en != 0), (uint8_t)bind, (uint32_t)rel, es};
        GLint buf = 0, stride = 0, div = 0;
        GLint64 off = 0;
        GLC_FN(gl, glGetIntegeri_v)(GL_VERTEX_BINDING_BUFFER, (GLuint)i, &buf);
        GLC_FN(gl, glGetInteger64i_v)(GL_VERTEX_BINDING_OFFSET, (GLuint)i, &off);
        GLC_FN(gl, glGetIntegeri_v)(GL_VERTEX_BINDING_STRIDE, (GLuint)i, &stride);
        GLC_FN(gl, glGetIntegeri_v)(GL_VERTEX_BINDING_DIVISOR, (GLuint)i, &div);
        if (off < 0 || stride < 0)
            return 0;
        a->b[i] = (vbinding){(GLuint)buf, off, stride, (GLuint)div};
    }
    return 1;
}

static void sync_ubos(glc_ctx *c, glc_vertex *v)
{
    glc_dispatch *gl = &c->inst->gl;
    GLint n = 0;
    GLC_FN(gl, glGetIntegerv)(GL_MAX_UNIFORM_BUFFER_BINDINGS, &n);
    v->ubo_overflow = n > GLC_VTX_UBOS;
    if (n > GLC_VTX_UBOS)
        n = GLC_VTX_UBOS;
    v->nubo = 0;
    for (GLint i = 0; i < n; i++) {
        GLint buf = 0;
        GLint64 start = 0, size = 0;
        GLC_FN(gl, glGetIntegeri_v)(GL_UNIFORM_BUFFER_BINDING, (GLuint)i, &buf);
        if (buf) {
            GLC_FN(gl, glGetInteger64i_v)(GL_UNIFORM_BUFFER_START, (GLuint)i, &start);
            GLC_FN(gl, glGetInteger64i_v)(GL_UNIFORM_BUFFER_SIZE, (GLuint)i, &size);
            v->nubo = (unsigned)i + 1;
        }
        /* glBindBufferBase reads back as size 0: the whole buffer. */
        v->ubos[i] = (ubo){(GLuint)buf, start < 0 ? 0 : start, size > 0 ? size : -1};
    }
    v->ubo_known = 1;
}

int glc_vtx_ready(glc_ctx *c)
{
    glc_vertex *v = model(c);
    if (!v || v->legacy) {
        if (v)
            v->why = "fixed-function vertex arrays";
        return 0;
    }
    if (v->cur->synced && v->cur->gen == v->gen && v->array_known && v->ubo_known)
        return 1;
    if (glc_gl_version(c) < 43) {
        v->why = "GL older than 4.3: vertex bindings cannot be read back";
        return 0;
    }
    if (!v->array_known) {
        GLint ab = 0;
        GLC_FN(&c->inst->gl, glGetIntegerv)(GL_ARRAY_BUFFER_BINDING, &ab);
        v->array_buffer = (GLuint)ab;
        v->array_known = 1;
    }
    if (!v->ubo_known)
        sync_ubos(c, v);
    if (!v->cur->synced || v->cur->gen != v->gen) {
        v->cur->synced = sync_vao(c, v->cur);
        v->cur->gen = v->gen;
    }
    if (!v->cur->synced)
        v->why = "the vertex array state read back is not understood";
    return v->cur->synced;
}

const char *glc_vtx_why(const glc_ctx *c)
{
    return c->vtx && c->vtx->why ? c->vtx->why : "no memory for the vertex-input model";
}

/* ---- a draw's reads ------------------------------------------------------------------------ */

/* Add [lo, hi) of buffer to out, merged with an overlapping or touching range of the same
 * buffer; when out is full, widened into the same buffer's nearest range. 0, or -1 when there
 * is no room at all. */
static int add_read(glc_reads *out, GLuint buffer, int64_t lo, int64_t hi)
{
    if (!buffer || hi <= lo)
        return 0;
    size_t near = SIZE_MAX;
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < out->n; i++) {
        if (out->r[i].buffer != buffer)
            continue;
        if (lo <= out->r[i].hi && hi >= out->r[i].lo) {
            if (lo < out->r[i].lo)
                out->r[i].lo = lo;
            if (hi > out->r[i].hi)
                out->r[i].hi = hi;
            return 0;
        }
        int64_t gap = lo > out->r[i].hi ? lo - out->r[i].hi : out->r[i].lo - hi;
        if (gap < best) {
            best = gap;
            near = i;
        }
    }
    if (out->n < GLC_READS_MAX) {
        out->r[out->n].buffer = buffer;
        out->r[out->n].lo = lo;
        out->r[out->n].hi = hi;
        out->n++;
        return 0;
    }
    if (near == SIZE_MAX)
        return -1;
    if (lo < out->r[near].lo)
        out->r[near].lo = lo;
    if (hi > out->r[near].hi)
        out->r[near].hi = hi;
    return 0;
}

static size_t index_size(GLenum type)
{
    switch (type) {
    case GL_UNSIGNED_BYTE: return 1;
    case GL_UNSIGNED_SHORT: return 2;
    case GL_UNSIGNED_INT: return 4;
    default: return 0;
    }
}

/* Is primitive restart with an all-ones index of `type` on? (Asked only when such an index
 * occurs.) */
static int restart_all_ones(glc_ctx *c, GLenum type)
{
    glc_dispatch *gl = &c->inst->gl;
    if (GLC_FN(gl, glIsEnabled)(GL_PRIMITIVE_RESTART_FIXED_INDEX))
        return 1;
    if (!GLC_FN(gl, glIsEnabled)(GL_PRIMITIVE_RESTART))
        return 0;
    GLint idx = 0;
    GLC_FN(gl, glGetIntegerv)(GL_PRIMITIVE_RESTART_INDEX, &idx);
    uint32_t ones = type == GL_UNSIGNED_BYTE ? 0xffu : type == GL_UNSIGNED_SHORT ? 0xffffu
                                                                                : 0xffffffffu;
    return (uint32_t)idx == ones;
}

/* Smallest and largest index in `count` indices of `type` at p; 0 when there is none. */
static int index_range(glc_ctx *c, const void *p, GLenum type, size_t count, uint32_t *lo,
                       uint32_t *hi)
{
    uint32_t mn = UINT32_MAX, mx = 0, ones = 0;
    size_t nones = 0;
    for (int pass = 0; pass < 2; pass++) {
        mn = UINT32_MAX;
        mx = 0;
        for (size_t i = 0; i < count; i++) {
            uint32_t x;
            if (type == GL_UNSIGNED_BYTE) {
                x = ((const uint8_t *)p)[i];
                ones = 0xffu;
            } else if (type == GL_UNSIGNED_SHORT) {
                uint16_t s;
                memcpy(&s, (const uint8_t *)p + 2 * i, 2);
                x = s;
                ones = 0xffffu;
            } else {
                memcpy(&x, (const uint8_t *)p + 4 * i, 4);
                ones = 0xffffffffu;
            }
            if (pass && x == ones)
                continue;
            nones += !pass && x == ones;
            mn = x < mn ? x : mn;
            mx = x > mx ? x : mx;
        }
        /* An all-ones index is a vertex unless primitive restart makes it a restart. */
        if (pass || !nones || !restart_all_ones(c, type))
            break;
    }
    if (mn > mx)
        return 0;
    *lo = mn;
    *hi = mx;
    return 1;
}

/* Every enabled attribute's bytes for vertices [vlo, vhi] (per-vertex attributes, unless
 * vertices_known is 0: then from their binding offset to the buffer's end) and instances
 * [0, instances) from baseinstance (instanced attributes). */
static int attrib_reads(glc_vertex *v, GLint n, int vertices_known, int64_t vlo, int64_t vhi,
                        GLsizei instances, GLuint baseinstance, glc_reads *out)
{
    const vao *a = v->cur;
    for (GLint i = 0; i < n; i++) {
        const vattrib *at = &a->a[i];
        if (!at->enabled)
            continue;
        const vbinding *b = &a->b[at->binding];
        if (!b->buffer)
            continue; /* client memory (or nothing): not a buffer of ours */
        int64_t base = b->offset + (int64_t)at->reloffset, elo, ehi;
        if (b->divisor) {
            elo = baseinstance;
            ehi = (int64_t)baseinstance + (int64_t)(instances - 1) / b->divisor;
        } else if (vertices_known) {
            elo = vlo < 0 ? 0 : vlo;
            ehi = vhi < 0 ? 0 : vhi;
        } else {
            if (add_read(out, b->buffer, base, INT64_MAX))
                return -1;
            continue;
        }
        if (add_read(out, b->buffer, base + elo * b->stride, base + ehi * b->stride + at->size))
            return -1;
    }
    return 0;
}

int glc_vtx_reads(glc_ctx *c, const glc_draw *d, glc_index_fn index_fn, void *user,
                  glc_reads *out)
{
    glc_vertex *v = c->vtx;
    if (!v || v->legacy || !v->cur->synced || v->ubo_overflow) {
        if (v)
            v->why = v->ubo_overflow ? "a uniform-buffer binding point beyond the model's"
                                     : "vertex-input state unknown";
        return -1;
    }
    v->why = "more buffer ranges than one draw's record holds";
    for (unsigned i = 0; i < v->nubo; i++) {
        const ubo *u = &v->ubos[i];
        if (u->buffer && add_read(out, u->buffer, u->offset,
                                  u->size < 0 ? INT64_MAX : u->offset + u->size))
            return -1;
    }
    if (d->count <= 0 || d->instances <= 0)
        return 0; /* nothing is drawn (or a GL error): no vertex is fetched */
    GLint n = max_attribs(c);
    if (!d->indexed)
        return attrib_reads(v, n, 1, d->first, (int64_t)d->first + d->count - 1, d->instances,
                            d->baseinstance, out);
    size_t isz = index_size(d->type);
    if (!isz)
        return 0; /* GL_INVALID_ENUM: nothing is drawn */
    size_t ilen = isz * (size_t)d->count;
    const void *ip = NULL;
    if (v->cur->element) {
        int64_t off = (int64_t)(uintptr_t)d->indices;
        if (add_read(out, v->cur->element, off, off + (int64_t)ilen))
            return -1;
        if (!d->ranged)
            ip = index_fn(user, v->cur->element, off, ilen);
    } else {
        ip = d->indices; /* client memory */
        if (!ip)
            return 0;
    }
    if (d->ranged)
        return attrib_reads(v, n, 1, (int64_t)d->start + d->basevertex,
                            (int64_t)d->end + d->basevertex, d->instances, d->baseinstance, out);
    uint32_t lo, hi;
    if (!ip)
        return attrib_reads(v, n, 0, 0, 0, d->instances, d->baseinstance, out);
    if (!index_range(c, ip, d->type, (size_t)d->count, &lo, &hi))
        return attrib_reads(v, n, 1, 0, -1, d->instances, d->baseinstance, out);
    return attrib_reads(v, n, 1, (int64_t)lo + d->basevertex, (int64_t)hi + d->basevertex,
                        d->instances, d->baseinstance, out);
}
