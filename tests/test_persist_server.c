/*
 * test_persist_server.c — durability of the real server under SIGKILL: the
 * whole process group killed under write load (then a cold rebuild from
 * the log, or a warm attach of the region), the persister killed again and
 * again, --fsync always replies only once durable, and a full change ring.
 * Every acknowledged write must be there afterwards with its acknowledged
 * value, and `fickled --check` must pass. Damaged logs: test_persist_damage.c.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/load_util.h"
#include "tests/robust_probe.h"

static fk_server_t srv;
static char acks[300];
static pid_t stopped_pid; /* a process this test SIGSTOPped */

static void teardown(void)
{
    if (stopped_pid > 0)
        kill(stopped_pid, SIGCONT);
    stopped_pid = 0;
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

static void start(const char *const *extra)
{
    ck_assert_int_eq(fk_start(&srv, extra), 0);
    srv_track(&srv);
    snprintf(acks, sizeof(acks), "%s/acks", srv.dir);
}

/* Restarts on the same directories; the log then holds only this start. */
static void restart(const char *const *extra)
{
    srv_clear_log(&srv);
    ck_assert_int_eq(fk_restart(&srv, extra), 0);
}

static pid_t persister_pid(void)
{
    return (pid_t)srv_info(srv.resp_port, "persistence", "persister_pid");
}

/* The number after text in the server log (asserts it is there). */
static uint64_t log_number(const char *text)
{
    FILE *f = fopen(srv.log, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    const char *p = NULL;
    while (p == NULL && fgets(line, sizeof(line), f))
        p = strstr(line, text);
    fclose(f);
    ck_assert_msg(p != NULL, "the log has no '%s'", text);
    return strtoull(p + strlen(text), NULL, 10);
}

static void wait_acks(size_t n)
{
    for (int waited = 0; load_acked(acks) < n; waited += 10) {
        ck_assert_msg(waited < 30000, "only %zu writes acknowledged in 30 s", load_acked(acks));
        load_sleep_ms(10);
    }
}

/* Waits for the persister to report the log at lsn (INFO's log_lsn is 0
 * until it has scanned the log at its start). */
static void wait_log_lsn(uint64_t lsn)
{
    uint64_t t0 = load_now_ms(), got;
    while ((got = srv_info(srv.resp_port, "persistence", "log_lsn")) != lsn) {
        ck_assert_msg(got == 0 && load_now_ms() - t0 < 30000, "log_lsn is %llu, not %llu", (unsigned long long)got,
                      (unsigned long long)lsn);
        load_sleep_ms(10);
    }
}

/* After a stop: `fickled --check` passes and the log holds one record
 * per LSN from its first to its last, none missing, none twice (LSNs are
 * consecutive: each write that changes something takes the next one). */
static void expect_log_exact(uint64_t last)
{
    srv_stop_and_check(&srv);
    char out[4096];
    ck_assert_int_eq(srv_check(&srv, out, sizeof(out)), 0);
    const char *p = strstr(out, "\nlog ");
    p = p ? strstr(p, "is consistent (") : NULL;
    unsigned long long records, segments, first, lastl;
    ck_assert_msg(p && sscanf(p, "is consistent (%llu records in %llu segments, LSN %llu..%llu)", &records, &segments,
                              &first, &lastl) == 4, "%s", out);
    ck_assert_uint_eq(lastl, last);
    ck_assert_msg(records == lastl - first + 1, "%s", out);
}

/* SIGKILL to every process of the server in the middle of a write load;
 * then a reboot (the region is gone: a cold rebuild from the log) or
 * not (the region is attached as it is, and what its ring held reaches
 * the log: a later cold rebuild finds everything too). */
static const struct {
    bool cold;
    const char *fsync;
} group_kill[] = {{true, "always"}, {false, "always"}, {false, "everysec"}};

START_TEST(group_killed_under_load)
{
    bool cold = group_kill[_i].cold;
    const char *const opts[] = {"--fsync", group_kill[_i].fsync, "--log-segment-size", "1m", NULL};
    start(opts);
    pid_t l[3];
    for (unsigned i = 0; i < 3; i++)
        l[i] = load_start(srv.resp_port, acks, 60000, i + 1);
    wait_acks(2000);
    srv_kill_all(&srv);
    for (unsigned i = 0; i < 3; i++) {
        load_stop(l[i]);
        load_wait(l[i]);
    }
    size_t acked = load_acked(acks);
    fprintf(stderr, "group_killed_under_load (%s, fsync %s): %zu writes acknowledged before the kill\n",
            cold ? "cold" : "warm", opts[1], acked);
    if (cold)
        ck_assert_int_eq(srv_remove_region(&srv), 1);
    restart(opts);
    if (cold) {
        ck_assert(!fk_log_has(&srv, "warm restart", 0));
        /* A record per write at least (a log-growth snapshot, which slow
         * runs may take, can hold them: hence the LSN, not the count). */
        ck_assert_uint_ge(log_number(" up to LSN "), acked);
    } else {
        ck_assert_msg(fk_log_has(&srv, "warm restart", 0), "the region was not attached");
    }
    ck_assert_uint_eq(load_verify(srv.resp_port, acks), acked);
    if (!cold) {
        ck_assert_int_eq(fk_stop(&srv), 0);
        ck_assert_int_eq(srv_remove_region(&srv), 1);
        restart(opts);
        ck_assert(fk_log_has(&srv, "recovered ", 0));
        ck_assert_uint_eq(load_verify(srv.resp_port, acks), acked);
    }
    expect_log_exact(srv_info(srv.resp_port, "persistence", "last_lsn"));
}
END_TEST

/* One SET, then INFO: with no other client, durable_lsn must cover
 * last_lsn once the reply is there. */
static void set_then_info(fk_conn_t *c, int i)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "SET dur:%d value:%d", i, i);
    fk_expect_status(c, cmd, "OK");
    rv_t *r = fk_cmd(c, "INFO persistence");
    ck_assert(r && r->type == RV_BULK);
    const char *last = strstr(r->s, "\nlast_lsn:"), *durable = strstr(r->s, "\ndurable_lsn:");
    ck_assert(last && durable);
    uint64_t l = strtoull(last + 10, NULL, 10), d = strtoull(durable + 13, NULL, 10);
    ck_assert_msg(d >= l, "SET %d acknowledged at LSN %llu but durable_lsn is %llu", i, (unsigned long long)l,
                  (unsigned long long)d);
    rv_free(r);
}

