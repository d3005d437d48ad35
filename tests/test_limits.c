/*
 * test_limits.c — every client-facing limit of fickled, each against the
 * real server: key size, value size, request size, argument count, the
 * output buffer of a client that does not read, maxclients, idle timeout,
 * and framing errors that cannot be resynchronised.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/native_client.h"

static fk_server_t srv;

static void start(const char *const *extra)
{
    ck_assert_msg(fk_start(&srv, extra) == 0, "fickled did not start");
}

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

START_TEST(key_and_value_size)
{
    const char *extra[] = {"--max-value-size", "1k", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    size_t big = 65536;
    char *key = malloc(big);
    memset(key, 'k', big);
    const char *argv[] = {"SET", key, "v"};
    size_t lens[] = {3, big, 1};
    fk_send(c, 3, argv, lens);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_ERROR && strstr(r->s, "exceeds maximum allowed size"), "key over 64 KiB");
    rv_free(r);
    lens[1] = 65535; /* the largest key is fine */
    fk_send(c, 3, argv, lens);
    r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    char val[1025];
    memset(val, 'v', sizeof(val));
    const char *argv2[] = {"SET", "k", val};
    size_t lens2[] = {3, 1, 1025};
    fk_send(c, 3, argv2, lens2);
    r = fk_read(c);
    ck_assert_msg(r && r->type == RV_ERROR && strstr(r->s, "values up to 1024"), "value over --max-value-size");
    rv_free(r);
    lens2[2] = 1024;
    fk_send(c, 3, argv2, lens2);
    r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    fk_expect_error(c, "APPEND k x", "ERR string exceeds maximum allowed size");
    fk_expect_int(c, "STRLEN k", 1024);

    /* Native: the same limit, status TOO_BIG, connection kept. */
    int fd = nv_connect(srv.port);
    nv_reply_t nr;
    nv_send(fd, FICKLE_OP_SET, 0, 1, NULL, 0, "n", 1, val, 1025);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_TOO_BIG);
    nv_free(&nr);
    nv_send(fd, FICKLE_OP_PING, 0, 2, NULL, 0, NULL, 0, NULL, 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_OK);
    nv_free(&nr);
    close(fd);
    free(key);
    fk_close(c);
}
END_TEST

/* A bulk longer than any request the server accepts: error, then closed. */
START_TEST(request_size_and_bad_framing_close)
{
    start(NULL);
    fk_conn_t *c = fk_connect(srv.resp_port);
    const char req[] = "*2\r\n$3\r\nGET\r\n$999999999999\r\n";
    fk_send_raw(c, req, sizeof(req) - 1);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_ERROR && !strcmp(r->s, "ERR Protocol error: invalid bulk length"), "%s",
                  r ? r->s : "no reply");
    rv_free(r);
    ck_assert(fk_closed(c, 2000));
    fk_close(c);

    c = fk_connect(srv.resp_port);
    fk_send_raw(c, "*-5x\r\n", 6);
    r = fk_read(c);
    ck_assert(r && r->type == RV_ERROR && strstr(r->s, "Protocol error"));
    rv_free(r);
    ck_assert(fk_closed(c, 2000));
    fk_close(c);

    /* Native: a bad magic byte gets BAD_REQUEST and a close. */
    int fd = nv_connect(srv.port);
    char junk[FICKLE_HEADER_SIZE];
    memset(junk, 'G', sizeof(junk));
    ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&nr);
    char b;
    ck_assert_int_le(read(fd, &b, 1), 0);
    close(fd);
    ck_assert_int_ge(fk_info_field(&srv, "stats", "clients_closed_for_limits"), 3);
}
END_TEST

