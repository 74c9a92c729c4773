/* gl/wrap.c [GL layer] - the wrapped GL entry points, and the name -> wrapper table.
 *
 * Every wrapper finds the thread's current glcoherent context; with none (a call made before
 * any context is known) it forwards to the driver untouched. Wrapper kinds follow the lists in
 * gl_funcs.inc; the special ones are written out below.
 */
#include "gl/wrap.h"

#include <string.h>

#include "gl/layer.h"
#include "gl/pixels.h"
#include "gl/program.h"
#include "gl/vertex.h"

/* The table for a call made while no context of ours is current: the first instance's, or,
 * before any instance exists, one whose every entry is the no-op. */
static glc_dispatch *fallback_dispatch(void)
{
    static glc_dispatch none;
    glcoherent_instance *inst = glc_first_instance();
    return inst ? &inst->gl : &none;
}

#define FALLBACK(name) GLC_FN(fallback_dispatch(), name)

/* ---- generated kinds ----------------------------------------------------------------------- */

#define W_DRAW(ret, name, params, args)              \
    static ret APIENTRY w_##name params              \
    {                                                \
        glc_ctx *c = glc_current_fast();                  \
        if (!c) {                                    \
            FALLBACK(name) args;                     \
            return;                                  \
        }                                            \
        glc_before_draw(c);                          \
        GLC_FN(&c->inst->gl, name) args;                       \
        glc_after_draw(c);                           \
        glc_poll(c);                                 \
    }
GLC_GL_DRAW(W_DRAW)

/* Vertex-input state lives per context: while an instance has several contexts, ask which one
 * is current (a switch the layer did not see must not apply one context's VAOs to another's
 * draw). */
static glc_ctx *vtx_ctx(void)
{
    glc_ctx *c = glc_current_fast();
    if (c && atomic_load_explicit(&c->inst->ncontexts, memory_order_relaxed) > 1)
        c = glc_current();
    return c;
}

/* Draws whose vertex fetches the model may bound: flush what they read. */
#define W_BOUNDED(name, params, args, ...)               \
    static void APIENTRY w_##name params                 \
    {                                                    \
        glc_ctx *c = vtx_ctx();                          \
        if (!c) {                                        \
            FALLBACK(name) args;                         \
            return;                                      \
        }                                                \
        glc_draw d = {__VA_ARGS__};                      \
        glc_before_draw_bounded(c, &d, 1);               \
        GLC_FN(&c->inst->gl, name) args;                 \
        glc_after_draw(c);                               \
        glc_poll(c);                                     \
    }

#define ARRAYS(f, n, inst, base) .first = (f), .count = (n), .instances = (inst), .baseinstance = (base)
#define ELEMENTS(n, t, i, inst, bv, base)                                                   \
    .indexed = 1, .count = (n), .type = (t), .indices = (i), .instances = (inst),          \
    .basevertex = (bv), .baseinstance = (base)

W_BOUNDED(glDrawArrays, (GLenum mode, GLint first, GLsizei count), (mode, first, count),
          ARRAYS(first, count, 1, 0))
W_BOUNDED(glDrawArraysEXT, (GLenum mode, GLint first, GLsizei count), (mode, first, count),
          ARRAYS(first, count, 1, 0))
W_BOUNDED(glDrawArraysInstanced, (GLenum mode, GLint first, GLsizei count, GLsizei instancecount),
          (mode, first, count, instancecount), ARRAYS(first, count, instancecount, 0))
W_BOUNDED(glDrawArraysInstancedARB, (GLenum mode, GLint first, GLsizei count, GLsizei primcount),
          (mode, first, count, primcount), ARRAYS(first, count, primcount, 0))
W_BOUNDED(glDrawArraysInstancedEXT, (GLenum mode, GLint start, GLsizei count, GLsizei primcount),
          (mode, start, count, primcount), ARRAYS(start, count, primcount, 0))
W_BOUNDED(glDrawArraysInstancedBaseInstance,
          (GLenum mode, GLint first, GLsizei count, GLsizei instancecount, GLuint baseinstance),
          (mode, first, count, instancecount, baseinstance),
          ARRAYS(first, count, instancecount, baseinstance))
W_BOUNDED(glDrawElements, (GLenum mode, GLsizei count, GLenum type, const void *indices),
          (mode, count, type, indices), ELEMENTS(count, type, indices, 1, 0, 0))
W_BOUNDED(glDrawElementsInstanced,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei instancecount),
          (mode, count, type, indices, instancecount),
          ELEMENTS(count, type, indices, instancecount, 0, 0))
W_BOUNDED(glDrawElementsInstancedARB,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei primcount),
          (mode, count, type, indices, primcount), ELEMENTS(count, type, indices, primcount, 0, 0))
W_BOUNDED(glDrawElementsInstancedEXT,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei primcount),
          (mode, count, type, indices, primcount), ELEMENTS(count, type, indices, primcount, 0, 0))
W_BOUNDED(glDrawElementsBaseVertex,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLint basevertex),
          (mode, count, type, indices, basevertex),
          ELEMENTS(count, type, indices, 1, basevertex, 0))
W_BOUNDED(glDrawElementsInstancedBaseVertex,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei instancecount,
           GLint basevertex),
          (mode, count, type, indices, instancecount, basevertex),
          ELEMENTS(count, type, indices, instancecount, basevertex, 0))
W_BOUNDED(glDrawElementsInstancedBaseInstance,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei instancecount,
           GLuint baseinstance),
          (mode, count, type, indices, instancecount, baseinstance),
          ELEMENTS(count, type, indices, instancecount, 0, baseinstance))
W_BOUNDED(glDrawElementsInstancedBaseVertexBaseInstance,
          (GLenum mode, GLsizei count, GLenum type, const void *indices, GLsizei instancecount,
           GLint basevertex, GLuint baseinstance),
          (mode, count, type, indices, instancecount, basevertex, baseinstance),
          ELEMENTS(count, type, indices, instancecount, basevertex, baseinstance))
W_BOUNDED(glDrawRangeElements,
          (GLenum mode, GLuint start, GLuint end, GLsizei count, GLenum type, const void *indices),
          (mode, start, end, count, type, indices),
          ELEMENTS(count, type, indices, 1, 0, 0), .ranged = 1, .start = start, .end = end)
W_BOUNDED(glDrawRangeElementsEXT,
          (GLenum mode, GLuint start, GLuint end, GLsizei count, GLenum type, const void *indices),
          (mode, start, end, count, type, indices),
          ELEMENTS(count, type, indices, 1, 0, 0), .ranged = 1, .start = start, .end = end)
W_BOUNDED(glDrawRangeElementsBaseVertex,
          (GLenum mode, GLuint start, GLuint end, GLsizei count, GLenum type, const void *indices,
           GLint basevertex),
          (mode, start, end, count, type, indices, basevertex),
          ELEMENTS(count, type, indices, 1, basevertex, 0), .ranged = 1, .start = start,
          .end = end)

/* Multi-draws of up to this many draws are bounded draw by draw; more count as unbounded. */
#define GLC_MULTI_MAX 64

static void before_multi(glc_ctx *c, GLsizei n, const GLint *first, const GLsizei *count,
                         GLenum type, const void *const *indices, const GLint *basevertex)
{
    glc_draw d[GLC_MULTI_MAX];
    if (n <= 0 || n > GLC_MULTI_MAX || !count || (!first && !indices)) {
        glc_before_draw(c);
        return;
    }
    for (GLsizei i = 0; i < n; i++)
        d[i] = first ? (glc_draw){ARRAYS(first[i], count[i], 1, 0)}
                     : (glc_draw){ELEMENTS(count[i], type, indices[i], 1,
                                           basevertex ? basevertex[i] : 0, 0)};
    glc_before_draw_bounded(c, d, (size_t)n);
}

