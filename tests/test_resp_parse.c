/*
 * test_resp_parse.c — the RESP2 parser and reply encoders: framing (multibulk
 * and inline), Redis's quoting, limits and error wording, fatal flags,
 * command lookup and option decoding, incremental parsing at every split,
 * and round trips through the encoders.
 */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/resp_parse.h"
#include "frontend/resp_reply.h"

/* ---- a growable string for transcripts -------------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
} sb_t;

static void sb_add(sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sb_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 64) * 2;
        b->s = realloc(b->s, b->cap);
        ck_assert_ptr_nonnull(b->s);
    }
}

/* Printable form of a byte string. */
static void sb_bytes(sb_t *b, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 32 && c < 127 && c != '\\' && c != '|' && c != ']')
            sb_add(b, "%c", c);
        else
            sb_add(b, "\\x%02x", c);
    }
}

/* One parse result as text: "set f=0x80 e=10000 [k|v]", or the error
 * message, after "ERR! " if it is fatal. */
static void describe(sb_t *b, const cmd_parse_t *r, const cmd_t *c)
{
    if (r->status == CMD_PARSE_ERROR) {
        sb_add(b, "%s%s\n", r->fatal ? "ERR! " : "", r->msg);
        return;
    }
    sb_add(b, "%s", cmd_name(c->id));
    if (c->flags)
        sb_add(b, " f=0x%x", c->flags);
    if (c->flags & (CMD_F_EXP_REL | CMD_F_EXP_ABS))
        sb_add(b, " e=%lld", (long long)c->expiry_ms);
    if (c->delta)
        sb_add(b, " d=%lld", (long long)c->delta);
    if (c->limit != CMD_NO_LIMIT)
        sb_add(b, " l=%llu", (unsigned long long)c->limit);
    sb_add(b, " [");
    for (size_t i = 0; i < c->argc; i++) {
        if (i)
            sb_add(b, "|");
        sb_bytes(b, c->argv[i].ptr, c->argv[i].len);
    }
    sb_add(b, "]\n");
}

/* ---- a simulated connection: bytes arrive, the parser runs ------------------ */

typedef struct {
    resp_parser_t p;
    char *buf;
    size_t len, cap, want;
    bool dead, move; /* move: hand the parser a fresh copy each call */
    size_t calls;
    sb_t out;
} conn_t;

static void conn_init(conn_t *c, const resp_limits_t *lim, bool move)
{
    memset(c, 0, sizeof(*c));
    resp_parser_init(&c->p, lim);
    c->move = move;
}

static void conn_free(conn_t *c)
{
    resp_parser_free(&c->p);
    free(c->buf);
    free(c->out.s);
}

/* Appends bytes, then parses while the buffer holds at least `want`. */
static void conn_feed(conn_t *c, const char *data, size_t n)
{
    if (c->len + n > c->cap) {
        c->cap = (c->len + n) * 2 + 16;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, data, n);
    c->len += n;
    while (!c->dead && c->len >= c->want) {
        char *span = c->buf;
        if (c->move) {
            span = malloc(c->len + 1);
            memcpy(span, c->buf, c->len);
        }
        cmd_t cmd;
        cmd_parse_t r = resp_parse(&c->p, span, c->len, &cmd);
        c->calls++;
        ck_assert_uint_le(r.consumed, c->len);
        if (r.status != CMD_PARSE_NEED_MORE)
            describe(&c->out, &r, &cmd);
        if (c->move)
            free(span);
        memmove(c->buf, c->buf + r.consumed, c->len - r.consumed);
        c->len -= r.consumed;
        if (r.status == CMD_PARSE_NEED_MORE) {
            ck_assert_uint_gt(r.want, c->len);
            c->want = r.want;
            break;
        }
        c->want = 0;
        c->dead = r.status == CMD_PARSE_ERROR && r.fatal;
    }
}

/* Transcript of parsing `in` delivered in pieces of `chunk` bytes (0: all
 * at once). Caller frees. */
static char *transcript(const char *in, size_t n, size_t chunk, const resp_limits_t *lim, bool unauth)
{
    conn_t c;
    conn_init(&c, lim, chunk != 0);
    c.p.unauth = unauth;
    if (!chunk)
        chunk = n ? n : 1;
    for (size_t at = 0; at < n; at += chunk)
        conn_feed(&c, in + at, n - at < chunk ? n - at : chunk);
    if (n == 0)
        conn_feed(&c, "", 0);
    char *s = c.out.s ? strdup(c.out.s) : strdup("");
    conn_free(&c);
    return s;
}

/* Checks the transcript of `in`, whole, byte by byte, and split in two at
 * every boundary. */
static void expect_lim(const char *in, size_t n, const char *want, const resp_limits_t *lim, bool unauth)
{
    char *whole = transcript(in, n, 0, lim, unauth);
    ck_assert_str_eq(whole, want);
    char *bytes = transcript(in, n, 1, lim, unauth);
    ck_assert_str_eq(bytes, want);
    free(bytes);
    for (size_t cut = 1; cut < n && n < 4096; cut++) {
        conn_t c;
        conn_init(&c, lim, true);
        c.p.unauth = unauth;
        conn_feed(&c, in, cut);
        conn_feed(&c, in + cut, n - cut);
        ck_assert_msg(strcmp(c.out.s ? c.out.s : "", want) == 0, "split at %zu: got '%s' want '%s'", cut,
                      c.out.s ? c.out.s : "", want);
        conn_free(&c);
    }
    free(whole);
}

