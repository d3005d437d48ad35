/*
 * test_txn_server.c — the native TXN against the real fickled, through
 * libfickle: every compare target and comparison, both branches, reads
 * inside a TXN seeing its earlier writes, one version per TXN, a TXN of
 * 1,000 ops, TXNs that must apply nothing (larger than the change ring,
 * a value over the limit), isolation between real processes (transfers
 * guarded by VERSION compares while readers check the total), a worker
 * killed inside a TXN's critical section, and a whole process group
 * killed under TXN load with --fsync always.
 */

#ifndef FICKLED_TEST_PATH
#error "FICKLED_TEST_PATH must name the fickled built with crash points"
#endif
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fickle/client.h"
#include "store/store.h"
#include "tests/harness.h"
#include "tests/load_util.h"
#include "tests/robust_probe.h"

static fk_server_t srv;

static void teardown(void)
{
    if (srv.pid)
        fk_stop(&srv);
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
    fk_binary = FICKLED_PATH;
    unsetenv("FICKLE_TEST_CRASH");
}

static void start(const char *const *extra)
{
    ck_assert_int_eq(fk_start(&srv, extra), 0);
    srv_track(&srv);
}

static fickle_t *conn(void)
{
    fickle_t *c;
    fickle_options_t o;
    fickle_options_init(&o);
    o.timeout_ms = 20000;
    ck_assert_int_eq(fickle_connect(&c, "127.0.0.1", srv.port, &o), FICKLE_OK);
    return c;
}

/* Runs t (freed) and asserts the server ran it. */
static fickle_txn_result_t *run(fickle_t *c, fickle_txn_t *t)
{
    fickle_txn_result_t *r = NULL;
    int rc = fickle_txn_exec(c, t, &r);
    ck_assert_msg(rc == FICKLE_OK, "TXN: %s", fickle_errstr(c));
    fickle_txn_free(t);
    return r;
}

/* Runs t (freed) and returns the status it failed with. */
static int run_err(fickle_t *c, fickle_txn_t *t)
{
    fickle_txn_result_t *r = NULL;
    int rc = fickle_txn_exec(c, t, &r);
    fickle_txn_result_free(r);
    fickle_txn_free(t);
    return rc;
}

static uint64_t set(fickle_t *c, const char *k, const char *v)
{
    uint64_t ver;
    ck_assert_int_eq(fickle_set(c, k, strlen(k), v, strlen(v), 0, 0, &ver), FICKLE_OK);
    return ver;
}

/* ---- semantics ------------------------------------------------------------------------ */

typedef struct {
    unsigned target; /* FICKLE_TXN_TARGET_* */
    const char *key;
    unsigned cmp;
    const char *value; /* VALUE */
    int64_t vdelta;    /* VERSION: the argument is a's version + vdelta (missing keys: vdelta itself) */
    bool exists;       /* EXISTS */
    bool holds;
} case_t;

static bool holds(fickle_t *c, const case_t *k, uint64_t va)
{
    fickle_txn_t *t = fickle_txn_new();
    size_t kl = strlen(k->key);
    if (k->target == FICKLE_TXN_TARGET_VALUE)
        fickle_txn_compare_value(t, k->key, kl, k->cmp, k->value, strlen(k->value));
    else if (k->target == FICKLE_TXN_TARGET_VERSION)
        fickle_txn_compare_version(t, k->key, kl, k->cmp, (uint64_t)((strcmp(k->key, "a") ? 0 : (int64_t)va) + k->vdelta));
    else
        fickle_txn_compare_exists(t, k->key, kl, k->exists);
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "a", 1);
    fickle_txn_del(t, FICKLE_TXN_FAILURE, "nope", 4);
    fickle_txn_result_t *r = run(c, t);
    bool ok = fickle_txn_result_succeeded(r);
    ck_assert_uint_eq(fickle_txn_result_count(r), 1);
    const fickle_txn_op_result_t *e = fickle_txn_result_at(r, 0);
    ck_assert_uint_eq(e->kind, ok ? FICKLE_TXN_OP_GET : FICKLE_TXN_OP_DELETE);
    ck_assert_int_eq(e->status, ok ? FICKLE_OK : FICKLE_STATUS_NOT_FOUND);
    if (ok)
        ck_assert(e->vlen == 1 && e->value[0] == '5' && e->version == va);
    ck_assert_uint_eq(fickle_txn_result_revision(r), 0); /* nothing changed */
    fickle_txn_result_free(r);
    return ok;
}

