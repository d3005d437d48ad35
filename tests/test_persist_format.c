/*
 * test_persist_format.c — the persister's on-disk formats: CRC32C vectors,
 * record round trips and a fuzz-ish decoder test (truncations and byte
 * flips are rejected or decode to the very same record), log segments
 * (rollover, torn tail at every offset, mid-file corruption, short writes),
 * and snapshots (100k-entry round trip, flipped bytes, .tmp files, pruning).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/crc32c.h"
#include "store/record.h"
#include "persister/segment.h"
#include "persister/snapshot.h"

/* ---- helpers --------------------------------------------------------------- */

static char dir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/fickle-persist-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    ck_assert_uint_eq(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void write_file(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(p, 1, len, f), len);
    fclose(f);
}

static uint64_t file_size(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return (uint64_t)sb.st_size;
}

/* Bitwise CRC32C, the reference the library is checked against. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

/* ---- CRC32C ------------------------------------------------------------------ */

START_TEST(crc_vectors)
{
    uint8_t b[48];
    memset(b, 0, 32);
    ck_assert_uint_eq(crc32c(0, b, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    memset(b, 0xFF, 32);
    ck_assert_uint_eq(crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    ck_assert_uint_eq(crc32c(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(crc32c(0, b, 32), 0x113FDB5Cu);
    static const uint8_t scsi_read[48] = {
        0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0x04, 0,
        0, 0, 0, 0x14, 0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_uint_eq(crc32c(0, scsi_read, 48), 0xD9963A56u);
    ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(crc32c(0, NULL, 0), 0);
    ck_assert_uint_eq(crc32c(0x12345678u, NULL, 0), 0x12345678u);
}
END_TEST

START_TEST(crc_matches_reference)
{
    size_t n = 1 << 16;
    uint8_t *b = malloc(n + 16);
    fill(b, n + 16);
    for (int i = 0; i < 300; i++) {
        size_t off = rnd() % 16, len = rnd() % n, cut = len ? rnd() % len : 0;
        uint32_t want = crc_ref(b + off, len);
        ck_assert_uint_eq(crc32c(0, b + off, len), want);
        ck_assert_uint_eq(crc32c(crc32c(0, b + off, cut), b + off + cut, len - cut), want);
    }
    free(b);
}
END_TEST

/* ---- records ---------------------------------------------------------------- */

/* Encodes rec, decodes it, checks that every field survived and that the
 * decoded record re-encodes to the same bytes. */
static void roundtrip(const record_t *rec)
{
    record_buf_t b = {0}, again = {0};
    ck_assert_int_eq(record_append(&b, rec), 0);
    ck_assert_uint_eq(b.len, record_size(rec));
    ck_assert_uint_eq(record_encode(rec, b.data, b.len - 1), 0);
    record_t d;
    size_t used;
    ck_assert_int_eq(record_decode(b.data, b.len, &d, &used, NULL), RECORD_OK);
    ck_assert_uint_eq(used, b.len);
    ck_assert_uint_eq(d.lsn, rec->lsn);
    ck_assert_uint_eq(d.type, rec->type);
    if (rec->type == RECORD_TXN) {
        ck_assert_uint_eq(d.nops, rec->nops);
        record_op_t *ops = calloc(d.nops, sizeof(*ops));
        size_t pos = 0;
        uint32_t i = 0;
        while (record_txn_next(&d, &pos, &ops[i]))
            i++;
        ck_assert_uint_eq(i, rec->nops);
        d.ops = ops;
        ck_assert_int_eq(record_append(&again, &d), 0);
        free(ops);
    } else {
        if (rec->type != RECORD_CLEAR) {
            ck_assert_uint_eq(d.op.klen, rec->op.klen);
            ck_assert(rec->op.klen == 0 || memcmp(d.op.key, rec->op.key, rec->op.klen) == 0);
        }
        if (rec->type == RECORD_PUT) {
            ck_assert_uint_eq(d.op.vlen, rec->op.vlen);
            ck_assert(rec->op.vlen == 0 || memcmp(d.op.val, rec->op.val, rec->op.vlen) == 0);
            ck_assert_uint_eq(d.op.version, rec->op.version);
        }
        if (rec->type == RECORD_PUT || rec->type == RECORD_EXPIRE)
            ck_assert_uint_eq(d.op.expiry_ms, rec->op.expiry_ms);
        ck_assert_int_eq(record_append(&again, &d), 0);
    }
    ck_assert_uint_eq(again.len, b.len);
    ck_assert_int_eq(memcmp(again.data, b.data, b.len), 0);
    record_buf_free(&b);
    record_buf_free(&again);
}

START_TEST(record_roundtrip_types)
{
    static char big[RECORD_MAX_KEY];
    memset(big, 'k', sizeof(big));
    record_t r = {.lsn = 1, .type = RECORD_PUT,
                  .op = {.key = "alpha", .klen = 5, .val = "one", .vlen = 3, .expiry_ms = 1700000000123ull,
                         .version = 1}};
    roundtrip(&r);
    r.op = (record_op_t){.key = "", .klen = 0, .val = NULL, .vlen = 0, .version = 7};
    roundtrip(&r); /* empty key and value */
    r.op = (record_op_t){.key = big, .klen = RECORD_MAX_KEY, .val = big, .vlen = 1000, .version = UINT64_MAX};
    r.lsn = UINT64_MAX;
    roundtrip(&r);
    r = (record_t){.lsn = 2, .type = RECORD_DEL, .op = {.key = "alpha", .klen = 5}};
    roundtrip(&r);
    r = (record_t){.lsn = 3, .type = RECORD_EXPIRE, .op = {.key = "k", .klen = 1, .expiry_ms = 99}};
    roundtrip(&r);
    r.op.expiry_ms = 0; /* PERSIST */
    roundtrip(&r);
    r = (record_t){.lsn = 4, .type = RECORD_CLEAR};
    roundtrip(&r);
    record_op_t ops[3] = {
        {.type = RECORD_PUT, .key = "a", .klen = 1, .val = "x", .vlen = 1, .version = 5},
        {.type = RECORD_DEL, .key = "b", .klen = 1},
        {.type = RECORD_EXPIRE, .key = "c", .klen = 1, .expiry_ms = 12345}};
    r = (record_t){.lsn = 5, .type = RECORD_TXN, .ops = ops, .nops = 3};
    roundtrip(&r);
}
END_TEST

START_TEST(record_docs_example)
{
    /* The example in docs/persistence.md, byte for byte. */
    static const uint8_t want[44] = {
        0x2c, 0, 0, 0, 0x43, 0xb2, 0x9f, 0x48, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 'k', 'v'};
    uint8_t b[64];
    record_t r = {.lsn = 5, .type = RECORD_PUT, .op = {.key = "k", .klen = 1, .val = "v", .vlen = 1, .version = 5}};
    ck_assert_uint_eq(record_encode(&r, b, sizeof(b)), sizeof(want));
    ck_assert_int_eq(memcmp(b, want, sizeof(want)), 0);
}
END_TEST

START_TEST(record_txn_thousand_ops_max_keys)
{
    enum { N = 1000 };
    record_op_t *ops = calloc(N, sizeof(*ops));
    uint8_t *keys = malloc((size_t)N * RECORD_MAX_KEY);
    uint8_t val[100];
    fill(keys, (size_t)N * RECORD_MAX_KEY);
    fill(val, sizeof(val));
    for (int i = 0; i < N; i++) {
        ops[i] = (record_op_t){.type = (uint8_t)(RECORD_PUT + i % 3), .key = keys + (size_t)i * RECORD_MAX_KEY,
                               .klen = RECORD_MAX_KEY, .val = val, .vlen = (uint32_t)(i % 100),
                               .expiry_ms = (uint64_t)i * 1000, .version = 42};
    }
    record_t r = {.lsn = 77, .type = RECORD_TXN, .ops = ops, .nops = N};
    roundtrip(&r);
    free(keys);
    free(ops);
}
END_TEST

static void fix_crc(uint8_t *p)
{
    uint32_t n = rd_u32(p);
    wr_u32(p + RECORD_OFF_CRC, crc32c(0, p + RECORD_CRC_START, n - RECORD_CRC_START));
}

/* Decodes p[0..n) from an exact-size copy (so ASan sees any overread). */
static record_err_t decode_copy(const uint8_t *p, size_t n, record_t *d, size_t *used)
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, p, n);
    record_err_t e = record_decode(c, n, d, used, NULL);
    free(c);
    return e;
}

START_TEST(record_rejects)
{
    record_op_t op = {.type = RECORD_PUT, .key = "k", .klen = 1};
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 0, .type = RECORD_CLEAR}), 0);
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 1, .type = 9}), 0);
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 1, .type = RECORD_DEL, .op = {.key = "k", .klen = 65536}}), 0);
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 1, .type = RECORD_PUT,
                                              .op = {.key = "k", .klen = 1, .val = "v", .vlen = RECORD_MAX_VALUE + 1}}), 0);
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 1, .type = RECORD_TXN, .ops = &op, .nops = 0}), 0);
    op.type = RECORD_CLEAR;
    ck_assert_uint_eq(record_size(&(record_t){.lsn = 1, .type = RECORD_TXN, .ops = &op, .nops = 1}), 0);
    record_buf_t bad = {0};
    ck_assert_int_eq(record_append(&bad, &(record_t){.lsn = 1, .type = 0}), -1);
    ck_assert_int_eq(errno, EINVAL);

    uint8_t b[64];
    record_t d;
    size_t used;
    record_t put = {.lsn = 9, .type = RECORD_PUT, .op = {.key = "key", .klen = 3, .val = "val", .vlen = 3}};
    size_t n = record_encode(&put, b, sizeof(b));
    ck_assert_uint_eq(n, RECORD_HEADER_SIZE + RECORD_PUT_FIXED + 6);
    ck_assert_int_eq(decode_copy(b, 10, &d, &used), RECORD_TRUNCATED);
    ck_assert_uint_eq(used, RECORD_HEADER_SIZE);
    ck_assert_int_eq(decode_copy(b, n - 1, &d, &used), RECORD_TRUNCATED);
    ck_assert_uint_eq(used, n);
    uint8_t c[64];
