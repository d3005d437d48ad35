/*
 * bench_lmdb.c — store_bench's driver for LMDB, the peer: one env file in
 * cfg->dir opened MDB_NOSUBDIR | MDB_NOSYNC | MDB_WRITEMAP | MDB_NOMETASYNC.
 * Each write is its own transaction unless batched; each read renews one
 * read-only transaction (mdb_txn_renew / mdb_txn_reset, LMDB's cheap way
 * to take a fresh snapshot per operation).
 */
#include "config.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench.h"

#define ENV_FLAGS (MDB_NOSUBDIR | MDB_NOSYNC | MDB_WRITEMAP | MDB_NOMETASYNC)

typedef struct {
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *rtxn; /* reset between reads */
    MDB_cursor *cur;
    const keyset_t *ks;
    size_t mapsize;
    char path[512], lock[520];
} lmdb_t;

static void check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS)
        die("lmdb: %s: %s", what, mdb_strerror(rc));
}

/* Opens the env and its read handles; create makes the main DB. */
static void env_open(lmdb_t *l)
{
    check(mdb_env_create(&l->env), "mdb_env_create");
    check(mdb_env_set_mapsize(l->env, l->mapsize), "mdb_env_set_mapsize");
    check(mdb_env_set_maxreaders(l->env, 256), "mdb_env_set_maxreaders");
    check(mdb_env_open(l->env, l->path, ENV_FLAGS, 0600), "mdb_env_open");
    MDB_txn *t;
    check(mdb_txn_begin(l->env, NULL, 0, &t), "mdb_txn_begin");
    check(mdb_dbi_open(t, NULL, 0, &l->dbi), "mdb_dbi_open");
    check(mdb_txn_commit(t), "mdb_txn_commit");
    check(mdb_txn_begin(l->env, NULL, MDB_RDONLY, &l->rtxn), "mdb_txn_begin (read)");
    check(mdb_cursor_open(l->rtxn, l->dbi, &l->cur), "mdb_cursor_open");
    mdb_txn_reset(l->rtxn);
}

static void env_close(lmdb_t *l)
{
    mdb_cursor_close(l->cur);
    mdb_txn_abort(l->rtxn);
    mdb_env_close(l->env);
    l->env = NULL;
}

static void *l_open(const bench_cfg_t *cfg, const keyset_t *ks)
{
    lmdb_t *l = calloc(1, sizeof(*l));
    if (l == NULL)
        die("out of memory");
    l->ks = ks;
    /* Random single-put transactions leave B-tree pages about 2/3 full and
     * copy-on-write keeps a free list: 512 bytes a key is ample. */
    l->mapsize = (size_t)(ks->n * 512 + (1ull << 30));
    snprintf(l->path, sizeof(l->path), "%s/fickle-bench-%ld.mdb", cfg->dir, (long)getpid());
    snprintf(l->lock, sizeof(l->lock), "%s-lock", l->path);
    if (access(l->path, F_OK) == 0)
        die("lmdb: %s already exists", l->path);
    cleanup_add(l->path);
    cleanup_add(l->lock);
    env_open(l);
    return l;
}

static void put_one(lmdb_t *l, MDB_txn *t, uint64_t i, uint64_t gen, unsigned flags)
{
    unsigned char key[KEY_LEN], val[VAL_LEN];
    key_make(l->ks, i, key);
    val_make(key, gen, val);
    MDB_val k = {KEY_LEN, key}, v = {VAL_LEN, val};
    check(mdb_put(t, l->dbi, &k, &v, flags), "mdb_put");
}

static void l_load(void *h, uint64_t n)
{
    lmdb_t *l = h;
    for (uint64_t i = 0; i < n; i++) {
        MDB_txn *t;
        check(mdb_txn_begin(l->env, NULL, 0, &t), "load: mdb_txn_begin");
        put_one(l, t, i, 0, MDB_NOOVERWRITE);
        check(mdb_txn_commit(t), "load: mdb_txn_commit");
    }
}

static void l_get(void *h, const uint32_t *idx, uint64_t n, uint64_t gen)
{
    lmdb_t *l = h;
    unsigned char key[KEY_LEN];
    for (uint64_t i = 0; i < n; i++) {
        key_make(l->ks, idx[i], key);
        MDB_val k = {KEY_LEN, key}, v;
        check(mdb_txn_renew(l->rtxn), "get: mdb_txn_renew");
        check(mdb_get(l->rtxn, l->dbi, &k, &v), "get: mdb_get");
        if (!val_ok(key, v.mv_data, v.mv_size, gen))
            die("lmdb: get: wrong value for key #%u", idx[i]);
        mdb_txn_reset(l->rtxn);
    }
}

static void l_put(void *h, const uint32_t *idx, uint64_t n, uint64_t gen, unsigned batch)
{
    lmdb_t *l = h;
    unsigned per = batch > 1 ? batch : 1;
    for (uint64_t i = 0; i < n;) {
        uint64_t end = n - i > per ? i + per : n;
        MDB_txn *t;
        check(mdb_txn_begin(l->env, NULL, 0, &t), "put: mdb_txn_begin");
        for (; i < end; i++)
            put_one(l, t, idx[i], gen, 0);
        check(mdb_txn_commit(t), "put: mdb_txn_commit");
    }
}

/* One 100-row scan from key #sc->idx (MDB_NEXT forward, MDB_PREV reverse),
 * checked row by row against the key set. */
