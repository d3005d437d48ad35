/*
 * native_txn_exec.c — the TXN executor. The whole TXN (compares, then one
 * branch of ops) runs between store_write_lock and store_write_unlock, so
 * it is one log record with one LSN and seqlock readers see all of it or
 * none; any op failing in a way that must not half-apply aborts the
 * section (store_write_abort): nothing is changed.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "frontend/exec.h"
#include "frontend/native_reply.h"
#include "frontend/native_txn_exec.h"

/* The reply status for a store error that stops a TXN. */
static uint16_t txn_status(store_err_t err)
{
    switch (err) {
    case STORE_TXN_TOO_BIG: return FICKLE_STATUS_TXN_TOO_BIG;
    case STORE_TOO_BIG: return FICKLE_STATUS_TOO_BIG;
    case STORE_NOMEM: return FICKLE_STATUS_NOMEM;
    case STORE_BUSY: return FICKLE_STATUS_BUSY;
    default: return FICKLE_STATUS_INTERNAL;
    }
}

static bool cmp_holds(int order, uint8_t cmp)
{
    switch (cmp) {
    case FICKLE_TXN_CMP_EQUAL: return order == 0;
    case FICKLE_TXN_CMP_NOT_EQUAL: return order != 0;
    case FICKLE_TXN_CMP_LESS: return order < 0;
    default: return order > 0; /* GREATER; the parser admits nothing else */
    }
}

/* Bytewise order of a against b: memcmp, a shorter prefix first. */
static int bytes_order(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int r = n ? memcmp(a, b, n) : 0; /* an empty side may be NULL */
    return r ? r : (alen > blen) - (alen < blen);
}

/* Evaluates one compare under the mutex. STORE_OK with *holds, or the
 * store error that stops the TXN. */
static store_err_t compare(store_t *st, const native_txn_compare_t *k, store_buf_t *v, bool *holds)
{
    store_meta_t m;
    bool by_value = k->target == FICKLE_TXN_TARGET_VALUE;
    store_err_t err = store_get_locked(st, k->key.ptr, k->key.len, by_value ? v : NULL, &m);
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return err;
    bool live = err == STORE_OK;
    uint64_t version = live ? m.version : 0; /* an absent key has version 0 */
    switch (k->target) {
    case FICKLE_TXN_TARGET_EXISTS: *holds = live == (k->cmp == FICKLE_TXN_CMP_EQUAL); break;
    case FICKLE_TXN_TARGET_VERSION: *holds = cmp_holds((version > k->version) - (version < k->version), k->cmp); break;
    default: *holds = live && cmp_holds(bytes_order(v->data, v->len, k->arg.ptr, k->arg.len), k->cmp); break;
    }
    return STORE_OK;
}

/* What a TXN did, for its reply. */
typedef struct {
    bool succeeded;
    uint32_t count;
    uint64_t revision;
    char msg[96];
} txn_outcome_t;

/* What the ops of one TXN work with. */
typedef struct {
    store_t *st;
    store_buf_t *val;        /* GET's copy */
    store_rows_t *rows;      /* RANGE's copy */
    struct evbuffer *results;
    txn_outcome_t *o;
} txn_ctx_t;

static store_err_t out_of_memory(txn_outcome_t *o)
{
    snprintf(o->msg, sizeof(o->msg), "out of memory for the TXN reply; nothing was changed");
    return STORE_NOMEM;
}

/* RANGE: the rows, as a RANGE reply's, in one result; the reply cap
 * bounds them (the MORE flag says the cap cut them short). */
static store_err_t run_range(txn_ctx_t *x, const native_txn_op_t *op)
{
    uint8_t f = op->flags;
    store_range_t q = {
        .lo = {f & FICKLE_RANGE_START_NONE ? STORE_BOUND_NONE
               : f & FICKLE_RANGE_START_INCL ? STORE_BOUND_INCL : STORE_BOUND_EXCL, op->key.ptr, op->key.len},
        .hi = {f & FICKLE_RANGE_END_NONE ? STORE_BOUND_NONE
               : f & FICKLE_RANGE_END_INCL ? STORE_BOUND_INCL : STORE_BOUND_EXCL, op->value.ptr, op->value.len},
        .limit = op->expiry_ms > SIZE_MAX ? 0 : (size_t)op->expiry_ms,
        /* half what is left: the reply's row format is not the store's */
        .max_bytes = (EXEC_MAX_REPLY_BYTES - evbuffer_get_length(x->results)) / 2 + 1,
        .reverse = (f & FICKLE_RANGE_REVERSE) != 0,
        .keys_only = (f & FICKLE_RANGE_KEYS_ONLY) != 0,
    };
    store_err_t err = store_range(x->st, &q, x->rows);
    if (err != STORE_OK)
        return err;
    native_rows_t nr;
    if (native_rows_init(&nr) != 0)
        return out_of_memory(x->o);
    store_row_t row;
    size_t pos = 0;
    uint16_t rf = q.keys_only ? FICKLE_ROW_NO_VALUE : 0;
    int rc = 0;
    while (rc == 0 && store_rows_next(x->rows, &pos, &row))
        rc = native_rows_add(&nr, row.key, row.klen, row.val, row.vlen, row.version, rf);
    if (rc == 0)
        rc = native_txn_result(x->results, op->kind, FICKLE_STATUS_OK, nr.count,
                               x->rows->truncated ? FICKLE_ROWS_MORE : 0, NULL, native_rows_size(&nr));
    if (rc == 0)
        rc = evbuffer_add_buffer(x->results, nr.body);
    native_rows_free(&nr);
    return rc == 0 ? STORE_OK : out_of_memory(x->o);
}

