/*
 * resp_exec.c — RESP commands on strings, counters, keys and ranges:
 * store calls through ops.h, replies in Redis's words.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/resp_exec.h"
#include "frontend/resp_reply.h"
#include "frontend/worker.h"

static const char NOT_INT[] = "ERR value is not an integer or out of range";

int resp_reply_ops_error(struct evbuffer *out, store_t *st, ops_status_t rc)
{
    switch (rc) {
    case OPS_NOT_INTEGER: return resp_reply_error(out, NOT_INT);
    case OPS_OVERFLOW: return resp_reply_error(out, "ERR increment or decrement would overflow");
    case OPS_NOT_FLOAT: return resp_reply_error(out, "ERR value is not a valid float");
    case OPS_NAN: return resp_reply_error(out, "ERR increment would produce NaN or Infinity");
    case OPS_TOO_BIG:
        return resp_reply_errorf(out, "ERR string exceeds maximum allowed size (keys up to %u bytes, values up to %llu)",
                                 STORE_MAX_KEY, (unsigned long long)store_max_value(st));
    case OPS_NO_SUCH_KEY: return resp_reply_error(out, "ERR no such key");
    case OPS_NOMEM: return resp_reply_error(out, "OOM command not allowed when used memory > 'maxmemory'.");
    case OPS_BUSY:
        return resp_reply_error(out, "BUSY the change log is full: the persister is behind or down; nothing was "
                                     "written, retry later");
    case OPS_TXN_TOO_BIG:
        return resp_reply_errorf(out, "ERR %s", store_error_detail());
    default: return resp_reply_errorf(out, "ERR internal error: %s", store_error_detail());
    }
}

static const cmd_arg_t *arg(const cmd_t *cmd, size_t i)
{
    return &cmd->argv[i];
}

static int do_get(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_buf_t *v = &exec_scratch(c)->val;
    store_err_t err = store_get(exec_store(c), arg(cmd, 0)->ptr, arg(cmd, 0)->len, v, NULL);
    if (err == STORE_NOT_FOUND)
        return resp_reply_null(out);
    if (err != STORE_OK)
        return resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    return resp_reply_bulk(out, v->data, v->len);
}

static int do_set(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    exec_scratch_t *sc = exec_scratch(c);
    ops_set_t o;
    exec_set_options(st, cmd, &o); /* a past EXAT/PXAT stores an already expired key, as Redis */
    bool get = (cmd->flags & CMD_F_GET) != 0, had = false;
    ops_status_t rc = ops_set(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, arg(cmd, 1)->ptr, arg(cmd, 1)->len, &o,
                              get ? &sc->old : NULL, &had);
    if (rc != OPS_OK && rc != OPS_NIL)
        return resp_reply_ops_error(out, st, rc);
    if (cmd->id == CMD_SETNX)
        return resp_reply_int(out, rc == OPS_OK);
    if (get)
        return had ? resp_reply_bulk(out, sc->old.data, sc->old.len) : resp_reply_null(out);
    return rc == OPS_OK ? resp_reply_ok(out) : resp_reply_null(out);
}

/* DEL/UNLINK: all keys in one critical section, so the count is exact. */
static int do_del(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    ops_section_t sec;
    ops_status_t lk = ops_begin(st, &sec);
    if (lk != OPS_OK)
        return resp_reply_ops_error(out, st, lk);
    int64_t n = 0;
    store_err_t err = STORE_OK;
    for (size_t i = 0; i < cmd->argc; i++) {
        err = store_delete_locked(st, arg(cmd, i)->ptr, arg(cmd, i)->len);
        if (err == STORE_OK)
            n++;
        else if (err != STORE_NOT_FOUND)
            break;
    }
    bool failed = err != STORE_OK && err != STORE_NOT_FOUND;
    ops_end(st, &sec, failed);
    return failed ? resp_reply_ops_error(out, st, ops_from_store(err)) : resp_reply_int(out, n);
}

