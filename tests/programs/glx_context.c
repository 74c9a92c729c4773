/* GLX end to end (needs an X server, Xvfb in the tests): linked against libGL, the context made
 * by glXCreateContextAttribsARB obtained from glXGetProcAddressARB on a pbuffer, made current
 * with glXMakeContextCurrent, then the common checks with gl* called directly. */
#define GL_GLEXT_PROTOTYPES 1
#define GLC_PROG_OWN_CONTEXT 1
#define EGLF(name) name
#define GLF(name) name
#include <GL/glx.h>
#include "glc_prog_common.h"

#ifndef GLX_CONTEXT_MAJOR_VERSION_ARB
#define GLX_CONTEXT_MAJOR_VERSION_ARB 0x2091
#define GLX_CONTEXT_MINOR_VERSION_ARB 0x2092
#define GLX_CONTEXT_PROFILE_MASK_ARB 0x9126
#define GLX_CONTEXT_CORE_PROFILE_BIT_ARB 0x00000001
#endif

typedef GLXContext (*create_attribs_fn)(Display *, GLXFBConfig, GLXContext, Bool, const int *);

static int load_entry_points(void) { return 0; }

static int make_context(void)
{
    Display *dpy = XOpenDisplay(NULL);
    if (!dpy)
        return -1;
    static const int fb_attr[] = {GLX_DRAWABLE_TYPE, GLX_PBUFFER_BIT, GLX_RENDER_TYPE,
                                  GLX_RGBA_BIT, GLX_RED_SIZE, 8, GLX_GREEN_SIZE, 8,
                                  GLX_BLUE_SIZE, 8, None};
    int n = 0;
    GLXFBConfig *cfgs = glXChooseFBConfig(dpy, DefaultScreen(dpy), fb_attr, &n);
    if (!cfgs || n < 1)
        return -2;
    create_attribs_fn create = (create_attribs_fn)glXGetProcAddressARB(
        (const GLubyte *)"glXCreateContextAttribsARB");
    if (!create)
        return -3;
    static const int ctx_attr[] = {GLX_CONTEXT_MAJOR_VERSION_ARB, 4,
                                   GLX_CONTEXT_MINOR_VERSION_ARB, 5,
                                   GLX_CONTEXT_PROFILE_MASK_ARB,
                                   GLX_CONTEXT_CORE_PROFILE_BIT_ARB, None};
    GLXContext ctx = create(dpy, cfgs[0], NULL, True, ctx_attr);
    if (!ctx)
        return -4;
    static const int pb_attr[] = {GLX_PBUFFER_WIDTH, 16, GLX_PBUFFER_HEIGHT, 16, None};
    GLXPbuffer pb = glXCreatePbuffer(dpy, cfgs[0], pb_attr);
    if (!glXMakeContextCurrent(dpy, pb, pb, ctx))
        return -5;
    XFree(cfgs);
    return 0;
}
