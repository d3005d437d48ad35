/*
 * test_store_unit.c — unit tests of the store's region lifetime and
 * allocator: size parsing, create (mode, size limits, O_EXCL), attach
 * validation of corrupted, foreign and truncated files, allocator
 * statistics, out-of-memory behaviour, large values, hash growth across
 * incremental rehash, and reads and checks of deliberately damaged regions.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/layout.h"
#include "tests/store_testutil.h"

#define MiB (1ull << 20)

static store_stats_t stats_of(store_t *st)
{
    store_stats_t s;
    store_err_t err = store_stats(st, &s);
    ck_assert_msg(err == STORE_OK, "store_stats: %s", store_strerror(err));
    return s;
}

static void put_ok(store_t *st, const void *k, size_t kl, const void *v, size_t vl)
{
    store_err_t err = store_put(st, k, kl, v, vl, NULL, NULL);
    TU_ASSERT(err == STORE_OK, "put '%.*s' (%zu-byte value): %s (%s)", (int)(kl > 40 ? 40 : kl), (const char *)k,
                  vl, store_strerror(err), store_error_detail());
}

static void expect_value(store_t *st, const void *k, size_t kl, const void *v, size_t vl)
{
    store_buf_t b = {0};
    store_err_t err = store_get(st, k, kl, &b, NULL);
    TU_ASSERT(err == STORE_OK, "get '%.*s': %s", (int)(kl > 40 ? 40 : kl), (const char *)k, store_strerror(err));
    ck_assert_uint_eq(b.len, vl);
    TU_ASSERT(vl == 0 || memcmp(b.data, v, vl) == 0, "value of '%.*s' differs", (int)(kl > 40 ? 40 : kl),
                  (const char *)k);
    store_buf_free(&b);
}

/* ---- sizes and creation ------------------------------------------------------ */

START_TEST(parse_size)
{
    struct {
        const char *text;
        int rc;
        uint64_t want;
    } cases[] = {
        {"4096", 0, 4096},          {"0", 0, 0},           {"64k", 0, 64ull << 10}, {"64K", 0, 64ull << 10},
        {"256m", 0, 256ull << 20},  {"256M", 0, 256 * MiB}, {"2g", 0, 2ull << 30},  {"2G", 0, 2ull << 30},
        {"64kb", 0, 64ull << 10},   {"1GB", 0, 1ull << 30}, {"", -1, 0},            {"k", -1, 0},
        {"-1", -1, 0},              {" 1", -1, 0},          {"1x", -1, 0},          {"1kk", -1, 0},
        {"1kbb", -1, 0},            {"1.5m", -1, 0},        {"1 m", -1, 0},         {"99999999999999999999", -1, 0},
        {"17179869184g", -1, 0},    {"18446744073709551615", 0, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t out = 12345;
        int rc = store_parse_size(cases[i].text, &out);
        ck_assert_msg(rc == cases[i].rc, "store_parse_size(\"%s\") = %d, want %d", cases[i].text, rc, cases[i].rc);
        if (rc == 0)
            ck_assert_msg(out == cases[i].want, "store_parse_size(\"%s\") gave %llu", cases[i].text,
                          (unsigned long long)out);
    }
    ck_assert_int_eq(store_parse_size(NULL, &(uint64_t){0}), -1);
}
END_TEST

START_TEST(create_mode_and_size)
{
    uint64_t size;
    ck_assert_int_eq(store_parse_size("6m", &size), 0);
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit", size, 0);
    struct stat sb;
    ck_assert_msg(stat(r.path, &sb) == 0, "stat: %s", strerror(errno));
    ck_assert_msg((sb.st_mode & 07777) == 0600, "region mode %o, want 0600", (unsigned)(sb.st_mode & 07777));
    ck_assert_uint_eq((uint64_t)sb.st_size, 6 * MiB);
    store_stats_t s = stats_of(st);
    ck_assert_uint_eq(s.region_size, 6 * MiB);
    ck_assert_uint_eq(s.page_size, 4096);
    ck_assert(s.pages_total > 0 && s.pages_total * 4096 < 6 * MiB);
    ck_assert_uint_eq(s.items, 0);
    ck_assert_uint_eq(s.last_lsn, 0);
    ck_assert_uint_eq(store_count(st), 0);
    ck_assert_uint_eq(store_last_lsn(st), 0);
    ck_assert_uint_eq(store_max_value(st), STORE_DEFAULT_MAX_VALUE);
    /* Everything but the initial hash table is free. */
    ck_assert_uint_eq(s.pages_free * 4096 + s.bytes_hash, s.pages_total * 4096);
    ck_assert_uint_eq(s.bytes_free, s.pages_free * 4096);
    tu_ck_destroy(&r);
}
END_TEST

START_TEST(create_refuses_bad_options)
{
    struct {
        uint64_t size, max_value;
    } bad[] = {
        {0, 0},
        {STORE_MIN_REGION - 4096, 0},
        {STORE_MAX_REGION + 4096, 0},
        {STORE_MIN_REGION + 100, 0}, /* not a whole number of pages */
        {8 * MiB, (uint64_t)STORE_MAX_VALUE_LIMIT + 1},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[128];
        tu_path(path, sizeof(path), "unit-bad");
        store_options_t o = {.size = bad[i].size, .max_value_size = bad[i].max_value};
        store_t *st = (store_t *)&o; /* must be reset to NULL */
        store_err_t err = store_create(path, &o, &st);
        ck_assert_msg(err == STORE_INVALID, "case %zu: create gave %s", i, store_strerror(err));
        ck_assert_ptr_null(st);
        ck_assert_msg(store_error_detail()[0] != '\0', "case %zu: no error detail", i);
        ck_assert_msg(access(path, F_OK) != 0 && errno == ENOENT, "case %zu: a refused create left %s", i, path);
    }
    char path[128];
    tu_path(path, sizeof(path), "unit-bad");
    store_t *st;
    ck_assert_int_eq(store_create(path, NULL, &st), STORE_INVALID);
    /* The smallest region is usable. */
    tu_region_t r;
    st = tu_ck_create(&r, "unit-min", STORE_MIN_REGION, 0);
    put_ok(st, "k", 1, "v", 1);
    tu_ck_destroy(&r);
}
END_TEST

START_TEST(create_is_exclusive)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit", 8 * MiB, 0);
    put_ok(st, "keep", 4, "me", 2);
    store_t *st2 = NULL;
    store_options_t o = {.size = 8 * MiB};
    ck_assert_int_eq(store_create(r.path, &o, &st2), STORE_IO);
    ck_assert_ptr_null(st2);
    ck_assert_msg(strstr(store_error_detail(), r.path) != NULL, "detail does not name the file: %s",
                  store_error_detail());
    /* The existing region is untouched and still attachable. */
    expect_value(st, "keep", 4, "me", 2);
    ck_assert_int_eq(store_attach(r.path, &st2), STORE_OK);
    expect_value(st2, "keep", 4, "me", 2);
    store_close(st2);
    tu_ck_destroy(&r);
}
END_TEST

