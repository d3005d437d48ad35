/*
 * test_store_write.c — unit tests of the store's write semantics: put
 * flags (NX, XX, CAS, KEEP_EXPIRY), versions as increasing LSNs, expiry
 * under a fake clock, store_expire, critical sections (store_write_lock,
 * *_locked operations, commit, abort, savepoints) and store_clear.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/replay.h"
#include "tests/store_testutil.h"

#define MiB (1ull << 20)

static tu_region_t reg;
static store_t *st;

static void setup(void)
{
    st = tu_ck_create(&reg, "write", 32 * MiB, 4 * MiB);
    tu_fake_now = 1700000000000ull;
    store_set_clock(st, tu_fake_clock);
}

static void teardown(void)
{
    tu_ck_destroy(&reg);
}

static store_err_t put_s(const char *k, const char *v, uint32_t flags, uint64_t expiry, uint64_t cas,
                         store_meta_t *meta)
{
    store_put_opts_t o = {.flags = flags, .expiry_ms = expiry, .cas_version = cas};
    return store_put(st, k, strlen(k), v, strlen(v), &o, meta);
}

/* Asserts key's value, and returns its metadata. */
static store_meta_t expect_s(const char *k, const char *v)
{
    store_buf_t b = {0};
    store_meta_t m;
    store_err_t err = store_get(st, k, strlen(k), &b, &m);
    ck_assert_msg(err == STORE_OK, "get %s: %s", k, store_strerror(err));
    ck_assert_msg(b.len == strlen(v) && memcmp(b.data, v, b.len) == 0, "%s = '%.*s', want '%s'", k, (int)b.len,
                  b.data, v);
    ck_assert_uint_eq(m.vlen, b.len);
    store_buf_free(&b);
    return m;
}

static void expect_absent(const char *k)
{
    ck_assert_msg(store_get(st, k, strlen(k), NULL, NULL) == STORE_NOT_FOUND, "%s should be absent", k);
    ck_assert_int_eq(store_exists(st, k, strlen(k)), STORE_NOT_FOUND);
}

/* ---- put flags and versions -------------------------------------------------- */

