/*
 * range.c — ordered range queries over the skiplist, lock-free.
 *
 * Forward: seek the low bound, walk level 0. Reverse with a limit k: seek
 * the high bound, then walk forward from the predecessor at level l into a
 * ring of the last k matches, moving to level l+1 (about 4x further back)
 * until k matches are found or the low bound is passed: O(log n + k)
 * expected without back links, which would cost 4 bytes an item.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/read.h"
#include "store/skiplist.h"

/* Refs gathered by reverse scans: a ring of the last `cap` matches, or a
 * growing array when cap is 0 (no limit). */
typedef struct {
    size_t cap;
    uint64_t n;
} collect_t;

typedef struct {
    struct store *st;
    const store_range_t *q;
    uint64_t now;
    store_rows_t *out;
    uint64_t *count;    /* counting only */
    collect_t *collect; /* reverse scans only */
} range_ctx_t;

/* Row header in the result buffer, followed by key and value. */
typedef struct {
    uint32_t klen, vlen;
    uint64_t version, expiry;
} row_hdr_t;

static bool above_lo(const store_range_t *q, const iview_t *v)
{
    if (q->lo.kind == STORE_BOUND_NONE)
        return true;
    int c = key_cmp(v->key, v->klen, q->lo.key, q->lo.len);
    return c > 0 || (c == 0 && q->lo.kind == STORE_BOUND_INCL);
}

static bool below_hi(const store_range_t *q, const iview_t *v)
{
    if (q->hi.kind == STORE_BOUND_NONE)
        return true;
    int c = key_cmp(v->key, v->klen, q->hi.key, q->hi.len);
    return c < 0 || (c == 0 && q->hi.kind == STORE_BOUND_INCL);
}

/* Appends one row. Returns 1 if it fit, 0 if max_bytes stops the scan,
 * or a store error. */
static int emit(range_ctx_t *c, const iview_t *v)
{
    store_rows_t *out = c->out;
    size_t vlen = c->q->keys_only ? 0 : v->vlen;
    size_t need = sizeof(row_hdr_t) + v->klen + vlen;
    if (c->q->max_bytes && out->count > 0 && out->buf.len + need > c->q->max_bytes) {
        out->truncated = true;
        return 0;
    }
    if (!store_buf_reserve(&out->buf, need))
        return store_fail(STORE_NOMEM, "out of process memory for range rows");
    row_hdr_t rh = {v->klen, (uint32_t)vlen, v->version, v->expiry};
    char *p = out->buf.data + out->buf.len;
    memcpy(p, &rh, sizeof(rh));
    memcpy(p + sizeof(rh), v->key, v->klen);
    if (vlen)
        memcpy(p + sizeof(rh) + v->klen, v->val, vlen);
    out->buf.len += need;
    out->count++;
    return 1;
}

/* First item at or after the low bound. */
static int seek_lo(struct store *st, const store_range_t *q, ref_t *first)
{
    if (q->lo.kind == STORE_BOUND_NONE) {
        *first = LD32(&sl_head(st)[0]);
        return 0;
    }
    uint32_t *preds[STORE_MAX_LEVEL];
    sl_mode_t mode = q->lo.kind == STORE_BOUND_INCL ? SL_BEFORE_GE : SL_BEFORE_GT;
    if (sl_find_preds(st, q->lo.key, q->lo.len, mode, preds, NULL) != 0)
        return READ_TORN;
    *first = LD32(&preds[0][0]);
    return 0;
}

/* Calls visit(c, v) on each live item from `ref` while below hi; visit
 * returns 1 to go on, 0 to stop, or an error. */
static int walk(struct store *st, range_ctx_t *c, ref_t ref, bool locked, int (*visit)(range_ctx_t *, const iview_t *))
{
    uint64_t steps = 0;
    while (ref != 0) {
        iview_t v;
        if (!item_load(st, ref, &v) || ++steps > st->max_steps)
            return READ_TORN;
        if ((steps & 255) == 0 && read_pass_stale(st, locked))
            return READ_TORN;
        if (!below_hi(c->q, &v))
            break;
        if (!item_expired(&v, c->now)) {
            int rc = visit(c, &v);
            if (rc != 1)
                return rc < 0 ? rc : 0;
        }
        ref = LD32(&v.fwd[0]);
    }
    return 0;
}

static int visit_emit(range_ctx_t *c, const iview_t *v)
{
    int rc = emit(c, v);
    if (rc != 1)
        return rc == 0 ? 0 : rc;
    return c->q->limit && c->out->count >= c->q->limit ? 0 : 1;
}

static int visit_count(range_ctx_t *c, const iview_t *v)
{
    (*c->count)++;
    return c->q->limit && *c->count >= c->q->limit ? 0 : 1;
}

static bool refs_reserve(struct store *st, size_t n)
{
    if (st->cap_refs >= n)
        return true;
    if (n > SIZE_MAX / sizeof(ref_t))
        return false;
    ref_t *r = realloc(st->refs, n * sizeof(ref_t));
    if (r == NULL)
        return false;
    st->refs = r;
    st->cap_refs = n;
    return true;
}

static int visit_collect(range_ctx_t *c, const iview_t *v)
{
    collect_t *k = c->collect;
    struct store *st = c->st;
    if (!above_lo(c->q, v))
        return 1;
    if (k->cap == 0) { /* unbounded: grow */
        if (k->n + 1 > st->cap_refs && !refs_reserve(st, k->n + 1 > 32 ? (k->n + 1) * 2 : 64))
            return store_fail(STORE_NOMEM, "out of process memory for a reverse range");
        st->refs[k->n++] = v->ref;
    } else {
        st->refs[k->n++ % k->cap] = v->ref;
    }
    return 1;
}

