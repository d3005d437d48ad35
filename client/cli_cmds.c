/*
 * client/cli_cmds.c — fickle-cli's commands: argument checking (Redis-like
 * words: ex/px/nx/xx, `[key`/`(key`/`-`/`+` range bounds, rev, limit),
 * the libfickle call, and the output format of docs/client.md.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/cli.h"

typedef struct {
    const char *name;
    int min, max; /* operands after the name; max -1 = any number */
    int (*run)(cli_t *cli, int argc, cli_arg_t *a);
    const char *usage;
} command_t;

/* ---- helpers ----------------------------------------------------------------------- */

static int usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("(error) usage: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}

/* Reports a non-OK library result; returns its CLI status. */
static int result(cli_t *cli, int rc)
{
    if (rc == FICKLE_OK)
        return CLI_OK;
    if (rc > 0) {
        fprintf(stderr, "(error) %s\n", fickle_errstr(cli->conn));
        return CLI_SERVER;
    }
    fprintf(stderr, "(error) %s: %s\n", fickle_strstatus(rc), fickle_errstr(cli->conn));
    return rc == FICKLE_ERR_ARG ? CLI_USAGE : CLI_CONN;
}

/* Prints bytes: as they are with --raw, else with backslash escapes for
 * control bytes and backslash (the interactive mode's quoting reads them
 * back). */
static void out(const cli_t *cli, const char *p, size_t n)
{
    if (cli->raw) {
        fwrite(p, 1, n, stdout);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\\')
            fputs("\\\\", stdout);
        else if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\r')
            fputs("\\r", stdout);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch < 0x20 || ch == 0x7f)
            printf("\\x%02x", ch);
        else
            putchar(ch);
    }
}

static void outln(const cli_t *cli, const char *p, size_t n)
{
    out(cli, p, n);
    putchar('\n');
}

static int oom(void)
{
    fputs("(error) out of memory\n", stderr);
    return CLI_CONN;
}

/* Case-insensitive match of a whole word. */
static bool is(const cli_arg_t *a, const char *word)
{
    return a->len == strlen(word) && !strncasecmp(a->p, word, a->len);
}