#define EXPECT(in, want) expect_lim(in, sizeof(in) - 1, want, NULL, false)
#define PE "ERR! ERR Protocol error: "

/* ---- framing ----------------------------------------------------------------- */

START_TEST(multibulk_basic)
{
    EXPECT("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", "set [k|hello]\n");
    EXPECT("*2\r\n$3\r\nget\r\n$0\r\n\r\n", "get []\n");
    EXPECT("*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n", "echo [a\\x0d\\x0ab]\n");
    EXPECT("*2\r\n$4\r\nECHO\r\n$3\r\n\x00\xff\x01\r\n", "echo [\\x00\\xff\\x01]\n");
}
END_TEST

START_TEST(pipelined)
{
    EXPECT("*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nget b\nECHO \"x y\"\r\n",
           "ping []\nping []\nget [a]\nget [b]\necho [x y]\n");
}
END_TEST

START_TEST(empty_requests_are_skipped)
{
    EXPECT("*0\r\n*-1\r\n\r\n\n   \r\nPING\r\n", "ping []\n");
    /* Only no-op input: consumed, nothing returned. */
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    cmd_t cmd;
    cmd_parse_t r = resp_parse(&p, "*0\r\n\r\n*-1\r\n", 11, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.consumed, 11);
    ck_assert_uint_eq(r.want, 1);
    resp_parser_free(&p);
}
END_TEST

START_TEST(inline_quoting)
{
    EXPECT("set a \"hello world\"\r\n", "set [a|hello world]\n");
    EXPECT("echo \"\\x41\\x4a\\x4B\"\r\n", "echo [AJK]\n");
    EXPECT("echo \"a\\nb\\r\\t\\b\\a\\q\\\\\\\"\"\r\n", "echo [a\\x0ab\\x0d\\x09\\x08\\x07q\\x5c\"]\n");
    EXPECT("echo \"\\xZZ\"\r\n", "echo [xZZ]\n");
    EXPECT("echo 'it\\'s'\r\n", "echo [it's]\n");
    EXPECT("echo 'a\\nb'\r\n", "echo [a\\x5cnb]\n");
    EXPECT("echo foo\"bar baz\"\r\n", "echo [foobar baz]\n");
    EXPECT("echo \"\"\r\n", "echo []\n");
    EXPECT("echo ''\r\n", "echo []\n");
    EXPECT("  set\t k  \t v  \r\n", "set [k|v]\n");
    EXPECT("echo a\vb\r\n", "echo [a\\x0bb]\n");
    EXPECT("echo \"a\"\tb\r\n", "ERR wrong number of arguments for 'echo' command\n");
    EXPECT("get k\x00garbage \"\r\n", "get [k]\n"); /* a NUL ends the line, as in sdssplitargs */
    EXPECT("PING\n", "ping []\n");
    EXPECT("echo a\rb\r\n", "ERR wrong number of arguments for 'echo' command\n");
}
END_TEST

START_TEST(inline_unbalanced)
{
    EXPECT("echo \"foo\"bar\r\n", PE "unbalanced quotes in request\n");
    EXPECT("echo \"foo\r\n", PE "unbalanced quotes in request\n");
    EXPECT("echo 'foo\r\n", PE "unbalanced quotes in request\n");
    EXPECT("echo 'foo'x\r\n", PE "unbalanced quotes in request\n");
    EXPECT("echo \"foo\\\"\r\n", PE "unbalanced quotes in request\n");
    /* Nothing after a fatal error is parsed. */
    EXPECT("echo \"x\r\nPING\r\n", PE "unbalanced quotes in request\n");
}
END_TEST

START_TEST(framing_errors)
{
    EXPECT("*abc\r\n", PE "invalid multibulk length\n");
    EXPECT("*+1\r\n", PE "invalid multibulk length\n");
    EXPECT("*01\r\n", PE "invalid multibulk length\n");
    EXPECT("*\r\n", PE "invalid multibulk length\n");
    EXPECT("*3\rX", PE "invalid multibulk length\n");
    EXPECT("*1048577\r\n", PE "invalid multibulk length\n");
    EXPECT("*1\r\nx\r\n", PE "expected '$', got 'x'\n");
    EXPECT("*1\r\n\r\n", PE "expected '$', got '\r'\n");
    EXPECT("*2\r\n$1\r\na\r\n:1\r\n", PE "expected '$', got ':'\n");
    EXPECT("*1\r\n$-1\r\n", PE "invalid bulk length\n");
    EXPECT("*1\r\n$abc\r\n", PE "invalid bulk length\n");
    EXPECT("*1\r\n$\r\n", PE "invalid bulk length\n");
    EXPECT("*1\r\n$1\rx", PE "invalid bulk length\n");
    EXPECT("*1\r\n$536870913\r\n", PE "invalid bulk length\n");
    EXPECT("*1\r\n$3\r\nfooXY", PE "bulk data not terminated by CRLF\n");
    EXPECT("*1\r\n$3\r\nfoo\rX", PE "bulk data not terminated by CRLF\n");
    /* Garbage after a good request: the good one runs first. */
    EXPECT("PING\r\n*x\r\n", "ping []\n" PE "invalid multibulk length\n");
}
END_TEST

