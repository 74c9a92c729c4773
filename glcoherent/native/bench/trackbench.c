/* bench/trackbench.c [bench module, not shipped] - tracking microbenchmark (see trackbench.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "bench/trackbench.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "track/sigsegv.h" /* glc_count_mappings */

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

/* Byte offsets of the pages in write order (shuffled when `random`); NULL without memory. */
static size_t *write_order(size_t pages, size_t page, int random)
{
    size_t *order = malloc(pages * sizeof *order);
    if (!order)
        return NULL;
    for (size_t i = 0; i < pages; i++)
        order[i] = i * page;
    if (random) {
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
    return order;
}

/* reps x (write every page in order, collect, collect again clean): per-page write time and
 * the two collect times of each repetition. 0 or the collect's -errno. */
static int time_reps(glc_region *r, volatile unsigned char *mem, const size_t *order,
                     size_t pages, size_t page, unsigned reps, double *w, double *cd, double *cc,
                     glc_trackbench_result *out)
{
    for (unsigned k = 0; k < reps; k++) {
        double t0 = now_ns();
        for (size_t i = 0; i < pages; i++)
            mem[order[i]] = (unsigned char)(k + 2);
        double t1 = now_ns();
        uint64_t reported = 0;
        long n = glc_region_collect(r, count_run, &reported);
        double t2 = now_ns();
        if (n < 0)
            return (int)n;
        out->pages_reported += reported / page;
        uint64_t dummy = 0;
        double t3 = now_ns();
        n = glc_region_collect(r, count_run, &dummy);
        double t4 = now_ns();
        if (n < 0)
            return (int)n;
        w[k] = (t1 - t0) / (double)pages;
        cd[k] = t2 - t1;
        cc[k] = t4 - t3;
    }
    return 0;
}

/* Best memcpy bandwidth (bytes/s) of `passes` copies of src into dst, the first not counted
 * (it warms the TLB and caches). */
static double copy_bw(void *dst, const void *src, size_t bytes, unsigned passes)
{
    double best = 0;
    for (unsigned k = 0; k < passes; k++) {
        double t0 = now_ns();
        memcpy(dst, src, bytes);
        double t1 = now_ns();
        __asm__ __volatile__("" : : "r"(dst) : "memory");
        double bw = (double)bytes / ((t1 - t0) * 1e-9);
        if (k > 0 && bw > best)
            best = bw;
    }
    return best;
}

/* Best memcpy bandwidth (bytes/s) from src into a fresh buffer of the same size over reps + 1
 * passes (the first warms the TLB and caches); 0 if no buffer. */
static double memcpy_bw(const void *src, size_t bytes, unsigned reps)
{
    unsigned char *dst = map_buffer(bytes, 0);
    if (dst == MAP_FAILED)
        return 0;
    memset(dst, 0, bytes);
    double best = copy_bw(dst, src, bytes, reps + 1);
    munmap(dst, bytes);
    return best;
}

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
    size_t page = glc_page_size();
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
    rc = glc_region_create(t, (void *)mem, bytes, &r);
    if (rc) {
        munmap((void *)mem, bytes);
        glc_tracker_destroy(t);
        return out->error = rc;
    }

    size_t *order = write_order(pages, page, flags & GLC_TRACKBENCH_RANDOM);
    if (!order) {
        glc_region_destroy(r);
        munmap((void *)mem, bytes);
        glc_tracker_destroy(t);
        return out->error = -ENOMEM;
    }
    double w[BENCH_MAX_REPS], cd[BENCH_MAX_REPS], cc[BENCH_MAX_REPS];
    rc = time_reps(r, mem, order, pages, page, reps, w, cd, cc, out);
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

        out->memcpy_bytes_per_s = memcpy_bw((const void *)mem, bytes, reps);
    }
    munmap((void *)mem, bytes);
    return out->error = rc;
}

/* ---------------------------------------------------------------- scenarios */


