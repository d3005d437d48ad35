/*
 * test_abuse.c — hostile clients against the real fickled: huge claimed
 * lengths, negative lengths, garbage, a half-sent request held open, a
 * thousand idle connections past --maxclients, a client that pipelines
 * GETs of a 1 MiB value and never reads, and a slowloris. During each, a
 * second client must keep being served, the children's private memory
 * (RssAnon) must stay under a bound derived from the configured limits,
 * and no child may die (same pids, no restart in the supervisor's log).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/native_client.h"

#define MIB 1024L /* in KiB, as /proc reports */

static fk_server_t srv;

typedef struct {
    pid_t kids[16];
    size_t nkids;
    long anon0_kb; /* children's RssAnon before the abuse */
    long peak_kb;
} watch_t;

static void start(const char *const *extra)
{
    ck_assert_msg(fk_start(&srv, extra) == 0, "fickled did not start");
}

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

static void watch_begin(watch_t *w)
{
    w->nkids = fk_children(&srv, w->kids, 16);
    ck_assert_uint_ge(w->nkids, 3); /* two workers and the persister */
    w->anon0_kb = w->peak_kb = fk_children_kb(&srv, "RssAnon");
    ck_assert_int_gt(w->anon0_kb, 0);
}

/* Samples memory; returns the children's RssAnon now. */
static long watch_sample(watch_t *w)
{
    long kb = fk_children_kb(&srv, "RssAnon");
    if (kb > w->peak_kb)
        w->peak_kb = kb;
    return kb;
}

/* Another client is served while the abuse goes on: a write and a read. */
static void served(const char *tag)
{
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_msg(c != NULL, "%s: a second client could not connect", tag);
    char line[128], want[64];
    snprintf(want, sizeof(want), "v-%s", tag);
    snprintf(line, sizeof(line), "SET other-%s %s", tag, want);
    fk_expect_status(c, line, "OK");
    snprintf(line, sizeof(line), "GET other-%s", tag);
    fk_expect_bulk(c, line, want);
    fk_close(c);
}

/* No child died (same pids, no restart logged) and private memory stayed
 * within bound_kb of the start, measured at the peak and now. */
static void watch_end(watch_t *w, long bound_kb, const char *tag)
{
    long now = watch_sample(w);
    fprintf(stderr, "%s: children RssAnon before %ld KiB, peak %ld KiB, after %ld KiB (bound +%ld KiB); "
            "VmRSS %ld KiB\n", tag, w->anon0_kb, w->peak_kb, now, bound_kb, fk_children_kb(&srv, "VmRSS"));
    ck_assert_msg(w->peak_kb - w->anon0_kb <= bound_kb, "%s: memory grew by %ld KiB, bound %ld KiB", tag,
                  w->peak_kb - w->anon0_kb, bound_kb);
    pid_t kids[16];
    size_t n = fk_children(&srv, kids, 16);
    ck_assert_uint_eq(n, w->nkids);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(kids[i] == w->kids[i], "%s: child %d was replaced by %d", tag, w->kids[i], kids[i]);
    ck_assert_msg(!fk_log_has(&srv, "restarting it", 0), "%s: the supervisor restarted a child", tag);
}

/* Sends raw bytes on a new RESP connection; returns the reply (may be NULL). */
static rv_t *raw_request(const void *bytes, size_t len, bool *closed)
{
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(fk_send_raw(c, bytes, len), 0);
    rv_t *r = fk_read(c);
    *closed = fk_closed(c, 2000);
    fk_close(c);
    return r;
}

