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
        if (!store_buf_reserve(c->val, v.vlen ? v.vlen : 1))
            return store_fail(STORE_NOMEM, "out of process memory for a %u-byte value", v.vlen);
        memcpy(c->val->data, v.val, v.vlen);
        c->val->len = v.vlen;
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

store_err_t store_exists(store_t *st, const void *key, size_t klen)
{
    return store_get(st, key, klen, NULL, NULL);
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
