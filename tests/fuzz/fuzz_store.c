/*
 * fuzz_store.c — libFuzzer target for the store (store/store.h): the input
 * is a program of store operations — put with flags, expiry, CAS and
 * replayed versions, delete, expire, clear, get, range and range_count,
 * critical sections (write_lock, operations, then unlock or abort) and
 * steps of a fake clock — run on a fresh small region (4 MiB, so that
 * STORE_NOMEM is reached) and on the sorted-array reference model of
 * tests/store_testutil.h. The region has a change ring, drained after
 * every step as the persister would, each record decoded. After every step the store must match the model
 * (results and metadata of every operation, last LSN, item count; every 8
 * steps and at the end also every key and a full scan, and store_check()).
 * `make fuzz` builds and runs it; `make check` replays its corpus and
 * regressions (docs/testing.md).
 *
 * Encoding: one byte picks the operation (below), the next bytes its
 * arguments; a program that runs out of bytes reads zeros.
 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "store/record.h"
#include "store/store.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/store_testutil.h"

#define REGION (4ull << 20)
#define MAX_VALUE (256u << 10)
#define MAX_KEY 16
#define MAX_STEPS 400
#define START_MS 1700000000000ull

typedef struct {
    const uint8_t *p;
    size_t n;
    store_t *st;
    tu_model_t m;
    tu_lsn_t v;            /* expected LSNs */
    tu_model_t saved;      /* the model when the section began */
    uint64_t saved_lsn;
    uint64_t ring_lsn;     /* LSN of the last record drained from the ring */
    bool replayed;         /* a put stamped its own version (LSNs may repeat) */
    uint64_t puts;         /* puts so far: stamped into values */
    char key[MAX_KEY], key2[MAX_KEY];
    size_t klen, klen2;
    char *val;
} fz_world_t;

/* A result other than the model's: says which, then fails. */
#define EXPECT_ERR(what, err, want)                                                                        \
    do {                                                                                                    \
        if ((err) != (want)) {                                                                              \
            fprintf(stderr, "fuzz_store: %s: %s, want %s (%s)\n", what, store_strerror(err), store_strerror(want), \
                    store_error_detail());                                                                  \
            abort();                                                                                        \
        }                                                                                                   \
    } while (0)

static uint8_t next(fz_world_t *w)
{
    if (w->n == 0)
        return 0;
    w->n--;
    return *w->p++;
}

static uint64_t now(void)
{
    return tu_fake_now;
}

/* Mostly one of a few keys that collide and sort around each other,
 * sometimes up to 7 bytes from the input. */
static void pick_key(fz_world_t *w, char *out, size_t *len)
{
    static const struct {
        const char *s;
        size_t n;
    } pool[] = {{"", 0}, {"a", 1}, {"b", 1}, {"ab", 2}, {"\0", 1}, {"\xff\xff", 2}, {"abc", 3}, {"ba", 2}};
    uint8_t k = next(w);
    if (k < 0xf0) {
        *len = pool[k % 8].n;
        memcpy(out, pool[k % 8].s, *len);
        return;
    }
    *len = k & 7;
    for (size_t i = 0; i < *len; i++)
        out[i] = (char)next(w);
}

/* Small values (around the in-place limit) or page-sized ones that fill
 * the region in a few puts; 0xff asks for one byte over the limit. */
static size_t pick_vlen(fz_world_t *w)
{
    uint8_t v = next(w);
    if (v < 0xc0)
        return v;
    if (v == 0xff)
        return MAX_VALUE + 1;
    return (size_t)(v - 0xc0 + 1) * 4096u;
}

static uint64_t pick_expiry(fz_world_t *w)
{
    uint8_t e = next(w);
    switch (e % 8) {
    case 4: return now() - 1; /* already past */
    case 5: return now() + 1 + next(w);
    case 6: return now() + 1;
    case 7: return now() + 1000000;
    default: return 0;
    }
}

/* A section that outgrew the undo journal or the change ring: the
 * operation changed nothing, the section goes on (store.h). */
static bool section_full(const fz_world_t *w, store_err_t err)
{
    if (err != STORE_TXN_TOO_BIG)
        return false;
    FZ_CHECK(w->v.locked);
    return true;
}

/* ---- writes ------------------------------------------------------------------------ */

