/*
 * test_server.c — integration tests of fickled as a user runs it: the
 * seed's round trip over both protocols, options and exit codes, the
 * data-directory lock, warm restart, signals, pipelining, authentication.
 * Limits and crash tests live in test_limits.c and test_crash_server.c.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* The seed's test: start, connect, write foo=bar, verify, read it back. */
START_TEST(seed_roundtrip_native_and_resp)
{
    start(NULL);
    int fd = nv_connect(srv.port);
    ck_assert_int_ge(fd, 0);
    nv_reply_t r;
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SET, 0, 7, NULL, 0, "foo", 3, "bar", 3), 0);
    ck_assert_int_eq(nv_read(fd, &r), 0);
    ck_assert_uint_eq(r.status, FICKLE_STATUS_OK);
    ck_assert_uint_eq(r.opaque, 7);
    ck_assert_uint_eq(r.elen, FICKLE_EXT_R_VERSION);
    uint64_t version = fickle_get_le64(r.extras);
    ck_assert_uint_gt(version, 0);
    nv_free(&r);
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_GET, 0, 8, NULL, 0, "foo", 3, NULL, 0), 0);
    ck_assert_int_eq(nv_read(fd, &r), 0);
    ck_assert_uint_eq(r.status, FICKLE_STATUS_OK);
    ck_assert_str_eq((char *)r.value, "bar");
    ck_assert_uint_eq(fickle_get_le64(r.extras), version);
    nv_free(&r);
    close(fd);

    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    fk_expect_bulk(c, "GET foo", "bar"); /* the native write, seen through RESP */
    fk_expect_status(c, "SET foo baz", "OK");
    fk_expect_bulk(c, "GET foo", "baz");
    fk_close(c);
}
END_TEST

START_TEST(bad_options_exit_2_naming_the_option)
{
    char out[4096];
    const char *bogus[] = {"--bogus", NULL};
    ck_assert_int_eq(fk_run(bogus, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "--bogus"), "message does not name the option: %s", out);
    const char *mem[] = {"--memory", "12q", NULL};
    ck_assert_int_eq(fk_run(mem, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "--memory"), "%s", out);
    const char *fs[] = {"--fsync", "sometimes", NULL};
    ck_assert_int_eq(fk_run(fs, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "--fsync"), "%s", out);
    const char *port[] = {"--port", "70000", NULL};
    ck_assert_int_eq(fk_run(port, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, "--port"), "%s", out);
    const char *missing[] = {"--workers", NULL};
    ck_assert_int_eq(fk_run(missing, out, sizeof(out)), 2);
    const char *stray[] = {"extra-word", NULL};
    ck_assert_int_eq(fk_run(stray, out, sizeof(out)), 2);
    const char *version[] = {"--version", NULL};
    ck_assert_int_eq(fk_run(version, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "fickled " PACKAGE_VERSION), "%s", out);
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(fk_run(help, out, sizeof(out)), 0);
    ck_assert_msg(strstr(out, "--requirepass") && strstr(out, "--max-value-size"), "%s", out);
}
END_TEST

