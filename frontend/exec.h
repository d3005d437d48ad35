/*
 * exec.h — the executor's shared half: what running a command means,
 * independent of the protocol that carried it.
 *
 * Both protocols parse into a cmd_t (command.h); resp_exec.c and
 * native_exec.c run it through the helpers here and through ops.h, and
 * differ only in how they encode replies. Everything here runs in a worker
 * and reaches the region only through the store API.
 */
#ifndef FICKLE_FRONTEND_EXEC_H
#define FICKLE_FRONTEND_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "frontend/command.h"
#include "frontend/conn.h"
#include "frontend/ops.h"
#include "store/store.h"

/* Reply-size cap for a RANGE/KEYS page: rows stop (native: MORE flag) once
 * a reply reaches it, so one request cannot make a huge reply at once. */
#define EXEC_MAX_REPLY_BYTES (64u << 20)

/* Per-worker scratch buffers, reused across requests to avoid a malloc per
 * command. Valid until the next command. */
typedef struct {
    store_buf_t val;
    store_buf_t old;
    store_rows_t rows;
    ops_pair_t *pairs;
    size_t pairs_cap;
    store_key_t *keys; /* MGET */
    store_mget_row_t *mrows;
    size_t keys_cap;
} exec_scratch_t;

void exec_scratch_free(exec_scratch_t *s);

/* The worker's store and scratch for c. */
store_t *exec_store(const conn_t *c);
exec_scratch_t *exec_scratch(conn_t *c);

/* AUTH: compares in constant time with the configured password. Returns 1
 * (authenticated), 0 (wrong password or user), -1 (no password configured). */
int exec_auth(conn_t *c, const cmd_t *cmd);

/* True if c may run cmd now (authenticated, or a command allowed before). */
bool exec_allowed(const conn_t *c, const cmd_t *cmd);

/* Converts the command's expiry to absolute Unix ms. Returns false if it is
 * already in the past (a relative <= 0 or an absolute <= now). */
bool exec_abs_expiry(store_t *st, const cmd_t *cmd, uint64_t *abs_ms);

/* Fills q from a RANGE/RCOUNT command's bounds and flags (limit excluded). */
void exec_range_bounds(const cmd_t *cmd, store_range_t *q);

/* The SET family's options as ops_set_t. Returns false if the expiry is
 * already past (the key must then just be deleted, as Redis does). */
bool exec_set_options(store_t *st, const cmd_t *cmd, ops_set_t *o);

/* MGET: every operand key read in ONE consistent view (store_mget), so a
 * reader never sees half of a transaction. *rows (one per key) and the
 * values (exec_scratch(c)->val) live in the scratch. STORE_OK or
 * STORE_NOMEM. */
store_err_t exec_mget(conn_t *c, const cmd_t *cmd, const store_mget_row_t **rows);

/* MSET's operand pairs in the scratch array. NULL if out of memory. */
const ops_pair_t *exec_pairs(conn_t *c, const cmd_t *cmd, size_t *n);

/* Appends INFO's text ("# Section\r\nname:value\r\n...") for one section
 * ("server", "clients", "memory", "stats", "keyspace"; "all"/"default"/
 * "everything"/NULL for all). Returns -1 if out of memory. */
int exec_info(conn_t *c, const char *section, size_t slen, struct evbuffer *out);

/* SAVE: takes a snapshot ticket and parks c after this request (conn.h):
 * reply writes the answer later. Writes nothing now. */
void exec_save(conn_t *c, const cmd_t *cmd,
               void (*reply)(conn_t *c, struct evbuffer *out, int status, uint64_t lsn));

/* BGSAVE: asks for a snapshot unless one is in progress or queued (then
 * only with schedule). Returns EXEC_BGSAVE_*. */
enum { EXEC_BGSAVE_STARTED, EXEC_BGSAVE_SCHEDULED, EXEC_BGSAVE_BUSY };
int exec_bgsave(conn_t *c, bool schedule);

/* LASTSAVE: Unix seconds of the last successful snapshot (at start: the
 * newest snapshot's on disk, or the server's start). */
int64_t exec_lastsave(conn_t *c);

/* Counts a command executed by c's worker. */
void exec_count_command(conn_t *c);

/* How a transaction (RESP EXEC, native TXN) ended, for INFO's txn_*
 * counters: it ran (a TXN whose compares failed ran its else branch), or
 * nothing of it was applied because a WATCHed key changed or an error. */
typedef enum { EXEC_TXN_RAN, EXEC_TXN_RAN_ELSE, EXEC_TXN_ABORTED_WATCH, EXEC_TXN_ABORTED_ERROR } exec_txn_end_t;
void exec_count_txn(conn_t *c, exec_txn_end_t how);

#endif
