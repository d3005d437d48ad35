/*
 * test_snapshot_server.c — snapshots in the real fickled: SAVE then a
 * SIGKILL of every process and the loss of the region, recovered from the
 * snapshot and the log; BGSAVE / LASTSAVE and the native SAVE / BGSAVE;
 * log segments deleted after snapshots; a damaged newest snapshot falling
 * back to the older one (and `fickled --check` saying so); the snapshot a
 * graceful stop takes; one triggered by log growth.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/native_client.h"

static fk_server_t srv;

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void data_path(char *out, size_t n, const char *sub)
{
    snprintf(out, n, "%s/data%s%s", srv.dir, sub[0] ? "/" : "", sub);
}

/* Snapshot start LSNs in the data directory, newest first; returns how many. */
static size_t snapshots(uint64_t *lsns, size_t max)
{
    char dir[400];
    data_path(dir, sizeof(dir), "");
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d))) {
        uint64_t lsn;
        char tail[16];
        if (sscanf(e->d_name, "snapshot-%20" SCNu64 "%15s", &lsn, tail) == 2 && !strcmp(tail, ".snap") && n < max)
            lsns[n++] = lsn;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++) /* newest first */
        for (size_t j = i + 1; j < n; j++)
            if (lsns[j] > lsns[i]) {
                uint64_t t = lsns[i];
                lsns[i] = lsns[j];
                lsns[j] = t;
            }
    return n;
}

/* Log segments' first LSNs, oldest first; returns how many. */
static size_t segments(uint64_t *first, size_t max)
{
    char dir[400];
    data_path(dir, sizeof(dir), "log");
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;
    while (d && (e = readdir(d))) {
        uint64_t lsn;
        char tail[16];
        if (sscanf(e->d_name, "%20" SCNu64 "%15s", &lsn, tail) == 2 && !strcmp(tail, ".log") && n < max)
            first[n++] = lsn;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (first[j] < first[i]) {
                uint64_t t = first[i];
                first[i] = first[j];
                first[j] = t;
            }
    return n;
}

/* The retention rule held: the log reaches back to the older snapshot's
 * L0 + 1 and no further than one segment before it. */
static void ck_retention(uint64_t older_l0)
{
    uint64_t seg[64];
    size_t n = segments(seg, 64);
    ck_assert_uint_ge(n, 1);
    ck_assert_msg(seg[0] <= older_l0 + 1, "the log starts at %llu, after the older snapshot's LSN %llu + 1",
                  (unsigned long long)seg[0], (unsigned long long)older_l0);
    ck_assert_msg(n == 1 || seg[1] > older_l0 + 1, "segment %llu was not removed (older snapshot at %llu)",
                  (unsigned long long)seg[0], (unsigned long long)older_l0);
}

/* The region goes (a reboot); nothing may run. */
static void lose_region(void)
{
    char shm[300], file[600];
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(srv.dir, '/') + 1);
    DIR *d = opendir(shm);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(file, sizeof(file), "%s/%s", shm, e->d_name);
            ck_assert_int_eq(unlink(file), 0);
        }
    if (d)
        closedir(d);
}

/* SIGKILL for the supervisor and every child at once (what a crash of the
 * whole service looks like), then the region goes too. */
static void crash_and_lose_region(void)
{
    ck_assert_int_gt(srv.pid, 0); /* kill(0, ...) would hit the test's own group */
    pid_t kids[16];
    size_t n = fk_children(&srv, kids, 16);
    ck_assert_int_eq(kill(srv.pid, SIGKILL), 0);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    int status;
    while (waitpid(srv.pid, &status, 0) < 0 && errno == EINTR)
        ;
    srv.pid = 0;
    for (size_t i = 0; i < n; i++) { /* gone, or a zombie of init's */
        char path[64], buf[256];
        for (int w = 0; w < 100; w++) {
            snprintf(path, sizeof(path), "/proc/%d/stat", (int)kids[i]);
            FILE *f = fopen(path, "r");
            size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
            if (f)
                fclose(f);
            buf[len] = '\0';
            char *rp = strrchr(buf, ')');
            if (!f || (rp && rp[2] == 'Z'))
                break;
            sleep_ms(20);
        }
    }
    lose_region();
}

