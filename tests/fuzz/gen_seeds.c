/*
 * gen_seeds.c — writes the fuzzers' seed corpora (tests/fuzz/corpus/) with
 * the real encoders: log records by store/record.c, snapshots by the
 * snapshot writer, native requests by the frame layout of
 * include/fickle/protocol.h, store programs in fuzz_store.c's encoding.
 * Not part of `make check`; rebuild the corpora after a format change:
 *
 *   make tests/fuzz/gen_seeds && tests/fuzz/gen_seeds $(srcdir)/tests/fuzz/corpus
 *
 * Config files and RESP requests are plain text, written by hand.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fickle/protocol.h"
#include "persister/snapshot.h"
#include "store/record.h"

static const char *outdir;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "gen_seeds: %s: %s\n", what, detail);
    exit(1);
}

/* Writes <outdir>/<harness>/<name>: the control byte (if ctl >= 0), then data. */
static void emit(const char *harness, const char *name, int ctl, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", outdir, harness);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die(path, strerror(errno));
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        die(path, strerror(errno));
    if (ctl >= 0)
        fputc(ctl, f);
    if (len && fwrite(data, 1, len, f) != len)
        die(path, strerror(errno));
    if (fclose(f) != 0)
        die(path, strerror(errno));
}

/* ---- log records -------------------------------------------------------------- */

static void records(void)
{
    record_buf_t b = {0};
    record_t put = {.lsn = 1, .type = RECORD_PUT,
                    .op = {.key = "user:1", .klen = 6, .val = "alice", .vlen = 5, .version = 1}};
    record_t put_exp = {.lsn = 2, .type = RECORD_PUT,
                        .op = {.key = "s", .klen = 1, .val = "", .vlen = 0, .expiry_ms = 1700000000000ull,
                               .version = 2}};
    record_t del = {.lsn = 3, .type = RECORD_DEL, .op = {.key = "user:1", .klen = 6}};
    record_t exp = {.lsn = 4, .type = RECORD_EXPIRE, .op = {.key = "s", .klen = 1, .expiry_ms = 0}};
    record_t clear = {.lsn = 5, .type = RECORD_CLEAR};
    record_op_t ops[] = {
        {.type = RECORD_PUT, .key = "a", .klen = 1, .val = "1", .vlen = 1, .version = 6},
        {.type = RECORD_DEL, .key = "b", .klen = 1},
        {.type = RECORD_EXPIRE, .key = "c", .klen = 1, .expiry_ms = 42},
    };
    record_t txn = {.lsn = 6, .type = RECORD_TXN, .ops = ops, .nops = 3};
    const record_t *all[] = {&put, &put_exp, &del, &exp, &clear, &txn};
    const char *names[] = {"put", "put-expiry", "del", "expire", "clear", "txn"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        b.len = 0;
        if (record_append(&b, all[i]) != 0)
            die("record_append", names[i]);
        emit("record", names[i], 0, b.data, b.len);
    }
    b.len = 0;
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (record_append(&b, all[i]) != 0)
            die("record_append", names[i]);
    emit("record", "stream", 0, b.data, b.len);
    emit("record", "stream-fixcrc", 1, b.data, b.len);
    emit("record", "stream-torn", 0, b.data, b.len - 3);
    emit("record", "stream-apply", 2, b.data, b.len);
    record_buf_free(&b);
}

/* ---- snapshots ----------------------------------------------------------------------- */

static void snapshot(const char *name, uint64_t lsn, uint64_t count, const snapshot_entry_t *e, size_t n)
{
    char dir[] = "/tmp/fickle-seeds-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp", strerror(errno));
    snapshot_writer_t *w;
    persist_error_t err;
    if (snapshot_writer_open(dir, lsn, count, &w, &err) != PERSIST_OK)
        die("snapshot_writer_open", err.msg);
    for (size_t i = 0; i < n; i++)
        if (snapshot_writer_add(w, &e[i], &err) != PERSIST_OK)
            die("snapshot_writer_add", err.msg);
    if (snapshot_writer_commit(w, &err) != PERSIST_OK)
        die("snapshot_writer_commit", err.msg);
    char file[SNAPSHOT_NAME_MAX], path[4096];
    snapshot_name(file, lsn, false);
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, strerror(errno));
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(path);
    rmdir(dir);
    emit("snapshot", name, 0, buf, len);
}

