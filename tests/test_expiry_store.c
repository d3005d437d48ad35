/*
 * test_expiry_store.c — the store's active expiry (store_expire_sweep) and
 * its counters of items with an expiry, with the fake clock: the sweep
 * removes exactly the expired items, keeps to its budget, resumes from the
 * cursor in the region from any handle, backs off when the mutex is taken
 * or the change ring is over half full, logs each batch as one record that
 * replays to the same state, and a writer killed inside a batch is rolled
 * back cleanly. The counters stay right through every kind of write,
 * rollback and clear (store_check verifies them).
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/record.h"
#include "store/replay.h"
#include "tests/robust_probe.h"
#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define NOW 1700000000000ull
#define SOON (NOW + 1000)  /* expired at LATER */
#define LATER (NOW + 2000)
#define FAR (NOW + 1000000)

static store_t *create(tu_region_t *r, const char *tag, uint64_t ring)
{
    tu_path(r->path, sizeof(r->path), tag);
    store_options_t o = {.size = 16 * MiB, .max_value_size = 16 * 1024, .ring_size = ring};
    store_err_t err = store_create(r->path, &o, &r->st);
    ck_assert_msg(err == STORE_OK, "store_create: %s", store_error_detail());
    store_set_clock(r->st, tu_fake_clock);
    return r->st;
}

static void key_of(char *buf, size_t n, unsigned i)
{
    snprintf(buf, n, "key:%06u", i);
}

/* Key i: no expiry if i % 3 == 0, expires at SOON if 1, at FAR if 2. */
static uint64_t expiry_of(unsigned i)
{
    return i % 3 == 0 ? 0 : i % 3 == 1 ? SOON : FAR;
}

static void load(store_t *st, unsigned n, uint64_t (*expiry)(unsigned))
{
    char k[32];
    for (unsigned i = 0; i < n; i++) {
        key_of(k, sizeof(k), i);
        store_put_opts_t o = {.expiry_ms = expiry(i)};
        store_err_t err = store_put(st, k, strlen(k), "value", 5, &o, NULL);
        TU_ASSERT(err == STORE_OK, "put %s: %s", k, store_error_detail());
    }
}

static uint64_t expires_now(store_t *st)
{
    store_expiry_stats_t e;
    store_expiry_stats(st, tu_fake_now, &e);
    return e.expires;
}

/* Sweeps rounds until the cursor wraps; returns the items removed. */
static uint64_t sweep_round(store_t *st, unsigned visits, unsigned deletes, unsigned *calls)
{
    uint64_t total = 0;
    unsigned n = 0;
    for (;;) {
        store_sweep_t s;
        store_err_t err = store_expire_sweep(st, tu_fake_now, visits, deletes, &s);
        ck_assert_msg(err == STORE_OK, "sweep: %s", store_error_detail());
        ck_assert_uint_le(s.deleted, deletes);
        total += s.deleted;
        n++;
        if (s.wrapped || s.visited == 0)
            break;
        ck_assert_uint_lt(n, 1000000);
    }
    if (calls)
        *calls = n;
    return total;
}

START_TEST(sweep_removes_exactly_the_expired)
{
    tu_region_t r;
    store_t *st = create(&r, "exp-exact", 0);
    tu_fake_now = NOW;
    load(st, 3000, expiry_of);
    ck_assert_uint_eq(expires_now(st), 2000);
    /* Nothing has expired yet: a full round removes nothing. */
    ck_assert_uint_eq(sweep_round(st, 4096, 64, NULL), 0);
    ck_assert_uint_eq(store_count(st), 3000);
    tu_fake_now = LATER;
    ck_assert_uint_eq(sweep_round(st, 4096, 64, NULL), 1000);
    ck_assert_uint_eq(store_count(st), 2000);
    char k[32];
    for (unsigned i = 0; i < 3000; i++) {
        key_of(k, sizeof(k), i);
        store_meta_t m;
        store_err_t err = store_get(st, k, strlen(k), NULL, &m);
        TU_ASSERT(err == (i % 3 == 1 ? STORE_NOT_FOUND : STORE_OK), "key %s: %s", k, store_strerror(err));
        TU_ASSERT(err != STORE_OK || m.expiry_ms == expiry_of(i), "key %s: expiry %llu", k,
                  (unsigned long long)m.expiry_ms);
    }
    store_expiry_stats_t e;
    store_expiry_stats(st, tu_fake_now, &e);
    ck_assert_uint_eq(e.expires, 1000);
    ck_assert_uint_eq(e.expired_keys, 1000);
    /* avg_ttl: every remaining expiry is FAR, summed in whole seconds. */
    ck_assert_uint_le(e.avg_ttl_ms, FAR - LATER + 1000);
    ck_assert_uint_ge(e.avg_ttl_ms, FAR - LATER - 1000);
    tu_ck_check(st);
    /* An item that has no expiry left is no longer looked for. */
    tu_fake_now = FAR + 1;
    ck_assert_uint_eq(sweep_round(st, 4096, 64, NULL), 1000);
    ck_assert_uint_eq(expires_now(st), 0);
    store_sweep_t s;
    ck_assert_int_eq(store_expire_sweep(st, tu_fake_now, 100, 10, &s), STORE_OK);
    ck_assert_uint_eq(s.visited, 0);
    ck_assert_uint_eq(store_count(st), 1000);
    tu_ck_destroy(&r);
}
END_TEST

