/*
 * prefetch.c — store_prefetch_keys: memory hints for the keys of pipelined
 * requests (store.h). Racy reads only, every ref bounds-checked; nothing
 * here changes the region or takes a lock.
 */
#include "config.h"

#include "store/hash.h"
#include "store/skiplist.h"
#include "store/store.h"

void store_prefetch_keys(const store_t *st, const store_key_t *keys, unsigned n)
{
    if (n > STORE_PREFETCH_MAX)
        n = STORE_PREFETCH_MAX;
    const uint32_t *slot[STORE_PREFETCH_MAX];
    for (unsigned i = 0; i < n; i++) { /* wave 1: the buckets */
        slot[i] = hash_bucket(st, hash_key(keys[i].key, keys[i].klen));
        if (slot[i] != NULL)
            __builtin_prefetch(slot[i]);
    }
    /* Wave 2: the items the buckets point to. A key whose bucket is empty
     * is certainly absent: an insert (or a read that misses), whose
     * skiplist search is a chain of misses. Wave 3 walks those paths
     * together. (A key in a non-empty bucket may be absent too, but
     * telling would cost a chain walk on every read: not worth it.) */
    store_key_t absent[STORE_PREFETCH_MAX];
    unsigned m = 0;
    for (unsigned i = 0; i < n; i++) {
        if (slot[i] == NULL)
            continue; /* no table to be read (torn): no hint */
        ref_t ref = LD32(slot[i]);
        if (ref == 0)
            absent[m++] = keys[i];
        else if (ref_ok(st, ref, sizeof(item_t)))
            __builtin_prefetch(ref_ptr(st, ref));
    }
    if (m > 0)
        sl_prefetch_group(st, absent, m);
}
