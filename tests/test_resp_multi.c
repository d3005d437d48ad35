/*
 * test_resp_multi.c — RESP transactions (MULTI / EXEC / DISCARD / WATCH /
 * UNWATCH) of the real fickled: every reply compared with a reference
 * Redis 7 started by the same run (rows marked RC_FICKLE are fickle's own
 * on purpose); isolation under concurrent transfers and readers across
 * workers; atomicity across worker deaths inside EXEC and whole-group
 * kills; a transaction larger than the change ring.
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "tests/harness.h"
#include "tests/load_util.h"
#include "tests/resp_check.h"
#include "tests/robust_probe.h"

#ifndef FICKLED_TEST_PATH
#error "FICKLED_TEST_PATH must name the fickled built with crash points"
#endif

static const char EXECABORT[] = "-EXECABORT Transaction discarded because of previous errors.";

/* ---- two clients per server, compared with Redis ------------------------------- */

/* A step of client 1 or 2 (the other client changes watched keys). */
typedef struct {
    int who;
    const char *cmd; /* "sleep N" waits N ms */
    const char *want;
    unsigned flags; /* RC_FICKLE: fickle only */
} mstep_t;

static void step_on(fk_conn_t *c, const char *who, const mstep_t *s)
{
    char got[8192];
    rc_reply_text(c, s->cmd, false, got, sizeof(got));
    ck_assert_msg(rc_match(s->want, got), "%s client %d: '%s'\n  want %s\n  got  %s", who, s->who, s->cmd, s->want,
                  got);
}

static void run_on(fk_conn_t *c1, fk_conn_t *c2, const char *who, const mstep_t *steps, size_t n, bool is_ref)
{
    const mstep_t flush = {1, "FLUSHALL", "+OK", 0};
    step_on(c1, who, &flush);
    for (size_t i = 0; i < n; i++) {
        const mstep_t *s = &steps[i];
        if (is_ref && (s->flags & RC_FICKLE))
            continue;
        if (strncmp(s->cmd, "sleep ", 6) == 0)
            load_sleep_ms(atoi(s->cmd + 6));
        else
            step_on(s->who == 1 ? c1 : c2, who, s);
    }
}

/* Runs steps on fickle, then on Redis if there is one; each with a
 * second connection of its own. */
static void run2(const mstep_t *steps, size_t n)
{
    fk_conn_t *fk2 = fk_connect(rc.srv.resp_port);
    ck_assert_ptr_nonnull(fk2);
    run_on(rc.fk, fk2, "fickle", steps, n, false);
    fk_close(fk2);
    if (rc.rd) {
        fk_conn_t *rd2 = fk_connect(rc.ref.port);
        ck_assert_ptr_nonnull(rd2);
        run_on(rc.rd, rd2, "redis", steps, n, true);
        fk_close(rd2);
    }
}
#define RUN2(steps) run2((steps), sizeof(steps) / sizeof((steps)[0]))

