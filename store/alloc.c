/*
 * alloc.c — page bitmap, slab classes, page runs.
 *
 * Class sizes step by 8 bytes up to 256 (small items are the common case
 * and waste must stay under a few bytes a key), then 16, then 64, then grow
 * by 1/8 up to STORE_SLAB_MAX. A slab run is max(64 KiB, 8 chunks) of
 * contiguous pages, carved lazily. Slab runs are not returned to the page
 * pool (as in memcached): freed chunks are reused by their class.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/alloc.h"
#include "store/journal.h"
#include "store/sync.h"

#define SLAB_RUN_MIN (64u * 1024u)

unsigned alloc_init_classes(region_hdr_t *hdr)
{
    unsigned n = 0;
    uint32_t size = 32;
    while (n < STORE_MAX_CLASSES) {
        class_hdr_t *c = &hdr->classes[n++];
        memset(c, 0, sizeof(*c));
        c->chunk_size = size;
        uint64_t run = (uint64_t)size * 8 > SLAB_RUN_MIN ? (uint64_t)size * 8 : SLAB_RUN_MIN;
        c->run_pages = (uint32_t)pages_for(run);
        if (size >= STORE_SLAB_MAX)
            break;
        if (size < 256)
            size += 8;
        else if (size < 512)
            size += 16;
        else if (size < 1024)
            size += 64;
        else
            size = (size + size / 8 + 63) & ~63u;
        if (size > STORE_SLAB_MAX)
            size = STORE_SLAB_MAX;
    }
    return n;
}

int alloc_class_for(const region_hdr_t *hdr, uint64_t size)
{
    if (size > STORE_SLAB_MAX)
        return -1;
    if (size <= 256) /* direct: classes 0.. are 32, 40, ... 256 */
        return size <= 32 ? 0 : (int)((size - 32 + 7) / 8);
    unsigned lo = 0, hi = hdr->nclasses - 1;
    while (lo < hi) { /* first class with chunk_size >= size */
        unsigned mid = (lo + hi) / 2;
        if (hdr->classes[mid].chunk_size >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (int)lo;
}

uint64_t alloc_footprint(const region_hdr_t *hdr, uint64_t size)
{
    int cls = alloc_class_for(hdr, size);
    return cls < 0 ? pages_for(size) * STORE_PAGE : hdr->classes[cls].chunk_size;
}

uint64_t alloc_journal_need(uint64_t size)
{
    /* counters, class and chunk words, and the bitmap words of a page run
     * (a slab run is at most 256 pages) */
    uint64_t pages = size > STORE_SLAB_MAX ? pages_for(size) : 256;
    return 32 + pages / 64 + 2;
}

void alloc_reset(struct store *st)
{
    region_hdr_t *h = st->hdr;
    uint64_t words = (st->arena_pages + 63) / 64;
    memset(st->bitmap, 0, words * 8);
    if (st->arena_pages % 64) /* pages past the end count as used */
        st->bitmap[words - 1] = ~0ull << (st->arena_pages % 64);
    memset(st->pagedesc, 0, st->arena_pages);
    for (unsigned i = 0; i < h->nclasses; i++) {
        class_hdr_t *c = &h->classes[i];
        c->free_head = c->carve_next = c->carve_end = 0;
        c->used = c->free_count = c->runs = 0;
    }
    h->pages_free = st->arena_pages;
    h->search_hint = 0;
    h->bytes_requested = h->bytes_items = h->bytes_hash = 0;
}

/* Sets or clears bits [first, first + n) of the page bitmap, journaled. */
static void bitmap_set_range(struct store *st, uint64_t first, uint64_t n, bool used)
{
    uint64_t p = first, end = first + n;
    while (p < end) {
        uint64_t w = p / 64, bit = p % 64;
        uint64_t span = 64 - bit < end - p ? 64 - bit : end - p;
        uint64_t mask = span == 64 ? ~0ull : ((1ull << span) - 1) << bit;
        uint64_t v = st->bitmap[w];
        jset64(st, &st->bitmap[w], used ? v | mask : v & ~mask);
        p += span;
    }
}

/* First run of n free pages at or after the search hint; UINT64_MAX if none. */
static uint64_t bitmap_find_run(const struct store *st, uint64_t n)
{
    uint64_t words = (st->arena_pages + 63) / 64;
    uint64_t run_start = 0, run_len = 0;
    for (uint64_t w = st->hdr->search_hint; w < words; w++) {
        uint64_t v = st->bitmap[w];
        if (v == ~0ull) {
            run_len = 0;
            continue;
        }
        if (v == 0 && run_len + 64 < n) { /* whole word free, run goes on */
            if (run_len == 0)
                run_start = w * 64;
            run_len += 64;
            continue;
        }
        for (unsigned b = 0; b < 64; b++) {
            if ((v >> b) & 1) {
                run_len = 0;
                continue;
            }
            if (run_len++ == 0)
                run_start = w * 64 + b;
            if (run_len == n)
                return run_start;
        }
    }
    return UINT64_MAX;
}

ref_t alloc_pages(struct store *st, uint64_t npages, uint8_t desc)
{
    region_hdr_t *h = st->hdr;
    if (npages == 0 || npages > h->pages_free)
        return 0;
    uint64_t first = bitmap_find_run(st, npages);
    if (first == UINT64_MAX || first + npages > st->arena_pages)
        return 0;
    bitmap_set_range(st, first, npages, true);
    jset8(st, &st->pagedesc[first], desc);
    jset64(st, &h->pages_free, h->pages_free - npages);
    /* Every page below the first free bit is used: move the hint up. */
    uint64_t hint = h->search_hint;
    while (hint < (st->arena_pages + 63) / 64 && st->bitmap[hint] == ~0ull)
        hint++;
    if (hint != h->search_hint)
        jset64(st, &h->search_hint, hint);
    return page_ref(st, first);
}

void alloc_free_pages(struct store *st, ref_t ref, uint64_t npages)
{
    region_hdr_t *h = st->hdr;
    uint64_t first = ref_page(st, ref);
    bitmap_set_range(st, first, npages, false);
    jset8(st, &st->pagedesc[first], PAGE_DESC_FREE);
    jset64(st, &h->pages_free, h->pages_free + npages);
    if (first / 64 < h->search_hint)
        jset64(st, &h->search_hint, first / 64);
}

/* A chunk of class c: free list first, then the newest run, then a new run. */
static ref_t alloc_chunk(struct store *st, unsigned cls)
{
    class_hdr_t *c = &st->hdr->classes[cls];
    ref_t ref = c->free_head;
    if (ref != 0) {
        item_t *chunk = ref_ptr(st, ref);
        jset32(st, &c->free_head, chunk->hnext);
        /* The link and free marker are pre-state: keep them restorable. */
        journal_record(st, &chunk->hnext);
        journal_record(st, &chunk->klen);
    } else if (c->carve_next != 0 && c->carve_next < c->carve_end) {
        ref = c->carve_next;
        jset32(st, &c->carve_next, ref + c->chunk_size / STORE_UNIT);
    } else {
        ref_t run = alloc_pages(st, c->run_pages, (uint8_t)(cls + 1));
        if (run == 0)
            return 0;
        uint64_t nchunks = (uint64_t)c->run_pages * STORE_PAGE / c->chunk_size;
        ref = run;
        jset32(st, &c->carve_next, run + c->chunk_size / STORE_UNIT);
        jset32(st, &c->carve_end, run + (ref_t)(nchunks * c->chunk_size / STORE_UNIT));
        jset64(st, &c->runs, c->runs + 1);
        jset64(st, &c->free_count, c->free_count + nchunks);
    }
    jset64(st, &c->free_count, c->free_count - 1);
    jset64(st, &c->used, c->used + 1);
    return ref;
}

ref_t alloc_item(struct store *st, uint64_t size)
{
    region_hdr_t *h = st->hdr;
    int cls = alloc_class_for(h, size);
    ref_t ref = cls < 0 ? alloc_pages(st, pages_for(size), PAGE_DESC_LARGE) : alloc_chunk(st, (unsigned)cls);
    if (ref == 0)
        return 0;
    jset64(st, &h->bytes_requested, h->bytes_requested + size);
    jset64(st, &h->bytes_items, h->bytes_items + alloc_footprint(h, size));
    return ref;
}

void alloc_free_item(struct store *st, ref_t ref, uint64_t size)
{
    region_hdr_t *h = st->hdr;
    int cls = alloc_class_for(h, size);
    jset64(st, &h->bytes_requested, h->bytes_requested - size);
    jset64(st, &h->bytes_items, h->bytes_items - alloc_footprint(h, size));
    if (cls < 0) {
        alloc_free_pages(st, ref, pages_for(size));
        return;
    }
    class_hdr_t *c = &h->classes[cls];
    item_t *chunk = ref_ptr(st, ref);
    jset32(st, &chunk->hnext, c->free_head);
    jset32(st, &chunk->hash, STORE_FREE_MAGIC);
    journal_record(st, &chunk->klen);
    __atomic_store_n(&chunk->level, 0, __ATOMIC_RELAXED);
    jset32(st, &c->free_head, ref);
    jset64(st, &c->used, c->used - 1);
    jset64(st, &c->free_count, c->free_count + 1);
}

static uint64_t free_journal_need(bool is_item, uint64_t amount)
{
    return is_item ? alloc_journal_need(amount) : 16 + amount / 64 + 2;
}

#ifdef FICKLE_TEST_HOOKS
static unsigned fail_free_skip;
static bool fail_free_armed;

bool store_test_fail_free_at(unsigned skip)
{
    fail_free_skip = skip;
    fail_free_armed = true;
    return true;
}

/* True once, when the armed failure is due. */
static bool fail_free_now(void)
{
    if (!fail_free_armed)
        return false;
    if (fail_free_skip > 0) {
        fail_free_skip--;
        return false;
    }
    fail_free_armed = false;
    return true;
}
#else
bool store_test_fail_free_at(unsigned skip)
{
    (void)skip;
    return false;
}

static bool fail_free_now(void)
{
    return false;
}
#endif

static store_err_t defer(struct store *st, ref_t ref, bool is_item, uint64_t amount)
{
    if (fail_free_now())
        return store_fail(STORE_NOMEM, "out of process memory for deferred frees (injected by a test)");
    if (st->npending == st->cap_pending) {
        size_t cap = st->cap_pending ? st->cap_pending * 2 : 64;
        struct pending_free *p = realloc(st->pending, cap * sizeof(*p));
        if (p == NULL)
            return store_fail(STORE_NOMEM, "out of process memory for deferred frees");
        st->pending = p;
        st->cap_pending = cap;
    }
    st->pending[st->npending++] = (struct pending_free){ref, is_item, amount};
    st->journal_reserved += free_journal_need(is_item, amount);
    return STORE_OK;
}

store_err_t alloc_defer_free_item(struct store *st, ref_t ref, uint64_t size)
{
    return defer(st, ref, true, size);
}

store_err_t alloc_defer_free_pages(struct store *st, ref_t ref, uint64_t npages)
{
    return defer(st, ref, false, npages);
}

void alloc_drop_deferred(struct store *st, size_t keep)
{
    while (st->npending > keep) {
        struct pending_free *p = &st->pending[--st->npending];
        st->journal_reserved -= free_journal_need(p->is_item, p->amount);
    }
}

void alloc_apply_deferred(struct store *st)
{
    st->journal_reserved = 0; /* the room is ours to use now */
    for (size_t i = 0; i < st->npending; i++) {
        struct pending_free *p = &st->pending[i];
        if (p->is_item)
            alloc_free_item(st, p->ref, p->amount);
        else
            alloc_free_pages(st, p->ref, p->amount);
        if (i == 0)
            CRASH_POINT(STORE_CP_FREEING);
    }
    st->npending = 0;
}
