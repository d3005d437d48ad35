/*
 * test_store_model.c — randomised model test of the store: thousands of
 * random operations (put with every flag, delete, get, exists, expire,
 * clock steps, forward and reverse ranges with random bounds, limits,
 * keys_only and byte budgets, range_count, transactions that commit or
 * abort, clear) run against the store and against a sorted-array model,
 * and compared after every step. Keys come from a small pool so that they
 * collide; values range from empty to page runs.
 *
 * Fixed seeds; a failure names the seed and step. Reproduce or explore with
 * FICKLE_MODEL_SEED=<n> and FICKLE_MODEL_STEPS=<n>.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define POOL 300
#define MAX_VALUE (512u * 1024u)

typedef struct {
    store_t *st;
    tu_model_t m;
    tu_lsn_t v;   /* expected LSNs */
    tu_rng_t rng;
    uint64_t seed;
    int step;
    const char *op;
    char pool[POOL][12];
    size_t pool_len[POOL];
    char key[16], key2[16];
    size_t klen, klen2;
    char *val;
} world_t;

#define CTX_FMT "seed %llu step %d op %s: "
#define CTX(w) (unsigned long long)(w)->seed, (w)->step, (w)->op
#define EXPECT(w, cond, fmt, ...) TU_ASSERT(cond, CTX_FMT fmt, CTX(w), __VA_ARGS__)

/* ---- random inputs ------------------------------------------------------------------ */

static void random_key_into(tu_rng_t *r, char *out, size_t *len)
{
    static const char alphabet[] = {'a', 'b', '\0', '\xff'};
    static const size_t lens[] = {0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 5, 7, 8, 8, 9, 11};
    *len = lens[tu_below(r, sizeof(lens) / sizeof(lens[0]))];
    for (size_t i = 0; i < *len; i++)
        out[i] = alphabet[tu_below(r, sizeof(alphabet))];
}

/* Mostly a pool key (collisions), sometimes a fresh one. */
static void pick_key(world_t *w, char *out, size_t *len)
{
    if (tu_below(&w->rng, 10) < 8) {
        unsigned i = (unsigned)tu_below(&w->rng, POOL);
        memcpy(out, w->pool[i], w->pool_len[i]);
        *len = w->pool_len[i];
    } else {
        random_key_into(&w->rng, out, len);
    }
}

static size_t pick_vlen(world_t *w)
{
    uint64_t p = tu_below(&w->rng, 100);
    if (p < 65)
        return tu_below(&w->rng, 65);
    if (p < 88)
        return 65 + tu_below(&w->rng, 400); /* across the in-place limit */
    if (p < 98)
        return 500 + tu_below(&w->rng, 6000);
    return 130000 + tu_below(&w->rng, 200000); /* page runs */
}

static void fill_value(world_t *w, size_t vlen)
{
    uint64_t x = tu_rand(&w->rng);
    for (size_t i = 0; i < vlen; i++) {
        if (i % 8 == 0)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
        w->val[i] = (char)(x >> (8 * (i % 8)));
    }
}

static uint64_t now(void)
{
    return tu_fake_now;
}

static uint64_t pick_expiry(world_t *w, bool allow_past)
{
    uint64_t p = tu_below(&w->rng, 10);
    if (p < 6)
        return 0;
    if (allow_past && p == 9)
        return now() - tu_below(&w->rng, 5);
    return now() + 1 + tu_below(&w->rng, 40);
}

/* ---- writes ----------------------------------------------------------------------- */

static void random_put_opts(world_t *w, const tu_ent_t *e, store_put_opts_t *o)
{
    static const uint32_t flag_sets[] = {0, 0, 0, 0, 0, STORE_PUT_NX, STORE_PUT_XX, STORE_PUT_CAS, STORE_PUT_CAS,
                                         STORE_PUT_KEEP_EXPIRY, STORE_PUT_KEEP_EXPIRY | STORE_PUT_XX};
    *o = (store_put_opts_t){.flags = flag_sets[tu_below(&w->rng, sizeof(flag_sets) / sizeof(flag_sets[0]))]};
    o->expiry_ms = pick_expiry(w, true);
    if (o->flags & STORE_PUT_CAS)
        o->cas_version = e && tu_below(&w->rng, 3) ? e->version : tu_below(&w->rng, w->v.lsn + 2);
    if (tu_below(&w->rng, 40) == 0) /* a replayed version, possibly not above the last */
        o->version = w->v.lsn + tu_below(&w->rng, 4);
}

