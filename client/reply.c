/*
 * client/reply.c — libfickle's reply side: reads one reply frame, checks it
 * against the oldest pending request (magic, version, opcode, opaque, size
 * limit, extras per opcode) and decodes it into a fickle_reply_t; validates
 * MGET/RANGE rows into a fickle_rows_t. Nothing the server sends is trusted
 * beyond the checks made here.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

/* ---- names and messages ------------------------------------------------------------ */

const char *fickle_strstatus(int code)
{
    static const char *const status[] = {
        "OK",          "NOT_FOUND",      "EXISTS",        "CAS_MISMATCH", "TOO_BIG",      "NOMEM",
        "BAD_REQUEST", "UNKNOWN_OPCODE", "AUTH_REQUIRED", "AUTH_FAILED",  "NOT_A_NUMBER", "OVERFLOW",
        "BUSY",        "TIMEOUT",        "UNSUPPORTED_VERSION", "INTERNAL",     "TXN_TOO_BIG",
    };
    static const char *const client[] = {
        "ERR_IO", "ERR_TIMEOUT", "ERR_PROTOCOL", "ERR_CLOSED", "ERR_TOO_BIG", "ERR_NOMEM", "ERR_ARG",
    };
    if (code >= 0 && (size_t)code < sizeof(status) / sizeof(status[0]))
        return status[code];
    if (code < 0 && (size_t)-code <= sizeof(client) / sizeof(client[0]))
        return client[-code - 1];
    return "UNKNOWN";
}

/* c->err = "NAME: message" with the server's message made printable. */
static int status_err(fickle_t *c, int status, const char *msg, size_t len)
{
    char clean[200];
    size_t n = len < sizeof(clean) - 1 ? len : sizeof(clean) - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)msg[i];
        clean[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    clean[n] = '\0';
    if (!strcmp(fickle_strstatus(status), "UNKNOWN"))
        return fickle__fail(c, status, "status 0x%04x%s%s", (unsigned)status, n ? ": " : "", clean);
    return fickle__fail(c, status, "%s%s%s", fickle_strstatus(status), n ? ": " : "", clean);
}

/* ---- rows -------------------------------------------------------------------------- */

size_t fickle_rows_count(const fickle_rows_t *r)
{
    return r ? r->n : 0;
}

const fickle_row_t *fickle_rows_at(const fickle_rows_t *r, size_t i)
{
    return r && i < r->n ? &r->row[i] : NULL;
}

const fickle_row_t *fickle_rows_next(fickle_rows_t *r)
{
    return r && r->pos < r->n ? &r->row[r->pos++] : NULL;
}

void fickle_rows_rewind(fickle_rows_t *r)
{
    if (r)
        r->pos = 0;
}

bool fickle_rows_more(const fickle_rows_t *r)
{
    return r && (r->set_flags & FICKLE_ROWS_MORE);
}

void fickle_rows_free(fickle_rows_t *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r->row);
    free(r);
}

/* (internal.h) */
int fickle__rows_parse(fickle_t *c, char *buf, size_t len, uint32_t count, uint32_t set_flags, fickle_rows_t **out)
{
    if (count > len / FICKLE_ROW_HEADER_SIZE)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "reply claims %u rows in %zu bytes", count, len);
    fickle_rows_t *r = calloc(1, sizeof(*r));
    fickle_row_t *row = count ? calloc(count, sizeof(*row)) : NULL;
    if (!r || (count && !row)) {
        free(r);
        free(row);
        return fickle__fail(c, FICKLE_ERR_NOMEM, "out of memory for %u rows", count);
    }
    const uint8_t *v = (const uint8_t *)buf;
    size_t pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        if (len - pos < FICKLE_ROW_HEADER_SIZE)
            goto bad;
        size_t kl = fickle_get_le16(v + pos), vl = fickle_get_le32(v + pos + 4);
        unsigned fl = fickle_get_le16(v + pos + 2);
        uint64_t ver = fickle_get_le64(v + pos + 8);
        pos += FICKLE_ROW_HEADER_SIZE;
        bool none = fl & (FICKLE_ROW_MISSING | FICKLE_ROW_NO_VALUE);
        if (len - pos < kl || len - pos - kl < vl || (none && vl))
            goto bad;
        row[i] = (fickle_row_t){buf + pos, kl, none ? NULL : buf + pos + kl, vl, ver, fl};
        pos += kl + vl;
    }
    if (pos != len)
        goto bad;
    *r = (fickle_rows_t){.buf = buf, .row = row, .n = count, .set_flags = set_flags};
    *out = r;
    return FICKLE_OK;