/* 200 SETs in one pipelined send, then their 200 replies. */
static void set_pipelined(fk_conn_t *c)
{
    for (int i = 0; i < 200; i++) {
        char key[32], val[32];
        snprintf(key, sizeof(key), "dur:%d", i);
        snprintf(val, sizeof(val), "value:%d", i);
        const char *argv[] = {"SET", key, val};
        ck_assert_int_eq(fk_send(c, 3, argv, NULL), 0);
    }
    for (int i = 0; i < 200; i++) {
        rv_t *r = fk_read(c);
        ck_assert_msg(r && r->type == RV_STATUS, "no OK for pipelined SET %d", i);
        rv_free(r);
    }
}

/* --fsync always: a reply means the write is on disk (group commit holds
 * replies until the fsync covers them), one SET at a time or 200 in a
 * pipeline; the machine "crashes" right after the last reply. */
START_TEST(fsync_always_reply_means_durable)
{
    static const char *const always[] = {"--fsync", "always", NULL};
    start(always);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    if (_i == 0)
        for (int i = 0; i < 200; i++)
            set_then_info(c, i);
    else
        set_pipelined(c);
    srv_kill_all(&srv);
    fk_close(c);
    ck_assert_int_eq(srv_remove_region(&srv), 1);
    restart(always);
    ck_assert(fk_log_has(&srv, "recovered ", 0));
    c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < 200; i++) {
        char cmd[32], want[32];
        snprintf(cmd, sizeof(cmd), "GET dur:%d", i);
        snprintf(want, sizeof(want), "value:%d", i);
        fk_expect_bulk(c, cmd, want);
    }
    fk_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

/* Kills the persister; returns true if a write was acknowledged while it
 * was down (before its successor published its pid). Waits for that
 * successor. */
