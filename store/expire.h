/*
 * expire.h — the store's internal side of expiry: the counters kept of
 * items that carry an expiry (store_expiry_stats, INFO's expires= and
 * avg_ttl=), maintained by every write that changes an item's expiry.
 */
#ifndef FICKLE_STORE_EXPIRE_H
#define FICKLE_STORE_EXPIRE_H

#include "store/layout.h"

/* Journal entries expire_account_locked() may use: callers count them in
 * their journal_room() check. */
#define EXPIRE_ACCOUNT_ENTRIES 2

/* An item's expiry went from old_ms to new_ms (0 = none; an insert has
 * old 0, a removal new 0). Journaled, so a rolled-back section leaves the
 * counters as they were. Caller holds the mutex inside a critical section. */
void expire_account_locked(struct store *st, uint64_t old_ms, uint64_t new_ms);

#endif /* FICKLE_STORE_EXPIRE_H */
