/* base/vmem.c - see base/vmem.h. */
#include "base/vmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PM_PRESENT ((uint64_t)1 << 63)
#define PM_SWAPPED ((uint64_t)1 << 62)

/* 1 when [lo, hi) lies in private anonymous mappings without holes (/proc/self/maps: private,
 * no inode, no file name; "[heap]" and "[anon:...]" names are anonymous too). */
static int private_anonymous(uintptr_t lo, uintptr_t hi)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return 0;
    char line[512];
    uintptr_t covered = lo;
    int ok = 0;
    while (covered < hi && fgets(line, sizeof line, f)) {
        unsigned long start, end, inode;
        char perms[8];
        int name = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &start, &end, perms, &inode, &name) < 4)
            break;
        size_t n = strlen(line);
        if (n && line[n - 1] != '\n') { /* a longer line: skip its rest */
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
        }
        if (end <= covered)
            continue;
        if (start > covered)
            break; /* a hole */
        const char *path = name ? line + name : "";
        int anon = path[0] == '\n' || path[0] == 0 || strncmp(path, "[heap]", 6) == 0 ||
                   strncmp(path, "[anon:", 6) == 0;
        if (inode != 0 || perms[3] != 'p' || perms[0] != 'r' || !anon)
            break;
        covered = end;
        ok = covered >= hi;
    }
    fclose(f);
    return ok;
}

/* Page-index runs [lo, hi). */
typedef struct runs {
    size_t lo[256], hi[256], n;
} runs;

static void add_run(runs *rs, size_t lo, size_t hi)
{
    if (rs->n == sizeof rs->lo / sizeof rs->lo[0]) {
        rs->hi[rs->n - 1] = hi;
        return;
    }
    rs->lo[rs->n] = lo;
    rs->hi[rs->n++] = hi;
}

int glc_vmem_populated(const void *p, size_t len, glc_vmem_run_fn fn, void *user)
{
    if (len < GLC_VMEM_MIN_BYTES)
        return -ENOTSUP;
    long pg = sysconf(_SC_PAGESIZE);
    uintptr_t page = pg > 0 ? (uintptr_t)pg : 4096;
    uintptr_t lo = (uintptr_t)p & ~(page - 1), end = (uintptr_t)p + len;
    uintptr_t hi = (end + page - 1) & ~(page - 1);
    if (!private_anonymous(lo, hi))
        return -ENOTSUP;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -ENOTSUP;
    /* Every entry is read before anything is reported: a failed read reports nothing. The
     * runs go to a small list; past its end a run extends the last one (the gap between them
     * is then loaded too, which is only slower). */
    uint64_t e[512];
    runs rs = {.n = 0};
    size_t npages = (hi - lo) / page, open_at = SIZE_MAX, n;
    int rc = 0;
    for (size_t i = 0; i < npages && rc == 0; i += n) {
        n = npages - i < 512 ? npages - i : 512;
        ssize_t got = pread(fd, e, n * sizeof e[0], (off_t)((lo / page + i) * sizeof e[0]));
        if (got != (ssize_t)(n * sizeof e[0])) {
            rc = -ENOTSUP;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            int used = (e[k] & (PM_PRESENT | PM_SWAPPED)) != 0;
            if (used && open_at == SIZE_MAX) {
                open_at = i + k;
            } else if (!used && open_at != SIZE_MAX) {
                add_run(&rs, open_at, i + k);
                open_at = SIZE_MAX;
            }
        }
    }
    if (open_at != SIZE_MAX)
        add_run(&rs, open_at, npages);
    close(fd);
    if (rc)
        return rc;
    for (size_t r = 0; r < rs.n; r++) {
        uintptr_t a = lo + rs.lo[r] * page, b = lo + rs.hi[r] * page;
        if (a < (uintptr_t)p)
            a = (uintptr_t)p;
        if (b > end)
            b = end;
        if (b > a)
            fn(user, a - (uintptr_t)p, b - a);
    }
    return 0;
}