static void op_put(world_t *w)
{
    w->op = "put";
    pick_key(w, w->key, &w->klen);
    size_t vlen = pick_vlen(w);
    fill_value(w, vlen);
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_put_opts_t o;
    random_put_opts(w, e, &o);
    store_err_t want = tu_put_expect(e, live, &o);
    store_meta_t meta;
    store_err_t err = w->v.locked ? store_put_locked(w->st, w->key, w->klen, w->val, vlen, &o, &meta)
                                : store_put(w->st, w->key, w->klen, w->val, vlen, &o, &meta);
    EXPECT(w, err == want, "flags %#x: %s, want %s (%s)", o.flags, store_strerror(err), store_strerror(want),
           store_error_detail());
    if (err != STORE_OK)
        return;
    EXPECT(w, tu_model_put_done(&w->m, &w->v, e, live, w->key, w->klen, w->val, vlen, &o, &meta),
           "meta %llu/%llu/%u differs from the model", (unsigned long long)meta.version,
           (unsigned long long)meta.expiry_ms, meta.vlen);
}

static void op_delete(world_t *w)
{
    w->op = "delete";
    pick_key(w, w->key, &w->klen);
    bool found;
    size_t idx;
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, &found, &idx);
    store_err_t want = found && tu_model_live(e, now()) ? STORE_OK : STORE_NOT_FOUND;
    store_err_t err = w->v.locked ? store_delete_locked(w->st, w->key, w->klen) : store_delete(w->st, w->key, w->klen);
    EXPECT(w, err == want, "%s, want %s", store_strerror(err), store_strerror(want));
    if (found) { /* an expired item is removed all the same: a change */
        tu_model_del_at(&w->m, idx);
        tu_lsn_took(&w->v, tu_lsn_next(&w->v));
    }
}

static void op_expire(world_t *w)
{
    w->op = "expire";
    pick_key(w, w->key, &w->klen);
    uint64_t exp = pick_expiry(w, true);
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_err_t want = live ? STORE_OK : STORE_NOT_FOUND;
    store_err_t err = w->v.locked ? store_expire_locked(w->st, w->key, w->klen, exp)
                                : store_expire(w->st, w->key, w->klen, exp);
    EXPECT(w, err == want, "%s, want %s", store_strerror(err), store_strerror(want));
    if (live && !(e->expiry == 0 && exp == 0)) {
        e->expiry = exp;
        e->version = tu_lsn_next(&w->v);
        tu_lsn_took(&w->v, e->version);
    }
}

static void op_clear(world_t *w)
{
    w->op = "clear";
    store_err_t err = store_clear(w->st);
    EXPECT(w, err == STORE_OK, "%s", store_strerror(err));
    tu_model_free(&w->m);
    w->v.lsn++;
}

/* ---- reads -------------------------------------------------------------------------- */

static void op_get(world_t *w)
{
    w->op = "get";
    pick_key(w, w->key, &w->klen);
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_buf_t b = {0};
    store_meta_t meta;
    bool with_val = tu_below(&w->rng, 4) != 0;
    store_err_t err = w->v.locked ? store_get_locked(w->st, w->key, w->klen, with_val ? &b : NULL, &meta)
                                : store_get(w->st, w->key, w->klen, with_val ? &b : NULL, &meta);
    EXPECT(w, err == (live ? STORE_OK : STORE_NOT_FOUND), "%s (live %d)", store_strerror(err), live);
    if (live) {
        EXPECT(w, meta.version == e->version && meta.expiry_ms == e->expiry && meta.vlen == e->vlen,
               "meta %llu/%llu/%u", (unsigned long long)meta.version, (unsigned long long)meta.expiry_ms, meta.vlen);
        EXPECT(w, !with_val || (b.len == e->vlen && (!b.len || memcmp(b.data, e->val, b.len) == 0)),
               "value of %zu bytes differs", e->vlen);
    }
    store_buf_free(&b);
    if (!w->v.locked) {
        err = store_exists(w->st, w->key, w->klen);
        EXPECT(w, err == (live ? STORE_OK : STORE_NOT_FOUND), "exists: %s", store_strerror(err));
    }
}

