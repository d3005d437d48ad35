/*
 * hash.c — hash table lookups and incremental rehash.
 */
#include "config.h"

#include <string.h>

#include <xxhash.h>

#include "store/alloc.h"
#include "store/hash.h"
#include "store/journal.h"
#include "store/sync.h"

uint32_t hash_key(const void *key, size_t klen)
{
    return (uint32_t)XXH3_64bits(key, klen);
}

static uint32_t *table_slot(const struct store *st, ref_t table, uint32_t log2, uint32_t idx)
{
    if (log2 > HASH_MAX_LOG2 || !ref_ok(st, table, 4ull << log2))
        return NULL;
    return (uint32_t *)ref_ptr(st, table) + (idx & ((1u << log2) - 1));
}

uint32_t *hash_bucket(const struct store *st, uint32_t h)
{
    const region_hdr_t *hd = st->hdr;
    if (LD32(&hd->rehashing)) {
        uint32_t l1 = LD32(&hd->tab[1].log2);
        if (l1 <= HASH_MAX_LOG2 && (h & ((1u << l1) - 1)) >= LD32(&hd->rehash_idx))
            return table_slot(st, LD32(&hd->tab[1].table), l1, h);
    }
    return table_slot(st, LD32(&hd->tab[0].table), LD32(&hd->tab[0].log2), h);
}

int hash_find_link_locked(const struct store *st, const void *key, size_t klen, uint32_t h, iview_t *v,
                          uint32_t **link)
{
    uint32_t *slot = hash_bucket(st, h);
    if (slot == NULL)
        return READ_TORN;
    uint64_t steps = 0;
    for (ref_t ref = LD32(slot); ref != 0; ref = v->hnext) {
        if (!item_load(st, ref, v) || ++steps > st->max_steps)
            return READ_TORN;
        if (v->hash == h && v->klen == klen && memcmp(v->key, key, klen) == 0) {
            if (link)
                *link = slot;
            return 1;
        }
        slot = &((item_t *)ref_ptr(st, ref))->hnext;
    }
    return 0;
}

int hash_find(const struct store *st, const void *key, size_t klen, uint32_t h, iview_t *v)
{
    return hash_find_link_locked(st, key, klen, h, v, NULL);
}

void hash_link_locked(struct store *st, ref_t ref, uint32_t h)
{
    uint32_t *slot = hash_bucket(st, h);
    item_t *it = ref_ptr(st, ref);
    /* The item is new in this critical section, or is being moved: its
     * hnext is journaled either way so a rollback restores the chain. */
    jset32(st, &it->hnext, *slot);
    jset32(st, slot, ref);
}

/* Doubles the table if it is full; the old one becomes tab[1]. */
static void maybe_grow(struct store *st)
{
    region_hdr_t *h = st->hdr;
    uint32_t log2 = h->tab[0].log2;
    if (h->rehashing || h->items <= (1ull << log2) || log2 >= HASH_MAX_LOG2)
        return;
    uint64_t pages = pages_for(4ull << (log2 + 1));
    if (!journal_room(st, pages / 64 + 16))
        return;
    ref_t table = alloc_pages(st, pages, PAGE_DESC_HASH);
    if (table == 0)
        return; /* region full: chains grow longer, lookups stay correct */
    jset64(st, &h->bytes_hash, h->bytes_hash + pages * STORE_PAGE);
    jset32(st, &h->tab[1].table, h->tab[0].table);
    jset32(st, &h->tab[1].log2, log2);
    jset32(st, &h->tab[0].table, table);
    jset32(st, &h->tab[0].log2, log2 + 1);
    jset32(st, &h->rehash_idx, 0);
    jset32(st, &h->rehashing, 1);
}

static uint64_t chain_length(const struct store *st, ref_t ref)
{
    uint64_t n = 0;
    for (; ref != 0; ref = ((item_t *)ref_ptr(st, ref))->hnext)
        n++;
    return n;
}

