/*
 * exec.c — protocol-independent helpers of the executor: authentication,
 * expiry and range arguments, snapshot requests (SAVE, BGSAVE, LASTSAVE).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/exec.h"
#include "frontend/worker.h"

void exec_scratch_free(exec_scratch_t *s)
{
    store_buf_free(&s->val);
    store_buf_free(&s->old);
    store_rows_free(&s->rows);
    free(s->pairs);
    free(s->keys);
    free(s->mrows);
    memset(s, 0, sizeof(*s));
}

store_t *exec_store(const conn_t *c)
{
    return c->w->conf->store;
}

exec_scratch_t *exec_scratch(conn_t *c)
{
    return &c->w->scratch;
}

void exec_count_command(conn_t *c)
{
    atomic_fetch_add_explicit(&c->w->stats->commands, 1, memory_order_relaxed);
}

void exec_count_txn(conn_t *c, exec_txn_end_t how)
{
    worker_stats_t *w = c->w->stats;
    switch (how) {
    case EXEC_TXN_RAN:
    case EXEC_TXN_RAN_ELSE:
        atomic_fetch_add_explicit(&w->txn_exec, 1, memory_order_relaxed);
        if (how == EXEC_TXN_RAN_ELSE)
            atomic_fetch_add_explicit(&w->txn_failed_compare, 1, memory_order_relaxed);
        break;
    case EXEC_TXN_ABORTED_WATCH: atomic_fetch_add_explicit(&w->txn_aborted_watch, 1, memory_order_relaxed); break;
    default: atomic_fetch_add_explicit(&w->txn_aborted_error, 1, memory_order_relaxed); break;
    }
}

/* Compares without an early exit, so the time taken does not tell an
 * attacker how many leading bytes were right. */
static bool equal_ct(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = alen != blen;
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return diff == 0 && alen == blen;
}

int exec_auth(conn_t *c, const cmd_t *cmd)
{
    worker_refresh_settings(c->w);
    const char *pass = c->w->settings.requirepass;
    if (pass[0] == '\0')
        return -1;
    const cmd_arg_t *pw = &cmd->argv[cmd->argc - 1];
    bool user_ok = true;
    if (cmd->argc == 2)
        user_ok = cmd->argv[0].len == 7 && memcmp(cmd->argv[0].ptr, "default", 7) == 0;
    bool ok = equal_ct(pw->ptr, pw->len, pass, strlen(pass)) && user_ok;
    c->authed = ok;
    return ok ? 1 : 0;
}

bool exec_allowed(const conn_t *c, const cmd_t *cmd)
{
    return c->authed || (cmd_info(cmd->id) & CMD_I_NOAUTH);
}

bool exec_abs_expiry(store_t *st, const cmd_t *cmd, uint64_t *abs_ms)
{
    int64_t now = (int64_t)store_now_ms(st);
    int64_t at = cmd->expiry_ms;
    if (cmd->flags & CMD_F_EXP_REL)
        at = cmd->expiry_ms > 0 ? now + cmd->expiry_ms : 0; /* parsers bound it: no overflow */
    *abs_ms = at > 0 ? (uint64_t)at : 0;
    return at > now;
}

void exec_range_bounds(const cmd_t *cmd, store_range_t *q)
{
    memset(q, 0, sizeof(*q));
    q->lo = (store_bound_t){(cmd->flags & CMD_F_LO_INF)    ? STORE_BOUND_NONE
                            : (cmd->flags & CMD_F_LO_EXCL) ? STORE_BOUND_EXCL
                                                           : STORE_BOUND_INCL,
                            cmd->argv[0].ptr, cmd->argv[0].len};
    q->hi = (store_bound_t){(cmd->flags & CMD_F_HI_INF)    ? STORE_BOUND_NONE
                            : (cmd->flags & CMD_F_HI_EXCL) ? STORE_BOUND_EXCL
                                                           : STORE_BOUND_INCL,
                            cmd->argv[1].ptr, cmd->argv[1].len};
    q->reverse = (cmd->flags & CMD_F_REV) != 0;
    q->keys_only = (cmd->flags & CMD_F_KEYS_ONLY) != 0;
}

bool exec_set_options(store_t *st, const cmd_t *cmd, ops_set_t *o)
{
    memset(o, 0, sizeof(*o));
    if (cmd->flags & CMD_F_NX)
        o->flags |= STORE_PUT_NX;
    if (cmd->flags & CMD_F_XX)
        o->flags |= STORE_PUT_XX;
    if (cmd->flags & CMD_F_KEEPTTL)
        o->flags |= STORE_PUT_KEEP_EXPIRY;
    if (cmd->flags & (CMD_F_EXP_REL | CMD_F_EXP_ABS))
        return exec_abs_expiry(st, cmd, &o->expiry_ms);
    return true;
}

store_err_t exec_mget(conn_t *c, const cmd_t *cmd, const store_mget_row_t **rows)
{
    exec_scratch_t *s = exec_scratch(c);
    size_t n = cmd->argc;
    if (n > s->keys_cap) {
        store_key_t *k = realloc(s->keys, n * sizeof(*k));
        if (k)
            s->keys = k;
        store_mget_row_t *r = realloc(s->mrows, n * sizeof(*r));
        if (r)
            s->mrows = r;
        if (k == NULL || r == NULL)
            return STORE_NOMEM; /* the scratch keeps what grew */
        s->keys_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        s->keys[i] = (store_key_t){cmd->argv[i].ptr, cmd->argv[i].len};
    *rows = s->mrows;
    return store_mget(exec_store(c), s->keys, n, &s->val, s->mrows);
}

const ops_pair_t *exec_pairs(conn_t *c, const cmd_t *cmd, size_t *n)
{
    exec_scratch_t *s = exec_scratch(c);
    *n = cmd->argc / 2;
    if (*n > s->pairs_cap) {
        ops_pair_t *p = realloc(s->pairs, *n * sizeof(*p));
        if (p == NULL)
            return NULL;
        s->pairs = p;
        s->pairs_cap = *n;
    }
    for (size_t i = 0; i < *n; i++)
        s->pairs[i] = (ops_pair_t){cmd->argv[2 * i].ptr, cmd->argv[2 * i].len, cmd->argv[2 * i + 1].ptr,
                                   cmd->argv[2 * i + 1].len};
    return s->pairs;
}

void exec_save(conn_t *c, const cmd_t *cmd,
               void (*reply)(conn_t *c, struct evbuffer *out, int status, uint64_t lsn))
{
    c->save_reply = reply;
    c->save_opcode = cmd->opcode;
    c->save_opaque = cmd->opaque;
    c->save_ticket = runtime_request_snapshot(c->w->conf->runtime);
}

int exec_bgsave(conn_t *c, bool schedule)
{
    runtime_t *rt = c->w->conf->runtime;
    bool busy = runtime_snapshot_busy(rt);
    if (busy && !schedule)
        return EXEC_BGSAVE_BUSY;
    runtime_request_snapshot(rt);
    return busy ? EXEC_BGSAVE_SCHEDULED : EXEC_BGSAVE_STARTED;
}

int64_t exec_lastsave(conn_t *c)
{
    return (int64_t)(atomic_load_explicit(&c->w->conf->runtime->snapshot.last_ok_ms, memory_order_relaxed) / 1000);
}
