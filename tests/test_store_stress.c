/*
 * test_store_stress.c — multi-process stress test of the store: 3 reader
 * and 2 writer processes share one region for a few seconds.
 *
 * Every value carries its key, its length and a checksum (store_testutil's
 * self-validating values), so a reader can prove that nothing it sees is
 * torn or belongs to another key. Writers put and delete random keys with
 * values from a few bytes (overwritten in place) to page runs, and run
 * transactions over groups of 4 keys that always commit all 4 with one tag,
 * or are aborted after writing a tag marked "aborted". Stable keys, which
 * no writer touches, sit between the written ones ("k00012+" after
 * "k00012"). Readers do point gets, short forward and reverse scans,
 * whole-group scans and scans over the stable keys with every bound kind,
 * limits, keys_only and byte budgets, and assert: values valid, rows
 * ordered and inside their bounds, every group complete with one tag, never
 * an aborted tag, and every stable key in range present, in order, none
 * skipped, whatever the writers do around it. Children report through their exit
 * status (and a message in shared memory); the parent then checks the
 * region with store_check and every value once more.
 *
 * FICKLE_STRESS_SECONDS overrides the duration (default 3).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define NKEYS 4000
#define NGROUPS 16
#define GROUP_KEYS 4
#define NREADERS 3
#define NWRITERS 2
#define NCHILD (NREADERS + NWRITERS)
#define MAX_VALUE (1u << 20)
#define TAG_ABORTED 1u

typedef struct {
    char msg[NCHILD][256];
    uint64_t ops[NCHILD], gets[NCHILD], scans[NCHILD], nomem[NCHILD];
    store_reader_stats_t rstats[NCHILD];
} shared_t;

static shared_t *sh;
static tu_region_t reg;
static double duration;

/* ---- child plumbing ------------------------------------------------------------- */

__attribute__((format(printf, 2, 3), noreturn)) static void child_fail(int id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sh->msg[id], sizeof(sh->msg[id]), fmt, ap);
    va_end(ap);
    _exit(1);
}

static double mono_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        abort();
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int key_of(char *buf, unsigned i)
{
    return snprintf(buf, 16, "k%05u", i);
}

/* Stable key i: "k%05u+", right after written key i. Never written after
 * populate(). */
static int stable_key(char *buf, unsigned i)
{
    return snprintf(buf, 16, "k%05u+", i);
}

static int group_key(char *buf, unsigned g, unsigned i)
{
    return snprintf(buf, 16, "g/%02u/%u", g, i);
}

/* ---- readers ------------------------------------------------------------------------ */

static void reader_get(int id, store_t *st, tu_rng_t *r, store_buf_t *b)
{
    char k[16];
    int kl = tu_below(r, 8) ? key_of(k, (unsigned)tu_below(r, NKEYS))
                            : group_key(k, (unsigned)tu_below(r, NGROUPS), (unsigned)tu_below(r, GROUP_KEYS));
    store_meta_t m;
    store_err_t err = store_get(st, k, (size_t)kl, b, &m);
    if (err == STORE_NOT_FOUND && k[0] == 'k')
        return;
    if (err != STORE_OK)
        child_fail(id, "get %s: %s (%s)", k, store_strerror(err), store_error_detail());
    const char *bad = tu_val_verify(b->data, b->len, k, (size_t)kl, NULL);
    if (bad || m.vlen != b->len)
        child_fail(id, "get %s: %s (%zu bytes, meta says %u)", k, bad ? bad : "length", b->len, m.vlen);
    sh->gets[id]++;
}

