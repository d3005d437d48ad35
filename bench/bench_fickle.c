/*
 * bench_fickle.c — store_bench's driver for fickle's store: a region in
 * cfg->dir sized from the key count, every operation through the public
 * API (store.h), each write its own critical section unless batched.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench/bench.h"
#include "store/store.h"

typedef struct {
    store_t *st;
    const keyset_t *ks;
    char path[512];
    store_buf_t buf;
    store_rows_t rows;
} fickle_t;

/* Items of a 16-byte key and a 32-byte value take 80-96 bytes and the hash
 * table 4-8 bytes a key (12 while it doubles): 192 leaves ample room. */
static uint64_t region_size(uint64_t keys)
{
    uint64_t size = keys * 192 + (256ull << 20);
    size = (size + 4095) & ~4095ull;
    if (size > STORE_MAX_REGION)
        die("%llu keys need a region over fickle's %llu-byte limit", (unsigned long long)keys,
            (unsigned long long)STORE_MAX_REGION);
    return size;
}

static void check(store_err_t err, const char *what)
{
    if (err != STORE_OK)
        die("fickle: %s: %s (%s)", what, store_strerror(err), store_error_detail());
}

static void *f_open(const bench_cfg_t *cfg, const keyset_t *ks)
{
    fickle_t *f = calloc(1, sizeof(*f));
    if (f == NULL)
        die("out of memory");
    f->ks = ks;
    snprintf(f->path, sizeof(f->path), "%s/fickle-bench-%ld.region", cfg->dir, (long)getpid());
    store_options_t opt = {.size = region_size(ks->n)};
    cleanup_add(f->path);
    check(store_create(f->path, &opt, &f->st), "store_create");
    return f;
}

static void f_load(void *h, uint64_t n)
{
    fickle_t *f = h;
    store_put_opts_t nx = {.flags = STORE_PUT_NX};
    unsigned char key[KEY_LEN], val[VAL_LEN];
    for (uint64_t i = 0; i < n; i++) {
        key_make(f->ks, i, key);
        val_make(key, 0, val);
        check(store_put(f->st, key, KEY_LEN, val, VAL_LEN, &nx, NULL), "load: store_put");
    }
}

static void f_get(void *h, const uint32_t *idx, uint64_t n, uint64_t gen)
{
    fickle_t *f = h;
    unsigned char key[KEY_LEN];
    for (uint64_t i = 0; i < n; i++) {
        key_make(f->ks, idx[i], key);
        check(store_get(f->st, key, KEY_LEN, &f->buf, NULL), "get: store_get");
        if (!val_ok(key, f->buf.data, f->buf.len, gen))
            die("fickle: get: wrong value for key #%u", idx[i]);
    }
}

static void f_put(void *h, const uint32_t *idx, uint64_t n, uint64_t gen, unsigned batch)
{
    fickle_t *f = h;
    unsigned char key[KEY_LEN], val[VAL_LEN];
    for (uint64_t i = 0; i < n;) {
        uint64_t end = batch > 1 && n - i > batch ? i + batch : batch > 1 ? n : i + 1;
        if (batch > 1)
            check(store_write_lock(f->st), "put: store_write_lock");
        for (; i < end; i++) {
            key_make(f->ks, idx[i], key);
            val_make(key, gen, val);
            if (batch > 1)
                check(store_put_locked(f->st, key, KEY_LEN, val, VAL_LEN, NULL, NULL), "put: store_put_locked");
            else
                check(store_put(f->st, key, KEY_LEN, val, VAL_LEN, NULL, NULL), "put: store_put");
        }
        if (batch > 1)
            store_write_unlock(f->st);
    }
}

/* One 100-row scan from key #i, checked row by row against the key set. */
static void scan_one(fickle_t *f, const scan_t *sc, bool reverse, uint64_t gen)
{
    unsigned char key[KEY_LEN];
    key_make(f->ks, sc->idx, key);
    uint64_t rank = sc->rank;
    store_range_t q = {.limit = SCAN_ROWS, .reverse = reverse};
    store_bound_t b = {STORE_BOUND_INCL, key, KEY_LEN};
    if (reverse)
        q.hi = b;
    else
        q.lo = b;
    check(store_range(f->st, &q, &f->rows), "scan: store_range");
    if (f->rows.count != scan_expect(f->ks, rank, reverse))
        die("fickle: scan from rank %llu gave %zu rows", (unsigned long long)rank, f->rows.count);
    size_t pos = 0;
    store_row_t row;
    for (uint64_t r = 0; store_rows_next(&f->rows, &pos, &row); r++)
        if (!row_ok(f->ks, reverse ? rank - r : rank + r, row.key, row.klen, row.val, row.vlen, gen))
            die("fickle: scan from rank %llu: row %llu is wrong", (unsigned long long)rank,
                (unsigned long long)r);
}

