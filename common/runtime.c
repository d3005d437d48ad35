/*
 * runtime.c — creation of the shared runtime counters page.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>

#include "common/runtime.h"

runtime_t *runtime_create(unsigned nworkers)
{
    void *p = mmap(NULL, sizeof(runtime_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    runtime_t *rt = p;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rt->nworkers = nworkers;
    rt->started_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    return rt;
}

void runtime_settings_write(runtime_t *rt, const runtime_settings_t *s)
{
    runtime_settings_t *d = &rt->settings;
    uint32_t gen = atomic_load_explicit(&d->gen, memory_order_relaxed);
    atomic_store_explicit(&d->gen, gen + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    d->maxclients = s->maxclients;
    d->timeout_s = s->timeout_s;
    d->max_output = s->max_output;
    d->protected_mode = s->protected_mode;
    d->log_level = s->log_level;
    memcpy(d->requirepass, s->requirepass, sizeof(d->requirepass));
    d->requirepass[sizeof(d->requirepass) - 1] = '\0';
    atomic_store_explicit(&d->gen, gen + 2, memory_order_release);
}

bool runtime_settings_read(runtime_t *rt, uint32_t *gen, runtime_settings_t *out)
{
    runtime_settings_t *d = &rt->settings;
    for (;;) {
        uint32_t g = atomic_load_explicit(&d->gen, memory_order_acquire);
        if (g == *gen)
            return false;
        if (g & 1)
            continue; /* the supervisor is writing: a few instructions */
        runtime_settings_t copy;
        copy.maxclients = d->maxclients;
        copy.timeout_s = d->timeout_s;
        copy.max_output = d->max_output;
        copy.protected_mode = d->protected_mode;
        copy.log_level = d->log_level;
        memcpy(copy.requirepass, d->requirepass, sizeof(copy.requirepass));
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&d->gen, memory_order_relaxed) != g)
            continue;
        copy.requirepass[sizeof(copy.requirepass) - 1] = '\0';
        copy.gen = g;
        *out = copy;
        *gen = g;
        return true;
    }
}

void runtime_wake_persister(runtime_t *rt)
{
    /* Our commit (a release store) must be visible before we read the
     * flag, and the persister sets the flag before it looks at the ring:
     * with a full fence on both sides, one of us sees the other. */
    atomic_thread_fence(memory_order_seq_cst);
    if (rt->wake_fd < 0 || !atomic_load_explicit(&rt->persister.sleeping, memory_order_relaxed))
        return;
    uint64_t one = 1;
    ssize_t w = write(rt->wake_fd, &one, sizeof(one));
    (void)w; /* EAGAIN: the counter is already non-zero, it will wake anyway */
}

uint64_t runtime_request_snapshot(runtime_t *rt)
{
    uint64_t t = atomic_fetch_add_explicit(&rt->snapshot.requests, 1, memory_order_seq_cst) + 1;
    runtime_wake_persister(rt);
    return t;
}

bool runtime_snapshot_busy(runtime_t *rt)
{
    snapshot_stats_t *s = &rt->snapshot;
    return atomic_load_explicit(&s->in_progress, memory_order_acquire) ||
           atomic_load_explicit(&s->requests, memory_order_acquire) >
               atomic_load_explicit(&s->answered, memory_order_acquire);
}

int runtime_snapshot_status(runtime_t *rt, uint64_t ticket, uint64_t *lsn)
{
    snapshot_stats_t *s = &rt->snapshot;
    /* answered first: the persister stores served before answered, so a
     * success that answered the ticket is seen as one. */
    uint64_t answered = atomic_load_explicit(&s->answered, memory_order_acquire);
    if (atomic_load_explicit(&s->served, memory_order_acquire) >= ticket) {
        *lsn = atomic_load_explicit(&s->last_lsn, memory_order_relaxed);
        return 1;
    }
    return answered >= ticket ? -1 : 0;
}
