/*
 * test_store_range.c — unit tests of the store's ordered reads: inclusive,
 * exclusive and open bounds in both directions, limits, keys_only,
 * max_bytes, range_count, prefix bounds (with 0x00 and 0xFF bytes), empty
 * ranges, reverse scans with limits over a large skiplist, forward and
 * reverse scans over thousands of keys with every bound kind checked row by
 * row, the items a scan loads (O(log n + k) in both directions), the empty
 * key and keys of the maximum length.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define K(s) {s, sizeof(s) - 1}

typedef struct {
    const char *k;
    size_t len;
} key_t_;

/* The fixture's keys in store order: memcmp, shorter first on a tie. */
static const key_t_ sorted[] = {
    K(""),       K("\x00"),     K("a"),        K("a\x00"), K("ab"),     K("abc"),
    K("a\xff"),  K("a\xff\x00"), K("a\xff\xff"), K("b"),     K("ba"),     K("c"),
    K("\xff"),   K("\xff\x00"), K("\xff\xff"), K("\xff\xff\xff"),
};
#define NKEYS (sizeof(sorted) / sizeof(sorted[0]))

static tu_region_t reg;
static store_t *st;
static uint64_t versions[NKEYS];

/* Value of key i: "v" + the key, so values are checked too. */
static size_t value_of(size_t i, char *out)
{
    out[0] = 'v';
    memcpy(out + 1, sorted[i].k, sorted[i].len);
    return sorted[i].len + 1;
}

static void setup_empty(void)
{
    st = tu_ck_create(&reg, "range", 16 * MiB, 0);
}

static void setup_keys(void)
{
    setup_empty();
    char v[16];
    for (size_t n = 0; n < NKEYS; n++) {
        size_t i = (n * 7) % NKEYS; /* insert out of order */
        store_meta_t m;
        ck_assert_int_eq(store_put(st, sorted[i].k, sorted[i].len, v, value_of(i, v), NULL, &m), STORE_OK);
        versions[i] = m.version;
    }
}

static void teardown(void)
{
    tu_ck_destroy(&reg);
}

static store_bound_t incl(const char *k)
{
    return (store_bound_t){STORE_BOUND_INCL, k, strlen(k)};
}

static store_bound_t excl(const char *k)
{
    return (store_bound_t){STORE_BOUND_EXCL, k, strlen(k)};
}

static const store_bound_t open_ = {STORE_BOUND_NONE, NULL, 0};

/* Runs q and checks it returns exactly sorted[from..to] (to < from: none),
 * in q's direction, capped by q->limit; also checks range_count. */
static void expect_span(const store_range_t *q, int from, int to, const char *what)
{
    store_rows_t rows = {0};
    store_err_t err = store_range(st, q, &rows);
    TU_ASSERT(err == STORE_OK, "%s: range %s", what, store_strerror(err));
    size_t n = to >= from ? (size_t)(to - from + 1) : 0;
    size_t want = q->limit && q->limit < n ? q->limit : n;
    TU_ASSERT(rows.count == want, "%s: %zu rows, want %zu", what, rows.count, want);
    ck_assert(!rows.truncated);
    ck_assert(rows.keys_only == q->keys_only);
    size_t pos = 0;
    store_row_t row;
    char v[16];
    for (size_t r = 0; r < want; r++) {
        TU_ASSERT(store_rows_next(&rows, &pos, &row), "%s: row %zu missing", what, r);
        size_t i = q->reverse ? (size_t)to - r : (size_t)from + r;
        TU_ASSERT(row.klen == sorted[i].len && memcmp(row.key, sorted[i].k, row.klen) == 0,
                      "%s: row %zu is the wrong key", what, r);
        TU_ASSERT(row.version == versions[i] && row.expiry_ms == 0, "%s: row %zu version/expiry", what, r);
        if (q->keys_only) {
            TU_ASSERT(row.val == NULL && row.vlen == 0, "%s: row %zu has a value", what, r);
        } else {
            size_t vl = value_of(i, v);
            TU_ASSERT(row.vlen == vl && memcmp(row.val, v, vl) == 0, "%s: row %zu value", what, r);
        }
    }
    TU_ASSERT(!store_rows_next(&rows, &pos, &row), "%s: extra rows", what);
    store_rows_free(&rows);
    uint64_t count = 99;
    ck_assert_int_eq(store_range_count(st, q, &count), STORE_OK);
    TU_ASSERT(count == want, "%s: range_count %llu, want %zu", what, (unsigned long long)count, want);
}

