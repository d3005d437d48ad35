/*
 * test_security.c — fickled's security defaults, against the real server:
 * loopback-only bind, protected mode (and turning it off, on the command
 * line and by SIGHUP), --requirepass in both protocols for every command
 * class, no command that writes a file at a client's path, owner-only
 * modes on every file fickled makes, and the warning when run as root.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/native_client.h"

static fk_server_t srv;
static char remote_ip[INET_ADDRSTRLEN]; /* this machine's non-loopback IPv4 address, "" if none */

static void start(const char *const *extra)
{
    ck_assert_msg(fk_start(&srv, extra) == 0, "fickled did not start");
}

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

/* An IPv4 address of an interface that is up and not loopback: connecting
 * to it from here makes the server see a non-loopback peer. */
static void find_remote_ip(void)
{
    struct ifaddrs *ifs, *i;
    remote_ip[0] = '\0';
    if (getifaddrs(&ifs) != 0)
        return;
    for (i = ifs; i && !remote_ip[0]; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
            !(i->ifa_flags & IFF_LOOPBACK))
            inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, remote_ip, sizeof(remote_ip));
    freeifaddrs(ifs);
}

static bool have_remote(const char *test)
{
    if (remote_ip[0])
        return true;
    fprintf(stderr, "%s: SKIPPED: this machine has no non-loopback IPv4 address to connect from\n", test);
    return false;
}

/* The local address /proc/net/tcp lists for a listening socket on port
 * (hex, as the kernel prints it), or "" if none. */
static void listen_addr(uint16_t port, char *addr, size_t len)
{
    FILE *f = fopen("/proc/net/tcp", "r");
    char line[512];
    addr[0] = '\0';
    while (f && fgets(line, sizeof(line), f)) {
        char local[64];
        unsigned st;
        if (sscanf(line, " %*d: %63s %*s %x", local, &st) != 2 || st != 0x0A) /* TCP_LISTEN */
            continue;
        char *colon = strchr(local, ':');
        if (colon && strtoul(colon + 1, NULL, 16) == port) {
            *colon = '\0';
            snprintf(addr, len, "%s", local);
        }
    }
    if (f)
        fclose(f);
}

START_TEST(binds_loopback_by_default)
{
    start(NULL); /* the harness passes no --bind */
    char addr[64];
    listen_addr(srv.resp_port, addr, sizeof(addr));
    ck_assert_str_eq(addr, "0100007F"); /* 127.0.0.1 */
    listen_addr(srv.port, addr, sizeof(addr));
    ck_assert_str_eq(addr, "0100007F");
    if (have_remote("binds_loopback_by_default"))
        ck_assert_int_lt(fk_socket_to(remote_ip, srv.resp_port), 0); /* nothing listens there */
}
END_TEST

/* A refused peer is told why at once, unasked (sending first could meet
 * the close's reset and lose the reply), then closed. */
static void expect_denied(void)
{
    fk_conn_t *c = fk_connect_addr(remote_ip, srv.resp_port);
    ck_assert_ptr_nonnull(c);
    rv_t *r = fk_read(c);
    bool closed = fk_closed(c, 2000);
    fk_close(c);
    ck_assert_msg(r && r->type == RV_ERROR && !strncmp(r->s, "DENIED", 6), "%s", r ? r->s : "no reply");
    ck_assert(strstr(r->s, "protected mode") && strstr(r->s, "--requirepass") && strstr(r->s, "--protected-mode no"));
    rv_free(r);
    ck_assert(closed);
}

static void expect_remote_pong(void)
{
    fk_conn_t *c = fk_connect_addr(remote_ip, srv.resp_port);
    ck_assert_ptr_nonnull(c);
    rv_t *r = fk_cmd(c, "PING");
    fk_close(c);
    ck_assert_msg(r && r->type == RV_STATUS && !strcmp(r->s, "PONG"), "%s", r ? r->s : "no reply");
    rv_free(r);
}

