/* preload/kernel_writes.c [preload layer] - the libc calls that let the kernel write straight
 * into user memory. A tracked mapping may be write-protected (the mprotect tracker), and the
 * kernel does not fault like a user write: it fails with
 * EFAULT. Each wrapper prepares the destination (glc_segv_prepare_write: writable, counted as
 * written; nothing for memory that is no mapping), then calls the real function with the
 * caller's arguments. fread is wrapped too: glibc reads large requests straight into the
 * caller's buffer with an internal read. C hosts that make such calls on their own use the
 * API's prepare_kernel_write. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "preload/preload.h"
#include "track/sigsegv.h"

/* The wrapped calls: each one's real definition (the next after this library, found on first
 * use) and our wrapper, for dlsym and dlvsym (interpose.c), which hand out the wrapper wherever
 * the real answer is the function it forwards to. */
enum {
    K_read, K_pread, K_pread64, K_readv, K_preadv, K_preadv64, K_preadv2, K_preadv64v2,
    K_recv, K_recvfrom, K_recvmsg, K_fread, K_COUNT
};

static const char *const k_names[K_COUNT] = {
    [K_read] = "read", [K_pread] = "pread", [K_pread64] = "pread64", [K_readv] = "readv",
    [K_preadv] = "preadv", [K_preadv64] = "preadv64", [K_preadv2] = "preadv2",
    [K_preadv64v2] = "preadv64v2", [K_recv] = "recv", [K_recvfrom] = "recvfrom",
    [K_recvmsg] = "recvmsg", [K_fread] = "fread",
};

static _Atomic(void *) k_real[K_COUNT];

static void *real_libc(int k)
{
    void *p = atomic_load_explicit(&k_real[k], memory_order_acquire);
    if (!p) {
        p = glc_preload_real_dlsym()(RTLD_NEXT, k_names[k]);
        atomic_store_explicit(&k_real[k], p, memory_order_release);
    }
    return p;
}

static int k_index(const char *name)
{
    if (!name || (name[0] != 'r' && name[0] != 'p' && name[0] != 'f'))
        return -1;
    for (int k = 0; k < K_COUNT; k++)
        if (!strcmp(name, k_names[k]))
            return k;
    return -1;
}

int glc_preload_is_kernel_write(const char *name)
{
    return k_index(name) >= 0;
}

static void *k_wrapper(int k);

void *glc_preload_kernel_write_wrapper(const char *name, void *real)
{
    int k = k_index(name);
    return k >= 0 && real && real == real_libc(k) ? k_wrapper(k) : real;
}

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef ssize_t (*preadv_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*preadv2_fn)(int, const struct iovec *, int, off_t, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);

/* `real`: the next definition of `name` (libc's), of type `type`; ENOSYS when there is none. */
#define REAL_LIBC(type, name)                   \
    type real = (type)real_libc(K_##name);      \
    if (!real) {                                \
        errno = ENOSYS;                         \
        return -1;                              \
    }

static void prepare_iov(const struct iovec *iov, int n)
{
    for (int i = 0; iov && i < n; i++)
        glc_segv_prepare_write(iov[i].iov_base, iov[i].iov_len);
}

GLCOHERENT_EXPORT ssize_t read(int fd, void *buf, size_t count)
{
    REAL_LIBC(read_fn, read);
    glc_segv_prepare_write(buf, count);
    return real(fd, buf, count);
}

GLCOHERENT_EXPORT ssize_t pread(int fd, void *buf, size_t count, off_t offset)
{
    REAL_LIBC(pread_fn, pread);
    glc_segv_prepare_write(buf, count);
    return real(fd, buf, count, offset);
}

GLCOHERENT_EXPORT ssize_t pread64(int fd, void *buf, size_t count, off_t offset)
{
    REAL_LIBC(pread_fn, pread64);
    glc_segv_prepare_write(buf, count);
    return real(fd, buf, count, offset);
}

GLCOHERENT_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    REAL_LIBC(readv_fn, readv);
    prepare_iov(iov, iovcnt);
    return real(fd, iov, iovcnt);
}

GLCOHERENT_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    REAL_LIBC(preadv_fn, preadv);
    prepare_iov(iov, iovcnt);
    return real(fd, iov, iovcnt, offset);
}

GLCOHERENT_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    REAL_LIBC(preadv_fn, preadv64);
    prepare_iov(iov, iovcnt);
    return real(fd, iov, iovcnt, offset);
}

GLCOHERENT_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset,
                                  int flags)
{
    REAL_LIBC(preadv2_fn, preadv2);
    prepare_iov(iov, iovcnt);
    return real(fd, iov, iovcnt, offset, flags);
}

GLCOHERENT_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int iovcnt, off_t offset,
                                     int flags)
{
    REAL_LIBC(preadv2_fn, preadv64v2);
    prepare_iov(iov, iovcnt);
    return real(fd, iov, iovcnt, offset, flags);
}

GLCOHERENT_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    REAL_LIBC(recv_fn, recv);
    glc_segv_prepare_write(buf, len);
    return real(fd, buf, len, flags);
}

GLCOHERENT_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags,
                                   struct sockaddr *addr, socklen_t *addrlen)
{
    REAL_LIBC(recvfrom_fn, recvfrom);
    glc_segv_prepare_write(buf, len);
    if (addr && addrlen)
        glc_segv_prepare_write(addr, *addrlen);
    return real(fd, buf, len, flags, addr, addrlen);
}

GLCOHERENT_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    REAL_LIBC(recvmsg_fn, recvmsg);
    if (msg) {
        prepare_iov(msg->msg_iov, (int)msg->msg_iovlen);
        glc_segv_prepare_write(msg->msg_name, msg->msg_namelen);
        glc_segv_prepare_write(msg->msg_control, msg->msg_controllen);
    }
    return real(fd, msg, flags);
}

GLCOHERENT_EXPORT size_t fread(void *ptr, size_t size, size_t nmemb, FILE *stream)
{
    size_t (*real)(void *, size_t, size_t, FILE *) =
        (size_t (*)(void *, size_t, size_t, FILE *))real_libc(K_fread);
    if (!real)
        return 0;
    if (size && nmemb <= SIZE_MAX / size)
        glc_segv_prepare_write(ptr, size * nmemb);
    return real(ptr, size, nmemb, stream);
}

static void *k_wrapper(int k)
{
    switch (k) {
    case K_read: return (void *)read;
    case K_pread: return (void *)pread;
    case K_pread64: return (void *)pread64;
    case K_readv: return (void *)readv;
    case K_preadv: return (void *)preadv;
    case K_preadv64: return (void *)preadv64;
    case K_preadv2: return (void *)preadv2;
    case K_preadv64v2: return (void *)preadv64v2;
    case K_recv: return (void *)recv;
    case K_recvfrom: return (void *)recvfrom;
    case K_recvmsg: return (void *)recvmsg;
    case K_fread: return (void *)fread;
    }
    return NULL;
}
