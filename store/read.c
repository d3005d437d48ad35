/*
 * read.c — the optimistic read loop and point reads (get, exists, count).
 */
#include "config.h"

#include <string.h>

#include "store/hash.h"
#include "store/read.h"
#include "store/sync.h"

store_err_t read_run(struct store *st, read_pass_fn fn, void *ctx)
{
    st->rstats.reads++;
    int rc;
    if (st->in_write) { /* the caller holds the mutex: nothing can move */
        rc = fn(st, ctx, true);
        goto locked_done;
    }
    for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
        uint64_t s = sync_read_begin(st);
        if (s & 1)
            break; /* a writer is slow or dead: go and wait for the mutex */
        st->read_seq = s;
        rc = fn(st, ctx, false);
        if (!sync_read_changed(st, s) && rc != READ_TORN)
            return (store_err_t)rc;
        st->rstats.retries++;
    }
    st->rstats.fallbacks++;
    store_err_t err = sync_lock(st);
    if (err != STORE_OK)
        return err;
    rc = fn(st, ctx, true);
    sync_unlock(st);
locked_done:
    if (rc == READ_TORN)
        return store_fail(STORE_CORRUPT, "store %s: invalid index state seen under the mutex", st->path);
    return (store_err_t)rc;
}

bool read_pass_stale(const struct store *st, bool locked)
{
    return !locked && atomic_load_explicit(&st->hdr->seq, memory_order_relaxed) != st->read_seq;
}

/* Copies v's value (bounds checked by item_load) to the end of b. False
 * if out of memory. */
static bool append_value(store_buf_t *b, const iview_t *v)
{
    if (!store_buf_reserve(b, v->vlen ? v->vlen : 1))
        return false;
    memcpy(b->data + b->len, v->val, v->vlen);
    b->len += v->vlen;
    return true;
}

typedef struct {
    const void *key;
    size_t klen;
    uint32_t hash;
    uint64_t now;
    store_buf_t *val;
    store_meta_t *meta;
} get_ctx_t;

static int get_pass(struct store *st, void *arg, bool locked)
{
    get_ctx_t *c = arg;
    iview_t v;
    int rc = hash_find(st, c->key, c->klen, c->hash, &v);
    if (rc == READ_TORN)
        return READ_TORN;
    if (rc == 0 || item_expired_lazy(st, &v, &c->now))
        return STORE_NOT_FOUND;
    if (c->val) {
        c->val->len = 0;
        if (!append_value(c->val, &v))
            return store_fail(STORE_NOMEM, "out of process memory for a %u-byte value", v.vlen);
    }
    if (c->meta) {
        c->meta->version = v.version;
        c->meta->expiry_ms = v.expiry;
        c->meta->vlen = v.vlen;
    }
    return STORE_OK;
}

store_err_t store_get(store_t *st, const void *key, size_t klen, store_buf_t *val, store_meta_t *meta)
{
    if (klen > STORE_MAX_KEY)
        return STORE_NOT_FOUND;
    get_ctx_t c = {key, klen, hash_key(key, klen), 0, val, meta}; /* the clock only for an expiry */
    return read_run(st, get_pass, &c);
}

store_err_t store_get_locked(store_t *st, const void *key, size_t klen, store_buf_t *val, store_meta_t *meta)
{
    return store_get(st, key, klen, val, meta); /* read_run sees in_write */
}

typedef struct {
    const store_key_t *keys;
    size_t n;
    uint64_t now;
    store_buf_t *vals;
    store_mget_row_t *rows;
} mget_ctx_t;

static int mget_pass(struct store *st, void *arg, bool locked)
{
    mget_ctx_t *c = arg;
    c->vals->len = 0;
    for (size_t i = 0; i < c->n; i++) {
        const store_key_t *k = &c->keys[i];
        iview_t v;
        int rc = k->klen > STORE_MAX_KEY ? 0 : hash_find(st, k->key, k->klen, hash_key(k->key, k->klen), &v);
        if (rc == READ_TORN || read_pass_stale(st, locked))
            return READ_TORN; /* no use copying more of a view that is already stale */
        c->rows[i] = (store_mget_row_t){c->vals->len, 0, rc != 0 && !item_expired_lazy(st, &v, &c->now), 0};
        if (!c->rows[i].found)
            continue;
        c->rows[i].version = v.version;
        if (!append_value(c->vals, &v))
            return store_fail(STORE_NOMEM, "out of process memory for a %u-byte value", v.vlen);
        c->rows[i].len = v.vlen;
    }
    return STORE_OK;
}

store_err_t store_mget(store_t *st, const store_key_t *keys, size_t n, store_buf_t *vals, store_mget_row_t *rows)
{
    mget_ctx_t c = {keys, n, 0, vals, rows}; /* the clock only for an expiry, as store_get */
    return read_run(st, mget_pass, &c);
}

store_err_t store_exists(store_t *st, const void *key, size_t klen)
{
    return store_get(st, key, klen, NULL, NULL);
}

store_err_t store_exists_locked(store_t *st, const void *key, size_t klen)
{
    return store_get(st, key, klen, NULL, NULL); /* read_run sees in_write */
}

/* What a WATCH pass sees: the item as it is, expired or not, and the LSN
 * the store had reached, in one validated view. */
typedef struct {
    const void *key;
    size_t klen;
    uint32_t hash;
    uint64_t now;
    bool found, live;
    uint64_t version, lsn;
} watch_ctx_t;

static int watch_pass(struct store *st, void *arg, bool locked)
{
    (void)locked;
    watch_ctx_t *c = arg;
    c->lsn = LD64(&st->hdr->next_lsn);
    iview_t v;
    int rc = c->klen > STORE_MAX_KEY ? 0 : hash_find(st, c->key, c->klen, c->hash, &v);
    if (rc == READ_TORN)
        return READ_TORN;
    c->found = rc != 0;
    c->live = c->found && !item_expired(&v, c->now);
    c->version = c->found ? v.version : 0;
    return STORE_OK;
}

store_err_t store_watch(store_t *st, const void *key, size_t klen, store_watch_t *w)
{
    watch_ctx_t c = {.key = key, .klen = klen, .hash = hash_key(key, klen), .now = st->clock()};
    store_err_t err = read_run(st, watch_pass, &c);
    if (err == STORE_OK)
        *w = (store_watch_t){.lsn = c.lsn, .version = c.version, .live = c.live};
    return err;
}

/* Every change stamps an LSN above the one WATCH saw: an item written
 * since is newer than w->lsn, and a key that vanished since either was
 * live then or left a delete stamp (its slot's, or the clear's). */
bool store_watch_changed_locked(store_t *st, const void *key, size_t klen, const store_watch_t *w)
{
    watch_ctx_t c = {.key = key, .klen = klen, .hash = hash_key(key, klen), .now = st->clock()};
    if (!st->in_write || read_run(st, watch_pass, &c) != STORE_OK)
        return true; /* cannot tell: say changed, never miss one */
    if (c.live != w->live || (c.found && c.version > w->lsn))
        return true;
    if (c.found)
        return false; /* the same item as at WATCH */
    const region_hdr_t *h = st->hdr;
    return h->del_lsn[c.hash % STORE_DEL_STAMPS] > w->lsn || h->clear_lsn > w->lsn;
}

uint64_t store_count(store_t *st)
{
    return LD64(&st->hdr->items);
}

uint64_t store_max_value(const store_t *st)
{
    return st->max_value;
}

uint64_t store_last_lsn(store_t *st)
{
    return LD64(&st->hdr->next_lsn);
}

void store_reader_stats(const store_t *st, store_reader_stats_t *out)
{
    *out = st->rstats;
}