/* Every case in both directions, with limits 0, 1, 3, and keys_only. */
static void expect_all_ways(store_bound_t lo, store_bound_t hi, int from, int to, const char *what)
{
    static const size_t limits[] = {0, 1, 3, 100};
    for (int rev = 0; rev < 2; rev++)
        for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++)
            for (int ko = 0; ko < 2; ko++) {
                store_range_t q = {.lo = lo, .hi = hi, .limit = limits[l], .reverse = rev, .keys_only = ko};
                char label[128];
                snprintf(label, sizeof(label), "%s (%s, limit %zu%s)", what, rev ? "reverse" : "forward", limits[l],
                         ko ? ", keys only" : "");
                expect_span(&q, from, to, label);
            }
}

START_TEST(bounds)
{
    expect_all_ways(open_, open_, 0, NKEYS - 1, "- +");
    expect_all_ways(incl("a"), incl("b"), 2, 9, "[a [b");
    expect_all_ways(excl("a"), excl("b"), 3, 8, "(a (b");
    expect_all_ways(incl("a"), excl("b"), 2, 8, "[a (b");
    expect_all_ways(excl("a"), incl("b"), 3, 9, "(a [b");
    expect_all_ways(open_, excl("a"), 0, 1, "- (a");
    expect_all_ways(open_, incl("a"), 0, 2, "- [a");
    expect_all_ways(excl("b"), open_, 10, NKEYS - 1, "(b +");
    expect_all_ways(incl(""), incl(""), 0, 0, "[empty [empty");
    /* The empty key may come without a pointer. */
    const store_bound_t null_incl = {STORE_BOUND_INCL, NULL, 0}, null_excl = {STORE_BOUND_EXCL, NULL, 0};
    expect_all_ways(null_incl, null_incl, 0, 0, "[NULL [NULL");
    expect_all_ways(null_excl, incl("a"), 1, 2, "(NULL [a");
    expect_all_ways(open_, null_excl, 1, 0, "- (NULL");
    expect_all_ways(excl(""), open_, 1, NKEYS - 1, "(empty +");
    expect_all_ways(incl("a\xff"), incl("a\xff\xff"), 6, 8, "[a\\xff [a\\xff\\xff");
    expect_all_ways(excl("\xff"), open_, 13, NKEYS - 1, "(\\xff +");
    expect_all_ways(incl("aa"), excl("abd"), 4, 5, "[aa (abd");
    /* Empty ranges: lo above hi, equal bounds with one exclusive, a gap. */
    expect_all_ways(incl("c"), incl("b"), 1, 0, "[c [b");
    expect_all_ways(incl("b"), excl("b"), 1, 0, "[b (b");
    expect_all_ways(excl("b"), incl("b"), 1, 0, "(b [b");
    expect_all_ways(incl("bb"), incl("bz"), 1, 0, "[bb [bz");
    expect_all_ways(excl("\xff\xff\xff"), open_, 1, 0, "(\\xff\\xff\\xff +");
    expect_all_ways(open_, excl(""), 1, 0, "- (empty");
}
END_TEST

START_TEST(empty_store)
{
    expect_all_ways(open_, open_, 1, 0, "empty store");
    expect_all_ways(incl("a"), incl("z"), 1, 0, "empty store [a [z");
    store_range_t q = {.lo = {STORE_BOUND_INCL, NULL, 3}};
    store_rows_t rows = {0};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_INVALID);
    ck_assert(store_error_detail()[0] != '\0');
    uint64_t count;
    ck_assert_int_eq(store_range_count(st, &q, &count), STORE_INVALID);
    ck_assert_int_eq(store_range(st, NULL, &rows), STORE_INVALID);
    store_rows_free(&rows);
}
END_TEST

