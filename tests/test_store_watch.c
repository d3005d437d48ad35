/*
 * test_store_watch.c — the store's support for RESP transactions: WATCH
 * (store_watch / store_watch_changed_locked and the delete stamps),
 * store_mget's one view, the _locked reads inside a section, and
 * store_write_error; a section of many changes is one record, a section
 * that only reads is none.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "store/hash.h"
#include "store/layout.h"
#include "store/store.h"
#include "tests/store_testutil.h"

static tu_region_t reg;
static store_t *st;

static void setup(void)
{
    st = tu_ck_create(&reg, "watch", 8u << 20, 0);
    tu_fake_now = 1000000;
    store_set_clock(st, tu_fake_clock);
}

static void teardown(void)
{
    tu_ck_destroy(&reg);
}

static void put(const char *k, const char *v, uint64_t expiry)
{
    store_put_opts_t o = {.expiry_ms = expiry};
    ck_assert_int_eq(store_put(st, k, strlen(k), v, strlen(v), &o, NULL), STORE_OK);
}

static bool changed(const char *k, const store_watch_t *w)
{
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    bool c = store_watch_changed_locked(st, k, strlen(k), w);
    store_write_abort(st);
    return c;
}

static store_watch_t watch(const char *k)
{
    store_watch_t w;
    ck_assert_int_eq(store_watch(st, k, strlen(k), &w), STORE_OK);
    return w;
}

START_TEST(every_change_is_seen)
{
    put("a", "1", 0);
    store_watch_t w = watch("a");
    ck_assert(w.live);
    ck_assert(!changed("a", &w));
    put("b", "x", 0); /* another key */
    ck_assert(!changed("a", &w));
    put("a", "2", 0); /* written */
    ck_assert(changed("a", &w));

    w = watch("a");
    ck_assert_int_eq(store_delete(st, "a", 1), STORE_OK); /* deleted */
    ck_assert(changed("a", &w));

    put("a", "1", 0);
    w = watch("a");
    ck_assert_int_eq(store_expire(st, "a", 1, tu_fake_now + 5000), STORE_OK); /* expiry set */
    ck_assert(changed("a", &w));

    w = watch("a");
    tu_fake_now += 6000; /* expired while watched, not yet removed */
    ck_assert(changed("a", &w));

    w = watch("a"); /* expired at WATCH and still there: no change */
    ck_assert(!w.live);
    ck_assert(!changed("a", &w));

    put("c", "1", 0);
    w = watch("c");
    ck_assert_int_eq(store_clear(st), STORE_OK); /* cleared */
    ck_assert(changed("c", &w));
}
END_TEST

/* Absent at WATCH: created (seen as a live item), or created and deleted
 * again (only the delete stamp is left), or created with an expiry that
 * passed (an item newer than the WATCH). */
START_TEST(absent_key_aba)
{
    store_watch_t w = watch("n");
    ck_assert(!w.live);
    ck_assert(!changed("n", &w));
    put("n", "1", 0);
    ck_assert(changed("n", &w));

    w = watch("m");
    put("m", "1", 0);
    ck_assert_int_eq(store_delete(st, "m", 1), STORE_OK);
    ck_assert(changed("m", &w));

    w = watch("e");
    put("e", "1", tu_fake_now + 10);
    tu_fake_now += 20;
    ck_assert(changed("e", &w));

    /* A delete stamp older than the WATCH does not count. */
    put("o", "1", 0);
    ck_assert_int_eq(store_delete(st, "o", 1), STORE_OK);
    w = watch("o");
    ck_assert(!changed("o", &w));
}
END_TEST

/* Keys whose hash falls (same) or not (other) in k's delete slot. */
static void slot_keys(const char *k, char *same, char *other)
{
    uint32_t slot = hash_key(k, strlen(k)) % STORE_DEL_STAMPS;
    same[0] = other[0] = '\0';
    for (unsigned i = 0; !same[0] || !other[0]; i++) {
        char cand[32];
        snprintf(cand, sizeof(cand), "k%u", i);
        bool hit = hash_key(cand, strlen(cand)) % STORE_DEL_STAMPS == slot;
        if (hit && !same[0])
            strcpy(same, cand);
        if (!hit && !other[0])
            strcpy(other, cand);
    }
}