START_TEST(compares_and_branches)
{
    start(NULL);
    fickle_t *c = conn();
    uint64_t va = set(c, "a", "5");
    enum { V = FICKLE_TXN_TARGET_VALUE, N = FICKLE_TXN_TARGET_VERSION, E = FICKLE_TXN_TARGET_EXISTS };
    enum { EQ = FICKLE_TXN_CMP_EQUAL, NE = FICKLE_TXN_CMP_NOT_EQUAL, LT = FICKLE_TXN_CMP_LESS, GT = FICKLE_TXN_CMP_GREATER };
    static const case_t cases[] = {
        {V, "a", EQ, "5", 0, 0, true},   {V, "a", EQ, "6", 0, 0, false},  {V, "a", NE, "6", 0, 0, true},
        {V, "a", NE, "5", 0, 0, false},  {V, "a", LT, "6", 0, 0, true},   {V, "a", LT, "4", 0, 0, false},
        {V, "a", LT, "55", 0, 0, true},  {V, "a", GT, "4", 0, 0, true},   {V, "a", GT, "55", 0, 0, false},
        {V, "a", GT, "", 0, 0, true},    {V, "a", LT, "5", 0, 0, false},
        /* a missing key's value matches nothing */
        {V, "m", EQ, "", 0, 0, false},   {V, "m", NE, "x", 0, 0, false},  {V, "m", LT, "x", 0, 0, false},
        {V, "m", GT, "", 0, 0, false},
        {N, "a", EQ, NULL, 0, 0, true},  {N, "a", EQ, NULL, 1, 0, false}, {N, "a", NE, NULL, 1, 0, true},
        {N, "a", NE, NULL, 0, 0, false}, {N, "a", LT, NULL, 1, 0, true},  {N, "a", LT, NULL, 0, 0, false},
        {N, "a", GT, NULL, -1, 0, true}, {N, "a", GT, NULL, 0, 0, false},
        /* a missing key has version 0 */
        {N, "m", EQ, NULL, 0, 0, true},  {N, "m", GT, NULL, 0, 0, false}, {N, "m", NE, NULL, 0, 0, false},
        {N, "m", LT, NULL, 1, 0, true},
        {E, "a", EQ, NULL, 0, true, true}, {E, "a", EQ, NULL, 0, false, false},
        {E, "m", EQ, NULL, 0, true, false}, {E, "m", EQ, NULL, 0, false, true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(holds(c, &cases[i], va) == cases[i].holds, "case %zu", i);
    /* Every compare must hold: one false one among true ones fails the TXN. */
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_compare_exists(t, "a", 1, true);
    fickle_txn_compare_value(t, "a", 1, EQ, "5", 1);
    fickle_txn_compare_version(t, "a", 1, EQ, va + 1);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "a", 1, "6", 1, 0, 0);
    fickle_txn_result_t *r = run(c, t);
    ck_assert(!fickle_txn_result_succeeded(r));
    ck_assert_uint_eq(fickle_txn_result_count(r), 0);
    fickle_txn_result_free(r);
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "a", 1, &it), FICKLE_OK);
    ck_assert_str_eq(it.value, "5");
    fickle_item_free(&it);
    /* No compares: the success ops run. */
    t = fickle_txn_new();
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "a", 1);
    r = run(c, t);
    ck_assert(fickle_txn_result_succeeded(r));
    fickle_txn_result_free(r);
    /* Pipelined: three TXNs in one write, each reply with its result. */
    t = fickle_txn_new();
    fickle_txn_compare_value(t, "p", 1, EQ, "", 0); /* absent: fails, then holds */
    fickle_txn_put(t, FICKLE_TXN_FAILURE, "p", 1, "", 0, 0, 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(fickle_queue_txn(c, t, NULL), FICKLE_OK);
    fickle_txn_free(t);
    for (int i = 0; i < 3; i++) {
        fickle_reply_t rep;
        ck_assert_int_eq(fickle_read_reply(c, &rep), FICKLE_OK);
        ck_assert_uint_eq(rep.opcode, FICKLE_OP_TXN);
        ck_assert_ptr_nonnull(rep.txn);
        ck_assert(fickle_txn_result_succeeded(rep.txn) == (i > 0));
        ck_assert_uint_eq(rep.version, fickle_txn_result_revision(rep.txn));
        ck_assert((rep.version != 0) == (i == 0));
        fickle_reply_free(&rep);
    }
    fickle_close(c);
}
END_TEST