static void snapshots(void)
{
    snapshot_entry_t e[] = {
        {.key = "", .klen = 0, .val = "empty key", .vlen = 9, .version = 3},
        {.key = "a", .klen = 1, .val = "", .vlen = 0, .version = 1, .expiry_ms = 1700000000000ull},
        {.key = "a\0b", .klen = 3, .val = "x", .vlen = 1, .version = 7},
        {.key = "user:1", .klen = 6, .val = "alice", .vlen = 5, .version = 2},
        {.key = "\xff\xff", .klen = 2, .val = "last", .vlen = 4, .version = 9},
    };
    snapshot("empty", 0, 0, NULL, 0);
    snapshot("five", 9, 5, e, 5);
    snapshot("five-count-unknown", 12, SNAPSHOT_COUNT_UNKNOWN, e, 5);
    snapshot("one", 1, 1, &e[3], 1);
}

/* ---- native requests ------------------------------------------------------------------ */

typedef struct {
    uint8_t b[4096];
    size_t n;
} frames_t;

static void put_le(frames_t *f, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        f->b[f->n++] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(frames_t *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void frame(frames_t *f, uint8_t op, uint8_t flags, const void *ext, size_t elen, const char *key,
                  size_t klen, const void *val, size_t vlen)
{
    put_le(f, FICKLE_MAGIC_REQUEST, 1);
    put_le(f, FICKLE_PROTOCOL_VERSION, 1);
    put_le(f, op, 1);
    put_le(f, flags, 1);
    put_le(f, 0, 2);
    put_le(f, klen, 2);
    put_le(f, elen, 2);
    put_le(f, 0, 2);
    put_le(f, vlen, 4);
    put_le(f, 0x1122334455667788ull, 8);
    put_bytes(f, ext, elen);
    put_bytes(f, key, klen);
    put_bytes(f, val, vlen);
}

static void native(void)
{
    frames_t f = {0};
    uint8_t ext8[8] = {0x10, 0x27}; /* 10000 ms */
    uint8_t count2[4] = {2};
    uint8_t limit[4] = {10};
    frame(&f, FICKLE_OP_SET, 0, ext8, 8, "k", 1, "hello", 5);
    frame(&f, FICKLE_OP_GET, 0, NULL, 0, "k", 1, NULL, 0);
    frame(&f, FICKLE_OP_DEL, 0, NULL, 0, "k", 1, NULL, 0);
    frame(&f, FICKLE_OP_INCR, 0, NULL, 0, "n", 1, NULL, 0);
    frame(&f, FICKLE_OP_PING, 0, NULL, 0, NULL, 0, "hi", 2);
    emit("proto", "native-basic", 1, f.b, f.n);
    emit("proto", "native-basic-chunked", 1 | (3 << 3), f.b, f.n);
    f.n = 0;
    uint8_t mget[] = {1, 0, 'a', 2, 0, 'b', 'c'};
    frame(&f, FICKLE_OP_MGET, 0, count2, 4, NULL, 0, mget, sizeof(mget));
    uint8_t mset[] = {1, 0, 1, 0, 0, 0, 'a', '1', 1, 0, 2, 0, 0, 0, 'b', '2', '2'};
    frame(&f, FICKLE_OP_MSET, 0, count2, 4, NULL, 0, mset, sizeof(mset));
    frame(&f, FICKLE_OP_RANGE, FICKLE_RANGE_START_INCL | FICKLE_RANGE_REVERSE, limit, 4, "a", 1, "z", 1);
    frame(&f, FICKLE_OP_COUNT, FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE, NULL, 0, NULL, 0, NULL, 0);
    uint8_t cas[16] = {5};
    frame(&f, FICKLE_OP_CAS, 0, cas, 16, "k", 1, "v2", 2);
    emit("proto", "native-multi", 1, f.b, f.n);
    emit("proto", "native-multi-limits", 1 | 2, f.b, f.n);
    f.n = 0;
    frame(&f, FICKLE_OP_AUTH, 0, NULL, 0, NULL, 0, "secret", 6);
    frame(&f, FICKLE_OP_GET, 0, NULL, 0, "k", 1, NULL, 0);
    emit("proto", "native-auth-unauth", 1 | 4, f.b, f.n);
}

/* ---- store programs (fuzz_store.c's encoding) ------------------------------------------- */

static void store_programs(void)
{
    /* Each line is one step: the operation byte, then its arguments. */
    static const uint8_t basic[] = {
        0, 1, 10, 7, 0, 0,        /* put a, 10 bytes, fill 7, flags 0, expiry none */
        1, 2, 20, 9, 0, 6,        /* put b, expiry now+1 */
        14, 1,                    /* get a */
        11, 0x00, 0,              /* range -, + */
        13, 150,                  /* clock +150 ms */
        14, 2,                    /* get b: expired */
        4, 1,                     /* delete a */
        6, 2, 7,                  /* expire b (gone) */
        0, 3, 100, 1, 0x01, 0,    /* put ab NX */
        0, 3, 100, 1, 0x01, 0,    /* again: EXISTS */
        0, 3, 5, 2, 0x08, 0, 0x80 /* put ab CAS with its version */
    };
    static const uint8_t full[] = {
        /* puts of 252 KiB until NOMEM, one too big, then clear and put again */
        0, 0xf1, 'x', 0xfe, 1, 0, 0, 0, 0xf1, 'y', 0xfe, 2, 0, 0, 0, 0xf1, 'z', 0xfe, 3, 0, 0,
        0, 1, 0xfe, 4, 0, 0, 0, 2, 0xfe, 5, 0, 0, 0, 3, 0xfe, 6, 0, 0, 0, 4, 0xfe, 7, 0, 0,
        0, 5, 0xfe, 8, 0, 0, 0, 6, 0xfe, 9, 0, 0, 0, 7, 0xfe, 10, 0, 0, 0, 0, 0xfe, 11, 0, 0,
        0, 0xf2, 'q', 'r', 0xfe, 12, 0, 0, 0, 0xf2, 'q', 's', 0xfe, 13, 0, 0,
        0, 0xf2, 'q', 't', 0xfe, 14, 0, 0, 0, 0xf2, 'q', 'u', 0xfe, 15, 0, 0,
        0, 1, 0xff, 1, 0, 0,      /* one byte over the value limit: TOO_BIG */
        11, 0x20, 0,              /* keys-only range */
        7,                        /* clear */
        0, 1, 0xfe, 1, 0, 0,      /* fits again */
    };
    static const uint8_t txn[] = {
        0, 1, 10, 1, 0, 0,        /* put a */
        8,                        /* write_lock */
        0, 2, 10, 2, 0, 0,        /* put b */
        4, 1,                     /* delete a */
        11, 0x10, 3,              /* reverse range, limit 3 */
        10,                       /* abort */
        8, 0, 4, 30, 3, 0, 0, 6, 4, 5, 9, 9, /* lock, put "\0", expire it, unlock */
        11, 0x89, 0, 1, 2,        /* range_count [a, (b */
        11, 0x45, 0, 1, 3, 0,     /* [a, ab] within a 1-byte budget */
    };
    emit("store", "basic", -1, basic, sizeof(basic));
    emit("store", "fill-region", -1, full, sizeof(full));
    emit("store", "transactions", -1, txn, sizeof(txn));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    records();
    snapshots();
    native();
    store_programs();
    return 0;
}
