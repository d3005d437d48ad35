/*
 * snaptake.h — taking a fuzzy snapshot of a live store, and loading one
 * back into a store (recovery, tests). The file format is snapshot.h's.
 *
 * Taking: L0 = the last committed LSN, read under the writer mutex (a
 * section in flight cannot be counted), then the ordered index is read in
 * chunks with store_range, each chunk one consistent seqlock read,
 * continuing after the previous chunk's last key. Writers go on meanwhile,
 * so the file holds, for each key, its state at some moment after L0.
 * Log records are idempotent after-images, so replaying every record with
 * an LSN above L0 over the snapshot gives the exact state. The snapshot
 * is sealed only once the log is durable through the last LSN the scan
 * could have seen (see snaptake_opts_t.wait_log): a crash then never finds
 * a snapshot whose later changes are missing from the log.
 */
#ifndef FICKLE_PERSISTER_SNAPTAKE_H
#define FICKLE_PERSISTER_SNAPTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persister/logscan.h"
#include "persister/pio.h"
#include "persister/snapshot.h"
#include "store/store.h"

#define SNAPTAKE_CHUNK_ROWS 1000
#define SNAPTAKE_CHUNK_BYTES (4u << 20)

typedef struct {
    size_t chunk_rows;  /* rows per store_range read; 0 = SNAPTAKE_CHUNK_ROWS */
    size_t chunk_bytes; /* bytes per read (at least one row); 0 = SNAPTAKE_CHUNK_BYTES */
    /* Called once after the scan with end_lsn, the store's last committed
     * LSN then: must return 0 only once every log record up to end_lsn is
     * durable, else non-zero (the snapshot is abandoned). NULL: no wait
     * (nothing persists this store, or no one writes to it). */
    int (*wait_log)(void *arg, uint64_t end_lsn);
    /* Polled between chunks: true abandons the snapshot. NULL: never. */
    bool (*cancelled)(void *arg);
    void *arg;
} snaptake_opts_t;

typedef struct {
    uint64_t start_lsn;   /* L0 */
    uint64_t end_lsn;     /* last committed LSN when the scan ended */
    uint64_t items;       /* entries written */
    uint64_t bytes;       /* size of the file */
    uint64_t duration_ms; /* scan, wait, seal and read-back */
    char name[SNAPSHOT_NAME_MAX];
} snaptake_result_t;

/* Takes a snapshot of st (this thread's handle) into dir: writes
 * snapshot-<L0>.tmp, waits for the log, seals it (fsync, rename, directory
 * fsync), then reads it back whole and removes it if that fails. o may be
 * NULL. PERSIST_OK with *res filled; PERSIST_IO / PERSIST_NOMEM (disk or
 * memory), PERSIST_INVALID (cancelled, the log wait failed, or a store
 * error: the message says which), PERSIST_CORRUPT (the read-back failed).
 * On failure nothing is left in dir. */
persist_status_t snaptake_run(store_t *st, const char *dir, const snaptake_opts_t *o, snaptake_result_t *res,
                              persist_error_t *err);

/* Loads the snapshot at path into st, which should be empty and nobody
 * else's yet: every entry becomes an item with its version and expiry (an
 * entry already expired is loaded too, so that the log replayed after it
 * means what it meant), nothing is logged, and the region's last LSN is
 * raised to L0. *hdr (may be NULL) gets the header, *items (may be NULL)
 * the entry count. PERSIST_OK; PERSIST_CORRUPT (the file is damaged: some
 * entries may have been loaded, start over on a new region); PERSIST_IO,
 * PERSIST_NOMEM; PERSIST_INVALID for a store error (e.g. the region is
 * too small), with the store's detail. Nothing else may use the region
 * meanwhile: entries go in many to a critical section (store_replay_begin). */
persist_status_t snaptake_load(store_t *st, const char *path, snapshot_header_t *hdr, uint64_t *items,
                               persist_error_t *err);

/* Replays the log in log_dir onto st: every record with an LSN above
 * after_lsn (a loaded snapshot's L0, or 0), reading no segment whose
 * records are all at or below it (logscan_replay; mode RECOVER or REPAIR
 * as there). The replay runs on a clock stopped before any expiry: records
 * are after-images of what happened then, and an item that has expired
 * since must not turn a later record (an EXPIRE that extended it) into a
 * no-op; the handle is left on the default clock. *applied (may be NULL)
 * gets the records applied. PERSIST_OK, logscan's errors, or
 * PERSIST_INVALID when the store refused a record (the message says why).
 * Nothing else may use the region meanwhile (store_replay_begin). */
persist_status_t snaptake_replay(store_t *st, const char *log_dir, logscan_mode_t mode, uint64_t after_lsn,
                                 logscan_result_t *res, uint64_t *applied, persist_error_t *err,
                                 void (*note)(const char *msg));

#endif
