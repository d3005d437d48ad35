/*
 * skiplist.c — ordered index: search, link, unlink.
 */
#include "config.h"

#include <string.h>

#include "store/journal.h"
#include "store/skiplist.h"
#include "store/sync.h"

int sl_find_preds(const struct store *st, const void *key, size_t klen, sl_mode_t mode,
                  uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs)
{
    return sl_search(st, key, klen, mode, preds, pred_refs, NULL);
}

/* Walks levels top-1 .. 0 from slot fwd (owned by item owner, 0 for the
 * head), each level as far as items sort before key (mode), filling
 * preds / pred_refs there. 0 or READ_TORN. */
static int descend(const struct store *st, uint32_t *fwd, ref_t owner, unsigned top, const void *key, size_t klen,
                   sl_mode_t mode, uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs, uint64_t *steps)
{
    for (int l = (int)top - 1; l >= 0; l--) {
        for (;;) {
            ref_t next = LD32(&fwd[l]);
            /* If next is not before the key, the search goes on from this
             * node's link one level down: fetch that item while next is
             * loaded, so the two misses overlap. */
            if (l > 0) {
                ref_t down = LD32(&fwd[l - 1]);
                if (down != next && ref_ok(st, down, sizeof(item_t)))
                    __builtin_prefetch(ref_ptr(st, down));
            }
            if (next == 0)
                break;
            iview_t v;
            if (!item_load(st, next, &v) || (unsigned)l >= v.level || ++*steps > st->max_steps)
                return READ_TORN;
            if (key != NULL) {
                int c = key_cmp(v.key, v.klen, key, klen);
                if (c > 0 || (c == 0 && mode == SL_BEFORE_GE))
                    break;
            }
            fwd = v.fwd;
            owner = next;
        }
        preds[l] = fwd;
        if (pred_refs)
            pred_refs[l] = owner;
    }
    return 0;
}

int sl_search(const struct store *st, const void *key, size_t klen, sl_mode_t mode,
              uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs, uint64_t *loads)
{
    unsigned top = LD32(&st->hdr->sl_level);
    if (top == 0 || top > STORE_MAX_LEVEL)
        return READ_TORN;
    for (unsigned l = top; l < STORE_MAX_LEVEL; l++) {
        preds[l] = sl_head(st);
        if (pred_refs)
            pred_refs[l] = 0;
    }
    uint64_t steps = 0;
    int rc = descend(st, sl_head(st), 0, top, key, klen, mode, preds, pred_refs, &steps);
    if (rc == 0 && loads)
        *loads += steps;
    return rc;
}

void sl_finger_start(const struct store *st, uint32_t *preds[STORE_MAX_LEVEL])
{
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
        preds[l] = sl_head(st);
}

int sl_finger_search_locked(const struct store *st, const void *key, size_t klen, uint32_t *preds[STORE_MAX_LEVEL])
{
    unsigned top = st->hdr->sl_level;
    if (top == 0 || top > STORE_MAX_LEVEL)
        return READ_TORN;
    /* Climb while a level's next item is still before key: the levels
     * above the first whose next is not keep their preds (a taller item
     * before key would also be before key on every level below). */
    unsigned redo = 0;
    while (redo < top) {
        ref_t next = preds[redo][redo];
        iview_t v;
        if (next == 0)
            break;
        if (!item_load(st, next, &v) || redo >= v.level)
            return READ_TORN;
        if (key_cmp(v.key, v.klen, key, klen) >= 0)
            break;
        redo++;
    }
    if (redo == 0)
        return 0;
    /* Below the top redone level, the walk from above has passed every
     * old pred: the ordinary descent from there. */
    uint64_t steps = 0;
    return descend(st, preds[redo - 1], 0, redo, key, klen, SL_BEFORE_GE, preds, NULL, &steps);
}

void sl_link_locked(struct store *st, const iview_t *v, uint32_t *preds[STORE_MAX_LEVEL])
{
    /* The new item's own links are fresh memory: plain stores. */
    for (unsigned l = 0; l < v->level; l++)
        ST32(&v->fwd[l], preds[l][l]);
    if (v->level > st->hdr->sl_level)
        jset32(st, &st->hdr->sl_level, v->level);
    for (unsigned l = 0; l < v->level; l++) {
        jset32(st, &preds[l][l], v->ref);
        if (l == 0)
            CRASH_POINT(STORE_CP_ORDER_PARTIAL);
    }
    if (v->fwd[0] != 0) {
        sl_finger_drop(st);
        return;
    }
    /* v is the last item: a greater key links after v on v's levels and
     * after the same slots as v above them. */
    st->finger.valid = true;
    st->finger.tail = v->ref;
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
        st->finger.preds[l] = l < v->level ? v->fwd : preds[l];
}

bool sl_finger_after_locked(const struct store *st, const void *key, size_t klen,
                            uint32_t *preds[STORE_MAX_LEVEL])
{
    if (!st->finger.valid)
        return false;
    iview_t tail;
    if (!item_load(st, st->finger.tail, &tail) || key_cmp(key, klen, tail.key, tail.klen) <= 0)
        return false;
    memcpy(preds, st->finger.preds, sizeof(st->finger.preds));
    return true;
}

void sl_replace_locked(struct store *st, const iview_t *ov, const iview_t *nv, uint32_t *preds[STORE_MAX_LEVEL])
{
    sl_finger_drop(st); /* its slots may lie in ov */
    for (unsigned l = 0; l < nv->level; l++)
        ST32(&nv->fwd[l], ov->fwd[l]);
    for (unsigned l = 0; l < nv->level; l++) {
        jset32(st, &preds[l][l], nv->ref);
        if (l == 0)
            CRASH_POINT(STORE_CP_ORDER_PARTIAL);
    }
}

void sl_unlink_locked(struct store *st, const iview_t *v, uint32_t *preds[STORE_MAX_LEVEL])
{
    sl_finger_drop(st);
    for (unsigned l = 0; l < v->level; l++)
        if (preds[l][l] == v->ref)
            jset32(st, &preds[l][l], v->fwd[l]);
    /* Levels left empty at the top are not shrunk: a higher sl_level only
     * costs a few head comparisons. */
}

unsigned sl_random_level(struct store *st)
{
    /* xorshift64: the state needs no journaling, any value is valid. */
    uint64_t x = st->hdr->rng ? st->hdr->rng : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    st->hdr->rng = x;
    unsigned level = 1;
    while (level < STORE_MAX_LEVEL && (x & 3) == 0) {
        level++;
        x >>= 2;
    }
    return level;
}
