/*
 * test_faults.c — the real fickled under injected I/O faults (the shim
 * tests/faultshim.c, LD_PRELOADed, driven through tests/faultctl.h): a
 * failed fsync or write is never acknowledged, the persister stops and
 * says why, EINTR and short writes are invisible, service resumes when
 * the fault clears and a restart (warm or cold) loses nothing that was
 * acknowledged; failed snapshots leave the old snapshot and the log as
 * they were; a failed open or mmap at start is named; a full region gives
 * out-of-memory errors in both protocols and recovers as keys go.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fickle/protocol.h"
#include "tests/faultctl.h"
#include "tests/harness.h"
#include "tests/load_util.h"
#include "tests/native_client.h"

#define PERSISTER "fk-persister"

static fk_server_t srv;
static const char *const always[] = {"--fsync", "always", "--snapshot-log-size", "0", NULL};

static void setup(void)
{
    faultctl_reset();
}

static void teardown(void)
{
    faultctl_clear_all();
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

static void start(const char *const *extra)
{
    ck_assert_int_eq(fk_start(&srv, extra), 0);
    srv_track(&srv);
}

/* True if nothing arrives on fd within ms. */
static bool silent(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static void data_path(char *out, size_t n, const char *sub)
{
    snprintf(out, n, "%s/data/%s", srv.dir, sub);
}

/* Files in the data directory whose names end in suffix. */
static unsigned count_files(const char *sub, const char *suffix)
{
    char dir[400];
    data_path(dir, sizeof(dir), sub);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += l >= sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    closedir(d);
    return n;
}

/* SET key value over RESP on c: the reply must be OK. */
static void set_ok(fk_conn_t *c, const char *key, const char *value)
{
    char line[256];
    snprintf(line, sizeof(line), "SET %s %s", key, value);
    fk_expect_status(c, line, "OK");
}

/* SET k:<i> v:<i> for i in [from, to), each acknowledged. */
static void set_keys(fk_conn_t *c, unsigned from, unsigned to)
{
    for (unsigned i = from; i < to; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "k:%u", i);
        snprintf(v, sizeof(v), "v:%u", i);
        set_ok(c, k, v);
    }
}

/* Keys k:<from>..k:<to-1> hold v:<i>. */
static void expect_keys(unsigned from, unsigned to)
{
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    for (unsigned i = from; i < to; i++) {
        char line[64], val[64];
        snprintf(line, sizeof(line), "GET k:%u", i);
        snprintf(val, sizeof(val), "v:%u", i);
        fk_expect_bulk(c, line, val);
    }
    fk_close(c);
}

/* A warm restart, then a cold one (SIGKILL to everything, region gone):
 * keys k:0..k:n-1 are there after each, and `fickled --check` passes.
 * warm_says: what the warm start's log must also say (NULL: nothing). */
static void restarts_lose_nothing(unsigned n, const char *warm_says)
{
    srv_clear_log(&srv);
    ck_assert_int_eq(fk_restart(&srv, always), 0);
    ck_assert(fk_log_has(&srv, "warm restart: attached the region", 0));
    ck_assert(!warm_says || fk_log_has(&srv, warm_says, 2000));
    expect_keys(0, n);
    srv_kill_all(&srv);
    ck_assert_int_eq(srv_remove_region(&srv), 1);
    srv_clear_log(&srv);
    ck_assert_int_eq(fk_restart(&srv, always), 0);
    ck_assert(fk_log_has(&srv, "recovered ", 0));
    expect_keys(0, n);
    srv_stop_and_check(&srv);
}

/* ---- the log: fsync and write failures ------------------------------------------ */

/* With --fsync always, a write whose fdatasync failed gets no OK while the
 * fault lasts (RESP); the persister says why and stops; once the fault
 * clears a new persister cuts the unsynced records off the old segment,
 * rewrites them from the ring into a new one, and only then is the write
 * acknowledged. Loop: 0 EIO, 1 ENOSPC (on fdatasync). */
