/*
 * native_parse.c — native binary protocol request parser (see
 * native_parse.h): header checks, per-opcode field rules, and decoding of
 * extras and MGET/MSET entry lists into a cmd_t.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/native_parse.h"

typedef struct op_spec op_spec_t;
/* Decodes the opcode's extras/flags/body into cmd; returns false with p->err
 * and *code set. */
typedef bool (*op_decode_fn)(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd,
                             uint16_t *code);

struct op_spec {
    uint8_t opcode;
    cmd_id_t id;
    const char *name;
    uint8_t flags;          /* flag bits allowed */
    uint8_t ext_a, ext_b;   /* allowed extras lengths */
    bool key, value;        /* may be non-empty */
    op_decode_fn decode;    /* NULL: operands are [key] */
};

void native_limits_default(native_limits_t *lim)
{
    lim->max_value = NATIVE_DEFAULT_MAX_VALUE;
    lim->max_keys = NATIVE_DEFAULT_MAX_KEYS;
}

void native_parser_init(native_parser_t *p, const native_limits_t *lim)
{
    memset(p, 0, sizeof(*p));
    if (lim)
        p->lim = *lim;
    else
        native_limits_default(&p->lim);
}

void native_parser_free(native_parser_t *p)
{
    free(p->args);
    memset(p, 0, sizeof(*p));
}

static bool bad(native_parser_t *p, uint16_t *code, uint16_t status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool bad(native_parser_t *p, uint16_t *code, uint16_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    *code = status;
    return false;
}

static bool reserve_args(native_parser_t *p, size_t n)
{
    if (n <= p->args_cap)
        return true;
    cmd_arg_t *a = realloc(p->args, n * sizeof(*a));
    if (!a)
        return false;
    p->args = a;
    p->args_cap = n;
    return true;
}

/* Operands [key] or [key, value]. */
static void key_value(cmd_t *cmd, const native_frame_t *f, cmd_arg_t *kv, bool with_value)
{
    kv[0] = (cmd_arg_t){(const char *)f->key, f->h.key_len};
    kv[1] = (cmd_arg_t){(const char *)f->value, f->h.value_len};
    cmd->argv = kv;
    cmd->argc = with_value ? 2 : 1;
}

/* ---- per-opcode decoders ----------------------------------------------------- */

/* The expiry extra of SET/CAS: 0 = none, else relative ms or absolute ms. */
static bool expiry(native_parser_t *p, const op_spec_t *op, uint8_t flags, uint64_t e, cmd_t *cmd, uint16_t *code)
{
    if ((flags & FICKLE_SET_KEEPTTL) && e)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: KEEPTTL with an expiry", op->name);
    if (flags & FICKLE_SET_KEEPTTL)
        cmd->flags |= CMD_F_KEEPTTL;
    if (!e)
        return true;
    bool abs = flags & FICKLE_SET_EXPIRE_AT;
    if (e > (uint64_t)(abs ? INT64_MAX : CMD_EXPIRY_REL_MAX))
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: expiry out of range", op->name);
    cmd->expiry_ms = (int64_t)e;
    cmd->flags |= abs ? CMD_F_EXP_ABS : CMD_F_EXP_REL;
    return true;
}

static bool dec_set(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    uint8_t fl = f->h.flags;
    if ((fl & FICKLE_SET_NX) && (fl & FICKLE_SET_XX))
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "SET: NX and XX together");
    cmd->flags |= (fl & FICKLE_SET_NX ? CMD_F_NX : 0) | (fl & FICKLE_SET_XX ? CMD_F_XX : 0);
    return expiry(p, op, fl, f->h.extras_len ? fickle_get_le64(f->extras) : 0, cmd, code);
}

static bool dec_cas(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    cmd->flags |= CMD_F_CAS;
    cmd->version = fickle_get_le64(f->extras);
    return expiry(p, op, f->h.flags, f->h.extras_len == 16 ? fickle_get_le64(f->extras + 8) : 0, cmd, code);
}