/* The documented false alarm: an absent key whose delete slot another
 * key's delete stamped since WATCH; a key of another slot does not. */
START_TEST(shared_slot_false_alarm)
{
    const char *k = "watched";
    char same[32], other[32];
    slot_keys(k, same, other);
    put(same, "1", 0);
    put(other, "1", 0);
    store_watch_t w = watch(k);
    ck_assert_int_eq(store_delete(st, other, strlen(other)), STORE_OK);
    ck_assert(!changed(k, &w));
    ck_assert_int_eq(store_delete(st, same, strlen(same)), STORE_OK);
    ck_assert(changed(k, &w)); /* false alarm: allowed, never a missed change */
}
END_TEST

/* An aborted delete leaves no stamp (the journal undoes it). */
START_TEST(aborted_delete_leaves_no_stamp)
{
    char same[32], other[32];
    slot_keys("absent", same, other);
    put(same, "1", 0);
    store_watch_t w = watch("absent");
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_delete_locked(st, same, strlen(same)), STORE_OK);
    store_write_abort(st);
    ck_assert(!changed("absent", &w));
    ck_assert_int_eq(store_exists(st, same, strlen(same)), STORE_OK);
}
END_TEST

START_TEST(mget_one_view)
{
    put("a", "1", 0);
    put("b", "22", 0);
    put("e", "x", tu_fake_now + 1);
    tu_fake_now += 5;
    store_key_t keys[] = {{"a", 1}, {"zz", 2}, {"b", 1}, {"e", 1}, {"a", 1}};
    store_mget_row_t rows[5];
    store_buf_t vals = {0};
    ck_assert_int_eq(store_mget(st, keys, 5, &vals, rows), STORE_OK);
    ck_assert(rows[0].found && rows[0].len == 1 && memcmp(vals.data + rows[0].off, "1", 1) == 0);
    ck_assert(!rows[1].found);
    ck_assert(rows[2].found && rows[2].len == 2 && memcmp(vals.data + rows[2].off, "22", 2) == 0);
    ck_assert(!rows[3].found); /* expired */
    ck_assert(rows[4].found && memcmp(vals.data + rows[4].off, "1", 1) == 0);
    store_buf_free(&vals);
}
END_TEST

/* A section's reads see its own writes; many changes are one LSN and one
 * record; a read-only section writes none. */
/* A region with a 1 MiB change ring (values up to 64 KiB). */
static store_t *ring_region(tu_region_t *r, const char *tag)
{
    store_t *s = NULL;
    tu_path(r->path, sizeof(r->path), tag);
    store_options_t o = {.size = 8u << 20, .max_value_size = 64u << 10, .ring_size = 1u << 20};
    ck_assert_int_eq(store_create(r->path, &o, &s), STORE_OK);
    return r->st = s;
}

START_TEST(section_reads_and_one_record)
{
    tu_region_t r2;
    store_t *rst = ring_region(&r2, "watchring");
    store_ring_stats_t before, after;
    uint64_t lsn = store_last_lsn(rst);
    ck_assert_int_eq(store_write_lock(rst), STORE_OK);
    ck_assert(store_in_write(rst));
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%02d", i);
        ck_assert_int_eq(store_put_locked(rst, k, strlen(k), "v", 1, NULL, NULL), STORE_OK);
    }
    ck_assert_int_eq(store_delete_locked(rst, "k00", 3), STORE_OK);
    ck_assert_int_eq(store_exists_locked(rst, "k00", 3), STORE_NOT_FOUND);
    ck_assert_int_eq(store_exists_locked(rst, "k01", 3), STORE_OK);
    store_range_t q = {.lo = {STORE_BOUND_INCL, "k", 1}, .hi = {STORE_BOUND_INCL, "k~", 2}, .keys_only = true};
    uint64_t n = 0;
    ck_assert_int_eq(store_range_count_locked(rst, &q, &n), STORE_OK);
    ck_assert_uint_eq(n, 19);
    store_rows_t rows = {0};
    ck_assert_int_eq(store_range_locked(rst, &q, &rows), STORE_OK);
    ck_assert_uint_eq(rows.count, 19);
    store_rows_free(&rows);
    ck_assert_int_eq(store_write_error(rst), STORE_OK);
    store_write_unlock(rst);
    ck_assert(!store_in_write(rst));
    ck_assert_uint_eq(store_last_lsn(rst), lsn + 1); /* one LSN for the section */
    store_ring_stats(rst, &before);
    ck_assert_int_eq(store_write_lock(rst), STORE_OK);
    ck_assert_int_eq(store_exists_locked(rst, "k05", 3), STORE_OK);
    store_write_unlock(rst);
    store_ring_stats(rst, &after);
    ck_assert_uint_eq(after.commit, before.commit); /* a read-only section logs nothing */
    ck_assert_uint_eq(store_last_lsn(rst), lsn + 1);
    tu_ck_destroy(&r2);
}
END_TEST

