/*
 * faultshim.c — test-only fault injection, LD_PRELOADed into fickled:
 * makes write, pwrite, fsync/fdatasync, rename, open/openat, ftruncate and
 * mmap fail (EIO, ENOSPC, EINTR, ... or a short write) when a rule of the
 * shared control block (faultshim.h) matches the call, the file's path,
 * the process and the calling thread's name. Never built into fickled.
 *
 * Why LD_PRELOAD rather than link-time wrappers (-Wl,--wrap): the binary
 * under test is the fickled that ships, unchanged, and calls made inside
 * other libraries are intercepted too. Safety:
 * - fork: the control block is a MAP_SHARED mapping made in the
 *   constructor, inherited by every child; there is no other state.
 * - threads: rules are read with acquire loads and counted with atomic
 *   read-modify-writes; nothing is locked, nothing allocated.
 * - dlsym(RTLD_NEXT): every real function is resolved in the constructor,
 *   before fickled's main; a call made earlier (another constructor)
 *   resolves lazily, and until the control block is mapped no rule
 *   applies, so the shim's own open/mmap of the block pass straight through.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "tests/faultshim.h"

#define EXPORT __attribute__((visibility("default")))

static fs_ctl_t *ctl;

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*fd_fn)(int);
typedef int (*rename_fn)(const char *, const char *);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef int (*ftruncate_fn)(int, off_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

/* The real functions, resolved by name (slots of void *: what dlsym
 * returns), cast to their types at the call. */
static struct {
    void *write, *pwrite, *pwrite64, *fsync, *fdatasync, *rename, *open, *open64, *openat, *openat64;
    void *open_2, *open64_2, *openat_2, *ftruncate, *ftruncate64, *mmap, *mmap64;
} real;

/* Resolves *slot on first use; racing threads at worst both resolve it. */
static void *resolve(void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    p = dlsym(RTLD_NEXT, name);
    if (!p) {
        static const char msg[] = "faultshim: dlsym(RTLD_NEXT) found no real function\n";
        ssize_t (*w)(int, const void *, size_t) = (write_fn)real.write;
        if (w)
            (void)!w(2, msg, sizeof(msg) - 1);
        abort();
    }
    __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    return p;
}

#define REAL_AS(f, type, sym) ((type)resolve(&real.f, sym))
#define REAL(f, type) REAL_AS(f, type, #f)

static void resolve_all(void)
{
    static const struct {
        void **slot;
        const char *name;
    } all[] = {{&real.write, "write"}, {&real.pwrite, "pwrite"}, {&real.pwrite64, "pwrite64"},
               {&real.fsync, "fsync"}, {&real.fdatasync, "fdatasync"}, {&real.rename, "rename"},
               {&real.open, "open"}, {&real.open64, "open64"}, {&real.openat, "openat"},
               {&real.openat64, "openat64"}, {&real.open_2, "__open_2"}, {&real.open64_2, "__open64_2"},
               {&real.openat_2, "__openat_2"}, {&real.ftruncate, "ftruncate"},
               {&real.ftruncate64, "ftruncate64"}, {&real.mmap, "mmap"}, {&real.mmap64, "mmap64"}};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) /* a missing one fails only if called */
        __atomic_store_n(all[i].slot, dlsym(RTLD_NEXT, all[i].name), __ATOMIC_RELEASE);
}

__attribute__((constructor)) static void faultshim_init(void)
{
    resolve_all();
    const char *path = getenv("FAULTSHIM_CTL");
    if (!path || !*path)
        return;
    int fd = REAL(open, open_fn)(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "faultshim: open %s: %s\n", path, strerror(errno));
        return;
    }
    void *p = REAL(mmap, mmap_fn)(NULL, sizeof(fs_ctl_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        fprintf(stderr, "faultshim: mmap %s: %s\n", path, strerror(errno));
        return;
    }
    if (((fs_ctl_t *)p)->magic != FS_MAGIC) {
        fprintf(stderr, "faultshim: %s is not a control block\n", path);
        munmap(p, sizeof(fs_ctl_t));
        return;
    }
    ctl = p;
}

/* The path of an open descriptor ("" if unknown). */
static void fd_path(int fd, char *buf, size_t cap)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, cap - 1);
    buf[n > 0 ? n : 0] = '\0';
}

static bool rule_matches(const fs_rule_t *r, unsigned call, int fd, const char *path)
{
    if (!(r->calls & call))
        return false;
    if (r->proc[0]) {
        char name[17] = "";
        prctl(PR_GET_NAME, name);
        if (!strstr(name, r->proc))
            return false;
    }
    if (r->path[0]) {
        char buf[4096];
        if (!path) {
            fd_path(fd, buf, sizeof(buf));
            path = buf;
        }
        if (!strstr(path, r->path))
            return false;
    }
    return true;
}

