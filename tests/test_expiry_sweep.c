/*
 * test_expiry_sweep.c — the sweep's removals in key order with their
 * skiplist preds searched a group at a time (store/skiplist.c
 * sl_find_preds_group_locked, sl_removals_*; store/expire.c): the group
 * search finds exactly the preds a search from the head finds, and still
 * does once fixed for the removals made since; removals with them leave a
 * store that checks clean; given preds that miss the item are refused; a
 * sweep over many keys whose expired ones are scattered in key order
 * removes exactly those, with batches of 1 to 512; and a removal that
 * fails half done in the middle of a sorted batch (an injected failure)
 * is rolled back alone while the batch's earlier removals commit and the
 * cursor comes back for the rest.
 *
 * The fake clock tells removed from merely expired: set back before the
 * expiry, a key the sweep left is visible again, a removed one is not.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/hash.h"
#include "store/skiplist.h"
#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define NOW 1700000000000ull
#define SOON (NOW + 1000) /* expired at LATER */
#define LATER (NOW + 2000)
#define FAR (NOW + 1000000)

static void key_of(char *buf, size_t n, unsigned i)
{
    snprintf(buf, n, "key:%08u", i);
}

/* Key i's expiry: SOON for 2 in 5, FAR for 1 in 5, none for the rest,
 * mixed so that expired keys and kept ones alternate irregularly. */
static uint64_t expiry_of(unsigned i)
{
    unsigned c = (unsigned)(((uint64_t)i * 2654435761u) >> 7) % 5;
    return c < 2 ? SOON : c == 2 ? FAR : 0;
}

/* Creates a region with the fake clock at NOW and keys 0..n-1 put in a
 * random order (so neither the hash nor insertion follows key order). */