START_TEST(max_bytes)
{
    store_range_t q = {.max_bytes = 1};
    store_rows_t rows = {0};
    /* A tiny budget still returns one row, flagged as truncated. */
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 1);
    ck_assert(rows.truncated);
    q.reverse = true;
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 1);
    ck_assert(rows.truncated);
    size_t pos = 0;
    store_row_t row;
    ck_assert(store_rows_next(&rows, &pos, &row));
    ck_assert(row.klen == 3 && memcmp(row.key, "\xff\xff\xff", 3) == 0);
    /* A middling budget gives a prefix of the full answer, within budget. */
    q = (store_range_t){.max_bytes = 200};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert(rows.count > 1 && rows.count < NKEYS && rows.truncated);
    ck_assert(rows.buf.len <= 200);
    pos = 0;
    for (size_t i = 0; i < rows.count; i++) {
        ck_assert(store_rows_next(&rows, &pos, &row));
        ck_assert(row.klen == sorted[i].len && memcmp(row.key, sorted[i].k, row.klen) == 0);
    }
    /* A budget that fits everything is not truncated. */
    q.max_bytes = 1 << 20;
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert(rows.count == NKEYS && !rows.truncated);
    /* The limit wins before the budget is reached. */
    q.limit = 2;
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert(rows.count == 2 && !rows.truncated);
    store_rows_free(&rows);
    ck_assert_uint_eq(rows.count, 0);
}
END_TEST

/* A limit far above the number of keys binds nothing: the answer is the
 * whole range, whatever the limit's size (a reverse scan keeps a ring of
 * `limit` entries, which must not be sized by the limit alone). */
START_TEST(huge_limits)
{
    static const size_t limits[] = {(SIZE_MAX / 4) + 1, NKEYS, NKEYS + 1, 1000000, SIZE_MAX / 2, SIZE_MAX};
    store_t *own = st;
    for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
        /* A handle of its own: each limit is its first reverse scan. */
        ck_assert_int_eq(store_attach(reg.path, &st), STORE_OK);
        for (int rev = 1; rev >= 0; rev--) {
            store_range_t q = {.lo = incl("a"), .limit = limits[l], .reverse = rev};
            char label[64];
            snprintf(label, sizeof(label), "limit %zu (%s)", limits[l], rev ? "reverse" : "forward");
            expect_span(&q, 2, NKEYS - 1, label);
            q.lo = open_;
            expect_span(&q, 0, NKEYS - 1, label);
        }
        store_close(st);
    }
    st = own;
}
END_TEST

static bool has_prefix(const key_t_ *k, const char *p, size_t plen)
{
    return k->len >= plen && (plen == 0 || memcmp(k->k, p, plen) == 0);
}

START_TEST(prefix_ranges)
{
    static const key_t_ prefixes[] = {
        K(""),  K("a"),    K("a\xff"), K("a\xff\xff"), K("\xff"), K("\xff\xff"), K("\xff\xff\xff"),
        K("ab"), K("b"),   K("x"),     K("\x00"),      K("abcd"),
    };
    for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
        const key_t_ *pre = &prefixes[p];
        char succ[8];
        store_range_t q;
        store_prefix_bounds(&q, pre->k, pre->len, succ);
        /* The keys with this prefix are one contiguous span of sorted[]. */
        int from = -1, to = -2;
        for (size_t i = 0; i < NKEYS; i++)
            if (has_prefix(&sorted[i], pre->k, pre->len)) {
                if (from < 0)
                    from = (int)i;
                ck_assert_msg(to < 0 || to == (int)i - 1, "prefix %zu: not contiguous", p);
                to = (int)i;
            }
        if (from < 0)
            from = 1, to = 0;
        char label[64];
        snprintf(label, sizeof(label), "prefix #%zu (%zu bytes)", p, pre->len);
        for (int rev = 0; rev < 2; rev++)
            for (size_t lim = 0; lim < 3; lim++) {
                q.reverse = rev;
                q.limit = lim;
                q.keys_only = false;
                q.max_bytes = 0;
                expect_span(&q, from, to, label);
            }
    }
    /* The bounds themselves: trailing 0xFF bytes are dropped, then the
     * last byte incremented; all 0xFF means no upper bound. */
    char succ[8];
    store_range_t q;
    store_prefix_bounds(&q, "a\xff\xff", 3, succ);
    ck_assert(q.lo.kind == STORE_BOUND_INCL && q.lo.len == 3);
    ck_assert(q.hi.kind == STORE_BOUND_EXCL && q.hi.len == 1 && ((const char *)q.hi.key)[0] == 'b');
    store_prefix_bounds(&q, "\xff\xff", 2, succ);
    ck_assert(q.lo.kind == STORE_BOUND_INCL && q.hi.kind == STORE_BOUND_NONE);
    store_prefix_bounds(&q, "", 0, succ);
    ck_assert(q.lo.kind == STORE_BOUND_NONE && q.hi.kind == STORE_BOUND_NONE);
    store_prefix_bounds(&q, "a\xfe", 2, succ);
    ck_assert(q.hi.kind == STORE_BOUND_EXCL && q.hi.len == 2 && memcmp(q.hi.key, "a\xff", 2) == 0);
}
END_TEST

