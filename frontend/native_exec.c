/*
 * native_exec.c — the native protocol's proto_t and executor: frames from
 * native_parse, run against the store, replies from native_reply
 * (docs/protocol.md is the contract for every status and field).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/exec.h"
#include "frontend/native_parse.h"
#include "frontend/native_reply.h"
#include "frontend/native_txn_exec.h"
#include "frontend/proto.h"
#include "frontend/worker.h"

typedef struct {
    native_parser_t p;
    size_t want;
    native_txn_t txn; /* TXN's parsed body, reused */
} native_state_t;

static uint16_t status_of(store_err_t err)
{
    switch (err) {
    case STORE_OK: return FICKLE_STATUS_OK;
    case STORE_NOT_FOUND: return FICKLE_STATUS_NOT_FOUND;
    case STORE_EXISTS: return FICKLE_STATUS_EXISTS;
    case STORE_CAS_MISMATCH: return FICKLE_STATUS_CAS_MISMATCH;
    case STORE_NOMEM: return FICKLE_STATUS_NOMEM;
    case STORE_TOO_BIG:
    case STORE_TXN_TOO_BIG: return FICKLE_STATUS_TOO_BIG;
    case STORE_BUSY: return FICKLE_STATUS_BUSY;
    default: return FICKLE_STATUS_INTERNAL;
    }
}

static uint16_t status_of_ops(ops_status_t rc)
{
    switch (rc) {
    case OPS_NIL: return FICKLE_STATUS_NOT_FOUND;
    case OPS_NOT_INTEGER: return FICKLE_STATUS_NOT_A_NUMBER;
    case OPS_OVERFLOW: return FICKLE_STATUS_OVERFLOW;
    case OPS_TOO_BIG: return FICKLE_STATUS_TOO_BIG;
    case OPS_EXISTS: return FICKLE_STATUS_EXISTS;
    case OPS_CAS_MISMATCH: return FICKLE_STATUS_CAS_MISMATCH;
    case OPS_NOMEM: return FICKLE_STATUS_NOMEM;
    case OPS_BUSY: return FICKLE_STATUS_BUSY;
    case OPS_TXN_TOO_BIG: return FICKLE_STATUS_TOO_BIG;
    default: return FICKLE_STATUS_INTERNAL;
    }
}

static int fail(struct evbuffer *out, const cmd_t *cmd, uint16_t status, store_t *st)
{
    const char *msg = status == FICKLE_STATUS_INTERNAL || status == FICKLE_STATUS_BUSY ? store_error_detail()
                      : status == FICKLE_STATUS_NOMEM                                     ? "store is full"
                                                                                          : NULL;
    (void)st;
    return native_reply_status(out, cmd->opcode, cmd->opaque, status, msg);
}

static int do_get(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_buf_t *v = &exec_scratch(c)->val;
    store_meta_t m;
    bool exists = cmd->id == CMD_EXISTS;
    store_err_t err = store_get(exec_store(c), cmd->argv[0].ptr, cmd->argv[0].len, exists ? NULL : v, &m);
    if (err != STORE_OK)
        return fail(out, cmd, status_of(err), exec_store(c));
    return native_reply_item(out, cmd->opcode, cmd->opaque, m.version, m.expiry_ms, exists ? NULL : v->data,
                             exists ? 0 : v->len);
}

/* SET and CAS (CMD_F_CAS). */
static int do_set(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    ops_set_t o;
    exec_set_options(st, cmd, &o); /* a past absolute expiry stores an expired key */
    store_put_opts_t p = {.flags = o.flags, .expiry_ms = o.expiry_ms};
    if (cmd->flags & CMD_F_CAS) {
        p.flags |= STORE_PUT_CAS | STORE_PUT_XX;
        p.cas_version = cmd->version;
    }
    store_meta_t m;
    store_err_t err = store_put(st, cmd->argv[0].ptr, cmd->argv[0].len, cmd->argv[1].ptr, cmd->argv[1].len, &p, &m);
    if (err != STORE_OK)
        return fail(out, cmd, status_of(err), st);
    return native_reply_version(out, cmd->opcode, cmd->opaque, m.version);
}

static int do_del(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_t *st = exec_store(c);
    const cmd_arg_t *k = &cmd->argv[0];
    store_err_t err;
    if (!(cmd->flags & CMD_F_CAS)) {
        err = store_delete(st, k->ptr, k->len);
    } else if ((err = store_write_lock(st)) == STORE_OK) {
        store_meta_t m;
        err = store_get_locked(st, k->ptr, k->len, NULL, &m);
        if (err == STORE_OK && m.version != cmd->version)
            err = STORE_CAS_MISMATCH;
        if (err == STORE_OK)
            err = store_delete_locked(st, k->ptr, k->len);
        store_write_unlock(st); /* nothing changed unless the delete succeeded */
    }
    if (err != STORE_OK)
        return fail(out, cmd, status_of(err), st);
    return native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_OK, NULL);
}

