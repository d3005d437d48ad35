/*
 * test_native_parse.c — the native binary protocol: header layout and byte
 * order, every opcode's decoding into a cmd_t, every error status with its
 * fatal flag, limits and oversize bodies, incremental parsing at every
 * split, the reply encoders and row framing, and the worked example in
 * docs/protocol.md (checked byte for byte against the encoder).
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/native_parse.h"
#include "frontend/native_reply.h"
#include "tests/doc_hex.h"

/* ---- transcripts --------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} sb_t;

static void sb_add(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 64) * 2;
        b->s = realloc(b->s, b->cap);
        ck_assert_ptr_nonnull(b->s);
    }
}

static void describe(sb_t *b, const cmd_parse_t *r, const cmd_t *c)
{
    if (r->status == CMD_PARSE_ERROR) {
        sb_add(b, "%s op=%02x o=%llu s=%04x %s\n", r->fatal ? "ERR!" : "ERR", c->opcode,
               (unsigned long long)c->opaque, r->code, r->msg);
        return;
    }
    sb_add(b, "%s op=%02x o=%llu", cmd_name(c->id), c->opcode, (unsigned long long)c->opaque);
    if (c->flags)
        sb_add(b, " f=0x%x", c->flags);
    if (c->flags & (CMD_F_EXP_REL | CMD_F_EXP_ABS))
        sb_add(b, " e=%lld", (long long)c->expiry_ms);
    if (c->flags & CMD_F_CAS)
        sb_add(b, " v=%llu", (unsigned long long)c->version);
    if (c->delta)
        sb_add(b, " d=%lld", (long long)c->delta);
    if (c->limit != CMD_NO_LIMIT)
        sb_add(b, " l=%llu", (unsigned long long)c->limit);
    sb_add(b, " [");
    for (size_t i = 0; i < c->argc; i++)
        sb_add(b, "%s%.*s", i ? "|" : "", (int)c->argv[i].len, c->argv[i].ptr);
    sb_add(b, "]\n");
}

typedef struct {
    native_parser_t p;
    char *buf;
    size_t len, cap, want;
    bool dead;
    sb_t out;
} conn_t;

/* Appends bytes, then parses while at least `want` bytes are buffered,
 * handing the parser a fresh copy each call (the span may move). */
static void conn_feed(conn_t *c, const char *data, size_t n)
{
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2 + 16;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    while (!c->dead && c->len >= c->want) {
        char *span = malloc(c->len + 1);
        memcpy(span, c->buf, c->len);
        cmd_t cmd;
        cmd_parse_t r = native_parse(&c->p, span, c->len, &cmd);
        ck_assert_uint_le(r.consumed, c->len);
        if (r.status != CMD_PARSE_NEED_MORE)
            describe(&c->out, &r, &cmd);
        free(span);
        memmove(c->buf, c->buf + r.consumed, c->len - r.consumed);
        c->len -= r.consumed;
        if (r.status == CMD_PARSE_NEED_MORE) {
            ck_assert_uint_gt(r.want, c->len);
            c->want = r.want;
            break;
        }
        c->want = 0;
        c->dead = r.status == CMD_PARSE_ERROR && r.fatal;
    }
}

static char *transcript(const void *in, size_t n, size_t chunk, const native_limits_t *lim)
{
    conn_t c;
    memset(&c, 0, sizeof(c));
    native_parser_init(&c.p, lim);
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t at = 0; at < n; at += chunk)
        conn_feed(&c, (const char *)in + at, n - at < chunk ? n - at : chunk);
    char *s = strdup(c.out.s ? c.out.s : "");
    native_parser_free(&c.p);
    free(c.buf);
    free(c.out.s);
    return s;
}

/* The transcript of the frames in b, whole, byte by byte and split in two
 * at every boundary, must be `want`. Drains b. */
static void expect_lim(struct evbuffer *b, const char *want, const native_limits_t *lim)
{
    size_t n = evbuffer_get_length(b);
    const char *in = (const char *)evbuffer_pullup(b, -1);
    char *s = transcript(in, n, 0, lim);
    ck_assert_str_eq(s, want);
    free(s);
    s = transcript(in, n, 1, lim);
    ck_assert_str_eq(s, want);
    free(s);
    for (size_t cut = 1; cut < n && n < 2048; cut += 1 + n / 256) {
        conn_t c;
        memset(&c, 0, sizeof(c));
        native_parser_init(&c.p, lim);
        conn_feed(&c, in, cut);
        conn_feed(&c, in + cut, n - cut);
        ck_assert_msg(strcmp(c.out.s ? c.out.s : "", want) == 0, "split at %zu: %s", cut, c.out.s);
        native_parser_free(&c.p);
        free(c.buf);
        free(c.out.s);
    }
    evbuffer_drain(b, n);
}
#define EXPECT(b, want) expect_lim(b, want, NULL)

