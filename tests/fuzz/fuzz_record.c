/*
 * fuzz_record.c — libFuzzer target for the log record decoder
 * (store/record.c). `make fuzz` builds and runs it; `make check` replays
 * its corpus and regressions (tests/fuzz/fuzz.mk, docs/testing.md).
 *
 * The first input byte is control: bit 0 set means "fix the CRC of the
 * first record" (so the fuzzer gets past the checksum into the payload
 * parser); bit 1 set means "also apply every decoded record to a fresh
 * region as recovery does" (store_apply_record, then store_check()). The
 * rest is a stream of records, decoded one after another from an
 * exact-size copy, so that any read past the end trips ASan.
 * Besides the sanitizers' checks, it asserts the decoder's contracts:
 * a frame check that agrees with the decoder, TRUNCATED only when more
 * bytes are needed, consumed bytes within bounds, keys and values inside
 * the record, and canonical encoding (an accepted record re-encodes to
 * exactly the bytes it was decoded from).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/crc32c.h"
#include "store/record.h"
#include "store/replay.h"
#include "store/store.h"
#include "tests/fuzz/fuzz_util.h"

#define CHECK FZ_CHECK

static int inside(const uint8_t *rec, size_t len, const void *p, size_t n)
{
    if (n == 0)
        return 1;
    const uint8_t *q = p;
    return q >= rec && q + n <= rec + len;
}

/* Re-encodes a decoded record and compares it with its source bytes. */
static void check_canonical(const uint8_t *p, size_t used, record_t *d)
{
    record_op_t *ops = NULL;
    if (d->type == RECORD_TXN) {
        CHECK(d->nops >= 1 && d->nops <= used);
        ops = malloc(d->nops * sizeof(*ops));
        CHECK(ops);
        size_t pos = 0;
        uint32_t i = 0;
        while (i <= d->nops && record_txn_next(d, &pos, &ops[i < d->nops ? i : 0]))
            i++;
        CHECK(i == d->nops && pos == d->body_len);
        for (i = 0; i < d->nops; i++)
            CHECK(inside(p, used, ops[i].key, ops[i].klen) && inside(p, used, ops[i].val, ops[i].vlen));
        d->ops = ops;
    } else {
        CHECK(inside(p, used, d->op.key, d->op.klen) && inside(p, used, d->op.val, d->op.vlen));
    }
    uint8_t *again = malloc(used);
    CHECK(again);
    CHECK(record_size(d) == used);
    CHECK(record_encode(d, again, used) == used);
    CHECK(memcmp(again, p, used) == 0);
    free(again);
    free(ops);
}

/* Recovery replays on a clock stopped before any expiry (snaptake.h):
 * nothing has an expiry at or before 0. */
static uint64_t stopped_clock(void)
{
    return 0;
}

static void quiet(int level, const char *msg)
{
    (void)level;
    (void)msg;
}

static store_t *region_open(void)
{
    static unsigned serial;
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/fickle-fuzz-rec-%d-%u", (int)getpid(), serial++);
    store_options_t opt = {.size = STORE_MIN_REGION, .max_value_size = 1u << 20};
    store_t *st;
    store_set_logger(quiet);
    CHECK(store_create(path, &opt, &st) == STORE_OK);
    store_unlink(path);
    store_set_clock(st, stopped_clock);
    return st;
}

/* Applies a decoded record as recovery would: whole or refused whole
 * with a clean error; a PUT's value is then readable, a DEL's key gone. */
static void apply(store_t *st, const record_t *d)
{
    store_err_t e = store_apply_record(st, d);
    CHECK(e == STORE_OK || e == STORE_NOMEM || e == STORE_TOO_BIG || e == STORE_INVALID);
    if (e != STORE_OK || (d->type != RECORD_PUT && d->type != RECORD_DEL))
        return;
    store_buf_t b = {0};
    e = store_get(st, d->op.key, d->op.klen, &b, NULL);
    if (d->type == RECORD_DEL)
        CHECK(e == STORE_NOT_FOUND);
    else
        CHECK(e == STORE_OK && b.len == d->op.vlen && (!b.len || memcmp(b.data, d->op.val, b.len) == 0));
    store_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t ctl = data[0];
    size -= 1;
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf);
    memcpy(buf, data + 1, size);
    if ((ctl & 1) && size >= RECORD_HEADER_SIZE) {
        uint32_t n = rd_u32(buf);
        if (n >= RECORD_HEADER_SIZE && n <= size)
            wr_u32(buf + RECORD_OFF_CRC, crc32c(0, buf + RECORD_CRC_START, n - RECORD_CRC_START));
    }
    store_t *st = (ctl & 2) ? region_open() : NULL;
    size_t off = 0;
    while (off < size) {
        const uint8_t *p = buf + off;
        size_t left = size - off, used = 0, frame = 0;
        record_t d;
        const char *detail = NULL;
        record_err_t fe = record_check_frame(p, left, &frame);
        record_err_t e = record_decode(p, left, &d, &used, &detail);
        if (fe != RECORD_OK) {
            CHECK(e == fe);
        }
        if (e == RECORD_TRUNCATED) {
            CHECK(used > left && used == frame);
            break;
        }
        if (e != RECORD_OK) {
            CHECK(used == 0 && detail != NULL);
            break;
        }
        CHECK(fe == RECORD_OK && used == frame && used >= RECORD_HEADER_SIZE && used <= left);
        if (st)
            apply(st, &d); /* before check_canonical, which points d->ops at its own copy */
        check_canonical(p, used, &d);
        off += used;
    }
    if (st) {
        char why[256];
        store_err_t ce = store_check(st, why, sizeof(why));
        if (ce != STORE_OK)
            fprintf(stderr, "fuzz_record: store_check after replay: %s\n", why);
        CHECK(ce == STORE_OK);
        store_close(st);
    }
    free(buf);
    return 0;
}
