/* kernel_writes.c - the kernel writes straight into a persistent coherent mapping
 * (tests/test_interposer.py).
 *
 * For each libc call that lets the kernel write into user memory (read, pread, readv, preadv,
 * recv, recvfrom, recvmsg, fread), into a page of the mapping that the client has not written
 * since the last GL command: the call must succeed, and the next GL command that reads the
 * buffer (a copy, then glGetBufferSubData of the copy) must see the bytes.
 *
 * The door (argv[1]) says how the program found the libc functions: "direct" (linked), "dlsym"
 * (dlsym of a libc handle), "dlvsym" (dlvsym(RTLD_DEFAULT, name, version)), "dlvsym-next"
 * (dlvsym(RTLD_NEXT, ...)); the last three reach libc's own definitions natively, past any
 * interposer's exports.
 *
 * Self-check: before each call, the same kind of write made with a raw system call (bypassing
 * libc, so nothing can prepare the page) tells whether the page was write-protected at that
 * moment (EFAULT); the line reports it, so a test can require that protection was really live
 * under the trackers that use it.
 */
#define _GNU_SOURCE
#include <GL/glcorearb.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "egl_context.h"

GLAPI void APIENTRY glGenBuffers(GLsizei n, GLuint *buffers);
GLAPI void APIENTRY glBindBuffer(GLenum target, GLuint buffer);
GLAPI void APIENTRY glBufferStorage(GLenum, GLsizeiptr, const void *, GLbitfield);
GLAPI void *APIENTRY glMapBufferRange(GLenum, GLintptr, GLsizeiptr, GLbitfield);
GLAPI void APIENTRY glCopyBufferSubData(GLenum, GLenum, GLintptr, GLintptr, GLsizeiptr);
GLAPI void APIENTRY glGetBufferSubData(GLenum, GLintptr, GLsizeiptr, void *);

#define PAGE 4096
#define PAGES 32
#define SIZE (PAGES * PAGE)
#define N 64

static unsigned char *map;
static int file_fd;
static int sock[2];
static FILE *file;

static int context(void)
{
    EGLDisplay dpy = test_egl_display();
    EGLContext ctx = test_egl_context(dpy, EGL_NO_CONTEXT, NULL);
    return ctx && eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx) ? 0 : -1;
}

/* A GL command that reads the mapped buffer (and so flushes it, re-arming any protection). */
static void gpu_copy(void)
{
    glCopyBufferSubData(GL_COPY_READ_BUFFER, GL_COPY_WRITE_BUFFER, 0, 0, SIZE);
}

static void pattern(unsigned char *p, int seed)
{
    for (int i = 0; i < N; i++)
        p[i] = (unsigned char)(seed * 7 + i);
}

/* Put N pattern bytes where the kernel will read them from: the file (at 0), the socket. */
static void feed(int seed)
{
    unsigned char p[N], old[4 * N];
    pattern(p, seed);
    while (recv(sock[0], old, sizeof old, MSG_DONTWAIT) > 0) /* what an earlier kind left */
        ;
    if (pwrite(file_fd, p, N, 0) != N || send(sock[1], p, N, 0) != N)
        abort();
    fflush(file);
    rewind(file);
}

/* The libc functions, found through the door. */
static struct {
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*pread)(int, void *, size_t, off_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*preadv)(int, const struct iovec *, int, off_t);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    size_t (*fread)(void *, size_t, size_t, FILE *);
} fn = {read, pread, readv, preadv, recv, recvfrom, recvmsg, fread};

static void *find(const char *door, const char *name, const char *version)
{
    static void *libc;
    void *p;
    if (!strcmp(door, "dlsym")) {
        if (!libc)
            libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
        p = libc ? dlsym(libc, name) : NULL;
    } else if (!strcmp(door, "dlvsym")) {
        p = dlvsym(RTLD_DEFAULT, name, version);
    } else {
        p = dlvsym(RTLD_NEXT, name, version);
    }
    if (!p) {
        fprintf(stderr, "door %s: %s@%s not found: %s\n", door, name, version, dlerror());
        exit(5);
    }
    return p;
}