#define W_MULTI(name, params, args, ...)                 \
    static void APIENTRY w_##name params                 \
    {                                                    \
        glc_ctx *c = vtx_ctx();                          \
        if (!c) {                                        \
            FALLBACK(name) args;                         \
            return;                                      \
        }                                                \
        before_multi(c, __VA_ARGS__);                    \
        GLC_FN(&c->inst->gl, name) args;                 \
        glc_after_draw(c);                               \
        glc_poll(c);                                     \
    }

W_MULTI(glMultiDrawArrays,
        (GLenum mode, const GLint *first, const GLsizei *count, GLsizei drawcount),
        (mode, first, count, drawcount), drawcount, first, count, 0, NULL, NULL)
W_MULTI(glMultiDrawArraysEXT,
        (GLenum mode, const GLint *first, const GLsizei *count, GLsizei primcount),
        (mode, first, count, primcount), primcount, first, count, 0, NULL, NULL)
W_MULTI(glMultiDrawElements,
        (GLenum mode, const GLsizei *count, GLenum type, const void *const *indices,
         GLsizei drawcount),
        (mode, count, type, indices, drawcount), drawcount, NULL, count, type, indices, NULL)
W_MULTI(glMultiDrawElementsEXT,
        (GLenum mode, const GLsizei *count, GLenum type, const void *const *indices,
         GLsizei primcount),
        (mode, count, type, indices, primcount), primcount, NULL, count, type, indices, NULL)
W_MULTI(glMultiDrawElementsBaseVertex,
        (GLenum mode, const GLsizei *count, GLenum type, const void *const *indices,
         GLsizei drawcount, const GLint *basevertex),
        (mode, count, type, indices, drawcount, basevertex), drawcount, NULL, count, type,
        indices, basevertex)

/* ---- vertex-input state (gl/vertex.h) ------------------------------------------------------ */

/* Forward, then tell the model (`hook`, with c in scope). */
#define W_VTX(name, params, args, hook)                  \
    static void APIENTRY w_##name params                 \
    {                                                    \
        glc_ctx *c = vtx_ctx();                          \
        if (!c) {                                        \
            FALLBACK(name) args;                         \
            return;                                      \
        }                                                \
        GLC_FN(&c->inst->gl, name) args;                 \
        hook;                                            \
        glc_poll(c);                                     \
    }

#define CUR (~0u) /* the bound VAO */

W_VTX(glBindBuffer, (GLenum target, GLuint buffer), (target, buffer),
      glc_vtx_bind_buffer(c, target, buffer))
W_VTX(glBindBufferARB, (GLenum target, GLuint buffer), (target, buffer),
      glc_vtx_bind_buffer(c, target, buffer))
W_VTX(glBindVertexArray, (GLuint array), (array), glc_vtx_bind_vertex_array(c, array))
W_VTX(glDeleteVertexArrays, (GLsizei n, const GLuint *arrays), (n, arrays),
      glc_vtx_delete_vertex_arrays(c, n, arrays))
W_VTX(glVertexAttribPointer,
      (GLuint index, GLint size, GLenum type, GLboolean normalized, GLsizei stride,
       const void *pointer),
      (index, size, type, normalized, stride, pointer),
      glc_vtx_attrib_pointer(c, index, size, type, 0, stride, pointer))
W_VTX(glVertexAttribIPointer,
      (GLuint index, GLint size, GLenum type, GLsizei stride, const void *pointer),
      (index, size, type, stride, pointer),
      glc_vtx_attrib_pointer(c, index, size, type, 'I', stride, pointer))
W_VTX(glVertexAttribLPointer,
      (GLuint index, GLint size, GLenum type, GLsizei stride, const void *pointer),
      (index, size, type, stride, pointer),
      glc_vtx_attrib_pointer(c, index, size, type, 'L', stride, pointer))
W_VTX(glEnableVertexAttribArray, (GLuint index), (index), glc_vtx_enable(c, CUR, index, 1))
W_VTX(glDisableVertexAttribArray, (GLuint index), (index), glc_vtx_enable(c, CUR, index, 0))
W_VTX(glVertexAttribDivisor, (GLuint index, GLuint divisor), (index, divisor),
      glc_vtx_attrib_divisor(c, index, divisor))
W_VTX(glBindVertexBuffer, (GLuint bindingindex, GLuint buffer, GLintptr offset, GLsizei stride),
      (bindingindex, buffer, offset, stride),
      glc_vtx_vertex_buffer(c, CUR, bindingindex, buffer, offset, stride))
W_VTX(glVertexAttribFormat,
      (GLuint attribindex, GLint size, GLenum type, GLboolean normalized, GLuint relativeoffset),
      (attribindex, size, type, normalized, relativeoffset),
      glc_vtx_attrib_format(c, CUR, attribindex, size, type, 0, relativeoffset))
W_VTX(glVertexAttribIFormat, (GLuint attribindex, GLint size, GLenum type, GLuint relativeoffset),
      (attribindex, size, type, relativeoffset),
      glc_vtx_attrib_format(c, CUR, attribindex, size, type, 'I', relativeoffset))
W_VTX(glVertexAttribLFormat, (GLuint attribindex, GLint size, GLenum type, GLuint relativeoffset),
      (attribindex, size, type, relativeoffset),
      glc_vtx_attrib_format(c, CUR, attribindex, size, type, 'L', relativeoffset))
W_VTX(glVertexAttribBinding, (GLuint attribindex, GLuint bindingindex),
      (attribindex, bindingindex), glc_vtx_attrib_binding(c, CUR, attribindex, bindingindex))
W_VTX(glVertexBindingDivisor, (GLuint bindingindex, GLuint divisor), (bindingindex, divisor),
      glc_vtx_binding_divisor(c, CUR, bindingindex, divisor))
W_VTX(glVertexArrayVertexBuffer,
      (GLuint vaobj, GLuint bindingindex, GLuint buffer, GLintptr offset, GLsizei stride),
      (vaobj, bindingindex, buffer, offset, stride),
      glc_vtx_vertex_buffer(c, vaobj, bindingindex, buffer, offset, stride))
W_VTX(glVertexArrayElementBuffer, (GLuint vaobj, GLuint buffer), (vaobj, buffer),
      glc_vtx_element_buffer(c, vaobj, buffer))
W_VTX(glVertexArrayAttribFormat,
      (GLuint vaobj, GLuint attribindex, GLint size, GLenum type, GLboolean normalized,
       GLuint relativeoffset),
      (vaobj, attribindex, size, type, normalized, relativeoffset),
      glc_vtx_attrib_format(c, vaobj, attribindex, size, type, 0, relativeoffset))
W_VTX(glVertexArrayAttribIFormat,
      (GLuint vaobj, GLuint attribindex, GLint size, GLenum type, GLuint relativeoffset),
      (vaobj, attribindex, size, type, relativeoffset),
      glc_vtx_attrib_format(c, vaobj, attribindex, size, type, 'I', relativeoffset))
W_VTX(glVertexArrayAttribLFormat,
      (GLuint vaobj, GLuint attribindex, GLint size, GLenum type, GLuint relativeoffset),
      (vaobj, attribindex, size, type, relativeoffset),
      glc_vtx_attrib_format(c, vaobj, attribindex, size, type, 'L', relativeoffset))
W_VTX(glVertexArrayAttribBinding, (GLuint vaobj, GLuint attribindex, GLuint bindingindex),
      (vaobj, attribindex, bindingindex),
      glc_vtx_attrib_binding(c, vaobj, attribindex, bindingindex))
