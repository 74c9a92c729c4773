/* (b) No GL library linked: dlopen("libOpenGL.so.0") and dlopen("libEGL.so.1") with the
 * default RTLD_LOCAL, every entry point through dlsym on those handles (PyOpenGL, glfw). */
#define GL_GLEXT_PROTOTYPES 1 /* declarations only, for __typeof__: nothing is linked */
#define _GNU_SOURCE 1
#include <dlfcn.h>

#define ENTRY_POINTS(X)                                                                     \
    X(eglGetProcAddress) X(eglInitialize) X(eglBindAPI) X(eglChooseConfig) X(eglCreateContext) \
    X(eglMakeCurrent) X(glGenBuffers) X(glBindBuffer) X(glBufferStorage) X(glMapBufferRange)  \
    X(glGetError) X(glBufferData) X(glCopyBufferSubData) X(glGetBufferSubData)                \
    X(glFenceSync) X(glClientWaitSync) X(glDeleteSync) X(glFinish) X(glUnmapBuffer)           \
    X(glDeleteBuffers) X(glGetString)

static struct {
#define DECL(name) void *name;
    ENTRY_POINTS(DECL)
#undef DECL
} T;

#include <EGL/egl.h>
#include <GL/glcorearb.h>
#include <stdio.h>

/* Typed calls through the table. */
#define EGLF(name) ((__typeof__(&name))T.name)
#define GLF(name) ((PFN_##name)T.name)

typedef __typeof__(&glGenBuffers) PFN_glGenBuffers;
typedef __typeof__(&glBindBuffer) PFN_glBindBuffer;
typedef __typeof__(&glBufferStorage) PFN_glBufferStorage;
typedef __typeof__(&glMapBufferRange) PFN_glMapBufferRange;
typedef __typeof__(&glGetError) PFN_glGetError;
typedef __typeof__(&glBufferData) PFN_glBufferData;
typedef __typeof__(&glCopyBufferSubData) PFN_glCopyBufferSubData;
typedef __typeof__(&glGetBufferSubData) PFN_glGetBufferSubData;
typedef __typeof__(&glFenceSync) PFN_glFenceSync;
typedef __typeof__(&glClientWaitSync) PFN_glClientWaitSync;
typedef __typeof__(&glDeleteSync) PFN_glDeleteSync;
typedef __typeof__(&glFinish) PFN_glFinish;
typedef __typeof__(&glUnmapBuffer) PFN_glUnmapBuffer;
typedef __typeof__(&glDeleteBuffers) PFN_glDeleteBuffers;
typedef __typeof__(&glGetString) PFN_glGetString;

#include "glc_prog_common.h"

static int load_entry_points(void)
{
    void *gl = dlopen("libOpenGL.so.0", RTLD_NOW);
    void *egl = dlopen("libEGL.so.1", RTLD_NOW);
    if (!gl || !egl) {
        printf("dlopen: %s\n", dlerror());
        return -1;
    }
#define LOAD(name)                                                         \
    T.name = dlsym(#name[0] == 'e' ? egl : gl, #name);                     \
    if (!T.name) {                                                         \
        printf("dlsym(%s) failed\n", #name);                               \
        return -1;                                                         \
    }
    ENTRY_POINTS(LOAD)
#undef LOAD
    Dl_info info;
    if (dladdr(T.glMapBufferRange, &info))
        printf("glMapBufferRange from %s\n", info.dli_fname);
    return 0;
}
