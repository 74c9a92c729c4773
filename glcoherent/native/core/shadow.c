/* core/shadow.c [core layer] - see shadow.h. */
#include "core/shadow.h"

#include "base/vmem.h"
#include "core/policy.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

/* Shadows from this size on keep their memfd descriptor: a whole copy then skips the pages
 * nothing wrote (send_written). Smaller ones close it (a program may map thousands). */
#define GLC_SHADOW_HOLES_MIN ((size_t)1 << 20)

struct glc_shadow {
    glc_arena *arena;
    glc_tracker *tracker;
    glc_policy policy;        /* adaptive (GLC_TRACKER_BEST) or fixed: core/policy.h */
    uint8_t *client_base;     /* page aligned, in the arena */
    uint8_t *internal_base;   /* page aligned, anywhere */
    size_t map_len;           /* pages * page size */
    size_t lead, length;
    size_t page;
    glc_region *region;       /* NULL in whole-copy mode */
    uint8_t *ref;             /* reference copy of the data range, merge mode only */
    int fd;                   /* the memfd behind both views (big shadows only), else -1 */
    glc_shadow_stats st;
    glc_track_stats retired;  /* tracker stats of regions dropped by mode switches */
    glc_shadow *live_prev, *live_next; /* every live shadow, for fork() */
};

/* ---- fork() ----------------------------------------------------------------------------------
 * Shadows are shared memory (a memfd), but a forked child of a native driver gets a private
 * copy-on-write snapshot of each mapping. So in the child, every client view is replaced by a
 * private copy of its contents at fork time: the child may read and write it without the
 * parent seeing anything. (The child must not use GL, as with any driver.) posix_spawn and
 * vfork do not run fork handlers and pay nothing. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static glc_shadow *live_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void) { pthread_mutex_lock(&live_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&live_lock); }

static void atfork_child(void)
{
    for (glc_shadow *s = live_head; s; s = s->live_next) {
        void *copy = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (copy == MAP_FAILED)
            continue; /* the view stays shared: documented fallback */
        memcpy(copy, s->internal_base, s->map_len); /* the client view may be PROT_READ */
        if (mremap(copy, s->map_len, s->map_len, MREMAP_MAYMOVE | MREMAP_FIXED,
                   s->client_base) == MAP_FAILED)
            munmap(copy, s->map_len);
    }
    pthread_mutex_unlock(&live_lock);
}

static void register_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void live_add(glc_shadow *s)
{
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&live_lock);
    s->live_next = live_head;
    if (live_head)
        live_head->live_prev = s;
    live_head = s;
    pthread_mutex_unlock(&live_lock);
}

static void live_remove(glc_shadow *s)
{
    pthread_mutex_lock(&live_lock);
    if (s->live_prev)
        s->live_prev->live_next = s->live_next;
    else
        live_head = s->live_next;
    if (s->live_next)
        s->live_next->live_prev = s->live_prev;
    pthread_mutex_unlock(&live_lock);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* 1 if the n bytes at p are all zero. libc's memcmp against a block of zeros (which stays in
 * L1) is vectorised: 64 MiB of zeros take ~0.8 ms here, against ~2.4 ms for a loop of 8-byte
 * ORs. A map-time load of a driver's zero-filled 64 MiB chunk (llvmpipe zeroes new storage)
 * is that scan. */
static const uint8_t zero_block[4096];

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += sizeof zero_block) {
        size_t k = n - i < sizeof zero_block ? n - i : sizeof zero_block;
        if (memcmp(p + i, zero_block, k) != 0)
            return 0;
    }
    return 1;
}

/* The runs of 4 KiB chunks of src[0, end) that are not all zero: while nz_next(&it), bytes
 * [it.at, it.at + it.len) are one. Fresh shadows and references read as zero, so copying only
 * those runs leaves zero pages unpopulated (new storage is mostly zero). */
typedef struct nz_iter {
    const uint8_t *src;
    size_t end, pos;
    size_t at, len;
} nz_iter;

