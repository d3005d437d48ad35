/*
 * write.c — the write path: critical sections, put, delete, expire, clear.
 *
 * Every write runs between store_write_lock() and store_write_unlock():
 * mutex held, sequence odd. Each operation first checks that the undo
 * journal has room for all it may change, then changes the region through
 * the journal, so that a failure part-way (or the writer's death) can be
 * undone exactly. Space an operation unlinks is freed only at commit.
 */
#include "config.h"

#include <string.h>

#include "store/alloc.h"
#include "store/expire.h"
#include "store/hash.h"
#include "store/journal.h"
#include "store/ring.h"
#include "store/skiplist.h"
#include "store/sync.h"

#define HASH_STEP_BUCKETS 4

static void begin_section(store_t *st)
{
    sync_write_begin(st);
    st->in_write = true;
    st->npending = 0;
    st->journal_reserved = 0;
    sl_finger_drop(st);
    st->sec_err = STORE_OK;
    ring_reset_section(st);
    CRASH_POINT(STORE_CP_LOCKED);
}

store_err_t store_write_lock(store_t *st)
{
    if (st->in_write)
        return store_fail(STORE_INVALID, "store_write_lock: this handle already holds the writer mutex");
    ring_wait_for_room(st);
    store_err_t err = sync_lock(st);
    if (err == STORE_OK)
        begin_section(st);
    return err;
}

store_err_t store_write_trylock(store_t *st)
{
    if (st->in_write)
        return store_fail(STORE_INVALID, "store_write_trylock: this handle already holds the writer mutex");
    store_err_t err = sync_trylock(st);
    if (err == STORE_OK)
        begin_section(st);
    return err;
}

static void end_section(store_t *st)
{
    sl_finger_drop(st);
    sync_write_end(st);
    st->in_write = false;
    sync_unlock(st);
}

void store_write_unlock(store_t *st)
{
    alloc_apply_deferred(st);
    ring_write_section(st); /* the record goes in before the changes commit */
    journal_commit(st);
    CRASH_POINT(STORE_CP_COMMITTED);
    ring_publish(st);
    end_section(st);
}

void store_write_abort(store_t *st)
{
    journal_rollback_to(st, 0);
    alloc_drop_deferred(st, 0);
    ring_reset_section(st);
    end_section(st);
}

/* Every change of one critical section carries the same LSN, fixed by its
 * first successful change: the section is one record in the log, applied
 * all or nothing. section_lsn() is the LSN a change would get;
 * section_took() fixes it once the change succeeded. */
static uint64_t section_lsn(const store_t *st)
{
    return st->sec_lsn ? st->sec_lsn : st->hdr->next_lsn + 1;
}

static void section_took(store_t *st, uint64_t lsn)
{
    if (st->sec_lsn == 0)
        st->sec_lsn = lsn;
}

static store_err_t check_sizes(const store_t *st, size_t klen, size_t vlen)
{
    if (klen > STORE_MAX_KEY)
        return store_fail(STORE_TOO_BIG, "key of %zu bytes over the limit of %u", klen, STORE_MAX_KEY);
    if (vlen > st->max_value)
        return store_fail(STORE_TOO_BIG, "value of %zu bytes over the limit of %llu", vlen,
                          (unsigned long long)st->max_value);
    return STORE_OK;
}

static store_err_t no_room(void)
{
    return store_fail(STORE_TXN_TOO_BIG, "the critical section outgrew the undo journal (%u entries)",
                      STORE_JOURNAL_CAP);
}

static store_err_t region_full(const store_t *st, uint64_t size)
{
    return store_fail(STORE_NOMEM, "region %s full: no room for a %llu-byte item (%llu of %llu pages free)",
                      st->path, (unsigned long long)size, (unsigned long long)st->hdr->pages_free,
                      (unsigned long long)st->arena_pages);
}

/* What a put writes: the new item's contents. */
typedef struct {
    const void *key;
    uint32_t klen;
    const void *val;
    uint32_t vlen;
    uint32_t hash;
    uint64_t expiry;
    uint64_t version;
} put_t;