/* Moves old bucket idx into new buckets idx and idx + old size. */
static void move_bucket(struct store *st, uint32_t idx)
{
    region_hdr_t *h = st->hdr;
    uint32_t *old = (uint32_t *)ref_ptr(st, h->tab[1].table);
    uint32_t *neu = (uint32_t *)ref_ptr(st, h->tab[0].table);
    uint32_t old_size = 1u << h->tab[1].log2, new_mask = (1u << h->tab[0].log2) - 1;
    jset32(st, &neu[idx], 0);
    jset32(st, &neu[idx + old_size], 0);
    bool moved = false;
    for (ref_t ref = old[idx]; ref != 0;) {
        item_t *it = ref_ptr(st, ref);
        ref_t next = it->hnext;
        uint32_t *dst = &neu[it->hash & new_mask];
        jset32(st, &it->hnext, *dst);
        jset32(st, dst, ref);
        if (!moved)
            CRASH_POINT(STORE_CP_REHASH);
        moved = true;
        ref = next;
    }
    jset32(st, &old[idx], 0);
    jset32(st, &h->rehash_idx, idx + 1);
}

void hash_step_locked(struct store *st, unsigned buckets)
{
    region_hdr_t *h = st->hdr;
    maybe_grow(st);
    for (unsigned i = 0; i < buckets && h->rehashing; i++) {
        uint32_t idx = h->rehash_idx;
        uint32_t *old = (uint32_t *)ref_ptr(st, h->tab[1].table);
        if (!journal_room(st, chain_length(st, old[idx]) * 2 + 16))
            return;
        move_bucket(st, idx);
        if (idx + 1 == (1u << h->tab[1].log2)) { /* done: drop the old table */
            uint64_t pages = pages_for(4ull << h->tab[1].log2);
            alloc_defer_free_pages(st, h->tab[1].table, pages);
            jset64(st, &h->bytes_hash, h->bytes_hash - pages * STORE_PAGE);
            jset32(st, &h->tab[1].table, 0);
            jset32(st, &h->tab[1].log2, 0);
            jset32(st, &h->rehashing, 0);
        }
    }
}

void hash_presize_locked(struct store *st, uint64_t items)
{
    region_hdr_t *h = st->hdr;
    /* An item takes at least 64 bytes: a larger count is no real load. */
    uint64_t most = st->arena_pages * (STORE_PAGE / 64);
    if (items > most)
        items = most;
    uint32_t log2 = h->tab[0].log2;
    if (h->items != 0 || h->rehashing || items <= (1ull << log2))
        return;
    while (log2 < HASH_MAX_LOG2 && (1ull << log2) < items)
        log2++;
    uint64_t pages = pages_for(4ull << log2), old_pages = pages_for(4ull << h->tab[0].log2);
    if (!journal_room(st, (pages + old_pages) / 64 + 32))
        return;
    uint64_t mark = journal_mark(st);
    ref_t table = alloc_pages(st, pages, PAGE_DESC_HASH);
    if (table == 0)
        return;
    /* Zeroed before it is published; readers validate through the seqlock. */
    memset(ref_ptr(st, table), 0, 4ull << log2);
    if (alloc_defer_free_pages(st, h->tab[0].table, old_pages) != STORE_OK) {
        journal_rollback_to(st, mark); /* give the new run back */
        return;
    }
    jset64(st, &h->bytes_hash, h->bytes_hash + (pages - old_pages) * STORE_PAGE);
    jset32(st, &h->tab[0].table, table);
    jset32(st, &h->tab[0].log2, log2);
}

store_err_t hash_reset(struct store *st)
{
    region_hdr_t *h = st->hdr;
    uint64_t pages = pages_for(4ull << STORE_INITIAL_BUCKETS_LOG2);
    ref_t table = alloc_pages(st, pages, PAGE_DESC_HASH);
    if (table == 0)
        return store_fail(STORE_NOMEM, "region too small for the initial hash table");
    memset(ref_ptr(st, table), 0, 4u << STORE_INITIAL_BUCKETS_LOG2);
    h->tab[0].table = table;
    h->tab[0].log2 = STORE_INITIAL_BUCKETS_LOG2;
    h->tab[1].table = 0;
    h->tab[1].log2 = 0;
    h->rehashing = 0;
    h->rehash_idx = 0;
    h->bytes_hash = pages * STORE_PAGE;
    return STORE_OK;
}