static int do_exists(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    int64_t n = 0;
    for (size_t i = 0; i < cmd->argc; i++)
        n += store_exists(exec_store(c), arg(cmd, i)->ptr, arg(cmd, i)->len) == STORE_OK;
    return resp_reply_int(out, n);
}

static int do_incrby(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    int64_t v;
    ops_status_t rc = ops_incr(exec_store(c), arg(cmd, 0)->ptr, arg(cmd, 0)->len, cmd->delta, &v, NULL);
    return rc == OPS_OK ? resp_reply_int(out, v) : resp_reply_ops_error(out, exec_store(c), rc);
}

static int do_incrbyfloat(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    long double d;
    if (!ops_parse_double(arg(cmd, 1)->ptr, arg(cmd, 1)->len, &d))
        return resp_reply_error(out, "ERR value is not a valid float");
    char buf[5 * 1024]; /* Redis's MAX_LONG_DOUBLE_CHARS: any finite long double fits */
    size_t n;
    ops_status_t rc = ops_incrbyfloat(exec_store(c), arg(cmd, 0)->ptr, arg(cmd, 0)->len, d, buf, sizeof(buf), &n);
    return rc == OPS_OK ? resp_reply_bulk(out, buf, n) : resp_reply_ops_error(out, exec_store(c), rc);
}

/* MGET: every key read in one consistent view (store_mget), so a reader
 * never sees half of a transaction that changed several of them. */
static int do_mget(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    const store_mget_row_t *rows;
    store_err_t err = exec_mget(c, cmd, &rows);
    if (err != STORE_OK)
        return resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    const char *vals = exec_scratch(c)->val.data;
    int rc = resp_reply_array(out, cmd->argc);
    for (size_t i = 0; rc == 0 && i < cmd->argc; i++)
        rc = rows[i].found ? resp_reply_bulk(out, vals + rows[i].off, rows[i].len) : resp_reply_null(out);
    return rc;
}

static int do_mset(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    size_t n;
    const ops_pair_t *pairs = exec_pairs(c, cmd, &n);
    if (pairs == NULL)
        return resp_reply_ops_error(out, exec_store(c), OPS_INTERNAL);
    ops_status_t rc = ops_mset(exec_store(c), pairs, n, cmd->id == CMD_MSETNX, NULL);
    if (rc != OPS_OK && rc != OPS_NIL)
        return resp_reply_ops_error(out, exec_store(c), rc);
    return cmd->id == CMD_MSETNX ? resp_reply_int(out, rc == OPS_OK) : resp_reply_ok(out);
}

static int do_getdel_getex(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    store_buf_t *v = &exec_scratch(c)->val;
    ops_status_t rc;
    if (cmd->id == CMD_GETDEL) {
        rc = ops_getdel(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, v);
    } else {
        int64_t exp = -1; /* keep */
        uint64_t abs_ms;
        if (cmd->flags & CMD_F_PERSIST)
            exp = 0;
        else if (cmd->flags & (CMD_F_EXP_REL | CMD_F_EXP_ABS))
            exp = exec_abs_expiry(st, cmd, &abs_ms) ? (int64_t)abs_ms : 1; /* past: expires now */
        rc = ops_getex(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, exp, v);
    }
    if (rc == OPS_NIL)
        return resp_reply_null(out);
    return rc == OPS_OK ? resp_reply_bulk(out, v->data, v->len) : resp_reply_ops_error(out, st, rc);
}

static int do_strlen_getrange(conn_t *c, const cmd_t *cmd, struct evbuffer *out);