static void f_scan(void *h, const scan_t *sc, uint64_t n, bool reverse, uint64_t gen)
{
    fickle_t *f = h;
    store_reader_stats_t before, after;
    store_reader_stats(f->st, &before);
    for (uint64_t i = 0; i < n; i++)
        scan_one(h, &sc[i], reverse, gen);
    store_reader_stats(f->st, &after);
    fprintf(stderr, "  fickle %s scans loaded %.1f items each (searches included), %llu retries\n",
            reverse ? "reverse" : "forward", (double)(after.scan_items - before.scan_items) / (double)n,
            (unsigned long long)(after.retries - before.retries));
}

static void f_del(void *h, const uint32_t *idx, uint64_t n)
{
    fickle_t *f = h;
    unsigned char key[KEY_LEN];
    for (uint64_t i = 0; i < n; i++) {
        key_make(f->ks, idx[i], key);
        check(store_delete(f->st, key, KEY_LEN), "delete: store_delete");
    }
}

static uint64_t f_count(void *h)
{
    return store_count(((fickle_t *)h)->st);
}

static void f_footprint(void *h, footprint_t *out)
{
    fickle_t *f = h;
    store_stats_t s;
    check(store_stats(f->st, &s), "store_stats");
    uint64_t n = s.items ? s.items : 1;
    out->bytes_per_key = (double)(s.pages_total - s.pages_free) * (double)s.page_size / (double)n;
    out->alt_bytes_per_key = (double)s.bytes_allocated / (double)n;
    snprintf(out->what, sizeof(out->what),
             "arena pages in use x %llu B / keys; alt: chunks + hash tables (bytes_allocated) / keys; "
             "hash tables %.1f B/key%s",
             (unsigned long long)s.page_size, (double)s.bytes_hash / (double)n,
             s.rehashing ? " (old and new: a doubling is in progress)" : "");
}

static void f_mixed_noop(void *h)
{
    (void)h;
}

static void f_read_op(void *h, uint64_t *rng)
{
    fickle_t *f = h;
    unsigned char key[KEY_LEN];
    uint64_t i = rng_next(rng) % f->ks->n;
    key_make(f->ks, i, key);
    check(store_get(f->st, key, KEY_LEN, &f->buf, NULL), "mixed: store_get");
    if (!val_ok(key, f->buf.data, f->buf.len, GEN_ANY))
        die("fickle: mixed: wrong value for key #%llu", (unsigned long long)i);
}

static void f_write_op(void *h, uint64_t *rng)
{
    fickle_t *f = h;
    unsigned char key[KEY_LEN], val[VAL_LEN];
    uint64_t r = rng_next(rng);
    key_make(f->ks, r % f->ks->n, key);
    val_make(key, 3 + (r >> 40), val);
    check(store_put(f->st, key, KEY_LEN, val, VAL_LEN, NULL, NULL), "mixed: store_put");
}

/* Runs in a forked child: the inherited handle is valid (store.h). */
static void f_mixed_child(void *h, bool writer, uint64_t rng, const mixed_flags_t *fl, child_stats_t *out)
{
    fickle_t *f = h;
    store_reader_stats_t before, after;
    store_reader_stats(f->st, &before);
    mixed_loop(h, rng, fl, out, writer ? f_write_op : f_read_op);
    store_reader_stats(f->st, &after);
    out->retries = after.retries - before.retries;
    out->fallbacks = after.fallbacks - before.fallbacks;
}

static void f_close(void *h)
{
    fickle_t *f = h;
    store_buf_free(&f->buf);
    store_rows_free(&f->rows);
    store_close(f->st);
    if (store_unlink(f->path) != 0)
        die("fickle: unlink %s failed", f->path);
    free(f);
}

const system_t fickle_system = {
    .name = "fickle",
    .open = f_open,
    .load = f_load,
    .get = f_get,
    .put = f_put,
    .scan = f_scan,
    .del = f_del,
    .count = f_count,
    .footprint = f_footprint,
    .mixed_before = f_mixed_noop,
    .mixed_child = f_mixed_child,
    .mixed_after = f_mixed_noop,
    .close = f_close,
};
