/*
 * robust_probe.c — whether this system hands a dead owner's robust
 * process-shared mutex to the next locker (EOWNERDEAD). Tests that kill a
 * process holding the store's writer mutex skip those cases where it does
 * not (qemu-user: docs/arm.md).
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/robust_probe.h"

bool probe_robust_mutex(char *why, size_t whylen)
{
    /* qemu-user answers the robust-list system calls with ENOSYS: glibc
     * then runs robust mutexes as plain ones, and the kernel never marks a
     * dead owner's mutex. No need to wait out the probe below. */
    struct robust_list_head *head;
    size_t len;
    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 && errno == ENOSYS) {
        snprintf(why, whylen, "get_robust_list: ENOSYS: robust futexes are not supported here "
                              "(qemu-user does not implement them)");
        return false;
    }
    pthread_mutex_t *mu = mmap(NULL, sizeof(*mu), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mu == MAP_FAILED)
        return snprintf(why, whylen, "mmap: %s", strerror(errno)), false;
    pthread_mutexattr_t a;
    int rc = pthread_mutexattr_init(&a);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(mu, &a);
    pthread_mutexattr_destroy(&a);
    bool ok = false;
    if (rc != 0) {
        snprintf(why, whylen, "robust process-shared mutex init: %s", strerror(rc));
    } else {
        pid_t pid = fork();
        if (pid == 0)
            _exit(pthread_mutex_lock(mu) == 0 ? 0 : 1); /* dies holding it */
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            snprintf(why, whylen, "probe child could not lock the mutex");
        } else {
            struct timespec dl;
            rc = clock_gettime(CLOCK_REALTIME, &dl) == 0 ? 0 : errno;
            dl.tv_sec += 3;
            if (rc == 0)
                rc = pthread_mutex_timedlock(mu, &dl);
            ok = rc == EOWNERDEAD;
            if (!ok)
                snprintf(why, whylen, "locking a mutex whose owner died gave '%s', not EOWNERDEAD "
                         "(robust futexes unsupported here, e.g. under qemu-user?)", strerror(rc));
            else if (pthread_mutex_consistent(mu) == 0)
                pthread_mutex_unlock(mu);
        }
        pthread_mutex_destroy(mu);
    }
    if (munmap(mu, sizeof(*mu)) != 0 && ok)
        return snprintf(why, whylen, "munmap: %s", strerror(errno)), false;
    return ok;
}