W_VTX(glVertexArrayBindingDivisor, (GLuint vaobj, GLuint bindingindex, GLuint divisor),
      (vaobj, bindingindex, divisor), glc_vtx_binding_divisor(c, vaobj, bindingindex, divisor))
W_VTX(glEnableVertexArrayAttrib, (GLuint vaobj, GLuint index), (vaobj, index),
      glc_vtx_enable(c, vaobj, index, 1))
W_VTX(glDisableVertexArrayAttrib, (GLuint vaobj, GLuint index), (vaobj, index),
      glc_vtx_enable(c, vaobj, index, 0))

#define W_VSTALE(ret, name, params, args) W_VTX(name, params, args, glc_vtx_stale(c))
GLC_GL_VERTEX_STALE(W_VSTALE)
#define W_VLEGACY(ret, name, params, args) W_VTX(name, params, args, glc_vtx_legacy(c, #name))
GLC_GL_VERTEX_LEGACY(W_VLEGACY)

/* ---- what programs may write (gl/program.h) ------------------------------------------------ */

W_VTX(glShaderSource,
      (GLuint shader, GLsizei count, const GLchar *const *string, const GLint *length),
      (shader, count, string, length), glc_prog_shader_source(c, shader, count, string, length))
W_VTX(glShaderBinary,
      (GLsizei count, const GLuint *shaders, GLenum binaryFormat, const void *binary,
       GLsizei length),
      (count, shaders, binaryFormat, binary, length),
      for (GLsizei i = 0; shaders && i < count; i++) glc_prog_shader_opaque(c, shaders[i]))
W_VTX(glSpecializeShader,
      (GLuint shader, const GLchar *pEntryPoint, GLuint numSpecializationConstants,
       const GLuint *pConstantIndex, const GLuint *pConstantValue),
      (shader, pEntryPoint, numSpecializationConstants, pConstantIndex, pConstantValue),
      glc_prog_shader_opaque(c, shader))
W_VTX(glAttachShader, (GLuint program, GLuint shader), (program, shader),
      glc_prog_attach(c, program, shader, 1))
W_VTX(glDetachShader, (GLuint program, GLuint shader), (program, shader),
      glc_prog_attach(c, program, shader, 0))
W_VTX(glLinkProgram, (GLuint program), (program), glc_prog_link(c, program))
W_VTX(glProgramBinary, (GLuint program, GLenum binaryFormat, const void *binary, GLsizei length),
      (program, binaryFormat, binary, length), glc_prog_set(c, program, GLC_PROG_ALL))
W_VTX(glDeleteProgram, (GLuint program), (program), glc_prog_deleted(c, program))
W_VTX(glUseProgram, (GLuint program), (program), glc_prog_use(c, program))
W_VTX(glBindProgramPipeline, (GLuint pipeline), (pipeline), glc_prog_bind_pipeline(c, pipeline))
W_VTX(glUseProgramStages, (GLuint pipeline, GLbitfield stages, GLuint program),
      (pipeline, stages, program), glc_prog_pipeline_stages(c, pipeline, stages, program))
W_VTX(glBeginTransformFeedback, (GLenum primitiveMode), (primitiveMode),
      glc_prog_transform_feedback(c, 1))
W_VTX(glEndTransformFeedback, (void), (), glc_prog_transform_feedback(c, 0))

static GLuint APIENTRY w_glCreateShaderProgramv(GLenum type, GLsizei count,
                                                const GLchar *const *strings)
{
    glc_ctx *c = vtx_ctx();
    if (!c)
        return FALLBACK(glCreateShaderProgramv)(type, count, strings);
    GLuint p = GLC_FN(&c->inst->gl, glCreateShaderProgramv)(type, count, strings);
    if (p)
        glc_prog_set(c, p, glc_glsl_use(count, strings, NULL));
    glc_poll(c);
    return p;
}

#define W_PROG_UNKNOWN(ret, name, params, args)          \
    static ret APIENTRY w_##name params                  \
    {                                                    \
        glc_ctx *c = vtx_ctx();                          \
        if (!c)                                          \
            return FALLBACK(name) args;                  \
        glc_prog_unknown(c);                             \
        return GLC_FN(&c->inst->gl, name) args;          \
    }
GLC_GL_PROGRAM_UNKNOWN(W_PROG_UNKNOWN)

#define W_UNPACK(ret, name, params, args)            \
    static ret APIENTRY w_##name params              \
    {                                                \
        glc_ctx *c = glc_current_fast();                  \
        if (!c) {                                    \
            FALLBACK(name) args;                     \
            return;                                  \
        }                                            \
        GLuint unpack = glc_bound_buffer(c, GL_PIXEL_UNPACK_BUFFER); \
        if (unpack)                                  \
            glc_before_read(c, unpack, 0, -1);       \
        GLC_FN(&c->inst->gl, name) args;                       \
        glc_poll(c);                                 \
    }
GLC_GL_UNPACK(W_UNPACK)

/* Into a pack buffer: a GPU write of that buffer, over the bytes the command packs (gl/pixels.h;
 * the pointer is an offset into the buffer; extent -1: unknown, the whole buffer). Into client
 * memory: a synchronous readback. One PACK_<name>(args) per entry point gives that range. */
typedef struct pack_range {
    const void *at;
    int64_t len;
} pack_range;
#define PR(ptr, len) ((pack_range){(ptr), (len)})
#define PACK_glReadPixels(x, y, w, h, f, t, p) PR(p, glc_pack_extent(c, w, h, 1, f, t))
#define PACK_glReadnPixels(x, y, w, h, f, t, n, p) PR(p, n)
#define PACK_glReadnPixelsARB PACK_glReadnPixels
#define PACK_glGetTexImage(tg, lv, f, t, p) PR(p, glc_pack_extent_level(c, tg, lv, f, t))
#define PACK_glGetTextureImage(tx, lv, f, t, n, p) PR(p, n)
#define PACK_glGetTextureSubImage(tx, lv, x, y, z, w, h, d, f, t, n, p) PR(p, n)
#define PACK_glGetCompressedTexImage(tg, lv, p) PR(p, glc_pack_extent_compressed(c, tg, lv))
#define PACK_glGetCompressedTexImageARB PACK_glGetCompressedTexImage
#define PACK_glGetCompressedTextureImage(tx, lv, n, p) PR(p, n)
#define PACK_glGetCompressedTextureSubImage(tx, lv, x, y, z, w, h, d, n, p) PR(p, n)
#define PACK_glGetnTexImage(tg, lv, f, t, n, p) PR(p, n)
#define PACK_glGetnTexImageARB PACK_glGetnTexImage
#define PACK_glGetnCompressedTexImage(tg, lv, n, p) PR(p, n)
#define PACK_glGetnCompressedTexImageARB PACK_glGetnCompressedTexImage
/* By texture name or texture unit: the layer does not ask for their level sizes. */
#define PACK_glGetTextureImageEXT(tx, tg, lv, f, t, p) PR(p, -1)
#define PACK_glGetCompressedTextureImageEXT(tx, tg, lv, p) PR(p, -1)
#define PACK_glGetMultiTexImageEXT(u, tg, lv, f, t, p) PR(p, -1)
#define PACK_glGetCompressedMultiTexImageEXT(u, tg, lv, p) PR(p, -1)

