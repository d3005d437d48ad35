/*
 * resp_exec_server.c — RESP connection and server commands (PING, AUTH,
 * HELLO, CLIENT, COMMAND, INFO, CONFIG GET, SAVE, BGSAVE, LASTSAVE, ...)
 * and the keyspace walks (KEYS, SCAN, RANDOMKEY, TYPE, DBSIZE, FLUSHDB).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "frontend/resp_exec.h"
#include "frontend/resp_reply.h"
#include "common/log.h"
#include "frontend/worker.h"

static const char WRONGPASS[] = "WRONGPASS invalid username-password pair or user is disabled.";

static bool word_is(const cmd_arg_t *a, const char *w)
{
    return a->len == strlen(w) && strncasecmp(a->ptr, w, a->len) == 0;
}

/* exec_auth, with Redis's rule for a server without a password: the
 * default user has none, so "AUTH default <anything>" succeeds and any
 * other user is a wrong password; only the one-word form is an error. */
static int auth(conn_t *c, const cmd_t *cmd)
{
    int r = exec_auth(c, cmd);
    if (r < 0 && cmd->argc == 2)
        r = cmd->argv[0].len == 7 && memcmp(cmd->argv[0].ptr, "default", 7) == 0;
    return r;
}

static int do_auth(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    int r = auth(c, cmd);
    if (r < 0)
        return resp_reply_error(out, "ERR AUTH <password> called without any password configured for the default "
                                     "user. Are you sure your configuration is correct?");
    return r ? resp_reply_ok(out) : resp_reply_error(out, WRONGPASS);
}

static bool valid_name(const cmd_arg_t *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~')
            return false;
    return true;
}

/* Returns 0 (name set, nothing written) or 1 (an error reply was written).
 * Redis has no length limit; fickle keeps names to RESP_CLIENT_NAME_MAX
 * bytes and says so rather than blaming the characters. */
