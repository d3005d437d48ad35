/*
 * client/txn.c — libfickle's TXN: the builder (compares and the two op
 * lists, encoded as they are added), the request, and the validation of
 * the reply's results (contracts in fickle/client.h; wire format in
 * docs/protocol.md, TXN).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

typedef struct {
    uint8_t *b;
    size_t len, cap;
    uint32_t n;
} txn_list_t;

struct fickle_txn {
    txn_list_t list[3]; /* compares, success ops, failure ops */
    int failed;         /* a builder call failed: FICKLE_ERR_* */
};

struct fickle_txn_result {
    char *buf; /* the reply value: results point into it */
    fickle_txn_op_result_t *res;
    size_t n;
    uint32_t flags;
    uint64_t revision;
};

fickle_txn_t *fickle_txn_new(void)
{
    return calloc(1, sizeof(fickle_txn_t));
}

void fickle_txn_free(fickle_txn_t *t)
{
    if (!t)
        return;
    for (int i = 0; i < 3; i++)
        free(t->list[i].b);
    free(t);
}

/* Appends one entry: a 16-byte header (first byte a, second b, key and
 * body lengths, a u64 word), the key, the body. */
static int add(fickle_txn_t *t, int list, uint8_t a, uint8_t b, const void *key, size_t klen, const void *body,
               size_t blen, uint64_t word)
{
    if (!t)
        return FICKLE_ERR_ARG;
    if (t->failed)
        return t->failed;
    txn_list_t *l = &t->list[list];
    if ((!key && klen) || (!body && blen) || klen > UINT16_MAX || blen > FICKLE_TXN_MAX_BYTES ||
        l->n >= FICKLE_TXN_MAX_ENTRIES)
        return t->failed = FICKLE_ERR_ARG;
    size_t need = FICKLE_TXN_OP_HEADER + klen + blen;
    if (l->cap - l->len < need) {
        size_t cap = l->cap ? l->cap : 256;
        while (cap - l->len < need)
            cap *= 2;
        uint8_t *nb = realloc(l->b, cap);
        if (!nb)
            return t->failed = FICKLE_ERR_NOMEM;
        l->b = nb;
        l->cap = cap;
    }
    uint8_t *p = l->b + l->len;
    p[0] = a;
    p[1] = b;
    fickle_put_le16(p + 2, (uint16_t)klen);
    fickle_put_le32(p + 4, (uint32_t)blen);
    fickle_put_le64(p + 8, word);
    if (klen)
        memcpy(p + FICKLE_TXN_OP_HEADER, key, klen);
    if (blen)
        memcpy(p + FICKLE_TXN_OP_HEADER + klen, body, blen);
    l->len += need;
    l->n++;
    return FICKLE_OK;
}

static bool bad_cmp(fickle_txn_t *t, unsigned cmp)
{
    if (cmp >= FICKLE_TXN_CMP_EQUAL && cmp <= FICKLE_TXN_CMP_GREATER)
        return false;
    if (t)
        t->failed = FICKLE_ERR_ARG;
    return true;
}

int fickle_txn_compare_value(fickle_txn_t *t, const void *key, size_t klen, unsigned cmp, const void *val, size_t vlen)
{
    if (bad_cmp(t, cmp))
        return FICKLE_ERR_ARG;
    return add(t, 0, FICKLE_TXN_TARGET_VALUE, (uint8_t)cmp, key, klen, val, vlen, 0);
}

int fickle_txn_compare_version(fickle_txn_t *t, const void *key, size_t klen, unsigned cmp, uint64_t version)
{
    uint8_t v[8];
    fickle_put_le64(v, version);
    if (bad_cmp(t, cmp))
        return FICKLE_ERR_ARG;
    return add(t, 0, FICKLE_TXN_TARGET_VERSION, (uint8_t)cmp, key, klen, v, 8, 0);
}

int fickle_txn_compare_exists(fickle_txn_t *t, const void *key, size_t klen, bool exists)
{
    return add(t, 0, FICKLE_TXN_TARGET_EXISTS, exists ? FICKLE_TXN_CMP_EQUAL : FICKLE_TXN_CMP_NOT_EQUAL, key, klen,
               NULL, 0, 0);
}

