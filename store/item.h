/*
 * item.h — item layout helpers: sizes, field addresses, and the bounded
 * loader that turns an optimistically read ref into a validated view.
 */
#ifndef FICKLE_STORE_ITEM_H
#define FICKLE_STORE_ITEM_H

#include <string.h>

#include "store/layout.h"

static inline uint64_t item_size(uint32_t klen, uint64_t vlen, unsigned level, bool has_expiry)
{
    uint64_t n = sizeof(item_t) + (has_expiry ? 8 : 0) + 4ull * level + klen + vlen;
    return (n + 7) & ~7ull;
}

/* Byte offset of fwd[0] from the item start. */
static inline size_t item_fwd_off(uint8_t flags)
{
    return sizeof(item_t) + ((flags & ITEM_F_EXPIRY) ? 8 : 0);
}

/* A validated copy of an item's header plus addresses of its parts. */
typedef struct {
    ref_t ref;
    ref_t hnext;
    uint32_t hash;
    uint32_t klen;
    uint32_t vlen;
    unsigned level;
    uint8_t flags;
    uint64_t version;
    uint64_t expiry;
    uint32_t *fwd;
    const char *key;
    const char *val;
    uint64_t size;
} iview_t;

/* Loads the item at ref with every field bounds-checked against the region,
 * so that a torn read can yield a wrong view but never a wild access.
 * Returns false if the item cannot be a valid live item. */
static inline bool item_load(const struct store *st, ref_t ref, iview_t *v)
{
    if (!ref_ok(st, ref, sizeof(item_t)))
        return false;
    const item_t *it = ref_ptr(st, ref);
    v->ref = ref;
    v->hnext = LD32(&it->hnext);
    v->hash = LD32(&it->hash);
    v->klen = LD16(&it->klen);
    v->level = LD8(&it->level);
    v->flags = LD8(&it->flags);
    v->vlen = LD32(&it->vlen);
    v->version = LD64(&it->version);
    if (v->level == 0 || v->level > STORE_MAX_LEVEL || v->vlen > st->max_value)
        return false;
    v->size = item_size(v->klen, v->vlen, v->level, v->flags & ITEM_F_EXPIRY);
    if (!ref_ok(st, ref, v->size))
        return false;
    const char *p = (const char *)it;
    v->expiry = (v->flags & ITEM_F_EXPIRY) ? LD64(p + sizeof(item_t)) : 0;
    v->fwd = (uint32_t *)(p + item_fwd_off(v->flags));
    v->key = (const char *)(v->fwd + v->level);
    v->val = v->key + v->klen;
    return true;
}

static inline bool item_expired(const iview_t *v, uint64_t now)
{
    return v->expiry != 0 && v->expiry <= now;
}

/* item_expired with the clock read only for an item that carries an
 * expiry (most do not), at most once per *now (0 = not read yet). */
static inline bool item_expired_lazy(const struct store *st, const iview_t *v, uint64_t *now)
{
    if (v->expiry == 0)
        return false;
    if (*now == 0)
        *now = st->clock();
    return v->expiry <= *now;
}

/* memcmp-order comparison of a and b, shorter first on a common prefix. */
static inline int key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen >= 8 && blen >= 8) {
        /* The skiplist search compares keys at every step: settle most of
         * them on the first 8 bytes, read as one big-endian word. */
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
#endif
        if (x != y)
            return x < y ? -1 : 1;
    }
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Writer: unlinks item ov of key (hash h, reached through hash link
 * `link`) from the index, frees it at commit, stamps the delete for WATCH
 * and logs it. Every removal goes through here. With given == NULL the
 * item's skiplist preds (SL_BEFORE_GE) are searched from the head; else
 * given are used, found by the caller (the sweep searches a batch's
 * preds at once). STORE_OK or a failure (journal or ring room; preds that do not
 * lead to ov: STORE_CORRUPT) with nothing changed. */
store_err_t store_delete_item_locked(struct store *st, const void *key, size_t klen, uint32_t h, const iview_t *ov,
                                     uint32_t *link, uint32_t *given[STORE_MAX_LEVEL]);

#endif /* FICKLE_STORE_ITEM_H */