static uint64_t all_soon(unsigned i)
{
    (void)i;
    return SOON;
}

/* Small batches from two handles (two processes' worth): each keeps to
 * its budget, and together they remove everything, each batch going on
 * from where the other stopped. */
START_TEST(sweep_budget_and_cursor)
{
    tu_region_t r;
    store_t *st = create(&r, "exp-budget", 0);
    store_t *other;
    ck_assert_int_eq(store_attach(r.path, &other), STORE_OK);
    store_set_clock(other, tu_fake_clock);
    tu_fake_now = NOW;
    load(st, 2000, all_soon);
    tu_fake_now = LATER;
    uint64_t total = 0;
    unsigned calls = 0;
    for (bool wrapped = false; !wrapped; calls++) {
        store_sweep_t s;
        ck_assert_int_eq(store_expire_sweep(calls % 2 ? other : st, tu_fake_now, 64, 10, &s), STORE_OK);
        ck_assert_uint_le(s.deleted, 10);
        ck_assert_uint_le(s.visited, 64 + 16); /* a bucket is looked at whole */
        /* Every batch makes progress until the round is done. */
        ck_assert(s.deleted > 0 || s.wrapped);
        total += s.deleted;
        wrapped = s.wrapped;
    }
    ck_assert_uint_eq(total, 2000);
    ck_assert_uint_ge(calls, 200);
    ck_assert_uint_eq(store_count(st), 0);
    ck_assert_uint_eq(expires_now(other), 0);
    store_close(other);
    tu_ck_destroy(&r);
}
END_TEST

/* The counters follow every kind of write, failed and rolled-back ones
 * included; store_check recounts them from the items. */
START_TEST(counter_follows_writes)
{
    tu_region_t r;
    store_t *st = create(&r, "exp-count", 1 * MiB);
    tu_fake_now = NOW;
    store_put_opts_t ex = {.expiry_ms = FAR}, none = {0}, keep = {.flags = STORE_PUT_KEEP_EXPIRY};
    store_put_opts_t nx = {.flags = STORE_PUT_NX, .expiry_ms = FAR};
    ck_assert_int_eq(store_put(st, "a", 1, "1", 1, &ex, NULL), STORE_OK);
    ck_assert_int_eq(store_put(st, "b", 1, "1", 1, &none, NULL), STORE_OK);
    ck_assert_uint_eq(expires_now(st), 1);
    ck_assert_int_eq(store_put(st, "a", 1, "22", 2, &keep, NULL), STORE_OK); /* in place, kept */
    ck_assert_int_eq(store_put(st, "a", 1, "333", 3, &ex, NULL), STORE_OK);
    ck_assert_uint_eq(expires_now(st), 1);
    ck_assert_int_eq(store_put(st, "b", 1, "x", 1, &nx, NULL), STORE_EXISTS);
    ck_assert_int_eq(store_expire(st, "b", 1, FAR + 5000), STORE_OK); /* gains one */
    ck_assert_uint_eq(expires_now(st), 2);
    ck_assert_int_eq(store_expire(st, "b", 1, FAR + 9000), STORE_OK); /* changed in place */
    tu_ck_check(st);
    ck_assert_int_eq(store_expire(st, "a", 1, 0), STORE_OK); /* loses it */
    ck_assert_uint_eq(expires_now(st), 1);
    ck_assert_int_eq(store_put(st, "b", 1, "y", 1, &none, NULL), STORE_OK); /* replaced without */
    ck_assert_uint_eq(expires_now(st), 0);
    ck_assert_int_eq(store_put(st, "c", 1, "1", 1, &ex, NULL), STORE_OK);
    ck_assert_int_eq(store_put(st, "d", 1, "1", 1, &ex, NULL), STORE_OK);
    ck_assert_int_eq(store_delete(st, "c", 1), STORE_OK);
    ck_assert_uint_eq(expires_now(st), 1);
    tu_ck_check(st);
    /* An aborted section leaves no trace in the counters. */
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_put_locked(st, "e", 1, "1", 1, &ex, NULL), STORE_OK);
    ck_assert_int_eq(store_delete_locked(st, "d", 1), STORE_OK);
    ck_assert_int_eq(store_expire_locked(st, "a", 1, FAR), STORE_OK);
    store_write_abort(st);
    ck_assert_uint_eq(expires_now(st), 1);
    tu_ck_check(st);
    /* Overwriting an expired item drops its expiry. */
    tu_fake_now = FAR + 1;
    ck_assert_int_eq(store_put(st, "d", 1, "2", 1, &keep, NULL), STORE_OK);
    ck_assert_uint_eq(expires_now(st), 0);
    ck_assert_int_eq(store_put(st, "f", 1, "1", 1, &(store_put_opts_t){.expiry_ms = FAR + 100}, NULL), STORE_OK);
    ck_assert_int_eq(store_clear(st), STORE_OK);
    ck_assert_uint_eq(expires_now(st), 0);
    tu_ck_check(st);
    tu_ck_destroy(&r);
}
END_TEST