static int branch_list(fickle_txn_t *t, fickle_txn_branch_t branch)
{
    if (branch != FICKLE_TXN_SUCCESS && branch != FICKLE_TXN_FAILURE) {
        if (t)
            t->failed = FICKLE_ERR_ARG;
        return -1;
    }
    return branch == FICKLE_TXN_SUCCESS ? 1 : 2;
}

int fickle_txn_get(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen)
{
    int l = branch_list(t, branch);
    return l < 0 ? FICKLE_ERR_ARG : add(t, l, FICKLE_TXN_OP_GET, 0, key, klen, NULL, 0, 0);
}

int fickle_txn_put(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen, const void *val,
                   size_t vlen, uint64_t expiry_ms, unsigned flags)
{
    int l = branch_list(t, branch);
    if (l >= 0 && (flags & ~FICKLE_TXN_PUT_KEEPTTL || ((flags & FICKLE_TXN_PUT_KEEPTTL) && expiry_ms) ||
                   expiry_ms > (uint64_t)INT64_MAX)) {
        t->failed = FICKLE_ERR_ARG;
        l = -1;
    }
    return l < 0 ? FICKLE_ERR_ARG : add(t, l, FICKLE_TXN_OP_PUT, (uint8_t)flags, key, klen, val, vlen, expiry_ms);
}

int fickle_txn_del(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen)
{
    int l = branch_list(t, branch);
    return l < 0 ? FICKLE_ERR_ARG : add(t, l, FICKLE_TXN_OP_DELETE, 0, key, klen, NULL, 0, 0);
}

int fickle_txn_range(fickle_txn_t *t, fickle_txn_branch_t branch, const fickle_range_t *q)
{
    int l = branch_list(t, branch);
    if (l >= 0 && (!q || (q->flags & ~(unsigned)(FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL |
                                                  FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE |
                                                  FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY)))) {
        t->failed = FICKLE_ERR_ARG;
        l = -1;
    }
    if (l < 0)
        return FICKLE_ERR_ARG;
    const void *start, *end;
    size_t slen, elen;
    unsigned fl = fickle__range_bounds(q, ~0u, &start, &slen, &end, &elen);
    return add(t, l, FICKLE_TXN_OP_RANGE, (uint8_t)fl, start, slen, end, elen, q->limit);
}

size_t fickle_txn_size(const fickle_txn_t *t)
{
    if (!t || t->failed)
        return 0;
    return FICKLE_TXN_HEADER_SIZE + t->list[0].len + t->list[1].len + t->list[2].len;
}

size_t fickle_txn_encode(const fickle_txn_t *t, void *buf, size_t cap)
{
    size_t n = fickle_txn_size(t);
    if (n == 0 || cap < n || !buf)
        return 0;
    uint8_t *p = buf;
    for (int i = 0; i < 3; i++)
        fickle_put_le32(p + 4 * i, t->list[i].n);
    p += FICKLE_TXN_HEADER_SIZE;
    for (int i = 0; i < 3; i++) {
        if (t->list[i].len)
            memcpy(p, t->list[i].b, t->list[i].len);
        p += t->list[i].len;
    }
    return n;
}

int fickle_queue_txn(fickle_t *c, const fickle_txn_t *t, uint64_t *opaque)
{
    int rc = fickle__enter(c);
    if (rc)
        return rc;
    if (!t)
        return fickle__fail(c, FICKLE_ERR_ARG, "TXN: no transaction given");
    if (t->failed)
        return fickle__fail(c, t->failed, "TXN: a builder call failed (%s)", fickle_strstatus(t->failed));
    size_t n = fickle_txn_size(t);
    uint8_t *b = fickle__frame(c, FICKLE_OP_TXN, 0, 0, 0, n, 0, opaque, &rc);
    if (!b)
        return rc;
    fickle_txn_encode(t, b, n);
    return FICKLE_OK;
}

/* ---- results ------------------------------------------------------------------------ */

bool fickle_txn_result_succeeded(const fickle_txn_result_t *r)
{
    return r && (r->flags & FICKLE_TXN_SUCCEEDED);
}

uint64_t fickle_txn_result_revision(const fickle_txn_result_t *r)
{
    return r ? r->revision : 0;
}

size_t fickle_txn_result_count(const fickle_txn_result_t *r)
{
    return r ? r->n : 0;
}

