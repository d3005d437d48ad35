/*
 * test_ops.c — command semantics over a real store: Redis's integer and
 * float rules, APPEND/SETRANGE/GETRANGE, SET options, MSETNX and RENAME
 * atomicity, and the glob matcher used by KEYS and SCAN MATCH.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frontend/ops.h"

static store_t *st;
static char path[128];

static void setup(void)
{
    static int n;
    snprintf(path, sizeof(path), "/dev/shm/fickle-test-ops-%d-%d", getpid(), n++);
    store_options_t o = {.size = 8u << 20, .max_value_size = 1u << 20};
    ck_assert_int_eq(store_create(path, &o, &st), STORE_OK);
}

static void teardown(void)
{
    ck_assert_int_eq(store_check(st, NULL, 0), STORE_OK);
    store_close(st);
    store_unlink(path);
}

static void put(const char *k, const char *v)
{
    ck_assert_int_eq(store_put(st, k, strlen(k), v, strlen(v), NULL, NULL), STORE_OK);
}

static void expect_value(const char *k, const char *v, size_t vlen)
{
    store_buf_t b = {0};
    ck_assert_int_eq(store_get(st, k, strlen(k), &b, NULL), STORE_OK);
    ck_assert_uint_eq(b.len, vlen);
    ck_assert_int_eq(memcmp(b.data, v, vlen), 0);
    store_buf_free(&b);
}

START_TEST(parse_integers)
{
    int64_t v;
    ck_assert(cmd_parse_i64("0", 1, &v) && v == 0);
    ck_assert(cmd_parse_i64("-42", 3, &v) && v == -42);
    ck_assert(cmd_parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
    ck_assert(cmd_parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
    ck_assert(!cmd_parse_i64("9223372036854775808", 19, &v));
    ck_assert(!cmd_parse_i64("+1", 2, &v));
    ck_assert(!cmd_parse_i64(" 1", 2, &v));
    ck_assert(!cmd_parse_i64("01", 2, &v));
    ck_assert(!cmd_parse_i64("-0", 2, &v));
    ck_assert(!cmd_parse_i64("", 0, &v));
    ck_assert(!cmd_parse_i64("1x", 2, &v));
}
END_TEST

START_TEST(incr_rules)
{
    int64_t v;
    ck_assert_int_eq(ops_incr(st, "n", 1, 5, &v, NULL), OPS_OK);
    ck_assert_int_eq(v, 5);
    ck_assert_int_eq(ops_incr(st, "n", 1, -7, &v, NULL), OPS_OK);
    ck_assert_int_eq(v, -2);
    expect_value("n", "-2", 2);
    put("big", "9223372036854775807");
    ck_assert_int_eq(ops_incr(st, "big", 3, 1, &v, NULL), OPS_OVERFLOW);
    expect_value("big", "9223372036854775807", 19);
    put("s", "abc");
    ck_assert_int_eq(ops_incr(st, "s", 1, 1, &v, NULL), OPS_NOT_INTEGER);
    /* INCR keeps the key's expiry */
    store_put_opts_t o = {.expiry_ms = store_now_ms(st) + 100000};
    ck_assert_int_eq(store_put(st, "e", 1, "1", 1, &o, NULL), STORE_OK);
    ck_assert_int_eq(ops_incr(st, "e", 1, 1, &v, NULL), OPS_OK);
    store_meta_t m;
    ck_assert_int_eq(store_get(st, "e", 1, NULL, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, o.expiry_ms);
}
END_TEST

START_TEST(incrbyfloat_rules)
{
    char out[64];
    size_t n;
    put("f", "10.50");
    ck_assert_int_eq(ops_incrbyfloat(st, "f", 1, 0.1L, out, sizeof(out), &n), OPS_OK);
    ck_assert_str_eq(out, "10.6");
    ck_assert_int_eq(ops_incrbyfloat(st, "g", 1, 5.0L, out, sizeof(out), &n), OPS_OK);
    ck_assert_str_eq(out, "5");
    put("bad", "1.2.3");
    ck_assert_int_eq(ops_incrbyfloat(st, "bad", 3, 1.0L, out, sizeof(out), &n), OPS_NOT_FLOAT);
}
END_TEST

