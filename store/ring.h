/*
 * ring.h — the change ring: where each critical section's changes become
 * one log record (store/record.h) for the persister to copy to disk.
 *
 * A byte ring at the end of the region. Positions are byte counts since
 * the region was created (u64, never wrap); the offset is pos % size.
 * Records start 8-byte aligned and never straddle the end: a u32 zero
 * where a length would be means "continue at the start".
 *
 *   ring_head   writer, journaled: end of the last record written
 *   ring_commit writer, release-stored after the journal commits: the
 *               persister may read [tail, commit)
 *   ring_tail   persister, release-stored: bytes before it are on disk
 *
 * A writer checks ring space before it changes anything (STORE_BUSY when
 * full), collects its section's changes privately, and writes the record
 * at unlock, before the journal commits: a writer that dies before the
 * commit is rolled back together with its ring head, one that dies after
 * it leaves a record the next unlock (or the repair) publishes.
 */
#ifndef FICKLE_STORE_RING_H
#define FICKLE_STORE_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/layout.h"
#include "store/record.h"

/* Ring bytes a record of `bytes` may need: its aligned size, plus what a
 * wrap may waste (less than the record itself). */
static inline uint64_t ring_need(uint64_t bytes)
{
    return 2 * ((bytes + 7) & ~7ull);
}

/* Writer: room for the section so far plus an operation of op_bytes
 * (record_op_append's size)? STORE_OK, STORE_BUSY (full now) or
 * STORE_TXN_TOO_BIG (could never fit). No ring: always STORE_OK. */
store_err_t ring_check_room(struct store *st, size_t op_bytes);

/* Before taking the mutex: waits a bounded time for ring space. */
void ring_wait_for_room(struct store *st);

/* Writer: adds one change to the section's pending record. */
void ring_log_put(struct store *st, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry,
                  uint64_t version);
void ring_log_del(struct store *st, const void *key, size_t klen);
void ring_log_expire(struct store *st, const void *key, size_t klen, uint64_t expiry);
void ring_log_clear(struct store *st);

/* Writer, at unlock before the journal commits: writes the section's
 * record (if any) and advances the head through the journal. */
void ring_write_section(struct store *st);
/* Writer, after the journal commit (and in repair): readers of the ring
 * may now see everything up to the head. */
void ring_publish(struct store *st);
/* Drops the section's pending changes (abort, or a new section). */
void ring_reset_section(struct store *st);

#endif