/* Refusals are not section failures; lack of room is, and stays until the
 * section ends. */
START_TEST(write_error_records_lack_of_room)
{
    tu_region_t r2;
    store_t *rst = ring_region(&r2, "watchbig");
    static char val[60000];
    ck_assert_int_eq(store_write_lock(rst), STORE_OK);
    store_put_opts_t nx = {.flags = STORE_PUT_NX};
    ck_assert_int_eq(store_put_locked(rst, "a", 1, "1", 1, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_put_locked(rst, "a", 1, "1", 1, &nx, NULL), STORE_EXISTS);
    ck_assert_int_eq(store_put_locked(rst, "b", 1, val, 100000, NULL, NULL), STORE_TOO_BIG);
    ck_assert_int_eq(store_write_error(rst), STORE_OK);
    store_err_t err = STORE_OK;
    for (int i = 0; i < 100 && err == STORE_OK; i++) {
        char k[16];
        snprintf(k, sizeof(k), "big%d", i);
        err = store_put_locked(rst, k, strlen(k), val, sizeof(val), NULL, NULL);
    }
    ck_assert_int_eq(err, STORE_TXN_TOO_BIG); /* the section outgrew the ring */
    ck_assert_int_eq(store_write_error(rst), STORE_TXN_TOO_BIG);
    ck_assert_int_eq(store_put_locked(rst, "c", 1, "1", 1, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_write_error(rst), STORE_TXN_TOO_BIG);
    store_write_abort(rst);
    ck_assert_int_eq(store_write_error(rst), STORE_OK);
    ck_assert_int_eq(store_exists(rst, "a", 1), STORE_NOT_FOUND);
    tu_ck_destroy(&r2);
}
END_TEST

/* store_check refuses a stamp ahead of the last LSN. */
START_TEST(check_validates_stamps)
{
    put("a", "1", 0);
    ck_assert_int_eq(store_delete(st, "a", 1), STORE_OK);
    tu_ck_check(st);
    region_hdr_t *h = (region_hdr_t *)((struct store *)st)->base;
    uint64_t saved = h->del_lsn[7];
    h->del_lsn[7] = h->next_lsn + 1;
    char report[256];
    ck_assert_int_eq(store_check(st, report, sizeof(report)), STORE_CORRUPT);
    ck_assert_msg(strstr(report, "delete stamp") != NULL, "%s", report);
    h->del_lsn[7] = saved;
    h->clear_lsn = h->next_lsn + 1;
    ck_assert_int_eq(store_check(st, report, sizeof(report)), STORE_CORRUPT);
    h->clear_lsn = 0;
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("store_watch");
    TCase *tc = tcase_create("watch");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, every_change_is_seen);
    tcase_add_test(tc, absent_key_aba);
    tcase_add_test(tc, shared_slot_false_alarm);
    tcase_add_test(tc, aborted_delete_leaves_no_stamp);
    tcase_add_test(tc, mget_one_view);
    tcase_add_test(tc, section_reads_and_one_record);
    tcase_add_test(tc, write_error_records_lack_of_room);
    tcase_add_test(tc, check_validates_stamps);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    Suite *s = suite();
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