START_TEST(queue_and_exec)
{
    const mstep_t steps[] = {
        {1, "MULTI", "+OK", 0},
        {1, "SET a 1", "+QUEUED", 0},
        {1, "INCR a", "+QUEUED", 0},
        {1, "GET a", "+QUEUED", 0},
        {1, "SET b x", "+QUEUED", 0},
        {1, "INCR b", "+QUEUED", 0}, /* fails when it runs; the others apply */
        {1, "INCRBY a x", "+QUEUED", 0},
        {1, "SET c v NX XX", "+QUEUED", 0}, /* a syntax error, found (by Redis) only at EXEC */
        {1, "MGET a b c", "+QUEUED", 0},
        {1, "EXEC", "[+OK, :2, \"2\", +OK, -ERR value is not an integer or out of range, "
                    "-ERR value is not an integer or out of range, -ERR syntax error, [\"2\", \"x\", nil]]", 0},
        {1, "GET a", "\"2\"", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "[]", 0},
        /* Reads inside see the transaction's own earlier writes. */
        {1, "MULTI", "+OK", 0},
        {1, "SET k 1", "+QUEUED", 0},
        {1, "APPEND k x", "+QUEUED", 0},
        {1, "GET k", "+QUEUED", 0},
        {1, "EXISTS k", "+QUEUED", 0},
        {1, "STRLEN k", "+QUEUED", 0},
        {1, "DEL k", "+QUEUED", 0},
        {1, "EXISTS k", "+QUEUED", 0},
        {1, "INCRBYFLOAT f 1.5", "+QUEUED", 0},
        {1, "UNWATCH", "+QUEUED", 0},
        {1, "PING", "+QUEUED", 0},
        {1, "EXEC", "[+OK, :2, \"1x\", :1, :2, :1, :0, \"1.5\", +OK, +PONG]", 0},
        /* RANGE (fickle's own) sees the transaction's writes too. */
        {1, "MULTI", "+OK", RC_FICKLE},
        {1, "SET r1 1", "+QUEUED", RC_FICKLE},
        {1, "SET r2 2", "+QUEUED", RC_FICKLE},
        {1, "RANGE [r [r~", "+QUEUED", RC_FICKLE},
        {1, "RCOUNT [r [r~", "+QUEUED", RC_FICKLE},
        {1, "DEL r1", "+QUEUED", RC_FICKLE},
        {1, "RANGE [r [r~", "+QUEUED", RC_FICKLE},
        {1, "EXEC", "[+OK, +OK, [\"r1\", \"r2\"], :2, :1, [\"r2\"]]", RC_FICKLE},
    };
    RUN2(steps);
}
END_TEST

START_TEST(queuing_errors)
{
    const mstep_t steps[] = {
        {1, "EXEC", "-ERR EXEC without MULTI", 0},
        {1, "DISCARD", "-ERR DISCARD without MULTI", 0},
        {1, "MULTI x", "-ERR wrong number of arguments for 'multi' command", 0},
        {1, "WATCH", "-ERR wrong number of arguments for 'watch' command", 0},
        {1, "MULTI", "+OK", 0},
        {1, "MULTI", "-ERR MULTI calls can not be nested", 0}, /* the transaction goes on */
        {1, "WATCH a", "-ERR WATCH inside MULTI is not allowed", 0},
        {1, "SET a 1", "+QUEUED", 0},
        {1, "EXEC", "[+OK]", 0},
        {1, "EXEC", "-ERR EXEC without MULTI", 0},
        /* An unknown command or a wrong arity while queuing: EXECABORT. */
        {1, "MULTI", "+OK", 0},
        {1, "SET a 2", "+QUEUED", 0},
        {1, "NOSUCH x", "-ERR unknown command 'NOSUCH', with args beginning with: 'x' ", 0},
        {1, "SET a 3", "+QUEUED", 0},
        {1, "EXEC", EXECABORT, 0},
        {1, "GET a", "\"1\"", 0},
        {1, "MULTI", "+OK", 0},
        {1, "GET", "-ERR wrong number of arguments for 'get' command", 0},
        {1, "EXEC", EXECABORT, 0},
        {1, "EXEC", "-ERR EXEC without MULTI", 0},
        {1, "MULTI", "+OK", 0},
        {1, "CLIENT NOSUCH", "~-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.", 0},
        {1, "EXEC", EXECABORT, 0},
        /* DISCARD drops the queue. */
        {1, "MULTI", "+OK", 0},
        {1, "SET a 9", "+QUEUED", 0},
        {1, "DISCARD", "+OK", 0},
        {1, "GET a", "\"1\"", 0},
        {1, "EXEC", "-ERR EXEC without MULTI", 0},
        /* Commands fickle runs only outside a transaction. */
        {1, "MULTI", "+OK", RC_FICKLE},
        {1, "FLUSHALL", "-ERR Command not allowed inside a transaction", RC_FICKLE},
        {1, "EXEC", EXECABORT, RC_FICKLE},
        {1, "MULTI", "+OK", 0},
        {1, "SAVE", "-ERR Command not allowed inside a transaction", 0},
        {1, "EXEC", EXECABORT, 0},
        /* Arity errors Redis finds only when it runs the command: queued. */
        {1, "MULTI", "+OK", 0},
        {1, "MSET a b c", "+QUEUED", 0},
        {1, "PING a b", "+QUEUED", 0},
        {1, "SET k v EX", "+QUEUED", 0},
        {1, "EXEC", "[-ERR wrong number of arguments for 'mset' command, "
                    "-ERR wrong number of arguments for 'ping' command, -ERR syntax error]", 0},
    };
    RUN2(steps);
}
END_TEST

