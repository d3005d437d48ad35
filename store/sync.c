/*
 * sync.c — seqlock, robust writer mutex, owner-death repair, crash points.
 */
#include "config.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "store/journal.h"
#include "store/ring.h"
#include "store/sync.h"

/* Spins while the sequence is odd before giving up on the optimistic path. */
#define SYNC_SPIN_LIMIT 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    atomic_signal_fence(memory_order_seq_cst);
#endif
}

uint64_t sync_read_begin(const struct store *st)
{
    uint64_t s = atomic_load_explicit(&st->hdr->seq, memory_order_acquire);
    for (int spins = 0; (s & 1) && spins < SYNC_SPIN_LIMIT; spins++) {
        cpu_relax();
        s = atomic_load_explicit(&st->hdr->seq, memory_order_acquire);
    }
    return s;
}

void sync_write_begin(struct store *st)
{
    uint64_t s = atomic_load_explicit(&st->hdr->seq, memory_order_relaxed);
    atomic_store_explicit(&st->hdr->seq, s + 1, memory_order_relaxed);
    /* The odd value must be visible before any change that follows. */
    atomic_thread_fence(memory_order_release);
}

void sync_write_end(struct store *st)
{
    uint64_t s = atomic_load_explicit(&st->hdr->seq, memory_order_relaxed);
    /* Release: every change above is visible before the even value. */
    atomic_store_explicit(&st->hdr->seq, s + 1, memory_order_release);
}

store_err_t sync_init(region_hdr_t *hdr)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc == 0)
        rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = pthread_mutex_init(&hdr->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0)
        return store_fail(STORE_IO, "pthread_mutex_init (robust, process-shared): %s", strerror(rc));
    atomic_store_explicit(&hdr->seq, 0, memory_order_relaxed);
    return STORE_OK;
}

/* The previous owner died holding the mutex: undo its partial changes.
 * Caller holds the mutex (returned with EOWNERDEAD). */
static store_err_t repair_locked(struct store *st)
{
    uint64_t entries = LD64(&st->hdr->journal_len);
    bool odd = atomic_load_explicit(&st->hdr->seq, memory_order_relaxed) & 1;
    if (!odd && entries > 0)
        sync_write_begin(st); /* readers must not validate during rollback */
    journal_recover(st);
    ring_publish(st); /* a record written before a commit the owner finished */
    if (atomic_load_explicit(&st->hdr->seq, memory_order_relaxed) & 1)
        sync_write_end(st);
    st->hdr->owner_deaths++;
    int rc = pthread_mutex_consistent(&st->hdr->mutex);
    if (rc != 0) {
        pthread_mutex_unlock(&st->hdr->mutex);
        return store_fail(STORE_CORRUPT, "pthread_mutex_consistent: %s", strerror(rc));
    }
    store_log(1, "store %s: a writer died inside its critical section; rolled back %llu journal entries",
              st->path ? st->path : "(region)", (unsigned long long)entries);
    return STORE_OK;
}

/* Robust mutexes need the kernel's robust list: qemu-user answers
 * set_robust_list/get_robust_list with ENOSYS, glibc then runs them as
 * plain mutexes, and a process that dies holding one leaves it locked for
 * good (no EOWNERDEAD). Computed once per process; a race only repeats it. */
static bool robust_futexes_missing(void)
{
    static int missing = -1;
    if (missing < 0) {
        struct robust_list_head *head;
        size_t len;
        missing = syscall(SYS_get_robust_list, 0, &head, &len) != 0 && errno == ENOSYS;
        if (missing)
            store_log(1, "get_robust_list: ENOSYS: robust futexes are unsupported here (qemu-user?): a process "
                         "that dies holding the writer mutex cannot be recovered from (docs/arm.md)");
    }
    return missing;
}

/* pthread_mutex_lock without robust futexes: waits in 1 s slices and gives
 * up once the owner (glibc keeps its thread id in the mutex) no longer
 * exists, rather than hang. Returns the lock's result, or ENOTRECOVERABLE
 * with *dead set. */
static int lock_without_robust(struct store *st, pid_t *dead)
{
    for (unsigned waited = 1;; waited++) {
        struct timespec dl;
        if (clock_gettime(CLOCK_REALTIME, &dl) != 0)
            return errno;
        dl.tv_sec += 1;
        int rc = pthread_mutex_timedlock(&st->hdr->mutex, &dl);
        if (rc != ETIMEDOUT)
            return rc;
        pid_t owner = st->hdr->mutex.__data.__owner;
        if (owner > 0 && kill(owner, 0) != 0 && errno == ESRCH) {
            *dead = owner;
            return ENOTRECOVERABLE;
        }
        if (waited % 30 == 0)
            store_log(1, "waited %u s for the writer mutex (held by thread %ld)", waited, (long)owner);
    }
}

