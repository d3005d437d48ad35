/*
 * metrics_text.c — what /metrics and /health answer: the Prometheus text
 * exposition (format 0.0.4) of the figures INFO reports, gathered by
 * common/stats.c, and the health verdict. Names follow Prometheus's
 * conventions: a fickle_ prefix, base units in the name (_bytes,
 * _seconds), _total on counters; per-worker series carry a worker label
 * (sum them for the server's total).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/stats.h"
#include "supervisor/metrics.h"

/* The change ring this full means writers are about to wait (and then
 * answer BUSY): the persister is not keeping up. */
#define HEALTH_RING_FULL 0.9

typedef struct {
    struct evbuffer *out;
    int err;
} prom_t;

static void emit(prom_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(prom_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!p->err && evbuffer_add_vprintf(p->out, fmt, ap) < 0)
        p->err = -1;
    va_end(ap);
}

/* HELP and TYPE of a family; its samples follow. */
static void family(prom_t *p, const char *name, const char *type, const char *help)
{
    emit(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void gauge(prom_t *p, const char *name, const char *help, double v)
{
    family(p, name, "gauge", help);
    emit(p, "%s %.15g\n", name, v); /* integers exactly up to 2^49, ms of Unix times */
}

static void counter(prom_t *p, const char *name, const char *help, uint64_t v)
{
    family(p, name, "counter", help);
    emit(p, "%s %llu\n", name, (unsigned long long)v);
}

static void info_metric(prom_t *p, const char *name, const char *help, const char *label, const char *value)
{
    family(p, name, "gauge", help);
    emit(p, "%s{%s=\"%s\"} 1\n", name, label, value);
}

/* One series per worker of the uint64_t field at offset off in
 * stats_workers_t; off SIZE_MAX: the alive flag (0 or 1). */
static void per_worker(prom_t *p, const runtime_t *rt, const char *name, const char *type, const char *help,
                       size_t off)
{
    family(p, name, type, help);
    for (unsigned i = 0; i < rt->nworkers && i < RUNTIME_MAX_WORKERS; i++) {
        stats_workers_t w;
        stats_worker(rt, i, &w);
        uint64_t v = off == SIZE_MAX ? w.alive : *(const uint64_t *)(const void *)((const char *)&w + off);
        emit(p, "%s{worker=\"%u\"} %llu\n", name, i, (unsigned long long)v);
    }
}

#define W(field) offsetof(stats_workers_t, field)

static void render_server(prom_t *p, runtime_t *rt, uint64_t now_ms)
{
    stats_workers_t w;
    stats_workers(rt, &w);
    info_metric(p, "fickle_build_info", "fickled's version", "version", PACKAGE_VERSION);
    gauge(p, "fickle_start_time_seconds", "when the supervisor started (Unix time)", (double)rt->started_ms / 1e3);
    gauge(p, "fickle_uptime_seconds", "seconds since the supervisor started",
          now_ms > rt->started_ms ? (double)(now_ms - rt->started_ms) / 1e3 : 0.0);
    gauge(p, "fickle_workers", "worker processes configured", rt->nworkers);
    gauge(p, "fickle_workers_alive", "worker processes running", w.alive);
    per_worker(p, rt, "fickle_worker_up", "gauge", "1 while the worker's process runs", SIZE_MAX);
    per_worker(p, rt, "fickle_worker_restarts_total", "counter", "times the supervisor respawned the worker",
               W(restarts));
    counter(p, "fickle_metrics_restarts_total", "times the supervisor respawned fk-metrics (this endpoint)",
            atomic_load_explicit(&rt->metrics.restarts, memory_order_relaxed));
    runtime_settings_t s;
    uint32_t gen = 0;
    runtime_settings_read(rt, &gen, &s);
    gauge(p, "fickle_connected_clients", "client connections open, all workers",
          atomic_load_explicit(&rt->clients, memory_order_relaxed));
    gauge(p, "fickle_maxclients", "most client connections allowed, 0 = no limit", gen ? s.maxclients : 0);
    per_worker(p, rt, "fickle_worker_connected_clients", "gauge", "client connections open on the worker",
               W(connections_current));
}

static void render_traffic(prom_t *p, const runtime_t *rt)
{
    per_worker(p, rt, "fickle_connections_received_total", "counter", "client connections accepted",
               W(connections_total));
    per_worker(p, rt, "fickle_commands_processed_total", "counter", "commands executed", W(commands));
    per_worker(p, rt, "fickle_rejected_connections_total", "counter", "connections refused at maxclients",
               W(rejected));
    per_worker(p, rt, "fickle_clients_closed_for_limits_total", "counter",
               "clients closed for an input/output limit or a protocol error", W(closed_limits));
    per_worker(p, rt, "fickle_net_input_bytes_total", "counter", "bytes read from clients", W(net_in));
    per_worker(p, rt, "fickle_net_output_bytes_total", "counter", "bytes written to clients", W(net_out));
    per_worker(p, rt, "fickle_txn_exec_total", "counter", "transactions run and committed (EXEC, TXN)",
               W(txn_exec));
    per_worker(p, rt, "fickle_txn_aborted_watch_total", "counter", "EXECs aborted because a WATCHed key changed",
               W(txn_aborted_watch));
    per_worker(p, rt, "fickle_txn_aborted_error_total", "counter",
               "transactions refused with nothing applied (EXECABORT and the like)", W(txn_aborted_error));
    per_worker(p, rt, "fickle_txn_failed_compare_total", "counter",
               "native TXNs whose compares failed (else branch ran)", W(txn_failed_compare));
}

static void render_data(prom_t *p, store_t *st)
{
    store_stats_t s;
    store_stats_peek(st, &s);
    store_expiry_stats_t e;
    store_expiry_stats(st, store_now_ms(st), &e);
    gauge(p, "fickle_keys", "keys, expired ones the sweep has not removed yet included", (double)store_count(st));
    gauge(p, "fickle_keys_with_expiry", "keys carrying an expiry", (double)e.expires);
    gauge(p, "fickle_keys_average_ttl_seconds", "mean time left of keys with an expiry", (double)e.avg_ttl_ms / 1e3);
    counter(p, "fickle_expired_keys_total", "keys the expiry sweep removed over the region's life", e.expired_keys);
    gauge(p, "fickle_memory_used_bytes", "region bytes handed out (chunks, page runs, hash tables)",
          (double)s.bytes_allocated);
    gauge(p, "fickle_memory_dataset_bytes", "exact bytes of the items (header, key, value)",
          (double)s.bytes_requested);
    gauge(p, "fickle_region_size_bytes", "size of the shared region (maxmemory)", (double)s.region_size);
    gauge(p, "fickle_region_free_bytes", "free pages and free chunks in the region", (double)s.bytes_free);
    gauge(p, "fickle_region_hash_bytes", "region bytes holding hash tables", (double)s.bytes_hash);
    gauge(p, "fickle_memory_fragmentation_ratio", "item bytes allocated / item bytes requested",
          1.0 + s.fragmentation);
    gauge(p, "fickle_hash_buckets", "buckets of the hash table", (double)s.hash_buckets);
    gauge(p, "fickle_hash_rehashing", "1 while the hash table is being resized", s.rehashing);
    counter(p, "fickle_writer_deaths_repaired_total", "writers that died in their critical section, rolled back",
            s.owner_deaths_repaired);
}

static void render_persister(prom_t *p, store_t *st, runtime_t *rt, uint64_t now_ms)
{
    stats_persister_t s;
    stats_persister(st, rt, now_ms, &s);
    info_metric(p, "fickle_fsync_policy", "the durability policy (--fsync)", "policy", rt->fsync);
    gauge(p, "fickle_persister_up", "1 while the persister's process runs", s.pid > 0);
    counter(p, "fickle_persister_restarts_total", "times the supervisor respawned the persister", s.restarts);
    gauge(p, "fickle_last_lsn", "highest log sequence number assigned", (double)s.ring.last_lsn);
    gauge(p, "fickle_durable_lsn", "highest LSN durable on disk", (double)s.ring.durable_lsn);
    gauge(p, "fickle_log_lsn", "highest LSN written to the log", (double)s.disk_lsn);
    gauge(p, "fickle_ring_size_bytes", "size of the change ring", (double)s.ring.size);
    gauge(p, "fickle_ring_used_bytes", "change ring bytes not yet written to the log", (double)s.ring.used);
    gauge(p, "fickle_ring_fill_ratio", "change ring use, 0 to 1", s.ring_fill);
    gauge(p, "fickle_persister_lag_records", "changes not yet written to the log", (double)s.lag_records);
    gauge(p, "fickle_persister_lag_seconds", "age of the oldest change not yet written", (double)s.lag_ms / 1e3);
    counter(p, "fickle_log_records_written_total", "records written to the log", s.records);
    counter(p, "fickle_log_written_bytes_total", "bytes written to the log", s.bytes);
    counter(p, "fickle_fsyncs_total", "fsyncs of the log", s.fsyncs);
    gauge(p, "fickle_fsync_last_seconds", "duration of the last fsync", (double)s.fsync_last_us / 1e6);
    gauge(p, "fickle_fsync_max_seconds", "longest fsync since the supervisor started", (double)s.fsync_max_us / 1e6);
}

static void render_snapshots(prom_t *p, store_t *st, runtime_t *rt, uint64_t now_ms)
{
    stats_snapshot_t s;
    stats_snapshot(st, rt, now_ms, &s);
    const recovery_stats_t *r = &rt->recovery;
    gauge(p, "fickle_snapshot_in_progress", "1 while a snapshot is being taken", s.in_progress);
    gauge(p, "fickle_snapshot_current_duration_seconds", "age of the snapshot in progress, 0 if none",
          s.current_ms > 0 ? (double)s.current_ms / 1e3 : 0.0);
    counter(p, "fickle_snapshots_total", "snapshots completed", s.ok);
    counter(p, "fickle_snapshots_failed_total", "snapshot attempts that failed", s.failed);
    gauge(p, "fickle_snapshot_last_failed", "1 if the last snapshot attempt failed", s.last_failed);
    gauge(p, "fickle_snapshot_last_success_timestamp_seconds", "end of the last good snapshot (Unix time)",
          (double)s.last_ok_ms / 1e3);
    gauge(p, "fickle_snapshot_last_duration_seconds", "duration of the last good snapshot",
          (double)s.last_duration_ms / 1e3);
    gauge(p, "fickle_snapshot_last_size_bytes", "size of the last snapshot", (double)s.last_size);
    gauge(p, "fickle_snapshot_last_items", "items in the last snapshot", (double)s.last_items);
    gauge(p, "fickle_snapshot_last_lsn", "start LSN of the last snapshot", (double)s.last_lsn);
    gauge(p, "fickle_changes_since_last_snapshot", "LSNs assigned since the last snapshot began",
          (double)s.changes_since);
    gauge(p, "fickle_log_since_snapshot_bytes", "log written since the last snapshot began",
          (double)s.log_bytes_since);
    counter(p, "fickle_log_segments_removed_total", "log segments deleted after snapshots", s.segments_removed);
    info_metric(p, "fickle_recovery_info", "how the data was found at start", "source",
                r->source[0] ? r->source : "none");
    gauge(p, "fickle_recovery_duration_seconds", "time recovery took at start", (double)r->ms / 1e3);
    gauge(p, "fickle_recovery_snapshot_lsn", "start LSN of the snapshot loaded at start, 0 if none",
          (double)r->snapshot_lsn);
    gauge(p, "fickle_recovery_log_records", "log records replayed at start", (double)r->records);
}

int metrics_render(struct evbuffer *out, store_t *st, runtime_t *rt, uint64_t now_ms)
{
    prom_t p = {out, 0};
    char reason[160];
    render_server(&p, rt, now_ms);
    render_traffic(&p, rt);
    render_data(&p, st);
    render_persister(&p, st, rt, now_ms);
    render_snapshots(&p, st, rt, now_ms);
    gauge(&p, "fickle_healthy", "1 when /health answers 200", metrics_health(st, rt, reason, sizeof(reason)) == 200);
    return p.err;
}

int metrics_health(const store_t *st, const runtime_t *rt, char *reason, size_t len)
{
    stats_workers_t w;
    stats_workers(rt, &w);
    if (w.alive == 0) {
        snprintf(reason, len, "no worker alive (%u configured)", rt->nworkers);
        return 503;
    }
    stats_persister_t p;
    stats_persister(st, rt, stats_wall_ms(), &p);
    if (p.pid <= 0) {
        snprintf(reason, len, "persister down (ring %.0f%% full, %llu changes not logged)", 100.0 * p.ring_fill,
                 (unsigned long long)p.lag_records);
        return 503;
    }
    if (p.ring_fill >= HEALTH_RING_FULL) {
        snprintf(reason, len, "change ring %.0f%% full: the persister is behind", 100.0 * p.ring_fill);
        return 503;
    }
    snprintf(reason, len, "ok");
    return 200;
}