/* Runs one op under the mutex and appends its result. STORE_OK (the op
 * may still have answered NOT_FOUND), or the error that stops the TXN. */
static store_err_t run_op(txn_ctx_t *x, const native_txn_op_t *op)
{
    store_meta_t m = {0};
    store_err_t err;
    switch (op->kind) {
    case FICKLE_TXN_OP_GET: err = store_get_locked(x->st, op->key.ptr, op->key.len, x->val, &m); break;
    case FICKLE_TXN_OP_PUT: {
        store_put_opts_t po = {.expiry_ms = op->expiry_ms,
                               .flags = op->flags & FICKLE_TXN_PUT_KEEPTTL ? STORE_PUT_KEEP_EXPIRY : 0};
        err = store_put_locked(x->st, op->key.ptr, op->key.len, op->value.ptr, op->value.len, &po, &m);
        break;
    }
    case FICKLE_TXN_OP_RANGE: return run_range(x, op);
    default: err = store_delete_locked(x->st, op->key.ptr, op->key.len); break;
    }
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return err;
    bool got = err == STORE_OK && op->kind == FICKLE_TXN_OP_GET;
    uint16_t status = err == STORE_OK ? FICKLE_STATUS_OK : FICKLE_STATUS_NOT_FOUND;
    if (native_txn_result(x->results, op->kind, status, m.version, m.expiry_ms, got ? x->val->data : NULL,
                          got ? x->val->len : 0) != 0)
        return out_of_memory(x->o);
    return STORE_OK;
}

/* The critical section: compares, the chosen branch, commit or abort. */
static store_err_t run_locked(txn_ctx_t *x, const native_txn_t *t)
{
    store_t *st = x->st;
    txn_outcome_t *o = x->o;
    store_err_t err = store_write_lock(st);
    if (err != STORE_OK)
        return err;
    uint64_t lsn_before = store_last_lsn(st);
    bool all = true;
    for (size_t i = 0; i < t->ncmp && all && err == STORE_OK; i++)
        err = compare(st, &t->cmp[i], x->val, &all);
    size_t n = 0;
    const native_txn_op_t *ops = native_txn_branch(t, all, &n);
    for (size_t i = 0; i < n && err == STORE_OK; i++) {
        err = run_op(x, &ops[i]);
        if (err == STORE_OK && evbuffer_get_length(x->results) > EXEC_MAX_REPLY_BYTES) {
            snprintf(o->msg, sizeof(o->msg), "TXN reply over %u bytes; nothing was changed", EXEC_MAX_REPLY_BYTES);
            err = STORE_TOO_BIG;
        }
    }
    if (err != STORE_OK) {
        store_write_abort(st);
        return err;
    }
    uint64_t lsn_after = store_last_lsn(st);
    store_write_unlock(st);
    o->succeeded = all;
    o->count = (uint32_t)n;
    o->revision = lsn_after != lsn_before ? lsn_after : 0;
    return STORE_OK;
}

int native_txn_run(conn_t *c, const cmd_t *cmd, native_txn_t *t, struct evbuffer *out)
{
    const cmd_arg_t *body = &cmd->argv[1];
    uint16_t code = native_txn_parse(t, body->ptr, body->len);
    if (code != FICKLE_STATUS_OK) {
        exec_count_txn(c, EXEC_TXN_ABORTED_ERROR);
        return native_reply_status(out, cmd->opcode, cmd->opaque, code, t->err);
    }
    struct evbuffer *results = evbuffer_new();
    if (results == NULL)
        return -1;
    txn_outcome_t o = {0};
    txn_ctx_t x = {exec_store(c), &exec_scratch(c)->val, &exec_scratch(c)->rows, results, &o};
    store_err_t err = run_locked(&x, t);
    int rc;
    exec_count_txn(c, err != STORE_OK ? EXEC_TXN_ABORTED_ERROR : o.succeeded ? EXEC_TXN_RAN : EXEC_TXN_RAN_ELSE);
    if (err == STORE_OK)
        rc = native_txn_reply(out, cmd->opaque, o.succeeded ? FICKLE_TXN_SUCCEEDED : 0, o.count, o.revision, results);
    else
        rc = native_reply_status(out, cmd->opcode, cmd->opaque, txn_status(err),
                                 o.msg[0] ? o.msg : store_error_detail());
    evbuffer_free(results);
    return rc;
}