/* A skiplist of thousands of keys with expired keys among them: reverse
 * scans with limits climb levels; every answer is checked arithmetically. */
START_TEST(reverse_limits_deep)
{
    const unsigned n = 6000;
    store_set_clock(st, tu_fake_clock);
    char key[16];
    for (unsigned i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "r%05u", i);
        store_put_opts_t o = {.expiry_ms = i % 7 == 3 ? tu_fake_now + 10 : 0};
        TU_ASSERT(store_put(st, key, (size_t)kl, key, (size_t)kl, &o, NULL) == STORE_OK, "put %s", key);
    }
    tu_fake_now += 10; /* every 7th key (i % 7 == 3) expires */
    tu_rng_t rng = {7};
    char lo[16], hi[16];
    store_rows_t rows = {0};
    for (int t = 0; t < 400; t++) {
        unsigned a = (unsigned)tu_below(&rng, n + 2), b = (unsigned)tu_below(&rng, n + 2);
        bool lo_excl = tu_below(&rng, 2), hi_excl = tu_below(&rng, 2), lo_open = tu_below(&rng, 8) == 0;
        size_t limit = tu_below(&rng, 4) == 0 ? 0 : 1 + tu_below(&rng, tu_below(&rng, 2) ? 5 : 3000);
        store_range_t q = {.limit = limit, .reverse = true};
        q.lo = lo_open ? open_ : (store_bound_t){lo_excl ? STORE_BOUND_EXCL : STORE_BOUND_INCL, lo,
                                                 (size_t)snprintf(lo, sizeof(lo), "r%05u", a)};
        q.hi = (store_bound_t){hi_excl ? STORE_BOUND_EXCL : STORE_BOUND_INCL, hi,
                               (size_t)snprintf(hi, sizeof(hi), "r%05u", b)};
        long first = lo_open ? 0 : (long)a + lo_excl, last = (long)b - hi_excl;
        if (last > (long)n - 1)
            last = n - 1;
        TU_ASSERT(store_range(st, &q, &rows) == STORE_OK, "query %d failed", t);
        size_t pos = 0, got = 0;
        store_row_t row;
        for (long i = last; i >= first && (!limit || got < limit); i--) {
            if (i % 7 == 3)
                continue;
            TU_ASSERT(store_rows_next(&rows, &pos, &row), "query %d: row %zu missing (want r%05ld)", t, got, i);
            snprintf(key, sizeof(key), "r%05ld", i);
            TU_ASSERT(row.klen == 6 && memcmp(row.key, key, 6) == 0, "query %d: row %zu is %.*s, want %s", t, got,
                          (int)row.klen, row.key, key);
            got++;
        }
        TU_ASSERT(!store_rows_next(&rows, &pos, &row), "query %d: extra rows", t);
        ck_assert_uint_eq(rows.count, got);
    }
    store_rows_free(&rows);
    store_set_clock(st, NULL);
}
END_TEST

/* ---- scans over thousands of keys, both directions ------------------------------ */

#define DEEP_N 6000
#define DEEP_EXPIRED(i) ((i) % 7 == 3)

/* Key i is "r%05u"; its value is the key repeated to a length that varies
 * with i, so byte budgets cut at varying rows. */
static size_t deep_value(unsigned i, char *out)
{
    size_t len = 1 + (i * 37) % 90;
    for (size_t j = 0; j < len; j++)
        out[j] = (char)('a' + (i + j) % 26);
    return len;
}

static void deep_fill(void)
{
    store_set_clock(st, tu_fake_clock);
    char key[16], val[128];
    for (unsigned n = 0; n < DEEP_N; n++) {
        unsigned i = (unsigned)(((uint64_t)n * 2654435761u) % DEEP_N); /* out of order */
        int kl = snprintf(key, sizeof(key), "r%05u", i);
        store_put_opts_t o = {.expiry_ms = DEEP_EXPIRED(i) ? tu_fake_now + 10 : (i % 5 == 1 ? tu_fake_now + 1000000 : 0)};
        TU_ASSERT(store_put(st, key, (size_t)kl, val, deep_value(i, val), &o, NULL) == STORE_OK, "put %s", key);
    }
    ck_assert_uint_eq(store_count(st), DEEP_N);
    tu_fake_now += 10; /* every 7th key (i % 7 == 3) expires; every 5th has a later expiry */
}

