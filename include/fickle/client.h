/*
 * fickle/client.h — libfickle, a blocking C client for fickle's native
 * binary protocol (docs/protocol.md; constants in fickle/protocol.h).
 *
 * One fickle_t is one connection; it is not thread-safe (use one per
 * thread). The library depends on nothing but libc and never raises
 * SIGPIPE. docs/client.md has an overview and an example program.
 *
 * Results. Every call that talks to the server returns an int status:
 *   0                    FICKLE_OK (= FICKLE_STATUS_OK)
 *   > 0                  the server's FICKLE_STATUS_* reply (NOT_FOUND, ...);
 *                        the connection stays usable
 *   < 0                  a client-side FICKLE_ERR_* (I/O, timeout, ...)
 * fickle_errstr() then describes the last call's result, including the
 * server's message for a status reply. After FICKLE_ERR_IO, _TIMEOUT,
 * _PROTOCOL, _CLOSED or _TOO_BIG the connection is unusable (the stream
 * may be out of step): every later call returns FICKLE_ERR_CLOSED; close
 * it and connect again. FICKLE_ERR_ARG and FICKLE_ERR_NOMEM from a call
 * that had not sent anything leave it usable.
 *
 * Keys are byte strings of 0..65535 bytes, values of 0..UINT32_MAX bytes
 * (the server's limits are lower); (pointer, length) pairs throughout.
 */
#ifndef FICKLE_CLIENT_H
#define FICKLE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fickle/protocol.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FICKLE_OK 0

/* Client-side results (negative, so they never collide with a status). */
enum {
    FICKLE_ERR_IO = -1,       /* a system call failed (connect refused, reset, ...) */
    FICKLE_ERR_TIMEOUT = -2,  /* connect or I/O wait exceeded the timeout */
    FICKLE_ERR_PROTOCOL = -3, /* the server broke the protocol (bad magic, wrong opaque, ...) */
    FICKLE_ERR_CLOSED = -4,   /* the server closed the connection, or it failed earlier */
    FICKLE_ERR_TOO_BIG = -5,  /* a reply larger than the max_reply option */
    FICKLE_ERR_NOMEM = -6,    /* out of memory */
    FICKLE_ERR_ARG = -7,      /* bad argument or call out of turn; nothing was sent */
};

#define FICKLE_DEFAULT_PORT 7070
#define FICKLE_DEFAULT_MAX_REPLY (64u * 1024 * 1024)

typedef struct fickle fickle_t;

typedef struct {
    /* Bounds the connect and every later wait for the socket (to send or to
     * receive bytes), in ms; 0 = wait forever. Default 5000. */
    int timeout_ms;
    /* The largest reply frame accepted (header included); a reply that
     * claims more fails with FICKLE_ERR_TOO_BIG before anything is
     * allocated. Default FICKLE_DEFAULT_MAX_REPLY. */
    size_t max_reply;
} fickle_options_t;

/* Fills *o with the defaults. */
void fickle_options_init(fickle_options_t *o);

/* Connects over TCP (host name or address; port e.g. FICKLE_DEFAULT_PORT),
 * trying each address the name resolves to. opts NULL = defaults.
 * Always sets *out to a handle unless memory is exhausted (then NULL and
 * FICKLE_ERR_NOMEM): on failure, fickle_errstr(*out) says why. The caller
 * fickle_close()s it either way. */
int fickle_connect(fickle_t **out, const char *host, uint16_t port, const fickle_options_t *opts);
/* As fickle_connect, over a Unix-domain stream socket at path. */
int fickle_connect_unix(fickle_t **out, const char *path, const fickle_options_t *opts);
/* Closes the socket and frees everything the handle owns. NULL is a no-op. */
void fickle_close(fickle_t *c);

/* The last call's result as text: "" after success; else e.g.
 * "NOT_FOUND: no such key" or "timeout: no reply within 5000 ms". Valid
 * until the next call on c. NULL c gives a generic out-of-memory text. */
