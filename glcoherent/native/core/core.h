/* core/core.h [core layer] - what the core layer offers the GL layer above it.
 *
 * The core knows nothing of GL. It offers:
 *   - the low arena (arena.h): address space below a limit, sub-allocated in page-aligned
 *     ranges, or a host-supplied allocator;
 *   - shadows (shadow.h): a low-address view of one mapped buffer range, its write tracking
 *     (through the tracking layer, track/tracker.h), flush, copy-back and byte-exact merge;
 *   - the adaptive policy (policy.h): every decision about how a shadow is tracked.
 * Nothing here aborts: running out of low memory is an ordinary error.
 */
#ifndef GLC_CORE_H
#define GLC_CORE_H
#include "core/arena.h"
#include "core/policy.h"
#include "core/shadow.h"
#endif
