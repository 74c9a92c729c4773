/* gl/complete.c - see gl/complete.h. */
#include "gl/complete.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gl/layer.h"

void glc_completion_init(glc_completion *cp)
{
    memset(cp, 0, sizeof *cp);
    pthread_mutex_init(&cp->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&cp->wake, &attr);
    pthread_condattr_destroy(&attr);
}

/* Wait (cp->lock held) until `ms` have passed, a kick, or stop. */
static void wait_ms(glc_completion *cp, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    while (!cp->stop && !cp->kicked)
        if (pthread_cond_timedwait(&cp->wake, &cp->lock, &until) == ETIMEDOUT)
            break;
}

static void *completion_main(void *arg)
{
    glcoherent_instance *inst = arg;
    glc_completion *cp = &inst->completion;
    unsigned interval = 1; /* ms to the next pass; 0: nothing to watch, sleep until kicked */
    void *scratch = malloc(GLC_COMPLETE_MAX_BYTES);
    if (!scratch) {
        glc_log(inst, GLC_LOG_WARN, "no memory for the completion thread; GPU results arrive "
                "at GL calls only");
        return NULL;
    }
    pthread_mutex_lock(&cp->lock);
    while (!cp->stop) {
        if (cp->kicked) {
            cp->kicked = 0;
            interval = 1;
        }
        if (interval == 0) {
            pthread_cond_wait(&cp->wake, &cp->lock);
            continue;
        }
        cp->napping_ms = interval;
        wait_ms(cp, interval);
        cp->napping_ms = 0;
        if (cp->stop)
            break;
        pthread_mutex_unlock(&cp->lock);
        int watched = glc_refresh_pending(inst, scratch, GLC_COMPLETE_MAX_BYTES);
        if (watched > 0)
            atomic_fetch_add(&cp->passes, 1);
        pthread_mutex_lock(&cp->lock);
        if (watched < 0) {
            glc_log(inst, GLC_LOG_WARN, "the completion thread cannot read the driver's mappings "
                    "safely here (process_vm_readv: %s); GPU results arrive at GL calls only",
                    strerror(-watched));
            break;
        }
        interval = watched > 0 ? (interval < 64 ? interval * 2 : 64) : 0;
    }
    pthread_mutex_unlock(&cp->lock);
    free(scratch);
    return NULL;
}

static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void register_exit_stop(void)
{
    /* Registered when the first thread starts, i.e. after the driver set up its own exit
     * handlers: ours runs before them, so no thread reads a driver mapping being torn down. */
    atexit(glc_completion_stop_all);
}

void glc_completion_kick(glcoherent_instance *inst)
{
    glc_completion *cp = &inst->completion;
    pthread_mutex_lock(&cp->lock);
    cp->kicked = 1;
    if (!cp->started && !cp->stop) {
        pthread_once(&exit_once, register_exit_stop);
        /* Signals stay with the application's threads. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&cp->thread, NULL, completion_main, inst) == 0)
            cp->started = 1;
        else
            glc_log(inst, GLC_LOG_WARN, "cannot start the completion thread; GPU results arrive at GL "
                    "calls only");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    } else if (cp->napping_ms != 1) {
        /* Asleep, or in a long wait: wake it. In a 1 ms wait it looks soon enough anyway,
         * and a program writing query results every few microseconds would otherwise wake
         * it (a context switch) for each. */
        pthread_cond_signal(&cp->wake);
    }
    pthread_mutex_unlock(&cp->lock);
}

void glc_completion_stop(glc_completion *cp)
{
    pthread_mutex_lock(&cp->lock);
    cp->stop = 1;
    int started = cp->started;
    cp->started = 0;
    pthread_cond_signal(&cp->wake);
    pthread_mutex_unlock(&cp->lock);
    if (started && !pthread_equal(cp->thread, pthread_self()))
        pthread_join(cp->thread, NULL);
}

void glc_completion_fini(glc_completion *cp)
{
    glc_completion_stop(cp);
    pthread_cond_destroy(&cp->wake);
    pthread_mutex_destroy(&cp->lock);
}
