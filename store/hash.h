/*
 * hash.h — the hash table over items: O(1) point lookups, grown by
 * incremental rehash (a few buckets per write) so it never stops the world.
 *
 * Tables are arrays of ref_t in page runs. While rehashing, old bucket i
 * (below rehash_idx) has moved to new buckets i and i + old_size; the rest
 * are still in the old table. New-table buckets are written only when
 * their old bucket moves, so a new table needs no up-front zeroing.
 */
#ifndef FICKLE_STORE_HASH_H
#define FICKLE_STORE_HASH_H

#include "store/item.h"

#define HASH_MAX_LOG2 30

uint32_t hash_key(const void *key, size_t klen);

/* Address of the bucket for hash h, or NULL if the table geometry read
 * (optimistically) is impossible. */
uint32_t *hash_bucket(const struct store *st, uint32_t h);

/* Finds key. Returns 1 and fills *v, 0 if absent, READ_TORN if the chain
 * could not be valid. Safe without the mutex (bounded, validated). */
int hash_find(const struct store *st, const void *key, size_t klen, uint32_t h, iview_t *v);

/* As hash_find, for the writer: also returns the link word that points to
 * the item (a bucket or the previous item's hnext). */
int hash_find_link_locked(const struct store *st, const void *key, size_t klen, uint32_t h, iview_t *v,
                          uint32_t **link);

/* Puts item ref (hash h) at the head of its bucket. Journaled. */
void hash_link_locked(struct store *st, ref_t ref, uint32_t h);

/* Starts a rehash if the table is full, then moves up to `buckets` old
 * buckets as journal room allows. Journaled; never fails the write. */
void hash_step_locked(struct store *st, unsigned buckets);

/* Before a bulk load into an EMPTY store (no items, not rehashing):
 * replaces the table by one with a bucket per expected item, so the load
 * never rehashes. Journaled. Does nothing otherwise, or when the region
 * cannot spare the table (the table then grows as usual). */
void hash_presize_locked(struct store *st, uint64_t items);

/* Allocates the initial table of an empty store. Not journaled. */
store_err_t hash_reset(struct store *st);

#endif /* FICKLE_STORE_HASH_H */
