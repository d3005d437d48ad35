/*
 * test_store_crash.c — crash tests of the store: a writer process is
 * SIGKILLed at every crash point (STORE_CP_*) inside its critical section
 * while running a scenario of writes (inserts, replacements, in-place
 * overwrites, deletes, hash growth and rehash, large values, expiry
 * changes, multi-operation transactions committed or aborted, clear).
 *
 * The parent knows the state before the scenario and each write it
 * attempted; the child records how many writes returned. After the death
 * the next locker must repair the region from the undo journal: the
 * interrupted write is wholly absent (died before the commit point) or
 * wholly present (died after it), store_check passes, every key matches a
 * model, and the store goes on accepting writes. A reader that spins on the
 * region while the writer dies keeps getting right answers and repairs the
 * region itself. Children have alarms, so a bug fails rather than hangs.
 *
 * Skipped (exit 77) where a dead owner's robust mutex is not handed on
 * with EOWNERDEAD (e.g. under qemu-user).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/journal.h"
#include "store/layout.h"
#include "tests/robust_probe.h"
#include "tests/store_testutil.h"

#define MiB (1ull << 20)
#define BASE 1020 /* base keys: the hash table (1024 buckets) is nearly full */
#define MAXOPS 24
#define MAXUNITS 320
#define NOW 1700000000000ull
#define FAR (NOW + 1000000000ull)

static const char *const cp_names[STORE_CP_COUNT] = {
    "NONE",      "LOCKED",        "ALLOCATED", "HASH_LINKED", "ORDER_PARTIAL", "INPLACE_PARTIAL",
    "UNLINKED",  "REHASH",        "FREEING",   "COMMITTED",
};

/* ---- scenarios: units of writes, each unit one critical section -------------------- */

typedef enum { OP_PUT, OP_DEL, OP_EXPIRE, OP_CLEAR } op_kind_t;

typedef struct {
    op_kind_t kind;
    char key[12];
    size_t vlen;
    uint64_t expiry;
    uint64_t tag;
} op_t;

typedef struct {
    op_t ops[MAXOPS];
    int nops;
    bool txn;   /* store_write_lock + *_locked ops, else one plain call */
    bool aborted; /* a transaction that ends in store_write_abort */
} unit_t;

typedef struct {
    const char *name;
    unit_t units[MAXUNITS];
    int nunits;
    uint32_t must; /* crash points the scenario must reach (bit cp) */
} scenario_t;

#define BIT(cp) (1u << (cp))
#define ALL_POINTS (BIT(STORE_CP_COUNT) - 2u)

enum { SC_INSERT, SC_REPLACE, SC_INPLACE, SC_DELETE, SC_LARGE, SC_EXPIRE, SC_TXN, SC_ABORT, SC_GROW, SC_CLEAR, NSCEN };
static scenario_t scen[NSCEN];

static size_t base_vlen(unsigned i)
{
    return i % 97 == 5 ? 200000 : i % 13 == 0 ? 3000 : 40 + (i * 7) % 150;
}

static uint64_t base_expiry(unsigned i)
{
    return i % 5 == 0 ? FAR + i : 0;
}

static unit_t *new_unit(scenario_t *s, bool txn, bool aborted)
{
    if (s->nunits >= MAXUNITS) {
        fprintf(stderr, "scenario %s: more than %d units\n", s->name, MAXUNITS);
        abort();
    }
    unit_t *u = &s->units[s->nunits++];
    u->txn = txn;
    u->aborted = aborted;
    return u;
}

static void add_op(unit_t *u, op_kind_t kind, const char *key, size_t vlen, uint64_t expiry)
{
    if (u->nops >= MAXOPS) {
        fprintf(stderr, "more than %d operations in a unit\n", MAXOPS);
        abort();
    }
    op_t *o = &u->ops[u->nops++];
    o->kind = kind;
    snprintf(o->key, sizeof(o->key), "%s", key);
    o->vlen = vlen;
    o->expiry = expiry;
    static uint64_t next_tag = 1u << 20; /* base keys have tags below */
    o->tag = next_tag++;
}

