/* track/sigsegv.c [tracking layer] - process-wide SIGSEGV handler and table of write-watched
 * ranges (see sigsegv.h).
 *
 * The SIGSEGV disposition is per process, so the table of watched ranges is too (one per
 * process even across copies of this file, see sigsegv.h); the other process-wide state of the
 * tracking layer is small and set once (tracker.c: the probes, the fork generation, the page
 * size).
 *
 * Reader side (the handler, async-signal-safe): bump g_readers[epoch & 1], load g_table, look up,
 * act, drop the count. No locks, no allocation, errno preserved. The count is dropped BEFORE a
 * chained handler runs, so a handler that never returns (siglongjmp) cannot block writers.
 *
 * Writer side (add/remove/re-install, under g_lock): build a new table, publish it with one
 * atomic store, then wait for the readers that may hold the old one: flip the epoch and wait for
 * the old parity's counter to drain, twice (a reader that loaded the epoch before a flip but
 * incremented after the check loads the table after the check, so it sees the new one). New
 * readers always go to the other counter, so a writer cannot be starved by a stream of faults.
 *
 * The public functions go through reg(): the registry this copy resolved at first use (its own,
 * g_local, or another copy's; see sigsegv.h). Everything named local_* acts on this copy's own
 * table and handler and is only reached through g_local.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "track/sigsegv.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the handler needs lock-free 64-bit atomics");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the handler needs lock-free int atomics");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "the handler needs lock-free long atomics");
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "the handler needs lock-free pointer atomics");

/* Longest chain of displaced handlers remembered (the oldest entries are dropped). */
#define GLC_SEGV_MAX_CHAIN 8

typedef struct glc_segv_table {
    size_t n;
    int nchain;
    /* chain[0]: where a fault that is not ours goes first; chain[d]: where it goes when our
     * handler is re-entered at depth d (a displacer calling its previous handler, i.e. us). */
    struct sigaction chain[GLC_SEGV_MAX_CHAIN];
    glc_segv_range *ranges[]; /* sorted by start, non-overlapping */
} glc_segv_table;

static _Atomic(glc_segv_table *) g_table;
static atomic_uint g_epoch;
static atomic_long g_readers[2];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_ever_installed; /* under g_lock */
static atomic_ulong g_reinstalls;

/* Depth of our handler in the chain on this thread (see sigsegv.h), with the frame address and
 * ucontext of each active level. initial-exec: a TLS access from a signal handler must not
 * allocate, which the dynamic TLS model may do in a dlopen'ed module on first use. */
#define GLC_TLS __attribute__((tls_model("initial-exec")))
static _Thread_local int t_depth GLC_TLS;
static _Thread_local uintptr_t t_frame[GLC_SEGV_MAX_CHAIN + 1] GLC_TLS;
static _Thread_local void *t_uc[GLC_SEGV_MAX_CHAIN + 1] GLC_TLS;

/* Mapping count estimate (see glc_segv_vma_pressure). */
static atomic_long g_vma_base = -1;
static atomic_long g_vma_growth;
static atomic_long g_max_map;
static atomic_long g_max_map_override;

static void segv_handler(int sig, siginfo_t *si, void *uc);
static void *pin_object_of(const void *addr);

/* Ranges removed lately. A write fault raised just before the owner made its range writable and
 * removed it reaches the handler after the removal, when the table no longer knows the address:
 * the access is fine by then, and retrying it is the right answer. local_remove records a range
 * here before it publishes the table without it; the handler retries a fault in a recorded range
 * once per address (a second fault at the same address is a real one and goes down the chain). */
#define GLC_SEGV_RECENT 16
static _Atomic uintptr_t g_recent_start[GLC_SEGV_RECENT], g_recent_end[GLC_SEGV_RECENT];
static atomic_uint g_recent_next;
static _Thread_local uintptr_t t_retried GLC_TLS;

static int recently_removed(uintptr_t addr)
{
    for (unsigned i = 0; i < GLC_SEGV_RECENT; i++) {
        uintptr_t start = atomic_load_explicit(&g_recent_start[i], memory_order_acquire);
        uintptr_t end = atomic_load_explicit(&g_recent_end[i], memory_order_acquire);
        if (start <= addr && addr < end)
            return 1;
    }
    return 0;
}

