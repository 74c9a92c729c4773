/* exit_busy.c - exit while another thread is busy inside glcoherent (tests/test_interposer.py).
 *
 * main makes a context, starts a second thread with a context that shares its objects, and the
 * second thread loops forever on a persistent coherent buffer: CPU writes, GPU copies into it,
 * fence polls, maps and unmaps (each call takes the layer's locks). main returns after a short
 * while, with the second thread still going: the process must end with main's status (0) and,
 * with GLCOHERENT_STATS=1, print its stats line, whatever that thread holds at that moment.
 */
#define _POSIX_C_SOURCE 200809L
#include <GL/glcorearb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "egl_context.h"

GLAPI void APIENTRY glGenBuffers(GLsizei n, GLuint *buffers);
GLAPI void APIENTRY glBindBuffer(GLenum target, GLuint buffer);
GLAPI void APIENTRY glBufferStorage(GLenum, GLsizeiptr, const void *, GLbitfield);
GLAPI void *APIENTRY glMapBufferRange(GLenum, GLintptr, GLsizeiptr, GLbitfield);
GLAPI GLboolean APIENTRY glUnmapBuffer(GLenum);
GLAPI void APIENTRY glCopyBufferSubData(GLenum, GLenum, GLintptr, GLintptr, GLsizeiptr);
GLAPI GLsync APIENTRY glFenceSync(GLenum, GLbitfield);
GLAPI GLenum APIENTRY glClientWaitSync(GLsync, GLbitfield, GLuint64);
GLAPI void APIENTRY glDeleteSync(GLsync);

static EGLDisplay dpy;
static EGLConfig config;
static EGLContext main_ctx;
static volatile int started;

static EGLContext make(EGLContext share)
{
    return test_egl_context(dpy, share, &config);
}

static void *busy(void *arg)
{
    (void)arg;
    EGLContext ctx = make(main_ctx); /* binds desktop GL on this thread too (per thread) */
    if (!ctx || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
        return NULL;
    const GLbitfield f = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                         GL_MAP_COHERENT_BIT;
    GLuint b[2];
    glGenBuffers(2, b);
    glBindBuffer(GL_COPY_READ_BUFFER, b[0]);
    glBufferStorage(GL_COPY_READ_BUFFER, 1 << 20, NULL, f);
    glBindBuffer(GL_COPY_WRITE_BUFFER, b[1]);
    glBufferStorage(GL_COPY_WRITE_BUFFER, 1 << 20, NULL, f);
    unsigned char *w = glMapBufferRange(GL_COPY_WRITE_BUFFER, 0, 1 << 20, f);
    for (unsigned i = 0;; i++) {
        unsigned char *r = glMapBufferRange(GL_COPY_READ_BUFFER, 0, 1 << 20, f);
        if (r)
            memset(r + (i % 64) * 4096, (int)i, 4096);
        glCopyBufferSubData(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, (i % 16) * 4096,
                            65536);
        if (w)
            w[(i * 4099) % (1 << 20)] = (unsigned char)i;
        GLsync s = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
        glClientWaitSync(s, GL_SYNC_FLUSH_COMMANDS_BIT, 0);
        glDeleteSync(s);
        glUnmapBuffer(GL_COPY_READ_BUFFER);
        started = 1;
    }
    return NULL;
}

int main(void)
{
    dpy = test_egl_display();
    main_ctx = make(EGL_NO_CONTEXT);
    if (!main_ctx || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, main_ctx))
        return 3;
    pthread_t t;
    pthread_create(&t, NULL, busy, NULL);
    struct timespec ms = {0, 1000000L};
    for (int i = 0; i < 5000 && !started; i++)
        nanosleep(&ms, NULL);
    struct timespec wait = {0, 100 * 1000000L};
    nanosleep(&wait, NULL);
    printf("main returns (busy thread %s)\n", started ? "running" : "never started");
    fflush(stdout);
    return started ? 0 : 4;
}
