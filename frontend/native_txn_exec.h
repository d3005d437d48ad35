/*
 * native_txn_exec.h — runs a native TXN request (docs/protocol.md, TXN
 * 0x20) against the store as one critical section.
 */
#ifndef FICKLE_FRONTEND_NATIVE_TXN_EXEC_H
#define FICKLE_FRONTEND_NATIVE_TXN_EXEC_H

#include <event2/buffer.h>

#include "frontend/command.h"
#include "frontend/conn.h"
#include "frontend/native_txn.h"

/* Parses cmd's TXN body into t (the connection's, reused), runs it and
 * appends the reply (OK with results, or an error status) to out.
 * Returns 0, or -1 if the reply could not be built (close the connection). */
int native_txn_run(conn_t *c, const cmd_t *cmd, native_txn_t *t, struct evbuffer *out);

#endif
