/* faulthelp.c - tiny native helpers of tests/test_faults.py (compiled by the test with cc).
 *
 * - A "host" SIGSEGV handler installed after glcoherent's (as Wine, a JVM or a crash reporter
 *   would): it resolves faults in its own guard range and chains every other fault to the
 *   handler it displaced, exactly (SA_SIGINFO or plain, SIG_DFL re-raise).
 * - Writer threads: thread t owns the 32-bit words w of [base, base + 4 * nwords) with
 *   owner[w] == t + 1 and stores (t + 1) << 28 | counter into random owned words until stopped.
 * - vma_count(), touch_pages(): mapping-count pressure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- displacing SIGSEGV handler ---------------------------------------------------------- */

static struct sigaction g_prev;
static atomic_uintptr_t g_own_start, g_own_end;
static atomic_ulong g_calls, g_own;

static void host_handler(int sig, siginfo_t *si, void *uc)
{
    atomic_fetch_add(&g_calls, 1);
    uintptr_t a = (uintptr_t)(si ? si->si_addr : 0);
    if (a >= atomic_load(&g_own_start) && a < atomic_load(&g_own_end)) {
        uintptr_t s = atomic_load(&g_own_start);
        mprotect((void *)s, atomic_load(&g_own_end) - s, PROT_READ | PROT_WRITE);
        atomic_fetch_add(&g_own, 1);
        return;
    }
    if (g_prev.sa_handler != SIG_DFL && g_prev.sa_handler != SIG_IGN) {
        if (g_prev.sa_flags & SA_SIGINFO)
            g_prev.sa_sigaction(sig, si, uc);
        else
            g_prev.sa_handler(sig);
        return;
    }
    signal(sig, SIG_DFL);
    if (!si || si->si_code <= 0)
        raise(sig);
}

int fh_install(void *own, size_t len)
{
    atomic_store(&g_own_start, (uintptr_t)own);
    atomic_store(&g_own_end, (uintptr_t)own + len);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = host_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGSEGV, &sa, &g_prev) == 0 ? 0 : -errno;
}

/* 1 if the host handler is the installed disposition. */
int fh_on_top(void)
{
    struct sigaction cur;
    sigaction(SIGSEGV, NULL, &cur);
    return (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == host_handler;
}

unsigned long fh_calls(void) { return atomic_load(&g_calls); }
unsigned long fh_own(void) { return atomic_load(&g_own); }

/* ---- writer threads ------------------------------------------------------------------------ */

typedef struct writer {
    pthread_t th;
    int id;
    uint32_t *base;
    const uint8_t *owner;  /* owner[w] == id + 1: this thread writes word w */
    size_t nwords;
    uint64_t writes;
} writer;

static writer *g_w;
static int g_nw;
static atomic_int g_stop;
static atomic_int g_pause, g_paused;

static void *writer_main(void *arg)
{
    writer *w = arg;
    uint32_t *mine = malloc(w->nwords * sizeof *mine);
    size_t n = 0;
    for (size_t i = 0; i < w->nwords; i++)
        if (w->owner[i] == w->id + 1)
            mine[n++] = (uint32_t)i;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)(w->id + 1) * 0x100000001b3ull;
    uint32_t counter = 1;
    while (n && !atomic_load_explicit(&g_stop, memory_order_relaxed)) {
        if (atomic_load(&g_pause)) {
            atomic_fetch_add(&g_paused, 1);
            while (atomic_load(&g_pause) && !atomic_load(&g_stop))
                sched_yield();
            atomic_fetch_sub(&g_paused, 1);
        }
        for (int k = 0; k < 64; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint32_t word = mine[x % n];
            /* tag the value with the owner so a word written by the wrong party shows */
            __atomic_store_n(&w->base[word], ((uint32_t)(w->id + 1) << 28) | (counter & 0x0fffffff),
                             __ATOMIC_RELAXED);
            counter++;
            w->writes++;
        }
    }
    free(mine);
    return NULL;
}

int wr_start(void *base, size_t nwords, const uint8_t *owner, int nthreads)
{
    g_w = calloc((size_t)nthreads, sizeof *g_w);
    if (!g_w)
        return -ENOMEM;
    atomic_store(&g_stop, 0);
    atomic_store(&g_pause, 0);
    atomic_store(&g_paused, 0);
    g_nw = nthreads;
    for (int i = 0; i < nthreads; i++) {
        g_w[i] = (writer){.id = i, .base = base, .owner = owner, .nwords = nwords};
        if (pthread_create(&g_w[i].th, NULL, writer_main, &g_w[i]) != 0)
            return -errno;
    }
    return 0;
}

/* Hold every writer (returns once all are parked), and let them go again. */
void wr_pause(void)
{
    atomic_store(&g_pause, 1);
    while (atomic_load(&g_paused) < g_nw)
        sched_yield();
}

void wr_resume(void)
{
    atomic_store(&g_pause, 0);
    while (atomic_load(&g_paused) > 0)
        sched_yield();
}

uint64_t wr_stop(void)
{
    atomic_store(&g_stop, 1);
    uint64_t total = 0;
    for (int i = 0; i < g_nw; i++) {
        pthread_join(g_w[i].th, NULL);
        total += g_w[i].writes;
    }
    free(g_w);
    g_w = NULL;
    g_nw = 0;
    return total;
}

/* Count lines of /proc/self/maps (VMAs). */
long vma_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

/* Write one byte into every `stride`-th page of [base, base + len): scattered page writes. */
uint64_t touch_pages(void *base, size_t len, size_t stride_pages, uint8_t value)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t n = 0;
    for (size_t off = 0; off < len; off += stride_pages * page) {
        ((volatile uint8_t *)base)[off + (n % 61)] = value;
        n++;
    }
    return n;
}
