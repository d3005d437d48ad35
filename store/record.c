/*
 * record.c — encoder and hostile-input decoder of log records (record.h,
 * docs/persistence.md).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/crc32c.h"
#include "store/record.h"

const char *record_strerror(record_err_t err)
{
    switch (err) {
    case RECORD_OK: return "ok";
    case RECORD_TRUNCATED: return "truncated record";
    case RECORD_BAD_LENGTH: return "bad length";
    case RECORD_BAD_CRC: return "bad CRC";
    case RECORD_BAD_TYPE: return "bad type";
    case RECORD_BAD_FIELD: return "bad field";
    }
    return "unknown record error";
}

const char *record_type_name(unsigned type)
{
    static const char *const names[] = {"?", "PUT", "DEL", "EXPIRE", "CLEAR", "TXN"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

/* ---- encoding ----------------------------------------------------------- */

/* Payload bytes of one PUT/DEL/EXPIRE (without a TXN's type byte), or 0 if
 * the operation cannot be encoded. */
static uint64_t op_size(uint8_t type, const record_op_t *op)
{
    if (op->klen > RECORD_MAX_KEY || (op->klen && !op->key))
        return 0;
    switch (type) {
    case RECORD_PUT:
        if (op->vlen > RECORD_MAX_VALUE || (op->vlen && !op->val))
            return 0;
        return RECORD_PUT_FIXED + (uint64_t)op->klen + op->vlen;
    case RECORD_DEL:
        return 2 + (uint64_t)op->klen;
    case RECORD_EXPIRE:
        return 10 + (uint64_t)op->klen;
    default:
        return 0;
    }
}

size_t record_size(const record_t *rec)
{
    uint64_t n = RECORD_HEADER_SIZE;
    if (rec->lsn == 0)
        return 0;
    switch (rec->type) {
    case RECORD_PUT:
    case RECORD_DEL:
    case RECORD_EXPIRE: {
        uint64_t s = op_size(rec->type, &rec->op);
        if (!s)
            return 0;
        n += s;
        break;
    }
    case RECORD_CLEAR:
        break;
    case RECORD_TXN:
        if (rec->nops == 0 || !rec->ops)
            return 0;
        n += 4;
        for (uint32_t i = 0; i < rec->nops; i++) {
            uint64_t s = op_size(rec->ops[i].type, &rec->ops[i]);
            if (!s)
                return 0;
            n += 1 + s;
            if (n > RECORD_MAX_SIZE)
                return 0;
        }
        break;
    default:
        return 0;
    }
    return n > RECORD_MAX_SIZE ? 0 : (size_t)n;
}

static uint8_t *put_bytes(uint8_t *p, const void *src, size_t n)
{
    if (n)
        memcpy(p, src, n);
    return p + n;
}

/* Writes one operation's payload (no type byte) at p; returns its end. */
static uint8_t *encode_op(uint8_t *p, uint8_t type, const record_op_t *op)
{
    switch (type) {
    case RECORD_PUT:
        p = wr_u64(p, op->expiry_ms);
        p = wr_u64(p, op->version);
        p = wr_u16(p, (uint16_t)op->klen);
        p = wr_u32(p, op->vlen);
        p = put_bytes(p, op->key, op->klen);
        return put_bytes(p, op->val, op->vlen);
    case RECORD_EXPIRE:
        p = wr_u64(p, op->expiry_ms);
        break;
    default: /* RECORD_DEL; record_size() rejected anything else */
        break;
    }
    p = wr_u16(p, (uint16_t)op->klen);
    return put_bytes(p, op->key, op->klen);
}

size_t record_encode(const record_t *rec, void *dst, size_t cap)
{
    size_t n = record_size(rec);
    if (n == 0 || n > cap)
        return 0;
    uint8_t *base = dst, *p = base;
    p = wr_u32(p, (uint32_t)n);
    p = wr_u32(p, 0); /* CRC, below */
    p = wr_u64(p, rec->lsn);
    *p++ = rec->type;
    *p++ = 0;       /* flags */
    p = wr_u16(p, 0); /* reserved */
    if (rec->type == RECORD_TXN) {
        p = wr_u32(p, rec->nops);
        for (uint32_t i = 0; i < rec->nops; i++) {
            *p++ = rec->ops[i].type;
            p = encode_op(p, rec->ops[i].type, &rec->ops[i]);
        }
    } else if (rec->type != RECORD_CLEAR) {
        p = encode_op(p, rec->type, &rec->op);
    }
    wr_u32(base + RECORD_OFF_CRC, crc32c(0, base + RECORD_CRC_START, n - RECORD_CRC_START));
    return n;
}