/* A single-write unit. */
static void single(scenario_t *s, op_kind_t kind, const char *key, size_t vlen, uint64_t expiry)
{
    add_op(new_unit(s, false, false), kind, key, vlen, expiry);
}

static const char *bkey(unsigned i)
{
    static char k[8][12];
    static int n;
    char *p = k[n++ % 8];
    snprintf(p, 12, "b%04u", i);
    return p;
}

static const char *nkey(const char *prefix, unsigned i)
{
    static char k[8][12];
    static int n;
    char *p = k[n++ % 8];
    snprintf(p, 12, "%s%04u", prefix, i);
    return p;
}

/* Keys b<i> with i % 10 == 9 are never written by a scenario (the reader's
 * fixed points). */
static void build_small_scenarios(void)
{
    scenario_t *s = &scen[SC_INSERT];
    s->name = "insert";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_REHASH) | BIT(STORE_CP_COMMITTED);
    for (unsigned k = 0; k < 12; k++) /* the 5th insert starts a rehash */
        single(s, OP_PUT, nkey("n", k), 60 + k, k % 3 ? 0 : FAR);

    s = &scen[SC_REPLACE];
    s->name = "replace";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_FREEING) | BIT(STORE_CP_COMMITTED);
    for (unsigned k = 0; k < 8; k++) /* into another size class */
        single(s, OP_PUT, bkey(10 * k + 1), 1000 + k, 0);

    s = &scen[SC_INPLACE];
    s->name = "inplace";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_INPLACE_PARTIAL) | BIT(STORE_CP_COMMITTED);
    for (unsigned i = 2; s->nunits < 8; i += 10) /* same size, same expiry */
        if (base_vlen(i) <= 256)
            single(s, OP_PUT, bkey(i), base_vlen(i), base_expiry(i));

    s = &scen[SC_DELETE];
    s->name = "delete";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_UNLINKED) | BIT(STORE_CP_FREEING) | BIT(STORE_CP_COMMITTED);
    for (unsigned k = 0; k < 8; k++)
        single(s, OP_DEL, bkey(10 * k + 3), 0, 0);

    s = &scen[SC_LARGE];
    s->name = "large";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_UNLINKED) | BIT(STORE_CP_FREEING) |
              BIT(STORE_CP_COMMITTED);
    single(s, OP_PUT, "L0", 1536 * 1024, 0);
    single(s, OP_PUT, bkey(5), 600000, 0);    /* page run to a bigger one */
    single(s, OP_PUT, bkey(102), 100, 0);     /* page run to a slab chunk */
    single(s, OP_PUT, bkey(11), 300000, FAR); /* slab chunk to a page run */
    single(s, OP_DEL, bkey(296), 0, 0);       /* a page run freed */
    single(s, OP_PUT, "L0", 2 * MiB, FAR);

    s = &scen[SC_EXPIRE];
    s->name = "expire";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_FREEING) | BIT(STORE_CP_COMMITTED);
    single(s, OP_EXPIRE, bkey(14), 0, FAR + 1); /* gains an expiry: rewritten */
    single(s, OP_EXPIRE, bkey(10), 0, FAR + 2); /* changed in place */
    single(s, OP_EXPIRE, bkey(20), 0, 0);       /* loses it: rewritten */
    single(s, OP_EXPIRE, bkey(24), 0, NOW - 1); /* expires at once */
    single(s, OP_EXPIRE, bkey(34), 0, 0);       /* nothing to clear */
}

/* A transaction touching every kind of change. */
static void mixed_txn(scenario_t *s, bool aborted, unsigned salt)
{
    unit_t *u = new_unit(s, true, aborted);
    for (unsigned k = 0; k < 6; k++)
        add_op(u, OP_PUT, nkey(aborted ? "a" : "t", salt * 10 + k), 50 + k, 0);
    add_op(u, OP_PUT, bkey(100 * salt + 6), 2000, 0);                               /* replace */
    for (unsigned i = 100 * salt + 7; u->nops < 8; i += 10)                            /* in place */
        if (base_vlen(i) <= 256)
            add_op(u, OP_PUT, bkey(i), base_vlen(i), base_expiry(i));
    add_op(u, OP_DEL, bkey(100 * salt + 8), 0, 0);
    add_op(u, OP_DEL, bkey(100 * salt + 18), 0, 0);
    add_op(u, OP_EXPIRE, bkey(100 * salt + 4), 0, FAR + 3);
    add_op(u, OP_PUT, nkey(aborted ? "A" : "T", salt), 400000, 0); /* large */
    add_op(u, OP_PUT, nkey("x", salt), 70, 0);                   /* inserted, then */
    add_op(u, OP_DEL, nkey("x", salt), 0, 0);                    /* deleted */
    add_op(u, OP_PUT, nkey("y", salt), 70, 0);                   /* written twice */
    add_op(u, OP_PUT, nkey("y", salt), 700, 0);
}

