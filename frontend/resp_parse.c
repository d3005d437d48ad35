/*
 * resp_parse.c — RESP2 request framing: multibulk (*N / $len) and inline
 * (telnet) requests, incrementally, with Redis's limits and error wording.
 * Command lookup and option decoding are in resp_command.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/resp_parse.h"

enum {
    ST_IDLE = 0, /* between requests */
    ST_COUNT,    /* multibulk: reading "*N\r\n" */
    ST_HEADER,   /* multibulk: reading "$len\r\n" */
    ST_DATA,     /* multibulk: reading a bulk and its CRLF */
    ST_INLINE,   /* inline: looking for the end of the line */
};

/* What one step of the state machine ended with. */
typedef enum {
    STEP_NEXT,  /* progress made: keep stepping */
    STEP_DONE,  /* a request with >= 1 argument ends at p->pos */
    STEP_EMPTY, /* a request with no argument ends at p->pos: skip it */
    STEP_MORE,  /* need more bytes; *want set */
    STEP_ERROR, /* fatal; p->err set */
} step_t;

void resp_limits_default(resp_limits_t *lim)
{
    lim->max_args = RESP_DEFAULT_MAX_ARGS;
    lim->max_bulk = RESP_DEFAULT_MAX_BULK;
    lim->max_inline = RESP_DEFAULT_MAX_INLINE;
}

void resp_parser_init(resp_parser_t *p, const resp_limits_t *lim)
{
    memset(p, 0, sizeof(*p));
    if (lim)
        p->lim = *lim;
    else
        resp_limits_default(&p->lim);
}

void resp_parser_free(resp_parser_t *p)
{
    free(p->spans);
    free(p->words);
    free(p->line);
    memset(p, 0, sizeof(*p));
}


static step_t fail(resp_parser_t *p, const char *msg)
{
    snprintf(p->err, sizeof(p->err), "ERR Protocol error: %s", msg);
    return STEP_ERROR;
}

/* Appends an argument span, growing the array geometrically: a claimed
 * count is never allocated up front. */
static bool push_span(resp_parser_t *p, size_t off, size_t len)
{
    if (p->nspans == p->spans_cap) {
        size_t cap = p->spans_cap ? p->spans_cap * 2 : 16;
        resp_span_t *s = realloc(p->spans, cap * sizeof(*s));
        if (!s)
            return false;
        p->spans = s;
        p->spans_cap = cap;
    }
    p->spans[p->nspans].off = off;
    p->spans[p->nspans].len = len;
    p->nspans++;
    return true;
}

static bool reserve_words(resp_parser_t *p, size_t n)
{
    if (n <= p->words_cap)
        return true;
    size_t cap = p->words_cap ? p->words_cap : 16;
    while (cap < n)
        cap *= 2;
    cmd_arg_t *w = realloc(p->words, cap * sizeof(*w));
    if (!w)
        return false;
    p->words = w;
    p->words_cap = cap;
    return true;
}

/* Finds the header line "<prefix><digits>\r\n" that starts at p->pos, as
 * Redis does: up to the first CR, which must come within max_inline bytes
 * (else too_big), then the prefix byte is checked, then the LF (else bad).
 * Returns STEP_NEXT with the digits in [*num, *num + *nlen) and the offset
 * after the LF in *next; or STEP_MORE; or STEP_ERROR. */
