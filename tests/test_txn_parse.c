/*
 * test_txn_parse.c — the TXN body parser (frontend/native_txn.c) alone:
 * the worked example of docs/protocol.md against libfickle's encoder and
 * the server's reply encoder, every malformed field, every truncation,
 * the limits, and random mutations (which must never read out of bounds:
 * run it under the sanitizer build too).
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fickle/client.h"
#include "frontend/native_parse.h"
#include "frontend/native_txn.h"
#include "tests/doc_hex.h"

#define DOC FICKLE_DOCS_DIR "/protocol.md"

/* The example TXN: if version(acct:a) = 5 then PUT acct:a = "9", GET
 * acct:b else GET acct:a. */
static fickle_txn_t *example(void)
{
    fickle_txn_t *t = fickle_txn_new();
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(fickle_txn_compare_version(t, "acct:a", 6, FICKLE_TXN_CMP_EQUAL, 5), FICKLE_OK);
    ck_assert_int_eq(fickle_txn_put(t, FICKLE_TXN_SUCCESS, "acct:a", 6, "9", 1, 0, 0), FICKLE_OK);
    ck_assert_int_eq(fickle_txn_get(t, FICKLE_TXN_SUCCESS, "acct:b", 6), FICKLE_OK);
    ck_assert_int_eq(fickle_txn_get(t, FICKLE_TXN_FAILURE, "acct:a", 6), FICKLE_OK);
    return t;
}

/* The example's body in a malloc'd buffer. */
static uint8_t *example_body(size_t *len)
{
    fickle_txn_t *t = example();
    *len = fickle_txn_size(t);
    uint8_t *b = malloc(*len);
    ck_assert_uint_eq(fickle_txn_encode(t, b, *len), *len);
    fickle_txn_free(t);
    return b;
}

static uint16_t parse(native_txn_t *t, const uint8_t *b, size_t len)
{
    return native_txn_parse(t, b, len);
}

START_TEST(documented_example)
{
    size_t blen;
    uint8_t *body = example_body(&blen);
    uint8_t frame[512], want[512];
    fickle_header_t h = {FICKLE_MAGIC_REQUEST, FICKLE_PROTOCOL_VERSION, FICKLE_OP_TXN, 0, 0, 0, 0, 0,
                         (uint32_t)blen, 9};
    fickle_header_encode(frame, &h);
    memcpy(frame + FICKLE_HEADER_SIZE, body, blen);
    size_t n = doc_hex(DOC, "txn-request", want, sizeof(want));
    ck_assert_uint_eq(n, FICKLE_HEADER_SIZE + blen);
    ck_assert_int_eq(memcmp(frame, want, n), 0);
    /* The server's parsers read it back. */
    native_parser_t p;
    native_parser_init(&p, NULL);
    cmd_t cmd;
    cmd_parse_t r = native_parse(&p, (const char *)frame, n, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_OK);
    ck_assert_int_eq(cmd.id, CMD_TXN);
    native_txn_t t;
    native_txn_init(&t);
    ck_assert_uint_eq(native_txn_parse(&t, cmd.argv[1].ptr, cmd.argv[1].len), FICKLE_STATUS_OK);
    ck_assert_uint_eq(t.ncmp, 1);
    ck_assert_uint_eq(t.cmp[0].target, FICKLE_TXN_TARGET_VERSION);
    ck_assert_uint_eq(t.cmp[0].cmp, FICKLE_TXN_CMP_EQUAL);
    ck_assert_uint_eq(t.cmp[0].version, 5);
    ck_assert_int_eq(memcmp(t.cmp[0].key.ptr, "acct:a", 6), 0);
    size_t ns, nf;
    const native_txn_op_t *s = native_txn_branch(&t, true, &ns), *f = native_txn_branch(&t, false, &nf);
    ck_assert_uint_eq(ns, 2);
    ck_assert_uint_eq(nf, 1);
    ck_assert_uint_eq(s[0].kind, FICKLE_TXN_OP_PUT);
    ck_assert_uint_eq(s[0].value.len, 1);
    ck_assert_int_eq(s[0].value.ptr[0], '9');
    ck_assert_uint_eq(s[1].kind, FICKLE_TXN_OP_GET);
    ck_assert_int_eq(memcmp(s[1].key.ptr, "acct:b", 6), 0);
    ck_assert_uint_eq(f[0].kind, FICKLE_TXN_OP_GET);
    native_txn_free(&t);
    native_parser_free(&p);
    /* The reply: success, revision 6; PUT at version 6, GET acct:b = "1" at version 3. */
    struct evbuffer *res = evbuffer_new(), *out = evbuffer_new();
    ck_assert_int_eq(native_txn_result(res, FICKLE_TXN_OP_PUT, FICKLE_STATUS_OK, 6, 0, NULL, 0), 0);
    ck_assert_int_eq(native_txn_result(res, FICKLE_TXN_OP_GET, FICKLE_STATUS_OK, 3, 0, "1", 1), 0);
    ck_assert_int_eq(native_txn_reply(out, 9, FICKLE_TXN_SUCCEEDED, 2, 6, res), 0);
    n = doc_hex(DOC, "txn-reply", want, sizeof(want));
    ck_assert_uint_eq(evbuffer_get_length(out), n);
    ck_assert_int_eq(memcmp(evbuffer_pullup(out, -1), want, n), 0);
    evbuffer_free(res);
    evbuffer_free(out);
    free(body);
}
END_TEST

