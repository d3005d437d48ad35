/*
 * skiplist.h — the ordered index over items (p = 1/4, up to STORE_MAX_LEVEL
 * levels). Forward links live in each item; the head's links live in the
 * region header. Keys are ordered as memcmp, shorter first on ties.
 *
 * Positions are passed as "slots": the address of a fwd[] array (the
 * head's or an item's), so the head and items are handled alike.
 */
#ifndef FICKLE_STORE_SKIPLIST_H
#define FICKLE_STORE_SKIPLIST_H

#include "store/item.h"

/* Where a search should stop relative to the key. */
typedef enum {
    SL_BEFORE_GE, /* preds end before the first item >= key */
    SL_BEFORE_GT, /* preds end before the first item > key */
} sl_mode_t;

/* For each level l, preds[l] = fwd array whose [l] entry points to the
 * first item at or after the position, and pred_refs[l] (if not NULL) the
 * ref of the item owning that array (0 for the head). With key == NULL the
 * position is the end of the list. Returns 0, or READ_TORN if an item on
 * the way is invalid or the walk ran too long. Safe without the mutex. */
int sl_find_preds(const struct store *st, const void *key, size_t klen, sl_mode_t mode,
                  uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs);

/* sl_find_preds that also adds the number of items it loaded to *loads
 * (may be NULL). */
int sl_search(const struct store *st, const void *key, size_t klen, sl_mode_t mode,
              uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs, uint64_t *loads);

/* Group search: the removals of a sweep batch know all their keys at
 * once. Searched one after the other, each search is a chain of
 * dependent cache misses (O(log n), the lower levels cold); searched
 * together, round-robin one step each with the next item prefetched, up
 * to SL_GROUP_MAX chains overlap. */
#define SL_GROUP_MAX 64

typedef store_key_t sl_key_t;

/* For each of the n (<= SL_GROUP_MAX) keys, the SL_BEFORE_GE preds and
 * pred_refs sl_find_preds() would give. 0, or READ_TORN if an item on the
 * way is invalid or the walks ran too long. Caller holds the mutex. */
int sl_find_preds_group_locked(const struct store *st, const sl_key_t *keys, unsigned n,
                               uint32_t *preds[][STORE_MAX_LEVEL], ref_t refs[][STORE_MAX_LEVEL]);

/* The same walks as a hint, without the mutex and recording nothing: the
 * lines the searches for these keys will load come into cache together
 * (inserts of pipelined requests, see store_prefetch_keys). A walk that
 * meets a torn item stops. */
void sl_prefetch_group(const struct store *st, const sl_key_t *keys, unsigned n);

/* Removals in ascending key order of items whose preds were searched
 * before the removals of smaller keys: a pred may lie in an item removed
 * since. sl_removals_fix() replaces such preds by the right ones, given
 * each earlier removal was reported to sl_removals_done() with the preds
 * it used. Start with sl_removals_start(). Caller holds the mutex and
 * changes the order only by these removals meanwhile. */
#define SL_NO_REF UINT32_MAX

typedef struct {
    ref_t tall[STORE_MAX_LEVEL];      /* per level, the last removed item linked on it */
    uint32_t *slot[STORE_MAX_LEVEL]; /* and the pred it was unlinked from there */
} sl_removals_t;

void sl_removals_start(sl_removals_t *r);
void sl_removals_fix(const sl_removals_t *r, uint32_t *preds[STORE_MAX_LEVEL], const ref_t refs[STORE_MAX_LEVEL]);
void sl_removals_done(sl_removals_t *r, uint32_t *preds[STORE_MAX_LEVEL], const iview_t *v);

/* Links a new item (level v->level) after preds. Journaled. Sets the
 * finger if the item is now the last one, else drops it. */
void sl_link_locked(struct store *st, const iview_t *v, uint32_t *preds[STORE_MAX_LEVEL]);

/* Puts new item `nv` in old item `ov`'s place (same level). Journaled. */
void sl_replace_locked(struct store *st, const iview_t *ov, const iview_t *nv, uint32_t *preds[STORE_MAX_LEVEL]);

/* Unlinks item v found after preds. Journaled. */
void sl_unlink_locked(struct store *st, const iview_t *v, uint32_t *preds[STORE_MAX_LEVEL]);

/* The append finger (struct store.finger): true if it is valid and key
 * sorts after its tail item, in which case key is in neither index and
 * preds receive the slots it links after. Caller holds the mutex. */
bool sl_finger_after_locked(const struct store *st, const void *key, size_t klen,
                            uint32_t *preds[STORE_MAX_LEVEL]);

/* Forgets the finger: any change to the order other than an append, a
 * rollback, or the end of a section. */
static inline void sl_finger_drop(struct store *st)
{
    st->finger.valid = false;
}

/* A random level for a new item. Caller holds the mutex. */
unsigned sl_random_level(struct store *st);

/* The head's fwd array. */
static inline uint32_t *sl_head(const struct store *st)
{
    return st->hdr->sl_head;
}

#endif /* FICKLE_STORE_SKIPLIST_H */