static step_t header_line(resp_parser_t *p, const char *buf, size_t len, char prefix, const char *too_big,
                          const char *bad, const char **num, size_t *nlen, size_t *next, size_t *want)
{
    size_t start = p->pos + 1; /* p->pos < len */
    const char *cr = p->scan < len ? memchr(buf + p->scan, '\r', len - p->scan) : NULL;
    if (!cr) {
        if (len - start > p->lim.max_inline)
            return fail(p, too_big);
        p->scan = len;
        *want = len + 1;
        return STEP_MORE;
    }
    size_t at = (size_t)(cr - buf);
    size_t clen = at >= start ? at - start : 0;
    p->scan = at; /* resume at the CR while its LF is missing */
    if (clen > p->lim.max_inline)
        return fail(p, too_big);
    if (at + 1 >= len) {
        *want = at + 2;
        return STEP_MORE;
    }
    char got = buf[p->pos];
    if (got != prefix) {
        snprintf(p->err, sizeof(p->err), "ERR Protocol error: expected '%c', got '%c'", prefix, got ? got : ' ');
        return STEP_ERROR;
    }
    if (buf[at + 1] != '\n')
        return fail(p, bad);
    *num = buf + start;
    *nlen = clen;
    *next = at + 2;
    return STEP_NEXT;
}

static step_t step_count(resp_parser_t *p, const char *buf, size_t len, size_t *want)
{
    const char *num;
    size_t nlen, next;
    int64_t n;
    step_t s = header_line(p, buf, len, '*', "too big mbulk count string", "invalid multibulk length", &num, &nlen,
                           &next, want);
    if (s != STEP_NEXT)
        return s;
    if (!cmd_parse_i64(num, nlen, &n) || (n > 0 && (uint64_t)n > p->lim.max_args))
        return fail(p, "invalid multibulk length");
    if (p->unauth && n > RESP_UNAUTH_MAX_ARGS)
        return fail(p, "unauthenticated multibulk length");
    p->pos = p->scan = next;
    if (n <= 0) /* "*0" and "*-1": no command, as in Redis */
        return STEP_EMPTY;
    p->nargs = (uint64_t)n;
    p->nspans = 0;
    p->state = ST_HEADER;
    return STEP_NEXT;
}

static step_t step_header(resp_parser_t *p, const char *buf, size_t len, size_t *want)
{
    const char *num;
    size_t nlen, next;
    int64_t n;
    if (p->pos >= len) {
        *want = p->pos + 1;
        return STEP_MORE;
    }
    step_t s = header_line(p, buf, len, '$', "too big bulk count string", "invalid bulk length", &num, &nlen, &next,
                           want);
    if (s != STEP_NEXT)
        return s;
    if (!cmd_parse_i64(num, nlen, &n) || n < 0 || (uint64_t)n > p->lim.max_bulk)
        return fail(p, "invalid bulk length");
    if (p->unauth && n > RESP_UNAUTH_MAX_BULK)
        return fail(p, "unauthenticated bulk length");
    p->pos = p->scan = next;
    p->bulk = (uint64_t)n;
    p->state = ST_DATA;
    return STEP_NEXT;
}

static step_t step_data(resp_parser_t *p, const char *buf, size_t len, size_t *want)
{
    size_t avail = len - p->pos;
    if (avail < p->bulk || avail - p->bulk < 2) {
        uint64_t need = (uint64_t)p->pos + p->bulk + 2;
        *want = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
        return STEP_MORE;
    }
    size_t end = p->pos + (size_t)p->bulk;
    if (buf[end] != '\r' || buf[end + 1] != '\n')
        return fail(p, "bulk data not terminated by CRLF");
    if (!push_span(p, p->pos, (size_t)p->bulk))
        return fail(p, "out of memory");
    p->pos = p->scan = end + 2;
    if (p->nspans == p->nargs)
        return STEP_DONE;
    p->state = ST_HEADER;
    return STEP_NEXT;
}

/* C-locale isspace, as sdssplitargs uses it. */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one double-quoted token body starting after the quote at s[*i].
 * Appends unescaped bytes to out[*o]. Returns false on unbalanced quotes. */
