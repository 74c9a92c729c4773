/* gl/wrap.c [GL layer] - the wrapped GL entry points, and the name -> wrapper table.
 *
 * Every wrapper finds the thread's current glcoherent context; with none (a call made before
 * any context is known) it forwards to the driver untouched. Wrapper kinds follow the lists in
 * gl_funcs.inc; the special ones are written out below.
 */
#include "gl/wrap.h"

#include <string.h>

#include "gl/layer.h"

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

#define W_UNPACK(ret, name, params, args)            \
    static ret APIENTRY w_##name params              \
    {                                                \
        glc_ctx *c = glc_current_fast();                  \
        if (!c) {                                    \
            FALLBACK(name) args;                     \
            return;                                  \
        }                                            \
        glc_flush_all(c);                            \
        GLC_FN(&c->inst->gl, name) args;                       \
        glc_poll(c);                                 \
    }
GLC_GL_UNPACK(W_UNPACK)

/* Into a pack buffer: a GPU write of that buffer. Into client memory: a synchronous readback. */
#define W_PACK(ret, name, params, args)                          \
    static ret APIENTRY w_##name params                          \
    {                                                            \
        glc_ctx *c = glc_current_fast();                              \
        if (!c) {                                                \
            FALLBACK(name) args;                                 \
            return;                                              \
        }                                                        \
        GLuint pack = glc_bound_buffer(c, GL_PIXEL_PACK_BUFFER); \
        glc_before_write(c, pack);                               \
        GLC_FN(&c->inst->gl, name) args;                                   \
        if (pack)                                                \
            glc_buffer_written(c, pack, 0, -1);                  \
        else                                                     \
            glc_readback_sync(c);                                \
        glc_poll(c);                                             \
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
            glc_before_write(c, qb);                          \
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
    GLC_FN(gl, glBufferStorage)(target, size, data, flags);
    glc_storage_changed(c, glc_bound_buffer(c, target), target);
}

static void APIENTRY w_glNamedBufferStorage(GLuint buffer, GLsizeiptr size, const void *data,
                                            GLbitfield flags)
{
    ENTER_VOID(glNamedBufferStorage, (buffer, size, data, flags));
    GLC_FN(gl, glNamedBufferStorage)(buffer, size, data, flags);
    glc_storage_changed(c, buffer, 0);
}

static void APIENTRY w_glNamedBufferStorageEXT(GLuint buffer, GLsizeiptr size, const void *data,
                                               GLbitfield flags)
{
    ENTER_VOID(glNamedBufferStorageEXT, (buffer, size, data, flags));
    GLC_FN(gl, glNamedBufferStorageEXT)(buffer, size, data, flags);
    glc_storage_changed(c, buffer, 0);
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
    return GLC_FN(&c->inst->gl, glUnmapBuffer) ? GLC_FN(&c->inst->gl, glUnmapBuffer)(target) : GL_FALSE;
}

static GLboolean unmap_named(glc_ctx *c, GLuint name, GLenum target)
{
    (void)target;
    glc_dispatch *gl = &c->inst->gl;
    if (GLC_FN(gl, glUnmapNamedBuffer))
        return GLC_FN(gl, glUnmapNamedBuffer)(name);
    if (GLC_FN(gl, glUnmapNamedBufferEXT))
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
    if (target && GLC_FN(gl, glGetBufferParameteri64v)) {
        GLC_FN(gl, glGetBufferParameteri64v)(target, GL_BUFFER_SIZE, &size64);
        return (GLsizeiptr)size64;
    }
    if (!target && GLC_FN(gl, glGetNamedBufferParameteri64v)) {
        GLC_FN(gl, glGetNamedBufferParameteri64v)(name, GL_BUFFER_SIZE, &size64);
        return (GLsizeiptr)size64;
    }
    if (target && GLC_FN(gl, glGetBufferParameteriv))
        GLC_FN(gl, glGetBufferParameteriv)(target, GL_BUFFER_SIZE, &size);
    else if (GLC_FN(gl, glGetNamedBufferParameteriv))
        GLC_FN(gl, glGetNamedBufferParameteriv)(name, GL_BUFFER_SIZE, &size);
    else if (GLC_FN(gl, glGetNamedBufferParameterivEXT))
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
    glc_before_write(c, name);                  \
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
    WRITE_RANGE(glc_bound_buffer(c, writeTarget), writeOffset, size,
               GLC_FN(gl, glCopyBufferSubData)(readTarget, writeTarget, readOffset, writeOffset, size));
}

static void APIENTRY w_glCopyNamedBufferSubData(GLuint readBuffer, GLuint writeBuffer,
                                                GLintptr readOffset, GLintptr writeOffset,
                                                GLsizeiptr size)
{
    ENTER_VOID(glCopyNamedBufferSubData, (readBuffer, writeBuffer, readOffset, writeOffset, size));
    WRITE_RANGE(writeBuffer, writeOffset, size, GLC_FN(gl, glCopyNamedBufferSubData)(readBuffer, writeBuffer, readOffset,
                                                         writeOffset, size));
}