START_TEST(reads_see_earlier_writes)
{
    start(NULL);
    fickle_t *c = conn();
    set(c, "y", "old");
    uint64_t exp = (uint64_t)time(NULL) * 1000 + 3600000;
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_compare_value(t, "y", 1, FICKLE_TXN_CMP_EQUAL, "old", 3);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "x", 1, "1", 1, exp, 0);
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "x", 1);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "x", 1, "2", 1, 0, FICKLE_TXN_PUT_KEEPTTL);
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "x", 1);
    fickle_txn_del(t, FICKLE_TXN_SUCCESS, "y", 1);
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "y", 1);
    fickle_txn_del(t, FICKLE_TXN_SUCCESS, "y", 1);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "z", 1, "", 0, 0, 0);
    fickle_txn_get(t, FICKLE_TXN_FAILURE, "x", 1);
    fickle_txn_result_t *r = run(c, t);
    ck_assert(fickle_txn_result_succeeded(r));
    ck_assert_uint_eq(fickle_txn_result_count(r), 8);
    uint64_t rev = fickle_txn_result_revision(r);
    ck_assert_uint_gt(rev, 0);
    const fickle_txn_op_result_t *e = fickle_txn_result_at(r, 0);
    ck_assert(e->kind == FICKLE_TXN_OP_PUT && e->status == FICKLE_OK && e->version == rev && e->expiry_ms == exp);
    e = fickle_txn_result_at(r, 1);
    ck_assert(e->kind == FICKLE_TXN_OP_GET && e->vlen == 1 && e->value[0] == '1' && e->version == rev);
    ck_assert_uint_eq(e->expiry_ms, exp);
    e = fickle_txn_result_at(r, 2);
    ck_assert(e->version == rev && e->expiry_ms == exp); /* KEEPTTL kept the expiry set just before */
    e = fickle_txn_result_at(r, 3);
    ck_assert(e->vlen == 1 && e->value[0] == '2');
    ck_assert_int_eq(fickle_txn_result_at(r, 4)->status, FICKLE_OK);
    ck_assert_int_eq(fickle_txn_result_at(r, 5)->status, FICKLE_STATUS_NOT_FOUND); /* GET after DELETE */
    ck_assert_ptr_null(fickle_txn_result_at(r, 5)->value);
    ck_assert_int_eq(fickle_txn_result_at(r, 6)->status, FICKLE_STATUS_NOT_FOUND); /* DELETE again */
    ck_assert_uint_eq(fickle_txn_result_at(r, 7)->version, rev);
    ck_assert_ptr_null(fickle_txn_result_at(r, 8));
    fickle_txn_result_free(r);
    /* What later reads see: the TXN's one version everywhere. */
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "x", 1, &it), FICKLE_OK);
    ck_assert_str_eq(it.value, "2");
    ck_assert_uint_eq(it.version, rev);
    ck_assert_uint_eq(it.expiry_ms, exp);
    fickle_item_free(&it);
    ck_assert_int_eq(fickle_get(c, "z", 1, &it), FICKLE_OK);
    ck_assert_uint_eq(it.version, rev);
    fickle_item_free(&it);
    ck_assert_int_eq(fickle_get(c, "y", 1, NULL), FICKLE_STATUS_NOT_FOUND);
    /* The TXN took one LSN, and a read-only TXN takes none. */
    uint64_t v1 = set(c, "w", "1");
    ck_assert_uint_eq(v1, rev + 1);
    t = fickle_txn_new();
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "x", 1);
    fickle_txn_del(t, FICKLE_TXN_SUCCESS, "absent", 6);
    r = run(c, t);
    ck_assert_uint_eq(fickle_txn_result_revision(r), 0);
    fickle_txn_result_free(r);
    ck_assert_uint_eq(set(c, "w", "2"), v1 + 1);
    fickle_close(c);
}
END_TEST

/* RANGE inside a TXN sees the TXN's earlier writes, with the range
 * options of the RANGE opcode. */