static int set_name(resp_state_t *s, const cmd_arg_t *a, struct evbuffer *out)
{
    if (!valid_name(a)) {
        resp_reply_error(out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return 1;
    }
    if (a->len > RESP_CLIENT_NAME_MAX) {
        resp_reply_errorf(out, "ERR Client names are limited to %d bytes", RESP_CLIENT_NAME_MAX);
        return 1;
    }
    memcpy(s->name, a->ptr, a->len);
    s->name[a->len] = '\0';
    s->has_name = a->len > 0;
    return 0;
}

static int hello_reply(conn_t *c, struct evbuffer *out)
{
    if (resp_reply_array(out, 14) != 0)
        return -1;
    resp_reply_bulk_str(out, "server");
    resp_reply_bulk_str(out, "redis");
    resp_reply_bulk_str(out, "version");
    resp_reply_bulk_str(out, "7.0.0");
    resp_reply_bulk_str(out, "proto");
    resp_reply_int(out, 2);
    resp_reply_bulk_str(out, "id");
    resp_reply_int(out, (int64_t)c->id);
    resp_reply_bulk_str(out, "mode");
    resp_reply_bulk_str(out, "standalone");
    resp_reply_bulk_str(out, "role");
    resp_reply_bulk_str(out, "master");
    resp_reply_bulk_str(out, "modules");
    return resp_reply_array(out, 0);
}

/* HELLO [protover [AUTH user pass] [SETNAME name]]: RESP2 only. */
static int do_hello(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    if (cmd->argc >= 1) {
        int64_t v;
        if (!cmd_parse_i64(cmd->argv[0].ptr, cmd->argv[0].len, &v))
            return resp_reply_error(out, "ERR Protocol version is not an integer or out of range");
        if (v != 2)
            return resp_reply_error(out, "NOPROTO unsupported protocol version");
    }
    const cmd_arg_t *name = NULL;
    for (size_t i = 1; i < cmd->argc; i++) {
        if (word_is(&cmd->argv[i], "auth") && i + 2 < cmd->argc) {
            cmd_t login = {.id = CMD_AUTH, .argc = 2, .argv = &cmd->argv[i + 1]};
            if (auth(c, &login) != 1)
                return resp_reply_error(out, WRONGPASS);
            i += 2;
        } else if (word_is(&cmd->argv[i], "setname") && i + 1 < cmd->argc) {
            name = &cmd->argv[++i];
        } else {
            return resp_reply_errorf(out, "ERR Syntax error in HELLO option '%.*s'", (int)cmd->argv[i].len,
                                     cmd->argv[i].ptr);
        }
    }
    if (!c->authed)
        return resp_reply_error(out, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                                     "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
                                     "and select the RESP protocol version at the same time");
    if (name && set_name(s, name, out) != 0)
        return 0;
    return hello_reply(c, out);
}

static int do_client(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    switch (cmd->id) {
    case CMD_CLIENT_ID: return resp_reply_int(out, (int64_t)c->id);
    case CMD_CLIENT_GETNAME: return s->has_name ? resp_reply_bulk_str(out, s->name) : resp_reply_null(out);
    case CMD_CLIENT_SETNAME: return set_name(s, &cmd->argv[0], out) == 0 ? resp_reply_ok(out) : 0;
    default: /* SETINFO attr value */
        if (!word_is(&cmd->argv[0], "lib-name") && !word_is(&cmd->argv[0], "lib-ver"))
            return resp_reply_errorf(out, "ERR Unrecognized option '%.*s'", (int)cmd->argv[0].len, cmd->argv[0].ptr);
        return resp_reply_ok(out);
    }
}

/* One COMMAND entry: [name, arity, [flags], first key, last key, step]. */
static int command_entry(struct evbuffer *out, const char *name, int arity, bool write)
{
    resp_reply_array(out, 6);
    resp_reply_bulk_str(out, name);
    resp_reply_int(out, arity);
    resp_reply_array(out, 1);
    resp_reply_simple(out, write ? "write" : "readonly", write ? 5 : 8);
    bool keyed = !strchr(name, '|') && arity != 1 && arity != -1;
    resp_reply_int(out, keyed ? 1 : 0);
    resp_reply_int(out, keyed ? 1 : 0);
    return resp_reply_int(out, keyed ? 1 : 0);
}

static int do_command(const cmd_t *cmd, struct evbuffer *out)
{
    size_t n = resp_command_count();
    const char *name;
    int arity;
    bool write;
    if (cmd->argc == 0) {
        resp_reply_array(out, n);
        for (size_t i = 0; resp_command_at(i, &name, &arity, &write); i++)
            command_entry(out, name, arity, write);
        return 0;
    }
    if (word_is(&cmd->argv[0], "count"))
        return cmd->argc == 1 ? resp_reply_int(out, (int64_t)n)
                              : resp_reply_error(out, "ERR wrong number of arguments for 'command|count' command");
    if (word_is(&cmd->argv[0], "docs")) /* no docs yet: an empty map, which redis-cli accepts */
        return resp_reply_array(out, 0);
    return resp_reply_errorf(out, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.", (int)cmd->argv[0].len,
                             cmd->argv[0].ptr);
}

static int do_info(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    struct evbuffer *text = evbuffer_new();
    if (text == NULL)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < (cmd->argc ? cmd->argc : 1); i++)
        rc = exec_info(c, cmd->argc ? cmd->argv[i].ptr : NULL, cmd->argc ? cmd->argv[i].len : 0, text);
    size_t len = evbuffer_get_length(text);
    if (rc == 0)
        rc = resp_reply_bulk(out, evbuffer_pullup(text, -1), len);
    evbuffer_free(text);
    return rc;
}

/* Redis's name of a log level (fickle's --log-level takes the same). */
static const char *log_level_name(int level)
{
    switch (level) {
    case LOG_DEBUG: return "debug";
    case LOG_INFO: return "verbose";
    case LOG_NOTICE: return "notice";
    default: return "warning";
    }
}

/* CONFIG GET: the parameters clients and tools probe, read-only; those
 * SIGHUP reloads are this worker's current values. requirepass is left
 * out on purpose: a secret is not echoed. */