typedef struct scen_copy {
    const unsigned char *src;
    unsigned char *dst;
    uint64_t bytes;
} scen_copy;

static void scen_copy_run(void *user, size_t offset, size_t length)
{
    scen_copy *c = user;
    memcpy(c->dst + offset, c->src + offset, length);
    c->bytes += length;
}

typedef struct scen_state {
    int scenario;
    unsigned char *mem;
    size_t bytes, page, op_bytes, ops;
    size_t cursor;
    uint64_t rng;
    const unsigned char *pattern; /* max(op_bytes, page) bytes */
    unsigned char value;
    uint64_t stamp;
    size_t tick;
} scen_state;

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The writes of one cycle; returns bytes written. */
static size_t scen_write(scen_state *s)
{
    switch (s->scenario) {
    case GLC_SCEN_RING: {
        size_t n = 0;
        for (size_t i = 0; i < s->ops; i++) {
            if (s->cursor + s->op_bytes > s->bytes)
                s->cursor = 0;
            memcpy(s->mem + s->cursor, s->pattern, s->op_bytes);
            /* Fresh data every time (a ring rewrites its slots with new content). */
            uint64_t stamp = ++s->stamp;
            memcpy(s->mem + s->cursor, &stamp, s->op_bytes < sizeof stamp ? s->op_bytes
                                                                           : sizeof stamp);
            s->cursor += s->op_bytes;
            n += s->op_bytes;
        }
        return n;
    }
    case GLC_SCEN_SPARSE: {
        size_t npages = s->bytes / s->page;
        for (size_t i = 0; i < s->ops; i++) {
            size_t p = (size_t)(xorshift(&s->rng) % npages);
            memcpy(s->mem + p * s->page, s->pattern, s->page);
            uint64_t stamp = ++s->stamp;
            memcpy(s->mem + p * s->page, &stamp, sizeof stamp);
        }
        return s->ops * s->page;
    }
    case GLC_SCEN_BULK:
        memset(s->mem, ++s->value, s->bytes);
        return s->bytes;
    case GLC_SCEN_PERIODIC: {
        if (++s->tick < s->ops)
            return 0;
        s->tick = 0;
        size_t off = (size_t)(xorshift(&s->rng) % (s->bytes - s->op_bytes + 1));
        memcpy(s->mem + off, s->pattern, s->op_bytes);
        uint64_t stamp = ++s->stamp;
        memcpy(s->mem + off, &stamp, s->op_bytes < sizeof stamp ? s->op_bytes : sizeof stamp);
        return s->op_bytes;
    }
    default:
        return 0;
    }
}

/* The scenario's timings: per repetition (native cycle, tracked cycle, its collect part) and
 * per cycle (the first per_cap cycles of each repetition, for the median and the p99). */
typedef struct scen_timing {
    double nat[BENCH_MAX_REPS], tot[BENCH_MAX_REPS], col[BENCH_MAX_REPS];
    double *per, *cper;
    size_t per_cap;
    glc_track_stats s0, s1; /* region statistics after the warm-up repetition, at the end */
    uint64_t copied0;       /* bytes copied by the warm-up repetition */
} scen_timing;

/* Fill the region: through the tracked view (POPULATE: its page tables filled), or like a
 * shadow, through another view, so that the tracked view's page tables fill as the client
 * touches pages. */
static void fill_views(unsigned char *mem, size_t bytes, unsigned flags)
{
    if (flags & GLC_TRACKBENCH_POPULATE) {
        memset(mem, 1, bytes);
        return;
    }
    unsigned char *other = mremap(mem, 0, bytes, MREMAP_MAYMOVE);
    if (other == MAP_FAILED) {
        memset(mem, 1, bytes);
    } else {
        memset(other, 1, bytes);
        munmap(other, bytes);
    }
}