/* MSET prefix:<i> = <val>:<i>:<pad> for i in [from, to), 100 keys a request. */
static void mset_range(fk_conn_t *c, const char *prefix, const char *val, unsigned from, unsigned to, size_t pad)
{
    static char keys[100][48], vals[100][2100];
    const char *argv[201];
    size_t lens[201];
    for (unsigned i = from; i < to;) {
        int argc = 1;
        argv[0] = "MSET";
        lens[0] = 4;
        for (unsigned j = 0; j < 100 && i < to; j++, i++) {
            int kl = snprintf(keys[j], sizeof(keys[j]), "%s:%u", prefix, i);
            int vl = snprintf(vals[j], sizeof(vals[j]), "%s:%u:", val, i);
            memset(vals[j] + vl, 'p', pad);
            argv[argc] = keys[j];
            lens[argc++] = (size_t)kl;
            argv[argc] = vals[j];
            lens[argc++] = (size_t)vl + pad;
        }
        ck_assert_int_eq(fk_send(c, argc, argv, lens), 0);
        rv_t *r = fk_read(c);
        ck_assert_msg(r && r->type == RV_STATUS, "MSET failed: %s", r && r->s ? r->s : "no reply");
        rv_free(r);
    }
}

static void expect_value(fk_conn_t *c, const char *prefix, const char *val, unsigned i)
{
    char cmd[64], want[64];
    snprintf(cmd, sizeof(cmd), "GET %s:%u", prefix, i);
    int wl = snprintf(want, sizeof(want), "%s:%u:", val, i);
    rv_t *r = fk_cmd(c, cmd);
    ck_assert_msg(r && r->type == RV_BULK && !strncmp(r->s, want, (size_t)wl), "%s: want %s...", cmd, want);
    rv_free(r);
}

/* An INFO persistence field as a number (-1 if absent). */
static int64_t info_num(fk_conn_t *c, const char *field)
{
    rv_t *r = fk_cmd(c, "INFO persistence");
    ck_assert(r && r->type == RV_BULK);
    char key[64];
    snprintf(key, sizeof(key), "\n%s:", field);
    const char *p = strstr(r->s, key);
    int64_t v = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    rv_free(r);
    return v;
}

static bool info_has(fk_conn_t *c, const char *text)
{
    rv_t *r = fk_cmd(c, "INFO persistence");
    bool has = r && r->type == RV_BULK && strstr(r->s, text);
    rv_free(r);
    return has;
}

/* Waits until INFO says no snapshot is in progress and rdb_saves >= n. */
static void wait_saves(fk_conn_t *c, int64_t n)
{
    for (int i = 0; i < 500; i++) {
        if (info_num(c, "rdb_saves") >= n && info_num(c, "rdb_bgsave_in_progress") == 0)
            return;
        sleep_ms(20);
    }
    ck_abort_msg("rdb_saves stayed below %lld", (long long)n);
}

START_TEST(save_then_crash_recovers_from_snapshot_and_log)
{
    const char *args[] = {"--fsync", "always", "--snapshot-log-size", "0", NULL};
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port);
    mset_range(c, "a", "v1", 0, 1000, 10);
    fk_expect_status(c, "SAVE", "OK");
    uint64_t l0[4];
    ck_assert_uint_eq(snapshots(l0, 4), 1);
    ck_assert_int_eq((int64_t)l0[0], info_num(c, "snapshot_last_lsn"));
    mset_range(c, "b", "v2", 0, 500, 10); /* after the snapshot: only in the log */
    fk_expect_int(c, "DEL a:0 a:1 a:2 a:3 a:4 a:5 a:6 a:7 a:8 a:9", 10);
    fk_expect_status(c, "SET a:10 changed", "OK");
    fk_close(c);
    crash_and_lose_region();
    ck_assert_int_eq(fk_restart(&srv, args), 0);
    ck_assert(fk_log_has(&srv, "recovery: loaded snapshot", 0));
    ck_assert(fk_log_has(&srv, "log segments after the snapshot at LSN", 0));
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", 1490);
    fk_expect_nil(c, "GET a:0");
    fk_expect_bulk(c, "GET a:10", "changed");
    expect_value(c, "a", "v1", 999);
    expect_value(c, "b", "v2", 0);
    expect_value(c, "b", "v2", 499);
    ck_assert(info_has(c, "recovery_source:snapshot"));
    ck_assert_int_eq(info_num(c, "recovery_snapshot_lsn"), (int64_t)l0[0]);
    ck_assert_int_ge(info_num(c, "recovery_log_records"), 7); /* 5 MSET, DEL, SET */
    fk_close(c);
}
END_TEST