/* Takes one fault from r if its window is open: past skip, under count. */
static bool take(fs_rule_t *r)
{
    uint64_t seen = __atomic_fetch_add(&r->seen, 1, __ATOMIC_RELAXED);
    if (seen < r->skip)
        return false;
    uint64_t f = __atomic_load_n(&r->fired, __ATOMIC_RELAXED);
    do {
        if (r->count >= 0 && f >= (uint64_t)r->count)
            return false;
    } while (!__atomic_compare_exchange_n(&r->fired, &f, f + 1, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return true;
}

/* The rule that injects a fault into this call, or NULL. fd is used for
 * the path when path is NULL. */
static const fs_rule_t *fault_for(unsigned call, int fd, const char *path)
{
    if (!ctl)
        return NULL;
    uint32_t n = __atomic_load_n(&ctl->nrules, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && i < FS_MAX_RULES; i++) {
        fs_rule_t *r = &ctl->rules[i];
        if (!__atomic_load_n(&r->active, __ATOMIC_ACQUIRE))
            continue;
        int saved = errno;
        bool hit = rule_matches(r, call, fd, path) && take(r);
        errno = saved;
        if (hit)
            return r;
    }
    return NULL;
}

/* Sets errno for a failing rule; returns -1. */
static int fail(const fs_rule_t *r)
{
    errno = r->err ? r->err : EIO;
    return -1;
}

EXPORT ssize_t write(int fd, const void *buf, size_t len)
{
    const fs_rule_t *r = fault_for(FS_WRITE, fd, NULL);
    if (r && r->action == FS_SHORT && len > 1)
        return REAL(write, write_fn)(fd, buf, len / 2);
    if (r && r->action != FS_SHORT)
        return fail(r);
    return REAL(write, write_fn)(fd, buf, len);
}

static ssize_t do_pwrite(pwrite_fn fn, int fd, const void *buf, size_t len, off_t off)
{
    const fs_rule_t *r = fault_for(FS_PWRITE, fd, NULL);
    if (r && r->action == FS_SHORT && len > 1)
        return fn(fd, buf, len / 2, off);
    if (r && r->action != FS_SHORT)
        return fail(r);
    return fn(fd, buf, len, off);
}

EXPORT ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
    return do_pwrite(REAL(pwrite, pwrite_fn), fd, buf, len, off);
}

EXPORT ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
    return do_pwrite(REAL(pwrite64, pwrite_fn), fd, buf, len, off);
}

EXPORT int fsync(int fd)
{
    const fs_rule_t *r = fault_for(FS_FSYNC, fd, NULL);
    return r ? fail(r) : REAL(fsync, fd_fn)(fd);
}

EXPORT int fdatasync(int fd)
{
    const fs_rule_t *r = fault_for(FS_FDATASYNC, fd, NULL);
    return r ? fail(r) : REAL(fdatasync, fd_fn)(fd);
}

EXPORT int rename(const char *from, const char *to)
{
    const fs_rule_t *r = fault_for(FS_RENAME, -1, from);
    return r ? fail(r) : REAL(rename, rename_fn)(from, to);
}

/* An open that creates passes a mode (read here: the vararg is only in
 * the caller's frame). */
#define OPEN_MODE(flags, mode)                                                                                          \
    do {                                                                                                               \
        if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {                                               \
            va_list ap;                                                                                                \
            va_start(ap, flags);                                                                                       \
            mode = (mode_t)va_arg(ap, int);                                                                            \
            va_end(ap);                                                                                                \
        }                                                                                                              \
    } while (0)

/* open, open64 (dirfd NO_DIR), openat, openat64 through the real fn. */
#define NO_DIR (-1000)
static int do_open(void *fn, int dirfd, const char *path, int flags, mode_t mode)
{
    const fs_rule_t *r = fault_for(FS_OPEN, -1, path);
    if (r)
        return fail(r);
    return dirfd == NO_DIR ? ((open_fn)fn)(path, flags, mode) : ((openat_fn)fn)(dirfd, path, flags, mode);
}

EXPORT int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return do_open(REAL(open, void *), NO_DIR, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return do_open(REAL(open64, void *), NO_DIR, path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return do_open(REAL(openat, void *), dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    mode_t mode = 0;
    OPEN_MODE(flags, mode);
    return do_open(REAL(openat64, void *), dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE's checked entry points (glibc declares them only
 * inside its fortify wrappers). */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);

EXPORT int __open_2(const char *path, int flags)
{
    const fs_rule_t *r = fault_for(FS_OPEN, -1, path);
    return r ? fail(r) : REAL_AS(open_2, open2_fn, "__open_2")(path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
    const fs_rule_t *r = fault_for(FS_OPEN, -1, path);
    return r ? fail(r) : REAL_AS(open64_2, open2_fn, "__open64_2")(path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    const fs_rule_t *r = fault_for(FS_OPEN, -1, path);
    return r ? fail(r) : REAL_AS(openat_2, openat2_fn, "__openat_2")(dirfd, path, flags);
}

EXPORT int ftruncate(int fd, off_t len)
{
    const fs_rule_t *r = fault_for(FS_FTRUNCATE, fd, NULL);
    return r ? fail(r) : REAL(ftruncate, ftruncate_fn)(fd, len);
}

EXPORT int ftruncate64(int fd, off_t len)
{
    const fs_rule_t *r = fault_for(FS_FTRUNCATE, fd, NULL);
    return r ? fail(r) : REAL(ftruncate64, ftruncate_fn)(fd, len);
}

/* Anonymous mappings (the allocator's) are never failed. */
static void *do_mmap(mmap_fn fn, void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    const fs_rule_t *r = (flags & MAP_ANONYMOUS) || fd < 0 ? NULL : fault_for(FS_MMAP, fd, NULL);
    if (r) {
        fail(r);
        return MAP_FAILED;
    }
    return fn(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return do_mmap(REAL(mmap, mmap_fn), addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return do_mmap(REAL(mmap64, mmap_fn), addr, len, prot, flags, fd, off);
}
