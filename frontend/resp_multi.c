/*
 * resp_multi.c — RESP transactions (MULTI / EXEC / DISCARD / WATCH /
 * UNWATCH): the queue, the watches, and EXEC's one critical section.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/resp_exec.h"
#include "frontend/resp_multi.h"
#include "frontend/resp_reply.h"
#include "frontend/worker.h"

/* One queued command with its own copy of the operands (the input buffer
 * they pointed into is drained after queuing), or an error Redis would
 * only find when running it. */
struct resp_txn_entry {
    cmd_t cmd;
    const char *error; /* non-NULL: reply this error in EXEC's array */
    size_t bytes;      /* what the entry counts against RESP_TXN_MAX_BYTES */
    cmd_arg_t args[];  /* followed by the operand bytes (or the error text) */
};

struct resp_watch {
    store_watch_t w;
    char *key;
    size_t klen;
};

static const char EXECABORT[] = "EXECABORT Transaction discarded because of previous errors.";

/* NULL if out of memory. */
static resp_txn_entry_t *entry_new(const cmd_t *cmd, const char *error)
{
    size_t n = cmd ? cmd->argc : 0, data = error ? strlen(error) + 1 : 0;
    for (size_t i = 0; i < n; i++)
        data += cmd->argv[i].len;
    size_t size = sizeof(resp_txn_entry_t) + n * sizeof(cmd_arg_t) + data;
    resp_txn_entry_t *e = malloc(size);
    if (e == NULL)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->bytes = size;
    char *p = (char *)(e->args + n);
    if (error) {
        memcpy(p, error, data);
        e->error = p;
        return e;
    }
    e->cmd = *cmd;
    e->cmd.argv = e->args;
    for (size_t i = 0; i < n; i++) {
        e->args[i] = (cmd_arg_t){p, cmd->argv[i].len};
        if (cmd->argv[i].len)
            memcpy(p, cmd->argv[i].ptr, cmd->argv[i].len);
        p += cmd->argv[i].len;
    }
    return e;
}

static void queue_clear(resp_txn_t *t)
{
    for (size_t i = 0; i < t->nqueue; i++)
        free(t->queue[i]);
    t->nqueue = 0;
    t->queue_bytes = 0;
    t->active = false;
    t->dirty = false;
}

static void unwatch(resp_txn_t *t)
{
    for (size_t i = 0; i < t->nwatch; i++)
        free(t->watch[i].key);
    t->nwatch = 0;
    t->watch_bytes = 0;
}

void resp_multi_free(resp_txn_t *t)
{
    queue_clear(t);
    unwatch(t);
    free(t->queue);
    free(t->watch);
    memset(t, 0, sizeof(*t));
}

void resp_multi_fail(resp_txn_t *t)
{
    if (t->active)
        t->dirty = true;
}

bool resp_multi_queues(const resp_txn_t *t, const cmd_t *cmd)
{
    if (!t->active)
        return false;
    switch (cmd->id) {
    case CMD_EXEC:
    case CMD_DISCARD:
    case CMD_MULTI:
    case CMD_WATCH:
    case CMD_QUIT: return false;
    default: return true;
    }
}

/* Appends e, or refuses it (freeing it) with an error reply and the
 * transaction failed. */
static int push(resp_txn_t *t, resp_txn_entry_t *e, struct evbuffer *out)
{
    if (e == NULL) {
        t->dirty = true;
        return resp_reply_error(out, "OOM out of memory for the queued command; the transaction will be discarded");
    }
    if (t->nqueue >= RESP_TXN_MAX_QUEUE || t->queue_bytes + e->bytes > RESP_TXN_MAX_BYTES) {
        free(e);
        t->dirty = true;
        return resp_reply_errorf(out,
                                 "ERR transaction too long: at most %u commands and %u bytes may be queued; "
                                 "the transaction will be discarded",
                                 RESP_TXN_MAX_QUEUE, RESP_TXN_MAX_BYTES);
    }
    if (t->nqueue == t->queue_cap) {
        size_t cap = t->queue_cap ? 2 * t->queue_cap : 16;
        resp_txn_entry_t **q = realloc(t->queue, cap * sizeof(*q));
        if (q == NULL) {
            free(e);
            t->dirty = true;
            return resp_reply_error(out, "OOM out of memory for the queued command; the transaction will be discarded");
        }
        t->queue = q;
        t->queue_cap = cap;
    }
    t->queue[t->nqueue++] = e;
    t->queue_bytes += e->bytes;
    return resp_reply_simple(out, "QUEUED", 6);
}