/* Before AUTH, requests are held to 10 arguments and 16 KiB bulks. */
START_TEST(unauthenticated_argument_limits)
{
    const char *extra[] = {"--requirepass", "pw", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_send_raw(c, "*11\r\n", 5);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_ERROR && strstr(r->s, "unauthenticated multibulk length"));
    rv_free(r);
    ck_assert(fk_closed(c, 2000));
    fk_close(c);
    c = fk_connect(srv.resp_port);
    fk_send_raw(c, "*2\r\n$4\r\nAUTH\r\n$20000\r\n", 22);
    r = fk_read(c);
    ck_assert(r && r->type == RV_ERROR && strstr(r->s, "unauthenticated bulk length"));
    rv_free(r);
    fk_close(c);
    /* After AUTH, the normal limits apply. */
    c = fk_connect(srv.resp_port);
    fk_expect_status(c, "AUTH pw", "OK");
    fk_expect_int(c, "DEL a b c d e f g h i j k l", 0);
    fk_close(c);
}
END_TEST

/* A client that pipelines GETs of a large value and never reads is closed
 * once its queued replies pass --max-output; others are served on. */
START_TEST(output_limit_closes_non_reading_client)
{
    const char *extra[] = {"--max-output", "1m", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    size_t vlen = 256 * 1024;
    char *val = malloc(vlen);
    memset(val, 'x', vlen);
    const char *argv[] = {"SET", "big", val};
    size_t lens[] = {3, 3, vlen};
    fk_send(c, 3, argv, lens);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    fk_conn_t *hog = fk_connect(srv.resp_port);
    const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    for (int i = 0; i < 2000; i++)
        if (fk_send_raw(hog, get, sizeof(get) - 1) != 0)
            break; /* the server closed it already */
    /* Waits without reading: a hog that reads, however slowly, is a slow
     * reader, and the server writes to it as the socket takes the replies. */
    long closed = 0;
    for (int waited = 0; waited < fk_slow_ms(10000); waited += 50) {
        if ((closed = fk_info_field(&srv, "stats", "clients_closed_for_limits")) >= 1)
            break;
        usleep(50 * 1000);
    }
    ck_assert_int_ge(closed, 1);
    ck_assert(fk_log_has(&srv, "over the 1048576-byte limit", 2000));
    fk_expect_status(c, "PING", "PONG");
    fk_close(hog);
    fk_close(c);
    free(val);
}
END_TEST

/* Queues n copies of line (one word split as fk_cmd does) after MULTI. */
static void queue_n(fk_conn_t *c, const char *line, int n)
{
    for (int i = 0; i < n; i++)
        fk_expect_status(c, line, "QUEUED");
}

/* One EXEC's reply is bounded by --max-output as a whole: building it
 * stops as soon as it passes the limit, nothing of the transaction is
 * applied, the client gets an error and keeps its connection; the
 * worker's memory never holds the whole would-be reply (400 GETs of
 * 256 KiB: 100 MiB). */
START_TEST(exec_reply_bounded_by_max_output)
{
    const char *extra[] = {"--max-output", "1m", "--workers", "1", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    size_t vlen = 256 * 1024;
    char *val = malloc(vlen);
    memset(val, 'x', vlen);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "big:%d", i);
        const char *argv[] = {"SET", key, val};
        size_t lens[] = {3, strlen(key), vlen};
        ck_assert_int_eq(fk_send(c, 3, argv, lens), 0);
        rv_t *r = fk_read(c);
        ck_assert(r && r->type == RV_STATUS);
        rv_free(r);
    }
    long errors = fk_info_field(&srv, "stats", "txn_aborted_error");
    long rss = fk_children_kb(&srv, "RssAnon");
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "SET marker 1", "QUEUED");
    queue_n(c, "GET big:0", 400);
    fk_expect_error(c, "EXEC", "ERR EXEC reply too large: the replies of its first 5 of 401 commands pass --max-output");
    long grown = fk_children_kb(&srv, "RssAnon") - rss;
    ck_assert_msg(grown < 16 * 1024, "the workers grew by %ld KiB", grown);
    fk_expect_int(c, "EXISTS marker", 0); /* nothing applied */
    /* RANGEs, each under the limit, together over it. */
    fk_expect_status(c, "MULTI", "OK");
    queue_n(c, "RANGE [big:0 [big:9 LIMIT 3 WITHVALUES", 4);
    fk_expect_status(c, "DEL big:0", "QUEUED");
    fk_expect_error(c, "EXEC", "ERR EXEC reply too large: the replies of its first 2 of 5");
    ck_assert_int_eq(fk_info_field(&srv, "stats", "txn_aborted_error"), errors + 2);
    /* Just under the limit: the whole reply. */
    fk_expect_status(c, "MULTI", "OK");
    queue_n(c, "GET big:0", 3);
    fk_expect_status(c, "DEL big:0", "QUEUED");
    rv_t *r = fk_cmd(c, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 4 && r->elems[2].len == vlen && r->elems[3].i == 1);
    rv_free(r);
    fk_expect_status(c, "PING", "PONG");
    ck_assert_int_eq(fk_info_field(&srv, "stats", "clients_closed_for_limits"), 0);
    fk_close(c);
    free(val);
}
END_TEST

