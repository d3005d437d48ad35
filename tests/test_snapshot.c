/*
 * test_snapshot.c — fuzzy snapshots of a live store (persister/snaptake,
 * persister/snapper): writer threads change a region while a mini
 * persister loop (a thread) moves its change ring into real log segments
 * and takes snapshots on the snapshot thread; then every snapshot, loaded
 * into a new region with the log after its L0 replayed, must equal the
 * writers' final state exactly (keys, values, versions, expiries, last
 * LSN), also after the log was pruned by the retention rule. Plus the
 * quiet cases, cancellation, damaged files, the retention rule itself and
 * the replay clock.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persister/logscan.h"
#include "persister/segment.h"
#include "persister/snapper.h"
#include "persister/snaptake.h"
#include "store/record.h"
#include "store/replay.h"
#include "tests/store_testutil.h"

#define NOW 7000000000000ull /* the fake clock (year 2191: later than any real clock, so the snapshot
                                thread, on the real clock, never finds an item expired that is live here) */
#define REGION (64ull << 20)
#define RING (8ull << 20)
#define MAX_VALUE (1u << 20)
#define KEYS 20000

/* ---- helpers ---------------------------------------------------------------------- */

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static char *tmpdir(const char *tag)
{
    char *d = malloc(256);
    snprintf(d, 256, "/tmp/fickle-snap-%s-XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(d));
    return d;
}

static void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char sub[1024];
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            rm_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0, sl = strlen(suffix);
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        n += l >= sl && !strcmp(e->d_name + l - sl, suffix);
    }
    if (d)
        closedir(d);
    return n;
}

static store_t *new_region(tu_region_t *r, const char *tag, uint64_t ring)
{
    tu_path(r->path, sizeof(r->path), tag);
    store_options_t o = {.size = REGION, .max_value_size = MAX_VALUE, .ring_size = ring};
    store_err_t e = store_create(r->path, &o, &r->st);
    ck_assert_msg(e == STORE_OK, "store_create: %s", store_error_detail());
    store_set_clock(r->st, tu_fake_clock);
    return r->st;
}

/* Every live item of st at the fake clock, in key order. */
static void dump(store_t *st, tu_model_t *m)
{
    store_rows_t rows = {0};
    store_range_t q = {0};
    store_set_clock(st, tu_fake_clock);
    ck_assert_int_eq(store_range(st, &q, &rows), STORE_OK);
    store_row_t row;
    size_t pos = 0;
    while (store_rows_next(&rows, &pos, &row))
        tu_model_put(m, row.key, row.klen, row.val, row.vlen, row.version, row.expiry_ms);
    store_rows_free(&rows);
}

static void ck_same(const tu_model_t *want, const tu_model_t *got, const char *what)
{
    ck_assert_msg(want->n == got->n, "%s: %zu items, want %zu", what, got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        const tu_ent_t *a = &want->e[i], *b = &got->e[i];
        ck_assert_msg(a->klen == b->klen && !memcmp(a->key, b->key, a->klen), "%s: item %zu: another key", what, i);
        ck_assert_msg(a->vlen == b->vlen && !memcmp(a->val, b->val, a->vlen), "%s: key %.*s: another value", what,
                      (int)a->klen, a->key);
        ck_assert_msg(a->version == b->version && a->expiry == b->expiry,
                      "%s: key %.*s: version %llu expiry %llu, want %llu %llu", what, (int)a->klen, a->key,
                      (unsigned long long)b->version, (unsigned long long)b->expiry,
                      (unsigned long long)a->version, (unsigned long long)a->expiry);
    }
}