/* Native SAVE: OK with the snapshot's start LSN; nothing was written since,
 * so it is the last LSN. With a key: BAD_REQUEST. BGSAVE: OK at once. */
static void native_save_and_bgsave(fk_conn_t *c)
{
    int fd = nv_connect(srv.port);
    ck_assert_int_ge(fd, 0);
    nv_reply_t nr;
    int64_t saves = info_num(c, "rdb_saves");
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SAVE, 0, 77, NULL, 0, NULL, 0, NULL, 0), 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_OK);
    ck_assert_uint_eq(nr.opaque, 77);
    ck_assert_uint_eq(nr.opcode, FICKLE_OP_SAVE);
    ck_assert_uint_eq(nr.elen, FICKLE_EXT_R_SAVE);
    ck_assert_int_eq((int64_t)fickle_get_le64(nr.extras), info_num(c, "last_lsn"));
    nv_free(&nr);
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SAVE, 0, 78, NULL, 0, "k", 1, NULL, 0), 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&nr);
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_BGSAVE, 0, 79, NULL, 0, NULL, 0, NULL, 0), 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_OK);
    nv_free(&nr);
    close(fd);
    wait_saves(c, saves + 2);
}

START_TEST(bgsave_lastsave_and_native_save)
{
    const char *args[] = {"--snapshot-log-size", "0", NULL};
    time_t before = time(NULL);
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port);
    int64_t t0 = fk_int(c, "LASTSAVE"); /* no snapshot yet: the start time */
    ck_assert_int_ge(t0, (int64_t)before - 1);
    ck_assert_int_le(t0, (int64_t)time(NULL));
    mset_range(c, "k", "v", 0, 20000, 50);
    /* Pipelined: the second one finds the first queued or running. */
    ck_assert_int_eq(fk_send_raw(c, "BGSAVE\r\nBGSAVE\r\n", 16), 0);
    rv_t *r1 = fk_read(c), *r2 = fk_read(c);
    ck_assert(r1 && r1->type == RV_STATUS && !strcmp(r1->s, "Background saving started"));
    ck_assert(r2 && r2->type == RV_ERROR && !strcmp(r2->s, "ERR Background save already in progress"));
    rv_free(r1);
    rv_free(r2);
    wait_saves(c, 1);
    ck_assert_int_ge(fk_int(c, "LASTSAVE"), t0);
    ck_assert(info_has(c, "rdb_last_bgsave_status:ok"));
    /* SCHEDULE queues one behind the one in progress. */
    ck_assert_int_eq(fk_send_raw(c, "BGSAVE\r\nBGSAVE SCHEDULE\r\n", 25), 0);
    r1 = fk_read(c);
    r2 = fk_read(c);
    ck_assert(r1 && r1->type == RV_STATUS && !strcmp(r1->s, "Background saving started"));
    ck_assert(r2 && r2->type == RV_STATUS && !strcmp(r2->s, "Background saving scheduled"));
    rv_free(r1);
    rv_free(r2);
    wait_saves(c, 2); /* 3 if the first had started before SCHEDULE came */
    fk_expect_error(c, "BGSAVE NOW", "ERR syntax error");
    fk_expect_error(c, "LASTSAVE x", "ERR wrong number of arguments");
    uint64_t l0[4];
    ck_assert_uint_ge(snapshots(l0, 4), 1);
    ck_assert_uint_le(snapshots(l0, 4), 2);
    native_save_and_bgsave(c);
    ck_assert_uint_le(snapshots(l0, 4), 2); /* two kept */
    fk_close(c);
}
END_TEST



