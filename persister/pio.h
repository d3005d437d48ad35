/*
 * pio.h — checked system calls and error reports shared by the persister's
 * file formats (log segments, snapshots).
 *
 * Every function of those formats returns a persist_status_t and fills a
 * persist_error_t (when the caller passes one) with a line fit for a log or
 * for `fickled --check`: for a failed system call the call's name, the path
 * and strerror; for bad data the file, the byte offset and what is wrong.
 */
#ifndef FICKLE_PERSISTER_PIO_H
#define FICKLE_PERSISTER_PIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum {
    PERSIST_OK = 0,
    PERSIST_END,     /* an iterator reached a clean end of its file */
    PERSIST_TORN,    /* a log segment ends in an incomplete or CRC-bad record */
    PERSIST_CORRUPT, /* invalid data that is not a torn tail */
    PERSIST_IO,      /* a system call failed (sys_errno says why) */
    PERSIST_INVALID, /* bad argument or misuse (e.g. an LSN out of order) */
    PERSIST_NOMEM,
} persist_status_t;

#define PERSIST_MSG_MAX 1024

typedef struct {
    persist_status_t status;
    int sys_errno;   /* errno of the failed call (PERSIST_IO), else 0 */
    uint64_t offset; /* byte offset of the bad data (TORN, CORRUPT), else 0 */
    char msg[PERSIST_MSG_MAX];
} persist_error_t;

/* Static name of a status ("ok", "torn tail", ...). */
const char *persist_status_str(persist_status_t st);

/* Fills err (may be NULL) and returns st. */
persist_status_t persist_fail(persist_error_t *err, persist_status_t st, int sys_errno,
                              uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* For a system call that failed with errno: PERSIST_IO (PERSIST_NOMEM for
 * ENOMEM), message "<call> <path>: <strerror>". Returns the status. */
persist_status_t persist_syserr(persist_error_t *err, const char *call, const char *path);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t pio_now_ms(void);

/* Writes all len bytes at file offset off with pwrite(), going on after
 * short writes and EINTR. Returns 0, or -1 with errno (EIO if the kernel
 * wrote nothing without an error). Some bytes may have been written. */
int pio_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Reads up to len bytes at off with pread(), going on after short reads and
 * EINTR. Returns the bytes read (fewer than len only at end of file), or -1
 * with errno. */
ssize_t pio_pread_all(int fd, void *buf, size_t len, uint64_t off);

/* fsync() of a directory, so that entries created, renamed or removed in it
 * are durable. Returns 0, or -1 with errno; *call names the call that
 * failed ("open" or "fsync"). */
int pio_fsync_dir(const char *dir, const char **call);

/* Joins dir and name into out (cap bytes). Returns 0, or -1 (ENAMETOOLONG)
 * if it does not fit. */
int pio_join(char *out, size_t cap, const char *dir, const char *name);

#endif