#define MUTATE(off, val, fix, want)                                                   \
    do {                                                                             \
        memcpy(c, b, n);                                                             \
        c[off] = (uint8_t)(val);                                                     \
        if (fix)                                                                     \
            fix_crc(c);                                                              \
        ck_assert_int_eq(decode_copy(c, n, &d, &used), want);                        \
    } while (0)
    MUTATE(0, 19, 0, RECORD_BAD_LENGTH);                 /* length < header */
    MUTATE(3, 0x80, 0, RECORD_BAD_LENGTH);               /* length > max */
    MUTATE(30, b[30] ^ 1, 0, RECORD_BAD_CRC);
    MUTATE(5, b[5] ^ 1, 0, RECORD_BAD_CRC);              /* the CRC itself */
    MUTATE(16, 0, 1, RECORD_BAD_TYPE);
    MUTATE(16, 6, 1, RECORD_BAD_TYPE);
    MUTATE(17, 1, 1, RECORD_BAD_FIELD);                  /* flags */
    MUTATE(19, 1, 1, RECORD_BAD_FIELD);                  /* reserved */
    MUTATE(8, 0, 1, RECORD_BAD_FIELD);                   /* LSN 9 -> 0 */
    MUTATE(20 + 16, 4, 1, RECORD_BAD_LENGTH);            /* klen past the end */
    MUTATE(20 + 16, 2, 1, RECORD_BAD_LENGTH);            /* a byte left over */
    MUTATE(20 + 21, 0x41, 1, RECORD_BAD_LENGTH);         /* vlen > 1 GiB */
    MUTATE(16, RECORD_CLEAR, 1, RECORD_BAD_LENGTH);      /* CLEAR with payload */
    MUTATE(16, RECORD_DEL, 1, RECORD_BAD_LENGTH);        /* DEL with PUT's payload */

    record_op_t ops[2] = {{.type = RECORD_DEL, .key = "a", .klen = 1},
                          {.type = RECORD_DEL, .key = "b", .klen = 1}};
    record_t txn = {.lsn = 3, .type = RECORD_TXN, .ops = ops, .nops = 2};
    n = record_encode(&txn, b, sizeof(b));
    MUTATE(20, 0, 1, RECORD_BAD_FIELD);                  /* count 0 */
    MUTATE(20, 3, 1, RECORD_BAD_LENGTH);                 /* count past the ops */
    MUTATE(20, 1, 1, RECORD_BAD_LENGTH);                 /* bytes after the ops */
    MUTATE(24, RECORD_CLEAR, 1, RECORD_BAD_TYPE);        /* CLEAR inside */
    MUTATE(24, RECORD_TXN, 1, RECORD_BAD_TYPE);          /* nested TXN */