static int nz_next(nz_iter *it)
{
    const size_t chunk = 4096;
    while (it->pos < it->end) {
        size_t n = it->end - it->pos < chunk ? it->end - it->pos : chunk;
        if (!all_zero(it->src + it->pos, n))
            break;
        it->pos += n;
    }
    if (it->pos >= it->end)
        return 0;
    it->at = it->pos;
    while (it->pos < it->end) {
        size_t n = it->end - it->pos < chunk ? it->end - it->pos : chunk;
        if (all_zero(it->src + it->pos, n))
            break;
        it->pos += n;
    }
    it->len = it->pos - it->at;
    return 1;
}

/* 1 if every byte of x is non-zero. */
static inline int all_bytes_set(uint64_t x)
{
    const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    return ((x - lo) & ~x & hi) == 0;
}

size_t glc_diff_apply(uint8_t *ref, const uint8_t *new_, size_t len, size_t base,
                      glc_copy_fn fn, void *user)
{
    size_t i = 0, changed = 0;
    while (i < len) {
        while (i + 8 <= len && load64(ref + i) == load64(new_ + i))
            i += 8;
        while (i < len && ref[i] == new_[i])
            i++;
        if (i >= len)
            break;
        size_t j = i;
        while (j + 8 <= len && all_bytes_set(load64(ref + j) ^ load64(new_ + j)))
            j += 8;
        while (j < len && ref[j] != new_[j])
            j++;
        /* ref first, then the destination from ref: a client write racing with this copy
         * then differs from ref and goes down at the next flush. */
        memcpy(ref + i, new_ + i, j - i);
        if (fn)
            fn(user, base + i, ref + i, j - i);
        changed += j - i;
        i = j;
    }
    return changed;
}