int record_buf_reserve(record_buf_t *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            errno = ENOMEM;
            return -1;
        }
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
        errno = ENOMEM;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

int record_append(record_buf_t *b, const record_t *rec)
{
    size_t n = record_size(rec);
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    if (record_buf_reserve(b, n) != 0)
        return -1;
    b->len += record_encode(rec, b->data + b->len, b->cap - b->len);
    return 0;
}

size_t record_op_size(const record_op_t *op)
{
    uint64_t s = op_size(op->type, op);
    return s ? (size_t)(1 + s) : 0;
}

int record_op_append(record_buf_t *b, const record_op_t *op)
{
    size_t n = record_op_size(op);
    if (n == 0) {
        errno = EINVAL;
        return -1;
    }
    if (record_buf_reserve(b, n) != 0)
        return -1;
    uint8_t *p = b->data + b->len;
    *p++ = op->type;
    encode_op(p, op->type, op);
    b->len += n;
    return 0;
}

size_t record_ops_size(size_t ops_len, uint32_t nops)
{
    if (nops == 0 || ops_len < nops)
        return 0;
    uint64_t n = RECORD_HEADER_SIZE + (nops == 1 ? ops_len - 1 : 4 + (uint64_t)ops_len);
    return n > RECORD_MAX_SIZE ? 0 : (size_t)n;
}

size_t record_encode_ops(uint64_t lsn, const uint8_t *ops, size_t ops_len, uint32_t nops, void *dst, size_t cap)
{
    size_t n = record_ops_size(ops_len, nops);
    if (n == 0 || n > cap || lsn == 0)
        return 0;
    uint8_t *base = dst, *p = base;
    p = wr_u32(p, (uint32_t)n);
    p = wr_u32(p, 0); /* CRC, below */
    p = wr_u64(p, lsn);
    if (nops == 1) { /* one change: a plain record of its type */
        *p++ = ops[0];
        *p++ = 0;
        p = wr_u16(p, 0);
        put_bytes(p, ops + 1, ops_len - 1);
    } else {
        *p++ = RECORD_TXN;
        *p++ = 0;
        p = wr_u16(p, 0);
        p = wr_u32(p, nops);
        put_bytes(p, ops, ops_len);
    }
    wr_u32(base + RECORD_OFF_CRC, crc32c(0, base + RECORD_CRC_START, n - RECORD_CRC_START));
    return n;
}