START_TEST(attach_shares_the_region)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit", 8 * MiB, 2 * MiB);
    put_ok(st, "a", 1, "1", 1);
    store_t *st2;
    ck_assert_int_eq(store_attach(r.path, &st2), STORE_OK);
    ck_assert_uint_eq(store_max_value(st2), 2 * MiB);
    expect_value(st2, "a", 1, "1", 1);
    put_ok(st2, "b", 1, "2", 1);
    expect_value(st, "b", 1, "2", 1);
    ck_assert_uint_eq(store_last_lsn(st), 2);
    store_close(st);
    r.st = NULL;
    store_close(st2);
    ck_assert_int_eq(store_attach(r.path, &r.st), STORE_OK);
    expect_value(r.st, "a", 1, "1", 1);
    expect_value(r.st, "b", 1, "2", 1);
    tu_ck_destroy(&r);
    ck_assert_int_eq(store_attach(r.path, &st2), STORE_IO);
    ck_assert_ptr_null(st2);
    ck_assert(store_error_detail()[0] != '\0');
}
END_TEST

/* ---- attach validation -------------------------------------------------------- */

typedef enum { FIX_BYTES, FIX_TRUNCATE } fix_kind_t;

typedef struct {
    const char *what;
    fix_kind_t kind;
    size_t off;      /* FIX_BYTES: where */
    uint64_t value;  /* FIX_BYTES: the bytes (little-endian word); FIX_TRUNCATE: new size */
    size_t width;    /* FIX_BYTES: how many */
    const char *expect; /* text the error detail must contain */
} corruption_t;

static void apply_corruption(const char *path, const corruption_t *c)
{
    int fd = open(path, O_RDWR);
    ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
    if (c->kind == FIX_TRUNCATE) {
        ck_assert_msg(ftruncate(fd, (off_t)c->value) == 0, "ftruncate: %s", strerror(errno));
    } else {
        ssize_t n = pwrite(fd, &c->value, c->width, (off_t)c->off);
        ck_assert_msg(n == (ssize_t)c->width, "pwrite: %s", strerror(errno));
    }
    ck_assert_msg(close(fd) == 0, "close: %s", strerror(errno));
}