START_TEST(fsync_failure_never_acknowledged_resp)
{
    static const int errs[] = {EIO, ENOSPC};
    start(always);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_ok(c, "k:0", "v:0"); /* the segment exists: the next fsync is the append's */
    int f = faultctl_arm(FS_SYNC, FS_FAIL, errs[_i], PERSISTER, "/log/", 0, -1);
    ck_assert_int_eq(fk_send_raw(c, "SET k:1 v:1\r\n", 13), 0);
    ck_assert(faultctl_wait_fired(f, 1, 5000));
    ck_assert_msg(silent(c->fd, 1500), "a write whose fsync failed was answered");
    ck_assert(fk_log_has(&srv, "fdatasync", 2000));
    ck_assert(fk_log_has(&srv, strerror(errs[_i]), 0));
    ck_assert(fk_log_has(&srv, "are not durable and are not acknowledged", 0));
    /* Reads go on meanwhile, on another connection. */
    fk_conn_t *r = fk_connect(srv.resp_port);
    fk_expect_bulk(r, "GET k:0", "v:0");
    fk_close(r);
    faultctl_clear(f);
    rv_t *rep = fk_read(c);
    ck_assert_msg(rep && rep->type == RV_STATUS && strcmp(rep->s, "OK") == 0, "no OK after the fault cleared");
    rv_free(rep);
    ck_assert(fk_log_has(&srv, "cutting them off and rewriting them", 0));
    set_ok(c, "k:2", "v:2");
    fk_close(c);
    ck_assert_uint_ge(srv_info(srv.resp_port, "persistence", "persister_restarts"), 1);
    restarts_lose_nothing(3, NULL);
}
END_TEST

/* fickled stopped (SIGTERM) while the log's fsync fails: the held write
 * is never acknowledged (the connection closes), the stop leaves it in the
 * region's ring, and the warm restart after the fault cleared cuts it off
 * the old segment and rewrites it: a later cold restart finds it too. */
START_TEST(stop_while_fsync_fails_then_restart)
{
    start(always);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_ok(c, "k:0", "v:0");
    /* Only the segments' fdatasync: each new persister cuts the record
     * (fsync of the cut works), rewrites it, and fails again. */
    int f = faultctl_arm(FS_FDATASYNC, FS_FAIL, EIO, PERSISTER, "/log/", 0, -1);
    ck_assert_int_eq(fk_send_raw(c, "SET k:1 v:1\r\n", 13), 0);
    ck_assert(faultctl_wait_fired(f, 2, 5000));
    ck_assert(fk_log_has(&srv, "cutting them off and rewriting them", 0));
    ck_assert_msg(silent(c->fd, 500), "a write whose fsync failed was answered");
    fk_stop(&srv); /* its status: whatever the persister's last attempt gave */
    ck_assert_msg(fk_closed(c, 1000), "the held write was answered at the stop");
    fk_close(c);
    faultctl_clear(f);
    restarts_lose_nothing(2, "cutting them off and rewriting them");
}
END_TEST

/* A fault a loop test injects: the call (FS_*), its errno, and what the
 * server's log or reply then names. */
typedef struct {
    unsigned call;
    int err;
    const char *says;
} fault_t;

/* The faults of write_failure_never_acknowledged_native: armed on the
 * persister's log files until cleared. */
static const fault_t log_faults[] = {
    {FS_PWRITE, ENOSPC, "write"},
    {FS_SYNC, EIO, "fdatasync"},
    {FS_PWRITE, EIO, "then ftruncate"}, /* after a short write, and ftruncate fails too: a torn record */
};

static int arm_log_fault(int i)
{
    if (log_faults[i].call == FS_PWRITE && log_faults[i].err == EIO) {
        faultctl_arm(FS_PWRITE, FS_SHORT, 0, PERSISTER, "/log/", 0, 1);
        faultctl_arm(FS_FTRUNCATE, FS_FAIL, EIO, PERSISTER, "/log/", 0, -1);
    }
    return faultctl_arm(log_faults[i].call, FS_FAIL, log_faults[i].err, PERSISTER, "/log/", 0, -1);
}

/* The same through the native protocol, with the segment's write failing
 * (ENOSPC), its fdatasync (EIO), or a short write then EIO with the
 * ftruncate that should cut the partial record failing too (the next
 * persister cuts the torn tail): no reply while it fails, OK after. */