static int do_config_get(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    const runtime_t *rt = c->w->conf->runtime;
    char maxmem[24], maxclients[24], timeout[24], port[24], maxbulk[24], maxout[24];
    store_stats_t s;
    uint64_t region = store_stats(exec_store(c), &s) == STORE_OK ? s.region_size : 0;
    snprintf(maxmem, sizeof(maxmem), "%llu", (unsigned long long)region);
    snprintf(maxclients, sizeof(maxclients), "%u", c->w->settings.maxclients);
    snprintf(timeout, sizeof(timeout), "%u", c->w->settings.timeout_s);
    snprintf(port, sizeof(port), "%u", rt->resp_port);
    snprintf(maxbulk, sizeof(maxbulk), "%llu", (unsigned long long)store_max_value(exec_store(c)));
    snprintf(maxout, sizeof(maxout), "%llu", (unsigned long long)c->w->settings.max_output);
    const char *params[][2] = {
        {"maxmemory", maxmem},       {"maxmemory-policy", "noeviction"}, {"maxclients", maxclients},
        {"timeout", timeout},        {"port", port},                    {"databases", "1"},
        {"save", ""},                {"appendonly", "no"},              {"appendfsync", rt->fsync},
        {"proto-max-bulk-len", maxbulk},
        {"protected-mode", c->w->settings.protected_mode ? "yes" : "no"},
        {"loglevel", log_level_name(log_get_level())},
        {"max-output", maxout},
    };
    size_t n = sizeof(params) / sizeof(params[0]);
    bool hit[sizeof(params) / sizeof(params[0])] = {false};
    size_t nhit = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < cmd->argc && !hit[i]; a++)
            if (ops_glob_match(cmd->argv[a].ptr, cmd->argv[a].len, params[i][0], strlen(params[i][0]), true))
                hit[i] = true, nhit++;
    resp_reply_array(out, 2 * nhit);
    for (size_t i = 0; i < n; i++)
        if (hit[i]) {
            resp_reply_bulk_str(out, params[i][0]);
            resp_reply_bulk_str(out, params[i][1]);
        }
    return 0;
}

static int do_time(struct evbuffer *out)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    resp_reply_array(out, 2);
    resp_reply_bulk_i64(out, tv.tv_sec);
    return resp_reply_bulk_i64(out, tv.tv_usec);
}

static int do_select(const cmd_t *cmd, struct evbuffer *out)
{
    int64_t db;
    if (!cmd_parse_i64(cmd->argv[0].ptr, cmd->argv[0].len, &db))
        return resp_reply_error(out, "ERR value is not an integer or out of range");
    return db == 0 ? resp_reply_ok(out) : resp_reply_error(out, "ERR DB index is out of range");
}

static int do_flush(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (cmd->argc > 1 || (cmd->argc == 1 && !word_is(&cmd->argv[0], "sync") && !word_is(&cmd->argv[0], "async")))
        return resp_reply_error(out, "ERR syntax error");
    store_err_t err = store_clear(exec_store(c));
    return err == STORE_OK ? resp_reply_ok(out) : resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
}

/* KEYS: the pattern's literal prefix narrows the walk to one key range. */
typedef struct {
    const cmd_arg_t *pat;
    struct evbuffer *body;
    size_t n;
    uint64_t max_bytes;
    bool too_big;
} keys_walk_t;

static bool keys_row(void *arg, const store_row_t *row)
{
    keys_walk_t *k = arg;
    if (!ops_glob_match(k->pat->ptr, k->pat->len, row->key, row->klen, false))
        return true;
    if (resp_reply_bulk(k->body, row->key, row->klen) != 0 ||
        (k->max_bytes && evbuffer_get_length(k->body) > k->max_bytes))
        return k->too_big = true, false;
    k->n++;
    return true;
}

static size_t literal_prefix(const cmd_arg_t *pat)
{
    size_t i = 0;
    while (i < pat->len && !strchr("*?[\\", pat->ptr[i]))
        i++;
    return i;
}

static int do_keys(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    keys_walk_t k = {.pat = &cmd->argv[0], .body = evbuffer_new(), .max_bytes = c->w->settings.max_output};
    if (k.body == NULL)
        return -1;
    store_range_t q = {.keys_only = true};
    size_t plen = literal_prefix(k.pat);
    char *succ = plen ? malloc(plen) : NULL;
    if (plen && succ)
        store_prefix_bounds(&q, k.pat->ptr, plen, succ);
    q.keys_only = true;
    store_err_t err = resp_walk(exec_store(c), exec_scratch(c), &q, keys_row, &k);
    int rc;
    if (err != STORE_OK)
        rc = resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    else if (k.too_big)
        rc = resp_reply_error(out, "ERR reply too large for the client output limit; use SCAN");
    else if ((rc = resp_reply_array(out, k.n)) == 0)
        rc = evbuffer_add_buffer(out, k.body);
    free(succ);
    evbuffer_free(k.body);
    return rc;
}

typedef struct {
    uint64_t left;
    store_buf_t *key;
    bool found, nomem;
} skip_walk_t;