static bool dec_del(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    if (f->h.extras_len) {
        cmd->flags |= CMD_F_CAS;
        cmd->version = fickle_get_le64(f->extras);
    }
    return true;
}

static bool dec_incr(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    int64_t n = f->h.extras_len ? (int64_t)fickle_get_le64(f->extras) : 1;
    if (op->opcode == FICKLE_OP_DECR) {
        if (n == INT64_MIN)
            return bad(p, code, FICKLE_STATUS_OVERFLOW, "DECR: amount out of range");
        n = -n;
    }
    cmd->delta = n;
    return true;
}

/* Checks an MGET/MSET count against the limit and the value's size. */
static bool entry_count(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, size_t per_key,
                        size_t entry_min, uint32_t *count, uint16_t *code)
{
    uint32_t n = fickle_get_le32(f->extras);
    if (n == 0)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: no entries", op->name);
    if (n > p->lim.max_keys)
        return bad(p, code, FICKLE_STATUS_TOO_BIG, "%s: %u entries, limit %u", op->name, n, p->lim.max_keys);
    if (n > f->h.value_len / entry_min)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: %u entries cannot fit in the value", op->name, n);
    if (!reserve_args(p, (size_t)n * per_key))
        return bad(p, code, FICKLE_STATUS_NOMEM, "%s: out of memory", op->name);
    *count = n;
    return true;
}

/* MGET value: count x (u16 key_len, key). */
static bool dec_mget(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    uint32_t n;
    if (!entry_count(p, op, f, 1, FICKLE_MGET_ENTRY_HEADER, &n, code))
        return false;
    const uint8_t *v = f->value;
    size_t len = f->h.value_len, pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (len - pos < FICKLE_MGET_ENTRY_HEADER)
            return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MGET: entry %u truncated", i);
        size_t klen = fickle_get_le16(v + pos);
        pos += FICKLE_MGET_ENTRY_HEADER;
        if (len - pos < klen)
            return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MGET: entry %u truncated", i);
        p->args[i] = (cmd_arg_t){(const char *)v + pos, klen};
        pos += klen;
    }
    if (pos != len)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MGET: %zu bytes after the last entry", len - pos);
    cmd->argv = p->args;
    cmd->argc = n;
    return true;
}

/* MSET value: count x (u16 key_len, u32 value_len, key, value). */
static bool dec_mset(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    uint32_t n;
    if (!entry_count(p, op, f, 2, FICKLE_MSET_ENTRY_HEADER, &n, code))
        return false;
    const uint8_t *v = f->value;
    size_t len = f->h.value_len, pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (len - pos < FICKLE_MSET_ENTRY_HEADER)
            return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MSET: entry %u truncated", i);
        size_t klen = fickle_get_le16(v + pos), vlen = fickle_get_le32(v + pos + 2);
        pos += FICKLE_MSET_ENTRY_HEADER;
        if (len - pos < klen || len - pos - klen < vlen)
            return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MSET: entry %u truncated", i);
        p->args[2 * i] = (cmd_arg_t){(const char *)v + pos, klen};
        p->args[2 * i + 1] = (cmd_arg_t){(const char *)v + pos + klen, vlen};
        pos += klen + vlen;
    }
    if (pos != len)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "MSET: %zu bytes after the last entry", len - pos);
    if (f->h.flags & FICKLE_MSET_NX)
        cmd->flags |= CMD_F_NX;
    cmd->argv = p->args;
    cmd->argc = 2 * (size_t)n;
    return true;
}

