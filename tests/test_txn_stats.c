/*
 * test_txn_stats.c — INFO's transaction counters against the real
 * fickled, over two workers so the sum over workers is exercised:
 * txn_exec, txn_aborted_watch, txn_aborted_error (RESP EXEC and native
 * TXN) and txn_failed_compare (native TXN only) each move by exactly the
 * transactions that ended that way, read over both RESP INFO and the
 * native STATS opcode (one text).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fickle/client.h"
#include "tests/harness.h"

static fk_server_t srv;

static const char *const names[] = {"txn_exec", "txn_aborted_watch", "txn_aborted_error", "txn_failed_compare"};
enum { EXEC_, WATCH_, ERROR_, ELSE_, NCOUNTERS };

static void setup(void)
{
    static const char *const opts[] = {"--workers", "2", NULL};
    ck_assert_int_eq(fk_start(&srv, opts), 0);
}

static void teardown(void)
{
    ck_assert_int_eq(fk_stop(&srv), 0);
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

static void counters(long out[NCOUNTERS])
{
    for (int i = 0; i < NCOUNTERS; i++) {
        out[i] = fk_info_field(&srv, "stats", names[i]);
        ck_assert_msg(out[i] >= 0, "INFO stats has no %s", names[i]);
    }
}

/* Asserts each counter moved from before by exactly the delta given. */
static void expect_moved(const long before[NCOUNTERS], long exec, long watch, long error, long els)
{
    long now[NCOUNTERS], want[NCOUNTERS] = {exec, watch, error, els};
    counters(now);
    for (int i = 0; i < NCOUNTERS; i++)
        ck_assert_msg(now[i] - before[i] == want[i], "%s moved by %ld, expected %ld", names[i], now[i] - before[i],
                      want[i]);
}

START_TEST(resp_exec_outcomes)
{
    long before[NCOUNTERS];
    counters(before);
    fk_conn_t *c = fk_connect(srv.resp_port), *other = fk_connect(srv.resp_port);
    ck_assert(c && other);
    /* Two that run (one of reads only), one whose queued error is only an
     * element of EXEC's array: it still ran. */
    for (int i = 0; i < 2; i++) {
        fk_expect_status(c, "MULTI", "OK");
        fk_expect_status(c, i ? "GET a" : "SET a 1", "QUEUED");
        rv_t *r = fk_cmd(c, "EXEC");
        ck_assert(r && r->type == RV_ARRAY && r->n == 1);
        rv_free(r);
    }
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "INCR a", "QUEUED");
    fk_expect_status(c, "SET a x", "QUEUED");
    fk_expect_status(c, "INCR a", "QUEUED");
    rv_t *r = fk_cmd(c, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 3 && r->elems[2].type == RV_ERROR);
    rv_free(r);
    /* A WATCHed key changed by another client: nil. */
    fk_expect_status(c, "WATCH a", "OK");
    fk_expect_status(other, "SET a 2", "OK");
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "SET a 3", "QUEUED");
    r = fk_cmd(c, "EXEC");
    ck_assert(r && r->type == RV_NIL_ARRAY);
    rv_free(r);
    /* A queuing error: EXECABORT. DISCARD and EXEC without MULTI end no
     * transaction and count nothing. */
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_error(c, "NOSUCHCOMMAND", "ERR unknown command");
    fk_expect_error(c, "EXEC", "EXECABORT");
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "DISCARD", "OK");
    fk_expect_error(c, "EXEC", "ERR EXEC without MULTI");
    expect_moved(before, 3, 1, 1, 0);
    fk_close(c);
    fk_close(other);
}
END_TEST

static fickle_t *native(void)
{
    fickle_t *c;
    ck_assert_int_eq(fickle_connect(&c, "127.0.0.1", srv.port, NULL), FICKLE_OK);
    return c;
}

/* A TXN on the version of "k": if it equals v, PUT k, else GET k. */
static int txn_on_version(fickle_t *c, uint64_t v, bool *succeeded)
{
    fickle_txn_t *t = fickle_txn_new();
    ck_assert_ptr_nonnull(t);
    fickle_txn_compare_version(t, "k", 1, FICKLE_TXN_CMP_EQUAL, v);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "k", 1, "v", 1, 0, 0);
    fickle_txn_get(t, FICKLE_TXN_FAILURE, "k", 1);
    fickle_txn_result_t *r = NULL;
    int rc = fickle_txn_exec(c, t, &r);
    if (rc == FICKLE_OK)
        *succeeded = fickle_txn_result_succeeded(r);
    fickle_txn_result_free(r);
    fickle_txn_free(t);
    return rc;
}

START_TEST(native_txn_outcomes)
{
    long before[NCOUNTERS];
    counters(before);
    fickle_t *c = native();
    bool ok = false;
    ck_assert_int_eq(txn_on_version(c, 0, &ok), FICKLE_OK); /* absent: version 0 holds */
    ck_assert(ok);
    ck_assert_int_eq(txn_on_version(c, 0, &ok), FICKLE_OK); /* now present: the else branch */
    ck_assert(!ok);
    ck_assert_int_eq(txn_on_version(c, 12345678, &ok), FICKLE_OK);
    ck_assert(!ok);
    /* Refused: a value over --max-value-size, and a malformed body. */
    static char big[17 << 20];
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "b", 1, big, sizeof(big), 0, 0);
    fickle_txn_result_t *r = NULL;
    ck_assert_int_eq(fickle_txn_exec(c, t, &r), FICKLE_STATUS_TOO_BIG);
    fickle_txn_result_free(r);
    fickle_txn_free(t);
    uint8_t bad[FICKLE_TXN_HEADER_SIZE + 1] = {1};
    fickle_reply_t rep;
    ck_assert_int_eq(fickle_queue_raw(c, FICKLE_OP_TXN, 0, NULL, 0, NULL, 0, bad, sizeof(bad), NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_read_reply(c, &rep), FICKLE_STATUS_BAD_REQUEST);
    fickle_reply_free(&rep);
    expect_moved(before, 3, 0, 2, 2);
    /* The native STATS text carries the same counters. */
    char *text = NULL;
    ck_assert_int_eq(fickle_stats(c, "stats", &text, NULL), FICKLE_OK);
    char want[64];
    snprintf(want, sizeof(want), "\r\ntxn_failed_compare:%ld\r\n", before[ELSE_] + 2);
    ck_assert_msg(strstr(text, want) != NULL, "STATS lacks %s", want);
    free(text);
    fickle_close(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("txn_stats");
    TCase *tc = tcase_create("counters");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, resp_exec_outcomes);
    tcase_add_test(tc, native_txn_outcomes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