START_TEST(huge_negative_and_garbage_lengths)
{
    start(NULL);
    watch_t w;
    watch_begin(&w);
    static const struct {
        const char *req, *error;
        bool closes;
    } cases[] = {
        {"*1\r\n$2147483647\r\n", "ERR Protocol error: invalid bulk length", true},
        {"*2\r\n$3\r\nGET\r\n$9223372036854775807\r\n", "ERR Protocol error: invalid bulk length", true},
        {"*99999999\r\n", "ERR Protocol error: invalid multibulk length", true},
        {"*2\r\n$-5\r\n", "ERR Protocol error: invalid bulk length", true},
        {"*2\r\n$3\r\nGET\r\n$1x\r\n", "ERR Protocol error: invalid bulk length", true},
        {"*1x\r\n", "ERR Protocol error: invalid multibulk length", true},
        {"*1\r\n$3\r\nGETxx", "ERR Protocol error: bulk data not terminated by CRLF", true},
        {"\x01\x02\xff garbage\r\n", "ERR unknown command", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool closed;
        rv_t *r = raw_request(cases[i].req, strlen(cases[i].req), &closed);
        ck_assert_msg(r && r->type == RV_ERROR && !strncmp(r->s, cases[i].error, strlen(cases[i].error)),
                      "case %zu: %s", i, r ? r->s : "no reply");
        ck_assert_msg(closed == cases[i].closes, "case %zu: closed %d", i, closed);
        rv_free(r);
        watch_sample(&w);
    }
    /* "*-5" is an empty multibulk (as in Redis): ignored, the connection stays. */
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_send_raw(c, "*-5\r\n", 5);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);

    /* Native: a value length of 0xFFFFFFFF is answered TOO_BIG at once and
     * the value, were it sent, would be skipped, never buffered. */
    int fd = nv_connect(srv.port);
    uint8_t h[FICKLE_HEADER_SIZE];
    fickle_header_encode(h, &(fickle_header_t){.magic = FICKLE_MAGIC_REQUEST, .version = FICKLE_PROTOCOL_VERSION,
                                               .opcode = FICKLE_OP_SET, .key_len = 1, .value_len = 0xFFFFFFFFu});
    ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    ck_assert_int_eq(write(fd, "k", 1), 1);
    char junk[65536];
    memset(junk, 'j', sizeof(junk));
    for (int i = 0; i < 64; i++) /* 4 MiB of the "value" */
        ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_TOO_BIG);
    nv_free(&nr);
    watch_sample(&w);
    served("native-huge");
    close(fd);
    served("lengths");
    /* Nothing claimed is buffered: what is left is read buffers and, in a
     * sanitizer build, the allocator's quarantine of freed ones (+6 MiB). */
    watch_end(&w, 16 * MIB, "huge lengths");
}
END_TEST

/* A request cut in the middle and held open: others are served, and the
 * server drops it after --timeout seconds without input. */
START_TEST(half_sent_request_held_open)
{
    const char *extra[] = {"--timeout", "2", NULL};
    start(extra);
    watch_t w;
    watch_begin(&w);
    fk_conn_t *half = fk_connect(srv.resp_port);
    const char head[] = "*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$1048576\r\n";
    fk_send_raw(half, head, sizeof(head) - 1);
    char part[65536];
    memset(part, 'h', sizeof(part));
    for (int i = 0; i < 8; i++) /* half of the value */
        fk_send_raw(half, part, sizeof(part));
    served("half");
    watch_sample(&w);
    ck_assert_msg(fk_closed(half, 8000), "a half-sent request was held open past --timeout");
    fk_close(half);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_nil(c, "GET half");
    fk_close(c);
    served("half-after");
    watch_end(&w, 8 * MIB, "half request");
}
END_TEST

/* One byte a second resets any idle timer; the request timeout (the same
 * --timeout, counted from the request's first byte) closes it. */
START_TEST(slowloris)
{
    const char *extra[] = {"--timeout", "2", NULL};
    start(extra);
    watch_t w;
    watch_begin(&w);
    fk_conn_t *slow = fk_connect(srv.resp_port);
    const char req[] = "*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nhello\r\n";
    bool closed = false;
    for (size_t i = 0; i < sizeof(req) - 1 && !closed; i++) {
        if (send(slow->fd, req + i, 1, MSG_NOSIGNAL) != 1)
            break;
        closed = fk_closed(slow, 1000);
        served("slowloris");
    }
    ck_assert_msg(closed, "a client sending one byte a second was never closed");
    fk_close(slow);
    ck_assert(fk_log_has(&srv, "request still incomplete after 2 s", 2000));
    ck_assert_int_ge(fk_info_field(&srv, "stats", "clients_closed_for_limits"), 1);
    watch_end(&w, 4 * MIB, "slowloris");
}
END_TEST

/* Lets this process (and the fickled it starts) hold n sockets. */
static void raise_nofile(rlim_t n)
{
    struct rlimit rl;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur >= n)
        return;
    if (rl.rlim_max < n && rl.rlim_max != RLIM_INFINITY)
        ck_abort_msg("RLIMIT_NOFILE hard limit %llu is below %llu", (unsigned long long)rl.rlim_max,
                     (unsigned long long)n);
    rl.rlim_cur = n;
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

#define IDLE 1000

/* Waits until the server counts n clients (a closed connection is
 * counted until its worker sees the close). */
