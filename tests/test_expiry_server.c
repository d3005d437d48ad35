/*
 * test_expiry_server.c — expiry in the real fickled: the workers' sweep
 * removes expired keys nobody reads (DBSIZE, INFO's expires= and
 * expired_keys); expiry times are absolute and survive every kind of
 * restart (cold from the log, from a snapshot plus the log, warm attach),
 * a key that expired while the server was down is gone after it; and
 * 100,000 keys expiring in the same second are all removed while another
 * client keeps being served.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/load_util.h"

static fk_server_t srv;
/* fsync always where the test kills the server and needs every write. */
static const char *const opts[] = {"--workers", "2", "--fsync", "always", NULL};
static const char *const opts_fast[] = {"--workers", "2", NULL};

/* The wall clock, for PXAT (load_now_ms is monotonic). */
static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void setup(void)
{
    ck_assert_int_eq(fk_start(&srv, opts), 0);
    srv_track(&srv);
}

static void setup_fast(void)
{
    ck_assert_int_eq(fk_start(&srv, opts_fast), 0);
    srv_track(&srv);
}

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

/* expires= of INFO's keyspace line (0 when the keyspace is empty). */
static uint64_t info_expires(uint16_t port)
{
    fk_conn_t *c = fk_connect(port);
    ck_assert_ptr_nonnull(c);
    rv_t *r = fk_cmd(c, "INFO keyspace");
    ck_assert(r && r->type == RV_BULK);
    const char *p = strstr(r->s, ",expires=");
    uint64_t v = p ? strtoull(p + strlen(",expires="), NULL, 10) : 0;
    ck_assert_msg(p || !strstr(r->s, "db0:"), "%s", r->s);
    rv_free(r);
    fk_close(c);
    return v;
}

/* Polls DBSIZE (which reads no key) until it is want; false after ms. */
static bool dbsize_reaches(uint16_t port, int64_t want, int ms)
{
    fk_conn_t *c = fk_connect(port);
    ck_assert_ptr_nonnull(c);
    int64_t n = -1;
    for (uint64_t end = load_now_ms() + (uint64_t)ms; load_now_ms() < end; load_sleep_ms(20))
        if ((n = fk_int(c, "DBSIZE")) == want)
            break;
    fk_close(c);
    if (n != want)
        fprintf(stderr, "DBSIZE %lld, waited for %lld\n", (long long)n, (long long)want);
    return n == want;
}

/* Sends lines[0..n) pipelined in chunks and asserts each reply is +OK. */
static void pipeline_ok(fk_conn_t *c, const char *fmt, unsigned from, unsigned n, const char *arg)
{
    const unsigned chunk = 1000;
    for (unsigned i = from; i < from + n; i += chunk) {
        unsigned m = from + n - i < chunk ? from + n - i : chunk;
        for (unsigned j = 0; j < m; j++) {
            char key[64];
            snprintf(key, sizeof(key), fmt, i + j);
            const char *argv[] = {"SET", key, "v", arg ? "PXAT" : NULL, arg};
            ck_assert_int_eq(fk_send(c, arg ? 5 : 3, argv, NULL), 0);
        }
        for (unsigned j = 0; j < m; j++) {
            rv_t *r = fk_read(c);
            ck_assert_msg(r && r->type == RV_STATUS, "pipelined SET %u failed", i + j);
            rv_free(r);
        }
    }
}

/* Keys with short TTLs nobody reads leave DBSIZE and INFO's counts. */
START_TEST(sweep_removes_unread_keys)
{
    fk_conn_t *c = fk_connect(srv.resp_port);
    char at[32];
    uint64_t at_ms = wall_ms() + 1500;
    snprintf(at, sizeof(at), "%llu", (unsigned long long)at_ms);
    pipeline_ok(c, "short:%u", 0, 2000, at);
    pipeline_ok(c, "keep:%u", 0, 50, NULL);
    fk_expect_status(c, "SET long v EX 1000", "OK");
    if (wall_ms() + 100 < at_ms) { /* (a slow machine may be past it already) */
        ck_assert_int_eq(fk_int(c, "DBSIZE"), 2051);
        ck_assert_uint_eq(info_expires(srv.resp_port), 2001);
    }
    ck_assert(dbsize_reaches(srv.resp_port, 51, 20000));
    ck_assert_uint_eq(info_expires(srv.resp_port), 1);
    ck_assert_uint_eq(srv_info(srv.resp_port, "stats", "expired_keys"), 2000);
    fk_expect_bulk(c, "GET keep:7", "v");
    ck_assert_int_gt(fk_int(c, "TTL long"), 900); /* still there, with its expiry */
    fk_close(c);
}
END_TEST