START_TEST(range_inside_a_txn)
{
    start(NULL);
    fickle_t *c = conn();
    set(c, "r:1", "old");
    set(c, "r:9", "gone");
    fickle_txn_t *t = fickle_txn_new();
    fickle_range_t all, rev, none;
    fickle_range_init(&all);
    all.start = "r:";
    all.start_len = 2;
    all.end = "r;";
    all.end_len = 2;
    rev = all;
    rev.flags = FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY;
    rev.limit = 2;
    none = all;
    none.end = "r:";
    none.end_len = 2;
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "r:2", 3, "two", 3, 0, 0);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "r:1", 3, "one", 3, 0, 0);
    fickle_txn_del(t, FICKLE_TXN_SUCCESS, "r:9", 3);
    fickle_txn_range(t, FICKLE_TXN_SUCCESS, &all);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "r:3", 3, "three", 5, 0, 0);
    fickle_txn_range(t, FICKLE_TXN_SUCCESS, &rev);
    fickle_txn_range(t, FICKLE_TXN_SUCCESS, &none);
    fickle_txn_result_t *r = run(c, t);
    uint64_t rev_no = fickle_txn_result_revision(r);
    const fickle_txn_op_result_t *e = fickle_txn_result_at(r, 3);
    ck_assert_uint_eq(e->kind, FICKLE_TXN_OP_RANGE);
    ck_assert_int_eq(e->status, FICKLE_OK);
    ck_assert_uint_eq(fickle_rows_count(e->rows), 2);
    const fickle_row_t *row = fickle_rows_at(e->rows, 0);
    ck_assert(row->klen == 3 && !memcmp(row->key, "r:1", 3) && row->vlen == 3 && !memcmp(row->value, "one", 3));
    ck_assert_uint_eq(row->version, rev_no);
    row = fickle_rows_at(e->rows, 1);
    ck_assert(row->klen == 3 && !memcmp(row->key, "r:2", 3) && !memcmp(row->value, "two", 3));
    ck_assert(!fickle_rows_more(e->rows));
    e = fickle_txn_result_at(r, 5);
    ck_assert_uint_eq(fickle_rows_count(e->rows), 2); /* the limit */
    ck_assert(!memcmp(fickle_rows_at(e->rows, 0)->key, "r:3", 3));
    ck_assert(!memcmp(fickle_rows_at(e->rows, 1)->key, "r:2", 3));
    ck_assert_ptr_null(fickle_rows_at(e->rows, 0)->value); /* keys only */
    ck_assert_uint_eq(fickle_rows_count(fickle_txn_result_at(r, 6)->rows), 0);
    fickle_txn_result_free(r);
    /* A RANGE-only TXN is read-only: no version used up. */
    uint64_t v = set(c, "w", "1");
    t = fickle_txn_new();
    fickle_txn_range(t, FICKLE_TXN_SUCCESS, &all);
    r = run(c, t);
    ck_assert_uint_eq(fickle_rows_count(fickle_txn_result_at(r, 0)->rows), 3);
    ck_assert_uint_eq(fickle_txn_result_revision(r), 0);
    fickle_txn_result_free(r);
    ck_assert_uint_eq(set(c, "w", "2"), v + 1);
    fickle_close(c);
}
END_TEST

START_TEST(thousand_ops)
{
    start(NULL);
    fickle_t *c = conn();
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_compare_exists(t, "k0000", 5, false);
    char k[16], v[32];
    for (int i = 0; i < 999; i++) {
        snprintf(k, sizeof(k), "k%04d", i);
        snprintf(v, sizeof(v), "value-%d", i);
        ck_assert_int_eq(fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, 5, v, strlen(v), 0, 0), FICKLE_OK);
    }
    fickle_txn_get(t, FICKLE_TXN_SUCCESS, "k0500", 5);
    fickle_txn_result_t *r = run(c, t);
    ck_assert(fickle_txn_result_succeeded(r));
    ck_assert_uint_eq(fickle_txn_result_count(r), 1000);
    uint64_t rev = fickle_txn_result_revision(r);
    const fickle_txn_op_result_t *g = fickle_txn_result_at(r, 999);
    ck_assert(g->vlen == 9 && !memcmp(g->value, "value-500", 9));
    fickle_txn_result_free(r);
    fickle_range_t q;
    fickle_range_init(&q);
    fickle_rows_t *rows;
    ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_OK);
    ck_assert_uint_eq(fickle_rows_count(rows), 999);
    for (size_t i = 0; i < 999; i++) {
        const fickle_row_t *row = fickle_rows_at(rows, i);
        snprintf(v, sizeof(v), "value-%zu", i);
        ck_assert_uint_eq(row->version, rev);
        ck_assert(row->vlen == strlen(v) && !memcmp(row->value, v, row->vlen));
    }
    fickle_rows_free(rows);
    fickle_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