START_TEST(attach_refuses_bad_regions)
{
    const uint64_t size = 8 * MiB;
    const corruption_t cases[] = {
        {"zeroed magic", FIX_BYTES, offsetof(region_hdr_t, magic), 0, 8, "magic"},
        {"foreign magic", FIX_BYTES, offsetof(region_hdr_t, magic), 0x4c4b4349465f544eull, 8, "magic"},
        {"one flipped magic bit", FIX_BYTES, offsetof(region_hdr_t, magic), 0x3147524c4b434947ull, 8, "magic"},
        {"newer layout version", FIX_BYTES, offsetof(region_hdr_t, layout_version), STORE_LAYOUT_VERSION + 1, 4,
         "version"},
        {"layout version 0", FIX_BYTES, offsetof(region_hdr_t, layout_version), 0, 4, "version"},
        {"truncated by a page", FIX_TRUNCATE, 0, size - 4096, 0, "truncated"},
        {"truncated to 1000 bytes", FIX_TRUNCATE, 0, 1000, 0, "truncated"},
        {"truncated to nothing", FIX_TRUNCATE, 0, 0, 0, "truncated"},
        {"file grown", FIX_TRUNCATE, 0, size + 4096, 0, "file has"},
        {"recorded size lies", FIX_BYTES, offsetof(region_hdr_t, region_size), 16 * MiB, 8, "file has"},
        {"page size lies", FIX_BYTES, offsetof(region_hdr_t, page_size), 8192, 4, "geometry"},
        {"arena offset lies", FIX_BYTES, offsetof(region_hdr_t, arena_off), 4096, 8, "geometry"},
        {"arena pages lie", FIX_BYTES, offsetof(region_hdr_t, arena_pages), 1u << 20, 8, "geometry"},
        {"journal offset lies", FIX_BYTES, offsetof(region_hdr_t, journal_off), 40960, 8, "geometry"},
        {"max value 0", FIX_BYTES, offsetof(region_hdr_t, max_value_size), 0, 8, "out of range"},
        {"max value over the limit", FIX_BYTES, offsetof(region_hdr_t, max_value_size),
         (uint64_t)STORE_MAX_VALUE_LIMIT + 1, 8, "out of range"},
        {"class count", FIX_BYTES, offsetof(region_hdr_t, nclasses), 7, 4, "out of range"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tu_region_t r;
        tu_ck_create(&r, "unit-corrupt", size, 0);
        put_ok(r.st, "k", 1, "v", 1);
        store_close(r.st);
        r.st = NULL;
        apply_corruption(r.path, &cases[i]);
        store_t *st = (store_t *)&r; /* must be reset to NULL */
        store_err_t err = store_attach(r.path, &st);
        ck_assert_msg(err == STORE_CORRUPT, "%s: attach gave %s (%s)", cases[i].what, store_strerror(err),
                      store_error_detail());
        ck_assert_ptr_null(st);
        const char *d = store_error_detail();
        ck_assert_msg(strstr(d, cases[i].expect) != NULL && strstr(d, r.path) != NULL,
                      "%s: detail '%s' should name the file and say '%s'", cases[i].what, d, cases[i].expect);
        tu_ck_destroy(&r);
    }
}
END_TEST

START_TEST(attach_refuses_foreign_file)
{
    char path[128];
    tu_path(path, sizeof(path), "unit-foreign");
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_msg(fd >= 0, "open: %s", strerror(errno));
    char junk[4096];
    memset(junk, 'x', sizeof(junk));
    for (uint64_t off = 0; off < 4 * MiB; off += sizeof(junk))
        ck_assert(pwrite(fd, junk, sizeof(junk), (off_t)off) == (ssize_t)sizeof(junk));
    ck_assert(close(fd) == 0);
    store_t *st;
    ck_assert_int_eq(store_attach(path, &st), STORE_CORRUPT);
    ck_assert_ptr_null(st);
    ck_assert_msg(strstr(store_error_detail(), "not a fickle region") != NULL, "detail: %s", store_error_detail());
    ck_assert(store_unlink(path) == 0);
    ck_assert_int_eq(store_unlink(path), -1);
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

/* ---- allocator ------------------------------------------------------------------ */

static int class_with_chunk(const store_stats_t *s, uint32_t chunk)
{
    for (unsigned c = 0; c < s->nclasses; c++)
        if (s->classes[c].chunk_size == chunk)
            return (int)c;
    return -1;
}

static void put_n(store_t *st, const char *fmt, unsigned from, unsigned to, size_t vlen)
{
    char key[32], *val = malloc(vlen);
    ck_assert_ptr_nonnull(val);
    for (unsigned i = from; i < to; i++) {
        int kl = snprintf(key, sizeof(key), fmt, i);
        tu_val_make(val, vlen, key, (size_t)kl, i);
        put_ok(st, key, (size_t)kl, val, vlen);
    }
    free(val);
}

static void del_n(store_t *st, const char *fmt, unsigned from, unsigned to, unsigned step)
{
    char key[32];
    for (unsigned i = from; i < to; i += step) {
        int kl = snprintf(key, sizeof(key), fmt, i);
        TU_ASSERT(store_delete(st, key, (size_t)kl) == STORE_OK, "delete %s", key);
    }
}

/* Items of 4-byte keys and 500-byte values take 528 + 4*level bytes: the
 * 576-byte class, whose slab runs are 64 KiB (113 chunks). */
START_TEST(alloc_stats_follow_items)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-alloc", 16 * MiB, 0);
    store_stats_t s0 = stats_of(st);
    int c = class_with_chunk(&s0, 576);
    ck_assert_msg(c >= 0, "no 576-byte class");
    const uint64_t per_run = 65536 / 576;
    ck_assert_uint_eq(s0.classes[c].used + s0.classes[c].free + s0.classes[c].runs, 0);

    put_n(st, "k%03u", 0, 20, 500);
    store_stats_t s1 = stats_of(st);
    ck_assert_uint_eq(s1.items, 20);
    ck_assert_uint_eq(s1.classes[c].used, 20);
    ck_assert_uint_eq(s1.classes[c].runs, 1);
    ck_assert_uint_eq(s1.classes[c].free, per_run - 20);
    ck_assert_uint_eq(s0.pages_free - s1.pages_free, 16);
    ck_assert_uint_eq(s1.bytes_allocated - s0.bytes_allocated, 65536);
    ck_assert_uint_eq(s0.bytes_free - s1.bytes_free, 65536 - (per_run - 20) * 576);
    uint64_t req = s1.bytes_requested - s0.bytes_requested;
    ck_assert_msg(req >= 20 * 536 && req <= 20 * 576, "bytes_requested grew by %llu", (unsigned long long)req);
    ck_assert(s1.fragmentation > 0.0 && s1.fragmentation < 0.1);
    for (unsigned i = 0; i < s1.nclasses; i++)
        if ((int)i != c)
            ck_assert_uint_eq(s1.classes[i].used, 0);

    del_n(st, "k%03u", 0, 20, 2); /* 10 freed chunks */
    store_stats_t s2 = stats_of(st);
    ck_assert_uint_eq(s2.items, 10);
    ck_assert_uint_eq(s2.classes[c].used, 10);
    ck_assert_uint_eq(s2.classes[c].free, per_run - 10);
    ck_assert_uint_eq(s2.classes[c].runs, 1);
    ck_assert_uint_eq(s2.pages_free, s1.pages_free); /* slab runs stay with their class */
    ck_assert_uint_eq(s2.bytes_free - s1.bytes_free, 10 * 576);
    ck_assert(s2.bytes_requested < s1.bytes_requested && s1.bytes_requested - s2.bytes_requested >= 10 * 536);

    put_n(st, "n%03u", 0, 10, 500); /* reuses the freed chunks */
    store_stats_t s3 = stats_of(st);
    ck_assert_uint_eq(s3.classes[c].used, 20);
    ck_assert_uint_eq(s3.classes[c].runs, 1);
    ck_assert_uint_eq(s3.pages_free, s1.pages_free);

    put_n(st, "m%04u", 0, 200, 500); /* 220 items: a second and a third run */
    store_stats_t s4 = stats_of(st);
    ck_assert_uint_eq(s4.classes[c].used, 220);
    ck_assert_uint_eq(s4.classes[c].runs, 2 + (220 > 2 * per_run));
    ck_assert_uint_eq(s4.classes[c].used + s4.classes[c].free, s4.classes[c].runs * per_run);
    ck_assert_uint_eq(s1.pages_free - s4.pages_free, 16 * (s4.classes[c].runs - 1));

    del_n(st, "k%03u", 1, 20, 2);
    del_n(st, "n%03u", 0, 10, 1);
    del_n(st, "m%04u", 0, 200, 1);
    store_stats_t s5 = stats_of(st);
    ck_assert_uint_eq(s5.items, 0);
    ck_assert_uint_eq(s5.bytes_requested, 0);
    ck_assert_uint_eq(s5.classes[c].used, 0);
    ck_assert_uint_eq(s5.classes[c].free, s4.classes[c].runs * per_run);
    tu_ck_destroy(&r);
}
END_TEST

static void expect_same_alloc_state(const store_stats_t *a, const store_stats_t *b, const char *when)
{
    ck_assert_msg(a->items == b->items && a->bytes_requested == b->bytes_requested &&
                      a->bytes_allocated == b->bytes_allocated && a->bytes_free == b->bytes_free &&
                      a->pages_free == b->pages_free && a->last_lsn == b->last_lsn &&
                      a->hash_buckets == b->hash_buckets && a->rehashing == b->rehashing,
                  "%s: items %llu/%llu requested %llu/%llu free pages %llu/%llu lsn %llu/%llu", when,
                  (unsigned long long)a->items, (unsigned long long)b->items,
                  (unsigned long long)a->bytes_requested, (unsigned long long)b->bytes_requested,
                  (unsigned long long)a->pages_free, (unsigned long long)b->pages_free,
                  (unsigned long long)a->last_lsn, (unsigned long long)b->last_lsn);
    for (unsigned c = 0; c < a->nclasses; c++)
        ck_assert_msg(a->classes[c].used == b->classes[c].used && a->classes[c].free == b->classes[c].free &&
                          a->classes[c].runs == b->classes[c].runs,
                      "%s: class %u counters differ", when, c);
}

static void expect_filled(store_t *st, const char *fmt, unsigned from, unsigned to, unsigned step, size_t vlen)
{
    char key[32];
    store_buf_t b = {0};
    for (unsigned i = from; i < to; i += step) {
        int kl = snprintf(key, sizeof(key), fmt, i);
        TU_ASSERT(store_get(st, key, (size_t)kl, &b, NULL) == STORE_OK, "%s lost", key);
        uint64_t tag;
        const char *bad = tu_val_verify(b.data, b.len, key, (size_t)kl, &tag);
        TU_ASSERT(bad == NULL && b.len == vlen && tag == i, "%s: %s", key, bad ? bad : "wrong length or tag");
    }
    store_buf_free(&b);
}

/* Fills the smallest region with 1000-byte values (1152-byte chunks). */
START_TEST(alloc_out_of_memory)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-oom", STORE_MIN_REGION, 0);
    char key[32], val[1000];
    unsigned n = 0;
    store_stats_t before, after;
    store_err_t err;
    for (;; n++) {
        int kl = snprintf(key, sizeof(key), "f%05u", n);
        tu_val_make(val, sizeof(val), key, (size_t)kl, n);
        before = stats_of(st);
        if ((err = store_put(st, key, (size_t)kl, val, sizeof(val), NULL, NULL)) != STORE_OK)
            break;
    }
    ck_assert_msg(err == STORE_NOMEM, "filling ended with %s", store_strerror(err));
    ck_assert_msg(strstr(store_error_detail(), "full") != NULL, "detail: %s", store_error_detail());
    ck_assert_msg(n > 1500, "only %u items fit", n);
    after = stats_of(st);
    expect_same_alloc_state(&before, &after, "after a refused put");
    tu_ck_check(st);
    expect_filled(st, "f%05u", 0, n, 1, sizeof(val));

    /* Other refusals change nothing either: a new class, a large value,
     * a replacement that needs a new class. */
    static char big[1 << 20];
    ck_assert_int_eq(store_put(st, "new", 3, big, 3000, NULL, NULL), STORE_NOMEM);
    ck_assert_int_eq(store_put(st, "big", 3, big, sizeof(big), NULL, NULL), STORE_NOMEM);
    ck_assert_int_eq(store_put(st, "f00007", 6, big, 3000, NULL, NULL), STORE_NOMEM);
    store_put_opts_t ex = {.expiry_ms = store_now_ms(st) + 100000};
    after = stats_of(st);
    expect_same_alloc_state(&before, &after, "after refused puts of other sizes");
    expect_filled(st, "f%05u", 0, n, 1, sizeof(val));
    ck_assert_int_eq(store_exists(st, "new", 3), STORE_NOT_FOUND);
    /* Reads and deletes go on; freed chunks are reused by the same class. */
    del_n(st, "f%05u", 0, n, 2);
    store_stats_t freed = stats_of(st);
    put_n(st, "g%05u", 0, (n + 1) / 2, sizeof(val));
    ck_assert_uint_eq(stats_of(st).pages_free, freed.pages_free);
    ck_assert_int_eq(store_put(st, "one-more", 8, val, sizeof(val), &ex, NULL), STORE_NOMEM);
    expect_filled(st, "f%05u", 1, n, 2, sizeof(val));
    expect_filled(st, "g%05u", 0, (n + 1) / 2, 1, sizeof(val));
    tu_ck_check(st);

    /* Inside a critical section space freed by a delete is reusable only
     * after commit; the failed put leaves the delete standing. */
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_delete_locked(st, "f00001", 6), STORE_OK);
    ck_assert_int_eq(store_put_locked(st, "h", 1, val, sizeof(val), NULL, NULL), STORE_NOMEM);
    store_write_unlock(st);
    ck_assert_int_eq(store_exists(st, "f00001", 6), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists(st, "h", 1), STORE_NOT_FOUND);
    put_ok(st, "h", 1, val, sizeof(val));
    tu_ck_destroy(&r);
}
END_TEST