/* ---- restarts ------------------------------------------------------------------------ */

typedef enum { RS_LOG, RS_SNAPSHOT_LOG, RS_WARM } restart_kind_t;
static const char *const restart_names[] = {"cold from the log", "cold from snapshot + log", "warm"};

#define LONG_MS 8000
#define GONE_MS 400
#define FAR_S 4102444800ll /* 2100-01-01 */

/* Sets prefix:long (PX LONG_MS), prefix:gone (PX GONE_MS), prefix:keep and
 * prefix:far (EXAT FAR_S); returns a time after the SETs were answered. */
static uint64_t set_keys(fk_conn_t *c, const char *prefix)
{
    char line[128];
    snprintf(line, sizeof(line), "SET %s:long v PX %d", prefix, LONG_MS);
    fk_expect_status(c, line, "OK");
    snprintf(line, sizeof(line), "SET %s:gone v PX %d", prefix, GONE_MS);
    fk_expect_status(c, line, "OK");
    snprintf(line, sizeof(line), "SET %s:keep v", prefix);
    fk_expect_status(c, line, "OK");
    snprintf(line, sizeof(line), "SET %s:far v EXAT %lld", prefix, FAR_S);
    fk_expect_status(c, line, "OK");
    return load_now_ms();
}

/* After the restart: the long key has no more time left than it had by
 * the clock (the expiry is absolute), the gone key is gone. */
static void expect_keys(fk_conn_t *c, const char *prefix, uint64_t set_at)
{
    char line[128];
    uint64_t now = load_now_ms();
    snprintf(line, sizeof(line), "PTTL %s:long", prefix);
    int64_t left = fk_int(c, line);
    int64_t bound = (int64_t)(set_at + LONG_MS) - (int64_t)now;
    ck_assert_msg(left > 0 && left <= bound + 1, "%s: PTTL %lld after the restart, at most %lld expected", line,
                  (long long)left, (long long)bound);
    snprintf(line, sizeof(line), "EXISTS %s:gone", prefix);
    ck_assert_int_eq(fk_int(c, line), 0);
    snprintf(line, sizeof(line), "TTL %s:keep", prefix);
    ck_assert_int_eq(fk_int(c, line), -1);
    snprintf(line, sizeof(line), "EXPIRETIME %s:far", prefix);
    ck_assert_int_eq(fk_int(c, line), FAR_S);
}

START_TEST(expiry_survives_restarts)
{
    restart_kind_t kind = (restart_kind_t)_i;
    fk_conn_t *c = fk_connect(srv.resp_port);
    uint64_t first = set_keys(c, "a");
    if (kind == RS_SNAPSHOT_LOG)
        fk_expect_status(c, "SAVE", "OK");
    uint64_t second = set_keys(c, "b"); /* after the snapshot: in the log only */
    fk_close(c);
    if (kind == RS_WARM) {
        ck_assert_int_eq(fk_stop(&srv), 0);
    } else if (kind == RS_SNAPSHOT_LOG) {
        srv_kill_all(&srv); /* no final snapshot: the b keys must come from the log */
        ck_assert_int_eq(srv_remove_region(&srv), 1);
    } else {
        ck_assert_int_eq(fk_stop(&srv), 0);
        ck_assert_int_eq(srv_remove_region(&srv), 1);
        ck_assert_int_ge(srv_remove_snapshots(&srv), 1);
    }
    /* The gone keys expire while the server is down. */
    while (load_now_ms() < second + GONE_MS + 100)
        load_sleep_ms(20);
    srv_clear_log(&srv);
    ck_assert_int_eq(fk_restart(&srv, opts), 0);
    ck_assert_msg(fk_log_has(&srv, "warm restart", 0) == (kind == RS_WARM), "%s: wrong recovery",
                  restart_names[kind]);
    c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    rv_t *r = fk_cmd(c, "INFO persistence");
    ck_assert(r && r->type == RV_BULK);
    if (kind != RS_WARM)
        ck_assert_msg(strstr(r->s, kind == RS_LOG ? "recovery_source:log" : "recovery_source:snapshot"),
                      "%s: %s", restart_names[kind], r->s);
    rv_free(r);
    expect_keys(c, "a", first);
    expect_keys(c, "b", second);
    /* The expired keys are removed from the store too, unread. */
    ck_assert(dbsize_reaches(srv.resp_port, 6, 10000));
    ck_assert_uint_eq(info_expires(srv.resp_port), 4);
    fk_close(c);
}
END_TEST

