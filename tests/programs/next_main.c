/* Links libnext_a.so then libnext_b.so; prints `next=N` (2 expected) and RESULT. */
#include <stdio.h>

int call_next(void);

int main(void)
{
    int n = call_next();
    printf("next=%d\nRESULT: %s\n", n, n == 2 ? "pass" : "fail");
    return n == 2 ? 0 : 1;
}