/* ---- large values ------------------------------------------------------------- */

static char *make_value(const char *key, size_t vlen, uint64_t tag)
{
    char *v = malloc(vlen);
    ck_assert_ptr_nonnull(v);
    tu_val_make(v, vlen, key, strlen(key), tag);
    return v;
}

static void expect_made(store_t *st, const char *key, size_t vlen, uint64_t tag)
{
    store_buf_t b = {0};
    store_meta_t m;
    TU_ASSERT(store_get(st, key, strlen(key), &b, &m) == STORE_OK, "get %s", key);
    uint64_t got;
    const char *bad = tu_val_verify(b.data, b.len, key, strlen(key), &got);
    TU_ASSERT(bad == NULL && b.len == vlen && m.vlen == vlen && got == tag, "%s (%zu bytes): %s", key, vlen,
                  bad ? bad : "wrong length or tag");
    store_buf_free(&b);
}

START_TEST(large_values)
{
    const uint64_t max = 8 * MiB;
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-large", 64 * MiB, max);
    ck_assert_uint_eq(store_max_value(st), max);
    /* Either side of the slab limit (128 KiB items). */
    char *a = make_value("slab", 131000, 1), *b = make_value("pages", 131100, 2);
    put_ok(st, "slab", 4, a, 131000);
    store_stats_t s0 = stats_of(st);
    put_ok(st, "pages", 5, b, 131100);
    store_stats_t s1 = stats_of(st);
    ck_assert_uint_eq(s0.pages_free - s1.pages_free, 33);
    int c = class_with_chunk(&s1, 128 * 1024);
    ck_assert(c >= 0 && s1.classes[c].used == 1);
    expect_made(st, "slab", 131000, 1);
    expect_made(st, "pages", 131100, 2);
    free(a);
    free(b);

    const size_t sizes[] = {3 * MiB, 5 * MiB, max};
    const char *keys[] = {"L3", "L5", "L8"};
    uint64_t pages = 0;
    for (int i = 0; i < 3; i++) {
        char *v = make_value(keys[i], sizes[i], 10 + i);
        put_ok(st, keys[i], 2, v, sizes[i]);
        free(v);
        pages += sizes[i] / 4096 + 1; /* the item header spills into one more page */
    }
    store_stats_t s2 = stats_of(st);
    ck_assert_uint_eq(s1.pages_free - s2.pages_free, pages);
    for (int i = 0; i < 3; i++)
        expect_made(st, keys[i], sizes[i], 10 + i);

    /* One byte over the limit is refused and changes nothing. */
    char *over = calloc(1, max + 1);
    ck_assert_ptr_nonnull(over);
    ck_assert_int_eq(store_put(st, "over", 4, over, max + 1, NULL, NULL), STORE_TOO_BIG);
    ck_assert_msg(strstr(store_error_detail(), "limit") != NULL, "detail: %s", store_error_detail());
    ck_assert_int_eq(store_put(st, "L3", 2, over, max + 1, NULL, NULL), STORE_TOO_BIG);
    free(over);
    store_stats_t s3 = stats_of(st);
    expect_same_alloc_state(&s2, &s3, "after refused oversized puts");
    expect_made(st, "L3", 3 * MiB, 10);

    /* Large replaced by large, then everything large deleted: the pages
     * come back (page runs, unlike slab runs, return to the pool). */
    char *v = make_value("L3", 6 * MiB, 99);
    put_ok(st, "L3", 2, v, 6 * MiB);
    free(v);
    expect_made(st, "L3", 6 * MiB, 99);
    tu_ck_check(st);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(store_delete(st, keys[i], 2), STORE_OK);
    ck_assert_int_eq(store_delete(st, "pages", 5), STORE_OK);
    ck_assert_uint_eq(stats_of(st).pages_free, s0.pages_free);
    expect_made(st, "slab", 131000, 1);
    tu_ck_destroy(&r);
}
END_TEST