START_TEST(protected_mode_refuses_remote_peers)
{
    if (!have_remote("protected_mode_refuses_remote_peers"))
        return;
    const char *extra[] = {"--bind", "0.0.0.0", NULL};
    start(extra);
    expect_denied();
    /* Native: one status reply with the explanation, then the close. */
    int fd = fk_socket_to(remote_ip, srv.port);
    ck_assert_int_ge(fd, 0);
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_AUTH_REQUIRED);
    ck_assert(nr.vlen && strstr((const char *)nr.value, "protected mode"));
    nv_free(&nr);
    char b;
    ck_assert_int_le(read(fd, &b, 1), 0);
    close(fd);
    /* Loopback peers are served. */
    fk_conn_t *c = fk_connect(srv.resp_port);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
    ck_assert(fk_log_has(&srv, "protected mode", 1000));
}
END_TEST

START_TEST(protected_mode_off_or_password_serves_remote)
{
    if (!have_remote("protected_mode_off_or_password_serves_remote"))
        return;
    const char *off[] = {"--bind", "0.0.0.0", "--protected-mode", "no", NULL};
    start(off);
    expect_remote_pong();
    fk_cleanup(&srv);
    /* With a password, remote peers are let in to AUTH. */
    const char *pw[] = {"--bind", "0.0.0.0", "--requirepass", "s3cret", NULL};
    start(pw);
    fk_conn_t *c = fk_connect_addr(remote_ip, srv.resp_port);
    fk_expect_error(c, "PING", "NOAUTH");
    fk_expect_status(c, "AUTH s3cret", "OK");
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
}
END_TEST

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(protected_mode_reloads_on_sighup)
{
    if (!have_remote("protected_mode_reloads_on_sighup"))
        return;
    char conf[] = "/tmp/fickle-sec-conf-XXXXXX";
    int cfd = mkstemp(conf);
    ck_assert_int_ge(cfd, 0);
    close(cfd);
    write_file(conf, "bind 0.0.0.0\nprotected-mode yes\n");
    const char *extra[] = {"--config", conf, NULL};
    start(extra);
    expect_denied();
    write_file(conf, "bind 0.0.0.0\nprotected-mode no\n");
    ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
    ck_assert(fk_log_has(&srv, "protected-mode", 3000));
    usleep(200 * 1000); /* the workers refresh on their own SIGHUP */
    expect_remote_pong();
    write_file(conf, "bind 0.0.0.0\nprotected-mode yes\n");
    ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
    usleep(500 * 1000);
    expect_denied();
    unlink(conf);
}
END_TEST

