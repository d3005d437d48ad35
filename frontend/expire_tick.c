/*
 * expire_tick.c — active expiry in the workers: a timer that removes
 * expired keys in small batches (store_expire_sweep).
 *
 * Every worker arms the timer; a tick runs only in the worker that claims
 * it in the region (store_expire_claim), so one process sweeps at a time.
 * The pace follows Redis's adaptive cycle: every EXPIRE_SLOW_MS a tick
 * sweeps batches while a large share (EXPIRE_STALE_PCT) of the items with
 * an expiry it looks at turn out expired, for at most EXPIRE_TICK_US; a
 * tick that ran out of time with that share still high comes back after
 * EXPIRE_FAST_MS. Each batch is one short critical section taken without
 * waiting (another writer holding the mutex, or a change ring over half
 * full, ends the tick and retries soon), so requests, this worker's and
 * the others', wait for at most one batch.
 */
#include "config.h"

#include <time.h>

#include "common/log.h"
#include "frontend/worker.h"

#define EXPIRE_SLOW_MS 100     /* cadence while little expires (Redis's hz 10) */
#define EXPIRE_FAST_MS 1       /* cadence while much does: about half of one worker */
#define EXPIRE_TICK_US 1000    /* sweeping per tick */
#define EXPIRE_BATCH_VISITS 1024
#define EXPIRE_BATCH_DELETES 64 /* one batch: ~0.1 ms under the mutex */
#define EXPIRE_STALE_PCT 10

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void arm(worker_t *w, unsigned ms)
{
    struct timeval tv = {0, (long)ms * 1000};
    if (event_add(w->expire_tick, &tv) != 0)
        log_msg(LOG_WARNING, "worker %u: cannot re-arm the expiry timer", w->conf->index);
}

static bool stale(const store_sweep_t *s)
{
    return s->expiring && s->deleted * 100 >= s->expiring * EXPIRE_STALE_PCT;
}

/* Sweeps batches for up to EXPIRE_TICK_US; returns the delay to the next
 * tick. */
static unsigned sweep_tick(worker_t *w, uint64_t now)
{
    store_t *st = w->conf->store;
    uint64_t start = mono_us();
    for (;;) {
        store_sweep_t s;
        store_err_t err = store_expire_sweep(st, now, EXPIRE_BATCH_VISITS, EXPIRE_BATCH_DELETES, &s);
        if (err == STORE_BUSY)
            return EXPIRE_FAST_MS; /* a writer or a full ring: back off, retry soon */
        if (err != STORE_OK) {
            log_msg(LOG_WARNING, "worker %u: expiry sweep: %s", w->conf->index, store_error_detail());
            return EXPIRE_SLOW_MS;
        }
        if (s.visited == 0 || s.wrapped || (s.expiring && !stale(&s)))
            return EXPIRE_SLOW_MS; /* nothing to do, a round done, or little expired */
        if (mono_us() - start >= EXPIRE_TICK_US)
            return stale(&s) ? EXPIRE_FAST_MS : EXPIRE_SLOW_MS;
    }
}

static void expire_cb(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    (void)fd;
    (void)what;
    if (w->stopping)
        return;
    store_t *st = w->conf->store;
    uint64_t now = store_now_ms(st);
    unsigned next = EXPIRE_SLOW_MS;
    /* The claim's lease keeps the others off while this tick runs. */
    if (store_expire_claim(st, now, now + EXPIRE_SLOW_MS)) {
        next = sweep_tick(w, now);
        store_expire_schedule(st, store_now_ms(st) + next);
    }
    arm(w, next);
}

int worker_expire_start(worker_t *w)
{
    w->expire_tick = evtimer_new(w->base, expire_cb, w);
    if (w->expire_tick == NULL) {
        log_msg(LOG_WARNING, "worker %u: evtimer_new (expiry) failed", w->conf->index);
        return -1;
    }
    /* Staggered first ticks: the workers' timers do not fire together. */
    arm(w, EXPIRE_SLOW_MS / (w->conf->index % 4 + 1));
    return 0;
}
