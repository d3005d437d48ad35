/*
 * persister.h — the persister process: tails the store's change ring,
 * appends the records to log segments, fsyncs per policy, publishes the
 * durable LSN and frees ring space. Forked (and respawned) by the
 * supervisor; it never changes the index.
 */
#ifndef FICKLE_PERSISTER_PERSISTER_H
#define FICKLE_PERSISTER_PERSISTER_H

#include <stdint.h>

#include "common/runtime.h"
#include "store/store.h"

typedef enum { PERSIST_FSYNC_ALWAYS, PERSIST_FSYNC_EVERYSEC, PERSIST_FSYNC_NO } persist_fsync_t;

/* How long the snapshot taken at a graceful stop may take before it is
 * abandoned (the log keeps everything; the supervisor kills a persister
 * that has not stopped after 30 s). */
#define PERSISTER_STOP_SNAPSHOT_MS 20000
/* No automatic snapshot for this long after one failed. */
#define PERSISTER_SNAPSHOT_RETRY_MS 10000

typedef struct {
    store_t *store;
    runtime_t *runtime;
    char log_dir[4200];
    char data_dir[4200];      /* snapshots live here */
    char region_path[4200];   /* the snapshot thread attaches its own handle */
    persist_fsync_t fsync;
    uint64_t segment_size;    /* roll over past this many bytes (0 = default) */
    uint64_t snapshot_log_size; /* snapshot once this much log was written since the
                                   last one began; 0 = only when asked (SAVE, BGSAVE) */
} persister_conf_t;

/* Runs until SIGTERM or a fatal disk error (logged; exit 1, and the
 * supervisor restarts it with back-off: nothing is lost, the ring keeps
 * the records meanwhile). Meanwhile it takes snapshots on its snapshot
 * thread (snapper.h) when the runtime page asks for one or the log has
 * grown by snapshot_log_size, and after each one keeps the two newest
 * snapshots and deletes the log segments the older of them no longer
 * needs. At SIGTERM it writes and syncs what the ring holds, takes a last
 * snapshot if automatic snapshots are on and anything changed since the
 * newest one (bounded by PERSISTER_STOP_SNAPSHOT_MS), and exits 0. */
int persister_main(const persister_conf_t *conf);

#endif