static void remember_removed(const glc_segv_range *r)
{
    unsigned k = atomic_fetch_add(&g_recent_next, 1) % GLC_SEGV_RECENT;
    atomic_store_explicit(&g_recent_end[k], 0, memory_order_release);
    atomic_store_explicit(&g_recent_start[k], r->start, memory_order_release);
    atomic_store_explicit(&g_recent_end[k], r->end, memory_order_release);
}

/* ---------------------------------------------------------------- handler side */

static glc_segv_range *table_find(const glc_segv_table *t, uintptr_t addr)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ranges[mid]->start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    glc_segv_range *r = t->ranges[lo - 1];
    return addr < r->end ? r : NULL;
}

static void set_bits(_Atomic uint64_t *bits, size_t first, size_t count)
{
    while (count) {
        size_t w = first / 64, b = first % 64;
        size_t n = 64 - b < count ? 64 - b : count;
        uint64_t mask = (n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1)) << b;
        atomic_fetch_or_explicit(&bits[w], mask, memory_order_release);
        first += n;
        count -= n;
    }
}

/* Make the window [page, page + win) writable, then set its dirty bits. */
static int track_open(glc_segv_range *r, size_t page, size_t win)
{
    /* Unprotect first, then record: a collect that takes the bits after this point re-protects
     * these pages; one that took them before has already re-protected or will re-protect after
     * our unprotect only if it took them (then it reports them). */
    void *p = (void *)(r->start + (page << r->page_shift));
    if (mprotect(p, win << r->page_shift, PROT_READ | PROT_WRITE) != 0) {
        /* Out of mappings (ENOMEM) most likely: leave the whole range writable, which merges
         * its mappings back into one, and let collect report it whole from now on. */
        if (mprotect((void *)r->start, r->end - r->start, PROT_READ | PROT_WRITE) != 0)
            return 0;
        atomic_store(&r->degraded, 1);
        atomic_store(&r->maybe_dirty, 1);
        atomic_fetch_add_explicit(&r->faults, 1, memory_order_relaxed);
        return 1;
    }
    set_bits(r->bits, page, win);
    atomic_store_explicit(&r->window, win, memory_order_relaxed);
    atomic_store_explicit(&r->last_page, page + win - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_vma_growth, 2, memory_order_relaxed);
    atomic_store(&r->maybe_dirty, 1);
    atomic_fetch_add_explicit(&r->faults, 1, memory_order_relaxed);
    return 1;
}

/* 1 if the fault was ours and is resolved (the access can be retried). */
static int handle_range(glc_segv_range *r, uintptr_t addr)
{
    size_t page = (addr - r->start) >> r->page_shift;
    size_t last = atomic_load_explicit(&r->last_page, memory_order_relaxed);
    size_t win = 1;
    if (last != SIZE_MAX && page == last + 1) {
        win = atomic_load_explicit(&r->window, memory_order_relaxed) * 2;
        if (win > GLC_SEGV_MAX_WINDOW)
            win = GLC_SEGV_MAX_WINDOW;
        if (win == 0)
            win = 1;
    }
    if (win > r->npages - page)
        win = r->npages - page;

    return track_open(r, page, win);
}

/* Before the kernel writes [addr, addr + len) (read(2) straight into a tracked mapping): every
 * page of a registered range in it gets what a user write there would get from the handler (a
 * window made writable and recorded as written), in one window per range, so the kernel finds
 * the pages writable instead of failing with EFAULT, and the bytes count as client writes.
 * Uses only the lock-free table and mprotect, like the handler. Returns the pages prepared. */
static size_t local_prepare_write(uintptr_t addr, size_t len)
{
    if (!len || addr + len < addr)
        return 0;
    unsigned idx = atomic_load(&g_epoch) & 1u;
    atomic_fetch_add(&g_readers[idx], 1);
    glc_segv_table *t = atomic_load(&g_table);
    uintptr_t end = addr + len;
    size_t pages = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        glc_segv_range *r = t->ranges[i];
        if (r->end <= addr || r->start >= end)
            continue;
        uintptr_t lo = addr > r->start ? addr : r->start;
        uintptr_t hi = end < r->end ? end : r->end;
        size_t first = (lo - r->start) >> r->page_shift;
        size_t n = ((hi - 1 - r->start) >> r->page_shift) - first + 1;
        if (track_open(r, first, n))
            pages += n;
    }
    atomic_fetch_sub(&g_readers[idx], 1);
    return pages;
}