static void req(struct evbuffer *b, uint8_t op, uint8_t flags, uint64_t opaque, const void *ext, size_t elen,
                const char *key, const char *val)
{
    ck_assert_int_eq(native_request(b, op, flags, opaque, ext, elen, key, key ? strlen(key) : 0, val,
                                    val ? strlen(val) : 0),
                     0);
}

static const uint8_t *u64(uint64_t v)
{
    static uint8_t buf[4][8];
    static int i;
    uint8_t *p = buf[i++ % 4];
    fickle_put_le64(p, v);
    return p;
}

static const uint8_t *u64x2(uint64_t a, uint64_t b)
{
    static uint8_t buf[16];
    fickle_put_le64(buf, a);
    fickle_put_le64(buf + 8, b);
    return buf;
}

static const uint8_t *u32(uint32_t v)
{
    static uint8_t buf[4];
    fickle_put_le32(buf, v);
    return buf;
}

/* ---- header -------------------------------------------------------------------- */

START_TEST(header_layout_little_endian)
{
    fickle_header_t h = {FICKLE_MAGIC_REQUEST, 1, 0x02, 0x05, 0x0102, 0x0304, 0x0506, 0, 0x0708090A,
                         0x1112131415161718ull};
    uint8_t b[FICKLE_HEADER_SIZE];
    fickle_header_encode(b, &h);
    static const uint8_t want[24] = {0xFC, 0x01, 0x02, 0x05, 0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x00, 0x00,
                                     0x0A, 0x09, 0x08, 0x07, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11};
    ck_assert_int_eq(memcmp(b, want, 24), 0);
    fickle_header_t back;
    fickle_header_decode(b, &back);
    ck_assert_int_eq(memcmp(&back, &h, sizeof(h)), 0);
    ck_assert_uint_eq(fickle_frame_size(&h), 24 + 0x0506 + 0x0304 + 0x0708090Aull);
}
END_TEST

/* ---- each opcode --------------------------------------------------------------------- */