START_TEST(versions_are_lsns)
{
    store_meta_t m;
    ck_assert_uint_eq(store_last_lsn(st), 0);
    ck_assert_int_eq(put_s("a", "1", 0, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.version, 1);
    ck_assert_int_eq(put_s("b", "2", 0, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.version, 2);
    ck_assert_int_eq(put_s("a", "3", 0, 0, 0, &m), STORE_OK); /* in place */
    ck_assert_uint_eq(m.version, 3);
    ck_assert_uint_eq(expect_s("a", "3").version, 3);
    ck_assert_uint_eq(expect_s("b", "2").version, 2);
    ck_assert_int_eq(store_delete(st, "b", 1), STORE_OK);
    ck_assert_uint_eq(store_last_lsn(st), 4);
    /* Misses and refusals consume no LSN. */
    ck_assert_int_eq(store_delete(st, "b", 1), STORE_NOT_FOUND);
    ck_assert_int_eq(put_s("a", "x", STORE_PUT_NX, 0, 0, NULL), STORE_EXISTS);
    ck_assert_int_eq(store_expire(st, "zz", 2, 5), STORE_NOT_FOUND);
    ck_assert_uint_eq(store_last_lsn(st), 4);
    ck_assert_int_eq(store_expire(st, "a", 1, tu_fake_now + 1000), STORE_OK);
    ck_assert_uint_eq(expect_s("a", "3").version, 5);
    /* An explicit version (log replay) is stamped and moves the LSN up. */
    store_put_opts_t o = {.version = 100};
    ck_assert_int_eq(store_put(st, "r", 1, "v", 1, &o, &m), STORE_OK);
    ck_assert_uint_eq(m.version, 100);
    ck_assert_uint_eq(store_last_lsn(st), 100);
    ck_assert_int_eq(put_s("s", "v", 0, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.version, 101);
    store_stats_t s;
    ck_assert_int_eq(store_stats(st, &s), STORE_OK);
    ck_assert_uint_eq(s.last_lsn, 101);
}
END_TEST

START_TEST(put_nx_xx)
{
    store_meta_t m;
    ck_assert_int_eq(put_s("k", "v1", STORE_PUT_XX, 0, 0, NULL), STORE_NOT_FOUND);
    expect_absent("k");
    ck_assert_int_eq(put_s("k", "v1", STORE_PUT_NX, 0, 0, &m), STORE_OK);
    ck_assert_int_eq(put_s("k", "v2", STORE_PUT_NX, 0, 0, NULL), STORE_EXISTS);
    ck_assert_uint_eq(expect_s("k", "v1").version, m.version);
    ck_assert_int_eq(put_s("k", "v3", STORE_PUT_XX, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(expect_s("k", "v3").version, m.version);
    ck_assert_uint_eq(store_count(st), 1);
    /* An expired key counts as absent for NX and XX. */
    ck_assert_int_eq(put_s("e", "old", 0, tu_fake_now + 5, 0, NULL), STORE_OK);
    tu_fake_now += 5;
    ck_assert_int_eq(put_s("e", "x", STORE_PUT_XX, 0, 0, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(put_s("e", "new", STORE_PUT_NX, 0, 0, NULL), STORE_OK);
    ck_assert_uint_eq(expect_s("e", "new").expiry_ms, 0);
    ck_assert_uint_eq(store_count(st), 2);
}
END_TEST

START_TEST(put_cas)
{
    store_meta_t m, m2;
    ck_assert_int_eq(put_s("c", "1", STORE_PUT_CAS, 0, 0, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(put_s("c", "1", 0, 0, 0, &m), STORE_OK);
    ck_assert_int_eq(put_s("c", "2", STORE_PUT_CAS, 0, m.version + 1, NULL), STORE_CAS_MISMATCH);
    ck_assert_int_eq(put_s("c", "2", STORE_PUT_CAS, 0, m.version - 1, NULL), STORE_CAS_MISMATCH);
    expect_s("c", "1");
    ck_assert_int_eq(put_s("c", "2", STORE_PUT_CAS, 0, m.version, &m2), STORE_OK);
    ck_assert_uint_gt(m2.version, m.version);
    /* The old version no longer matches. */
    ck_assert_int_eq(put_s("c", "3", STORE_PUT_CAS, 0, m.version, NULL), STORE_CAS_MISMATCH);
    /* CAS with NX can never succeed on a live key; with XX it behaves as CAS. */
    ck_assert_int_eq(put_s("c", "3", STORE_PUT_CAS | STORE_PUT_NX, 0, m2.version, NULL), STORE_EXISTS);
    ck_assert_int_eq(put_s("c", "3", STORE_PUT_CAS | STORE_PUT_XX, 0, m2.version, NULL), STORE_OK);
    expect_s("c", "3");
    /* CAS on an expired key: not found. */
    ck_assert_int_eq(put_s("x", "1", 0, tu_fake_now + 1, 0, &m), STORE_OK);
    tu_fake_now += 1;
    ck_assert_int_eq(put_s("x", "2", STORE_PUT_CAS, 0, m.version, NULL), STORE_NOT_FOUND);
}
END_TEST

START_TEST(put_keep_expiry)
{
    uint64_t e = tu_fake_now + 60000;
    store_meta_t m;
    ck_assert_int_eq(put_s("k", "v1", 0, e, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, e);
    ck_assert_uint_eq(expect_s("k", "v1").expiry_ms, e);
    /* KEEP_EXPIRY ignores the given expiry and keeps the old one. */
    ck_assert_int_eq(put_s("k", "v2", STORE_PUT_KEEP_EXPIRY, e + 5, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, e);
    ck_assert_uint_eq(expect_s("k", "v2").expiry_ms, e);
    /* A larger value (a new item, not in place) keeps it as well. */
    static char big[5000];
    memset(big, 'b', sizeof(big) - 1);
    ck_assert_int_eq(put_s("k", big, STORE_PUT_KEEP_EXPIRY, 0, 0, NULL), STORE_OK);
    ck_assert_uint_eq(expect_s("k", big).expiry_ms, e);
    /* A plain put clears it. */
    ck_assert_int_eq(put_s("k", "v3", 0, 0, 0, NULL), STORE_OK);
    ck_assert_uint_eq(expect_s("k", "v3").expiry_ms, 0);
    /* On a new or expired key there is nothing to keep. */
    ck_assert_int_eq(put_s("n", "v", STORE_PUT_KEEP_EXPIRY, e, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, 0);
    ck_assert_int_eq(put_s("x", "v", 0, tu_fake_now + 1, 0, NULL), STORE_OK);
    tu_fake_now += 1;
    ck_assert_int_eq(put_s("x", "w", STORE_PUT_KEEP_EXPIRY, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, 0);
    expect_s("x", "w");
}
END_TEST

/* ---- expiry ------------------------------------------------------------------------ */

static uint64_t live_count(bool reverse)
{
    store_range_t q = {.reverse = reverse, .keys_only = reverse};
    store_rows_t rows = {0};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    uint64_t n = rows.count, count;
    store_rows_free(&rows);
    ck_assert_int_eq(store_range_count(st, &q, &count), STORE_OK);
    ck_assert_uint_eq(count, n);
    return n;
}

static void put_sized(const char *k, size_t vlen, uint64_t expiry)
{
    char *v = malloc(vlen);
    ck_assert_ptr_nonnull(v);
    tu_val_make(v, vlen, k, strlen(k), vlen);
    store_put_opts_t o = {.expiry_ms = expiry};
    TU_ASSERT(store_put(st, k, strlen(k), v, vlen, &o, NULL) == STORE_OK, "put %s", k);
    free(v);
}

static store_meta_t expect_sized(const char *k, size_t vlen)
{
    store_buf_t b = {0};
    store_meta_t m;
    TU_ASSERT(store_get(st, k, strlen(k), &b, &m) == STORE_OK, "get %s", k);
    uint64_t tag;
    const char *bad = tu_val_verify(b.data, b.len, k, strlen(k), &tag);
    TU_ASSERT(bad == NULL && b.len == vlen && tag == vlen, "%s: %s", k, bad ? bad : "wrong value");
    store_buf_free(&b);
    return m;
}

START_TEST(expiry_hides_keys)
{
    uint64_t t0 = tu_fake_now;
    put_sized("a", 50, 0);
    put_sized("b", 50, t0 + 100);
    put_sized("c", 50, t0 + 200);
    put_sized("d", 5000, t0 + 100);
    put_sized("e", 300000, t0 + 100);
    ck_assert_uint_eq(live_count(false), 5);
    tu_fake_now = t0 + 99;
    ck_assert_uint_eq(live_count(true), 5);
    ck_assert_uint_eq(expect_sized("e", 300000).expiry_ms, t0 + 100);
    tu_fake_now = t0 + 100; /* expiry <= now: expired */
    const char *gone[] = {"b", "d", "e"};
    for (int i = 0; i < 3; i++)
        expect_absent(gone[i]);
    ck_assert_uint_eq(live_count(false), 2);
    ck_assert_uint_eq(live_count(true), 2);
    store_range_t q = {.lo = {STORE_BOUND_INCL, "b", 1}, .hi = {STORE_BOUND_INCL, "e", 1}};
    uint64_t n;
    ck_assert_int_eq(store_range_count(st, &q, &n), STORE_OK);
    ck_assert_uint_eq(n, 1); /* only c */
    /* Expired items stay counted until removed. */
    ck_assert_uint_eq(store_count(st), 5);
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_get_locked(st, "b", 1, NULL, NULL), STORE_NOT_FOUND);
    store_write_unlock(st);
    /* Deleting an expired key removes it but reports it absent. */
    ck_assert_int_eq(store_delete(st, "b", 1), STORE_NOT_FOUND);
    ck_assert_uint_eq(store_count(st), 4);
    ck_assert_int_eq(store_delete(st, "b", 1), STORE_NOT_FOUND);
    tu_fake_now = t0 + 1000;
    expect_absent("c");
    ck_assert_uint_eq(live_count(false), 1);
    /* Going back in time revives what is still stored. */
    tu_fake_now = t0;
    expect_sized("e", 300000);
    ck_assert_uint_eq(live_count(false), 4);
    store_reader_stats_t rs;
    store_reader_stats(st, &rs);
    ck_assert_uint_gt(rs.reads, 20);
}
END_TEST

START_TEST(expire_keeps_values)
{
    static const size_t sizes[] = {30, 300, 5000, 200000};
    char k[16];
    for (size_t i = 0; i < 4; i++) {
        snprintf(k, sizeof(k), "k%zu", i);
        put_sized(k, sizes[i], 0);
        uint64_t v0 = expect_sized(k, sizes[i]).version;
        ck_assert_int_eq(store_expire(st, k, strlen(k), tu_fake_now + 10), STORE_OK); /* new layout */
        store_meta_t m = expect_sized(k, sizes[i]);
        ck_assert_uint_eq(m.expiry_ms, tu_fake_now + 10);
        ck_assert_uint_gt(m.version, v0);
        ck_assert_int_eq(store_expire(st, k, strlen(k), tu_fake_now + 20), STORE_OK); /* in place */
        store_meta_t m2 = expect_sized(k, sizes[i]);
        ck_assert_uint_eq(m2.expiry_ms, tu_fake_now + 20);
        ck_assert_uint_gt(m2.version, m.version);
        ck_assert_int_eq(store_expire(st, k, strlen(k), 0), STORE_OK); /* cleared */
        m = expect_sized(k, sizes[i]);
        ck_assert_uint_eq(m.expiry_ms, 0);
        uint64_t lsn = store_last_lsn(st);
        ck_assert_int_eq(store_expire(st, k, strlen(k), 0), STORE_OK); /* nothing to clear */
        ck_assert_uint_eq(store_last_lsn(st), lsn);
        tu_ck_check(st);
    }
    ck_assert_int_eq(store_expire(st, "missing", 7, tu_fake_now + 10), STORE_NOT_FOUND);
    /* An expiry in the past hides the key at once; an expired key cannot
     * be given a new expiry. */
    ck_assert_int_eq(store_expire(st, "k0", 2, tu_fake_now - 1), STORE_OK);
    expect_absent("k0");
    ck_assert_int_eq(store_expire(st, "k0", 2, tu_fake_now + 100), STORE_NOT_FOUND);
    expect_absent("k0");
    ck_assert_uint_eq(store_count(st), 4);
}
END_TEST

/* ---- critical sections ------------------------------------------------------------ */

/* The model of whatever the store holds now (no expired items expected). */
static void model_from_store(tu_model_t *m)
{
    store_range_t q = {0};
    store_rows_t rows = {0};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    *m = (tu_model_t){0};
    size_t pos = 0;
    store_row_t r;
    while (store_rows_next(&rows, &pos, &r))
        tu_model_put(m, r.key, r.klen, r.val, r.vlen, r.version, r.expiry_ms);
    store_rows_free(&rows);
    ck_assert_uint_eq(m->n, store_count(st));
}

static void expect_model(const tu_model_t *m)
{
    char why[256];
    ck_assert_msg(tu_model_matches(m, st, tu_fake_now, why, sizeof(why)), "%s", why);
}

static void expect_same_stats(const store_stats_t *a, const store_stats_t *b)
{
    ck_assert_uint_eq(a->items, b->items);
    ck_assert_uint_eq(a->pages_free, b->pages_free);
    ck_assert_uint_eq(a->bytes_requested, b->bytes_requested);
    ck_assert_uint_eq(a->bytes_allocated, b->bytes_allocated);
    ck_assert_uint_eq(a->bytes_free, b->bytes_free);
    ck_assert_uint_eq(a->bytes_hash, b->bytes_hash);
    ck_assert_uint_eq(a->hash_buckets, b->hash_buckets);
    ck_assert_uint_eq(a->rehashing, b->rehashing);
    ck_assert_uint_eq(a->last_lsn, b->last_lsn);
    for (unsigned c = 0; c < a->nclasses; c++)
        ck_assert_msg(a->classes[c].used == b->classes[c].used && a->classes[c].free == b->classes[c].free &&
                          a->classes[c].runs == b->classes[c].runs,
                      "class %u (%u bytes) differs", c, a->classes[c].chunk_size);
}

static size_t base_size(unsigned i)
{
    return i % 100 == 7 ? 200000 : i % 50 == 0 ? 3000 : 40 + i % 160;
}

static void populate_base(unsigned n)
{
    char k[16];
    for (unsigned i = 0; i < n; i++) {
        snprintf(k, sizeof(k), "base%04u", i);
        put_sized(k, base_size(i), i % 3 == 0 ? tu_fake_now + 100000 + i : 0);
    }
}

/* Every kind of change, inside the caller's critical section; checks that
 * the section sees its own changes. */
static void mixed_changes_locked(void)
{
    char k[16], *v = malloc(2 * MiB);
    ck_assert_ptr_nonnull(v);
    for (unsigned i = 0; i < 100; i++) { /* new keys: the hash table grows */
        snprintf(k, sizeof(k), "new%04u", i);
        tu_val_make(v, 64, k, strlen(k), 64);
        ck_assert_int_eq(store_put_locked(st, k, strlen(k), v, 64, NULL, NULL), STORE_OK);
    }
    static const struct {
        unsigned key;
        size_t vlen;
    } rewrites[] = {{1, 41}, {2, 5000}, {7, 100}, {60, 2 * MiB}, {107, 300000}, {8, 48}};
    for (size_t i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
        snprintf(k, sizeof(k), "base%04u", rewrites[i].key);
        tu_val_make(v, rewrites[i].vlen, k, strlen(k), 7);
        ck_assert_int_eq(store_put_locked(st, k, strlen(k), v, rewrites[i].vlen, NULL, NULL), STORE_OK);
    }
    for (unsigned i = 10; i < 1000; i += 20) {
        snprintf(k, sizeof(k), "base%04u", i);
        ck_assert_int_eq(store_delete_locked(st, k, strlen(k)), STORE_OK);
    }
    ck_assert_int_eq(store_delete_locked(st, "base0207", 8), STORE_OK); /* a large one */
    ck_assert_int_eq(store_expire_locked(st, "base0003", 8, tu_fake_now + 5), STORE_OK);
    ck_assert_int_eq(store_expire_locked(st, "base0004", 8, tu_fake_now + 5), STORE_OK);
    ck_assert_int_eq(store_expire_locked(st, "base0006", 8, 0), STORE_OK);
    store_buf_t b = {0};
    ck_assert_int_eq(store_get_locked(st, "base0060", 8, &b, NULL), STORE_OK);
    ck_assert_uint_eq(b.len, 2 * MiB);
    ck_assert_int_eq(store_get_locked(st, "base0010", 8, &b, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(store_get_locked(st, "new0099", 7, &b, NULL), STORE_OK);
    store_buf_free(&b);
    free(v);
}

START_TEST(write_abort_rolls_back)
{
    populate_base(1000);
    tu_model_t before;
    model_from_store(&before);
    store_stats_t s0;
    ck_assert_int_eq(store_stats(st, &s0), STORE_OK);
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    mixed_changes_locked();
    store_stats_t mid;
    ck_assert_int_eq(store_stats(st, &mid), STORE_OK); /* usable inside a section */
    ck_assert(mid.rehashing && mid.hash_buckets == 2048);
    ck_assert_uint_gt(mid.last_lsn, s0.last_lsn);
    tu_ck_check(st);
    store_write_abort(st);
    store_stats_t s1;
    ck_assert_int_eq(store_stats(st, &s1), STORE_OK);
    expect_same_stats(&s0, &s1);
    expect_model(&before);
    tu_ck_check(st);
    /* The same changes commit normally afterwards. */
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    mixed_changes_locked();
    store_write_unlock(st);
    ck_assert_uint_eq(store_count(st), 1000 + 100 - 51);
    expect_sized("new0042", 64);
    ck_assert_int_eq(store_exists(st, "base0010", 8), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists(st, "base0207", 8), STORE_NOT_FOUND);
    tu_model_free(&before);
}
END_TEST

START_TEST(write_lock_commit_and_savepoints)
{
    uint64_t lsn0 = store_last_lsn(st);
    store_meta_t m;
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_write_lock(st), STORE_INVALID); /* not reentrant */
    ck_assert_int_eq(store_put_locked(st, "a", 1, "1", 1, NULL, &m), STORE_OK);
    ck_assert_uint_eq(m.version, lsn0 + 1);
    store_put_opts_t nx = {.flags = STORE_PUT_NX};
    ck_assert_int_eq(store_put_locked(st, "a", 1, "2", 1, &nx, NULL), STORE_EXISTS);
    static char huge[4 * MiB + 1];
    ck_assert_int_eq(store_put_locked(st, "b", 1, huge, sizeof(huge), NULL, NULL), STORE_TOO_BIG);
    ck_assert_int_eq(store_delete_locked(st, "zz", 2), STORE_NOT_FOUND);
    store_put_opts_t cas = {.flags = STORE_PUT_CAS, .cas_version = 12345};
    ck_assert_int_eq(store_put_locked(st, "a", 1, "3", 1, &cas, NULL), STORE_CAS_MISMATCH);
    ck_assert_int_eq(store_put_locked(st, "c", 1, "3", 1, NULL, &m), STORE_OK);
    ck_assert_uint_eq(m.version, lsn0 + 1); /* one section, one LSN */
    store_write_unlock(st);
    /* Failed operations undid only themselves. */
    ck_assert_uint_eq(expect_s("a", "1").version, lsn0 + 1);
    expect_s("c", "3");
    expect_absent("b");
    ck_assert_uint_eq(store_last_lsn(st), lsn0 + 1);
    /* The _locked calls refuse to run outside a critical section. */
    ck_assert_int_eq(store_put_locked(st, "d", 1, "4", 1, NULL, NULL), STORE_INVALID);
    ck_assert(strstr(store_error_detail(), "store_write_lock") != NULL);
    ck_assert_int_eq(store_delete_locked(st, "a", 1), STORE_INVALID);
    ck_assert_int_eq(store_expire_locked(st, "a", 1, 5), STORE_INVALID);
    expect_absent("d");
    expect_s("a", "1");
    tu_ck_check(st);
}
END_TEST

/* Fills one critical section until the undo journal has no room: the
 * operation that would overflow it is refused with nothing changed, the
 * earlier ones stand, and commit (which frees deferred space through the
 * journal) or abort still work. */
static unsigned fill_section(const char *fmt, bool del, unsigned from)
{
    char k[16];
    unsigned n = 0;
    store_err_t err;
    for (;; n++) {
        snprintf(k, sizeof(k), fmt, from + n);
        err = del ? store_delete_locked(st, k, strlen(k)) : store_put_locked(st, k, strlen(k), "v", 1, NULL, NULL);
        if (err != STORE_OK)
            break;
    }
    ck_assert_msg(err == STORE_TXN_TOO_BIG, "after %u operations: %s", n, store_strerror(err));
    ck_assert_msg(strstr(store_error_detail(), "journal") != NULL, "detail: %s", store_error_detail());
    ck_assert_int_eq(store_exists(st, k, strlen(k)), del ? STORE_OK : STORE_NOT_FOUND);
    return n;
}

START_TEST(section_outgrows_journal)
{
    char k[16];
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    unsigned puts = fill_section("j%05u", false, 0);
    ck_assert_uint_gt(puts, 500);
    tu_ck_check(st);
    store_write_unlock(st);
    ck_assert_uint_eq(store_count(st), puts);
    tu_ck_check(st);

    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    unsigned dels = fill_section("j%05u", true, 0);
    ck_assert_uint_gt(dels, 100);
    store_write_unlock(st); /* frees every deferred item */
    ck_assert_uint_eq(store_count(st), puts - dels);
    snprintf(k, sizeof(k), "j%05u", dels - 1);
    expect_absent(k);
    snprintf(k, sizeof(k), "j%05u", dels);
    expect_s(k, "v");
    tu_ck_check(st);

    store_stats_t s0, s1;
    ck_assert_int_eq(store_stats(st, &s0), STORE_OK);
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    fill_section("a%05u", false, 0);
    store_write_abort(st);
    ck_assert_int_eq(store_stats(st, &s1), STORE_OK);
    expect_same_stats(&s0, &s1);
    expect_absent("a00000");
    /* A section fits again at once. */
    ck_assert_int_eq(put_s("after", "x", 0, 0, 0, NULL), STORE_OK);
}
END_TEST

START_TEST(clear_empties_everything)
{
    store_stats_t fresh;
    ck_assert_int_eq(store_stats(st, &fresh), STORE_OK);
    populate_base(3000);
    ck_assert_uint_eq(store_count(st), 3000);
    uint64_t lsn = store_last_lsn(st);
    ck_assert_int_eq(store_clear(st), STORE_OK);
    ck_assert_uint_eq(store_count(st), 0);
    ck_assert_uint_eq(store_last_lsn(st), lsn + 1);
    expect_absent("base0000");
    expect_absent("base0007");
    ck_assert_uint_eq(live_count(false), 0);
    ck_assert_uint_eq(live_count(true), 0);
    store_stats_t s;
    ck_assert_int_eq(store_stats(st, &s), STORE_OK);
    fresh.last_lsn = lsn + 1;
    expect_same_stats(&fresh, &s);
    tu_ck_check(st);
    /* The store goes on as new. */
    store_meta_t m;
    ck_assert_int_eq(put_s("after", "clear", 0, 0, 0, &m), STORE_OK);
    ck_assert_uint_eq(m.version, lsn + 2);
    populate_base(1500);
    expect_sized("base1499", base_size(1499));
    ck_assert_uint_eq(store_count(st), 1501);
}
END_TEST

START_TEST(close_inside_a_section_rolls_back)
{
    ck_assert_int_eq(put_s("kept", "1", 0, 0, 0, NULL), STORE_OK);
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_put_locked(st, "lost", 4, "2", 1, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_delete_locked(st, "kept", 4), STORE_OK);
    store_close(st); /* a caller bug: the section must not survive it */
    ck_assert_int_eq(store_attach(reg.path, &st), STORE_OK);
    reg.st = st;
    store_set_clock(st, tu_fake_clock);
    expect_s("kept", "1");
    expect_absent("lost");
    ck_assert_int_eq(put_s("after", "3", 0, 0, 0, NULL), STORE_OK); /* the mutex is free */
    tu_ck_check(st);
}
END_TEST

/* ---- ascending loads: the append finger and the presized hash table ---------- */

/* One step of append_finger_survives_other_changes: mostly appends after
 * the largest key, mixed with every change that must drop the finger. */
static void finger_step_locked(tu_model_t *m, tu_rng_t *rng, unsigned *next)
{
    char k[24], v[4096];
    store_meta_t meta;
    uint64_t pick = tu_below(rng, 20);
    if (pick == 1 && m->n) { /* delete the last (the finger's tail) or any */
        size_t i = tu_below(rng, 2) ? m->n - 1 : tu_below(rng, m->n);
        ck_assert_int_eq(store_delete_locked(st, m->e[i].key, m->e[i].klen), STORE_OK);
        tu_model_del_at(m, i);
        return;
    }
    if (pick == 2 && m->n) { /* rewrite the last: in place or replaced */
        tu_ent_t *e = &m->e[m->n - 1];
        memcpy(k, e->key, e->klen);
        k[e->klen] = 0;
    } else if (pick == 3) { /* a key before the tail */
        snprintf(k, sizeof(k), "k%06u-", (unsigned)tu_below(rng, *next + 1));
    } else if (pick == 4 && m->n) { /* a put that fails: nothing changes */
        store_put_opts_t nx = {.flags = STORE_PUT_NX};
        ck_assert_int_eq(store_put_locked(st, m->e[0].key, m->e[0].klen, "x", 1, &nx, NULL), STORE_EXISTS);
        return;
    } else {
        snprintf(k, sizeof(k), "k%06u", (*next)++);
    }
    size_t vlen = tu_val_min(strlen(k)) + (pick == 0 ? 3000 : tu_below(rng, 60));
    tu_val_make(v, vlen, k, strlen(k), pick);
    ck_assert_int_eq(store_put_locked(st, k, strlen(k), v, vlen, NULL, &meta), STORE_OK);
    tu_model_put(m, k, strlen(k), v, vlen, meta.version, 0);
}

START_TEST(append_finger_survives_other_changes)
{
    tu_rng_t rng = {tu_seed("FINGER_SEED", 7)};
    tu_model_t m = {0}, saved = {0};
    unsigned next = 0;
    for (unsigned section = 0; section < 120; section++) {
        tu_model_free(&saved);
        tu_model_copy(&saved, &m);
        ck_assert_int_eq(store_write_lock(st), STORE_OK);
        unsigned steps = 1 + (unsigned)tu_below(&rng, 80);
        for (unsigned i = 0; i < steps; i++)
            finger_step_locked(&m, &rng, &next);
        if (tu_below(&rng, 4) == 0) {
            store_write_abort(st);
            tu_model_free(&m);
            tu_model_copy(&m, &saved);
        } else {
            store_write_unlock(st);
        }
        if (section % 10 == 0) {
            expect_model(&m);
            tu_ck_check(st);
        }
    }
    expect_model(&m);
    tu_ck_check(st);
    tu_model_free(&m);
    tu_model_free(&saved);
}
END_TEST

START_TEST(replay_presizes_an_empty_store_only)
{
    store_stats_t s;
    ck_assert_int_eq(store_replay_begin(st, 100000), STORE_OK);
    char k[16];
    for (unsigned i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "p%06u", i);
        record_t rec = {.type = RECORD_PUT,
                        .lsn = i + 1,
                        .op = {.key = k, .klen = (uint32_t)strlen(k), .val = "v", .vlen = 1, .version = i + 1}};
        ck_assert_int_eq(store_replay_apply(st, &rec), STORE_OK);
    }
    ck_assert_int_eq(store_replay_end(st), STORE_OK);
    ck_assert_int_eq(store_stats(st, &s), STORE_OK);
    ck_assert_uint_eq(s.hash_buckets, 131072); /* sized at once: never rehashed */
    ck_assert(!s.rehashing);
    ck_assert_uint_eq(s.items, 5000);
    tu_ck_check(st);
    /* A store that holds items keeps its table. */
    ck_assert_int_eq(store_replay_begin(st, 1u << 20), STORE_OK);
    ck_assert_int_eq(store_replay_end(st), STORE_OK);
    ck_assert_int_eq(store_stats(st, &s), STORE_OK);
    ck_assert_uint_eq(s.hash_buckets, 131072);
    tu_ck_check(st);
}
END_TEST

static Suite *write_suite(void)
{
    Suite *s = suite_create("store-write");
    TCase *tc = tcase_create("write");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, versions_are_lsns);
    tcase_add_test(tc, put_nx_xx);
    tcase_add_test(tc, put_cas);
    tcase_add_test(tc, put_keep_expiry);
    tcase_add_test(tc, expiry_hides_keys);
    tcase_add_test(tc, expire_keeps_values);
    tcase_add_test(tc, write_abort_rolls_back);
    tcase_add_test(tc, write_lock_commit_and_savepoints);
    tcase_add_test(tc, section_outgrows_journal);
    tcase_add_test(tc, clear_empties_everything);
    tcase_add_test(tc, close_inside_a_section_rolls_back);
    tcase_add_test(tc, append_finger_survives_other_changes);
    tcase_add_test(tc, replay_presizes_an_empty_store_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(write_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