/* A bound near key i: the key itself (existing, or expired), or a key that
 * is not stored, just after i ("r00012." sorts between r00012 and r00013),
 * inclusive or exclusive; *between tells which key it is. */
static store_bound_t deep_bound(tu_rng_t *r, char *buf, unsigned i, bool *between)
{
    store_bound_kind_t kind = tu_below(r, 2) ? STORE_BOUND_INCL : STORE_BOUND_EXCL;
    *between = tu_below(r, 3) == 0;
    int n = snprintf(buf, 16, *between ? "r%05u." : "r%05u", i);
    return (store_bound_t){kind, buf, (size_t)n};
}

/* Runs q and checks every row against the key arithmetic: indexes first..last
 * (in q's direction), expired ones skipped, capped by limit and max_bytes. */
static void deep_check(const store_range_t *q, long first, long last, int t, store_rows_t *rows)
{
    store_err_t err = store_range(st, q, rows);
    TU_ASSERT(err == STORE_OK, "query %d: %s", t, store_strerror(err));
    size_t pos = 0, got = 0, bytes = 0;
    bool cut = false;
    store_row_t row;
    char key[16], val[128];
    for (long n = 0; n <= last - first; n++) {
        long i = q->reverse ? last - n : first + n;
        if (DEEP_EXPIRED(i))
            continue;
        if (q->limit && got == q->limit)
            break;
        snprintf(key, sizeof(key), "r%05ld", i);
        size_t vl = deep_value((unsigned)i, val);
        size_t need = 24 + 6 + (q->keys_only ? 0 : vl); /* row header + key + value */
        if (q->max_bytes && got > 0 && bytes + need > q->max_bytes) {
            cut = true;
            break;
        }
        TU_ASSERT(store_rows_next(rows, &pos, &row), "query %d: row %zu missing (want %s)", t, got, key);
        TU_ASSERT(row.klen == 6 && memcmp(row.key, key, 6) == 0, "query %d: row %zu is %.*s, want %s", t, got,
                  (int)row.klen, row.key, key);
        TU_ASSERT(row.expiry_ms == (i % 5 == 1 ? tu_fake_now - 10 + 1000000 : 0), "query %d: row %zu expiry", t, got);
        if (q->keys_only)
            TU_ASSERT(row.val == NULL && row.vlen == 0, "query %d: row %zu has a value", t, got);
        else
            TU_ASSERT(row.vlen == vl && memcmp(row.val, val, vl) == 0, "query %d: row %zu value", t, got);
        bytes += need;
        got++;
    }
    TU_ASSERT(!store_rows_next(rows, &pos, &row), "query %d: extra rows", t);
    TU_ASSERT(rows->count == got && rows->truncated == cut, "query %d: %zu rows (truncated %d), want %zu (%d)", t,
              rows->count, rows->truncated, got, cut);
    TU_ASSERT(!q->max_bytes || got <= 1 || rows->buf.len <= q->max_bytes, "query %d: over the byte budget", t);
    if (!q->max_bytes) {
        uint64_t count = 0;
        TU_ASSERT(store_range_count(st, q, &count) == STORE_OK && count == got, "query %d: range_count %llu, want %zu",
                  t, (unsigned long long)count, got);
    }
}

/* Forward and reverse scans over thousands of keys, with every bound kind
 * on either side (existing keys, expired keys, keys not stored, none),
 * limits from 1 to beyond the store, keys_only and byte budgets: every
 * answer is checked row by row against the key arithmetic. */