static int do_append_setrange(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    uint64_t len;
    ops_status_t rc;
    if (cmd->id == CMD_APPEND) {
        rc = ops_append(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, arg(cmd, 1)->ptr, arg(cmd, 1)->len, &len);
    } else {
        int64_t off;
        if (!cmd_parse_i64(arg(cmd, 1)->ptr, arg(cmd, 1)->len, &off))
            return resp_reply_error(out, NOT_INT);
        if (off < 0)
            return resp_reply_error(out, "ERR offset is out of range");
        if (arg(cmd, 2)->len == 0) /* nothing to write: the length as it is, whatever the offset (Redis) */
            return do_strlen_getrange(c, &(cmd_t){.id = CMD_STRLEN, .argc = 1, .argv = cmd->argv}, out);
        rc = ops_setrange(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, (uint64_t)off, arg(cmd, 2)->ptr, arg(cmd, 2)->len,
                          &len);
    }
    if (rc == OPS_NIL)
        len = 0; /* SETRANGE with an empty value on a missing key */
    else if (rc != OPS_OK)
        return resp_reply_ops_error(out, st, rc);
    return resp_reply_int(out, (int64_t)len);
}

static int do_strlen_getrange(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_buf_t *v = &exec_scratch(c)->val;
    int64_t start = 0, end = 0;
    if (cmd->id == CMD_GETRANGE && (!cmd_parse_i64(arg(cmd, 1)->ptr, arg(cmd, 1)->len, &start) ||
                                    !cmd_parse_i64(arg(cmd, 2)->ptr, arg(cmd, 2)->len, &end)))
        return resp_reply_error(out, NOT_INT);
    store_meta_t meta;
    store_err_t err = store_get(exec_store(c), arg(cmd, 0)->ptr, arg(cmd, 0)->len,
                                cmd->id == CMD_STRLEN ? NULL : v, &meta);
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    if (cmd->id == CMD_STRLEN)
        return resp_reply_int(out, err == STORE_OK ? (int64_t)meta.vlen : 0);
    if (err == STORE_NOT_FOUND)
        return resp_reply_bulk(out, "", 0);
    size_t from, to;
    ops_range_indexes(start, end, v->len, &from, &to);
    return resp_reply_bulk(out, v->data + from, to > from ? to - from : 0);
}

/* Ends the section of a command that changed one key's expiry or not
 * (EXPIRE, PERSIST) and replies 1 or 0, or the error. */
static int end_flag_change(store_t *st, const ops_section_t *sec, store_err_t err, bool applied,
                           struct evbuffer *out)
{
    bool failed = err != STORE_OK && err != STORE_NOT_FOUND;
    ops_end(st, sec, failed);
    return failed ? resp_reply_ops_error(out, st, ops_from_store(err)) : resp_reply_int(out, applied);
}

/* EXPIRE family with NX/XX/GT/LT: read and change under one lock. A key
 * without expiry counts as expiring never (infinite) for GT and LT. */
static int do_expire(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    uint64_t at;
    bool future = exec_abs_expiry(st, cmd, &at);
    ops_section_t sec;
    ops_status_t lk = ops_begin(st, &sec);
    if (lk != OPS_OK)
        return resp_reply_ops_error(out, st, lk);
    store_meta_t m;
    const cmd_arg_t *k = arg(cmd, 0);
    store_err_t err = store_get_locked(st, k->ptr, k->len, NULL, &m);
    bool apply = err == STORE_OK;
    uint32_t f = cmd->flags;
    if (apply && (((f & CMD_F_NX) && m.expiry_ms) || ((f & CMD_F_XX) && !m.expiry_ms) ||
                  ((f & CMD_F_GT) && (!m.expiry_ms || at <= m.expiry_ms)) ||
                  ((f & CMD_F_LT) && m.expiry_ms && at >= m.expiry_ms)))
        apply = false;
    if (apply)
        err = future ? store_expire_locked(st, k->ptr, k->len, at) : store_delete_locked(st, k->ptr, k->len);
    return end_flag_change(st, &sec, err, apply, out);
}