/* A SAVE in a pipeline: the requests after it wait for its reply, and
 * other clients are served meanwhile. */
START_TEST(save_keeps_pipeline_order)
{
    const char *args[] = {"--snapshot-log-size", "0", NULL};
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port), *other = fk_connect(srv.resp_port);
    const char pipe[] = "SET x 1\r\nSAVE\r\nGET x\r\nSAVE\r\nINCR x\r\n";
    ck_assert_int_eq(fk_send_raw(c, pipe, sizeof(pipe) - 1), 0);
    fk_expect_status(other, "PING", "PONG");
    const char *want[] = {"+OK", "+OK", "$1", "+OK", ":2"};
    for (int i = 0; i < 5; i++) {
        rv_t *r = fk_read(c);
        ck_assert_msg(r != NULL, "reply %d missing", i);
        char got[32];
        if (r->type == RV_INT)
            snprintf(got, sizeof(got), ":%lld", (long long)r->i);
        else if (r->type == RV_BULK)
            snprintf(got, sizeof(got), "$%zu", r->len);
        else
            snprintf(got, sizeof(got), "%c%s", r->type == RV_STATUS ? '+' : '-', r->s);
        ck_assert_str_eq(got, want[i]);
        rv_free(r);
    }
    fk_close(c);
    fk_close(other);
}
END_TEST

START_TEST(log_segments_pruned_after_snapshots)
{
    const char *args[] = {"--log-segment-size", "1m", "--snapshot-log-size", "0", "--fsync", "always", NULL};
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port);
    uint64_t seg[64], l0[4];
    mset_range(c, "k", "one", 0, 3000, 1000); /* about 3 MB of log: 30 records of 100 KB */
    fk_expect_status(c, "SAVE", "OK");
    ck_assert_uint_ge(segments(seg, 64), 3);
    ck_assert_uint_eq(seg[0], 1); /* one snapshot: the log is kept whole */
    mset_range(c, "k", "two", 0, 3000, 1000);
    fk_expect_status(c, "SAVE", "OK");
    ck_assert_uint_eq(snapshots(l0, 4), 2);
    ck_retention(l0[1]);
    segments(seg, 64);
    ck_assert_uint_gt(seg[0], 1);
    mset_range(c, "k", "three", 0, 3000, 1000);
    fk_expect_status(c, "SAVE", "OK");
    ck_assert_uint_eq(snapshots(l0, 4), 2);
    ck_retention(l0[1]);
    ck_assert_int_gt(info_num(c, "log_segments_removed"), 0);
    mset_range(c, "k", "four", 0, 10, 10);
    fk_close(c);
    crash_and_lose_region();
    ck_assert_int_eq(fk_restart(&srv, args), 0);
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", 3000);
    expect_value(c, "k", "four", 9);
    expect_value(c, "k", "three", 10);
    expect_value(c, "k", "three", 2999);
    fk_close(c);
}
END_TEST