int resp_multi_queue(resp_txn_t *t, const cmd_t *cmd, struct evbuffer *out)
{
    switch (cmd->id) {
    case CMD_SAVE:
    case CMD_FLUSHALL:
    case CMD_FLUSHDB:
        /* SAVE waits for the persister and a clear is a record of its own:
         * neither can run inside EXEC's critical section. (Redis refuses
         * SAVE too, with these words; it allows the flushes.) */
        t->dirty = true;
        return resp_reply_error(out, "ERR Command not allowed inside a transaction");
    default: return push(t, entry_new(cmd, NULL), out);
    }
}

bool resp_multi_reject(resp_txn_t *t, const char *msg, bool table_error, bool fatal, struct evbuffer *out)
{
    if (!t->active)
        return false;
    if (table_error || fatal) {
        t->dirty = true;
        resp_reply_error(out, msg);
        return true;
    }
    push(t, entry_new(NULL, msg), out);
    return true;
}

static int do_watch(conn_t *c, resp_txn_t *t, const cmd_t *cmd, struct evbuffer *out)
{
    if (t->active)
        return resp_reply_error(out, "ERR WATCH inside MULTI is not allowed");
    size_t bytes = 0;
    for (size_t i = 0; i < cmd->argc; i++)
        bytes += cmd->argv[i].len;
    if (t->nwatch + cmd->argc > RESP_TXN_MAX_WATCH || t->watch_bytes + bytes > RESP_TXN_MAX_WATCH_BYTES)
        return resp_reply_errorf(out, "ERR too many watched keys: at most %u keys of %u bytes in all (UNWATCH first)",
                                 RESP_TXN_MAX_WATCH, RESP_TXN_MAX_WATCH_BYTES);
    if (t->nwatch + cmd->argc > t->watch_cap) {
        size_t cap = t->watch_cap ? t->watch_cap : 16;
        while (cap < t->nwatch + cmd->argc)
            cap *= 2;
        resp_watch_t *w = realloc(t->watch, cap * sizeof(*w));
        if (w == NULL)
            return resp_reply_error(out, "OOM out of memory for the watched keys");
        t->watch = w;
        t->watch_cap = cap;
    }
    store_t *st = exec_store(c);
    for (size_t i = 0; i < cmd->argc; i++) {
        const cmd_arg_t *k = &cmd->argv[i];
        resp_watch_t *w = &t->watch[t->nwatch];
        store_err_t err = store_watch(st, k->ptr, k->len, &w->w);
        if (err != STORE_OK)
            return resp_reply_ops_error(out, st, ops_from_store(err));
        if ((w->key = malloc(k->len ? k->len : 1)) == NULL)
            return resp_reply_error(out, "OOM out of memory for the watched keys");
        if (k->len)
            memcpy(w->key, k->ptr, k->len);
        w->klen = k->len;
        t->nwatch++;
        t->watch_bytes += k->len;
    }
    return resp_reply_ok(out);
}

static bool watched_changed(store_t *st, const resp_txn_t *t)
{
    for (size_t i = 0; i < t->nwatch; i++)
        if (store_watch_changed_locked(st, t->watch[i].key, t->watch[i].klen, &t->watch[i].w))
            return true;
    return false;
}

/* The reply for a transaction the store could not finish: nothing of it
 * was applied. */
static int reply_not_applied(struct evbuffer *out, store_err_t err, const char *detail)
{
    switch (err) {
    case STORE_TXN_TOO_BIG:
        return resp_reply_errorf(out, "ERR transaction too large for one atomic change (%s); nothing was applied",
                                 detail);
    case STORE_TOO_BIG:
        return resp_reply_errorf(out, "ERR EXEC reply too large: %s; nothing was applied (queue fewer commands, or "
                                      "read with LIMIT/SCAN)",
                                 detail);
    case STORE_BUSY:
        return resp_reply_errorf(out, "BUSY the change log is full: the persister is behind or down; nothing was "
                                      "applied, retry later (%s)",
                                 detail);
    case STORE_NOMEM:
        return resp_reply_errorf(out, "OOM command not allowed when used memory > 'maxmemory'. (%s); nothing was "
                                      "applied",
                                 detail);
    default: return resp_reply_errorf(out, "ERR internal error: %s; nothing was applied", detail);
    }
}