#undef MUTATE
}
END_TEST

/* A random valid record appended to b. */
static void random_record(record_buf_t *b, uint64_t lsn, uint8_t *pool, size_t pool_len)
{
    record_op_t ops[8];
    record_t r = {.lsn = lsn, .type = (uint8_t)(1 + rnd() % 5)};
    uint32_t nops = r.type == RECORD_TXN ? 1 + (uint32_t)(rnd() % 8) : 1;
    for (uint32_t i = 0; i < nops; i++) {
        uint8_t t = r.type == RECORD_TXN ? (uint8_t)(1 + rnd() % 3) : r.type;
        ops[i] = (record_op_t){.type = t, .key = pool + rnd() % 64, .klen = (uint32_t)(rnd() % 40),
                               .val = pool + rnd() % 64, .vlen = (uint32_t)(rnd() % (pool_len - 64)),
                               .expiry_ms = rnd() % 3 ? 0 : rnd(), .version = rnd()};
    }
    if (r.type == RECORD_TXN)
        r.ops = ops, r.nops = nops;
    else
        r.op = ops[0];
    ck_assert_int_eq(record_append(b, &r), 0);
}

/* Decodes a mutated record: either rejected, or accepted and re-encoding
 * the result gives back exactly the bytes it consumed. */
static void accepted_means_identical(const uint8_t *p, size_t n)
{
    record_t d;
    size_t used;
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    if (record_decode(c, n, &d, &used, NULL) == RECORD_OK) {
        ck_assert_uint_le(used, n);
        record_op_t ops[64];
        size_t pos = 0;
        uint32_t i = 0;
        if (d.type == RECORD_TXN) {
            ck_assert_uint_le(d.nops, 64);
            while (record_txn_next(&d, &pos, &ops[i]))
                i++;
            ck_assert_uint_eq(i, d.nops);
            d.ops = ops;
        }
        record_buf_t again = {0};
        ck_assert_int_eq(record_append(&again, &d), 0);
        ck_assert_uint_eq(again.len, used);
        ck_assert_int_eq(memcmp(again.data, c, used), 0);
        record_buf_free(&again);
    }
    free(c);
}

START_TEST(record_decoder_fuzz)
{
    uint8_t pool[400];
    fill(pool, sizeof(pool));
    for (int round = 0; round < 3000; round++) {
        record_buf_t b = {0};
        random_record(&b, 1 + rnd() % 1000, pool, sizeof(pool));
        record_t d;
        size_t used;
        ck_assert_int_eq(decode_copy(b.data, b.len, &d, &used), RECORD_OK);
        for (int k = 0; k < 8; k++) { /* truncations: always TRUNCATED */
            size_t cut = rnd() % b.len;
            ck_assert_int_eq(decode_copy(b.data, cut, &d, &used), RECORD_TRUNCATED);
        }
        uint8_t *m = malloc(b.len);
        for (int k = 0; k < 16; k++) { /* flips */
            memcpy(m, b.data, b.len);
            int nflip = 1 + (int)(rnd() % 3);
            for (int f = 0; f < nflip; f++)
                m[rnd() % b.len] ^= (uint8_t)(1 + rnd() % 255);
            if (memcmp(m, b.data, b.len) == 0)
                continue;
            if (k % 2 == 0) { /* CRC not fixed: never accepted */
                ck_assert_int_ne(decode_copy(m, b.len, &d, &used), RECORD_OK);
                continue;
            }
            uint32_t len = rd_u32(m); /* CRC fixed: structure is what is tested */
            if (len >= RECORD_HEADER_SIZE && len <= b.len)
                fix_crc(m);
            accepted_means_identical(m, b.len);
        }
        for (int k = 0; k < 4; k++) { /* garbage, with a plausible length */
            fill(m, b.len);
            wr_u32(m, (uint32_t)(RECORD_HEADER_SIZE + rnd() % (b.len - RECORD_HEADER_SIZE + 1)));
            m[17] = m[18] = m[19] = 0;
            m[16] = (uint8_t)(rnd() % 7);
            fix_crc(m);
            accepted_means_identical(m, b.len);
        }
        free(m);
        record_buf_free(&b);
    }
}
END_TEST