void record_buf_free(record_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- decoding ----------------------------------------------------------- */

static record_err_t fail(const char **detail, const char *why, record_err_t err)
{
    if (detail)
        *detail = why;
    return err;
}

record_err_t record_check_frame(const void *buf, size_t len, size_t *rec_len)
{
    const uint8_t *p = buf;
    *rec_len = RECORD_HEADER_SIZE;
    if (len < RECORD_HEADER_SIZE)
        return RECORD_TRUNCATED;
    uint32_t n = rd_u32(p + RECORD_OFF_LENGTH);
    if (n < RECORD_HEADER_SIZE || n > RECORD_MAX_SIZE)
        return RECORD_BAD_LENGTH;
    *rec_len = n;
    if (len < n)
        return RECORD_TRUNCATED;
    if (crc32c(0, p + RECORD_CRC_START, n - RECORD_CRC_START) != rd_u32(p + RECORD_OFF_CRC))
        return RECORD_BAD_CRC;
    return RECORD_OK;
}

/* Parses one operation's payload of the given type from p (avail bytes).
 * On success *used is the bytes it took. */
static record_err_t parse_op(const uint8_t *p, size_t avail, uint8_t type, record_op_t *op,
                             size_t *used, const char **detail)
{
    size_t fixed = type == RECORD_PUT ? RECORD_PUT_FIXED : type == RECORD_EXPIRE ? 10 : 2;
    memset(op, 0, sizeof(*op));
    op->type = type;
    if (type != RECORD_PUT && type != RECORD_DEL && type != RECORD_EXPIRE)
        return fail(detail, "operation type", RECORD_BAD_TYPE);
    if (avail < fixed)
        return fail(detail, "operation shorter than its fixed fields", RECORD_BAD_LENGTH);
    if (type == RECORD_PUT) {
        op->expiry_ms = rd_u64(p);
        op->version = rd_u64(p + 8);
        op->klen = rd_u16(p + 16);
        op->vlen = rd_u32(p + 18);
        if (op->vlen > RECORD_MAX_VALUE)
            return fail(detail, "value length over the limit", RECORD_BAD_LENGTH);
    } else if (type == RECORD_EXPIRE) {
        op->expiry_ms = rd_u64(p);
        op->klen = rd_u16(p + 8);
    } else {
        op->klen = rd_u16(p);
    }
    /* fixed <= 22, klen < 2^16, vlen <= 2^30: no overflow */
    size_t need = fixed + op->klen + op->vlen;
    if (avail < need)
        return fail(detail, "key or value runs past the record", RECORD_BAD_LENGTH);
    op->key = p + fixed;
    op->val = type == RECORD_PUT ? p + fixed + op->klen : NULL;
    *used = need;
    return RECORD_OK;
}

/* Validates a TXN payload: count, then exactly that many operations filling
 * the payload. */
static record_err_t parse_txn(const uint8_t *p, size_t n, record_t *out, const char **detail)
{
    if (n < 4)
        return fail(detail, "transaction shorter than its count", RECORD_BAD_LENGTH);
    uint32_t count = rd_u32(p);
    if (count == 0)
        return fail(detail, "empty transaction", RECORD_BAD_FIELD);
    size_t pos = 4;
    for (uint32_t i = 0; i < count; i++) {
        if (pos >= n)
            return fail(detail, "transaction has fewer operations than its count",
                        RECORD_BAD_LENGTH);
        record_op_t op;
        size_t used;
        record_err_t e = parse_op(p + pos + 1, n - pos - 1, p[pos], &op, &used, detail);
        if (e != RECORD_OK)
            return e;
        pos += 1 + used;
    }
    if (pos != n)
        return fail(detail, "bytes after the transaction's last operation", RECORD_BAD_LENGTH);
    out->nops = count;
    out->body = p + 4;
    out->body_len = n - 4;
    return RECORD_OK;
}

static record_err_t parse_payload(const uint8_t *p, size_t n, record_t *out, const char **detail)
{
    size_t used;
    record_err_t e;
    switch (out->type) {
    case RECORD_PUT:
    case RECORD_DEL:
    case RECORD_EXPIRE:
        e = parse_op(p, n, out->type, &out->op, &used, detail);
        if (e == RECORD_OK && used != n)
            return fail(detail, "bytes after the operation", RECORD_BAD_LENGTH);
        return e;
    case RECORD_CLEAR:
        return n == 0 ? RECORD_OK : fail(detail, "CLEAR with a payload", RECORD_BAD_LENGTH);
    case RECORD_TXN:
        return parse_txn(p, n, out, detail);
    default:
        return fail(detail, "record type", RECORD_BAD_TYPE);
    }
}

record_err_t record_decode(const void *buf, size_t len, record_t *out, size_t *used,
                           const char **detail)
{
    const uint8_t *p = buf;
    size_t n;
    size_t dummy;
    if (!used)
        used = &dummy;
    *used = 0;
    record_err_t e = record_check_frame(buf, len, &n);
    if (e == RECORD_TRUNCATED)
        *used = n;
    if (e == RECORD_TRUNCATED)
        return fail(detail, "record incomplete", e);
    if (e == RECORD_BAD_LENGTH)
        return fail(detail, "record length out of range", e);
    if (e == RECORD_BAD_CRC)
        return fail(detail, "CRC mismatch", e);
    memset(out, 0, sizeof(*out));
    out->lsn = rd_u64(p + RECORD_OFF_LSN);
    out->type = p[RECORD_OFF_TYPE];
    if (out->lsn == 0)
        return fail(detail, "LSN 0", RECORD_BAD_FIELD);
    if (p[RECORD_OFF_TYPE + 1] != 0 || rd_u16(p + RECORD_OFF_TYPE + 2) != 0)
        return fail(detail, "reserved header field not zero", RECORD_BAD_FIELD);
    e = parse_payload(p + RECORD_HEADER_SIZE, n - RECORD_HEADER_SIZE, out, detail);
    if (e == RECORD_OK)
        *used = n;
    return e;
}

bool record_txn_next(const record_t *rec, size_t *pos, record_op_t *op)
{
    size_t used;
    if (rec->type != RECORD_TXN || *pos >= rec->body_len)
        return false;
    const uint8_t *p = rec->body + *pos;
    if (parse_op(p + 1, rec->body_len - *pos - 1, p[0], op, &used, NULL) != RECORD_OK)
        return false; /* only on records record_decode() did not accept */
    *pos += 1 + used;
    return true;
}