START_TEST(write_failure_never_acknowledged_native)
{
    start(always);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_ok(c, "k:0", "v:0");
    fk_close(c);
    int fd = nv_connect(srv.port);
    ck_assert_int_ge(fd, 0);
    int f = arm_log_fault(_i);
    uint8_t ext[FICKLE_EXT_SET] = {0};
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SET, 0, 5, ext, sizeof(ext), "k:1", 3, "v:1", 3), 0);
    ck_assert(faultctl_wait_fired(f, 1, 5000));
    ck_assert_msg(silent(fd, 1500), "a write that is not on disk was answered");
    ck_assert(fk_log_has(&srv, log_faults[_i].says, 2000));
    ck_assert(fk_log_has(&srv, strerror(log_faults[_i].err), 0));
    faultctl_clear_all();
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_OK);
    ck_assert_uint_eq(nr.opaque, 5);
    nv_free(&nr);
    close(fd);
    c = fk_connect(srv.resp_port);
    set_ok(c, "k:2", "v:2");
    fk_close(c);
    restarts_lose_nothing(3, NULL);
}
END_TEST

/* --fsync everysec: writes are acknowledged before they are on disk, so
 * they go on while the log's writes fail (ENOSPC); the persister stops and
 * restarts with back-off, saying why each time; once space is back it
 * catches up, and a cold restart has every acknowledged write. */
START_TEST(log_write_failure_everysec_catches_up)
{
    static const char *const everysec[] = {"--fsync", "everysec", "--snapshot-log-size", "0", NULL};
    start(everysec);
    int f = faultctl_arm(FS_PWRITE, FS_FAIL, ENOSPC, PERSISTER, "/log/", 0, -1);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_keys(c, 0, 100);
    ck_assert(faultctl_wait_fired(f, 2, 5000)); /* a persister, then its successor */
    ck_assert(fk_log_has(&srv, "No space left on device; stopping", 2000));
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "log_lsn"), 0);
    faultctl_clear(f);
    uint64_t last = srv_info(srv.resp_port, "persistence", "last_lsn");
    for (int w = 0; w < 1000 && srv_info(srv.resp_port, "persistence", "log_lsn") < last; w++)
        load_sleep_ms(10);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "log_lsn"), last);
    fk_close(c);
    srv_kill_all(&srv);
    ck_assert_int_eq(srv_remove_region(&srv), 1);
    ck_assert_int_eq(fk_restart(&srv, everysec), 0);
    expect_keys(0, 100);
    srv_stop_and_check(&srv);
}
END_TEST

/* EINTR and short writes on the log are retried in place (an fsync that
 * fails is never retried): every write is acknowledged, the persister
 * never restarts, nothing is lost. */
START_TEST(eintr_and_short_writes_are_transparent)
{
    start(always);
    int s = faultctl_arm(FS_PWRITE, FS_SHORT, 0, PERSISTER, "/log/", 0, 20);
    int e = faultctl_arm(FS_PWRITE, FS_FAIL, EINTR, PERSISTER, "/log/", 0, 20);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_keys(c, 0, 200);
    fk_close(c);
    ck_assert_uint_eq(faultctl_fired(s), 20);
    ck_assert_uint_eq(faultctl_fired(e), 20);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "persister_restarts"), 0);
    restarts_lose_nothing(200, NULL);
}
END_TEST

/* ---- snapshots --------------------------------------------------------------- */

static const fault_t snap_faults[] = {
    {FS_RENAME, EIO, "rename"},
    {FS_OPEN, ENOSPC, "open"},
    {FS_SYNC, EIO, "fsync"},
    {FS_PWRITE, ENOSPC, "write"},
};

/* A snapshot that fails on its temp file: SAVE answers an error, BGSAVE
 * leaves LASTSAVE as it was and INFO says err; the previous snapshot and
 * the log are intact, no temp file is left; once cleared SAVE works, and
 * a cold restart from snapshot + log loses nothing. */