START_TEST(opcodes)
{
    struct evbuffer *b = evbuffer_new();
    req(b, FICKLE_OP_GET, 0, 1, NULL, 0, "k", NULL);
    req(b, FICKLE_OP_GET, 0, 2, NULL, 0, "", NULL);
    req(b, FICKLE_OP_SET, 0, 3, NULL, 0, "k", "v");
    req(b, FICKLE_OP_SET, FICKLE_SET_NX, 4, u64(60000), 8, "k", "v");
    req(b, FICKLE_OP_SET, FICKLE_SET_XX | FICKLE_SET_EXPIRE_AT, 5, u64(1700000000000), 8, "k", "");
    req(b, FICKLE_OP_SET, FICKLE_SET_KEEPTTL, 6, u64(0), 8, "k", "v");
    req(b, FICKLE_OP_CAS, 0, 7, u64(42), 8, "k", "v");
    req(b, FICKLE_OP_CAS, 0, 8, u64x2(42, 1000), 16, "k", "v");
    req(b, FICKLE_OP_DEL, 0, 9, NULL, 0, "k", NULL);
    req(b, FICKLE_OP_DEL, 0, 10, u64(42), 8, "k", NULL);
    req(b, FICKLE_OP_EXISTS, 0, 11, NULL, 0, "k", NULL);
    req(b, FICKLE_OP_INCR, 0, 12, NULL, 0, "n", NULL);
    req(b, FICKLE_OP_INCR, 0, 13, u64((uint64_t)-5), 8, "n", NULL);
    req(b, FICKLE_OP_DECR, 0, 14, u64(7), 8, "n", NULL);
    req(b, FICKLE_OP_DECR, 0, 15, NULL, 0, "n", NULL);
    req(b, FICKLE_OP_RANGE, FICKLE_RANGE_START_INCL | FICKLE_RANGE_REVERSE, 16, u32(10), 4, "a", "z");
    req(b, FICKLE_OP_RANGE, FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE | FICKLE_RANGE_KEYS_ONLY, 17, NULL, 0, "",
        "");
    req(b, FICKLE_OP_COUNT, FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL, 18, u32(0), 4, "a", "b");
    req(b, FICKLE_OP_PING, 0, 19, NULL, 0, NULL, NULL);
    req(b, FICKLE_OP_PING, 0, 20, NULL, 0, NULL, "hi");
    req(b, FICKLE_OP_STATS, 0, 21, NULL, 0, NULL, NULL);
    req(b, FICKLE_OP_STATS, 0, 22, NULL, 0, "memory", NULL);
    req(b, FICKLE_OP_AUTH, 0, 23, NULL, 0, NULL, "pw");
    req(b, FICKLE_OP_AUTH, 0, 24, NULL, 0, "user", "pw");
    req(b, FICKLE_OP_QUIT, 0, UINT64_MAX, NULL, 0, NULL, NULL);
    EXPECT(b, "get op=01 o=1 [k]\n"
              "get op=01 o=2 []\n"
              "set op=02 o=3 [k|v]\n"
              "set op=02 o=4 f=0x81 e=60000 [k|v]\n"
              "set op=02 o=5 f=0x102 e=1700000000000 [k|]\n"
              "set op=02 o=6 f=0x20 [k|v]\n"
              "set op=07 o=7 f=0x200 v=42 [k|v]\n"
              "set op=07 o=8 f=0x280 e=1000 v=42 [k|v]\n"
              "del op=03 o=9 [k]\n"
              "del op=03 o=10 f=0x200 v=42 [k]\n"
              "exists op=04 o=11 [k]\n"
              "incrby op=05 o=12 d=1 [n]\n"
              "incrby op=05 o=13 d=-5 [n]\n"
              "incrby op=06 o=14 d=-7 [n]\n"
              "incrby op=06 o=15 d=-1 [n]\n"
              "range op=0a o=16 f=0x8400 l=10 [a|z]\n"
              "range op=0a o=17 f=0x5800 [|]\n"
              "rcount op=0b o=18 [a|b]\n"
              "ping op=10 o=19 []\n"
              "ping op=10 o=20 [hi]\n"
              "info op=11 o=21 []\n"
              "info op=11 o=22 [memory]\n"
              "auth op=12 o=23 [pw]\n"
              "auth op=12 o=24 [user|pw]\n"
              "quit op=13 o=18446744073709551615 []\n");
    evbuffer_free(b);
}
END_TEST

/* native_peek_key (the prefetch hint) finds each frame's length and key
 * field as the parser does, and frames nothing it cannot see whole. */
START_TEST(peek_key_agrees_with_parser)
{
    struct evbuffer *b = evbuffer_new();
    req(b, FICKLE_OP_GET, 0, 1, NULL, 0, "key:1", NULL);
    req(b, FICKLE_OP_SET, FICKLE_SET_NX, 2, u64(60000), 8, "key:22", "value");
    req(b, FICKLE_OP_CAS, 0, 3, u64x2(42, 1000), 16, "k", "v");
    req(b, FICKLE_OP_DEL, 0, 4, NULL, 0, "gone", NULL);
    req(b, FICKLE_OP_PING, 0, 5, NULL, 0, NULL, "hi");
    req(b, FICKLE_OP_GET, 0, 6, NULL, 0, "", NULL);
    size_t total = evbuffer_get_length(b);
    const char *buf = (const char *)evbuffer_pullup(b, -1);
    static const char *const keys[] = {"key:1", "key:22", "k", "gone", NULL, NULL};
    native_parser_t p;
    native_parser_init(&p, NULL);
    size_t off = 0;
    for (unsigned i = 0; i < 6; i++) {
        cmd_t cmd;
        cmd_parse_t r = native_parse(&p, buf + off, total - off, &cmd);
        ck_assert_int_eq(r.status, CMD_PARSE_OK);
        const char *key = (const char *)1;
        size_t klen = 99;
        ck_assert_uint_eq(native_peek_key(buf + off, total - off, &key, &klen), r.consumed);
        if (keys[i] == NULL) {
            ck_assert_ptr_null(key);
        } else {
            ck_assert_ptr_eq(key, cmd.argv[0].ptr); /* the very bytes the request runs on */
            ck_assert_uint_eq(klen, strlen(keys[i]));
            ck_assert_mem_eq(key, keys[i], klen);
        }
        for (size_t cut = 0; cut < r.consumed; cut++) /* a partial frame */
            ck_assert_uint_eq(native_peek_key(buf + off, cut, &key, &klen), 0);
        off += r.consumed;
    }
    ck_assert_uint_eq(off, total);
    char reply[FICKLE_HEADER_SIZE] = {(char)FICKLE_MAGIC_REPLY}; /* not a request */
    const char *key;
    size_t klen;
    ck_assert_uint_eq(native_peek_key(reply, sizeof(reply), &key, &klen), 0);
    native_parser_free(&p);
    evbuffer_free(b);
}
END_TEST