/* A short scan from a random key: ordered, inside the bounds, values valid. */
static void reader_scan(int id, store_t *st, tu_rng_t *r, store_rows_t *rows)
{
    char lo[16], hi[16];
    unsigned a = (unsigned)tu_below(r, NKEYS), span = 1 + (unsigned)tu_below(r, 200);
    store_range_t q = {.limit = 1 + tu_below(r, 30), .reverse = tu_below(r, 2), .keys_only = tu_below(r, 5) == 0};
    q.lo = (store_bound_t){STORE_BOUND_INCL, lo, (size_t)key_of(lo, a)};
    q.hi = (store_bound_t){STORE_BOUND_EXCL, hi, (size_t)key_of(hi, a + span)};
    store_err_t err = store_range(st, &q, rows);
    if (err != STORE_OK)
        child_fail(id, "range: %s (%s)", store_strerror(err), store_error_detail());
    if (rows->count > q.limit)
        child_fail(id, "range: %zu rows over a limit of %zu", rows->count, q.limit);
    size_t pos = 0;
    store_row_t row, prev = {0};
    for (size_t i = 0; store_rows_next(rows, &pos, &row); i++) {
        if (row.klen < 6 || row.klen > 7 || tu_key_cmp(row.key, row.klen, lo, 6) < 0 ||
            tu_key_cmp(row.key, row.klen, hi, 6) >= 0)
            child_fail(id, "range [%s, %s): row %.*s out of bounds", lo, hi, (int)row.klen, row.key);
        if (i > 0 && (tu_key_cmp(prev.key, prev.klen, row.key, row.klen) < 0) == q.reverse)
            child_fail(id, "range [%s, %s): rows out of order at %.*s", lo, hi, (int)row.klen, row.key);
        const char *bad = q.keys_only ? NULL : tu_val_verify(row.val, row.vlen, row.key, row.klen, NULL);
        if (bad)
            child_fail(id, "range row %.*s: %s", (int)row.klen, row.key, bad);
        prev = row;
    }
    sh->scans[id]++;
}

/* A bound for a stable-key scan near index i: a stable key (which is
 * there), a written key (which may be), or none. Sets the stable indexes
 * it admits: *from (lower bound) or *to (upper bound). */
static store_bound_t stable_bound(tu_rng_t *r, char *buf, unsigned i, bool upper, long *lim)
{
    uint64_t p = tu_below(r, 5);
    if (p == 0) /* open */
        return (store_bound_t){STORE_BOUND_NONE, NULL, 0};
    bool excl = p >= 3, stable = tu_below(r, 2);
    int kl = stable ? stable_key(buf, i) : key_of(buf, i);
    /* "k00012" sorts before "k00012+": a written key admits stable i from
     * above (lower bound) and stable i-1 from below (upper bound). */
    if (!upper)
        *lim = stable && excl ? (long)i + 1 : (long)i;
    else
        *lim = stable ? (long)i - excl : (long)i - 1;
    return (store_bound_t){excl ? STORE_BOUND_EXCL : STORE_BOUND_INCL, buf, (size_t)kl};
}

/* Scans among the stable keys with every bound kind, limits, keys_only
 * and byte budgets, while writers change the keys between them: the stable
 * rows are exactly the stable keys in range, in order, from the first
 * one, up to where the limit or the budget stopped the scan. */