#define W_PACK(ret, name, params, args)                                       \
    static ret APIENTRY w_##name params                                       \
    {                                                                         \
        glc_ctx *c = glc_current_fast();                                      \
        if (!c) {                                                             \
            FALLBACK(name) args;                                              \
            return;                                                           \
        }                                                                     \
        GLuint pack = glc_bound_buffer(c, GL_PIXEL_PACK_BUFFER);              \
        pack_range r = PR(NULL, -1);                                          \
        if (pack) {                                                           \
            r = PACK_##name args;                                             \
            if (r.len < 0)                                                    \
                r.at = NULL;                                                  \
            glc_before_write(c, pack, (GLintptr)r.at, (GLsizeiptr)r.len);     \
        }                                                                     \
        GLC_FN(&c->inst->gl, name) args;                                      \
        if (pack)                                                             \
            glc_buffer_written(c, pack, (GLintptr)r.at, (GLsizeiptr)r.len);   \
        else                                                                  \
            glc_readback_sync(c);                                             \
        glc_poll(c);                                                          \
    }
GLC_GL_PACK(W_PACK)

#define W_QUERYOBJ(ret, name, plist, args)                    \
    static ret APIENTRY w_##name plist                        \
    {                                                         \
        glc_ctx *c = glc_current_fast();                           \
        if (!c) {                                             \
            FALLBACK(name) args;                              \
            return;                                           \
        }                                                     \
        GLuint qb = glc_bound_buffer(c, GL_QUERY_BUFFER);     \
        if (qb)                                               \
            glc_before_write(c, qb, (GLintptr)params,         \
                             (GLsizeiptr)sizeof *params);     \
        GLC_FN(&c->inst->gl, name) args;                                \
        if (qb) /* params is the offset of one result */      \
            glc_buffer_written(c, qb, (GLintptr)params,       \
                               (GLsizeiptr)sizeof *params);   \
        glc_poll(c);                                          \
    }
GLC_GL_QUERYOBJ(W_QUERYOBJ)

#define W_POLL(ret, name, params, args)              \
    static ret APIENTRY w_##name params              \
    {                                                \
        glc_ctx *c = glc_current_fast();                  \
        if (!c) {                                    \
            FALLBACK(name) args;                     \
            return;                                  \
        }                                            \
        GLC_FN(&c->inst->gl, name) args;                       \
        glc_poll(c);                                 \
    }
GLC_GL_POLL(W_POLL)

/* ---- storage --------------------------------------------------------------------------------- */

#define ENTER(name, args)                            \
    glc_ctx *c = glc_current();                      \
    if (!c)                                          \
        return FALLBACK(name) args;                  \
    glc_dispatch *gl = &c->inst->gl;                 \
    glc_poll(c)

#define ENTER_VOID(name, args)                       \
    glc_ctx *c = glc_current();                      \
    if (!c) {                                        \
        FALLBACK(name) args;                         \
        return;                                      \
    }                                                \
    glc_dispatch *gl = &c->inst->gl;                 \
    glc_poll(c)

static void APIENTRY w_glBufferStorage(GLenum target, GLsizeiptr size, const void *data,
                                       GLbitfield flags)
{
    ENTER_VOID(glBufferStorage, (target, size, data, flags));
    int fresh = glc_storage_fresh_begin(c, target, size, data);
    GLC_FN(gl, glBufferStorage)(target, size, data, flags);
    GLuint name = glc_bound_buffer(c, target);
    glc_storage_changed(c, name, target);
    glc_storage_fresh(c, name, target, fresh);
}

static void APIENTRY w_glNamedBufferStorage(GLuint buffer, GLsizeiptr size, const void *data,
                                            GLbitfield flags)
{
    ENTER_VOID(glNamedBufferStorage, (buffer, size, data, flags));
    GLC_FN(gl, glNamedBufferStorage)(buffer, size, data, flags);
    glc_storage_changed(c, buffer, 0); /* (named stores are never fresh: gl/layer.h) */
}

static void APIENTRY w_glNamedBufferStorageEXT(GLuint buffer, GLsizeiptr size, const void *data,
                                               GLbitfield flags)
{
    ENTER_VOID(glNamedBufferStorageEXT, (buffer, size, data, flags));
    GLC_FN(gl, glNamedBufferStorageEXT)(buffer, size, data, flags);
    glc_storage_changed(c, buffer, 0); /* (named stores are never fresh: gl/layer.h) */
}

/* EXT_memory_object: storage from imported memory; the same re-specification rules. */
static void APIENTRY w_glBufferStorageMemEXT(GLenum target, GLsizeiptr size, GLuint memory,
                                             GLuint64 offset)
{
    ENTER_VOID(glBufferStorageMemEXT, (target, size, memory, offset));
    GLC_FN(gl, glBufferStorageMemEXT)(target, size, memory, offset);
    glc_storage_changed(c, glc_bound_buffer(c, target), target);
}

static void APIENTRY w_glNamedBufferStorageMemEXT(GLuint buffer, GLsizeiptr size, GLuint memory,
                                                  GLuint64 offset)
{
    ENTER_VOID(glNamedBufferStorageMemEXT, (buffer, size, memory, offset));
    GLC_FN(gl, glNamedBufferStorageMemEXT)(buffer, size, memory, offset);
    glc_storage_changed(c, buffer, 0);
}

static void APIENTRY w_glBufferData(GLenum target, GLsizeiptr size, const void *data,
                                    GLenum usage)
{
    ENTER_VOID(glBufferData, (target, size, data, usage));
    GLC_FN(gl, glBufferData)(target, size, data, usage);
    glc_storage_changed(c, glc_bound_buffer(c, target), target);
}

static void APIENTRY w_glBufferDataARB(GLenum target, GLsizeiptrARB size, const void *data,
                                       GLenum usage)
{
    ENTER_VOID(glBufferDataARB, (target, size, data, usage));
    GLC_FN(gl, glBufferDataARB)(target, size, data, usage);
    glc_storage_changed(c, glc_bound_buffer(c, target), target);
}

static void APIENTRY w_glNamedBufferData(GLuint buffer, GLsizeiptr size, const void *data,
                                         GLenum usage)
{
    ENTER_VOID(glNamedBufferData, (buffer, size, data, usage));
    GLC_FN(gl, glNamedBufferData)(buffer, size, data, usage);
    glc_storage_changed(c, buffer, 0);
}

static void APIENTRY w_glNamedBufferDataEXT(GLuint buffer, GLsizeiptr size, const void *data,
                                            GLenum usage)
{
    ENTER_VOID(glNamedBufferDataEXT, (buffer, size, data, usage));
    GLC_FN(gl, glNamedBufferDataEXT)(buffer, size, data, usage);
    glc_storage_changed(c, buffer, 0);
}

/* ---- map / unmap / flush --------------------------------------------------------------------- */

static GLboolean unmap_target(glc_ctx *c, GLuint name, GLenum target)
{
    (void)name;
    glc_dispatch *gl = &c->inst->gl;
    return GLC_HAS(gl, glUnmapBuffer) ? GLC_FN(gl, glUnmapBuffer)(target) : GL_FALSE;
}

static GLboolean unmap_named(glc_ctx *c, GLuint name, GLenum target)
{
    (void)target;
    glc_dispatch *gl = &c->inst->gl;
    if (GLC_HAS(gl, glUnmapNamedBuffer))
        return GLC_FN(gl, glUnmapNamedBuffer)(name);
    if (GLC_HAS(gl, glUnmapNamedBufferEXT))
        return GLC_FN(gl, glUnmapNamedBufferEXT)(name);
    return GL_FALSE;
}

static GLbitfield access_bits(GLenum access)
{
    switch (access) {
    case GL_READ_ONLY: return GL_MAP_READ_BIT;
    case GL_WRITE_ONLY: return GL_MAP_WRITE_BIT;
    case GL_READ_WRITE: return GL_MAP_READ_BIT | GL_MAP_WRITE_BIT;
    default: return 0;
    }
}

