/*
 * test_resp_commands.c — RESP command semantics of the real fickled against
 * Redis 7: connection and server commands, strings, counters, errors,
 * binary safety, pipelining; then redis-py and redis-benchmark against it.
 * Every table expectation is also checked on a redis-server this test
 * starts (skipped with a note if none is installed); rows marked RC_FICKLE
 * are where fickle differs on purpose (one database, RESP2 only, ...).
 * Keys, expiry, SCAN and ranges: test_resp_keys.c; transactions: test_resp_multi.c.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/resp_check.h"

#ifndef ABS_TOP_SRCDIR
#error "ABS_TOP_SRCDIR must name the source tree (for tests/redis_py_compat.py)"
#endif


/* INCRBYFLOAT sums in long double, as Redis does: x87's 64-bit mantissa on
 * x86-64, IEEE quad (113 bits) on aarch64, so some results print
 * differently (Redis's own do too). */
#if LDBL_MANT_DIG == 64
#define LD_X87(x87, other) x87
#else
#define LD_X87(x87, other) other
#endif

#define ERR_ARITY(cmd) "-ERR wrong number of arguments for '" cmd "' command"

/* ---- connection ------------------------------------------------------------------- */

static const char NOPASS[] = "-ERR AUTH <password> called without any password configured for the default user. "
                             "Are you sure your configuration is correct?";
static const char HELLO2[] = "~[\"server\", \"redis\", \"version\", \"7.*\", \"proto\", :2, \"id\", :*, \"mode\", "
                             "\"standalone\", \"role\", \"master\", \"modules\", []]";