static void build_big_scenarios(void)
{
    scenario_t *s = &scen[SC_TXN];
    s->name = "transaction";
    s->must = ALL_POINTS;
    for (unsigned k = 0; k < 3; k++)
        mixed_txn(s, false, k);

    s = &scen[SC_ABORT];
    s->name = "aborted transaction";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_INPLACE_PARTIAL) | BIT(STORE_CP_UNLINKED) |
              BIT(STORE_CP_COMMITTED);
    mixed_txn(s, true, 3);
    single(s, OP_PUT, "after-abort", 80, 0);
    mixed_txn(s, true, 4);

    s = &scen[SC_GROW];
    s->name = "growth";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_HASH_LINKED) |
              BIT(STORE_CP_ORDER_PARTIAL) | BIT(STORE_CP_REHASH) | BIT(STORE_CP_FREEING) |
              BIT(STORE_CP_COMMITTED);
    for (unsigned k = 0; k < 300; k++) /* the rehash ends: the old table is freed */
        single(s, OP_PUT, nkey("g", k), 48, 0);

    s = &scen[SC_CLEAR];
    s->name = "clear";
    s->must = BIT(STORE_CP_LOCKED) | BIT(STORE_CP_ALLOCATED) | BIT(STORE_CP_COMMITTED);
    single(s, OP_PUT, "c-before", 80, 0);
    single(s, OP_CLEAR, "", 0, 0);
    single(s, OP_PUT, "c-after", 80, 0);
    single(s, OP_PUT, "c-after2", 90, 0);
}

/* ---- running units (child) and applying them to the model (parent) ---------------- */

typedef struct {
    volatile int done;       /* units the writer finished */
    volatile int stop;       /* parent to reader: enough */
    volatile uint64_t reads; /* reader's progress */
    char msg[256];           /* the writer's failure */
    char rmsg[256];          /* the reader's failure */
} shared_t;

static shared_t *sh;

static char *value_of(const op_t *o)
{
    static char *buf;
    static size_t cap;
    if (o->vlen > cap) {
        free(buf);
        cap = o->vlen;
        buf = malloc(cap);
        if (buf == NULL)
            abort();
    }
    tu_val_make(buf, o->vlen, o->key, strlen(o->key), o->tag);
    return buf;
}

static store_err_t run_op(store_t *st, const op_t *o, bool locked)
{
    size_t kl = strlen(o->key);
    store_put_opts_t opt = {.expiry_ms = o->expiry};
    switch (o->kind) {
    case OP_PUT:
        return locked ? store_put_locked(st, o->key, kl, value_of(o), o->vlen, &opt, NULL)
                      : store_put(st, o->key, kl, value_of(o), o->vlen, &opt, NULL);
    case OP_DEL:
        return locked ? store_delete_locked(st, o->key, kl) : store_delete(st, o->key, kl);
    case OP_EXPIRE:
        return locked ? store_expire_locked(st, o->key, kl, o->expiry) : store_expire(st, o->key, kl, o->expiry);
    case OP_CLEAR:
        return store_clear(st);
    }
    return STORE_INVALID;
}