const fickle_txn_op_result_t *fickle_txn_result_at(const fickle_txn_result_t *r, size_t i)
{
    return r && i < r->n ? &r->res[i] : NULL;
}

void fickle_txn_result_free(fickle_txn_result_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        fickle_rows_free(r->res[i].rows);
    free(r->buf);
    free(r->res);
    free(r);
}

/* A RANGE result's rows (a copy of its bytes: rows own their buffer). */
static int range_rows(fickle_t *c, fickle_txn_op_result_t *e, const char *bytes)
{
    char *copy = malloc(e->vlen + 1);
    if (!copy)
        return fickle__die(c, FICKLE_ERR_NOMEM, "out of memory for a TXN result's rows");
    memcpy(copy, bytes, e->vlen);
    if (e->version > UINT32_MAX) {
        free(copy);
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "TXN RANGE result claims %llu rows",
                           (unsigned long long)e->version);
    }
    int rc = fickle__rows_parse(c, copy, e->vlen, (uint32_t)e->version, (uint32_t)e->expiry_ms, &e->rows);
    if (rc)
        free(copy);
    e->version = e->expiry_ms = 0;
    e->vlen = 0;
    return rc;
}

/* Validates the results in buf[0..len) (taken on success), with the
 * reply's extras. */
int fickle__txn_parse(fickle_t *c, char *buf, size_t len, const uint8_t *ext, fickle_txn_result_t **out)
{
    uint32_t n = fickle_get_le32(ext + 4);
    if (n > len / FICKLE_TXN_RESULT_HEADER)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "TXN reply claims %u results in %zu bytes", n, len);
    fickle_txn_result_t *r = calloc(1, sizeof(*r));
    if (!r || !(r->res = calloc(n ? n : 1, sizeof(*r->res)))) {
        free(r);
        return fickle__die(c, FICKLE_ERR_NOMEM, "out of memory for a TXN result");
    }
    size_t pos = 0;
    int rc = FICKLE_OK;
    for (uint32_t i = 0; i < n && rc == FICKLE_OK; i++) {
        const uint8_t *p = (const uint8_t *)buf + pos;
        size_t vlen = len - pos >= FICKLE_TXN_RESULT_HEADER ? fickle_get_le32(p + 4) : SIZE_MAX;
        if (vlen > len - pos - FICKLE_TXN_RESULT_HEADER)
            break;
        fickle_txn_op_result_t *e = &r->res[i];
        *e = (fickle_txn_op_result_t){p[0], fickle_get_le16(p + 2), NULL, vlen, fickle_get_le64(p + 8),
                                      fickle_get_le64(p + 16), NULL};
        const char *bytes = buf + pos + FICKLE_TXN_RESULT_HEADER;
        if (e->status == FICKLE_OK && e->kind == FICKLE_TXN_OP_GET)
            e->value = bytes;
        else if (e->kind == FICKLE_TXN_OP_RANGE)
            rc = range_rows(c, e, bytes);
        pos += FICKLE_TXN_RESULT_HEADER + vlen;
        r->n++;
    }
    if (rc == FICKLE_OK && (r->n != n || pos != len))
        rc = fickle__die(c, FICKLE_ERR_PROTOCOL, "TXN reply results malformed");
    if (rc != FICKLE_OK) {
        fickle_txn_result_free(r);
        return rc;
    }
    r->buf = buf;
    r->flags = fickle_get_le32(ext);
    r->revision = fickle_get_le64(ext + 8);
    *out = r;
    return FICKLE_OK;
}

int fickle_txn_exec(fickle_t *c, const fickle_txn_t *t, fickle_txn_result_t **out)
{
    fickle_reply_t r;
    memset(&r, 0, sizeof(r));
    int rc = fickle__enter(c);
    if (rc == FICKLE_OK && c->pcount)
        rc = fickle__fail(c, FICKLE_ERR_ARG, "%zu pipelined replies pending: read them first", c->pcount);
    if (rc == FICKLE_OK)
        rc = fickle_queue_txn(c, t, NULL);
    if (rc == FICKLE_OK)
        rc = fickle_read_reply(c, &r);
    if (rc == FICKLE_OK && out) {
        *out = r.txn;
        r.txn = NULL;
    }
    fickle_reply_free(&r);
    return rc;
}
