/* dlsym(RTLD_DEFAULT, ...) must not invent GL: with no GL library loaded a wrapped name does
 * not exist (glcoherent's exports do not count); once libOpenGL is loaded RTLD_GLOBAL it does
 * (the wrapper, under glcoherent). Prints `NAME before after` lines and `RESULT: pass|fail`. */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *where(void *p)
{
    Dl_info info;
    if (!p)
        return "null";
    return dladdr(p, &info) && info.dli_fname ? info.dli_fname : "unknown";
}

int main(void)
{
    static const char *const names[] = {"glMapBufferRange", "glBufferStorage", "glDrawArrays",
                                        NULL};
    int bad = 0;
    void *before[3];
    for (int i = 0; names[i]; i++)
        before[i] = dlsym(RTLD_DEFAULT, names[i]);
    void *h = dlopen("libOpenGL.so.0", RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    for (int i = 0; names[i]; i++) {
        void *after = dlsym(RTLD_DEFAULT, names[i]);
        void *direct = dlsym(h, names[i]);
        printf("%s before=%s after=%s handle=%s\n", names[i], where(before[i]), where(after),
               where(direct));
        bad += before[i] != NULL;
        bad += after == NULL || after != direct;
    }
    /* A name nobody defines. */
    bad += dlsym(RTLD_DEFAULT, "glNoSuchFunctionGLC") != NULL;
    bad += dlsym(h, "glNoSuchFunctionGLC") != NULL;
    bad += dlerror() == NULL;    /* the failed lookup set dlerror() */
    printf("RESULT: %s\n", bad ? "fail" : "pass");
    return bad ? 1 : 0;
}
