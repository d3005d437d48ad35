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

typedef struct {
    store_t *store;
    runtime_t *runtime;
    char log_dir[4200];
    persist_fsync_t fsync;
    uint64_t segment_size; /* roll over past this many bytes (0 = default) */
} persister_conf_t;

/* Runs until SIGTERM (then writes and syncs what the ring holds and exits
 * 0) or a fatal disk error (logged; exit 1, and the supervisor restarts it
 * with back-off: nothing is lost, the ring keeps the records meanwhile). */
int persister_main(const persister_conf_t *conf);

#endif
