/*
 * native_txn.c — TXN request body parser and reply-result encoder (see
 * native_txn.h; the wire format is docs/protocol.md's TXN section).
 *
 * Every length is checked against the bytes left before it is used, with
 * subtractions that cannot wrap, so any input is safe to parse.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/native_reply.h"
#include "frontend/native_txn.h"

void native_txn_init(native_txn_t *t)
{
    memset(t, 0, sizeof(*t));
}

void native_txn_free(native_txn_t *t)
{
    free(t->cmp);
    free(t->ops);
    native_txn_init(t);
}

static uint16_t bad(native_txn_t *t, uint16_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static uint16_t bad(native_txn_t *t, uint16_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
    return status;
}

/* Grows *arr to hold n elements of size sz. */
static bool reserve(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap)
        return true;
    void *a = realloc(*arr, n * sz);
    if (!a)
        return false;
    *arr = a;
    *cap = n;
    return true;
}

/* A cursor over the body. */
typedef struct {
    const uint8_t *b;
    size_t len, pos;
} cursor_t;

/* Takes n bytes as a slice; false if fewer are left. */
static bool take(cursor_t *c, size_t n, cmd_arg_t *out)
{
    if (c->len - c->pos < n)
        return false;
    *out = (cmd_arg_t){(const char *)c->b + c->pos, n};
    c->pos += n;
    return true;
}

static uint16_t parse_compare(native_txn_t *t, cursor_t *c, size_t i, native_txn_compare_t *out)
{
    cmd_arg_t h;
    if (!take(c, FICKLE_TXN_COMPARE_HEADER, &h))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu truncated", i);
    const uint8_t *p = (const uint8_t *)h.ptr;
    out->target = p[0];
    out->cmp = p[1];
    uint32_t alen = fickle_get_le32(p + 4);
    if (out->target < FICKLE_TXN_TARGET_VALUE || out->target > FICKLE_TXN_TARGET_EXISTS)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu: unknown target %u", i, out->target);
    if (out->cmp < FICKLE_TXN_CMP_EQUAL || out->cmp > FICKLE_TXN_CMP_GREATER)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu: unknown comparison %u", i, out->cmp);
    if (out->target == FICKLE_TXN_TARGET_EXISTS && out->cmp > FICKLE_TXN_CMP_NOT_EQUAL)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu: EXISTS takes EQUAL or NOT_EQUAL", i);
    if (fickle_get_le64(p + 8))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu: reserved field not 0", i);
    if ((out->target == FICKLE_TXN_TARGET_VERSION && alen != 8) ||
        (out->target == FICKLE_TXN_TARGET_EXISTS && alen != 0))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu: argument of %u bytes not valid", i, alen);
    if (!take(c, fickle_get_le16(p + 2), &out->key) || !take(c, alen, &out->arg))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: compare %zu truncated", i);
    out->version = out->target == FICKLE_TXN_TARGET_VERSION ? fickle_get_le64((const uint8_t *)out->arg.ptr) : 0;
    return FICKLE_STATUS_OK;
}

static uint16_t parse_op(native_txn_t *t, cursor_t *c, size_t i, native_txn_op_t *out)
{
    cmd_arg_t h;
    if (!take(c, FICKLE_TXN_OP_HEADER, &h))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu truncated", i);
    const uint8_t *p = (const uint8_t *)h.ptr;
    out->kind = p[0];
    out->flags = p[1];
    uint32_t vlen = fickle_get_le32(p + 4);
    out->expiry_ms = fickle_get_le64(p + 8);
    if (out->kind < FICKLE_TXN_OP_GET || out->kind > FICKLE_TXN_OP_RANGE)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: unknown kind %u", i, out->kind);
    bool put = out->kind == FICKLE_TXN_OP_PUT, range = out->kind == FICKLE_TXN_OP_RANGE;
    uint8_t allowed = put ? FICKLE_TXN_PUT_KEEPTTL : range ? NATIVE_TXN_RANGE_FLAGS : 0;
    if (out->flags & ~allowed)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: flags 0x%02x not valid", i, out->flags);
    if (!put && !range && (vlen || out->expiry_ms))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: GET and DELETE take no value or expiry", i);
    if ((out->flags & FICKLE_TXN_PUT_KEEPTTL) && put && out->expiry_ms)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: KEEPTTL with an expiry", i);
    if (put && out->expiry_ms > (uint64_t)INT64_MAX)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: expiry out of range", i);
    if (range && (((out->flags & FICKLE_RANGE_START_NONE) && fickle_get_le16(p + 2)) ||
                  ((out->flags & FICKLE_RANGE_END_NONE) && vlen)))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu: RANGE with an unbounded side's key", i);
    if (!take(c, fickle_get_le16(p + 2), &out->key) || !take(c, vlen, &out->value))
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: op %zu truncated", i);
    return FICKLE_STATUS_OK;
}