START_TEST(connection_commands)
{
    const rc_step_t steps[] = {
        {"PING", "+PONG", 0},
        {"ping hello\\sworld", "\"hello world\"", 0},
        {"PING \\e", "\"\"", 0},
        {"PING a b", ERR_ARITY("ping"), 0},
        {"ECHO x\\r\\ny", "\"x\\x0d\\x0ay\"", 0},
        {"ECHO", ERR_ARITY("echo"), 0},
        {"ECHO a b", ERR_ARITY("echo"), 0},
        {"SELECT 0", "+OK", 0},
        {"SELECT 1", "-ERR DB index is out of range", RC_FICKLE}, /* fickle has one database */
        {"SELECT 16", "-ERR DB index is out of range", 0},
        {"SELECT -1", "-ERR DB index is out of range", 0},
        {"SELECT x", "-ERR value is not an integer or out of range", 0},
        {"SELECT", ERR_ARITY("select"), 0},
        {"AUTH pw", NOPASS, 0},
        {"AUTH default anything", "+OK", 0}, /* no password: the default user has none */
        {"AUTH someone pw", "-WRONGPASS invalid username-password pair or user is disabled.", 0},
        {"AUTH a b c", "-ERR syntax error", 0},
        {"AUTH", ERR_ARITY("auth"), 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

#define N16 "nnnnnnnnnnnnnnnn"
#define N128 N16 N16 N16 N16 N16 N16 N16 N16

START_TEST(client_and_hello)
{
    const rc_step_t steps[] = {
        {"CLIENT GETNAME", "nil", 0},
        {"CLIENT SETNAME conn-1", "+OK", 0},
        {"CLIENT GETNAME", "\"conn-1\"", 0},
        {"CLIENT SETNAME a\\sb", "-ERR Client names cannot contain spaces, newlines or special characters.", 0},
        {"CLIENT SETNAME a\\nb", "-ERR Client names cannot contain spaces, newlines or special characters.", 0},
        {"CLIENT GETNAME", "\"conn-1\"", 0},
        /* Redis takes names of any length; fickle keeps 128 bytes and says so. */
        {"CLIENT SETNAME " N128, "+OK", 0},
        {"CLIENT GETNAME", "\"" N128 "\"", 0},
        {"CLIENT SETNAME " N128 "x", "-ERR Client names are limited to 128 bytes", RC_FICKLE},
        {"CLIENT SETNAME \\e", "+OK", 0}, /* clears the name */
        {"CLIENT GETNAME", "nil", 0},
        {"CLIENT ID", "~:*", 0},
        {"CLIENT", ERR_ARITY("client"), 0},
        {"CLIENT GETNAME x", ERR_ARITY("client|getname"), 0},
        {"CLIENT SETNAME", ERR_ARITY("client|setname"), 0},
        {"CLIENT ID x", ERR_ARITY("client|id"), 0},
        {"CLIENT NOPE", "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.", 0},
        /* CLIENT SETINFO is Redis 7.2's; the reference server may be 7.0. */
        {"CLIENT SETINFO lib-name fickle-test", "+OK", RC_FICKLE},
        {"CLIENT SETINFO LIB-VER 1.0", "+OK", RC_FICKLE},
        {"CLIENT SETINFO bogus 1", "-ERR Unrecognized option 'bogus'", RC_FICKLE},
        {"HELLO", HELLO2, 0},
        {"HELLO 2", HELLO2, 0},
        {"HELLO 2 SETNAME via-hello", HELLO2, 0},
        {"CLIENT GETNAME", "\"via-hello\"", 0},
        {"HELLO 2 AUTH default pw", HELLO2, 0},
        {"HELLO 2 AUTH someone pw", "-WRONGPASS invalid username-password pair or user is disabled.", 0},
        {"HELLO 3", "-NOPROTO unsupported protocol version", RC_FICKLE}, /* RESP2 only */
        {"HELLO 1", "-NOPROTO unsupported protocol version", 0},
        {"HELLO 4", "-NOPROTO unsupported protocol version", 0},
        {"HELLO x", "-ERR Protocol version is not an integer or out of range", 0},
        {"HELLO 2 bogus", "-ERR Syntax error in HELLO option 'bogus'", 0},
        {"HELLO 2 SETNAME", "-ERR Syntax error in HELLO option 'SETNAME'", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* CLIENT ID differs per connection and matches HELLO's id. */
    rv_t *a = fk_cmd(rc.fk, "CLIENT ID"), *h = fk_cmd(rc.fk, "HELLO 2");
    fk_conn_t *other = fk_connect(rc.srv.resp_port);
    rv_t *b = fk_cmd(other, "CLIENT ID");
    ck_assert(a && h && b && a->type == RV_INT && b->type == RV_INT && h->type == RV_ARRAY && h->n == 14);
    ck_assert_int_eq(h->elems[7].i, a->i);
    ck_assert_int_ne(a->i, b->i);
    rv_free(a), rv_free(b), rv_free(h);
    fk_close(other);
}
END_TEST

START_TEST(quit_replies_then_closes)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    fk_expect_status(rc.fk, "SET before-quit 1", "OK");
    fk_expect_status(rc.fk, "QUIT", "OK");
    ck_assert(fk_closed(rc.fk, 2000));
    fk_conn_t *c = fk_connect(rc.srv.resp_port);
    fk_expect_bulk(c, "GET before-quit", "1");
    /* Pipelined after QUIT: never run. */
    const char req[] = "*1\r\n$4\r\nQUIT\r\n*3\r\n$3\r\nSET\r\n$11\r\nafter-quit1\r\n$1\r\nx\r\n";
    ck_assert_int_eq(fk_send_raw(c, req, sizeof(req) - 1), 0);
    rv_t *r = fk_read(c);
    ck_assert(r && r->type == RV_STATUS && strcmp(r->s, "OK") == 0);
    rv_free(r);
    ck_assert(fk_closed(c, 2000));
    fk_close(c);
    c = fk_connect(rc.srv.resp_port);
    fk_expect_nil(c, "GET after-quit1");
    fk_close(c);
}
END_TEST

/* ---- server ------------------------------------------------------------------------ */

START_TEST(server_commands)
{
    const rc_step_t steps[] = {
        {"DBSIZE", ":0", 0},
        {"MSET a 1 b 2 c 3", "+OK", 0},
        {"DBSIZE", ":3", 0},
        {"DBSIZE x", ERR_ARITY("dbsize"), 0},
        {"TIME", "~[\"*\", \"*\"]", 0},
        {"TIME x", ERR_ARITY("time"), 0},
        {"COMMAND COUNT", "~:*", 0},
        {"COMMAND COUNT x", ERR_ARITY("command|count"), 0},
        {"COMMAND DOCS", "~[*", 0}, /* fickle: empty (redis-cli accepts it) */
        {"COMMAND NOPE", "-ERR unknown subcommand 'NOPE'. Try COMMAND HELP.", 0},
        {"CONFIG GET maxmemory-policy", "[\"maxmemory-policy\", \"noeviction\"]", 0},
        {"CONFIG GET appendonly", "[\"appendonly\", \"no\"]", 0},
        {"CONFIG GET save", "[\"save\", \"\"]", 0},
        {"CONFIG GET maxmemory", "~[\"maxmemory\", \"*\"]", 0},
        {"CONFIG GET maxclients", "[\"maxclients\", \"10000\"]", 0},
        {"CONFIG GET no-such-param*", "[]", 0},
        {"CONFIG GET databases", "[\"databases\", \"1\"]", RC_FICKLE}, /* one database */
        {"CONFIG GET protected-mode", "[\"protected-mode\", \"yes\"]", 0},
        {"CONFIG GET loglevel", "[\"loglevel\", \"notice\"]", 0},
        {"CONFIG GET", ERR_ARITY("config|get"), 0},
        {"CONFIG", ERR_ARITY("config"), 0},
        {"CONFIG NOPE", "-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.", 0},
        {"FLUSHDB", "+OK", 0},
        {"DBSIZE", ":0", 0},
        {"SET a 1", "+OK", 0},
        {"FLUSHALL SYNC", "+OK", 0},
        {"FLUSHDB ASYNC", "+OK", 0},
        {"FLUSHALL async", "+OK", 0},
        {"EXISTS a", ":0", 0},
        {"FLUSHDB bogus", "-ERR syntax error", 0},
        {"FLUSHALL SYNC ASYNC", "-ERR syntax error", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* TIME is now; COMMAND's entries are well formed and include every command
 * the documentation lists; CONFIG GET takes globs. */
START_TEST(server_reply_shapes)
{
    rv_t *t = fk_cmd(rc.fk, "TIME");
    ck_assert(t && t->type == RV_ARRAY && t->n == 2);
    long long secs = atoll(t->elems[0].s), usecs = atoll(t->elems[1].s);
    ck_assert(llabs(secs - (long long)time(NULL)) <= 2 && usecs >= 0 && usecs < 1000000);
    rv_free(t);

    rv_t *cnt = fk_cmd(rc.fk, "COMMAND COUNT"), *all = fk_cmd(rc.fk, "COMMAND");
    ck_assert(cnt && all && all->type == RV_ARRAY && (int64_t)all->n == cnt->i);
    static const char *const want[] = {"get", "set", "incrbyfloat", "getex", "scan", "range", "rcount", "expire",
                                       "pexpireat", "hello", "client", "config", "unlink", "renamenx", "quit"};
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        bool found = false;
        for (size_t i = 0; i < all->n; i++) {
            const rv_t *e = &all->elems[i];
            ck_assert(e->type == RV_ARRAY && e->n >= 6 && e->elems[0].type == RV_BULK && e->elems[1].type == RV_INT);
            found |= strcmp(e->elems[0].s, want[w]) == 0;
        }
        ck_assert_msg(found, "COMMAND lacks %s", want[w]);
    }
    rv_free(cnt), rv_free(all);

    rv_t *g = fk_cmd(rc.fk, "CONFIG GET *max*");
    ck_assert(g && g->type == RV_ARRAY && g->n % 2 == 0 && g->n >= 6);
    const char *names[] = {"maxmemory", "maxmemory-policy", "maxclients"};
    for (size_t i = 0; i < 3; i++) {
        bool found = false;
        for (size_t j = 0; j < g->n; j += 2)
            found |= strcmp(g->elems[j].s, names[i]) == 0;
        ck_assert_msg(found, "CONFIG GET *max* lacks %s", names[i]);
    }
    rv_free(g);
    rv_t *two = fk_cmd(rc.fk, "CONFIG GET maxclients timeout");
    ck_assert(two && two->type == RV_ARRAY && two->n == 4);
    rv_free(two);
}
END_TEST

static char *info(fk_conn_t *c, const char *line)
{
    rv_t *r = fk_cmd(c, line);
    ck_assert_msg(r && r->type == RV_BULK, "%s: no bulk reply", line);
    char *s = strdup(r->s);
    rv_free(r);
    return s;
}

START_TEST(info_sections)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    fk_expect_status(rc.fk, "MSET a 1 b 2 c 3", "OK");
    char *all = info(rc.fk, "INFO");
    const char *sections[] = {"# Server\r\n", "# Clients\r\n", "# Memory\r\n", "# Stats\r\n", "# Keyspace\r\n"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(strstr(all, sections[i]), "INFO lacks %s", sections[i]);
    ck_assert(strstr(all, "redis_version:") && strstr(all, "connected_clients:") && strstr(all, "used_memory:"));
    free(all);
    char *ks = info(rc.fk, "INFO keyspace");
    ck_assert_msg(strncmp(ks, "# Keyspace\r\ndb0:keys=3", 22) == 0, "%s", ks);
    ck_assert(!strstr(ks, "# Server"));
    free(ks);
    char *srv_only = info(rc.fk, "INFO SERVER");
    ck_assert(strstr(srv_only, "# Server\r\n") && !strstr(srv_only, "# Clients"));
    free(srv_only);
    char *two = info(rc.fk, "INFO server keyspace");
    ck_assert(strstr(two, "# Server\r\n") && strstr(two, "# Keyspace\r\n") && !strstr(two, "# Memory"));
    free(two);
    const char *everything[] = {"INFO all", "INFO everything", "INFO default"};
    for (size_t i = 0; i < 3; i++) {
        char *s = info(rc.fk, everything[i]);
        ck_assert_msg(strstr(s, "# Server") && strstr(s, "# Keyspace"), "%s", everything[i]);
        free(s);
    }
    const rc_step_t steps[] = {{"INFO no-such-section", "\"\"", 0}};
    RC_RUN(rc.fk, rc.rd, steps);
    /* Redis writes "db0:keys=N,expires=N,avg_ttl=N": client libraries
     * (redis-py's parse_info) need the commas to read it as a dict. */
    fk_expect_status(rc.fk, "SET k v", "OK");
    char *line = info(rc.fk, "INFO keyspace");
    ck_assert_msg(strstr(line, "db0:keys=1,expires="), "%s", line);
    free(line);
}
END_TEST

/* ---- strings ------------------------------------------------------------------------ */

static const char BAD_EXPIRE_SET[] = "-ERR invalid expire time in 'set' command";

START_TEST(set_options)
{
    const rc_step_t steps[] = {
        {"SET k v", "+OK", 0},
        {"GET k", "\"v\"", 0},
        {"SET k v2 XX", "+OK", 0},
        {"SET k v3 NX", "nil", 0},
        {"SET n v NX", "+OK", 0},
        {"SET m v XX", "nil", 0},
        {"GET m", "nil", 0},
        {"SET k v4 GET", "\"v2\"", 0},
        {"SET fresh v GET", "nil", 0},
        {"SET n v2 NX GET", "\"v\"", 0}, /* Redis 7: NX and GET together */
        {"SET new v NX GET", "nil", 0},
        {"GET new", "\"v\"", 0},
        {"SET m v XX GET", "nil", 0},
        {"SET k v EX 100", "+OK", 0},
        {"TTL k", ":100", 0},
        {"SET k v KEEPTTL", "+OK", 0},
        {"TTL k", ":100", 0},
        {"SET k v", "+OK", 0},
        {"TTL k", ":-1", 0},
        {"SET k v PX 100000", "+OK", 0},
        {"TTL k", ":100", 0},
        {"SET k v EXAT 4102444800", "+OK", 0}, /* 2100-01-01 */
        {"SET k v PXAT 4102444800000", "+OK", 0},
        {"SET k v ex 10 ex 20", "+OK", 0}, /* the same option twice: the last wins */
        {"TTL k", ":20", 0},
        {"SET k v nx nx", "nil", 0},
        {"SET k v get get", "\"v\"", 0},
        {"set K v Ex 5 gEt", "nil", 0},
        {"SET k v EXAT 1", "+OK", 0}, /* in the past: stored already expired */
        {"GET k", "nil", 0},
        {"SET k v PXAT 1", "+OK", 0},
        {"EXISTS k", ":0", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(set_option_errors)
{
    const rc_step_t steps[] = {
        {"SET k v EX 0", BAD_EXPIRE_SET, 0},
        {"SET k v EX -1", BAD_EXPIRE_SET, 0},
        {"SET k v PX 0", BAD_EXPIRE_SET, 0},
        {"SET k v EXAT 0", BAD_EXPIRE_SET, 0},
        {"SET k v PXAT -5", BAD_EXPIRE_SET, 0},
        {"SET k v EX 9999999999999999", BAD_EXPIRE_SET, 0},
        {"SET k v PX 9223372036854775807", BAD_EXPIRE_SET, 0},
        {"SET k v EX 9223372036854775", BAD_EXPIRE_SET, 0},
        {"SET k v EX abc", "-ERR value is not an integer or out of range", 0},
        {"SET k v PX 1.5", "-ERR value is not an integer or out of range", 0},
        {"SET k v EX 10 PX 10", "-ERR syntax error", 0},
        {"SET k v EX 10 EXAT 10", "-ERR syntax error", 0},
        {"SET k v NX XX", "-ERR syntax error", 0},
        {"SET k v XX NX", "-ERR syntax error", 0},
        {"SET k v KEEPTTL EX 10", "-ERR syntax error", 0},
        {"SET k v EX 10 KEEPTTL", "-ERR syntax error", 0},
        {"SET k v EX", "-ERR syntax error", 0},
        {"SET k v bogus", "-ERR syntax error", 0},
        {"SET k v PERSIST", "-ERR syntax error", 0},
        {"SET", ERR_ARITY("set"), 0},
        {"SET k", ERR_ARITY("set"), 0},
        {"EXISTS k", ":0", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(set_variants)
{
    const rc_step_t steps[] = {
        {"SETNX a 1", ":1", 0},
        {"SETNX a 2", ":0", 0},
        {"GET a", "\"1\"", 0},
        {"SETNX a", ERR_ARITY("setnx"), 0},
        {"SETEX a 100 v", "+OK", 0},
        {"TTL a", ":100", 0},
        {"SETEX a 0 v", "-ERR invalid expire time in 'setex' command", 0},
        {"SETEX a -5 v", "-ERR invalid expire time in 'setex' command", 0},
        {"SETEX a x v", "-ERR value is not an integer or out of range", 0},
        {"SETEX a 1", ERR_ARITY("setex"), 0},
        {"PSETEX a 100000 v", "+OK", 0},
        {"TTL a", ":100", 0},
        {"PSETEX a 0 v", "-ERR invalid expire time in 'psetex' command", 0},
        {"GETSET a w", "\"v\"", 0},
        {"TTL a", ":-1", 0}, /* GETSET drops the expiry */
        {"GETSET missing v", "nil", 0},
        {"GETSET a", ERR_ARITY("getset"), 0},
        {"GETDEL a", "\"w\"", 0},
        {"GETDEL a", "nil", 0},
        {"EXISTS a", ":0", 0},
        {"GETDEL", ERR_ARITY("getdel"), 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(getex_options)
{
    const rc_step_t steps[] = {
        {"SET a v EX 100", "+OK", 0},
        {"GETEX a", "\"v\"", 0},
        {"TTL a", ":100", 0},
        {"GETEX a PERSIST", "\"v\"", 0},
        {"TTL a", ":-1", 0},
        {"GETEX a EX 50", "\"v\"", 0},
        {"TTL a", ":50", 0},
        {"GETEX a PX 70000", "\"v\"", 0},
        {"TTL a", ":70", 0},
        {"GETEX a EXAT 4102444800", "\"v\"", 0},
        {"GETEX a PXAT 4102444800000", "\"v\"", 0},
        {"GETEX nokey EX 10", "nil", 0},
        {"GETEX a EX 0", "-ERR invalid expire time in 'getex' command", 0},
        {"GETEX a EX -1", "-ERR invalid expire time in 'getex' command", 0},
        {"GETEX a EX x", "-ERR value is not an integer or out of range", 0},
        {"GETEX a EX 50 PX 10", "-ERR syntax error", 0},
        {"GETEX a PERSIST EX 10", "-ERR syntax error", 0},
        {"GETEX a EX 10 PERSIST", "-ERR syntax error", 0},
        {"GETEX a KEEPTTL", "-ERR syntax error", 0},
        {"GETEX a bogus", "-ERR syntax error", 0},
        {"GETEX", ERR_ARITY("getex"), 0},
        {"GETEX a EXAT 1", "\"v\"", 0}, /* in the past: the key goes */
        {"EXISTS a", ":0", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(multi_key_strings)
{
    const rc_step_t steps[] = {
        {"MSET a 1 b 2", "+OK", 0},
        {"MGET a b zz a", "[\"1\", \"2\", nil, \"1\"]", 0},
        {"MSET a 3 a 4", "+OK", 0},
        {"GET a", "\"4\"", 0},
        {"MSETNX a 1 c 3", ":0", 0},
        {"EXISTS c", ":0", 0}, /* all or nothing */
        {"MSETNX c 3 d 4", ":1", 0},
        {"MSETNX e 1 e 2", ":1", 0},
        {"GET e", "\"2\"", 0},
        {"MSET", ERR_ARITY("mset"), 0},
        {"MSET a", ERR_ARITY("mset"), 0},
        {"MSET a 1 b", ERR_ARITY("mset"), 0},
        {"MSETNX a 1 b", ERR_ARITY("msetnx"), 0},
        {"MGET", ERR_ARITY("mget"), 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

START_TEST(append_strlen_ranges)
{
    const rc_step_t steps[] = {
        {"APPEND s hello", ":5", 0},
        {"APPEND s \\sworld", ":11", 0},
        {"APPEND s \\e", ":11", 0},
        {"GET s", "\"hello world\"", 0},
        {"STRLEN s", ":11", 0},
        {"STRLEN nope", ":0", 0},
        {"GETRANGE s 0 4", "\"hello\"", 0},
        {"GETRANGE s -5 -1", "\"world\"", 0},
        {"GETRANGE s 5 2", "\"\"", 0},
        {"GETRANGE s -100 100", "\"hello world\"", 0},
        {"GETRANGE s 0 -100", "\"h\"", 0},
        {"GETRANGE s -1 -5", "\"\"", 0},
        {"GETRANGE nope 0 10", "\"\"", 0},
        {"GETRANGE s x 1", "-ERR value is not an integer or out of range", 0},
        {"GETRANGE s 0", ERR_ARITY("getrange"), 0},
        {"SETRANGE r 5 hi", ":7", 0},
        {"GET r", "\"\\x00\\x00\\x00\\x00\\x00hi\"", 0}, /* zero padding */
        {"SETRANGE r 1 abc", ":7", 0},
        {"GET r", "\"\\x00abc\\x00hi\"", 0},
        {"SETRANGE r 9 z", ":10", 0},
        {"SETRANGE r -1 x", "-ERR offset is out of range", 0},
        {"SETRANGE r x x", "-ERR value is not an integer or out of range", 0},
        {"SETRANGE r 0 \\e", ":10", 0},
        {"SETRANGE r 536870911 \\e", ":10", 0}, /* nothing to write: no size check */
        {"SETRANGE none 0 \\e", ":0", 0},
        {"SETRANGE none 99999999999 \\e", ":0", 0},
        {"EXISTS none", ":0", 0},
        {"SETRANGE r 536870912 x", "~-ERR string exceeds maximum allowed size*", 0},
        {"SETRANGE r 0", ERR_ARITY("setrange"), 0},
        {"APPEND s", ERR_ARITY("append"), 0},
        {"STRLEN", ERR_ARITY("strlen"), 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* Every GETRANGE index pair in a window round a 10-byte value, and
 * SETRANGE at offsets across and past its end, as Redis answers them. */
START_TEST(getrange_setrange_grid)
{
    if (!rc.rd)
        return;
    char lines[2 * 17 * 17 + 64][64];
    const char *ptrs[sizeof(lines) / sizeof(lines[0])];
    size_t n = 0;
    snprintf(lines[n++], 64, "SET g 0123456789");
    for (int s = -13; s <= 13; s += 2)
        for (int e = -13; e <= 13; e += 2)
            snprintf(lines[n++], 64, "GETRANGE g %d %d", s, e);
    for (int off = 0; off <= 14; off++) {
        snprintf(lines[n++], 64, "SETRANGE g %d x%d", off, off);
        snprintf(lines[n++], 64, "GET g");
    }
    for (size_t i = 0; i < n; i++)
        ptrs[i] = lines[i];
    rc_diff(rc.fk, rc.rd, ptrs, n, false);
}
END_TEST

/* ---- counters ------------------------------------------------------------------------ */

START_TEST(integer_counters)
{
    const rc_step_t steps[] = {
        {"INCR q", ":1", 0},
        {"INCR q", ":2", 0},
        {"INCRBY q 10", ":12", 0},
        {"DECR q", ":11", 0},
        {"DECRBY q 5", ":6", 0},
        {"INCRBY q -10", ":-4", 0},
        {"DECRBY q -4", ":0", 0},
        {"INCRBY q x", "-ERR value is not an integer or out of range", 0},
        {"INCRBY q 1.5", "-ERR value is not an integer or out of range", 0},
        {"INCRBY q 9223372036854775808", "-ERR value is not an integer or out of range", 0},
        {"DECRBY q -9223372036854775808", "-ERR decrement would overflow", 0},
        {"SET big 9223372036854775807", "+OK", 0},
        {"INCR big", "-ERR increment or decrement would overflow", 0},
        {"INCRBY big -1", ":9223372036854775806", 0},
        {"SET small -9223372036854775808", "+OK", 0},
        {"DECR small", "-ERR increment or decrement would overflow", 0},
        {"INCRBY small -1", "-ERR increment or decrement would overflow", 0},
        {"SET t 5 EX 100", "+OK", 0},
        {"INCR t", ":6", 0},
        {"TTL t", ":100", 0}, /* INCR keeps the expiry */
        {"INCR", ERR_ARITY("incr"), 0},
        {"INCR a b", ERR_ARITY("incr"), 0},
        {"INCRBY q", ERR_ARITY("incrby"), 0},
        {"DECR", ERR_ARITY("decr"), 0},
        {"DECRBY q", ERR_ARITY("decrby"), 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
}
END_TEST

/* Stored values INCR accepts or refuses (strict integers, as Redis). */
START_TEST(integer_syntax)
{
    static const char *const vals[] = {"abc", "\\s1", "1\\s", "01", "+1", "-0", "0", "-1", "\\e", "1e3", "0x10",
                                       "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                                       "1\\x00", "\\x001", "12345678901234567890123"};
    char set[96], incr[] = "INCR iv";
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        snprintf(set, sizeof(set), "SET iv %s", vals[i]);
        const char *lines[] = {set, incr, "GET iv"};
        rc_diff(rc.fk, rc.rd, lines, 3, false);
    }
    fk_expect_status(rc.fk, "SET iv 01", "OK");
    fk_expect_error(rc.fk, "INCR iv", "ERR value is not an integer or out of range");
}
END_TEST

START_TEST(float_counters)
{
    const rc_step_t steps[] = {
        {"INCRBYFLOAT f 10.5", "\"10.5\"", 0},
        {"INCRBYFLOAT f 0.1", "\"10.6\"", 0},
        {"GET f", "\"10.6\"", 0},
        {"INCRBYFLOAT f -5", "\"5.6\"", 0},
        {"INCRBYFLOAT f 1e3", LD_X87("\"1005.59999999999999998\"", "\"1005.6\""), 0},
        {"INCRBYFLOAT g 5.0e3", "\"5000\"", 0},
        {"INCRBYFLOAT g 0.0000000001", LD_X87("\"5000.00000000010000001\"", "\"5000.0000000001\""), 0},
        {"INCRBYFLOAT h -0.5", "\"-0.5\"", 0},
        {"INCRBYFLOAT h 0.5", "\"0\"", 0},
        {"INCRBYFLOAT i 1.", "\"1\"", 0},
        {"INCRBYFLOAT j .5", "\"0.5\"", 0},
        {"INCRBYFLOAT k 3", "\"3\"", 0},
        {"INCRBYFLOAT f x", "-ERR value is not a valid float", 0},
        {"INCRBYFLOAT f \\s1", "-ERR value is not a valid float", 0},
        {"INCRBYFLOAT f nan", "-ERR value is not a valid float", 0},
        {"INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity", 0},
        {"SET w abc", "+OK", 0},
        {"INCRBYFLOAT w 1", "-ERR value is not a valid float", 0},
        {"SET e 3.0e3", "+OK", 0},
        {"INCRBYFLOAT e 1", "\"3001\"", 0},
        {"SET t 1 EX 100", "+OK", 0},
        {"INCRBYFLOAT t 1", "\"2\"", 0},
        {"TTL t", ":100", 0},
        {"INCRBYFLOAT f", ERR_ARITY("incrbyfloat"), 0},
    };
    RC_RUN(rc.fk, rc_float_ref(), steps);
}
END_TEST

/* Formatting of sums, large and small, as Redis's long double output. */
START_TEST(float_formatting)
{
    static const char *const lines[] = {
        "INCRBYFLOAT x 1.23456789012345678", "INCRBYFLOAT x 1e17",    "INCRBYFLOAT x -1e17", "INCRBYFLOAT y 1e-5",
        "INCRBYFLOAT y 1e-20",               "INCRBYFLOAT y -1e-5",   "INCRBYFLOAT z 0.1",   "INCRBYFLOAT z 0.2",
        "INCRBYFLOAT z -0.3",                "INCRBYFLOAT v 123e300", "GET v",               "SET u 1e400",
        "INCRBYFLOAT u 1",                   "GET u",                 "INCRBYFLOAT s 2.5e-3", "INCRBYFLOAT s 1e300",
        "INCRBYFLOAT u 1", /* a 400-digit value it wrote itself: still a valid float */
    };
    rc_diff(rc.fk, rc_float_ref(), lines, sizeof(lines) / sizeof(lines[0]), false);
    /* Without Redis at hand: the result longer than 64 digits is whole. */
    fk_expect_status(rc.fk, "SET big 1e100", "OK");
    fk_expect_bulk(rc.fk, "INCRBYFLOAT big 0",
                   LD_X87("9999999999999999999669353532207342619498699019828496079271391541752018669482644324418977840117055488",
                          "9999999999999999999999999999999999626961783310117863851628661832541204480031088072360612523250024448"));
}
END_TEST

/* ---- errors, binary data, pipelining ---------------------------------------------------- */

START_TEST(unknown_commands_and_arity)
{
    const rc_step_t steps[] = {
        {"FOO a", "-ERR unknown command 'FOO', with args beginning with: 'a' ", 0},
        {"foo", "-ERR unknown command 'foo', with args beginning with: ", 0},
        {"foo a b c", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' 'c' ", 0},
        {"foo \\e", "-ERR unknown command 'foo', with args beginning with: '' ", 0},
        {"GET\\s nokey", "-ERR unknown command 'GET ', with args beginning with: 'nokey' ", 0},
        {"foo a\\r\\nb", "-ERR unknown command 'foo', with args beginning with: 'a  b' ", 0},
        {"a\\x00b c", "-ERR unknown command 'a', with args beginning with: 'c' ", 0},
        {"HSET h f v", "-ERR unknown command 'HSET', with args beginning with: 'h' 'f' 'v' ", RC_FICKLE},
        {"gEt nokey", "nil", 0},
        {"GET", ERR_ARITY("get"), 0},
        {"GET a b", ERR_ARITY("get"), 0},
        {"DEL", ERR_ARITY("del"), 0},
        {"UNLINK", ERR_ARITY("unlink"), 0},
        {"EXISTS", ERR_ARITY("exists"), 0},
        {"TYPE", ERR_ARITY("type"), 0},
        {"KEYS", ERR_ARITY("keys"), 0},
        {"KEYS a b", ERR_ARITY("keys"), 0},
        {"SCAN", ERR_ARITY("scan"), 0},
        {"RANDOMKEY x", ERR_ARITY("randomkey"), 0},
        {"RENAME a", ERR_ARITY("rename"), 0},
        {"RENAMENX a", ERR_ARITY("renamenx"), 0},
        {"EXPIRE a", ERR_ARITY("expire"), 0},
        {"PEXPIRE a", ERR_ARITY("pexpire"), 0},
        {"EXPIREAT a", ERR_ARITY("expireat"), 0},
        {"PEXPIREAT a", ERR_ARITY("pexpireat"), 0},
        {"TTL", ERR_ARITY("ttl"), 0},
        {"PTTL a b", ERR_ARITY("pttl"), 0},
        {"PERSIST", ERR_ARITY("persist"), 0},
        {"PING", "+PONG", 0}, /* the connection is still usable */
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* Long arguments are cut as Redis cuts them (128 bytes of the list). */
    char line[600];
    snprintf(line, sizeof(line), "nosuch %0200d b c", 7);
    const char *lines[] = {line, "nosuch a b c d e f g h i j k l m n o p q r s t u v w x y z aa bb cc dd ee ff gg hh "
                                 "ii jj kk ll mm nn oo pp qq rr ss tt uu vv ww xx yy zz"};
    rc_diff(rc.fk, rc.rd, lines, 2, false);
}
END_TEST

START_TEST(binary_safe_keys_and_values)
{
    const rc_step_t steps[] = {
        {"SET k\\x00\\r\\n v\\x00\\r\\nx", "+OK", 0},
        {"GET k\\x00\\r\\n", "\"v\\x00\\x0d\\x0ax\"", 0},
        {"GET k", "nil", 0},
        {"GET k\\x00", "nil", 0},
        {"STRLEN k\\x00\\r\\n", ":5", 0},
        {"EXISTS k\\x00\\r\\n", ":1", 0},
        {"APPEND k\\x00\\r\\n \\x00\\xff", ":7", 0},
        {"GETRANGE k\\x00\\r\\n 4 6", "\"x\\x00\\xff\"", 0},
        {"KEYS k*", "[\"k\\x00\\x0d\\x0a\"]", 0},
        {"SET \\e empty-key", "+OK", 0},
        {"GET \\e", "\"empty-key\"", 0},
        {"SET e \\e", "+OK", 0},
        {"GET e", "\"\"", 0},
        {"STRLEN e", ":0", 0},
        {"MSET \\xff\\xfe 1 \\x01 2", "+OK", 0},
        {"MGET \\xff\\xfe \\x01 \\x00", "[\"1\", \"2\", nil]", 0},
        {"ECHO \\x00\\x01\\x02", "\"\\x00\\x01\\x02\"", 0},
        {"DEL k\\x00\\r\\n \\e", ":2", 0},
    };
    RC_RUN(rc.fk, rc.rd, steps);
    /* A value larger than any read buffer, with every byte value. */
    size_t len = 300000;
    char *big = malloc(len);
    for (size_t i = 0; i < len; i++)
        big[i] = (char)(i * 7 + i / 256);
    const char *set[] = {"SET", "big\r\n", big};
    size_t setl[] = {3, 5, len};
    ck_assert_int_eq(fk_send(rc.fk, 3, set, setl), 0);
    rv_t *r = fk_read(rc.fk);
    ck_assert(r && r->type == RV_STATUS);
    rv_free(r);
    const char *get[] = {"GET", "big\r\n"};
    size_t getl[] = {3, 5};
    ck_assert_int_eq(fk_send(rc.fk, 2, get, getl), 0);
    r = fk_read(rc.fk);
    ck_assert(r && r->type == RV_BULK && r->len == len && memcmp(r->s, big, len) == 0);
    rv_free(r);
    free(big);
}
END_TEST

/* Many requests in one write, inline and multibulk mixed: one reply each,
 * in order. */
START_TEST(pipelined_and_inline_requests)
{
    fk_expect_status(rc.fk, "FLUSHALL", "OK");
    char *buf = malloc(64 * 1024);
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(buf + n, 200, "*3\r\n$3\r\nSET\r\n$%d\r\np%d\r\n$%d\r\nv%d\r\nINCR pc\r\n",
                              i < 10 ? 2 : i < 100 ? 3 : 4, i, i < 10 ? 2 : i < 100 ? 3 : 4, i);
    n += (size_t)snprintf(buf + n, 200, "GET p299\r\nMGET p0 p1 nope\nECHO \"a b\"\r\n");
    ck_assert_int_eq(fk_send_raw(rc.fk, buf, n), 0);
    for (int i = 0; i < 300; i++) {
        rv_t *ok = fk_read(rc.fk), *cnt = fk_read(rc.fk);
        ck_assert(ok && ok->type == RV_STATUS && cnt && cnt->type == RV_INT);
        ck_assert_int_eq(cnt->i, i + 1);
        rv_free(ok), rv_free(cnt);
    }
    rv_t *g = fk_read(rc.fk), *m = fk_read(rc.fk), *e = fk_read(rc.fk);
    ck_assert(g && g->type == RV_BULK && strcmp(g->s, "v299") == 0);
    ck_assert(m && m->type == RV_ARRAY && m->n == 3 && m->elems[2].type == RV_NIL);
    ck_assert(e && e->type == RV_BULK && strcmp(e->s, "a b") == 0);
    rv_free(g), rv_free(m), rv_free(e);
    free(buf);
}
END_TEST

/* ---- real clients ---------------------------------------------------------------------- */

/* Runs argv with its output (stdout and stderr) in out (may be NULL);
 * returns the exit status. */
static int run(const char *const *argv, char *out, size_t outlen)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    char sink[4096];
    ssize_t r;
    while ((r = read(fds[0], out && got + 1 < outlen ? out + got : sink,
                     out && got + 1 < outlen ? outlen - got - 1 : sizeof(sink))) > 0)
        if (out && got + 1 < outlen)
            got += (size_t)r;
    if (out)
        out[got] = '\0';
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The first interpreter that has redis-py: python3 on PATH, else Debian's. */
static const char *python_with_redis(void)
{
    static const char *const candidates[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < 2; i++) {
        const char *argv[] = {candidates[i], "-c", "import redis", NULL};
        if (run(argv, NULL, 0) == 0)
            return candidates[i];
    }
    return NULL;
}

START_TEST(redis_py_client)
{
    const char *py = python_with_redis();
    if (py == NULL) {
        fprintf(stderr, "note: python3 with the redis module not found: redis-py test skipped\n");
        return;
    }
    char port[8], out[16384];
    snprintf(port, sizeof(port), "%u", rc.srv.resp_port);
    const char *argv[] = {py, ABS_TOP_SRCDIR "/tests/redis_py_compat.py", port, NULL};
    int status = run(argv, out, sizeof(out));
    ck_assert_msg(status == 0, "redis_py_compat.py exited %d:\n%s", status, out);
}
END_TEST

START_TEST(redis_benchmark_runs)
{
    if (rc_which("redis-benchmark") == NULL) {
        fprintf(stderr, "note: redis-benchmark not found: test skipped\n");
        return;
    }
    char port[8], out[65536];
    snprintf(port, sizeof(port), "%u", rc.srv.resp_port);
    const char *argv[] = {"redis-benchmark", "-p", port, "-n", "2000", "-q", "-t", "set,get,incr,mset", "-P", "16", NULL};
    int status = run(argv, out, sizeof(out));
    ck_assert_msg(status == 0, "redis-benchmark exited %d:\n%s", status, out);
    /* -q prints "NAME: N requests per second" per test (after \r progress). */
    const char *tests[] = {"\nSET: ", "\nGET: ", "\nINCR: ", "\nMSET (10 keys): "};
    for (char *p = out; *p; p++)
        if (*p == '\r')
            *p = '\n';
    for (size_t i = 0; i < 4; i++) {
        double rps = 0;
        for (char *line = strstr(out, tests[i]); line && rps <= 0; line = strstr(line + 1, tests[i])) {
            char *eol = strchr(line + 1, '\n');
            char *per = strstr(line, " requests per second");
            if (per && (!eol || per < eol))
                rps = atof(line + strlen(tests[i]));
        }
        ck_assert_msg(rps > 0, "no result line for %s in:\n%s", tests[i] + 1, out);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("resp_commands");
    TCase *tc = tcase_create("against_redis");
    tcase_add_unchecked_fixture(tc, rc_servers_up, rc_servers_down);
    tcase_add_checked_fixture(tc, rc_connect_both, rc_close_both);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, connection_commands);
    tcase_add_test(tc, client_and_hello);
    tcase_add_test(tc, quit_replies_then_closes);
    tcase_add_test(tc, server_commands);
    tcase_add_test(tc, server_reply_shapes);
    tcase_add_test(tc, info_sections);
    tcase_add_test(tc, set_options);
    tcase_add_test(tc, set_option_errors);
    tcase_add_test(tc, set_variants);
    tcase_add_test(tc, getex_options);
    tcase_add_test(tc, multi_key_strings);
    tcase_add_test(tc, append_strlen_ranges);
    tcase_add_test(tc, getrange_setrange_grid);
    tcase_add_test(tc, integer_counters);
    tcase_add_test(tc, integer_syntax);
    tcase_add_test(tc, float_counters);
    tcase_add_test(tc, float_formatting);
    tcase_add_test(tc, unknown_commands_and_arity);
    tcase_add_test(tc, binary_safe_keys_and_values);
    tcase_add_test(tc, pipelined_and_inline_requests);
    tcase_add_test(tc, redis_py_client);
    tcase_add_test(tc, redis_benchmark_runs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
