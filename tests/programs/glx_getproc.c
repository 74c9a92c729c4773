/* (d) The GLX door without a display: glXGetProcAddressARB (libGL, as piglit uses it) must hand
 * out glcoherent's wrappers for wrapped names and hooks for the context entry points it hooks,
 * the driver's entry points for everything else. Prints one line per name:
 *   NAME <library the pointer lives in>
 * and `RESULT: pass` when the interposer's answers are as expected (exit 0), or `RESULT: native`
 * when no interposer is present (exit 3). */
#define _GNU_SOURCE 1
#include <GL/glx.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *where(void *p)
{
    Dl_info info;
    if (!p)
        return "(null)";
    return dladdr(p, &info) && info.dli_fname ? info.dli_fname : "(unknown)";
}

static int in_preload(void *p)
{
    return strstr(where(p), "libglcoherent_preload") != NULL;
}

int main(void)
{
    static const char *const wrapped[] = {"glMapBufferRange", "glBufferStorage",
                                          "glDrawArrays", "glClientWaitSync",
                                          "glNamedBufferStorage", "glMapNamedBufferRangeEXT",
                                          "glXCreateContextAttribsARB", "glXMakeCurrent",
                                          "glXCreateNewContext", NULL};
    static const char *const unwrapped[] = {"glViewport", "glCreateShader", "glXSwapBuffers",
                                            "glXQueryExtensionsString", NULL};
    int interposed = 0, bad = 0;
    for (const char *const *n = wrapped; *n; n++) {
        void *p = (void *)glXGetProcAddressARB((const GLubyte *)*n);
        void *q = (void *)glXGetProcAddress((const GLubyte *)*n);
        printf("%s %s\n", *n, where(p));
        if (in_preload(p) && p == q)
            interposed++;
        else
            bad++;
    }
    for (const char *const *n = unwrapped; *n; n++) {
        void *p = (void *)glXGetProcAddressARB((const GLubyte *)*n);
        printf("%s %s\n", *n, where(p));
        if (!p || in_preload(p))
            bad++;
    }
    /* The linked glXGetProcAddressARB itself is the interposer's. */
    printf("glXGetProcAddressARB %s\n", where((void *)glXGetProcAddressARB));
    if (interposed == 0 && !in_preload((void *)glXGetProcAddressARB)) {
        printf("RESULT: native\n");
        return 3;
    }
    printf("RESULT: %s\n", bad ? "fail" : "pass");
    return bad ? 1 : 0;
}
