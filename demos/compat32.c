/* compat32.c - libcompat32.so: puts the compatibility-mode thunk of compat32_thunk.S below
 * 2 GiB and calls i386 functions through it. Test support and demo code, loaded with ctypes by
 * demos/compat32.py; not part of the shipped glcoherent libraries.
 *
 *   compat32_init(err, n)      check the 32-bit segments, map the code and the 32-bit stack low
 *   compat32_function(name)    low address of an i386 function of the thunk file (0: unknown)
 *   compat32_call(fn, args, nargs, &result)   call it: cdecl, up to 16 32-bit arguments
 *   compat32_alloc(size)       zeroed read-write memory below 2 GiB (for data of 32-bit code)
 *
 * Calls are serialized (one 32-bit stack). x86-64 Linux only.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define EXPORT __attribute__((visibility("default")))

#define USER32_CS 0x23u
#define USER_DS 0x2bu
#define STACK_SIZE (1u << 20) /* signal frames of the 64-bit handlers land here too */
#define MAX_ARGS 16u

/* compat32_thunk.S */
extern const unsigned char compat32_blob_start[], compat32_blob_end[];
extern const unsigned char compat32_enter[], c32_echo[], c32_fill[], c32_verify[],
    c32_scramble[], c32_particles[];
uint32_t compat32_lar(uint32_t selector);
uint32_t compat32_regs_selftest(const void *enter, uint32_t fn, uint32_t stack_top);

typedef uint32_t (*enter_fn)(uint32_t fn, const uint32_t *args, uint32_t nargs,
                             uint32_t stack_top);

static const struct {
    const char *name;
    const unsigned char *code;
} functions[] = {
    {"c32_echo", c32_echo},         {"c32_fill", c32_fill},
    {"c32_verify", c32_verify},     {"c32_scramble", c32_scramble},
    {"c32_particles", c32_particles},
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char *code_base; /* the low copy of the blob */
static size_t code_size;
static uint32_t stack_top;

/* Access-rights bits as LAR reports them. */
#define AR_TYPE_CODE (1u << 11)
#define AR_TYPE_RW (1u << 9) /* readable code / writable data */
#define AR_S (1u << 12)
#define AR_DPL3 (3u << 13)
#define AR_P (1u << 15)
#define AR_L (1u << 21)
#define AR_DB (1u << 22)

/* Is the kernel's 32-bit user code segment there (and the flat data segment)? A kernel without
 * IA-32 support may leave no usable descriptor behind selector 0x23, or mark it not present;
 * LAR tells without faulting. (Mainline x86-64 kernels keep it even with ia32_emulation=0, which
 * only turns off 32-bit system calls and ELF loading; the thunk's code makes no system calls.) */
static int check_segments(char *err, size_t n)
{
    uint32_t cs = compat32_lar(USER32_CS), ds = compat32_lar(USER_DS);
    uint32_t want_cs = AR_P | AR_S | AR_DPL3 | AR_TYPE_CODE | AR_DB;
    if ((cs & (want_cs | AR_L)) != want_cs) {
        snprintf(err, n,
                 "no IA-32 emulation in this kernel: selector 0x%x is not a present 32-bit "
                 "user code segment (LAR access rights 0x%06x), so 32-bit code cannot run in "
                 "this process",
                 USER32_CS, cs);
        return -1;
    }
    uint32_t want_ds = AR_P | AR_S | AR_DPL3 | AR_TYPE_RW;
    if ((ds & (want_ds | AR_TYPE_CODE)) != want_ds) {
        snprintf(err, n,
                 "selector 0x%x is not a present writable user data segment (LAR access rights "
                 "0x%06x): compatibility mode cannot address memory",
                 USER_DS, ds);
        return -1;
    }
    return 0;
}

EXPORT int compat32_init(char *err, size_t n)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    if (code_base)
        goto out;
    if (check_segments(err, n)) {
        rc = -1;
        goto out;
    }
    size_t page = 4096;
    size_t blob = (size_t)(compat32_blob_end - compat32_blob_start);
    size_t code = (blob + page - 1) & ~(page - 1);
    /* code, one guard page, the stack: all in the first 2 GiB (MAP_32BIT) */
    unsigned char *p = mmap(NULL, code + page + STACK_SIZE, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (p == MAP_FAILED) {
        snprintf(err, n, "mmap(MAP_32BIT) of the 32-bit code and stack failed: %s",
                 strerror(errno));
        rc = -1;
        goto out;
    }
    memcpy(p, compat32_blob_start, blob);
    if (mprotect(p, code, PROT_READ | PROT_EXEC) || mprotect(p + code, page, PROT_NONE)) {
        snprintf(err, n, "mprotect of the 32-bit code failed: %s", strerror(errno));
        munmap(p, code + page + STACK_SIZE);
        rc = -1;
        goto out;
    }
    code_base = p;
    code_size = code;
    stack_top = (uint32_t)(uintptr_t)(p + code + page + STACK_SIZE);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

static uint32_t low_address(const unsigned char *sym)
{
    return (uint32_t)(uintptr_t)(code_base + (sym - compat32_blob_start));
}

EXPORT uint32_t compat32_function(const char *name)
{
    if (!code_base)
        return 0;
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
        if (strcmp(functions[i].name, name) == 0)
            return low_address(functions[i].code);
    return 0;
}

/* Where the code and the stack are: for the tests. */
EXPORT void compat32_layout(uint64_t *code, uint64_t *stack_lo, uint64_t *stack_hi)
{
    *code = (uint64_t)(uintptr_t)code_base;
    *stack_hi = stack_top;
    *stack_lo = stack_top ? stack_top - STACK_SIZE : 0;
}

EXPORT int compat32_call(uint32_t fn, const uint32_t *args, uint32_t nargs, uint32_t *result)
{
    if (!code_base || nargs > MAX_ARGS || !fn)
        return -1;
    enter_fn enter = (enter_fn)(uintptr_t)low_address(compat32_enter);
    pthread_mutex_lock(&lock);
    *result = enter(fn, args, nargs, stack_top);
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Bit mask of the 64-bit callee-saved registers a round trip lost (0: none). */
EXPORT int compat32_regs_check(uint32_t *lost)
{
    if (!code_base)
        return -1;
    pthread_mutex_lock(&lock);
    *lost = compat32_regs_selftest(code_base + (compat32_enter - compat32_blob_start),
                                   low_address(c32_scramble), stack_top);
    pthread_mutex_unlock(&lock);
    return 0;
}

EXPORT uint64_t compat32_alloc(uint64_t size)
{
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    return p == MAP_FAILED ? 0 : (uint64_t)(uintptr_t)p;
}

EXPORT void compat32_free(uint64_t address, uint64_t size)
{
    if (address)
        munmap((void *)(uintptr_t)address, (size_t)size);
}
