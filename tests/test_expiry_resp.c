/*
 * test_expiry_resp.c — every RESP form that sets or reads an expiry, on
 * the real fickled and on a redis-server started in the same run (the
 * table expectations hold for both; skipped if Redis is not installed):
 * SET EX/PX/EXAT/PXAT/KEEPTTL with NX/XX/GET, SETEX/PSETEX, GETEX with
 * each option, EXPIRETIME/PEXPIRETIME, and INFO's expires= count.
 * (EXPIRE's NX/XX/GT/LT, TTL/PTTL/PERSIST: test_resp_keys.)
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/resp_check.h"

START_TEST(set_expiry_forms)
{
    const rc_step_t steps[] = {
        {"SET a 1 EX 100", "+OK", 0},
        {"TTL a", ":100", 0},
        {"SET b 1 PX 100700", "+OK", 0},
        {"TTL b", ":101", 0}, /* rounded to the nearest second */
        {"SET c 1 EXAT 4102444800", "+OK", 0},
        {"EXPIRETIME c", ":4102444800", 0},
        {"SET d 1 PXAT 4102444800123", "+OK", 0},
        {"PEXPIRETIME d", ":4102444800123", 0},
        {"EXPIRETIME d", ":4102444800", 0},
        {"SET a 2 GET EX 200", "\"1\"", 0},
        {"TTL a", ":200", 0},
        {"SET a 3 KEEPTTL GET", "\"2\"", 0},
        {"TTL a", ":200", 0},
        {"SET a 4 GET", "\"3\"", 0},
        {"TTL a", ":-1", 0},
        {"SET new 1 GET PX 50000", "nil", 0},
        {"TTL new", ":50", 0},
        {"SET new 2 NX GET EX 10", "\"1\"", 0},
        {"TTL new", ":50", 0},
        {"SET new 3 XX GET EX 10", "\"1\"", 0},
        {"TTL new", ":10", 0},
        {"SET gone 1 PXAT 1", "+OK", 0}, /* in the past: stored already expired */
        {"EXISTS gone", ":0", 0},
        {"SET gone 1 EXAT 1 GET", "nil", 0},
        {"SET a 1 EX 0", "-ERR invalid expire time in 'set' command", 0},
        {"SET a 1 PX -5", "-ERR invalid expire time in 'set' command", 0},
        {"SET a 1 EXAT 0", "-ERR invalid expire time in 'set' command", 0},
        {"SET a 1 EX 9223372036854775807", "-ERR invalid expire time in 'set' command", 0},
        {"SET a 1 EX abc", "-ERR value is not an integer or out of range", 0},
        {"SET a 1 EX 10 PX 10", "-ERR syntax error", 0},
        {"SET a 1 EX 10 KEEPTTL", "-ERR syntax error", 0},
        {"SET a 1 EX", "-ERR syntax error", 0},
        {"TTL a", ":-1", 0}, /* the failed SETs changed nothing */
        {"SETEX s 100 v", "+OK", 0},
        {"TTL s", ":100", 0},
        {"PSETEX p 100000 v", "+OK", 0},
        {"TTL p", ":100", 0},
        {"SETEX s 0 v", "-ERR invalid expire time in 'setex' command", 0},
        {"PSETEX p -1 v", "-ERR invalid expire time in 'psetex' command", 0},
        {"SETEX s abc v", "-ERR value is not an integer or out of range", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(getex_forms)
{
    const rc_step_t steps[] = {
        {"SET k v", "+OK", 0},
        {"GETEX k", "\"v\"", 0},
        {"TTL k", ":-1", 0},
        {"GETEX k EX 100", "\"v\"", 0},
        {"TTL k", ":100", 0},
        {"GETEX k", "\"v\"", 0},
        {"TTL k", ":100", 0}, /* no option: the expiry stays */
        {"GETEX k PX 200000", "\"v\"", 0},
        {"TTL k", ":200", 0},
        {"GETEX k EXAT 4102444800", "\"v\"", 0},
        {"EXPIRETIME k", ":4102444800", 0},
        {"GETEX k PXAT 4102444800999", "\"v\"", 0},
        {"PEXPIRETIME k", ":4102444800999", 0},
        {"GETEX k PERSIST", "\"v\"", 0},
        {"TTL k", ":-1", 0},
        {"GETEX k PXAT 1", "\"v\"", 0}, /* in the past: the value, then gone */
        {"EXISTS k", ":0", 0},
        {"GETEX nokey EX 10", "nil", 0},
        {"SET k v", "+OK", 0},
        {"GETEX k EX 0", "-ERR invalid expire time in 'getex' command", 0},
        {"GETEX k PX -1", "-ERR invalid expire time in 'getex' command", 0},
        {"GETEX k EX 10 PX 10", "-ERR syntax error", 0},
        {"GETEX k EX 10 PERSIST", "-ERR syntax error", 0},
        {"GETEX k KEEPTTL", "-ERR syntax error", 0},
        {"GETEX k EX", "-ERR syntax error", 0},
        {"GETEX k EX x", "-ERR value is not an integer or out of range", 0},
        {"TTL k", ":-1", 0},
        {"GETEX", "-ERR wrong number of arguments for 'getex' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(expiretime_commands)
{
    const rc_step_t steps[] = {
        {"EXPIRETIME nokey", ":-2", 0},
        {"PEXPIRETIME nokey", ":-2", 0},
        {"SET k v", "+OK", 0},
        {"EXPIRETIME k", ":-1", 0},
        {"PEXPIRETIME k", ":-1", 0},
        {"EXPIREAT k 4102444800", ":1", 0},
        {"EXPIRETIME k", ":4102444800", 0},
        {"PEXPIRETIME k", ":4102444800000", 0},
        {"PEXPIREAT k 4102444800499", ":1", 0},
        {"EXPIRETIME k", ":4102444800", 0},
        {"PEXPIREAT k 4102444800500", ":1", 0},
        {"EXPIRETIME k", ":4102444801", 0}, /* rounded, as Redis */
        {"PERSIST k", ":1", 0},
        {"EXPIRETIME k", ":-1", 0},
        {"SET e v PX 30", "+OK", 0},
        {"sleep 80", NULL, 0},
        {"EXPIRETIME e", ":-2", 0},
        {"PEXPIRETIME e", ":-2", 0},
        {"EXPIRETIME", "-ERR wrong number of arguments for 'expiretime' command", 0},
        {"PEXPIRETIME a b", "-ERR wrong number of arguments for 'pexpiretime' command", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* INFO's keyspace line counts the keys carrying an expiry as Redis does. */
static void expect_expires(fk_conn_t *c, const char *want)
{
    if (c == NULL)
        return;
    rv_t *r = fk_cmd(c, "INFO keyspace");
    ck_assert(r && r->type == RV_BULK);
    ck_assert_msg(strstr(r->s, want) != NULL, "INFO keyspace has no %s:\n%s", want, r->s);
    rv_free(r);
}

START_TEST(info_counts_expires)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2 c 3 d 4", "+OK", 0},
        {"EXPIRE a 100", ":1", 0},
        {"SET b 2 PX 100000", "+OK", 0},
        {"GETEX c EX 100", "\"3\"", 0},
        {"SET e 5 EX 100", "+OK", 0},
        {"PERSIST e", ":1", 0},
        {"SET a 1 KEEPTTL", "+OK", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    expect_expires(rc.fk, "db0:keys=5,expires=3,avg_ttl=");
    expect_expires(rc.rd, "db0:keys=5,expires=3,avg_ttl=");
    fk_expect_int(rc.fk, "DEL a", 1);
    fk_expect_status(rc.fk, "SET b x", "OK");
    expect_expires(rc.fk, "db0:keys=4,expires=1,avg_ttl=");
    /* avg_ttl: the one key left has 100 s. */
    rv_t *r = fk_cmd(rc.fk, "INFO keyspace");
    ck_assert(r && r->type == RV_BULK);
    const char *p = strstr(r->s, "avg_ttl=");
    ck_assert_ptr_nonnull(p);
    long long avg = atoll(p + 8);
    ck_assert_msg(avg > 98000 && avg <= 101000, "avg_ttl=%lld", avg);
    rv_free(r);
}
END_TEST

/* expired_keys counts a key a write replaced after it expired, before the
 * sweep removed it (as Redis counts a lazy removal), exactly once. Inside
 * MULTI no sweep can come between the two writes; outside, the sweep may
 * remove the key first, and then it counts instead. */
START_TEST(expired_keys_counts_replaced_keys)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK"); /* no key of another test expires meanwhile */
    long before = fk_info_field_on(rc.fk, "stats", "expired_keys");
    ck_assert_int_ge(before, 0);
    fk_expect_status(rc.fk, "MULTI", "OK");
    fk_expect_status(rc.fk, "SET lz:1 old PXAT 1", "QUEUED"); /* stored already expired */
    fk_expect_status(rc.fk, "SET lz:1 new", "QUEUED");
    fk_expect_status(rc.fk, "SET lz:2 5 PXAT 1", "QUEUED");
    fk_expect_status(rc.fk, "INCR lz:2", "QUEUED");
    fk_expect_status(rc.fk, "SET lz:3 5 PXAT 1", "QUEUED");
    fk_expect_status(rc.fk, "SET lz:3 x XX", "QUEUED"); /* refused: nothing replaced */
    fk_expect_status(rc.fk, "SET lz:3 y", "QUEUED");
    rv_t *r = fk_cmd(rc.fk, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 7);
    ck_assert(r->elems[3].type == RV_INT && r->elems[3].i == 1);
    ck_assert(r->elems[5].type == RV_NIL);
    rv_free(r);
    ck_assert_int_eq(fk_info_field_on(rc.fk, "stats", "expired_keys") - before, 3);
    fk_expect_bulk(rc.fk, "GET lz:1", "new");
    fk_expect_bulk(rc.fk, "GET lz:3", "y");
    fk_expect_int(rc.fk, "DEL lz:1 lz:2 lz:3", 3);
    /* lz:4 is replaced or swept, whichever comes first: it counts once. */
    fk_expect_status(rc.fk, "SET lz:4 old PX 1", "OK");
    usleep(5000);
    fk_expect_status(rc.fk, "SET lz:4 new", "OK");
    ck_assert_int_eq(fk_info_field_on(rc.fk, "stats", "expired_keys") - before, 4);
    fk_expect_int(rc.fk, "DEL lz:4", 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("expiry_resp");
    TCase *tc = tcase_create("against_redis");
    tcase_add_unchecked_fixture(tc, rc_servers_up, rc_servers_down);
    tcase_add_checked_fixture(tc, rc_connect_both, rc_close_both);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, set_expiry_forms);
    tcase_add_test(tc, getex_forms);
    tcase_add_test(tc, expiretime_commands);
    tcase_add_test(tc, info_counts_expires);
    tcase_add_test(tc, expired_keys_counts_replaced_keys);
    suite_add_tcase(s, tc);
    return fk_run_suite(s);
}
