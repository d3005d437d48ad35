/*
 * journal.h — the undo journal that makes a writer's death harmless.
 *
 * Before a writer changes any word that is reachable in the pre-change
 * state (index links, allocator metadata, counters, an item overwritten in
 * place), it records the 8-byte word's offset and old value here. Words of
 * memory that was free before the critical section need no entry: rolling
 * back the allocator makes them free again.
 *
 * A clean unlock empties the journal. A writer that dies leaves it full;
 * the next locker (EOWNERDEAD) rolls it back in reverse order. Rollback is
 * idempotent, so a repairer that dies mid-repair is repaired in turn.
 * Caller of everything here holds the writer mutex.
 */
#ifndef FICKLE_STORE_JOURNAL_H
#define FICKLE_STORE_JOURNAL_H

#include "store/layout.h"

/* Records the aligned 8-byte word containing p. Must precede the change. */
void journal_record(struct store *st, const void *p);

static inline void jset32(struct store *st, uint32_t *p, uint32_t v)
{
    journal_record(st, p);
    ST32(p, v);
}

static inline void jset64(struct store *st, uint64_t *p, uint64_t v)
{
    journal_record(st, p);
    ST64(p, v);
}

static inline void jset8(struct store *st, uint8_t *p, uint8_t v)
{
    journal_record(st, p);
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Entries used so far in this critical section (a savepoint). */
static inline uint64_t journal_mark(const struct store *st)
{
    return st->hdr->journal_len;
}

/* True if `need` more entries fit beside those reserved for deferred frees. */
static inline bool journal_room(const struct store *st, uint64_t need)
{
    uint64_t used = st->hdr->journal_len + st->journal_reserved;
    return used <= STORE_JOURNAL_CAP && STORE_JOURNAL_CAP - used >= need;
}

/* Restores every word recorded after mark, newest first. */
void journal_rollback_to(struct store *st, uint64_t mark);

/* Forgets the entries: the critical section's changes are final. */
void journal_commit(struct store *st);

/* Marks the critical section as a whole-store clear: recovery re-runs the
 * clear instead of rolling back (the clear is too big to journal). */
void journal_begin_redo_clear(struct store *st);

/* Repairs after a dead writer: rollback, or redo of a clear. */
void journal_recover(struct store *st);

#endif /* FICKLE_STORE_JOURNAL_H */
