/*
 * resp_multi.h — RESP transactions: MULTI / EXEC / DISCARD / WATCH /
 * UNWATCH with Redis 7's semantics, per connection.
 *
 * Between MULTI and EXEC commands are copied out of the input buffer and
 * queued. EXEC checks the watched keys and runs the whole queue in ONE
 * store critical section: one log record with one LSN, all or nothing
 * across crashes, invisible to readers until it commits. docs/server.md
 * describes the semantics, limits and isolation.
 */
#ifndef FICKLE_FRONTEND_RESP_MULTI_H
#define FICKLE_FRONTEND_RESP_MULTI_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "frontend/command.h"
#include "frontend/conn.h"
#include "store/store.h"

/* Limits of one connection's transaction state. Past them the command is
 * refused and the transaction is aborted at EXEC (EXECABORT). */
#define RESP_TXN_MAX_QUEUE 100000u        /* commands queued */
#define RESP_TXN_MAX_BYTES (64u << 20)    /* operand bytes queued */
#define RESP_TXN_MAX_WATCH 100000u        /* keys watched */
#define RESP_TXN_MAX_WATCH_BYTES (64u << 20)

typedef struct resp_txn_entry resp_txn_entry_t;
typedef struct resp_watch resp_watch_t;

typedef struct {
    bool active;         /* between MULTI and EXEC / DISCARD */
    bool dirty;          /* a command was refused while queuing: EXEC aborts */
    resp_txn_entry_t **queue;
    size_t nqueue, queue_cap, queue_bytes;
    resp_watch_t *watch;
    size_t nwatch, watch_cap, watch_bytes;
} resp_txn_t;

struct resp_state;

/* True if cmd is to be queued rather than run: c is inside MULTI and cmd
 * is not one of those that act at once (EXEC, DISCARD, MULTI, WATCH, QUIT). */
bool resp_multi_queues(const resp_txn_t *t, const cmd_t *cmd);

/* Queues cmd (a copy) and replies QUEUED, or refuses it (then EXEC aborts).
 * Returns 0, or -1 if the reply could not be built. */
int resp_multi_queue(resp_txn_t *t, const cmd_t *cmd, struct evbuffer *out);

/* A request that did not parse while c is inside MULTI. The command
 * table's errors (table_error: unknown command, wrong arity) and fatal
 * ones are answered now and abort the transaction, as Redis rejects them
 * before queuing; other errors Redis finds only when it runs the command,
 * so they are queued and come back inside EXEC's reply. Returns true if
 * it handled the error (and wrote the reply), false if not inside MULTI. */
bool resp_multi_reject(resp_txn_t *t, const char *msg, bool table_error, bool fatal, struct evbuffer *out);

/* Marks the transaction in progress (if any) as failed: EXEC aborts. */
void resp_multi_fail(resp_txn_t *t);

/* MULTI, EXEC, DISCARD, WATCH, UNWATCH. Returns 0, or -1 if a reply could
 * not be built (the connection then closes). */
int resp_multi_command(conn_t *c, struct resp_state *s, const cmd_t *cmd, struct evbuffer *out);

/* Frees everything (connection close). */
void resp_multi_free(resp_txn_t *t);

#endif