START_TEST(snapshot_failure_keeps_previous)
{
    start(always);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_ok(c, "k:0", "v:0");
    fk_expect_status(c, "SAVE", "OK");
    rv_t *r = fk_cmd(c, "LASTSAVE");
    ck_assert(r && r->type == RV_INT);
    int64_t lastsave = r->i;
    rv_free(r);
    set_ok(c, "k:1", "v:1");
    int f = faultctl_arm(snap_faults[_i].call, FS_FAIL, snap_faults[_i].err, PERSISTER, "/snapshot-", 0, -1);
    rv_t *e = fk_cmd(c, "SAVE");
    ck_assert_msg(e && e->type == RV_ERROR && strstr(e->s, "snapshot failed"), "SAVE with a failing %s did not fail",
                  snap_faults[_i].says);
    rv_free(e);
    ck_assert_uint_ge(faultctl_fired(f), 1);
    int fd = nv_connect(srv.port); /* native SAVE: an error status */
    ck_assert_int_ge(fd, 0);
    nv_reply_t nr;
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SAVE, 0, 3, NULL, 0, NULL, 0, NULL, 0), 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_INTERNAL);
    nv_free(&nr);
    close(fd);
    ck_assert(fk_log_has(&srv, "snapshot failed", 2000));
    ck_assert(fk_log_has(&srv, strerror(snap_faults[_i].err), 0));
    fk_expect_status(c, "BGSAVE", "Background saving started");
    for (int w = 0; w < 500 && srv_info(srv.resp_port, "persistence", "snapshots_failed") < 3; w++)
        load_sleep_ms(10);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "snapshots_failed"), 3);
    fk_expect_int(c, "LASTSAVE", lastsave);
    r = fk_cmd(c, "INFO persistence");
    ck_assert(r && r->type == RV_BULK && strstr(r->s, "rdb_last_bgsave_status:err"));
    rv_free(r);
    ck_assert_uint_eq(count_files("", ".snap"), 1);
    ck_assert_uint_eq(count_files("", ".tmp"), 0);
    set_ok(c, "k:2", "v:2"); /* the log goes on */
    faultctl_clear(f);
    fk_expect_status(c, "SAVE", "OK");
    r = fk_cmd(c, "INFO persistence");
    ck_assert(r && r->type == RV_BULK && strstr(r->s, "rdb_last_bgsave_status:ok"));
    rv_free(r);
    fk_close(c);
    restarts_lose_nothing(3, NULL);
}
END_TEST

/* A snapshot needs the log durable through its end LSN: while the log's
 * fdatasync fails, SAVE is not answered OK (each persister dies on it, its
 * snapshot abandoned with its temp file); once cleared the next persister
 * takes the snapshot and SAVE answers OK, with no temp file left. */
START_TEST(snapshot_waits_for_the_log_fsync)
{
    static const char *const everysec[] = {"--fsync", "everysec", "--snapshot-log-size", "0", NULL};
    start(everysec);
    fk_conn_t *c = fk_connect(srv.resp_port);
    set_keys(c, 0, 50);
    int f = faultctl_arm(FS_FDATASYNC, FS_FAIL, EIO, PERSISTER, "/log/", 0, -1);
    set_keys(c, 50, 100); /* not yet fsynced: the snapshot must wait for them */
    ck_assert_int_eq(fk_send_raw(c, "SAVE\r\n", 6), 0);
    ck_assert(faultctl_wait_fired(f, 2, 5000));
    ck_assert_msg(silent(c->fd, 500), "SAVE answered while the log could not be made durable");
    faultctl_clear(f);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_STATUS && strcmp(r->s, "OK") == 0, "SAVE failed after the fault cleared");
    rv_free(r);
    fk_close(c);
    ck_assert_uint_eq(count_files("", ".snap"), 1);
    ck_assert_uint_eq(count_files("", ".tmp"), 0);
    restarts_lose_nothing(100, NULL);
}
END_TEST

/* ---- start ----------------------------------------------------------------------- */

/* The region cannot be opened / mapped: fickled exits non-zero with a
 * message naming the call and the region's path. */
