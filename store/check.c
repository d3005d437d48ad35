/*
 * check.c — store_check(): walks the whole region under the mutex and
 * verifies allocator, hash and order invariants. For tests, `fickled
 * --check`, and after a repair. O(n log n) time, O(n) private memory.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/alloc.h"
#include "store/hash.h"
#include "store/skiplist.h"
#include "store/sync.h"

typedef struct {
    store_t *st;
    ref_t *items; /* item refs found by the page walk, ascending */
    size_t nitems, cap;
    uint64_t requested, footprint, hash_bytes, free_pages;
    uint64_t cls_used[STORE_MAX_CLASSES], cls_free[STORE_MAX_CLASSES], cls_runs[STORE_MAX_CLASSES];
    struct pending_free *pending; /* the caller's deferred frees, by ref */
    size_t npending;
    char *report;
    size_t report_len;
} check_t;

__attribute__((format(printf, 2, 3))) static store_err_t bad(check_t *k, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (k->report && k->report_len)
        snprintf(k->report, k->report_len, "%s", msg);
    return store_fail(STORE_CORRUPT, "store check %s: %s", k->st->path, msg);
}

static bool add_item(check_t *k, ref_t ref)
{
    if (k->nitems == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        ref_t *p = realloc(k->items, cap * sizeof(ref_t));
        if (p == NULL)
            return false;
        k->items = p;
        k->cap = cap;
    }
    k->items[k->nitems++] = ref;
    return true;
}

static bool known_item(const check_t *k, ref_t ref)
{
    size_t lo = 0, hi = k->nitems;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k->items[mid] < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < k->nitems && k->items[lo] == ref;
}

static int cmp_pending(const void *a, const void *b)
{
    ref_t x = ((const struct pending_free *)a)->ref, y = ((const struct pending_free *)b)->ref;
    return x < y ? -1 : x > y;
}

/* Space the caller unlinked in its own critical section stays allocated
 * until commit (write.c): it is used, but in no index. */
static bool collect_pending(check_t *k)
{
    const store_t *st = k->st;
    if (!st->in_write || st->npending == 0)
        return true;
    k->pending = malloc(st->npending * sizeof(*k->pending));
    if (k->pending == NULL)
        return false;
    memcpy(k->pending, st->pending, st->npending * sizeof(*k->pending));
    k->npending = st->npending;
    qsort(k->pending, k->npending, sizeof(*k->pending), cmp_pending);
    return true;
}

static const struct pending_free *find_pending(const check_t *k, ref_t ref)
{
    struct pending_free key = {.ref = ref};
    return k->npending ? bsearch(&key, k->pending, k->npending, sizeof(key), cmp_pending) : NULL;
}

static store_err_t check_item(check_t *k, ref_t ref, iview_t *v)
{
    if (!item_load(k->st, ref, v))
        return bad(k, "item at ref %u has an invalid header", ref);
    if (v->hash != hash_key(v->key, v->klen))
        return bad(k, "item at ref %u: stored hash does not match its key", ref);
    const struct pending_free *p = find_pending(k, ref);
    if (p != NULL && !(p->is_item && p->amount == v->size))
        return bad(k, "item at ref %u does not match its deferred free", ref);
    if (p == NULL && !add_item(k, ref))
        return bad(k, "out of process memory");
    k->requested += v->size;
    k->footprint += alloc_footprint(k->st->hdr, v->size);
    return STORE_OK;
}

/* Every chunk of one slab run is an item of this class, a free chunk, or
 * not yet carved. */