/* TXNs that fail part-way apply nothing; the connection stays usable. */
START_TEST(failures_apply_nothing)
{
    static const char *const small[] = {"--max-value-size", "4k", "--ring-size", "320k", NULL};
    start(small);
    fickle_t *c = conn();
    uint64_t va = set(c, "a", "before");
    /* Larger than the change ring: 400 values of 1,000 bytes. */
    char big[5000], k[16];
    memset(big, 'v', sizeof(big));
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "a", 1, "after", 5, 0, 0);
    for (int i = 0; i < 400; i++) {
        snprintf(k, sizeof(k), "big%03d", i);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), big, 1000, 0, 0);
    }
    ck_assert_int_eq(run_err(c, t), FICKLE_STATUS_TXN_TOO_BIG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "TXN_TOO_BIG: "));
    /* A value over the limit after a write. */
    t = fickle_txn_new();
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "a", 1, "after", 5, 0, 0);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "b", 1, big, sizeof(big), 0, 0);
    ck_assert_int_eq(run_err(c, t), FICKLE_STATUS_TOO_BIG);
    /* Malformed: BAD_REQUEST, and the connection goes on. */
    uint8_t bad[FICKLE_TXN_HEADER_SIZE + 1] = {1};
    fickle_reply_t rep;
    ck_assert_int_eq(fickle_queue_raw(c, FICKLE_OP_TXN, 0, NULL, 0, NULL, 0, bad, sizeof(bad), NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_read_reply(c, &rep), FICKLE_STATUS_BAD_REQUEST);
    fickle_reply_free(&rep);
    /* Nothing of them is visible, and no version was used up. */
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "a", 1, &it), FICKLE_OK);
    ck_assert_str_eq(it.value, "before");
    ck_assert_uint_eq(it.version, va);
    fickle_item_free(&it);
    uint64_t n;
    fickle_range_t q;
    fickle_range_init(&q);
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(set(c, "c", "1"), va + 1);
    /* A TXN that fits still works on the same connection. */
    t = fickle_txn_new();
    fickle_txn_compare_version(t, "a", 1, FICKLE_TXN_CMP_EQUAL, va);
    for (int i = 0; i < 20; i++) {
        snprintf(k, sizeof(k), "big%03d", i);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), big, 1000, 0, 0);
    }
    fickle_txn_result_t *r = run(c, t);
    ck_assert(fickle_txn_result_succeeded(r));
    fickle_txn_result_free(r);
    fickle_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

/* A change ring left full by a stopped persister: the TXN that finds no
 * room part-way answers BUSY and none of it applies. */
START_TEST(busy_ring_applies_nothing)
{
    static const char *const small[] = {"--max-value-size", "4k", "--ring-size", "320k", NULL};
    start(small);
    fickle_t *c = conn();
    pid_t persister = (pid_t)srv_info(srv.resp_port, "persistence", "persister_pid");
    ck_assert_int_eq(kill(persister, SIGSTOP), 0);
    char big[4000], k[32];
    memset(big, 'b', sizeof(big));
    int busy_at = -1;
    /* 72 KB each (a TXN's record may take a quarter of the ring): the
     * ring fills up after a few, and one finds room for only part of it. */
    for (int n = 0; n < 8 && busy_at < 0; n++) {
        fickle_txn_t *t = fickle_txn_new();
        for (int i = 0; i < 18; i++) {
            snprintf(k, sizeof(k), "t%d:%02d", n, i);
            fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), big, sizeof(big), 0, 0);
        }
        int rc = run_err(c, t);
        if (rc == FICKLE_STATUS_BUSY)
            busy_at = n;
        else
            ck_assert_msg(rc == FICKLE_OK, "TXN %d: %s", n, fickle_errstr(c));
    }
    ck_assert_int_ge(busy_at, 1);
    char lo[8], hi[8];
    snprintf(lo, sizeof(lo), "t%d:", busy_at);
    snprintf(hi, sizeof(hi), "t%d;", busy_at);
    fickle_range_t q;
    fickle_range_init(&q);
    q.start = lo;
    q.start_len = 3;
    q.end = hi;
    q.end_len = 3;
    uint64_t n;
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(kill(persister, SIGCONT), 0);
    fickle_txn_t *t = fickle_txn_new();
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, "after", 5, "1", 1, 0, 0);
    fickle_txn_result_free(run(c, t));
    fickle_range_init(&q);
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, (uint64_t)busy_at * 18 + 1);
    fickle_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

/* A worker killed inside a TXN's critical section (crash points of the
 * test build): the next locker rolls the section back, so none of the TXN
 * is visible -- or, killed after the commit, all of it. */
static const struct {
    unsigned cp, skip;
} inside[] = {{STORE_CP_ALLOCATED, 25}, {STORE_CP_HASH_LINKED, 25}, {STORE_CP_ORDER_PARTIAL, 5},
              {STORE_CP_COMMITTED, 0}};