/* Runs the queue into body inside the caller's critical section. Returns
 * 0, -1 if a reply could not be built (the caller aborts), or 1 if the
 * store failed a change or the replies outgrew --max-output (*err,
 * detail): the caller aborts. The check after each command keeps body
 * under --max-output plus one command's reply (a RANGE's is itself
 * bounded by --max-output, a GET's by the value size). */
static int run_queue(conn_t *c, resp_state_t *s, struct evbuffer *body, store_err_t *err, char *detail, size_t dlen)
{
    store_t *st = exec_store(c);
    resp_txn_t *t = &s->txn;
    uint64_t limit = c->w->settings.max_output;
    for (size_t i = 0; i < t->nqueue; i++) {
        const resp_txn_entry_t *e = t->queue[i];
        if (e->error) {
            if (resp_reply_error(body, e->error) != 0)
                return -1;
        } else {
            if (resp_exec(c, s, &e->cmd, body) != PROTO_CONTINUE)
                return -1;
            if ((*err = store_write_error(st)) != STORE_OK) {
                snprintf(detail, dlen, "%s", store_error_detail());
                return 1;
            }
        }
        if (limit && evbuffer_get_length(body) > limit) {
            *err = STORE_TOO_BIG;
            snprintf(detail, dlen, "the replies of its first %zu of %zu commands pass --max-output (%llu bytes)", i + 1,
                     t->nqueue, (unsigned long long)limit);
            return 1;
        }
    }
    return 0;
}

static bool queue_writes(const resp_txn_t *t)
{
    for (size_t i = 0; i < t->nqueue; i++)
        if (!t->queue[i]->error && (cmd_info(t->queue[i]->cmd.id) & CMD_I_WRITE))
            return true;
    return false;
}

/* EXEC: the watches are checked and the queue runs under one store
 * critical section, so the transaction is one log record (one LSN),
 * applied all or nothing, and readers see all of it or none. */
static int do_exec(conn_t *c, resp_state_t *s, struct evbuffer *out)
{
    resp_txn_t *t = &s->txn;
    if (!t->active)
        return resp_reply_error(out, "ERR EXEC without MULTI");
    t->active = false; /* the queued commands now run, not queue */
    int rc;
    store_t *st = exec_store(c);
    struct evbuffer *body = NULL;
    store_err_t err;
    exec_txn_end_t end = EXEC_TXN_ABORTED_ERROR;
    if (t->dirty) {
        rc = resp_reply_error(out, EXECABORT);
    } else if ((err = store_write_lock(st)) != STORE_OK) {
        rc = resp_reply_ops_error(out, st, ops_from_store(err));
    } else if (watched_changed(st, t)) {
        store_write_abort(st);
        end = EXEC_TXN_ABORTED_WATCH;
        rc = resp_reply_null_array(out);
    } else if ((body = evbuffer_new()) == NULL) {
        store_write_abort(st);
        rc = -1;
    } else {
        char detail[256];
        int run = run_queue(c, s, body, &err, detail, sizeof(detail));
        if (run != 0) {
            store_write_abort(st); /* none of the transaction is applied */
            rc = run < 0 ? -1 : reply_not_applied(out, err, detail);
        } else {
            store_write_unlock(st);
            end = EXEC_TXN_RAN;
            if (queue_writes(t))
                c->wrote = true; /* --fsync always: the reply waits for the record's fsync */
            rc = resp_reply_array(out, t->nqueue);
            if (rc == 0)
                rc = evbuffer_add_buffer(out, body);
        }
    }
    exec_count_txn(c, end);
    if (body)
        evbuffer_free(body);
    queue_clear(t);
    unwatch(t);
    return rc;
}

int resp_multi_command(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out)
{
    resp_txn_t *t = &s->txn;
    switch (cmd->id) {
    case CMD_MULTI:
        if (t->active)
            return resp_reply_error(out, "ERR MULTI calls can not be nested");
        t->active = true;
        t->dirty = false;
        return resp_reply_ok(out);
    case CMD_EXEC: return do_exec(c, s, out);
    case CMD_DISCARD:
        if (!t->active)
            return resp_reply_error(out, "ERR DISCARD without MULTI");
        queue_clear(t);
        unwatch(t);
        return resp_reply_ok(out);
    case CMD_WATCH: return do_watch(c, t, cmd, out);
    case CMD_UNWATCH: unwatch(t); return resp_reply_ok(out);
    default: return resp_reply_error(out, "ERR internal error: not a transaction command");
    }
}
