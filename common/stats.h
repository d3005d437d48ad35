/*
 * stats.h — the figures INFO and the metrics endpoint report, gathered in
 * one place from the runtime page and the store's read-only statistics:
 * sums over the workers' slots, the persister's lag, the snapshot figures
 * derived from their counters. Both reporters format these; neither
 * recomputes them.
 */
#ifndef FICKLE_COMMON_STATS_H
#define FICKLE_COMMON_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/runtime.h"
#include "store/store.h"

/* CLOCK_REALTIME in ms: the clock the runtime page's timestamps use. */
uint64_t stats_wall_ms(void);

/* The workers' counters summed over their slots. */
typedef struct {
    uint64_t connections_total, connections_current, commands, rejected, closed_limits, net_in, net_out;
    uint64_t restarts;
    uint64_t txn_exec, txn_aborted_watch, txn_aborted_error, txn_failed_compare; /* transactions */
    unsigned alive; /* workers with a process running */
} stats_workers_t;

/* Sums the first rt->nworkers slots. Relaxed loads: counters only. */
void stats_workers(const runtime_t *rt, stats_workers_t *out);

/* One worker's slot, as stats_workers sums it (alive is 0 or 1). */
void stats_worker(const runtime_t *rt, unsigned index, stats_workers_t *out);

typedef struct {
    store_ring_stats_t ring;     /* last, durable LSN; ring size and use */
    double ring_fill;            /* used / size, 0..1 */
    int32_t pid;                 /* 0: none running */
    uint64_t disk_lsn;           /* last LSN written to the log */
    uint64_t restarts;
    uint64_t lag_records;        /* last LSN - disk LSN */
    uint64_t lag_ms;             /* how long the oldest unwritten change waited; 0 when caught up */
    uint64_t records, bytes;     /* written to the log since the supervisor started */
    uint64_t fsyncs, fsync_last_us, fsync_max_us;
} stats_persister_t;

void stats_persister(const store_t *st, const runtime_t *rt, uint64_t now_ms, stats_persister_t *out);

typedef struct {
    uint64_t changes_since;      /* LSNs since the last snapshot's start */
    bool in_progress;
    bool last_failed;
    uint64_t last_ok_ms;         /* CLOCK_REALTIME, 0: never */
    uint64_t ok, failed;
    uint64_t last_lsn, last_size, last_items, last_duration_ms;
    int64_t current_ms;          /* age of the one in progress, -1: none */
    uint64_t log_bytes_since, segments_removed;
} stats_snapshot_t;

void stats_snapshot(store_t *st, const runtime_t *rt, uint64_t now_ms, stats_snapshot_t *out);

#endif