START_TEST(empty_txn)
{
    uint8_t b[FICKLE_TXN_HEADER_SIZE] = {0};
    native_txn_t t;
    native_txn_init(&t);
    ck_assert_uint_eq(parse(&t, b, sizeof(b)), FICKLE_STATUS_OK);
    ck_assert_uint_eq(t.ncmp + t.nsuccess + t.nfailure, 0);
    native_txn_free(&t);
}
END_TEST

/* Every proper prefix of a valid body, and the body with a byte more, is
 * BAD_REQUEST. */
START_TEST(truncations_and_trailing_bytes)
{
    size_t len;
    uint8_t *body = example_body(&len);
    native_txn_t t;
    native_txn_init(&t);
    for (size_t n = 0; n < len; n++) {
        uint8_t *cut = malloc(n ? n : 1); /* exactly n bytes: the sanitizer sees any overread */
        memcpy(cut, body, n);
        ck_assert_msg(parse(&t, cut, n) == FICKLE_STATUS_BAD_REQUEST, "prefix of %zu bytes", n);
        ck_assert_uint_eq(t.ncmp + t.nsuccess + t.nfailure, 0);
        ck_assert(t.err[0] != '\0');
        free(cut);
    }
    uint8_t *more = malloc(len + 1);
    memcpy(more, body, len);
    more[len] = 0;
    ck_assert_uint_eq(parse(&t, more, len + 1), FICKLE_STATUS_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(t.err, "after the last op"));
    ck_assert_uint_eq(parse(&t, body, len), FICKLE_STATUS_OK);
    free(more);
    free(body);
    native_txn_free(&t);
}
END_TEST

/* A body of one compare (or one op): header byte `at` set to v. */
static uint16_t one_entry(bool is_op, uint8_t kind, uint8_t second, uint32_t blen, uint64_t word, size_t at,
                          uint8_t v)
{
    uint8_t b[FICKLE_TXN_HEADER_SIZE + FICKLE_TXN_OP_HEADER + 1 + 16] = {0};
    fickle_put_le32(b + (is_op ? 4 : 0), 1);
    uint8_t *e = b + FICKLE_TXN_HEADER_SIZE;
    e[0] = kind;
    e[1] = second;
    fickle_put_le16(e + 2, 1);
    fickle_put_le32(e + 4, blen);
    fickle_put_le64(e + 8, word);
    e[FICKLE_TXN_OP_HEADER] = 'k';
    if (at)
        e[at] = v;
    native_txn_t t;
    native_txn_init(&t);
    uint16_t rc = parse(&t, b, FICKLE_TXN_HEADER_SIZE + FICKLE_TXN_OP_HEADER + 1 + blen);
    native_txn_free(&t);
    return rc;
}

