/*
 * fuzz_txn.c — libFuzzer target for the TXN body parser alone (not built
 * by make; it links with libevent only for the reply encoder's header):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Iinclude -I<builddir> \
 *       tests/fuzz_txn.c frontend/native_txn.c frontend/native_reply.c -levent \
 *       -o fuzz_txn && ./fuzz_txn -max_total_time=60
 *
 * The input is the TXN request value. The input is copied to a buffer of
 * exactly its size, so the sanitizer sees any read past the end. Besides
 * the sanitizers' checks, it asserts the parser's contract: an error
 * leaves no entries; an OK parse's slices lie inside the input and the
 * fields obey the documented rules.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "frontend/native_txn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const uint8_t *b, size_t size, const cmd_arg_t *a)
{
    if (a->len && ((const uint8_t *)a->ptr < b || (const uint8_t *)a->ptr + a->len > b + size))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static native_txn_t t;
    uint8_t *b = malloc(size ? size : 1);
    if (!b)
        return 0;
    memcpy(b, data, size);
    uint16_t rc = native_txn_parse(&t, b, size);
    if (rc != FICKLE_STATUS_OK) {
        if (t.ncmp || t.nsuccess || t.nfailure || !t.err[0])
            abort();
        free(b);
        return 0;
    }
    if (t.ncmp + t.nsuccess + t.nfailure > FICKLE_TXN_MAX_ENTRIES)
        abort();
    for (size_t i = 0; i < t.ncmp; i++) {
        const native_txn_compare_t *c = &t.cmp[i];
        inside(b, size, &c->key);
        inside(b, size, &c->arg);
        if (c->target == FICKLE_TXN_TARGET_EXISTS && (c->arg.len || c->cmp > FICKLE_TXN_CMP_NOT_EQUAL))
            abort();
    }
    for (size_t i = 0; i < t.nsuccess + t.nfailure; i++) {
        const native_txn_op_t *o = &t.ops[i];
        inside(b, size, &o->key);
        inside(b, size, &o->value);
        bool put = o->kind == FICKLE_TXN_OP_PUT, range = o->kind == FICKLE_TXN_OP_RANGE;
        if (!put && !range && (o->value.len || o->expiry_ms || o->flags))
            abort();
        if (range && (((o->flags & FICKLE_RANGE_START_NONE) && o->key.len) ||
                      ((o->flags & FICKLE_RANGE_END_NONE) && o->value.len)))
            abort();
    }
    free(b);
    return 0;
}
