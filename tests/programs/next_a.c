/* RTLD_NEXT seen from a library (libnext_a.so, loaded before libnext_b.so): must find
 * libnext_b's which(), as without glcoherent (the real dlsym and dlvsym must see the real
 * caller). Both libraries give which() the version NEXT_1 (next.map). */
#define _GNU_SOURCE 1
#include <dlfcn.h>

int which(void) { return 1; }

int call_next(void)
{
    int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, "which");
    return next ? next() : -1;
}

int call_vnext(void)
{
    int (*next)(void) = (int (*)(void))dlvsym(RTLD_NEXT, "which", "NEXT_1");
    return next ? next() : -1;
}