static store_err_t check_slab_run(check_t *k, uint64_t page, unsigned cls)
{
    store_t *st = k->st;
    const class_hdr_t *c = &st->hdr->classes[cls];
    ref_t run = page_ref(st, page);
    uint64_t nchunks = (uint64_t)c->run_pages * STORE_PAGE / c->chunk_size;
    k->cls_runs[cls]++;
    for (uint64_t i = 0; i < nchunks; i++) {
        ref_t ref = run + (ref_t)(i * c->chunk_size / STORE_UNIT);
        if (c->carve_next && ref >= c->carve_next && ref < c->carve_end) {
            k->cls_free[cls]++;
            continue;
        }
        const item_t *it = ref_ptr(st, ref);
        if (it->level == 0) {
            if (it->hash != STORE_FREE_MAGIC)
                return bad(k, "free chunk at ref %u (class %u) lacks the free marker", ref, cls);
            k->cls_free[cls]++;
            continue;
        }
        iview_t v;
        store_err_t err = check_item(k, ref, &v);
        if (err != STORE_OK)
            return err;
        if (alloc_class_for(st->hdr, v.size) != (int)cls)
            return bad(k, "item at ref %u (%llu bytes) sits in class %u", ref, (unsigned long long)v.size, cls);
        k->cls_used[cls]++;
    }
    return STORE_OK;
}

/* Pages [first+1, first+n) must be used continuation pages. */
static store_err_t check_run_tail(check_t *k, uint64_t first, uint64_t n)
{
    if (first + n > k->st->arena_pages)
        return bad(k, "run at page %llu runs past the arena", (unsigned long long)first);
    for (uint64_t p = first + 1; p < first + n; p++)
        if (!bitmap_test(k->st, p) || k->st->pagedesc[p] != PAGE_DESC_FREE)
            return bad(k, "page %llu inside the run at page %llu is not a used continuation page",
                       (unsigned long long)p, (unsigned long long)first);
    return STORE_OK;
}

/* Returns the run's length in pages, or 0 after recording a violation. */
static uint64_t check_run(check_t *k, uint64_t p, store_err_t *err)
{
    store_t *st = k->st;
    region_hdr_t *h = st->hdr;
    uint8_t desc = st->pagedesc[p];
    uint64_t n = 0;
    if (desc >= 1 && desc <= h->nclasses) {
        n = h->classes[desc - 1].run_pages;
        if ((*err = check_run_tail(k, p, n)) == STORE_OK)
            *err = check_slab_run(k, p, desc - 1u);
    } else if (desc == PAGE_DESC_LARGE) {
        iview_t v;
        if ((*err = check_item(k, page_ref(st, p), &v)) != STORE_OK)
            return 0;
        if (!(v.flags & ITEM_F_LARGE))
            *err = bad(k, "large item at page %llu lacks its flag", (unsigned long long)p);
        n = pages_for(v.size);
        if (*err == STORE_OK)
            *err = check_run_tail(k, p, n);
    } else if (desc == PAGE_DESC_HASH) {
        ref_t ref = page_ref(st, p);
        int t = h->tab[0].table == ref ? 0 : h->tab[1].table == ref && h->rehashing ? 1 : -1;
        const struct pending_free *pf = t < 0 ? find_pending(k, ref) : NULL;
        if (t < 0 && (pf == NULL || pf->is_item))
            return *err = bad(k, "hash table pages at %llu belong to no table", (unsigned long long)p), 0;
        if (pf != NULL) { /* an old table whose free waits for commit */
            n = pf->amount;
        } else {
            n = pages_for(4ull << h->tab[t].log2);
            k->hash_bytes += n * STORE_PAGE;
        }
        *err = check_run_tail(k, p, n);
    } else {
        *err = bad(k, "used page %llu has descriptor %u", (unsigned long long)p, desc);
    }
    return *err == STORE_OK ? n : 0;
}

static store_err_t check_pages(check_t *k)
{
    store_t *st = k->st;
    store_err_t err = STORE_OK;
    for (uint64_t p = 0; p < st->arena_pages;) {
        if (!bitmap_test(st, p)) {
            if (st->pagedesc[p] != PAGE_DESC_FREE)
                return bad(k, "free page %llu has descriptor %u", (unsigned long long)p, st->pagedesc[p]);
            k->free_pages++;
            p++;
            continue;
        }
        uint64_t n = check_run(k, p, &err);
        if (err != STORE_OK)
            return err;
        p += n;
    }
    return STORE_OK;
}

