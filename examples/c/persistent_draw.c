/* persistent_draw.c - glcoherent's C API in a small GL program.
 *
 * A GL layer (a Wine-style thunk, an emulator) links libglcoherent.so, creates one instance,
 * tells it about its contexts, and fetches every GL entry point through it. This program does
 * that with its own headless EGL context (Mesa's surfaceless platform, GL 4.5 core), then draws
 * from a persistently, coherently mapped vertex buffer whose pointer lies below the limit:
 * vertices are written through the pointer after mapping, with no GL call telling anybody
 * about it, and the draw sees them.
 *
 * Build:  cc persistent_draw.c $(python -m glcoherent config --cflags --libs) -lEGL
 * Run:    ./a.out            (GLCOHERENT_LIMIT / GLCOHERENT_TRACKER are honoured)
 * Prints the statistics and "OK: ..." and exits 0; exits 1 on any failure.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/glcorearb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glcoherent.h"

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

#define SIZE 16 /* render target: SIZE x SIZE */

static int failures;

#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                   \
            fputc('\n', stderr);                            \
            failures++;                                     \
        }                                                   \
    } while (0)

/* ---- GL entry points, all fetched through glcoherent ------------------------------------- */

#define GL_FUNCS(X)                                                       \
    X(PFNGLGETERRORPROC, glGetError)                                      \
    X(PFNGLGETSTRINGPROC, glGetString)                                    \
    X(PFNGLGENBUFFERSPROC, glGenBuffers)                                  \
    X(PFNGLBINDBUFFERPROC, glBindBuffer)                                  \
    X(PFNGLBUFFERSTORAGEPROC, glBufferStorage)                            \
    X(PFNGLMAPBUFFERRANGEPROC, glMapBufferRange)                          \
    X(PFNGLUNMAPBUFFERPROC, glUnmapBuffer)                                \
    X(PFNGLGETBUFFERPOINTERVPROC, glGetBufferPointerv)                    \
    X(PFNGLDELETEBUFFERSPROC, glDeleteBuffers)                            \
    X(PFNGLCREATESHADERPROC, glCreateShader)                              \
    X(PFNGLSHADERSOURCEPROC, glShaderSource)                              \
    X(PFNGLCOMPILESHADERPROC, glCompileShader)                            \
    X(PFNGLGETSHADERIVPROC, glGetShaderiv)                                \
    X(PFNGLGETSHADERINFOLOGPROC, glGetShaderInfoLog)                      \
    X(PFNGLCREATEPROGRAMPROC, glCreateProgram)                            \
    X(PFNGLATTACHSHADERPROC, glAttachShader)                              \
    X(PFNGLLINKPROGRAMPROC, glLinkProgram)                                \
    X(PFNGLGETPROGRAMIVPROC, glGetProgramiv)                              \
    X(PFNGLUSEPROGRAMPROC, glUseProgram)                                  \
    X(PFNGLDELETESHADERPROC, glDeleteShader)                              \
    X(PFNGLDELETEPROGRAMPROC, glDeleteProgram)                            \
    X(PFNGLGENVERTEXARRAYSPROC, glGenVertexArrays)                        \
    X(PFNGLBINDVERTEXARRAYPROC, glBindVertexArray)                        \
    X(PFNGLDELETEVERTEXARRAYSPROC, glDeleteVertexArrays)                  \
    X(PFNGLENABLEVERTEXATTRIBARRAYPROC, glEnableVertexAttribArray)        \
    X(PFNGLVERTEXATTRIBPOINTERPROC, glVertexAttribPointer)                \
    X(PFNGLGENRENDERBUFFERSPROC, glGenRenderbuffers)                      \
    X(PFNGLBINDRENDERBUFFERPROC, glBindRenderbuffer)                      \
    X(PFNGLRENDERBUFFERSTORAGEPROC, glRenderbufferStorage)                \
    X(PFNGLDELETERENDERBUFFERSPROC, glDeleteRenderbuffers)                \
    X(PFNGLGENFRAMEBUFFERSPROC, glGenFramebuffers)                        \
    X(PFNGLBINDFRAMEBUFFERPROC, glBindFramebuffer)                        \
    X(PFNGLFRAMEBUFFERRENDERBUFFERPROC, glFramebufferRenderbuffer)        \
    X(PFNGLCHECKFRAMEBUFFERSTATUSPROC, glCheckFramebufferStatus)          \
    X(PFNGLDELETEFRAMEBUFFERSPROC, glDeleteFramebuffers)                  \
    X(PFNGLVIEWPORTPROC, glViewport)                                      \
    X(PFNGLCLEARCOLORPROC, glClearColor)                                  \
    X(PFNGLCLEARPROC, glClear)                                            \
    X(PFNGLDRAWARRAYSPROC, glDrawArrays)                                  \
    X(PFNGLPIXELSTOREIPROC, glPixelStorei)                                \
    X(PFNGLREADPIXELSPROC, glReadPixels)

#define DECLARE(type, name) static type name;
GL_FUNCS(DECLARE)