static store_t *load(tu_region_t *r, const char *tag, unsigned n, uint64_t seed)
{
    store_t *st = tu_ck_create(r, tag, 64 * MiB, 0);
    store_set_clock(st, tu_fake_clock);
    tu_fake_now = NOW;
    unsigned *order = malloc(n * sizeof(*order));
    ck_assert_ptr_nonnull(order);
    for (unsigned i = 0; i < n; i++)
        order[i] = i;
    tu_rng_t rng = {seed};
    for (unsigned i = n; i > 1; i--) {
        unsigned j = (unsigned)tu_below(&rng, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        key_of(k, sizeof(k), order[i]);
        store_put_opts_t o = {.expiry_ms = expiry_of(order[i])};
        store_err_t err = store_put(st, k, strlen(k), k, strlen(k), &o, NULL);
        TU_ASSERT(err == STORE_OK, "put %s: %s", k, store_error_detail());
    }
    free(order);
    return st;
}

/* Counts keys 0..n-1 by what a read at NOW (before any expiry) finds:
 * *gone those the sweep removed, *left the others; asserts that only
 * SOON keys are gone and that each remaining one has its value. */
static void census(store_t *st, unsigned n, unsigned *gone, unsigned *left)
{
    uint64_t saved = tu_fake_now;
    tu_fake_now = NOW;
    *gone = *left = 0;
    char k[32];
    store_buf_t buf = {0};
    for (unsigned i = 0; i < n; i++) {
        key_of(k, sizeof(k), i);
        store_meta_t m;
        store_err_t err = store_get(st, k, strlen(k), &buf, &m);
        TU_ASSERT(err == STORE_OK || (err == STORE_NOT_FOUND && expiry_of(i) == SOON), "key %s: %s", k,
                  store_strerror(err));
        if (err != STORE_OK) {
            (*gone)++;
            continue;
        }
        (*left)++;
        TU_ASSERT(buf.len == strlen(k) && memcmp(buf.data, k, buf.len) == 0 && m.expiry_ms == expiry_of(i),
                  "key %s: wrong value or expiry", k);
    }
    store_buf_free(&buf);
    tu_fake_now = saved;
}

/* Keys among 0..n-1 whose expiry is `expiry`. */
static unsigned count_with(unsigned n, uint64_t expiry)
{
    unsigned c = 0;
    for (unsigned i = 0; i < n; i++)
        c += expiry_of(i) == expiry;
    return c;
}

/* Sweeps until the cursor wraps; returns the items removed. */
static uint64_t sweep_round(store_t *st, unsigned deletes)
{
    uint64_t total = 0;
    for (unsigned calls = 0;; calls++) {
        store_sweep_t s;
        store_err_t err = store_expire_sweep(st, tu_fake_now, 100000, deletes, &s);
        ck_assert_msg(err == STORE_OK, "sweep: %s", store_error_detail());
        ck_assert_uint_le(s.deleted, deletes);
        total += s.deleted;
        if (s.wrapped || s.visited == 0)
            return total;
        ck_assert_uint_lt(calls, 1000000);
    }
}

static void assert_same_preds(uint32_t *a[STORE_MAX_LEVEL], uint32_t *b[STORE_MAX_LEVEL], const char *key,
                              const char *what)
{
    for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
        TU_ASSERT(a[l] == b[l], "key %s: %s pred on level %u differs from the head search's", key, what, l);
}

/* Groups of 1..SL_GROUP_MAX ascending keys, present and absent: the group
 * search gives each the head search's preds and refs; then some of the
 * group's keys are removed in order with those preds, each fixed for the
 * removals before it, and the fixed preds are again the head search's. */
START_TEST(group_search_finds_the_head_searchs_preds)
{
    tu_region_t r;
    const unsigned n = 20000;
    store_t *st = load(&r, "fsw-group", n, 7);
    tu_rng_t rng = {11};
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    static char kb[SL_GROUP_MAX][32];
    static uint32_t *preds[SL_GROUP_MAX][STORE_MAX_LEVEL];
    static ref_t refs[SL_GROUP_MAX][STORE_MAX_LEVEL];
    uint32_t *cold[STORE_MAX_LEVEL];
    ref_t cold_refs[STORE_MAX_LEVEL];
    sl_key_t keys[SL_GROUP_MAX];
    sl_removals_t rm;
    sl_removals_start(&rm);
    unsigned removed = 0, i = 0;
    while (i < n + 50) {
        unsigned g = 1 + (unsigned)tu_below(&rng, SL_GROUP_MAX);
        for (unsigned j = 0; j < g; j++, i += 1 + (unsigned)tu_below(&rng, 4)) {
            /* Keys past n and "key:%08u~" (between two keys) are absent. */
            key_of(kb[j], sizeof(kb[j]), i);
            if (tu_below(&rng, 4) == 0)
                strcat(kb[j], "~");
            keys[j] = (sl_key_t){kb[j], strlen(kb[j])};
        }
        ck_assert_int_eq(sl_find_preds_group_locked(st, keys, g, preds, refs), 0);
        for (unsigned j = 0; j < g; j++) {
            ck_assert_int_eq(sl_find_preds(st, kb[j], keys[j].klen, SL_BEFORE_GE, cold, cold_refs), 0);
            assert_same_preds(preds[j], cold, kb[j], "the group search's");
            for (unsigned l = 0; l < STORE_MAX_LEVEL; l++)
                TU_ASSERT(refs[j][l] == cold_refs[l], "key %s: pred ref on level %u differs", kb[j], l);
        }
        for (unsigned j = 0; j < g; j++) {
            iview_t ov;
            uint32_t *link;
            uint32_t h = hash_key(kb[j], keys[j].klen);
            if (tu_below(&rng, 3) == 0 || hash_find_link_locked(st, kb[j], keys[j].klen, h, &ov, &link) != 1)
                continue;
            sl_removals_fix(&rm, preds[j], refs[j]);
            ck_assert_int_eq(sl_find_preds(st, kb[j], keys[j].klen, SL_BEFORE_GE, cold, NULL), 0);
            assert_same_preds(preds[j], cold, kb[j], "the fixed");
            store_err_t err = store_delete_item_locked(st, kb[j], keys[j].klen, h, &ov, link, preds[j]);
            ck_assert_msg(err == STORE_OK, "delete %s: %s", kb[j], store_error_detail());
            sl_removals_done(&rm, preds[j], &ov);
            if (++removed % 256 == 0) { /* commit before the undo journal fills; nothing is allocated */
                store_write_unlock(st);
                ck_assert_int_eq(store_write_lock(st), STORE_OK);
            }
        }
    }
    store_write_unlock(st);
    ck_assert_uint_gt(removed, 2000);
    ck_assert_uint_eq(store_count(st), n - removed);
    tu_ck_check(st);
    tu_ck_destroy(&r);
}
END_TEST

/* Given preds that do not lead to the item (another key's) are refused,
 * not followed: nothing changes. */
START_TEST(delete_refuses_preds_that_miss_the_item)
{
    tu_region_t r;
    store_t *st = load(&r, "fsw-miss", 2000, 3);
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    uint32_t *preds[STORE_MAX_LEVEL];
    char k[32];
    key_of(k, sizeof(k), 1500);
    ck_assert_int_eq(sl_find_preds(st, k, strlen(k), SL_BEFORE_GE, preds, NULL), 0);
    key_of(k, sizeof(k), 1000);
    iview_t ov;
    uint32_t *link;
    uint32_t h = hash_key(k, strlen(k));
    ck_assert_int_eq(hash_find_link_locked(st, k, strlen(k), h, &ov, &link), 1);
    ck_assert_int_eq(store_delete_item_locked(st, k, strlen(k), h, &ov, link, preds), STORE_CORRUPT);
    store_write_unlock(st);
    ck_assert_uint_eq(store_count(st), 2000);
    tu_ck_check(st);
    tu_ck_destroy(&r);
}
END_TEST

/* Many keys, expired ones scattered in key order, swept with batches of
 * several sizes: exactly the expired keys go, the store checks clean. */
START_TEST(sweep_removes_scattered_expired_keys)
{
    static const unsigned batch[] = {1, 7, 64, 512};
    const unsigned n = 30000, soon = count_with(n, SOON);
    tu_region_t r;
    store_t *st = load(&r, "fsw-drain", n, (uint64_t)_i + 1);
    tu_fake_now = LATER;
    ck_assert_uint_eq(sweep_round(st, batch[_i]), soon);
    unsigned gone, left;
    census(st, n, &gone, &left);
    ck_assert_uint_eq(gone, soon);
    ck_assert_uint_eq(left, n - soon);
    ck_assert_uint_eq(store_count(st), n - soon);
    store_expiry_stats_t e;
    store_expiry_stats(st, tu_fake_now, &e);
    ck_assert_uint_eq(e.expired_keys, soon);
    ck_assert_uint_eq(e.expires, count_with(n, FAR));
    tu_ck_check(st);
    /* A second round finds nothing. */
    ck_assert_uint_eq(sweep_round(st, 512), 0);
    tu_ck_destroy(&r);
}
END_TEST

/* The 101st removal of a 512-item batch fails after unlinking its item:
 * that one is rolled back, the 100 before it commit, the sweep reports
 * the failure, and the next round, starting from the cursor the failed
 * batch left, removes every expired key the batch did not. */
START_TEST(failure_mid_batch_rolls_back_one_removal)
{
    const unsigned n = 10000, soon = count_with(n, SOON);
    tu_region_t r;
    store_t *st = load(&r, "fsw-fail", n, 5);
    tu_fake_now = LATER;
    if (!store_test_fail_free_at(100)) {
        tu_ck_destroy(&r);
        return; /* a build without test hooks */
    }
    store_sweep_t s;
    ck_assert_int_eq(store_expire_sweep(st, tu_fake_now, 100000, 512, &s), STORE_NOMEM);
    ck_assert_uint_eq(s.deleted, 100);
    ck_assert(!s.wrapped);
    ck_assert_uint_eq(store_count(st), n - 100);
    tu_ck_check(st); /* the half-done removal left nothing behind */
    unsigned gone, left;
    census(st, n, &gone, &left);
    ck_assert_uint_eq(gone, 100);
    store_expiry_stats_t e;
    store_expiry_stats(st, tu_fake_now, &e);
    ck_assert_uint_eq(e.expired_keys, 100);
    /* One round from the cursor finishes the work. */
    ck_assert_uint_eq(sweep_round(st, 512), soon - 100);
    census(st, n, &gone, &left);
    ck_assert_uint_eq(gone, soon);
    ck_assert_uint_eq(left, n - soon);
    tu_ck_destroy(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("expiry_sweep");
    TCase *tc = tcase_create("sorted");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, group_search_finds_the_head_searchs_preds);
    tcase_add_test(tc, delete_refuses_preds_that_miss_the_item);
    tcase_add_loop_test(tc, sweep_removes_scattered_expired_keys, 0, 4);
    tcase_add_test(tc, failure_mid_batch_rolls_back_one_removal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
