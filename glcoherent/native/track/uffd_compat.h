/* track/uffd_compat.h [tracking layer] - userfaultfd and PAGEMAP_SCAN definitions newer than the
 * build headers.
 *
 * Debian 12 ships 6.1 uapi headers; the kernels we run on (6.7+) have UFFD_FEATURE_WP_ASYNC and
 * the PAGEMAP_SCAN ioctl on /proc/PID/pagemap. The values below are the kernel ABI (stable uapi)
 * and are only used when the system headers lack them. Whether the running kernel supports them
 * is decided at run time (track/uffd.c probes).
 */
#ifndef GLC_UFFD_COMPAT_H
#define GLC_UFFD_COMPAT_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif

/* PAGEMAP_SCAN (Linux 6.7): the struct definitions come with the ioctl number, so one guard
 * covers the whole block. */
#ifndef PAGEMAP_SCAN

/* Page categories: pm_scan_arg masks and page_region.categories. */
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
#define PAGE_IS_SOFT_DIRTY (1 << 7)

/* One output run: [start, end) with its categories (masked by return_mask). */
struct page_region {
    __u64 start;
    __u64 end;
    __u64 categories;
};

/* Operation flags. */
#define PM_SCAN_WP_MATCHING (1 << 0)   /* write-protect the pages that matched */
#define PM_SCAN_CHECK_WPASYNC (1 << 1) /* fail on pages not registered for async WP */

struct pm_scan_arg {
    __u64 size;                /* sizeof(struct pm_scan_arg) */
    __u64 flags;               /* PM_SCAN_* */
    __u64 start;               /* range to walk, page aligned */
    __u64 end;
    __u64 walk_end;            /* out: where the walk stopped */
    __u64 vec;                 /* struct page_region * */
    __u64 vec_len;             /* entries in vec */
    __u64 max_pages;           /* 0: unlimited */
    __u64 category_inverted;   /* categories that match when clear */
    __u64 category_mask;       /* all of these must match */
    __u64 category_anyof_mask; /* at least one of these must match */
    __u64 return_mask;         /* categories reported in page_region */
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)

#endif /* PAGEMAP_SCAN */

#endif
