/* trackbench.c - tracking microbenchmark and test helpers (see trackbench.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "trackbench.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sigsegv.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void count_run(void *user, size_t offset, size_t length)
{
    (void)offset;
    *(uint64_t *)user += length;
}

static void *map_buffer(size_t bytes, unsigned flags)
{
    if (flags & GLC_TRACKBENCH_MEMFD) {
        int fd = memfd_create("glcoherent-bench", MFD_CLOEXEC);
        if (fd < 0)
            return MAP_FAILED;
        void *p = MAP_FAILED;
        if (ftruncate(fd, (off_t)bytes) == 0)
            p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        return p;
    }
    return mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

#define BENCH_MAX_REPS 64

int glc_trackbench_run(glc_tracker_kind kind, size_t pages, unsigned flags, unsigned reps,
                       glc_trackbench_result *out)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (pages == 0)
        return out->error = -EINVAL;
    if (reps == 0)
        reps = 5;
    if (reps > BENCH_MAX_REPS)
        reps = BENCH_MAX_REPS;
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size_t bytes = pages * page;
    double mib = (double)bytes / (1024.0 * 1024.0);
    out->pages = pages;
    out->bytes = bytes;
    out->reps = reps;

    glc_tracker *t = NULL;
    int rc = glc_tracker_create(&t, kind);
    if (rc)
        return out->error = rc;
    out->kind = (int32_t)glc_tracker_kind_of(t);

    volatile unsigned char *mem = map_buffer(bytes, flags);
    if (mem == MAP_FAILED) {
        rc = -errno;
        glc_tracker_destroy(t);
        return out->error = rc;
    }
    for (size_t i = 0; i < bytes; i += page)
        mem[i] = 1; /* populate: measure write-protect faults, not page allocation */

    glc_region *r = NULL;
    unsigned rflags = (flags & GLC_TRACKBENCH_SENTINEL) ? GLC_REGION_SENTINEL : 0;
    rc = glc_region_create(t, (void *)mem, bytes, rflags, &r);
    if (rc) {
        munmap((void *)mem, bytes);
        glc_tracker_destroy(t);
        return out->error = rc;
    }

    /* Byte offsets of the pages in write order. */
    size_t *order = malloc(pages * sizeof *order);
    if (!order) {
        glc_region_destroy(r);
        munmap((void *)mem, bytes);
        glc_tracker_destroy(t);
        return out->error = -ENOMEM;
    }
    for (size_t i = 0; i < pages; i++)
        order[i] = i * page;
    if (flags & GLC_TRACKBENCH_RANDOM) {
        uint64_t x = 0x9e3779b97f4a7c15ull;
        for (size_t i = pages - 1; i > 0; i--) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t j = (size_t)(x % (i + 1));
            size_t tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
    }

    double w[BENCH_MAX_REPS], cd[BENCH_MAX_REPS], cc[BENCH_MAX_REPS];
    for (unsigned k = 0; k < reps; k++) {
        double t0 = now_ns();
        for (size_t i = 0; i < pages; i++)
            mem[order[i]] = (unsigned char)(k + 2);
        double t1 = now_ns();
        uint64_t reported = 0;
        long n = glc_region_collect(r, count_run, &reported);
        double t2 = now_ns();
        if (n < 0) {
            rc = (int)n;
            break;
        }
        out->pages_reported += reported / page;
        uint64_t dummy = 0;
        double t3 = now_ns();
        n = glc_region_collect(r, count_run, &dummy);
        double t4 = now_ns();
        if (n < 0) {
            rc = (int)n;
            break;
        }
        w[k] = (t1 - t0) / (double)pages;
        cd[k] = t2 - t1;
        cc[k] = t4 - t3;
    }
    free(order);
    glc_track_stats st;
    glc_region_get_stats(r, &st);
    out->write_faults = st.write_faults;
    glc_region_destroy(r);
    glc_tracker_destroy(t);

    if (!rc) {
        out->write_ns_per_page = median(w, reps);
        out->collect_dirty_ns = median(cd, reps);
        out->collect_dirty_ns_per_page = out->collect_dirty_ns / (double)pages;
        out->collect_clean_ns = median(cc, reps);
        out->scan_dirty_ns_per_mib = out->collect_dirty_ns / mib;
        out->scan_clean_ns_per_mib = out->collect_clean_ns / mib;

        /* memcpy between two buffers of the same size (already populated). */
        unsigned char *dst = map_buffer(bytes, 0);
        if (dst != MAP_FAILED) {
            memset(dst, 0, bytes);
            double best = 0;
            for (unsigned k = 0; k < reps + 1; k++) {
                double t0 = now_ns();
                memcpy(dst, (const void *)mem, bytes);
                double t1 = now_ns();
                __asm__ __volatile__("" : : "r"(dst) : "memory");
                double bw = (double)bytes / ((t1 - t0) * 1e-9);
                if (k > 0 && bw > best) /* the first pass warms the TLB/caches */
                    best = bw;
            }
            out->memcpy_bytes_per_s = best;
            munmap(dst, bytes);
        }
    }
    munmap((void *)mem, bytes);
    return out->error = rc;
}

/* ---------------------------------------------------------------- test helpers */

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