bad:
    free(r);
    free(row);
    return fickle__die(c, FICKLE_ERR_PROTOCOL, "malformed rows in a reply (%u rows, %zu bytes)", count, len);
}

/* ---- decoding ---------------------------------------------------------------------- */

/* Extras the OK reply to `opcode` must have at least (longer is allowed:
 * later protocol revisions may append fields). */
static size_t extras_min(uint8_t opcode)
{
    switch (opcode) {
    case FICKLE_OP_GET:
    case FICKLE_OP_EXISTS:
        return FICKLE_EXT_R_ITEM;
    case FICKLE_OP_SET:
    case FICKLE_OP_CAS:
    case FICKLE_OP_MSET:
        return FICKLE_EXT_R_VERSION;
    case FICKLE_OP_INCR:
    case FICKLE_OP_DECR:
        return FICKLE_EXT_R_COUNTER;
    case FICKLE_OP_MGET:
    case FICKLE_OP_RANGE:
        return FICKLE_EXT_R_ROWS;
    case FICKLE_OP_COUNT:
        return FICKLE_EXT_R_COUNT;
    case FICKLE_OP_TXN:
        return FICKLE_EXT_R_TXN;
    case FICKLE_OP_SAVE:
        return FICKLE_EXT_R_SAVE;
    default:
        return 0;
    }
}

/* Fills r's typed fields from an OK reply's extras (ext, at least
 * extras_min bytes) and value. */
static int decode_ok(fickle_t *c, const fickle_pend_t *p, const uint8_t *ext, fickle_reply_t *r)
{
    switch (p->opcode) {
    case FICKLE_OP_GET:
    case FICKLE_OP_EXISTS:
        r->version = fickle_get_le64(ext);
        r->expiry_ms = fickle_get_le64(ext + 8);
        break;
    case FICKLE_OP_SET:
    case FICKLE_OP_CAS:
    case FICKLE_OP_MSET:
    case FICKLE_OP_SAVE:
        r->version = fickle_get_le64(ext);
        break;
    case FICKLE_OP_INCR:
    case FICKLE_OP_DECR:
        r->version = fickle_get_le64(ext);
        r->number = (int64_t)fickle_get_le64(ext + 8);
        break;
    case FICKLE_OP_COUNT:
        r->count = fickle_get_le64(ext);
        break;
    case FICKLE_OP_MGET:
    case FICKLE_OP_RANGE: {
        uint32_t n = fickle_get_le32(ext);
        if (p->opcode == FICKLE_OP_MGET && n != p->keys)
            return fickle__die(c, FICKLE_ERR_PROTOCOL, "MGET of %u keys answered with %u rows", p->keys, n);
        int rc = fickle__rows_parse(c, r->value, r->vlen, n, fickle_get_le32(ext + 4), &r->rows);
        if (rc)
            return rc;
        r->value = NULL;
        r->vlen = 0;
        break;
    }
    case FICKLE_OP_TXN: {
        int rc = fickle__txn_parse(c, r->value, r->vlen, ext, &r->txn);
        if (rc)
            return rc;
        r->version = fickle_txn_result_revision(r->txn);
        r->value = NULL;
        r->vlen = 0;
        break;
    }
    case FICKLE_OP_QUIT:
        fickle__die(c, FICKLE_OK, "closed by QUIT");
        c->err[0] = '\0';
        break;
    }
    return FICKLE_OK;
}

/* Reads n bytes, keeping the first `keep` of them in dst. */
static int read_keep(fickle_t *c, uint8_t *dst, size_t keep, size_t n)
{
    size_t k = keep < n ? keep : n;
    int rc = fickle__read(c, dst, k, "reading a reply");
    uint8_t sink[512];
    for (n -= k; rc == FICKLE_OK && n; n -= k) {
        k = n < sizeof(sink) ? n : sizeof(sink);
        rc = fickle__read(c, sink, k, "reading a reply");
    }
    return rc;
}