/* RANGE/COUNT: key = start, value = end, bounds in flags, limit in extras. */
static bool dec_range(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    uint8_t fl = f->h.flags;
    if ((fl & FICKLE_RANGE_START_NONE) && f->h.key_len)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: START_NONE with a start key", op->name);
    if ((fl & FICKLE_RANGE_END_NONE) && f->h.value_len)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: END_NONE with an end key", op->name);
    uint32_t cf = 0;
    cf |= fl & FICKLE_RANGE_START_NONE ? CMD_F_LO_INF : fl & FICKLE_RANGE_START_INCL ? 0 : CMD_F_LO_EXCL;
    cf |= fl & FICKLE_RANGE_END_NONE ? CMD_F_HI_INF : fl & FICKLE_RANGE_END_INCL ? 0 : CMD_F_HI_EXCL;
    cf |= fl & FICKLE_RANGE_REVERSE ? CMD_F_REV : 0;
    cf |= fl & FICKLE_RANGE_KEYS_ONLY ? CMD_F_KEYS_ONLY : 0;
    cmd->flags |= cf;
    uint32_t limit = f->h.extras_len ? fickle_get_le32(f->extras) : 0;
    cmd->limit = limit ? limit : CMD_NO_LIMIT;
    return true;
}

/* PING [value]: operands [] or [message]. */
static bool dec_ping(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    cmd->argc = f->h.value_len ? 1 : 0;
    cmd->argv += 1; /* skip the (empty) key */
    return true;
}

/* STATS [section]: operands [] or [section]. */
static bool dec_stats(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    cmd->argc = f->h.key_len ? 1 : 0;
    return true;
}

/* AUTH: key = user (may be empty), value = password -> [password] or [user, password]. */
static bool dec_auth(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    if (!f->h.key_len) {
        cmd->argv += 1;
        cmd->argc = 1;
    }
    return true;
}

static bool dec_none(native_parser_t *p, const op_spec_t *op, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    cmd->argc = 0;
    return true;
}

#define SETF (FICKLE_SET_NX | FICKLE_SET_XX | FICKLE_SET_KEEPTTL | FICKLE_SET_EXPIRE_AT)
#define CASF (FICKLE_SET_KEEPTTL | FICKLE_SET_EXPIRE_AT)
#define CNTF (FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL | FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE)
#define RNGF (CNTF | FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY)

/* Indexed by opcode; zeroed slots are unknown or reserved opcodes. */
static const op_spec_t ops[256] = {
    [FICKLE_OP_GET] = {FICKLE_OP_GET, CMD_GET, "GET", 0, 0, 0, true, false, NULL},
    [FICKLE_OP_SET] = {FICKLE_OP_SET, CMD_SET, "SET", SETF, 0, 8, true, true, dec_set},
    [FICKLE_OP_DEL] = {FICKLE_OP_DEL, CMD_DEL, "DEL", 0, 0, 8, true, false, dec_del},
    [FICKLE_OP_EXISTS] = {FICKLE_OP_EXISTS, CMD_EXISTS, "EXISTS", 0, 0, 0, true, false, NULL},
    [FICKLE_OP_INCR] = {FICKLE_OP_INCR, CMD_INCRBY, "INCR", 0, 0, 8, true, false, dec_incr},
    [FICKLE_OP_DECR] = {FICKLE_OP_DECR, CMD_INCRBY, "DECR", 0, 0, 8, true, false, dec_incr},
    [FICKLE_OP_CAS] = {FICKLE_OP_CAS, CMD_SET, "CAS", CASF, 8, 16, true, true, dec_cas},
    [FICKLE_OP_MGET] = {FICKLE_OP_MGET, CMD_MGET, "MGET", 0, 4, 4, false, true, dec_mget},
    [FICKLE_OP_MSET] = {FICKLE_OP_MSET, CMD_MSET, "MSET", FICKLE_MSET_NX, 4, 4, false, true, dec_mset},
    [FICKLE_OP_RANGE] = {FICKLE_OP_RANGE, CMD_RANGE, "RANGE", RNGF, 0, 4, true, true, dec_range},
    [FICKLE_OP_COUNT] = {FICKLE_OP_COUNT, CMD_RCOUNT, "COUNT", CNTF, 0, 4, true, true, dec_range},
    [FICKLE_OP_PING] = {FICKLE_OP_PING, CMD_PING, "PING", 0, 0, 0, false, true, dec_ping},
    [FICKLE_OP_STATS] = {FICKLE_OP_STATS, CMD_INFO, "STATS", 0, 0, 0, true, false, dec_stats},
    [FICKLE_OP_AUTH] = {FICKLE_OP_AUTH, CMD_AUTH, "AUTH", 0, 0, 0, true, true, dec_auth},
    [FICKLE_OP_QUIT] = {FICKLE_OP_QUIT, CMD_QUIT, "QUIT", 0, 0, 0, false, false, dec_none},
    [FICKLE_OP_TXN] = {FICKLE_OP_TXN, CMD_TXN, "TXN", 0, 0, 0, false, true, NULL},
    [FICKLE_OP_SAVE] = {FICKLE_OP_SAVE, CMD_SAVE, "SAVE", 0, 0, 0, false, false, dec_none},
    [FICKLE_OP_BGSAVE] = {FICKLE_OP_BGSAVE, CMD_BGSAVE, "BGSAVE", 0, 0, 0, false, false, dec_none},
};