START_TEST(region_open_or_mmap_failure_at_start)
{
    static const struct {
        unsigned call;
        const char *name;
    } what[] = {{FS_OPEN, "open "}, {FS_MMAP, "mmap "}};
    char dir[] = "/tmp/fickle-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char data[64], shm[64], port[16], rport[16];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(shm, sizeof(shm), "%s/shm", dir);
    ck_assert_int_eq(mkdir(shm, 0700), 0);
    snprintf(port, sizeof(port), "%u", fk_free_port());
    snprintf(rport, sizeof(rport), "%u", fk_free_port());
    int f = faultctl_arm(what[_i].call, FS_FAIL, EIO, NULL, "/shm/fickle-", 0, -1);
    const char *args[] = {"--data-dir", data, "--shm-dir", shm, "--port", port, "--resp-port", rport, NULL};
    char err[4096];
    int rc = fk_run(args, err, sizeof(err));
    ck_assert_int_ne(rc, 0);
    ck_assert_uint_ge(faultctl_fired(f), 1);
    char expect[128];
    snprintf(expect, sizeof(expect), "%s%s/fickle-", what[_i].name, shm);
    ck_assert_msg(strstr(err, expect) && strstr(err, strerror(EIO)), "expected \"%s...: %s\" in: %s", expect,
                  strerror(EIO), err);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* ---- region full ------------------------------------------------------------- */

/* A small region fills: RESP -OOM, native NOMEM; reads go on; deletes work
 * and make room; --check passes afterwards. */
START_TEST(region_full)
{
    static const char *const small[] = {"--memory", "64m", "--max-value-size", "64k", "--ring-size", "1m", "--snapshot-log-size", "0", NULL};
    start(small);
    fk_conn_t *c = fk_connect(srv.resp_port);
    static char big[60001];
    memset(big, 'x', sizeof(big) - 1);
    unsigned n = 0;
    for (;; n++) {
        ck_assert_uint_lt(n, 5000);
        char key[32];
        snprintf(key, sizeof(key), "big:%u", n);
        const char *argv[] = {"SET", key, big};
        size_t lens[] = {3, strlen(key), sizeof(big) - 1};
        ck_assert_int_eq(fk_send(c, 3, argv, lens), 0);
        rv_t *r = fk_read(c);
        ck_assert_ptr_nonnull(r);
        bool oom = r->type == RV_ERROR;
        ck_assert_msg(!oom || strncmp(r->s, "OOM ", 4) == 0, "unexpected error: %s", r->s);
        rv_free(r);
        if (oom)
            break;
    }
    ck_assert_uint_gt(n, 10);
    int fd = nv_connect(srv.port);
    ck_assert_int_ge(fd, 0);
    uint8_t ext[FICKLE_EXT_SET] = {0};
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SET, 0, 9, ext, sizeof(ext), "nbig", 4, big, sizeof(big) - 1), 0);
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_NOMEM);
    nv_free(&nr);
    close(fd);
    fk_expect_int(c, "EXISTS big:0", 1);
    rv_t *g = fk_cmd(c, "GET big:1");
    ck_assert(g && g->type == RV_BULK && g->len == sizeof(big) - 1);
    rv_free(g);
    for (unsigned i = 0; i < 20; i++) {
        char line[64];
        snprintf(line, sizeof(line), "DEL big:%u", i);
        fk_expect_int(c, line, 1);
    }
    const char *argv[] = {"SET", "after", big};
    size_t lens[] = {3, 5, sizeof(big) - 1};
    ck_assert_int_eq(fk_send(c, 3, argv, lens), 0);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_STATUS, "no room after deleting");
    rv_free(r);
    fk_close(c);
    srv_stop_and_check(&srv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, fsync_failure_never_acknowledged_resp, 0, 2);
    tcase_add_loop_test(tc, write_failure_never_acknowledged_native, 0, 3);
    tcase_add_test(tc, log_write_failure_everysec_catches_up);
    tcase_add_test(tc, stop_while_fsync_fails_then_restart);
    tcase_add_test(tc, eintr_and_short_writes_are_transparent);
    tcase_add_loop_test(tc, snapshot_failure_keeps_previous, 0, 4);
    tcase_add_test(tc, snapshot_waits_for_the_log_fsync);
    tcase_add_loop_test(tc, region_open_or_mmap_failure_at_start, 0, 2);
    tcase_add_test(tc, region_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (access(FAULTSHIM_PATH, R_OK) != 0 || faultctl_init(FAULTSHIM_PATH) != 0) {
        fprintf(stderr, "%s is missing or unusable: make check builds it\n", FAULTSHIM_PATH);
        return 1;
    }
    srv_track_init();
    int rc = fk_run_suite(suite());
    srv_sweep();
    faultctl_done();
    return rc;
}