static void open_door(const char *door)
{
    if (!strcmp(door, "direct"))
        return;
    if (strcmp(door, "dlsym") && strcmp(door, "dlvsym") && strcmp(door, "dlvsym-next")) {
        fprintf(stderr, "unknown door %s\n", door);
        exit(6);
    }
    *(void **)&fn.read = find(door, "read", "GLIBC_2.2.5");
    *(void **)&fn.pread = find(door, "pread", "GLIBC_2.2.5");
    *(void **)&fn.readv = find(door, "readv", "GLIBC_2.2.5");
    *(void **)&fn.preadv = find(door, "preadv", "GLIBC_2.10");
    *(void **)&fn.recv = find(door, "recv", "GLIBC_2.2.5");
    *(void **)&fn.recvfrom = find(door, "recvfrom", "GLIBC_2.2.5");
    *(void **)&fn.recvmsg = find(door, "recvmsg", "GLIBC_2.2.5");
    *(void **)&fn.fread = find(door, "fread", "GLIBC_2.2.5");
}

static ssize_t call(const char *kind, unsigned char *dst)
{
    struct iovec iov[2] = {{dst, N / 2}, {dst + N / 2, N / 2}};
    if (!strcmp(kind, "read")) {
        lseek(file_fd, 0, SEEK_SET);
        return fn.read(file_fd, dst, N);
    }
    if (!strcmp(kind, "pread"))
        return fn.pread(file_fd, dst, N, 0);
    if (!strcmp(kind, "readv")) {
        lseek(file_fd, 0, SEEK_SET);
        return fn.readv(file_fd, iov, 2);
    }
    if (!strcmp(kind, "preadv"))
        return fn.preadv(file_fd, iov, 2, 0);
    if (!strcmp(kind, "recv"))
        return fn.recv(sock[0], dst, N, 0);
    if (!strcmp(kind, "recvfrom"))
        return fn.recvfrom(sock[0], dst, N, 0, NULL, NULL);
    if (!strcmp(kind, "recvmsg")) {
        struct msghdr msg = {0};
        msg.msg_iov = iov;
        msg.msg_iovlen = 2;
        return fn.recvmsg(sock[0], &msg, 0);
    }
    if (!strcmp(kind, "fread")) {
        setvbuf(file, NULL, _IONBF, 0); /* straight into dst, as glibc does for large reads */
        return (ssize_t)fn.fread(dst, 1, N, file);
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const char *const kinds[] = {"read", "pread", "readv", "preadv", "recv",
                                        "recvfrom", "recvmsg", "fread"};
    const char *door = argc > 1 ? argv[1] : "direct";
    open_door(door);
    if (context())
        return 2;
    char path[] = "/tmp/glc-kernel-writes-XXXXXX";
    file_fd = mkstemp(path);
    if (file_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sock))
        return 3;
    unlink(path);
    file = fdopen(dup(file_fd), "rb");
    const GLbitfield f = GL_MAP_WRITE_BIT | GL_MAP_PERSISTENT_BIT | GL_MAP_COHERENT_BIT;
    GLuint b[2];
    glGenBuffers(2, b);
    glBindBuffer(GL_COPY_READ_BUFFER, b[0]);
    glBufferStorage(GL_COPY_READ_BUFFER, SIZE, NULL, f);
    glBindBuffer(GL_COPY_WRITE_BUFFER, b[1]);
    glBufferStorage(GL_COPY_WRITE_BUFFER, SIZE, NULL, GL_DYNAMIC_STORAGE_BIT);
    map = glMapBufferRange(GL_COPY_READ_BUFFER, 0, SIZE, f);
    if (!map)
        return 4;
    printf("ptr=%p len=%d door=%s\n", (void *)map, SIZE, door);
    map[0] = 1; /* the client writes elsewhere; the pages below stay untouched */
    int failures = 0;
    for (unsigned k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        unsigned char *dst = map + (2 + 3 * k) * PAGE + 200;
        /* Was the page protected? A raw pread of a file, which nothing can prepare. */
        feed((int)k);
        gpu_copy();
        long raw = syscall(SYS_pread64, file_fd, dst + PAGE, (size_t)N, (off_t)0);
        int raw_efault = raw < 0 && errno == EFAULT;
        gpu_copy();
        errno = 0;
        ssize_t got = call(kinds[k], dst);
        int err = got < 0 ? errno : 0;
        gpu_copy();
        unsigned char back[N], want[N];
        glGetBufferSubData(GL_COPY_WRITE_BUFFER, (GLintptr)(dst - map), N, back);
        pattern(want, (int)k);
        int ok = got == N && !memcmp(back, want, N);
        failures += !ok;
        printf("kind=%s got=%zd errno=%d raw_efault=%d ok=%d\n", kinds[k], got, err,
               raw_efault, ok);
    }
    printf("RESULT: %s\n", failures ? "fail" : "pass");
    return failures ? 1 : 0;
}
