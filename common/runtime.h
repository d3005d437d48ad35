/*
 * runtime.h — the supervisor's small shared page of runtime counters.
 *
 * Created (MAP_SHARED | MAP_ANONYMOUS) by the supervisor before it forks,
 * so every worker sees it; kept apart from the store region on purpose:
 * it holds server state (clients, traffic), not data. Each worker writes
 * only its own cache-line-aligned slot; the client count is shared.
 */
#ifndef FICKLE_COMMON_RUNTIME_H
#define FICKLE_COMMON_RUNTIME_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define RUNTIME_MAX_WORKERS 256

typedef struct {
    alignas(64) _Atomic uint64_t connections_total;
    _Atomic uint64_t connections_current;
    _Atomic uint64_t commands;
    _Atomic uint64_t rejected;      /* refused at accept (maxclients) */
    _Atomic uint64_t closed_limits; /* closed for an output/input limit or a protocol error */
    _Atomic uint64_t net_in;
    _Atomic uint64_t net_out;
    _Atomic int32_t pid;              /* 0 while no process runs (the supervisor clears it) */
    _Atomic uint32_t durable_waiting; /* connections parked for durability (fsync always) */
    _Atomic uint64_t restarts;        /* times the supervisor respawned this worker */
    /* Transactions (RESP EXEC, native TXN); INFO's stats section. */
    _Atomic uint64_t txn_exec;           /* ran and committed (either TXN branch) */
    _Atomic uint64_t txn_aborted_watch;  /* EXEC answered nil: a WATCHed key changed */
    _Atomic uint64_t txn_aborted_error;  /* EXECABORT, or refused with nothing applied */
    _Atomic uint64_t txn_failed_compare; /* native TXN whose compares failed: else branch */
} worker_stats_t;

/* The persister's counters and its sleep flag (written by it only). */
typedef struct {
    alignas(64) _Atomic int32_t pid;
    _Atomic uint32_t sleeping;        /* waiting on its eventfd: writers wake it */
    _Atomic uint64_t records, bytes;  /* written to the log since start */
    _Atomic uint64_t fsyncs;
    _Atomic uint64_t fsync_last_us, fsync_max_us;
    _Atomic uint64_t last_write_ms;   /* CLOCK_REALTIME of the last append */
    _Atomic uint64_t disk_lsn;        /* last LSN written to the log */
    _Atomic uint64_t restarts;
} persister_stats_t;

/* fk-metrics, the HTTP metrics/health child (--metrics-port): written by
 * the supervisor, which forks it. */
typedef struct {
    alignas(64) _Atomic int32_t pid; /* 0 while none runs (or metrics are off) */
    _Atomic uint64_t restarts;       /* times the supervisor respawned it */
} metrics_stats_t;

/* Snapshots. Workers take tickets (SAVE, BGSAVE: requests + 1) and wake
 * the persister; a snapshot that starts when requests is R answers every
 * ticket up to R: the persister then publishes answered = R (and, if it
 * succeeded, served = R) after the last_* figures, with release order. A
 * ticket t is done once answered >= t; it succeeded if served >= t. The
 * counters outlive a persister restart: the new one serves what is left. */
typedef struct {
    alignas(64) _Atomic uint64_t requests;
    alignas(64) _Atomic uint64_t answered;
    _Atomic uint64_t served;
    _Atomic uint32_t in_progress;      /* a snapshot is being taken */
    _Atomic uint32_t last_failed;      /* the last attempt failed */
    _Atomic uint64_t current_start_ms; /* CLOCK_REALTIME start of the one in progress */
    _Atomic uint64_t last_ok_ms;       /* CLOCK_REALTIME end of the last success (LASTSAVE) */
    _Atomic uint64_t last_lsn;         /* its start LSN L0 */
    _Atomic uint64_t last_size, last_items, last_duration_ms;
    _Atomic uint64_t ok, failed;       /* since the supervisor started */
    _Atomic uint64_t log_bytes_since;  /* log written since the last snapshot began */
    _Atomic uint64_t segments_removed; /* log segments deleted after snapshots */
} snapshot_stats_t;

/* How the supervisor found the data at start (written before any fork). */
typedef struct {
    char source[16];       /* "warm", "snapshot", "log", "empty" */
    uint64_t ms;           /* time taken */
    uint64_t snapshot_lsn; /* start LSN of the snapshot loaded (0: none) */
    uint64_t records;      /* log records replayed */
} recovery_stats_t;

/* Settings the supervisor can change at run time (SIGHUP). Written by the
 * supervisor only, between two increments of gen (odd while writing);
 * workers copy them when gen changes (runtime_settings_read). */
typedef struct {
    _Atomic uint32_t gen;
    uint32_t maxclients;
    uint32_t timeout_s;  /* idle seconds, 0 = never */
    uint64_t max_output; /* bytes queued for one client */
    uint32_t protected_mode; /* no password: serve loopback peers only */
    int32_t log_level;       /* syslog's LOG_*; workers apply it (0: leave theirs) */
    char requirepass[256];
} runtime_settings_t;

typedef struct {
    _Atomic uint32_t clients; /* connected clients, all workers */
    uint32_t nworkers;
    uint64_t started_ms;      /* CLOCK_REALTIME */
    pid_t supervisor_pid;
    uint16_t port, resp_port; /* as bound (port 0 in tests becomes the real one) */
    char fsync[16];           /* the durability policy, for INFO */
    runtime_settings_t settings;
    persister_stats_t persister;
    metrics_stats_t metrics;
    snapshot_stats_t snapshot;
    recovery_stats_t recovery;
    int wake_fd;              /* eventfd: wakes the persister (fds are inherited) */
    int durable_fds[RUNTIME_MAX_WORKERS]; /* eventfds: persister -> worker i */
    uint32_t fsync_always;    /* workers hold write replies until durable */
    worker_stats_t workers[RUNTIME_MAX_WORKERS];
} runtime_t;

/* Maps a zeroed shared page for n workers. NULL with errno on failure. */
runtime_t *runtime_create(unsigned nworkers);

/* Supervisor: publishes new settings. */
void runtime_settings_write(runtime_t *rt, const runtime_settings_t *s);

/* Writer, after a commit: wakes the persister if it sleeps (one eventfd
 * write only when it does). */
void runtime_wake_persister(runtime_t *rt);

/* Worker (SAVE, BGSAVE): takes a snapshot ticket and wakes the persister.
 * Returns the ticket. */
uint64_t runtime_request_snapshot(runtime_t *rt);

/* A snapshot is being taken or waits to be (BGSAVE's "in progress"). */
bool runtime_snapshot_busy(runtime_t *rt);

/* Worker: 0 while ticket waits, 1 once a snapshot served it (*lsn gets
 * the start LSN of the latest snapshot), -1 if its attempt failed. */
int runtime_snapshot_status(runtime_t *rt, uint64_t ticket, uint64_t *lsn);

/* Worker: copies the settings into *out if they changed since *gen.
 * Returns true if *out was updated. */
bool runtime_settings_read(runtime_t *rt, uint32_t *gen, runtime_settings_t *out);

#endif