/* Fills a freshly allocated chunk (not reachable yet: plain stores). */
static void item_fill(store_t *st, ref_t ref, const put_t *p, unsigned level, ref_t hnext, iview_t *v)
{
    item_t *it = ref_ptr(st, ref);
    it->hnext = hnext;
    it->hash = p->hash;
    it->klen = (uint16_t)p->klen;
    it->level = (uint8_t)level;
    uint64_t size = item_size(p->klen, p->vlen, level, p->expiry != 0);
    it->flags = (p->expiry ? ITEM_F_EXPIRY : 0) | (alloc_class_for(st->hdr, size) < 0 ? ITEM_F_LARGE : 0);
    it->vlen = p->vlen;
    it->version = p->version;
    if (p->expiry)
        memcpy((char *)it + sizeof(item_t), &p->expiry, 8);
    char *key = (char *)it + item_fwd_off(it->flags) + 4u * level;
    if (p->klen)
        memcpy(key, p->key, p->klen);
    if (p->vlen)
        memcpy(key + p->klen, p->val, p->vlen);
    item_load(st, ref, v);
}

/* Inserts a new item after preds, or where a search puts it if preds is
 * NULL. */
static store_err_t put_insert(store_t *st, const put_t *p, uint32_t *given[STORE_MAX_LEVEL])
{
    unsigned level = sl_random_level(st);
    uint64_t size = item_size(p->klen, p->vlen, level, p->expiry != 0);
    if (!journal_room(st, alloc_journal_need(size) + 2 * STORE_MAX_LEVEL + 16))
        return no_room();
    uint32_t *preds[STORE_MAX_LEVEL];
    if (given)
        memcpy(preds, given, sizeof(preds));
    else if (sl_find_preds(st, p->key, p->klen, SL_BEFORE_GE, preds, NULL) != 0)
        return store_fail(STORE_CORRUPT, "store %s: skiplist walk failed under the mutex", st->path);
    ref_t ref = alloc_item(st, size);
    if (ref == 0)
        return region_full(st, size);
    CRASH_POINT(STORE_CP_ALLOCATED);
    iview_t v;
    item_fill(st, ref, p, level, 0, &v);
    hash_link_locked(st, ref, p->hash);
    CRASH_POINT(STORE_CP_HASH_LINKED);
    sl_link_locked(st, &v, preds);
    jset64(st, &st->hdr->items, st->hdr->items + 1);
    return STORE_OK;
}

/* Replaces item ov (reached through hash link `link`) by a new item of
 * the same level. */
static store_err_t put_replace(store_t *st, const put_t *p, const iview_t *ov, uint32_t *link)
{
    uint64_t size = item_size(p->klen, p->vlen, ov->level, p->expiry != 0);
    if (!journal_room(st, alloc_journal_need(size) + alloc_journal_need(ov->size) + 2 * STORE_MAX_LEVEL + 16))
        return no_room();
    uint32_t *preds[STORE_MAX_LEVEL];
    if (sl_find_preds(st, p->key, p->klen, SL_BEFORE_GE, preds, NULL) != 0)
        return store_fail(STORE_CORRUPT, "store %s: skiplist walk failed under the mutex", st->path);
    ref_t ref = alloc_item(st, size);
    if (ref == 0)
        return region_full(st, size);
    CRASH_POINT(STORE_CP_ALLOCATED);
    iview_t nv;
    item_fill(st, ref, p, ov->level, ov->hnext, &nv);
    jset32(st, link, ref);
    CRASH_POINT(STORE_CP_HASH_LINKED);
    sl_replace_locked(st, ov, &nv, preds);
    return alloc_defer_free_item(st, ov->ref, ov->size);
}

/* Small values whose item stays in the same chunk and layout are
 * overwritten where they are: no allocation, no skiplist search. */
static bool can_inplace(const store_t *st, const iview_t *ov, const put_t *p)
{
    if (p->vlen > STORE_INPLACE_MAX || ov->vlen > STORE_INPLACE_MAX || (ov->flags & ITEM_F_LARGE) ||
        ((ov->flags & ITEM_F_EXPIRY) != 0) != (p->expiry != 0))
        return false;
    uint64_t size = item_size(p->klen, p->vlen, ov->level, p->expiry != 0);
    return alloc_class_for(st->hdr, size) == alloc_class_for(st->hdr, ov->size);
}