/* In the writer child: runs every unit, counting finished ones. */
__attribute__((noreturn)) static void writer_child(store_t *st, const scenario_t *s, store_crash_point_t cp,
                                                   unsigned skip)
{
    alarm(60);
    if (!store_test_crash_at(cp, skip)) {
        snprintf(sh->msg, sizeof(sh->msg), "store_test_crash_at: no test hooks in this build");
        _exit(3);
    }
    for (int u = 0; u < s->nunits; u++) {
        const unit_t *un = &s->units[u];
        if (un->txn && store_write_lock(st) != STORE_OK)
            _exit(4);
        for (int i = 0; i < un->nops; i++) {
            store_err_t err = run_op(st, &un->ops[i], un->txn);
            if (err != STORE_OK && err != STORE_NOT_FOUND) {
                snprintf(sh->msg, sizeof(sh->msg), "unit %d op %d (%s): %s (%s)", u, i, un->ops[i].key,
                         store_strerror(err), store_error_detail());
                _exit(5);
            }
        }
        if (un->txn && un->aborted)
            store_write_abort(st);
        else if (un->txn)
            store_write_unlock(st);
        sh->done = u + 1;
    }
    _exit(0);
}

typedef struct {
    tu_model_t m;
    uint64_t lsn;
} expect_t;

/* The LSN a change in the current section gets: all changes of one
 * critical section share the LSN of its first successful one (store.h). */
static uint64_t take_lsn(expect_t *x, uint64_t *sec)
{
    if (*sec == 0)
        *sec = ++x->lsn;
    return *sec;
}

/* Applies o to the model as a change of the section whose LSN is *sec
 * (0 until a change in it succeeds). */
static void model_op(expect_t *x, const op_t *o, uint64_t *sec)
{
    size_t idx, kl = strlen(o->key);
    bool found = tu_model_find(&x->m, o->key, kl, &idx);
    tu_ent_t *e = found ? &x->m.e[idx] : NULL;
    switch (o->kind) {
    case OP_PUT:
        tu_model_put(&x->m, o->key, kl, value_of(o), o->vlen, take_lsn(x, sec), o->expiry);
        break;
    case OP_DEL:
        if (found) {
            tu_model_del_at(&x->m, idx);
            take_lsn(x, sec);
        }
        break;
    case OP_EXPIRE:
        if (found && tu_model_live(e, NOW) && !(e->expiry == 0 && o->expiry == 0)) {
            e->expiry = o->expiry;
            e->version = take_lsn(x, sec);
        }
        break;
    case OP_CLEAR:
        tu_model_free(&x->m);
        take_lsn(x, sec);
        break;
    }
}

static void model_units(expect_t *x, const scenario_t *s, int from, int to)
{
    for (int u = from; u < to; u++) {
        uint64_t sec = 0; /* a unit is one critical section */
        if (!s->units[u].aborted)
            for (int i = 0; i < s->units[u].nops; i++)
                model_op(x, &s->units[u].ops[i], &sec);
    }
}

/* The base keys b0000..b1019, tagged with their number. */
static void populate(store_t *st, expect_t *x)
{
    *x = (expect_t){{0}, 0};
    for (unsigned i = 0; i < BASE; i++) {
        op_t o = {OP_PUT, "", base_vlen(i), base_expiry(i), i};
        snprintf(o.key, sizeof(o.key), "%s", bkey(i));
        TU_ASSERT(run_op(st, &o, false) == STORE_OK, "base put %s: %s", o.key, store_error_detail());
        uint64_t sec = 0;
        model_op(x, &o, &sec);
    }
}

/* ---- checks after a death ------------------------------------------------------------ */

static uint64_t seq_of(store_t *st)
{
    return atomic_load_explicit(&st->hdr->seq, memory_order_acquire);
}

/* White-box: what a writer killed inside its critical section leaves, seen
 * before anyone takes the mutex. */
static void expect_dead_writer_state(store_t *st, store_crash_point_t cp, const char *label)
{
    ck_assert_msg(seq_of(st) & 1, "%s: sequence even after a death inside a critical section", label);
    uint64_t jl = st->hdr->journal_len;
    if (cp == STORE_CP_LOCKED || cp == STORE_CP_COMMITTED)
        ck_assert_msg(jl == 0, "%s: %llu journal entries", label, (unsigned long long)jl);
    else
        ck_assert_msg(jl > 0, "%s: the undo journal is empty", label);
}