START_TEST(maxclients_refuses_with_error)
{
    const char *extra[] = {"--maxclients", "3", NULL};
    start(extra);
    usleep(300 * 1000); /* the harness's probe connection is gone */
    fk_conn_t *c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = fk_connect(srv.resp_port);
        fk_expect_status(c[i], "PING", "PONG");
    }
    fk_conn_t *extra_c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(extra_c);
    rv_t *r = fk_read(extra_c);
    ck_assert_msg(r && r->type == RV_ERROR && !strcmp(r->s, "ERR max number of clients reached"), "%s",
                  r ? r->s : "no reply");
    rv_free(r);
    ck_assert(fk_closed(extra_c, 2000));
    fk_close(extra_c);
    fk_close(c[0]);
    usleep(300 * 1000);
    fk_conn_t *again = fk_connect(srv.resp_port); /* room again */
    fk_expect_status(again, "PING", "PONG");
    fk_close(again);
    fk_close(c[1]);
    fk_close(c[2]);
}
END_TEST

START_TEST(idle_timeout_closes)
{
    const char *extra[] = {"--timeout", "1", NULL};
    start(extra);
    fk_conn_t *idle = fk_connect(srv.resp_port);
    fk_expect_status(idle, "PING", "PONG");
    ck_assert(fk_closed(idle, 4000));
    fk_close(idle);
}
END_TEST

/* Garbage, half requests and huge claims never crash a worker. */
START_TEST(garbage_never_crashes)
{
    start(NULL);
    const char *junk[] = {"*2147483647\r\n", "$-1\r\n", "*1\r\n$-7\r\n", "\x00\x01\x02\xff\r\n",
                          "*3\r\n$3\r\nSET\r\n$1\r\na\r\n", "\"unbalanced\r\n", "*99999999\r\n"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        fk_conn_t *c = fk_connect(srv.resp_port);
        fk_send_raw(c, junk[i], strlen(junk[i]) + (junk[i][0] == '\0' ? 4 : 0));
        fk_close(c);
    }
    pid_t before[8], after[8];
    size_t nb = fk_children(&srv, before, 8);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_status(c, "SET k v", "OK");
    fk_expect_bulk(c, "GET k", "v");
    fk_close(c);
    size_t na = fk_children(&srv, after, 8);
    ck_assert_uint_eq(nb, na);
    for (size_t i = 0; i < nb; i++)
        ck_assert_int_eq(before[i], after[i]); /* no worker restarted */
    ck_assert(!fk_log_has(&srv, "killed by signal", 0));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, key_and_value_size);
    tcase_add_test(tc, request_size_and_bad_framing_close);
    tcase_add_test(tc, unauthenticated_argument_limits);
    tcase_add_test(tc, output_limit_closes_non_reading_client);
    tcase_add_test(tc, exec_reply_bounded_by_max_output);
    tcase_add_test(tc, maxclients_refuses_with_error);
    tcase_add_test(tc, idle_timeout_closes);
    tcase_add_test(tc, garbage_never_crashes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