START_TEST(watch_other_client_changes)
{
    const mstep_t steps[] = {
        {1, "SET a 1", "+OK", 0},
        /* SET by another client. */
        {1, "WATCH a", "+OK", 0},
        {2, "SET a 2", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET a 10", "+QUEUED", 0},
        {1, "EXEC", "(nil-array)", 0},
        {1, "GET a", "\"2\"", 0},
        /* EXEC unwatched: the next one runs. */
        {1, "MULTI", "+OK", 0},
        {1, "SET a 10", "+QUEUED", 0},
        {1, "EXEC", "[+OK]", 0},
        /* DEL by another client. */
        {1, "WATCH a", "+OK", 0},
        {2, "DEL a", ":1", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "(nil-array)", 0},
        /* EXPIRE by another client. */
        {1, "SET a 1", "+OK", 0},
        {1, "WATCH a", "+OK", 0},
        {2, "EXPIRE a 100", ":1", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "(nil-array)", 0},
        /* FLUSHALL by another client (the key exists). */
        {1, "WATCH a", "+OK", 0},
        {2, "FLUSHALL", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET b 1", "+QUEUED", 0},
        {1, "EXEC", "(nil-array)", 0},
        {1, "EXISTS b", ":0", 0},
        /* A key absent at WATCH, created by another client. */
        {1, "WATCH n", "+OK", 0},
        {2, "SET n 1", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "(nil-array)", 0},
        /* ABA: absent at WATCH, created and deleted again before EXEC. */
        {1, "WATCH x", "+OK", 0},
        {2, "SET x 1", "+OK", 0},
        {2, "DEL x", ":1", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET y 1", "+QUEUED", 0},
        {1, "EXEC", "(nil-array)", 0},
        {1, "EXISTS y", ":0", 0},
        /* Its own change between WATCH and MULTI counts too. */
        {1, "WATCH a", "+OK", 0},
        {1, "SET a 5", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "(nil-array)", 0},
        /* A change inside the transaction itself does not. */
        {1, "WATCH a", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET a 6", "+QUEUED", 0},
        {1, "EXEC", "[+OK]", 0},
        /* Untouched watched keys: EXEC runs. */
        {1, "WATCH a b c", "+OK", 0},
        {2, "SET other 1", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "GET a", "+QUEUED", 0},
        {1, "EXEC", "[\"6\"]", 0},
    };
    RUN2(steps);
}
END_TEST

START_TEST(unwatch_discard_and_many_keys)
{
    const mstep_t steps[] = {
        {1, "UNWATCH", "+OK", 0},
        {1, "WATCH a", "+OK", 0},
        {2, "SET a 1", "+OK", 0},
        {1, "UNWATCH", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "[]", 0},
        /* DISCARD unwatches. */
        {1, "WATCH a", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "DISCARD", "+OK", 0},
        {2, "SET a 2", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "[]", 0},
        /* EXECABORT unwatches too. */
        {1, "WATCH a", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "NOSUCH", "~-ERR unknown command*", 0},
        {1, "EXEC", EXECABORT, 0},
        {2, "SET a 3", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "EXEC", "[]", 0},
        /* Many keys in one WATCH and over several; one changed aborts. */
        {1, "WATCH k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11 k12 k13 k14 k15 k16 k17 k18 k19 k20", "+OK", 0},
        {1, "WATCH k21 k22 k1", "+OK", 0},
        {2, "SET k17 x", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET z 1", "+QUEUED", 0},
        {1, "EXEC", "(nil-array)", 0},
        {1, "WATCH k1 k2 k3 k4 k5 k6 k7 k8 k9 k10 k11 k12 k13 k14 k15 k16 k17 k18 k19 k20", "+OK", 0},
        {2, "DEL k22", ":0", 0}, /* nothing deleted: nothing changed */
        {1, "MULTI", "+OK", 0},
        {1, "SET z 1", "+QUEUED", 0},
        {1, "EXEC", "[+OK]", 0},
    };
    RUN2(steps);
}
END_TEST

START_TEST(watched_key_expires)
{
    const mstep_t steps[] = {
        {1, "SET e v", "+OK", 0},
        {1, "PEXPIRE e 100", ":1", 0},
        {1, "WATCH e", "+OK", 0},
        {1, "sleep 250", NULL, 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET f 1", "+QUEUED", 0},
        {1, "EXEC", "(nil-array)", 0},
        {1, "EXISTS f", ":0", 0},
        /* A key that was already expired at WATCH and stays so: no change. */
        {1, "SET g v PX 50", "+OK", 0},
        {1, "sleep 120", NULL, 0},
        {1, "WATCH g", "+OK", 0},
        {1, "MULTI", "+OK", 0},
        {1, "SET f 1", "+QUEUED", 0},
        {1, "EXEC", "[+OK]", 0},
    };
    RUN2(steps);
}
END_TEST

/* The queue and the watch list are capped (frontend/resp_multi.h). */
START_TEST(queue_and_watch_limits)
{
    enum { MAXQ = 100000 };
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    size_t plen = sizeof(ping) - 1;
    char *buf = malloc(MAXQ * plen);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < MAXQ; i++)
        memcpy(buf + i * plen, ping, plen);
    fk_expect_status(rc.fk, "MULTI", "OK");
    ck_assert_int_eq(fk_send_raw(rc.fk, buf, MAXQ * plen), 0);
    free(buf);
    for (size_t i = 0; i < MAXQ; i++) {
        rv_t *r = fk_read(rc.fk);
        ck_assert_msg(r && r->type == RV_STATUS && strcmp(r->s, "QUEUED") == 0, "reply %zu", i);
        rv_free(r);
    }
    fk_expect_error(rc.fk, "PING", "ERR transaction too long: at most 100000 commands");
    fk_expect_error(rc.fk, "EXEC", "EXECABORT");

    size_t n = 100001;
    const char **argv = malloc((n + 1) * sizeof(*argv));
    size_t *lens = malloc((n + 1) * sizeof(*lens));
    ck_assert(argv && lens);
    argv[0] = "WATCH";
    lens[0] = 5;
    for (size_t i = 1; i <= n; i++) {
        argv[i] = "w";
        lens[i] = 1;
    }
    ck_assert_int_eq(fk_send(rc.fk, (int)(n + 1), argv, lens), 0);
    free(argv);
    free(lens);
    rv_t *r = fk_read(rc.fk);
    ck_assert(r && r->type == RV_ERROR && strncmp(r->s, "ERR too many watched keys", 25) == 0);
    rv_free(r);
    /* Nothing of the refused WATCH is watched. */
    fk_expect_status(rc.fk, "SET w 1", "OK");
    fk_expect_status(rc.fk, "MULTI", "OK");
    r = fk_cmd(rc.fk, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 0);
    rv_free(r);
}
END_TEST

/* ---- isolation across workers --------------------------------------------------------- */

enum { NACCT = 8, START_BALANCE = 1000 };

static void acct_key(char *buf, size_t len, int i)
{
    snprintf(buf, len, "acct:%02d", i);
}

static int64_t bulk_i64(const rv_t *r)
{
    return r && r->type == RV_BULK ? atoll(r->s) : -1000000;
}

/* One transfer with optimistic retry: WATCH both, GET both, MULTI
 * DECRBY/INCRBY EXEC, again on a nil reply. Returns retries, or -1. */
static int transfer(fk_conn_t *c, int from, int to, int amount)
{
    char kf[16], kt[16], cmd[96];
    acct_key(kf, sizeof(kf), from);
    acct_key(kt, sizeof(kt), to);
    for (int retries = 0;; retries++) {
        snprintf(cmd, sizeof(cmd), "WATCH %s %s", kf, kt);
        rv_t *r = fk_cmd(c, cmd);
        bool ok = r && r->type == RV_STATUS;
        rv_free(r);
        snprintf(cmd, sizeof(cmd), "GET %s", kf);
        r = fk_cmd(c, cmd);
        int64_t bal = bulk_i64(r);
        rv_free(r);
        if (!ok || bal < 0)
            return -1;
        int amt = bal < amount ? (int)bal : amount;
        const char *lines[4];
        char l1[64], l2[64];
        snprintf(l1, sizeof(l1), "DECRBY %s %d", kf, amt);
        snprintf(l2, sizeof(l2), "INCRBY %s %d", kt, amt);
        lines[0] = "MULTI";
        lines[1] = l1;
        lines[2] = l2;
        lines[3] = "EXEC";
        rv_t *last = NULL;
        for (int i = 0; i < 4; i++) {
            rv_free(last);
            last = fk_cmd(c, lines[i]);
            if (last == NULL)
                return -1;
        }
        bool done = last->type == RV_ARRAY && last->n == 2 && last->elems[0].type == RV_INT;
        bool aborted = last->type == RV_NIL_ARRAY;
        rv_free(last);
        if (done)
            return retries;
        if (!aborted)
            return -1;
    }
}

static pid_t spawn(int (*fn)(uint16_t port, int id, unsigned ms), uint16_t port, int id, unsigned ms)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        _exit(fn(port, id, ms));
    return pid;
}

static int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int transfer_client(uint16_t port, int id, unsigned ms)
{
    fk_conn_t *c = fk_connect(port);
    if (c == NULL)
        return 2;
    srand((unsigned)id * 7919u);
    unsigned n = 0, retries = 0;
    for (uint64_t end = load_now_ms() + ms; load_now_ms() < end; n++) {
        int from = rand() % NACCT, to = (from + 1 + rand() % (NACCT - 1)) % NACCT;
        int r = transfer(c, from, to, 1 + rand() % 50);
        if (r < 0) {
            fprintf(stderr, "transfer client %d: a transfer failed\n", id);
            return 3;
        }
        retries += (unsigned)r;
    }
    fprintf(stderr, "transfer client %d: %u transfers, %u retries after a nil EXEC\n", id, n, retries);
    fk_close(c);
    return n > 0 ? 0 : 4;
}

/* Sums the balances three ways: MGET, RANGE WITHVALUES, and GETs inside
 * MULTI; each must see the constant total. */
static int64_t sum_reply(const rv_t *r, size_t first, size_t step)
{
    if (r == NULL || r->type != RV_ARRAY)
        return -1;
    int64_t sum = 0;
    for (size_t i = first; i < r->n; i += step)
        sum += bulk_i64(&r->elems[i]);
    return sum;
}

static int reader_client(uint16_t port, int id, unsigned ms)
{
    fk_conn_t *c = fk_connect(port);
    if (c == NULL)
        return 2;
    char mget[256] = "MGET", multi_gets[NACCT][24];
    for (int i = 0; i < NACCT; i++) {
        char k[16];
        acct_key(k, sizeof(k), i);
        strcat(mget, " ");
        strcat(mget, k);
        snprintf(multi_gets[i], sizeof(multi_gets[i]), "GET %s", k);
    }
    const int64_t total = (int64_t)NACCT * START_BALANCE;
    unsigned n = 0;
    for (uint64_t end = load_now_ms() + ms; load_now_ms() < end; n++) {
        rv_t *r = fk_cmd(c, mget);
        int64_t a = sum_reply(r, 0, 1);
        rv_free(r);
        r = fk_cmd(c, "RANGE [acct: [acct:~ WITHVALUES");
        int64_t b = sum_reply(r, 1, 2);
        rv_free(r);
        rv_free(fk_cmd(c, "MULTI"));
        for (int i = 0; i < NACCT; i++)
            rv_free(fk_cmd(c, multi_gets[i]));
        r = fk_cmd(c, "EXEC");
        int64_t m = sum_reply(r, 0, 1);
        rv_free(r);
        if (a != total || b != total || m != total) {
            fprintf(stderr, "reader %d: totals MGET %lld RANGE %lld MULTI %lld, want %lld\n", id, (long long)a,
                    (long long)b, (long long)m, (long long)total);
            return 5;
        }
    }
    fprintf(stderr, "reader %d: %u consistent sums\n", id, n);
    fk_close(c);
    return n > 0 ? 0 : 4;
}

START_TEST(transfers_keep_the_total)
{
    fk_server_t srv = {0};
    const char *opts[] = {"--workers", "2", NULL};
    ck_assert_int_eq(fk_start(&srv, opts), 0);
    srv_track(&srv);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < NACCT; i++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "SET acct:%02d %d", i, START_BALANCE);
        fk_expect_status(c, cmd, "OK");
    }
    fk_close(c);
    enum { NW = 3, NR = 2 };
    pid_t kids[NW + NR];
    for (int i = 0; i < NW; i++)
        kids[i] = spawn(transfer_client, srv.resp_port, i, 2500);
    for (int i = 0; i < NR; i++)
        kids[NW + i] = spawn(reader_client, srv.resp_port, i, 2500);
    for (int i = 0; i < NW + NR; i++)
        ck_assert_int_eq(wait_child(kids[i]), 0);
    srv_stop_and_check(&srv);
    fk_cleanup(&srv);
}
END_TEST

/* ---- atomicity across crashes ---------------------------------------------------------------- */

enum { TXN_KEYS = 10 };

/* Writes transactions t:<id>:<n>:1..10 = <id>:<n>, retrying the same n
 * after any failure (reconnecting), and appends each acknowledged n (u32)
 * to the file acks. */
static const char *txn_acks;

static bool txn_once(fk_conn_t *c, int id, unsigned n)
{
    char cmd[96], tag[32];
    snprintf(tag, sizeof(tag), "%d:%u", id, n);
    rv_t *r = fk_cmd(c, "MULTI");
    bool ok = r && r->type == RV_STATUS;
    rv_free(r);
    for (int k = 1; ok && k <= TXN_KEYS; k++) {
        snprintf(cmd, sizeof(cmd), "SET t:%s:%02d %s", tag, k, tag);
        r = fk_cmd(c, cmd);
        ok = r && r->type == RV_STATUS;
        rv_free(r);
    }
    if (!ok)
        return false;
    r = fk_cmd(c, "EXEC");
    ok = r && r->type == RV_ARRAY && r->n == TXN_KEYS;
    rv_free(r);
    return ok;
}

static int txn_client(uint16_t port, int id, unsigned ms)
{
    int fd = open(txn_acks, O_WRONLY | O_APPEND | O_CREAT, 0600);
    if (fd < 0)
        return 2;
    fk_conn_t *c = NULL;
    unsigned n = 0;
    for (uint64_t end = load_now_ms() + ms; load_now_ms() < end;) {
        if (c == NULL && (c = fk_connect(port)) == NULL) {
            load_sleep_ms(20);
            continue;
        }
        if (!txn_once(c, id, n)) {
            fk_close(c);
            c = NULL;
            continue;
        }
        uint32_t rec = (uint32_t)id << 24 | n;
        if (write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec))
            return 3;
        n++;
    }
    fk_close(c);
    close(fd);
    return 0;
}

/* Every transaction is there entirely or not at all; the acknowledged ones
 * are there. Returns how many are there. */
static unsigned check_txns(uint16_t port, const char *acks, int nclients)
{
    fk_conn_t *c = fk_connect(port);
    ck_assert_ptr_nonnull(c);
    unsigned whole = 0;
    for (int id = 0; id < nclients; id++) {
        char lo[32], hi[32], cmd[96];
        snprintf(lo, sizeof(lo), "[t:%d:", id);
        snprintf(hi, sizeof(hi), "[t:%d:~", id);
        /* Count per transaction: each key's value is its transaction's tag. */
        snprintf(cmd, sizeof(cmd), "RANGE %s %s WITHVALUES", lo, hi);
        rv_t *r = fk_cmd(c, cmd);
        ck_assert(r && r->type == RV_ARRAY);
        for (size_t i = 0; i < r->n; i += 2) {
            const char *tag = r->elems[i + 1].s;
            size_t run = 0;
            while (i + 2 * run < r->n && strcmp(r->elems[i + 1 + 2 * run].s, tag) == 0)
                run++;
            ck_assert_msg(run == TXN_KEYS, "transaction %s has %zu of its %d keys", tag, run, TXN_KEYS);
            i += 2 * (run - 1);
            whole++;
        }
        rv_free(r);
    }
    int fd = open(acks, O_RDONLY);
    uint32_t rec;
    unsigned acked = 0;
    while (fd >= 0 && read(fd, &rec, sizeof(rec)) == (ssize_t)sizeof(rec)) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "EXISTS t:%u:%u:01 t:%u:%u:10", rec >> 24, rec & 0xFFFFFF, rec >> 24,
                 rec & 0xFFFFFF);
        fk_expect_int(c, cmd, 2);
        acked++;
    }
    if (fd >= 0)
        close(fd);
    fk_close(c);
    fprintf(stderr, "%u whole transactions, %u acknowledged\n", whole, acked);
    ck_assert_uint_ge(whole, acked);
    return whole;
}

