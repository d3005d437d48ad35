/*
 * conn.h — one client connection in a worker, and the interface a
 * protocol implements to serve it.
 *
 * The connection layer owns sockets, buffers, limits and lifetimes; it
 * knows nothing of any protocol. A protocol (native, RESP) parses the
 * input buffer, runs each complete request, and appends replies to the
 * output buffer; the connection layer flushes them once per loop turn,
 * so a pipelined burst is answered in one write.
 */
#ifndef FICKLE_FRONTEND_CONN_H
#define FICKLE_FRONTEND_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "frontend/command.h"
#include "frontend/conn_io.h"

struct worker;
typedef struct conn conn_t;

typedef enum {
    PROTO_CONTINUE = 0, /* keep the connection */
    PROTO_CLOSE,        /* flush the replies written so far, then close */
} proto_result_t;

typedef struct {
    const char *name; /* "native", "resp" */
    /* Runs every complete request in `in` (consuming it) and appends the
     * replies to `out`. Stops early and returns PROTO_CONTINUE when
     * conn_output_full(c) says the client is not reading. */
    proto_result_t (*process)(conn_t *c, struct evbuffer *in, struct evbuffer *out);
    /* Writes one error reply before a refused connection closes (the
     * native protocol sends native_status with msg). */
    void (*error_reply)(struct evbuffer *out, uint16_t native_status, const char *msg);
    /* Per-connection protocol state (parser, client name...), made when
     * the connection is adopted (c->w is set). NULL if out of memory. */
    void *(*state_new)(const conn_t *c);
    void (*state_free)(void *state);
} proto_t;

struct conn {
    conn_io_t *io; /* the socket and its buffers */
    struct worker *w;
    const proto_t *proto;
    void *pstate;
    uint64_t id;         /* unique in this worker's life; CLIENT ID */
    uint64_t created_ms;
    uint64_t last_ms;    /* last read */
    uint64_t partial_ms; /* since when a request is incomplete (0: none) */
    bool authed;
    bool closing;        /* closes once the output is flushed */
    bool wrote;          /* ran a write command in this read (conn_pump) */
    bool queued;         /* the protocol only queued the request (MULTI): it wrote nothing yet */
    /* --fsync always: replies to a batch that wrote wait here, and input
     * waits unread, until the durable LSN reaches wait_lsn (group commit:
     * one fsync releases every parked connection it covers). */
    bool parked;
    bool close_after_release;
    uint64_t wait_lsn;
    /* SAVE: the request loop stops after it, and the connection is parked
     * (input unread) until the persister answers this snapshot ticket;
     * then save_reply writes the reply (status: 1 saved, -1 failed; lsn:
     * the snapshot's start LSN) and the loop resumes. 0 = no SAVE. */
    uint64_t save_ticket;
    void (*save_reply)(conn_t *c, struct evbuffer *out, int status, uint64_t lsn);
    uint8_t save_opcode;  /* native: the request's opcode and opaque */
    uint64_t save_opaque;
    uint64_t parked_ms;
    struct evbuffer *held;
    conn_t *park_prev, *park_next;
    char peer[64];
    conn_t *prev, *next; /* worker's list of live connections */
};

/* True if the client's queued output has reached the output limit: the
 * protocol should stop executing requests for it. */
bool conn_output_full(const conn_t *c);

/* The request loop both protocols share: parse every complete request in
 * the input, run each in order, stop when the output is full, close on a
 * fatal framing error. Parsers are pure (command.h's contract). */
typedef struct {
    /* Parses the next request in buf[0..len) with c's protocol state. */
    cmd_parse_t (*parse)(conn_t *c, const char *buf, size_t len, cmd_t *cmd);
    /* Runs a parsed request (authorisation included). */
    proto_result_t (*run)(conn_t *c, const cmd_t *cmd, struct evbuffer *out);
    /* Writes the error reply for a request that did not parse; r->fatal
     * means the connection closes after it. */
    void (*reject)(conn_t *c, const cmd_t *cmd, const cmd_parse_t *r, struct evbuffer *out);
    /* Optional: the key of the whole request at the start of buf and the
     * request's length, or 0 (see resp_peek_key); used only to prefetch. */
    size_t (*peek_key)(const char *buf, size_t len, const char **key, size_t *klen);
} conn_pump_t;

/* Runs the loop; *want is the protocol state's "bytes needed" hint. */
proto_result_t conn_pump(conn_t *c, struct evbuffer *in, struct evbuffer *out, size_t *want, const conn_pump_t *p);

/* Adopts an accepted socket. Returns the connection, or NULL (the fd is
 * closed and the reason logged). */
conn_t *conn_new(struct worker *w, int fd, const proto_t *proto, const char *peer);

/* Counts a close for a limit or a protocol error (INFO's
 * clients_closed_for_limits); the protocol then returns PROTO_CLOSE. */
void conn_count_limit_close(conn_t *c);

/* How long a connection waits for durability before it is closed without
 * its replies: the writes may or may not be durable, and it is never told
 * OK for one whose fsync did not happen (a failing disk, a persister that
 * cannot start). A SAVE's wait has no such bound (as Redis's SAVE). */
#define CONN_DURABLE_TIMEOUT_MS 30000

/* How many pipelined requests conn_pump prefetches ahead: enough to cover
 * a typical pipeline, few enough that the lines are still in cache when
 * their requests run. */
#define CONN_PREFETCH_DEPTH STORE_PREFETCH_MAX

/* Worker: releases every parked connection whose wait is over: the durable
 * LSN covers its writes and, after a SAVE, the persister answered it; and
 * closes those whose writes waited past CONN_DURABLE_TIMEOUT_MS. */
void conn_release_parked(struct worker *w);

/* Input a connection buffers before AUTH (with --requirepass): bigger
 * requests are refused and the connection closed. */
#define CONN_UNAUTH_MAX_INPUT (64u * 1024)

/* Worker, once a second: closes connections whose pending request has not
 * completed within the idle timeout (--timeout) -- a client trickling a
 * request byte by byte resets the idle timer, not this one. */
void conn_sweep_requests(struct worker *w);

/* Closes now, dropping unsent output. `why` is logged at debug level. */
void conn_close(conn_t *c, const char *why);

/* Closes once the output is flushed; stops reading at once. */
void conn_close_after_flush(conn_t *c);

#endif