/* A new region rebuilt as recovery does: snapshot (if any), then the log. */
static store_t *rebuild(tu_region_t *r, const char *snap_dir, uint64_t l0, const char *log_dir)
{
    store_t *st = new_region(r, "rebuilt", 0);
    persist_error_t err;
    if (l0) {
        char name[SNAPSHOT_NAME_MAX], path[512];
        snapshot_name(name, l0, false);
        snprintf(path, sizeof(path), "%s/%s", snap_dir, name);
        snapshot_header_t h;
        ck_assert_msg(snaptake_load(st, path, &h, NULL, &err) == PERSIST_OK, "load: %s", err.msg);
        ck_assert_uint_eq(h.start_lsn, l0);
        ck_assert_uint_ge(store_last_lsn(st), l0);
    }
    logscan_result_t res;
    ck_assert_msg(snaptake_replay(st, log_dir, LOGSCAN_RECOVER, l0, &res, NULL, &err, NULL) == PERSIST_OK, "replay: %s",
                  err.msg);
    store_set_clock(st, tu_fake_clock);
    return st;
}

/* ---- writers ------------------------------------------------------------------------ */

typedef struct {
    const char *path;
    unsigned id;
    atomic_bool *stop;
    uint64_t ops;
} writer_t;

static void key_of(char *k, size_t n, uint64_t i)
{
    snprintf(k, n, "key:%05llu", (unsigned long long)i);
}

/* One random change; errors other than "busy" are part of the game. */
static void one_op(store_t *st, tu_rng_t *rng, char *val)
{
    char k[32], k2[32];
    key_of(k, sizeof(k), tu_below(rng, KEYS));
    uint64_t op = tu_below(rng, 1000), r = tu_below(rng, 10);
    size_t vlen = tu_below(rng, 8) == 0 ? 1000 + tu_below(rng, 6000) : tu_below(rng, 200);
    memset(val, 'a' + (int)tu_below(rng, 26), vlen);
    store_put_opts_t po = {.expiry_ms = r == 0 ? NOW - 1000 : r == 1 ? NOW + 1000000 : 0};
    if (op < 600) {
        store_put(st, k, strlen(k), val, vlen, &po, NULL);
    } else if (op < 750) {
        store_delete(st, k, strlen(k));
    } else if (op < 850) {
        store_expire(st, k, strlen(k), r < 5 ? NOW + 5000 + r : 0);
    } else { /* a transaction: one record, several changes */
        if (store_write_lock(st) != STORE_OK)
            return;
        for (int i = 0; i < 3; i++) {
            key_of(k2, sizeof(k2), tu_below(rng, KEYS));
            if (i == 1)
                store_delete_locked(st, k2, strlen(k2));
            else
                store_put_locked(st, k2, strlen(k2), val, vlen / 2, &po, NULL);
        }
        store_write_unlock(st);
    }
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    store_t *st;
    if (store_attach(w->path, &st) != STORE_OK)
        return "attach failed";
    store_set_clock(st, tu_fake_clock);
    tu_rng_t rng = {tu_seed("FICKLE_SNAP_SEED", 42) + w->id * 7919};
    char *val = malloc(8192);
    while (!atomic_load(w->stop)) {
        if (w->id == 0 && w->ops == 20000)
            store_clear(st); /* once, early: later ones would hide what came before */
        else
            one_op(st, &rng, val);
        w->ops++;
    }
    free(val);
    store_close(st);
    return NULL;
}

/* ---- the mini persister ------------------------------------------------------------- */

typedef struct {
    store_t *st;
    segment_writer_t *w;
    snapper_t *snap;
    record_buf_t batch;
    uint64_t disk_lsn;
    int wanted, started, taken;
    uint64_t l0[8], end[8];
    atomic_bool writers_done;
    atomic_bool *stop_writers; /* set when the last snapshot asks for the log: its scan saw the most */
    atomic_int taken_pub;
    char failure[1200];
} loop_t;