/* Deliver to `next` as the kernel would have. */
static void call_next(const struct sigaction *next, int sig, siginfo_t *si, void *uc)
{
    void (*h)(int) = next->sa_handler;
    if (h != SIG_DFL && h != SIG_IGN) {
        if (next->sa_flags & SA_SIGINFO)
            next->sa_sigaction(sig, si, uc);
        else
            h(sig);
        return;
    }
    int from_user = !si || si->si_code <= 0; /* kill/raise/sigqueue: will not repeat */
    if (h == SIG_IGN && from_user)
        return;
    /* Default action (an ignored SIGSEGV raised by a fault is fatal too: the kernel forces
     * the default in that case). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (from_user) {
        raise(sig);
        return;
    }
    /* A real fault: returning re-executes the access, which now takes the default action. */
}

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    unsigned idx = atomic_load(&g_epoch) & 1u;
    atomic_fetch_add(&g_readers[idx], 1);
    glc_segv_table *t = atomic_load(&g_table);

    if (si && si->si_code == SEGV_ACCERR) {
        uintptr_t addr = (uintptr_t)si->si_addr;
        glc_segv_range *r = t ? table_find(t, addr) : NULL;
        int resolved = r && handle_range(r, addr);
        if (!r && t_retried != addr && recently_removed(addr)) {
            t_retried = addr; /* its range went away under the fault: retry the access once */
            resolved = 1;
        } else if (resolved) {
            t_retried = 0;
        }
        if (resolved) {
            atomic_fetch_sub(&g_readers[idx], 1);
            errno = saved_errno;
            return;
        }
    }

    /* Are we really nested inside our own chaining (a displacer calling "its previous
     * handler", i.e. us, directly with the arguments we gave it, or restoring us and raising)?
     * A depth left over by a chained handler that never returned (siglongjmp) must not count:
     * a nested call runs strictly below the outer one on the stack and either passes the same
     * ucontext or comes from raise(). */
    int depth = t_depth;
    uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
    if (depth > 0) {
        int nested = depth <= GLC_SEGV_MAX_CHAIN && frame < t_frame[depth - 1] &&
                     (uc == t_uc[depth - 1] || (si && si->si_code <= 0));
        if (!nested)
            depth = 0;
    }

    struct sigaction next;
    if (t && depth < t->nchain) {
        next = t->chain[depth];
    } else {
        memset(&next, 0, sizeof next);
        next.sa_handler = SIG_DFL;
    }
    atomic_fetch_sub(&g_readers[idx], 1);

    if (depth <= GLC_SEGV_MAX_CHAIN) {
        t_frame[depth] = frame;
        t_uc[depth] = uc;
    }
    t_depth = depth + 1;
    call_next(&next, sig, si, uc);
    t_depth = depth;
    errno = saved_errno;
}

/* ---------------------------------------------------------------- writer side (g_lock held) */

static void synchronize_readers(void)
{
    for (int i = 0; i < 2; i++) {
        unsigned old = atomic_fetch_add(&g_epoch, 1u);
        while (atomic_load(&g_readers[old & 1u]) != 0)
            sched_yield();
    }
}

static void publish(glc_segv_table *nt)
{
    glc_segv_table *old = atomic_exchange(&g_table, nt);
    synchronize_readers();
    free(old);
}

static glc_segv_table *table_alloc(size_t n)
{
    return calloc(1, sizeof(glc_segv_table) + n * sizeof(glc_segv_range *));
}

static glc_segv_table *table_copy(const glc_segv_table *t, size_t n_extra)
{
    size_t n = t ? t->n : 0;
    glc_segv_table *nt = table_alloc(n + n_extra);
    if (!nt)
        return NULL;
    if (t) {
        nt->n = t->n;
        nt->nchain = t->nchain;
        memcpy(nt->chain, t->chain, sizeof nt->chain);
        memcpy(nt->ranges, t->ranges, t->n * sizeof(glc_segv_range *));
    }
    return nt;
}

