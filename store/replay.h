/*
 * replay.h — applying log records to a store: how recovery rebuilds a
 * region from snapshots and log segments (persister/) and how a record's
 * meaning is defined in code. Kept beside the ring, which writes records.
 */
#ifndef FICKLE_STORE_REPLAY_H
#define FICKLE_STORE_REPLAY_H

#include "store/record.h"
#include "store/store.h"

/* Applies one decoded record as one critical section whose changes carry
 * the record's LSN, without logging it again. Idempotent: a DEL or EXPIRE
 * of a missing key is no error. STORE_OK, or the store's error (e.g.
 * STORE_NOMEM: the region is too small for the data), with nothing of the
 * record applied. */
store_err_t store_apply_record(store_t *st, const record_t *rec);

/* Recovery's fast path: many records per critical section (nothing else
 * runs then, so no reader needs each record published alone). Between
 * store_replay_begin and store_replay_end the handle holds the writer
 * mutex; store_replay_apply commits and reopens the section whenever its
 * undo journal fills. On an error the current section is rolled back and
 * the replay is over (call store_replay_end, then discard the region).
 * expect_items (0 = unknown) is how many items the load will leave: an
 * empty store sizes its hash table for them at once. Ascending keys (a
 * snapshot) are appended without searching (the skiplist's finger). */
store_err_t store_replay_begin(store_t *st, uint64_t expect_items);
store_err_t store_replay_apply(store_t *st, const record_t *rec);
store_err_t store_replay_end(store_t *st);

/* Recovery after loading a snapshot: the region's last LSN becomes at
 * least lsn (the snapshot's start LSN: every LSN up to it is spent, even
 * if no item carries it). Logs nothing. STORE_OK or the lock's error. */
store_err_t store_raise_lsn(store_t *st, uint64_t lsn);

#endif