const char *fickle_errstr(const fickle_t *c);
/* Name of a result code: "OK", "NOT_FOUND", "ERR_TIMEOUT", ...;
 * "UNKNOWN" for codes this library does not know. Never NULL. */
const char *fickle_strstatus(int code);
/* False once the connection has failed or been closed by QUIT. */
bool fickle_usable(const fickle_t *c);

/* ---- results ------------------------------------------------------------------ */

/* GET / EXISTS result. value is malloc'd and NUL-terminated (the NUL is
 * not counted in len); the caller owns it (free() it, or fickle_item_free).
 * EXISTS leaves value NULL. */
typedef struct {
    char *value;
    size_t len;
    uint64_t version;   /* the item's version (never 0) */
    uint64_t expiry_ms; /* absolute Unix ms, 0 = no expiry */
} fickle_item_t;

void fickle_item_free(fickle_item_t *it);

/* One row of an MGET or RANGE result. key and value point into the
 * result and live until fickle_rows_free; they are not NUL-terminated. */
typedef struct {
    const char *key;
    size_t klen;
    const char *value; /* NULL with FICKLE_ROW_MISSING or FICKLE_ROW_NO_VALUE */
    size_t vlen;
    uint64_t version;  /* 0 with FICKLE_ROW_MISSING */
    unsigned flags;    /* FICKLE_ROW_* */
} fickle_row_t;

/* An MGET or RANGE result: a validated, immutable list of rows. */
typedef struct fickle_rows fickle_rows_t;

size_t fickle_rows_count(const fickle_rows_t *r);
/* Row i (< count), or NULL. */
const fickle_row_t *fickle_rows_at(const fickle_rows_t *r, size_t i);
/* Iterates: the next row, or NULL after the last; fickle_rows_rewind
 * starts over. */
const fickle_row_t *fickle_rows_next(fickle_rows_t *r);
void fickle_rows_rewind(fickle_rows_t *r);
/* RANGE: the server's reply cap cut the result short (row-set flag
 * FICKLE_ROWS_MORE); repeat from the last key, exclusive, for the rest. */
bool fickle_rows_more(const fickle_rows_t *r);
void fickle_rows_free(fickle_rows_t *r);

/* ---- commands (synchronous: send one request, wait for its reply) ------------- */
/* Each fails with FICKLE_ERR_ARG if pipelined replies are still pending.
 * Output pointers may be NULL when not wanted; they are written only on
 * FICKLE_OK. */

/* AUTH: user NULL or "" = the default user. */
int fickle_auth(fickle_t *c, const char *user, const char *password);
/* PING with an optional message (msg NULL, len 0 for none); checks that the
 * server echoes it. */
int fickle_ping(fickle_t *c, const void *msg, size_t len);
/* GET: FICKLE_OK with *out filled, or FICKLE_STATUS_NOT_FOUND. */
int fickle_get(fickle_t *c, const void *key, size_t klen, fickle_item_t *out);
/* SET with an expiry in ms (0 = none; relative unless FICKLE_SET_EXPIRE_AT)
 * and flags FICKLE_SET_NX / _XX / _KEEPTTL / _EXPIRE_AT. *version = the new
 * item's version. NX on a present key: FICKLE_STATUS_EXISTS; XX on an
 * absent one: FICKLE_STATUS_NOT_FOUND. */
int fickle_set(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry_ms,
               unsigned flags, uint64_t *version);
/* CAS: writes only if the key's version is `expected`; flags
 * FICKLE_SET_KEEPTTL / _EXPIRE_AT. FICKLE_STATUS_CAS_MISMATCH or
 * FICKLE_STATUS_NOT_FOUND when it did not write. */
int fickle_cas(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expected,
               uint64_t expiry_ms, unsigned flags, uint64_t *version);
/* DEL: unconditional with version 0, else only at that version
 * (FICKLE_STATUS_CAS_MISMATCH otherwise). NOT_FOUND if absent. */