/* Native: the writes alone, same clock reads. Returns the bytes one cycle writes. */
static size_t time_native(scen_state *st, uint64_t cycles, unsigned reps, scen_timing *tm)
{
    size_t written = 0;
    for (unsigned k = 0; k <= reps; k++) {
        double sum = 0;
        double t0 = now_ns();
        for (uint64_t c = 0; c < cycles; c++) {
            written = scen_write(st);
            double t1 = now_ns();
            __asm__ __volatile__("" : : "r"(st->mem) : "memory");
            double t2 = now_ns();
            sum += t2 - t0;
            t0 = t2;
            (void)t1;
        }
        if (k > 0)
            tm->nat[k - 1] = sum / (double)cycles;
    }
    return written;
}

/* Tracked: the writes, then collect when maybe_dirty says so. 0 or the collect's -errno. */
static int time_tracked(glc_region *r, scen_state *st, scen_copy *cp, uint64_t cycles,
                        unsigned reps, scen_timing *tm)
{
    glc_region_get_stats(r, &tm->s0);
    for (unsigned k = 0; k <= reps; k++) {
        if (k == 1) {
            glc_region_get_stats(r, &tm->s0);
            tm->copied0 = cp->bytes;
        }
        double sum = 0, csum = 0;
        double t0 = now_ns();
        for (uint64_t c = 0; c < cycles; c++) {
            scen_write(st);
            double t1 = now_ns();
            if (glc_region_maybe_dirty(r)) {
                long n = glc_region_collect(r, scen_copy_run, cp);
                if (n < 0)
                    return (int)n;
            }
            double t2 = now_ns();
            sum += t2 - t0;
            csum += t2 - t1;
            if (k > 0 && tm->per && c < tm->per_cap) {
                tm->per[(size_t)(k - 1) * tm->per_cap + c] = t2 - t0;
                tm->cper[(size_t)(k - 1) * tm->per_cap + c] = t2 - t1;
            }
            t0 = t2;
        }
        if (k > 0) {
            tm->tot[k - 1] = sum / (double)cycles;
            tm->col[k - 1] = csum / (double)cycles;
        }
    }
    glc_region_get_stats(r, &tm->s1);
    return 0;
}

static void scen_results(glc_trackbench_scen_result *out, scen_timing *tm, uint64_t cycles,
                         unsigned reps, uint64_t copied)
{
    double n_cycles = (double)cycles * reps;
    out->native_ns = median(tm->nat, reps);
    out->cycle_ns = median(tm->tot, reps);
    out->collect_ns = median(tm->col, reps);
    out->overhead_ns = out->cycle_ns - out->native_ns;
    out->faults_per_cycle = (double)(tm->s1.write_faults - tm->s0.write_faults) / n_cycles;
    out->scans_per_cycle = (double)(tm->s1.scans - tm->s0.scans) / n_cycles;
    out->bytes_copied_per_cycle = (double)(copied - tm->copied0) / n_cycles;
    if (tm->per && tm->cper) {
        size_t n = tm->per_cap * reps;
        qsort(tm->per, n, sizeof *tm->per, cmp_double);
        qsort(tm->cper, n, sizeof *tm->cper, cmp_double);
        out->cycle_median_ns = tm->per[n / 2];
        out->collect_median_ns = tm->cper[n / 2];
        out->cycle_p99_ns = tm->per[n * 99 / 100];
    }
}

/* Check the scenario's parameters and normalise them: the region rounded up to whole pages,
 * at least one op, 1 to BENCH_MAX_REPS repetitions (default 5). 0 or -EINVAL. */
static int scen_params(int scenario, size_t page, uint64_t cycles, size_t op_bytes,
                       size_t *region_bytes, size_t *ops, unsigned *reps)
{
    if (*region_bytes < page || cycles == 0 || scenario < GLC_SCEN_RING ||
        scenario > GLC_SCEN_PERIODIC)
        return -EINVAL;
    *region_bytes = (*region_bytes + page - 1) & ~(page - 1);
    if ((scenario == GLC_SCEN_RING || scenario == GLC_SCEN_PERIODIC) &&
        (op_bytes == 0 || op_bytes > *region_bytes))
        return -EINVAL;
    if (*ops == 0)
        *ops = 1;
    if (*reps == 0)
        *reps = 5;
    if (*reps > BENCH_MAX_REPS)
        *reps = BENCH_MAX_REPS;
    return 0;
}

