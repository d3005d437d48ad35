/*
 * snaptake.c — fuzzy snapshots of a live store and loading them back
 * (see snaptake.h for the argument that replay makes them exact).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persister/snaptake.h"
#include "store/replay.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static persist_status_t store_error(persist_error_t *err, const char *what, store_err_t e)
{
    return persist_fail(err, PERSIST_INVALID, 0, 0, "%s: %s (%s)", what, store_strerror(e), store_error_detail());
}

/* The last committed LSN: read under the writer mutex, so that no section
 * is half done (an LSN read racily could belong to a section that is
 * still changing the index, or that aborts and hands its LSN out again). */
static persist_status_t committed_lsn(store_t *st, uint64_t *lsn, persist_error_t *err)
{
    store_err_t e = store_write_lock(st);
    if (e != STORE_OK)
        return store_error(err, "snapshot: taking the writer mutex", e);
    *lsn = store_last_lsn(st);
    store_write_abort(st); /* nothing changed: nothing to commit or log */
    return PERSIST_OK;
}

typedef struct {
    store_t *st;
    snapshot_writer_t *w;
    const snaptake_opts_t *o;
    store_rows_t rows;
    char *last;        /* copy of the last key written */
    size_t last_len;
    uint64_t items;
} scan_t;

/* Writes one chunk's rows; remembers the last key. *more: a full chunk,
 * so there may be rows after it. */
static persist_status_t write_rows(scan_t *s, bool *more, persist_error_t *err)
{
    store_row_t row;
    size_t pos = 0;
    while (store_rows_next(&s->rows, &pos, &row)) {
        snapshot_entry_t e = {row.key, (uint32_t)row.klen, row.val, (uint32_t)row.vlen, row.expiry_ms,
                              row.version};
        persist_status_t st = snapshot_writer_add(s->w, &e, err);
        if (st != PERSIST_OK)
            return st;
        memcpy(s->last, row.key, row.klen);
        s->last_len = row.klen;
        s->items++;
    }
    size_t limit = s->o->chunk_rows ? s->o->chunk_rows : SNAPTAKE_CHUNK_ROWS;
    *more = s->rows.count > 0 && (s->rows.truncated || s->rows.count >= limit);
    return PERSIST_OK;
}

/* Reads the whole index in chunks into the writer. */
static persist_status_t scan(scan_t *s, persist_error_t *err)
{
    const snaptake_opts_t *o = s->o;
    store_range_t q = {.limit = o->chunk_rows ? o->chunk_rows : SNAPTAKE_CHUNK_ROWS,
                       .max_bytes = o->chunk_bytes ? o->chunk_bytes : SNAPTAKE_CHUNK_BYTES};
    for (bool more = true; more;) {
        if (o->cancelled && o->cancelled(o->arg))
            return persist_fail(err, PERSIST_INVALID, ECANCELED, 0, "snapshot cancelled");
        if (s->items > 0)
            q.lo = (store_bound_t){STORE_BOUND_EXCL, s->last, s->last_len};
        store_err_t e = store_range(s->st, &q, &s->rows);
        if (e != STORE_OK)
            return store_error(err, "snapshot: reading the index", e);
        persist_status_t st = write_rows(s, &more, err);
        if (st != PERSIST_OK)
            return st;
    }
    return PERSIST_OK;
}

/* Seals the file, then reads it back whole; a file that does not read
 * back is removed. */
static persist_status_t seal(scan_t *s, const char *dir, snaptake_result_t *res, persist_error_t *err)
{
    persist_status_t st = snapshot_writer_commit(s->w, err);
    s->w = NULL;
    if (st != PERSIST_OK)
        return st;
    char path[PATH_MAX];
    snapshot_name(res->name, res->start_lsn, false);
    if (pio_join(path, sizeof(path), dir, res->name) != 0)
        return persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "%s: path too long", dir);
    uint64_t count = 0;
    st = snapshot_verify(path, NULL, &count, err);
    if (st == PERSIST_OK && count != s->items)
        st = persist_fail(err, PERSIST_CORRUPT, 0, 0, "%s: %llu entries read back, %llu written", path,
                          (unsigned long long)count, (unsigned long long)s->items);
    struct stat sb;
    if (st == PERSIST_OK && stat(path, &sb) != 0)
        st = persist_syserr(err, "stat", path);
    if (st != PERSIST_OK) {
        if (unlink(path) != 0 && errno != ENOENT)
            st = persist_syserr(err, "unlink", path);
        return st;
    }
    res->bytes = (uint64_t)sb.st_size;
    return PERSIST_OK;
}