static fk_server_t csrv;
static char acks_path[300];

static void crash_teardown(void)
{
    fk_cleanup(&csrv);
    memset(&csrv, 0, sizeof(csrv));
    fk_binary = FICKLED_PATH;
    unsetenv("FICKLE_TEST_CRASH");
}

/* Workers die inside EXEC's critical section (test crash points): in
 * the middle of the queue, and while committing. */
START_TEST(worker_dies_inside_exec)
{
    static const unsigned points[][2] = {{STORE_CP_HASH_LINKED, 125}, {STORE_CP_UNLINKED, 0},
                                         {STORE_CP_FREEING, 0}, {STORE_CP_COMMITTED, 12}};
    char spec[32];
    snprintf(spec, sizeof(spec), "%u:%u", points[_i][0], points[_i][1]);
    setenv("FICKLE_TEST_CRASH", spec, 1);
    fk_binary = FICKLED_TEST_PATH;
    ck_assert_int_eq(fk_start(&csrv, NULL), 0);
    srv_track(&csrv);
    snprintf(acks_path, sizeof(acks_path), "%s/acks", csrv.dir);
    txn_acks = acks_path;
    fk_conn_t *c = fk_connect(csrv.resp_port);
    ck_assert_ptr_nonnull(c);
    if (points[_i][0] == STORE_CP_UNLINKED || points[_i][0] == STORE_CP_FREEING) {
        /* Deletes and replaced values inside the transactions: one EXEC
         * that overwrites and deletes (the crash hits it). */
        for (int i = 0; i < 3; i++) {
            char cmd[96];
            snprintf(cmd, sizeof(cmd), "SET t:9:%u:%02d 9:0", 0u, i + 1);
            rv_free(fk_cmd(c, cmd));
        }
        rv_free(fk_cmd(c, "MULTI"));
        rv_free(fk_cmd(c, "SET t:9:0:04 9:0"));
        rv_free(fk_cmd(c, "DEL t:9:0:01 t:9:0:02 t:9:0:03"));
        rv_t *r = fk_cmd(c, "EXEC");
        ck_assert_msg(r == NULL, "the worker should have died inside EXEC");
        fk_close(c);
        c = fk_connect(csrv.resp_port);
        ck_assert_ptr_nonnull(c);
        /* Before: three keys of tag 9:0; the transaction would have left one. */
        fk_expect_int(c, "EXISTS t:9:0:01 t:9:0:02 t:9:0:03", 3);
        fk_expect_int(c, "EXISTS t:9:0:04", 0);
    }
    fk_close(c);
    pid_t l = spawn(txn_client, csrv.resp_port, 1, 2000);
    ck_assert_int_eq(wait_child(l), 0);
    ck_assert_msg(fk_log_has(&csrv, "killed by signal 9", 0), "crash point %s was never reached", spec);
    ck_assert_uint_gt(check_txns(csrv.resp_port, acks_path, 2), 10);
    srv_stop_and_check(&csrv);
}
END_TEST