/* Strict decimal parsing of a whole argument. */
static bool to_u64(const cli_arg_t *a, uint64_t *v)
{
    if (!a->len || a->len != strlen(a->p) || a->p[0] < '0' || a->p[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(a->p, &end, 10);
    if (errno || *end)
        return false;
    *v = x;
    return true;
}

static bool to_i64(const cli_arg_t *a, int64_t *v)
{
    if (!a->len || a->len != strlen(a->p) || !strchr("-0123456789", a->p[0]))
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(a->p, &end, 10);
    if (errno || *end || end == a->p)
        return false;
    *v = x;
    return true;
}

/* ---- string commands --------------------------------------------------------------- */

static int c_get(cli_t *cli, int argc, cli_arg_t *a)
{
    fickle_item_t it;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_get(cli->conn, a[1].p, a[1].len, &it);
    if (rc == FICKLE_STATUS_NOT_FOUND) {
        puts("(nil)");
        return CLI_OK;
    }
    if (rc != FICKLE_OK)
        return result(cli, rc);
    outln(cli, it.value, it.len);
    fickle_item_free(&it);
    return CLI_OK;
}

/* Parses one expiry option at a[*i] (ex s, px ms, exat s, pxat ms,
 * keepttl). Returns 1 if consumed (advancing *i), 0 if a[*i] is not one,
 * -1 (usage error printed) if it is but is bad or repeated. */
static int expiry_opt(int argc, cli_arg_t *a, int *i, uint64_t *exp, unsigned *flags, bool *seen)
{
    bool ex = is(&a[*i], "ex"), px = is(&a[*i], "px"), exat = is(&a[*i], "exat"), pxat = is(&a[*i], "pxat");
    bool keep = is(&a[*i], "keepttl");
    if (!ex && !px && !exat && !pxat && !keep)
        return 0;
    if (*seen)
        return usage_err("only one of ex, px, exat, pxat, keepttl"), -1;
    *seen = true;
    if (keep) {
        *flags |= FICKLE_SET_KEEPTTL;
        *i += 1;
        return 1;
    }
    uint64_t v;
    if (*i + 1 >= argc || !to_u64(&a[*i + 1], &v) || !v || ((ex || exat) && v > UINT64_MAX / 1000))
        return usage_err("%s takes a positive integer", a[*i].p), -1;
    *exp = ex || exat ? v * 1000 : v;
    if (exat || pxat)
        *flags |= FICKLE_SET_EXPIRE_AT;
    *i += 2;
    return 1;
}

static int print_version(uint64_t v)
{
    printf("OK version=%" PRIu64 "\n", v);
    return CLI_OK;
}

static int c_set(cli_t *cli, int argc, cli_arg_t *a)
{
    uint64_t exp = 0, ver;
    unsigned fl = 0;
    bool seen = false;
    for (int i = 3; i < argc;) {
        int r = expiry_opt(argc, a, &i, &exp, &fl, &seen);
        if (r < 0)
            return CLI_USAGE;
        if (r > 0)
            continue;
        if (!is(&a[i], "nx") && !is(&a[i], "xx"))
            return usage_err("set: unknown option '%s'", a[i].p);
        fl |= is(&a[i], "nx") ? FICKLE_SET_NX : FICKLE_SET_XX;
        i++;
    }
    if ((fl & FICKLE_SET_NX) && (fl & FICKLE_SET_XX))
        return usage_err("set: nx and xx together");
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_set(cli->conn, a[1].p, a[1].len, a[2].p, a[2].len, exp, fl, &ver);
    return rc ? result(cli, rc) : print_version(ver);
}

static int c_cas(cli_t *cli, int argc, cli_arg_t *a)
{
    uint64_t expected, exp = 0, ver;
    unsigned fl = 0;
    bool seen = false;
    if (!to_u64(&a[3], &expected) || !expected)
        return usage_err("cas: the version must be a positive integer");
    for (int i = 4; i < argc;) {
        int r = expiry_opt(argc, a, &i, &exp, &fl, &seen);
        if (r < 0)
            return CLI_USAGE;
        if (r == 0)
            return usage_err("cas: unknown option '%s'", a[i].p);
    }
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_cas(cli->conn, a[1].p, a[1].len, a[2].p, a[2].len, expected, exp, fl, &ver);
    return rc ? result(cli, rc) : print_version(ver);
}

static int c_del(cli_t *cli, int argc, cli_arg_t *a)
{
    uint64_t ver = 0;
    if (argc > 2 && (!to_u64(&a[2], &ver) || !ver))
        return usage_err("del: the version must be a positive integer");
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_del(cli->conn, a[1].p, a[1].len, ver);
    if (rc == FICKLE_OK || rc == FICKLE_STATUS_NOT_FOUND) {
        puts(rc == FICKLE_OK ? "1" : "0");
        return CLI_OK;
    }
    return result(cli, rc);
}

static int c_exists(cli_t *cli, int argc, cli_arg_t *a)
{
    uint64_t ver, exp;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_exists(cli->conn, a[1].p, a[1].len, &ver, &exp);
    if (rc == FICKLE_STATUS_NOT_FOUND) {
        puts("0");
        return CLI_OK;
    }
    if (rc != FICKLE_OK)
        return result(cli, rc);
    printf("1 version=%" PRIu64 " expiry=%" PRIu64 "\n", ver, exp);
    return CLI_OK;
}

static int c_counter(cli_t *cli, int argc, cli_arg_t *a)
{
    int64_t n = 1, v;
    if (argc > 2 && !to_i64(&a[2], &n))
        return usage_err("%s: the amount must be an integer", a[0].p);
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = (is(&a[0], "incr") ? fickle_incr : fickle_decr)(cli->conn, a[1].p, a[1].len, n, &v, NULL);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    printf("%" PRId64 "\n", v);
    return CLI_OK;
}

/* ---- multi-key commands ------------------------------------------------------------ */

/* Splits n args (every `step`-th from a) into pointer and length arrays. */
static bool spread(cli_arg_t *a, size_t n, size_t step, const void ***p, size_t **len)
{
    *p = malloc(n * sizeof(**p));
    *len = malloc(n * sizeof(**len));
    if (!*p || !*len)
        return false;
    for (size_t i = 0; i < n; i++) {
        (*p)[i] = a[i * step].p;
        (*len)[i] = a[i * step].len;
    }
    return true;
}

static int c_mget(cli_t *cli, int argc, cli_arg_t *a)
{
    const void **k = NULL;
    size_t *kl = NULL, n = (size_t)argc - 1;
    fickle_rows_t *rows = NULL;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    if (!spread(a + 1, n, 1, &k, &kl)) {
        free(k);
        free(kl);
        return oom();
    }
    rc = fickle_mget(cli->conn, n, k, kl, &rows);
    free(k);
    free(kl);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    for (const fickle_row_t *r; (r = fickle_rows_next(rows));) {
        if (r->flags & FICKLE_ROW_MISSING)
            puts("(nil)");
        else
            outln(cli, r->value ? r->value : "", r->vlen);
    }
    fickle_rows_free(rows);
    return CLI_OK;
}

static int c_mset(cli_t *cli, int argc, cli_arg_t *a)
{
    if ((argc - 1) % 2)
        return usage_err("%s: keys and values must come in pairs", a[0].p);
    const void **k = NULL, **v = NULL;
    size_t *kl = NULL, *vl = NULL, n = (size_t)(argc - 1) / 2;
    uint64_t ver;
    unsigned fl = is(&a[0], "msetnx") ? FICKLE_MSET_NX : 0;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    bool mem = spread(a + 1, n, 2, &k, &kl) && spread(a + 2, n, 2, &v, &vl);
    if (mem)
        rc = fickle_mset(cli->conn, n, k, kl, v, vl, fl, &ver);
    free(k);
    free(kl);
    free(v);
    free(vl);
    if (!mem)
        return oom();
    return rc ? result(cli, rc) : print_version(ver);
}

/* ---- ranges ------------------------------------------------------------------------ */

/* Parses a bound: "-", "+", "[key" (inclusive) or "(key" (exclusive).
 * Returns 0 (q filled for that side), 1 if it makes the range empty ("+"
 * as min, "-" as max), -1 if invalid. */
static int bound(const cli_arg_t *a, bool is_min, fickle_range_t *q)
{
    if (a->len == 1 && (a->p[0] == '-' || a->p[0] == '+'))
        return (a->p[0] == '+') == is_min; /* unbounded: q already says so */
    if (!a->len || (a->p[0] != '[' && a->p[0] != '('))
        return -1;
    bool incl = a->p[0] == '[';
    if (is_min) {
        q->start = a->p + 1, q->start_len = a->len - 1;
        q->flags |= incl ? FICKLE_RANGE_START_INCL : 0;
    } else {
        q->end = a->p + 1, q->end_len = a->len - 1;
        q->flags |= incl ? FICKLE_RANGE_END_INCL : 0;
    }
    return 0;
}

/* Parses "min max [rev] [limit n] [keys-only]" (rev and keys-only only
 * when `full`). Returns CLI_OK, or CLI_USAGE (printed); *empty if the range
 * or the limit makes the answer empty without asking. */
static int range_args(int argc, cli_arg_t *a, bool full, fickle_range_t *q, bool *empty)
{
    fickle_range_init(q);
    int lo = bound(&a[1], true, q), hi = bound(&a[2], false, q);
    if (lo < 0 || hi < 0)
        return usage_err("%s: min or max not a valid range item ([key, (key, -, +)", a[0].p);
    *empty = lo || hi;
    for (int i = 3; i < argc; i++) {
        int64_t n;
        if (full && is(&a[i], "rev"))
            q->flags |= FICKLE_RANGE_REVERSE;
        else if (full && (is(&a[i], "keys-only") || is(&a[i], "keysonly") || is(&a[i], "keys")))
            q->flags |= FICKLE_RANGE_KEYS_ONLY;
        else if (is(&a[i], "limit") && i + 1 < argc && to_i64(&a[i + 1], &n) && n <= UINT32_MAX) {
            q->limit = n < 0 ? 0 : (uint32_t)n; /* negative: no limit, as Redis */
            *empty |= n == 0;
            i++;
        } else {
            return usage_err("%s: unexpected '%s'", a[0].p, a[i].p);
        }
    }
    return CLI_OK;
}

/* Prints rows; returns how many. */
static size_t print_rows(const cli_t *cli, fickle_rows_t *rows)
{
    size_t n = 0;
    for (const fickle_row_t *r; (r = fickle_rows_next(rows)); n++) {
        out(cli, r->key, r->klen);
        if (r->value) {
            putchar('\t');
            out(cli, r->value, r->vlen);
        }
        putchar('\n');
    }
    return n;
}

/* Continues q after a cut-short reply: from the last row's key, exclusive.
 * *cursor holds the copy the bound points to. */
static bool advance(fickle_range_t *q, fickle_rows_t *rows, char **cursor)
{
    const fickle_row_t *last = fickle_rows_at(rows, fickle_rows_count(rows) - 1);
    char *k = malloc(last->klen + 1);
    if (!k)
        return false;
    memcpy(k, last->key, last->klen);
    free(*cursor);
    *cursor = k;
    if (q->flags & FICKLE_RANGE_REVERSE) {
        q->end = k, q->end_len = last->klen;
        q->flags &= ~FICKLE_RANGE_END_INCL;
    } else {
        q->start = k, q->start_len = last->klen;
        q->flags &= ~FICKLE_RANGE_START_INCL;
    }
    return true;
}

static int c_range(cli_t *cli, int argc, cli_arg_t *a)
{
    fickle_range_t q;
    bool empty;
    if (range_args(argc, a, true, &q, &empty) != CLI_OK)
        return CLI_USAGE;
    if (empty)
        return CLI_OK;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    char *cursor = NULL;
    uint32_t left = q.limit;
    bool mem = true;
    for (;;) { /* follow MORE until done or the limit is reached */
        fickle_rows_t *rows;
        q.limit = left;
        if ((rc = fickle_range(cli->conn, &q, &rows)) != FICKLE_OK)
            break;
        size_t n = print_rows(cli, rows);
        bool more = fickle_rows_more(rows) && n && (!left || n < left);
        left -= left ? (uint32_t)n : 0;
        mem = !more || advance(&q, rows, &cursor);
        fickle_rows_free(rows);
        if (!more || !mem)
            break;
    }
    free(cursor);
    return mem ? result(cli, rc) : oom();
}

static int c_count(cli_t *cli, int argc, cli_arg_t *a)
{
    fickle_range_t q;
    bool empty;
    uint64_t n = 0;
    if (range_args(argc, a, false, &q, &empty) != CLI_OK)
        return CLI_USAGE;
    int rc = empty ? CLI_OK : cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = empty ? FICKLE_OK : fickle_count(cli->conn, &q, &n);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    printf("%" PRIu64 "\n", n);
    return CLI_OK;
}

/* ---- connection and server --------------------------------------------------------- */

static int c_stats(cli_t *cli, int argc, cli_arg_t *a)
{
    char *text;
    size_t len;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_stats(cli->conn, argc > 1 ? a[1].p : NULL, &text, &len);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    for (size_t i = 0; i < len; i++) /* CRLF lines -> LF */
        if (text[i] != '\r' || i + 1 >= len || text[i + 1] != '\n')
            putchar(text[i]);
    if (len && text[len - 1] != '\n')
        putchar('\n');
    free(text);
    return CLI_OK;
}

static int c_ping(cli_t *cli, int argc, cli_arg_t *a)
{
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = argc > 1 ? fickle_ping(cli->conn, a[1].p, a[1].len) : fickle_ping(cli->conn, NULL, 0);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    if (argc > 1)
        outln(cli, a[1].p, a[1].len);
    else
        puts("PONG");
    return CLI_OK;
}

static int c_auth(cli_t *cli, int argc, cli_arg_t *a)
{
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_auth(cli->conn, argc > 2 ? a[1].p : NULL, a[argc - 1].p);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    puts("OK");
    return CLI_OK;
}

/* save: "OK lsn=N" (the snapshot's start LSN); bgsave: redis-cli's text;
 * lastsave: Unix seconds. */
static int c_snapshot(cli_t *cli, int argc, cli_arg_t *a)
{
    (void)argc;
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    uint64_t lsn = 0;
    int64_t when = 0;
    bool save = is(&a[0], "save"), bg = is(&a[0], "bgsave");
    rc = save ? fickle_save(cli->conn, &lsn) : bg ? fickle_bgsave(cli->conn) : fickle_lastsave(cli->conn, &when);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    if (save)
        printf("OK lsn=%" PRIu64 "\n", lsn);
    else if (bg)
        puts("Background saving started");
    else
        printf("%" PRId64 "\n", when);
    return CLI_OK;
}

static int c_quit(cli_t *cli, int argc, cli_arg_t *a)
{
    cli->quit = true;
    if (!fickle_usable(cli->conn)) { /* nothing to close */
        puts("OK");
        return CLI_OK;
    }
    int rc = cli_connect(cli);
    if (rc != CLI_OK)
        return rc;
    rc = fickle_quit(cli->conn);
    if (rc != FICKLE_OK)
        return result(cli, rc);
    puts("OK");
    return CLI_OK;
}

/* ---- transactions ------------------------------------------------------------------- */

/* A comparison word: = != < > or eq ne lt gt. 0 if not one. */
static unsigned txn_cmp(const cli_arg_t *a)
{
    static const char *const words[][2] = {{"=", "eq"}, {"!=", "ne"}, {"<", "lt"}, {">", "gt"}};
    for (unsigned i = 0; i < 4; i++)
        if (is(a, words[i][0]) || is(a, words[i][1]))
            return FICKLE_TXN_CMP_EQUAL + i;
    return 0;
}

/* One compare at a[*i]: version KEY OP N | value KEY OP VALUE | exists KEY
 * | missing KEY. Returns FICKLE_OK (advancing *i) or a usage error. */
static int txn_compare(fickle_txn_t *t, int argc, cli_arg_t *a, int *i)
{
    const cli_arg_t *w = &a[*i];
    int left = argc - *i - 1;
    if ((is(w, "exists") || is(w, "missing")) && left >= 1) {
        *i += 2;
        return fickle_txn_compare_exists(t, w[1].p, w[1].len, is(w, "exists"));
    }
    unsigned cmp = left >= 3 ? txn_cmp(&w[2]) : 0;
    uint64_t v;
    if (is(w, "version") && cmp && to_u64(&w[3], &v)) {
        *i += 4;
        return fickle_txn_compare_version(t, w[1].p, w[1].len, cmp, v);
    }
    if (is(w, "value") && cmp) {
        *i += 4;
        return fickle_txn_compare_value(t, w[1].p, w[1].len, cmp, w[3].p, w[3].len);
    }
    return usage_err("txn: bad compare at '%s' (version KEY OP N | value KEY OP VALUE | exists KEY | missing KEY)",
                     w->p);
}

/* A range op at a[*i]: range MIN MAX [rev] [limit N]. */
static int txn_range(fickle_txn_t *t, fickle_txn_branch_t br, int argc, cli_arg_t *a, int *i)
{
    fickle_range_t q;
    fickle_range_init(&q);
    int lo = bound(&a[*i + 1], true, &q), hi = bound(&a[*i + 2], false, &q);
    if (lo < 0 || hi < 0)
        return usage_err("txn: range min or max not a valid range item ([key, (key, -, +)");
    if (lo || hi) { /* "+" as min or "-" as max: ("", "") is empty too */
        fickle_range_init(&q);
        q.start = q.end = "";
    }
    int64_t n;
    for (*i += 3; *i < argc; (*i)++) {
        if (is(&a[*i], "rev"))
            q.flags |= FICKLE_RANGE_REVERSE;
        else if (is(&a[*i], "limit") && *i + 1 < argc && to_i64(&a[*i + 1], &n) && n > 0 && n <= UINT32_MAX)
            q.limit = (uint32_t)n, (*i)++;
        else
            break;
    }
    return fickle_txn_range(t, br, &q);
}

/* One op at a[*i]: get KEY | set KEY VALUE [pxat ms|keepttl] | del KEY |
 * range MIN MAX [rev] [limit N]. */
static int txn_op(fickle_txn_t *t, fickle_txn_branch_t br, int argc, cli_arg_t *a, int *i)
{
    const cli_arg_t *w = &a[*i];
    int left = argc - *i - 1;
    if (is(w, "range") && left >= 2)
        return txn_range(t, br, argc, a, i);
    if ((is(w, "get") || is(w, "del")) && left >= 1) {
        *i += 2;
        return is(w, "get") ? fickle_txn_get(t, br, w[1].p, w[1].len) : fickle_txn_del(t, br, w[1].p, w[1].len);
    }
    if (!is(w, "set") || left < 2)
        return usage_err("txn: bad op at '%s' (get KEY | set KEY VALUE [pxat ms|keepttl] | del KEY | range MIN MAX)",
                         w->p);
    uint64_t exp = 0;
    unsigned fl = 0;
    *i += 3;
    if (*i < argc && is(&a[*i], "keepttl")) {
        fl = FICKLE_TXN_PUT_KEEPTTL;
        *i += 1;
    } else if (*i < argc && is(&a[*i], "pxat")) {
        if (*i + 1 >= argc || !to_u64(&a[*i + 1], &exp) || !exp)
            return usage_err("txn: pxat takes a positive integer");
        *i += 2;
    }
    return fickle_txn_put(t, br, w[1].p, w[1].len, w[2].p, w[2].len, exp, fl);
}

/* Builds the TXN from the words after "txn". */
static int txn_build(fickle_txn_t *t, int argc, cli_arg_t *a)
{
    int i = 1, rc = FICKLE_OK;
    while (i < argc && !is(&a[i], "then") && !is(&a[i], "else") && rc == FICKLE_OK)
        rc = txn_compare(t, argc, a, &i);
    for (int br = 0; br < 2 && rc == FICKLE_OK && i < argc; br++) {
        if (!is(&a[i], br ? "else" : "then")) {
            if (br == 0)
                continue; /* no then: straight to else */
            return usage_err("txn: '%s' where else or the end was expected", a[i].p);
        }
        for (i++; i < argc && !is(&a[i], "else") && rc == FICKLE_OK;)
            rc = txn_op(t, br ? FICKLE_TXN_FAILURE : FICKLE_TXN_SUCCESS, argc, a, &i);
    }
    if (rc == FICKLE_OK && i < argc)
        return usage_err("txn: unexpected '%s'", a[i].p);
    if (rc == FICKLE_ERR_NOMEM)
        return oom();
    return rc == FICKLE_OK ? CLI_OK : rc == CLI_USAGE ? CLI_USAGE : usage_err("txn: bad arguments");
}

static void txn_print(const cli_t *cli, const fickle_txn_result_t *r)
{
    uint64_t rev = fickle_txn_result_revision(r);
    printf("%s", fickle_txn_result_succeeded(r) ? "succeeded" : "failed");
    if (rev)
        printf(" revision=%" PRIu64, rev);
    putchar('\n');
    for (size_t i = 0; i < fickle_txn_result_count(r); i++) {
        const fickle_txn_op_result_t *e = fickle_txn_result_at(r, i);
        printf("%zu) ", i + 1);
        if (e->kind == FICKLE_TXN_OP_PUT)
            printf("OK version=%" PRIu64 "\n", e->version);
        else if (e->kind == FICKLE_TXN_OP_DELETE)
            puts(e->status == FICKLE_OK ? "1" : "0");
        else if (e->kind == FICKLE_TXN_OP_RANGE) {
            printf("rows=%zu%s\n", fickle_rows_count(e->rows), fickle_rows_more(e->rows) ? " more" : "");
            print_rows(cli, e->rows);
        }
        else if (e->status != FICKLE_OK)
            puts("(nil)");
        else
            outln(cli, e->value, e->vlen);
    }
}

static int c_txn(cli_t *cli, int argc, cli_arg_t *a)
{
    fickle_txn_t *t = fickle_txn_new();
    if (!t)
        return oom();
    int rc = txn_build(t, argc, a);
    if (rc == CLI_OK && (rc = cli_connect(cli)) == CLI_OK) {
        fickle_txn_result_t *r = NULL;
        rc = fickle_txn_exec(cli->conn, t, &r);
        if (rc == FICKLE_OK)
            txn_print(cli, r);
        rc = result(cli, rc);
        fickle_txn_result_free(r);
    }
    fickle_txn_free(t);
    return rc;
}

static int c_help(cli_t *cli, int argc, cli_arg_t *a)
{
    cli_help(stdout);
    return CLI_OK;
}

static const command_t commands[] = {
    {"get", 1, 1, c_get, "get key"},
    {"set", 2, 6, c_set, "set key value [ex s|px ms|exat s|pxat ms|keepttl] [nx|xx]"},
    {"cas", 3, 5, c_cas, "cas key value version [ex s|px ms|exat s|pxat ms|keepttl]"},
    {"del", 1, 2, c_del, "del key [version]"},
    {"exists", 1, 1, c_exists, "exists key"},
    {"incr", 1, 2, c_counter, "incr key [amount]"},
    {"decr", 1, 2, c_counter, "decr key [amount]"},
    {"mget", 1, -1, c_mget, "mget key [key ...]"},
    {"mset", 2, -1, c_mset, "mset key value [key value ...]"},
    {"msetnx", 2, -1, c_mset, "msetnx key value [key value ...]"},
    {"range", 2, 6, c_range, "range min max [rev] [limit n] [keys-only]   (min/max: [key (key - +)"},
    {"count", 2, 4, c_count, "count min max [limit n]"},
    {"stats", 0, 1, c_stats, "stats [section]"},
    {"ping", 0, 1, c_ping, "ping [message]"},
    {"auth", 1, 2, c_auth, "auth [user] password"},
    {"save", 0, 0, c_snapshot, "save   (waits for a snapshot; raise -t for big data sets)"},
    {"bgsave", 0, 0, c_snapshot, "bgsave"},
    {"lastsave", 0, 0, c_snapshot, "lastsave"},
    {"txn", 0, -1, c_txn, "txn [compare ...] [then op ...] [else op ...]   (compare: version|value KEY =|!=|<|> ARG, "
                          "exists|missing KEY; op: get KEY, set KEY VALUE [pxat ms|keepttl], del KEY, range MIN MAX [rev] [limit n])"},
    {"quit", 0, 0, c_quit, "quit"},
    {"help", 0, 1, c_help, "help"},
};

void cli_help(FILE *f)
{
    fputs("Commands (names are case-insensitive):\n", f);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %s\n", commands[i].usage);
}

int cli_run(cli_t *cli, int argc, cli_arg_t *argv)
{
    const command_t *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]) && !cmd; i++)
        if (is(&argv[0], commands[i].name))
            cmd = &commands[i];
    if (!cmd)
        return usage_err("unknown command '%s' (try help)", argv[0].p);
    int n = argc - 1;
    if (n < cmd->min || (cmd->max >= 0 && n > cmd->max))
        return usage_err("%s", cmd->usage);
    return cmd->run(cli, argc, argv);
}