START_TEST(large_value_limits)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-large", 8 * MiB, 0);
    ck_assert_uint_eq(store_max_value(st), STORE_DEFAULT_MAX_VALUE);
    char *v = calloc(1, STORE_DEFAULT_MAX_VALUE + 1);
    ck_assert_ptr_nonnull(v);
    /* Over the limit: too big, whatever the room. Under it but over the
     * region's room: out of memory. */
    ck_assert_int_eq(store_put(st, "k", 1, v, STORE_DEFAULT_MAX_VALUE + 1, NULL, NULL), STORE_TOO_BIG);
    ck_assert_int_eq(store_put(st, "k", 1, v, STORE_DEFAULT_MAX_VALUE, NULL, NULL), STORE_NOMEM);
    ck_assert_int_eq(store_put(st, "k", 1, v, 7 * MiB, NULL, NULL), STORE_NOMEM);
    free(v);
    char *small = make_value("k", 4 * MiB, 5);
    put_ok(st, "k", 1, small, 4 * MiB);
    free(small);
    expect_made(st, "k", 4 * MiB, 5);
    /* Small to large and back, through every path. */
    small = make_value("k", 100, 6);
    put_ok(st, "k", 1, small, 100);
    free(small);
    expect_made(st, "k", 100, 6);
    small = make_value("k", 2 * MiB, 7);
    put_ok(st, "k", 1, small, 2 * MiB);
    free(small);
    expect_made(st, "k", 2 * MiB, 7);
    tu_ck_destroy(&r);
}
END_TEST