static void op_put(fz_world_t *w)
{
    pick_key(w, w->key, &w->klen);
    size_t vlen = pick_vlen(w);
    uint8_t fill = next(w), f = next(w);
    /* Cheap to make, yet no two puts of a program write the same value. */
    uint64_t serial = ++w->puts;
    if (vlen <= MAX_VALUE)
        memset(w->val, fill, vlen);
    if (vlen >= 2 * sizeof(serial) && vlen <= MAX_VALUE) {
        memcpy(w->val, &serial, sizeof(serial));
        memcpy(w->val + vlen - sizeof(serial), &serial, sizeof(serial));
    }
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_put_opts_t o = {.flags = f & 0xf};
    o.expiry_ms = pick_expiry(w);
    if (o.flags & STORE_PUT_CAS) {
        uint8_t c = next(w);
        o.cas_version = e && (c & 0x80) ? e->version : c & 0x7f;
    }
    if (f & 0x10) { /* a replayed version, possibly not above the last */
        o.version = w->v.lsn + ((f >> 5) & 3);
        w->replayed |= o.version != 0;
    }
    store_err_t want = vlen > MAX_VALUE ? STORE_TOO_BIG : tu_put_expect(e, live, &o);
    store_meta_t meta;
    store_err_t err = w->v.locked ? store_put_locked(w->st, w->key, w->klen, w->val, vlen, &o, &meta)
                                : store_put(w->st, w->key, w->klen, w->val, vlen, &o, &meta);
    if (section_full(w, err))
        return;
    if (err == STORE_NOMEM) {
        /* Only for a put that would succeed, and not in an empty region. */
        FZ_CHECK(want == STORE_OK);
        FZ_CHECK(w->v.locked || store_count(w->st) > 0);
        return;
    }
    EXPECT_ERR("put", err, want);
    if (err != STORE_OK)
        return;
    FZ_CHECK(tu_model_put_done(&w->m, &w->v, e, live, w->key, w->klen, w->val, vlen, &o, &meta));
}

static void op_delete(fz_world_t *w)
{
    pick_key(w, w->key, &w->klen);
    bool found;
    size_t idx;
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, &found, &idx);
    store_err_t want = found && tu_model_live(e, now()) ? STORE_OK : STORE_NOT_FOUND;
    store_err_t err = w->v.locked ? store_delete_locked(w->st, w->key, w->klen) : store_delete(w->st, w->key, w->klen);
    if (section_full(w, err))
        return;
    EXPECT_ERR("delete", err, want);
    if (found) { /* an expired item is removed all the same: a change */
        tu_model_del_at(&w->m, idx);
        tu_lsn_took(&w->v, tu_lsn_next(&w->v));
    }
}

static void op_expire(fz_world_t *w)
{
    pick_key(w, w->key, &w->klen);
    uint64_t exp = pick_expiry(w);
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_err_t err = w->v.locked ? store_expire_locked(w->st, w->key, w->klen, exp)
                                : store_expire(w->st, w->key, w->klen, exp);
    if (section_full(w, err))
        return;
    if (err == STORE_NOMEM) {
        /* Adding or removing an expiry changes the item's layout: the
         * item is rewritten, which needs room (store.h). */
        FZ_CHECK(live && (e->expiry == 0) != (exp == 0));
        return;
    }
    EXPECT_ERR("expire", err, live ? STORE_OK : STORE_NOT_FOUND);
    if (live && !(e->expiry == 0 && exp == 0)) {
        e->expiry = exp;
        e->version = tu_lsn_next(&w->v);
        tu_lsn_took(&w->v, e->version);
    }
}

static void op_clear(fz_world_t *w)
{
    if (w->v.locked)
        return; /* store_clear takes the mutex itself */
    FZ_CHECK(store_clear(w->st) == STORE_OK);
    tu_model_free(&w->m);
    w->v.lsn++;
}

/* ---- critical sections ---------------------------------------------------------------- */

static void op_lock(fz_world_t *w)
{
    if (w->v.locked)
        return;
    FZ_CHECK(store_write_lock(w->st) == STORE_OK);
    tu_model_copy(&w->saved, &w->m);
    w->saved_lsn = w->v.lsn;
    w->v.locked = true;
    w->v.sec = 0;
}

