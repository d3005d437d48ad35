/*
 * resp_command.c — the RESP half of resp_parse: command lookup (Redis's
 * names, arities and subcommands), and decoding of the options the
 * executor shares with the native protocol (SET's EX/PX/NX..., INCRBY's
 * delta, EXPIRE's time and NX/XX/GT/LT, RANGE's bounds and LIMIT) into a
 * cmd_t. Error replies use Redis 7's wording.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "frontend/resp_parse.h"

typedef struct resp_entry resp_entry_t;
typedef cmd_parse_t (*decode_fn)(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd);

struct resp_entry {
    const char *name; /* lowercase; subcommands as "container|sub" */
    cmd_id_t id;
    int arity;        /* Redis's: words including the name; -k = at least k */
    decode_fn decode; /* NULL: operands are the words after the name */
};

static const char SYNTAX[] = "ERR syntax error";
static const char NOT_INT[] = "ERR value is not an integer or out of range";

/* ---- helpers ----------------------------------------------------------------- */

static cmd_parse_t ok(void)
{
    return (cmd_parse_t){.status = CMD_PARSE_OK};
}

static cmd_parse_t reject(resp_parser_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static cmd_parse_t reject(resp_parser_t *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    return (cmd_parse_t){.status = CMD_PARSE_ERROR, .msg = p->err};
}

static cmd_parse_t arity_error(resp_parser_t *p, const char *name)
{
    return reject(p, "ERR wrong number of arguments for '%s' command", name);
}

static bool is(const cmd_arg_t *a, const char *word)
{
    size_t n = strlen(word);
    return a->len == n && strncasecmp(a->ptr, word, n) == 0;
}

/* Length of a as Redis's %s would print it: up to max, stopping at a NUL. */
static int cstr_len(const cmd_arg_t *a, size_t max)
{
    size_t n = a->len < max ? a->len : max;
    const char *nul = memchr(a->ptr, '\0', n);
    return (int)(nul ? (size_t)(nul - a->ptr) : n);
}

static bool arity_ok(int arity, size_t n)
{
    return arity >= 0 ? n == (size_t)arity : n >= (size_t)-arity;
}

/* Operands = the words after the first `skip`. */
static void operands(cmd_t *cmd, cmd_arg_t *w, size_t n, size_t skip)
{
    cmd->argv = w + skip;
    cmd->argc = n - skip;
}

/* Parses an expiry the way Redis's SET/GETEX/EXPIRE do. seconds: the value
 * is in seconds; relative: from now; positive: must be > 0 (SET, GETEX). */
static bool expire_value(resp_parser_t *p, const resp_entry_t *e, const cmd_arg_t *a, bool seconds, bool relative,
                         bool positive, int64_t *ms, cmd_parse_t *err)
{
    int64_t v;
    if (!cmd_parse_i64(a->ptr, a->len, &v)) {
        *err = reject(p, NOT_INT);
        return false;
    }
    bool bad = positive && v <= 0;
    if (seconds && (v > INT64_MAX / 1000 || v < INT64_MIN / 1000))
        bad = true;
    if (!bad && seconds)
        v *= 1000;
    if (!bad && relative && v > CMD_EXPIRY_REL_MAX)
        bad = true;
    if (bad) {
        *err = reject(p, "ERR invalid expire time in '%s' command", e->name);
        return false;
    }
    *ms = v;
    return true;
}

/* ---- SET family ------------------------------------------------------------- */

enum { UNIT_NONE, UNIT_EX, UNIT_PX, UNIT_EXAT, UNIT_PXAT };

static int unit_of(const cmd_arg_t *a)
{
    return is(a, "ex") ? UNIT_EX : is(a, "px") ? UNIT_PX : is(a, "exat") ? UNIT_EXAT : is(a, "pxat") ? UNIT_PXAT
                                                                                                       : UNIT_NONE;
}

/* SET's and GETEX's options from w[from]: sets cmd flags and expiry. */
static cmd_parse_t string_options(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, size_t from,
                                  bool set, cmd_t *cmd)
{
    uint32_t f = 0;
    int unit = UNIT_NONE;
    const cmd_arg_t *when = NULL;
    for (size_t j = from; j < n; j++) {
        const cmd_arg_t *o = &w[j];
        int u = unit_of(o);
        if (set && is(o, "nx") && !(f & CMD_F_XX)) {
            f |= CMD_F_NX;
        } else if (set && is(o, "xx") && !(f & CMD_F_NX)) {
            f |= CMD_F_XX;
        } else if (set && is(o, "get")) {
            f |= CMD_F_GET;
        } else if (set && is(o, "keepttl") && unit == UNIT_NONE) {
            f |= CMD_F_KEEPTTL;
        } else if (!set && is(o, "persist") && unit == UNIT_NONE) {
            f |= CMD_F_PERSIST;
        } else if (u != UNIT_NONE && (unit == UNIT_NONE || unit == u) && !(f & (CMD_F_KEEPTTL | CMD_F_PERSIST)) &&
                   j + 1 < n) {
            unit = u;
            when = &w[++j];
        } else {
            return reject(p, SYNTAX);
        }
    }
    if (when) {
        cmd_parse_t err;
        bool rel = unit == UNIT_EX || unit == UNIT_PX;
        if (!expire_value(p, e, when, unit == UNIT_EX || unit == UNIT_EXAT, rel, true, &cmd->expiry_ms, &err))
            return err;
        f |= rel ? CMD_F_EXP_REL : CMD_F_EXP_ABS;
    }
    cmd->flags |= f;
    return ok();
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
static cmd_parse_t dec_set(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    operands(cmd, w, 3, 1);
    return string_options(p, e, w, n, 3, true, cmd);
}

/* GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST] */
static cmd_parse_t dec_getex(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    operands(cmd, w, 2, 1);
    return string_options(p, e, w, n, 2, false, cmd);
}

/* SETNX key value: SET NX replying 1/0. */
static cmd_parse_t dec_setnx(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    cmd->flags |= CMD_F_NX;
    operands(cmd, w, n, 1);
    return ok();
}

/* GETSET key value: SET ... GET. */
static cmd_parse_t dec_getset(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    cmd->flags |= CMD_F_GET;
    operands(cmd, w, n, 1);
    return ok();
}

/* SETEX key seconds value, PSETEX key ms value: SET with a relative expiry. */
static cmd_parse_t dec_setex(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    cmd_parse_t err;
    bool seconds = e->name[0] == 's';
    if (!expire_value(p, e, &w[2], seconds, true, true, &cmd->expiry_ms, &err))
        return err;
    cmd->flags |= CMD_F_EXP_REL;
    w[2] = w[3];
    operands(cmd, w, 3, 1);
    return ok();
}

/* ---- counters, multi-key ------------------------------------------------------ */

/* INCR, DECR, INCRBY n, DECRBY n: one signed delta. */
static cmd_parse_t dec_incr(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    bool decr = e->name[0] == 'd';
    int64_t v = 1;
    if (n == 3 && !cmd_parse_i64(w[2].ptr, w[2].len, &v))
        return reject(p, NOT_INT);
    if (decr && v == INT64_MIN)
        return reject(p, "ERR decrement would overflow");
    cmd->delta = decr ? -v : v;
    operands(cmd, w, 2, 1);
    return ok();
}

/* MSET/MSETNX key value [key value ...] */
static cmd_parse_t dec_mset(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    if ((n - 1) % 2 != 0)
        return arity_error(p, e->name);
    if (cmd->id == CMD_MSETNX)
        cmd->flags |= CMD_F_NX;
    operands(cmd, w, n, 1);
    return ok();
}

/* PING [message] */
static cmd_parse_t dec_ping(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    if (n > 2)
        return arity_error(p, e->name);
    operands(cmd, w, n, 1);
    return ok();
}

/* AUTH [username] password */
static cmd_parse_t dec_auth(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    if (n > 3)
        return reject(p, SYNTAX);
    operands(cmd, w, n, 1);
    return ok();
}

/* ---- expiry --------------------------------------------------------------------- */

/* EXPIRE key seconds [NX|XX|GT|LT], PEXPIRE, EXPIREAT, PEXPIREAT. A time in
 * the past (even negative) is valid: the key is deleted. */
static cmd_parse_t dec_expire(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    uint32_t f = 0;
    for (size_t j = 3; j < n; j++) {
        if (is(&w[j], "nx"))
            f |= CMD_F_NX;
        else if (is(&w[j], "xx"))
            f |= CMD_F_XX;
        else if (is(&w[j], "gt"))
            f |= CMD_F_GT;
        else if (is(&w[j], "lt"))
            f |= CMD_F_LT;
        else
            return reject(p, "ERR Unsupported option %.*s", cstr_len(&w[j], 256), w[j].ptr);
    }
    if ((f & CMD_F_NX) && (f & (CMD_F_XX | CMD_F_GT | CMD_F_LT)))
        return reject(p, "ERR NX and XX, GT or LT options at the same time are not compatible");
    if ((f & CMD_F_GT) && (f & CMD_F_LT))
        return reject(p, "ERR GT and LT options at the same time are not compatible");
    bool ms = e->name[0] == 'p';
    bool at = strstr(e->name, "at") != NULL;
    cmd_parse_t err;
    if (!expire_value(p, e, &w[2], !ms, !at, false, &cmd->expiry_ms, &err))
        return err;
    cmd->flags |= f | (at ? CMD_F_EXP_ABS : CMD_F_EXP_REL);
    operands(cmd, w, 2, 1);
    return ok();
}

/* ---- ordered ranges ---------------------------------------------------------------- */

/* One lexicographic bound: "-", "+", "[key" or "(key", as ZRANGEBYLEX.
 * w is rewritten to the bare key. *empty is set when the bound makes the
 * range empty ("+" as the start, "-" as the end). */
static bool lex_bound(cmd_arg_t *w, bool lo, uint32_t *flags, bool *empty)
{
    if (w->len == 0)
        return false;
    char c = w->ptr[0];
    if ((c == '-' || c == '+') && w->len != 1)
        return false;
    if (c == '-' || c == '+') {
        *flags |= lo ? CMD_F_LO_INF : CMD_F_HI_INF;
        if ((c == '+') == lo)
            *empty = true;
    } else if (c == '(') {
        *flags |= lo ? CMD_F_LO_EXCL : CMD_F_HI_EXCL;
    } else if (c != '[') {
        return false;
    }
    w->ptr += 1;
    w->len -= 1;
    if (c == '-' || c == '+')
        w->len = 0;
    return true;
}

static cmd_parse_t range_bounds(resp_parser_t *p, cmd_arg_t *w, cmd_t *cmd, bool *empty)
{
    if (!lex_bound(&w[1], true, &cmd->flags, empty) || !lex_bound(&w[2], false, &cmd->flags, empty))
        return reject(p, "ERR min or max not valid string range item");
    operands(cmd, w, 3, 1);
    return ok();
}

/* RANGE min max [REV] [LIMIT n] [WITHVALUES]: keys only unless WITHVALUES;
 * min and max keep their order with REV; LIMIT < 0 means no limit. */
static cmd_parse_t dec_range(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    bool empty = false;
    cmd->flags |= CMD_F_KEYS_ONLY;
    for (size_t j = 3; j < n; j++) {
        int64_t v;
        if (is(&w[j], "rev")) {
            cmd->flags |= CMD_F_REV;
        } else if (is(&w[j], "withvalues")) {
            cmd->flags &= ~(uint32_t)CMD_F_KEYS_ONLY;
        } else if (is(&w[j], "limit") && j + 1 < n) {
            j++;
            if (!cmd_parse_i64(w[j].ptr, w[j].len, &v))
                return reject(p, NOT_INT);
            cmd->limit = v < 0 ? CMD_NO_LIMIT : (uint64_t)v;
        } else {
            return reject(p, SYNTAX);
        }
    }
    cmd_parse_t r = range_bounds(p, w, cmd, &empty);
    if (empty)
        cmd->limit = 0;
    return r;
}

/* RCOUNT min max */
static cmd_parse_t dec_rcount(resp_parser_t *p, const resp_entry_t *e, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    bool empty = false;
    cmd_parse_t r = range_bounds(p, w, cmd, &empty);
    if (empty)
        cmd->limit = 0;
    return r;
}

/* ---- tables (sorted by name: lookups are binary searches) ---------------------------- */

static const resp_entry_t client_subs[] = {
    {"client|getname", CMD_CLIENT_GETNAME, 2, NULL},
    {"client|id", CMD_CLIENT_ID, 2, NULL},
    {"client|setinfo", CMD_CLIENT_SETINFO, 4, NULL},
    {"client|setname", CMD_CLIENT_SETNAME, 3, NULL},
};

static const resp_entry_t config_subs[] = {
    {"config|get", CMD_CONFIG_GET, -3, NULL},
};

/* Containers have id CMD_NONE; their subcommands are found by name. */
static const resp_entry_t commands[] = {
    {"append", CMD_APPEND, 3, NULL},
    {"auth", CMD_AUTH, -2, dec_auth},
    {"bgsave", CMD_BGSAVE, -1, NULL},
    {"client", CMD_NONE, -2, NULL},
    {"command", CMD_COMMAND, -1, NULL},
    {"config", CMD_NONE, -2, NULL},
    {"dbsize", CMD_DBSIZE, 1, NULL},
    {"decr", CMD_INCRBY, 2, dec_incr},
    {"decrby", CMD_INCRBY, 3, dec_incr},
    {"del", CMD_DEL, -2, NULL},
    {"discard", CMD_DISCARD, 1, NULL},
    {"echo", CMD_ECHO, 2, NULL},
    {"exec", CMD_EXEC, 1, NULL},
    {"exists", CMD_EXISTS, -2, NULL},
    {"expire", CMD_EXPIRE, -3, dec_expire},
    {"expireat", CMD_EXPIRE, -3, dec_expire},
    {"expiretime", CMD_EXPIRETIME, 2, NULL},
    {"flushall", CMD_FLUSHALL, -1, NULL},
    {"flushdb", CMD_FLUSHDB, -1, NULL},
    {"get", CMD_GET, 2, NULL},
    {"getdel", CMD_GETDEL, 2, NULL},
    {"getex", CMD_GETEX, -2, dec_getex},
    {"getrange", CMD_GETRANGE, 4, NULL},
    {"getset", CMD_SET, 3, dec_getset},
    {"hello", CMD_HELLO, -1, NULL},
    {"incr", CMD_INCRBY, 2, dec_incr},
    {"incrby", CMD_INCRBY, 3, dec_incr},
    {"incrbyfloat", CMD_INCRBYFLOAT, 3, NULL},
    {"info", CMD_INFO, -1, NULL},
    {"keys", CMD_KEYS, 2, NULL},
    {"lastsave", CMD_LASTSAVE, 1, NULL},
    {"mget", CMD_MGET, -2, NULL},
    {"mset", CMD_MSET, -3, dec_mset},
    {"msetnx", CMD_MSETNX, -3, dec_mset},
    {"multi", CMD_MULTI, 1, NULL},
    {"persist", CMD_PERSIST, 2, NULL},
    {"pexpire", CMD_EXPIRE, -3, dec_expire},
    {"pexpireat", CMD_EXPIRE, -3, dec_expire},
    {"pexpiretime", CMD_PEXPIRETIME, 2, NULL},
    {"ping", CMD_PING, -1, dec_ping},
    {"psetex", CMD_SET, 4, dec_setex},
    {"pttl", CMD_PTTL, 2, NULL},
    {"quit", CMD_QUIT, -1, NULL},
    {"randomkey", CMD_RANDOMKEY, 1, NULL},
    {"range", CMD_RANGE, -3, dec_range},
    {"rcount", CMD_RCOUNT, 3, dec_rcount},
    {"rename", CMD_RENAME, 3, NULL},
    {"renamenx", CMD_RENAMENX, 3, NULL},
    {"save", CMD_SAVE, 1, NULL},
    {"scan", CMD_SCAN, -2, NULL},
    {"select", CMD_SELECT, 2, NULL},
    {"set", CMD_SET, -3, dec_set},
    {"setex", CMD_SET, 4, dec_setex},
    {"setnx", CMD_SETNX, 3, dec_setnx},
    {"setrange", CMD_SETRANGE, 4, NULL},
    {"strlen", CMD_STRLEN, 2, NULL},
    {"time", CMD_TIME, 1, NULL},
    {"ttl", CMD_TTL, 2, NULL},
    {"type", CMD_TYPE, 2, NULL},
    {"unlink", CMD_DEL, -2, NULL},
    {"unwatch", CMD_UNWATCH, 1, NULL},
    {"watch", CMD_WATCH, -2, NULL},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Binary search by case-insensitive name; prefix: "client|" etc. */
static const resp_entry_t *lookup(const resp_entry_t *tab, size_t n, const char *prefix, const cmd_arg_t *name)
{
    char key[32];
    size_t plen = strlen(prefix);
    if (name->len == 0 || plen + name->len >= sizeof(key))
        return NULL;
    memcpy(key, prefix, plen);
    for (size_t i = 0; i < name->len; i++) {
        char c = name->ptr[i];
        key[plen + i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    key[plen + name->len] = '\0';
    if (memchr(key, '\0', plen + name->len))
        return NULL; /* a NUL inside the name */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(key, tab[mid].name);
        if (c == 0)
            return &tab[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' ", as Redis 7. */
static cmd_parse_t unknown_command(resp_parser_t *p, const cmd_arg_t *w, size_t n)
{
    char args[200] = "";
    size_t alen = 0;
    for (size_t i = 1; i < n && alen < 128; i++) {
        int l = cstr_len(&w[i], 128 - alen);
        alen += (size_t)snprintf(args + alen, sizeof(args) - alen, "'%.*s' ", l, w[i].ptr);
    }
    return reject(p, "ERR unknown command '%.*s', with args beginning with: %s", cstr_len(&w[0], 128), w[0].ptr, args);
}

/* Resolves CLIENT/CONFIG subcommands. */
static const resp_entry_t *subcommand(resp_parser_t *p, const resp_entry_t *e, const cmd_arg_t *w, cmd_parse_t *err)
{
    bool client = e->name[1] == 'l';
    const resp_entry_t *s = client ? lookup(client_subs, NELEM(client_subs), "client|", &w[1])
                                   : lookup(config_subs, NELEM(config_subs), "config|", &w[1]);
    if (!s)
        *err = reject(p, "ERR unknown subcommand '%.*s'. Try %s HELP.", cstr_len(&w[1], 128), w[1].ptr,
                      client ? "CLIENT" : "CONFIG");
    return s;
}

cmd_parse_t resp_decode(resp_parser_t *p, cmd_arg_t *w, size_t n, cmd_t *cmd)
{
    *cmd = (cmd_t){.proto = CMD_PROTO_RESP, .limit = CMD_NO_LIMIT};
    p->table_error = true; /* until the table accepted the request */
    const resp_entry_t *e = n ? lookup(commands, NELEM(commands), "", &w[0]) : NULL;
    if (!e)
        return n ? unknown_command(p, w, n) : reject(p, "ERR empty command");
    if (!arity_ok(e->arity, n))
        return arity_error(p, e->name);
    size_t skip = 1;
    if (e->id == CMD_NONE) {
        cmd_parse_t err;
        if (!(e = subcommand(p, e, w, &err)))
            return err;
        if (!arity_ok(e->arity, n))
            return arity_error(p, e->name);
        skip = 2;
    }
    p->table_error = false;
    cmd->id = e->id;
    if (!e->decode) {
        operands(cmd, w, n, skip);
        return ok();
    }
    cmd_parse_t r = e->decode(p, e, w, n, cmd);
    if (r.status != CMD_PARSE_OK)
        cmd->id = CMD_NONE;
    return r;
}

/* For tests: the command table must stay sorted for the binary search. */
bool resp_command_table_sorted(void);
bool resp_command_table_sorted(void)
{
    for (size_t i = 1; i < NELEM(commands); i++)
        if (strcmp(commands[i - 1].name, commands[i].name) >= 0)
            return false;
    for (size_t i = 1; i < NELEM(client_subs); i++)
        if (strcmp(client_subs[i - 1].name, client_subs[i].name) >= 0)
            return false;
    return true;
}

size_t resp_command_count(void)
{
    return NELEM(commands);
}

bool resp_command_at(size_t i, const char **name, int *arity, bool *write)
{
    if (i >= NELEM(commands))
        return false;
    *name = commands[i].name;
    *arity = commands[i].arity;
    *write = commands[i].id != CMD_NONE && (cmd_info(commands[i].id) & CMD_I_WRITE);
    return true;
}