/* ---- log segments ------------------------------------------------------------ */

static char logdir[300];

/* n random records with LSNs first.. into b; offs[i] = offset of record i,
 * offs[n] = b->len. */
static void make_records(record_buf_t *b, uint64_t first, int n, size_t *offs)
{
    static uint8_t pool[400];
    fill(pool, sizeof(pool));
    for (int i = 0; i < n; i++) {
        offs[i] = b->len;
        random_record(b, first + (uint64_t)i, pool, sizeof(pool));
    }
    offs[n] = b->len;
}

/* Writes records to a new segment directory dir/sub; returns the one
 * segment's path. */
static void write_segment_in(const char *sub, const record_buf_t *b, char *path, size_t cap)
{
    segment_writer_t *w;
    persist_error_t err;
    snprintf(logdir, sizeof(logdir), "%s/%s", dir, sub);
    ck_assert_int_eq(segment_writer_open(logdir, 1, NULL, &w, &err), PERSIST_OK);
    ck_assert_int_eq(segment_writer_append(w, b->data, b->len, &err), PERSIST_OK);
    ck_assert_int_eq(segment_writer_sync(w, &err), PERSIST_OK);
    snprintf(path, cap, "%s", segment_writer_path(w));
    ck_assert_int_eq(segment_writer_close(w, &err), PERSIST_OK);
}

static void write_segment(const record_buf_t *b, char *path, size_t cap)
{
    write_segment_in("log", b, path, cap);
}

/* Reads a segment: expects `good` records, then status `want` at `at`. */
static persist_error_t read_expect(const char *path, int good, persist_status_t want, uint64_t at)
{
    segment_reader_t *r;
    persist_error_t err;
    record_t rec;
    ck_assert_int_eq(segment_reader_open(path, &r, &err), PERSIST_OK);
    for (int i = 0; i < good; i++) {
        persist_status_t st = segment_reader_next(r, &rec, &err);
        ck_assert_msg(st == PERSIST_OK, "record %d: %s", i, err.msg);
        ck_assert_uint_eq(rec.lsn, (uint64_t)i + 1);
    }
    persist_status_t st = segment_reader_next(r, &rec, &err);
    ck_assert_msg(st == want, "got %s: %s", persist_status_str(st), err.msg);
    ck_assert_uint_eq(segment_reader_valid_end(r), at);
    ck_assert_int_eq(segment_reader_next(r, &rec, NULL), want); /* sticky */
    if (want != PERSIST_END) {
        ck_assert_uint_eq(err.offset, at);
        ck_assert_ptr_nonnull(strstr(err.msg, path));
    }
    segment_reader_close(r);
    return err;
}

/* n records with LSNs 1..n; the middle one is bigger than 4 KiB. */
static void make_rollover_records(record_buf_t *b, size_t *offs, int n)
{
    static uint8_t pool[400], big[10000];
    fill(pool, sizeof(pool));
    for (int i = 0; i < n; i++) {
        offs[i] = b->len;
        record_t r = {.lsn = (uint64_t)i + 1, .type = RECORD_PUT,
                      .op = {.key = "big", .klen = 3, .val = big, .vlen = sizeof(big)}};
        if (i == n / 2)
            ck_assert_int_eq(record_append(b, &r), 0);
        else
            random_record(b, (uint64_t)i + 1, pool, sizeof(pool));
    }
    offs[n] = b->len;
}

/* The segments in logdir hold exactly b's n records, in order, byte for
 * byte, each segment within roll bytes unless it holds a single record. */
static void check_log_matches(const record_buf_t *b, int n, uint64_t roll)
{
    segment_info_t *segs;
    size_t nseg, pos = 0;
    uint64_t lsn = 1;
    persist_error_t err;
    ck_assert_int_eq(segment_list(logdir, &segs, &nseg, &err), PERSIST_OK);
    ck_assert_uint_gt(nseg, 10);
    for (size_t s = 0; s < nseg; s++) {
        char p[600];
        snprintf(p, sizeof(p), "%s/%s", logdir, segs[s].name);
        size_t len;
        uint8_t *f = read_file(p, &len);
        ck_assert_int_eq(memcmp(f + SEGMENT_HEADER_SIZE, b->data + pos, len - SEGMENT_HEADER_SIZE), 0);
        pos += len - SEGMENT_HEADER_SIZE;
        free(f);
        segment_reader_t *rd;
        record_t rec;
        ck_assert_int_eq(segment_reader_open(p, &rd, &err), PERSIST_OK);
        ck_assert_uint_eq(segment_reader_header(rd)->first_lsn, segs[s].first_lsn);
        ck_assert_uint_eq(segs[s].first_lsn, lsn);
        int count = 0;
        for (; segment_reader_next(rd, &rec, &err) == PERSIST_OK; lsn++, count++)
            ck_assert_uint_eq(rec.lsn, lsn);
        ck_assert_int_eq(err.status, PERSIST_END);
        ck_assert(len <= roll || count == 1);
        segment_reader_close(rd);
    }
    ck_assert_uint_eq(pos, b->len);
    ck_assert_uint_eq(lsn, (uint64_t)n + 1);
    free(segs);
}