size_t glc_diff_apply_to_scalar(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst)
{
    size_t i = 0, changed = 0;
    while (i + 8 <= len) {
        uint8_t n[8];
        memcpy(n, new_ + i, 8); /* read once: ref and dst get the same bytes */
        uint64_t x = load64(ref + i) ^ load64(n);
        if (!x) {
            i += 8;
            continue;
        }
        if (all_bytes_set(x)) { /* a run of whole changed words: copy it in one go */
            size_t j = i + 8;
            while (j + 8 <= len && all_bytes_set(load64(ref + j) ^ load64(new_ + j)))
                j += 8;
            memcpy(ref + i, new_ + i, j - i);
            memcpy(dst + i, ref + i, j - i);
            changed += j - i;
            i = j;
            continue;
        }
        /* A word with some bytes changed (pixels whose alpha stays, say): the reference takes
         * the whole word (its other bytes are equal already), the destination only the changed
         * bytes, found from the high bit of each non-zero byte of x: unchanged bytes keep what
         * the client wrote, even while it writes. */
        memcpy(ref + i, n, 8);
        const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
        uint64_t bits = (((x & low7) + low7) | x) & ~low7;
        while (bits) {
            int k = __builtin_ctzll(bits) >> 3;
            dst[i + k] = n[k];
            changed++;
            bits &= bits - 1;
        }
        i += 8;
    }
    for (; i < len; i++)
        if (ref[i] != new_[i]) {
            uint8_t b = new_[i];
            ref[i] = b;
            dst[i] = b;
            changed++;
        }
    return changed;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 64 bytes a step: a byte-masked store puts exactly the changed bytes into dst (the other bytes
 * are not written at all, so a client write racing with it stays), the whole block into ref.
 * new is read once, so ref and dst get the same bytes. The tail goes to the scalar loop. */
__attribute__((target("avx512f,avx512bw"))) static size_t
diff_apply_to_avx512(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst)
{
    size_t i = 0, changed = 0;
    for (; i + 64 <= len; i += 64) {
        __m512i n = _mm512_loadu_si512((const void *)(new_ + i));
        __mmask64 k = _mm512_cmpneq_epi8_mask(n, _mm512_loadu_si512((const void *)(ref + i)));
        if (!k)
            continue;
        _mm512_storeu_si512((void *)(ref + i), n);
        _mm512_mask_storeu_epi8((void *)(dst + i), k, n);
        changed += (size_t)__builtin_popcountll((unsigned long long)k);
    }
    return changed + glc_diff_apply_to_scalar(ref + i, new_ + i, len - i, dst + i);
}

size_t glc_diff_apply_to(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst)
{
    if (len >= 64 && __builtin_cpu_supports("avx512bw"))
        return diff_apply_to_avx512(ref, new_, len, dst);
    return glc_diff_apply_to_scalar(ref, new_, len, dst);
}
#else
size_t glc_diff_apply_to(uint8_t *ref, const uint8_t *new_, size_t len, uint8_t *dst)
{
    return glc_diff_apply_to_scalar(ref, new_, len, dst);
}
#endif

static int make_region(glc_shadow *s)
{
    return glc_region_create(s->tracker, s->client_base, s->map_len, &s->region);
}

int glc_shadow_create(glc_arena *arena, glc_tracker *tracker, glc_tracker_kind kind,
                      size_t length, size_t lead, glc_shadow **out)
{
    *out = NULL;
    size_t page = glc_page_size();
    if (length == 0 || lead >= page)
        return -EINVAL;
    if (kind != GLC_TRACKER_COPY && kind != GLC_TRACKER_BEST && !tracker)
        return -EINVAL;
    glc_shadow *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->arena = arena;
    /* A tracker on the copy backend would report every page at every collect: that is
     * whole-copy mode, done without a region. */
    s->tracker = tracker && glc_tracker_kind_of(tracker) != GLC_TRACKER_COPY ? tracker : NULL;
    glc_policy_init(&s->policy, kind);
    s->page = page;
    s->lead = lead;
    s->length = length;
    s->map_len = (lead + length + page - 1) & ~(page - 1);
    s->st.length = length;

    int rc;
    int fd = memfd_create("glcoherent-shadow", MFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (ftruncate(fd, (off_t)s->map_len) != 0) {
        rc = -errno;
        close(fd);
        goto fail;
    }
    void *low;
    rc = glc_arena_alloc(arena, s->map_len, &low);
    if (rc) {
        close(fd);
        goto fail;
    }
    void *cv = mmap(low, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (cv == MAP_FAILED) {
        rc = -errno;
        glc_arena_free(arena, low, s->map_len);
        close(fd);
        goto fail;
    }
    s->client_base = cv;
    void *iv = mmap(NULL, s->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    /* The two mappings keep the pages alive; a big shadow keeps its descriptor to find the
     * pages nothing ever wrote (send_written), while the descriptor table stays at least half
     * free for the application (past that, whole copies send every page). */
    struct rlimit nofile;
    if (s->map_len >= GLC_SHADOW_HOLES_MIN && getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
        (rlim_t)fd < nofile.rlim_cur / 2) {
        s->fd = fd;
    } else {
        s->fd = -1;
        close(fd);
    }
    if (iv == MAP_FAILED) {
        rc = -errno;
        glc_arena_free(arena, low, s->map_len);
        goto fail_fd;
    }
    s->internal_base = iv;
    madvise(s->client_base, s->map_len, MADV_NOHUGEPAGE);
    madvise(s->internal_base, s->map_len, MADV_NOHUGEPAGE);

    if (kind != GLC_TRACKER_COPY && s->tracker) {
        rc = make_region(s);
        if (rc) {
            munmap(s->internal_base, s->map_len);
            glc_arena_free(arena, s->client_base, s->map_len);
            goto fail_fd;
        }
    }
    s->st.tracker = s->region ? (int32_t)glc_region_kind(s->region) : GLC_TRACKER_COPY;
    live_add(s);
    *out = s;
    return 0;
fail_fd:
    if (s->fd >= 0)
        close(s->fd);
fail:
    free(s);
    return rc;
}

void glc_shadow_destroy(glc_shadow *s)
{
    if (!s)
        return;
    live_remove(s);
    if (s->region)
        glc_region_destroy(s->region);
    munmap(s->internal_base, s->map_len);
    glc_arena_free(s->arena, s->client_base, s->map_len);
    if (s->fd >= 0)
        close(s->fd);
    free(s->ref);
    free(s);
}

int glc_shadow_reset(glc_shadow *s, size_t length, size_t lead)
{
    size_t map_len = (lead + length + s->page - 1) & ~(s->page - 1);
    if (s->region || s->ref || s->policy.kind != GLC_POLICY_FIXED || !length || lead >= s->page ||
        map_len != s->map_len)
        return -EINVAL;
    s->lead = lead;
    s->length = length;
    memset(&s->st, 0, sizeof s->st);
    s->st.length = length;
    s->st.tracker = GLC_TRACKER_COPY;
    s->retired = (glc_track_stats){0};
    return 0;
}

void *glc_shadow_client(const glc_shadow *s) { return s->client_base + s->lead; }
void *glc_shadow_internal(const glc_shadow *s) { return s->internal_base + s->lead; }
size_t glc_shadow_length(const glc_shadow *s) { return s->length; }
uintptr_t glc_shadow_end(const glc_shadow *s) { return (uintptr_t)s->client_base + s->map_len; }
int glc_shadow_merging(const glc_shadow *s) { return s->ref != NULL; }
const glc_region *glc_shadow_region(const glc_shadow *s) { return s->region; }

void glc_shadow_load(glc_shadow *s, size_t offset, const void *src, size_t len)
{
    if (offset >= s->length)
        return;
    if (len > s->length - offset)
        len = s->length - offset;
    memcpy(s->internal_base + s->lead + offset, src, len);
    if (s->ref)
        memcpy(s->ref + offset, src, len);
}

typedef struct fresh_load {
    glc_shadow *s;
    const uint8_t *src;
} fresh_load;

/* Load the non-zero 4 KiB chunks of src[off, off + len) (the shadow is zero there). */
static void load_nonzero(void *user, size_t off, size_t len)
{
    fresh_load *f = user;
    for (nz_iter it = {.src = f->src + off, .end = len}; nz_next(&it);)
        glc_shadow_load(f->s, off + it.at, it.src + it.at, it.len);
}

void glc_shadow_load_fresh(glc_shadow *s, const void *src, size_t len)
{
    fresh_load f = {s, src};
    /* Pages the driver never touched read as zero: leave them unread (base/vmem.h). */
    if (glc_vmem_populated(src, len, load_nonzero, &f) != 0)
        load_nonzero(&f, 0, len);
}

int glc_shadow_maybe_dirty(const glc_shadow *s)
{
    return s->region ? glc_region_maybe_dirty(s->region) : 1;
}

/* ---- flush ------------------------------------------------------------------------------ */

typedef struct flush_ctx {
    glc_shadow *s;
    glc_copy_fn fn;
    void *user;
    size_t bytes;
    size_t pages;
    int ref_then_dst; /* enable_merge step: ref <- shadow, dst <- ref, whole run */
} flush_ctx;

static void copy_to_ptr(void *user, size_t offset, const void *src, size_t length)
{
    memcpy((uint8_t *)user + offset, src, length);
}

/* One data-relative run [off, off+len) to send. */
static void send_run(flush_ctx *c, size_t off, size_t len)
{
    glc_shadow *s = c->s;
    const uint8_t *data = s->internal_base + s->lead;
    if (c->ref_then_dst) {
        memcpy(s->ref + off, data + off, len);
        c->fn(c->user, off, s->ref + off, len);
        c->bytes += len;
    } else if (s->ref && c->fn == copy_to_ptr) {
        c->bytes += glc_diff_apply_to(s->ref + off, data + off, len, (uint8_t *)c->user + off);
    } else if (s->ref) {
        c->bytes += glc_diff_apply(s->ref + off, data + off, len, off, c->fn, c->user);
    } else {
        c->fn(c->user, off, data + off, len);
        c->bytes += len;
    }
}

/* Whole-copy mode: send the data range, except the pages of the memfd that were never
 * written through either view (holes: the client, a kernel write, a load or a copy-back would
 * have allocated them). A hole reads as zero and the buffer was zero there when the shadow was
 * loaded (loads skip zero chunks), or undefined (an invalidating map), so only GPU writes can
 * have changed those bytes since, and the shadow's zeros must not overwrite them either. A
 * reference copy (merge mode) compares every byte: whole range. */
static void send_written(flush_ctx *c)
{
    glc_shadow *s = c->s;
    if (s->fd < 0 || s->ref) {
        send_run(c, 0, s->length);
        return;
    }
    off_t pos = (off_t)s->lead, end = (off_t)(s->lead + s->length);
    while (pos < end) {
        off_t data = lseek(s->fd, pos, SEEK_DATA);
        if ((data < 0 && errno == ENXIO) || data >= end)
            return; /* no data after pos */
        off_t hole = data < 0 ? -1 : lseek(s->fd, data, SEEK_HOLE);
        if (hole < 0) { /* cannot tell: the rest goes whole */
            send_run(c, (size_t)(pos - (off_t)s->lead), (size_t)(end - pos));
            return;
        }
        if (hole > end)
            hole = end;
        send_run(c, (size_t)(data - (off_t)s->lead), (size_t)(hole - data));
        pos = hole;
    }
}

static void on_dirty_run(void *user, size_t roff, size_t rlen)
{
    flush_ctx *c = user;
    glc_shadow *s = c->s;
    c->pages += (rlen + s->page - 1) / s->page;
    size_t start = roff > s->lead ? roff - s->lead : 0;
    size_t end = roff + rlen - s->lead;
    if (roff + rlen <= s->lead)
        return;
    if (end > s->length)
        end = s->length;
    if (start < end)
        send_run(c, start, end - start);
}

/* Copy mode from now on: the region's statistics are kept, the region goes. */
static void drop_region(glc_shadow *s)
{
    glc_track_stats ts;
    glc_region_get_stats(s->region, &ts);
    s->retired.write_faults += ts.write_faults;
    s->retired.scans += ts.scans;
    s->retired.pages_dirty += ts.pages_dirty;
    glc_region_destroy(s->region);
    s->region = NULL;
}

/* Carry out what the policy decides after a flush. */
static void after_flush(glc_shadow *s, size_t dirty_pages)
{
    if (!s->tracker)
        return; /* nothing to track with: whole-copy mode for life */
    switch (glc_policy_after_flush(&s->policy, s->region, s->map_len, dirty_pages,
                                   s->map_len / s->page)) {
    case GLC_POLICY_TO_WHOLE:
        drop_region(s);
        s->st.mode_switches++;
        break;
    case GLC_POLICY_TO_TRACKED:
        /* Everything was just sent, so the shadow is clean: track again and measure. */
        if (make_region(s) == 0) {
            glc_policy_tracking_again(&s->policy);
            s->st.mode_switches++;
        }
        break;
    case GLC_POLICY_STAY:
        break;
    }
}

long glc_shadow_flush_cb(glc_shadow *s, glc_copy_fn fn, void *user)
{
    flush_ctx c = {.s = s, .fn = fn, .user = user};
    if (s->region) {
        if (!glc_region_maybe_dirty(s->region))
            return 0;
        long n = glc_region_collect(s->region, on_dirty_run, &c);
        if (n < 0)
            return n;
    } else {
        c.pages = s->map_len / s->page;
        send_written(&c);
    }
    if (c.bytes) {
        s->st.flushes++;
        s->st.bytes_flushed += c.bytes;
    }
    after_flush(s, c.pages);
    return (long)c.bytes;
}

long glc_shadow_flush(glc_shadow *s, void *dst)
{
    return glc_shadow_flush_cb(s, copy_to_ptr, dst);
}

long glc_shadow_flush_range(glc_shadow *s, void *dst, size_t offset, size_t len)
{
    if (offset >= s->length || !len)
        return 0;
    if (len > s->length - offset)
        len = s->length - offset;
    flush_ctx c = {.s = s, .fn = copy_to_ptr, .user = dst};
    if (glc_policy_range_blind(&s->policy, s->region, len)) {
        send_run(&c, offset, len);
    } else {
        /* Dirty pages go whole: they are re-armed, so nothing of them may stay behind. */
        long n = glc_region_collect_range(s->region, s->lead + offset, len, on_dirty_run, &c);
        if (n < 0)
            return n;
    }
    if (c.bytes) {
        s->st.flushes++;
        s->st.bytes_flushed += c.bytes;
    }
    return (long)c.bytes;
}

int glc_shadow_enable_merge(glc_shadow *s, void *dst)
{
    if (s->ref)
        return 0;
    if (dst) /* (a failure leaves the pages dirty: the collect below sends them) */
        (void)glc_shadow_flush(s, dst);
    uint8_t *ref = calloc(1, s->length);
    if (!ref)
        return -ENOMEM;
    uint8_t *data = s->internal_base + s->lead;
    if (!dst) {
        memcpy(ref, data, s->length);
    } else {
        /* After that flush, a page the client did not write since holds the buffer's bytes, or
         * zeros where the shadow was never loaded (an invalidating map; its bytes are the
         * application's to define). Where the buffer is zero both are zero: the calloc'ed
         * reference already is, and neither page is read (a 64 MiB chunk made without data is
         * zero nearly everywhere, and reading a shadow page populates it). Elsewhere the
         * reference and the buffer take the shadow's bytes (the buffer only where it differs:
         * a loaded shadow equals it). Pages written meanwhile are brought in step below. */
        for (nz_iter it = {.src = dst, .end = s->length}; nz_next(&it);) {
            memcpy(ref + it.at, data + it.at, it.len);
            if (memcmp((uint8_t *)dst + it.at, ref + it.at, it.len))
                memcpy((uint8_t *)dst + it.at, ref + it.at, it.len);
        }
    }
    s->ref = ref;
    /* Pages written between that flush and the snapshot: bring ref and dst in step, whole
     * pages (nobody else has written the real buffer since the last exchange). */
    if (dst && s->region) {
        flush_ctx c = {.s = s, .fn = copy_to_ptr, .user = dst, .ref_then_dst = 1};
        long n = glc_region_collect(s->region, on_dirty_run, &c);
        s->st.bytes_flushed += c.bytes;
        if (n < 0) {
            /* Pages it could not look at may hold client writes that the reference already
             * has: diffing against it would drop them. Stay unmerged (whole pages). */
            free(ref);
            s->ref = NULL;
            return (int)n;
        }
    }
    s->st.merge = 1;
    return 0;
}

/* ---- copy-back -------------------------------------------------------------------------- */

long glc_shadow_copy_back(glc_shadow *s, const void *src, size_t offset, size_t len)
{
    if (offset >= s->length)
        return 0;
    return glc_shadow_copy_back_bytes(s, (const uint8_t *)src + offset, offset, len);
}

long glc_shadow_copy_back_bytes(glc_shadow *s, const void *bytes, size_t offset, size_t len)
{
    if (offset >= s->length)
        return 0;
    if (len > s->length - offset)
        len = s->length - offset;
    size_t n;
    const uint8_t *from = bytes;
    if (s->ref) {
        n = glc_diff_apply_to(s->ref + offset, from, len, s->internal_base + s->lead + offset);
    } else {
        memcpy(s->internal_base + s->lead + offset, from, len);
        n = len;
    }
    s->st.copy_backs++;
    s->st.bytes_read_back += n;
    return (long)n;
}

void glc_shadow_get_stats(const glc_shadow *s, glc_shadow_stats *out)
{
    *out = s->st;
    glc_track_stats ts = s->retired;
    if (s->region) {
        glc_track_stats cur;
        glc_region_get_stats(s->region, &cur);
        ts.write_faults += cur.write_faults;
        ts.scans += cur.scans;
        ts.pages_dirty += cur.pages_dirty;
        ts.pages_tracked = cur.pages_tracked;
    }
    out->pages_tracked = ts.pages_tracked;
    out->write_faults = ts.write_faults;
    out->scans = ts.scans;
    out->pages_dirty = ts.pages_dirty;
    out->tracker = s->region ? (int32_t)glc_region_kind(s->region) : GLC_TRACKER_COPY;
    out->merge = s->ref != NULL;
}