START_TEST(config_file_and_command_line_precedence)
{
    char path[] = "/tmp/fickle-conf-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "# comment\n\nmaxclients 123\ntimeout 77\nrequirepass \"\"\n";
    ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
    close(fd);
    const char *extra[] = {"--config", path, "--timeout", "5", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    rv_t *r = fk_cmd(c, "CONFIG GET maxclients");
    ck_assert(r && r->type == RV_ARRAY && r->n == 2);
    ck_assert_str_eq(r->elems[1].s, "123"); /* from the file */
    rv_free(r);
    r = fk_cmd(c, "CONFIG GET timeout");
    ck_assert(r && r->type == RV_ARRAY && r->n == 2);
    ck_assert_str_eq(r->elems[1].s, "5"); /* the command line wins */
    rv_free(r);
    fk_close(c);

    /* A bad line names the file and line, exit 2. */
    fd = open(path, O_WRONLY | O_TRUNC);
    ck_assert_int_eq(write(fd, "maxclients 1\nworkers lots\n", 26), 26);
    close(fd);
    char out[2048];
    const char *args[] = {"--config", path, NULL};
    ck_assert_int_eq(fk_run(args, out, sizeof(out)), 2);
    ck_assert_msg(strstr(out, ":2:") && strstr(out, "--workers"), "%s", out);
    unlink(path);
}
END_TEST

START_TEST(second_server_on_same_data_dir_refused)
{
    start(NULL);
    char data[300], out[4096];
    snprintf(data, sizeof(data), "%s/data", srv.dir);
    const char *args[] = {"--data-dir", data, "--port", "0", "--resp-port", "0", "--unixsocket", "", NULL};
    ck_assert_int_eq(fk_run(args, out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, "in use by another fickled"), "%s", out);
    /* The first one still serves. */
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
}
END_TEST

START_TEST(warm_restart_keeps_data_and_graceful_stop)
{
    start(NULL);
    fk_conn_t *c = fk_connect(srv.resp_port);
    for (int i = 0; i < 1000; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "SET key:%04d value:%d", i, i);
        fk_expect_status(c, cmd, "OK");
    }
    fk_close(c);
    ck_assert_int_eq(fk_stop(&srv), 0); /* SIGTERM: clean exit */
    ck_assert(fk_log_has(&srv, "fickled stopped", 0));
    ck_assert_int_eq(fk_restart(&srv, NULL), 0);
    ck_assert(fk_log_has(&srv, "attached the region", 0));
    c = fk_connect(srv.resp_port);
    fk_expect_int(c, "DBSIZE", 1000);
    fk_expect_bulk(c, "GET key:0999", "value:999");
    fk_expect_int(c, "RCOUNT [key:0100 (key:0200", 100);
    fk_close(c);
}
END_TEST

/* Every request in one write is answered, in order. */
START_TEST(pipelining_in_order)
{
    start(NULL);
    fk_conn_t *c = fk_connect(srv.resp_port);
    char *burst = malloc(1000 * 40);
    size_t len = 0;
    for (int i = 0; i < 1000; i++)
        len += (size_t)sprintf(burst + len, "*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
    ck_assert_int_eq(fk_send_raw(c, burst, len), 0);
    for (int i = 1; i <= 1000; i++) {
        rv_t *r = fk_read(c);
        ck_assert_msg(r && r->type == RV_INT && r->i == i, "reply %d out of order", i);
        rv_free(r);
    }
    free(burst);
    /* Inline commands (telnet) pipeline too. */
    ck_assert_int_eq(fk_send_raw(c, "PING\r\nECHO hi\r\n", 15), 0);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS && !strcmp(r->s, "PONG"));
    rv_free(r);
    r = fk_read(c);
    ck_assert(r && r->type == RV_BULK && !strcmp(r->s, "hi"));
    rv_free(r);
    fk_close(c);
}
END_TEST

/* Without concurrent writers, reads validate optimistically: none falls
 * back to the writer mutex. */
START_TEST(reads_stay_off_the_writer_mutex)
{
    start(NULL);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_status(c, "SET k v", "OK");
    for (int i = 0; i < 2000; i++)
        fk_expect_bulk(c, "GET k", "v");
    rv_t *r = fk_cmd(c, "INFO stats");
    ck_assert(r && r->type == RV_BULK);
    const char *reads = strstr(r->s, "worker_reads:"), *fb = strstr(r->s, "worker_read_fallbacks:");
    ck_assert(reads && fb);
    ck_assert_int_ge(atol(reads + 13), 2000);
    ck_assert_int_eq(atol(fb + 22), 0);
    rv_free(r);
    fk_close(c);
}
END_TEST

START_TEST(requirepass_both_protocols)
{
    const char *extra[] = {"--requirepass", "s3cret", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_error(c, "GET foo", "NOAUTH Authentication required.");
    fk_expect_error(c, "AUTH wrong", "WRONGPASS");
    fk_expect_error(c, "AUTH default wrong", "WRONGPASS");
    fk_expect_status(c, "AUTH s3cret", "OK");
    fk_expect_nil(c, "GET foo");
    fk_close(c);
    c = fk_connect(srv.resp_port);
    fk_expect_error(c, "HELLO 2", "NOAUTH");
    rv_t *r = fk_cmd(c, "HELLO 2 AUTH default s3cret");
    ck_assert(r && r->type == RV_ARRAY && r->n == 14);
    rv_free(r);
    fk_expect_nil(c, "GET foo");
    fk_close(c);

    int fd = nv_connect(srv.port);
    nv_reply_t nr;
    nv_send(fd, FICKLE_OP_GET, 0, 1, NULL, 0, "foo", 3, NULL, 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_AUTH_REQUIRED);
    nv_free(&nr);
    nv_send(fd, FICKLE_OP_AUTH, 0, 2, NULL, 0, NULL, 0, "nope", 4);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_AUTH_FAILED);
    nv_free(&nr);
    nv_send(fd, FICKLE_OP_AUTH, 0, 3, NULL, 0, NULL, 0, "s3cret", 6);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_OK);
    nv_free(&nr);
    nv_send(fd, FICKLE_OP_GET, 0, 4, NULL, 0, "foo", 3, NULL, 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_NOT_FOUND);
    nv_free(&nr);
    close(fd);
}
END_TEST

