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
 * Items are removed through store_delete_locked(), the same routine DEL uses.
 */
#include "config.h"

#include "store/expire.h"
#include "store/hash.h"
#include "store/journal.h"
#include "store/sync.h"

/* Expired items one bucket visit collects before removing them; a longer
 * run of expired items in one chain is finished by the next visit. */
#define SWEEP_BUCKET_MAX 16
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
} victim_t;

/* True if bucket idx is a duplicate view: while rehashing, new buckets idx
 * and idx + old size both map to the old bucket until it moves. */
static bool duplicate_bucket(const region_hdr_t *h, uint64_t idx)
{
    if (!h->rehashing)
        return false;
    uint64_t old_size = 1ull << h->tab[1].log2;
    return idx >= old_size && (idx & (old_size - 1)) >= h->rehash_idx;
}

/* Looks at bucket idx's chain and removes the expired items in it.
 * *done is false if expired items were left (budget or SWEEP_BUCKET_MAX):
 * the cursor then stays on the bucket. */
static store_err_t sweep_bucket(store_t *st, uint64_t idx, uint64_t now, unsigned max_deletes, store_sweep_t *out,
                                bool *done)
{
    *done = true;
    if (duplicate_bucket(st->hdr, idx))
        return STORE_OK;
    uint32_t *slot = hash_bucket(st, (uint32_t)idx);
    if (slot == NULL)
        return store_fail(STORE_CORRUPT, "store %s: hash table geometry invalid under the mutex", st->path);
    victim_t victims[SWEEP_BUCKET_MAX];
    unsigned n = 0;
    uint64_t steps = 0;
    iview_t v;
    for (ref_t ref = *slot; ref != 0; ref = v.hnext) {
        if (!item_load(st, ref, &v) || ++steps > st->max_steps)
            return store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
        out->visited++;
        if (v.expiry == 0)
            continue;
        out->expiring++;
        if (!item_expired(&v, now))
            continue;
        if (n == SWEEP_BUCKET_MAX || out->deleted + n >= max_deletes)
            *done = false;
        else
            victims[n++] = (victim_t){v.key, v.klen};
    }
    for (unsigned i = 0; i < n; i++) {
        store_err_t err = store_delete_locked(st, victims[i].key, victims[i].klen);
        if (err != STORE_OK && err != STORE_NOT_FOUND) { /* NOT_FOUND: it was expired, and is gone */
            *done = false;
            return err;
        }
        out->deleted++;
    }
    return STORE_OK;
}

/* Walks buckets from the cursor until a budget is spent, a full round is
 * made or a removal fails; returns the cursor to store and the failure. */
static store_err_t sweep_locked(store_t *st, uint64_t now, unsigned max_visits, unsigned max_deletes,
                                store_sweep_t *out, uint64_t *cursor)
{
    const region_hdr_t *h = st->hdr;
    uint64_t idx = h->expire_cursor;
    store_err_t err = STORE_OK;
    /* Empty buckets cost too: a table emptied by expiry has many. */
    for (unsigned buckets = 0; buckets < max_visits && out->visited < max_visits && out->deleted < max_deletes &&
                               journal_room(st, 8);
         buckets++) {
        if (idx >= 1ull << h->tab[0].log2)
            idx = 0; /* the table grew or was reset since the cursor was stored */
        bool done;
        err = sweep_bucket(st, idx, now, max_deletes, out, &done);
        if (!done)
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
    /* Keep journal room for the two counters written after the removals. */
    st->journal_reserved += SWEEP_TAIL_ENTRIES;
    err = sweep_locked(st, now_ms, max_visits, max_deletes ? max_deletes : 1, out, &cursor);
    st->journal_reserved -= SWEEP_TAIL_ENTRIES;
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