/* Every command class is refused before AUTH, with NOAUTH. */
START_TEST(requirepass_refuses_every_command_resp)
{
    const char *extra[] = {"--requirepass", "pw", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    static const char *const refused[] = {
        "GET k", "MGET a b", "EXISTS k", "STRLEN k", "TTL k", "TYPE k", "SCAN 0", "KEYS *", "RANDOMKEY", "DBSIZE",
        "RANGE [a [z", "RCOUNT [a [z", "SET k v", "MSET a 1 b 2", "DEL k", "INCR k", "APPEND k v", "EXPIRE k 10",
        "RENAME a b", "FLUSHALL", "FLUSHDB", "MULTI", "EXEC", "DISCARD", "SAVE", "BGSAVE", "LASTSAVE", "INFO",
        "CONFIG GET *", "CLIENT ID", "CLIENT SETNAME x", "COMMAND", "TIME", "ECHO x", "PING", "SELECT 0"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        rv_t *r = fk_cmd(c, refused[i]);
        ck_assert_msg(r && r->type == RV_ERROR && !strcmp(r->s, "NOAUTH Authentication required."), "%s: %s",
                      refused[i], r ? r->s : "no reply");
        rv_free(r);
    }
    /* Nothing ran: after AUTH the key is still absent and no snapshot was asked for. */
    fk_expect_error(c, "AUTH wrong", "WRONGPASS");
    fk_expect_error(c, "GET k", "NOAUTH");
    fk_expect_status(c, "AUTH pw", "OK");
    fk_expect_nil(c, "GET k");
    fk_expect_int(c, "DBSIZE", 0);
    fk_close(c);
    /* HELLO with AUTH logs in; HELLO without it is refused; QUIT is allowed. */
    c = fk_connect(srv.resp_port);
    fk_expect_error(c, "HELLO 2", "NOAUTH");
    rv_t *r = fk_cmd(c, "HELLO 2 AUTH default pw");
    ck_assert(r && r->type == RV_ARRAY);
    rv_free(r);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
    c = fk_connect(srv.resp_port);
    fk_expect_status(c, "QUIT", "OK");
    ck_assert(fk_closed(c, 2000));
    fk_close(c);
}
END_TEST

/* Repeated wrong passwords: each refused the same way, no lockout of the
 * right one, no crash. (The comparison is constant-time: exec.c.) */
START_TEST(repeated_wrong_passwords)
{
    const char *extra[] = {"--requirepass", "correct horse", NULL};
    start(extra);
    fk_conn_t *c = fk_connect(srv.resp_port);
    const char *guesses[] = {"c", "correct", "correct hors", "correct horsf", "correct horse!", "CORRECT HORSE", ""};
    for (int round = 0; round < 30; round++)
        for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
            const char *argv[] = {"AUTH", guesses[i]};
            size_t lens[] = {4, strlen(guesses[i])};
            fk_send(c, 2, argv, lens);
            rv_t *r = fk_read(c);
            ck_assert_msg(r && r->type == RV_ERROR && !strncmp(r->s, "WRONGPASS", 9), "%s", guesses[i]);
            rv_free(r);
        }
    const char *argv[] = {"AUTH", "correct horse"};
    size_t lens[] = {4, 13};
    fk_send(c, 2, argv, lens);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    fk_close(c);
}
END_TEST

static uint16_t native_status(int fd, uint8_t op, const void *ext, size_t elen, const char *key, const void *val,
                              size_t vlen)
{
    nv_reply_t nr;
    ck_assert_int_eq(nv_send(fd, op, 0, 7, ext, elen, key, key ? strlen(key) : 0, val, vlen), 0);
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    uint16_t st = nr.status;
    nv_free(&nr);
    return st;
}

START_TEST(requirepass_refuses_every_command_native)
{
    const char *extra[] = {"--requirepass", "pw", NULL};
    start(extra);
    int fd = nv_connect(srv.port);
    /* little-endian fields: protocol.md */
    static const uint8_t delta[8] = {1}, one[4] = {1};
    static const uint8_t mget[] = {1, 0, 'k'}, mset[] = {1, 0, 1, 0, 0, 0, 'k', 'v'};
    static const struct {
        uint8_t op;
        const void *ext;
        size_t elen;
        const char *key;
        const void *val;
        size_t vlen;
    } reqs[] = {
        {FICKLE_OP_GET, NULL, 0, "k", NULL, 0},       {FICKLE_OP_EXISTS, NULL, 0, "k", NULL, 0},
        {FICKLE_OP_SET, NULL, 0, "k", "v", 1},        {FICKLE_OP_DEL, NULL, 0, "k", NULL, 0},
        {FICKLE_OP_INCR, delta, 8, "k", NULL, 0},     {FICKLE_OP_MGET, one, 4, NULL, mget, sizeof(mget)},
        {FICKLE_OP_MSET, one, 4, NULL, mset, sizeof(mset)}, {FICKLE_OP_RANGE, NULL, 0, "a", NULL, 0},
        {FICKLE_OP_COUNT, NULL, 0, "a", NULL, 0},     {FICKLE_OP_PING, NULL, 0, NULL, NULL, 0},
        {FICKLE_OP_STATS, NULL, 0, NULL, NULL, 0},    {FICKLE_OP_SAVE, NULL, 0, NULL, NULL, 0},
        {FICKLE_OP_BGSAVE, NULL, 0, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
        ck_assert_msg(native_status(fd, reqs[i].op, reqs[i].ext, reqs[i].elen, reqs[i].key, reqs[i].val,
                                    reqs[i].vlen) == FICKLE_STATUS_AUTH_REQUIRED,
                      "opcode 0x%02x was not refused", reqs[i].op);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_AUTH, NULL, 0, NULL, "nope", 4), FICKLE_STATUS_AUTH_FAILED);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_GET, NULL, 0, "k", NULL, 0), FICKLE_STATUS_AUTH_REQUIRED);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_AUTH, NULL, 0, NULL, "pw", 2), FICKLE_STATUS_OK);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_GET, NULL, 0, "k", NULL, 0), FICKLE_STATUS_NOT_FOUND);
    close(fd);
}
END_TEST