/* The mapped length of a whole-buffer map. 64-bit queries first: GL_BUFFER_SIZE of a buffer of
 * 2 GiB or more does not fit the GLint of glGetBufferParameteriv. */
static GLsizeiptr buffer_size(glc_ctx *c, GLuint name, GLenum target)
{
    glc_dispatch *gl = &c->inst->gl;
    GLint64 size64 = 0;
    GLint size = 0;
    if (target && GLC_HAS(gl, glGetBufferParameteri64v)) {
        GLC_FN(gl, glGetBufferParameteri64v)(target, GL_BUFFER_SIZE, &size64);
        return (GLsizeiptr)size64;
    }
    if (!target && GLC_HAS(gl, glGetNamedBufferParameteri64v)) {
        GLC_FN(gl, glGetNamedBufferParameteri64v)(name, GL_BUFFER_SIZE, &size64);
        return (GLsizeiptr)size64;
    }
    if (target && GLC_HAS(gl, glGetBufferParameteriv))
        GLC_FN(gl, glGetBufferParameteriv)(target, GL_BUFFER_SIZE, &size);
    else if (GLC_HAS(gl, glGetNamedBufferParameteriv))
        GLC_FN(gl, glGetNamedBufferParameteriv)(name, GL_BUFFER_SIZE, &size);
    else if (GLC_HAS(gl, glGetNamedBufferParameterivEXT))
        GLC_FN(gl, glGetNamedBufferParameterivEXT)(name, GL_BUFFER_SIZE, &size);
    return size;
}

static void *APIENTRY w_glMapBufferRange(GLenum target, GLintptr offset, GLsizeiptr length,
                                         GLbitfield access)
{
    ENTER(glMapBufferRange, (target, offset, length, access));
    void *p = GLC_FN(gl, glMapBufferRange)(target, offset, length, access);
    if (!p)
        return p;
    return glc_map_created(c, glc_bound_buffer(c, target), p, offset, length, access,
                           unmap_target, target);
}

static void *APIENTRY w_glMapBuffer(GLenum target, GLenum access)
{
    ENTER(glMapBuffer, (target, access));
    void *p = GLC_FN(gl, glMapBuffer)(target, access);
    if (!p)
        return p;
    GLuint name = glc_bound_buffer(c, target);
    return glc_map_created(c, name, p, 0, buffer_size(c, name, target), access_bits(access),
                           unmap_target, target);
}

static void *APIENTRY w_glMapBufferARB(GLenum target, GLenum access)
{
    ENTER(glMapBufferARB, (target, access));
    void *p = GLC_FN(gl, glMapBufferARB)(target, access);
    if (!p)
        return p;
    GLuint name = glc_bound_buffer(c, target);
    return glc_map_created(c, name, p, 0, buffer_size(c, name, target), access_bits(access),
                           unmap_target, target);
}

static void *APIENTRY w_glMapNamedBufferRange(GLuint buffer, GLintptr offset, GLsizeiptr length,
                                              GLbitfield access)
{
    ENTER(glMapNamedBufferRange, (buffer, offset, length, access));
    void *p = GLC_FN(gl, glMapNamedBufferRange)(buffer, offset, length, access);
    if (!p)
        return p;
    return glc_map_created(c, buffer, p, offset, length, access, unmap_named, 0);
}

static void *APIENTRY w_glMapNamedBufferRangeEXT(GLuint buffer, GLintptr offset,
                                                 GLsizeiptr length, GLbitfield access)
{
    ENTER(glMapNamedBufferRangeEXT, (buffer, offset, length, access));
    void *p = GLC_FN(gl, glMapNamedBufferRangeEXT)(buffer, offset, length, access);
    if (!p)
        return p;
    return glc_map_created(c, buffer, p, offset, length, access, unmap_named, 0);
}

static void *APIENTRY w_glMapNamedBuffer(GLuint buffer, GLenum access)
{
    ENTER(glMapNamedBuffer, (buffer, access));
    void *p = GLC_FN(gl, glMapNamedBuffer)(buffer, access);
    if (!p)
        return p;
    return glc_map_created(c, buffer, p, 0, buffer_size(c, buffer, 0), access_bits(access),
                           unmap_named, 0);
}

static void *APIENTRY w_glMapNamedBufferEXT(GLuint buffer, GLenum access)
{
    ENTER(glMapNamedBufferEXT, (buffer, access));
    void *p = GLC_FN(gl, glMapNamedBufferEXT)(buffer, access);
    if (!p)
        return p;
    return glc_map_created(c, buffer, p, 0, buffer_size(c, buffer, 0), access_bits(access),
                           unmap_named, 0);
}

#define UNMAP_BODY(name_expr, call)        \
    GLuint name = (name_expr);             \
    glc_before_unmap(c, name);             \
    GLboolean r = call;                    \
    glc_map_dropped(c, name);              \
    return r

static GLboolean APIENTRY w_glUnmapBuffer(GLenum target)
{
    ENTER(glUnmapBuffer, (target));
    UNMAP_BODY(glc_bound_buffer(c, target), GLC_FN(gl, glUnmapBuffer)(target));
}

static GLboolean APIENTRY w_glUnmapBufferARB(GLenum target)
{
    ENTER(glUnmapBufferARB, (target));
    UNMAP_BODY(glc_bound_buffer(c, target), GLC_FN(gl, glUnmapBufferARB)(target));
}

static GLboolean APIENTRY w_glUnmapNamedBuffer(GLuint buffer)
{
    ENTER(glUnmapNamedBuffer, (buffer));
    UNMAP_BODY(buffer, GLC_FN(gl, glUnmapNamedBuffer)(buffer));
}

static GLboolean APIENTRY w_glUnmapNamedBufferEXT(GLuint buffer)
{
    ENTER(glUnmapNamedBufferEXT, (buffer));
    UNMAP_BODY(buffer, GLC_FN(gl, glUnmapNamedBufferEXT)(buffer));
}

static void APIENTRY w_glFlushMappedBufferRange(GLenum target, GLintptr offset, GLsizeiptr length)
{
    ENTER_VOID(glFlushMappedBufferRange, (target, offset, length));
    glc_before_flush_range(c, glc_bound_buffer(c, target), offset, length);
    GLC_FN(gl, glFlushMappedBufferRange)(target, offset, length);
}

static void APIENTRY w_glFlushMappedNamedBufferRange(GLuint buffer, GLintptr offset,
                                                     GLsizeiptr length)
{
    ENTER_VOID(glFlushMappedNamedBufferRange, (buffer, offset, length));
    glc_before_flush_range(c, buffer, offset, length);
    GLC_FN(gl, glFlushMappedNamedBufferRange)(buffer, offset, length);
}

static void APIENTRY w_glFlushMappedNamedBufferRangeEXT(GLuint buffer, GLintptr offset,
                                                        GLsizeiptr length)
{
    ENTER_VOID(glFlushMappedNamedBufferRangeEXT, (buffer, offset, length));
    glc_before_flush_range(c, buffer, offset, length);
    GLC_FN(gl, glFlushMappedNamedBufferRangeEXT)(buffer, offset, length);
}

#define POINTER_BODY(call)                                       \
    call;                                                        \
    if (params && pname == GL_BUFFER_MAP_POINTER)                \
        *params = glc_client_pointer(c, *params)

static void APIENTRY w_glGetBufferPointerv(GLenum target, GLenum pname, void **params)
{
    ENTER_VOID(glGetBufferPointerv, (target, pname, params));
    POINTER_BODY(GLC_FN(gl, glGetBufferPointerv)(target, pname, params));
}