static void scan_one(lmdb_t *l, const scan_t *sc, bool reverse, uint64_t gen)
{
    unsigned char key[KEY_LEN];
    key_make(l->ks, sc->idx, key);
    uint64_t want = scan_expect(l->ks, sc->rank, reverse), got = 0;
    MDB_val k = {KEY_LEN, key}, v;
    check(mdb_txn_renew(l->rtxn), "scan: mdb_txn_renew");
    check(mdb_cursor_renew(l->rtxn, l->cur), "scan: mdb_cursor_renew");
    int rc = mdb_cursor_get(l->cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_SUCCESS && reverse && (k.mv_size != KEY_LEN || memcmp(k.mv_data, key, KEY_LEN) != 0))
        rc = mdb_cursor_get(l->cur, &k, &v, MDB_PREV); /* landed past the start */
    else if (rc == MDB_NOTFOUND && reverse)
        rc = mdb_cursor_get(l->cur, &k, &v, MDB_LAST);
    for (; rc == MDB_SUCCESS && got < SCAN_ROWS; got++) {
        uint64_t r = reverse ? sc->rank - got : sc->rank + got;
        if (!row_ok(l->ks, r, k.mv_data, k.mv_size, v.mv_data, v.mv_size, gen))
            die("lmdb: scan from rank %u: row %llu is wrong", sc->rank, (unsigned long long)got);
        if (got + 1 < SCAN_ROWS)
            rc = mdb_cursor_get(l->cur, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        check(rc, "scan: mdb_cursor_get");
    mdb_txn_reset(l->rtxn);
    if (got != want)
        die("lmdb: scan from rank %u gave %llu rows", sc->rank, (unsigned long long)got);
}

static void l_scan(void *h, const scan_t *sc, uint64_t n, bool reverse, uint64_t gen)
{
    for (uint64_t i = 0; i < n; i++)
        scan_one(h, &sc[i], reverse, gen);
}

static void l_del(void *h, const uint32_t *idx, uint64_t n)
{
    lmdb_t *l = h;
    unsigned char key[KEY_LEN];
    for (uint64_t i = 0; i < n; i++) {
        key_make(l->ks, idx[i], key);
        MDB_val k = {KEY_LEN, key};
        MDB_txn *t;
        check(mdb_txn_begin(l->env, NULL, 0, &t), "delete: mdb_txn_begin");
        check(mdb_del(t, l->dbi, &k, NULL), "delete: mdb_del");
        check(mdb_txn_commit(t), "delete: mdb_txn_commit");
    }
}

static uint64_t l_count(void *h)
{
    lmdb_t *l = h;
    MDB_stat s;
    check(mdb_txn_renew(l->rtxn), "mdb_txn_renew");
    check(mdb_stat(l->rtxn, l->dbi, &s), "mdb_stat");
    mdb_txn_reset(l->rtxn);
    return s.ms_entries;
}

static void l_footprint(void *h, footprint_t *out)
{
    lmdb_t *l = h;
    MDB_stat s;
    MDB_envinfo info;
    check(mdb_txn_renew(l->rtxn), "mdb_txn_renew");
    check(mdb_stat(l->rtxn, l->dbi, &s), "mdb_stat");
    mdb_txn_reset(l->rtxn);
    check(mdb_env_info(l->env, &info), "mdb_env_info");
    uint64_t n = s.ms_entries ? s.ms_entries : 1;
    out->bytes_per_key = (double)(info.me_last_pgno + 1) * s.ms_psize / (double)n;
    uint64_t tree = s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
    out->alt_bytes_per_key = (double)tree * s.ms_psize / (double)n;
    snprintf(out->what, sizeof(out->what),
             "(me_last_pgno + 1) x %u B / keys; alt: B-tree pages (branch + leaf + overflow) x %u B / keys",
             s.ms_psize, s.ms_psize);
}

/* An env must not cross fork(): the parent closes it, each child opens its
 * own, the parent reopens it afterwards. */
static void l_mixed_before(void *h)
{
    env_close(h);
}

static void l_mixed_after(void *h)
{
    env_open(h);
}

static void l_read_op(void *h, uint64_t *rng)
{
    lmdb_t *l = h;
    unsigned char key[KEY_LEN];
    uint64_t i = rng_next(rng) % l->ks->n;
    key_make(l->ks, i, key);
    MDB_val k = {KEY_LEN, key}, v;
    check(mdb_txn_renew(l->rtxn), "mixed: mdb_txn_renew");
    check(mdb_get(l->rtxn, l->dbi, &k, &v), "mixed: mdb_get");
    if (!val_ok(key, v.mv_data, v.mv_size, GEN_ANY))
        die("lmdb: mixed: wrong value for key #%llu", (unsigned long long)i);
    mdb_txn_reset(l->rtxn);
}

static void l_write_op(void *h, uint64_t *rng)
{
    lmdb_t *l = h;
    uint64_t r = rng_next(rng);
    MDB_txn *t;
    check(mdb_txn_begin(l->env, NULL, 0, &t), "mixed: mdb_txn_begin");
    put_one(l, t, r % l->ks->n, 3 + (r >> 40), 0);
    check(mdb_txn_commit(t), "mixed: mdb_txn_commit");
}

static void l_mixed_child(void *h, bool writer, uint64_t rng, const mixed_flags_t *f, child_stats_t *out)
{
    lmdb_t *l = h;
    env_open(l);
    mixed_loop(h, rng, f, out, writer ? l_write_op : l_read_op);
    env_close(l);
}

static void l_close(void *h)
{
    lmdb_t *l = h;
    env_close(l);
    if (unlink(l->path) != 0 || unlink(l->lock) != 0)
        die("lmdb: unlink %s failed", l->path);
    free(l);
}

const system_t lmdb_system = {
    .name = "LMDB",
    .open = l_open,
    .load = l_load,
    .get = l_get,
    .put = l_put,
    .scan = l_scan,
    .del = l_del,
    .count = l_count,
    .footprint = l_footprint,
    .mixed_before = l_mixed_before,
    .mixed_child = l_mixed_child,
    .mixed_after = l_mixed_after,
    .close = l_close,
};