START_TEST(worker_dies_inside_a_txn)
{
    char spec[32];
    snprintf(spec, sizeof(spec), "%u:%u", inside[_i].cp, inside[_i].skip);
    setenv("FICKLE_TEST_CRASH", spec, 1);
    fk_binary = FICKLED_TEST_PATH;
    start(NULL);
    fickle_t *c = conn();
    fickle_txn_t *t = fickle_txn_new();
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "crash:%03d", i);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), "v", 1, 0, 0);
    }
    int rc = run_err(c, t);
    ck_assert_msg(rc < 0, "the TXN was answered (%s): the crash point was not reached", fickle_strstatus(rc));
    fickle_close(c);
    ck_assert(fk_log_has(&srv, "killed by signal 9", 5000));
    ck_assert(fk_log_has(&srv, "test crash point", 0));
    /* The next writer repairs the store: a TXN that stays under the crash
     * point's count (after COMMITTED:0 every worker's first write dies, so
     * the repair is left to the count's reader, which takes the mutex). */
    for (int tries = 0; inside[_i].cp != STORE_CP_COMMITTED; tries++) {
        c = conn();
        t = fickle_txn_new();
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, "after", 5, "1", 1, 0, 0);
        rc = run_err(c, t);
        fickle_close(c);
        if (rc == FICKLE_OK)
            break;
        ck_assert_msg(tries < 50 && rc < 0, "TXN after the crash: %s", fickle_strstatus(rc));
        load_sleep_ms(100); /* a connection cut: the worker is being replaced */
    }
    fickle_range_t q;
    fickle_range_init(&q);
    q.start = "crash:";
    q.start_len = 6;
    q.end = "crash;";
    q.end_len = 6;
    c = conn();
    uint64_t n = 0;
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, inside[_i].cp == STORE_CP_COMMITTED ? 100 : 0);
    fickle_close(c);
    unsetenv("FICKLE_TEST_CRASH");
    srv_stop_and_check(&srv);
}
END_TEST

/* ---- isolation between processes ---------------------------------------------------------- */

#define ACCOUNTS 8
#define START_BALANCE 100

/* The number a value of len bytes (not NUL-terminated) spells. */
static long num(const char *p, size_t len)
{
    char buf[24] = {0};
    memcpy(buf, p, len < sizeof(buf) - 1 ? len : sizeof(buf) - 1);
    return atol(buf);
}

static void acct_key(char *k, size_t len, int i)
{
    snprintf(k, len, "acct:%d", i);
}

/* A transfer client: moves money between random accounts with TXNs
 * guarded by both accounts' versions, retrying when a compare fails.
 * Exits 0, or 1 if anything went wrong. */
static int transfer_loop(unsigned seed, unsigned ms)
{
    fickle_t *c = conn();
    srand(seed);
    uint64_t end = load_now_ms() + ms, done = 0, retries = 0;
    while (load_now_ms() < end) {
        int a = rand() % ACCOUNTS, b = (a + 1 + rand() % (ACCOUNTS - 1)) % ACCOUNTS, amount = rand() % 10;
        char ka[16], kb[16], va[24], vb[24];
        acct_key(ka, sizeof(ka), a);
        acct_key(kb, sizeof(kb), b);
        fickle_item_t ia, ib;
        if (fickle_get(c, ka, strlen(ka), &ia) || fickle_get(c, kb, strlen(kb), &ib))
            return 1;
        snprintf(va, sizeof(va), "%ld", atol(ia.value) - amount);
        snprintf(vb, sizeof(vb), "%ld", atol(ib.value) + amount);
        fickle_txn_t *t = fickle_txn_new();
        fickle_txn_compare_version(t, ka, strlen(ka), FICKLE_TXN_CMP_EQUAL, ia.version);
        fickle_txn_compare_version(t, kb, strlen(kb), FICKLE_TXN_CMP_EQUAL, ib.version);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, ka, strlen(ka), va, strlen(va), 0, 0);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, kb, strlen(kb), vb, strlen(vb), 0, 0);
        fickle_item_free(&ia);
        fickle_item_free(&ib);
        fickle_txn_result_t *r = NULL;
        int rc = fickle_txn_exec(c, t, &r);
        fickle_txn_free(t);
        if (rc != FICKLE_OK)
            return 1;
        if (fickle_txn_result_succeeded(r))
            done++;
        else
            retries++;
        fickle_txn_result_free(r);
    }
    fprintf(stderr, "transfer client %u: %llu transfers, %llu compare failures retried\n", seed,
            (unsigned long long)done, (unsigned long long)retries);
    fickle_close(c);
    return done > 0 ? 0 : 1;
}

/* The total of the accounts in rows (the caller checks their count). */
static long rows_total(fickle_rows_t *rows)
{
    long sum = 0;
    for (const fickle_row_t *row; (row = fickle_rows_next(rows));)
        sum += num(row->value, row->vlen);
    return sum;
}

