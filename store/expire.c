/*
 * expire.c — active expiry and the counters of items that carry an expiry.
 *
 * Readers already treat an expired item as missing (lazy expiry), but it
 * keeps its memory and counts in DBSIZE until something removes it. The
 * sweep removes it: each call is one small batch, one critical section,
 * so the removals reach the change ring as one record (a TXN of DELs, or
 * one DEL) and recovery replays them like any delete: an expired key never
 * comes back. The batch walks hash buckets from a cursor kept in the region,
 * so the next call (from any process) resumes where this one stopped.
 * A batch first collects its expired items, then removes them in key
 * order through store_delete_item_locked(), the routine DEL uses, their
 * skiplist searches made a group at a time so their cache misses overlap.
 */
#include "config.h"

#include <stdlib.h>

#include "store/expire.h"
#include "store/hash.h"
#include "store/journal.h"
#include "store/skiplist.h"
#include "store/sync.h"

/* A batch never removes more than this: the undo journal (65536 entries,
 * under ~100 per removal) and the critical section's length stay small. */
#define SWEEP_MAX_DELETES 512
/* Journal entries the batch's own bookkeeping (cursor, expired_keys) needs. */
#define SWEEP_TAIL_ENTRIES 2

void expire_account_locked(struct store *st, uint64_t old_ms, uint64_t new_ms)
{
    if (old_ms == new_ms)
        return;
    region_hdr_t *h = st->hdr;
    if ((old_ms != 0) != (new_ms != 0))
        jset64(st, &h->expires, new_ms ? h->expires + 1 : h->expires - 1);
    jset64(st, &h->expiry_sum_s, h->expiry_sum_s - old_ms / 1000 + new_ms / 1000);
}

void store_expiry_stats(store_t *st, uint64_t now_ms, store_expiry_stats_t *out)
{
    const region_hdr_t *h = st->hdr;
    out->expires = LD64(&h->expires);
    out->expired_keys = LD64(&h->expired_keys);
    /* Two loads a writer may separate: an estimate, as Redis's avg_ttl is. */
    uint64_t sum_s = LD64(&h->expiry_sum_s);
    /* Each expiry is summed in whole seconds (floored): +500 ms on average. */
    uint64_t mean_ms = out->expires ? (uint64_t)((double)sum_s * 1000.0 / (double)out->expires) + 500 : 0;
    out->avg_ttl_ms = mean_ms > now_ms ? mean_ms - now_ms : 0;
}

bool store_expire_claim(store_t *st, uint64_t now_ms, uint64_t next_ms)
{
    _Atomic uint64_t *due = &st->hdr->expire_due_ms;
    uint64_t d = atomic_load_explicit(due, memory_order_acquire);
    /* A due time far ahead means the clock stepped back: claim anyway. */
    if (now_ms < d && d - now_ms <= 60000)
        return false;
    return atomic_compare_exchange_strong_explicit(due, &d, next_ms, memory_order_acq_rel, memory_order_relaxed);
}

void store_expire_schedule(store_t *st, uint64_t due_ms)
{
    atomic_store_explicit(&st->hdr->expire_due_ms, due_ms, memory_order_release);
}

/* An expired item found in a bucket: its key stays readable until commit
 * (space is freed only then), so it can be removed by key. */
typedef struct {
    const char *key;
    uint32_t klen;
    uint32_t hash;
    uint64_t bucket; /* where the cursor must stay if it is not removed */
} victim_t;

/* The batch: its victims, collected before any is removed. */
typedef struct {
    victim_t v[SWEEP_MAX_DELETES];
    unsigned n, max;
} batch_t;

/* True if bucket idx is a duplicate view: while rehashing, new buckets idx
 * and idx + old size both map to the old bucket until it moves. */
static bool duplicate_bucket(const region_hdr_t *h, uint64_t idx)
{
    if (!h->rehashing)
        return false;
    uint64_t old_size = 1ull << h->tab[1].log2;
    return idx >= old_size && (idx & (old_size - 1)) >= h->rehash_idx;
}

/* Looks at bucket idx's chain and adds its expired items to the batch.
 * Returns false if expired items were left (the batch is full): the
 * cursor then stays on the bucket. */
static bool collect_bucket(store_t *st, uint64_t idx, uint64_t now, batch_t *b, store_sweep_t *out, store_err_t *err)
{
    if (duplicate_bucket(st->hdr, idx))
        return true;
    uint32_t *slot = hash_bucket(st, (uint32_t)idx);
    if (slot == NULL) {
        *err = store_fail(STORE_CORRUPT, "store %s: hash table geometry invalid under the mutex", st->path);
        return false;
    }
    bool done = true;
    uint64_t steps = 0;
    iview_t v;
    for (ref_t ref = *slot; ref != 0; ref = v.hnext) {
        if (!item_load(st, ref, &v) || ++steps > st->max_steps) {
            *err = store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
            return false;
        }
        out->visited++;
        if (v.expiry == 0)
            continue;
        out->expiring++;
        if (!item_expired(&v, now))
            continue;
        if (b->n == b->max)
            done = false;
        else
            b->v[b->n++] = (victim_t){v.key, v.klen, v.hash, idx};
    }
    return done;
}

/* Walks buckets from the cursor until a budget is spent or a full round
 * is made, collecting the expired items; returns the cursor after them. */