/* ---- hash growth ---------------------------------------------------------------- */

static void expect_counter_keys(store_t *st, unsigned n)
{
    char key[32], want[32];
    store_buf_t b = {0};
    for (unsigned i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "key%08u", i);
        int vl = snprintf(want, sizeof(want), "v%u", i);
        TU_ASSERT(store_get(st, key, (size_t)kl, &b, NULL) == STORE_OK, "%s lost (of %u)", key, n);
        TU_ASSERT(b.len == (size_t)vl && memcmp(b.data, want, b.len) == 0, "%s has a wrong value", key);
    }
    store_buf_free(&b);
}

/* The writer mutex excludes whether a waiter gets it while spinning (a
 * hold shorter than the spin) or after blocking (a longer one): a waiter
 * never holds it before the holder has released it. */
START_TEST(writer_waits_for_holder)
{
    static const unsigned hold_us[] = {0, 2, 20, 3000};
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-spin", 4 * MiB, 0);
    volatile int *flags = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne((void *)flags, MAP_FAILED);
    for (unsigned i = 0; i < sizeof(hold_us) / sizeof(hold_us[0]); i++) {
        for (int round = 0; round < 50; round++) {
            flags[0] = flags[1] = 0;
            pid_t pid = tu_ck_fork();
            if (pid == 0) {
                if (store_write_lock(st) != STORE_OK)
                    _exit(2);
                __atomic_store_n(&flags[0], 1, __ATOMIC_SEQ_CST); /* holding */
                struct timespec ts = {0, (long)hold_us[i] * 1000};
                nanosleep(&ts, NULL);
                __atomic_store_n(&flags[1], 1, __ATOMIC_SEQ_CST); /* releasing */
                store_write_unlock(st);
                _exit(0);
            }
            while (!__atomic_load_n(&flags[0], __ATOMIC_SEQ_CST))
                ;
            ck_assert_int_eq(store_write_lock(st), STORE_OK);
            int released = __atomic_load_n(&flags[1], __ATOMIC_SEQ_CST);
            store_write_unlock(st);
            ck_assert_msg(released, "hold %u us: the waiter got the mutex while the holder held it", hold_us[i]);
            ck_assert_int_eq(tu_ck_wait(pid), 0);
        }
    }
    munmap((void *)flags, 4096);
    tu_ck_check(st);
    tu_ck_destroy(&r);
}
END_TEST