/* Before AUTH a request over 64 KiB is refused as soon as its header says
 * so, in both protocols, and the connection closed: nothing is buffered. */
START_TEST(unauthenticated_big_requests_refused_early)
{
    const char *extra[] = {"--requirepass", "pw", NULL};
    start(extra);
    /* Native: a SET header claiming a 1 MiB value (under --max-value-size). */
    int fd = nv_connect(srv.port);
    uint8_t h[FICKLE_HEADER_SIZE];
    fickle_header_encode(h, &(fickle_header_t){.magic = FICKLE_MAGIC_REQUEST, .version = FICKLE_PROTOCOL_VERSION,
                                               .opcode = FICKLE_OP_SET, .key_len = 1, .value_len = 1u << 20});
    ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    nv_reply_t nr;
    ck_assert_int_eq(nv_read(fd, &nr), 0);
    ck_assert_uint_eq(nr.status, FICKLE_STATUS_TOO_BIG);
    nv_free(&nr);
    char b;
    ck_assert_int_le(read(fd, &b, 1), 0);
    close(fd);
    /* RESP: an inline request with no end of line. */
    fk_conn_t *c = fk_connect(srv.resp_port);
    char *line = malloc(200 * 1024);
    memset(line, 'a', 200 * 1024);
    fk_send_raw(c, line, 100 * 1024);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_ERROR && strstr(r->s, "too"), "%s", r ? r->s : "no reply");
    rv_free(r);
    ck_assert(fk_closed(c, 2000));
    fk_close(c);
    free(line);
    /* After AUTH the same 1 MiB value is fine. */
    fd = nv_connect(srv.port);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_AUTH, NULL, 0, NULL, "pw", 2), FICKLE_STATUS_OK);
    char *big = calloc(1, 1u << 20);
    ck_assert_uint_eq(native_status(fd, FICKLE_OP_SET, NULL, 0, "k", big, 1u << 20), FICKLE_STATUS_OK);
    free(big);
    close(fd);
}
END_TEST

/* No command writes a file at a path a client chooses. */
START_TEST(no_client_chosen_file_paths)
{
    start(NULL);
    fk_conn_t *c = fk_connect(srv.resp_port);
    static const char *const refused[] = {"CONFIG SET dir /tmp",
                                          "CONFIG SET dbfilename evil.rdb",
                                          "CONFIG SET logfile /tmp/fickle-evil.log",
                                          "CONFIG SET appendfilename evil",
                                          "CONFIG REWRITE",
                                          "CONFIG RESETSTAT",
                                          "DEBUG RELOAD",
                                          "MODULE LOAD /tmp/evil.so",
                                          "REPLICAOF 127.0.0.1 1",
                                          "SLAVEOF 127.0.0.1 1",
                                          "MIGRATE 127.0.0.1 1 k 0 1000",
                                          "ACL SAVE",
                                          "BGREWRITEAOF"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        rv_t *r = fk_cmd(c, refused[i]);
        ck_assert_msg(r && r->type == RV_ERROR, "%s was not refused", refused[i]);
        rv_free(r);
    }
    /* SAVE takes no path: the snapshot lands in the data directory. */
    fk_expect_status(c, "SAVE", "OK");
    fk_close(c);
    struct stat sb;
    ck_assert_int_ne(stat("/tmp/evil.rdb", &sb), 0);
    ck_assert_int_ne(stat("/tmp/fickle-evil.log", &sb), 0);
}
END_TEST