START_TEST(malformed_compares)
{
    const uint16_t OK = FICKLE_STATUS_OK, BAD = FICKLE_STATUS_BAD_REQUEST;
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VERSION, FICKLE_TXN_CMP_LESS, 8, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, FICKLE_TXN_CMP_GREATER, 3, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_EXISTS, FICKLE_TXN_CMP_NOT_EQUAL, 0, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(false, 0, FICKLE_TXN_CMP_EQUAL, 0, 0, 0, 0), BAD);                /* target */
    ck_assert_uint_eq(one_entry(false, 4, FICKLE_TXN_CMP_EQUAL, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, 0, 0, 0, 0, 0), BAD);             /* comparison */
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, 5, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_EXISTS, FICKLE_TXN_CMP_LESS, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_EXISTS, FICKLE_TXN_CMP_GREATER, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VERSION, FICKLE_TXN_CMP_EQUAL, 7, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VERSION, FICKLE_TXN_CMP_EQUAL, 9, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_EXISTS, FICKLE_TXN_CMP_EQUAL, 1, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, FICKLE_TXN_CMP_EQUAL, 0, 1, 0, 0), BAD); /* reserved */
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, FICKLE_TXN_CMP_EQUAL, 0, 0, 15, 1), BAD);
    /* a key length past the end */
    ck_assert_uint_eq(one_entry(false, FICKLE_TXN_TARGET_VALUE, FICKLE_TXN_CMP_EQUAL, 0, 0, 3, 1), BAD);
}
END_TEST

START_TEST(malformed_ops)
{
    const uint16_t OK = FICKLE_STATUS_OK, BAD = FICKLE_STATUS_BAD_REQUEST;
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, FICKLE_TXN_PUT_KEEPTTL, 2, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, 0, 2, (uint64_t)INT64_MAX, 0, 0), OK);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_DELETE, 0, 0, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(true, 0, 0, 0, 0, 0, 0), BAD); /* kind */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_GET, 1, 0, 0, 0, 0), BAD); /* flags */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, 2, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_DELETE, 1, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_GET, 0, 1, 0, 0, 0), BAD); /* value */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_DELETE, 0, 1, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_GET, 0, 0, 5, 0, 0), BAD); /* expiry */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_DELETE, 0, 0, 5, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, FICKLE_TXN_PUT_KEEPTTL, 0, 5, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, 0, 0, (uint64_t)INT64_MAX + 1, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_PUT, 0, 2, 0, 3, 1), BAD); /* key past the end */
    /* RANGE: key = start, value = end, RANGE flags, the word a limit */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, FICKLE_RANGE_START_INCL | FICKLE_RANGE_REVERSE, 2, 10, 0, 0),
                      OK);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, FICKLE_RANGE_KEYS_ONLY, 0, UINT64_MAX, 0, 0), OK);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, 0x40, 0, 0, 0, 0), BAD);
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, FICKLE_RANGE_START_NONE, 0, 0, 0, 0), BAD); /* a start key */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, FICKLE_RANGE_END_NONE, 2, 0, 0, 0), BAD);   /* an end key */
    ck_assert_uint_eq(one_entry(true, FICKLE_TXN_OP_RANGE, FICKLE_RANGE_END_NONE, 0, 0, 0, 0), OK);
    ck_assert_uint_eq(one_entry(true, 5, 0, 0, 0, 0, 0), BAD);
}
END_TEST

