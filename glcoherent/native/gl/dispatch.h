/* gl/dispatch.h - the driver's GL entry points behind the wrappers (GL layer, internal).
 *
 * One table per instance, one slot per entry point of the lists in gl_funcs.inc. Slots are
 * filled when the instance is created from whatever the host's get-proc-address finds, and a
 * slot still empty then is resolved again at its first use (a program may create the instance
 * before any GL, EGL or GLX library is loaded). Callers never call a slot directly: they call
 * GLC_FN(table, name), which is the driver's function, or, when the driver has none, a no-op
 * that returns 0 like a GLVND no-op stub (after one error line naming the function). No
 * wrapper ever calls NULL.
 */
#ifndef GLC_GL_DISPATCH_H
#define GLC_GL_DISPATCH_H

#define GL_GLEXT_LEGACY 1
#include <GL/gl.h>
#undef GL_GLEXT_LEGACY
#include <GL/glext.h>

#include <stdatomic.h>

#include "gl/gl_funcs.inc"
#include "api/glcoherent.h"

/* Every entry point the layer calls, in one list. */
#define GLC_GL_ALL(X) \
    GLC_GL_WRAPPED(X) GLC_GL_INTERNAL(X)

/* Every entry point the layer wraps. */
#define GLC_GL_WRAPPED(X) \
    GLC_GL_DRAW(X) GLC_GL_BOUNDED(X) GLC_GL_VERTEX(X) GLC_GL_VERTEX_STALE(X) \
    GLC_GL_VERTEX_LEGACY(X) GLC_GL_PROGRAM(X) GLC_GL_PROGRAM_UNKNOWN(X) GLC_GL_UNPACK(X) GLC_GL_PACK(X) GLC_GL_QUERYOBJ(X) GLC_GL_POLL(X) \
    GLC_GL_SPECIAL(X)

enum {
#define GLC_X(ret, name, params, args) GLC_FN_##name,
    GLC_GL_ALL(GLC_X)
#undef GLC_X
    GLC_FN_COUNT
};

#define GLC_X(ret, name, params, args) typedef ret(APIENTRY *glc_pfn_##name) params;
GLC_GL_ALL(GLC_X)
#undef GLC_X

/* A slot seen without its type (every slot has the layout of an atomic pointer). */
typedef _Atomic(void *) glc_slot;

typedef struct glc_dispatch {
#define GLC_X(ret, name, params, args) _Atomic(glc_pfn_##name) name;
    GLC_GL_ALL(GLC_X)
#undef GLC_X
    void *(*get_proc)(void *user, const char *name); /* NULL: every slot stays a no-op */
    void *get_proc_user;
    glcoherent_instance *inst;                       /* names the instance in log lines */
    atomic_uchar missing_logged[GLC_FN_COUNT];       /* one error line per missing function */
} glc_dispatch;

/* Set up the table and fill every slot get_proc can resolve now (the rest stay empty). */
void glc_dispatch_init(glc_dispatch *d, void *(*get_proc)(void *, const char *), void *user,
                       glcoherent_instance *inst);
/* Resolve slot `index` again: the driver's function (stored in the slot) or the no-op. */
void *glc_dispatch_resolve(glc_dispatch *d, unsigned index);
/* 1 if the driver has the function of slot `index` (resolving it now if needed), else 0;
 * logs nothing. */
int glc_dispatch_has(glc_dispatch *d, unsigned index);
/* Name of slot i and the slot itself (i < GLC_FN_COUNT). */
const char *glc_dispatch_name(unsigned i);
glc_slot *glc_dispatch_slot(glc_dispatch *d, unsigned i);

/* Whether the driver has `name`: GLC_FN is never NULL, so choosing between entry points (core
 * or EXT, DSA or bind-to-edit) asks this instead. */
#define GLC_HAS(d, name) \
    (atomic_load_explicit(&(d)->name, memory_order_acquire) != NULL || \
     glc_dispatch_has((d), GLC_FN_##name))

/* The function to call for `name` in table d: never NULL. (Slots are filled once and only
 * emptied after a dlclose, so the two loads of a filled slot agree.) */
#define GLC_FN(d, name)                                                        \
    (atomic_load_explicit(&(d)->name, memory_order_acquire)                    \
         ? atomic_load_explicit(&(d)->name, memory_order_acquire)              \
         : (glc_pfn_##name)glc_dispatch_resolve((d), GLC_FN_##name))

#endif