START_TEST(scan_deep)
{
    deep_fill();
    tu_rng_t rng = {11};
    char lo[16], hi[16];
    store_rows_t rows = {0};
    for (int t = 0; t < 3000; t++) {
        unsigned a = (unsigned)tu_below(&rng, DEEP_N + 2), b = (unsigned)tu_below(&rng, DEEP_N + 2);
        if (tu_below(&rng, 2) && a > b) { /* mostly non-empty */
            unsigned x = a;
            a = b;
            b = x;
        }
        if (tu_below(&rng, 3) == 0 && a < DEEP_N) /* short ranges too */
            b = a + (unsigned)tu_below(&rng, 40);
        store_range_t q = {.reverse = tu_below(&rng, 2), .keys_only = tu_below(&rng, 4) == 0};
        uint64_t p = tu_below(&rng, 10);
        q.limit = p < 3 ? 0 : p < 6 ? 1 + tu_below(&rng, 8) : p < 9 ? 1 + tu_below(&rng, 400) : 1 + tu_below(&rng, 9000);
        if (tu_below(&rng, 8) == 0)
            q.max_bytes = 1 + tu_below(&rng, 6000);
        long first = 0, last = DEEP_N - 1;
        bool between;
        if (tu_below(&rng, 6)) {
            q.lo = deep_bound(&rng, lo, a, &between);
            first = (long)a + (between || q.lo.kind == STORE_BOUND_EXCL);
        }
        if (tu_below(&rng, 6)) {
            q.hi = deep_bound(&rng, hi, b, &between);
            last = (long)b - (!between && q.hi.kind == STORE_BOUND_EXCL);
        }
        if (last > DEEP_N - 1)
            last = DEEP_N - 1;
        deep_check(&q, first, last, t, &rows);
    }
    store_rows_free(&rows);
    store_set_clock(st, NULL);
}
END_TEST

/* Reads the items range scans load, from the reader statistics. */
static uint64_t scan_items(void)
{
    store_reader_stats_t rs;
    store_reader_stats(st, &rs);
    return rs.scan_items;
}

/* The cost of a scan is O(log n + k) with a small constant in both
 * directions: a 100-row scan loads each of its rows' items once, plus a
 * search (or a hash probe) and a few items past the end; a reverse scan
 * costs at most about twice a forward one. The item counts are exact for
 * a given insertion order (the skiplist's levels come from the region's
 * own seeded generator), so the bounds are firm. */
START_TEST(scan_cost)
{
    const unsigned n = 50000;
    char key[16];
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (unsigned)(((uint64_t)k * 2654435761u) % n);
        int kl = snprintf(key, sizeof(key), "c%06u", i);
        TU_ASSERT(store_put(st, key, (size_t)kl, "v", 1, NULL, NULL) == STORE_OK, "put %s", key);
    }
    tu_rng_t rng = {3};
    store_rows_t rows = {0};
    const int scans = 200;
    uint64_t items[2][2] = {{0}}; /* [reverse][bound is not a key] */
    for (int rev = 0; rev < 2; rev++)
        for (int absent = 0; absent < 2; absent++)
            for (int t = 0; t < scans; t++) {
                unsigned i = 200 + (unsigned)tu_below(&rng, n - 400);
                int kl = snprintf(key, sizeof(key), absent ? "c%06u." : "c%06u", i);
                store_range_t q = {.limit = 100, .reverse = rev};
                store_bound_t b = {STORE_BOUND_INCL, key, (size_t)kl};
                if (rev)
                    q.hi = b;
                else
                    q.lo = b;
                uint64_t before = scan_items();
                TU_ASSERT(store_range(st, &q, &rows) == STORE_OK && rows.count == 100, "scan %d", t);
                items[rev][absent] += scan_items() - before;
            }
    double fwd_key = (double)items[0][0] / scans, fwd = (double)items[0][1] / scans;
    double rev_key = (double)items[1][0] / scans, rev_absent = (double)items[1][1] / scans;
    fprintf(stderr, "scan_cost: 100-row scans over %u keys load %.1f items forward from a key, %.1f forward "
            "from a bound that is not a key, %.1f / %.1f in reverse\n", n, fwd_key, fwd, rev_key, rev_absent);
    /* Forward from a key: a hash probe (about 1.5 items) and the rows. */
    ck_assert_msg(fwd_key < 110, "forward from a key: %.1f items per 100-row scan", fwd_key);
    /* Otherwise a search (about 4 items per level, 8 levels here) first. */
    ck_assert_msg(fwd < 160, "forward: %.1f items per 100-row scan", fwd);
    ck_assert_msg(rev_key < 2 * fwd && rev_absent < 2 * fwd, "reverse: %.1f / %.1f items per 100-row scan", rev_key,
                  rev_absent);
    /* Limits far below and far above the rows in range, unbounded ranges. */
    struct {
        size_t limit;
        bool reverse;
        double most; /* items per row */
    } cases[] = {{1, true, 60}, {10, true, 8}, {1000, true, 1.5}, {1000, false, 1.2}, {0, true, 1.5}, {0, false, 1.2}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        store_range_t q = {.limit = cases[c].limit, .reverse = cases[c].reverse};
        size_t want = cases[c].limit ? cases[c].limit : n;
        uint64_t before = scan_items();
        TU_ASSERT(store_range(st, &q, &rows) == STORE_OK && rows.count == want, "case %zu", c);
        double per_row = (double)(scan_items() - before) / (double)want;
        ck_assert_msg(per_row <= cases[c].most, "case %zu (limit %zu, %s): %.2f items per row", c, cases[c].limit,
                      cases[c].reverse ? "reverse" : "forward", per_row);
    }
    store_rows_free(&rows);
}
END_TEST