static store_err_t check_classes(check_t *k)
{
    region_hdr_t *h = k->st->hdr;
    for (unsigned c = 0; c < h->nclasses; c++) {
        const class_hdr_t *ch = &h->classes[c];
        if (ch->used != k->cls_used[c] || ch->free_count != k->cls_free[c] || ch->runs != k->cls_runs[c])
            return bad(k, "class %u counters used/free/runs %llu/%llu/%llu, found %llu/%llu/%llu", c,
                       (unsigned long long)ch->used, (unsigned long long)ch->free_count,
                       (unsigned long long)ch->runs, (unsigned long long)k->cls_used[c],
                       (unsigned long long)k->cls_free[c], (unsigned long long)k->cls_runs[c]);
        uint64_t n = 0;
        for (ref_t ref = ch->free_head; ref != 0; ref = ((item_t *)ref_ptr(k->st, ref))->hnext) {
            if (!ref_ok(k->st, ref, ch->chunk_size) || ++n > ch->free_count)
                return bad(k, "class %u free list is broken or longer than its count", c);
            const item_t *it = ref_ptr(k->st, ref);
            if (it->level != 0 || it->hash != STORE_FREE_MAGIC)
                return bad(k, "class %u free list holds a chunk in use (ref %u)", c, ref);
            uint64_t page = ref_page(k->st, ref);
            while (page > 0 && k->st->pagedesc[page] == PAGE_DESC_FREE)
                page--;
            if (k->st->pagedesc[page] != c + 1)
                return bad(k, "class %u free list holds ref %u from another run", c, ref);
        }
    }
    if (h->pages_free != k->free_pages)
        return bad(k, "pages_free %llu, found %llu", (unsigned long long)h->pages_free,
                   (unsigned long long)k->free_pages);
    if (h->bytes_requested != k->requested || h->bytes_items != k->footprint || h->bytes_hash != k->hash_bytes)
        return bad(k, "byte counters requested/items/hash %llu/%llu/%llu, found %llu/%llu/%llu",
                   (unsigned long long)h->bytes_requested, (unsigned long long)h->bytes_items,
                   (unsigned long long)h->bytes_hash, (unsigned long long)k->requested,
                   (unsigned long long)k->footprint, (unsigned long long)k->hash_bytes);
    if (h->items != k->nitems)
        return bad(k, "item count %llu, but %zu items are allocated", (unsigned long long)h->items, k->nitems);
    return STORE_OK;
}

/* Each bucket's chain holds exactly the items whose hash maps there. */
static store_err_t check_table(check_t *k, int t, uint64_t *seen)
{
    region_hdr_t *h = k->st->hdr;
    uint32_t size = 1u << h->tab[t].log2, mask = size - 1;
    uint32_t old_mask = h->rehashing ? (1u << h->tab[1].log2) - 1 : 0;
    const uint32_t *b = ref_ptr(k->st, h->tab[t].table);
    for (uint32_t i = 0; i < size; i++) {
        bool live = !h->rehashing || (t == 1 ? i >= h->rehash_idx : (i & old_mask) < h->rehash_idx);
        if (!live)
            continue;
        uint64_t n = 0;
        for (ref_t ref = b[i]; ref != 0; ref = ((item_t *)ref_ptr(k->st, ref))->hnext) {
            if (!known_item(k, ref) || ++n > k->nitems)
                return bad(k, "hash table %d bucket %u links ref %u, which is no allocated item", t, i, ref);
            if ((((item_t *)ref_ptr(k->st, ref))->hash & mask) != i)
                return bad(k, "item ref %u sits in hash bucket %u of table %d, not its own", ref, i, t);
            (*seen)++;
        }
    }
    return STORE_OK;
}

