/* egl_context.h - a GL 4.5 core context on Mesa's surfaceless EGL platform, for the small test
 * programs that link libEGL (exit_busy.c, egl_terminate.c, kernel_writes.c). Programs that reach
 * EGL otherwise (dlsym, get-proc-address) use glc_prog_common.h or their own code. */
#ifndef GLC_TEST_EGL_CONTEXT_H
#define GLC_TEST_EGL_CONTEXT_H

#include <EGL/egl.h>
#include <EGL/eglext.h>

#ifndef EGL_PLATFORM_SURFACELESS_MESA
#define EGL_PLATFORM_SURFACELESS_MESA 0x31DD
#endif

/* The surfaceless display (not yet initialised). */
static inline EGLDisplay test_egl_display(void)
{
    PFNEGLGETPLATFORMDISPLAYEXTPROC get_display =
        (PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
    return get_display ? get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL)
                       : EGL_NO_DISPLAY;
}

/* Initialise dpy, bind desktop GL on this thread and create a 4.5 core context sharing objects
 * with `share` (EGL_NO_CONTEXT: none); *config_out gets the config. EGL_NO_CONTEXT on failure. */
static inline EGLContext test_egl_context(EGLDisplay dpy, EGLContext share,
                                          EGLConfig *config_out)
{
    static const EGLint cfg[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_SURFACE_TYPE,
                                 EGL_PBUFFER_BIT, EGL_NONE};
    static const EGLint attr[] = {EGL_CONTEXT_MAJOR_VERSION, 4, EGL_CONTEXT_MINOR_VERSION, 5,
                                  EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                  EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, EGL_NONE};
    EGLint major, minor, n;
    EGLConfig config;
    if (!eglInitialize(dpy, &major, &minor) || !eglBindAPI(EGL_OPENGL_API) ||
        !eglChooseConfig(dpy, cfg, &config, 1, &n) || n < 1)
        return EGL_NO_CONTEXT;
    if (config_out)
        *config_out = config;
    return eglCreateContext(dpy, config, share, attr);
}

#endif