/* The store's log sink: repairs are logged as warnings. Kept quiet here,
 * counted instead. */
static unsigned repairs_logged;

static void count_repairs(int level, const char *msg)
{
    if (level == 1 && strstr(msg, "died") != NULL)
        repairs_logged++;
    else
        fprintf(stderr, "store log %d: %s\n", level, msg);
}

/* Takes the mutex (repairing if needed) and checks the repair's traces. */
static void expect_repaired(store_t *st, uint64_t deaths, const char *label)
{
    store_stats_t s;
    store_err_t err = store_stats(st, &s);
    ck_assert_msg(err == STORE_OK, "%s: store_stats: %s (%s)", label, store_strerror(err), store_error_detail());
    ck_assert_msg(s.owner_deaths_repaired == deaths, "%s: %llu repairs, want %llu", label,
                  (unsigned long long)s.owner_deaths_repaired, (unsigned long long)deaths);
    ck_assert_msg(!(seq_of(st) & 1) && st->hdr->journal_len == 0, "%s: not repaired (seq %llu, journal %llu)",
                  label, (unsigned long long)seq_of(st), (unsigned long long)st->hdr->journal_len);
}

static void expect_model(store_t *st, const expect_t *x, const char *label)
{
    char why[256];
    store_err_t err = store_check(st, why, sizeof(why));
    ck_assert_msg(err == STORE_OK, "%s: store_check: %s", label, why);
    ck_assert_msg(tu_model_matches(&x->m, st, NOW, why, sizeof(why)), "%s: %s", label, why);
    ck_assert_msg(store_last_lsn(st) == x->lsn, "%s: last LSN %llu, want %llu", label,
                  (unsigned long long)store_last_lsn(st), (unsigned long long)x->lsn);
}

static store_err_t expected_rc(const expect_t *x, const op_t *o)
{
    size_t idx;
    bool live = tu_model_find(&x->m, o->key, strlen(o->key), &idx) && tu_model_live(&x->m.e[idx], NOW);
    return o->kind == OP_PUT || o->kind == OP_CLEAR || live ? STORE_OK : STORE_NOT_FOUND;
}

/* After a repair the store takes writes of every kind as before. */
static void continue_writes(store_t *st, expect_t *x, const char *label)
{
    static scenario_t more;
    if (more.nunits == 0) {
        for (unsigned k = 0; k < 10; k++)
            single(&more, OP_PUT, nkey("z", k), 100 + k, 0);
        unit_t *u = new_unit(&more, true, false);
        add_op(u, OP_PUT, "z0100", 500, 0);
        add_op(u, OP_DEL, bkey(9), 0, 0);
        add_op(u, OP_EXPIRE, "z0000", 0, FAR);
        add_op(u, OP_PUT, bkey(19), 5000, 0);
        single(&more, OP_PUT, bkey(29), 250000, 0);
    }
    for (int n = 0; n < more.nunits; n++) {
        const unit_t *u = &more.units[n];
        uint64_t sec = 0;
        if (u->txn)
            ck_assert_int_eq(store_write_lock(st), STORE_OK);
        for (int i = 0; i < u->nops; i++) {
            store_err_t want = expected_rc(x, &u->ops[i]), err = run_op(st, &u->ops[i], u->txn);
            ck_assert_msg(err == want, "%s: write after repair (%s): %s", label, u->ops[i].key, store_strerror(err));
            if (!u->txn)
                sec = 0; /* each write its own section */
            model_op(x, &u->ops[i], &sec);
        }
        if (u->txn)
            store_write_unlock(st);
    }
    expect_model(st, x, label);
}

/* ---- one crash ------------------------------------------------------------------------ */

/* Spins on reads of keys no scenario writes and on short scans until told
 * to stop; every answer must be right, whatever the writer is doing. */