START_TEST(key_lengths)
{
    static char big[STORE_MAX_KEY + 2];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    /* The empty key is a key like any other, ordered first. */
    ck_assert_int_eq(store_put(st, "", 0, "empty", 5, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_exists(st, "", 0), STORE_OK);
    /* The longest key, and one that differs from it in the last byte. */
    ck_assert_int_eq(store_put(st, big, STORE_MAX_KEY, "L1", 2, NULL, NULL), STORE_OK);
    big[STORE_MAX_KEY - 1] = '~';
    ck_assert_int_eq(store_put(st, big, STORE_MAX_KEY, "L2", 2, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_put(st, big, STORE_MAX_KEY - 1, "L0", 2, NULL, NULL), STORE_OK);
    /* One byte more is refused everywhere. */
    ck_assert_int_eq(store_put(st, big, STORE_MAX_KEY + 1, "x", 1, NULL, NULL), STORE_TOO_BIG);
    ck_assert_msg(strstr(store_error_detail(), "key") != NULL, "detail: %s", store_error_detail());
    ck_assert_int_eq(store_get(st, big, STORE_MAX_KEY + 1, NULL, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists(st, big, STORE_MAX_KEY + 1), STORE_NOT_FOUND);
    ck_assert_int_eq(store_delete(st, big, STORE_MAX_KEY + 1), STORE_NOT_FOUND);
    ck_assert_int_eq(store_expire(st, big, STORE_MAX_KEY + 1, 1), STORE_NOT_FOUND);
    ck_assert_uint_eq(store_count(st), 4);

    store_rows_t rows = {0};
    store_range_t q = {0};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 4);
    static const char *vals[] = {"empty", "L0", "L1", "L2"};
    static const size_t lens[] = {0, STORE_MAX_KEY - 1, STORE_MAX_KEY, STORE_MAX_KEY};
    size_t pos = 0;
    store_row_t row;
    for (int i = 0; i < 4; i++) {
        ck_assert(store_rows_next(&rows, &pos, &row));
        ck_assert_uint_eq(row.klen, lens[i]);
        ck_assert(row.vlen == strlen(vals[i]) && memcmp(row.val, vals[i], row.vlen) == 0);
    }
    /* A maximal key as a bound and as a prefix. */
    q.lo = (store_bound_t){STORE_BOUND_EXCL, big, STORE_MAX_KEY - 1};
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 2);
    static char succ[STORE_MAX_KEY];
    store_prefix_bounds(&q, big, STORE_MAX_KEY - 1, succ);
    q.reverse = true;
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 3);
    pos = 0;
    ck_assert(store_rows_next(&rows, &pos, &row));
    ck_assert(row.vlen == 2 && memcmp(row.val, "L2", 2) == 0);
    store_rows_free(&rows);

    ck_assert_int_eq(store_delete(st, big, STORE_MAX_KEY), STORE_OK);
    ck_assert_int_eq(store_delete(st, "", 0), STORE_OK);
    ck_assert_int_eq(store_exists(st, "", 0), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists(st, big, STORE_MAX_KEY), STORE_NOT_FOUND);
    ck_assert_uint_eq(store_count(st), 2);
}
END_TEST

static Suite *range_suite(void)
{
    Suite *s = suite_create("store-range");
    TCase *tc = tcase_create("fixture");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup_keys, teardown);
    tcase_add_test(tc, bounds);
    tcase_add_test(tc, max_bytes);
    tcase_add_test(tc, huge_limits);
    tcase_add_test(tc, prefix_ranges);
    suite_add_tcase(s, tc);
    tc = tcase_create("empty");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup_empty, teardown);
    tcase_add_test(tc, empty_store);
    tcase_add_test(tc, reverse_limits_deep);
    tcase_add_test(tc, scan_deep);
    tcase_add_test(tc, scan_cost);
    tcase_add_test(tc, key_lengths);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(range_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
