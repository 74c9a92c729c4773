/* tests/native_helpers/helpers.h - C helpers for the tracker tests (tests/test_tracker.py,
 * tests/test_faults.py): foreign SIGSEGV handlers, write patterns, and windows into the tracking
 * layer's internals. Built with a copy of the tracking layer into the test-only cffi module
 * _glctest (see build.py); never part of the shipped libraries.
 */
#ifndef GLC_TEST_HELPERS_H
#define GLC_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "track/tracker.h"

/* Install a SIGSEGV handler that resolves write faults in [addr, addr + len) by making that
 * range writable, counts every call, and passes every other fault to the handler it displaced
 * (called the way the kernel would). Returns 0 or -errno. Re-installing replaces the range and
 * chains to whatever is installed at that time. */
int glc_test_install_foreign_segv_handler(void *addr, size_t len);
/* Calls of that handler: total, and those it resolved itself. */
unsigned long glc_test_foreign_segv_calls(void);
unsigned long glc_test_foreign_segv_own(void);

/* Pseudo-random 4-byte writes (value = tag << 24 | counter) at random offsets of
 * [base, base + len), `iters` of them. Deterministic for a seed. Returns iters. */
uint64_t glc_test_random_writes(void *base, size_t len, uint64_t seed, uint64_t iters,
                                uint32_t tag);

/* Records of rec_bytes (filled with tag << 24 | counter) appended at a cursor that wraps
 * around [base, base + len), `count` of them: a ring writer. Returns count. */
uint64_t glc_test_ring_writes(void *base, size_t len, size_t rec_bytes, uint64_t count,
                              uint32_t tag);

/* A SIGSEGV handler that escapes with siglongjmp when armed (else chains to the one it
 * displaced), and a probe that writes one byte at addr: 1 if that faulted, 0 if not. */
int glc_test_install_jmp_probe_handler(void);
int glc_test_jmp_probe(void *addr);

/* sigsegv.c internals the tests look at (sigsegv.h stays out of the binding). */
int glc_test_segv_installed(void);            /* our SIGSEGV handler is the installed one */
int glc_test_segv_ensure_installed(void);     /* glc_segv_ensure_installed() */
unsigned long glc_test_segv_reinstalls(void); /* times the handler had to be put back */
unsigned glc_test_segv_max_window(void);      /* GLC_SEGV_MAX_WINDOW */
void glc_test_set_max_map_count(long n);      /* pretend vm.max_map_count is n (<= 0: real) */

/* Registry of the SIGSEGV handler (sigsegv.c): 1 if this copy serves itself, the registry in
 * use (an opaque pointer, equal across copies that share one), the serving handler. */
int glc_test_segv_serves_itself(void);
const void *glc_test_segv_registry(void);
void *glc_test_segv_handler(void);

/* glc_region_collect with a callback that copies each dirty run from src to dst (same offsets),
 * i.e. what a shadow flush does. Returns what collect returned. */
long glc_test_collect_copy(glc_region *r, const void *src, void *dst);

/* The same through the SIGSEGV registry that the already loaded module at `path` uses (e.g.
 * glcoherent._native): that module's copy of the core then sees the pressure. 0 or -ENOENT. */
int glc_test_set_max_map_count_of(const char *path, long n);

#endif