static store_err_t collect(store_t *st, uint64_t now, unsigned max_visits, batch_t *b, store_sweep_t *out,
                           uint64_t *cursor)
{
    const region_hdr_t *h = st->hdr;
    uint64_t idx = h->expire_cursor;
    store_err_t err = STORE_OK;
    /* Empty buckets cost too: a table emptied by expiry has many. */
    for (unsigned buckets = 0; buckets < max_visits && out->visited < max_visits && b->n < b->max; buckets++) {
        if (idx >= 1ull << h->tab[0].log2)
            idx = 0; /* the table grew or was reset since the cursor was stored */
        if (!collect_bucket(st, idx, now, b, out, &err))
            break;
        if (++idx == 1ull << h->tab[0].log2) {
            idx = 0;
            out->wrapped = true;
            break;
        }
    }
    *cursor = idx;
    return err;
}

static int victim_cmp(const void *a, const void *b)
{
    const victim_t *x = a, *y = b;
    return key_cmp(x->key, x->klen, y->key, y->klen);
}

/* On a failure the batch's remaining victims stay: the cursor moves back
 * to the first bucket holding one. The batch's buckets lie between the
 * old cursor and the new one (a round ends a batch): the least is the
 * first. */
static void rewind_cursor(const batch_t *b, unsigned from, store_sweep_t *out, uint64_t *cursor)
{
    *cursor = b->v[from].bucket;
    for (unsigned j = from + 1; j < b->n; j++)
        if (b->v[j].bucket < *cursor)
            *cursor = b->v[j].bucket;
    out->wrapped = false;
}

/* Removes victims [from, from + n) (n <= SL_GROUP_MAX, in key order):
 * their skiplist preds searched together, then each removed in turn. */
static store_err_t remove_group(store_t *st, const batch_t *b, unsigned from, unsigned n, sl_removals_t *rm,
                                store_sweep_t *out)
{
    sl_key_t keys[SL_GROUP_MAX];
    uint32_t *preds[SL_GROUP_MAX][STORE_MAX_LEVEL];
    ref_t refs[SL_GROUP_MAX][STORE_MAX_LEVEL];
    for (unsigned i = 0; i < n; i++)
        keys[i] = (sl_key_t){b->v[from + i].key, b->v[from + i].klen};
    if (sl_find_preds_group_locked(st, keys, n, preds, refs) != 0)
        return store_fail(STORE_CORRUPT, "store %s: skiplist walk failed under the mutex", st->path);
    for (unsigned i = 0; i < n; i++) {
        const victim_t *vi = &b->v[from + i];
        iview_t ov;
        uint32_t *link = NULL;
        int found = hash_find_link_locked(st, vi->key, vi->klen, vi->hash, &ov, &link);
        if (found == READ_TORN)
            return store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
        if (!found)
            continue; /* cannot happen: each item is collected once */
        sl_removals_fix(rm, preds[i], refs[i]);
        store_err_t err = store_delete_item_locked(st, vi->key, vi->klen, vi->hash, &ov, link, preds[i]);
        if (err != STORE_OK)
            return err;
        sl_removals_done(rm, preds[i], &ov);
        out->deleted++;
    }
    return STORE_OK;
}

/* Removes the batch's victims in key order. A batch's keys are scattered
 * by the hash, so each removal's search from the head is a chain of
 * cache misses on the lower levels; searched a group at a time, the
 * chains overlap (skiplist.h). */
static store_err_t remove_sorted(store_t *st, batch_t *b, store_sweep_t *out, uint64_t *cursor)
{
    qsort(b->v, b->n, sizeof(b->v[0]), victim_cmp);
    sl_removals_t rm;
    sl_removals_start(&rm);
    for (unsigned from = 0; from < b->n; from += SL_GROUP_MAX) {
        unsigned n = b->n - from < SL_GROUP_MAX ? b->n - from : SL_GROUP_MAX;
        uint64_t before = out->deleted;
        store_err_t err = remove_group(st, b, from, n, &rm, out);
        if (err != STORE_OK) {
            rewind_cursor(b, from + (unsigned)(out->deleted - before), out, cursor);
            return err;
        }
    }
    return STORE_OK;
}

store_err_t store_expire_sweep(store_t *st, uint64_t now_ms, unsigned max_visits, unsigned max_deletes,
                               store_sweep_t *out)
{
    *out = (store_sweep_t){0};
    if (LD64(&st->hdr->expires) == 0)
        return STORE_OK; /* nothing can expire: no lock taken */
    store_ring_stats_t r;
    store_ring_stats(st, &r);
    if (r.size && r.used > r.size / 2)
        return store_fail(STORE_BUSY, "the change ring is over half full: the sweep waits for the persister");
    store_err_t err = store_write_trylock(st);
    if (err != STORE_OK)
        return err;
    if (max_deletes > SWEEP_MAX_DELETES)
        max_deletes = SWEEP_MAX_DELETES;
    uint64_t cursor;
    batch_t batch; /* 12 KiB */
    batch.n = 0;
    batch.max = max_deletes ? max_deletes : 1;
    err = collect(st, now_ms, max_visits, &batch, out, &cursor);
    if (err == STORE_OK) {
        /* Keep journal room for the two counters written after the removals. */
        st->journal_reserved += SWEEP_TAIL_ENTRIES;
        err = remove_sorted(st, &batch, out, &cursor);
        st->journal_reserved -= SWEEP_TAIL_ENTRIES;
    }
    region_hdr_t *h = st->hdr;
    if (cursor != h->expire_cursor)
        jset64(st, &h->expire_cursor, cursor);
    if (out->deleted)
        jset64(st, &h->expired_keys, h->expired_keys + out->deleted);
    store_write_unlock(st);
    /* A section that outgrew the journal or the ring ends the batch early;
     * what it removed is committed. */
    return err == STORE_TXN_TOO_BIG ? STORE_OK : err;
}