/* Moves every record in the ring to rep (a replica replaying the log);
 * returns the records seen and counts DEL operations in *dels. */
static unsigned drain_to(store_t *st, store_t *rep, unsigned *dels)
{
    unsigned records = 0;
    const uint8_t *data;
    uint64_t pos;
    size_t n;
    while ((n = store_ring_peek(st, &pos, &data)) > 0) {
        size_t off = 0;
        while (off + 4 <= n && rd_u32(data + off) != 0) {
            record_t rec;
            size_t used;
            ck_assert_int_eq(record_decode(data + off, n - off, &rec, &used, NULL), RECORD_OK);
            if (dels && rec.type == RECORD_TXN) {
                size_t p = 0;
                record_op_t op;
                while (record_txn_next(&rec, &p, &op)) {
                    ck_assert_int_eq(op.type, RECORD_DEL);
                    (*dels)++;
                }
            } else if (dels) {
                ck_assert_int_eq(rec.type, RECORD_DEL);
                (*dels)++;
            }
            store_err_t err = store_apply_record(rep, &rec);
            ck_assert_msg(err == STORE_OK, "replay: %s", store_error_detail());
            records++;
            off += (used + 7) & ~(size_t)7;
        }
        store_ring_release(st, pos + off);
    }
    return records;
}

static void assert_same(store_t *a, store_t *b)
{
    store_range_t q = {0};
    store_rows_t ra = {0}, rb = {0};
    ck_assert_int_eq(store_range(a, &q, &ra), STORE_OK);
    ck_assert_int_eq(store_range(b, &q, &rb), STORE_OK);
    ck_assert_uint_eq(ra.count, rb.count);
    size_t pa = 0, pb = 0;
    store_row_t x, y;
    while (store_rows_next(&ra, &pa, &x)) {
        ck_assert(store_rows_next(&rb, &pb, &y));
        ck_assert(x.klen == y.klen && memcmp(x.key, y.key, x.klen) == 0);
        ck_assert(x.vlen == y.vlen && memcmp(x.val, y.val, x.vlen) == 0);
        ck_assert_uint_eq(x.expiry_ms, y.expiry_ms);
        ck_assert_uint_eq(x.version, y.version);
    }
    store_rows_free(&ra);
    store_rows_free(&rb);
    ck_assert_uint_eq(store_count(a), store_count(b));
    ck_assert_uint_eq(expires_now(a), expires_now(b));
}

/* Each batch is one log record of DELs, and replaying the log gives the
 * same store: an expired key never comes back. */
START_TEST(sweep_batches_are_records_that_replay)
{
    tu_region_t r, rr;
    store_t *st = create(&r, "exp-log", 4 * MiB);
    store_t *rep = create(&rr, "exp-rep", 0);
    tu_fake_now = NOW;
    load(st, 3000, expiry_of);
    drain_to(st, rep, NULL);
    assert_same(st, rep);
    tu_fake_now = LATER;
    unsigned batches = 0, records = 0, dels = 0;
    uint64_t deleted = 0;
    for (bool wrapped = false; !wrapped;) {
        store_sweep_t s;
        ck_assert_int_eq(store_expire_sweep(st, tu_fake_now, 256, 32, &s), STORE_OK);
        wrapped = s.wrapped;
        deleted += s.deleted;
        batches += s.deleted > 0;
        records += drain_to(st, rep, &dels);
    }
    ck_assert_uint_eq(deleted, 1000);
    ck_assert_uint_eq(records, batches); /* one record per batch that removed something */
    ck_assert_uint_eq(dels, 1000);
    ck_assert_uint_eq(store_count(rep), 2000);
    assert_same(st, rep);
    tu_ck_check(st);
    tu_ck_check(rep);
    tu_ck_destroy(&rr);
    tu_ck_destroy(&r);
}
END_TEST

