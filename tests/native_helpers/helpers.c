/* tests/native_helpers/helpers.c - see helpers.h (test-only, not shipped). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "helpers.h"

#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "track/backend.h"
#include "track/sigsegv.h"

static struct sigaction g_foreign_prev;
static _Atomic uintptr_t g_foreign_start, g_foreign_end;
static atomic_ulong g_foreign_calls, g_foreign_own;

static void foreign_handler(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    atomic_fetch_add(&g_foreign_calls, 1);
    uintptr_t a = si ? (uintptr_t)si->si_addr : 0;
    uintptr_t s = atomic_load(&g_foreign_start), e = atomic_load(&g_foreign_end);
    if (si && si->si_code > 0 && a >= s && a < e) {
        mprotect((void *)s, e - s, PROT_READ | PROT_WRITE);
        atomic_fetch_add(&g_foreign_own, 1);
        errno = saved;
        return;
    }
    const struct sigaction *p = &g_foreign_prev;
    if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        if (p->sa_flags & SA_SIGINFO)
            p->sa_sigaction(sig, si, uc);
        else
            p->sa_handler(sig);
        errno = saved;
        return;
    }
    signal(sig, SIG_DFL);
    if (!si || si->si_code <= 0)
        raise(sig);
    errno = saved;
}

int glc_test_install_foreign_segv_handler(void *addr, size_t len)
{
    atomic_store(&g_foreign_start, (uintptr_t)addr);
    atomic_store(&g_foreign_end, (uintptr_t)addr + len);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = foreign_handler;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return -errno;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == foreign_handler)
        return 0;
    g_foreign_prev = cur;
    if (sigaction(SIGSEGV, &sa, NULL) != 0)
        return -errno;
    return 0;
}

unsigned long glc_test_foreign_segv_calls(void)
{
    return atomic_load(&g_foreign_calls);
}

unsigned long glc_test_foreign_segv_own(void)
{
    return atomic_load(&g_foreign_own);
}

uint64_t glc_test_random_writes(void *base, size_t len, uint64_t seed, uint64_t iters,
                                uint32_t tag)
{
    if (len < 4)
        return 0;
    uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
    unsigned char *b = base;
    for (uint64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t off = (size_t)(x % (len - 3));
        uint32_t v = (tag << 24) | (uint32_t)(i & 0xffffff);
        memcpy(b + off, &v, sizeof v);
    }
    return iters;
}

uint64_t glc_test_ring_writes(void *base, size_t len, size_t rec_bytes, uint64_t count,
                              uint32_t tag)
{
    if (rec_bytes == 0 || rec_bytes > len)
        return 0;
    unsigned char *b = base;
    size_t off = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (off + rec_bytes > len)
            off = 0;
        uint32_t v = (tag << 24) | (uint32_t)(i & 0xffffff);
        for (size_t k = 0; k + sizeof v <= rec_bytes; k += sizeof v)
            memcpy(b + off + k, &v, sizeof v);
        off += rec_bytes;
    }
    return count;
}

typedef struct copy_ctx {
    const unsigned char *src;
    unsigned char *dst;
} copy_ctx;

static void copy_run(void *user, size_t offset, size_t length)
{
    copy_ctx *c = user;
    memcpy(c->dst + offset, c->src + offset, length);
}

long glc_test_collect_copy(glc_region *r, const void *src, void *dst)
{
    copy_ctx c = {.src = src, .dst = dst};
    return glc_region_collect(r, copy_run, &c);
}

int glc_test_segv_installed(void)
{
    return glc_segv_installed();
}

int glc_test_segv_ensure_installed(void)
{
    return glc_segv_ensure_installed();
}

unsigned long glc_test_segv_reinstalls(void)
{
    return glc_segv_reinstalls();
}

unsigned glc_test_segv_max_window(void)
{
    return GLC_SEGV_MAX_WINDOW;
}

void glc_test_set_max_map_count(long n)
{
    glc_segv_test_set_max_map_count(n);
}

/* A SIGSEGV handler that escapes with siglongjmp (memory probers, some hosts do this). */
static sigjmp_buf g_probe_jmp;
static volatile sig_atomic_t g_probe_armed;
static struct sigaction g_probe_prev;

static void probe_handler(int sig, siginfo_t *si, void *uc)
{
    if (g_probe_armed) {
        g_probe_armed = 0;
        siglongjmp(g_probe_jmp, 1);
    }
    const struct sigaction *p = &g_probe_prev;
    if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN) {
        if (p->sa_flags & SA_SIGINFO)
            p->sa_sigaction(sig, si, uc);
        else
            p->sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    if (!si || si->si_code <= 0)
        raise(sig);
}

int glc_test_install_jmp_probe_handler(void)
{
    struct sigaction sa, cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return -errno;
    if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == probe_handler)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = probe_handler;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    g_probe_prev = cur;
    return sigaction(SIGSEGV, &sa, NULL) == 0 ? 0 : -errno;
}

int glc_test_jmp_probe(void *addr)
{
    if (sigsetjmp(g_probe_jmp, 1))
        return 1;
    g_probe_armed = 1;
    *(volatile char *)addr = 1;
    g_probe_armed = 0;
    return 0;
}

int glc_test_segv_serves_itself(void)
{
    return glc_segv_serves_itself();
}

const void *glc_test_segv_registry(void)
{
    return glc_segv_registry();
}

void *glc_test_segv_handler(void)
{
    return glc_segv_handler_address();
}

int glc_test_set_max_map_count_of(const char *path, long n)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return -ENOENT;
    const glc_segv_registry_v1 *(*entry)(void);
    void *sym = dlsym(h, "glcoherent_segv_registry_v1");
    memcpy(&entry, &sym, sizeof entry);
    const glc_segv_registry_v1 *r = entry ? entry() : NULL;
    int rc = r && r->abi == GLC_SEGV_ABI ? 0 : -ENOENT;
    if (rc == 0)
        r->set_max_map_count(n);
    dlclose(h);
    return rc;
}