static void APIENTRY w_glNamedCopyBufferSubDataEXT(GLuint readBuffer, GLuint writeBuffer,
                                                   GLintptr readOffset, GLintptr writeOffset,
                                                   GLsizeiptr size)
{
    ENTER_VOID(glNamedCopyBufferSubDataEXT,
               (readBuffer, writeBuffer, readOffset, writeOffset, size));
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
    glc_flush_all(c);
    GLC_FN(gl, glGetBufferSubData)(target, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetBufferSubDataARB(GLenum target, GLintptrARB offset,
                                             GLsizeiptrARB size, void *data)
{
    ENTER_VOID(glGetBufferSubDataARB, (target, offset, size, data));
    glc_flush_all(c);
    GLC_FN(gl, glGetBufferSubDataARB)(target, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetNamedBufferSubData(GLuint buffer, GLintptr offset, GLsizeiptr size,
                                               void *data)
{
    ENTER_VOID(glGetNamedBufferSubData, (buffer, offset, size, data));
    glc_flush_all(c);
    GLC_FN(gl, glGetNamedBufferSubData)(buffer, offset, size, data);
    glc_readback_sync(c);
}

static void APIENTRY w_glGetNamedBufferSubDataEXT(GLuint buffer, GLintptr offset,
                                                  GLsizeiptr size, void *data)
{
    ENTER_VOID(glGetNamedBufferSubDataEXT, (buffer, offset, size, data));
    glc_flush_all(c);
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
#define W_WRITABLE_BINDING(name, writable, params, args) \
    static void APIENTRY w_##name params                   \
    {                                                      \
        ENTER_VOID(name, args);                            \
        if (writable)                                      \
            glc_buffer_gpu_writable(c, buffer);            \
        GLC_FN(gl, name) args;                                   \
    }

W_WRITABLE_BINDING(glBindBufferBase, shader_writable_target(target),
                   (GLenum target, GLuint index, GLuint buffer),
                   (target, index, buffer))

W_WRITABLE_BINDING(glBindBufferRange, shader_writable_target(target),
                   (GLenum target, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (target, index, buffer, offset, size))

/* EXT_transform_feedback names of the same bindings. */
W_WRITABLE_BINDING(glBindBufferBaseEXT, shader_writable_target(target),
                   (GLenum target, GLuint index, GLuint buffer),
                   (target, index, buffer))

W_WRITABLE_BINDING(glBindBufferRangeEXT, shader_writable_target(target),
                   (GLenum target, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (target, index, buffer, offset, size))

W_WRITABLE_BINDING(glBindBufferOffsetEXT, shader_writable_target(target),
                   (GLenum target, GLuint index, GLuint buffer, GLintptr offset),
                   (target, index, buffer, offset))

static void APIENTRY w_glBindBuffersBase(GLenum target, GLuint first, GLsizei count,
                                         const GLuint *buffers)
{
    ENTER_VOID(glBindBuffersBase, (target, first, count, buffers));
    if (shader_writable_target(target) && buffers)
        for (GLsizei i = 0; i < count; i++)
            glc_buffer_gpu_writable(c, buffers[i]);
    GLC_FN(gl, glBindBuffersBase)(target, first, count, buffers);
}

static void APIENTRY w_glBindBuffersRange(GLenum target, GLuint first, GLsizei count,
                                          const GLuint *buffers, const GLintptr *offsets,
                                          const GLsizeiptr *sizes)
{
    ENTER_VOID(glBindBuffersRange, (target, first, count, buffers, offsets, sizes));
    if (shader_writable_target(target) && buffers)
        for (GLsizei i = 0; i < count; i++)
            glc_buffer_gpu_writable(c, buffers[i]);
    GLC_FN(gl, glBindBuffersRange)(target, first, count, buffers, offsets, sizes);
}

W_WRITABLE_BINDING(glTransformFeedbackBufferBase, 1,
                   (GLuint xfb, GLuint index, GLuint buffer),
                   (xfb, index, buffer))

W_WRITABLE_BINDING(glTransformFeedbackBufferRange, 1,
                   (GLuint xfb, GLuint index, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (xfb, index, buffer, offset, size))

/* Texture buffers can be bound as images and written by shaders. */
W_WRITABLE_BINDING(glTexBuffer, 1,
                   (GLenum target, GLenum internalformat, GLuint buffer),
                   (target, internalformat, buffer))

W_WRITABLE_BINDING(glTexBufferARB, 1,
                   (GLenum target, GLenum internalformat, GLuint buffer),
                   (target, internalformat, buffer))

W_WRITABLE_BINDING(glTexBufferRange, 1,
                   (GLenum target, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (target, internalformat, buffer, offset, size))

W_WRITABLE_BINDING(glTextureBuffer, 1,
                   (GLuint texture, GLenum internalformat, GLuint buffer),
                   (texture, internalformat, buffer))

W_WRITABLE_BINDING(glTextureBufferRange, 1,
                   (GLuint texture, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (texture, internalformat, buffer, offset, size))

W_WRITABLE_BINDING(glTextureBufferEXT, 1,
                   (GLuint texture, GLenum target, GLenum internalformat, GLuint buffer),
                   (texture, target, internalformat, buffer))

W_WRITABLE_BINDING(glTextureBufferRangeEXT, 1,
                   (GLuint texture, GLenum target, GLenum internalformat, GLuint buffer, GLintptr offset, GLsizeiptr size),
                   (texture, target, internalformat, buffer, offset, size))

W_WRITABLE_BINDING(glMultiTexBufferEXT, 1,
                   (GLenum texunit, GLenum target, GLenum internalformat, GLuint buffer),
                   (texunit, target, internalformat, buffer))

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
    GLC_GL_DRAW(GLC_X)
    GLC_GL_UNPACK(GLC_X)
    GLC_GL_PACK(GLC_X)
    GLC_GL_QUERYOBJ(GLC_X)
    GLC_GL_POLL(GLC_X)
    GLC_GL_SPECIAL(GLC_X)
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
GLC_GL_UNPACK(EXPORT_VOID)
GLC_GL_PACK(EXPORT_VOID)
GLC_GL_QUERYOBJ(EXPORT_VOID)
GLC_GL_POLL(EXPORT_VOID)
GLC_GL_SPECIAL(EXPORT_RET)
#endif