static store_err_t put_inplace(store_t *st, const put_t *p, const iview_t *ov)
{
    item_t *it = ref_ptr(st, ov->ref);
    char *val = (char *)ov->val;
    uint64_t first = (uint64_t)(val - (char *)it) & ~7ull;
    uint64_t end = ((uint64_t)(val - (char *)it) + (p->vlen > ov->vlen ? p->vlen : ov->vlen) + 7) & ~7ull;
    if (!journal_room(st, (end - first) / 8 + 8 + EXPIRE_ACCOUNT_ENTRIES))
        return no_room();
    for (uint64_t off = first; off < end; off += 8)
        journal_record(st, (char *)it + off);
    journal_record(st, &it->klen); /* the word holding vlen */
    journal_record(st, &it->version);
    if (p->expiry)
        journal_record(st, (char *)it + sizeof(item_t));
    /* memmove: a caller may pass a value that lives in this very item. */
    size_t half = p->vlen / 2;
    memmove(val, p->val, half);
    CRASH_POINT(STORE_CP_INPLACE_PARTIAL);
    memmove(val + half, (const char *)p->val + half, p->vlen - half);
    ST32(&it->vlen, p->vlen);
    ST64(&it->version, p->version);
    if (p->expiry)
        memcpy((char *)it + sizeof(item_t), &p->expiry, 8);
    uint64_t size = item_size(p->klen, p->vlen, ov->level, p->expiry != 0);
    region_hdr_t *h = st->hdr;
    jset64(st, &h->bytes_requested, h->bytes_requested - ov->size + size);
    return STORE_OK;
}

/* Checks NX / XX / CAS against the current item. */
static store_err_t check_conditions(const store_put_opts_t *opt, bool live, const iview_t *ov)
{
    if ((opt->flags & STORE_PUT_NX) && live)
        return STORE_EXISTS;
    if ((opt->flags & STORE_PUT_XX) && !live)
        return STORE_NOT_FOUND;
    if (opt->flags & STORE_PUT_CAS) {
        if (!live)
            return STORE_NOT_FOUND;
        if (ov->version != opt->cas_version)
            return STORE_CAS_MISMATCH;
    }
    return STORE_OK;
}

static store_err_t not_locked(const char *fn)
{
    return store_fail(STORE_INVALID, "%s called without store_write_lock()", fn);
}

/* Ends an operation: undo its part on failure, else stamp the LSN and do
 * a slice of rehash work. */
static store_err_t finish_op(store_t *st, store_err_t err, uint64_t mark, size_t pmark, uint64_t version)
{
    if (err != STORE_OK) {
        journal_rollback_to(st, mark);
        alloc_drop_deferred(st, pmark);
        return err;
    }
    if (version > st->hdr->next_lsn)
        jset64(st, &st->hdr->next_lsn, version);
    hash_step_locked(st, HASH_STEP_BUCKETS);
    return STORE_OK;
}

static store_err_t put_locked(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                              const store_put_opts_t *opt, store_meta_t *meta)
{
    static const store_put_opts_t defaults;
    opt = opt ? opt : &defaults;
    if (!st->in_write)
        return not_locked("store_put_locked");
    store_err_t err = check_sizes(st, klen, vlen);
    if (err != STORE_OK)
        return err;
    put_t p = {key, (uint32_t)klen, val, (uint32_t)vlen, hash_key(key, klen), 0, 0};
    iview_t ov;
    uint32_t *link = NULL;
    /* A key after the finger's tail is in no index: no hash probe needed. */
    uint32_t *append[STORE_MAX_LEVEL];
    bool appending = sl_finger_after_locked(st, key, klen, append);
    if (appending) /* the bucket is written last: let its miss overlap the insert */
        __builtin_prefetch(hash_bucket(st, p.hash), 1);
    int found = appending ? 0 : hash_find_link_locked(st, key, klen, p.hash, &ov, &link);
    if (found == READ_TORN)
        return store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
    bool live = found && !item_expired(&ov, st->clock());
    if ((err = check_conditions(opt, live, found ? &ov : NULL)) != STORE_OK)
        return err;
    record_op_t rop = {.type = RECORD_PUT, .key = key, .klen = (uint32_t)klen, .val = val, .vlen = (uint32_t)vlen};
    if ((err = ring_check_room(st, record_op_size(&rop))) != STORE_OK)
        return err;
    p.expiry = (opt->flags & STORE_PUT_KEEP_EXPIRY) ? (live ? ov.expiry : 0) : opt->expiry_ms;
    p.version = opt->version ? opt->version : section_lsn(st);
    uint64_t mark = journal_mark(st);
    size_t pmark = st->npending;
    /* Replacing an expired item removes it as the sweep would: it counts
     * in expired_keys, as Redis counts a lazy removal (not when replaying:
     * the log does not carry the counter). Its journal entry is kept free. */
    bool lazy_expire = found && !live && !opt->version;
    st->journal_reserved += lazy_expire;
    if (!found)
        err = put_insert(st, &p, appending ? append : NULL);
    else if (can_inplace(st, &ov, &p))
        err = put_inplace(st, &p, &ov);
    else
        err = put_replace(st, &p, &ov, link);
    st->journal_reserved -= lazy_expire;
    if (err == STORE_OK)
        expire_account_locked(st, found ? ov.expiry : 0, p.expiry);
    if (err == STORE_OK && lazy_expire)
        jset64(st, &st->hdr->expired_keys, st->hdr->expired_keys + 1);
    if ((err = finish_op(st, err, mark, pmark, p.version)) != STORE_OK)
        return err;
    if (!opt->version)
        section_took(st, p.version);
    ring_log_put(st, key, klen, val, vlen, p.expiry, p.version);
    if (meta) {
        meta->version = p.version;
        meta->expiry_ms = p.expiry;
        meta->vlen = p.vlen;
    }
    return STORE_OK;
}