/* Applies the generic field rules of op, then its decoder. */
static bool decode_frame(native_parser_t *p, const native_frame_t *f, cmd_t *cmd, uint16_t *code)
{
    const fickle_header_t *h = &f->h;
    if (h->status || h->reserved)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "status and reserved fields must be 0 in a request");
    const op_spec_t *op = &ops[h->opcode];
    if (!op->name)
        return bad(p, code, FICKLE_STATUS_UNKNOWN_OPCODE, "unknown opcode 0x%02x", h->opcode);
    if (h->flags & ~op->flags)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: flags 0x%02x not valid", op->name, h->flags & ~op->flags);
    if (h->extras_len != op->ext_a && h->extras_len != op->ext_b)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: extras length %u not valid", op->name, h->extras_len);
    if (h->key_len && !op->key)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: takes no key", op->name);
    if (h->value_len && !op->value)
        return bad(p, code, FICKLE_STATUS_BAD_REQUEST, "%s: takes no value", op->name);
    cmd->id = op->id;
    key_value(cmd, f, p->kv, op->value);
    return op->decode ? op->decode(p, op, f, cmd, code) : true;
}

static cmd_parse_t need(size_t consumed, size_t want)
{
    return (cmd_parse_t){.status = CMD_PARSE_NEED_MORE, .consumed = consumed, .want = want};
}

static cmd_parse_t fatal(native_parser_t *p, uint16_t code, size_t consumed)
{
    p->failed = true;
    p->fail_code = code;
    return (cmd_parse_t){.status = CMD_PARSE_ERROR, .consumed = consumed, .fatal = true, .code = code, .msg = p->err};
}

