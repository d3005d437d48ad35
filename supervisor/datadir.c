/*
 * datadir.c — data directory creation, locking and region naming.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "supervisor/datadir.h"

#define LOCK_NAME "fickled.lock"

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
    snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    return -1;
}

/* Reads the pid a running holder wrote into the lock file, for the message. */
static long lock_holder(int fd)
{
    char buf[32] = {0};
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    return n > 0 ? strtol(buf, NULL, 10) : 0;
}

static int take_lock(datadir_t *d, char *err, size_t errlen)
{
    char lock_path[PATH_MAX + 32];
    snprintf(lock_path, sizeof(lock_path), "%s/%s", d->path, LOCK_NAME);
    d->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (d->lock_fd < 0)
        return fail(err, errlen, "open", lock_path);
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        long pid = lock_holder(d->lock_fd);
        close(d->lock_fd);
        d->lock_fd = -1;
        if (e == EWOULDBLOCK) {
            snprintf(err, errlen, "data directory %s is in use by another fickled (pid %ld)", d->path, pid);
            return -1;
        }
        errno = e;
        return fail(err, errlen, "flock", lock_path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(d->lock_fd, 0) != 0 || pwrite(d->lock_fd, pid, (size_t)n, 0) != n)
        return fail(err, errlen, "write pid to", lock_path);
    return 0;
}

int datadir_open(datadir_t *d, const char *path, const char *shm_dir, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    d->lock_fd = -1;
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, "mkdir", path);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fail(err, errlen, "stat", path);
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "data directory %s is not a directory", path);
        return -1;
    }
    d->loose_mode = (sb.st_mode & 077) != 0;
    if (realpath(path, d->path) == NULL)
        return fail(err, errlen, "realpath", path);
    /* One region per data directory, named after its canonical path. */
    snprintf(d->region_path, sizeof(d->region_path), "%s/fickle-%016llx", shm_dir,
             (unsigned long long)XXH64(d->path, strlen(d->path), 0));
    return take_lock(d, err, errlen);
}

void datadir_close(datadir_t *d)
{
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    d->lock_fd = -1;
}
