/*
 * test_resp_keys.c — RESP key-space commands of the real fickled against
 * Redis 7: DEL/UNLINK/EXISTS/TYPE, the EXPIRE family, TTL/PTTL/PERSIST,
 * expiry hiding keys from every command, KEYS globs, SCAN, RANDOMKEY,
 * RENAME/RENAMENX, and fickle's own RANGE/RCOUNT. Table expectations are
 * checked on a redis-server started here too (skipped if none); RC_FICKLE
 * rows are fickle's own (key order, ranges, SCAN cursors are positions).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness.h"
#include "tests/resp_check.h"


/* MSET prefix0000 .. prefix<n-1> (value = the index) in one request. */
static void mset_many(fk_conn_t *c, const char *prefix, int n)
{
    const char **argv = calloc((size_t)(2 * n + 1), sizeof(char *));
    char(*bufs)[48] = calloc((size_t)(2 * n), sizeof(*bufs));
    argv[0] = "MSET";
    for (int i = 0; i < n; i++) {
        snprintf(bufs[2 * i], 48, "%s%04d", prefix, i);
        snprintf(bufs[2 * i + 1], 48, "%d", i);
        argv[2 * i + 1] = bufs[2 * i];
        argv[2 * i + 2] = bufs[2 * i + 1];
    }
    ck_assert_int_eq(fk_send(c, 2 * n + 1, argv, NULL), 0);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    free(argv);
    free(bufs);
}

/* ---- DEL, EXISTS, TYPE, RENAME ------------------------------------------------------- */