static bool split_dquote(const char *s, size_t n, size_t *i, char *out, size_t *o)
{
    for (size_t k = *i; k < n; k++) {
        char c = s[k];
        if (c == '\\' && k + 3 < n && s[k + 1] == 'x' && hex_val(s[k + 2]) >= 0 && hex_val(s[k + 3]) >= 0) {
            out[(*o)++] = (char)(hex_val(s[k + 2]) * 16 + hex_val(s[k + 3]));
            k += 3;
        } else if (c == '\\' && k + 1 < n) {
            char e = s[++k];
            out[(*o)++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
        } else if (c == '"') {
            /* the closing quote must be followed by a space or the end */
            if (k + 1 < n && !is_space(s[k + 1]))
                return false;
            *i = k + 1;
            return true;
        } else {
            out[(*o)++] = c;
        }
    }
    return false;
}

/* Single-quoted: only \' is an escape. */
static bool split_squote(const char *s, size_t n, size_t *i, char *out, size_t *o)
{
    for (size_t k = *i; k < n; k++) {
        char c = s[k];
        if (c == '\\' && k + 1 < n && s[k + 1] == '\'') {
            out[(*o)++] = '\'';
            k++;
        } else if (c == '\'') {
            if (k + 1 < n && !is_space(s[k + 1]))
                return false;
            *i = k + 1;
            return true;
        } else {
            out[(*o)++] = c;
        }
    }
    return false;
}

/* Splits an inline line the way Redis's sdssplitargs does: whitespace
 * separates words; "..." with \xHH \n \r \t \b \a \<c> escapes; '...' with
 * \' only; quotes may start inside a word; a closing quote must be followed
 * by whitespace or the end. Like sdssplitargs (a C-string function), a NUL
 * byte ends the line. Unescaped bytes go to p->line (the line's length
 * suffices: unescaping never grows). Returns 1, 0 on unbalanced quotes, or
 * -1 if out of memory. */
static int split_inline(resp_parser_t *p, const char *s, size_t n)
{
    const char *nul = memchr(s, '\0', n);
    if (nul)
        n = (size_t)(nul - s);
    size_t i = 0, o = 0;
    p->nspans = 0;
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n)
            return 1;
        size_t start = o;
        bool done = false;
        while (!done && i < n) {
            char c = s[i];
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                i++;
                done = true;
            } else if (c == '"' || c == '\'') {
                i++;
                bool ok = c == '"' ? split_dquote(s, n, &i, p->line, &o) : split_squote(s, n, &i, p->line, &o);
                if (!ok)
                    return 0;
                if (i < n) /* skip the whitespace after the closing quote */
                    i++;
                done = true;
            } else {
                p->line[o++] = c;
                i++;
            }
        }
        if (!push_span(p, start, o - start))
            return -1;
    }
}

static step_t step_inline(resp_parser_t *p, const char *buf, size_t len, size_t *want)
{
    const char *nl = p->scan < len ? memchr(buf + p->scan, '\n', len - p->scan) : NULL;
    if (!nl) {
        /* The line will be at least this long (a final CR may be the CRLF's). */
        size_t least = len - (len && buf[len - 1] == '\r');
        if (least > p->lim.max_inline)
            return fail(p, "too big inline request");
        p->scan = len;
        *want = len + 1;
        return STEP_MORE;
    }
    size_t end = (size_t)(nl - buf), n = end;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > p->lim.max_inline)
        return fail(p, "too big inline request");
    if (n > p->line_cap) {
        char *l = realloc(p->line, n);
        if (!l)
            return fail(p, "out of memory");
        p->line = l;
        p->line_cap = n;
    }
    int split = split_inline(p, buf, n);
    if (split <= 0)
        return fail(p, split < 0 ? "out of memory" : "unbalanced quotes in request");
    p->pos = end + 1;
    return p->nspans ? STEP_DONE : STEP_EMPTY;
}

/* Runs the state machine over buf until a request ends, an error, or the
 * bytes run out. */