static int is_ours(const struct sigaction *sa)
{
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == segv_handler;
}

static int is_terminal(const struct sigaction *sa)
{
    return sa->sa_handler == SIG_DFL || sa->sa_handler == SIG_IGN;
}

static int same_action(const struct sigaction *a, const struct sigaction *b)
{
    return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags;
}

/* New table: same ranges, chain = [head] + current chain (only [head] when head is terminal). */
static int publish_chain(const struct sigaction *head, int replace_head)
{
    glc_segv_table *t = atomic_load(&g_table);
    glc_segv_table *nt = table_copy(t, 0);
    if (!nt)
        return -ENOMEM;
    struct sigaction old[GLC_SEGV_MAX_CHAIN];
    int nold = nt->nchain;
    memcpy(old, nt->chain, sizeof old);
    int skip = replace_head && nold > 0 ? 1 : 0;
    nt->chain[0] = *head;
    nt->nchain = 1;
    if (!is_terminal(head)) {
        for (int i = skip; i < nold && nt->nchain < GLC_SEGV_MAX_CHAIN; i++)
            nt->chain[nt->nchain++] = old[i];
    }
    publish(nt);
    return 0;
}

/* Put our handler on top. Returns 0 if it already was, 1 if installed, or -errno. */
static int install_locked(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return -errno;
    if (is_ours(&cur))
        return 0;
    /* The chain must be in place before our handler can run. */
    int rc = publish_chain(&cur, 0);
    if (rc)
        return rc;
    struct sigaction sa, prev;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = segv_handler;
    /* SA_NODEFER: a displacer that "calls the previous handler" by restoring it and raising
     * (Python's faulthandler) re-enters us at once, at depth 1, instead of after we return. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev) != 0)
        return -errno;
    if (!same_action(&prev, &cur) && !is_ours(&prev)) {
        /* Someone changed the disposition between our query and our install. */
        rc = publish_chain(&prev, 1);
        if (rc)
            return rc;
    }
    return 1;
}

int glc_segv_available(void)
{
    struct sigaction cur;
    return sigaction(SIGSEGV, NULL, &cur) == 0;
}

static int local_add(glc_segv_range *r)
{
    if (!r->bits)
        return -EINVAL;
    atomic_init(&r->maybe_dirty, 0);
    atomic_init(&r->degraded, 0);
    atomic_init(&r->faults, 0);
    atomic_init(&r->last_page, SIZE_MAX);
    atomic_init(&r->window, 0);

    pthread_mutex_lock(&g_lock);
    glc_segv_table *t = atomic_load(&g_table);
    size_t n = t ? t->n : 0, pos = 0;
    while (pos < n && t->ranges[pos]->start < r->start)
        pos++;
    if ((pos < n && t->ranges[pos]->start < r->end) ||
        (pos > 0 && t->ranges[pos - 1]->end > r->start)) {
        pthread_mutex_unlock(&g_lock);
        return -EBUSY;
    }
    glc_segv_table *nt = table_copy(t, 1);
    if (!nt) {
        pthread_mutex_unlock(&g_lock);
        return -ENOMEM;
    }
    memmove(&nt->ranges[pos + 1], &nt->ranges[pos], (n - pos) * sizeof(glc_segv_range *));
    nt->ranges[pos] = r;
    nt->n = n + 1;
    publish(nt);

    int rc = install_locked();
    if (rc < 0) {
        glc_segv_table *cur = atomic_load(&g_table);
        glc_segv_table *back = table_copy(cur, 0);
        if (back) {
            size_t j = 0;
            for (size_t i = 0; i < cur->n; i++)
                if (cur->ranges[i] != r)
                    back->ranges[j++] = cur->ranges[i];
            back->n = j;
            publish(back);
        }
        pthread_mutex_unlock(&g_lock);
        return rc;
    }
    if (rc == 1 && g_ever_installed)
        atomic_fetch_add(&g_reinstalls, 1);
    int first = !g_ever_installed;
    g_ever_installed = 1;
    pthread_mutex_unlock(&g_lock);
    /* Our handler must never be unloaded. Outside g_lock: dlopen takes the loader lock, under
     * which a constructor could be waiting for g_lock. */
    if (first)
        pin_object_of((const void *)segv_handler);
    return 0;
}