/* The whole group killed under MULTI load with --fsync always; recovery
 * from the log alone (cold) and from the region (warm). */
START_TEST(group_killed_under_multi_load)
{
    bool cold = _i == 0;
    const char *opts[] = {"--fsync", "always", "--workers", "2", NULL};
    ck_assert_int_eq(fk_start(&csrv, opts), 0);
    srv_track(&csrv);
    snprintf(acks_path, sizeof(acks_path), "%s/acks", csrv.dir);
    txn_acks = acks_path;
    pid_t l[3];
    for (int i = 0; i < 3; i++)
        l[i] = spawn(txn_client, csrv.resp_port, i, 60000);
    for (uint64_t end = load_now_ms() + 20000; load_acked(acks_path) < 100 && load_now_ms() < end;)
        load_sleep_ms(20);
    ck_assert_uint_gt(load_acked(acks_path), 0);
    srv_kill_all(&csrv);
    for (int i = 0; i < 3; i++) {
        kill(l[i], SIGKILL);
        wait_child(l[i]);
    }
    if (cold)
        ck_assert_int_eq(srv_remove_region(&csrv), 1);
    ck_assert_int_eq(fk_restart(&csrv, opts), 0);
    ck_assert_uint_gt(check_txns(csrv.resp_port, acks_path, 3), 0);
    srv_stop_and_check(&csrv);
}
END_TEST