static step_t step(resp_parser_t *p, const char *buf, size_t len, size_t *want)
{
    step_t s = STEP_NEXT;
    while (s == STEP_NEXT) {
        switch (p->state) {
        case ST_IDLE:
            if (len == 0) {
                *want = 1;
                return STEP_MORE;
            }
            p->pos = p->scan = 0;
            p->nspans = 0;
            p->state = buf[0] == '*' ? ST_COUNT : ST_INLINE;
            break;
        case ST_COUNT:
            s = step_count(p, buf, len, want);
            break;
        case ST_HEADER:
            s = step_header(p, buf, len, want);
            break;
        case ST_DATA:
            s = step_data(p, buf, len, want);
            break;
        default:
            s = step_inline(p, buf, len, want);
            break;
        }
    }
    return s;
}

static void reset_request(resp_parser_t *p)
{
    p->state = ST_IDLE;
    p->pos = p->scan = 0;
    p->nargs = p->bulk = 0;
}

cmd_parse_t resp_frame(resp_parser_t *p, const char *buf, size_t len, cmd_arg_t **words, size_t *nwords)
{
    cmd_parse_t r = {.status = CMD_PARSE_ERROR, .fatal = true, .msg = p->err};
    if (p->failed)
        return r;
    size_t skip = 0;
    for (;;) {
        size_t want = 0;
        bool inline_req = p->state == ST_INLINE || (p->state == ST_IDLE && len > skip && buf[skip] != '*');
        step_t s = step(p, buf + skip, len - skip, &want);
        if (s == STEP_EMPTY) {
            skip += p->pos;
            reset_request(p);
            continue;
        }
        if (s == STEP_MORE) {
            r = (cmd_parse_t){.status = CMD_PARSE_NEED_MORE, .consumed = skip, .want = want};
            return r;
        }
        if (s == STEP_ERROR) {
            p->failed = true;
            r.consumed = skip;
            return r;
        }
        if (!reserve_words(p, p->nspans)) {
            p->failed = true;
            snprintf(p->err, sizeof(p->err), "ERR Protocol error: out of memory");
            return r;
        }
        const char *base = inline_req ? p->line : buf + skip;
        for (size_t i = 0; i < p->nspans; i++) {
            p->words[i].ptr = base + p->spans[i].off;
            p->words[i].len = p->spans[i].len;
        }
        *words = p->words;
        *nwords = p->nspans;
        r = (cmd_parse_t){.status = CMD_PARSE_OK, .consumed = skip + p->pos};
        reset_request(p);
        return r;
    }
}

cmd_parse_t resp_parse(resp_parser_t *p, const char *buf, size_t len, cmd_t *cmd)
{
    cmd_arg_t *words;
    size_t nwords;
    cmd_parse_t r = resp_frame(p, buf, len, &words, &nwords);
    if (r.status != CMD_PARSE_OK)
        return r;
    cmd_parse_t d = resp_decode(p, words, nwords, cmd);
    d.consumed = r.consumed;
    return d;
}

/* "<prefix><decimal>\r\n" at buf[*at]; the number, or -1. */
static long long peek_header(const char *buf, size_t len, size_t *at, char prefix)
{
    size_t i = *at;
    if (i >= len || buf[i] != prefix)
        return -1;
    long long n = 0;
    for (i++; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
        if (n > (1ll << 40))
            return -1;
        n = n * 10 + (buf[i] - '0');
    }
    if (i == *at + 1 || len - i < 2 || buf[i] != '\r' || buf[i + 1] != '\n')
        return -1;
    *at = i + 2;
    return n;
}

size_t resp_peek_key(const char *buf, size_t len, const char **arg, size_t *alen)
{
    size_t at = 0;
    long long argc = peek_header(buf, len, &at, '*');
    if (argc < 1 || argc > RESP_PEEK_MAX_ARGS)
        return 0;
    *arg = NULL;
    *alen = 0;
    for (long long i = 0; i < argc; i++) {
        long long n = peek_header(buf, len, &at, '$');
        if (n < 0 || (unsigned long long)n + 2 > len - at || buf[at + n] != '\r' || buf[at + n + 1] != '\n')
            return 0;
        if (i == 1) {
            *arg = buf + at;
            *alen = (size_t)n;
        }
        at += (size_t)n + 2;
    }
    return at;
}