START_TEST(del_exists_type)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2 c 3 d 4", "+OK", 0},
        {"EXISTS a", ":1", 0},
        {"EXISTS a a a zz", ":3", 0}, /* duplicates counted */
        {"EXISTS zz", ":0", 0},
        {"DEL a a zz", ":1", 0},      /* a key deleted once */
        {"DEL a", ":0", 0},
        {"UNLINK b c zz", ":2", 0},
        {"EXISTS a b c d", ":1", 0},
        {"TYPE d", "+string", 0},
        {"TYPE zz", "+none", 0},
        {"TYPE a b", "-ERR wrong number of arguments for 'type' command", 0},
        {"DEL", "-ERR wrong number of arguments for 'del' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(rename_commands)
{
    const rc_step_t steps[] = {
        {"SET a 1 EX 100", "+OK", 0},
        {"RENAME a a2", "+OK", 0},
        {"GET a2", "\"1\"", 0},
        {"EXISTS a", ":0", 0},
        {"TTL a2", ":100", 0}, /* the expiry moves with the value */
        {"SET b 2", "+OK", 0},
        {"RENAME a2 b", "+OK", 0}, /* overwrites */
        {"GET b", "\"1\"", 0},
        {"TTL b", ":100", 0},
        {"RENAME nokey x", "-ERR no such key", 0},
        {"RENAMENX nokey x", "-ERR no such key", 0},
        {"RENAME nokey nokey", "-ERR no such key", 0},
        {"RENAME b b", "+OK", 0},
        {"RENAMENX b b", ":0", 0},
        {"SET c 3", "+OK", 0},
        {"RENAMENX b c", ":0", 0},
        {"GET c", "\"3\"", 0},
        {"RENAMENX b d", ":1", 0},
        {"EXISTS b d", ":1", 0},
        {"RENAME d", "-ERR wrong number of arguments for 'rename' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* ---- expiry ----------------------------------------------------------------------------- */

START_TEST(expire_conditions)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2", "+OK", 0},
        {"EXPIRE a 100", ":1", 0},
        {"TTL a", ":100", 0},
        {"EXPIRE a 200 NX", ":0", 0},
        {"EXPIRE a 200 XX", ":1", 0},
        {"TTL a", ":200", 0},
        {"EXPIRE a 50 GT", ":0", 0},
        {"EXPIRE a 300 GT", ":1", 0},
        {"EXPIRE a 400 LT", ":0", 0},
        {"EXPIRE a 100 LT", ":1", 0},
        {"TTL a", ":100", 0},
        {"EXPIRE b 100 XX", ":0", 0},
        {"EXPIRE b 100 GT", ":0", 0}, /* no expiry counts as infinite */
        {"EXPIRE b 100 LT", ":1", 0},
        {"PERSIST b", ":1", 0},
        {"EXPIRE b 100 NX", ":1", 0},
        {"EXPIRE b 100 gt lt", "-ERR GT and LT options at the same time are not compatible", 0},
        {"EXPIRE b 100 NX XX", "-ERR NX and XX, GT or LT options at the same time are not compatible", 0},
        {"EXPIRE b 100 NX GT", "-ERR NX and XX, GT or LT options at the same time are not compatible", 0},
        {"EXPIRE b 100 bogus", "-ERR Unsupported option bogus", 0},
        {"PEXPIRE b 100 bogus", "-ERR Unsupported option bogus", 0},
        {"EXPIRE b abc", "-ERR value is not an integer or out of range", 0},
        {"EXPIRE b 1.5", "-ERR value is not an integer or out of range", 0},
        {"EXPIRE nokey 100", ":0", 0},
        {"EXPIRE b 9223372036854775807", "-ERR invalid expire time in 'expire' command", 0},
        {"EXPIRE b 9223372036854775", "-ERR invalid expire time in 'expire' command", 0},
        {"PEXPIRE b 9223372036854775807", "-ERR invalid expire time in 'pexpire' command", 0},
        {"EXPIREAT b 9223372036854775807", "-ERR invalid expire time in 'expireat' command", 0},
        {"EXPIRE b -9223372036854775808", "-ERR invalid expire time in 'expire' command", 0},
        {"PEXPIREAT b 9223372036854775807", ":1", 0},
        {"TTL b", "~:922337*", 0},
        {"EXPIRE b", "-ERR wrong number of arguments for 'expire' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(expire_times)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2 c 3 d 4 e 5", "+OK", 0},
        {"PEXPIRE a 100000", ":1", 0},
        {"TTL a", ":100", 0},
        {"PTTL a", "~:*", 0},
        {"EXPIREAT b 4102444800", ":1", 0}, /* 2100-01-01 */
        {"PEXPIREAT c 4102444800000", ":1", 0},
        {"EXPIRE d 0", ":1", 0},            /* now or past: deleted */
        {"EXISTS d", ":0", 0},
        {"PEXPIRE e -5", ":1", 0},
        {"EXISTS e", ":0", 0},
        {"EXPIREAT b 1", ":1", 0},
        {"PEXPIREAT c 1", ":1", 0},
        {"EXISTS b c", ":0", 0},
        {"TTL nokey", ":-2", 0},
        {"PTTL nokey", ":-2", 0},
        {"SET p v", "+OK", 0},
        {"TTL p", ":-1", 0},
        {"PTTL p", ":-1", 0},
        {"PERSIST p", ":0", 0},
        {"PERSIST nokey", ":0", 0},
        {"PERSIST a", ":1", 0},
        {"TTL a", ":-1", 0},
        {"SET c 3 EX 100", "+OK", 0},
        {"SET c 4 KEEPTTL", "+OK", 0},
        {"TTL c", ":100", 0},
        {"SET c 5", "+OK", 0},
        {"TTL c", ":-1", 0},
        {"SET t v PX 2400", "+OK", 0},
        {"TTL t", ":2", 0}, /* rounded to the nearest second, as Redis */
        {"PERSIST", "-ERR wrong number of arguments for 'persist' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* PTTL counts down in milliseconds. */
    fk_expect_status(rc.fk, "SET pt v PX 100000", "OK");
    rv_t *r = fk_cmd(rc.fk, "PTTL pt");
    ck_assert(r && r->type == RV_INT && r->i > 99000 && r->i <= 100000);
    rv_free(r);
}
END_TEST

/* A key past its expiry is gone for every command, in both servers. */
START_TEST(expired_keys_are_hidden)
{
    const rc_step_t steps[] = {
        {"MSET e1 1 e2 2 e3 3 e4 4 e5 5 e6 6 e7 7 e8 8 e9 9 keep x", "+OK", 0},
        {"PEXPIRE e1 40", ":1", 0}, {"PEXPIRE e2 40", ":1", 0}, {"PEXPIRE e3 40", ":1", 0},
        {"PEXPIRE e4 40", ":1", 0}, {"PEXPIRE e5 40", ":1", 0}, {"PEXPIRE e6 40", ":1", 0},
        {"PEXPIRE e7 40", ":1", 0}, {"PEXPIRE e8 40", ":1", 0}, {"SET e9 9 PX 40", "+OK", 0},
        {"GET e1", "\"1\"", 0},
        {"sleep 120", NULL, 0},
        {"GET e1", "nil", 0},
        {"MGET e1 keep", "[nil, \"x\"]", 0},
        {"EXISTS e1 e2 keep", ":1", 0},
        {"TTL e1", ":-2", 0},
        {"PTTL e1", ":-2", 0},
        {"TYPE e1", "+none", 0},
        {"STRLEN e1", ":0", 0},
        {"GETRANGE e1 0 -1", "\"\"", 0},
        {"KEYS e*", "[]", 0},
        {"KEYS *", "[\"keep\"]", 0},
        {"SCAN 0", "[\"0\", [\"keep\"]]", 0},
        {"RANGE - +", "[\"keep\"]", RC_FICKLE},
        {"RCOUNT - +", ":1", RC_FICKLE},
        {"RANDOMKEY", "\"keep\"", 0},
        {"SETNX e1 new", ":1", 0},
        {"TTL e1", ":-1", 0},
        {"INCR e2", ":1", 0}, /* starts from 0, without the old expiry */
        {"TTL e2", ":-1", 0},
        {"APPEND e3 z", ":1", 0},
        {"GETSET e4 v", "nil", 0},
        {"SET e5 v XX", "nil", 0},
        {"EXISTS e5", ":0", 0},
        {"RENAME e6 x", "-ERR no such key", 0},
        {"MSETNX e7 a keep b", ":0", 0},
        {"MSETNX e7 a zz b", ":1", 0},
        {"EXPIRE e8 100", ":0", 0},
        {"PERSIST e8", ":0", 0},
        {"GETDEL e8", "nil", 0},
        {"GETEX e9 PERSIST", "nil", 0},
        {"DEL e8 e9", ":0", 0},
        {"KEYS *", "[\"e1\", \"e2\", \"e3\", \"e4\", \"e7\", \"keep\", \"zz\"]", RC_SORT},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* ---- KEYS -------------------------------------------------------------------------------- */

static const char *const glob_keys =
    "MSET a 1 b 1 ab 1 abc 1 a*c 1 a?c 1 a[c 1 a]c 1 a\\\\c 1 a-c 1 A 1 B 1 z 1 \\e 1 h\\x00llo 1 hallo 1 "
    "hello 1 hillo 1 hxllo 1 heeeello 1 x^y 1 x!y 1 a\\\\ 1 [ 1 ] 1 \\\\ 1 user:1 1 user:22 1";

START_TEST(keys_globs_as_redis)
{
    static const char *const pats[] = {
        "*", "?", "??", "a*", "*c", "a?c", "a\\\\*c", "a\\\\?c", "a[*]c", "a[[]c", "a[]]c", "a[\\\\]]c",
        "a\\\\\\\\c", "a[\\\\\\\\]c", "a[", "a[c", "[", "]", "a[b-c", "[a-b]*", "[b-a]*", "[A-Z]", "[^a]",
        "[!a]", "x[^!]y", "x[!^]y", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h*llo", "h?llo", "h\\x00llo",
        "h[\\x00]llo", "a\\\\", "a*\\\\", "\\\\a", "*\\\\*", "*?*", "a-c", "a[-]c", "[[]", "[^]", "a[^]c",
        "x[!]y", "*[", "\\\\", "\\\\\\\\", "[\\\\", "[a-", "H*", "*LLO", "[^", "?*?", "a[]c", "[]]",
        "user:*", "user:?", "user:??", "user:[0-9]*", "\\e", "nomatch*",
    };
    const rc_step_t setup[] = {{glob_keys, "+OK", 0}};
    RC_RUN(rc.fk, rc.rd, setup);
    char line[64];
    for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
        snprintf(line, sizeof(line), "KEYS %s", pats[i]);
        const char *one[] = {line};
        rc_diff(rc.fk, rc.rd, one, 1, true); /* Redis's reply sorted: fickle's must be in key order already */
    }
}
END_TEST

START_TEST(keys_in_key_order)
{
    const rc_step_t steps[] = {
        {"MSET user:3 c user:1 a user:10 x user:2 b usera z user: e", "+OK", 0},
        {"KEYS user:*", "[\"user:\", \"user:1\", \"user:10\", \"user:2\", \"user:3\"]", RC_SORT},
        {"KEYS user:?", "[\"user:1\", \"user:2\", \"user:3\"]", RC_SORT},
        {"KEYS *", "[\"user:\", \"user:1\", \"user:10\", \"user:2\", \"user:3\", \"usera\"]", RC_SORT},
        {"KEYS *[ae]", "[\"usera\"]", 0},
        {"KEYS nomatch", "[]", 0},
        {"KEYS a b", "-ERR wrong number of arguments for 'keys' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* Across the walk's pages (1,024 keys each). */
    mset_many(rc.fk, "k", 2500);
    rv_t *r = fk_cmd(rc.fk, "KEYS k*");
    ck_assert(r && r->type == RV_ARRAY && r->n == 2500);
    for (size_t i = 0; i < r->n; i++) {
        char want[32];
        snprintf(want, sizeof(want), "k%04zu", i);
        ck_assert_str_eq(r->elems[i].s, want);
    }
    rv_free(r);
    fk_expect_int(rc.fk, "DBSIZE", 2506);
}
END_TEST

/* ---- SCAN -------------------------------------------------------------------------------- */

/* Scans to the end with the given options; checks every key k0000..k<n-1>
 * that matches "k*<digit>" (digit < 0: all) comes exactly once, in order. */
static void scan_all(fk_conn_t *c, int n, const char *opts, int digit)
{
    char line[128], cursor[32] = "0";
    int next = 0, calls = 0;
    do {
        snprintf(line, sizeof(line), "SCAN %s%s", cursor, opts);
        rv_t *r = fk_cmd(c, line);
        ck_assert_msg(r && r->type == RV_ARRAY && r->n == 2, "%s: bad reply", line);
        snprintf(cursor, sizeof(cursor), "%s", r->elems[0].s);
        for (size_t i = 0; i < r->elems[1].n; i++) {
            while (digit >= 0 && next % 10 != digit)
                next++;
            char want[32];
            snprintf(want, sizeof(want), "k%04d", next++);
            ck_assert_msg(strcmp(r->elems[1].elems[i].s, want) == 0, "%s: got %s, want %s", line,
                          r->elems[1].elems[i].s, want);
        }
        rv_free(r);
        ck_assert_int_lt(++calls, 10000);
    } while (strcmp(cursor, "0") != 0);
    while (digit >= 0 && next < n && next % 10 != digit)
        next++;
    ck_assert_msg(next == n, "SCAN%s saw %d of %d keys", opts, next, n);
}

START_TEST(scan_visits_each_key_once_in_order)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    mset_many(rc.fk, "k", 2500);
    scan_all(rc.fk, 2500, "", -1);
    scan_all(rc.fk, 2500, " COUNT 7", -1);
    scan_all(rc.fk, 2500, " COUNT 1000", -1);
    scan_all(rc.fk, 2500, " COUNT 100000", -1);
    scan_all(rc.fk, 2500, " MATCH k*3 COUNT 33", 3);
    scan_all(rc.fk, 2500, " TYPE string COUNT 500", -1);
    const char *none[] = {"SCAN 0 TYPE hash COUNT 5000", "SCAN 0 MATCH K* COUNT 5000"}; /* strings only; case counts */
    for (size_t i = 0; i < 2; i++) {
        rv_t *r = fk_cmd(rc.fk, none[i]);
        ck_assert_msg(r && r->type == RV_ARRAY && strcmp(r->elems[0].s, "0") == 0 && r->elems[1].n == 0, "%s", none[i]);
        rv_free(r);
    }
}
END_TEST

/* A cursor is a position in key order: another connection can continue
 * it, and keys deleted behind the cursor do not make SCAN skip any. */
START_TEST(scan_cursor_semantics)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    mset_many(rc.fk, "k", 100);
    rv_t *a = fk_cmd(rc.fk, "SCAN 0 COUNT 10");
    ck_assert(a && strcmp(a->elems[0].s, "10") == 0 && strcmp(a->elems[1].elems[9].s, "k0009") == 0);
    rv_free(a);
    fk_conn_t *other = fk_connect(rc.srv.resp_port);
    rv_t *b = fk_cmd(other, "SCAN 10 COUNT 10");
    ck_assert(b && strcmp(b->elems[0].s, "20") == 0 && strcmp(b->elems[1].elems[0].s, "k0010") == 0);
    rv_free(b);
    fk_close(other);
    /* Delete what was already returned while scanning on. */
    char cursor[32] = "0", line[64];
    int seen = 0;
    do {
        snprintf(line, sizeof(line), "SCAN %s COUNT 10", cursor);
        rv_t *r = fk_cmd(rc.fk, line);
        snprintf(cursor, sizeof(cursor), "%s", r->elems[0].s);
        for (size_t i = 0; i < r->elems[1].n; i++, seen++) {
            char del[32], want[32];
            snprintf(want, sizeof(want), "k%04d", seen);
            ck_assert_str_eq(r->elems[1].elems[i].s, want);
            snprintf(del, sizeof(del), "DEL %s", r->elems[1].elems[i].s);
            fk_expect_int(rc.fk, del, 1);
        }
        rv_free(r);
    } while (strcmp(cursor, "0") != 0);
    ck_assert_int_eq(seen, 100);
}
END_TEST

START_TEST(scan_errors_and_edges)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2", "+OK", 0},
        {"SCAN x", "-ERR invalid cursor", 0},
        {"SCAN 1.5", "-ERR invalid cursor", 0},
        {"SCAN \\s1", "-ERR invalid cursor", 0},
        {"SCAN 1x", "-ERR invalid cursor", 0},
        {"SCAN 18446744073709551616", "-ERR invalid cursor", 0},
        {"SCAN -1", "~[\"0\", [*]]", 0}, /* wraps round, as strtoul */
        {"SCAN \\e", "~[\"0\", [*]]", 0},
        {"SCAN 0 COUNT 0", "-ERR syntax error", 0},
        {"SCAN 0 COUNT -1", "-ERR syntax error", 0},
        {"SCAN 0 COUNT x", "-ERR value is not an integer or out of range", 0},
        {"SCAN 0 MATCH", "-ERR syntax error", 0},
        {"SCAN 0 TYPE", "-ERR syntax error", 0},
        {"SCAN 0 COUNT 5 bogus", "-ERR syntax error", 0},
        {"SCAN 0 bogus x", "-ERR syntax error", 0},
        {"SCAN 0 MATCH a COUNT 10", "[\"0\", [\"a\"]]", 0},
        {"SCAN 0 COUNT 10 MATCH nomatch", "[\"0\", []]", 0},
        {"SCAN", "-ERR wrong number of arguments for 'scan' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* fickle's cursors count keys; past the end there is nothing, whatever
 * this worker read last (its scratch rows are another query's). */
START_TEST(scan_cursor_positions)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2", "+OK", RC_FICKLE},
        {"SCAN 0 COUNT 1", "[\"1\", [\"a\"]]", RC_FICKLE},
        {"SCAN 1 COUNT 1", "[\"2\", [\"b\"]]", RC_FICKLE},
        {"SCAN 2 COUNT 1", "[\"0\", []]", RC_FICKLE},
        {"SCAN 1 COUNT 5", "[\"0\", [\"b\"]]", RC_FICKLE},
        {"KEYS *", "[\"a\", \"b\"]", RC_FICKLE},
        {"SCAN 99999", "[\"0\", []]", RC_FICKLE},
        {"RANGE - + WITHVALUES", "[\"a\", \"1\", \"b\", \"2\"]", RC_FICKLE},
        {"SCAN 18446744073709551615", "[\"0\", []]", RC_FICKLE},
        {"SCAN -1", "[\"0\", []]", RC_FICKLE},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* ---- RANDOMKEY, FLUSH -------------------------------------------------------------------- */

START_TEST(randomkey_picks_live_keys)
{
    const rc_step_t steps[] = {
        {"RANDOMKEY", "nil", 0},
        {"SET only v", "+OK", 0},
        {"RANDOMKEY", "\"only\"", 0},
        {"SET gone v PX 20", "+OK", 0},
        {"sleep 60", NULL, 0},
        {"RANDOMKEY", "\"only\"", 0},
        {"RANDOMKEY x", "-ERR wrong number of arguments for 'randomkey' command", 0},
        {"FLUSHDB", "+OK", 0},
        {"RANDOMKEY", "nil", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* Keys spread over the byte space: several distinct answers, all live. */
    fk_expect_status(rc.fk, "MSET \x10k 1 Pk 2 \x90k 3 \xd0k 4", "OK");
    int seen[256] = {0}, distinct = 0;
    for (int i = 0; i < 100; i++) {
        rv_t *r = fk_cmd(rc.fk, "RANDOMKEY");
        ck_assert(r && r->type == RV_BULK && r->len == 2 && r->s[1] == 'k');
        unsigned char first = (unsigned char)r->s[0];
        ck_assert(first == 0x10 || first == 'P' || first == 0x90 || first == 0xd0);
        distinct += seen[first]++ == 0;
        rv_free(r);
    }
    ck_assert_int_ge(distinct, 2);
}
END_TEST

/* ---- RANGE, RCOUNT (fickle's own) ------------------------------------------------------- */

#define F RC_FICKLE

START_TEST(range_bounds_and_options)
{
    const rc_step_t steps[] = {
        {"MSET user:1 ann user:2 bob user:3 cid a 1 z 26", "+OK", 0},
        {"RANGE [user: (user;", "[\"user:1\", \"user:2\", \"user:3\"]", F},
        {"RANGE (user:1 + REV LIMIT 1 WITHVALUES", "[\"z\", \"26\"]", F},
        {"RCOUNT [user:2 +", ":3", F},
        {"RANGE - +", "[\"a\", \"user:1\", \"user:2\", \"user:3\", \"z\"]", F},
        {"RANGE - + REV", "[\"z\", \"user:3\", \"user:2\", \"user:1\", \"a\"]", F},
        {"RANGE - + withvalues rev limit 2", "[\"z\", \"26\", \"user:3\", \"cid\"]", F},
        {"RANGE [user:1 [user:1 WITHVALUES", "[\"user:1\", \"ann\"]", F},
        {"RANGE (user:1 (user:3", "[\"user:2\"]", F},
        {"RANGE (user:1 (user:3 REV", "[\"user:2\"]", F},
        {"RANGE [user:3 [user:1", "[]", F}, /* min above max */
        {"RANGE + -", "[]", F},
        {"RANGE + +", "[]", F},
        {"RANGE - -", "[]", F},
        {"RANGE [a [z LIMIT 0", "[]", F},
        {"RANGE [a [z LIMIT -1", "[\"a\", \"user:1\", \"user:2\", \"user:3\", \"z\"]", F},
        {"RANGE [a [z LIMIT 2", "[\"a\", \"user:1\"]", F},
        {"RANGE - + LIMIT 1 LIMIT 3", "[\"a\", \"user:1\", \"user:2\"]", F},
        {"RCOUNT - +", ":5", F},
        {"RCOUNT + -", ":0", F},
        {"RCOUNT (a (z", ":3", F},
        {"RCOUNT [a [a", ":1", F},
        {"RCOUNT (a [a", ":0", F},
        {"RCOUNT [ +", ":5", F}, /* "[" is the empty key, inclusive */
        {"RANGE a z", "-ERR min or max not valid string range item", F},
        {"RANGE [a z", "-ERR min or max not valid string range item", F},
        {"RANGE -a +", "-ERR min or max not valid string range item", F},
        {"RANGE \\e +", "-ERR min or max not valid string range item", F},
        {"RCOUNT - +x", "-ERR min or max not valid string range item", F},
        {"RANGE [a [z LIMIT x", "-ERR value is not an integer or out of range", F},
        {"RANGE - + bogus", "-ERR syntax error", F},
        {"RANGE - + LIMIT", "-ERR syntax error", F},
        {"RANGE -", "-ERR wrong number of arguments for 'range' command", F},
        {"RCOUNT -", "-ERR wrong number of arguments for 'rcount' command", F},
        {"RCOUNT - + x", "-ERR wrong number of arguments for 'rcount' command", F},
        {"MSET \\x00 nul \\xff ff \\e empty", "+OK", F},
        {"RANGE - [\\x00 WITHVALUES", "[\"\", \"empty\", \"\\x00\", \"nul\"]", F},
        {"RANGE (z + WITHVALUES", "[\"\\xff\", \"ff\"]", F},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* RANGE across the walk's pages, forwards and backwards, with limits. */
START_TEST(range_over_many_keys)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    mset_many(rc.fk, "k", 2500);
    fk_expect_int(rc.fk, "RCOUNT - +", 2500);
    fk_expect_int(rc.fk, "RCOUNT [k1000 (k2000", 1000);
    const struct {
        const char *line;
        int first, count, step;
    } cases[] = {
        {"RANGE - +", 0, 2500, 1},
        {"RANGE - + REV", 2499, 2500, -1},
        {"RANGE (k0100 [k2300", 101, 2200, 1},
        {"RANGE (k0100 [k2300 REV LIMIT 1500", 2300, 1500, -1},
        {"RANGE [k1023 + LIMIT 1026", 1023, 1026, 1},
        {"RANGE - (k2048 REV", 2047, 2048, -1},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        rv_t *r = fk_cmd(rc.fk, cases[c].line);
        ck_assert_msg(r && r->type == RV_ARRAY && (int)r->n == cases[c].count, "%s: %zu rows", cases[c].line,
                      r ? r->n : 0);
        for (int i = 0; i < cases[c].count; i++) {
            char want[32];
            snprintf(want, sizeof(want), "k%04d", cases[c].first + i * cases[c].step);
            ck_assert_msg(strcmp(r->elems[i].s, want) == 0, "%s: row %d is %s", cases[c].line, i, r->elems[i].s);
        }
        rv_free(r);
    }
    rv_t *v = fk_cmd(rc.fk, "RANGE [k2498 + WITHVALUES");
    ck_assert(v && v->n == 4 && strcmp(v->elems[1].s, "2498") == 0 && strcmp(v->elems[3].s, "2499") == 0);
    rv_free(v);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("resp_keys");
    TCase *tc = tcase_create("against_redis");
    tcase_add_unchecked_fixture(tc, rc_servers_up, rc_servers_down);
    tcase_add_checked_fixture(tc, rc_connect_both, rc_close_both);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, del_exists_type);
    tcase_add_test(tc, rename_commands);
    tcase_add_test(tc, expire_conditions);
    tcase_add_test(tc, expire_times);
    tcase_add_test(tc, expired_keys_are_hidden);
    tcase_add_test(tc, keys_globs_as_redis);
    tcase_add_test(tc, keys_in_key_order);
    tcase_add_test(tc, scan_visits_each_key_once_in_order);
    tcase_add_test(tc, scan_cursor_semantics);
    tcase_add_test(tc, scan_errors_and_edges);
    tcase_add_test(tc, scan_cursor_positions);
    tcase_add_test(tc, randomkey_picks_live_keys);
    tcase_add_test(tc, range_bounds_and_options);
    tcase_add_test(tc, range_over_many_keys);
    suite_add_tcase(s, tc);
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
