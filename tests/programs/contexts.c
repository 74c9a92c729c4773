/* Context tracking through the EGL hooks (linked against libOpenGL and libEGL):
 *   - a context created with a share context sees the same mapped buffers (client writes made
 *     while another context was current are flushed before its copy; a fence made in one
 *     context and waited for in the other brings GPU writes back);
 *   - a context destroyed while current keeps working until it is released (EGL defers the
 *     destruction; so must glcoherent);
 *   - eglReleaseThread, and a second thread making a context current.
 * Prints one line per step and `RESULT: pass|fail`. */
#define GL_GLEXT_PROTOTYPES 1
#define EGLF(name) name
#define GLF(name) name
#define GLC_PROG_OWN_MAIN 1
#define GLC_PROG_OWN_CONTEXT 1
#include <pthread.h>

#include "glc_prog_common.h"

GLC_UNUSED static int load_entry_points(void) { return 0; }
GLC_UNUSED static int make_context(void) { return -1; }

static EGLDisplay dpy;
static EGLConfig cfg;
static int failures;

#define CHECK(cond, what)                                             \
    do {                                                              \
        int ok_ = (cond);                                             \
        printf("%s: %s\n", ok_ ? "ok" : "FAILED", what);              \
        if (!ok_)                                                     \
            failures++;                                               \
    } while (0)

static EGLContext new_context(EGLContext share)
{
    static const EGLint attr[] = {EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                  EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
    return eglCreateContext(dpy, cfg, share, attr);
}

static int current(EGLContext ctx)
{
    return eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx) == EGL_TRUE;
}

static uint32_t *map_new(GLuint *name)
{
    const GLbitfield flags = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                             GL_MAP_COHERENT_BIT;
    glGenBuffers(1, name);
    glBindBuffer(GL_COPY_WRITE_BUFFER, *name);
    glBufferStorage(GL_COPY_WRITE_BUFFER, BUF_SIZE, NULL, flags);
    uint32_t *p = glMapBufferRange(GL_COPY_WRITE_BUFFER, 0, BUF_SIZE, flags);
    printf("ptr=0x%llx len=%d\n", (unsigned long long)(uintptr_t)p, BUF_SIZE);
    return p;
}

/* Client writes through p, then a copy of `name` to a fresh buffer, read back. */
static int client_to_gl(uint32_t *p, GLuint name, uint32_t seed)
{
    for (int i = 0; i < N_WORDS; i++)
        p[i] = seed + (uint32_t)i;
    GLuint scratch;
    glGenBuffers(1, &scratch);
    glBindBuffer(GL_COPY_WRITE_BUFFER, scratch);
    glBufferData(GL_COPY_WRITE_BUFFER, BUF_SIZE, NULL, GL_STREAM_COPY);
    glBindBuffer(GL_COPY_READ_BUFFER, name);
    glCopyBufferSubData(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, 0, BUF_SIZE);
    uint32_t *out = malloc(BUF_SIZE);
    glGetBufferSubData(GL_COPY_WRITE_BUFFER, 0, BUF_SIZE, out);
    int ok = check_words(out, seed, "copy of the mapped buffer");
    free(out);
    glDeleteBuffers(1, &scratch);
    return ok;
}

/* A GPU copy into `name`; returns a fence (not waited for). */
static GLsync gl_to_buffer(GLuint name, uint32_t seed)
{
    uint32_t *in = malloc(BUF_SIZE);
    for (int i = 0; i < N_WORDS; i++)
        in[i] = seed + (uint32_t)i;
    GLuint src;
    glGenBuffers(1, &src);
    glBindBuffer(GL_COPY_READ_BUFFER, src);
    glBufferData(GL_COPY_READ_BUFFER, BUF_SIZE, in, GL_STATIC_DRAW);
    glBindBuffer(GL_COPY_WRITE_BUFFER, name);
    glCopyBufferSubData(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, 0, BUF_SIZE);
    glDeleteBuffers(1, &src);
    free(in);
    GLsync f = glFenceSync(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
    glFlush();
    return f;
}

static EGLContext thread_ctx;
static uint32_t *thread_ptr;
static GLuint thread_buf;

static void *thread_main(void *arg)
{
    (void)arg;
    int ok = current(thread_ctx);
    ok = ok && client_to_gl(thread_ptr, thread_buf, 0x7000);
    GLsync f = gl_to_buffer(thread_buf, 0x8000);
    glClientWaitSync(f, GL_SYNC_FLUSH_COMMANDS_BIT, GL_TIMEOUT_IGNORED);
    glDeleteSync(f);
    ok = ok && check_words(thread_ptr, 0x8000, "GPU write seen on the second thread");
    eglReleaseThread();
    return (void *)(intptr_t)ok;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    dpy = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    EGLint major, minor, n = 0;
    static const EGLint cfg_attr[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE,
                                      EGL_PBUFFER_BIT, EGL_NONE};
    if (!eglInitialize(dpy, &major, &minor) || !eglBindAPI(EGL_OPENGL_API) ||
        !eglChooseConfig(dpy, cfg_attr, &cfg, 1, &n) || n < 1)
        return fail("EGL setup");

    EGLContext a = new_context(EGL_NO_CONTEXT);
    EGLContext b = new_context(a);
    EGLContext c = new_context(EGL_NO_CONTEXT);
    CHECK(a && b && c, "three contexts (b shares a)");

    /* Shared contexts: one buffer mapped in a, used from b and back. */
    CHECK(current(a), "a current");
    GLuint shared;
    uint32_t *p = map_new(&shared);
    CHECK(p != NULL, "persistent coherent map in a");
    for (int i = 0; i < N_WORDS; i++)
        p[i] = 0x100u + (uint32_t)i;
    CHECK(current(b), "b current");
    CHECK(client_to_gl(p, shared, 0x2000), "client writes seen by a copy in b (shared)");
    GLsync f = gl_to_buffer(shared, 0x3000);
    CHECK(current(a), "a current again");
    glClientWaitSync(f, GL_SYNC_FLUSH_COMMANDS_BIT, GL_TIMEOUT_IGNORED);
    glDeleteSync(f);
    CHECK(check_words(p, 0x3000, "GPU write from b"), "fence from b waited in a brings it back");
    CHECK(eglDestroyContext(dpy, b), "b destroyed (not current)");
    CHECK(client_to_gl(p, shared, 0x4000), "a still works after b is gone");

    /* Destroyed while current: keeps working until released. */
    CHECK(current(c), "c current");
    CHECK(eglDestroyContext(dpy, c), "c destroyed while current");
    GLuint cbuf;
    uint32_t *q = map_new(&cbuf);
    CHECK(q != NULL, "map in c after its destruction was requested");
    CHECK(q && client_to_gl(q, cbuf, 0x5000), "c still interposed until released");
    CHECK(eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT),
          "released (c goes now)");

    /* Another thread. */
    CHECK(current(a), "a current");
    thread_ptr = map_new(&thread_buf);
    CHECK(eglReleaseThread(), "eglReleaseThread");
    thread_ctx = a;
    pthread_t t;
    void *ret = NULL;
    pthread_create(&t, NULL, thread_main, NULL);
    pthread_join(t, &ret);
    CHECK(ret != NULL, "a made current on a second thread");
    CHECK(current(a), "a current on the main thread again");
    CHECK(client_to_gl(p, shared, 0x6000), "first mapping still live");
    CHECK(glGetError() == GL_NO_ERROR, "no GL error");
    eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(dpy, a);
    eglTerminate(dpy);
    printf("RESULT: %s\n", failures ? "fail" : "pass");
    return failures ? 1 : 0;
}