START_TEST(segment_write_rollover_read)
{
    enum { N = 1000 };
    static size_t offs[N + 1];
    record_buf_t b = {0};
    make_rollover_records(&b, offs, N);
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    segment_writer_t *w;
    persist_error_t err;
    segment_writer_opts_t o = {.roll_size = 4096};
    ck_assert_int_eq(segment_writer_open(logdir, 1, &o, &w, &err), PERSIST_OK);
    for (int i = 0, j; i < N; i = j) { /* batches of 1..20 records */
        j = i + 1 + (int)(rnd() % 20);
        j = j > N ? N : j;
        persist_status_t st = segment_writer_append(w, b.data + offs[i], offs[j] - offs[i], &err);
        ck_assert_msg(st == PERSIST_OK, "%s", err.msg);
        ck_assert_uint_eq(segment_writer_last_lsn(w), (uint64_t)j);
    }
    /* refused whole: an LSN not above the last, and a damaged record */
    uint64_t before = file_size(segment_writer_path(w));
    ck_assert_int_eq(segment_writer_append(w, b.data, offs[1], &err), PERSIST_INVALID);
    ck_assert_int_eq(segment_writer_append(w, b.data + offs[3], 5, &err), PERSIST_INVALID);
    ck_assert_uint_eq(file_size(segment_writer_path(w)), before);
    ck_assert_int_eq(segment_writer_sync(w, &err), PERSIST_OK);
    ck_assert_int_eq(segment_writer_close(w, &err), PERSIST_OK);
    check_log_matches(&b, N, o.roll_size);
    record_buf_free(&b);
}
END_TEST

START_TEST(segment_reopen_and_existing)
{
    size_t offs[11];
    record_buf_t b = {0};
    make_records(&b, 1, 10, offs);
    char path[600], stale[600];
    write_segment(&b, path, sizeof(path));
    snprintf(stale, sizeof(stale), "%s/00000000000000000099.log.tmp", logdir);
    write_file(stale, "x", 1);

    segment_writer_t *w;
    persist_error_t err;
    record_buf_t more = {0};
    size_t moffs[3];
    make_records(&more, 11, 2, moffs);
    ck_assert_int_eq(segment_writer_open(logdir, 11, NULL, &w, &err), PERSIST_OK);
    ck_assert_int_eq(access(stale, F_OK), -1); /* leftover .tmp removed */
    ck_assert_int_eq(segment_writer_append(w, b.data, offs[1], &err), PERSIST_INVALID); /* LSN 1 < 11 */
    ck_assert_int_eq(segment_writer_append(w, more.data, more.len, &err), PERSIST_OK);
    ck_assert_ptr_nonnull(strstr(segment_writer_path(w), "00000000000000000011.log"));
    ck_assert_int_eq(segment_writer_close(w, &err), PERSIST_OK);

    /* a writer that would recreate a segment holding records is refused */
    ck_assert_int_eq(segment_writer_open(logdir, 1, NULL, &w, &err), PERSIST_OK);
    ck_assert_int_eq(segment_writer_append(w, b.data, b.len, &err), PERSIST_INVALID);
    ck_assert_int_eq(err.sys_errno, EEXIST);
    ck_assert_int_eq(segment_writer_close(w, &err), PERSIST_OK);
    read_expect(path, 10, PERSIST_END, file_size(path));
    record_buf_free(&b);
    record_buf_free(&more);
}
END_TEST

START_TEST(segment_torn_tail_every_offset)
{
    size_t offs[7];
    record_buf_t b = {0};
    make_records(&b, 1, 5, offs);
    record_op_t ops[6];
    static uint8_t v[40];
    for (int i = 0; i < 6; i++)
        ops[i] = (record_op_t){.type = RECORD_PUT, .key = "txnkey", .klen = 6, .val = v, .vlen = sizeof(v)};
    ck_assert_int_eq(record_append(&b, &(record_t){.lsn = 6, .type = RECORD_TXN, .ops = ops, .nops = 6}), 0);
    offs[6] = b.len;
    char path[600];
    write_segment(&b, path, sizeof(path));
    size_t len;
    uint8_t *orig = read_file(path, &len);
    uint64_t last = SEGMENT_HEADER_SIZE + offs[5];
    ck_assert_uint_eq(len, SEGMENT_HEADER_SIZE + b.len);
    for (uint64_t cut = last; cut < len; cut++) {
        write_file(path, orig, cut);
        persist_status_t want = cut == last ? PERSIST_END : PERSIST_TORN;
        read_expect(path, 5, want, last);
        persist_error_t err;
        ck_assert_int_eq(segment_truncate_tail(path, last, &err), PERSIST_OK);
        ck_assert_uint_eq(file_size(path), last);
        read_expect(path, 5, PERSIST_END, last);
    }
    /* whole but CRC-bad last record: torn too */
    orig[len - 3] ^= 0x10;
    write_file(path, orig, len);
    read_expect(path, 5, PERSIST_TORN, last);
    orig[len - 3] ^= 0x10;
    /* a zero-filled or garbage tail after the last record */
    uint8_t *z = calloc(1, len + 4096);
    memcpy(z, orig, len);
    write_file(path, z, len + 4096);
    read_expect(path, 6, PERSIST_TORN, len);
    fill(z + len, 4096);
    write_file(path, z, len + 4096);
    read_expect(path, 6, PERSIST_TORN, len);
    free(z);
    free(orig);
    record_buf_free(&b);
}
END_TEST