/* Checks the header against the pending request p. */
static int check_header(fickle_t *c, const uint8_t *hb, const fickle_header_t *h, const fickle_pend_t *p)
{
    if (hb[0] != FICKLE_MAGIC_REPLY)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "reply magic byte 0x%02x, expected 0xfd", hb[0]);
    if (hb[1] != FICKLE_PROTOCOL_VERSION)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "reply protocol version %u, expected %u", hb[1],
                           FICKLE_PROTOCOL_VERSION);
    uint64_t size = fickle_frame_size(h);
    if (size > c->max_reply)
        return fickle__die(c, FICKLE_ERR_TOO_BIG, "reply of %llu bytes is over the %zu-byte limit (max_reply)",
                           (unsigned long long)size, c->max_reply);
    bool fatal = !h->opcode && !h->opaque && h->status;
    if (!fatal && (h->opcode != p->opcode || h->opaque != p->opaque))
        return fickle__die(c, FICKLE_ERR_PROTOCOL,
                           "reply (opcode 0x%02x, opaque %llu) does not match the request (0x%02x, %llu)", h->opcode,
                           (unsigned long long)h->opaque, p->opcode, (unsigned long long)p->opaque);
    if (h->key_len)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "reply with a %u-byte key", h->key_len);
    if (h->status && h->extras_len)
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "error reply with %u bytes of extras", h->extras_len);
    if (!h->status && h->extras_len < extras_min(p->opcode))
        return fickle__die(c, FICKLE_ERR_PROTOCOL, "reply to opcode 0x%02x has %u bytes of extras, expected %zu",
                           p->opcode, h->extras_len, extras_min(p->opcode));
    return FICKLE_OK;
}

/* Reads the value (vlen bytes) into a fresh NUL-terminated buffer. */
static int read_value(fickle_t *c, size_t vlen, fickle_reply_t *r)
{
    r->value = malloc(vlen + 1);
    if (!r->value)
        return fickle__die(c, FICKLE_ERR_NOMEM, "out of memory for a %zu-byte reply", vlen);
    int rc = fickle__read(c, r->value, vlen, "reading a reply");
    if (rc) {
        free(r->value);
        r->value = NULL;
        return rc;
    }
    r->value[vlen] = '\0';
    r->vlen = vlen;
    return FICKLE_OK;
}

/* Reads and decodes the oldest pending reply. */
static int read_one(fickle_t *c, fickle_reply_t *r)
{
    uint8_t hb[FICKLE_HEADER_SIZE], ext[16];
    int rc = fickle__read(c, hb, sizeof(hb), "waiting for a reply");
    if (rc)
        return rc;
    fickle_header_t h;
    fickle_header_decode(hb, &h);
    fickle_pend_t p = c->pend[c->phead];
    if ((rc = check_header(c, hb, &h, &p)) != FICKLE_OK)
        return rc;
    if ((rc = read_keep(c, ext, sizeof(ext), h.extras_len)) != FICKLE_OK)
        return rc;
    if ((rc = read_value(c, h.value_len, r)) != FICKLE_OK)
        return rc;
    c->phead = (c->phead + 1) % c->pcap;
    c->pcount--;
    *r = (fickle_reply_t){.status = h.status, .opcode = h.opcode, .opaque = h.opaque, .value = r->value,
                          .vlen = r->vlen};
    if (h.status && !h.opcode && !h.opaque) { /* unreadable stream: the server closes */
        status_err(c, h.status, r->value, r->vlen);
        fickle__die(c, h.status, "server closed the connection after: %s", c->err);
        return h.status;
    }
    if (h.status)
        return status_err(c, h.status, r->value, r->vlen);
    rc = decode_ok(c, &p, ext, r);
    if (rc)
        fickle_reply_free(r);
    return rc;
}

int fickle_read_reply(fickle_t *c, fickle_reply_t *r)
{
    if (r)
        memset(r, 0, sizeof(*r));
    int rc = fickle__enter(c);
    if (rc)
        return rc;
    if (!r)
        return fickle__fail(c, FICKLE_ERR_ARG, "no reply structure given");
    if (!c->pcount)
        return fickle__fail(c, FICKLE_ERR_ARG, "no reply pending");
    if ((rc = fickle__flush(c)) != FICKLE_OK)
        return rc;
    return read_one(c, r);
}

void fickle_reply_free(fickle_reply_t *r)
{
    if (!r)
        return;
    free(r->value);
    fickle_rows_free(r->rows);
    fickle_txn_result_free(r->txn);
    memset(r, 0, sizeof(*r));
}