static bool kill_persister(fk_conn_t *probe, int round)
{
    pid_t old = persister_pid();
    for (int waited = 0; old <= 0; waited += 10) { /* INFO shows 0 while none runs */
        ck_assert_msg(waited < 20000, "no persister is running");
        load_sleep_ms(10);
        old = persister_pid();
    }
    ck_assert_int_eq(kill(old, SIGKILL), 0);
    for (int waited = 0; !srv_pid_gone(old); waited += 5) {
        ck_assert_msg(waited < 10000, "the persister survived SIGKILL");
        load_sleep_ms(5);
    }
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "SET probe:%d down", round);
    fk_expect_status(probe, cmd, "OK");
    pid_t now = persister_pid();
    bool down = now == old || now <= 0;
    for (int waited = 0; (now = persister_pid()) == old || now <= 0; waited += 10) {
        ck_assert_msg(waited < 20000, "the persister was not restarted");
        load_sleep_ms(10);
    }
    return down;
}

/* The persister killed five times under write load. --fsync everysec:
 * writes are acknowledged while it is down, then a graceful stop drains
 * the ring. --fsync always: no reply while it is down, then the whole
 * group is killed. Either way a cold rebuild finds every acknowledged
 * write, and the log every write exactly once. */
START_TEST(persister_killed_repeatedly)
{
    bool always = _i == 1;
    const char *const opts[] = {"--fsync", always ? "always" : "everysec", "--log-segment-size", "1m", NULL};
    start(opts);
    pid_t l1 = load_start(srv.resp_port, acks, 60000, 1), l2 = load_start(srv.resp_port, acks, 60000, 2);
    wait_acks(200);
    fk_conn_t *probe = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(probe);
    int down = 0;
    for (int round = 0; round < 5; round++) {
        down += kill_persister(probe, round);
        load_sleep_ms(300);
    }
    fk_close(probe);
    fprintf(stderr, "persister_killed_repeatedly (fsync %s): a write was acknowledged while the persister was down in "
                    "%d of 5 rounds\n", opts[1], down);
    if (always)
        ck_assert_msg(down == 0, "--fsync always acknowledged a write while the persister was down");
    else
        ck_assert_int_ge(down, 1);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "persister_restarts"), 5);
    load_stop(l1);
    load_stop(l2);
    load_wait(l1);
    load_wait(l2);
    ck_assert(fk_log_has(&srv, "persister (pid", 0) && fk_log_has(&srv, "killed by signal 9", 0));
    uint64_t last = srv_info(srv.resp_port, "persistence", "last_lsn");
    if (always)
        srv_kill_all(&srv);
    else
        ck_assert_int_eq(fk_stop(&srv), 0); /* the persister drains the ring */
    ck_assert_int_eq(srv_remove_region(&srv), 1);
    restart(opts);
    ck_assert(fk_log_has(&srv, "recovered ", 0));
    uint64_t recovered = srv_info(srv.resp_port, "persistence", "last_lsn");
    wait_log_lsn(recovered);
    if (!always)
        ck_assert_uint_eq(recovered, last);
    ck_assert_uint_gt(load_verify(srv.resp_port, acks), 200);
    fk_conn_t *c = fk_connect(srv.resp_port);
    for (int round = 0; round < 5; round++) {
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "GET probe:%d", round);
        fk_expect_bulk(c, cmd, "down");
    }
    fk_close(c);
    expect_log_exact(recovered);
}
END_TEST

/* The state letter of /proc/<pid>/stat. */
static char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return '?';
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *rp = strrchr(buf, ')');
    return rp && rp[1] ? rp[2] : '?';
}

/* MSET of four 60 KB values (one ~240 KB ring record): the reply (NULL if
 * none came within the client's 10 s timeout). */