static void APIENTRY w_glGetBufferPointervARB(GLenum target, GLenum pname, void **params)
{
    ENTER_VOID(glGetBufferPointervARB, (target, pname, params));
    POINTER_BODY(GLC_FN(gl, glGetBufferPointervARB)(target, pname, params));
}

static void APIENTRY w_glGetNamedBufferPointerv(GLuint buffer, GLenum pname, void **params)
{
    ENTER_VOID(glGetNamedBufferPointerv, (buffer, pname, params));
    POINTER_BODY(GLC_FN(gl, glGetNamedBufferPointerv)(buffer, pname, params));
}

static void APIENTRY w_glGetNamedBufferPointervEXT(GLuint buffer, GLenum pname, void **params)
{
    ENTER_VOID(glGetNamedBufferPointervEXT, (buffer, pname, params));
    POINTER_BODY(GLC_FN(gl, glGetNamedBufferPointervEXT)(buffer, pname, params));
}

static void APIENTRY w_glDeleteBuffers(GLsizei n, const GLuint *buffers)
{
    ENTER_VOID(glDeleteBuffers, (n, buffers));
    glc_buffers_deleted(c, n, buffers);
    GLC_FN(gl, glDeleteBuffers)(n, buffers);
}

static void APIENTRY w_glDeleteBuffersARB(GLsizei n, const GLuint *buffers)
{
    ENTER_VOID(glDeleteBuffersARB, (n, buffers));
    glc_buffers_deleted(c, n, buffers);
    GLC_FN(gl, glDeleteBuffersARB)(n, buffers);
}

/* ---- commands that write buffers ------------------------------------------------------------ */

/* A command that writes [off, off + size) of buffer name_expr (size < 0: all of it). */
#define WRITE_RANGE(name_expr, off, size, call) \
    GLuint name = (name_expr);                  \
    glc_before_write(c, name, (GLintptr)(off), (GLsizeiptr)(size)); \
    call;                                       \
    glc_buffer_written(c, name, (GLintptr)(off), (GLsizeiptr)(size))
#define WRITE_BODY(name_expr, call) WRITE_RANGE(name_expr, 0, -1, call)

static void APIENTRY w_glBufferSubData(GLenum target, GLintptr offset, GLsizeiptr size,
                                       const void *data)
{
    ENTER_VOID(glBufferSubData, (target, offset, size, data));
    WRITE_RANGE(glc_bound_buffer(c, target), offset, size, GLC_FN(gl, glBufferSubData)(target, offset, size, data));
}

static void APIENTRY w_glBufferSubDataARB(GLenum target, GLintptrARB offset, GLsizeiptrARB size,
                                          const void *data)
{
    ENTER_VOID(glBufferSubDataARB, (target, offset, size, data));
    WRITE_RANGE(glc_bound_buffer(c, target), offset, size, GLC_FN(gl, glBufferSubDataARB)(target, offset, size, data));
}

static void APIENTRY w_glNamedBufferSubData(GLuint buffer, GLintptr offset, GLsizeiptr size,
                                            const void *data)
{
    ENTER_VOID(glNamedBufferSubData, (buffer, offset, size, data));
    WRITE_RANGE(buffer, offset, size, GLC_FN(gl, glNamedBufferSubData)(buffer, offset, size, data));
}

static void APIENTRY w_glNamedBufferSubDataEXT(GLuint buffer, GLintptr offset, GLsizeiptr size,
                                               const void *data)
{
    ENTER_VOID(glNamedBufferSubDataEXT, (buffer, offset, size, data));
    WRITE_RANGE(buffer, offset, size, GLC_FN(gl, glNamedBufferSubDataEXT)(buffer, offset, size, data));
}

static void APIENTRY w_glClearBufferData(GLenum target, GLenum internalformat, GLenum format,
                                         GLenum type, const void *data)
{
    ENTER_VOID(glClearBufferData, (target, internalformat, format, type, data));
    WRITE_BODY(glc_bound_buffer(c, target),
               GLC_FN(gl, glClearBufferData)(target, internalformat, format, type, data));
}

static void APIENTRY w_glClearBufferSubData(GLenum target, GLenum internalformat,
                                            GLintptr offset, GLsizeiptr size, GLenum format,
                                            GLenum type, const void *data)
{
    ENTER_VOID(glClearBufferSubData, (target, internalformat, offset, size, format, type, data));
    WRITE_RANGE(glc_bound_buffer(c, target), offset, size,
               GLC_FN(gl, glClearBufferSubData)(target, internalformat, offset, size, format, type,
                                        data));
}

static void APIENTRY w_glClearNamedBufferData(GLuint buffer, GLenum internalformat,
                                              GLenum format, GLenum type, const void *data)
{
    ENTER_VOID(glClearNamedBufferData, (buffer, internalformat, format, type, data));
    WRITE_BODY(buffer, GLC_FN(gl, glClearNamedBufferData)(buffer, internalformat, format, type, data));
}

static void APIENTRY w_glClearNamedBufferDataEXT(GLuint buffer, GLenum internalformat,
                                                 GLenum format, GLenum type, const void *data)
{
    ENTER_VOID(glClearNamedBufferDataEXT, (buffer, internalformat, format, type, data));
    WRITE_BODY(buffer,
               GLC_FN(gl, glClearNamedBufferDataEXT)(buffer, internalformat, format, type, data));
}

static void APIENTRY w_glClearNamedBufferSubData(GLuint buffer, GLenum internalformat,
                                                 GLintptr offset, GLsizeiptr size,
                                                 GLenum format, GLenum type, const void *data)
{
    ENTER_VOID(glClearNamedBufferSubData,
               (buffer, internalformat, offset, size, format, type, data));
    WRITE_RANGE(buffer, offset, size, GLC_FN(gl, glClearNamedBufferSubData)(buffer, internalformat, offset, size,
                                                     format, type, data));
}

static void APIENTRY w_glClearNamedBufferSubDataEXT(GLuint buffer, GLenum internalformat,
                                                    GLsizeiptr offset, GLsizeiptr size,
                                                    GLenum format, GLenum type,
                                                    const void *data)
{
    ENTER_VOID(glClearNamedBufferSubDataEXT,
               (buffer, internalformat, offset, size, format, type, data));
    WRITE_RANGE(buffer, offset, size, GLC_FN(gl, glClearNamedBufferSubDataEXT)(buffer, internalformat, offset, size,
                                                        format, type, data));
}

static void APIENTRY w_glCopyBufferSubData(GLenum readTarget, GLenum writeTarget,
                                           GLintptr readOffset, GLintptr writeOffset,
                                           GLsizeiptr size)
{
    ENTER_VOID(glCopyBufferSubData, (readTarget, writeTarget, readOffset, writeOffset, size));
    glc_before_read(c, glc_bound_buffer(c, readTarget), readOffset, size);
    WRITE_RANGE(glc_bound_buffer(c, writeTarget), writeOffset, size,
               GLC_FN(gl, glCopyBufferSubData)(readTarget, writeTarget, readOffset, writeOffset, size));
}

static void APIENTRY w_glCopyNamedBufferSubData(GLuint readBuffer, GLuint writeBuffer,
                                                GLintptr readOffset, GLintptr writeOffset,
                                                GLsizeiptr size)
{
    ENTER_VOID(glCopyNamedBufferSubData, (readBuffer, writeBuffer, readOffset, writeOffset, size));
    glc_before_read(c, readBuffer, readOffset, size);
    WRITE_RANGE(writeBuffer, writeOffset, size, GLC_FN(gl, glCopyNamedBufferSubData)(readBuffer, writeBuffer, readOffset,
                                                         writeOffset, size));
}