static int do_incr(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    int64_t v;
    uint64_t version = 0;
    ops_status_t rc = ops_incr(exec_store(c), cmd->argv[0].ptr, cmd->argv[0].len, cmd->delta, &v, &version);
    if (rc != OPS_OK)
        return fail(out, cmd, status_of_ops(rc), exec_store(c));
    return native_reply_counter(out, cmd->opcode, cmd->opaque, version, v);
}

/* Every key read in one consistent view (exec_mget). */
static int do_mget(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    const store_mget_row_t *got;
    if (exec_mget(c, cmd, &got) != STORE_OK)
        return fail(out, cmd, FICKLE_STATUS_INTERNAL, exec_store(c));
    const char *vals = exec_scratch(c)->val.data;
    native_rows_t rows;
    if (native_rows_init(&rows) != 0)
        return -1;
    for (size_t i = 0; i < cmd->argc; i++) {
        const cmd_arg_t *k = &cmd->argv[i];
        int rc = got[i].found
                     ? native_rows_add(&rows, k->ptr, k->len, vals + got[i].off, got[i].len, got[i].version, 0)
                     : native_rows_add(&rows, k->ptr, k->len, NULL, 0, 0, FICKLE_ROW_MISSING);
        if (rc != 0 || native_rows_size(&rows) > EXEC_MAX_REPLY_BYTES) {
            native_rows_free(&rows);
            return fail(out, cmd, FICKLE_STATUS_TOO_BIG, exec_store(c));
        }
    }
    return native_rows_finish(&rows, out, cmd->opcode, cmd->opaque, 0);
}

static int do_mset(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    size_t n;
    const ops_pair_t *pairs = exec_pairs(c, cmd, &n);
    if (pairs == NULL)
        return fail(out, cmd, FICKLE_STATUS_INTERNAL, exec_store(c));
    uint64_t version = 0;
    ops_status_t rc = ops_mset(exec_store(c), pairs, n, (cmd->flags & CMD_F_NX) != 0, &version);
    if (rc == OPS_NIL)
        return fail(out, cmd, FICKLE_STATUS_EXISTS, exec_store(c));
    if (rc != OPS_OK)
        return fail(out, cmd, status_of_ops(rc), exec_store(c));
    return native_reply_version(out, cmd->opcode, cmd->opaque, version);
}

static int do_range(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_range_t q;
    exec_range_bounds(cmd, &q);
    q.limit = cmd->limit == CMD_NO_LIMIT ? 0 : (size_t)cmd->limit;
    q.max_bytes = EXEC_MAX_REPLY_BYTES;
    store_rows_t *rows = &exec_scratch(c)->rows;
    store_err_t err = store_range(exec_store(c), &q, rows);
    if (err != STORE_OK)
        return fail(out, cmd, status_of(err), exec_store(c));
    native_rows_t nr;
    if (native_rows_init(&nr) != 0)
        return -1;
    store_row_t row;
    size_t pos = 0;
    uint16_t flags = q.keys_only ? FICKLE_ROW_NO_VALUE : 0;
    while (store_rows_next(rows, &pos, &row))
        if (native_rows_add(&nr, row.key, row.klen, row.val, row.vlen, row.version, flags) != 0) {
            native_rows_free(&nr);
            return -1;
        }
    return native_rows_finish(&nr, out, cmd->opcode, cmd->opaque, rows->truncated ? FICKLE_ROWS_MORE : 0);
}

static int do_count(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    store_range_t q;
    exec_range_bounds(cmd, &q);
    q.limit = cmd->limit == CMD_NO_LIMIT ? 0 : (size_t)cmd->limit;
    uint64_t n;
    store_err_t err = store_range_count(exec_store(c), &q, &n);
    if (err != STORE_OK)
        return fail(out, cmd, status_of(err), exec_store(c));
    return native_reply_count(out, cmd->opcode, cmd->opaque, n);
}

static int do_stats(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    struct evbuffer *text = evbuffer_new();
    if (text == NULL)
        return -1;
    int rc = exec_info(c, cmd->argc ? cmd->argv[0].ptr : NULL, cmd->argc ? cmd->argv[0].len : 0, text);
    size_t len = evbuffer_get_length(text);
    if (rc == 0)
        rc = native_reply_value(out, cmd->opcode, cmd->opaque, evbuffer_pullup(text, -1), len);
    evbuffer_free(text);
    return rc;
}