START_TEST(append_and_setrange)
{
    uint64_t len;
    ck_assert_int_eq(ops_append(st, "a", 1, "foo", 3, &len), OPS_OK);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(ops_append(st, "a", 1, "bar", 3, &len), OPS_OK);
    ck_assert_uint_eq(len, 6);
    expect_value("a", "foobar", 6);
    ck_assert_int_eq(ops_setrange(st, "a", 1, 8, "X", 1, &len), OPS_OK);
    ck_assert_uint_eq(len, 9);
    expect_value("a", "foobar\0\0X", 9);
    ck_assert_int_eq(ops_setrange(st, "none", 4, 3, "", 0, &len), OPS_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(store_exists(st, "none", 4), STORE_NOT_FOUND);
    ck_assert_int_eq(ops_setrange(st, "a", 1, (1u << 20), "x", 1, &len), OPS_TOO_BIG);
}
END_TEST

START_TEST(range_indexes)
{
    size_t f, t;
    ops_range_indexes(0, 3, 13, &f, &t); /* "This is a string" style cases */
    ck_assert(f == 0 && t == 4);
    ops_range_indexes(-3, -1, 13, &f, &t);
    ck_assert(f == 10 && t == 13);
    ops_range_indexes(0, -1, 13, &f, &t);
    ck_assert(f == 0 && t == 13);
    ops_range_indexes(10, 100, 13, &f, &t);
    ck_assert(f == 10 && t == 13);
    ops_range_indexes(5, 2, 13, &f, &t);
    ck_assert(f == t);
    ops_range_indexes(0, 0, 0, &f, &t);
    ck_assert(f == t);
}
END_TEST

START_TEST(set_options)
{
    ops_set_t o = {.flags = STORE_PUT_NX};
    ck_assert_int_eq(ops_set(st, "k", 1, "v1", 2, &o, NULL, NULL), OPS_OK);
    ck_assert_int_eq(ops_set(st, "k", 1, "v2", 2, &o, NULL, NULL), OPS_NIL);
    o.flags = STORE_PUT_XX;
    ck_assert_int_eq(ops_set(st, "missing", 7, "v", 1, &o, NULL, NULL), OPS_NIL);
    store_buf_t old = {0};
    bool had = false;
    o.flags = 0;
    ck_assert_int_eq(ops_set(st, "k", 1, "v3", 2, &o, &old, &had), OPS_OK);
    ck_assert(had);
    ck_assert_uint_eq(old.len, 2);
    ck_assert_int_eq(memcmp(old.data, "v1", 2), 0);
    ck_assert_int_eq(ops_set(st, "new", 3, "x", 1, &o, &old, &had), OPS_OK);
    ck_assert(!had);
    store_buf_free(&old);
    expect_value("k", "v3", 2);
}
END_TEST

START_TEST(msetnx_all_or_nothing)
{
    put("b", "exists");
    ops_pair_t pairs[] = {{"a", 1, "1", 1}, {"b", 1, "2", 1}, {"c", 1, "3", 1}};
    ck_assert_int_eq(ops_mset(st, pairs, 3, true, NULL), OPS_NIL);
    ck_assert_int_eq(store_exists(st, "a", 1), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists(st, "c", 1), STORE_NOT_FOUND);
    uint64_t version = 0;
    ck_assert_int_eq(ops_mset(st, pairs, 3, false, &version), OPS_OK);
    ck_assert_uint_gt(version, 0);
    for (size_t i = 0; i < 3; i++) { /* one change: one version on every entry */
        store_meta_t meta;
        ck_assert_int_eq(store_get(st, pairs[i].key, pairs[i].klen, NULL, &meta), STORE_OK);
        ck_assert_uint_eq(meta.version, version);
    }
    expect_value("b", "2", 1);
    ck_assert_uint_eq(store_count(st), 3);
}
END_TEST

START_TEST(rename_moves_value_and_expiry)
{
    store_put_opts_t o = {.expiry_ms = store_now_ms(st) + 50000};
    ck_assert_int_eq(store_put(st, "src", 3, "val", 3, &o, NULL), STORE_OK);
    ck_assert_int_eq(ops_rename(st, "src", 3, "dst", 3, false), OPS_OK);
    ck_assert_int_eq(store_exists(st, "src", 3), STORE_NOT_FOUND);
    store_meta_t m;
    ck_assert_int_eq(store_get(st, "dst", 3, NULL, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, o.expiry_ms);
    ck_assert_int_eq(ops_rename(st, "nope", 4, "x", 1, false), OPS_NO_SUCH_KEY);
    put("other", "o");
    ck_assert_int_eq(ops_rename(st, "dst", 3, "other", 5, true), OPS_NIL);
    expect_value("other", "o", 1);
    ck_assert_int_eq(ops_rename(st, "dst", 3, "dst", 3, false), OPS_OK);
    expect_value("dst", "val", 3);
}
END_TEST

START_TEST(glob)
{
    struct { const char *pat, *s; bool want; } cases[] = {
        {"*", "", true},          {"*", "anything", true},   {"h?llo", "hello", true},
        {"h?llo", "hllo", false}, {"h*llo", "heeeello", true}, {"h[ae]llo", "hallo", true},
        {"h[ae]llo", "hillo", false}, {"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false},
        {"h[a-b]llo", "hbllo", true}, {"h[a-b]llo", "hcllo", false}, {"h\\*llo", "h*llo", true},
        {"h\\*llo", "hello", false}, {"user:*:name", "user:42:name", true}, {"a*b*c", "aXXbYYc", true},
        {"a*b*c", "aXXbYY", false}, {"*.txt", "notes.txt.bak", false}, {"[", "[", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(ops_glob_match(cases[i].pat, strlen(cases[i].pat), cases[i].s, strlen(cases[i].s), false) ==
                          cases[i].want,
                      "pattern '%s' on '%s'", cases[i].pat, cases[i].s);
    ck_assert(ops_glob_match("HELLO", 5, "hello", 5, true));
    /* A hostile pattern must not take exponential time. */
    char s[4096];
    memset(s, 'a', sizeof(s));
    ck_assert(!ops_glob_match("*a*a*a*a*a*a*a*a*b", 18, s, sizeof(s), false));
}
END_TEST

static Suite *ops_suite(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("ops");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parse_integers);
    tcase_add_test(tc, incr_rules);
    tcase_add_test(tc, incrbyfloat_rules);
    tcase_add_test(tc, append_and_setrange);
    tcase_add_test(tc, range_indexes);
    tcase_add_test(tc, set_options);
    tcase_add_test(tc, msetnx_all_or_nothing);
    tcase_add_test(tc, rename_moves_value_and_expiry);
    tcase_add_test(tc, glob);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