START_TEST(fatal_error_sticks)
{
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    cmd_t cmd;
    cmd_parse_t r = resp_parse(&p, "*x\r\nPING\r\n", 10, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_ERROR);
    ck_assert(r.fatal);
    r = resp_parse(&p, "PING\r\n", 6, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_ERROR);
    ck_assert(r.fatal);
    ck_assert_str_eq(r.msg, "ERR Protocol error: invalid multibulk length");
    resp_parser_free(&p);
}
END_TEST

/* A buffer of n copies of c, NUL-terminated. */
static char *fill(size_t n, char c)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void expect_str(const char *in, const char *want)
{
    char *got = transcript(in, strlen(in), 0, NULL, false);
    ck_assert_str_eq(got, want);
    free(got);
    got = transcript(in, strlen(in), 4096, NULL, false);
    ck_assert_str_eq(got, want);
    free(got);
}

START_TEST(inline_limit)
{
    size_t max = RESP_DEFAULT_MAX_INLINE;
    char *s = fill(max + 2, 'a');
    /* Exactly the limit, no newline yet: waits. */
    s[max] = '\0';
    expect_str(s, "");
    /* The limit plus a CR: still waits (the CR may be the CRLF's). */
    s[max] = '\r';
    s[max + 1] = '\0';
    expect_str(s, "");
    /* One byte over: refused before the newline comes. */
    s[max] = 'a';
    expect_str(s, PE "too big inline request\n");
    /* A whole line at the limit is fine; one over is refused. */
    s[max] = '\n';
    char *want = NULL;
    ck_assert_int_gt(asprintf(&want, "ERR unknown command '%.128s', with args beginning with: \n", s), 0);
    expect_str(s, want);
    free(want);
    s[max] = 'a';
    s[max + 1] = '\n';
    expect_str(s, PE "too big inline request\n");
    free(s);
}
END_TEST

START_TEST(header_line_limits)
{
    size_t max = RESP_DEFAULT_MAX_INLINE;
    char *digits = fill(max + 1, '1');
    char *in = NULL;
    ck_assert_int_gt(asprintf(&in, "*%s", digits), 0);
    expect_str(in, PE "too big mbulk count string\n");
    free(in);
    ck_assert_int_gt(asprintf(&in, "*1\r\n$%s", digits), 0);
    expect_str(in, PE "too big bulk count string\n");
    free(in);
    digits[max] = '\0'; /* at the limit: waits for the CR */
    ck_assert_int_gt(asprintf(&in, "*1\r\n$%s", digits), 0);
    expect_str(in, "");
    free(in);
    free(digits);
}
END_TEST

START_TEST(configurable_limits)
{
    resp_limits_t lim = {.max_args = 3, .max_bulk = 4, .max_inline = 8};
    const char *ok = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nabcd\r\n";
    expect_lim(ok, strlen(ok), "set [k|abcd]\n", &lim, false);
    const char *args = "*4\r\n";
    expect_lim(args, strlen(args), PE "invalid multibulk length\n", &lim, false);
    const char *bulk = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\n";
    expect_lim(bulk, strlen(bulk), PE "invalid bulk length\n", &lim, false);
    const char *line = "get abcd\r\nget abcde\r\n";
    expect_lim(line, strlen(line), "get [abcd]\n" PE "too big inline request\n", &lim, false);
}
END_TEST

START_TEST(unauthenticated_limits)
{
    const char *a = "*11\r\n";
    expect_lim(a, strlen(a), PE "unauthenticated multibulk length\n", NULL, true);
    const char *b = "*1\r\n$16385\r\n";
    expect_lim(b, strlen(b), PE "unauthenticated bulk length\n", NULL, true);
    const char *c = "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n";
    expect_lim(c, strlen(c), "auth [pw]\n", NULL, true);
}
END_TEST

START_TEST(huge_claims_do_not_allocate)
{
    resp_limits_t lim = {.max_args = INT32_MAX, .max_bulk = INT64_MAX, .max_inline = 65536};
    resp_parser_t p;
    resp_parser_init(&p, &lim);
    cmd_t cmd;
    const char *in = "*2147483647\r\n$1\r\na\r\n$9223372036854775807\r\nxyz";
    cmd_parse_t r = resp_parse(&p, in, strlen(in), &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.consumed, 0);
    /* More than will ever arrive: the caller's request-size limit decides. */
    ck_assert_uint_eq(r.want, strlen(in) - 3 + (size_t)INT64_MAX + 2);
    ck_assert_uint_le(p.spans_cap, 16);
    ck_assert_uint_eq(p.line_cap, 0);
    resp_parser_free(&p);

    resp_parser_init(&p, NULL);
    in = "*1\r\n$536870912\r\nab";
    r = resp_parse(&p, in, strlen(in), &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.want, 16 + 536870912 + 2);
    resp_parser_free(&p);
}
END_TEST