/* The prefetch hints walk the hash chains and the skiplist without the
 * mutex: racing a writer that inserts and deletes all the time, they
 * never fault (ASan runs this too), and the store stays whole. */
START_TEST(prefetch_races_writers)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-prefetch", 16 * MiB, 0);
    put_n(st, "p%05u", 0, 4000, 40);
    pid_t pid = tu_ck_fork();
    if (pid == 0) { /* the writer: churn for a while */
        tu_rng_t rng = {7};
        char k[16];
        for (int i = 0; i < 60000; i++) {
            int kl = snprintf(k, sizeof(k), "p%05u", (unsigned)tu_below(&rng, 8000));
            store_err_t e = tu_below(&rng, 2) ? store_put(st, k, (size_t)kl, k, (size_t)kl, NULL, NULL)
                                              : store_delete(st, k, (size_t)kl);
            if (e != STORE_OK && e != STORE_NOT_FOUND)
                _exit(2);
        }
        _exit(0);
    }
    tu_rng_t rng = {8};
    char k[STORE_PREFETCH_MAX][16];
    store_key_t keys[STORE_PREFETCH_MAX];
    for (int round = 0; round < 20000; round++) {
        for (unsigned i = 0; i < STORE_PREFETCH_MAX; i++) {
            int kl = snprintf(k[i], sizeof(k[i]), "p%05u", (unsigned)tu_below(&rng, 9000));
            keys[i] = (store_key_t){k[i], (size_t)kl};
        }
        store_prefetch_keys(st, keys, 1 + (unsigned)tu_below(&rng, STORE_PREFETCH_MAX));
    }
    ck_assert_int_eq(tu_ck_wait(pid), 0);
    tu_ck_check(st);
    tu_ck_destroy(&r);
}
END_TEST

START_TEST(hash_growth)
{
    const unsigned n = 200000;
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "unit-grow", 32 * MiB, 0);
    tu_rng_t rng = {42};
    char key[32], val[32];
    store_buf_t b = {0};
    unsigned growths_seen = 0;
    uint64_t buckets = stats_of(st).hash_buckets, last_checked_buckets = 0;
    ck_assert_uint_eq(buckets, 1024);
    for (unsigned i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "key%08u", i);
        int vl = snprintf(val, sizeof(val), "v%u", i);
        /* Prefetch hints (pipelined requests) before the put, also while a
         * rehash has two tables: they must change nothing. */
        store_key_t hint[2] = {{key, (size_t)kl}, {"key00000000", 11}}; /* absent, then present */
        store_prefetch_keys(st, hint, 2);
        put_ok(st, key, (size_t)kl, val, (size_t)vl);
        TU_ASSERT(store_get(st, key, (size_t)kl, &b, NULL) == STORE_OK, "%s lost right after its put", key);
        unsigned j = (unsigned)tu_below(&rng, i + 1);
        kl = snprintf(key, sizeof(key), "key%08u", j);
        vl = snprintf(val, sizeof(val), "v%u", j);
        TU_ASSERT(store_get(st, key, (size_t)kl, &b, NULL) == STORE_OK, "%s lost after %u puts", key, i + 1);
        TU_ASSERT(b.len == (size_t)vl && memcmp(b.data, val, b.len) == 0, "%s has a wrong value", key);
        if (i % 32 != 0)
            continue;
        store_stats_t s = stats_of(st);
        TU_ASSERT(s.hash_buckets >= buckets, "hash table shrank");
        buckets = s.hash_buckets;
        if (s.rehashing && s.hash_buckets != last_checked_buckets) {
            /* Half-way through a rehash: every key is reachable. */
            expect_counter_keys(st, i + 1);
            tu_ck_check(st);
            last_checked_buckets = s.hash_buckets;
            growths_seen++;
        }
    }
    store_buf_free(&b);
    store_stats_t s = stats_of(st);
    ck_assert_uint_eq(s.items, n);
    ck_assert_uint_eq(s.hash_buckets, 1u << 18);
    ck_assert(!s.rehashing);
    ck_assert_uint_eq(growths_seen, 8); /* 1024 -> 262144 buckets */
    expect_counter_keys(st, n);
    uint64_t count;
    store_range_t q = {0};
    ck_assert_int_eq(store_range_count(st, &q, &count), STORE_OK);
    ck_assert_uint_eq(count, n);
    tu_ck_destroy(&r);
}
END_TEST

/* ---- damaged regions ------------------------------------------------------------- */

/* Memory the seqlock cannot protect (a stray write, a bad disk image) may
 * hold anything. Readers must still stay inside the region and finish:
 * any answer, never a crash or a hang. */
