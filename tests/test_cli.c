/*
 * test_cli.c — the fickle-cli binary, run as a child process: usage errors
 * (exit 2, decided before any connection), connection errors (exit 3),
 * server error replies (exit 1), and the documented output of every
 * command (docs/client.md) against the in-process fake server, in one-shot
 * and interactive (standard input) mode; txn against a hook that decodes
 * the TXN the CLI built.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frontend/native_reply.h"
#include "frontend/native_txn.h"
#include "tests/exec_util.h"
#include "tests/fake_server.h"

#ifndef FICKLE_CLI_PATH
#error "FICKLE_CLI_PATH must name the built fickle-cli"
#endif

static fake_t *srv;
static char port[8], dead_port[8];

static void setup(void)
{
    fake_t *gone = fake_start(); /* a port nobody listens on afterwards */
    snprintf(dead_port, sizeof(dead_port), "%u", fake_port(gone));
    fake_stop(gone);
    srv = fake_start();
    snprintf(port, sizeof(port), "%u", fake_port(srv));
}

static void teardown(void)
{
    fake_stop(srv);
}

typedef struct {
    int status;
    char out[16384];
    char err[16384];
} run_t;

static void slurp(int fd, char *buf, size_t cap)
{
    ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
    ssize_t n = read(fd, buf, cap - 1);
    ck_assert_int_ge(n, 0);
    buf[n] = '\0';
    close(fd);
}

static int temp_file(void)
{
    char path[] = "/tmp/fickle-cli-test-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    return fd;
}

/* Runs fickle-cli with the NULL-terminated arguments, stdin_text (NULL:
 * /dev/null) as its standard input; returns its exit status and output. */
static run_t *cli(const char *stdin_text, ...)
{
    static run_t r;
    const char *argv[48] = {"fickle-cli"};
    int argc = 1;
    va_list ap;
    va_start(ap, stdin_text);
    for (const char *a; (a = va_arg(ap, const char *));) {
        ck_assert_int_lt(argc, 47);
        argv[argc++] = a;
    }
    va_end(ap);
    int in = stdin_text ? temp_file() : open("/dev/null", O_RDONLY), out = temp_file(), err = temp_file();
    if (stdin_text) {
        ck_assert_int_eq(write(in, stdin_text, strlen(stdin_text)), (ssize_t)strlen(stdin_text));
        ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
    }
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        fk_execv(FICKLE_CLI_PATH, argv);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "fickle-cli died (status 0x%x)", st);
    r.status = WEXITSTATUS(st);
    close(in);
    slurp(out, r.out, sizeof(r.out));
    slurp(err, r.err, sizeof(r.err));
    return &r;
}

#define EXPECT(run, st, out_text)                                                                                   \
    do {                                                                                                            \
        run_t *r_ = (run);                                                                                          \
        ck_assert_msg(r_->status == (st), "exit %d, wanted %d; stderr: %s", r_->status, (st), r_->err);            \
        ck_assert_str_eq(r_->out, (out_text));                                                                      \
    } while (0)

/* ---- usage and connection errors ------------------------------------------------------ */