static void wait_clients(fk_conn_t *ctl, long n)
{
    for (int tries = 0; tries < 200 && fk_info_field_on(ctl, "clients", "connected_clients") != n; tries++)
        usleep(50 * 1000);
    ck_assert_int_eq(fk_info_field_on(ctl, "clients", "connected_clients"), n);
}

START_TEST(thousand_idle_connections_and_maxclients)
{
    raise_nofile(IDLE + 200);
    /* Room for a control connection, the idle ones and one more. */
    const char *extra[] = {"--maxclients", "1002", NULL};
    start(extra);
    fk_conn_t *ctl = fk_connect(srv.resp_port);
    wait_clients(ctl, 1); /* the harness's probe connection is gone */
    watch_t w;
    watch_begin(&w);
    static int fds[IDLE];
    for (int i = 0; i < IDLE; i++) {
        fds[i] = fk_socket_to("127.0.0.1", i % 2 ? srv.port : srv.resp_port);
        ck_assert_msg(fds[i] >= 0, "idle connection %d: %s", i, strerror(errno));
    }
    wait_clients(ctl, IDLE + 1);
    watch_sample(&w);
    served("idle");
    wait_clients(ctl, IDLE + 1);
    /* Full with one more: the next is refused, in both protocols. */
    fk_conn_t *last = fk_connect(srv.resp_port);
    fk_expect_status(last, "PING", "PONG");
    fk_conn_t *over = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(over);
    rv_t *r = fk_read(over);
    ck_assert_msg(r && r->type == RV_ERROR && !strcmp(r->s, "ERR max number of clients reached"), "%s",
                  r ? r->s : "no reply");
    rv_free(r);
    ck_assert(fk_closed(over, 2000));
    fk_close(over);
    int nfd = nv_connect(srv.port);
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(nfd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_BUSY);
    ck_assert(nr.vlen > 0 && strstr((const char *)nr.value, "max number of clients"));
    nv_free(&nr);
    close(nfd);
    fk_close(last);
    watch_sample(&w);
    for (int i = 0; i < IDLE; i++)
        close(fds[i]);
    wait_clients(ctl, 1);
    fk_close(ctl);
    served("idle-after");
    /* 1,000 connections: their buffers and state, 16 KiB each at most. */
    watch_end(&w, IDLE * 16 + 4 * MIB, "1000 idle");
}
END_TEST

/* 10,000 pipelined GETs of a 1 MiB value, never read: the output limit
 * closes the client once 8 MiB of replies are queued. */
START_TEST(pipelined_gets_never_read)
{
    const char *extra[] = {"--max-output", "8m", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    size_t vlen = 1 << 20;
    char *val = malloc(vlen);
    memset(val, 'x', vlen);
    const char *argv[] = {"SET", "big", val};
    size_t lens[] = {3, 3, vlen};
    fk_send(c, 3, argv, lens);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    fk_close(c);
    free(val);
    usleep(200 * 1000);
    watch_t w;
    watch_begin(&w);
    int hog = fk_socket_to("127.0.0.1", srv.resp_port);
    int one = 4096; /* a small receive window: replies pile up in the server */
    setsockopt(hog, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
    const char get[] = "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n";
    int sent = 0;
    for (; sent < 10000; sent++) {
        if (send(hog, get, sizeof(get) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(sizeof(get) - 1))
            break; /* closed by the server, or it stopped reading */
        if (sent % 500 == 0)
            watch_sample(&w);
    }
    for (int i = 0; i < 20; i++) {
        watch_sample(&w);
        usleep(50 * 1000);
    }
    fprintf(stderr, "pipelined %d GETs before the server stopped taking them\n", sent);
    served("pipeline");
    ck_assert_int_ge(fk_info_field(&srv, "stats", "clients_closed_for_limits"), 1);
    ck_assert(fk_log_has(&srv, "over the 8388608-byte limit", 2000));
    close(hog);
    served("pipeline-after");
    /* One client's queue (8 MiB) plus the reply being built (1 MiB), twice over for allocator slack. */
    watch_end(&w, 2 * (8 + 1) * MIB + 4 * MIB, "pipelined GETs");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("abuse");
    TCase *tc = tcase_create("abuse");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, huge_negative_and_garbage_lengths);
    tcase_add_test(tc, half_sent_request_held_open);
    tcase_add_test(tc, slowloris);
    tcase_add_test(tc, thousand_idle_connections_and_maxclients);
    tcase_add_test(tc, pipelined_gets_never_read);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