START_TEST(segment_mid_file_corruption)
{
    size_t offs[8];
    record_buf_t b = {0};
    make_records(&b, 1, 7, offs);
    char path[600];
    write_segment(&b, path, sizeof(path));
    size_t len;
    uint8_t *orig = read_file(path, &len);
    uint64_t mid = SEGMENT_HEADER_SIZE + offs[3], end = SEGMENT_HEADER_SIZE + offs[4];
    char at[40];
    snprintf(at, sizeof(at), "offset %" PRIu64, mid);
    for (uint64_t p = mid; p < end; p++) {
        orig[p] ^= 0xA5;
        write_file(path, orig, len);
        persist_error_t err = read_expect(path, 3, PERSIST_CORRUPT, mid);
        ck_assert_msg(strstr(err.msg, at), "%s", err.msg);
        orig[p] ^= 0xA5;
    }
    free(orig);
    /* CRC-valid records out of LSN order, or malformed: corrupt even at the end */
    record_buf_t c = {0};
    ck_assert_int_eq(record_append(&c, &(record_t){.lsn = 1, .type = RECORD_CLEAR}), 0);
    ck_assert_int_eq(record_append(&c, &(record_t){.lsn = 2, .type = RECORD_CLEAR}), 0);
    write_segment_in("log2", &c, path, sizeof(path));
    orig = read_file(path, &len);
    uint8_t *second = orig + SEGMENT_HEADER_SIZE + 20;
    second[8] = 1; /* LSN 2 -> 1, CRC fixed */
    fix_crc(second);
    write_file(path, orig, len);
    read_expect(path, 1, PERSIST_CORRUPT, SEGMENT_HEADER_SIZE + 20);
    second[8] = 2;
    second[16] = 9; /* unknown type, CRC fixed */
    fix_crc(second);
    write_file(path, orig, len);
    persist_error_t err = read_expect(path, 1, PERSIST_CORRUPT, SEGMENT_HEADER_SIZE + 20);
    ck_assert_msg(strstr(err.msg, "bad type"), "%s", err.msg);
    free(orig);
    record_buf_free(&c);
    record_buf_free(&b);
}
END_TEST

START_TEST(segment_short_write_and_errors)
{
    size_t offs[5];
    record_buf_t b = {0};
    make_records(&b, 1, 4, offs);
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    segment_writer_t *w;
    persist_error_t err;
    ck_assert_int_eq(segment_writer_open(logdir, 1, NULL, &w, &err), PERSIST_OK);
    ck_assert_int_eq(segment_writer_append(w, b.data, offs[1], &err), PERSIST_OK);
    const char *path = segment_writer_path(w);
    uint64_t size1 = file_size(path);
    /* RLIMIT_FSIZE: pwrite() writes up to the limit (short), then EFBIG.
     * No ck_assert while the limit is on (Check writes files too). */
    struct rlimit old, lim;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = size1 + 7;
    setrlimit(RLIMIT_FSIZE, &lim);
    persist_status_t st = segment_writer_append(w, b.data + offs[1], b.len - offs[1], &err);
    setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(st, PERSIST_IO);
    ck_assert_int_eq(err.sys_errno, EFBIG);
    ck_assert_msg(strstr(err.msg, "write") && strstr(err.msg, path), "%s", err.msg);
    ck_assert_uint_eq(file_size(path), size1); /* cut back to a record boundary */
    ck_assert_uint_eq(segment_writer_last_lsn(w), 1);
    ck_assert_int_eq(segment_writer_append(w, b.data + offs[1], b.len - offs[1], &err), PERSIST_OK);
    char p[600];
    snprintf(p, sizeof(p), "%s", path);
    ck_assert_int_eq(segment_writer_close(w, &err), PERSIST_OK);
    read_expect(p, 4, PERSIST_END, file_size(p));

    ck_assert_int_eq(segment_truncate_tail(p, 10, &err), PERSIST_INVALID);
    ck_assert_int_eq(segment_truncate_tail(p, file_size(p) + 1, &err), PERSIST_INVALID);
    char missing[600];
    snprintf(missing, sizeof(missing), "%s/nope.log", logdir);
    ck_assert_int_eq(segment_truncate_tail(missing, 40, &err), PERSIST_IO);
    ck_assert_msg(strstr(err.msg, "open") && strstr(err.msg, missing) && strstr(err.msg, strerror(ENOENT)),
                  "%s", err.msg);
    segment_reader_t *r;
    ck_assert_int_eq(segment_reader_open(missing, &r, &err), PERSIST_IO);
    ck_assert_int_eq(err.sys_errno, ENOENT);
    record_buf_free(&b);
}
END_TEST

START_TEST(segment_bad_headers)
{
    size_t offs[3];
    record_buf_t b = {0};
    make_records(&b, 1, 2, offs);
    char path[600], other[600];
    write_segment(&b, path, sizeof(path));
    size_t len;
    uint8_t *orig = read_file(path, &len);
    segment_reader_t *r;
    persist_error_t err;
    for (int i = 0; i < (int)SEGMENT_HEADER_SIZE; i++) {
        orig[i] ^= 1;
        write_file(path, orig, len);
        ck_assert_int_eq(segment_reader_open(path, &r, &err), PERSIST_CORRUPT);
        orig[i] ^= 1;
    }
    write_file(path, orig, SEGMENT_HEADER_SIZE - 1);
    ck_assert_int_eq(segment_reader_open(path, &r, &err), PERSIST_CORRUPT);
    snprintf(other, sizeof(other), "%s/00000000000000000002.log", logdir);
    write_file(other, orig, len);
    ck_assert_int_eq(segment_reader_open(other, &r, &err), PERSIST_CORRUPT);
    ck_assert_ptr_nonnull(strstr(err.msg, "file name"));
    uint64_t lsn;
    ck_assert(segment_parse_name("00000000000000000002.log", &lsn) && lsn == 2);
    ck_assert(!segment_parse_name("00000000000000000002.log.tmp", NULL));
    ck_assert(!segment_parse_name("0000000000000000002.log", NULL));
    ck_assert(!segment_parse_name("99999999999999999999.log", NULL)); /* > 2^64 */
    free(orig);
    record_buf_free(&b);
}
END_TEST