START_TEST(damaged_newest_snapshot_falls_back_to_older)
{
    const char *args[] = {"--snapshot-log-size", "0", NULL};
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port);
    mset_range(c, "a", "va", 0, 2000, 20);
    fk_expect_status(c, "SAVE", "OK");
    mset_range(c, "b", "vb", 0, 2000, 20);
    fk_expect_status(c, "SAVE", "OK");
    mset_range(c, "c", "vc", 0, 100, 20);
    fk_close(c);
    ck_assert_int_eq(fk_stop(&srv), 0);
    uint64_t l0[4];
    ck_assert_uint_eq(snapshots(l0, 4), 2); /* automatic snapshots are off: none at the stop */
    char path[600], name[64];
    snprintf(name, sizeof(name), "snapshot-%020" PRIu64 ".snap", l0[0]);
    data_path(path, sizeof(path), name);
    FILE *f = fopen(path, "r+");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 5000, SEEK_SET), 0);
    int ch = fgetc(f);
    ck_assert_int_eq(fseek(f, 5000, SEEK_SET), 0);
    fputc(ch ^ 0x01, f);
    ck_assert_int_eq(fclose(f), 0);
    /* --check names the damaged one and passes the older one. */
    char data[400], shm[300], out[4096];
    data_path(data, sizeof(data), "");
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(srv.dir, '/') + 1);
    const char *check[] = {"--check", "--data-dir", data, "--shm-dir", shm, NULL};
    ck_assert_int_eq(fk_run(check, out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, name) && strstr(out, "corrupt snapshot"), "%s", out);
    ck_assert_msg(strstr(out, "is consistent (2000 items"), "%s", out);
    lose_region();
    ck_assert_int_eq(fk_restart(&srv, args), 0);
    ck_assert(fk_log_has(&srv, "is damaged or unreadable", 0));
    snprintf(name, sizeof(name), "snapshot-%020" PRIu64 ".snap (2000 items", l0[1]);
    ck_assert_msg(fk_log_has(&srv, name, 0), "the older snapshot was not loaded");
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", 4100);
    expect_value(c, "a", "va", 1999);
    expect_value(c, "b", "vb", 1999);
    expect_value(c, "c", "vc", 99);
    ck_assert_int_eq(info_num(c, "recovery_snapshot_lsn"), (int64_t)l0[1]);
    fk_close(c);
}
END_TEST

START_TEST(graceful_stop_takes_a_snapshot)
{
    ck_assert_int_eq(fk_start(&srv, NULL), 0); /* default: automatic snapshots on */
    fk_conn_t *c = fk_connect(srv.resp_port);
    mset_range(c, "g", "vg", 0, 500, 10);
    int64_t last = info_num(c, "last_lsn");
    fk_close(c);
    ck_assert_int_eq(fk_stop(&srv), 0);
    uint64_t l0[4];
    ck_assert_uint_eq(snapshots(l0, 4), 1);
    ck_assert_int_eq((int64_t)l0[0], last);
    ck_assert(fk_log_has(&srv, "finishing with a snapshot", 0));
    lose_region();
    ck_assert_int_eq(fk_restart(&srv, NULL), 0);
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", 500);
    ck_assert_int_eq(info_num(c, "recovery_log_records"), 0);
    ck_assert_int_eq(info_num(c, "rdb_changes_since_last_save"), 0);
    fk_close(c);
    ck_assert_int_eq(fk_stop(&srv), 0); /* nothing changed: no new snapshot */
    ck_assert_uint_eq(snapshots(l0, 4), 1);
    ck_assert_int_eq((int64_t)l0[0], last);
}
END_TEST

START_TEST(log_growth_triggers_a_snapshot)
{
    const char *args[] = {"--snapshot-log-size", "1m", "--log-segment-size", "1m", NULL};
    ck_assert_int_eq(fk_start(&srv, args), 0);
    fk_conn_t *c = fk_connect(srv.resp_port);
    mset_range(c, "k", "v", 0, 1500, 1000); /* about 1.5 MB */
    wait_saves(c, 1); /* nobody asked: the log's growth did */
    ck_assert(fk_log_has(&srv, " written: ", 2000));
    ck_assert_int_lt(info_num(c, "snapshot_log_bytes_since"), 1 << 20);
    fk_close(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("snapshot_server");
    TCase *tc = tcase_create("snapshot_server");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, save_then_crash_recovers_from_snapshot_and_log);
    tcase_add_test(tc, bgsave_lastsave_and_native_save);
    tcase_add_test(tc, save_keeps_pipeline_order);
    tcase_add_test(tc, log_segments_pruned_after_snapshots);
    tcase_add_test(tc, damaged_newest_snapshot_falls_back_to_older);
    tcase_add_test(tc, graceful_stop_takes_a_snapshot);
    tcase_add_test(tc, log_growth_triggers_a_snapshot);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