static rv_t *mset4(fk_conn_t *c, unsigned round)
{
    static char val[60000];
    char keys[4][32];
    const char *argv[9] = {"MSET"};
    size_t lens[9] = {4};
    for (int j = 0; j < 4; j++) {
        lens[1 + 2 * j] = (size_t)snprintf(keys[j], sizeof(keys[j]), "big:%u:%d", round, j);
        argv[1 + 2 * j] = keys[j];
        argv[2 + 2 * j] = val;
        lens[2 + 2 * j] = sizeof(val);
    }
    memset(val, 'a' + (int)(round % 26), sizeof(val));
    snprintf(val, 32, "round:%u:", round);
    return fk_send(c, 9, argv, lens) == 0 ? fk_read(c) : NULL;
}

/* Asserts big:<round>:* hold round's values (or are all absent). */
static void expect_round(fk_conn_t *c, unsigned round, bool present)
{
    for (int j = 0; j < 4; j++) {
        char cmd[48], prefix[32];
        snprintf(cmd, sizeof(cmd), "GET big:%u:%d", round, j);
        int plen = snprintf(prefix, sizeof(prefix), "round:%u:", round);
        rv_t *r = fk_cmd(c, cmd);
        ck_assert_ptr_nonnull(r);
        if (present)
            ck_assert_msg(r->type == RV_BULK && r->len == 60000 && !strncmp(r->s, prefix, (size_t)plen),
                          "big:%u:%d lost or wrong", round, j);
        else
            ck_assert_msg(r->type == RV_NIL, "big:%u:%d of a failed MSET is there", round, j);
        rv_free(r);
    }
}

/* Writes until one fails; the failure's text (malloc'd). *ok = writes
 * acknowledged before it. NULL if none failed or one got no reply. */
static char *fill_ring(fk_conn_t *c, unsigned *ok, bool *hung)
{
    *ok = 0;
    *hung = false;
    for (unsigned round = 0; round < 40; round++) {
        rv_t *r = mset4(c, round);
        if (r == NULL) {
            *hung = true;
            return NULL;
        }
        if (r->type == RV_ERROR) {
            char *msg = strdup(r->s);
            rv_free(r);
            return msg;
        }
        bool acked = r->type == RV_STATUS && strcmp(r->s, "OK") == 0;
        rv_free(r);
        if (!acked)
            return strdup("(not an error, not OK)");
        (*ok)++;
    }
    return NULL;
}

/* The persister stopped (SIGSTOP) with a 1 MB ring: writes fill it, then
 * get a clear error within the bounded wait and change nothing; reads go
 * on; once the persister runs again, writes succeed again. */