/* Emits the collected refs newest first. */
static int emit_collected(struct store *st, range_ctx_t *c, const collect_t *k)
{
    uint64_t have = k->cap && k->n > k->cap ? k->cap : k->n;
    if (c->q->limit && have > c->q->limit)
        have = c->q->limit;
    for (uint64_t i = 0; i < have; i++) {
        uint64_t idx = k->n - 1 - i;
        iview_t v;
        if (!item_load(st, st->refs[k->cap ? idx % k->cap : idx], &v))
            return READ_TORN;
        int rc = emit(c, &v);
        if (rc != 1)
            return rc == 0 ? 0 : rc;
    }
    return 0;
}

static int reverse_pass(struct store *st, range_ctx_t *c, bool locked)
{
    const store_range_t *q = c->q;
    collect_t k = {q->limit, 0};
    /* A limit of at least the item count cannot bind: collect the whole
     * range rather than size the ring by the limit, which may be huge. */
    if (k.cap >= LD64(&st->hdr->items))
        k.cap = 0;
    if (k.cap && !refs_reserve(st, k.cap))
        return store_fail(STORE_NOMEM, "out of process memory for a reverse range");
    c->collect = &k;
    int rc;
    if (k.cap == 0) { /* everything in range: one forward walk */
        ref_t first;
        if ((rc = seek_lo(st, q, &first)) != 0 || (rc = walk(st, c, first, locked, visit_collect)) != 0)
            return rc;
        return emit_collected(st, c, &k);
    }
    uint32_t *preds[STORE_MAX_LEVEL];
    ref_t owners[STORE_MAX_LEVEL];
    sl_mode_t mode = q->hi.kind == STORE_BOUND_EXCL ? SL_BEFORE_GE : SL_BEFORE_GT;
    if (sl_find_preds(st, q->hi.kind == STORE_BOUND_NONE ? NULL : q->hi.key, q->hi.len, mode, preds, owners) != 0)
        return READ_TORN;
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++) {
        ref_t start = owners[l];
        k.n = 0;
        if ((rc = walk(st, c, start ? start : LD32(&sl_head(st)[0]), locked, visit_collect)) != 0)
            return rc;
        iview_t sv;
        if (k.n >= k.cap || start == 0)
            break;
        if (!item_load(st, start, &sv))
            return READ_TORN;
        if (!above_lo(q, &sv))
            break;
    }
    return emit_collected(st, c, &k);
}

static int range_pass(struct store *st, void *arg, bool locked)
{
    range_ctx_t *c = arg;
    if (c->count) {
        *c->count = 0;
    } else {
        c->out->buf.len = 0;
        c->out->count = 0;
        c->out->truncated = false;
        c->out->keys_only = c->q->keys_only;
    }
    if (c->q->reverse && !c->count)
        return reverse_pass(st, c, locked);
    ref_t first;
    int rc = seek_lo(st, c->q, &first);
    if (rc != 0)
        return rc;
    return walk(st, c, first, locked, c->count ? visit_count : visit_emit);
}

static store_err_t check_query(const store_range_t *q)
{
    if (q == NULL || (q->lo.kind != STORE_BOUND_NONE && q->lo.key == NULL && q->lo.len) ||
        (q->hi.kind != STORE_BOUND_NONE && q->hi.key == NULL && q->hi.len))
        return store_fail(STORE_INVALID, "range query with a missing bound key");
    return STORE_OK;
}

store_err_t store_range(store_t *st, const store_range_t *q, store_rows_t *out)
{
    store_err_t err = check_query(q);
    if (err != STORE_OK)
        return err;
    range_ctx_t c = {st, q, st->clock(), out, NULL, NULL};
    return read_run(st, range_pass, &c);
}

store_err_t store_range_count(store_t *st, const store_range_t *q, uint64_t *count)
{
    store_err_t err = check_query(q);
    if (err != STORE_OK)
        return err;
    range_ctx_t c = {st, q, st->clock(), NULL, count, NULL};
    return read_run(st, range_pass, &c);
}

void store_prefix_bounds(store_range_t *q, const void *prefix, size_t plen, char *succ)
{
    q->lo = (store_bound_t){plen ? STORE_BOUND_INCL : STORE_BOUND_NONE, prefix, plen};
    q->hi = (store_bound_t){STORE_BOUND_NONE, NULL, 0};
    /* The first key after every key with this prefix: drop trailing 0xFF
     * bytes, then increment the last one. */
    size_t n = plen;
    while (n > 0 && ((const unsigned char *)prefix)[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return;
    memcpy(succ, prefix, n);
    succ[n - 1] = (char)(((unsigned char)succ[n - 1]) + 1);
    q->hi = (store_bound_t){STORE_BOUND_EXCL, succ, n};
}

bool store_rows_next(const store_rows_t *rows, size_t *pos, store_row_t *row)
{
    if (*pos + sizeof(row_hdr_t) > rows->buf.len)
        return false;
    row_hdr_t rh;
    memcpy(&rh, rows->buf.data + *pos, sizeof(rh));
    const char *p = rows->buf.data + *pos + sizeof(rh);
    row->key = p;
    row->klen = rh.klen;
    row->val = rows->keys_only ? NULL : p + rh.klen;
    row->vlen = rh.vlen;
    row->version = rh.version;
    row->expiry_ms = rh.expiry;
    *pos += sizeof(rh) + rh.klen + rh.vlen;
    return true;
}

void store_rows_free(store_rows_t *rows)
{
    store_buf_free(&rows->buf);
    rows->count = 0;
    rows->truncated = false;
}