/* ---- many keys at once ----------------------------------------------------------------- */

typedef struct {
    volatile int stop;
    volatile uint64_t ops, failures;
} served_t;

/* A client that keeps writing and reading its own keys, checking each
 * answer, until told to stop. */
static void served_client(uint16_t port, served_t *sh)
{
    fk_conn_t *c = fk_connect(port);
    if (c == NULL)
        _exit(2);
    for (uint64_t n = 0; !sh->stop; n++) {
        char key[32], val[32], line[96];
        snprintf(key, sizeof(key), "live:%llu", (unsigned long long)(n % 10));
        snprintf(val, sizeof(val), "%llu", (unsigned long long)n);
        snprintf(line, sizeof(line), "SET %s %s", key, val);
        rv_t *r = fk_cmd(c, line);
        bool ok = r && r->type == RV_STATUS;
        rv_free(r);
        snprintf(line, sizeof(line), "GET %s", key);
        r = fk_cmd(c, line);
        ok = ok && r && r->type == RV_BULK && strcmp(r->s, val) == 0;
        rv_free(r);
        if (!ok)
            sh->failures++;
        sh->ops++;
    }
    fk_close(c);
    _exit(0);
}

START_TEST(mass_expiry_while_serving)
{
    const unsigned nkeys = 100000;
    fk_conn_t *c = fk_connect(srv.resp_port);
    uint64_t at = wall_ms() + 5000;
    at -= at % 1000; /* every key in the same second */
    char arg[32];
    snprintf(arg, sizeof(arg), "%llu", (unsigned long long)at);
    pipeline_ok(c, "mass:%07u", 0, nkeys, arg);
    pipeline_ok(c, "keep:%u", 0, 100, NULL);
    ck_assert_uint_le(info_expires(srv.resp_port), nkeys);
    served_t *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert(sh != MAP_FAILED);
    memset(sh, 0, sizeof(*sh));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        served_client(srv.resp_port, sh);
    while (wall_ms() < at)
        load_sleep_ms(20);
    uint64_t ops_at_expiry = sh->ops, t0 = load_now_ms();
    ck_assert(dbsize_reaches(srv.resp_port, 110, 120000));
    uint64_t ops_during = sh->ops - ops_at_expiry, took = load_now_ms() - t0;
    sh->stop = 1;
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fprintf(stderr, "mass expiry: %u keys removed in %llu ms; the other client made %llu round trips meanwhile\n",
            nkeys, (unsigned long long)took, (unsigned long long)ops_during);
    ck_assert_uint_eq(sh->failures, 0);
    ck_assert_uint_gt(ops_during, 0); /* it was served while the keys went */
    ck_assert_uint_ge(srv_info(srv.resp_port, "stats", "expired_keys"), nkeys);
    ck_assert_uint_eq(info_expires(srv.resp_port), 0);
    munmap(sh, sizeof(*sh));
    fk_close(c);
}
END_TEST

int main(void)
{
    srv_track_init();
    Suite *s = suite_create("expiry_server");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, setup_fast, teardown);
    tcase_add_test(tc, sweep_removes_unread_keys);
    tcase_add_test(tc, mass_expiry_while_serving);
    suite_add_tcase(s, tc);
    tc = tcase_create("restart");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, expiry_survives_restarts, RS_LOG, RS_WARM + 1);
    suite_add_tcase(s, tc);
    int rc = fk_run_suite(s);
    srv_sweep();
    return rc;
}