static int do_auth(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    int r = exec_auth(c, cmd);
    if (r == 1)
        return native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_OK, NULL);
    return native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_AUTH_FAILED,
                               r < 0 ? "no password is configured" : "invalid username-password pair");
}

/* SAVE's deferred reply (conn.h): OK with the snapshot's start LSN. */
static void save_reply(conn_t *c, struct evbuffer *out, int status, uint64_t lsn)
{
    if (status > 0)
        native_reply_version(out, c->save_opcode, c->save_opaque, lsn);
    else
        native_reply_status(out, c->save_opcode, c->save_opaque, FICKLE_STATUS_INTERNAL,
                            "snapshot failed: see the server log");
}

static int do_bgsave(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (exec_bgsave(c, false) == EXEC_BGSAVE_BUSY)
        return native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_BUSY,
                                   "background save already in progress");
    return native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_OK, NULL);
}

/* Runs one request. PROTO_CLOSE after QUIT or when a reply cannot be built. */
static proto_result_t native_exec(conn_t *c, const cmd_t *cmd, struct evbuffer *out)
{
    if (!exec_allowed(c, cmd)) {
        native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_AUTH_REQUIRED, "AUTH first");
        return PROTO_CONTINUE;
    }
    exec_count_command(c);
    int rc;
    switch (cmd->id) {
    case CMD_GET:
    case CMD_EXISTS: rc = do_get(c, cmd, out); break;
    case CMD_SET: rc = do_set(c, cmd, out); break;
    case CMD_DEL: rc = do_del(c, cmd, out); break;
    case CMD_INCRBY: rc = do_incr(c, cmd, out); break;
    case CMD_MGET: rc = do_mget(c, cmd, out); break;
    case CMD_MSET: rc = do_mset(c, cmd, out); break;
    case CMD_RANGE: rc = do_range(c, cmd, out); break;
    case CMD_RCOUNT: rc = do_count(c, cmd, out); break;
    case CMD_PING: rc = native_reply_value(out, cmd->opcode, cmd->opaque, cmd->argc ? cmd->argv[0].ptr : NULL,
                                            cmd->argc ? cmd->argv[0].len : 0); break;
    case CMD_INFO: rc = do_stats(c, cmd, out); break;
    case CMD_AUTH: rc = do_auth(c, cmd, out); break;
    case CMD_SAVE: exec_save(c, cmd, save_reply); rc = 0; break;
    case CMD_BGSAVE: rc = do_bgsave(c, cmd, out); break;
    case CMD_TXN: rc = native_txn_run(c, cmd, &((native_state_t *)c->pstate)->txn, out); break;
    case CMD_QUIT:
        native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_OK, NULL);
        return PROTO_CLOSE;
    default: rc = fail(out, cmd, FICKLE_STATUS_UNKNOWN_OPCODE, exec_store(c)); break;
    }
    return rc == 0 ? PROTO_CONTINUE : PROTO_CLOSE;
}

static cmd_parse_t native_pump_parse(conn_t *c, const char *buf, size_t len, cmd_t *cmd)
{
    return native_parse(&((native_state_t *)c->pstate)->p, buf, len, cmd);
}

static void native_pump_reject(conn_t *c, const cmd_t *cmd, const cmd_parse_t *r, struct evbuffer *out)
{
    (void)c;
    native_reply_status(out, cmd->opcode, cmd->opaque, r->code, r->msg);
}

static const conn_pump_t native_pump = {native_pump_parse, native_exec, native_pump_reject, native_peek_key};

static proto_result_t native_process(conn_t *c, struct evbuffer *in, struct evbuffer *out)
{
    return conn_pump(c, in, out, &((native_state_t *)c->pstate)->want, &native_pump);
}

static void *native_state_new(const conn_t *c)
{
    native_state_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    native_limits_t lim;
    native_limits_default(&lim);
    if (lim.max_value > c->w->conf->max_request)
        lim.max_value = (uint32_t)c->w->conf->max_request; /* larger could never be read */
    native_parser_init(&s->p, &lim);
    return s;
}

static void native_state_free(void *arg)
{
    native_state_t *s = arg;
    native_parser_free(&s->p);
    native_txn_free(&s->txn);
    free(s);
}

static void native_error_reply(struct evbuffer *out, uint16_t native_status, const char *msg)
{
    native_reply_status(out, 0, 0, native_status, msg);
}

const proto_t proto_native = {
    .name = "native",
    .process = native_process,
    .error_reply = native_error_reply,
    .state_new = native_state_new,
    .state_free = native_state_free,
};