/* ---- a transaction larger than the change ring ---------------------------------------------- */

START_TEST(transaction_larger_than_ring)
{
    const char *opts[] = {"--max-value-size", "64k", "--ring-size", "1m", NULL};
    ck_assert_int_eq(fk_start(&csrv, opts), 0);
    srv_track(&csrv);
    fk_conn_t *c = fk_connect(csrv.resp_port);
    ck_assert_ptr_nonnull(c);
    static char val[40000];
    memset(val, 'v', sizeof(val));
    fk_expect_status(c, "SET before 1", "OK");
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "SET small 1", "QUEUED");
    for (int i = 0; i < 10; i++) { /* each fits alone; together they do not */
        char key[16];
        snprintf(key, sizeof(key), "big:%d", i);
        const char *argv[] = {"SET", key, val};
        size_t lens[] = {3, strlen(key), sizeof(val)};
        ck_assert_int_eq(fk_send(c, 3, argv, lens), 0);
        rv_t *r = fk_read(c);
        ck_assert(r && r->type == RV_STATUS && strcmp(r->s, "QUEUED") == 0);
        rv_free(r);
    }
    fk_expect_status(c, "DEL before", "QUEUED");
    fk_expect_error(c, "EXEC", "ERR transaction too large for one atomic change");
    /* Nothing applied, and the connection and server go on. */
    fk_expect_int(c, "EXISTS small big:0 big:9", 0);
    fk_expect_bulk(c, "GET before", "1");
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "SET small 2", "QUEUED");
    rv_t *r = fk_cmd(c, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 1);
    rv_free(r);
    fk_expect_bulk(c, "GET small", "2");
    fk_close(c);
    srv_stop_and_check(&csrv);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("resp_multi");
    TCase *tc = tcase_create("against_redis");
    tcase_add_unchecked_fixture(tc, rc_servers_up, rc_servers_down);
    tcase_add_checked_fixture(tc, rc_connect_both, rc_close_both);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, queue_and_exec);
    tcase_add_test(tc, queuing_errors);
    tcase_add_test(tc, watch_other_client_changes);
    tcase_add_test(tc, unwatch_discard_and_many_keys);
    tcase_add_test(tc, watched_key_expires);
    tcase_add_test(tc, queue_and_watch_limits);
    suite_add_tcase(s, tc);
    TCase *iso = tcase_create("isolation_and_crashes");
    tcase_add_checked_fixture(iso, NULL, crash_teardown);
    tcase_set_timeout(iso, 120);
    tcase_add_test(iso, transfers_keep_the_total);
    /* A worker killed holding the writer mutex, and a warm restart after a
     * group kill, need EOWNERDEAD (not under qemu-user: docs/arm.md). */
    char why[256];
    bool robust = probe_robust_mutex(why, sizeof(why));
    if (robust)
        tcase_add_loop_test(iso, worker_dies_inside_exec, 0, 4);
    else
        printf("SKIP: worker_dies_inside_exec, group_killed_under_multi_load (warm): %s\n", why);
    tcase_add_loop_test(iso, group_killed_under_multi_load, 0, robust ? 2 : 1);
    tcase_add_test(iso, transaction_larger_than_ring);
    suite_add_tcase(s, iso);
    return s;
}

int main(void)
{
    srv_track_init();
    int rc_ = fk_run_suite(suite());
    srv_sweep();
    return rc_;
}