/* One consistent total: by RANGE, by a read-only TXN of GETs, or by a
 * TXN RANGE (way 0, 1, 2). -1 on any error. */
static long total(fickle_t *c, int way)
{
    fickle_range_t q;
    fickle_range_init(&q);
    q.start = "acct:";
    q.start_len = 5;
    q.end = "acct;";
    q.end_len = 5;
    long sum = 0;
    if (way == 0) {
        fickle_rows_t *rows;
        if (fickle_range(c, &q, &rows))
            return -1;
        sum = fickle_rows_count(rows) == ACCOUNTS ? rows_total(rows) : -1;
        fickle_rows_free(rows);
        return sum;
    }
    fickle_txn_t *t = fickle_txn_new();
    char k[16];
    for (int i = 0; i < ACCOUNTS && way == 1; i++) {
        acct_key(k, sizeof(k), i);
        fickle_txn_get(t, FICKLE_TXN_SUCCESS, k, strlen(k));
    }
    if (way == 2)
        fickle_txn_range(t, FICKLE_TXN_SUCCESS, &q);
    fickle_txn_result_t *r = NULL;
    int rc = fickle_txn_exec(c, t, &r);
    fickle_txn_free(t);
    bool ok = rc == FICKLE_OK && fickle_txn_result_revision(r) == 0;
    for (size_t i = 0; ok && i < fickle_txn_result_count(r); i++) {
        const fickle_txn_op_result_t *e = fickle_txn_result_at(r, i);
        ok = way == 1 ? e->status == FICKLE_OK : fickle_rows_count(e->rows) == ACCOUNTS;
        sum += way == 1 ? num(e->value, e->vlen) : rows_total(e->rows);
    }
    fickle_txn_result_free(r);
    return ok ? sum : -1;
}

/* A reader: sums every account, each of the three ways in turn; any
 * other total than the starting one is a torn view. */
static int reader_loop(unsigned ms)
{
    fickle_t *c = conn();
    uint64_t end = load_now_ms() + ms, reads = 0;
    for (; load_now_ms() < end; reads++) {
        long sum = total(c, (int)(reads % 3));
        if (sum != ACCOUNTS * START_BALANCE) {
            fprintf(stderr, "reader saw a total of %ld (way %d)\n", sum, (int)(reads % 3));
            return 1;
        }
    }
    fprintf(stderr, "reader: %llu consistent totals\n", (unsigned long long)reads);
    fickle_close(c);
    return 0;
}

static pid_t spawn_child(int (*fn)(unsigned, unsigned), unsigned a, unsigned b)
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(a, b));
    return pid;
}

static int reader_main(unsigned unused, unsigned ms)
{
    (void)unused;
    return reader_loop(ms);
}

static void wait_ok(pid_t pid)
{
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d failed (status 0x%x)", (int)pid, st);
}

START_TEST(transfers_keep_the_total)
{
    static const char *const two[] = {"--workers", "2", NULL};
    start(two);
    fickle_t *c = conn();
    fickle_txn_t *t = fickle_txn_new();
    char k[16], v[16];
    snprintf(v, sizeof(v), "%d", START_BALANCE);
    for (int i = 0; i < ACCOUNTS; i++) {
        acct_key(k, sizeof(k), i);
        fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), v, strlen(v), 0, 0);
    }
    fickle_txn_result_free(run(c, t));
    pid_t kids[5];
    for (unsigned i = 0; i < 3; i++)
        kids[i] = spawn_child(transfer_loop, i + 1, 2000);
    for (unsigned i = 3; i < 5; i++)
        kids[i] = spawn_child(reader_main, 0, 2000);
    for (int i = 0; i < 5; i++)
        wait_ok(kids[i]);
    ck_assert_int_eq(reader_loop(50), 0);
    fickle_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

/* ---- crash --------------------------------------------------------------------------- */

#define TAGGED 10

/* A TXN loader: TXN n writes L<id>:k0..k9 = "<n>:<padding>" (all the same
 * n), and appends n (u32) to its ack file once the reply says OK. After
 * an error it reconnects and tries n again. Runs until killed. */
