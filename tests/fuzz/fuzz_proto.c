/*
 * fuzz_proto.c — libFuzzer target for the protocol parsers (RESP and
 * native). `make fuzz` builds and runs it; `make check` replays its corpus
 * and regressions (tests/fuzz/fuzz.mk, docs/testing.md).
 *
 * The first input byte picks the parser (bit 0), tight limits (bit 1), the
 * unauthenticated mode (bit 2) and a chunk size; the rest is the stream.
 * Besides the sanitizers' checks, it asserts the parsers' contracts:
 * consumed within bounds, `want` beyond what is buffered, operands inside
 * the span (or the parser's copy), and the same results whether the stream
 * arrives whole or in chunks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/native_parse.h"
#include "frontend/resp_parse.h"
#include "tests/fuzz/fuzz_util.h"

typedef struct {
    char *s;
    size_t len, cap;
} out_t;

static void out_add(out_t *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2 + 64;
        o->s = realloc(o->s, o->cap);
        if (!o->s)
            abort();
    }
    memcpy(o->s + o->len, p, n);
    o->len += n;
}

static void record(out_t *o, const cmd_parse_t *r, const cmd_t *c)
{
    out_add(o, &r->status, sizeof(r->status));
    if (r->status == CMD_PARSE_ERROR) {
        out_add(o, &r->fatal, sizeof(r->fatal));
        out_add(o, &r->code, sizeof(r->code));
        out_add(o, r->msg, strlen(r->msg) + 1);
        return;
    }
    out_add(o, &c->id, sizeof(c->id));
    out_add(o, &c->flags, sizeof(c->flags));
    out_add(o, &c->expiry_ms, sizeof(c->expiry_ms));
    out_add(o, &c->delta, sizeof(c->delta));
    out_add(o, &c->limit, sizeof(c->limit));
    for (size_t i = 0; i < c->argc; i++) {
        out_add(o, &c->argv[i].len, sizeof(size_t));
        out_add(o, c->argv[i].ptr, c->argv[i].len);
    }
}

/* Operands must lie inside the span or inside the RESP parser's copy of
 * an inline line. */
static void check_operands(const cmd_t *c, const char *span, size_t len, const resp_parser_t *rp)
{
    for (size_t i = 0; i < c->argc; i++) {
        const char *p = c->argv[i].ptr;
        size_t n = c->argv[i].len;
        bool in_span = p >= span && p <= span + len && n <= (size_t)(span + len - p);
        bool in_line = rp->line && p >= rp->line && p <= rp->line + rp->line_cap &&
                       n <= (size_t)(rp->line + rp->line_cap - p);
        if (!in_span && !in_line)
            abort();
    }
}

/* Feeds the stream in chunks (0: whole) and records every result. */
static void run(const uint8_t *in, size_t n, size_t chunk, int mode, out_t *o)
{
    resp_parser_t rp;
    native_parser_t np;
    resp_limits_t rl = {.max_args = 8, .max_bulk = 32, .max_inline = 40};
    native_limits_t nl = {.max_value = 32, .max_keys = 4};
    resp_parser_init(&rp, mode & 2 ? &rl : NULL);
    rp.unauth = mode & 4;
    native_parser_init(&np, mode & 2 ? &nl : NULL);
    char *buf = malloc(n + 1);
    size_t have = 0, start = 0, want = 0, fed = 0;
    bool dead = false;
    if (!chunk)
        chunk = n ? n : 1;
    while (fed < n && !dead) {
        size_t k = n - fed < chunk ? n - fed : chunk;
        memcpy(buf + have, in + fed, k);
        fed += k;
        have += k;
        while (!dead && have - start >= want) {
            size_t len = have - start;
            char *span = malloc(len + 1); /* a fresh copy: the span moves */
            memcpy(span, buf + start, len);
            cmd_t cmd;
            cmd_parse_t r = mode & 1 ? native_parse(&np, span, len, &cmd) : resp_parse(&rp, span, len, &cmd);
            if (r.consumed > len)
                abort();
            if (r.status == CMD_PARSE_OK)
                check_operands(&cmd, span, len, &rp);
            if (r.status != CMD_PARSE_NEED_MORE)
                record(o, &r, &cmd);
            free(span);
            start += r.consumed;
            if (r.status == CMD_PARSE_NEED_MORE) {
                if (r.want <= have - start)
                    abort();
                want = r.want;
                break;
            }
            want = 0;
            dead = r.status == CMD_PARSE_ERROR && r.fatal;
        }
    }
    free(buf);
    resp_parser_free(&rp);
    native_parser_free(&np);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 7;
    size_t chunk = 1 + (data[0] >> 3);
    out_t whole = {0}, split = {0};
    run(data + 1, size - 1, 0, mode, &whole);
    run(data + 1, size - 1, chunk, mode, &split);
    if (whole.len != split.len || (whole.len && memcmp(whole.s, split.s, whole.len) != 0))
        abort();
    free(whole.s);
    free(split.s);
    return 0;
}