static bool skip_row(void *arg, const store_row_t *row)
{
    skip_walk_t *k = arg;
    if (--k->left > 0)
        return true;
    k->key->len = 0;
    if (!store_buf_reserve(k->key, row->klen))
        return k->nomem = true, false;
    memcpy(k->key->data, row->key, row->klen);
    k->key->len = row->klen;
    k->found = true;
    return false;
}

/* Where a SCAN with this cursor resumes: after the key this connection's
 * last SCAN ended on if it hands back that cursor, else after the
 * cursor-th key (a cursor is a position in key order; O(cursor) then).
 * Returns false if the cursor is past the end. */
static bool scan_resume(conn_t *c, resp_state_t *s, uint64_t cursor, store_range_t *q)
{
    if (cursor == 0)
        return true;
    if (cursor != s->scan_cursor) {
        skip_walk_t k = {.left = cursor, .key = &s->scan_key};
        store_range_t all = {.keys_only = true};
        if (resp_walk(exec_store(c), exec_scratch(c), &all, skip_row, &k) != STORE_OK || !k.found)
            return false;
    }
    q->lo = (store_bound_t){STORE_BOUND_EXCL, s->scan_key.data, s->scan_key.len};
    return true;
}

static int scan_options(const cmd_t *cmd, const cmd_arg_t **match, int64_t *count, bool *type_ok, struct evbuffer *out)
{
    for (size_t i = 1; i < cmd->argc; i += 2) {
        const cmd_arg_t *o = &cmd->argv[i];
        if (i + 1 >= cmd->argc)
            return resp_reply_error(out, "ERR syntax error"), 1;
        const cmd_arg_t *v = &cmd->argv[i + 1];
        if (word_is(o, "match"))
            *match = v;
        else if (word_is(o, "count") && !cmd_parse_i64(v->ptr, v->len, count))
            return resp_reply_error(out, "ERR value is not an integer or out of range"), 1;
        else if (word_is(o, "count") && *count < 1)
            return resp_reply_error(out, "ERR syntax error"), 1;
        else if (word_is(o, "type"))
            *type_ok = word_is(v, "string");
        else if (!word_is(o, "count"))
            return resp_reply_error(out, "ERR syntax error"), 1;
    }
    return 0;
}

static int do_scan(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    const cmd_arg_t *cur = &cmd->argv[0], *match = NULL;
    char digits[64];
    char *end;
    /* Redis's rule (strtoul): no leading space, nothing after the digits,
     * no overflow; a negative cursor wraps round, as there. */
    if (cur->len >= sizeof(digits))
        return resp_reply_error(out, "ERR invalid cursor");
    memcpy(digits, cur->ptr, cur->len);
    digits[cur->len] = '\0';
    errno = 0;
    uint64_t cursor = strtoull(digits, &end, 10);
    if (isspace((unsigned char)digits[0]) || *end || errno == ERANGE)
        return resp_reply_error(out, "ERR invalid cursor");
    int64_t count = 10;
    bool type_ok = true;
    if (scan_options(cmd, &match, &count, &type_ok, out) != 0)
        return 0;
    store_range_t q = {.keys_only = true, .limit = (size_t)count};
    exec_scratch_t *sc = exec_scratch(c);
    size_t got = 0;
    bool resumed = scan_resume(c, s, cursor, &q);
    if (resumed) {
        store_err_t err = store_range(exec_store(c), &q, &sc->rows);
        if (err != STORE_OK)
            return resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
        got = sc->rows.count;
    }
    struct evbuffer *keys = evbuffer_new();
    if (keys == NULL)
        return -1;
    size_t pos = 0, n = 0;
    store_row_t row, last = {0};
    /* Past the end: no rows (the worker's scratch rows are another query's). */
    while (resumed && store_rows_next(&sc->rows, &pos, &row)) {
        last = row;
        if (type_ok && (!match || ops_glob_match(match->ptr, match->len, row.key, row.klen, false)))
            n++, resp_reply_bulk(keys, row.key, row.klen);
    }
    uint64_t next = got < (size_t)count ? 0 : cursor + got;
    s->scan_cursor = next;
    s->scan_key.len = 0;
    if (next && store_buf_reserve(&s->scan_key, last.klen)) {
        memcpy(s->scan_key.data, last.key, last.klen);
        s->scan_key.len = last.klen;
    } else {
        s->scan_cursor = 0; /* nothing to resume from: a later call walks */
    }
    resp_reply_array(out, 2);
    resp_reply_bulk_i64(out, (int64_t)next);
    resp_reply_array(out, n);
    int rc = evbuffer_add_buffer(out, keys);
    evbuffer_free(keys);
    return rc;
}