__attribute__((noreturn)) static void reader_child(store_t *st)
{
    alarm(60);
    tu_rng_t r = {11};
    store_buf_t b = {0};
    store_rows_t rows = {0};
    while (!sh->stop) {
        unsigned i = 10 * (unsigned)tu_below(&r, BASE / 10) + 9;
        store_meta_t m;
        uint64_t tag = 0;
        store_err_t err = store_get(st, bkey(i), 5, &b, &m);
        const char *bad = err != STORE_OK ? store_strerror(err) : tu_val_verify(b.data, b.len, bkey(i), 5, &tag);
        if (bad || tag != i || b.len != base_vlen(i) || m.expiry_ms != base_expiry(i)) {
            snprintf(sh->rmsg, sizeof(sh->rmsg), "get %s: %s", bkey(i), bad ? bad : "wrong value");
            _exit(1);
        }
        store_range_t q = {.lo = {STORE_BOUND_INCL, bkey(i - 9), 5}, .limit = 20, .reverse = i % 20 == 9};
        if ((err = store_range(st, &q, &rows)) != STORE_OK) {
            snprintf(sh->rmsg, sizeof(sh->rmsg), "range: %s", store_strerror(err));
            _exit(1);
        }
        size_t pos = 0;
        store_row_t row;
        while (store_rows_next(&rows, &pos, &row))
            if ((bad = tu_val_verify(row.val, row.vlen, row.key, row.klen, NULL)) != NULL) {
                snprintf(sh->rmsg, sizeof(sh->rmsg), "range row %.*s: %s", (int)row.klen, row.key, bad);
                _exit(1);
            }
        sh->reads++;
    }
    _exit(0);
}

/* Lets the reader do `n` more reads on its own. Returns true, or false
 * with its wait status if it ended first. */
static bool reader_progress(pid_t rpid, uint64_t n, int *status)
{
    uint64_t target = sh->reads + n;
    while (sh->reads < target) {
        pid_t r = waitpid(rpid, status, WNOHANG);
        ck_assert_msg(r >= 0, "waitpid: %s", strerror(errno));
        if (r == rpid)
            return false;
        struct timespec ts = {0, 1000000};
        ck_assert_msg(nanosleep(&ts, NULL) == 0 || errno == EINTR, "nanosleep: %s", strerror(errno));
    }
    return true;
}

typedef struct {
    store_crash_point_t cp;
    int sc;
    unsigned skip;
    bool fresh_handle; /* check through a new attach rather than the old handle */
    bool reader;       /* a reader spins through the death */
} crash_case_t;

static void stop_reader(pid_t rpid, bool writer_died, const char *label)
{
    int status;
    if (!writer_died || reader_progress(rpid, 1000, &status)) { /* the reader meets the dead writer alone */
        sh->stop = 1;
        status = tu_ck_wait(rpid);
    }
    char text[64];
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: reader %s: %s", label,
                  tu_status_text(status, text, sizeof(text)), sh->rmsg);
}

/* Returns whether the writer died at the crash point. */
static bool run_case(const crash_case_t *c)
{
    const scenario_t *s = &scen[c->sc];
    char label[128], text[64];
    snprintf(label, sizeof(label), "%s at %s (skip %u)", s->name, cp_names[c->cp], c->skip);
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "crash", 64 * MiB, 4 * MiB);
    tu_fake_now = NOW;
    store_set_clock(st, tu_fake_clock);
    expect_t x;
    populate(st, &x);
    memset(sh, 0, sizeof(*sh));
    pid_t rpid = c->reader ? tu_ck_fork() : 0;
    if (rpid == 0 && c->reader)
        reader_child(st);
    pid_t wpid = tu_ck_fork();
    if (wpid == 0)
        writer_child(st, s, c->cp, c->skip);
    int status = tu_ck_wait(wpid);
    bool died = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    ck_assert_msg(died || (WIFEXITED(status) && WEXITSTATUS(status) == 0), "%s: writer %s: %s", label,
                  tu_status_text(status, text, sizeof(text)), sh->msg);
    int done = sh->done;
    ck_assert_msg(died || done == s->nunits, "%s: the writer finished %d of %d units", label, done, s->nunits);
    /* Before the commit point the interrupted unit is absent, after it present. */
    model_units(&x, s, 0, died && c->cp == STORE_CP_COMMITTED ? done + 1 : done);
    if (c->reader) {
        stop_reader(rpid, died, label);
        /* The reader fell back to the mutex and repaired the region. */
        ck_assert_msg(!died || (!(seq_of(st) & 1) && st->hdr->journal_len == 0 && st->hdr->owner_deaths == 1),
                      "%s: the reader went on without repairing", label);
    } else if (died)
        expect_dead_writer_state(st, c->cp, label);
    if (c->fresh_handle) {
        store_close(st);
        ck_assert_int_eq(store_attach(r.path, &r.st), STORE_OK);
        st = r.st;
        store_set_clock(st, tu_fake_clock);
    }
    unsigned logged = repairs_logged;
    expect_repaired(st, died, label);
    ck_assert_msg(c->reader || repairs_logged - logged == (unsigned)died, "%s: %u repairs logged", label,
                  repairs_logged - logged);
    expect_model(st, &x, label);
    continue_writes(st, &x, label);
    tu_model_free(&x.m);
    tu_ck_destroy(&r);
    return died;
}