static int tag_loader(unsigned id, unsigned ack_fd)
{
    char pad[700];
    memset(pad, 'p', sizeof(pad));
    fickle_t *c = NULL;
    for (uint32_t n = 1;;) {
        if (!c || !fickle_usable(c)) {
            fickle_close(c);
            fickle_options_t o;
            fickle_options_init(&o);
            o.timeout_ms = 2000;
            if (fickle_connect(&c, "127.0.0.1", srv.port, &o) != FICKLE_OK) {
                load_sleep_ms(20);
                continue;
            }
        }
        fickle_txn_t *t = fickle_txn_new();
        char k[32], v[800];
        int vlen = snprintf(v, sizeof(v), "%u:%.*s", n, (int)(n * 37 % sizeof(pad)), pad);
        for (int i = 0; i < TAGGED; i++) {
            snprintf(k, sizeof(k), "L%u:k%d", id, i);
            fickle_txn_put(t, FICKLE_TXN_SUCCESS, k, strlen(k), v, (size_t)vlen, 0, 0);
        }
        fickle_txn_result_t *r = NULL;
        int rc = fickle_txn_exec(c, t, &r);
        fickle_txn_free(t);
        fickle_txn_result_free(r);
        if (rc == FICKLE_OK) {
            if (write((int)ack_fd, &n, 4) != 4)
                return 1;
            n++;
        }
    }
}

/* The last n in an ack file (0 if none). */
static uint32_t last_ack(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint32_t n = 0, x;
    while (f && fread(&x, 4, 1, f) == 1)
        n = x;
    if (f)
        fclose(f);
    return n;
}

START_TEST(group_kill_under_txn_load)
{
    bool cold = _i == 1;
    static const char *const always[] = {"--fsync", "always", "--log-segment-size", "1m", NULL};
    start(always);
    char acks[3][300];
    pid_t kids[3];
    for (unsigned i = 0; i < 3; i++) {
        snprintf(acks[i], sizeof(acks[i]), "%s/acks%u", srv.dir, i);
        int fd = open(acks[i], O_WRONLY | O_CREAT | O_APPEND, 0600);
        ck_assert_int_ge(fd, 0);
        kids[i] = spawn_child(tag_loader, i, (unsigned)fd);
        close(fd);
    }
    for (int waited = 0; last_ack(acks[0]) < 50 || last_ack(acks[2]) < 50; waited += 10) {
        ck_assert_msg(waited < 20000, "the loaders made no progress");
        load_sleep_ms(10);
    }
    srv_kill_all(&srv);
    for (int i = 0; i < 3; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    if (cold)
        ck_assert_int_eq(srv_remove_region(&srv), 1);
    ck_assert_int_eq(fk_restart(&srv, always), 0);
    fickle_t *c = conn();
    for (unsigned id = 0; id < 3; id++) {
        uint32_t acked = last_ack(acks[id]), tag = 0;
        for (int i = 0; i < TAGGED; i++) {
            char k[32];
            snprintf(k, sizeof(k), "L%u:k%d", id, i);
            fickle_item_t it;
            ck_assert_int_eq(fickle_get(c, k, strlen(k), &it), FICKLE_OK);
            uint32_t n = (uint32_t)strtoul(it.value, NULL, 10);
            ck_assert_msg(i == 0 || n == tag, "loader %u: %s holds TXN %u, k0 TXN %u: half a TXN", id, k, n, tag);
            tag = n;
            fickle_item_free(&it);
        }
        /* every acknowledged TXN is there; at most the one in flight beyond it */
        ck_assert_msg(tag == acked || tag == acked + 1, "loader %u: TXN %u found, %u acknowledged", id, tag, acked);
        fprintf(stderr, "group_kill_under_txn_load (%s): loader %u: %u TXNs acknowledged, %u present\n",
                cold ? "cold" : "warm", id, acked, tag);
    }
    fickle_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("txn_server");
    TCase *tc = tcase_create("txn_server");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, compares_and_branches);
    tcase_add_test(tc, reads_see_earlier_writes);
    tcase_add_test(tc, range_inside_a_txn);
    tcase_add_test(tc, thousand_ops);
    tcase_add_test(tc, failures_apply_nothing);
    tcase_add_test(tc, busy_ring_applies_nothing);
    /* A worker killed holding the writer mutex, and a warm restart after a
     * group kill, need EOWNERDEAD (not under qemu-user: docs/arm.md). */
    char why[256];
    bool robust = probe_robust_mutex(why, sizeof(why));
    if (robust)
        tcase_add_loop_test(tc, worker_dies_inside_a_txn, 0, sizeof(inside) / sizeof(inside[0]));
    else
        printf("SKIP: worker_dies_inside_a_txn, group_kill_under_txn_load (warm): %s\n", why);
    tcase_add_test(tc, transfers_keep_the_total);
    tcase_add_loop_test(tc, group_kill_under_txn_load, robust ? 0 : 1, 2); /* 1: cold */
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    srv_track_init();
    int rc = fk_run_suite(suite());
    srv_sweep();
    return rc;
}
