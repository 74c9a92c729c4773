/* base/vmem.h [base layer] - what this process's own memory holds without reading it.
 *
 * A new mapping of a big buffer must be loaded into its shadow, but most of a fresh buffer
 * was never touched: the driver's private anonymous memory behind it has no page yet and reads
 * as zero. Reading it to find that out costs a page fault per 4 KiB page (about 15 ms for
 * 64 MiB here) and leaves the zero page mapped where the driver will write next. This module
 * asks the kernel instead: /proc/self/maps says whether the range is private anonymous memory,
 * /proc/self/pagemap which of its pages exist (present or swapped out); every other page is
 * zero. No state; thread-safe. Depends on nothing in glcoherent.
 */
#ifndef GLC_BASE_VMEM_H
#define GLC_BASE_VMEM_H

#include <stddef.h>

/* Called with each run [off, off + len) of the range, relative to its start, that may hold
 * non-zero bytes (runs ascend and never overlap; page granular, clipped to the range). */
typedef void (*glc_vmem_run_fn)(void *user, size_t off, size_t len);

/* Report the runs of [p, p + len) that may hold non-zero bytes: 0 when every byte outside the
 * reported runs is zero; -ENOTSUP when that cannot be shown (not private anonymous memory, no
 * /proc), and then nothing was reported. Below GLC_VMEM_MIN_BYTES the question costs more than
 * reading the bytes: -ENOTSUP. */
#define GLC_VMEM_MIN_BYTES ((size_t)1 << 20)
int glc_vmem_populated(const void *p, size_t len, glc_vmem_run_fn fn, void *user);

#endif