START_TEST(usage_errors_exit_2_without_connecting)
{
    /* every line points at a dead port: a connection attempt would exit 3 */
    static const char *const bad[][6] = {
        {"-x"},
        {"-p", "0", "ping"},
        {"-p", "abc", "ping"},
        {"-p", "70000", "ping"},
        {"-t", "-1", "ping"},
        {"-s", "/tmp/x.sock", "-h", "localhost", "ping"},
        {"-u", "bob", "ping"},
        {"nosuchcmd"},
        {"get"},
        {"get", "a", "b"},
        {"set", "k", "v", "ex", "0"},
        {"set", "k", "v", "ex"},
        {"set", "k", "v", "nx", "xx"},
        {"set", "k", "v", "px", "5", "ex"},
        {"set", "k", "v", "bogus"},
        {"cas", "k", "v", "notanumber"},
        {"cas", "k", "v", "0"},
        {"del", "k", "0"},
        {"incr", "k", "1.5"},
        {"mset", "a"},
        {"mset", "a", "1", "b"},
        {"range", "a", "b"},
        {"range", "[a", "[b", "limit"},
        {"range", "[a", "[b", "limit", "x"},
        {"range", "[a", "[b", "sideways"},
        {"count", "-", "+", "rev"},
        {"ping", "a", "b"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const *a = bad[i];
        run_t *r = cli(NULL, "-p", dead_port, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
        ck_assert_msg(r->status == 2, "case %zu (%s %s): exit %d, stderr: %s", i, a[0], a[1] ? a[1] : "",
                      r->status, r->err);
        ck_assert_msg(r->err[0], "case %zu: no message", i);
        ck_assert_str_eq(r->out, "");
    }
    run_t *r = cli(NULL, "--help", NULL);
    ck_assert_int_eq(r->status, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "usage: fickle-cli"));
    ck_assert_ptr_nonnull(strstr(r->out, "range min max"));
    r = cli(NULL, "-p", dead_port, "help", NULL);
    ck_assert_int_eq(r->status, 0);
    ck_assert_ptr_nonnull(strstr(r->out, "Commands"));
    r = cli("get\n", "-p", port, NULL); /* interactive: the worst status */
    ck_assert_int_eq(r->status, 2);
}
END_TEST

START_TEST(connection_errors_exit_3)
{
    run_t *r = cli(NULL, "-p", dead_port, "ping", NULL);
    ck_assert_int_eq(r->status, 3);
    ck_assert_ptr_nonnull(strstr(r->err, "cannot connect"));
    r = cli(NULL, "-s", "/nonexistent/fickle.sock", "ping", NULL);
    ck_assert_int_eq(r->status, 3);
    r = cli("ping\n", "-p", dead_port, NULL);
    ck_assert_int_eq(r->status, 3);
    r = cli(NULL, "-h", "no-such-host.invalid", "ping", NULL);
    ck_assert_int_eq(r->status, 3);
}
END_TEST

static fake_after_t h_close(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    return FAKE_CLOSE;
}

START_TEST(dropped_connection)
{
    fake_set_hook(srv, h_close, NULL);
    run_t *r = cli(NULL, "-p", port, "get", "k", NULL);
    ck_assert_int_eq(r->status, 3);
    ck_assert_ptr_nonnull(strstr(r->err, "ERR_CLOSED"));
    /* interactive: the next command reconnects */
    fake_set_hook(srv, h_close, NULL);
    r = cli("get k\nping\n", "-p", port, NULL);
    ck_assert_int_eq(r->status, 3);
    ck_assert_str_eq(r->out, "PONG\n");
}
END_TEST

/* ---- commands -------------------------------------------------------------------------- */

START_TEST(string_commands)
{
    EXPECT(cli(NULL, "-p", port, "set", "k", "hello", NULL), 0, "OK version=1000\n");
    EXPECT(cli(NULL, "-p", port, "get", "k", NULL), 0, "hello\n");
    EXPECT(cli(NULL, "-p", port, "GET", "missing", NULL), 0, "(nil)\n");
    EXPECT(cli(NULL, "-p", port, "exists", "k", NULL), 0, "1 version=1000 expiry=0\n");
    EXPECT(cli(NULL, "-p", port, "exists", "nope", NULL), 0, "0\n");
    run_t *r = cli(NULL, "-p", port, "set", "k", "v2", "nx", NULL);
    EXPECT(r, 1, "");
    ck_assert_str_eq(r->err, "(error) EXISTS: key exists\n");
    EXPECT(cli(NULL, "-p", port, "set", "k", "v2", "XX", "px", "60000", NULL), 0, "OK version=1001\n");
    r = cli(NULL, "-p", port, "exists", "k", NULL);
    ck_assert_int_eq(r->status, 0);
    ck_assert_ptr_null(strstr(r->out, "expiry=0\n"));
    EXPECT(cli(NULL, "-p", port, "set", "k", "v3", "keepttl", NULL), 0, "OK version=1002\n");
    EXPECT(cli(NULL, "-p", port, "set", "x", "y", "ex", "10", "nx", NULL), 0, "OK version=1003\n");
    EXPECT(cli(NULL, "-p", port, "set", "x", "y", "exat", "4102444800", NULL), 0, "OK version=1004\n");
    EXPECT(cli(NULL, "-p", port, "exists", "x", NULL), 0, "1 version=1004 expiry=4102444800000\n");
    EXPECT(cli(NULL, "-p", port, "set", "x", "y", "pxat", "4102444800001", NULL), 0, "OK version=1005\n");
    EXPECT(cli(NULL, "-p", port, "cas", "k", "new", "1002", NULL), 0, "OK version=1006\n");
    r = cli(NULL, "-p", port, "cas", "k", "newer", "1002", "ex", "5", NULL);
    EXPECT(r, 1, "");
    ck_assert_ptr_nonnull(strstr(r->err, "(error) CAS_MISMATCH"));
    EXPECT(cli(NULL, "-p", port, "get", "k", NULL), 0, "new\n");
    EXPECT(cli(NULL, "-p", port, "del", "k", "999", NULL), 1, "");
    EXPECT(cli(NULL, "-p", port, "del", "k", NULL), 0, "1\n");
    EXPECT(cli(NULL, "-p", port, "del", "k", NULL), 0, "0\n");
    EXPECT(cli(NULL, "-p", port, "incr", "n", NULL), 0, "1\n");
    EXPECT(cli(NULL, "-p", port, "incr", "n", "10", NULL), 0, "11\n");
    EXPECT(cli(NULL, "-p", port, "decr", "n", "20", NULL), 0, "-9\n");
    EXPECT(cli(NULL, "-p", port, "incr", "n", "-1", NULL), 0, "-10\n"); /* '+' stops option parsing */
    EXPECT(cli(NULL, "-p", port, "decr", "n", NULL), 0, "-11\n");
    cli(NULL, "-p", port, "set", "s", "abc", NULL);
    r = cli(NULL, "-p", port, "incr", "s", NULL);
    EXPECT(r, 1, "");
    ck_assert_ptr_nonnull(strstr(r->err, "NOT_A_NUMBER"));
}
END_TEST

START_TEST(multi_key_and_server_commands)
{
    EXPECT(cli(NULL, "-p", port, "mset", "a", "1", "b", "2", "c", "3", NULL), 0, "OK version=1000\n");
    EXPECT(cli(NULL, "-p", port, "mget", "a", "zz", "c", NULL), 0, "1\n(nil)\n3\n");
    run_t *r = cli(NULL, "-p", port, "msetnx", "a", "9", "d", "4", NULL);
    EXPECT(r, 1, "");
    ck_assert_ptr_nonnull(strstr(r->err, "EXISTS"));
    EXPECT(cli(NULL, "-p", port, "msetnx", "d", "4", NULL), 0, "OK version=1001\n");
    EXPECT(cli(NULL, "-p", port, "ping", NULL), 0, "PONG\n");
    EXPECT(cli(NULL, "-p", port, "ping", "hi there", NULL), 0, "hi there\n");
    EXPECT(cli(NULL, "-p", port, "stats", NULL), 0, "# Server\nserver:fake\nkeys:4\n");
    EXPECT(cli(NULL, "-p", port, "stats", "memory", NULL), 0, "# memory\nserver:fake\nkeys:4\n");
    EXPECT(cli(NULL, "-s", fake_unix_path(srv), "get", "d", NULL), 0, "4\n");
    EXPECT(cli(NULL, "-p", port, "quit", NULL), 0, "OK\n");
}
END_TEST

START_TEST(escaping_and_raw)
{
    EXPECT(cli(NULL, "-p", port, "set", "e", "a\nb\\c\x01\t\xc3\xa9", NULL), 0, "OK version=1000\n");
    EXPECT(cli(NULL, "-p", port, "get", "e", NULL), 0, "a\\nb\\\\c\\x01\\t\xc3\xa9\n");
    EXPECT(cli(NULL, "-p", port, "-r", "get", "e", NULL), 0, "a\nb\\c\x01\t\xc3\xa9\n");
    EXPECT(cli(NULL, "-p", port, "--raw", "get", "e", NULL), 0, "a\nb\\c\x01\t\xc3\xa9\n");
    /* interactive quoting reads the escapes back */
    EXPECT(cli("set f \"a\\nb\\\\c\\x01\\t\\xc3\\xa9\"\nget f\nset g \"\\x00A\"\nget g\n", "-p", port, NULL), 0,
           "OK version=1001\na\\nb\\\\c\\x01\\t\xc3\xa9\nOK version=1002\n\\x00A\n");
}
END_TEST

START_TEST(range_and_count)
{
    cli(NULL, "-p", port, "mset", "k0", "v0", "k1", "v1", "k2", "v2", "k3", "v3", "k4", "v4", NULL);
    cli(NULL, "-p", port, "mset", "k5", "v5", "k6", "v6", "k7", "v7", "k8", "v8", "k9", "v9", NULL);
    EXPECT(cli(NULL, "-p", port, "range", "[k2", "[k4", NULL), 0, "k2\tv2\nk3\tv3\nk4\tv4\n");
    EXPECT(cli(NULL, "-p", port, "range", "(k2", "(k4", NULL), 0, "k3\tv3\n");
    EXPECT(cli(NULL, "-p", port, "range", "-", "(k2", "keys-only", NULL), 0, "k0\nk1\n");
    EXPECT(cli(NULL, "-p", port, "range", "[k7", "+", "REV", NULL), 0, "k9\tv9\nk8\tv8\nk7\tv7\n");
    EXPECT(cli(NULL, "-p", port, "range", "-", "+", "limit", "3", "keys", NULL), 0, "k0\nk1\nk2\n");
    EXPECT(cli(NULL, "-p", port, "range", "-", "+", "limit", "0", NULL), 0, "");
    EXPECT(cli(NULL, "-p", port, "range", "+", "-", NULL), 0, "");
    EXPECT(cli(NULL, "-p", port, "range", "[x", "+", NULL), 0, "");
    EXPECT(cli(NULL, "-p", port, "count", "-", "+", NULL), 0, "10\n");
    EXPECT(cli(NULL, "-p", port, "count", "[k2", "(k5", NULL), 0, "3\n");
    EXPECT(cli(NULL, "-p", port, "count", "-", "+", "limit", "4", NULL), 0, "4\n");
    EXPECT(cli(NULL, "-p", port, "count", "+", "-", NULL), 0, "0\n");
    /* a server reply cap: the CLI follows MORE to the end, or to its limit */
    fake_set_range_cap(srv, 3);
    EXPECT(cli(NULL, "-p", port, "range", "-", "+", "keysonly", NULL), 0,
           "k0\nk1\nk2\nk3\nk4\nk5\nk6\nk7\nk8\nk9\n");
    EXPECT(cli(NULL, "-p", port, "range", "(k0", "[k9", "rev", "limit", "5", "keys", NULL), 0,
           "k9\nk8\nk7\nk6\nk5\n");
    EXPECT(cli(NULL, "-p", port, "range", "(k0", "[k9", "rev", "limit", "-1", "keys", NULL), 0,
           "k9\nk8\nk7\nk6\nk5\nk4\nk3\nk2\nk1\n");
}
END_TEST

START_TEST(interactive_mode)
{
    run_t *r = cli("set a 1\nget a\n\n  set \"sp ace\" 'x y'  \nget \"sp ace\"\nbogus\nget \"unbalanced\n"
                   "get 'it\\'s'\nping\nquit\nping\n",
                   "-p", port, NULL);
    EXPECT(r, 2, "OK version=1000\n1\nOK version=1001\nx y\n(nil)\nPONG\nOK\n");
    ck_assert_ptr_nonnull(strstr(r->err, "unknown command 'bogus'"));
    ck_assert_ptr_nonnull(strstr(r->err, "unbalanced quotes"));
    EXPECT(cli("set k v\nget k\n", "-p", port, NULL), 0, "OK version=1002\nv\n");
    r = cli("set k v xx nx\nget k\nincr k\n", "-p", port, NULL); /* worst of 2 and 1 */
    EXPECT(r, 2, "v\n");
}
END_TEST

START_TEST(authentication)
{
    fake_set_password(srv, "pw");
    EXPECT(cli(NULL, "-p", port, "-a", "pw", "set", "k", "v", NULL), 0, "OK version=1000\n");
    run_t *r = cli(NULL, "-p", port, "get", "k", NULL);
    EXPECT(r, 1, "");
    ck_assert_ptr_nonnull(strstr(r->err, "AUTH_REQUIRED"));
    r = cli(NULL, "-p", port, "-a", "bad", "get", "k", NULL);
    EXPECT(r, 1, "");
    ck_assert_ptr_nonnull(strstr(r->err, "(error) AUTH: AUTH_FAILED"));
    EXPECT(cli(NULL, "-p", port, "-u", "default", "-a", "pw", "get", "k", NULL), 0, "v\n");
    EXPECT(cli("auth pw\nget k\nauth default pw\n", "-p", port, NULL), 0, "OK\nv\nOK\n");
    EXPECT(cli(NULL, "-p", port, "auth", "nope", NULL), 1, "");
}
END_TEST

/* ---- txn ------------------------------------------------------------------------------- */

/* The TXN hook: writes what the request asked for into `seen` and answers
 * as if the compares held (succeed) or not: PUTs at version 7, GET "k" =
 * "val", DELETE "d" found, everything else absent; a RANGE has one row,
 * a1 = v, and MORE. */
typedef struct {
    bool succeed;
    char seen[512];
} txn_hook_t;

static fake_after_t h_txn(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    static const char *const target[] = {"?", "value", "version", "exists"}, *const cmp[] = {"?", "=", "!=", "<", ">"};
    static const char *const kind[] = {"?", "get", "put", "del", "range"};
    txn_hook_t *h = arg;
    native_txn_t t;
    native_txn_init(&t);
    size_t n = 0;
    h->seen[0] = '\0';
    if (cmd->id != CMD_TXN || native_txn_parse(&t, cmd->argv[1].ptr, cmd->argv[1].len) != FICKLE_STATUS_OK) {
        native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_BAD_REQUEST, "not a TXN");
        return FAKE_KEEP;
    }
    for (size_t i = 0; i < t.ncmp; i++) {
        const native_txn_compare_t *c = &t.cmp[i];
        n += (size_t)snprintf(h->seen + n, sizeof(h->seen) - n, "%s %.*s %s %.*s%s%llu; ", target[c->target],
                              (int)c->key.len, c->key.ptr, cmp[c->cmp],
                              c->target == FICKLE_TXN_TARGET_VALUE ? (int)c->arg.len : 0, c->arg.ptr,
                              c->target == FICKLE_TXN_TARGET_VALUE ? "" : "#", (unsigned long long)c->version);
    }
    struct evbuffer *res = evbuffer_new();
    for (int br = 0; br < 2; br++) {
        size_t nops;
        const native_txn_op_t *ops = native_txn_branch(&t, br == 0, &nops);
        n += (size_t)snprintf(h->seen + n, sizeof(h->seen) - n, "%s", br ? "| else " : "| then ");
        for (size_t i = 0; i < nops; i++) {
            const native_txn_op_t *o = &ops[i];
            n += (size_t)snprintf(h->seen + n, sizeof(h->seen) - n, "%s %.*s %.*s f%u e%llu; ", kind[o->kind],
                                  (int)o->key.len, o->key.ptr, (int)o->value.len, o->value.ptr, o->flags,
                                  (unsigned long long)o->expiry_ms);
            if ((br == 0) != h->succeed)
                continue;
            if (o->kind == FICKLE_TXN_OP_RANGE) {
                native_rows_t rows;
                native_rows_init(&rows);
                native_rows_add(&rows, "a1", 2, "v", 1, 3, 0);
                native_txn_result(res, o->kind, FICKLE_STATUS_OK, 1, FICKLE_ROWS_MORE, NULL, native_rows_size(&rows));
                evbuffer_add_buffer(res, rows.body);
                native_rows_free(&rows);
                continue;
            }
            bool hit = (o->kind == FICKLE_TXN_OP_GET && o->key.len == 1 && o->key.ptr[0] == 'k') ||
                       (o->kind == FICKLE_TXN_OP_DELETE && o->key.len == 1 && o->key.ptr[0] == 'd') ||
                       o->kind == FICKLE_TXN_OP_PUT;
            native_txn_result(res, o->kind, hit ? FICKLE_STATUS_OK : FICKLE_STATUS_NOT_FOUND,
                              hit && o->kind != FICKLE_TXN_OP_DELETE ? 7 : 0, 0,
                              hit && o->kind == FICKLE_TXN_OP_GET ? "val" : NULL,
                              hit && o->kind == FICKLE_TXN_OP_GET ? 3 : 0);
        }
    }
    size_t ran;
    native_txn_branch(&t, h->succeed, &ran);
    native_txn_reply(out, cmd->opaque, h->succeed ? FICKLE_TXN_SUCCEEDED : 0, (uint32_t)ran, h->succeed ? 7 : 0, res);
    evbuffer_free(res);
    native_txn_free(&t);
    return FAKE_KEEP;
}