/* TTL, PTTL: time left; EXPIRETIME, PEXPIRETIME: the absolute time. */
static int do_ttl(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_meta_t m;
    store_t *st = exec_store(c);
    store_err_t err = store_get(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, NULL, &m);
    if (err == STORE_NOT_FOUND)
        return resp_reply_int(out, -2);
    if (err != STORE_OK)
        return resp_reply_ops_error(out, st, ops_from_store(err));
    if (m.expiry_ms == 0)
        return resp_reply_int(out, -1);
    if (cmd->id == CMD_EXPIRETIME || cmd->id == CMD_PEXPIRETIME) /* rounded as Redis does */
        return resp_reply_int(out, cmd->id == CMD_PEXPIRETIME ? (int64_t)m.expiry_ms
                                                              : (int64_t)((m.expiry_ms + 500) / 1000));
    uint64_t now = store_now_ms(st);
    int64_t left = m.expiry_ms > now ? (int64_t)(m.expiry_ms - now) : 0;
    return resp_reply_int(out, cmd->id == CMD_PTTL ? left : (left + 500) / 1000);
}

static int do_persist(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    ops_section_t sec;
    ops_status_t lk = ops_begin(st, &sec);
    if (lk != OPS_OK)
        return resp_reply_ops_error(out, st, lk);
    store_meta_t m;
    store_err_t err = store_get_locked(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, NULL, &m);
    bool apply = err == STORE_OK && m.expiry_ms != 0;
    if (apply)
        err = store_expire_locked(st, arg(cmd, 0)->ptr, arg(cmd, 0)->len, 0);
    return end_flag_change(st, &sec, err, apply, out);
}

static int do_rename(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    bool nx = cmd->id == CMD_RENAMENX;
    ops_status_t rc = ops_rename(exec_store(c), arg(cmd, 0)->ptr, arg(cmd, 0)->len, arg(cmd, 1)->ptr,
                                 arg(cmd, 1)->len, nx);
    if (rc == OPS_OK || rc == OPS_NIL)
        return nx ? resp_reply_int(out, rc == OPS_OK) : resp_reply_ok(out);
    return resp_reply_ops_error(out, exec_store(c), rc);
}

#define WALK_PAGE 1024

store_err_t resp_walk(store_t *st, exec_scratch_t *sc, const store_range_t *q, resp_walk_fn fn, void *arg)
{
    store_range_t page = *q;
    page.limit = WALK_PAGE;
    store_buf_t *last = &sc->old;
    for (;;) {
        store_err_t err = store_range(st, &page, &sc->rows);
        if (err != STORE_OK)
            return err;
        store_row_t row, lastrow = {0};
        size_t pos = 0;
        while (store_rows_next(&sc->rows, &pos, &row)) {
            if (!fn(arg, &row))
                return STORE_OK;
            lastrow = row;
        }
        last->len = 0;
        if (!store_buf_reserve(last, lastrow.klen))
            return STORE_NOMEM;
        if (lastrow.klen)
            memcpy(last->data, lastrow.key, lastrow.klen);
        last->len = lastrow.klen;
        if (sc->rows.count < WALK_PAGE)
            return STORE_OK;
        /* The next page starts after the last key seen, exclusive. */
        store_bound_t *b = q->reverse ? &page.hi : &page.lo;
        *b = (store_bound_t){STORE_BOUND_EXCL, last->data, last->len};
    }
}

typedef struct {
    struct evbuffer *body;
    uint64_t left;  /* rows still wanted */
    size_t rows;
    bool values;
    uint64_t max_bytes;
    bool too_big;
} range_reply_t;

static bool range_row(void *arg, const store_row_t *row)
{
    range_reply_t *r = arg;
    if (r->left == 0)
        return false;
    if (resp_reply_bulk(r->body, row->key, row->klen) != 0 ||
        (r->values && resp_reply_bulk(r->body, row->val, row->vlen) != 0))
        return r->too_big = true, false;
    r->rows++;
    r->left--;
    if (r->max_bytes && evbuffer_get_length(r->body) > r->max_bytes)
        return r->too_big = true, false;
    return true;
}

/* RANGE: the reply is built aside (its length comes first on the wire) and
 * refused if it would pass the client's output limit. */