static void random_bound(world_t *w, store_bound_t *b, char *buf, size_t *len)
{
    static const store_bound_kind_t kinds[] = {STORE_BOUND_NONE, STORE_BOUND_INCL, STORE_BOUND_INCL,
                                               STORE_BOUND_EXCL, STORE_BOUND_EXCL};
    b->kind = kinds[tu_below(&w->rng, 5)];
    pick_key(w, buf, len);
    b->key = b->kind == STORE_BOUND_NONE ? NULL : buf;
    b->len = b->kind == STORE_BOUND_NONE ? 0 : *len;
}

static void random_query(world_t *w, store_range_t *q)
{
    *q = (store_range_t){0};
    random_bound(w, &q->lo, w->key, &w->klen);
    random_bound(w, &q->hi, w->key2, &w->klen2);
    q->reverse = tu_below(&w->rng, 2);
    /* No limit, a small one, or one that may exceed what is in range (the
     * scan then reaches ahead along higher levels). */
    q->limit = tu_below(&w->rng, 2) ? 0 : 1 + tu_below(&w->rng, tu_below(&w->rng, 4) ? 20 : 400);
    q->keys_only = tu_below(&w->rng, 5) == 0;
    q->max_bytes = tu_below(&w->rng, 10) == 0 ? 1 + tu_below(&w->rng, 3000) : 0;
}

static void compare_rows(world_t *w, const store_range_t *q, const store_rows_t *rows, const size_t *idx, size_t want)
{
    EXPECT(w, rows->count <= want && (rows->count == want || q->max_bytes), "%zu rows, want %zu", rows->count, want);
    EXPECT(w, rows->truncated == (rows->count < want), "truncated %d with %zu of %zu rows", rows->truncated,
           rows->count, want);
    EXPECT(w, want == 0 || rows->count > 0, "no rows of %zu", want);
    EXPECT(w, !q->max_bytes || rows->count <= 1 || rows->buf.len <= q->max_bytes, "%zu bytes over a budget of %zu",
           rows->buf.len, q->max_bytes);
    size_t pos = 0;
    store_row_t r;
    for (size_t i = 0; i < rows->count; i++) {
        const tu_ent_t *e = &w->m.e[idx[i]];
        EXPECT(w, store_rows_next(rows, &pos, &r), "row %zu missing", i);
        EXPECT(w, tu_key_cmp(r.key, r.klen, e->key, e->klen) == 0, "row %zu: wrong key (%zu bytes)", i, r.klen);
        EXPECT(w, r.version == e->version && r.expiry_ms == e->expiry, "row %zu: version/expiry", i);
        if (q->keys_only)
            EXPECT(w, r.val == NULL && r.vlen == 0, "row %zu: a value in a keys-only range", i);
        else
            EXPECT(w, r.vlen == e->vlen && (!r.vlen || memcmp(r.val, e->val, r.vlen) == 0), "row %zu: value", i);
    }
    EXPECT(w, !store_rows_next(rows, &pos, &r), "more than %zu rows", rows->count);
}

static void op_range(world_t *w)
{
    w->op = "range";
    store_range_t q;
    random_query(w, &q);
    size_t *idx = malloc((w->m.n + 1) * sizeof(size_t));
    TU_ASSERT(idx != NULL, "%s", "out of memory");
    size_t want = tu_model_range(&w->m, &q, now(), idx);
    store_rows_t rows = {0};
    store_err_t err = store_range(w->st, &q, &rows);
    EXPECT(w, err == STORE_OK, "%s", store_strerror(err));
    compare_rows(w, &q, &rows, idx, want);
    store_rows_free(&rows);
    free(idx);
}

static void op_count(world_t *w)
{
    w->op = "range_count";
    store_range_t q;
    random_query(w, &q);
    size_t *idx = malloc((w->m.n + 1) * sizeof(size_t));
    TU_ASSERT(idx != NULL, "%s", "out of memory");
    size_t want = tu_model_range(&w->m, &q, now(), idx);
    uint64_t count = 0;
    store_err_t err = store_range_count(w->st, &q, &count);
    EXPECT(w, err == STORE_OK && count == want, "%s, %llu, want %zu", store_strerror(err), (unsigned long long)count,
           want);
    free(idx);
}

/* ---- transactions, the step loop ------------------------------------------------- */

static void verify(world_t *w, bool deep)
{
    char why[256];
    uint64_t lsn = store_last_lsn(w->st);
    EXPECT(w, lsn == w->v.lsn, "last LSN %llu, model %llu", (unsigned long long)lsn, (unsigned long long)w->v.lsn);
    bool ok = deep ? tu_model_matches(&w->m, w->st, now(), why, sizeof(why))
                   : tu_model_scan_matches(&w->m, w->st, now(), why, sizeof(why));
    EXPECT(w, ok, "%s", why);
}