START_TEST(want_is_exact_for_bulks)
{
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    cmd_t cmd;
    const char *in = "*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n";
    size_t n = strlen(in);
    cmd_parse_t r = resp_parse(&p, in, 20, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.want, n);
    r = resp_parse(&p, in, n - 1, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_NEED_MORE);
    ck_assert_uint_eq(r.want, n);
    r = resp_parse(&p, in, n, &cmd);
    ck_assert_int_eq(r.status, CMD_PARSE_OK);
    ck_assert_uint_eq(r.consumed, n);
    resp_parser_free(&p);
}
END_TEST

/* 100,000 one-byte arguments fed 7 bytes at a time, and a 60 KiB inline
 * line fed byte by byte: a parser that rescans from the start on every
 * call would take minutes; this must finish well within the test timeout. */
START_TEST(no_quadratic_rescans)
{
    size_t nargs = 100000;
    sb_t b = {0};
    sb_add(&b, "*%zu\r\n$4\r\nMGET\r\n", nargs + 1);
    for (size_t i = 0; i < nargs; i++)
        sb_add(&b, "$1\r\n%c\r\n", (char)('a' + i % 26));
    conn_t c;
    conn_init(&c, NULL, false);
    for (size_t at = 0; at < b.len; at += 7)
        conn_feed(&c, b.s + at, b.len - at < 7 ? b.len - at : 7);
    ck_assert_uint_eq(c.len, 0);
    ck_assert_ptr_nonnull(strstr(c.out.s, "mget [a|b|c|"));
    conn_free(&c);
    free(b.s);

    char *line = fill(60 * 1024 + 2, 'x');
    memcpy(line, "echo ", 5);
    line[60 * 1024] = '\r';
    line[60 * 1024 + 1] = '\n';
    conn_init(&c, NULL, false);
    for (size_t i = 0; i < 60 * 1024 + 2; i++)
        conn_feed(&c, line + i, 1);
    ck_assert_uint_eq(c.len, 0);
    ck_assert_uint_eq(c.calls, 60 * 1024 + 3); /* one per byte, one after the request */
    conn_free(&c);
    free(line);
}
END_TEST

/* The caller loop documented in resp_parse.h, over a real evbuffer: 100,000
 * small arguments, a 4 MiB bulk and a pipelined PING arrive in 4 KiB reads. */