cmd_parse_t native_parse(native_parser_t *p, const char *buf, size_t len, cmd_t *cmd)
{
    *cmd = (cmd_t){.proto = CMD_PROTO_NATIVE, .limit = CMD_NO_LIMIT};
    if (p->failed)
        return (cmd_parse_t){.status = CMD_PARSE_ERROR, .fatal = true, .code = p->fail_code, .msg = p->err};
    size_t done = 0;
    if (p->skip) { /* the rest of an oversize frame */
        done = p->skip < len ? (size_t)p->skip : len;
        p->skip -= done;
        if (p->skip)
            return need(done, 1);
        buf += done;
        len -= done;
    }
    const uint8_t *b = (const uint8_t *)buf;
    if (len < 1)
        return need(done, 1);
    if (b[0] != FICKLE_MAGIC_REQUEST) {
        snprintf(p->err, sizeof(p->err), "bad magic byte 0x%02x", b[0]);
        return fatal(p, FICKLE_STATUS_BAD_REQUEST, done);
    }
    if (len < 2)
        return need(done, 2);
    if (b[1] != FICKLE_PROTOCOL_VERSION) {
        snprintf(p->err, sizeof(p->err), "unsupported protocol version %u (this server speaks %u)", b[1],
                 FICKLE_PROTOCOL_VERSION);
        return fatal(p, FICKLE_STATUS_UNSUPPORTED_VERSION, done);
    }
    if (len < FICKLE_HEADER_SIZE)
        return need(done, FICKLE_HEADER_SIZE);
    native_frame_t f;
    fickle_header_decode(b, &f.h);
    cmd->opcode = f.h.opcode;
    cmd->opaque = f.h.opaque;
    uint64_t size = fickle_frame_size(&f.h);
    cmd_parse_t r = {.status = CMD_PARSE_ERROR, .msg = p->err};
    if (f.h.value_len > p->lim.max_value) {
        snprintf(p->err, sizeof(p->err), "value length %u over the limit %u", f.h.value_len, p->lim.max_value);
        size_t now = size < len ? (size_t)size : len;
        p->skip = size - now;
        r.consumed = done + now;
        r.code = FICKLE_STATUS_TOO_BIG;
        return r;
    }
    if (len < size)
        return need(done, (size_t)size);
    f.extras = b + FICKLE_HEADER_SIZE;
    f.key = f.extras + f.h.extras_len;
    f.value = f.key + f.h.key_len;
    r.consumed = done + (size_t)size;
    if (!decode_frame(p, &f, cmd, &r.code)) {
        cmd->id = CMD_NONE;
        return r;
    }
    r.status = CMD_PARSE_OK;
    r.msg = NULL;
    return r;
}

/* ---- frames and rows ------------------------------------------------------------- */

int native_frame_split(const void *buf, size_t len, native_frame_t *f, size_t *size)
{
    const uint8_t *b = buf;
    if (len >= 1 && b[0] != FICKLE_MAGIC_REQUEST && b[0] != FICKLE_MAGIC_REPLY)
        return -1;
    if (len >= 2 && b[1] != FICKLE_PROTOCOL_VERSION)
        return -1;
    if (len < FICKLE_HEADER_SIZE)
        return 0;
    fickle_header_decode(b, &f->h);
    uint64_t n = fickle_frame_size(&f->h);
    if (len < n)
        return 0;
    f->extras = b + FICKLE_HEADER_SIZE;
    f->key = f->extras + f->h.extras_len;
    f->value = f->key + f->h.key_len;
    *size = (size_t)n;
    return 1;
}

int native_row_next(const void *value, size_t vlen, size_t *pos, native_row_t *row)
{
    const uint8_t *v = value;
    size_t at = *pos;
    if (at == vlen)
        return 0;
    if (at > vlen || vlen - at < FICKLE_ROW_HEADER_SIZE)
        return -1;
    size_t klen = fickle_get_le16(v + at), len = fickle_get_le32(v + at + 4);
    row->flags = fickle_get_le16(v + at + 2);
    row->version = fickle_get_le64(v + at + 8);
    at += FICKLE_ROW_HEADER_SIZE;
    if (vlen - at < klen || vlen - at - klen < len)
        return -1;
    row->key = (const char *)v + at;
    row->klen = klen;
    row->val = row->flags & (FICKLE_ROW_MISSING | FICKLE_ROW_NO_VALUE) ? NULL : (const char *)v + at + klen;
    row->vlen = len;
    *pos = at + klen + len;
    return 1;
}

size_t native_peek_key(const char *buf, size_t len, const char **key, size_t *klen)
{
    if (len < FICKLE_HEADER_SIZE || (uint8_t)buf[FICKLE_OFF_MAGIC] != FICKLE_MAGIC_REQUEST)
        return 0;
    fickle_header_t h;
    fickle_header_decode((const uint8_t *)buf, &h);
    uint64_t size = fickle_frame_size(&h);
    if (size > len)
        return 0;
    *key = h.key_len ? buf + FICKLE_HEADER_SIZE + h.extras_len : NULL;
    *klen = h.key_len;
    return (size_t)size;
}
