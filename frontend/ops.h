/*
 * ops.h — command semantics over the store, shared by both protocols.
 *
 * Each function is one command's meaning (read-modify-write under one
 * writer critical section where it must be atomic) with Redis's rules for
 * numbers, ranges and sizes. No parsing of requests and no reply encoding
 * here: the protocol glue does both.
 */
#ifndef FICKLE_FRONTEND_OPS_H
#define FICKLE_FRONTEND_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/command.h" /* cmd_parse_i64: the one integer syntax */
#include "store/store.h"

typedef enum {
    OPS_OK = 0,
    OPS_NIL,          /* key absent (or condition not met, e.g. SET NX on a live key) */
    OPS_NOT_INTEGER,  /* "value is not an integer or out of range" */
    OPS_OVERFLOW,     /* "increment or decrement would overflow" */
    OPS_NOT_FLOAT,    /* "value is not a valid float" */
    OPS_NAN,          /* "increment would produce NaN or Infinity" */
    OPS_TOO_BIG,      /* "string exceeds maximum allowed size" */
    OPS_NO_SUCH_KEY,  /* RENAME of a missing key */
    OPS_CAS_MISMATCH,
    OPS_EXISTS,       /* a condition on existence failed (native CAS/NX) */
    OPS_NOMEM,        /* region full */
    OPS_BUSY,         /* the change log stayed full: the persister is behind or down */
    OPS_TXN_TOO_BIG,  /* one change (or transaction) too large for the change log */
    OPS_INTERNAL,     /* store failure: store_error_detail() says what */
} ops_status_t;

/* A command's critical section. Alone, a command opens its own
 * (store_write_lock) and ends it (unlock, or abort to undo a half-done
 * change). Inside EXEC the caller already holds the section for the whole
 * transaction: begin and end then do nothing, the command's reads see the
 * transaction's earlier writes, and the only failures that would have
 * needed an undo (no room, memory, ring) are kept by the store
 * (store_write_error), so EXEC undoes the whole transaction instead. */
typedef struct {
    bool own; /* this command opened the section */
} ops_section_t;

/* OPS_OK, or the status for a failure to take the mutex. */
ops_status_t ops_begin(store_t *st, ops_section_t *s);
/* Commits (undo false) or undoes the command's section if it owns it. */
void ops_end(store_t *st, const ops_section_t *s, bool undo);

bool ops_parse_double(const char *s, size_t len, long double *out);
/* Formats like Redis's INCRBYFLOAT: shortest human-friendly decimal. */
size_t ops_format_ld(long double v, char *buf, size_t len);

/* INCRBY: *out = value + delta; a missing key counts as 0; expiry kept.
 * *version (may be NULL) receives the new item's version. */
ops_status_t ops_incr(store_t *st, const void *key, size_t klen, int64_t delta, int64_t *out, uint64_t *version);
ops_status_t ops_incrbyfloat(store_t *st, const void *key, size_t klen, long double delta, char *out, size_t outlen,
                             size_t *outn);

/* APPEND / SETRANGE: *newlen is the value's length afterwards. */
ops_status_t ops_append(store_t *st, const void *key, size_t klen, const void *val, size_t vlen, uint64_t *newlen);
ops_status_t ops_setrange(store_t *st, const void *key, size_t klen, uint64_t offset, const void *val, size_t vlen,
                          uint64_t *newlen);

/* GETRANGE's index rules applied to a value of length len: fills [*from,
 * *to) (empty if from >= to). */
void ops_range_indexes(int64_t start, int64_t end, size_t len, size_t *from, size_t *to);

/* SET with its options; `old` (may be NULL) receives the previous value
 * for SET ... GET, with *had_old. OPS_NIL when NX/XX prevented the write. */
typedef struct {
    uint32_t flags;      /* STORE_PUT_NX / XX / KEEP_EXPIRY */
    uint64_t expiry_ms;  /* absolute, 0 = none */
} ops_set_t;
ops_status_t ops_set(store_t *st, const void *key, size_t klen, const void *val, size_t vlen, const ops_set_t *o,
                     store_buf_t *old, bool *had_old);

/* GETDEL, and GETEX (expiry_ms: -1 keep, 0 persist, else absolute). */
ops_status_t ops_getdel(store_t *st, const void *key, size_t klen, store_buf_t *val);
ops_status_t ops_getex(store_t *st, const void *key, size_t klen, int64_t expiry_ms, store_buf_t *val);

/* MSET / MSETNX over n (key, value) pairs, atomically, all stamped with
 * one version (*version, may be NULL). With nx, nothing is written if any
 * key exists (OPS_NIL). */
typedef struct {
    const void *key;
    size_t klen;
    const void *val;
    size_t vlen;
} ops_pair_t;
ops_status_t ops_mset(store_t *st, const ops_pair_t *pairs, size_t n, bool nx, uint64_t *version);

/* RENAME / RENAMENX: moves value and expiry atomically. */
ops_status_t ops_rename(store_t *st, const void *src, size_t slen, const void *dst, size_t dlen, bool nx);

/* Redis's glob: * ? [abc] [^a] [a-z] and \ escapes; byte-exact. */
bool ops_glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase);

/* Maps a store error to an OPS status. */
ops_status_t ops_from_store(store_err_t err);

#endif
