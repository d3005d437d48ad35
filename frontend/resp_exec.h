/*
 * resp_exec.h — the RESP side of the executor: runs parsed RESP commands
 * (cmd_t) against the store with Redis's semantics and replies, and the
 * per-connection RESP state.
 */
#ifndef FICKLE_FRONTEND_RESP_EXEC_H
#define FICKLE_FRONTEND_RESP_EXEC_H

#include <event2/buffer.h>

#include "frontend/conn.h"
#include "frontend/exec.h"
#include "frontend/resp_multi.h"
#include "frontend/resp_parse.h"

#define RESP_CLIENT_NAME_MAX 128

typedef struct resp_state {
    resp_parser_t p;
    size_t want;             /* bytes to buffer before parsing again */
    char name[RESP_CLIENT_NAME_MAX + 1];
    bool has_name;
    /* SCAN resumes from the last key it returned when the client passes
     * back the cursor it was given (the usual case), in O(log n). */
    uint64_t scan_cursor;
    store_buf_t scan_key;
    resp_txn_t txn; /* MULTI ... EXEC */
} resp_state_t;

/* Runs cmd (authorised already) and appends its reply. PROTO_CLOSE after
 * QUIT or if a reply could not be built (out of memory). */
proto_result_t resp_exec(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out);

/* Server, connection and keyspace-walk commands (resp_exec_server.c).
 * Return 0, or -1 if the reply could not be built. */
int resp_exec_server(conn_t *c, resp_state_t *s, const cmd_t *cmd, struct evbuffer *out);

/* The reply for a failed ops call (Redis's wording). */
int resp_reply_ops_error(struct evbuffer *out, store_t *st, ops_status_t rc);

/* Rows of a key walk: calls fn for every live key in q's range in order, a
 * page at a time (so no reply is built from one huge read). fn returns
 * false to stop. Returns STORE_OK or the store's error. */
typedef bool (*resp_walk_fn)(void *arg, const store_row_t *row);
store_err_t resp_walk(store_t *st, exec_scratch_t *sc, const store_range_t *q, resp_walk_fn fn, void *arg);

#endif