START_TEST(multi_key)
{
    struct evbuffer *b = evbuffer_new(), *v = evbuffer_new();
    native_mget_entry(v, "a", 1);
    native_mget_entry(v, "", 0);
    native_mget_entry(v, "ccc", 3);
    size_t vlen = evbuffer_get_length(v);
    native_request(b, FICKLE_OP_MGET, 0, 1, u32(3), 4, NULL, 0, evbuffer_pullup(v, -1), vlen);
    evbuffer_drain(v, vlen);
    native_mset_entry(v, "k1", 2, "v1", 2);
    native_mset_entry(v, "k2", 2, "", 0);
    vlen = evbuffer_get_length(v);
    native_request(b, FICKLE_OP_MSET, FICKLE_MSET_NX, 2, u32(2), 4, NULL, 0, evbuffer_pullup(v, -1), vlen);
    EXPECT(b, "mget op=08 o=1 [a||ccc]\n"
              "mset op=09 o=2 f=0x1 [k1|v1|k2|]\n");
    evbuffer_free(b);
    evbuffer_free(v);
}
END_TEST

/* ---- errors ------------------------------------------------------------------------ */

#define BADREQ "s=0006 "

START_TEST(fatal_errors)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, "PING\r\n", 6);
    EXPECT(b, "ERR! op=00 o=0 " BADREQ "bad magic byte 0x50\n");
    uint8_t v2[24] = {FICKLE_MAGIC_REQUEST, 2};
    evbuffer_add(b, v2, 2);
    EXPECT(b, "ERR! op=00 o=0 s=000e unsupported protocol version 2 (this server speaks 1)\n");
    /* A good frame, then garbage: the good one is parsed first; nothing after. */
    req(b, FICKLE_OP_PING, 0, 1, NULL, 0, NULL, NULL);
    evbuffer_add(b, "\x80", 1);
    req(b, FICKLE_OP_PING, 0, 2, NULL, 0, NULL, NULL);
    EXPECT(b, "ping op=10 o=1 []\nERR! op=00 o=0 " BADREQ "bad magic byte 0x80\n");
    /* A reply frame sent as a request. */
    native_reply_status(b, FICKLE_OP_GET, 3, FICKLE_STATUS_OK, NULL);
    EXPECT(b, "ERR! op=00 o=0 " BADREQ "bad magic byte 0xfd\n");
    evbuffer_free(b);
}
END_TEST

