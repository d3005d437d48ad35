/*
 * fsync_delay.c — a benchmark-only LD_PRELOAD shim that makes fsync and
 * fdatasync take FSYNC_DELAY_US microseconds longer (after the real call),
 * to compare servers as on a disk slower to flush than the test machine's.
 *
 * Why: fsync on the shared VMs we measure on returns in about 100 us (the
 * host acknowledges flushes from its cache); a real SSD takes 0.2-2 ms, an
 * SD card or eMMC (the reference ARM board) several ms. How a server
 * overlaps work with a flush only shows when the flush takes that long.
 * The caller's thread sleeps, as it would waiting for the device; the CPU
 * is free meanwhile. bench/persist_bench.sh preloads it into both fickled
 * and redis-server alike (FSYNC_DELAYS). Never built into anything else.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

static long delay_ns = -1;

static void flush_delay(void)
{
    if (delay_ns < 0) {
        const char *e = getenv("FSYNC_DELAY_US");
        long us = e ? strtol(e, NULL, 10) : 0;
        delay_ns = us > 0 && us < 10000000 ? us * 1000 : 0;
    }
    if (delay_ns == 0)
        return;
    int saved = errno; /* the caller reads the real call's errno */
    struct timespec ts = {delay_ns / 1000000000L, delay_ns % 1000000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    errno = saved;
}

EXPORT int fsync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int rc = real(fd);
    flush_delay();
    return rc;
}

EXPORT int fdatasync(int fd)
{
    static int (*real)(int);
    if (real == NULL)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int rc = real(fd);
    flush_delay();
    return rc;
}