/* Ring -> segments, as persister.c's drain does. Returns records moved. */
static int drain(loop_t *l)
{
    const uint8_t *data;
    uint64_t pos;
    size_t n = store_ring_peek(l->st, &pos, &data), off = 0;
    l->batch.len = 0;
    uint64_t last = l->disk_lsn;
    int moved = 0;
    while (off + 4 <= n && rd_u32(data + off) != 0) {
        record_t rec;
        size_t rlen;
        const char *why = NULL;
        if (record_decode(data + off, n - off, &rec, &rlen, &why) != RECORD_OK)
            return snprintf(l->failure, sizeof(l->failure), "bad ring record"), -1;
        if (rec.lsn > last) {
            record_buf_reserve(&l->batch, rlen);
            memcpy(l->batch.data + l->batch.len, data + off, rlen);
            l->batch.len += rlen;
            last = rec.lsn;
            moved++;
        }
        off += (rlen + 7) & ~(size_t)7;
    }
    persist_error_t err;
    if (l->batch.len && segment_writer_append(l->w, l->batch.data, l->batch.len, &err) != PERSIST_OK)
        return snprintf(l->failure, sizeof(l->failure), "append: %s", err.msg), -1;
    l->disk_lsn = last;
    if (n)
        store_ring_release(l->st, pos + (off < n ? off : n));
    return moved;
}

/* One turn: drain, answer the snapshot thread, reap, start the next. */
static int turn(loop_t *l, uint64_t *next_start)
{
    uint64_t want = snapper_sync_wanted(l->snap);
    int moved = drain(l);
    if (moved < 0)
        return -1;
    persist_error_t err;
    if (want && l->started == l->wanted && l->stop_writers)
        atomic_store(l->stop_writers, true);
    if (want && (l->disk_lsn >= want || moved == 0)) {
        bool ok = segment_writer_sync(l->w, &err) == PERSIST_OK;
        store_set_durable_lsn(l->st, l->disk_lsn);
        snapper_sync_answer(l->snap, ok);
    }
    persist_status_t st;
    snaptake_result_t res;
    if (snapper_reap(l->snap, &st, &res, &err)) {
        if (st != PERSIST_OK)
            return snprintf(l->failure, sizeof(l->failure), "snapshot: %s", err.msg), -1;
        l->l0[l->taken] = res.start_lsn;
        l->end[l->taken++] = res.end_lsn;
        atomic_store(&l->taken_pub, l->taken);
    }
    if (!snapper_running(l->snap) && l->started < l->wanted && snapper_now_ms() >= *next_start) {
        if (snapper_start(l->snap, 0) != 0)
            return snprintf(l->failure, sizeof(l->failure), "snapper_start: %s", strerror(errno)), -1;
        l->started++;
        *next_start = snapper_now_ms() + 150;
    }
    if (moved == 0)
        sleep_us(200);
    return moved;
}

static void *loop_main(void *arg)
{
    loop_t *l = arg;
    uint64_t next_start = snapper_now_ms() + 100;
    for (;;) {
        int moved = turn(l, &next_start);
        if (moved < 0)
            return NULL;
        if (moved == 0 && atomic_load(&l->writers_done) && l->taken == l->wanted && !snapper_running(l->snap))
            return NULL;
    }
}

/* ---- tests ------------------------------------------------------------------------- */

/* Runs NW writers on region a while the mini persister takes l->wanted
 * snapshots into dir; stops the writers and drains the ring. Returns the
 * writes done. */
