/*
 * pio.c — checked system calls and error reports of the persister formats.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "persister/pio.h"

const char *persist_status_str(persist_status_t st)
{
    switch (st) {
    case PERSIST_OK: return "ok";
    case PERSIST_END: return "end";
    case PERSIST_TORN: return "torn tail";
    case PERSIST_CORRUPT: return "corrupt";
    case PERSIST_IO: return "I/O error";
    case PERSIST_INVALID: return "invalid argument";
    case PERSIST_NOMEM: return "out of memory";
    }
    return "unknown status";
}

persist_status_t persist_fail(persist_error_t *err, persist_status_t st, int sys_errno,
                              uint64_t offset, const char *fmt, ...)
{
    if (!err)
        return st;
    err->status = st;
    err->sys_errno = sys_errno;
    err->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return st;
}

persist_status_t persist_syserr(persist_error_t *err, const char *call, const char *path)
{
    int e = errno;
    persist_status_t st = e == ENOMEM ? PERSIST_NOMEM : PERSIST_IO;
    return persist_fail(err, st, e, 0, "%s %s: %s", call, path, strerror(e));
}

uint64_t pio_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int pio_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO;
            return -1;
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t pio_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int pio_fsync_dir(const char *dir, const char **call)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        *call = "open";
        return -1;
    }
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0) {
        *call = "fsync";
        errno = e;
        return -1;
    }
    return 0;
}

int pio_join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
