/* egl_terminate.c - eglTerminate releases the contexts of that display, with their shadows
 * (tests/test_interposer.py).
 *
 * Round 1 maps a persistent coherent buffer and leaves it mapped, then terminates the display
 * (the context is released first, so EGL deletes it at once). Round 2 initialises the display
 * again and maps a new buffer. Prints the pointers; with GLCOHERENT_STATS=1 the stats line at
 * exit must count one live shadow (round 2's), not two.
 */
#include <GL/glcorearb.h>
#include <stdio.h>
#include <string.h>

#include "egl_context.h"

GLAPI void APIENTRY glGenBuffers(GLsizei n, GLuint *buffers);
GLAPI void APIENTRY glBindBuffer(GLenum target, GLuint buffer);
GLAPI void APIENTRY glBufferStorage(GLenum, GLsizeiptr, const void *, GLbitfield);
GLAPI void *APIENTRY glMapBufferRange(GLenum, GLintptr, GLsizeiptr, GLbitfield);
GLAPI void APIENTRY glGetBufferSubData(GLenum, GLintptr, GLsizeiptr, void *);

static int round_trip(EGLDisplay dpy, int round)
{
    EGLContext ctx = test_egl_context(dpy, EGL_NO_CONTEXT, NULL);
    if (!ctx || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
        return 2;
    const GLbitfield f = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                         GL_MAP_COHERENT_BIT;
    GLuint b;
    glGenBuffers(1, &b);
    glBindBuffer(GL_ARRAY_BUFFER, b);
    glBufferStorage(GL_ARRAY_BUFFER, 65536, NULL, f);
    unsigned char *p = glMapBufferRange(GL_ARRAY_BUFFER, 0, 65536, f);
    if (!p)
        return 3;
    memset(p, round, 65536);
    unsigned char back[16];
    glGetBufferSubData(GL_ARRAY_BUFFER, 1000, sizeof back, back);
    printf("round %d: ptr=%p value=%d\n", round, (void *)p, back[0]);
    return back[0] == round ? 0 : 4;
}

int main(void)
{
    EGLDisplay dpy = test_egl_display();
    int rc = round_trip(dpy, 1);
    if (rc)
        return 10 + rc;
    eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    if (!eglTerminate(dpy))
        return 20;
    rc = round_trip(dpy, 2);
    if (rc)
        return 30 + rc;
    printf("RESULT: pass\n");
    return 0;
}
