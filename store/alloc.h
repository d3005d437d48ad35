/*
 * alloc.h — the region's allocator: 4 KiB pages tracked by a bitmap, slab
 * classes for items up to STORE_SLAB_MAX, page runs for larger items and
 * hash tables. All metadata lives in the region and changes only under the
 * writer mutex, through the undo journal (memcached's slab design, in
 * offsets rather than pointers).
 */
#ifndef FICKLE_STORE_ALLOC_H
#define FICKLE_STORE_ALLOC_H

#include "store/layout.h"

/* Fills the class table of a new region; returns the number of classes. */
unsigned alloc_init_classes(region_hdr_t *hdr);

/* Empties the allocator: every arena page free. Not journaled (create, clear). */
void alloc_reset(struct store *st);

/* Class for an item of `size` bytes, or -1 if it takes a page run. */
int alloc_class_for(const region_hdr_t *hdr, uint64_t size);

/* Bytes an item of `size` really takes (its chunk or its pages). */
uint64_t alloc_footprint(const region_hdr_t *hdr, uint64_t size);

/* Journal entries an allocation or a free of `size` bytes may need. */
uint64_t alloc_journal_need(uint64_t size);

/* Takes space for an item of `size` bytes. Returns its ref, or 0 if the
 * region is full (nothing changed). Caller holds the mutex. */
ref_t alloc_item(struct store *st, uint64_t size);

/* Returns an item's space. Caller holds the mutex; the chunk must not be
 * reachable any more (frees are deferred to commit, see write.c). */
void alloc_free_item(struct store *st, ref_t ref, uint64_t size);

/* Deferred frees. Space unlinked inside a critical section is freed only
 * at commit (alloc_apply_deferred), never reused before: a rollback must
 * find it untouched. Each deferral reserves the journal room its free
 * needs. Returns STORE_NOMEM if the private list cannot grow. */
store_err_t alloc_defer_free_item(struct store *st, ref_t ref, uint64_t size);
store_err_t alloc_defer_free_pages(struct store *st, ref_t ref, uint64_t npages);
/* Frees everything deferred (journaled), then empties the list. */
void alloc_apply_deferred(struct store *st);
/* Forgets deferrals after the first `keep` (their unlinking was rolled back). */
void alloc_drop_deferred(struct store *st, size_t keep);

/* Page runs (hash tables). desc is PAGE_DESC_*. Returns 0 if none fits. */
ref_t alloc_pages(struct store *st, uint64_t npages, uint8_t desc);
void alloc_free_pages(struct store *st, ref_t ref, uint64_t npages);

static inline uint64_t pages_for(uint64_t bytes)
{
    return (bytes + STORE_PAGE - 1) / STORE_PAGE;
}

static inline bool bitmap_test(const struct store *st, uint64_t page)
{
    return (st->bitmap[page / 64] >> (page % 64)) & 1;
}

#endif /* FICKLE_STORE_ALLOC_H */