int fickle_del(fickle_t *c, const void *key, size_t klen, uint64_t version);
/* EXISTS: FICKLE_OK (with version and expiry) or FICKLE_STATUS_NOT_FOUND. */
int fickle_exists(fickle_t *c, const void *key, size_t klen, uint64_t *version, uint64_t *expiry_ms);
/* INCR / DECR by n: *value = the new value, *version = its version. */
int fickle_incr(fickle_t *c, const void *key, size_t klen, int64_t n, int64_t *value, uint64_t *version);
int fickle_decr(fickle_t *c, const void *key, size_t klen, int64_t n, int64_t *value, uint64_t *version);
/* MGET of n >= 1 keys (klens NULL: keys are NUL-terminated strings). *out
 * gets one row per key, in order; absent keys have FICKLE_ROW_MISSING.
 * Free with fickle_rows_free. */
int fickle_mget(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, fickle_rows_t **out);
/* MSET of n >= 1 pairs, atomically (klens/vlens NULL: NUL-terminated
 * strings); flags FICKLE_MSET_NX. *version = the version of every item. */
int fickle_mset(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, const void *const *vals,
                const size_t *vlens, unsigned flags, uint64_t *version);

/* A key range for RANGE and COUNT. start NULL = no start bound (from the
 * first key), end NULL = no end bound; otherwise a bound is exclusive
 * unless FICKLE_RANGE_START_INCL / _END_INCL is in flags. The start bound
 * is the low one even with FICKLE_RANGE_REVERSE. */
typedef struct {
    const void *start;
    size_t start_len;
    const void *end;
    size_t end_len;
    unsigned flags; /* FICKLE_RANGE_*: _INCL, _REVERSE, _KEYS_ONLY (_NONE is implied by NULL) */
    uint32_t limit; /* most rows (RANGE) or the count cap (COUNT); 0 = none */
} fickle_range_t;

/* Every key, ascending, no limit. */
void fickle_range_init(fickle_range_t *q);
/* RANGE: rows in key order (descending with REVERSE), values omitted with
 * KEYS_ONLY. Check fickle_rows_more for a cut-short result. */
int fickle_range(fickle_t *c, const fickle_range_t *q, fickle_rows_t **out);
/* COUNT of live keys in the range (REVERSE and KEYS_ONLY are ignored). */
int fickle_count(fickle_t *c, const fickle_range_t *q, uint64_t *count);
/* STATS of a section (NULL or "" = the default sections): *text is
 * malloc'd, NUL-terminated INFO-style text; the caller frees it. */
int fickle_stats(fickle_t *c, const char *section, char **text, size_t *len);
/* QUIT: the server replies and closes; the handle is then unusable (still
 * fickle_close it). */
int fickle_quit(fickle_t *c);
/* SAVE: the server takes a snapshot begun after this request and replies
 * once it is durable; *lsn gets its start LSN (every change up to it is
 * in it). Can take long on a big data set: the connection's timeout_ms
 * applies (FICKLE_ERR_TIMEOUT leaves the handle unusable; the snapshot
 * still completes). FICKLE_STATUS_INTERNAL: the snapshot failed (the
 * server's log says why). */
int fickle_save(fickle_t *c, uint64_t *lsn);
/* BGSAVE: asks for a snapshot and returns at once. FICKLE_STATUS_BUSY: one
 * is already running or asked for (nothing more was asked). */
int fickle_bgsave(fickle_t *c);
/* LASTSAVE: *unix_s = Unix seconds of the last successful snapshot (at
 * server start: the newest snapshot found on disk, 0 if none), read from
 * STATS (rdb_last_save_time): poll it to see a BGSAVE finish.
 * FICKLE_ERR_PROTOCOL (connection still usable) if STATS lacks it. */
int fickle_lastsave(fickle_t *c, int64_t *unix_s);

/* ---- pipelining -------------------------------------------------------------- */
/* fickle_queue_* encode a request into the send buffer and return at once
 * (FICKLE_OK, or FICKLE_ERR_ARG / _NOMEM with nothing queued); *opaque (if
 * not NULL) gets the request's id. Nothing is sent until fickle_flush or
 * fickle_read_reply. Replies come back in request order: fickle_read_reply
 * returns the oldest pending one and checks its opaque and opcode. */

