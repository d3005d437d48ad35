/*
 * stats.c — gathering the figures INFO and the metrics endpoint report
 * (common/stats.h). Reads only: relaxed loads of the runtime page's
 * counters and the store's lock-free statistics.
 */
#include "config.h"

#include <time.h>

#include "common/stats.h"

#define LOAD(p) atomic_load_explicit(p, memory_order_relaxed)

uint64_t stats_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void add_worker(const worker_stats_t *w, stats_workers_t *out)
{
    out->connections_total += LOAD(&w->connections_total);
    out->connections_current += LOAD(&w->connections_current);
    out->commands += LOAD(&w->commands);
    out->rejected += LOAD(&w->rejected);
    out->closed_limits += LOAD(&w->closed_limits);
    out->net_in += LOAD(&w->net_in);
    out->net_out += LOAD(&w->net_out);
    out->restarts += LOAD(&w->restarts);
    out->txn_exec += LOAD(&w->txn_exec);
    out->txn_aborted_watch += LOAD(&w->txn_aborted_watch);
    out->txn_aborted_error += LOAD(&w->txn_aborted_error);
    out->txn_failed_compare += LOAD(&w->txn_failed_compare);
    out->alive += LOAD(&w->pid) > 0;
}

void stats_workers(const runtime_t *rt, stats_workers_t *out)
{
    *out = (stats_workers_t){0};
    for (uint32_t i = 0; i < rt->nworkers && i < RUNTIME_MAX_WORKERS; i++)
        add_worker(&rt->workers[i], out);
}

void stats_worker(const runtime_t *rt, unsigned index, stats_workers_t *out)
{
    *out = (stats_workers_t){0};
    if (index < rt->nworkers && index < RUNTIME_MAX_WORKERS)
        add_worker(&rt->workers[index], out);
}

void stats_persister(const store_t *st, const runtime_t *rt, uint64_t now_ms, stats_persister_t *out)
{
    const persister_stats_t *p = &rt->persister;
    *out = (stats_persister_t){0};
    store_ring_stats(st, &out->ring);
    out->ring_fill = out->ring.size ? (double)out->ring.used / (double)out->ring.size : 0.0;
    out->pid = LOAD(&p->pid);
    out->disk_lsn = LOAD(&p->disk_lsn);
    out->restarts = LOAD(&p->restarts);
    out->lag_records = out->ring.last_lsn > out->disk_lsn ? out->ring.last_lsn - out->disk_lsn : 0;
    uint64_t last_write = LOAD(&p->last_write_ms);
    out->lag_ms = out->lag_records && last_write && now_ms > last_write ? now_ms - last_write : 0;
    out->records = LOAD(&p->records);
    out->bytes = LOAD(&p->bytes);
    out->fsyncs = LOAD(&p->fsyncs);
    out->fsync_last_us = LOAD(&p->fsync_last_us);
    out->fsync_max_us = LOAD(&p->fsync_max_us);
}

void stats_snapshot(store_t *st, const runtime_t *rt, uint64_t now_ms, stats_snapshot_t *out)
{
    const snapshot_stats_t *s = &rt->snapshot;
    *out = (stats_snapshot_t){0};
    out->last_lsn = LOAD(&s->last_lsn);
    uint64_t now_lsn = store_last_lsn(st);
    out->changes_since = now_lsn > out->last_lsn ? now_lsn - out->last_lsn : 0;
    out->in_progress = LOAD(&s->in_progress) != 0;
    out->last_failed = LOAD(&s->last_failed) != 0;
    out->last_ok_ms = LOAD(&s->last_ok_ms);
    out->ok = LOAD(&s->ok);
    out->failed = LOAD(&s->failed);
    out->last_size = LOAD(&s->last_size);
    out->last_items = LOAD(&s->last_items);
    out->last_duration_ms = LOAD(&s->last_duration_ms);
    uint64_t start = LOAD(&s->current_start_ms);
    out->current_ms = out->in_progress && now_ms > start ? (int64_t)(now_ms - start) : -1;
    out->log_bytes_since = LOAD(&s->log_bytes_since);
    out->segments_removed = LOAD(&s->segments_removed);
}