/* Every regular file under dir is owner-only; returns how many were seen. */
static int check_private_tree(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir %s", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ck_assert_int_eq(lstat(path, &sb), 0);
        if (S_ISDIR(sb.st_mode)) {
            ck_assert_msg((sb.st_mode & 0777) == 0700, "%s is %o", path, sb.st_mode & 0777);
            n += check_private_tree(path);
        } else {
            ck_assert_msg((sb.st_mode & 077) == 0, "%s is %o", path, sb.st_mode & 0777);
            n++;
        }
    }
    closedir(d);
    return n;
}

START_TEST(files_are_owner_only)
{
    mode_t old = umask(022); /* a typical umask: fickled's own modes must hold */
    char pid[300];
    snprintf(pid, sizeof(pid), "/tmp/fickle-sec-%d.pid", (int)getpid());
    const char *extra[] = {"--pidfile", pid, "--snapshot-log-size", "0", "--log-segment-size", "1m", NULL};
    start(extra);
    umask(old);
    fk_conn_t *c = fk_connect(srv.resp_port);
    char val[4096];
    memset(val, 'v', sizeof(val));
    for (int i = 0; i < 600; i++) { /* > 2 MiB of log: several segments */
        char key[32];
        snprintf(key, sizeof(key), "key%d", i);
        const char *argv[] = {"SET", key, val};
        size_t lens[] = {3, strlen(key), sizeof(val)};
        fk_send(c, 3, argv, lens);
        rv_free(fk_read(c));
    }
    fk_expect_status(c, "SAVE", "OK");
    fk_close(c);
    usleep(300 * 1000);
    char data[300];
    snprintf(data, sizeof(data), "%s/data", srv.dir);
    struct stat sb;
    ck_assert_int_eq(stat(data, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0700, "data dir is %o", sb.st_mode & 0777);
    int n = check_private_tree(data);
    ck_assert_int_ge(n, 3); /* the lock, log segments, a snapshot */
    char shm[300];
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(srv.dir, '/') + 1);
    ck_assert_int_ge(check_private_tree(shm), 1); /* the region */
    ck_assert_int_eq(stat(srv.log, &sb), 0);
    ck_assert_msg((sb.st_mode & 077) == 0, "log file is %o", sb.st_mode & 0777);
    ck_assert_int_eq(stat(pid, &sb), 0);
    ck_assert_msg((sb.st_mode & 077) == 0, "pid file is %o", sb.st_mode & 0777);
    fk_stop(&srv);
    unlink(pid);
}
END_TEST

START_TEST(warns_when_root)
{
    start(NULL);
    if (geteuid() != 0) {
        fprintf(stderr, "warns_when_root: SKIPPED the warning check: not running as root\n");
        ck_assert(!fk_log_has(&srv, "running as root", 0));
        return;
    }
    ck_assert(fk_log_has(&srv, "running as root: a dedicated user is safer", 1000));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("security");
    tcase_add_checked_fixture(tc, find_remote_ip, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, binds_loopback_by_default);
    tcase_add_test(tc, protected_mode_refuses_remote_peers);
    tcase_add_test(tc, protected_mode_off_or_password_serves_remote);
    tcase_add_test(tc, protected_mode_reloads_on_sighup);
    tcase_add_test(tc, requirepass_refuses_every_command_resp);
    tcase_add_test(tc, repeated_wrong_passwords);
    tcase_add_test(tc, requirepass_refuses_every_command_native);
    tcase_add_test(tc, unauthenticated_big_requests_refused_early);
    tcase_add_test(tc, no_client_chosen_file_paths);
    tcase_add_test(tc, files_are_owner_only);
    tcase_add_test(tc, warns_when_root);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
