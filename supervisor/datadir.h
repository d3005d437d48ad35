/*
 * datadir.h — the data directory: creation (mode 0700), the exclusive
 * lock that keeps a second fickled off it, and the name of its region.
 */
#ifndef FICKLE_SUPERVISOR_DATADIR_H
#define FICKLE_SUPERVISOR_DATADIR_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int lock_fd;                  /* holds flock(LOCK_EX) while open */
    char path[PATH_MAX];          /* canonical absolute path */
    char region_path[PATH_MAX];   /* /dev/shm/fickle-<hash of path> */
    bool loose_mode;              /* existing directory is group/other accessible */
} datadir_t;

/* Creates `path` if missing (0700), takes the lock (non-blocking) and writes
 * our pid into it. Returns 0, or -1 with a one-line reason in err (a busy
 * directory names the pid holding it). */
int datadir_open(datadir_t *d, const char *path, const char *shm_dir, char *err, size_t errlen);

/* Releases the lock (the lock file stays). */
void datadir_close(datadir_t *d);

#endif