static void reader_stable(int id, store_t *st, tu_rng_t *r, store_rows_t *rows)
{
    char lo[16], hi[16];
    unsigned a = (unsigned)tu_below(r, NKEYS), b = a + (unsigned)tu_below(r, tu_below(r, 4) ? 60 : 600);
    long from = 0, to = NKEYS - 1;
    store_range_t q = {.reverse = tu_below(r, 2), .keys_only = tu_below(r, 4) == 0};
    q.lo = stable_bound(r, lo, a, false, &from);
    q.hi = stable_bound(r, hi, b < NKEYS ? b : NKEYS - 1, true, &to);
    uint64_t p = tu_below(r, 4);
    q.limit = p == 0 ? 0 : p == 1 ? 1 + tu_below(r, 10) : 1 + tu_below(r, 400);
    if (tu_below(r, 6) == 0)
        q.max_bytes = 1 + tu_below(r, 20000);
    store_err_t err = store_range(st, &q, rows);
    if (err != STORE_OK)
        child_fail(id, "stable range: %s (%s)", store_strerror(err), store_error_detail());
    if ((q.limit && rows->count > q.limit) || (q.max_bytes && rows->count > 1 && rows->buf.len > q.max_bytes))
        child_fail(id, "stable range: %zu rows, %zu bytes over a limit of %zu, budget %zu", rows->count,
                   rows->buf.len, q.limit, q.max_bytes);
    long next = q.reverse ? to : from; /* the stable key expected next */
    size_t pos = 0;
    store_row_t row, prev = {0};
    char want[16];
    for (size_t i = 0; store_rows_next(rows, &pos, &row); i++) {
        if ((q.lo.kind != STORE_BOUND_NONE &&
             tu_key_cmp(row.key, row.klen, q.lo.key, q.lo.len) < (q.lo.kind == STORE_BOUND_EXCL)) ||
            (q.hi.kind != STORE_BOUND_NONE &&
             tu_key_cmp(row.key, row.klen, q.hi.key, q.hi.len) > -(q.hi.kind == STORE_BOUND_EXCL)))
            child_fail(id, "stable range: row %.*s out of bounds", (int)row.klen, row.key);
        if (i > 0 && (tu_key_cmp(prev.key, prev.klen, row.key, row.klen) < 0) == q.reverse)
            child_fail(id, "stable range: rows out of order at %.*s", (int)row.klen, row.key);
        const char *bad = q.keys_only ? NULL : tu_val_verify(row.val, row.vlen, row.key, row.klen, NULL);
        if (bad)
            child_fail(id, "stable range row %.*s: %s", (int)row.klen, row.key, bad);
        if (row.klen == 7) { /* a stable key: the next one expected */
            stable_key(want, (unsigned)next);
            if (next < from || next > to || memcmp(row.key, want, 7) != 0)
                child_fail(id, "stable range %s%s .. %s%s (%s): row %.*s where %s was due", q.lo.kind ? lo : "-",
                           q.lo.kind == STORE_BOUND_EXCL ? " excl" : "", q.hi.kind ? hi : "+",
                           q.hi.kind == STORE_BOUND_EXCL ? " excl" : "", q.reverse ? "reverse" : "forward", 7,
                           row.key, next < from || next > to ? "none" : want);
            next += q.reverse ? -1 : 1;
        }
        prev = row;
    }
    /* Unless the limit or the budget ended it, the scan saw them all. */
    bool stopped = (q.limit && rows->count == q.limit) || rows->truncated;
    if (!stopped && (q.reverse ? next >= from : next <= to)) {
        stable_key(want, (unsigned)next);
        child_fail(id, "stable range: %s missing (%zu rows)", want, rows->count);
    }
    sh->scans[id]++;
}

/* A group is always whole, with one committed tag. */
static void reader_group(int id, store_t *st, tu_rng_t *r, store_rows_t *rows)
{
    char prefix[16], succ[16];
    unsigned g = (unsigned)tu_below(r, NGROUPS);
    int pl = snprintf(prefix, sizeof(prefix), "g/%02u/", g);
    store_range_t q;
    store_prefix_bounds(&q, prefix, (size_t)pl, succ);
    q.limit = 0;
    q.max_bytes = 0;
    q.keys_only = false;
    q.reverse = tu_below(r, 2);
    if (tu_below(r, 4) == 0) {
        uint64_t n;
        store_err_t err = store_range_count(st, &q, &n);
        if (err != STORE_OK || n != GROUP_KEYS)
            child_fail(id, "group %u: range_count %s, %llu keys", g, store_strerror(err), (unsigned long long)n);
        return;
    }
    store_err_t err = store_range(st, &q, rows);
    if (err != STORE_OK || rows->count != GROUP_KEYS)
        child_fail(id, "group %u: %s, %zu of %d keys", g, store_strerror(err), rows->count, GROUP_KEYS);
    size_t pos = 0;
    store_row_t row;
    uint64_t tag0 = 0, tag;
    for (unsigned i = 0; store_rows_next(rows, &pos, &row); i++) {
        char want[16];
        int kl = group_key(want, g, q.reverse ? GROUP_KEYS - 1 - i : i);
        const char *bad = tu_val_verify(row.val, row.vlen, row.key, row.klen, &tag);
        if (row.klen != (size_t)kl || memcmp(row.key, want, row.klen) != 0 || bad)
            child_fail(id, "group %u row %u: %s", g, i, bad ? bad : "wrong key");
        if (tag & TAG_ABORTED)
            child_fail(id, "group %u: saw the tag %#llx of an aborted transaction", g, (unsigned long long)tag);
        if (i == 0)
            tag0 = tag;
        else if (tag != tag0)
            child_fail(id, "group %u: half a transaction: tags %#llx and %#llx", g, (unsigned long long)tag0,
                       (unsigned long long)tag);
    }
    sh->scans[id]++;
}