/* CONFIG GET of one parameter answers value. */
static void expect_config(fk_conn_t *c, const char *name, const char *value)
{
    char line[128];
    snprintf(line, sizeof(line), "CONFIG GET %s", name);
    rv_t *r = fk_cmd(c, line);
    ck_assert_msg(r && r->type == RV_ARRAY && r->n == 2, "%s: not one pair", line);
    ck_assert_str_eq(r->elems[0].s, name);
    ck_assert_msg(strcmp(r->elems[1].s, value) == 0, "%s: %s, expected %s", line, r->elems[1].s, value);
    rv_free(r);
}

/* Every setting SIGHUP reloads reaches the workers, as CONFIG GET shows
 * (log-level included: loglevel is read from the worker's own state). */
START_TEST(sighup_reloads_settings)
{
    char path[300];
    snprintf(path, sizeof(path), "/tmp/fickle-hup-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("maxclients 100\n", f);
    fclose(f);
    const char *extra[] = {"--config", path, "--workers", "2", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    expect_config(c, "protected-mode", "yes");
    expect_config(c, "loglevel", "notice");
    expect_config(c, "max-output", "67108864");
    fk_close(c);
    f = fopen(path, "w");
    fputs("maxclients 7\nprotected-mode no\nlog-level verbose\nmax-output 1m\ntimeout 30\n", f);
    fclose(f);
    kill(srv.pid, SIGHUP);
    ck_assert(fk_log_has(&srv, "SIGHUP: log reopened", 5000));
    usleep(200 * 1000); /* the workers refresh on their own SIGHUP */
    for (int i = 0; i < 4; i++) { /* connections land on both workers */
        c = fk_connect(srv.resp_port);
        expect_config(c, "maxclients", "7");
        expect_config(c, "protected-mode", "no");
        expect_config(c, "loglevel", "verbose");
        expect_config(c, "max-output", "1048576");
        expect_config(c, "timeout", "30");
        rv_t *r = fk_cmd(c, "CONFIG GET requirepass"); /* never echoed */
        ck_assert(r && r->type == RV_ARRAY && r->n == 0);
        rv_free(r);
        fk_close(c);
    }
    unlink(path);
}
END_TEST

/* --daemonize: the command returns at once, the pid file names the
 * server, SIGTERM stops it and removes the pid file. */
START_TEST(daemonize_and_pidfile)
{
    char dir[] = "/tmp/fickle-daemon-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char data[300], shm[300], pidfile[300], logf[300], port[8];
    snprintf(data, sizeof(data), "%s/data", dir);
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(dir, '/') + 1);
    snprintf(pidfile, sizeof(pidfile), "%s/fickled.pid", dir);
    snprintf(logf, sizeof(logf), "%s/fickled.log", dir);
    ck_assert_int_eq(mkdir(shm, 0700), 0);
    uint16_t resp = fk_free_port();
    snprintf(port, sizeof(port), "%u", resp);
    const char *args[] = {"--daemonize", "yes", "--pidfile", pidfile, "--data-dir", data, "--shm-dir", shm,
                          "--log-file", logf, "--port", "0", "--resp-port", port, "--workers", "1", NULL};
    char out[1024];
    ck_assert_int_eq(fk_run(args, out, sizeof(out)), 0);
    pid_t pid = 0;
    for (int i = 0; i < 100 && pid == 0; i++) {
        FILE *f = fopen(pidfile, "r");
        if (f && fscanf(f, "%d", &pid) != 1)
            pid = 0;
        if (f)
            fclose(f);
        if (pid == 0)
            usleep(50 * 1000);
    }
    ck_assert_int_gt(pid, 0);
    fk_conn_t *c = NULL;
    for (int i = 0; i < 100 && c == NULL; i++)
        if ((c = fk_connect(resp)) == NULL)
            usleep(50 * 1000);
    ck_assert_ptr_nonnull(c);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
    for (int i = 0; i < 200 && access(pidfile, F_OK) == 0; i++)
        usleep(50 * 1000);
    ck_assert_msg(access(pidfile, F_OK) != 0, "the pid file outlived the server");
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, shm);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* The native protocol on --unixsocket. */
START_TEST(unix_socket_serves_native)
{
    char path[108];
    snprintf(path, sizeof(path), "/tmp/fickle-%d.sock", (int)getpid());
    const char *extra[] = {"--unixsocket", path, NULL};
    start(extra);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 0777, 0700);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    nv_reply_t r;
    ck_assert_int_eq(nv_send(fd, FICKLE_OP_SET, 0, 1, NULL, 0, "u", 1, "nix", 3), 0);
    ck_assert_int_eq(nv_read(fd, &r), 0);
    ck_assert_uint_eq(r.status, FICKLE_STATUS_OK);
    nv_free(&r);
    close(fd);
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_bulk(c, "GET u", "nix");
    fk_close(c);
    ck_assert_int_eq(fk_stop(&srv), 0);
    ck_assert_msg(access(path, F_OK) != 0, "the socket file outlived the server");
}
END_TEST