static void op_txn(world_t *w)
{
    static void (*const ops[])(world_t *) = {op_put, op_put, op_put, op_delete, op_expire, op_get, op_range,
                                             op_count};
    w->op = "write_lock";
    store_err_t err = store_write_lock(w->st);
    EXPECT(w, err == STORE_OK, "%s", store_strerror(err));
    tu_model_t saved;
    tu_model_copy(&saved, &w->m);
    uint64_t saved_lsn = w->v.lsn;
    w->v.locked = true;
    w->v.sec = 0;
    for (uint64_t i = 0, n = 1 + tu_below(&w->rng, 10); i < n; i++) {
        ops[tu_below(&w->rng, sizeof(ops) / sizeof(ops[0]))](w);
        if (i % 4 == 3)
            verify(w, false); /* the section sees its own changes */
    }
    w->v.locked = false;
    if (tu_below(&w->rng, 10) < 3) {
        w->op = "write_abort";
        store_write_abort(w->st);
        tu_model_free(&w->m);
        w->m = saved;
        w->v.lsn = saved_lsn;
    } else {
        w->op = "write_unlock";
        store_write_unlock(w->st);
        tu_model_free(&saved);
    }
}

static void op_clock(world_t *w)
{
    w->op = "clock";
    tu_fake_now += tu_below(&w->rng, 25);
}

static void one_step(world_t *w)
{
    uint64_t p = tu_below(&w->rng, 1000);
    if (p < 300)
        op_put(w);
    else if (p < 440)
        op_delete(w);
    else if (p < 600)
        op_get(w);
    else if (p < 680)
        op_expire(w);
    else if (p < 730)
        op_clock(w);
    else if (p < 880)
        op_range(w);
    else if (p < 940)
        op_count(w);
    else if (p < 999)
        op_txn(w);
    else if (tu_below(&w->rng, 3) == 0)
        op_clear(w);
}

static void world_init(world_t *w, uint64_t seed, tu_region_t *r)
{
    memset(w, 0, sizeof(*w));
    w->seed = seed;
    w->rng.s = seed;
    w->st = tu_ck_create(r, "model", 256 * MiB, MAX_VALUE);
    store_set_clock(w->st, tu_fake_clock);
    tu_fake_now = 1700000000000ull;
    w->val = malloc(MAX_VALUE);
    ck_assert_ptr_nonnull(w->val);
    for (int i = 0; i < POOL; i++)
        random_key_into(&w->rng, w->pool[i], &w->pool_len[i]);
    w->op = "start";
}

static const uint64_t seeds[] = {1, 0x5eed, 20240601, 0xdeadbeefcafe};

START_TEST(random_ops_match_model)
{
    world_t *w = malloc(sizeof(*w));
    ck_assert_ptr_nonnull(w);
    tu_region_t r;
    uint64_t seed = tu_seed("FICKLE_MODEL_SEED", seeds[_i]);
    int steps = (int)tu_seed("FICKLE_MODEL_STEPS", 6000);
    world_init(w, seed, &r);
    fprintf(stderr, "model test: seed %llu, %d steps\n", (unsigned long long)seed, steps);
    for (w->step = 0; w->step < steps; w->step++) {
        one_step(w);
        verify(w, w->step % 100 == 99);
        if (w->step % 1000 == 999) {
            char report[256];
            store_err_t err = store_check(w->st, report, sizeof(report));
            EXPECT(w, err == STORE_OK, "store_check: %s", report);
        }
    }
    w->op = "end";
    verify(w, true);
    /* Something of everything happened. */
    store_stats_t s;
    ck_assert_int_eq(store_stats(w->st, &s), STORE_OK);
    EXPECT(w, s.last_lsn > (uint64_t)steps / 4, "only %llu writes", (unsigned long long)s.last_lsn);
    fprintf(stderr, "model test: seed %llu: %zu items at the end, last LSN %llu, %llu bytes in use\n",
            (unsigned long long)seed, w->m.n, (unsigned long long)s.last_lsn, (unsigned long long)s.bytes_requested);
    tu_model_free(&w->m);
    free(w->val);
    free(w);
    tu_ck_destroy(&r);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("store-model");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, random_ops_match_model, 0, (int)(sizeof(seeds) / sizeof(seeds[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(model_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