static uint64_t expired_keys(store_t *st)
{
    store_expiry_stats_t e;
    store_expiry_stats(st, tu_fake_now, &e);
    return e.expired_keys;
}

/* A write that replaces an expired item the sweep has not removed yet
 * removes it: expired_keys counts it (as Redis counts a lazy expiry),
 * once, through every write path; a refused write, a rolled-back section
 * and a replayed record count nothing. */
START_TEST(replacing_an_expired_item_counts)
{
    tu_region_t r, rr;
    store_t *st = create(&r, "exp-lazy", 1 * MiB);
    store_t *rep = create(&rr, "exp-lazy-rep", 0);
    tu_fake_now = NOW;
    store_put_opts_t soon = {.expiry_ms = SOON}, none = {0}, nx = {.flags = STORE_PUT_NX};
    store_put_opts_t xx = {.flags = STORE_PUT_XX}, keep = {.flags = STORE_PUT_KEEP_EXPIRY};
    const char *keys[] = {"a", "b", "c", "d", "e", "f"};
    for (size_t i = 0; i < 6; i++)
        ck_assert_int_eq(store_put(st, keys[i], 1, "1", 1, &soon, NULL), STORE_OK);
    ck_assert_int_eq(store_put(st, "live", 4, "1", 1, &none, NULL), STORE_OK);
    ck_assert_uint_eq(expired_keys(st), 0);
    tu_fake_now = LATER;
    ck_assert_int_eq(store_put(st, "a", 1, "2", 1, &(store_put_opts_t){.expiry_ms = FAR}, NULL), STORE_OK); /* in place */
    ck_assert_uint_eq(expired_keys(st), 1);
    ck_assert_int_eq(store_put(st, "b", 1, "2", 1, &none, NULL), STORE_OK); /* replaced: loses the expiry */
    ck_assert_int_eq(store_put(st, "c", 1, "2", 1, &nx, NULL), STORE_OK);  /* NX: c is not live */
    ck_assert_int_eq(store_put(st, "d", 1, "2", 1, &keep, NULL), STORE_OK);
    ck_assert_uint_eq(expired_keys(st), 4);
    /* Refused (XX on an expired key) or live keys: nothing removed. */
    ck_assert_int_eq(store_put(st, "e", 1, "2", 1, &xx, NULL), STORE_NOT_FOUND);
    ck_assert_int_eq(store_put(st, "a", 1, "3", 1, &none, NULL), STORE_OK);
    ck_assert_int_eq(store_put(st, "live", 4, "2", 1, &none, NULL), STORE_OK);
    ck_assert_uint_eq(expired_keys(st), 4);
    /* A rolled-back section leaves the counter as it was. */
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    ck_assert_int_eq(store_put_locked(st, "e", 1, "2", 1, &none, NULL), STORE_OK);
    ck_assert_uint_eq(expired_keys(st), 5);
    store_write_abort(st);
    ck_assert_uint_eq(expired_keys(st), 4);
    tu_ck_check(st);
    /* The sweep removes what is left (e, f) and counts it, not again. */
    ck_assert_uint_eq(sweep_round(st, 1000, 100, NULL), 2);
    ck_assert_uint_eq(expired_keys(st), 6);
    /* Replaying the log gives the same items; the counter is the region's
     * own (the log does not carry it), so a replay does not move it. */
    tu_fake_now = NOW;
    drain_to(st, rep, NULL);
    tu_fake_now = LATER;
    assert_same(st, rep);
    ck_assert_uint_eq(expired_keys(rep), 0);
    tu_ck_check(st);
    tu_ck_check(rep);
    tu_ck_destroy(&rr);
    tu_ck_destroy(&r);
}
END_TEST

/* The sweep never waits: another writer holding the mutex or a ring over
 * half full (the persister behind) make it return STORE_BUSY unchanged. */
