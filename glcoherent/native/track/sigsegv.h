/* track/sigsegv.h [tracking layer] - the process-wide SIGSEGV handler behind the mprotect
 * tracker.
 *
 * Callers own glc_segv_range records (embedded in their regions) and register them here. The
 * handler looks the faulting address up in a sorted table published atomically; writers
 * (add/remove/re-install) are serialised by a mutex and free an old table only once no handler
 * can still be reading it (two reader counters flipped by an epoch, as in userspace RCU), so the
 * handler takes no lock and allocates nothing.
 *
 * A range (GLC_SEGV_TRACK, the only kind) keeps a per-page dirty bitmap: a write fault to a
 * PROT_READ page makes a window of pages writable (1 page, doubling for sequential writers up
 * to GLC_SEGV_MAX_WINDOW), THEN sets their dirty bits, then maybe_dirty.
 *
 * Faults that are not SEGV_ACCERR inside a registered range go to the previous handler, exactly
 * as the kernel would have delivered them (SA_SIGINFO handler, plain handler, or the default
 * action, by restoring SIG_DFL and letting the fault repeat / re-raising). A handler installed
 * later that displaces ours is detected by glc_segv_ensure_installed() (called at collect time):
 * ours goes back on top and chains to the displacer, which usually chains back to us; a
 * per-thread depth counter then routes that call further down the chain, so there is no loop
 * (a depth left behind by a chained handler that escaped with siglongjmp is recognised from the
 * stack position and ucontext and ignored).
 *
 * Our handler is installed with SA_SIGINFO | SA_ONSTACK | SA_NODEFER: SA_NODEFER so that a
 * displacer which chains by restoring the previous handler and raising (Python's faulthandler)
 * re-enters us at once, while the depth still says where we are in the chain.
 *
 * One registry per process: this file is compiled into several binaries (the cffi module,
 * libglcoherent.so, libglcoherent_preload.so) that may be loaded together. Each exports
 * glcoherent_segv_registry_v1(), which returns the registry that copy uses (a table of
 * functions plus the ABI it expects). At first use a copy looks for another copy's registry,
 * first through dlsym(RTLD_DEFAULT) (finds copies loaded RTLD_GLOBAL, e.g. preloaded), then
 * through the installed SIGSEGV handler's object (finds a copy that already serves, even one
 * loaded RTLD_LOCAL like a Python extension); if one is found with the same ABI it delegates
 * every call to it (and pins that object), else it serves itself. glc_segv_range is part of
 * that ABI: change it (or the handler's semantics) and GLC_SEGV_ABI must change.
 */
#ifndef GLC_SIGSEGV_H
#define GLC_SIGSEGV_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

enum {
    GLC_SEGV_TRACK = 1,
};

/* Largest window (pages) unprotected by one fault of a sequential writer. */
enum { GLC_SEGV_MAX_WINDOW = 64 };

/* Bumped whenever glc_segv_range or the handler's treatment of it changes. */
#define GLC_SEGV_ABI 4u

typedef struct glc_segv_range {
    uintptr_t start;               /* page aligned */
    uintptr_t end;                 /* page aligned, exclusive */
    size_t npages;
    unsigned page_shift;
    int kind;                      /* GLC_SEGV_TRACK */
    _Atomic uint64_t *bits;        /* one bit per page, set by the handler */
    atomic_int maybe_dirty;        /* set by the handler after unprotecting */
    atomic_int degraded;           /* the whole range was left writable (VMA limit) */
    atomic_ulong faults;           /* faults handled for this range */
    atomic_size_t last_page;       /* last page of the previous window (SIZE_MAX: none) */
    atomic_size_t window;          /* size of the previous window */
} glc_segv_range;

/* 1 if SIGSEGV handlers can be queried and installed (sigaction works). */
int glc_segv_available(void);

/* Register r (fields start..bits filled by the caller; the atomics are initialised
 * here). Installs the handler on first use. The caller protects the memory AFTER this returns.
 * Returns 0 or -errno. */
int glc_segv_add(glc_segv_range *r);

/* Unregister r; on return no handler is using r any more. The caller makes the memory writable
 * BEFORE calling this. */
void glc_segv_remove(glc_segv_range *r);

/* Check that our handler is the installed one; if something displaced it, put ours back on top
 * and chain to the displacer. Returns 0 if nothing was needed, 1 if re-installed, or -errno.
 * Costs one sigaction() query. */
int glc_segv_ensure_installed(void);

/* The kernel is about to write [addr, addr + len) (read(2), recv(2) straight into a mapped
 * pointer): make every tracked page there writable and count it as written, as a user write
 * would. Pages of no registered range are left alone. Keeps errno. Returns the pages prepared.
 * Lock free (callable from any thread, at any time). */
size_t glc_segv_prepare_write(void *addr, size_t len);

/* Lines of /proc/self/maps: the process's VMA count (-1 if unreadable). Not signal safe. */
long glc_count_mappings(void);

/* What glcoherent_segv_registry_v1() returns: the registry ABI between copies. The first two
 * fields never move: a copy checks them before using the rest. */
typedef struct glc_segv_registry_v1 {
    uint32_t abi;        /* GLC_SEGV_ABI */
    uint32_t range_size; /* sizeof(glc_segv_range) */
    void *handler;       /* the SIGSEGV handler of the serving copy */
    int (*add)(glc_segv_range *r);
    void (*remove)(glc_segv_range *r);
    int (*ensure_installed)(void);
    int (*installed)(void);
    unsigned long (*reinstalls)(void);
    int (*vma_pressure)(void);
    void (*set_max_map_count)(long n);
    size_t (*prepare_write)(uintptr_t addr, size_t len);
} glc_segv_registry_v1;

/* 1 while our handler is the one installed for SIGSEGV. */
int glc_segv_installed(void);

/* How many times ensure_installed() had to put the handler back. */
unsigned long glc_segv_reinstalls(void);

/* Called at collect time by the mprotect tracker: 1 when the process mapping count is above
 * 80 % of vm.max_map_count (counted from /proc/self/maps only when a cheap estimate, grown by
 * every handled fault, crosses that line). */
int glc_segv_vma_pressure(void);

/* Tests: pretend vm.max_map_count is n (n <= 0: read the real value again). */
void glc_segv_test_set_max_map_count(long n);

/* Tests: the registry in use (shared by every copy that delegates to it), whether this copy
 * serves itself (1) or delegates (0), and the handler function of the serving copy. */
const void *glc_segv_registry(void);
int glc_segv_serves_itself(void);
void *glc_segv_handler_address(void);

#endif