static void op_end(fz_world_t *w, bool commit)
{
    if (!w->v.locked)
        return;
    w->v.locked = false;
    if (commit) {
        store_write_unlock(w->st);
        tu_model_free(&w->saved);
    } else {
        store_write_abort(w->st);
        tu_model_free(&w->m);
        w->m = w->saved;
        w->v.lsn = w->saved_lsn;
    }
    w->saved = (tu_model_t){0};
}

/* ---- reads ----------------------------------------------------------------------------- */

static void op_get(fz_world_t *w)
{
    pick_key(w, w->key, &w->klen);
    tu_ent_t *e = tu_model_entry(&w->m, w->key, w->klen, NULL, NULL);
    bool live = e && tu_model_live(e, now());
    store_buf_t b = {0};
    store_meta_t meta;
    store_err_t err = w->v.locked ? store_get_locked(w->st, w->key, w->klen, &b, &meta)
                                : store_get(w->st, w->key, w->klen, &b, &meta);
    EXPECT_ERR("get", err, live ? STORE_OK : STORE_NOT_FOUND);
    if (live)
        FZ_CHECK(meta.version == e->version && meta.expiry_ms == e->expiry && b.len == e->vlen &&
                 (!b.len || memcmp(b.data, e->val, b.len) == 0));
    store_buf_free(&b);
    if (!w->v.locked)
        FZ_CHECK(store_exists(w->st, w->key, w->klen) == err);
}

static void pick_bound(fz_world_t *w, uint8_t kind, store_bound_t *b, char *buf, size_t *len)
{
    b->kind = kind % 3 == 0 ? STORE_BOUND_NONE : kind % 3 == 1 ? STORE_BOUND_INCL : STORE_BOUND_EXCL;
    *len = 0;
    if (b->kind != STORE_BOUND_NONE)
        pick_key(w, buf, len);
    b->key = b->kind == STORE_BOUND_NONE ? NULL : buf;
    b->len = *len;
}

static void op_range(fz_world_t *w)
{
    uint8_t shape = next(w), limit = next(w);
    store_range_t q = {.reverse = shape & 0x10, .keys_only = shape & 0x20, .limit = limit & 0x0f};
    pick_bound(w, shape & 3, &q.lo, w->key, &w->klen);
    pick_bound(w, (shape >> 2) & 3, &q.hi, w->key2, &w->klen2);
    if (shape & 0x40)
        q.max_bytes = 1 + (size_t)next(w) * 64;
    size_t *idx = malloc((w->m.n + 1) * sizeof(size_t));
    FZ_CHECK(idx != NULL);
    size_t want = tu_model_range(&w->m, &q, now(), idx);
    if (shape & 0x80) {
        uint64_t count = 0;
        FZ_CHECK(store_range_count(w->st, &q, &count) == STORE_OK && count == want);
        free(idx);
        return;
    }
    store_rows_t rows = {0};
    FZ_CHECK(store_range(w->st, &q, &rows) == STORE_OK);
    FZ_CHECK(rows.count == want || (q.max_bytes && rows.count < want && rows.count > 0));
    FZ_CHECK(rows.truncated == (rows.count < want));
    size_t pos = 0;
    store_row_t r;
    for (size_t i = 0; i < rows.count; i++) {
        const tu_ent_t *e = &w->m.e[idx[i]];
        FZ_CHECK(store_rows_next(&rows, &pos, &r));
        FZ_CHECK(tu_key_cmp(r.key, r.klen, e->key, e->klen) == 0);
        FZ_CHECK(r.version == e->version && r.expiry_ms == e->expiry);
        if (q.keys_only)
            FZ_CHECK(r.val == NULL && r.vlen == 0);
        else
            FZ_CHECK(r.vlen == e->vlen && (!r.vlen || memcmp(r.val, e->val, r.vlen) == 0));
    }
    FZ_CHECK(!store_rows_next(&rows, &pos, &r));
    store_rows_free(&rows);
    free(idx);
}

static void op_clock(fz_world_t *w)
{
    uint8_t c = next(w);
    tu_fake_now += c < 200 ? c : (uint64_t)(c - 200) * 1000;
}

/* ---- the program ------------------------------------------------------------------------- */

