/* gl/dispatch.c - see gl/dispatch.h. */
#include "gl/dispatch.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gl/layer.h"

static const char *const slot_names[GLC_FN_COUNT] = {
#define GLC_X(ret, name, params, args) #name,
    GLC_GL_ALL(GLC_X)
#undef GLC_X
};

static const size_t slot_offsets[GLC_FN_COUNT] = {
#define GLC_X(ret, name, params, args) offsetof(glc_dispatch, name),
    GLC_GL_ALL(GLC_X)
#undef GLC_X
};

const char *glc_dispatch_name(unsigned i) { return i < GLC_FN_COUNT ? slot_names[i] : NULL; }
glc_slot *glc_dispatch_slot(glc_dispatch *d, unsigned i)
{
    return (glc_slot *)(void *)((char *)d + slot_offsets[i]);
}

/* What a call to a function the driver does not have runs: returns 0 in every return register
 * and ignores its arguments, like GLVND's no-op stubs. In assembly on x86-64, where that is
 * exact for every GL signature (the caller owns its arguments); a C function elsewhere. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".globl glc_gl_noop\n"
        ".hidden glc_gl_noop\n"
        ".type glc_gl_noop, @function\n"
        "glc_gl_noop:\n"
        "\txorl %eax, %eax\n"
        "\txorl %edx, %edx\n"
        "\tpxor %xmm0, %xmm0\n"
        "\tret\n"
        ".size glc_gl_noop, .-glc_gl_noop\n");
extern void glc_gl_noop(void);
#define NOOP ((void *)glc_gl_noop)
#else
static intptr_t glc_gl_noop(void) { return 0; }
#define NOOP ((void *)glc_gl_noop)
#endif

void glc_dispatch_init(glc_dispatch *d, void *(*get_proc)(void *, const char *), void *user,
                       glcoherent_instance *inst)
{
    memset(d, 0, sizeof *d);
    d->get_proc = get_proc;
    d->get_proc_user = user;
    d->inst = inst;
    if (!get_proc)
        return;
    for (unsigned i = 0; i < GLC_FN_COUNT; i++)
        atomic_store_explicit(glc_dispatch_slot(d, i), get_proc(user, slot_names[i]),
                              memory_order_release);
}

/* The driver's function for slot i, stored in the slot, or NULL. */
static void *find(glc_dispatch *d, unsigned i)
{
    void *p = d->get_proc ? d->get_proc(d->get_proc_user, slot_names[i]) : NULL;
    if (p) /* racing threads store the same pointer */
        atomic_store_explicit(glc_dispatch_slot(d, i), p, memory_order_release);
    return p;
}

int glc_dispatch_has(glc_dispatch *d, unsigned i)
{
    return i < GLC_FN_COUNT && find(d, i) != NULL;
}

void *glc_dispatch_resolve(glc_dispatch *d, unsigned i)
{
    if (i >= GLC_FN_COUNT)
        return NOOP;
    void *p = find(d, i);
    if (p)
        return p;
    if (!atomic_exchange_explicit(&d->missing_logged[i], 1, memory_order_acq_rel))
        glc_log(d->inst, GLC_LOG_ERROR,
                "%s: the driver has no such function (no GL, EGL or GLX library loaded yet, "
                "or the driver does not expose it); the call does nothing and returns 0",
                slot_names[i]);
    return NOOP;
}