/* ---- snapshots ------------------------------------------------------------- */

/* Entry i of a test snapshot: sorted keys, varied values and expiries. */
static void entry(uint32_t i, snapshot_entry_t *e, char *kbuf, uint8_t *vbuf)
{
    int kl = snprintf(kbuf, 32, "user:%010u", i);
    uint32_t vl = (i * 7919u) % 300;
    for (uint32_t k = 0; k < vl; k++)
        vbuf[k] = (uint8_t)(i * 31 + k);
    *e = (snapshot_entry_t){.key = kbuf, .klen = (uint32_t)kl, .val = vbuf, .vlen = vl,
                            .expiry_ms = i % 5 ? 0 : 1700000000000ull + i, .version = i + 1};
}

static void write_snapshot(uint64_t lsn, uint32_t n, uint64_t announced)
{
    snapshot_writer_t *w;
    persist_error_t err;
    char kb[32];
    uint8_t vb[300];
    ck_assert_int_eq(snapshot_writer_open(dir, lsn, announced, &w, &err), PERSIST_OK);
    for (uint32_t i = 0; i < n; i++) {
        snapshot_entry_t e;
        entry(i, &e, kb, vb);
        ck_assert_int_eq(snapshot_writer_add(w, &e, &err), PERSIST_OK);
    }
    ck_assert_msg(snapshot_writer_commit(w, &err) == PERSIST_OK, "%s", err.msg);
}

START_TEST(snapshot_roundtrip_100k)
{
    enum { N = 100000 };
    write_snapshot(12345, N, N);
    char path[400], tmp[400], name[SNAPSHOT_NAME_MAX];
    snapshot_name(name, 12345, false);
    path_of(path, sizeof(path), name);
    snapshot_name(name, 12345, true);
    path_of(tmp, sizeof(tmp), name);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ck_assert_uint_gt(file_size(path), 3 * SNAPSHOT_CHUNK_TARGET); /* several chunks */
    snapshot_reader_t *r;
    persist_error_t err;
    ck_assert_int_eq(snapshot_reader_open(path, &r, &err), PERSIST_OK);
    ck_assert_uint_eq(snapshot_reader_header(r)->start_lsn, 12345);
    ck_assert_uint_eq(snapshot_reader_header(r)->item_count, N);
    char kb[32];
    uint8_t vb[300];
    snapshot_entry_t got, want;
    for (uint32_t i = 0; i < N; i++) {
        ck_assert_int_eq(snapshot_reader_next(r, &got, &err), PERSIST_OK);
        entry(i, &want, kb, vb);
        ck_assert(got.klen == want.klen && memcmp(got.key, want.key, got.klen) == 0);
        ck_assert(got.vlen == want.vlen && memcmp(got.val, want.val, got.vlen) == 0);
        ck_assert(got.expiry_ms == want.expiry_ms && got.version == want.version);
    }
    ck_assert_int_eq(snapshot_reader_next(r, &got, &err), PERSIST_END);
    ck_assert_uint_eq(snapshot_reader_count(r), N);
    snapshot_reader_close(r);
    uint64_t count;
    ck_assert_int_eq(snapshot_verify(path, NULL, &count, &err), PERSIST_OK);
    ck_assert_uint_eq(count, N);
    /* an empty snapshot, count unknown */
    write_snapshot(1, 0, SNAPSHOT_COUNT_UNKNOWN);
    snapshot_name(name, 1, false);
    path_of(path, sizeof(path), name);
    ck_assert_int_eq(snapshot_verify(path, NULL, &count, &err), PERSIST_OK);
    ck_assert_uint_eq(count, 0);
}
END_TEST

START_TEST(snapshot_detects_damage)
{
    write_snapshot(7, 30000, SNAPSHOT_COUNT_UNKNOWN);
    char path[400], name[SNAPSHOT_NAME_MAX];
    snapshot_name(name, 7, false);
    path_of(path, sizeof(path), name);
    size_t len;
    uint8_t *orig = read_file(path, &len);
    persist_error_t err;
    size_t fixed[] = {0, 20, 47, 48, 52, 56, 70, len - 1, len - 5, len - 12, len - 16, len - 24, len - 32,
                      len - 33};
    for (size_t k = 0; k < sizeof(fixed) / sizeof(fixed[0]) + 40; k++) {
        size_t at = k < sizeof(fixed) / sizeof(fixed[0]) ? fixed[k] : rnd() % len;
        uint8_t bit = (uint8_t)(1u << (rnd() % 8));
        orig[at] ^= bit;
        write_file(path, orig, len);
        ck_assert_msg(snapshot_verify(path, NULL, NULL, &err) == PERSIST_CORRUPT, "flip at %zu", at);
        ck_assert_ptr_nonnull(strstr(err.msg, path));
        orig[at] ^= bit;
    }
    for (int k = 0; k < 10; k++) { /* truncated */
        write_file(path, orig, rnd() % len);
        ck_assert_int_eq(snapshot_verify(path, NULL, NULL, &err), PERSIST_CORRUPT);
    }
    free(orig);
}
END_TEST

