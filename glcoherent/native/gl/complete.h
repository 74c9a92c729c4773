/* gl/complete.h - GPU results that arrive without GL traffic (GL layer, internal).
 *
 * Copy-back normally happens inside wrapped GL calls (sync points, and the polling fence any
 * wrapped call checks). A program that waits for a GPU result by spinning on a coherent mapping
 * with no further GL call (wined3d's GetData(DONOTFLUSH) loop; a driver that completes work
 * asynchronously) would never see it. One completion thread per instance closes that gap: while
 * some mapping has pending GPU writes, it brings the pending byte ranges back from the driver's
 * mapping (byte exact, as at a sync point) at growing intervals (1 ms, doubling to 64 ms,
 * starting over at each new GPU write), so a result written after the program's last GL call
 * reaches the shadow within about 64 ms of completing. It never makes a GL call and never
 * touches a context. When nothing is pending it sleeps on a condition variable: no cost. It is
 * stopped at process exit before the driver's own exit handlers run.
 *
 * Pending ranges larger than GLC_COMPLETE_MAX_BYTES (unknown shader writes to big buffers) are
 * left to the sync points: re-reading them every few milliseconds would cost more than it buys.
 */
#ifndef GLC_GL_COMPLETE_H
#define GLC_GL_COMPLETE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#define GLC_COMPLETE_MAX_BYTES ((size_t)4 << 20)

typedef struct glc_completion {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    int started;          /* under lock */
    int stop;             /* under lock */
    int kicked;           /* under lock: a new GPU write since the thread last looked */
    unsigned napping_ms;  /* under lock: the timed wait the thread is in (0: none) */
    atomic_ulong passes;  /* background copy-back passes that found pending ranges */
} glc_completion;

struct glcoherent_instance;

void glc_completion_init(glc_completion *cp);
/* A GPU write became pending: start the thread on first use, wake it if it sleeps. */
void glc_completion_kick(struct glcoherent_instance *inst);
/* Stop and join the thread; it is not started again. */
void glc_completion_stop(glc_completion *cp);
/* glc_completion_stop, then free what init set up (instance destruction). */
void glc_completion_fini(glc_completion *cp);
/* Process exit (atexit, registered when the first thread starts): stop every instance's
 * thread before the driver tears its mappings down. Defined by the GL layer (gl_layer.c),
 * which owns the list of instances. */
void glc_completion_stop_all(void);

#endif