static void reader_main(int id, store_t *st)
{
    tu_rng_t r = {1000 + (uint64_t)id};
    store_buf_t b = {0};
    store_rows_t rows = {0};
    double end = mono_now() + duration;
    while (mono_now() < end) {
        for (int i = 0; i < 64; i++) {
            uint64_t p = tu_below(&r, 100);
            if (p < 50)
                reader_get(id, st, &r, &b);
            else if (p < 68)
                reader_scan(id, st, &r, &rows);
            else if (p < 84)
                reader_stable(id, st, &r, &rows);
            else
                reader_group(id, st, &r, &rows);
            sh->ops[id]++;
        }
    }
    store_reader_stats(st, &sh->rstats[id]);
    store_buf_free(&b);
    store_rows_free(&rows);
}

/* ---- writers ------------------------------------------------------------------------ */

static size_t writer_vlen(tu_rng_t *r)
{
    uint64_t p = tu_below(r, 100);
    if (p < 70)
        return 40 + tu_below(r, 210); /* overwritten in place */
    if (p < 90)
        return 300 + tu_below(r, 3700);
    if (p < 98)
        return 20000 + tu_below(r, 50000);
    return 150000 + tu_below(r, 450000); /* page runs */
}

static void writer_check(int id, store_err_t err, const char *what)
{
    if (err == STORE_NOMEM) {
        sh->nomem[id]++;
        return;
    }
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        child_fail(id, "%s: %s (%s)", what, store_strerror(err), store_error_detail());
}

static void writer_put(int id, store_t *st, tu_rng_t *r, char *val, uint64_t tag, bool locked)
{
    char k[16];
    int kl = key_of(k, (unsigned)tu_below(r, NKEYS));
    size_t vlen = writer_vlen(r);
    tu_val_make(val, vlen, k, (size_t)kl, tag);
    store_put_opts_t o = {0};
    if (tu_below(r, 20) == 0) { /* a short real-clock expiry */
        o.expiry_ms = store_now_ms(st) + tu_below(r, 50);
    }
    store_err_t err = locked ? store_put_locked(st, k, (size_t)kl, val, vlen, &o, NULL)
                             : store_put(st, k, (size_t)kl, val, vlen, &o, NULL);
    writer_check(id, err, "put");
}

static void writer_delete(int id, store_t *st, tu_rng_t *r, bool locked)
{
    char k[16];
    int kl = key_of(k, (unsigned)tu_below(r, NKEYS));
    writer_check(id, locked ? store_delete_locked(st, k, (size_t)kl) : store_delete(st, k, (size_t)kl), "delete");
}