persist_status_t snaptake_run(store_t *st, const char *dir, const snaptake_opts_t *o, snaptake_result_t *res,
                              persist_error_t *err)
{
    static const snaptake_opts_t defaults;
    uint64_t t0 = mono_ms();
    memset(res, 0, sizeof(*res));
    scan_t s = {.st = st, .o = o ? o : &defaults, .last = malloc(STORE_MAX_KEY + 1)};
    if (s.last == NULL)
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "snapshot: out of memory");
    persist_status_t rc = committed_lsn(st, &res->start_lsn, err);
    if (rc == PERSIST_OK)
        rc = snapshot_writer_open(dir, res->start_lsn, SNAPSHOT_COUNT_UNKNOWN, &s.w, err);
    if (rc == PERSIST_OK)
        rc = scan(&s, err);
    if (rc == PERSIST_OK)
        rc = committed_lsn(st, &res->end_lsn, err);
    if (rc == PERSIST_OK && s.o->wait_log && s.o->wait_log(s.o->arg, res->end_lsn) != 0)
        rc = persist_fail(err, PERSIST_INVALID, 0, 0, "snapshot abandoned: the log is not durable through LSN %llu",
                          (unsigned long long)res->end_lsn);
    if (rc == PERSIST_OK)
        rc = seal(&s, dir, res, err);
    if (s.w)
        snapshot_writer_abort(s.w);
    store_rows_free(&s.rows);
    free(s.last);
    res->items = s.items;
    res->duration_ms = mono_ms() - t0;
    return rc;
}

/* ---- loading ----------------------------------------------------------------- */

/* One entry as a PUT record: what store_replay_apply takes. */
static record_t entry_record(const snapshot_entry_t *e)
{
    uint64_t version = e->version ? e->version : 1;
    record_t rec = {.lsn = version, .type = RECORD_PUT};
    rec.op = (record_op_t){RECORD_PUT, e->key, e->klen, e->val, e->vlen, e->expiry_ms, version};
    return rec;
}

persist_status_t snaptake_load(store_t *st, const char *path, snapshot_header_t *hdr, uint64_t *items,
                               persist_error_t *err)
{
    snapshot_reader_t *r;
    persist_status_t rc = snapshot_reader_open(path, &r, err);
    if (rc != PERSIST_OK)
        return rc;
    /* many entries per critical section, the hash table sized at once */
    store_err_t se = store_replay_begin(st, snapshot_reader_total(r));
    if (se != STORE_OK) {
        snapshot_reader_close(r);
        return store_error(err, "loading a snapshot", se);
    }
    snapshot_entry_t e;
    while ((rc = snapshot_reader_next(r, &e, err)) == PERSIST_OK) {
        record_t rec = entry_record(&e);
        if ((se = store_replay_apply(st, &rec)) != STORE_OK) {
            rc = store_error(err, "loading a snapshot entry", se);
            break;
        }
    }
    store_replay_end(st);
    if (rc == PERSIST_END) {
        rc = PERSIST_OK;
        se = store_raise_lsn(st, snapshot_reader_header(r)->start_lsn);
        if (se != STORE_OK)
            rc = store_error(err, "loading a snapshot", se);
    }
    if (hdr)
        *hdr = *snapshot_reader_header(r);
    if (items)
        *items = snapshot_reader_count(r);
    snapshot_reader_close(r);
    return rc;
}

/* ---- replaying the log ---------------------------------------------------------- */

static uint64_t stopped_clock(void)
{
    return 0; /* item_expired: nothing has an expiry at or before 0 */
}

typedef struct {
    store_t *st;
    uint64_t applied;
    char why[512];
} replay_t;

static int apply(void *arg, const record_t *rec)
{
    replay_t *r = arg;
    store_err_t e = store_replay_apply(r->st, rec);
    if (e != STORE_OK) {
        snprintf(r->why, sizeof(r->why), "record LSN %llu (%s): %s (%s)", (unsigned long long)rec->lsn,
                 record_type_name(rec->type), store_strerror(e), store_error_detail());
        return 1;
    }
    r->applied++;
    return 0;
}

persist_status_t snaptake_replay(store_t *st, const char *log_dir, logscan_mode_t mode, uint64_t after_lsn,
                                 logscan_result_t *res, uint64_t *applied, persist_error_t *err,
                                 void (*note)(const char *msg))
{
    replay_t r = {.st = st};
    store_err_t se = store_replay_begin(st, 0); /* many records per critical section */
    if (se != STORE_OK)
        return store_error(err, "replaying the log", se);
    store_set_clock(st, stopped_clock);
    persist_status_t rc = logscan_replay(log_dir, mode, after_lsn, apply, &r, res, err, note);
    store_set_clock(st, NULL);
    store_replay_end(st);
    if (rc == PERSIST_INVALID && r.why[0])
        rc = persist_fail(err, PERSIST_INVALID, 0, 0, "replaying %s: %s", log_dir, r.why);
    if (applied)
        *applied = r.applied;
    return rc;
}
