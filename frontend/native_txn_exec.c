/*
 * native_txn_exec.c — the TXN executor. The whole TXN (compares, then one
 * branch of ops) runs between store_write_lock and store_write_unlock, so
 * it is one log record with one LSN and seqlock readers see all of it or
 * none; any op failing in a way that must not half-apply aborts the
 * section (store_write_abort): nothing is changed.
 */
#include "config.h"

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
    int r = memcmp(a, b, alen < blen ? alen : blen);
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
    switch (k->target) {
    case FICKLE_TXN_TARGET_EXISTS: *holds = live == (k->cmp == FICKLE_TXN_CMP_EQUAL); break;
    case FICKLE_TXN_TARGET_VERSION:
        *holds = cmp_holds((live ? m.version : 0) < k->version ? -1 : (live ? m.version : 0) > k->version, k->cmp);
        break;
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

/* Runs one op under the mutex and appends its result. STORE_OK (the op
 * may still have answered NOT_FOUND), or the error that stops the TXN. */
static store_err_t run_op(store_t *st, const native_txn_op_t *op, store_buf_t *v, struct evbuffer *results,
                          txn_outcome_t *o)
{
    store_meta_t m = {0};
    store_err_t err;
    switch (op->kind) {
    case FICKLE_TXN_OP_GET: err = store_get_locked(st, op->key.ptr, op->key.len, v, &m); break;
    case FICKLE_TXN_OP_PUT: {
        store_put_opts_t po = {.expiry_ms = op->expiry_ms,
                               .flags = op->flags & FICKLE_TXN_PUT_KEEPTTL ? STORE_PUT_KEEP_EXPIRY : 0};
        err = store_put_locked(st, op->key.ptr, op->key.len, op->value.ptr, op->value.len, &po, &m);
        break;
    }
    default: err = store_delete_locked(st, op->key.ptr, op->key.len); break;
    }
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return err;
    bool got = err == STORE_OK && op->kind == FICKLE_TXN_OP_GET;
    uint16_t status = err == STORE_OK ? FICKLE_STATUS_OK : FICKLE_STATUS_NOT_FOUND;
    if (native_txn_result(results, op->kind, status, m.version, m.expiry_ms, got ? v->data : NULL,
                          got ? v->len : 0) != 0) {
        snprintf(o->msg, sizeof(o->msg), "out of memory for the TXN reply; nothing was changed");
        return STORE_NOMEM;
    }
    return STORE_OK;
}

/* The critical section: compares, the chosen branch, commit or abort. */
static store_err_t run_locked(store_t *st, const native_txn_t *t, store_buf_t *v, struct evbuffer *results,
                              txn_outcome_t *o)
{
    store_err_t err = store_write_lock(st);
    if (err != STORE_OK)
        return err;
    uint64_t lsn_before = store_last_lsn(st);
    bool all = true;
    for (size_t i = 0; i < t->ncmp && all && err == STORE_OK; i++)
        err = compare(st, &t->cmp[i], v, &all);
    size_t n = 0;
    const native_txn_op_t *ops = native_txn_branch(t, all, &n);
    for (size_t i = 0; i < n && err == STORE_OK; i++) {
        err = run_op(st, &ops[i], v, results, o);
        if (err == STORE_OK && evbuffer_get_length(results) > EXEC_MAX_REPLY_BYTES) {
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
    if (code != FICKLE_STATUS_OK)
        return native_reply_status(out, cmd->opcode, cmd->opaque, code, t->err);
    struct evbuffer *results = evbuffer_new();
    if (results == NULL)
        return -1;
    txn_outcome_t o = {0};
    store_err_t err = run_locked(exec_store(c), t, &exec_scratch(c)->val, results, &o);
    int rc;
    if (err == STORE_OK)
        rc = native_txn_reply(out, cmd->opaque, o.succeeded ? FICKLE_TXN_SUCCEEDED : 0, o.count, o.revision, results);
    else
        rc = native_reply_status(out, cmd->opcode, cmd->opaque, txn_status(err),
                                 o.msg[0] ? o.msg : store_error_detail());
    evbuffer_free(results);
    return rc;
}