static int load_gl(const glcoherent_api_1 *glc, glcoherent_instance *inst)
{
    int missing = 0;
#define LOAD(type, name)                                                  \
    name = (type)glc->get_proc_address(inst, #name);                      \
    if (!name) {                                                          \
        fprintf(stderr, "FAIL: no GL entry point %s\n", #name);           \
        missing++;                                                        \
    }
    GL_FUNCS(LOAD)
#undef LOAD
    return missing;
}

/* glcoherent's driver entry points come from EGL. */
static void *egl_get_proc(void *user, const char *name)
{
    (void)user;
    return (void *)eglGetProcAddress(name);
}

/* ---- headless EGL context ------------------------------------------------------------------ */

static EGLDisplay egl_display(void)
{
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_platform_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    if (!get_platform_display)
        return EGL_NO_DISPLAY;
    EGLDisplay dpy = get_platform_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY,
                                          NULL);
    EGLint major, minor;
    if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor))
        return EGL_NO_DISPLAY;
    return dpy;
}

static EGLContext egl_context(EGLDisplay dpy)
{
    static const EGLint config_attribs[] = {
        EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE,
    };
    static const EGLint context_attribs[] = {
        EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
        EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE,
    };
    EGLConfig config;
    EGLint n = 0;
    if (!eglBindAPI(EGL_OPENGL_API) ||
        !eglChooseConfig(dpy, config_attribs, &config, 1, &n) || n < 1)
        return EGL_NO_CONTEXT;
    return eglCreateContext(dpy, config, EGL_NO_CONTEXT, context_attribs);
}

/* ---- GL helpers ------------------------------------------------------------------------------ */

static const char *vs_src =
    "#version 450\n"
    "layout(location = 0) in vec2 pos;\n"
    "layout(location = 1) in vec4 col;\n"
    "out vec4 c;\n"
    "void main() { gl_Position = vec4(pos, 0.0, 1.0); c = col; }\n";
static const char *fs_src =
    "#version 450\n"
    "in vec4 c;\n"
    "out vec4 o;\n"
    "void main() { o = c; }\n";

static GLuint compile(GLenum kind, const char *src)
{
    GLuint sh = glCreateShader(kind);
    glShaderSource(sh, 1, &src, NULL);
    glCompileShader(sh);
    GLint ok = 0;
    glGetShaderiv(sh, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[1024];
        glGetShaderInfoLog(sh, sizeof log, NULL, log);
        fprintf(stderr, "FAIL: shader: %s\n", log);
        failures++;
    }
    return sh;
}

typedef struct vertex {
    float pos[2];
    float col[4];
} vertex;

/* A triangle that covers the whole viewport, in one colour. */
static void write_triangle(vertex *v, const uint8_t rgba[4])
{
    static const float pos[3][2] = {{-1, -1}, {3, -1}, {-1, 3}};
    for (int i = 0; i < 3; i++) {
        v[i].pos[0] = pos[i][0];
        v[i].pos[1] = pos[i][1];
        for (int k = 0; k < 4; k++)
            v[i].col[k] = rgba[k] / 255.0f;
    }
}

