/*
 * sync.h — the seqlock and the process-shared robust writer mutex.
 *
 * Writer: sync_lock() (repairs after a dead owner), sync_write_begin()
 * (sequence odd), changes, sync_write_end() (sequence even), sync_unlock().
 * Reader: s = sync_read_begin(); read and copy; if sync_read_changed(s),
 * discard and retry. The pattern is the one of the Linux kernel's
 * seqcount and Concurrency Kit's ck_sequence, written with C11 fences so it
 * holds on weakly ordered CPUs (ARM), not only on x86.
 */
#ifndef FICKLE_STORE_SYNC_H
#define FICKLE_STORE_SYNC_H

#include "store/layout.h"

/* Sequence value to start an optimistic read with. Spins a bounded time
 * while a writer is active; returns an odd value if one still is (the
 * caller then falls back to the mutex). */
uint64_t sync_read_begin(const struct store *st);

/* True if a writer started or finished since s: the copy must be dropped. */
static inline bool sync_read_changed(const struct store *st, uint64_t s)
{
    /* Order every optimistic load above before the re-read below. */
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&st->hdr->seq, memory_order_relaxed) != s;
}

/* Takes the writer mutex. If the previous owner died inside its critical
 * section, rolls its changes back from the undo journal first. Returns
 * STORE_OK, or STORE_CORRUPT if the mutex cannot be recovered. */
store_err_t sync_lock(struct store *st);
/* As sync_lock, without waiting: STORE_BUSY if another writer holds it. */
store_err_t sync_trylock(struct store *st);
void sync_unlock(struct store *st);

/* Marks the start / end of changes visible to readers. Caller holds the mutex. */
void sync_write_begin(struct store *st);
void sync_write_end(struct store *st);

/* Initialises the mutex and sequence of a new region. */
store_err_t sync_init(region_hdr_t *hdr);

/* Test-only crash points (see store.h). */
#ifdef FICKLE_TEST_HOOKS
void sync_crash_point(store_crash_point_t cp);
#define CRASH_POINT(cp) sync_crash_point(cp)
#else
#define CRASH_POINT(cp) ((void)0)
#endif

#endif /* FICKLE_STORE_SYNC_H */