static store_err_t check_hash(check_t *k)
{
    region_hdr_t *h = k->st->hdr;
    uint64_t seen = 0;
    store_err_t err = check_table(k, 0, &seen);
    if (err == STORE_OK && h->rehashing)
        err = check_table(k, 1, &seen);
    if (err == STORE_OK && seen != h->items)
        err = bad(k, "hash tables hold %llu items, count says %llu", (unsigned long long)seen,
                  (unsigned long long)h->items);
    return err;
}

/* Every level is sorted, every item of level > l is on list l. */
static store_err_t check_order(check_t *k)
{
    store_t *st = k->st;
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++) {
        uint64_t n = 0, expect = 0;
        iview_t prev = {0}, v;
        for (ref_t ref = sl_head(st)[l]; ref != 0; ref = v.fwd[l]) {
            if (!known_item(k, ref) || ++n > k->nitems || !item_load(st, ref, &v))
                return bad(k, "skiplist level %u links ref %u, which is no allocated item", l, ref);
            if (v.level <= l)
                return bad(k, "item ref %u of level %u is on list %u", ref, v.level, l);
            if (n > 1 && key_cmp(prev.key, prev.klen, v.key, v.klen) >= 0)
                return bad(k, "skiplist level %u out of order at ref %u", l, ref);
            prev = v;
        }
        for (size_t i = 0; i < k->nitems; i++)
            if (((item_t *)ref_ptr(st, k->items[i]))->level > l)
                expect++;
        if (n != expect)
            return bad(k, "skiplist level %u holds %llu items, %llu have that level", l, (unsigned long long)n,
                       (unsigned long long)expect);
        if (l >= st->hdr->sl_level && n != 0)
            return bad(k, "skiplist level %u is above sl_level %u but not empty", l, st->hdr->sl_level);
    }
    return STORE_OK;
}

/* The expiry counters match the items that carry an expiry. */
static store_err_t check_expiry(check_t *k)
{
    const region_hdr_t *h = k->st->hdr;
    uint64_t n = 0, sum_s = 0;
    for (size_t i = 0; i < k->nitems; i++) {
        iview_t v;
        if (item_load(k->st, k->items[i], &v) && v.expiry) {
            n++;
            sum_s += v.expiry / 1000;
        }
    }
    if (n != h->expires || sum_s != h->expiry_sum_s)
        return bad(k, "expiry counters say %llu items (sum %llu s), %llu carry an expiry (sum %llu s)",
                   (unsigned long long)h->expires, (unsigned long long)h->expiry_sum_s, (unsigned long long)n,
                   (unsigned long long)sum_s);
    return STORE_OK;
}

static store_err_t check_locked(check_t *k)
{
    region_hdr_t *h = k->st->hdr;
    if (h->journal_len != 0 && !k->st->in_write)
        return bad(k, "undo journal holds %llu entries outside a critical section", (unsigned long long)h->journal_len);
    if (h->sl_level == 0 || h->sl_level > STORE_MAX_LEVEL || h->tab[0].log2 > HASH_MAX_LOG2 ||
        (h->rehashing && (h->tab[1].log2 + 1 != h->tab[0].log2 || h->rehash_idx >= (1u << h->tab[1].log2))))
        return bad(k, "index header fields out of range");
    /* WATCH trusts that no stamp is ahead of the LSN (read.c). */
    if (h->clear_lsn > h->next_lsn)
        return bad(k, "clear stamp %llu ahead of the last LSN %llu", (unsigned long long)h->clear_lsn,
                   (unsigned long long)h->next_lsn);
    for (uint32_t i = 0; i < STORE_DEL_STAMPS; i++)
        if (h->del_lsn[i] > h->next_lsn)
            return bad(k, "delete stamp %u (%llu) ahead of the last LSN %llu", i, (unsigned long long)h->del_lsn[i],
                       (unsigned long long)h->next_lsn);
    store_err_t err = check_pages(k);
    if (err == STORE_OK)
        err = check_classes(k);
    if (err == STORE_OK)
        err = check_hash(k);
    if (err == STORE_OK)
        err = check_order(k);
    if (err == STORE_OK)
        err = check_expiry(k);
    return err;
}

