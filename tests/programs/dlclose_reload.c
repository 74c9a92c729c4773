/* dlclose_reload.c - a program that unloads its GL libraries and loads them again
 * (tests/test_interposer.py).
 *
 * Each round: dlopen libEGL and libOpenGL (RTLD_LOCAL), fetch entry points with dlsym, make a
 * context, map a persistent coherent buffer, write it through the pointer and read it back with
 * glGetBufferSubData; then release and destroy everything, eglTerminate and dlclose both
 * libraries. Prints whether the libraries were really unloaded, the pointer of each round and
 * `RESULT: pass` when both rounds saw their writes.
 */
#define _GNU_SOURCE
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/glcorearb.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

#define SYM(h, type, name) type name = (type)dlsym(h, #name)

static int round_trip(int round)
{
    void *egl = dlopen("libEGL.so.1", RTLD_NOW | RTLD_LOCAL);
    void *gl = dlopen("libOpenGL.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!egl || !gl)
        return 1;
    SYM(egl, PFNEGLGETPROCADDRESSPROC, eglGetProcAddress);
    SYM(egl, PFNEGLINITIALIZEPROC, eglInitialize);
    SYM(egl, PFNEGLBINDAPIPROC, eglBindAPI);
    SYM(egl, PFNEGLCHOOSECONFIGPROC, eglChooseConfig);
    SYM(egl, PFNEGLCREATECONTEXTPROC, eglCreateContext);
    SYM(egl, PFNEGLMAKECURRENTPROC, eglMakeCurrent);
    SYM(egl, PFNEGLDESTROYCONTEXTPROC, eglDestroyContext);
    SYM(egl, PFNEGLTERMINATEPROC, eglTerminate);
    SYM(gl, PFNGLGENBUFFERSPROC, glGenBuffers);
    SYM(gl, PFNGLBINDBUFFERPROC, glBindBuffer);
    SYM(gl, PFNGLBUFFERSTORAGEPROC, glBufferStorage);
    SYM(gl, PFNGLMAPBUFFERRANGEPROC, glMapBufferRange);
    SYM(gl, PFNGLGETBUFFERSUBDATAPROC, glGetBufferSubData);
    SYM(gl, PFNGLDELETEBUFFERSPROC, glDeleteBuffers);
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    EGLDisplay dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    static const EGLint cfg[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE,
                                 EGL_PBUFFER_BIT, EGL_NONE};
    static const EGLint attr[] = {EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                  EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
    EGLint major, minor, n;
    EGLConfig config;
    if (!eglInitialize(dpy, &major, &minor) || !eglBindAPI(EGL_OPENGL_API) ||
        !eglChooseConfig(dpy, cfg, &config, 1, &n) || n < 1)
        return 2;
    EGLContext ctx = eglCreateContext(dpy, config, EGL_NO_CONTEXT, attr);
    if (!ctx || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
        return 3;
    const GLbitfield f = GL_MAP_READ_BIT | GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT |
                         GL_MAP_COHERENT_BIT;
    GLuint b;
    glGenBuffers(1, &b);
    glBindBuffer(GL_ARRAY_BUFFER, b);
    glBufferStorage(GL_ARRAY_BUFFER, 65536, NULL, f);
    unsigned char *p = glMapBufferRange(GL_ARRAY_BUFFER, 0, 65536, f);
    if (!p)
        return 4;
    memset(p, 40 + round, 65536);
    unsigned char back[4] = {0};
    glGetBufferSubData(GL_ARRAY_BUFFER, 4096, sizeof back, back);
    printf("round %d: ptr=%p value=%d\n", round, (void *)p, back[0]);
    glDeleteBuffers(1, &b);
    eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    eglDestroyContext(dpy, ctx);
    eglTerminate(dpy);
    dlclose(gl);
    dlclose(egl);
    void *still_egl = dlopen("libEGL.so.1", RTLD_NOW | RTLD_NOLOAD);
    void *still_gl = dlopen("libOpenGL.so.0", RTLD_NOW | RTLD_NOLOAD);
    printf("round %d: unloaded libEGL=%s libOpenGL=%s\n", round, still_egl ? "no" : "yes",
           still_gl ? "no" : "yes");
    if (still_egl)
        dlclose(still_egl);
    if (still_gl)
        dlclose(still_gl);
    return back[0] == 40 + round ? 0 : 5;
}

int main(void)
{
    for (int round = 1; round <= 2; round++) {
        int rc = round_trip(round);
        if (rc) {
            printf("round %d failed at step %d\nRESULT: fail\n", round, rc);
            return 1;
        }
    }
    printf("RESULT: pass\n");
    return 0;
}
