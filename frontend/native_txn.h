/*
 * native_txn.h — the native protocol's TXN body (docs/protocol.md, TXN
 * 0x20): a pure, bounds-checked parser of the request value into compares
 * and the two op lists, and the encoder of the OK reply's results. No
 * store, no sockets: fuzzers and unit tests link it alone.
 */
#ifndef FICKLE_FRONTEND_NATIVE_TXN_H
#define FICKLE_FRONTEND_NATIVE_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "fickle/protocol.h"
#include "frontend/command.h"

typedef struct {
    uint8_t target;   /* FICKLE_TXN_TARGET_* */
    uint8_t cmp;      /* FICKLE_TXN_CMP_* */
    cmd_arg_t key;
    cmd_arg_t arg;    /* VALUE: the bytes compared */
    uint64_t version; /* VERSION: the argument */
} native_txn_compare_t;

typedef struct {
    uint8_t kind;  /* FICKLE_TXN_OP_* */
    uint8_t flags; /* PUT: FICKLE_TXN_PUT_*; RANGE: FICKLE_RANGE_* */
    cmd_arg_t key;      /* RANGE: the start key */
    cmd_arg_t value;    /* PUT: the value; RANGE: the end key */
    uint64_t expiry_ms; /* PUT: absolute, 0 = none; RANGE: the row limit, 0 = none */
} native_txn_op_t;

/* The flags a RANGE op may carry. */
#define NATIVE_TXN_RANGE_FLAGS                                                                                      \
    (FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL | FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE |           \
     FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY)

/* One parsed TXN. Zero-initialise (or native_txn_init); reusable across
 * parses; free with native_txn_free. Slices point into the parsed body. */
typedef struct {
    native_txn_compare_t *cmp;
    size_t ncmp, cmp_cap;
    native_txn_op_t *ops; /* the success ops, then the failure ops */
    size_t nsuccess, nfailure, ops_cap;
    char err[160];
} native_txn_t;

void native_txn_init(native_txn_t *t);
void native_txn_free(native_txn_t *t);

/* Parses a TXN request value body[0..len). Returns FICKLE_STATUS_OK with t
 * filled, or the reply status (BAD_REQUEST, TOO_BIG, NOMEM) with t->err
 * saying which field is wrong. Reads nothing outside the span. */
uint16_t native_txn_parse(native_txn_t *t, const void *body, size_t len);

/* The ops of one branch. */
static inline const native_txn_op_t *native_txn_branch(const native_txn_t *t, bool success, size_t *n)
{
    *n = success ? t->nsuccess : t->nfailure;
    return success ? t->ops : t->ops + t->nsuccess;
}

/* Appends one result entry to a reply value being built. 0 or -1. With
 * value NULL and vlen > 0, only the entry's header: the caller appends
 * the vlen bytes (RANGE's rows). */
int native_txn_result(struct evbuffer *results, uint8_t kind, uint16_t status, uint64_t version, uint64_t expiry_ms,
                      const void *value, size_t vlen);
/* Appends the OK reply (header, extras flags/count/revision, the results,
 * moved not copied) to out. 0 or -1. */
int native_txn_reply(struct evbuffer *out, uint64_t opaque, uint32_t flags, uint32_t count, uint64_t revision,
                     struct evbuffer *results);

#endif