store_err_t store_check(store_t *st, char *report, size_t report_len)
{
    check_t *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return store_fail(STORE_NOMEM, "out of process memory for the check");
    k->st = st;
    k->report = report;
    k->report_len = report_len;
    if (report && report_len)
        report[0] = '\0';
    bool locked_here = !st->in_write;
    store_err_t err = locked_here ? sync_lock(st) : STORE_OK;
    if (err == STORE_OK) {
        err = collect_pending(k) ? check_locked(k) : bad(k, "out of process memory");
        if (locked_here)
            sync_unlock(st);
    }
    free(k->items);
    free(k->pending);
    free(k);
    return err;
}

/* Copies the header's counters. Relaxed loads: under the mutex they are
 * exact; without it (store_stats_peek) each is a value a writer stored, and
 * nclasses is bounds-checked before it indexes anything. */
static void fill_stats(const store_t *st, store_stats_t *out)
{
    const region_hdr_t *h = st->hdr;
    out->region_size = st->size;
    out->page_size = STORE_PAGE;
    out->pages_total = st->arena_pages;
    out->pages_free = LD64(&h->pages_free);
    out->bytes_requested = LD64(&h->bytes_requested);
    out->bytes_hash = LD64(&h->bytes_hash);
    out->items = LD64(&h->items);
    uint32_t log2 = LD32(&h->tab[0].log2);
    out->hash_buckets = log2 < 64 ? 1ull << log2 : 0;
    out->rehashing = LD32(&h->rehashing) != 0;
    out->last_lsn = LD64(&h->next_lsn);
    out->owner_deaths_repaired = LD64(&h->owner_deaths);
    uint32_t n = LD32(&h->nclasses);
    out->nclasses = n <= STORE_MAX_CLASSES ? n : STORE_MAX_CLASSES;
    uint64_t slab_bytes = 0, free_chunk_bytes = 0, class_item_bytes = 0;
    for (unsigned c = 0; c < out->nclasses; c++) {
        const class_hdr_t *ch = &h->classes[c];
        store_class_stats_t *o = &out->classes[c];
        *o = (store_class_stats_t){LD32(&ch->chunk_size), LD64(&ch->used), LD64(&ch->free_count), LD64(&ch->runs)};
        slab_bytes += o->runs * LD32(&ch->run_pages) * (uint64_t)STORE_PAGE;
        free_chunk_bytes += o->free * o->chunk_size;
        class_item_bytes += o->used * o->chunk_size;
    }
    uint64_t item_bytes = LD64(&h->bytes_items);
    uint64_t large_bytes = item_bytes > class_item_bytes ? item_bytes - class_item_bytes : 0;
    out->bytes_allocated = slab_bytes + large_bytes + out->bytes_hash;
    out->bytes_free = out->pages_free * STORE_PAGE + free_chunk_bytes;
    out->fragmentation = item_bytes ? 1.0 - (double)out->bytes_requested / (double)item_bytes : 0.0;
}

store_err_t store_stats(store_t *st, store_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    bool locked_here = !st->in_write;
    store_err_t err = locked_here ? sync_lock(st) : STORE_OK;
    if (err != STORE_OK)
        return err;
    fill_stats(st, out);
    if (locked_here)
        sync_unlock(st);
    return STORE_OK;
}

void store_stats_peek(const store_t *st, store_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    /* A copy no writer interleaved with, if one comes within a few tries;
     * else the last copy: still each counter a writer stored. */
    for (int tries = 0; tries < 8; tries++) {
        uint64_t s = sync_read_begin(st);
        fill_stats(st, out);
        if (!(s & 1) && !sync_read_changed(st, s))
            break;
    }
}