/* ---- tests ---------------------------------------------------------------------------- */

/* Every scenario killed at crash point _i, at its first, third and tenth
 * passage (and deep into the growth scenario). */
START_TEST(crash_at_point)
{
    store_crash_point_t cp = (store_crash_point_t)_i;
    static const unsigned skips[] = {0, 2, 9};
    int deaths = 0;
    for (int sc = 0; sc < NSCEN; sc++) {
        for (size_t k = 0; k < sizeof(skips) / sizeof(skips[0]); k++) {
            crash_case_t c = {cp, sc, skips[k], k == 1, false};
            bool died = run_case(&c);
            deaths += died;
            ck_assert_msg(died || k > 0 || !(scen[sc].must & BIT(cp)), "%s never reached %s", scen[sc].name,
                          cp_names[cp]);
        }
    }
    crash_case_t deep = {cp, SC_GROW, 150, true, false};
    deaths += run_case(&deep);
    fprintf(stderr, "crash point %s: %d of %d writers died there\n", cp_names[cp], deaths,
            NSCEN * (int)(sizeof(skips) / sizeof(skips[0])) + 1);
    ck_assert_msg(deaths > 0, "no scenario reached %s", cp_names[cp]);
}
END_TEST

/* A reader spinning on the region while the writer dies at _i keeps
 * getting right answers, and repairs the region itself. */
START_TEST(reader_survives_writer_death)
{
    store_crash_point_t cp = (store_crash_point_t)_i;
    int sc = 0;
    while (sc < NSCEN && !(scen[sc].must & BIT(cp)))
        sc++;
    ck_assert(sc < SC_CLEAR); /* clear would take the reader's keys away */
    crash_case_t c = {cp, sc, 1, _i % 2 == 0, true};
    ck_assert_msg(run_case(&c), "%s never reached %s", scen[sc].name, cp_names[cp]);
}
END_TEST

/* A second writer repairs the first one's death, then dies mid-write
 * itself: the third locker undoes only the second write. */
START_TEST(chained_deaths)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "crash", 64 * MiB, 4 * MiB);
    tu_fake_now = NOW;
    store_set_clock(st, tu_fake_clock);
    expect_t x;
    populate(st, &x);
    memset(sh, 0, sizeof(*sh));
    const scenario_t *a = &scen[SC_TXN], *b = &scen[SC_REPLACE];
    for (int k = 0; k < 2; k++) {
        pid_t pid = tu_ck_fork();
        if (pid == 0)
            writer_child(st, k == 0 ? a : b, k == 0 ? STORE_CP_REHASH : STORE_CP_ORDER_PARTIAL, 0);
        int status = tu_ck_wait(pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer %d did not die", k);
        ck_assert_int_eq(sh->done, 0);
        expect_dead_writer_state(st, STORE_CP_ORDER_PARTIAL, "chained");
    }
    expect_repaired(st, 2, "chained");
    expect_model(st, &x, "chained");
    continue_writes(st, &x, "chained");
    tu_model_free(&x.m);
    tu_ck_destroy(&r);
}
END_TEST

/* A process that dies holding the mutex outside any critical section (a
 * reader's fallback, store_stats) leaves nothing to undo; and a repairer
 * that dies half-way through its rollback is repaired in turn, because
 * rollback is idempotent. White-box: the children use the mutex and the
 * journal directly. */