static void APIENTRY w_glNamedCopyBufferSubDataEXT(GLuint readBuffer, GLuint writeBuffer,
                                                   GLintptr readOffset, GLintptr writeOffset,
                                                   GLsizeiptr size)
{
    ENTER_VOID(glNamedCopyBufferSubDataEXT,
               (readBuffer, writeBuffer, readOffset, writeOffset, size));
    glc_before_read(c, readBuffer, readOffset, size);
    WRITE_RANGE(writeBuffer, writeOffset, size, GLC_FN(gl, glNamedCopyBufferSubDataEXT)(readBuffer, writeBuffer, readOffset,
                                                            writeOffset, size));
}

#define QUERYBUF(fn, T)                                                                  \
    static void APIENTRY w_##fn(GLuint id, GLuint buffer, GLenum pname, GLintptr offset) \
    {                                                                                    \
        ENTER_VOID(fn, (id, buffer, pname, offset));                                     \
        WRITE_RANGE(buffer, offset, sizeof(T), GLC_FN(gl, fn)(id, buffer, pname, offset)); \
    }
QUERYBUF(glGetQueryBufferObjectiv, GLint)
QUERYBUF(glGetQueryBufferObjectuiv, GLuint)
QUERYBUF(glGetQueryBufferObjecti64v, GLint64)
QUERYBUF(glGetQueryBufferObjectui64v, GLuint64)

/* ---- synchronous readback of a buffer -------------------------------------------------------- */