static int do_range(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (cmd->limit == 0)
        return resp_reply_array(out, 0);
    store_range_t q;
    exec_range_bounds(cmd, &q);
    range_reply_t r = {.body = evbuffer_new(), .left = cmd->limit, .values = !(cmd->flags & CMD_F_KEYS_ONLY),
                       .max_bytes = c->w->settings.max_output};
    if (r.body == NULL)
        return -1;
    store_err_t err = resp_walk(exec_store(c), exec_scratch(c), &q, range_row, &r);
    int rc;
    if (err != STORE_OK)
        rc = resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
    else if (r.too_big)
        rc = resp_reply_error(out, "ERR reply too large for the client output limit; use LIMIT and continue from the last key");
    else if ((rc = resp_reply_array(out, r.values ? 2 * r.rows : r.rows)) == 0)
        rc = evbuffer_add_buffer(out, r.body);
    evbuffer_free(r.body);
    return rc;
}

static int do_rcount(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (cmd->limit == 0)
        return resp_reply_int(out, 0);
    store_range_t q;
    exec_range_bounds(cmd, &q);
    uint64_t n;
    store_err_t err = store_range_count(exec_store(c), &q, &n);
    return err == STORE_OK ? resp_reply_int(out, (int64_t)n) : resp_reply_ops_error(out, exec_store(c), ops_from_store(err));
}

proto_result_t resp_exec(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    int rc;
    if (resp_multi_queues(&s->txn, cmd)) {
        c->queued = true; /* no durability wait for QUEUED: EXEC has its own */
        return resp_multi_queue(&s->txn, cmd, out) == 0 ? PROTO_CONTINUE : PROTO_CLOSE;
    }
    exec_count_command(c);
    switch (cmd->id) {
    case CMD_GET: rc = do_get(c, cmd, out); break;
    case CMD_SET:
    case CMD_SETNX: rc = do_set(c, cmd, out); break;
    case CMD_DEL: rc = do_del(c, cmd, out); break;
    case CMD_EXISTS: rc = do_exists(c, cmd, out); break;
    case CMD_INCRBY: rc = do_incrby(c, cmd, out); break;
    case CMD_INCRBYFLOAT: rc = do_incrbyfloat(c, cmd, out); break;
    case CMD_MGET: rc = do_mget(c, cmd, out); break;
    case CMD_MSET:
    case CMD_MSETNX: rc = do_mset(c, cmd, out); break;
    case CMD_GETDEL:
    case CMD_GETEX: rc = do_getdel_getex(c, cmd, out); break;
    case CMD_APPEND:
    case CMD_SETRANGE: rc = do_append_setrange(c, cmd, out); break;
    case CMD_STRLEN:
    case CMD_GETRANGE: rc = do_strlen_getrange(c, cmd, out); break;
    case CMD_EXPIRE: rc = do_expire(c, cmd, out); break;
    case CMD_TTL:
    case CMD_PTTL:
    case CMD_EXPIRETIME:
    case CMD_PEXPIRETIME: rc = do_ttl(c, cmd, out); break;
    case CMD_PERSIST: rc = do_persist(c, cmd, out); break;
    case CMD_RENAME:
    case CMD_RENAMENX: rc = do_rename(c, cmd, out); break;
    case CMD_RANGE: rc = do_range(c, cmd, out); break;
    case CMD_RCOUNT: rc = do_rcount(c, cmd, out); break;
    case CMD_QUIT: resp_reply_ok(out); return PROTO_CLOSE;
    case CMD_MULTI:
    case CMD_EXEC:
    case CMD_DISCARD:
    case CMD_WATCH:
    case CMD_UNWATCH: rc = resp_multi_command(c, s, cmd, out); break;
    default: rc = resp_exec_server(c, s, cmd, out); break;
    }
    return rc == 0 ? PROTO_CONTINUE : PROTO_CLOSE;
}