/* What a lock call's result rc means for the caller (fn: the call's name). */
static store_err_t lock_result(struct store *st, int rc, const char *fn)
{
    if (rc == 0)
        return STORE_OK;
    if (rc == EOWNERDEAD)
        return repair_locked(st);
    if (rc == ENOTRECOVERABLE)
        return store_fail(STORE_CORRUPT, "writer mutex not recoverable: the region must be rebuilt from disk");
    return store_fail(STORE_IO, "%s: %s", fn, strerror(rc));
}

/* The writer mutex's owner died where no robust futex can report it. */
static store_err_t dead_owner(pid_t dead)
{
    static bool logged; /* once per process: every write would repeat it */
    store_err_t err = store_fail(STORE_CORRUPT, "the writer mutex's owner (thread %ld) died holding it and "
                                 "robust futexes are unsupported here (qemu-user?): no write can proceed; "
                                 "restart fickled without its region file to rebuild it from disk (docs/arm.md)",
                                 (long)dead);
    if (!logged)
        store_log(0, "%s", store_error_detail());
    logged = true;
    return err;
}

/* Writers' critical sections last a microsecond or two, a futex sleep and
 * wake-up several times that (two context switches; in a VM, more): on a
 * machine with more than one core a writer that finds the mutex held
 * first spins up to SYNC_LOCK_SPIN_NS for it, as glibc's adaptive mutexes
 * do (robust mutexes never spin). It only reads the lock word until it
 * looks free, so the spin does not bounce the line between cores. Returns
 * trylock's result: 0, EOWNERDEAD, EBUSY (still held: block), or an error. */
#define SYNC_LOCK_SPIN_NS 5000

static int spin_trylock(struct store *st)
{
    static long cpus;
    if (cpus == 0)
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int rc = pthread_mutex_trylock(&st->hdr->mutex);
    if (rc != EBUSY || cpus < 2)
        return rc;
    struct timespec t0, t;
    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0)
        return EBUSY;
    for (unsigned i = 1;; i++) {
        cpu_relax();
        if (__atomic_load_n(&st->hdr->mutex.__data.__lock, __ATOMIC_RELAXED) == 0 &&
            (rc = pthread_mutex_trylock(&st->hdr->mutex)) != EBUSY)
            return rc;
        if (i % 32 == 0 && (clock_gettime(CLOCK_MONOTONIC, &t) != 0 ||
                            (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > SYNC_LOCK_SPIN_NS))
            return EBUSY;
    }
}

store_err_t sync_lock(struct store *st)
{
    pid_t dead = 0;
    int rc = robust_futexes_missing() ? EBUSY : spin_trylock(st);
    if (rc == EBUSY)
        rc = robust_futexes_missing() ? lock_without_robust(st, &dead) : pthread_mutex_lock(&st->hdr->mutex);
    if (dead != 0)
        return dead_owner(dead);
    return lock_result(st, rc, "pthread_mutex_lock");
}

store_err_t sync_trylock(struct store *st)
{
    int rc = pthread_mutex_trylock(&st->hdr->mutex);
    if (rc == EBUSY)
        return STORE_BUSY; /* no detail: the caller expects this often */
    return lock_result(st, rc, "pthread_mutex_trylock");
}

void sync_unlock(struct store *st)
{
    int rc = pthread_mutex_unlock(&st->hdr->mutex);
    if (rc != 0)
        store_log(0, "pthread_mutex_unlock: %s", strerror(rc));
}

#ifdef FICKLE_TEST_HOOKS
static store_crash_point_t crash_cp = STORE_CP_NONE;
static unsigned crash_skip;

bool store_test_crash_at(store_crash_point_t cp, unsigned skip)
{
    crash_cp = cp;
    crash_skip = skip;
    return true;
}

void sync_crash_point(store_crash_point_t cp)
{
    if (cp != crash_cp)
        return;
    if (crash_skip > 0) {
        crash_skip--;
        return;
    }
    /* No cleanup of any kind: the point is to die mid-write. */
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}
#else
bool store_test_crash_at(store_crash_point_t cp, unsigned skip)
{
    (void)cp;
    (void)skip;
    return false;
}
#endif