START_TEST(limits)
{
    native_txn_t t;
    native_txn_init(&t);
    uint8_t b[FICKLE_TXN_HEADER_SIZE] = {0};
    /* counts that overflow 32 bits when added are still refused */
    for (int i = 0; i < 3; i++)
        fickle_put_le32(b + 4 * i, UINT32_MAX);
    ck_assert_uint_eq(parse(&t, b, sizeof(b)), FICKLE_STATUS_TOO_BIG);
    memset(b, 0, sizeof(b));
    fickle_put_le32(b + 4, FICKLE_TXN_MAX_ENTRIES);
    fickle_put_le32(b + 8, 1);
    ck_assert_uint_eq(parse(&t, b, sizeof(b)), FICKLE_STATUS_TOO_BIG);
    ck_assert_ptr_nonnull(strstr(t.err, "limit"));
    /* within the limit, but more entries than the bytes can hold */
    fickle_put_le32(b + 8, 0);
    ck_assert_uint_eq(parse(&t, b, sizeof(b)), FICKLE_STATUS_BAD_REQUEST);
    /* the limit itself parses: 16,384 DELETEs of the empty key */
    size_t len = FICKLE_TXN_HEADER_SIZE + (size_t)FICKLE_TXN_MAX_ENTRIES * FICKLE_TXN_OP_HEADER;
    uint8_t *big = calloc(1, len + 1);
    fickle_put_le32(big + 8, FICKLE_TXN_MAX_ENTRIES);
    for (size_t i = 0; i < FICKLE_TXN_MAX_ENTRIES; i++)
        big[FICKLE_TXN_HEADER_SIZE + i * FICKLE_TXN_OP_HEADER] = FICKLE_TXN_OP_DELETE;
    ck_assert_uint_eq(parse(&t, big, len), FICKLE_STATUS_OK);
    ck_assert_uint_eq(t.nfailure, FICKLE_TXN_MAX_ENTRIES);
    free(big);
    /* a body over the byte limit is refused before anything is read */
    big = calloc(1, (size_t)FICKLE_TXN_MAX_BYTES + 1);
    ck_assert_uint_eq(parse(&t, big, (size_t)FICKLE_TXN_MAX_BYTES + 1), FICKLE_STATUS_TOO_BIG);
    free(big);
    native_txn_free(&t);
}
END_TEST

/* The frame rules the generic parser applies to TXN. */
START_TEST(frame_rules)
{
    struct {
        uint8_t flags;
        uint16_t elen, klen;
    } bad[] = {{1, 0, 0}, {0, 4, 0}, {0, 0, 1}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t f[FICKLE_HEADER_SIZE + 4 + 1 + FICKLE_TXN_HEADER_SIZE] = {0};
        size_t body = bad[i].elen + bad[i].klen;
        fickle_header_t h = {FICKLE_MAGIC_REQUEST, FICKLE_PROTOCOL_VERSION, FICKLE_OP_TXN, bad[i].flags, 0,
                             bad[i].klen, bad[i].elen, 0, FICKLE_TXN_HEADER_SIZE, 1};
        fickle_header_encode(f, &h);
        native_parser_t p;
        native_parser_init(&p, NULL);
        cmd_t cmd;
        cmd_parse_t r = native_parse(&p, (const char *)f, FICKLE_HEADER_SIZE + body + FICKLE_TXN_HEADER_SIZE, &cmd);
        ck_assert_int_eq(r.status, CMD_PARSE_ERROR);
        ck_assert_uint_eq(r.code, FICKLE_STATUS_BAD_REQUEST);
        ck_assert(!r.fatal);
        native_parser_free(&p);
    }
}
END_TEST

/* Random byte flips of a valid body: the parser answers OK or an error,
 * and an OK parse's slices lie inside the body. */
START_TEST(mutations)
{
    size_t len;
    uint8_t *body = example_body(&len);
    uint8_t *m = malloc(len);
    native_txn_t t;
    native_txn_init(&t);
    srand(20);
    for (int round = 0; round < 20000; round++) {
        memcpy(m, body, len);
        for (int k = 0, flips = 1 + rand() % 4; k < flips; k++)
            m[rand() % len] = (uint8_t)rand();
        uint16_t rc = parse(&t, m, len);
        if (rc != FICKLE_STATUS_OK) {
            ck_assert(rc == FICKLE_STATUS_BAD_REQUEST || rc == FICKLE_STATUS_TOO_BIG);
            continue;
        }
        for (size_t i = 0; i < t.nsuccess + t.nfailure; i++) {
            const native_txn_op_t *o = &t.ops[i];
            ck_assert((const uint8_t *)o->key.ptr >= m && (const uint8_t *)o->value.ptr + o->value.len <= m + len);
        }
    }
    free(m);
    free(body);
    native_txn_free(&t);
}
END_TEST

