/*
 * fuzz_snapshot.c — libFuzzer target for the snapshot reader
 * (persister/snapshot.c). `make fuzz` builds and runs it; `make check`
 * replays its corpus and regressions (tests/fuzz/fuzz.mk, docs/testing.md).
 *
 * The first input byte is control: bit 0 set means "fix the CRCs" (header,
 * every chunk that fits, the body CRC and the trailer's own), so that the
 * fuzzer gets past the checksums into the entry parser. The rest is the
 * file, read through an in-memory file. Besides the sanitizers' checks it
 * asserts the reader's contracts: entries inside the file's bytes with
 * lengths in bounds, keys strictly increasing, a sticky final status,
 * PERSIST_END only with the trailer's (and the header's) count, and
 * snapshot_verify() agreeing with the entry-by-entry read. A valid
 * snapshot is then loaded into a fresh region as recovery would
 * (snaptake_load), which must succeed and pass store_check().
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "persister/snapshot.h"
#include "persister/snaptake.h"
#include "store/crc32c.h"
#include "store/record.h"
#include "store/store.h"
#include "tests/fuzz/fuzz_util.h"

#define CHUNK_HEAD 8u
#define CHUNK_CRC 4u

/* Recomputes what the writer would have put in the CRC fields of buf, as
 * far as its chunk headers lead (docs/persistence.md, "Snapshots"). */
static void fix_crcs(uint8_t *buf, size_t size)
{
    if (size < SNAPSHOT_HEADER_SIZE + SNAPSHOT_TRAILER_SIZE)
        return;
    wr_u32(buf + 44, crc32c(0, buf, 44));
    size_t end = size - SNAPSHOT_TRAILER_SIZE, off = SNAPSHOT_HEADER_SIZE;
    uint32_t body = 0;
    while (end - off >= CHUNK_HEAD + CHUNK_CRC) {
        size_t len = rd_u32(buf + off + 4);
        if (len > end - off - CHUNK_HEAD - CHUNK_CRC)
            break;
        wr_u32(buf + off + CHUNK_HEAD + len, crc32c(0, buf + off, CHUNK_HEAD + len));
        body = crc32c(body, buf + off, CHUNK_HEAD + len + CHUNK_CRC);
        off += CHUNK_HEAD + len + CHUNK_CRC;
    }
    wr_u32(buf + end + 16, body);
    wr_u32(buf + end + 28, crc32c(0, buf + end, 28));
}

static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Reads every entry; returns the final status and the entry count. */
static persist_status_t read_all(const char *path, size_t size, uint64_t *count)
{
    snapshot_reader_t *r;
    persist_error_t err;
    persist_status_t st = snapshot_reader_open(path, &r, &err);
    *count = 0;
    if (st != PERSIST_OK) {
        FZ_CHECK(st == PERSIST_CORRUPT);
        return st;
    }
    const snapshot_header_t *h = snapshot_reader_header(r);
    uint8_t *prev = malloc(RECORD_MAX_KEY);
    FZ_CHECK(prev != NULL);
    size_t prev_len = 0;
    snapshot_entry_t e;
    while ((st = snapshot_reader_next(r, &e, &err)) == PERSIST_OK) {
        FZ_CHECK(e.klen <= RECORD_MAX_KEY && e.vlen <= RECORD_MAX_VALUE);
        FZ_CHECK((e.key != NULL || !e.klen) && (e.val != NULL || !e.vlen));
        /* the entry came from the file: its bytes fit between header and trailer */
        FZ_CHECK(SNAPSHOT_HEADER_SIZE + SNAPSHOT_ENTRY_FIXED + e.klen + (size_t)e.vlen + SNAPSHOT_TRAILER_SIZE <=
                 size);
        if (*count > 0)
            FZ_CHECK(key_cmp(e.key, e.klen, prev, prev_len) > 0);
        if (e.klen)
            memcpy(prev, e.key, e.klen);
        prev_len = e.klen;
        (*count)++;
        FZ_CHECK(snapshot_reader_count(r) == *count);
    }
    FZ_CHECK(st == PERSIST_END || st == PERSIST_CORRUPT);
    FZ_CHECK(snapshot_reader_next(r, &e, NULL) == st); /* sticky */
    if (st == PERSIST_END)
        FZ_CHECK(h->item_count == SNAPSHOT_COUNT_UNKNOWN || h->item_count == *count);
    snapshot_reader_close(r);
    free(prev);
    return st;
}

static void quiet(int level, const char *msg)
{
    (void)level;
    (void)msg;
}

/* Recovery's use of a valid snapshot: load it into a fresh region. Every
 * entry becomes an item (expired ones too), the last LSN reaches L0, and
 * the region passes store_check(). */
static void load(const char *path, uint64_t count, uint64_t start_lsn)
{
    static char region[128];
    static unsigned serial;
    snprintf(region, sizeof(region), "/dev/shm/fickle-fuzz-snap-%d-%u", (int)getpid(), serial++);
    store_options_t opt = {.size = STORE_MIN_REGION, .max_value_size = 1u << 20};
    store_t *st;
    store_set_logger(quiet);
    FZ_CHECK(store_create(region, &opt, &st) == STORE_OK);
    store_unlink(region);
    persist_error_t err;
    uint64_t items = 0;
    persist_status_t ls = snaptake_load(st, path, NULL, &items, &err);
    if (ls != PERSIST_OK)
        fprintf(stderr, "fuzz_snapshot: loading a valid snapshot: %s: %s\n", persist_status_str(ls), err.msg);
    FZ_CHECK(ls == PERSIST_OK);
    FZ_CHECK(items == count && store_count(st) == count);
    FZ_CHECK(store_last_lsn(st) >= start_lsn);
    char why[256];
    store_err_t ce = store_check(st, why, sizeof(why));
    if (ce != STORE_OK)
        fprintf(stderr, "fuzz_snapshot: store_check after loading: %s\n", why);
    FZ_CHECK(ce == STORE_OK);
    store_close(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);
    FZ_CHECK(buf != NULL);
    memcpy(buf, data + 1, n);
    if (data[0] & 1)
        fix_crcs(buf, n);
    const char *path = fz_file(buf, n);
    uint64_t count, vcount = 0;
    persist_status_t st = read_all(path, n, &count);
    persist_error_t err;
    snapshot_header_t hdr;
    persist_status_t vst = snapshot_verify(path, &hdr, &vcount, &err);
    FZ_CHECK((vst == PERSIST_OK) == (st == PERSIST_END));
    if (vst == PERSIST_OK) {
        FZ_CHECK(vcount == count);
        FZ_CHECK(hdr.start_lsn == rd_u64(buf + 16));
        load(path, count, hdr.start_lsn);
    }
    free(buf);
    return 0;
}