static store_err_t put_group(store_t *st, unsigned g, char *val, uint64_t tag, tu_rng_t *r)
{
    for (unsigned i = 0; i < GROUP_KEYS; i++) {
        char k[16];
        int kl = group_key(k, g, i);
        size_t vlen = tu_below(r, 4) ? 40 + tu_below(r, 200) : 1000 + tu_below(r, 30000);
        tu_val_make(val, vlen, k, (size_t)kl, tag);
        store_err_t err = store_put_locked(st, k, (size_t)kl, val, vlen, NULL, NULL);
        if (err != STORE_OK)
            return err;
    }
    return STORE_OK;
}

/* One transaction over a group: rewrite it, delete and recreate it, or
 * write an aborted tag and abort. */
static void writer_group(int id, store_t *st, tu_rng_t *r, char *val, uint64_t tag)
{
    unsigned g = (unsigned)tu_below(r, NGROUPS), kind = (unsigned)tu_below(r, 4);
    store_err_t err = store_write_lock(st);
    if (err != STORE_OK)
        child_fail(id, "write_lock: %s", store_strerror(err));
    if (kind == 1) {
        for (unsigned i = 0; i < GROUP_KEYS && err == STORE_OK; i++) {
            char k[16];
            int kl = group_key(k, g, i);
            err = store_delete_locked(st, k, (size_t)kl);
        }
    }
    if (err == STORE_OK)
        err = put_group(st, g, val, kind == 3 ? tag | TAG_ABORTED : tag, r);
    if (err == STORE_OK && kind == 2) /* and some unrelated keys, atomically */
        for (int i = 0; i < 4; i++)
            tu_below(r, 2) ? writer_put(id, st, r, val, tag, true) : writer_delete(id, st, r, true);
    if (err != STORE_OK || kind == 3) {
        if (err != STORE_OK && err != STORE_NOMEM)
            child_fail(id, "group %u transaction: %s (%s)", g, store_strerror(err), store_error_detail());
        store_write_abort(st);
        return;
    }
    store_write_unlock(st);
}

static void writer_main(int id, store_t *st)
{
    tu_rng_t r = {2000 + (uint64_t)id};
    char *val = malloc(MAX_VALUE);
    if (val == NULL)
        child_fail(id, "out of memory");
    double end = mono_now() + duration;
    for (uint64_t n = 1; mono_now() < end; n++) {
        uint64_t tag = (n << 8) | ((uint64_t)id << 1), p = tu_below(&r, 100);
        if (p < 55)
            writer_put(id, st, &r, val, tag, false);
        else if (p < 82)
            writer_delete(id, st, &r, false);
        else
            writer_group(id, st, &r, val, tag);
        sh->ops[id]++;
    }
    free(val);
}

/* ---- the test ------------------------------------------------------------------------- */

static void populate(store_t *st)
{
    char *val = malloc(MAX_VALUE), k[16];
    ck_assert_ptr_nonnull(val);
    tu_rng_t r = {99};
    for (unsigned i = 0; i < NKEYS; i += 2) {
        int kl = key_of(k, i);
        size_t vlen = writer_vlen(&r);
        tu_val_make(val, vlen, k, (size_t)kl, 0);
        ck_assert_int_eq(store_put(st, k, (size_t)kl, val, vlen, NULL, NULL), STORE_OK);
    }
    for (unsigned i = 0; i < NKEYS; i++) {
        int kl = stable_key(k, i);
        size_t vlen = tu_val_min((size_t)kl) + tu_below(&r, 60);
        tu_val_make(val, vlen, k, (size_t)kl, 0);
        ck_assert_int_eq(store_put(st, k, (size_t)kl, val, vlen, NULL, NULL), STORE_OK);
    }
    ck_assert_int_eq(store_write_lock(st), STORE_OK);
    for (unsigned g = 0; g < NGROUPS; g++)
        ck_assert_int_eq(put_group(st, g, val, 0, &r), STORE_OK);
    store_write_unlock(st);
    free(val);
}

/* Runs child `id` in its own process: readers 0..2, writers 3..4. The last
 * reader and the last writer attach their own handle; the others use the
 * one inherited through fork(). */