static void APIENTRY w_glGetBufferSubData(GLenum target, GLintptr offset, GLsizeiptr size,
                                          void *data)
{
    ENTER_VOID(glGetBufferSubData, (target, offset, size, data));
    glc_before_read(c, glc_bound_buffer(c, target), offset, size);
    GLC_FN(gl, glGetBufferSubData)(target, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetBufferSubDataARB(GLenum target, GLintptrARB offset,
                                             GLsizeiptrARB size, void *data)
{
    ENTER_VOID(glGetBufferSubDataARB, (target, offset, size, data));
    glc_before_read(c, glc_bound_buffer(c, target), offset, size);
    GLC_FN(gl, glGetBufferSubDataARB)(target, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetNamedBufferSubData(GLuint buffer, GLintptr offset, GLsizeiptr size,
                                               void *data)
{
    ENTER_VOID(glGetNamedBufferSubData, (buffer, offset, size, data));
    glc_before_read(c, buffer, offset, size);
    GLC_FN(gl, glGetNamedBufferSubData)(buffer, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetNamedBufferSubDataEXT(GLuint buffer, GLintptr offset,
                                                  GLsizeiptr size, void *data)
{
    ENTER_VOID(glGetNamedBufferSubDataEXT, (buffer, offset, size, data));
    glc_before_read(c, buffer, offset, size);
    GLC_FN(gl, glGetNamedBufferSubDataEXT)(buffer, offset, size, data);
    glc_readback_sync(c);
}

/* ---- bindings where shaders may write ------------------------------------------------------- */

static int shader_writable_target(GLenum target)
{
    return target == GL_SHADER_STORAGE_BUFFER || target == GL_ATOMIC_COUNTER_BUFFER ||
           target == GL_TRANSFORM_FEEDBACK_BUFFER;
}

/* Binding a buffer where shaders may write it (indexed SSBO / atomic / xfb targets, transform
 * feedback objects, texture buffers usable as images): remember it before forwarding. */
#define W_WRITABLE_BINDING(name, params, args, offset, size)   \
    static void APIENTRY w_##name params                     \
    {                                                        \
        ENTER_VOID(name, args);                              \
        glc_buffer_gpu_writable(c, buffer, (offset), (size), #name); \
        GLC_FN(gl, name) args;                               \
    }

/* Indexed bindings: shader-writable targets are remembered, uniform buffers go to the
 * vertex model (what bounded draws read). */
#define W_INDEXED_BINDING(name, params, args, offset, size)                \
    static void APIENTRY w_##name params                                   \
    {                                                                      \
        ENTER_VOID(name, args);                                            \
        if (shader_writable_target(target))                                \
            glc_buffer_gpu_writable(c, buffer, (offset), (size), #name);   \
        GLC_FN(gl, name) args;                                             \
        if (target == GL_UNIFORM_BUFFER)                                   \
            glc_vtx_uniform_buffer(c, index, buffer, (offset), (size));    \
    }

W_INDEXED_BINDING(glBindBufferBase, (GLenum target, GLuint index, GLuint buffer),
                  (target, index, buffer), 0, -1)
W_INDEXED_BINDING(glBindBufferRange,
                  (GLenum target, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                  (target, index, buffer, offset, size), offset, size)
/* EXT_transform_feedback names of the same bindings. */
W_INDEXED_BINDING(glBindBufferBaseEXT, (GLenum target, GLuint index, GLuint buffer),
                  (target, index, buffer), 0, -1)
W_INDEXED_BINDING(glBindBufferRangeEXT,
                  (GLenum target, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                  (target, index, buffer, offset, size), offset, size)
W_INDEXED_BINDING(glBindBufferOffsetEXT,
                  (GLenum target, GLuint index, GLuint buffer, GLintptr offset),
                  (target, index, buffer, offset), offset, -1)

/* Multi-bind: buffers NULL unbinds the range. */
static void bind_many(glc_ctx *c, GLenum target, GLuint first, GLsizei count,
                      const GLuint *buffers, const GLintptr *offsets, const GLsizeiptr *sizes,
                      const char *call)
{
    for (GLsizei i = 0; i < count; i++) {
        GLuint b = buffers ? buffers[i] : 0;
        if (shader_writable_target(target) && b)
            glc_buffer_gpu_writable(c, b, offsets ? offsets[i] : 0, sizes ? sizes[i] : -1, call);
        if (target == GL_UNIFORM_BUFFER)
            glc_vtx_uniform_buffer(c, first + (GLuint)i, b, b && offsets ? offsets[i] : 0,
                                   b && sizes ? sizes[i] : -1);
    }
}

static void APIENTRY w_glBindBuffersBase(GLenum target, GLuint first, GLsizei count,
                                         const GLuint *buffers)
{
    ENTER_VOID(glBindBuffersBase, (target, first, count, buffers));
    GLC_FN(gl, glBindBuffersBase)(target, first, count, buffers);
    bind_many(c, target, first, count, buffers, NULL, NULL, "glBindBuffersBase");
}

static void APIENTRY w_glBindBuffersRange(GLenum target, GLuint first, GLsizei count,
                                          const GLuint *buffers, const GLintptr *offsets,
                                          const GLsizeiptr *sizes)
{
    ENTER_VOID(glBindBuffersRange, (target, first, count, buffers, offsets, sizes));
    GLC_FN(gl, glBindBuffersRange)(target, first, count, buffers, offsets, sizes);
    bind_many(c, target, first, count, buffers, offsets, sizes, "glBindBuffersRange");
}

W_WRITABLE_BINDING(glTransformFeedbackBufferBase,
                   (GLuint xfb, GLuint index, GLuint buffer),
                   (xfb, index, buffer), 0, -1)

W_WRITABLE_BINDING(glTransformFeedbackBufferRange,
                   (GLuint xfb, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (xfb, index, buffer, offset, size), offset, size)

/* Buffer textures: shaders that read buffer textures may read anywhere in the range; written
 * only through an image unit (glc_image_bound). */
#define W_TEXTURE_BUFFER(name, params, args, offset, size)   \
    static void APIENTRY w_##name params                     \
    {                                                        \
        ENTER_VOID(name, args);                              \
        glc_buffer_texture(c, buffer, (offset), (size), #name); \
        GLC_FN(gl, name) args;                               \
    }

W_TEXTURE_BUFFER(glTexBuffer,
                   (GLenum target, GLenum internalformat, GLuint buffer),
                   (target, internalformat, buffer), 0, -1)

W_TEXTURE_BUFFER(glTexBufferARB,
                   (GLenum target, GLenum internalformat, GLuint buffer),
                   (target, internalformat, buffer), 0, -1)

W_TEXTURE_BUFFER(glTexBufferRange,
                   (GLenum target, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (target, internalformat, buffer, offset, size), offset, size)

W_TEXTURE_BUFFER(glTextureBuffer,
                   (GLuint texture, GLenum internalformat, GLuint buffer),
                   (texture, internalformat, buffer), 0, -1)

W_TEXTURE_BUFFER(glTextureBufferRange,
                   (GLuint texture, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (texture, internalformat, buffer, offset, size), offset, size)

W_TEXTURE_BUFFER(glTextureBufferEXT,
                   (GLuint texture, GLenum target, GLenum internalformat, GLuint buffer),
                   (texture, target, internalformat, buffer), 0, -1)

W_TEXTURE_BUFFER(glTextureBufferRangeEXT,
                   (GLuint texture, GLenum target, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (texture, target, internalformat, buffer, offset, size), offset, size)

W_TEXTURE_BUFFER(glMultiTexBufferEXT,
                   (GLenum texunit, GLenum target, GLenum internalformat, GLuint buffer),
                   (texunit, target, internalformat, buffer), 0, -1)

/* Image units: a texture bound for writing may be a buffer texture. */
static void APIENTRY w_glBindImageTexture(GLuint unit, GLuint texture, GLint level,
                                          GLboolean layered, GLint layer, GLenum access,
                                          GLenum format)
{
    ENTER_VOID(glBindImageTexture, (unit, texture, level, layered, layer, access, format));
    glc_image_bound(c, texture, access, "glBindImageTexture");
    GLC_FN(gl, glBindImageTexture)(unit, texture, level, layered, layer, access, format);
}

static void APIENTRY w_glBindImageTextureEXT(GLuint index, GLuint texture, GLint level,
                                             GLboolean layered, GLint layer, GLenum access,
                                             GLint format)
{
    ENTER_VOID(glBindImageTextureEXT, (index, texture, level, layered, layer, access, format));
    glc_image_bound(c, texture, access, "glBindImageTextureEXT");
    GLC_FN(gl, glBindImageTextureEXT)(index, texture, level, layered, layer, access, format);
}

static void APIENTRY w_glBindImageTextures(GLuint first, GLsizei count, const GLuint *textures)
{
    ENTER_VOID(glBindImageTextures, (first, count, textures));
    for (GLsizei i = 0; textures && i < count; i++)   /* multi-bind: GL_READ_WRITE */
        glc_image_bound(c, textures[i], GL_READ_WRITE, "glBindImageTextures");
    GLC_FN(gl, glBindImageTextures)(first, count, textures);
}

/* ---- sync ----------------------------------------------------------------------------------- */

static void APIENTRY w_glFinish(void)
{
    ENTER_VOID(glFinish, ());
    GLC_FN(gl, glFinish)();
    glc_sync_all(c);
}

static GLsync APIENTRY w_glFenceSync(GLenum condition, GLbitfield flags)
{
    ENTER(glFenceSync, (condition, flags));
    GLsync s = GLC_FN(gl, glFenceSync)(condition, flags);
    glc_fence_created(c, s);
    return s;
}

static GLenum APIENTRY w_glClientWaitSync(GLsync sync, GLbitfield flags, GLuint64 timeout)
{
    ENTER(glClientWaitSync, (sync, flags, timeout));
    GLenum r = GLC_FN(gl, glClientWaitSync)(sync, flags, timeout);
    if (r == GL_ALREADY_SIGNALED || r == GL_CONDITION_SATISFIED)
        glc_fence_signalled(c, sync);
    return r;
}

static void APIENTRY w_glGetSynciv(GLsync sync, GLenum pname, GLsizei count, GLsizei *length,
                                   GLint *values)
{
    ENTER_VOID(glGetSynciv, (sync, pname, count, length, values));
    GLC_FN(gl, glGetSynciv)(sync, pname, count, length, values);
    if (pname == GL_SYNC_STATUS && count >= 1 && values && *values == GL_SIGNALED)
        glc_fence_signalled(c, sync);
}

static void APIENTRY w_glDeleteSync(GLsync sync)
{
    ENTER_VOID(glDeleteSync, (sync));
    glc_fence_deleted(c, sync);
    GLC_FN(gl, glDeleteSync)(sync);
}

static void APIENTRY w_glMemoryBarrier(GLbitfield barriers)
{
    ENTER_VOID(glMemoryBarrier, (barriers));
    glc_flush_all(c);
    GLC_FN(gl, glMemoryBarrier)(barriers);
}

static void APIENTRY w_glMemoryBarrierByRegion(GLbitfield barriers)
{
    ENTER_VOID(glMemoryBarrierByRegion, (barriers));
    glc_flush_all(c);
    GLC_FN(gl, glMemoryBarrierByRegion)(barriers);
}

static GLenum APIENTRY w_glGetError(void)
{
    /* Polled in loops (wined3d-style query polling): the fast context lookup. */
    glc_ctx *c = glc_current_fast();
    if (!c)
        return FALLBACK(glGetError)();
    glc_dispatch *gl = &c->inst->gl;
    glc_poll(c);
    GLenum e = glc_pop_error(c);
    return e != GL_NO_ERROR ? e : GLC_FN(gl, glGetError)();
}

/* ---- name table ----------------------------------------------------------------------------- */

typedef struct wrap_entry {
    const char *name;
    void *fn;
} wrap_entry;

static const wrap_entry wrap_table[] = {
#define GLC_X(ret, name, params, args) {#name, (void *)w_##name},
    GLC_GL_WRAPPED(GLC_X)
#undef GLC_X
};

void *glc_wrapper_for(const char *name)
{
    if (!name || name[0] != 'g' || name[1] != 'l')
        return NULL;
    for (size_t i = 0; i < sizeof wrap_table / sizeof wrap_table[0]; i++)
        if (!strcmp(wrap_table[i].name, name))
            return wrap_table[i].fn;
    return NULL;
}

size_t glc_wrapper_count(void)
{
    return sizeof wrap_table / sizeof wrap_table[0];
}

const char *glc_wrapper_name(size_t i)
{
    return i < glc_wrapper_count() ? wrap_table[i].name : NULL;
}

#ifdef GLC_BUILD_PRELOAD
/* The interposer exports every wrapped entry point under its GL name, so programs linked
 * against libGL/libOpenGL bind to it. */
#define EXPORT_VOID(ret, name, params, args) \
    GLCOHERENT_EXPORT ret APIENTRY name params { w_##name args; }
#define EXPORT_RET(ret, name, params, args) \
    GLCOHERENT_EXPORT ret APIENTRY name params { return w_##name args; }
GLC_GL_DRAW(EXPORT_VOID)
GLC_GL_BOUNDED(EXPORT_VOID)
GLC_GL_VERTEX(EXPORT_VOID)
GLC_GL_VERTEX_STALE(EXPORT_VOID)
GLC_GL_VERTEX_LEGACY(EXPORT_VOID)
GLC_GL_PROGRAM(EXPORT_RET)
GLC_GL_PROGRAM_UNKNOWN(EXPORT_RET)
GLC_GL_UNPACK(EXPORT_VOID)
GLC_GL_PACK(EXPORT_VOID)
GLC_GL_QUERYOBJ(EXPORT_VOID)
GLC_GL_POLL(EXPORT_VOID)
GLC_GL_SPECIAL(EXPORT_RET)
#endif
