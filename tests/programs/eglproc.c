/* (c) Linked against libEGL only; every gl* entry point through eglGetProcAddress. */
#define GL_GLEXT_PROTOTYPES 1 /* declarations only, for __typeof__: libOpenGL is not linked */
#define _GNU_SOURCE 1
#include <EGL/egl.h>
#include <GL/glcorearb.h>
#include <dlfcn.h>
#include <stdio.h>

#define GL_ENTRY_POINTS(X)                                                                  \
    X(glGenBuffers) X(glBindBuffer) X(glBufferStorage) X(glMapBufferRange) X(glGetError)    \
    X(glBufferData) X(glCopyBufferSubData) X(glGetBufferSubData) X(glFenceSync)             \
    X(glClientWaitSync) X(glDeleteSync) X(glFinish) X(glUnmapBuffer) X(glDeleteBuffers)     \
    X(glGetString)

static struct {
#define DECL(name) __typeof__(&name) name;
    GL_ENTRY_POINTS(DECL)
#undef DECL
} T;

#define EGLF(name) name
#define GLF(name) T.name
#include "glc_prog_common.h"

static int load_entry_points(void)
{
#define LOAD(n)                                                 \
    T.n = (__typeof__(&n))eglGetProcAddress(#n);                \
    if (!T.n) {                                                 \
        printf("eglGetProcAddress(%s) failed\n", #n);           \
        return -1;                                              \
    }
    GL_ENTRY_POINTS(LOAD)
#undef LOAD
    Dl_info info;
    if (dladdr((void *)T.glMapBufferRange, &info))
        printf("glMapBufferRange from %s\n", info.dli_fname);
    return 0;
}