int fickle_queue_auth(fickle_t *c, const char *user, const char *password, uint64_t *opaque);
int fickle_queue_ping(fickle_t *c, const void *msg, size_t len, uint64_t *opaque);
int fickle_queue_get(fickle_t *c, const void *key, size_t klen, uint64_t *opaque);
int fickle_queue_set(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry_ms,
                     unsigned flags, uint64_t *opaque);
int fickle_queue_cas(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expected,
                     uint64_t expiry_ms, unsigned flags, uint64_t *opaque);
int fickle_queue_del(fickle_t *c, const void *key, size_t klen, uint64_t version, uint64_t *opaque);
int fickle_queue_exists(fickle_t *c, const void *key, size_t klen, uint64_t *opaque);
/* INCR by n (n < 0 subtracts; use fickle_queue_decr for DECR's opcode). */
int fickle_queue_incr(fickle_t *c, const void *key, size_t klen, int64_t n, uint64_t *opaque);
int fickle_queue_decr(fickle_t *c, const void *key, size_t klen, int64_t n, uint64_t *opaque);
int fickle_queue_mget(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, uint64_t *opaque);
int fickle_queue_mset(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, const void *const *vals,
                      const size_t *vlens, unsigned flags, uint64_t *opaque);
int fickle_queue_range(fickle_t *c, const fickle_range_t *q, uint64_t *opaque);
int fickle_queue_count(fickle_t *c, const fickle_range_t *q, uint64_t *opaque);
int fickle_queue_stats(fickle_t *c, const char *section, uint64_t *opaque);
int fickle_queue_quit(fickle_t *c, uint64_t *opaque);
int fickle_queue_save(fickle_t *c, uint64_t *opaque);
int fickle_queue_bgsave(fickle_t *c, uint64_t *opaque);
/* Any request, for opcodes this library has no helper for. */
int fickle_queue_raw(fickle_t *c, uint8_t opcode, uint8_t flags, const void *extras, size_t elen, const void *key,
                     size_t klen, const void *val, size_t vlen, uint64_t *opaque);

/* Sends everything queued. */
int fickle_flush(fickle_t *c);
/* Requests sent or queued whose replies have not been read. */
size_t fickle_pending(const fickle_t *c);

/* A decoded reply. Which fields are set depends on the opcode (status OK);
 * a non-OK reply has only status, opcode, opaque and the message in value. */
typedef struct {
    int status;          /* FICKLE_STATUS_* */
    uint8_t opcode;      /* the request's */
    uint64_t opaque;     /* the request's */
    uint64_t version;    /* GET, EXISTS, SET, CAS, MSET, INCR, DECR; SAVE: the snapshot's start LSN */
    uint64_t expiry_ms;  /* GET, EXISTS */
    int64_t number;      /* INCR, DECR: the new value */
    uint64_t count;      /* COUNT */
    char *value;         /* GET value, PING echo, STATS text, or the error message: */
    size_t vlen;         /*   malloc'd, NUL-terminated; NULL if none; may be taken */
    fickle_rows_t *rows; /* MGET, RANGE; may be taken (set to NULL) */
    struct fickle_txn_result *txn; /* TXN; may be taken (set to NULL) */
} fickle_reply_t;

/* Flushes, then reads the oldest pending reply into *r (zeroed first).
 * Returns the reply's status (>= 0) once a reply was read -- *r is then
 * filled and must be released with fickle_reply_free -- or a FICKLE_ERR_*
 * (< 0) with *r empty. FICKLE_ERR_ARG if nothing is pending. */
int fickle_read_reply(fickle_t *c, fickle_reply_t *r);
/* Frees value and rows and zeroes *r. */
void fickle_reply_free(fickle_reply_t *r);

/* ---- transactions (TXN) --------------------------------------------------------- */
/* A TXN is built client-side, then sent in one request: compares; if all
 * hold the success ops run, else the failure ops; all of it atomically
 * (docs/protocol.md, TXN). Builder calls copy their arguments. A builder
 * call that fails (FICKLE_ERR_NOMEM, FICKLE_ERR_ARG) leaves the TXN
 * unusable: fickle_txn_exec then returns that error without sending. */