int main(void)
{
    /* 1. The API table and the context. */
    const glcoherent_api_1 *glc = NULL;
    if (glcoherent_get_api(GLCOHERENT_API_VERSION_1, (const void **)&glc) != 0 || !glc) {
        fprintf(stderr, "FAIL: glcoherent API version 1 is missing\n");
        return 1;
    }
    EGLDisplay dpy = egl_display();
    if (dpy == EGL_NO_DISPLAY) {
        fprintf(stderr, "FAIL: no surfaceless EGL display\n");
        return 1;
    }
    EGLContext ctx = egl_context(dpy);
    if (ctx == EGL_NO_CONTEXT ||
        !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
        fprintf(stderr, "FAIL: cannot create a GL 4.5 core context (0x%x)\n", eglGetError());
        return 1;
    }

    /* 2. A glcoherent instance; the context announced and made current through the API. */
    glcoherent_config cfg = GLCOHERENT_CONFIG_INIT;
    cfg.get_proc = egl_get_proc;
    glcoherent_instance *inst = NULL;
    int rc = glc->create(&cfg, &inst);
    if (rc != 0) {
        fprintf(stderr, "FAIL: glcoherent create: %s\n", strerror(-rc));
        return 1;
    }
    glc->context_created(inst, ctx, NULL);
    glc->make_current(inst, ctx);
    if (load_gl(glc, inst))
        return 1;
    uint64_t limit = glc->limit(inst);
    printf("GL %s, glcoherent tracker %s, limit 0x%llx\n", (const char *)glGetString(GL_VERSION),
           glc->tracker_name(inst), (unsigned long long)limit);

    /* 3. Render target, program, persistent coherent vertex buffer. */
    GLuint rb, fbo;
    glGenRenderbuffers(1, &rb);
    glBindRenderbuffer(GL_RENDERBUFFER, rb);
    glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, SIZE, SIZE);
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
    CHECK(glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE, "framebuffer");
    glViewport(0, 0, SIZE, SIZE);

    GLuint vs = compile(GL_VERTEX_SHADER, vs_src), fs = compile(GL_FRAGMENT_SHADER, fs_src);
    GLuint prog = glCreateProgram();
    glAttachShader(prog, vs);
    glAttachShader(prog, fs);
    glLinkProgram(prog);
    GLint linked = 0;
    glGetProgramiv(prog, GL_LINK_STATUS, &linked);
    CHECK(linked, "program link");
    glDeleteShader(vs);
    glDeleteShader(fs);
    glUseProgram(prog);

    const GLbitfield flags = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT;
    const GLsizeiptr size = 64 * 1024;
    const GLintptr offset = 4096 + 128; /* vertices inside the buffer, not at its start */
    GLuint vbo, vao;
    glGenBuffers(1, &vbo);
    glBindBuffer(GL_ARRAY_BUFFER, vbo);
    glBufferStorage(GL_ARRAY_BUFFER, size, NULL, flags);
    uint8_t *map = glMapBufferRange(GL_ARRAY_BUFFER, 0, size, flags);
    CHECK(map != NULL, "glMapBufferRange returned NULL (GL error 0x%x)", glGetError());
    if (!map)
        return 1;
    CHECK((uint64_t)(uintptr_t)map + (uint64_t)size <= limit,
          "mapping %p + %lld is not below 0x%llx", (void *)map, (long long)size,
          (unsigned long long)limit);
    void *queried = NULL;
    glGetBufferPointerv(GL_ARRAY_BUFFER, GL_BUFFER_MAP_POINTER, &queried);
    CHECK(queried == map, "glGetBufferPointerv returned %p, not the mapping %p", queried,
          (void *)map);

    glGenVertexArrays(1, &vao);
    glBindVertexArray(vao);
    glEnableVertexAttribArray(0);
    glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, sizeof(vertex), (const void *)offset);
    glEnableVertexAttribArray(1);
    glVertexAttribPointer(1, 4, GL_FLOAT, GL_FALSE, sizeof(vertex),
                          (const void *)(offset + 2 * sizeof(float)));

    /* 4. Draw several times, writing new vertices through the mapping before each draw. */
    static const uint8_t colors[][4] = {
        {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {12, 34, 56, 78},
    };
    vertex *verts = (vertex *)(map + offset);
    uint8_t pixels[SIZE * SIZE * 4];
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    for (size_t k = 0; k < sizeof colors / sizeof colors[0]; k++) {
        write_triangle(verts, colors[k]); /* no GL call between this and the draw */
        glClearColor(0, 0, 0, 0);
        glClear(GL_COLOR_BUFFER_BIT);
        glDrawArrays(GL_TRIANGLES, 0, 3);
        glReadPixels(0, 0, SIZE, SIZE, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
        int bad = 0;
        for (int i = 0; i < SIZE * SIZE; i++)
            bad += memcmp(pixels + 4 * i, colors[k], 4) != 0;
        CHECK(bad == 0, "draw %zu: %d of %d pixels wrong (first %u,%u,%u,%u)", k, bad,
              SIZE * SIZE, pixels[0], pixels[1], pixels[2], pixels[3]);
    }
    GLenum err = glGetError();
    CHECK(err == GL_NO_ERROR, "GL error 0x%x", err);

    /* 5. Statistics, clean-up. */
    glcoherent_stats st;
    glc->get_stats(inst, &st);
    printf("stats: maps %llu (persistent %llu, shadowed %llu), live shadows %llu, "
           "flushes %llu (%llu bytes), write faults %llu, scans %llu, highest end 0x%llx\n",
           (unsigned long long)st.maps, (unsigned long long)st.persistent_maps,
           (unsigned long long)st.shadowed_maps, (unsigned long long)st.live_shadows,
           (unsigned long long)st.flushes, (unsigned long long)st.bytes_flushed,
           (unsigned long long)st.write_faults, (unsigned long long)st.scans,
           (unsigned long long)st.max_mapped_end);
    CHECK(st.shadowed_maps >= 1 && st.live_shadows == 1, "the map was not shadowed");
    CHECK(st.max_mapped_end <= limit, "a pointer above the limit was handed out");

    glUnmapBuffer(GL_ARRAY_BUFFER);
    glDeleteBuffers(1, &vbo);
    glDeleteVertexArrays(1, &vao);
    glDeleteProgram(prog);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glDeleteFramebuffers(1, &fbo);
    glDeleteRenderbuffers(1, &rb);
    glc->make_current(inst, NULL);
    eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    glc->context_destroyed(inst, ctx);
    eglDestroyContext(dpy, ctx);
    glc->destroy(inst);
    eglTerminate(dpy);

    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("OK: %zu persistent coherent draws from %p (below 0x%llx) rendered correctly\n",
           sizeof colors / sizeof colors[0], (void *)map, (unsigned long long)limit);
    return 0;
}
