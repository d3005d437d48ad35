/*
 * client/internal.h — libfickle's private parts: the connection structure
 * and the functions the library's files share (conn.c: sockets and I/O,
 * request.c: request encoding and pipelining, reply.c: reply decoding and
 * rows, ops.c: the synchronous typed calls). Never installed.
 */
#ifndef FICKLE_CLIENT_INTERNAL_H
#define FICKLE_CLIENT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "fickle/client.h"

#define FICKLE_ERR_MAX 320
#define FICKLE_RBUF_SIZE 16384u

/* One request whose reply is owed, in send order. */
typedef struct {
    uint64_t opaque;
    uint8_t opcode;
    uint32_t keys; /* MGET: how many rows the reply must have */
} fickle_pend_t;

struct fickle {
    int fd;               /* -1 when closed */
    int timeout_ms;       /* 0 = none */
    size_t max_reply;
    bool dead;            /* failed or quit: every call returns FICKLE_ERR_CLOSED */
    bool wclosed;         /* the server stopped taking requests; replies may still be buffered */
    char err[FICKLE_ERR_MAX];
    char why_dead[FICKLE_ERR_MAX];
    /* queued request bytes: wbuf[woff..wlen) not yet sent */
    uint8_t *wbuf;
    size_t wlen, woff, wcap;
    /* received bytes: rbuf[roff..rlen) not yet consumed */
    uint8_t *rbuf;
    size_t rlen, roff, rcap;
    /* replies owed: ring of pcap entries, pcount from phead */
    fickle_pend_t *pend;
    size_t phead, pcount, pcap;
    uint64_t next_opaque;
};

struct fickle_rows {
    char *buf;          /* the reply's value: rows point into it */
    fickle_row_t *row;
    size_t n, pos;
    uint32_t set_flags;
};

/* ---- conn.c ---------------------------------------------------------------------- */

/* Sets c->err (printf-style) and returns code; the connection stays usable. */
int fickle__fail(fickle_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* As fickle__fail, and marks the connection dead: the socket is closed and
 * every later call returns FICKLE_ERR_CLOSED. */
int fickle__die(fickle_t *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Start of every public call: clears c->err; FICKLE_ERR_CLOSED if dead. */
int fickle__enter(fickle_t *c);
/* Writes all of wbuf, reading replies into rbuf meanwhile if the server
 * pushes back, so neither side can block the other. */
int fickle__flush(fickle_t *c);
/* Reads exactly n bytes of the stream into dst (buffered). At EOF: dies
 * with FICKLE_ERR_CLOSED, saying the server closed the connection while
 * reading `what`. */
int fickle__read(fickle_t *c, void *dst, size_t n, const char *what);

/* ---- request.c ------------------------------------------------------------------- */

/* Starts a request frame: checks the lengths, makes room for the whole
 * frame and its pending entry, writes the header, and returns a pointer to
 * the body (elen + klen + vlen bytes) for the caller to fill; the frame is
 * already counted as queued. Returns NULL with *rc = FICKLE_ERR_ARG or
 * FICKLE_ERR_NOMEM (nothing queued). keys: MGET's key count, else 0. */
uint8_t *fickle__frame(fickle_t *c, uint8_t opcode, uint8_t flags, size_t elen, size_t klen, size_t vlen,
                       uint32_t keys, uint64_t *opaque, int *rc);

/* A range's bounds as sent: flags (those in allowed) with START_NONE /
 * END_NONE for a NULL side, whose key is then empty. */
unsigned fickle__range_bounds(const fickle_range_t *q, unsigned allowed, const void **start, size_t *slen,
                              const void **end, size_t *elen);

/* ---- reply.c --------------------------------------------------------------------- */

/* Splits buf[0..len) into exactly `count` rows; on success takes buf
 * (malloc'd). Malformed rows kill the connection (the server is broken). */
int fickle__rows_parse(fickle_t *c, char *buf, size_t len, uint32_t count, uint32_t set_flags, fickle_rows_t **out);

/* ---- txn.c ----------------------------------------------------------------------- */

/* Validates a TXN reply's results (value buf of len bytes, malloc'd; taken
 * on success) with its extras ext (FICKLE_EXT_R_TXN bytes) into *out. */
int fickle__txn_parse(fickle_t *c, char *buf, size_t len, const uint8_t *ext, struct fickle_txn_result **out);

#endif