START_TEST(sweep_backs_off)
{
    tu_region_t r;
    store_t *st = create(&r, "exp-busy", 512 * 1024);
    store_t *other;
    ck_assert_int_eq(store_attach(r.path, &other), STORE_OK);
    tu_fake_now = NOW;
    load(st, 300, all_soon);
    tu_fake_now = LATER;
    store_sweep_t s;
    ck_assert_int_eq(store_write_lock(other), STORE_OK);
    ck_assert_int_eq(store_expire_sweep(st, tu_fake_now, 1000, 100, &s), STORE_BUSY);
    ck_assert_uint_eq(s.deleted, 0);
    store_write_unlock(other);
    /* Fill the ring past half with records nobody drains. */
    store_set_ring_wait(st, 0);
    char big[4096];
    memset(big, 'v', sizeof(big));
    store_ring_stats_t rs;
    for (unsigned i = 0; store_ring_stats(st, &rs), rs.used <= rs.size / 2; i++) {
        char k[32];
        snprintf(k, sizeof(k), "filler:%u", i);
        ck_assert_int_eq(store_put(st, k, strlen(k), big, sizeof(big), NULL, NULL), STORE_OK);
    }
    uint64_t before = store_count(st);
    ck_assert_int_eq(store_expire_sweep(st, tu_fake_now, 1000, 100, &s), STORE_BUSY);
    ck_assert_uint_eq(s.deleted, 0);
    ck_assert_uint_eq(store_count(st), before);
    /* The persister catches up: the sweep goes on. */
    const uint8_t *data;
    uint64_t pos;
    size_t n;
    while ((n = store_ring_peek(st, &pos, &data)) > 0)
        store_ring_release(st, pos + n);
    ck_assert_uint_eq(sweep_round(st, 100000, 512, NULL), 300);
    store_close(other);
    tu_ck_destroy(&r);
}
END_TEST

/* A sweeper SIGKILLed inside a batch: the next locker rolls the batch
 * back whole (or keeps it whole, once committed); the store checks clean
 * and the sweep finishes the work. */
static void crash_in_batch(store_crash_point_t cp, unsigned skip, bool committed)
{
    tu_region_t r;
    store_t *st = create(&r, "exp-crash", 4 * MiB);
    tu_fake_now = NOW;
    load(st, 2000, expiry_of); /* 667 expire at SOON */
    tu_fake_now = LATER;
    uint64_t count = store_count(st), expires = expires_now(st);
    pid_t pid = tu_ck_fork();
    if (pid == 0) {
        alarm(20);
        store_test_crash_at(cp, skip);
        store_sweep_t s;
        store_expire_sweep(st, tu_fake_now, 100000, 200, &s);
        _exit(3); /* the crash point was not reached */
    }
    int status = tu_ck_wait(pid);
    char why[256];
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child: %s",
                  tu_status_text(status, why, sizeof(why)));
    tu_ck_check(st); /* takes the mutex: repairs */
    if (committed) {
        ck_assert_uint_eq(count - store_count(st), expires - expires_now(st));
        ck_assert_uint_gt(count, store_count(st));
    } else {
        ck_assert_uint_eq(store_count(st), count);
        ck_assert_uint_eq(expires_now(st), expires);
    }
    /* Whatever survived, a full round leaves exactly the live keys. */
    sweep_round(st, 100000, 512, NULL);
    ck_assert_uint_eq(store_count(st), 2000 - 667);
    ck_assert_uint_eq(expires_now(st), 666); /* those at FAR */
    tu_ck_destroy(&r);
}

START_TEST(crash_unlinked)
{
    crash_in_batch(STORE_CP_UNLINKED, 5, false);
}
END_TEST

START_TEST(crash_freeing)
{
    crash_in_batch(STORE_CP_FREEING, 0, false);
}
END_TEST

START_TEST(crash_committed)
{
    crash_in_batch(STORE_CP_COMMITTED, 0, true);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("expiry_store");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sweep_removes_exactly_the_expired);
    tcase_add_test(tc, sweep_budget_and_cursor);
    tcase_add_test(tc, counter_follows_writes);
    tcase_add_test(tc, sweep_batches_are_records_that_replay);
    tcase_add_test(tc, replacing_an_expired_item_counts);
    tcase_add_test(tc, sweep_backs_off);
    /* A sweeper killed holding the writer mutex needs EOWNERDEAD for the
     * next locker (not under qemu-user: docs/arm.md). */
    char why[256];
    if (probe_robust_mutex(why, sizeof(why))) {
        tcase_add_test(tc, crash_unlinked);
        tcase_add_test(tc, crash_freeing);
        tcase_add_test(tc, crash_committed);
    } else {
        printf("SKIP: crash_unlinked, crash_freeing, crash_committed: %s\n", why);
    }
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