/* Sends KEYS SETs of deterministic values, pipelined in bursts. */
static void load_keys(fk_conn_t *c, int n)
{
    enum { BURST = 1000 };
    char *buf = malloc(BURST * 96);
    for (int base = 0; base < n; base += BURST) {
        size_t len = 0;
        int end = base + BURST < n ? base + BURST : n;
        for (int i = base; i < end; i++) {
            char k[24], v[40];
            int kl = snprintf(k, sizeof(k), "warm:%07d", i), vl = snprintf(v, sizeof(v), "value-%d-%x", i, i * 2654435761u);
            len += (size_t)sprintf(buf + len, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", kl, k, vl, v);
        }
        ck_assert_int_eq(fk_send_raw(c, buf, len), 0);
        for (int i = base; i < end; i++) {
            rv_t *r = fk_read(c);
            ck_assert(r && r->type == RV_STATUS);
            rv_free(r);
        }
    }
    free(buf);
}

/* Every key of load_keys is there with its value (MGET in batches). */
static void verify_keys(fk_conn_t *c, int n)
{
    enum { BATCH = 500 };
    for (int base = 0; base < n; base += BATCH) {
        int end = base + BATCH < n ? base + BATCH : n;
        const char *argv[BATCH + 1];
        static char keys[BATCH][24];
        argv[0] = "MGET";
        for (int i = base; i < end; i++) {
            snprintf(keys[i - base], sizeof(keys[0]), "warm:%07d", i);
            argv[1 + i - base] = keys[i - base];
        }
        ck_assert_int_eq(fk_send(c, 1 + end - base, argv, NULL), 0);
        rv_t *r = fk_read(c);
        ck_assert(r && r->type == RV_ARRAY && r->n == (size_t)(end - base));
        for (int i = base; i < end; i++) {
            char v[40];
            snprintf(v, sizeof(v), "value-%d-%x", i, i * 2654435761u);
            ck_assert_msg(r->elems[i - base].type == RV_BULK && strcmp(r->elems[i - base].s, v) == 0,
                          "warm:%07d differs after the restart", i);
        }
        rv_free(r);
    }
}

/* A graceful stop and a restart attach the region as it is (warm): the
 * data set is identical, key for key. */
START_TEST(graceful_restart_is_warm_and_identical)
{
    enum { N = 200000 };
    const char *extra[] = {"--memory", "512m", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    load_keys(c, N);
    fk_close(c);
    uint64_t lsn = srv_info(srv.resp_port, "persistence", "last_lsn");
    ck_assert_int_eq(fk_stop(&srv), 0);
    srv_clear_log(&srv);
    restart(extra);
    ck_assert(fk_log_has(&srv, "warm restart", 0));
    ck_assert(!fk_log_has(&srv, "recovered ", 0));
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "last_lsn"), lsn);
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", N);
    verify_keys(c, N);
    fk_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

START_TEST(ring_full_gives_error)
{
    static const char *const small[] = {"--memory", "64m", "--max-value-size", "64k", "--ring-size", "1m", NULL};
    start(small);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "ring_size"), 1u << 20);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    pid_t p = persister_pid();
    ck_assert_int_eq(kill(p, SIGSTOP), 0);
    stopped_pid = p;
    for (int waited = 0; proc_state(p) != 'T'; waited += 5) {
        ck_assert_msg(waited < 5000, "the persister did not stop");
        load_sleep_ms(5);
    }
    unsigned ok;
    bool hung;
    char *err = fill_ring(c, &ok, &hung);
    ck_assert_msg(!hung, "a write got no reply within 10 s while the ring was full");
    ck_assert_msg(err != NULL, "40 writes of 240 KB fit in a 1 MB ring with the persister stopped");
    fprintf(stderr, "ring_full_gives_error: %u writes, then: %s\n", ok, err);
    /* Redis's word for "try again later", and why. */
    ck_assert_msg(strncmp(err, "BUSY ", 5) == 0 && strstr(err, "persister"), "unclear error: %s", err);
    free(err);
    ck_assert_uint_ge(ok, 1);
    expect_round(c, ok, false);  /* the failed MSET changed nothing */
    expect_round(c, 0, true);    /* reads go on */
    ck_assert_int_eq(kill(p, SIGCONT), 0);
    stopped_pid = 0;
    rv_t *r = NULL;
    for (int tries = 0; tries < 10; tries++) { /* the ring drains at once; allow for slowness */
        rv_free(r);
        r = mset4(c, ok);
        ck_assert_ptr_nonnull(r);
        if (r->type == RV_STATUS)
            break;
        load_sleep_ms(500);
    }
    ck_assert_msg(r->type == RV_STATUS, "writes still fail after the persister resumed: %s", r->s);
    rv_free(r);
    fk_close(c);
    ck_assert(!fk_log_has(&srv, "restarting it in", 0)); /* nothing crashed */
    ck_assert_int_eq(fk_stop(&srv), 0);
    ck_assert_int_eq(srv_remove_region(&srv), 1);
    restart(small);
    c = fk_connect(srv.resp_port);
    for (unsigned round = 0; round <= ok; round++)
        expect_round(c, round, true);
    fk_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("persist_server");
    TCase *tc = tcase_create("persist_server");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    /* The warm cases attach a region whose writer mutex a killed worker
     * may hold: without EOWNERDEAD nothing could take it (docs/arm.md). */
    char why[256];
    bool robust = probe_robust_mutex(why, sizeof(why));
    if (!robust)
        printf("SKIP: group_killed_under_load, warm cases: %s\n", why);
    tcase_add_loop_test(tc, group_killed_under_load, 0, robust ? 3 : 1);
    tcase_add_loop_test(tc, fsync_always_reply_means_durable, 0, 2);
    tcase_add_loop_test(tc, persister_killed_repeatedly, 0, 2);
    tcase_add_test(tc, graceful_restart_is_warm_and_identical);
    tcase_add_test(tc, ring_full_gives_error);
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