START_TEST(nonfatal_errors)
{
    struct evbuffer *b = evbuffer_new();
    uint8_t hdr[24];
    fickle_header_t h = {.magic = FICKLE_MAGIC_REQUEST, .version = 1, .opcode = FICKLE_OP_GET, .reserved = 1,
                         .opaque = 1};
    fickle_header_encode(hdr, &h);
    evbuffer_add(b, hdr, 24);
    h.reserved = 0;
    h.status = 3;
    h.opaque = 2;
    fickle_header_encode(hdr, &h);
    evbuffer_add(b, hdr, 24);
    req(b, FICKLE_OP_TXN + 1, 0, 3, NULL, 0, "k", "v"); /* reserved */
    req(b, 0x99, 0, 4, NULL, 0, NULL, NULL);
    req(b, FICKLE_OP_GET, FICKLE_SET_NX, 5, NULL, 0, "k", NULL);
    req(b, FICKLE_OP_SET, 0, 6, "abc", 3, "k", "v");
    req(b, FICKLE_OP_PING, 0, 7, NULL, 0, "k", NULL);
    req(b, FICKLE_OP_GET, 0, 8, NULL, 0, "k", "v");
    req(b, FICKLE_OP_SET, FICKLE_SET_NX | FICKLE_SET_XX, 9, NULL, 0, "k", "v");
    req(b, FICKLE_OP_SET, FICKLE_SET_KEEPTTL, 10, u64(5), 8, "k", "v");
    req(b, FICKLE_OP_SET, 0, 11, u64((uint64_t)INT64_MAX), 8, "k", "v");
    req(b, FICKLE_OP_SET, FICKLE_SET_EXPIRE_AT, 12, u64((uint64_t)INT64_MAX + 1), 8, "k", "v");
    req(b, FICKLE_OP_CAS, FICKLE_SET_NX, 13, u64(1), 8, "k", "v");
    req(b, FICKLE_OP_DECR, 0, 14, u64((uint64_t)INT64_MIN), 8, "n", NULL);
    req(b, FICKLE_OP_RANGE, FICKLE_RANGE_START_NONE, 15, NULL, 0, "a", "z");
    req(b, FICKLE_OP_COUNT, FICKLE_RANGE_END_NONE | FICKLE_RANGE_REVERSE, 16, NULL, 0, NULL, NULL);
    req(b, FICKLE_OP_QUIT, 0, 17, NULL, 0, NULL, NULL); /* still in sync */
    EXPECT(b, "ERR op=01 o=1 " BADREQ "status and reserved fields must be 0 in a request\n"
              "ERR op=01 o=2 " BADREQ "status and reserved fields must be 0 in a request\n"
              "ERR op=21 o=3 s=0007 unknown opcode 0x21\n"
              "ERR op=99 o=4 s=0007 unknown opcode 0x99\n"
              "ERR op=01 o=5 " BADREQ "GET: flags 0x01 not valid\n"
              "ERR op=02 o=6 " BADREQ "SET: extras length 3 not valid\n"
              "ERR op=10 o=7 " BADREQ "PING: takes no key\n"
              "ERR op=01 o=8 " BADREQ "GET: takes no value\n"
              "ERR op=02 o=9 " BADREQ "SET: NX and XX together\n"
              "ERR op=02 o=10 " BADREQ "SET: KEEPTTL with an expiry\n"
              "ERR op=02 o=11 " BADREQ "SET: expiry out of range\n"
              "ERR op=02 o=12 " BADREQ "SET: expiry out of range\n"
              "ERR op=07 o=13 " BADREQ "CAS: flags 0x01 not valid\n"
              "ERR op=06 o=14 s=000b DECR: amount out of range\n"
              "ERR op=0a o=15 " BADREQ "RANGE: START_NONE with a start key\n"
              "ERR op=0b o=16 " BADREQ "COUNT: flags 0x10 not valid\n"
              "quit op=13 o=17 []\n");
    evbuffer_free(b);
}
END_TEST

START_TEST(multi_key_errors)
{
    struct evbuffer *b = evbuffer_new();
    native_limits_t lim = {.max_value = 1 << 20, .max_keys = 2};
    native_request(b, FICKLE_OP_MGET, 0, 1, u32(0), 4, NULL, 0, NULL, 0);
    native_request(b, FICKLE_OP_MGET, 0, 2, u32(3), 4, NULL, 0, "\1\0a\1\0b\1\0c", 9);
    native_request(b, FICKLE_OP_MGET, 0, 3, u32(2), 4, NULL, 0, "\1\0a\5\0b", 6);
    native_request(b, FICKLE_OP_MGET, 0, 4, u32(1), 4, NULL, 0, "\1\0ab", 4);
    native_request(b, FICKLE_OP_MGET, 0, 5, u32(2), 4, NULL, 0, "\1\0", 2);
    native_request(b, FICKLE_OP_MSET, 0, 6, u32(1), 4, NULL, 0, "\1\0\2\0\0\0kv", 8);
    native_request(b, FICKLE_OP_MSET, 0, 7, u32(1), 4, NULL, 0, "\1\0\1\0\0\0kv", 8);
    native_request(b, FICKLE_OP_MGET, 0, 8, u32(1), 4, "k", 1, "\1\0a", 3);
    native_request(b, FICKLE_OP_MGET, 0, 9, NULL, 0, NULL, 0, "\1\0a", 3);
    expect_lim(b,
               "ERR op=08 o=1 " BADREQ "MGET: no entries\n"
               "ERR op=08 o=2 s=0004 MGET: 3 entries, limit 2\n"
               "ERR op=08 o=3 " BADREQ "MGET: entry 1 truncated\n"
               "ERR op=08 o=4 " BADREQ "MGET: 1 bytes after the last entry\n"
               "ERR op=08 o=5 " BADREQ "MGET: 2 entries cannot fit in the value\n"
               "ERR op=09 o=6 " BADREQ "MSET: entry 0 truncated\n"
               "mset op=09 o=7 [k|v]\n"
               "ERR op=08 o=8 " BADREQ "MGET: takes no key\n"
               "ERR op=08 o=9 " BADREQ "MGET: extras length 0 not valid\n",
               &lim);
    evbuffer_free(b);
}
END_TEST

