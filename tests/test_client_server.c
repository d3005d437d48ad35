/*
 * test_client_server.c — libfickle and fickle-cli against the real fickled
 * (their unit tests use a fake server; this proves the two sides agree).
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fickle/client.h"
#include "tests/harness.h"

#ifndef FICKLE_CLI_PATH
#error "FICKLE_CLI_PATH must name the fickle-cli binary"
#endif

static fk_server_t srv;
static fickle_t *fc;

static void setup(void)
{
    ck_assert_int_eq(fk_start(&srv, NULL), 0);
    ck_assert_int_eq(fickle_connect(&fc, "127.0.0.1", srv.port, NULL), FICKLE_OK);
}

static void teardown(void)
{
    fickle_close(fc);
    fc = NULL;
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

START_TEST(library_round_trips)
{
    uint64_t v1, v2;
    ck_assert_int_eq(fickle_set(fc, "foo", 3, "bar", 3, 0, 0, &v1), FICKLE_OK);
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(fc, "foo", 3, &it), FICKLE_OK);
    ck_assert_str_eq(it.value, "bar");
    ck_assert_uint_eq(it.version, v1);
    fickle_item_free(&it);
    ck_assert_int_eq(fickle_cas(fc, "foo", 3, "baz", 3, v1 + 1000, 0, 0, NULL), FICKLE_STATUS_CAS_MISMATCH);
    ck_assert_int_eq(fickle_cas(fc, "foo", 3, "baz", 3, v1, 0, 0, &v2), FICKLE_OK);
    ck_assert_uint_gt(v2, v1);
    int64_t n;
    ck_assert_int_eq(fickle_incr(fc, "ctr", 3, 5, &n, NULL), FICKLE_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(fickle_decr(fc, "ctr", 3, 7, &n, NULL), FICKLE_OK);
    ck_assert_int_eq(n, -2);
    const void *keys[] = {"r:1", "r:2", "r:3"};
    const void *vals[] = {"a", "b", "c"};
    ck_assert_int_eq(fickle_mset(fc, 3, keys, NULL, vals, NULL, 0, NULL), FICKLE_OK);
    fickle_range_t q;
    fickle_range_init(&q);
    q.start = "r:";
    q.start_len = 2;
    q.end = "r;";
    q.end_len = 2;
    q.flags = FICKLE_RANGE_REVERSE;
    fickle_rows_t *rows;
    ck_assert_int_eq(fickle_range(fc, &q, &rows), FICKLE_OK);
    ck_assert_uint_eq(fickle_rows_count(rows), 3);
    const fickle_row_t *row = fickle_rows_at(rows, 0);
    ck_assert(row->klen == 3 && memcmp(row->key, "r:3", 3) == 0 && row->vlen == 1 && row->value[0] == 'c');
    fickle_rows_free(rows);
    uint64_t count;
    ck_assert_int_eq(fickle_count(fc, &q, &count), FICKLE_OK);
    ck_assert_uint_eq(count, 3);
    ck_assert_int_eq(fickle_del(fc, "foo", 3, 0), FICKLE_OK);
    ck_assert_int_eq(fickle_get(fc, "foo", 3, &it), FICKLE_STATUS_NOT_FOUND);
    char *text;
    size_t len;
    ck_assert_int_eq(fickle_stats(fc, "keyspace", &text, &len), FICKLE_OK);
    ck_assert_ptr_nonnull(strstr(text, "db0:keys=4"));
    free(text);
}
END_TEST

START_TEST(library_pipeline)
{
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "p:%05d", i);
        ck_assert_int_eq(fickle_queue_set(fc, k, (size_t)kl, k, (size_t)kl, 0, 0, NULL), FICKLE_OK);
    }
    ck_assert_int_eq(fickle_queue_count(fc, &(fickle_range_t){.limit = 0}, NULL), FICKLE_OK);
    for (int i = 0; i < N; i++) {
        fickle_reply_t r;
        ck_assert_int_eq(fickle_read_reply(fc, &r), FICKLE_OK);
        ck_assert_int_eq(r.status, FICKLE_STATUS_OK);
        fickle_reply_free(&r);
    }
    fickle_reply_t r;
    ck_assert_int_eq(fickle_read_reply(fc, &r), FICKLE_OK);
    ck_assert_int_eq(r.status, FICKLE_STATUS_OK);
    fickle_reply_free(&r);
    ck_assert_uint_eq(fickle_pending(fc), 0);
}
END_TEST

/* True if the data dir holds snapshot-<lsn in 20 digits>.snap. */
static bool snapshot_file(uint64_t lsn)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/data/snapshot-%020" PRIu64 ".snap", srv.dir, lsn);
    return access(path, F_OK) == 0;
}