/* SIGHUP reopens the log file (logrotate moves it first). */
START_TEST(sighup_reopens_log)
{
    start(NULL);
    char moved[400];
    snprintf(moved, sizeof(moved), "%s.1", srv.log);
    ck_assert_int_eq(rename(srv.log, moved), 0);
    kill(srv.pid, SIGHUP);
    ck_assert_msg(fk_log_has(&srv, "SIGHUP: log reopened", 5000), "no new log file after SIGHUP");
}
END_TEST

/* True while pid exists and is not a zombie (an orphan's zombie lingers
 * until whoever adopted it reaps it). */
static bool running_pid(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

/* Children die with the supervisor (PR_SET_PDEATHSIG). */
START_TEST(children_die_with_supervisor)
{
    start(NULL);
    pid_t kids[8];
    size_t n = fk_children(&srv, kids, 8);
    ck_assert_uint_ge(n, 3); /* two workers and the persister */
    ck_assert_int_eq(kill(srv.pid, SIGKILL), 0);
    int status;
    waitpid(srv.pid, &status, 0);
    srv.pid = 0;
    for (size_t i = 0; i < n; i++) {
        int alive = 1;
        for (int t = 0; t < 100 && alive; t++) {
            alive = running_pid(kids[i]);
            if (alive)
                usleep(20 * 1000);
        }
        ck_assert_msg(!alive, "child %d outlived the supervisor", (int)kids[i]);
    }
}
END_TEST

START_TEST(redis_cli_works)
{
    if (access("/usr/bin/redis-cli", X_OK) != 0) {
        fprintf(stderr, "redis-cli not installed: skipping\n");
        return;
    }
    start(NULL);
    char cmd[256], out[256] = "";
    snprintf(cmd, sizeof(cmd), "redis-cli -p %u SET foo bar && redis-cli -p %u GET foo", srv.resp_port, srv.resp_port);
    FILE *p = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    ck_assert_int_eq(pclose(p), 0);
    ck_assert_str_eq(out, "OK\nbar\n");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("server");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, seed_roundtrip_native_and_resp);
    tcase_add_test(tc, bad_options_exit_2_naming_the_option);
    tcase_add_test(tc, config_file_and_command_line_precedence);
    tcase_add_test(tc, second_server_on_same_data_dir_refused);
    tcase_add_test(tc, warm_restart_keeps_data_and_graceful_stop);
    tcase_add_test(tc, pipelining_in_order);
    tcase_add_test(tc, reads_stay_off_the_writer_mutex);
    tcase_add_test(tc, requirepass_both_protocols);
    tcase_add_test(tc, sighup_reloads_settings);
    tcase_add_test(tc, daemonize_and_pidfile);
    tcase_add_test(tc, unix_socket_serves_native);
    tcase_add_test(tc, sighup_reopens_log);
    tcase_add_test(tc, children_die_with_supervisor);
    tcase_add_test(tc, redis_cli_works);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