START_TEST(evbuffer_caller_pattern)
{
    size_t nargs = 100000, big = 4u << 20;
    sb_t b = {0};
    sb_add(&b, "*%zu\r\n$3\r\nDEL\r\n", nargs + 1);
    for (size_t i = 0; i < nargs; i++)
        sb_add(&b, "$2\r\nk%c\r\n", (char)('a' + i % 26));
    sb_add(&b, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", big);
    char *bulk = fill(big, 'v');
    sb_add(&b, "%s\r\nPING\r\n", bulk);
    free(bulk);

    struct evbuffer *in = evbuffer_new();
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    size_t want = 0, calls = 0;
    sb_t out = {0};
    for (size_t at = 0; at < b.len; at += 4096) {
        evbuffer_add(in, b.s + at, b.len - at < 4096 ? b.len - at : 4096);
        for (;;) {
            size_t avail = evbuffer_get_length(in);
            if (avail < want || avail == 0)
                break;
            const char *buf = (const char *)evbuffer_pullup(in, -1);
            cmd_t cmd;
            cmd_parse_t r = resp_parse(&p, buf, avail, &cmd);
            calls++;
            if (r.status == CMD_PARSE_NEED_MORE) {
                evbuffer_drain(in, r.consumed);
                want = r.want;
                break;
            }
            ck_assert_int_eq(r.status, CMD_PARSE_OK);
            sb_add(&out, "%s %zu %zu\n", cmd_name(cmd.id), cmd.argc, cmd.argc ? cmd.argv[cmd.argc - 1].len : 0);
            evbuffer_drain(in, r.consumed);
            want = 0;
        }
    }
    ck_assert_str_eq(out.s, "del 100000 2\nset 2 4194304\nping 0 0\n");
    ck_assert_uint_eq(evbuffer_get_length(in), 0);
    /* The 4 MiB bulk costs one call once its header is in, not one per read. */
    ck_assert_uint_lt(calls, (b.len - big) / 4096 + 16);
    free(out.s);
    free(b.s);
    resp_parser_free(&p);
    evbuffer_free(in);
}
END_TEST

/* ---- command lookup and decoding -------------------------------------------------- */

bool resp_command_table_sorted(void);

START_TEST(lookup_and_arity)
{
    ck_assert(resp_command_table_sorted());
    EXPECT("gEt k\r\n", "get [k]\n");
    EXPECT("GET\r\n", "ERR wrong number of arguments for 'get' command\n");
    EXPECT("GET a b\r\n", "ERR wrong number of arguments for 'get' command\n");
    EXPECT("FOO a b\r\nPING\r\n", "ERR unknown command 'FOO', with args beginning with: 'a' 'b' \nping []\n");
    EXPECT("FOO\r\n", "ERR unknown command 'FOO', with args beginning with: \n");
    EXPECT("client setname x\r\n", "client|setname [x]\n");
    EXPECT("CLIENT GETNAME\r\n", "client|getname []\n");
    EXPECT("CLIENT SETINFO LIB-NAME redis-py\r\n", "client|setinfo [LIB-NAME|redis-py]\n");
    EXPECT("client foo\r\n", "ERR unknown subcommand 'foo'. Try CLIENT HELP.\n");
    EXPECT("CLIENT\r\n", "ERR wrong number of arguments for 'client' command\n");
    EXPECT("CLIENT SETNAME\r\n", "ERR wrong number of arguments for 'client|setname' command\n");
    EXPECT("CONFIG GET save appendonly\r\n", "config|get [save|appendonly]\n");
    EXPECT("CONFIG SET a b\r\n", "ERR unknown subcommand 'SET'. Try CONFIG HELP.\n");
    EXPECT("DEL a b c\r\nUNLINK a\r\n", "del [a|b|c]\ndel [a]\n");
    EXPECT("PING a b\r\n", "ERR wrong number of arguments for 'ping' command\n");
    EXPECT("PING hi\r\n", "ping [hi]\n");
    EXPECT("AUTH u p x\r\n", "ERR syntax error\n");
    EXPECT("AUTH u p\r\n", "auth [u|p]\n");
    EXPECT("MSET a 1 b\r\n", "ERR wrong number of arguments for 'mset' command\n");
    EXPECT("MSETNX a 1 b 2\r\n", "msetnx f=0x1 [a|1|b|2]\n");
    EXPECT("GETRANGE k 0 -1\r\n", "getrange [k|0|-1]\n");
    /* A long unknown name and arguments are cut as Redis cuts them. */
    char *name = fill(200, 'n'), *arg = fill(200, 'a'), *in = NULL, *want = NULL;
    ck_assert_int_gt(asprintf(&in, "%s %s b\r\n", name, arg), 0);
    ck_assert_int_gt(asprintf(&want, "ERR unknown command '%.128s', with args beginning with: '%.128s' \n", name, arg),
                     0);
    expect_str(in, want);
    free(name), free(arg), free(in), free(want);
}
END_TEST

START_TEST(set_options)
{
    EXPECT("SET k v\r\n", "set [k|v]\n");
    EXPECT("SET k v EX 10\r\n", "set f=0x80 e=10000 [k|v]\n");
    EXPECT("SET k v px 1500 nx\r\n", "set f=0x81 e=1500 [k|v]\n");
    EXPECT("SET k v EXAT 1700000000 XX GET\r\n", "set f=0x112 e=1700000000000 [k|v]\n");
    EXPECT("SET k v PXAT 1700000000123\r\n", "set f=0x100 e=1700000000123 [k|v]\n");
    EXPECT("SET k v KEEPTTL\r\n", "set f=0x20 [k|v]\n");
    EXPECT("SET k v EX 1 EX 2\r\n", "set f=0x80 e=2000 [k|v]\n");
    EXPECT("SET k v NX XX\r\n", "ERR syntax error\n");
    EXPECT("SET k v KEEPTTL EX 1\r\n", "ERR syntax error\n");
    EXPECT("SET k v EX 1 PX 1\r\n", "ERR syntax error\n");
    EXPECT("SET k v EX\r\n", "ERR syntax error\n");
    EXPECT("SET k v PERSIST\r\n", "ERR syntax error\n");
    EXPECT("SET k v EX 0\r\n", "ERR invalid expire time in 'set' command\n");
    EXPECT("SET k v EX -1\r\n", "ERR invalid expire time in 'set' command\n");
    EXPECT("SET k v EX 9223372036854776\r\n", "ERR invalid expire time in 'set' command\n");
    EXPECT("SET k v PX 9223372036854775807\r\n", "ERR invalid expire time in 'set' command\n");
    EXPECT("SET k v EXAT 9223372036854775\r\n", "set f=0x100 e=9223372036854775000 [k|v]\n");
    EXPECT("SET k v EX abc\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("SET k v EX 1.5\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("SETNX k v\r\n", "setnx f=0x1 [k|v]\n");
    EXPECT("SETEX k 10 v\r\n", "set f=0x80 e=10000 [k|v]\n");
    EXPECT("PSETEX k 10 v\r\n", "set f=0x80 e=10 [k|v]\n");
    EXPECT("SETEX k 0 v\r\n", "ERR invalid expire time in 'setex' command\n");
    EXPECT("PSETEX k x v\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("GETSET k v\r\n", "set f=0x10 [k|v]\n");
    EXPECT("GETEX k\r\n", "getex [k]\n");
    EXPECT("GETEX k EX 5\r\n", "getex f=0x80 e=5000 [k]\n");
    EXPECT("GETEX k PERSIST\r\n", "getex f=0x40 [k]\n");
    EXPECT("GETEX k NX\r\n", "ERR syntax error\n");
    EXPECT("GETEX k EX 5 PERSIST\r\n", "ERR syntax error\n");
    EXPECT("GETEX k PX 0\r\n", "ERR invalid expire time in 'getex' command\n");
}
END_TEST

START_TEST(counter_and_expire_options)
{
    EXPECT("INCR k\r\nDECR k\r\n", "incrby d=1 [k]\nincrby d=-1 [k]\n");
    EXPECT("INCRBY k -5\r\nDECRBY k 7\r\n", "incrby d=-5 [k]\nincrby d=-7 [k]\n");
    EXPECT("INCRBY k 0\r\n", "incrby [k]\n");
    EXPECT("INCRBY k x\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("INCRBY k 9223372036854775808\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("DECRBY k -9223372036854775808\r\n", "ERR decrement would overflow\n");
    EXPECT("DECRBY k 9223372036854775807\r\n", "incrby d=-9223372036854775807 [k]\n");
    EXPECT("EXPIRE k 10\r\n", "expire f=0x80 e=10000 [k]\n");
    EXPECT("EXPIRE k -5\r\n", "expire f=0x80 e=-5000 [k]\n");
    EXPECT("PEXPIRE k 10 XX GT\r\n", "expire f=0x86 e=10 [k]\n");
    EXPECT("EXPIREAT k 1700000000 NX\r\n", "expire f=0x101 e=1700000000000 [k]\n");
    EXPECT("PEXPIREAT k 1 lt\r\n", "expire f=0x108 e=1 [k]\n");
    EXPECT("EXPIRE k 10 NX XX\r\n", "ERR NX and XX, GT or LT options at the same time are not compatible\n");
    EXPECT("EXPIRE k 10 GT LT\r\n", "ERR GT and LT options at the same time are not compatible\n");
    EXPECT("EXPIRE k 10 FOO\r\n", "ERR Unsupported option FOO\n");
    EXPECT("EXPIRE k x\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("EXPIRE k 9223372036854776\r\n", "ERR invalid expire time in 'expire' command\n");
    EXPECT("PEXPIRE k 9223372036854775807\r\n", "ERR invalid expire time in 'pexpire' command\n");
}
END_TEST

START_TEST(range_options)
{
    EXPECT("RANGE - +\r\n", "range f=0x5800 [|]\n");
    EXPECT("RANGE [a (z REV LIMIT 10 WITHVALUES\r\n", "range f=0x8400 l=10 [a|z]\n");
    EXPECT("range (a [z limit -1\r\n", "range f=0x2800 [a|z]\n");
    EXPECT("RANGE [ [\r\n", "range f=0x800 [|]\n");
    EXPECT("RANGE + -\r\n", "range f=0x5800 l=0 [|]\n");
    EXPECT("RANGE - + LIMIT 0\r\n", "range f=0x5800 l=0 [|]\n");
    EXPECT("RANGE a b\r\n", "ERR min or max not valid string range item\n");
    EXPECT("RANGE -a +\r\n", "ERR min or max not valid string range item\n");
    EXPECT("RANGE - + LIMIT\r\n", "ERR syntax error\n");
    EXPECT("RANGE - + LIMIT x\r\n", "ERR value is not an integer or out of range\n");
    EXPECT("RANGE - + BOGUS\r\n", "ERR syntax error\n");
    EXPECT("RCOUNT [a +\r\n", "rcount f=0x4000 [a|]\n");
    EXPECT("RCOUNT + +\r\n", "rcount f=0x5000 l=0 [|]\n");
    EXPECT("RCOUNT a +\r\n", "ERR min or max not valid string range item\n");
}
END_TEST

/* ---- encoders ---------------------------------------------------------------------- */

static void expect_buf(struct evbuffer *b, const char *want, size_t n)
{
    ck_assert_uint_eq(evbuffer_get_length(b), n);
    ck_assert_int_eq(memcmp(evbuffer_pullup(b, -1), want, n), 0);
    evbuffer_drain(b, n);
}
#define EXPECT_BUF(b, s) expect_buf(b, s, sizeof(s) - 1)

START_TEST(reply_encoders)
{
    struct evbuffer *b = evbuffer_new();
    resp_reply_ok(b);
    EXPECT_BUF(b, "+OK\r\n");
    resp_reply_simple(b, "a\r\nb", 4);
    EXPECT_BUF(b, "+a  b\r\n");
    resp_reply_error(b, "ERR bad\r\nthing");
    EXPECT_BUF(b, "-ERR bad  thing\r\n");
    resp_reply_error(b, "-WRONGTYPE x");
    EXPECT_BUF(b, "-WRONGTYPE x\r\n");
    resp_reply_errorf(b, "ERR unknown command '%s'", "x");
    EXPECT_BUF(b, "-ERR unknown command 'x'\r\n");
    resp_reply_int(b, 0);
    resp_reply_int(b, -42);
    resp_reply_int(b, INT64_MIN);
    EXPECT_BUF(b, ":0\r\n:-42\r\n:-9223372036854775808\r\n");
    resp_reply_bulk(b, "ab\0c", 4);
    resp_reply_bulk(b, "", 0);
    resp_reply_bulk_str(b, "hi");
    resp_reply_bulk_i64(b, 123);
    EXPECT_BUF(b, "$4\r\nab\0c\r\n$0\r\n\r\n$2\r\nhi\r\n$3\r\n123\r\n");
    resp_reply_null(b);
    resp_reply_null_array(b);
    resp_reply_array(b, 3);
    EXPECT_BUF(b, "$-1\r\n*-1\r\n*3\r\n");
    char *big = fill(1000, 'z');
    resp_reply_bulk(b, big, 1000);
    ck_assert_uint_eq(evbuffer_get_length(b), 7 + 1000 + 2);
    ck_assert_int_eq(memcmp(evbuffer_pullup(b, 7), "$1000\r\n", 7), 0);
    evbuffer_drain(b, evbuffer_get_length(b));
    free(big);
    evbuffer_free(b);
}
END_TEST

START_TEST(double_format)
{
    struct {
        double d;
        const char *s;
    } cases[] = {
        {1.5, "1.5"},      {3.0, "3"},         {-2.0, "-2"},          {0.1, "0.1"},     {1.0 / 3, "0.3333333333333333"},
        {1e300, "1e+300"}, {-0.0, "-0"},       {0.0, "0"},            {1e18, "1000000000000000000"},
        {1e19, "1e+19"},   {10.5, "10.5"},     {5e-324, "4.94065645841247e-324"},
    };
    char buf[40];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        resp_format_double(buf, cases[i].d);
        ck_assert_str_eq(buf, cases[i].s);
    }
    resp_format_double(buf, 1.0 / 0.0);
    ck_assert_str_eq(buf, "inf");
    resp_format_double(buf, -1.0 / 0.0);
    ck_assert_str_eq(buf, "-inf");
    resp_format_double(buf, 0.0 / 0.0);
    ck_assert_str_eq(buf, "nan");
    struct evbuffer *b = evbuffer_new();
    resp_reply_double(b, 2.5);
    EXPECT_BUF(b, "$3\r\n2.5\r\n");
    evbuffer_free(b);
}
END_TEST

/* Random binary argument vectors encoded with the reply encoders (a RESP
 * request is an array of bulks) parse back identically. */
/* resp_peek_key (the prefetch hint) frames exactly as the parser does: the
 * same length and the same second word for every multibulk request, and 0
 * for inline requests, partial requests and bytes that do not frame. */
START_TEST(peek_key_agrees_with_parser)
{
    srand(11);
    struct evbuffer *b = evbuffer_new();
    for (int i = 0; i < 400; i++) {
        if (i % 17 == 0) {
            evbuffer_add_printf(b, "PING\r\n"); /* inline */
            continue;
        }
        size_t n = 1 + (size_t)rand() % 8;
        resp_reply_array(b, n);
        for (size_t w = 0; w < n; w++) {
            char word[300];
            size_t len = (size_t)rand() % (rand() % 4 == 0 ? sizeof(word) : 12);
            for (size_t j = 0; j < len; j++)
                word[j] = (char)rand(); /* CR, LF, '*' and '$' included */
            resp_reply_bulk(b, word, len);
        }
    }
    size_t total = evbuffer_get_length(b);
    const char *buf = (const char *)evbuffer_pullup(b, -1);
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    unsigned multibulk = 0;
    for (size_t off = 0; off < total;) {
        cmd_arg_t *words;
        size_t nwords;
        cmd_parse_t r = resp_frame(&p, buf + off, total - off, &words, &nwords);
        ck_assert_int_eq(r.status, CMD_PARSE_OK);
        const char *key = (const char *)1;
        size_t klen = 99;
        size_t got = resp_peek_key(buf + off, total - off, &key, &klen);
        if (buf[off] != '*') {
            ck_assert_uint_eq(got, 0);
        } else {
            multibulk++;
            ck_assert_uint_eq(got, r.consumed);
            if (nwords == 1) {
                ck_assert_ptr_null(key);
                ck_assert_uint_eq(klen, 0);
            } else {
                ck_assert_ptr_eq(key, words[1].ptr);
                ck_assert_uint_eq(klen, words[1].len);
            }
            for (size_t cut = 0; cut < r.consumed; cut += 1 + cut / 4) /* a partial request */
                ck_assert_uint_eq(resp_peek_key(buf + off, cut, &key, &klen), 0);
        }
        off += r.consumed;
    }
    ck_assert_uint_gt(multibulk, 350);
    resp_parser_free(&p);
    evbuffer_free(b);
    static const char *const bad[] = {
        "*0\r\n",                              /* no words */
        "*-1\r\n",                             /* negative count */
        "*65\r\n",                             /* over RESP_PEEK_MAX_ARGS */
        "*\r\n$3\r\nGET\r\n",               /* no digits */
        "*1\r\n$-1\r\n",                       /* negative length */
        "*1\r\n$3\r\nGETX\r\n",               /* length disagrees with the bytes */
        "*2\r\n$3\r\nGET\r\n$5\r\nab\r\n",     /* shorter than claimed */
        "*1\r\n$99999999999999999999\r\nx\r\n", /* absurd length */
        "*1\n$3\r\nGET\r\n",                  /* bare LF */
        "$3\r\nGET\r\n",                      /* no count */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *key;
        size_t klen;
        ck_assert_msg(resp_peek_key(bad[i], strlen(bad[i]), &key, &klen) == 0, "bad[%zu] framed", i);
    }
}
END_TEST

START_TEST(round_trip_requests)
{
    srand(7);
    struct evbuffer *b = evbuffer_new();
    resp_parser_t p;
    resp_parser_init(&p, NULL);
    char words[8][300];
    size_t lens[8];
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = 1 + (size_t)rand() % 8;
        resp_reply_array(b, n);
        for (size_t i = 0; i < n; i++) {
            lens[i] = (size_t)rand() % (i == 0 ? 1 : 300);
            for (size_t j = 0; j < lens[i]; j++)
                words[i][j] = (char)rand();
            if (i == 0) { /* a real command name so decoding succeeds */
                memcpy(words[0], "DEL", 3);
                lens[0] = 3;
            }
            resp_reply_bulk(b, words[i], lens[i]);
        }
        size_t len = evbuffer_get_length(b);
        cmd_arg_t *w;
        size_t nw;
        cmd_parse_t r = resp_frame(&p, (const char *)evbuffer_pullup(b, -1), len, &w, &nw);
        ck_assert_int_eq(r.status, CMD_PARSE_OK);
        ck_assert_uint_eq(r.consumed, len);
        ck_assert_uint_eq(nw, n);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_eq(w[i].len, lens[i]);
            ck_assert_int_eq(memcmp(w[i].ptr, words[i], lens[i]), 0);
        }
        evbuffer_drain(b, len);
    }
    resp_parser_free(&p);
    evbuffer_free(b);
}
END_TEST

/* Mutated valid streams: never crash, consume within bounds, and give the
 * same transcript whole and byte by byte. */
START_TEST(fuzz_split_invariance)
{
    static const char *seeds[] = {
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        "set \"a b\" 'c\\'d' \"\\x41\"\r\nRANGE [a + REV LIMIT 3\r\n",
        "*1\r\n$4\r\nPING\r\n\r\nEXPIRE k 10 NX\n*0\r\nINCRBY k -3\r\n",
    };
    resp_limits_t lim = {.max_args = 16, .max_bulk = 64, .max_inline = 48};
    srand(11);
    char buf[256];
    for (int iter = 0; iter < 3000; iter++) {
        const char *s = seeds[iter % 3];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        for (int m = rand() % 4; m >= 0; m--) {
            size_t at = (size_t)rand() % n;
            static const char alphabet[] = "*$\r\n\"'\\ 0123456789-+x";
            buf[at] = rand() % 2 ? (char)rand() : alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
        }
        char *whole = transcript(buf, n, 0, &lim, iter % 5 == 0);
        char *bytes = transcript(buf, n, 1, &lim, iter % 5 == 0);
        ck_assert_str_eq(whole, bytes);
        free(whole);
        free(bytes);
    }
}
END_TEST

START_TEST(parse_i64)
{
    int64_t v;
    ck_assert(cmd_parse_i64("0", 1, &v) && v == 0);
    ck_assert(cmd_parse_i64("-9223372036854775808", 20, &v) && v == INT64_MIN);
    ck_assert(cmd_parse_i64("9223372036854775807", 19, &v) && v == INT64_MAX);
    ck_assert(!cmd_parse_i64("9223372036854775808", 19, &v));
    ck_assert(!cmd_parse_i64("-9223372036854775809", 20, &v));
    ck_assert(!cmd_parse_i64("99999999999999999999", 20, &v));
    ck_assert(!cmd_parse_i64("-0", 2, &v));
    ck_assert(!cmd_parse_i64("-", 1, &v));
    ck_assert(!cmd_parse_i64("", 0, &v));
    ck_assert(!cmd_parse_i64("1 ", 2, &v));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("resp_parse");
    TCase *t = tcase_create("framing");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, multibulk_basic);
    tcase_add_test(t, pipelined);
    tcase_add_test(t, empty_requests_are_skipped);
    tcase_add_test(t, inline_quoting);
    tcase_add_test(t, inline_unbalanced);
    tcase_add_test(t, framing_errors);
    tcase_add_test(t, fatal_error_sticks);
    tcase_add_test(t, inline_limit);
    tcase_add_test(t, header_line_limits);
    tcase_add_test(t, configurable_limits);
    tcase_add_test(t, unauthenticated_limits);
    tcase_add_test(t, huge_claims_do_not_allocate);
    tcase_add_test(t, want_is_exact_for_bulks);
    tcase_add_test(t, no_quadratic_rescans);
    tcase_add_test(t, evbuffer_caller_pattern);
    tcase_add_test(t, parse_i64);
    suite_add_tcase(s, t);
    t = tcase_create("commands");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, lookup_and_arity);
    tcase_add_test(t, set_options);
    tcase_add_test(t, counter_and_expire_options);
    tcase_add_test(t, range_options);
    suite_add_tcase(s, t);
    t = tcase_create("encoders");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, reply_encoders);
    tcase_add_test(t, double_format);
    tcase_add_test(t, round_trip_requests);
    tcase_add_test(t, peek_key_agrees_with_parser);
    tcase_add_test(t, fuzz_split_invariance);
    suite_add_tcase(s, t);
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