/* SAVE writes a snapshot file named by the LSN it returns and moves the
 * snapshot counters; BGSAVE asks for one and LASTSAVE (from STATS) sees
 * it finish; a BGSAVE while one is asked for is BUSY. */
START_TEST(library_snapshots)
{
    int64_t before = -1, after = -1;
    ck_assert_int_eq(fickle_lastsave(fc, &before), FICKLE_OK);
    ck_assert_int_ge(before, 0);
    uint64_t v, lsn = 0;
    ck_assert_int_eq(fickle_set(fc, "snap", 4, "1", 1, 0, 0, &v), FICKLE_OK);
    long saves = fk_info_field(&srv, "persistence", "rdb_saves");
    ck_assert_int_eq(fickle_save(fc, &lsn), FICKLE_OK);
    ck_assert_uint_ge(lsn, v); /* the write before SAVE is in it */
    ck_assert_msg(snapshot_file(lsn), "no snapshot file for LSN %" PRIu64, lsn);
    ck_assert_int_eq(fk_info_field(&srv, "persistence", "rdb_saves"), saves + 1);
    ck_assert_int_eq(fk_info_field(&srv, "persistence", "snapshot_last_lsn"), (long)lsn);
    ck_assert_int_eq(fickle_lastsave(fc, &after), FICKLE_OK);
    ck_assert_int_ge(after, before);
    ck_assert_int_le(llabs(after - (int64_t)time(NULL)), 2);
    /* BGSAVE: a second one right after is BUSY until the first is done. */
    ck_assert_int_eq(fickle_set(fc, "snap", 4, "2", 1, 0, 0, &v), FICKLE_OK);
    ck_assert_int_eq(fickle_bgsave(fc), FICKLE_OK);
    int rc = fickle_bgsave(fc);
    ck_assert_msg(rc == FICKLE_STATUS_BUSY || rc == FICKLE_OK, "BGSAVE: %d %s", rc, fickle_errstr(fc));
    for (int i = 0; i < 500 && fk_info_field(&srv, "persistence", "rdb_saves") < saves + 2; i++)
        usleep(10000);
    ck_assert_int_ge(fk_info_field(&srv, "persistence", "rdb_saves"), saves + 2);
    long last = fk_info_field(&srv, "persistence", "snapshot_last_lsn");
    ck_assert_int_ge(last, (long)v);
    ck_assert(snapshot_file((uint64_t)last));
    ck_assert_int_eq(fickle_lastsave(fc, &after), FICKLE_OK);
    ck_assert_int_ge(after, before);
    /* The handle is still in step. */
    ck_assert_int_eq(fickle_ping(fc, "x", 1), FICKLE_OK);
}
END_TEST

static int cli(const char *args, char *out, size_t outlen)
{
    char cmd[512];
    const char *wrap = getenv("FICKLE_TEST_EXEC"); /* see exec_util.h */
    snprintf(cmd, sizeof(cmd), "%s %s -p %u %s 2>&1", wrap ? wrap : "", FICKLE_CLI_PATH, srv.port, args);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(cli_against_server)
{
    char out[1024];
    ck_assert_int_eq(cli("set foo bar", out, sizeof(out)), 0);
    ck_assert_int_eq(cli("get foo", out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "bar"), "%s", out);
    ck_assert_int_eq(cli("set foo x nx", out, sizeof(out)), 1); /* EXISTS: a server error reply */
    ck_assert_int_eq(cli("count - +", out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "1"), "%s", out);
    /* save / bgsave / lastsave */
    ck_assert_int_eq(cli("save", out, sizeof(out)), 0);
    unsigned long long lsn = 0;
    ck_assert_msg(sscanf(out, "OK lsn=%llu", &lsn) == 1 && snapshot_file(lsn), "%s", out);
    ck_assert_int_eq(cli("lastsave", out, sizeof(out)), 0);
    ck_assert_msg(llabs(atoll(out) - (long long)time(NULL)) <= 2, "%s", out);
    ck_assert_int_eq(cli("bgsave", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "Background saving started\n");
    ck_assert_int_eq(cli("save extra", out, sizeof(out)), 2);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client_server");
    TCase *tc = tcase_create("client_server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, library_round_trips);
    tcase_add_test(tc, library_pipeline);
    tcase_add_test(tc, library_snapshots);
    tcase_add_test(tc, cli_against_server);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
