/* glc_prog_common.h - shared body of the interposer test programs (tests/test_interposer.py).
 *
 * The programs know nothing of glcoherent. Each one reaches EGL and GL in its own way (linked
 * symbols, dlopen + dlsym, eglGetProcAddress) and then runs the same check on a persistent
 * coherent buffer:
 *   1. client writes through the mapping are seen by a GL copy (no flush call in between);
 *   2. a GPU copy into the mapped buffer is seen through the mapping after a fence wait;
 *   3. a second round after glFinish.
 * It prints `ptr=0x... len=N` for the mapping and `RESULT: pass` or `RESULT: fail`, and exits
 * 0 only on pass.
 *
 * The including file defines EGLF(name) and GLF(name) (how a call reaches the entry point) and
 * the function load_entry_points() (returns 0 on success); with GLC_PROG_OWN_CONTEXT also
 * make_context() (returns 0 once a GL 4.4+ context is current); with GLC_PROG_OWN_MAIN its own
 * main().
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/glcorearb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

#define BUF_SIZE 65536
#define N_WORDS (BUF_SIZE / 4)

#define GLC_UNUSED __attribute__((unused))

static int load_entry_points(void);

GLC_UNUSED static int fail(const char *what)
{
    printf("error: %s\n", what);
    printf("RESULT: fail\n");
    return 1;
}

static int make_context(void);

#ifndef GLC_PROG_OWN_CONTEXT
/* A GL 4.5 core context on Mesa's surfaceless EGL platform, current on this thread. */
static int make_context(void)
{
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)EGLF(eglGetProcAddress)("eglGetPlatformDisplayEXT");
    if (!get_platform_display)
        return -1;
    EGLDisplay dpy = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    EGLint major, minor;
    if (dpy == EGL_NO_DISPLAY || !EGLF(eglInitialize)(dpy, &major, &minor))
        return -2;
    if (!EGLF(eglBindAPI)(EGL_OPENGL_API))
        return -3;
    static const EGLint cfg_attr[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE,
                                      EGL_PBUFFER_BIT, EGL_NONE};
    EGLConfig cfg;
    EGLint n = 0;
    if (!EGLF(eglChooseConfig)(dpy, cfg_attr, &cfg, 1, &n) || n < 1)
        return -4;
    static const EGLint ctx_attr[] = {EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
                                      EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                      EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
    EGLContext ctx = EGLF(eglCreateContext)(dpy, cfg, EGL_NO_CONTEXT, ctx_attr);
    if (ctx == EGL_NO_CONTEXT)
        return -5;
    if (!EGLF(eglMakeCurrent)(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
        return -6;
    return 0;
}
#endif

GLC_UNUSED static int check_words(const uint32_t *p, uint32_t seed, const char *what)
{
    for (int i = 0; i < N_WORDS; i++) {
        if (p[i] != seed + (uint32_t)i) {
            printf("%s: word %d is 0x%x, expected 0x%x\n", what, i, p[i], seed + (uint32_t)i);
            return 0;
        }
    }
    return 1;
}

/* Returns 0 when every check passed; prints the mapping and RESULT. */
GLC_UNUSED static int run_checks(void)
{
    GLuint bufs[3];
    GLF(glGenBuffers)(3, bufs);
    GLuint mapped = bufs[0], scratch = bufs[1], source = bufs[2];

    const GLbitfield flags = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                             GL_MAP_COHERENT_BIT;
    GLF(glBindBuffer)(GL_COPY_WRITE_BUFFER, mapped);
    GLF(glBufferStorage)(GL_COPY_WRITE_BUFFER, BUF_SIZE, NULL, flags | GL_DYNAMIC_STORAGE_BIT);
    uint32_t *map = (uint32_t *)GLF(glMapBufferRange)(GL_COPY_WRITE_BUFFER, 0, BUF_SIZE, flags);
    if (!map || GLF(glGetError)() != GL_NO_ERROR)
        return fail("glMapBufferRange");
    printf("ptr=0x%llx len=%d\n", (unsigned long long)(uintptr_t)map, BUF_SIZE);

    GLF(glBindBuffer)(GL_COPY_READ_BUFFER, scratch);
    GLF(glBufferData)(GL_COPY_READ_BUFFER, BUF_SIZE, NULL, GL_STREAM_COPY);
    uint32_t *words = malloc(BUF_SIZE);
    int ok = 1;

    for (int round = 0; round < 2 && ok; round++) {
        /* 1. client -> GL: write through the coherent mapping, copy it out, read it back. */
        uint32_t seed = 0x1000u * (uint32_t)(round + 1);
        for (int i = 0; i < N_WORDS; i++)
            map[i] = seed + (uint32_t)i;
        GLF(glBindBuffer)(GL_COPY_READ_BUFFER, mapped);
        GLF(glBindBuffer)(GL_COPY_WRITE_BUFFER, scratch);
        GLF(glCopyBufferSubData)(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, 0, BUF_SIZE);
        memset(words, 0, BUF_SIZE);
        GLF(glGetBufferSubData)(GL_COPY_WRITE_BUFFER, 0, BUF_SIZE, words);
        ok &= check_words(words, seed, "client write seen by GL");

        /* 2. GL -> client: copy new contents into the mapped buffer, wait, read the mapping. */
        uint32_t seed2 = 0x900000u + seed;
        for (int i = 0; i < N_WORDS; i++)
            words[i] = seed2 + (uint32_t)i;
        GLF(glBindBuffer)(GL_COPY_READ_BUFFER, source);
        GLF(glBufferData)(GL_COPY_READ_BUFFER, BUF_SIZE, words, GL_STATIC_DRAW);
        GLF(glBindBuffer)(GL_COPY_WRITE_BUFFER, mapped);
        GLF(glCopyBufferSubData)(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, 0, BUF_SIZE);
        if (round == 0) {
            GLsync fence = GLF(glFenceSync)(GL_SYNC_GPU_COMMANDS_COMPLETE, 0);
            GLF(glClientWaitSync)(fence, GL_SYNC_FLUSH_COMMANDS_BIT, GL_TIMEOUT_IGNORED);
            GLF(glDeleteSync)(fence);
        } else {
            GLF(glFinish)();
        }
        ok &= check_words(map, seed2, "GPU write seen through the mapping");
    }
    GLenum err = GLF(glGetError)();
    if (err != GL_NO_ERROR) {
        printf("GL error 0x%x\n", err);
        ok = 0;
    }
    GLF(glBindBuffer)(GL_COPY_WRITE_BUFFER, mapped);
    GLF(glUnmapBuffer)(GL_COPY_WRITE_BUFFER);
    GLF(glDeleteBuffers)(3, bufs);
    free(words);
    printf("RESULT: %s\n", ok ? "pass" : "fail");
    return ok ? 0 : 1;
}

#ifndef GLC_PROG_OWN_MAIN
int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (load_entry_points() != 0)
        return fail("cannot load the entry points");
    int rc = make_context();
    if (rc != 0) {
        printf("make_context: %d\n", rc);
        return fail("no surfaceless EGL context");
    }
    printf("GL_VERSION: %s\n", (const char *)GLF(glGetString)(GL_VERSION));
    return run_checks();
}
#endif