int glc_trackbench_scenario(glc_tracker_kind kind, unsigned flags, int scenario,
                            size_t region_bytes, size_t op_bytes, size_t ops, uint64_t cycles,
                            unsigned reps, glc_trackbench_scen_result *out)
{
    if (!out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    size_t page = glc_page_size();
    if (scen_params(scenario, page, cycles, op_bytes, &region_bytes, &ops, &reps) != 0)
        return out->error = -EINVAL;
    out->region_bytes = region_bytes;
    out->cycles = cycles;
    out->reps = reps;

    glc_tracker *t = NULL;
    int rc = glc_tracker_create(&t, kind);
    if (rc)
        return out->error = rc;
    out->kind = (int32_t)glc_tracker_kind_of(t);

    size_t plen = op_bytes > page ? op_bytes : page;
    scen_timing tm = {.per = NULL};
    unsigned char *pattern = malloc(plen);
    unsigned char *mem = map_buffer(region_bytes, GLC_TRACKBENCH_MEMFD);
    unsigned char *dst = map_buffer(region_bytes, 0);
    if (!pattern || mem == MAP_FAILED || dst == MAP_FAILED) {
        rc = -ENOMEM;
        goto out_free;
    }
    for (size_t i = 0; i < plen; i++)
        pattern[i] = (unsigned char)(i * 7 + 1);
    memset(dst, 1, region_bytes);
    fill_views(mem, region_bytes, flags);

    scen_state st = {.scenario = scenario, .mem = mem, .bytes = region_bytes, .page = page,
                     .op_bytes = op_bytes, .ops = ops, .rng = 0x9e3779b97f4a7c15ull,
                     .pattern = pattern};
    size_t written = time_native(&st, cycles, reps, &tm);

    long maps_before = glc_count_mappings();
    glc_region *r = NULL;
    rc = glc_region_create(t, mem, region_bytes, &r);
    if (rc)
        goto out_free;
    scen_copy first = {.src = mem, .dst = dst}; /* the first exchange, not measured */
    glc_region_collect(r, scen_copy_run, &first);
    /* The cursor and the random sequence go on: the tracked run writes pages the native run
     * did not, with the same chance of finding them in the page tables. */
    scen_copy cp = {.src = mem, .dst = dst};
    tm.per_cap = cycles < 100000 ? (size_t)cycles : 100000;
    tm.per = malloc(tm.per_cap * reps * sizeof *tm.per);
    tm.cper = malloc(tm.per_cap * reps * sizeof *tm.cper);
    rc = time_tracked(r, &st, &cp, cycles, reps, &tm);
    long maps_after = glc_count_mappings();
    glc_region_destroy(r);
    if (rc)
        goto out_free;

    scen_results(out, &tm, cycles, reps, cp.bytes);
    out->vma_delta = maps_before >= 0 && maps_after >= 0 ? maps_after - maps_before : 0;
    /* memcpy bandwidth: the region into dst, best of a few (warm). */
    out->memcpy_bytes_per_s = copy_bw(dst, mem, region_bytes, 4);
    out->floor_ns = out->memcpy_bytes_per_s > 0
                        ? (double)written / out->memcpy_bytes_per_s * 1e9
                        : 0;

out_free:
    free(tm.per);
    free(tm.cper);
    if (dst != MAP_FAILED && dst)
        munmap(dst, region_bytes);
    if (mem != MAP_FAILED && mem)
        munmap(mem, region_bytes);
    free(pattern);
    glc_tracker_destroy(t);
    return out->error = rc;
}