START_TEST(snapshot_key_order_checked)
{
    /* Writer refuses out-of-order keys and a wrong announced count. */
    snapshot_writer_t *w;
    persist_error_t err;
    ck_assert_int_eq(snapshot_writer_open(dir, 5, 2, &w, &err), PERSIST_OK);
    snapshot_entry_t a = {.key = "b", .klen = 1}, b = {.key = "a", .klen = 1}, c = {.key = "b", .klen = 1};
    ck_assert_int_eq(snapshot_writer_add(w, &a, &err), PERSIST_OK);
    ck_assert_int_eq(snapshot_writer_add(w, &b, &err), PERSIST_INVALID);
    ck_assert_int_eq(snapshot_writer_add(w, &c, &err), PERSIST_INVALID);
    ck_assert_int_eq(snapshot_writer_commit(w, &err), PERSIST_INVALID); /* 1 of 2 */
    snapshot_info_t *v;
    size_t n;
    ck_assert_int_eq(snapshot_list(dir, &v, &n, &err), PERSIST_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(access(dir, F_OK), 0);
    /* A reader meets keys out of order: swap two entries and fix every CRC. */
    write_snapshot(6, 2, 2);
    char path[400], name[SNAPSHOT_NAME_MAX];
    snapshot_name(name, 6, false);
    path_of(path, sizeof(path), name);
    size_t len;
    uint8_t *f = read_file(path, &len);
    uint32_t size = rd_u32(f + 52), e0 = SNAPSHOT_ENTRY_FIXED + rd_u16(f + 56 + 16) + rd_u32(f + 56 + 18);
    uint8_t *tmp = malloc(size);
    memcpy(tmp, f + 56 + e0, size - e0);
    memcpy(tmp + size - e0, f + 56, e0);
    memcpy(f + 56, tmp, size);
    wr_u32(f + 56 + size, crc32c(0, f + 48, 8 + size));
    wr_u32(f + len - 16, crc32c(0, f + 48, len - 32 - 48));
    wr_u32(f + len - 4, crc32c(0, f + len - 32, 28));
    write_file(path, f, len);
    ck_assert_int_eq(snapshot_verify(path, NULL, NULL, &err), PERSIST_CORRUPT);
    ck_assert_msg(strstr(err.msg, "out of order"), "%s", err.msg);
    free(tmp);
    free(f);
}
END_TEST

START_TEST(snapshot_tmp_ignored_and_pruned)
{
    write_snapshot(10, 3, 3);
    write_snapshot(30, 3, 3);
    write_snapshot(20, 3, 3);
    char p[400], name[SNAPSHOT_NAME_MAX];
    snapshot_name(name, 40, true); /* newer attempt, abandoned: garbage */
    path_of(p, sizeof(p), name);
    write_file(p, "garbage", 7);
    snapshot_name(name, 5, true); /* older abandoned attempt */
    path_of(p, sizeof(p), name);
    write_file(p, "garbage", 7);
    path_of(p, sizeof(p), "snapshot-12.snap");
    write_file(p, "x", 1);
    snapshot_writer_t *w; /* an aborted writer leaves nothing */
    persist_error_t err;
    ck_assert_int_eq(snapshot_writer_open(dir, 50, SNAPSHOT_COUNT_UNKNOWN, &w, &err), PERSIST_OK);
    snapshot_writer_abort(w);
    snapshot_name(name, 50, true);
    path_of(p, sizeof(p), name);
    ck_assert_int_eq(access(p, F_OK), -1);

    snapshot_info_t *v;
    size_t n;
    ck_assert_int_eq(snapshot_list(dir, &v, &n, &err), PERSIST_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(v[0].start_lsn == 30 && v[1].start_lsn == 20 && v[2].start_lsn == 10);
    free(v);
    ck_assert_int_eq(snapshot_prune(dir, 0, &err), PERSIST_INVALID);
    ck_assert_int_eq(snapshot_prune(dir, 2, &err), PERSIST_OK);
    ck_assert_int_eq(snapshot_list(dir, &v, &n, &err), PERSIST_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(v[0].start_lsn == 30 && v[1].start_lsn == 20);
    free(v);
    snapshot_name(name, 5, true);
    path_of(p, sizeof(p), name);
    ck_assert_int_eq(access(p, F_OK), -1); /* older .tmp removed */
    snapshot_name(name, 40, true);
    path_of(p, sizeof(p), name);
    ck_assert_int_eq(access(p, F_OK), 0); /* newer .tmp left alone */
    path_of(p, sizeof(p), "snapshot-12.snap");
    ck_assert_int_eq(access(p, F_OK), 0); /* not ours */
    ck_assert_int_eq(snapshot_prune(dir, 2, &err), PERSIST_OK); /* idempotent */
}
END_TEST

static void add_file_tests(Suite *s)
{
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, segment_write_rollover_read);
    tcase_add_test(tc, segment_reopen_and_existing);
    tcase_add_test(tc, segment_torn_tail_every_offset);
    tcase_add_test(tc, segment_mid_file_corruption);
    tcase_add_test(tc, segment_short_write_and_errors);
    tcase_add_test(tc, segment_bad_headers);
    tcase_add_test(tc, snapshot_roundtrip_100k);
    tcase_add_test(tc, snapshot_detects_damage);
    tcase_add_test(tc, snapshot_key_order_checked);
    tcase_add_test(tc, snapshot_tmp_ignored_and_pruned);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
}

static Suite *persist_suite(void)
{
    Suite *s = suite_create("persist_format");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, crc_vectors);
    tcase_add_test(tc, crc_matches_reference);
    tcase_add_test(tc, record_roundtrip_types);
    tcase_add_test(tc, record_docs_example);
    tcase_add_test(tc, record_txn_thousand_ops_max_keys);
    tcase_add_test(tc, record_rejects);
    tcase_add_test(tc, record_decoder_fuzz);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    add_file_tests(s);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(persist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
