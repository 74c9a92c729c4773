/* Links libnext_a.so then libnext_b.so; prints `next=N vnext=M` (2 expected: dlsym and dlvsym
 * of RTLD_NEXT from libnext_a) and RESULT. */
#include <stdio.h>

int call_next(void);
int call_vnext(void);

int main(void)
{
    int n = call_next(), v = call_vnext();
    int ok = n == 2 && v == 2;
    printf("next=%d vnext=%d\nRESULT: %s\n", n, v, ok ? "pass" : "fail");
    return ok ? 0 : 1;
}