/* An oversize value is refused with TOO_BIG as soon as the header is in,
 * its body is discarded as it arrives, and the next frame parses. */
START_TEST(oversize_value_is_skipped)
{
    native_limits_t lim = {.max_value = 4, .max_keys = 16};
    struct evbuffer *b = evbuffer_new();
    req(b, FICKLE_OP_SET, 0, 1, NULL, 0, "k", "12345");
    req(b, FICKLE_OP_SET, 0, 2, NULL, 0, "k", "1234");
    req(b, FICKLE_OP_SET, 0, 3, NULL, 0, "k", "0123456789abcdef0123456789");
    req(b, FICKLE_OP_GET, 0, 4, NULL, 0, "k", NULL);
    expect_lim(b,
               "ERR op=02 o=1 s=0004 value length 5 over the limit 4\n"
               "set op=02 o=2 [k|1234]\n"
               "ERR op=02 o=3 s=0004 value length 26 over the limit 4\n"
               "get op=01 o=4 [k]\n",
               &lim);
    evbuffer_free(b);
}
END_TEST

START_TEST(huge_claims_do_not_allocate)
{
    native_limits_t lim = {.max_value = UINT32_MAX, .max_keys = UINT32_MAX};
    native_parser_t p;
    native_parser_init(&p, &lim);
    fickle_header_t h = {.magic = FICKLE_MAGIC_REQUEST, .version = 1, .opcode = FICKLE_OP_SET,
                         .key_len = UINT16_MAX, .extras_len = UINT16_MAX, .value_len = UINT32_MAX};
    uint8_t hdr[24];
    fickle_header_encode(hdr, &h);
    cmd_t cmd;
    cmd_parse_t r = native_parse(&p, (const char *)hdr, 24, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.consumed, 0);
    ck_assert_uint_eq(r.want, 24ull + UINT16_MAX + UINT16_MAX + UINT32_MAX);
    ck_assert_uint_eq(p.args_cap, 0);
    /* A count far beyond what the value can hold is refused before any allocation. */
    struct evbuffer *b = evbuffer_new();
    native_request(b, FICKLE_OP_MGET, 0, 1, u32(UINT32_MAX), 4, NULL, 0, "\1\0a", 3);
    r = native_parse(&p, (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b), &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_ERROR);
    ck_assert_int_eq(r.code, FICKLE_STATUS_BAD_REQUEST);
    ck_assert(!r.fatal);
    ck_assert_uint_eq(p.args_cap, 0);
    evbuffer_free(b);
    native_parser_free(&p);
}
END_TEST

/* ---- replies ------------------------------------------------------------------------- */

static void next_frame(struct evbuffer *b, native_frame_t *f, uint8_t op, uint64_t opaque, uint16_t status,
                       uint16_t elen, uint32_t vlen)
{
    size_t size;
    ck_assert_int_eq(native_frame_split(evbuffer_pullup(b, -1), evbuffer_get_length(b), f, &size), 1);
    ck_assert_uint_eq(f->h.magic, FICKLE_MAGIC_REPLY);
    ck_assert_uint_eq(f->h.opcode, op);
    ck_assert_uint_eq(f->h.opaque, opaque);
    ck_assert_uint_eq(f->h.status, status);
    ck_assert_uint_eq(f->h.extras_len, elen);
    ck_assert_uint_eq(f->h.key_len, 0);
    ck_assert_uint_eq(f->h.value_len, vlen);
    ck_assert_uint_eq(f->h.flags, 0);
    ck_assert_uint_eq(size, 24u + elen + vlen);
}