store_err_t store_delete_item_locked(store_t *st, const void *key, size_t klen, uint32_t h, const iview_t *ov,
                                     uint32_t *link)
{
    if (!journal_room(st, alloc_journal_need(ov->size) + 2 * STORE_MAX_LEVEL + 17 + EXPIRE_ACCOUNT_ENTRIES))
        return no_room();
    record_op_t rop = {.type = RECORD_DEL, .key = key, .klen = (uint32_t)klen};
    store_err_t err = ring_check_room(st, record_op_size(&rop));
    if (err != STORE_OK)
        return err;
    uint64_t mark = journal_mark(st);
    size_t pmark = st->npending;
    uint32_t *preds[STORE_MAX_LEVEL];
    if (sl_find_preds(st, key, klen, SL_BEFORE_GE, preds, NULL) != 0)
        return store_fail(STORE_CORRUPT, "store %s: skiplist walk failed under the mutex", st->path);
    jset32(st, link, ov->hnext);
    CRASH_POINT(STORE_CP_UNLINKED);
    sl_unlink_locked(st, ov, preds);
    jset64(st, &st->hdr->items, st->hdr->items - 1);
    expire_account_locked(st, ov->expiry, 0);
    uint64_t version = section_lsn(st);
    jset64(st, &st->hdr->del_lsn[h % STORE_DEL_STAMPS], version);
    err = alloc_defer_free_item(st, ov->ref, ov->size);
    err = finish_op(st, err, mark, pmark, version);
    if (err != STORE_OK)
        return err;
    section_took(st, version);
    ring_log_del(st, key, klen); /* an expired item's removal is logged too */
    return STORE_OK;
}

static store_err_t delete_locked(store_t *st, const void *key, size_t klen)
{
    if (!st->in_write)
        return not_locked("store_delete_locked");
    if (klen > STORE_MAX_KEY)
        return STORE_NOT_FOUND;
    uint32_t h = hash_key(key, klen);
    iview_t ov;
    uint32_t *link = NULL;
    int found = hash_find_link_locked(st, key, klen, h, &ov, &link);
    if (found == READ_TORN)
        return store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
    if (!found)
        return STORE_NOT_FOUND;
    bool expired = item_expired(&ov, st->clock());
    store_err_t err = store_delete_item_locked(st, key, klen, h, &ov, link);
    if (err != STORE_OK)
        return err;
    return expired ? STORE_NOT_FOUND : STORE_OK;
}