static void local_remove(glc_segv_range *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&g_lock);
    glc_segv_table *t = atomic_load(&g_table);
    if (t) {
        glc_segv_table *nt;
        /* Never leave a pointer to r behind: retry until the (small) table can be built. */
        while (!(nt = table_copy(t, 0)))
            sched_yield();
        size_t j = 0;
        for (size_t i = 0; i < t->n; i++)
            if (t->ranges[i] != r)
                nt->ranges[j++] = t->ranges[i];
        nt->n = j;
        remember_removed(r); /* before the table without r: see recently_removed */
        publish(nt);
    }
    pthread_mutex_unlock(&g_lock);
}

static int local_installed(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return 0;
    return is_ours(&cur);
}

static int local_ensure_installed(void)
{
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0)
        return -errno;
    if (is_ours(&cur))
        return 0;
    pthread_mutex_lock(&g_lock);
    int rc = install_locked();
    if (rc == 1) {
        g_ever_installed = 1;
        atomic_fetch_add(&g_reinstalls, 1);
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static unsigned long local_reinstalls(void)
{
    return atomic_load(&g_reinstalls);
}

/* ---------------------------------------------------------------- mapping count */

static long read_long_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *end;
    long v = strtol(buf, &end, 10);
    return end == buf ? -1 : v;
}

long glc_count_mappings(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[16384];
    long lines = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    }
    close(fd);
    return lines;
}

static long max_map_count(void)
{
    long o = atomic_load(&g_max_map_override);
    if (o > 0)
        return o;
    long m = atomic_load(&g_max_map);
    if (m <= 0) {
        m = read_long_file("/proc/sys/vm/max_map_count");
        if (m <= 0)
            m = 65530;
        atomic_store(&g_max_map, m);
    }
    return m;
}

static int local_vma_pressure(void)
{
    long limit = max_map_count() / 5 * 4;
    long base = atomic_load(&g_vma_base);
    long growth = atomic_load(&g_vma_growth);
    /* Every handled fault adds 2 to the estimate (a page made writable inside a read-only
     * mapping splits it in three); re-protecting merges them back, which only a recount sees. */
    if (base >= 0 && base + growth <= limit)
        return 0;
    long c = glc_count_mappings();
    if (c < 0)
        return 0;
    atomic_fetch_sub(&g_vma_growth, growth);
    atomic_store(&g_vma_base, c);
    return c > limit;
}

static void local_set_max_map_count(long n)
{
    atomic_store(&g_max_map_override, n > 0 ? n : 0);
    atomic_store(&g_vma_base, -1);
}

/* ---------------------------------------------------------------- one registry per process */

typedef const glc_segv_registry_v1 *(*glc_segv_entry_fn)(void);

static const glc_segv_registry_v1 g_local = {
    .abi = GLC_SEGV_ABI,
    .range_size = (uint32_t)sizeof(glc_segv_range),
    .handler = (void *)segv_handler,
    .add = local_add,
    .remove = local_remove,
    .ensure_installed = local_ensure_installed,
    .installed = local_installed,
    .reinstalls = local_reinstalls,
    .vma_pressure = local_vma_pressure,
    .set_max_map_count = local_set_max_map_count,
    .prepare_write = local_prepare_write,
};

static _Atomic(const glc_segv_registry_v1 *) g_reg;
static _Thread_local int t_resolving;

static const glc_segv_registry_v1 *resolve(void);

/* Exported (the only symbol of this file that is): the registry this copy uses. Never called
 * by name from inside this file: in a module without -Bsymbolic that name may bind to another
 * copy. */
__attribute__((visibility("default"))) const glc_segv_registry_v1 *
glcoherent_segv_registry_v1(void);

const glc_segv_registry_v1 *glcoherent_segv_registry_v1(void)
{
    const glc_segv_registry_v1 *r = atomic_load_explicit(&g_reg, memory_order_acquire);
    return r ? r : resolve();
}