/* The client's builder refuses bad arguments, and the refusal sticks. */
START_TEST(builder_errors)
{
    fickle_txn_t *t = fickle_txn_new();
    ck_assert_int_eq(fickle_txn_compare_value(t, "k", 1, 0, "v", 1), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_txn_get(t, FICKLE_TXN_SUCCESS, "k", 1), FICKLE_ERR_ARG);
    ck_assert_uint_eq(fickle_txn_size(t), 0);
    fickle_txn_free(t);
    t = fickle_txn_new();
    ck_assert_int_eq(fickle_txn_put(t, FICKLE_TXN_SUCCESS, "k", 1, "v", 1, 5, FICKLE_TXN_PUT_KEEPTTL), FICKLE_ERR_ARG);
    fickle_txn_free(t);
    t = fickle_txn_new();
    ck_assert_int_eq(fickle_txn_del(t, (fickle_txn_branch_t)7, "k", 1), FICKLE_ERR_ARG);
    fickle_txn_free(t);
    t = fickle_txn_new();
    ck_assert_int_eq(fickle_txn_get(t, FICKLE_TXN_SUCCESS, NULL, 1), FICKLE_ERR_ARG);
    fickle_txn_free(t);
    t = fickle_txn_new();
    fickle_range_t q;
    fickle_range_init(&q);
    q.flags = 0x80;
    ck_assert_int_eq(fickle_txn_range(t, FICKLE_TXN_SUCCESS, &q), FICKLE_ERR_ARG);
    fickle_txn_free(t);
    /* a RANGE op as encoded: a NULL side becomes START_NONE / END_NONE */
    t = fickle_txn_new();
    fickle_range_init(&q);
    q.start = "a";
    q.start_len = 1;
    q.flags = FICKLE_RANGE_START_INCL | FICKLE_RANGE_KEYS_ONLY;
    q.limit = 7;
    ck_assert_int_eq(fickle_txn_range(t, FICKLE_TXN_FAILURE, &q), FICKLE_OK);
    uint8_t body[64];
    size_t n = fickle_txn_encode(t, body, sizeof(body));
    ck_assert_uint_eq(n, FICKLE_TXN_HEADER_SIZE + FICKLE_TXN_OP_HEADER + 1);
    native_txn_t nt;
    native_txn_init(&nt);
    ck_assert_uint_eq(native_txn_parse(&nt, body, n), FICKLE_STATUS_OK);
    ck_assert_uint_eq(nt.nfailure, 1);
    ck_assert_uint_eq(nt.ops[0].kind, FICKLE_TXN_OP_RANGE);
    ck_assert_uint_eq(nt.ops[0].flags, FICKLE_RANGE_START_INCL | FICKLE_RANGE_KEYS_ONLY | FICKLE_RANGE_END_NONE);
    ck_assert_uint_eq(nt.ops[0].expiry_ms, 7);
    ck_assert_uint_eq(nt.ops[0].value.len, 0);
    native_txn_free(&nt);
    fickle_txn_free(t);
    t = fickle_txn_new();
    ck_assert_uint_eq(fickle_txn_size(t), FICKLE_TXN_HEADER_SIZE); /* an empty TXN is valid */
    uint8_t small[4];
    ck_assert_uint_eq(fickle_txn_encode(t, small, sizeof(small)), 0);
    fickle_txn_free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("txn_parse");
    TCase *tc = tcase_create("txn_parse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, documented_example);
    tcase_add_test(tc, empty_txn);
    tcase_add_test(tc, truncations_and_trailing_bytes);
    tcase_add_test(tc, malformed_compares);
    tcase_add_test(tc, malformed_ops);
    tcase_add_test(tc, limits);
    tcase_add_test(tc, frame_rules);
    tcase_add_test(tc, mutations);
    tcase_add_test(tc, builder_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