START_TEST(reply_round_trip)
{
    struct evbuffer *b = evbuffer_new();
    native_frame_t f;
    native_reply_item(b, FICKLE_OP_GET, 1, 77, 1700000000000ull, "hello", 5);
    next_frame(b, &f, FICKLE_OP_GET, 1, 0, 16, 5);
    ck_assert_uint_eq(fickle_get_le64(f.extras), 77);
    ck_assert_uint_eq(fickle_get_le64(f.extras + 8), 1700000000000ull);
    ck_assert_int_eq(memcmp(f.value, "hello", 5), 0);
    evbuffer_drain(b, 24 + 16 + 5);

    native_reply_status(b, FICKLE_OP_SET, 2, FICKLE_STATUS_CAS_MISMATCH, "version mismatch");
    next_frame(b, &f, FICKLE_OP_SET, 2, FICKLE_STATUS_CAS_MISMATCH, 0, 16);
    evbuffer_drain(b, 24 + 16);
    native_reply_version(b, FICKLE_OP_CAS, 3, 99);
    next_frame(b, &f, FICKLE_OP_CAS, 3, 0, 8, 0);
    ck_assert_uint_eq(fickle_get_le64(f.extras), 99);
    evbuffer_drain(b, 32);
    native_reply_counter(b, FICKLE_OP_DECR, 4, 100, -3);
    next_frame(b, &f, FICKLE_OP_DECR, 4, 0, 16, 0);
    ck_assert_int_eq((int64_t)fickle_get_le64(f.extras + 8), -3);
    evbuffer_drain(b, 40);
    native_reply_count(b, FICKLE_OP_COUNT, 5, 12345);
    next_frame(b, &f, FICKLE_OP_COUNT, 5, 0, 8, 0);
    ck_assert_uint_eq(fickle_get_le64(f.extras), 12345);
    evbuffer_drain(b, 32);
    native_reply_value(b, FICKLE_OP_PING, 6, "pong", 4);
    next_frame(b, &f, FICKLE_OP_PING, 6, 0, 0, 4);
    evbuffer_drain(b, 28);
    /* Partial frames are reported as such; foreign bytes as errors. */
    native_reply_value(b, FICKLE_OP_PING, 6, "pong", 4);
    size_t size;
    ck_assert_int_eq(native_frame_split(evbuffer_pullup(b, -1), 27, &f, &size), 0);
    ck_assert_int_eq(native_frame_split("+OK\r\n", 5, &f, &size), -1);
    evbuffer_drain(b, 28);
    evbuffer_free(b);
}
END_TEST

START_TEST(rows_round_trip)
{
    struct evbuffer *b = evbuffer_new();
    native_rows_t rows;
    ck_assert_int_eq(native_rows_init(&rows), 0);
    native_rows_add(&rows, "a", 1, "one", 3, 10, 0);
    native_rows_add(&rows, "b", 1, "ignored", 7, 0, FICKLE_ROW_MISSING);
    native_rows_add(&rows, "c", 1, NULL, 0, 12, FICKLE_ROW_NO_VALUE);
    native_rows_add(&rows, "", 0, "", 0, 13, 0);
    ck_assert_uint_eq(native_rows_size(&rows), 4 * 16 + 3 + 3);
    ck_assert_int_eq(native_rows_finish(&rows, b, FICKLE_OP_MGET, 9, FICKLE_ROWS_MORE), 0);
    ck_assert_ptr_null(rows.body);
    native_frame_t f;
    next_frame(b, &f, FICKLE_OP_MGET, 9, 0, 8, 4 * 16 + 6);
    ck_assert_uint_eq(fickle_get_le32(f.extras), 4);
    ck_assert_uint_eq(fickle_get_le32(f.extras + 4), FICKLE_ROWS_MORE);
    size_t pos = 0;
    native_row_t r;
    ck_assert_int_eq(native_row_next(f.value, f.h.value_len, &pos, &r), 1);
    ck_assert(r.klen == 1 && r.key[0] == 'a' && r.vlen == 3 && memcmp(r.val, "one", 3) == 0 && r.version == 10);
    ck_assert_int_eq(native_row_next(f.value, f.h.value_len, &pos, &r), 1);
    ck_assert(r.flags == FICKLE_ROW_MISSING && r.val == NULL && r.vlen == 0 && r.version == 0);
    ck_assert_int_eq(native_row_next(f.value, f.h.value_len, &pos, &r), 1);
    ck_assert(r.flags == FICKLE_ROW_NO_VALUE && r.val == NULL && r.version == 12);
    ck_assert_int_eq(native_row_next(f.value, f.h.value_len, &pos, &r), 1);
    ck_assert(r.klen == 0 && r.vlen == 0 && r.val != NULL && r.version == 13);
    ck_assert_int_eq(native_row_next(f.value, f.h.value_len, &pos, &r), 0);
    /* Truncated rows are malformed. */
    pos = 0;
    ck_assert_int_eq(native_row_next(f.value, 15, &pos, &r), -1);
    pos = 0;
    ck_assert_int_eq(native_row_next(f.value, 18, &pos, &r), -1);
    evbuffer_free(b);
}
END_TEST