/* Checks the three counts against the limit and the body's size, and
 * makes room for them. */
static uint16_t parse_counts(native_txn_t *t, const uint8_t *b, size_t len)
{
    uint64_t nc = fickle_get_le32(b), ns = fickle_get_le32(b + 4), nf = fickle_get_le32(b + 8);
    if (nc + ns + nf > FICKLE_TXN_MAX_ENTRIES)
        return bad(t, FICKLE_STATUS_TOO_BIG, "TXN: %llu compares and ops, limit %u",
                   (unsigned long long)(nc + ns + nf), FICKLE_TXN_MAX_ENTRIES);
    if ((nc + ns + nf) * FICKLE_TXN_OP_HEADER > len - FICKLE_TXN_HEADER_SIZE)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: %llu entries cannot fit in %zu bytes",
                   (unsigned long long)(nc + ns + nf), len);
    if (!reserve((void **)&t->cmp, &t->cmp_cap, (size_t)nc, sizeof(*t->cmp)) ||
        !reserve((void **)&t->ops, &t->ops_cap, (size_t)(ns + nf), sizeof(*t->ops)))
        return bad(t, FICKLE_STATUS_NOMEM, "TXN: out of memory");
    t->ncmp = (size_t)nc;
    t->nsuccess = (size_t)ns;
    t->nfailure = (size_t)nf;
    return FICKLE_STATUS_OK;
}

uint16_t native_txn_parse(native_txn_t *t, const void *body, size_t len)
{
    t->ncmp = t->nsuccess = t->nfailure = 0;
    t->err[0] = '\0';
    if (len > FICKLE_TXN_MAX_BYTES)
        return bad(t, FICKLE_STATUS_TOO_BIG, "TXN: %zu bytes, limit %u", len, FICKLE_TXN_MAX_BYTES);
    if (len < FICKLE_TXN_HEADER_SIZE)
        return bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: %zu bytes, shorter than its %u-byte header", len,
                   FICKLE_TXN_HEADER_SIZE);
    uint16_t rc = parse_counts(t, body, len);
    if (rc != FICKLE_STATUS_OK)
        return rc;
    cursor_t c = {body, len, FICKLE_TXN_HEADER_SIZE};
    for (size_t i = 0; i < t->ncmp && rc == FICKLE_STATUS_OK; i++)
        rc = parse_compare(t, &c, i, &t->cmp[i]);
    for (size_t i = 0; i < t->nsuccess + t->nfailure && rc == FICKLE_STATUS_OK; i++)
        rc = parse_op(t, &c, i, &t->ops[i]);
    if (rc == FICKLE_STATUS_OK && c.pos != len)
        rc = bad(t, FICKLE_STATUS_BAD_REQUEST, "TXN: %zu bytes after the last op", len - c.pos);
    if (rc != FICKLE_STATUS_OK)
        t->ncmp = t->nsuccess = t->nfailure = 0;
    return rc;
}

/* ---- reply ------------------------------------------------------------------------ */

int native_txn_result(struct evbuffer *results, uint8_t kind, uint16_t status, uint64_t version, uint64_t expiry_ms,
                      const void *value, size_t vlen)
{
    if (vlen > UINT32_MAX)
        return -1;
    uint8_t h[FICKLE_TXN_RESULT_HEADER] = {kind, 0};
    fickle_put_le16(h + 2, status);
    fickle_put_le32(h + 4, (uint32_t)vlen);
    fickle_put_le64(h + 8, version);
    fickle_put_le64(h + 16, expiry_ms);
    if (evbuffer_add(results, h, sizeof(h)) != 0)
        return -1;
    return vlen && value ? evbuffer_add(results, value, vlen) : 0;
}

int native_txn_reply(struct evbuffer *out, uint64_t opaque, uint32_t flags, uint32_t count, uint64_t revision,
                     struct evbuffer *results)
{
    uint8_t ext[FICKLE_EXT_R_TXN];
    fickle_put_le32(ext, flags);
    fickle_put_le32(ext + 4, count);
    fickle_put_le64(ext + 8, revision);
    return native_reply_move(out, FICKLE_OP_TXN, opaque, ext, sizeof(ext), results);
}
