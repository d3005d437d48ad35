/*
 * info.c — the INFO text (RESP INFO, native STATS): one format, Redis's
 * "# Section" / "name:value" lines, so Redis tooling can read it.
 */
#include "config.h"

#include <strings.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/stats.h"
#include "frontend/exec.h"
#include "frontend/worker.h"

static int info_server(conn_t *c, struct evbuffer *out)
{
    const runtime_t *rt = c->w->conf->runtime;
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof(u));
    uint64_t up = (stats_wall_ms() - rt->started_ms) / 1000;
    return evbuffer_add_printf(out,
                               "# Server\r\nfickle_version:%s\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n"
                               "os:%s %s %s\r\nprocess_id:%d\r\nsupervisor_pid:%d\r\nworker_index:%u\r\n"
                               "workers:%u\r\ntcp_port:%u\r\nnative_port:%u\r\nuptime_in_seconds:%llu\r\n"
                               "uptime_in_days:%llu\r\n\r\n",
                               PACKAGE_VERSION, u.sysname, u.release, u.machine, (int)getpid(),
                               (int)rt->supervisor_pid, c->w->conf->index, rt->nworkers, rt->resp_port, rt->port,
                               (unsigned long long)up, (unsigned long long)(up / 86400));
}

static int info_clients(conn_t *c, struct evbuffer *out)
{
    runtime_t *rt = c->w->conf->runtime;
    return evbuffer_add_printf(out, "# Clients\r\nconnected_clients:%u\r\nmaxclients:%u\r\n\r\n",
                               atomic_load_explicit(&rt->clients, memory_order_relaxed), c->w->settings.maxclients);
}

static int info_memory(conn_t *c, struct evbuffer *out)
{
    store_stats_t s;
    if (store_stats(exec_store(c), &s) != STORE_OK)
        return evbuffer_add_printf(out, "# Memory\r\nerror:%s\r\n\r\n", store_error_detail());
    uint64_t used = s.bytes_allocated;
    return evbuffer_add_printf(out,
                               "# Memory\r\nused_memory:%llu\r\nused_memory_dataset:%llu\r\nmaxmemory:%llu\r\n"
                               "region_bytes_free:%llu\r\nregion_bytes_hash:%llu\r\n"
                               "mem_fragmentation_ratio:%.2f\r\nhash_buckets:%llu\r\nrehashing:%d\r\n"
                               "writer_deaths_repaired:%llu\r\n\r\n",
                               (unsigned long long)used, (unsigned long long)s.bytes_requested,
                               (unsigned long long)s.region_size, (unsigned long long)s.bytes_free,
                               (unsigned long long)s.bytes_hash, 1.0 + s.fragmentation,
                               (unsigned long long)s.hash_buckets, s.rehashing ? 1 : 0,
                               (unsigned long long)s.owner_deaths_repaired);
}

static int info_stats(conn_t *c, struct evbuffer *out)
{
    stats_workers_t w;
    stats_workers(c->w->conf->runtime, &w);
    store_reader_stats_t r;
    store_reader_stats(exec_store(c), &r);
    store_expiry_stats_t e;
    store_expiry_stats(exec_store(c), 0, &e);
    return evbuffer_add_printf(out,
                               "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                               "rejected_connections:%llu\r\nclients_closed_for_limits:%llu\r\n"
                               "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
                               "last_lsn:%llu\r\nworker_reads:%llu\r\nworker_read_retries:%llu\r\n"
                               "worker_read_fallbacks:%llu\r\nexpired_keys:%llu\r\ntxn_exec:%llu\r\n"
                               "txn_aborted_watch:%llu\r\ntxn_aborted_error:%llu\r\ntxn_failed_compare:%llu\r\n\r\n",
                               (unsigned long long)w.connections_total, (unsigned long long)w.commands,
                               (unsigned long long)w.rejected, (unsigned long long)w.closed_limits,
                               (unsigned long long)w.net_in, (unsigned long long)w.net_out,
                               (unsigned long long)store_last_lsn(exec_store(c)), (unsigned long long)r.reads,
                               (unsigned long long)r.retries, (unsigned long long)r.fallbacks,
                               (unsigned long long)e.expired_keys, (unsigned long long)w.txn_exec,
                               (unsigned long long)w.txn_aborted_watch, (unsigned long long)w.txn_aborted_error,
                               (unsigned long long)w.txn_failed_compare);
}

/* Snapshots (Redis's rdb_* names where they mean the same) and how the
 * data was recovered at start; ends the Persistence section. */