static store_err_t expire_locked(store_t *st, const void *key, size_t klen, uint64_t expiry_ms)
{
    if (!st->in_write)
        return not_locked("store_expire_locked");
    iview_t ov;
    uint32_t h = hash_key(key, klen);
    int found = klen > STORE_MAX_KEY ? 0 : hash_find_link_locked(st, key, klen, h, &ov, NULL);
    if (found == READ_TORN)
        return store_fail(STORE_CORRUPT, "store %s: hash chain invalid under the mutex", st->path);
    if (!found || item_expired(&ov, st->clock()))
        return STORE_NOT_FOUND;
    if (!(ov.flags & ITEM_F_EXPIRY) && expiry_ms == 0)
        return STORE_OK; /* nothing to clear */
    if (!(ov.flags & ITEM_F_EXPIRY) || expiry_ms == 0) {
        /* The layout changes: rewrite the item. Its old copy stays intact
         * until commit, so its value can be the source. */
        store_put_opts_t opt = {.expiry_ms = expiry_ms};
        return put_locked(st, key, klen, ov.val, ov.vlen, &opt, NULL);
    }
    if (!journal_room(st, 8 + EXPIRE_ACCOUNT_ENTRIES))
        return no_room();
    record_op_t rop = {.type = RECORD_EXPIRE, .key = key, .klen = (uint32_t)klen};
    store_err_t err = ring_check_room(st, record_op_size(&rop));
    if (err != STORE_OK)
        return err;
    item_t *it = ref_ptr(st, ov.ref);
    uint64_t version = section_lsn(st);
    jset64(st, (uint64_t *)((char *)it + sizeof(item_t)), expiry_ms);
    jset64(st, &it->version, version);
    expire_account_locked(st, ov.expiry, expiry_ms);
    err = finish_op(st, STORE_OK, 0, st->npending, version);
    if (err == STORE_OK) {
        section_took(st, version);
        ring_log_expire(st, key, klen, expiry_ms);
    }
    return err;
}

/* A section whose change failed for lack of room, memory or integrity
 * cannot be finished as its caller meant: remember the first such failure
 * for store_write_error(). Refusals (NX, CAS, too big) change nothing. */
static store_err_t note(store_t *st, store_err_t err)
{
    if (st->in_write && st->sec_err == STORE_OK &&
        (err == STORE_NOMEM || err == STORE_TXN_TOO_BIG || err == STORE_BUSY || err == STORE_CORRUPT ||
         err == STORE_IO))
        st->sec_err = err;
    return err;
}

store_err_t store_put_locked(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                             const store_put_opts_t *opt, store_meta_t *meta)
{
    return note(st, put_locked(st, key, klen, val, vlen, opt, meta));
}

store_err_t store_delete_locked(store_t *st, const void *key, size_t klen)
{
    return note(st, delete_locked(st, key, klen));
}

store_err_t store_expire_locked(store_t *st, const void *key, size_t klen, uint64_t expiry_ms)
{
    return note(st, expire_locked(st, key, klen, expiry_ms));
}

bool store_in_write(const store_t *st)
{
    return st->in_write;
}

store_err_t store_write_error(const store_t *st)
{
    return st->in_write ? st->sec_err : STORE_OK;
}

/* Runs one operation in its own critical section. */
#define WITH_WRITE_LOCK(st, call)                                                                            \
    do {                                                                                                     \
        store_err_t lock_err_ = store_write_lock(st);                                                        \
        if (lock_err_ != STORE_OK)                                                                           \
            return lock_err_;                                                                                \
        store_err_t op_err_ = (call);                                                                        \
        store_write_unlock(st);                                                                              \
        return op_err_;                                                                                      \
    } while (0)

store_err_t store_put(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                      const store_put_opts_t *opt, store_meta_t *meta)
{
    WITH_WRITE_LOCK(st, store_put_locked(st, key, klen, val, vlen, opt, meta));
}

store_err_t store_delete(store_t *st, const void *key, size_t klen)
{
    WITH_WRITE_LOCK(st, store_delete_locked(st, key, klen));
}

store_err_t store_expire(store_t *st, const void *key, size_t klen, uint64_t expiry_ms)
{
    WITH_WRITE_LOCK(st, store_expire_locked(st, key, klen, expiry_ms));
}

store_err_t store_clear(store_t *st)
{
    store_err_t err = store_write_lock(st);
    if (err != STORE_OK)
        return err;
    /* Too big to journal: a writer that dies here is finished by the next
     * locker (the clear is redone, not undone). */
    if ((err = ring_check_room(st, 0)) != STORE_OK) {
        store_write_abort(st);
        return err;
    }
    /* The CLEAR record goes in first, under the undo journal: a writer
     * that dies before the redo mark below is rolled back with its record;
     * one that dies after it is finished by the next locker, and its
     * record (already written) is published by the repair. */
    jset64(st, &st->hdr->next_lsn, st->hdr->next_lsn + 1);
    ring_log_clear(st);
    ring_write_section(st);
    ring_reset_section(st);
    journal_begin_redo_clear(st);
    store_reset_locked(st);
    store_write_unlock(st);
    return STORE_OK;
}
