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

int sl_search(const struct store *st, const void *key, size_t klen, sl_mode_t mode,
              uint32_t *preds[STORE_MAX_LEVEL], ref_t *pred_refs, uint64_t *loads)
{
    uint32_t *fwd = sl_head(st);
    ref_t owner = 0;
    unsigned top = LD32(&st->hdr->sl_level);
    if (top == 0 || top > STORE_MAX_LEVEL)
        return READ_TORN;
    for (unsigned l = top; l < STORE_MAX_LEVEL; l++) {
        preds[l] = sl_head(st);
        if (pred_refs)
            pred_refs[l] = 0;
    }
    uint64_t steps = 0;
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
            if (!item_load(st, next, &v) || (unsigned)l >= v.level || ++steps > st->max_steps)
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
    if (loads)
        *loads += steps;
    return 0;
}

/* One search of a group: where it stands. */
typedef struct {
    uint32_t *fwd; /* slot the walk is at */
    ref_t owner;   /* its item (0: the head) */
    int level;     /* level being walked, -1 once done */
} group_walk_t;

/* One step of a search: loads the item after its slot on its level,
 * then moves past it or one level down, and prefetches the item its next
 * step will load. preds/refs (NULL for a prefetch walk) get the level's
 * pred when the walk goes down. Links are read with relaxed atomic loads
 * so that a prefetch walk may run without the mutex; item_load bounds
 * every item first. Returns false if the item is invalid. */
static bool group_step(const struct store *st, const sl_key_t *key, group_walk_t *w,
                       uint32_t *preds[STORE_MAX_LEVEL], ref_t refs[STORE_MAX_LEVEL])
{
    int l = w->level;
    ref_t next = LD32(&w->fwd[l]);
    iview_t v;
    bool down = next == 0;
    if (!down) {
        if (!item_load(st, next, &v) || (unsigned)l >= v.level)
            return false;
        down = key_cmp(v.key, v.klen, key->key, key->klen) >= 0;
    }
    if (down) {
        if (preds) {
            preds[l] = w->fwd;
            refs[l] = w->owner;
        }
        if (--w->level < 0)
            return true;
        next = LD32(&w->fwd[l - 1]);
    } else {
        w->fwd = v.fwd;
        w->owner = next;
        next = LD32(&v.fwd[l]);
    }
    /* Both lines an item may straddle: its header and, for a short key,
     * its links and key (a prefetch never faults). */
    if (next != 0 && ref_ok(st, next, sizeof(item_t))) {
        __builtin_prefetch(ref_ptr(st, next));
        __builtin_prefetch((const char *)ref_ptr(st, next) + 63);
    }
    return true;
}

/* Runs n searches round-robin, one step each: a search's next item is
 * fetched while the others take their steps, so up to n misses are in
 * flight. preds/refs NULL: a prefetch walk. 0, or READ_TORN. */
static int group_walk(const struct store *st, const sl_key_t *keys, unsigned n, uint32_t *preds[][STORE_MAX_LEVEL],
                      ref_t refs[][STORE_MAX_LEVEL])
{
    unsigned top = LD32(&st->hdr->sl_level);
    if (top == 0 || top > STORE_MAX_LEVEL || n > SL_GROUP_MAX)
        return READ_TORN;
    group_walk_t w[SL_GROUP_MAX];
    for (unsigned i = 0; i < n; i++) {
        w[i] = (group_walk_t){sl_head(st), 0, (int)top - 1};
        for (unsigned l = top; preds && l < STORE_MAX_LEVEL; l++) {
            preds[i][l] = sl_head(st);
            refs[i][l] = 0;
        }
    }
    uint64_t steps = 0;
    for (unsigned active = n; active > 0;) {
        active = 0;
        for (unsigned i = 0; i < n; i++) {
            if (w[i].level < 0)
                continue;
            if (++steps > st->max_steps * n ||
                !group_step(st, &keys[i], &w[i], preds ? preds[i] : NULL, refs ? refs[i] : NULL))
                return READ_TORN;
            active += w[i].level >= 0;
        }
    }
    return 0;
}

int sl_find_preds_group_locked(const struct store *st, const sl_key_t *keys, unsigned n,
                               uint32_t *preds[][STORE_MAX_LEVEL], ref_t refs[][STORE_MAX_LEVEL])
{
    return group_walk(st, keys, n, preds, refs);
}

void sl_prefetch_group(const struct store *st, const sl_key_t *keys, unsigned n)
{
    (void)group_walk(st, keys, n, NULL, NULL); /* a hint: a torn walk just stops */
}

void sl_removals_start(sl_removals_t *r)
{
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
        r->tall[l] = SL_NO_REF;
}

void sl_removals_fix(const sl_removals_t *r, uint32_t *preds[STORE_MAX_LEVEL], const ref_t refs[STORE_MAX_LEVEL])
{
    /* A pred's item that was removed since the search is, on that level,
     * the last removed item linked there: nothing of that level lies
     * between it and the key. Its place is now its own pred's. */
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
        if (refs[l] == r->tall[l])
            preds[l] = r->slot[l];
}

void sl_removals_done(sl_removals_t *r, uint32_t *preds[STORE_MAX_LEVEL], const iview_t *v)
{
    for (unsigned l = 0; l < v->level; l++) {
        r->tall[l] = v->ref;
        r->slot[l] = preds[l];
    }
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