static void read_everything_somehow(store_t *st, tu_rng_t *r)
{
    store_buf_t b = {0};
    store_rows_t rows = {0};
    char k[16], k2[16];
    for (int i = 0; i < 2000; i++) {
        int kl = snprintf(k, sizeof(k), "d%05u", (unsigned)tu_below(r, 2500));
        (void)store_get(st, k, (size_t)kl, &b, NULL);
        store_key_t hint = {k, (size_t)kl};
        store_prefetch_keys(st, &hint, 1); /* hints read scribbled buckets and links too */
        store_range_t q = {.lo = {STORE_BOUND_INCL, k, (size_t)kl}, .limit = tu_below(r, 40),
                           .reverse = tu_below(r, 2), .keys_only = tu_below(r, 2)};
        if (tu_below(r, 2)) { /* a high bound too, of any kind, maybe no key */
            int kl2 = snprintf(k2, sizeof(k2), tu_below(r, 2) ? "d%05u" : "d%05u.", (unsigned)tu_below(r, 2600));
            q.hi = (store_bound_t){tu_below(r, 2) ? STORE_BOUND_EXCL : STORE_BOUND_INCL, k2, (size_t)kl2};
            q.lo.kind = (store_bound_kind_t)tu_below(r, 3);
        }
        if (tu_below(r, 8) == 0)
            q.limit = 0;
        (void)store_range(st, &q, &rows);
        uint64_t n;
        (void)store_range_count(st, &q, &n);
    }
    (void)store_check(st, NULL, 0);
    store_buf_free(&b);
    store_rows_free(&rows);
}

static store_t *damaged_fixture(tu_region_t *r)
{
    store_t *st = tu_ck_create(r, "unit-damage", 16 * MiB, 0);
    put_n(st, "d%05u", 0, 2500, 60);
    put_n(st, "d%05u", 2500, 2510, 200000);
    return st;
}

static void remove_damaged(tu_region_t *r)
{
    store_close(r->st);
    ck_assert(store_unlink(r->path) == 0);
}

START_TEST(scribbled_region_reads_end)
{
    tu_region_t r;
    store_t *st = damaged_fixture(&r);
    store_stats_t s = stats_of(st);
    uint64_t used = (s.pages_total - s.pages_free) * 4096;
    if (used > 512 * 1024)
        used = 512 * 1024; /* the hash tables and small items; not the big values */
    tu_rng_t rng = {(uint64_t)_i + 1};
    for (int i = 0; i < 200; i++) { /* random words over the index and items */
        uint64_t off = st->arena_off + (tu_below(&rng, used) & ~3ull);
        uint32_t v = (uint32_t)tu_rand(&rng);
        memcpy(st->base + off, &v, 4);
    }
    pid_t pid = tu_ck_fork();
    if (pid == 0) {
        alarm(120);
        read_everything_somehow(st, &rng);
        _exit(0);
    }
    int status = tu_ck_wait(pid);
    char text[64];
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "seed %d: reader %s", _i + 1,
                  tu_status_text(status, text, sizeof(text)));
    remove_damaged(&r);
}
END_TEST

/* Specific damage is named by store_check and leaves reads working. */
START_TEST(check_names_damage)
{
    static const char *const expect[] = {"hash does not match", "skiplist", "item count", "class"};
    tu_region_t r;
    store_t *st = damaged_fixture(&r);
    region_hdr_t *h = st->hdr;
    item_t *first = ref_ptr(st, h->sl_head[0]);
    switch (_i) {
    case 0: first->hash ^= 1; break;
    case 1: h->sl_head[0] = first->hnext ? first->hnext : h->sl_head[1]; break;
    case 2: h->items++; break;
    case 3: h->classes[5].used++; break;
    }
    char report[256];
    ck_assert_int_eq(store_check(st, report, sizeof(report)), STORE_CORRUPT);
    ck_assert_msg(strstr(report, expect[_i]) != NULL, "case %d: report '%s' should say '%s'", _i, report,
                  expect[_i]);
    ck_assert(strstr(store_error_detail(), report) != NULL);
    tu_rng_t rng = {9};
    read_everything_somehow(st, &rng);
    remove_damaged(&r);
}
END_TEST

static Suite *unit_suite(void)
{
    Suite *s = suite_create("store-unit");
    TCase *tc = tcase_create("region");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, parse_size);
    tcase_add_test(tc, create_mode_and_size);
    tcase_add_test(tc, create_refuses_bad_options);
    tcase_add_test(tc, create_is_exclusive);
    tcase_add_test(tc, attach_shares_the_region);
    tcase_add_test(tc, attach_refuses_bad_regions);
    tcase_add_test(tc, attach_refuses_foreign_file);
    suite_add_tcase(s, tc);
    tc = tcase_create("alloc");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, alloc_stats_follow_items);
    tcase_add_test(tc, alloc_out_of_memory);
    tcase_add_test(tc, large_values);
    tcase_add_test(tc, large_value_limits);
    tcase_add_test(tc, hash_growth);
    tcase_add_test(tc, writer_waits_for_holder);
    tcase_add_test(tc, prefetch_races_writers);
    suite_add_tcase(s, tc);
    tc = tcase_create("damage");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, scribbled_region_reads_end, 0, 12);
    tcase_add_loop_test(tc, check_names_damage, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(unit_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