static uint64_t run_live(tu_region_t *a, loop_t *l, const char *dir, const char *logdir)
{
    persist_error_t err;
    segment_writer_opts_t so = {.roll_size = 256 << 10};
    ck_assert(segment_writer_open(logdir, 1, &so, &l->w, &err) == PERSIST_OK);
    l->snap = snapper_new(a->path, dir, -1);
    ck_assert_ptr_nonnull(l->snap);
    atomic_bool stop = false;
    enum { NW = 3 };
    writer_t w[NW];
    pthread_t wt[NW], lt;
    for (unsigned i = 0; i < NW; i++) {
        w[i] = (writer_t){a->path, i, &stop, 0};
        ck_assert_int_eq(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
    }
    l->stop_writers = &stop;
    ck_assert_int_eq(pthread_create(&lt, NULL, loop_main, l), 0);
    for (int waited = 0; atomic_load(&l->taken_pub) < l->wanted && !l->failure[0] && waited < 60000; waited += 10)
        sleep_us(10000);
    atomic_store(&stop, true);
    uint64_t ops = 0;
    for (unsigned i = 0; i < NW; i++) {
        void *rv;
        pthread_join(wt[i], &rv);
        ck_assert_msg(rv == NULL, "writer: %s", (const char *)rv);
        ops += w[i].ops;
    }
    atomic_store(&l->writers_done, true);
    pthread_join(lt, NULL);
    ck_assert_msg(l->failure[0] == 0, "%s", l->failure);
    ck_assert_int_eq(l->taken, l->wanted);
    ck_assert(segment_writer_sync(l->w, &err) == PERSIST_OK);
    ck_assert(segment_writer_close(l->w, &err) == PERSIST_OK);
    snapper_free(l->snap);
    return ops;
}

/* Snapshot i (-1: none) plus the log rebuilds exactly `final`. */
static void ck_rebuild(const loop_t *l, int i, const char *dir, const char *logdir, const tu_model_t *final,
                       uint64_t last_lsn, const char *when)
{
    tu_region_t b;
    tu_model_t got = {0};
    char what[96];
    snprintf(what, sizeof(what), i < 0 ? "%s: the log alone" : "%s: snapshot %d + log", when, i);
    store_t *sb = rebuild(&b, dir, i < 0 ? 0 : l->l0[i], logdir);
    dump(sb, &got);
    ck_same(final, &got, what);
    ck_assert_uint_eq(store_last_lsn(sb), last_lsn);
    tu_model_free(&got);
    tu_ck_destroy(&b);
}

START_TEST(concurrent_writers_snapshot_plus_log_is_exact)
{
    tu_fake_now = NOW;
    tu_region_t a;
    store_t *st = new_region(&a, "snap-live", RING);
    char *dir = tmpdir("live"), logdir[300];
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    loop_t *l = calloc(1, sizeof(*l));
    l->st = st;
    l->wanted = 4;
    uint64_t ops = run_live(&a, l, dir, logdir);
    tu_model_t final = {0};
    dump(st, &final);
    fprintf(stderr, "%llu writes, final LSN %llu, %zu live items; snapshots at", (unsigned long long)ops,
            (unsigned long long)store_last_lsn(st), final.n);
    for (int i = 0; i < l->taken; i++)
        fprintf(stderr, " %llu..%llu", (unsigned long long)l->l0[i], (unsigned long long)l->end[i]);
    fprintf(stderr, "\n");
    ck_assert_uint_gt(ops, 1000);
    for (int i = -1; i < l->taken; i++)
        ck_rebuild(l, i, dir, logdir, &final, store_last_lsn(st), "live");
    /* Retention: prune up to the older of the last two; both still work. */
    unsigned removed = 0;
    persist_error_t err;
    size_t before = count_files(logdir, ".log");
    ck_assert(logscan_prune(logdir, l->l0[l->taken - 2], &removed, &err) == PERSIST_OK);
    ck_assert_uint_gt(removed, 0);
    ck_assert_uint_eq(count_files(logdir, ".log"), before - removed);
    for (int i = l->taken - 2; i < l->taken; i++)
        ck_rebuild(l, i, dir, logdir, &final, store_last_lsn(st), "pruned");
    uint64_t first = 0;
    ck_assert(logscan_first_lsn(logdir, &first, &err) == PERSIST_OK);
    ck_assert_uint_le(first, l->l0[l->taken - 2] + 1);
    tu_model_free(&final);
    record_buf_free(&l->batch);
    free(l);
    tu_ck_destroy(&a);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* No writers: the snapshot is the state; big values get chunks of their own. */
START_TEST(quiet_store_round_trip)
{
    tu_fake_now = NOW;
    tu_region_t a, b;
    store_t *st = new_region(&a, "snap-quiet", 0);
    char *val = malloc(300000), k[32];
    for (unsigned i = 0; i < 5000; i++) {
        size_t vlen = i % 1000 == 0 ? 250000 : i % 50;
        memset(val, 'x' + (int)(i % 3), vlen);
        key_of(k, sizeof(k), i);
        store_put_opts_t po = {.expiry_ms = i % 7 == 0 ? NOW + i : i % 11 == 0 ? NOW - 1 : 0};
        ck_assert_int_eq(store_put(st, k, strlen(k), val, vlen, &po, NULL), STORE_OK);
    }
    store_delete(st, "key:00002", 9);
    char *dir = tmpdir("quiet");
    snaptake_opts_t o = {.chunk_rows = 97, .chunk_bytes = 64 << 10};
    snaptake_result_t res;
    persist_error_t err;
    ck_assert_msg(snaptake_run(st, dir, &o, &res, &err) == PERSIST_OK, "%s", err.msg);
    ck_assert_uint_eq(res.start_lsn, store_last_lsn(st));
    ck_assert_uint_eq(res.end_lsn, res.start_lsn);
    tu_model_t want = {0}, got = {0};
    dump(st, &want);
    ck_assert_uint_eq(res.items, want.n); /* expired items are left out */
    store_t *sb = rebuild(&b, dir, res.start_lsn, "/nonexistent-log");
    ck_assert_uint_eq(store_last_lsn(sb), res.start_lsn);
    dump(sb, &got);
    ck_same(&want, &got, "quiet");
    ck_assert_uint_eq(count_files(dir, ".tmp"), 0);
    tu_model_free(&want);
    tu_model_free(&got);
    free(val);
    tu_ck_destroy(&a);
    tu_ck_destroy(&b);
    rm_tree(dir);
    free(dir);
}
END_TEST

static bool always(void *arg)
{
    (void)arg;
    return true;
}

static int refuse(void *arg, uint64_t lsn)
{
    (void)arg;
    (void)lsn;
    return -1;
}

/* A cancelled snapshot, or one whose log never became durable, leaves
 * nothing behind; nor does the thread past its deadline. */
START_TEST(abandoned_snapshots_leave_nothing)
{
    tu_fake_now = NOW;
    tu_region_t a;
    store_t *st = new_region(&a, "snap-cancel", 0);
    ck_assert_int_eq(store_put(st, "k", 1, "v", 1, NULL, NULL), STORE_OK);
    char *dir = tmpdir("cancel");
    snaptake_result_t res;
    persist_error_t err;
    snaptake_opts_t c = {.cancelled = always}, w = {.wait_log = refuse};
    ck_assert(snaptake_run(st, dir, &c, &res, &err) == PERSIST_INVALID);
    ck_assert(snaptake_run(st, dir, &w, &res, &err) == PERSIST_INVALID);
    ck_assert_ptr_nonnull(strstr(err.msg, "not durable"));
    snapper_t *s = snapper_new(a.path, dir, -1);
    ck_assert_int_eq(snapper_start(s, 1), 0); /* a deadline long past */
    persist_status_t ps;
    while (!snapper_reap(s, &ps, &res, &err))
        sleep_us(1000);
    ck_assert(ps != PERSIST_OK);
    snapper_free(s);
    ck_assert_uint_eq(count_files(dir, ".tmp") + count_files(dir, ".snap"), 0);
    tu_ck_destroy(&a);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* A flipped byte in a snapshot is found by the loader. */
START_TEST(damaged_snapshot_refused_by_loader)
{
    tu_fake_now = NOW;
    tu_region_t a, b;
    store_t *st = new_region(&a, "snap-dmg", 0);
    char k[32];
    for (unsigned i = 0; i < 500; i++) {
        key_of(k, sizeof(k), i);
        ck_assert_int_eq(store_put(st, k, strlen(k), "value", 5, NULL, NULL), STORE_OK);
    }
    char *dir = tmpdir("dmg"), path[512];
    snaptake_result_t res;
    persist_error_t err;
    ck_assert(snaptake_run(st, dir, NULL, &res, &err) == PERSIST_OK);
    snprintf(path, sizeof(path), "%s/%s", dir, res.name);
    FILE *f = fopen(path, "r+");
    ck_assert_ptr_nonnull(f);
    fseek(f, (long)res.bytes / 2, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, (long)res.bytes / 2, SEEK_SET);
    fputc(ch ^ 0x40, f);
    fclose(f);
    store_t *sb = new_region(&b, "snap-dmg2", 0);
    ck_assert(snaptake_load(sb, path, NULL, NULL, &err) == PERSIST_CORRUPT);
    tu_ck_destroy(&a);
    tu_ck_destroy(&b);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* Retention by names: segment i goes iff segment i + 1 starts at or below
 * upto + 1; the newest always stays. */
START_TEST(prune_rule)
{
    char *dir = tmpdir("prune");
    persist_error_t err;
    segment_writer_t *w;
    segment_writer_opts_t so = {.roll_size = 41}; /* one record per segment */
    ck_assert(segment_writer_open(dir, 1, &so, &w, &err) == PERSIST_OK);
    record_buf_t b = {0};
    for (uint64_t lsn = 1; lsn <= 10; lsn++) { /* one record per segment: 1..10 */
        b.len = 0;
        record_t rec = {.lsn = lsn, .type = RECORD_DEL, .op = {.key = "k", .klen = 1}};
        ck_assert_int_eq(record_append(&b, &rec), 0);
        ck_assert(segment_writer_append(w, b.data, b.len, &err) == PERSIST_OK);
    }
    ck_assert(segment_writer_close(w, &err) == PERSIST_OK);
    record_buf_free(&b);
    ck_assert_uint_eq(count_files(dir, ".log"), 10);
    unsigned removed;
    uint64_t first;
    ck_assert(logscan_prune(dir, 0, &removed, &err) == PERSIST_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert(logscan_prune(dir, 4, &removed, &err) == PERSIST_OK);
    ck_assert_uint_eq(removed, 4); /* 1..4 go: each is followed by one starting at or below 5 */
    ck_assert(logscan_first_lsn(dir, &first, &err) == PERSIST_OK);
    ck_assert_uint_eq(first, 5);
    ck_assert(logscan_prune(dir, 1000, &removed, &err) == PERSIST_OK);
    ck_assert_uint_eq(removed, 5);
    ck_assert_uint_eq(count_files(dir, ".log"), 1); /* the newest stays */
    uint64_t last;
    ck_assert(logscan_newest_lsn(dir, &last, &err) == PERSIST_OK);
    ck_assert_uint_eq(last, 10);
    rm_tree(dir);
    free(dir);
}
END_TEST

/* An item that expired after its EXPIRE was logged still gets the later
 * expiry on replay, whatever the clock says at recovery. */
START_TEST(replay_runs_on_a_stopped_clock)
{
    tu_fake_now = NOW;
    tu_region_t a, b;
    store_t *st = new_region(&a, "snap-clock", RING);
    char *dir = tmpdir("clock"), logdir[300];
    snprintf(logdir, sizeof(logdir), "%s/log", dir);
    store_put_opts_t po = {.expiry_ms = NOW + 100};
    ck_assert_int_eq(store_put(st, "k", 1, "v", 1, &po, NULL), STORE_OK);
    snaptake_result_t res;
    persist_error_t err;
    ck_assert(snaptake_run(st, dir, NULL, &res, &err) == PERSIST_OK);
    ck_assert_int_eq(store_expire(st, "k", 1, NOW + 1000000), STORE_OK);
    loop_t l = {.st = st};
    ck_assert(segment_writer_open(logdir, 1, NULL, &l.w, &err) == PERSIST_OK);
    ck_assert_int_gt(drain(&l), 0);
    ck_assert(segment_writer_close(l.w, &err) == PERSIST_OK);
    record_buf_free(&l.batch);
    tu_fake_now = NOW + 5000; /* recovery happens after the first expiry */
    store_t *sb = rebuild(&b, dir, res.start_lsn, logdir);
    store_meta_t m;
    ck_assert_int_eq(store_get(sb, "k", 1, NULL, &m), STORE_OK);
    ck_assert_uint_eq(m.expiry_ms, NOW + 1000000);
    tu_ck_destroy(&a);
    tu_ck_destroy(&b);
    rm_tree(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, concurrent_writers_snapshot_plus_log_is_exact);
    tcase_add_test(tc, quiet_store_round_trip);
    tcase_add_test(tc, abandoned_snapshots_leave_nothing);
    tcase_add_test(tc, damaged_snapshot_refused_by_loader);
    tcase_add_test(tc, prune_rule);
    tcase_add_test(tc, replay_runs_on_a_stopped_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