/* ---- the worked example in docs/protocol.md ----------------------------------------- */

static void expect_doc(const char *name, struct evbuffer *b)
{
    uint8_t want[256];
    size_t n = doc_hex(FICKLE_DOCS_DIR "/protocol.md", name, want, sizeof(want));
    ck_assert_uint_eq(evbuffer_get_length(b), n);
    ck_assert_int_eq(memcmp(evbuffer_pullup(b, -1), want, n), 0);
}

START_TEST(documented_example)
{
    /* SET "user:42" = "hello", NX, expiring in 60 s, opaque 7; reply: OK,
     * version 1001. */
    struct evbuffer *b = evbuffer_new();
    native_request(b, FICKLE_OP_SET, FICKLE_SET_NX, 7, u64(60000), 8, "user:42", 7, "hello", 5);
    expect_doc("set-request", b);
    cmd_t cmd;
    native_parser_t p;
    native_parser_init(&p, NULL);
    cmd_parse_t r = native_parse(&p, (const char *)evbuffer_pullup(b, -1), evbuffer_get_length(b), &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_OK);
    ck_assert_int_eq(cmd.id, CMD_SET);
    native_parser_free(&p);
    evbuffer_drain(b, evbuffer_get_length(b));
    native_reply_version(b, FICKLE_OP_SET, 7, 1001);
    expect_doc("set-reply", b);
    evbuffer_free(b);
}
END_TEST

/* ---- robustness ------------------------------------------------------------------------ */

START_TEST(fuzz_split_invariance)
{
    struct evbuffer *seed = evbuffer_new(), *v = evbuffer_new();
    req(seed, FICKLE_OP_SET, FICKLE_SET_NX, 1, u64(5), 8, "key", "value");
    req(seed, FICKLE_OP_RANGE, FICKLE_RANGE_START_INCL, 2, u32(3), 4, "a", "z");
    native_mset_entry(v, "k", 1, "v", 1);
    native_request(seed, FICKLE_OP_MSET, 0, 3, u32(1), 4, NULL, 0, evbuffer_pullup(v, -1), evbuffer_get_length(v));
    req(seed, FICKLE_OP_INCR, 0, 4, u64(2), 8, "n", NULL);
    size_t n = evbuffer_get_length(seed);
    uint8_t *base = evbuffer_pullup(seed, -1), buf[512];
    ck_assert_uint_le(n, sizeof(buf));
    native_limits_t lim = {.max_value = 64, .max_keys = 4};
    srand(5);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, base, n);
        for (int m = rand() % 4; m >= 0; m--) {
            size_t at = (size_t)rand() % n;
            buf[at] = rand() % 3 ? (uint8_t)rand() : (uint8_t)(buf[at] ^ (1u << (rand() % 8)));
        }
        char *whole = transcript(buf, n, 0, &lim);
        char *bytes = transcript(buf, n, 1, &lim);
        char *chunks = transcript(buf, n, 1 + (size_t)rand() % 40, &lim);
        ck_assert_str_eq(whole, bytes);
        ck_assert_str_eq(whole, chunks);
        free(whole);
        free(bytes);
        free(chunks);
    }
    evbuffer_free(seed);
    evbuffer_free(v);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("native_parse");
    TCase *t = tcase_create("requests");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, header_layout_little_endian);
    tcase_add_test(t, opcodes);
    tcase_add_test(t, multi_key);
    tcase_add_test(t, fatal_errors);
    tcase_add_test(t, nonfatal_errors);
    tcase_add_test(t, multi_key_errors);
    tcase_add_test(t, oversize_value_is_skipped);
    tcase_add_test(t, huge_claims_do_not_allocate);
    suite_add_tcase(s, t);
    t = tcase_create("replies");
    tcase_add_test(t, reply_round_trip);
    tcase_add_test(t, peek_key_agrees_with_parser);
    tcase_add_test(t, rows_round_trip);
    tcase_add_test(t, documented_example);
    suite_add_tcase(s, t);
    t = tcase_create("robustness");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, fuzz_split_invariance);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