START_TEST(txn_command)
{
    txn_hook_t h = {.succeed = true};
    fake_set_hook(srv, h_txn, &h);
    EXPECT(cli(NULL, "-p", port, "txn", "version", "k", "=", "5", "value", "k", "!=", "abc", "exists", "k",
               "missing", "m", "then", "set", "k", "v", "get", "k", "del", "d", "set", "x", "y", "pxat", "99",
               "else", "get", "q", NULL),
           0, "succeeded revision=7\n1) OK version=7\n2) val\n3) 1\n4) OK version=7\n");
    ck_assert_str_eq(h.seen, "version k = #5; value k != abc0; exists k = #0; exists m != #0; "
                             "| then put k v f0 e0; get k  f0 e0; del d  f0 e0; put x y f0 e99; | else get q  f0 e0; ");
    h.succeed = false;
    fake_set_hook(srv, h_txn, &h);
    EXPECT(cli(NULL, "-p", port, "txn", "value", "k", "lt", "z", "version", "k", "gt", "1", "then", "set", "k",
               "v", "keepttl", "else", "get", "nope", "del", "nope", "get", "k", NULL),
           0, "failed\n1) (nil)\n2) 0\n3) val\n");
    ck_assert_str_eq(h.seen, "value k < z0; version k > #1; | then put k v f1 e0; | else get nope  f0 e0; "
                             "del nope  f0 e0; get k  f0 e0; ");
    h.succeed = true;
    fake_set_hook(srv, h_txn, &h);
    EXPECT(cli(NULL, "-p", port, "txn", "then", "range", "[a", "(b", "rev", "limit", "5", "get", "k", "range", "-",
               "+", NULL),
           0, "succeeded revision=7\n1) rows=1 more\na1\tv\n2) val\n3) rows=1 more\na1\tv\n");
    ck_assert_str_eq(h.seen, "| then range a b f17 e5; get k  f0 e0; range   f12 e0; | else ");
    /* interactive, quoted binary-safe words; no compares, no else */
    h.succeed = true;
    fake_set_hook(srv, h_txn, &h);
    EXPECT(cli("txn then set \"a b\" \"x\\ty\"\n", "-p", port, NULL), 0, "succeeded revision=7\n1) OK version=7\n");
    ck_assert_str_eq(h.seen, "| then put a b x\ty f0 e0; | else ");
    /* usage errors: exit 2, nothing sent */
    uint64_t before = fake_requests(srv);
    static const char *const bad[][8] = {
        {"txn", "version", "k", "=", "x"},   {"txn", "version", "k", "~", "1"}, {"txn", "value", "k", "="},
        {"txn", "exists"},                   {"txn", "then", "set", "k"},        {"txn", "then", "put", "k", "v"},
        {"txn", "then", "get", "k", "then"}, {"txn", "else", "get", "k", "x"},  {"txn", "then", "set", "k", "v", "pxat", "0"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *const *w = bad[i];
        run_t *r = cli(NULL, "-p", port, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], NULL);
        ck_assert_msg(r->status == 2, "case %zu: exit %d", i, r->status);
        ck_assert_ptr_nonnull(strstr(r->err, "txn"));
    }
    ck_assert_uint_eq(fake_requests(srv), before);
    fake_set_hook(srv, NULL, NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli");
    TCase *t = tcase_create("cli");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, usage_errors_exit_2_without_connecting);
    tcase_add_test(t, connection_errors_exit_3);
    tcase_add_test(t, dropped_connection);
    tcase_add_test(t, string_commands);
    tcase_add_test(t, multi_key_and_server_commands);
    tcase_add_test(t, escaping_and_raw);
    tcase_add_test(t, range_and_count);
    tcase_add_test(t, interactive_mode);
    tcase_add_test(t, authentication);
    tcase_add_test(t, txn_command);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