/* Plays the persister: takes every committed record out of the change
 * ring. Each must decode (CRC, framing, fields), and LSNs must grow
 * (unless puts stamped their own versions). */
static void drain_ring(fz_world_t *w)
{
    const uint8_t *data;
    uint64_t pos;
    size_t n;
    while ((n = store_ring_peek(w->st, &pos, &data)) > 0) {
        size_t off = 0;
        while (off + 4 <= n && rd_u32(data + off) != 0) {
            record_t rec;
            size_t used = 0;
            const char *detail = NULL;
            record_err_t e = record_decode(data + off, n - off, &rec, &used, &detail);
            if (e != RECORD_OK)
                fprintf(stderr, "fuzz_store: ring record at %llu: %s (%s)\n", (unsigned long long)(pos + off),
                        record_strerror(e), detail ? detail : "");
            FZ_CHECK(e == RECORD_OK);
            FZ_CHECK(w->replayed || rec.lsn > w->ring_lsn);
            FZ_CHECK(rec.lsn <= store_last_lsn(w->st));
            w->ring_lsn = rec.lsn;
            off += (used + 7) & ~(size_t)7;
        }
        FZ_CHECK(off > 0 && off <= n);
        store_ring_release(w->st, pos + off);
    }
}

/* Every step: the last LSN and the item count. deep: the whole store
 * against the model (every key by get outside a critical section, a full
 * scan inside one) and store_check() (outside: it takes the mutex). The
 * operations themselves check their results against the model. */
static void verify(fz_world_t *w, bool deep)
{
    char why[256];
    FZ_CHECK(store_last_lsn(w->st) == w->v.lsn);
    FZ_CHECK(store_count(w->st) == w->m.n);
    drain_ring(w);
    if (!deep)
        return;
    bool ok = w->v.locked ? tu_model_scan_matches(&w->m, w->st, now(), why, sizeof(why))
                        : tu_model_matches(&w->m, w->st, now(), why, sizeof(why));
    if (!ok)
        fprintf(stderr, "fuzz_store: the store differs from the model: %s\n", why);
    FZ_CHECK(ok);
    if (!w->v.locked) {
        store_err_t err = store_check(w->st, why, sizeof(why));
        if (err != STORE_OK)
            fprintf(stderr, "fuzz_store: store_check: %s\n", why);
        FZ_CHECK(err == STORE_OK);
    }
}

static void step(fz_world_t *w)
{
    switch (next(w) % 16) {
    case 0: case 1: case 2: case 3: op_put(w); break;
    case 4: case 5: op_delete(w); break;
    case 6: op_expire(w); break;
    case 7: op_clear(w); break;
    case 8: op_lock(w); break;
    case 9: op_end(w, true); break;
    case 10: op_end(w, false); break;
    case 11: case 12: op_range(w); break;
    case 13: op_clock(w); break;
    default: op_get(w); break;
    }
}

static void quiet(int level, const char *msg)
{
    (void)level;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_world_t w;
    static char path[128];
    if (!w.val) {
        w.val = malloc(MAX_VALUE + 1);
        FZ_CHECK(w.val != NULL);
        store_set_logger(quiet);
    }
    tu_path(path, sizeof(path), "fuzz");
    store_options_t opt = {.size = REGION, .max_value_size = MAX_VALUE, .ring_size = store_ring_min(MAX_VALUE)};
    store_err_t err = store_create(path, &opt, &w.st);
    if (err != STORE_OK)
        fprintf(stderr, "fuzz_store: store_create %s: %s\n", path, store_error_detail());
    FZ_CHECK(err == STORE_OK);
    store_unlink(path); /* the mapping stays; nothing is left behind on a crash */
    store_set_clock(w.st, tu_fake_clock);
    store_set_ring_wait(w.st, 0); /* drained after every step: never full */
    tu_fake_now = START_MS;
    w.p = data;
    w.n = size;
    w.v = (tu_lsn_t){0};
    w.ring_lsn = 0;
    w.replayed = false;
    w.puts = 0;
    for (int i = 0; i < MAX_STEPS && w.n > 0; i++) {
        step(&w);
        verify(&w, i % 8 == 7);
    }
    op_end(&w, false);
    verify(&w, true);
    store_close(w.st);
    tu_model_free(&w.m);
    return 0;
}