typedef struct fickle_txn fickle_txn_t;
typedef enum { FICKLE_TXN_SUCCESS = 0, FICKLE_TXN_FAILURE = 1 } fickle_txn_branch_t;

/* NULL if out of memory. */
fickle_txn_t *fickle_txn_new(void);
void fickle_txn_free(fickle_txn_t *t);

/* Compares (cmp: FICKLE_TXN_CMP_*). Value: bytewise; an absent key never
 * matches. Version: an absent key has version 0. Exists: holds if the
 * key's presence equals `exists`. */
int fickle_txn_compare_value(fickle_txn_t *t, const void *key, size_t klen, unsigned cmp, const void *val,
                             size_t vlen);
int fickle_txn_compare_version(fickle_txn_t *t, const void *key, size_t klen, unsigned cmp, uint64_t version);
int fickle_txn_compare_exists(fickle_txn_t *t, const void *key, size_t klen, bool exists);

/* Ops of a branch, run in order; each sees the ones before it. PUT:
 * expiry absolute Unix ms (0 = none), flags FICKLE_TXN_PUT_KEEPTTL. */
int fickle_txn_get(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen);
int fickle_txn_put(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen, const void *val,
                   size_t vlen, uint64_t expiry_ms, unsigned flags);
int fickle_txn_del(fickle_txn_t *t, fickle_txn_branch_t branch, const void *key, size_t klen);
/* RANGE as fickle_range (q's keys are copied), seeing the TXN's earlier
 * writes; the rows stop with fickle_rows_more well before the reply cap. */
int fickle_txn_range(fickle_txn_t *t, fickle_txn_branch_t branch, const fickle_range_t *q);

/* The request value (the TXN body): its size, and the bytes written to
 * buf (cap >= size). Returns the size, or 0 if the TXN is unusable. */
size_t fickle_txn_size(const fickle_txn_t *t);
size_t fickle_txn_encode(const fickle_txn_t *t, void *buf, size_t cap);

/* One op's result: status FICKLE_OK or FICKLE_STATUS_NOT_FOUND (GET or
 * DELETE of an absent key); value (GET) and rows (RANGE) belong to the
 * result (valid until fickle_txn_result_free). */
typedef struct {
    unsigned kind;       /* FICKLE_TXN_OP_* */
    int status;
    const char *value;   /* GET with FICKLE_OK; else NULL */
    size_t vlen;
    uint64_t version;    /* GET: the item's; PUT: the new item's */
    uint64_t expiry_ms;  /* GET, PUT: absolute Unix ms, 0 = none */
    fickle_rows_t *rows; /* RANGE; else NULL */
} fickle_txn_op_result_t;

typedef struct fickle_txn_result fickle_txn_result_t;

/* True if every compare held (the success ops ran). */
bool fickle_txn_result_succeeded(const fickle_txn_result_t *r);
/* The version the TXN stamped on what it wrote; 0 if it changed nothing. */
uint64_t fickle_txn_result_revision(const fickle_txn_result_t *r);
/* Results of the branch that ran, one per op, in op order. */
size_t fickle_txn_result_count(const fickle_txn_result_t *r);
const fickle_txn_op_result_t *fickle_txn_result_at(const fickle_txn_result_t *r, size_t i);
void fickle_txn_result_free(fickle_txn_result_t *r);

/* Sends t and waits: FICKLE_OK with *out (whichever branch ran), or an
 * error status (nothing was changed: FICKLE_STATUS_TXN_TOO_BIG, _TOO_BIG,
 * _NOMEM, _BUSY, _BAD_REQUEST...). */
int fickle_txn_exec(fickle_t *c, const fickle_txn_t *t, fickle_txn_result_t **out);
/* Pipelined: the reply's txn field holds the result. */
int fickle_queue_txn(fickle_t *c, const fickle_txn_t *t, uint64_t *opaque);

#ifdef __cplusplus
}
#endif

#endif