static const glc_segv_registry_v1 *reg(void)
{
    const glc_segv_registry_v1 *r = atomic_load_explicit(&g_reg, memory_order_acquire);
    return r ? r : resolve();
}

/* Keep the object that defines addr loaded for good (we are going to call into it). */
static void *pin_object_of(const void *addr)
{
    Dl_info info;
    if (!dladdr(addr, &info) || !info.dli_fname || !info.dli_fname[0])
        return NULL;
    return dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

/* Another copy's registry reached through entry, if it is usable; NULL otherwise. */
static const glc_segv_registry_v1 *other_registry(glc_segv_entry_fn entry)
{
    if (!entry)
        return NULL;
    const glc_segv_registry_v1 *r = entry();
    if (!r || r == &g_local || r->abi != GLC_SEGV_ABI ||
        r->range_size != (uint32_t)sizeof(glc_segv_range))
        return NULL;
    return r;
}

static const glc_segv_registry_v1 *find_other(void)
{
    /* 1. A copy in the global scope (preloaded, or loaded RTLD_GLOBAL before us). */
    glc_segv_entry_fn entry;
    void *sym = dlsym(RTLD_DEFAULT, "glcoherent_segv_registry_v1");
    memcpy(&entry, &sym, sizeof entry);
    const glc_segv_registry_v1 *r = other_registry(entry);
    if (r && pin_object_of(sym))
        return r;
    /* 2. The copy whose handler is installed (it already serves; it may be RTLD_LOCAL). */
    struct sigaction cur;
    if (sigaction(SIGSEGV, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO) ||
        (void *)cur.sa_sigaction == (void *)segv_handler)
        return NULL;
    void *h = pin_object_of((const void *)cur.sa_sigaction);
    if (!h)
        return NULL;
    sym = dlsym(h, "glcoherent_segv_registry_v1");
    memcpy(&entry, &sym, sizeof entry);
    r = other_registry(entry);
    if (r && r->handler == (void *)cur.sa_sigaction)
        return r;
    return NULL;
}

static const glc_segv_registry_v1 *resolve(void)
{
    /* Re-entered from another copy's lookup while we look (only a copy that found us through
     * the global scope can get here): serve ourselves for it; our own lookup then finds it
     * using our registry and settles on ours too. */
    if (t_resolving)
        return &g_local;
    /* No lock held while looking: dlsym/dlopen take the loader lock, under which a library
     * constructor could be calling into us. Two threads may both look; the first to publish
     * wins. */
    t_resolving = 1;
    const glc_segv_registry_v1 *found = find_other();
    t_resolving = 0;
    if (!found)
        found = &g_local;
    const glc_segv_registry_v1 *expected = NULL;
    if (!atomic_compare_exchange_strong(&g_reg, &expected, found))
        return expected;
    return found;
}

/* ---------------------------------------------------------------- public API (sigsegv.h) */

int glc_segv_add(glc_segv_range *r)
{
    if (!r || r->end <= r->start || r->kind != GLC_SEGV_TRACK)
        return -EINVAL;
    return reg()->add(r);
}

void glc_segv_remove(glc_segv_range *r)
{
    if (r)
        reg()->remove(r);
}

int glc_segv_ensure_installed(void)
{
    return reg()->ensure_installed();
}

int glc_segv_installed(void)
{
    return reg()->installed();
}

unsigned long glc_segv_reinstalls(void)
{
    return reg()->reinstalls();
}

int glc_segv_vma_pressure(void)
{
    return reg()->vma_pressure();
}

void glc_segv_test_set_max_map_count(long n)
{
    reg()->set_max_map_count(n);
}

size_t glc_segv_prepare_write(void *addr, size_t len)
{
    int saved = errno;
    size_t n = reg()->prepare_write((uintptr_t)addr, len);
    errno = saved;
    return n;
}

const void *glc_segv_registry(void)
{
    return reg();
}

int glc_segv_serves_itself(void)
{
    return reg() == &g_local;
}

void *glc_segv_handler_address(void)
{
    return reg()->handler;
}