static pid_t spawn(int id, store_t *st)
{
    pid_t pid = tu_ck_fork();
    if (pid != 0)
        return pid;
    alarm((unsigned)duration + 120); /* a hang becomes a failure */
    store_t *own = NULL;
    if (id == NREADERS - 1 || id == NCHILD - 1) {
        store_err_t err = store_attach(reg.path, &own);
        if (err != STORE_OK)
            child_fail(id, "attach: %s (%s)", store_strerror(err), store_error_detail());
        st = own;
    }
    if (id < NREADERS)
        reader_main(id, st);
    else
        writer_main(id, st);
    store_close(own);
    _exit(0);
}

static void final_verify(store_t *st)
{
    char k[16];
    store_buf_t b = {0};
    unsigned present = 0;
    for (unsigned i = 0; i < NKEYS; i++) {
        int kl = key_of(k, i);
        store_err_t err = store_get(st, k, (size_t)kl, &b, NULL);
        if (err == STORE_NOT_FOUND)
            continue;
        ck_assert_msg(err == STORE_OK, "get %s: %s", k, store_strerror(err));
        const char *bad = tu_val_verify(b.data, b.len, k, (size_t)kl, NULL);
        ck_assert_msg(bad == NULL, "%s: %s", k, bad);
        present++;
    }
    store_buf_free(&b);
    ck_assert_uint_gt(present, 0);
    /* Every group whole: the readers' check once more, in this process. */
    sh->msg[0][0] = '\0';
    tu_rng_t r = {5};
    store_rows_t rows = {0};
    pid_t pid = tu_ck_fork();
    if (pid == 0) {
        for (int i = 0; i < 200; i++) {
            reader_group(0, st, &r, &rows);
            reader_stable(0, st, &r, &rows);
        }
        _exit(0);
    }
    int status = tu_ck_wait(pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "final group and stable-key check: %s", sh->msg[0]);
}

START_TEST(readers_and_writers)
{
    duration = (double)tu_seed("FICKLE_STRESS_SECONDS", 3);
    sh = tu_ck_shared(sizeof(*sh));
    store_t *st = tu_ck_create(&reg, "stress", 256 * MiB, MAX_VALUE);
    populate(st);
    pid_t pids[NCHILD];
    for (int id = 0; id < NCHILD; id++)
        pids[id] = spawn(id, st);
    int failures = 0;
    for (int id = 0; id < NCHILD; id++) {
        int status = tu_ck_wait(pids[id]);
        char text[64];
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "stress %s %d: %s: %s\n", id < NREADERS ? "reader" : "writer", id,
                    tu_status_text(status, text, sizeof(text)), sh->msg[id][0] ? sh->msg[id] : "(no message)");
            failures++;
        }
    }
    for (int id = 0; id < NCHILD; id++)
        fprintf(stderr, "stress %s %d: %llu ops, %llu gets, %llu scans, %llu nomem; reader retries %llu, "
                "fallbacks %llu\n", id < NREADERS ? "reader" : "writer", id, (unsigned long long)sh->ops[id],
                (unsigned long long)sh->gets[id], (unsigned long long)sh->scans[id],
                (unsigned long long)sh->nomem[id], (unsigned long long)sh->rstats[id].retries,
                (unsigned long long)sh->rstats[id].fallbacks);
    ck_assert_msg(failures == 0, "%d of %d children failed (first: %s)", failures, NCHILD,
                  sh->msg[0][0] ? sh->msg[0] : sh->msg[1][0] ? sh->msg[1] : sh->msg[2][0] ? sh->msg[2]
                                             : sh->msg[3][0] ? sh->msg[3] : sh->msg[4]);
    for (int id = 0; id < NCHILD; id++)
        ck_assert_msg(sh->ops[id] > 0, "child %d did nothing", id);
    tu_ck_check(st);
    final_verify(st);
    tu_ck_destroy(&reg);
    tu_ck_unshare(sh, sizeof(*sh));
}
END_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("store-stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, readers_and_writers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
