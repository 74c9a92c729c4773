/* gl/vertex.h [GL layer] - what a draw may read: the vertex-input and uniform-buffer state of
 * one context, and the buffer byte ranges a bounded draw reads through it.
 *
 * Private to gl/. Each context keeps a model of its vertex array objects (attribute formats,
 * vertex buffer bindings, divisors, enabled arrays, element buffer), its GL_ARRAY_BUFFER
 * binding and its indexed uniform-buffer bindings. The common entry points that change them
 * update the model exactly (gl/wrap.c); anything else that may change vertex state (rare
 * ARB/EXT names, multi-bind, state set before glcoherent saw the context) marks the model
 * stale, and the next bounded draw reads the driver's state back once (glGetVertexAttribiv,
 * glGetIntegeri_v; GL 4.3 and later, else the draw counts as unbounded). Fixed-function arrays
 * (glVertexPointer, glEnableClientState, ...) make every draw of that context unbounded.
 *
 * A draw is bounded when its vertex range is known: glDrawArrays*, glDrawRangeElements*,
 * glDrawElements* whose indices are client memory or lie in a shadowed buffer without pending
 * GPU writes, and the non-indirect multi-draws. Its reads are then every enabled attribute's
 * bytes for that range and instance range, the index bytes, and every bound uniform-buffer
 * range. Shader storage, atomic-counter and texture buffers are not here: the GL layer flushes
 * the first two whole and the ranges behind buffer textures for programs that read them (it
 * knows them from their bindings).
 */
#ifndef GLC_GL_VERTEX_H
#define GLC_GL_VERTEX_H

#include <stddef.h>
#include <stdint.h>

#include "gl/layer.h"

#define GLC_VTX_ATTRIBS 32   /* attributes (and binding points) the model keeps */
#define GLC_VTX_UBOS 128     /* uniform-buffer binding points the model keeps */
#define GLC_READS_MAX 48     /* distinct buffer ranges one draw collects */

/* One draw's vertex-fetch parameters. */
typedef struct glc_draw {
    int indexed;             /* glDrawElements family */
    GLint first;             /* arrays: first vertex */
    GLsizei count;           /* vertices (arrays) or indices (elements) */
    GLenum type;             /* elements: GL_UNSIGNED_BYTE / SHORT / INT */
    const void *indices;     /* elements: offset into the element buffer, or client pointer */
    GLint basevertex;
    int ranged;              /* glDrawRangeElements: [start, end] given */
    GLuint start, end;
    GLsizei instances;
    GLuint baseinstance;
} glc_draw;

/* Buffer byte ranges, merged per buffer. */
typedef struct glc_reads {
    size_t n;
    struct {
        GLuint buffer;
        int64_t lo, hi;      /* [lo, hi) in the buffer; hi may be INT64_MAX (to its end) */
    } r[GLC_READS_MAX];
} glc_reads;

/* Where a draw's index bytes are: a pointer to `len` bytes of buffer `buffer` at `offset` as
 * the client sees them, or NULL when the layer cannot tell (not shadowed, GPU writes pending).
 * Called with the group lock held. */
typedef const void *(*glc_index_fn)(void *user, GLuint buffer, int64_t offset, size_t len);

typedef struct glc_vertex glc_vertex;

void glc_vertex_free(glc_vertex *v);

/* ---- the entry points that change vertex-input or uniform-buffer state (after the driver's
 * call; each keeps the model exact or marks it stale) ---- */
void glc_vtx_bind_buffer(glc_ctx *c, GLenum target, GLuint buffer);
void glc_vtx_bind_vertex_array(glc_ctx *c, GLuint vao);
void glc_vtx_delete_vertex_arrays(glc_ctx *c, GLsizei n, const GLuint *vaos);
/* glVertexAttrib{,I,L}Pointer: `kind` 0, 'I' or 'L'. */
void glc_vtx_attrib_pointer(glc_ctx *c, GLuint index, GLint size, GLenum type, int kind,
                            GLsizei stride, const void *pointer);
/* vao ~0u: the bound one (non-DSA). */
void glc_vtx_enable(glc_ctx *c, GLuint vao, GLuint index, int on);
void glc_vtx_attrib_divisor(glc_ctx *c, GLuint index, GLuint divisor);
void glc_vtx_vertex_buffer(glc_ctx *c, GLuint vao, GLuint binding, GLuint buffer,
                           GLintptr offset, GLsizei stride);
void glc_vtx_element_buffer(glc_ctx *c, GLuint vao, GLuint buffer);
void glc_vtx_attrib_format(glc_ctx *c, GLuint vao, GLuint index, GLint size, GLenum type,
                           int kind, GLuint reloffset);
void glc_vtx_attrib_binding(glc_ctx *c, GLuint vao, GLuint index, GLuint binding);
void glc_vtx_binding_divisor(glc_ctx *c, GLuint vao, GLuint binding, GLuint divisor);
/* glBindBufferBase/Range on GL_UNIFORM_BUFFER (size < 0: Base, the whole buffer). */
void glc_vtx_uniform_buffer(glc_ctx *c, GLuint index, GLuint buffer, GLintptr offset,
                            GLsizeiptr size);
/* Some other call changed vertex state: read it back before the next bounded draw. */
void glc_vtx_stale(glc_ctx *c);
/* Fixed-function arrays are in use: this context's draws are unbounded from now on. */
void glc_vtx_legacy(glc_ctx *c, const char *call);
/* Why the last glc_vtx_ready or glc_vtx_reads failed, for a log line. */
const char *glc_vtx_why(const glc_ctx *c);

/* Before a bounded draw, without the group lock: bring the model up to date (may query the
 * driver). Returns 1 when the model can bound this context's draws, 0 when it cannot. */
int glc_vtx_ready(glc_ctx *c);
/* Add draw d's reads to out (group lock held; index bytes through index_fn). Returns 0, or -1
 * when the draw's reads are not bounded (then flush as for an unknown draw). */
int glc_vtx_reads(glc_ctx *c, const glc_draw *d, glc_index_fn index_fn, void *user,
                  glc_reads *out);

#endif