/* RANDOMKEY: the first key at or after a random probe (wrapping round);
 * not uniform when keys cluster, which Redis does not promise either. */
static int do_randomkey(conn_t *c, struct evbuffer *out)
{
    unsigned char probe[8];
    for (size_t i = 0; i < sizeof(probe); i++)
        probe[i] = (unsigned char)(random() >> 7);
    exec_scratch_t *sc = exec_scratch(c);
    store_range_t q = {.lo = {STORE_BOUND_INCL, probe, sizeof(probe)}, .limit = 1, .keys_only = true};
    store_err_t err = store_range(exec_store(c), &q, &sc->rows);
    if (err == STORE_OK && sc->rows.count == 0) {
        q.lo.kind = STORE_BOUND_NONE;
        err = store_range(exec_store(c), &q, &sc->rows);
    }
    if (err != STORE_OK)
        return resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    store_row_t row;
    size_t pos = 0;
    if (!store_rows_next(&sc->rows, &pos, &row))
        return resp_reply_null(out);
    return resp_reply_bulk(out, row.key, row.klen);
}

/* SAVE's deferred reply (conn.h). */
static void save_reply(conn_t *c, struct evbuffer *out, int status, uint64_t lsn)
{
    (void)c;
    (void)lsn;
    if (status > 0)
        resp_reply_ok(out);
    else
        resp_reply_error(out, "ERR snapshot failed: see the server log");
}

/* BGSAVE [SCHEDULE] */
static int do_bgsave(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    bool schedule = cmd->argc == 1 && word_is(&cmd->argv[0], "schedule");
    if (cmd->argc > 1 || (cmd->argc == 1 && !schedule))
        return resp_reply_error(out, "ERR syntax error");
    switch (exec_bgsave(c, schedule)) {
    case EXEC_BGSAVE_BUSY: return resp_reply_error(out, "ERR Background save already in progress");
    case EXEC_BGSAVE_SCHEDULED: return resp_reply_simple(out, "Background saving scheduled", 27);
    default: return resp_reply_simple(out, "Background saving started", 25);
    }
}

int resp_exec_server(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    switch (cmd->id) {
    case CMD_PING:
        return cmd->argc ? resp_reply_bulk(out, cmd->argv[0].ptr, cmd->argv[0].len) : resp_reply_simple(out, "PONG", 4);
    case CMD_ECHO: return resp_reply_bulk(out, cmd->argv[0].ptr, cmd->argv[0].len);
    case CMD_AUTH: return do_auth(c, cmd, out);
    case CMD_SELECT: return do_select(cmd, out);
    case CMD_HELLO: return do_hello(c, s, cmd, out);
    case CMD_CLIENT_SETNAME:
    case CMD_CLIENT_GETNAME:
    case CMD_CLIENT_ID:
    case CMD_CLIENT_SETINFO: return do_client(c, s, cmd, out);
    case CMD_COMMAND: return do_command(cmd, out);
    case CMD_INFO: return do_info(c, cmd, out);
    case CMD_CONFIG_GET: return do_config_get(c, cmd, out);
    case CMD_DBSIZE: return resp_reply_int(out, (int64_t)store_count(exec_store(c)));
    case CMD_TIME: return do_time(out);
    case CMD_FLUSHDB:
    case CMD_FLUSHALL: return do_flush(c, cmd, out);
    case CMD_TYPE:
        return store_exists(exec_store(c), cmd->argv[0].ptr, cmd->argv[0].len) == STORE_OK
                   ? resp_reply_simple(out, "string", 6)
                   : resp_reply_simple(out, "none", 4);
    case CMD_KEYS: return do_keys(c, cmd, out);
    case CMD_SCAN: return do_scan(c, s, cmd, out);
    case CMD_RANDOMKEY: return do_randomkey(c, out);
    case CMD_SAVE: exec_save(c, cmd, save_reply); return 0;
    case CMD_BGSAVE: return do_bgsave(c, cmd, out);
    case CMD_LASTSAVE: return resp_reply_int(out, exec_lastsave(c));
    default: return resp_reply_errorf(out, "ERR '%s' is not implemented", cmd_name(cmd->id));
    }
}
