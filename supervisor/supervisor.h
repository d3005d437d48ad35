/*
 * supervisor.h — fickled's supervisor state, shared by its setup
 * (main.c) and its run loop (loop.c). The supervisor binds sockets, owns
 * the region's lifetime and watches children; it never changes the index.
 */
#ifndef FICKLE_SUPERVISOR_SUPERVISOR_H
#define FICKLE_SUPERVISOR_SUPERVISOR_H

#include "common/runtime.h"
#include "frontend/worker.h"
#include "store/store.h"
#include "supervisor/children.h"
#include "supervisor/fickled_config.h"
#include "supervisor/datadir.h"

typedef struct {
    config_t cfg;
    datadir_t dd;
    store_t *store;
    runtime_t *rt;
    int native_fds[RUNTIME_MAX_WORKERS]; /* one SO_REUSEPORT socket per worker, -1 = off */
    int resp_fds[RUNTIME_MAX_WORKERS];
    int unix_fd;
    int metrics_fd;                      /* HTTP /metrics, /health; -1 = off (only fk-metrics keeps it) */
    uint16_t port, resp_port, metrics_port; /* as bound */
    worker_conf_t wconf[RUNTIME_MAX_WORKERS];
    child_t workers[RUNTIME_MAX_WORKERS];
    unsigned nworkers;
    child_t persister;
    child_t metrics;                     /* fk-metrics, if metrics_fd >= 0 */
    char log_dir[4200];
    recovery_stats_t recovery;           /* published on the runtime page once it exists */
    uint64_t snapshot_lsn, snapshot_ms;  /* newest snapshot at start: L0, mtime (LASTSAVE) */
    int argc;   /* kept for SIGHUP's reload: the command line still wins */
    char **argv;
} supervisor_t;

/* Recovery (recovery.c): attaches the region if it is as new as the disk
 * (warm restart), else rebuilds it: the newest usable snapshot (an older
 * one if it is damaged), then the log records after its start LSN. Fills
 * sv->recovery. 0, or -1 (logged). */
int recovery_open_region(supervisor_t *sv);
/* fickled --check: the region's invariants, every snapshot, the whole log
 * and whether the log reaches back to the newest valid snapshot. Exit
 * status. */
int recovery_check(supervisor_t *sv);

/* Forks every worker, then runs until SIGTERM/SIGINT: reaps and respawns
 * children, reloads settings on SIGHUP, stops gracefully. Returns the
 * process exit status. */
int supervisor_run(supervisor_t *sv);

/* Publishes the run-time settings (maxclients, timeout...) to workers. */
void supervisor_publish_settings(supervisor_t *sv);

#endif