START_TEST(deaths_outside_and_during_repair)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "crash", 64 * MiB, 4 * MiB);
    tu_fake_now = NOW;
    store_set_clock(st, tu_fake_clock);
    expect_t x;
    populate(st, &x);
    memset(sh, 0, sizeof(*sh));
    for (int k = 0; k < 3; k++) {
        pid_t pid = tu_ck_fork();
        if (pid == 0 && k == 0) { /* dies holding the mutex, sequence even */
            alarm(60);
            if (pthread_mutex_lock(&st->hdr->mutex) != 0)
                _exit(1);
            kill(getpid(), SIGKILL);
            _exit(2);
        } else if (pid == 0 && k == 1) { /* dies in a transaction */
            writer_child(st, &scen[SC_TXN], STORE_CP_FREEING, 0);
        } else if (pid == 0) { /* repairs half of it, then dies */
            alarm(60);
            if (pthread_mutex_lock(&st->hdr->mutex) != EOWNERDEAD)
                _exit(1);
            uint64_t len = st->hdr->journal_len;
            for (uint64_t i = len; i > len / 2; i--)
                memcpy(st->base + st->journal[i - 1].offset, &st->journal[i - 1].old, 8);
            kill(getpid(), SIGKILL);
            _exit(2);
        }
        int status = tu_ck_wait(pid);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child %d did not die", k);
        if (k == 0)
            expect_repaired(st, 1, "death outside a section");
    }
    ck_assert_uint_gt(st->hdr->journal_len, 1);
    expect_repaired(st, 2, "death during repair"); /* the half repair counted none */
    expect_model(st, &x, "death during repair");
    continue_writes(st, &x, "death during repair");
    tu_model_free(&x.m);
    tu_ck_destroy(&r);
}
END_TEST

/* A clear is too big to journal: a writer that dies inside one leaves a
 * redo marker, and the next locker finishes the clear. White-box: the
 * child writes the marker as store_clear() does, then dies. */
START_TEST(clear_finished_after_death)
{
    tu_region_t r;
    store_t *st = tu_ck_create(&r, "crash", 64 * MiB, 4 * MiB);
    tu_fake_now = NOW;
    store_set_clock(st, tu_fake_clock);
    expect_t x;
    populate(st, &x);
    store_stats_t fresh;
    pid_t pid = tu_ck_fork();
    if (pid == 0) {
        if (store_write_lock(st) != STORE_OK)
            _exit(1);
        journal_begin_redo_clear(st);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    int status = tu_ck_wait(pid);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    expect_repaired(st, 1, "clear redo");
    ck_assert_int_eq(store_stats(st, &fresh), STORE_OK);
    ck_assert_uint_eq(fresh.items, 0);
    ck_assert_uint_eq(fresh.bytes_requested, 0);
    ck_assert_uint_eq(fresh.hash_buckets, 1024);
    tu_model_free(&x.m);
    x.m = (tu_model_t){0};
    x.lsn = store_last_lsn(st);
    expect_model(st, &x, "clear redo");
    continue_writes(st, &x, "clear redo");
    tu_model_free(&x.m);
    tu_ck_destroy(&r);
}
END_TEST

static Suite *crash_suite(void)
{
    Suite *s = suite_create("store-crash");
    TCase *tc = tcase_create("points");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, crash_at_point, STORE_CP_NONE + 1, STORE_CP_COUNT);
    tcase_add_loop_test(tc, reader_survives_writer_death, STORE_CP_NONE + 1, STORE_CP_COUNT);
    tcase_add_test(tc, chained_deaths);
    tcase_add_test(tc, deaths_outside_and_during_repair);
    tcase_add_test(tc, clear_finished_after_death);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    char why[256];
    if (!probe_robust_mutex(why, sizeof(why))) {
        printf("SKIP: store crash tests need robust process-shared mutexes: %s\n", why);
        return 77;
    }
    build_small_scenarios();
    build_big_scenarios();
    sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED) {
        perror("mmap");
        return 99;
    }
    store_set_logger(count_repairs);
    SRunner *sr = srunner_create(crash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}