static int info_snapshots(conn_t *c, struct evbuffer *out)
{
    const recovery_stats_t *r = &c->w->conf->runtime->recovery;
    stats_snapshot_t s;
    stats_snapshot(exec_store(c), c->w->conf->runtime, stats_wall_ms(), &s);
    return evbuffer_add_printf(
        out,
        "rdb_changes_since_last_save:%llu\r\nrdb_bgsave_in_progress:%u\r\nrdb_last_save_time:%llu\r\n"
        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\n"
        "rdb_saves:%llu\r\nsnapshot_in_progress:%u\r\nsnapshot_last_lsn:%llu\r\nsnapshot_last_size:%llu\r\n"
        "snapshot_last_items:%llu\r\nsnapshot_last_duration_ms:%llu\r\nsnapshots_failed:%llu\r\n"
        "snapshot_log_bytes_since:%llu\r\nlog_segments_removed:%llu\r\nrecovery_source:%s\r\n"
        "recovery_time_ms:%llu\r\nrecovery_snapshot_lsn:%llu\r\nrecovery_log_records:%llu\r\n\r\n",
        (unsigned long long)s.changes_since, (unsigned)s.in_progress, (unsigned long long)(s.last_ok_ms / 1000),
        s.last_failed ? "err" : "ok", s.ok ? (long long)(s.last_duration_ms / 1000) : -1LL,
        s.current_ms >= 0 ? (long long)(s.current_ms / 1000) : -1LL, (unsigned long long)s.ok,
        (unsigned)s.in_progress, (unsigned long long)s.last_lsn, (unsigned long long)s.last_size,
        (unsigned long long)s.last_items, (unsigned long long)s.last_duration_ms, (unsigned long long)s.failed,
        (unsigned long long)s.log_bytes_since, (unsigned long long)s.segments_removed,
        r->source[0] ? r->source : "none", (unsigned long long)r->ms, (unsigned long long)r->snapshot_lsn,
        (unsigned long long)r->records);
}

static int info_persistence(conn_t *c, struct evbuffer *out)
{
    runtime_t *rt = c->w->conf->runtime;
    stats_persister_t p;
    stats_persister(exec_store(c), rt, stats_wall_ms(), &p);
    return evbuffer_add_printf(
        out,
        "# Persistence\r\nloading:0\r\nfsync:%s\r\nlast_lsn:%llu\r\ndurable_lsn:%llu\r\nlog_lsn:%llu\r\n"
        "ring_size:%llu\r\nring_used:%llu\r\nring_fill_pct:%.1f\r\npersister_pid:%d\r\npersister_restarts:%llu\r\n"
        "persister_lag_records:%llu\r\npersister_lag_ms:%llu\r\nlog_records_written:%llu\r\n"
        "log_bytes_written:%llu\r\nfsyncs:%llu\r\nfsync_last_us:%llu\r\nfsync_max_us:%llu\r\n",
        rt->fsync, (unsigned long long)p.ring.last_lsn, (unsigned long long)p.ring.durable_lsn,
        (unsigned long long)p.disk_lsn, (unsigned long long)p.ring.size, (unsigned long long)p.ring.used,
        100.0 * p.ring_fill, (int)p.pid, (unsigned long long)p.restarts, (unsigned long long)p.lag_records,
        (unsigned long long)p.lag_ms, (unsigned long long)p.records, (unsigned long long)p.bytes,
        (unsigned long long)p.fsyncs, (unsigned long long)p.fsync_last_us, (unsigned long long)p.fsync_max_us) < 0
               ? -1
               : info_snapshots(c, out);
}

static int info_replication(conn_t *c, struct evbuffer *out)
{
    (void)c;
    return evbuffer_add_printf(out, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\r\n");
}

static int info_keyspace(conn_t *c, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    uint64_t n = store_count(st);
    if (n == 0)
        return evbuffer_add_printf(out, "# Keyspace\r\n\r\n");
    store_expiry_stats_t e;
    store_expiry_stats(st, store_now_ms(st), &e);
    /* Redis's form: clients (redis-py's parse_info) need the commas. keys
     * and expires count expired keys the sweep has not removed yet, as
     * Redis's do; avg_ttl is the mean time left (ms) of keys with one. */
    return evbuffer_add_printf(out, "# Keyspace\r\ndb0:keys=%llu,expires=%llu,avg_ttl=%llu\r\n\r\n",
                               (unsigned long long)n, (unsigned long long)e.expires,
                               (unsigned long long)e.avg_ttl_ms);
}

typedef struct {
    const char *name;
    int (*fn)(conn_t *, struct evbuffer *);
} section_t;

static const section_t sections[] = {
    {"server", info_server}, {"clients", info_clients},         {"memory", info_memory},
    {"persistence", info_persistence}, {"stats", info_stats},
    {"replication", info_replication}, {"keyspace", info_keyspace},
};

int exec_info(conn_t *c, const char *section, size_t slen, struct evbuffer *out)
{
    bool all = section == NULL || slen == 0 || (slen == 3 && !strncasecmp(section, "all", 3)) ||
               (slen == 7 && !strncasecmp(section, "default", 7)) ||
               (slen == 10 && !strncasecmp(section, "everything", 10));
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        const section_t *s = &sections[i];
        if (!all && !(strlen(s->name) == slen && !strncasecmp(section, s->name, slen)))
            continue;
        if (s->fn(c, out) < 0)
            return -1;
    }
    return 0;
}
