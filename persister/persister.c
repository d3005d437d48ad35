/*
 * persister.c — the persister process's loop (see persister.h).
 *
 * Ring records are copied (without the ring's alignment padding) into a
 * private batch and appended with one pwrite; the ring is released only
 * after the write, so a persister killed at any instant loses nothing: its
 * successor scans the log for the last LSN on disk, cuts a torn tail, and
 * skips ring records it already holds.
 *
 * Snapshots run on the snapshot thread (snapper.h); this loop starts them,
 * answers the thread's one request (make the log durable through an LSN),
 * reaps the result, publishes it on the runtime page, and applies the
 * retention rule (keep_snapshots()).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "persister/logscan.h"
#include "persister/persister.h"
#include "persister/segment.h"
#include "persister/snapper.h"

#define BATCH_MAX (8u << 20)

typedef struct {
    const persister_conf_t *conf;
    segment_writer_t *w;
    uint64_t disk_lsn;    /* last LSN appended */
    uint64_t synced_lsn;  /* last LSN fsynced */
    uint64_t release_pos; /* --fsync always: ring position to free after the next fsync (0: none) */
    uint64_t last_sync_ms;
    record_buf_t batch;
    volatile sig_atomic_t stop;
    bool stopping;           /* SIGTERM seen: finishing */
    bool final_wanted;       /* a last snapshot before exiting, if anything changed */
    uint64_t stop_deadline;  /* CLOCK_MONOTONIC ms: snapshots at a stop end by then */
    snapper_t *snap;
    uint64_t snap_lsn;       /* start LSN of the newest snapshot on disk (0: none) */
    uint64_t snap_req;       /* tickets the running snapshot answers */
    uint64_t log_since;      /* log bytes written since the last snapshot began */
    uint64_t log_at_start;   /* log_since when the running one began */
    uint64_t next_auto_ms;   /* no automatic snapshot before this (after a failure) */
    uint64_t moved_ms;       /* when a drain last found records */
} pstate_t;

/* Under --fsync everysec/no nobody waits on the persister, so while
 * writes keep coming it naps PERSISTER_BUSY_NAP_MS at a time without
 * asking to be woken: writers then skip the eventfd write (and the
 * persister the poll and read) that each small batch would cost. After
 * PERSISTER_LINGER_MS without records it sleeps until woken again. */
#define PERSISTER_BUSY_NAP_MS 1
#define PERSISTER_LINGER_MS 100

static pstate_t *signal_state;

static void on_term(int sig)
{
    (void)sig;
    if (signal_state)
        signal_state->stop = 1;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Tells parked workers the durable LSN moved. */
static void notify_workers(pstate_t *ps)
{
    runtime_t *rt = ps->conf->runtime;
    for (uint32_t i = 0; i < rt->nworkers && i < RUNTIME_MAX_WORKERS; i++) {
        if (rt->durable_fds[i] < 0 || !atomic_load_explicit(&rt->workers[i].durable_waiting, memory_order_acquire))
            continue;
        uint64_t one = 1;
        if (write(rt->durable_fds[i], &one, sizeof(one)) < 0 && errno != EAGAIN)
            log_msg(LOG_WARNING, "write (worker %u eventfd): %s", i, strerror(errno));
    }
}

static int do_sync(pstate_t *ps)
{
    if (ps->synced_lsn == ps->disk_lsn)
        return 0;
    persist_error_t err;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    if (segment_writer_sync(ps->w, &err) != PERSIST_OK) {
        /* Never fsync the same file again and trust it (after a failed
         * fsync the kernel may have dropped the dirty pages and reports
         * the error once): stop; the records after the durable LSN are
         * still in the ring (--fsync always), and the next persister cuts
         * them off this segment and rewrites them into a new one. */
        log_msg(LOG_ERR, "persister: %s; stopping: records after LSN %llu are not durable and are not "
                         "acknowledged; a new persister rewrites them from the change ring",
                err.msg, (unsigned long long)ps->synced_lsn);
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t us = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000 + (uint64_t)((b.tv_nsec - a.tv_nsec) / 1000);
    persister_stats_t *s = &ps->conf->runtime->persister;
    atomic_fetch_add_explicit(&s->fsyncs, 1, memory_order_relaxed);
    atomic_store_explicit(&s->fsync_last_us, us, memory_order_relaxed);
    if (us > atomic_load_explicit(&s->fsync_max_us, memory_order_relaxed))
        atomic_store_explicit(&s->fsync_max_us, us, memory_order_relaxed);
    ps->synced_lsn = ps->disk_lsn;
    ps->last_sync_ms = mono_ms();
    if (ps->release_pos) {
        store_ring_release(ps->conf->store, ps->release_pos);
        ps->release_pos = 0;
    }
    store_set_durable_lsn(ps->conf->store, ps->synced_lsn);
    notify_workers(ps);
    return 0;
}

/* Appends the batch; 0, or -1 after logging a disk error. */
static int append(pstate_t *ps, uint64_t last_lsn)
{
    if (ps->batch.len == 0)
        return 0;
    persist_error_t err;
    if (segment_writer_append(ps->w, ps->batch.data, ps->batch.len, &err) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: %s; stopping: the records after LSN %llu stay in the change ring for the next "
                         "persister", err.msg, (unsigned long long)ps->disk_lsn);
        return -1;
    }
    persister_stats_t *s = &ps->conf->runtime->persister;
    atomic_fetch_add_explicit(&s->bytes, ps->batch.len, memory_order_relaxed);
    atomic_store_explicit(&s->disk_lsn, last_lsn, memory_order_relaxed);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    atomic_store_explicit(&s->last_write_ms, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                          memory_order_relaxed);
    ps->disk_lsn = last_lsn;
    ps->log_since += ps->batch.len;
    atomic_store_explicit(&ps->conf->runtime->snapshot.log_bytes_since, ps->log_since, memory_order_relaxed);
    return 0;
}

/* Moves one stretch of committed ring records to the log. Returns 1 if it
 * moved something, 0 if the ring was empty, -1 on a fatal error. */
static int drain(pstate_t *ps)
{
    store_t *st = ps->conf->store;
    const uint8_t *data;
    uint64_t pos;
    size_t n = store_ring_peek(st, &pos, &data), off = 0;
    if (n == 0)
        return 0;
    ps->batch.len = 0;
    uint64_t last = ps->disk_lsn, records = 0;
    while (off + 4 <= n && ps->batch.len < BATCH_MAX) {
        if (rd_u32(data + off) == 0)
            break; /* the wrap mark: the next peek starts over at the ring's start */
        /* The ring is written only by writers under the mutex and the
         * records were encoded (CRC included) there: check the framing the
         * copy relies on, and let the segment writer verify the rest. */
        size_t rlen = rd_u32(data + off);
        if (rlen < RECORD_HEADER_SIZE || rlen > n - off) {
            log_msg(LOG_ERR, "persister: invalid record length %zu in the change ring at position %llu", rlen,
                    (unsigned long long)(pos + off));
            return -1;
        }
        record_t rec = {.lsn = rd_u64(data + off + RECORD_OFF_LSN)};
        if (rec.lsn > last) { /* else already on disk (a predecessor wrote it) */
            if (record_buf_reserve(&ps->batch, rlen) != 0) {
                log_msg(LOG_ERR, "persister: out of memory for a %zu-byte batch", ps->batch.len + rlen);
                return -1;
            }
            memcpy(ps->batch.data + ps->batch.len, data + off, rlen);
            ps->batch.len += rlen;
            last = rec.lsn;
            records++;
        }
        off += (rlen + 7) & ~(size_t)7;
    }
    if (append(ps, last) != 0)
        return -1;
    atomic_fetch_add_explicit(&ps->conf->runtime->persister.records, records, memory_order_relaxed);
    /* With --fsync always the ring keeps the records until they are
     * fsynced: if the fsync fails, a new persister rewrites them. Records
     * that were already on disk are durable (in this mode a drain is
     * always followed by an fsync before the next). */
    if (records && ps->conf->fsync == PERSIST_FSYNC_ALWAYS)
        ps->release_pos = pos + (off < n ? off : n);
    else
        store_ring_release(st, pos + (off < n ? off : n));
    return 1;
}

/* After appending: makes it durable as the policy says. */
static int settle(pstate_t *ps, bool moved)
{
    switch (ps->conf->fsync) {
    case PERSIST_FSYNC_ALWAYS:
        return moved ? do_sync(ps) : 0;
    case PERSIST_FSYNC_EVERYSEC:
        return mono_ms() - ps->last_sync_ms >= 1000 ? do_sync(ps) : 0;
    default:
        if (moved) { /* "no": durable means handed to the kernel */
            store_set_durable_lsn(ps->conf->store, ps->disk_lsn);
            notify_workers(ps);
        }
        return 0;
    }
}

/* ---- snapshots ------------------------------------------------------------------ */

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A snapshot should start now: asked for (SAVE, BGSAVE), the log grew
 * enough, or the last one before exiting. */
static bool snapshot_due(pstate_t *ps)
{
    if (snapper_running(ps->snap))
        return false;
    if (ps->stopping)
        return ps->final_wanted && store_last_lsn(ps->conf->store) > ps->snap_lsn && mono_ms() < ps->stop_deadline;
    snapshot_stats_t *s = &ps->conf->runtime->snapshot;
    if (atomic_load_explicit(&s->requests, memory_order_acquire) >
        atomic_load_explicit(&s->answered, memory_order_acquire))
        return true;
    uint64_t limit = ps->conf->snapshot_log_size;
    return limit && ps->log_since >= limit && mono_ms() >= ps->next_auto_ms;
}

/* Retention, after a snapshot was written and read back whole: keep the
 * two newest snapshots, and delete the log segments whose records are all
 * at or below the OLDER one's start LSN. The log then still reaches back
 * to the older snapshot, so recovery can fall back to it (with the log
 * after it) if the newer one is damaged; and, since the newer one's L0 is
 * larger, every deleted record is also at or below the newest snapshot's
 * L0. The newest segment is never deleted. */
static void keep_snapshots(pstate_t *ps)
{
    const persister_conf_t *c = ps->conf;
    persist_error_t err;
    snapshot_info_t *v = NULL;
    size_t n = 0;
    if (snapshot_prune(c->data_dir, 2, &err) != PERSIST_OK || snapshot_list(c->data_dir, &v, &n, &err) != PERSIST_OK) {
        log_msg(LOG_WARNING, "persister: pruning snapshots: %s", err.msg);
        return;
    }
    unsigned removed = 0;
    if (n >= 2 && logscan_prune(c->log_dir, v[1].start_lsn, &removed, &err) != PERSIST_OK)
        log_msg(LOG_WARNING, "persister: pruning the log: %s", err.msg);
    if (removed) {
        atomic_fetch_add_explicit(&c->runtime->snapshot.segments_removed, removed, memory_order_relaxed);
        log_msg(LOG_INFO, "persister: removed %u log segments (all their records are at or below LSN %llu, the "
                          "older kept snapshot's)", removed, (unsigned long long)v[1].start_lsn);
    }
    free(v);
}

static void start_snapshot(pstate_t *ps)
{
    snapshot_stats_t *s = &ps->conf->runtime->snapshot;
    uint64_t req = atomic_load_explicit(&s->requests, memory_order_acquire);
    uint64_t deadline = ps->stopping ? ps->stop_deadline : 0;
    bool asked = req > atomic_load_explicit(&s->answered, memory_order_relaxed);
    ps->final_wanted = false;
    if (snapper_start(ps->snap, deadline) != 0) {
        log_msg(LOG_WARNING, "persister: cannot start the snapshot thread: %s", strerror(errno));
        atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        atomic_store_explicit(&s->last_failed, 1, memory_order_relaxed);
        atomic_store_explicit(&s->answered, req, memory_order_release);
        ps->next_auto_ms = mono_ms() + PERSISTER_SNAPSHOT_RETRY_MS;
        return;
    }
    ps->snap_req = req;
    ps->log_at_start = ps->log_since;
    ps->log_since = 0;
    atomic_store_explicit(&s->log_bytes_since, 0, memory_order_relaxed);
    atomic_store_explicit(&s->current_start_ms, wall_ms(), memory_order_relaxed);
    atomic_store_explicit(&s->in_progress, 1, memory_order_release);
    log_msg(LOG_INFO, "persister: snapshot started (%s)",
            ps->stopping ? "stopping" : asked ? "requested" : "the log grew past --snapshot-log-size");
}

/* Publishes a finished snapshot's outcome and answers its tickets. */
static void finish_snapshot(pstate_t *ps, persist_status_t st, const snaptake_result_t *r, const persist_error_t *err)
{
    snapshot_stats_t *s = &ps->conf->runtime->snapshot;
    if (st == PERSIST_OK) {
        ps->snap_lsn = r->start_lsn;
        atomic_store_explicit(&s->last_lsn, r->start_lsn, memory_order_relaxed);
        atomic_store_explicit(&s->last_size, r->bytes, memory_order_relaxed);
        atomic_store_explicit(&s->last_items, r->items, memory_order_relaxed);
        atomic_store_explicit(&s->last_duration_ms, r->duration_ms, memory_order_relaxed);
        atomic_store_explicit(&s->last_ok_ms, wall_ms(), memory_order_relaxed);
        atomic_store_explicit(&s->last_failed, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->ok, 1, memory_order_relaxed);
        log_msg(LOG_NOTICE, "persister: snapshot %s written: %llu items, %llu bytes, LSN %llu..%llu, %llu ms",
                r->name, (unsigned long long)r->items, (unsigned long long)r->bytes, (unsigned long long)r->start_lsn,
                (unsigned long long)r->end_lsn, (unsigned long long)r->duration_ms);
        keep_snapshots(ps); /* before the answer: a SAVE returns with retention applied */
        atomic_store_explicit(&s->served, ps->snap_req, memory_order_release);
    } else {
        ps->log_since += ps->log_at_start; /* the log still needs a snapshot */
        ps->next_auto_ms = mono_ms() + PERSISTER_SNAPSHOT_RETRY_MS;
        atomic_store_explicit(&s->last_failed, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
        log_msg(LOG_WARNING, "persister: snapshot failed (%s): %s", persist_status_str(st), err->msg);
    }
    atomic_store_explicit(&s->answered, ps->snap_req, memory_order_release);
    atomic_store_explicit(&s->in_progress, 0, memory_order_release);
}

/* The snapshot thread's request: the log durable through `want`. Records
 * up to it were committed before the thread asked, so once a drain that
 * began after the request finds the ring empty (moved == 0), or the log
 * reaches `want`, an fsync covers them. Returns -1 on a fatal disk error. */
static int answer_sync(pstate_t *ps, uint64_t want, int moved)
{
    if (want == 0 || (ps->disk_lsn < want && moved != 0))
        return 0;
    int rc = do_sync(ps);
    snapper_sync_answer(ps->snap, rc == 0);
    return rc;
}

static void reap_snapshot(pstate_t *ps)
{
    persist_status_t st;
    snaptake_result_t res;
    persist_error_t err;
    if (snapper_reap(ps->snap, &st, &res, &err))
        finish_snapshot(ps, st, &res, &err);
}

/* SIGTERM: the workers are gone. Bound a running snapshot, and take a last
 * one if automatic snapshots are on and anything changed since the newest. */
static void begin_stop(pstate_t *ps)
{
    ps->stopping = true;
    ps->stop_deadline = mono_ms() + PERSISTER_STOP_SNAPSHOT_MS; /* one bound for everything below */
    if (snapper_running(ps->snap))
        snapper_set_deadline(ps->snap, ps->stop_deadline);
    ps->final_wanted = ps->conf->snapshot_log_size != 0;
    if (snapshot_due(ps) || snapper_running(ps->snap))
        log_msg(LOG_NOTICE, "persister: stopping; finishing with a snapshot (at most %d s)",
                PERSISTER_STOP_SNAPSHOT_MS / 1000);
}

/* ---- the loop ------------------------------------------------------------------- */

/* Sleeps until a writer or the snapshot thread wakes us, or the next
 * everysec fsync is due. */
static void nap(pstate_t *ps)
{
    runtime_t *rt = ps->conf->runtime;
    if (ps->conf->fsync != PERSIST_FSYNC_ALWAYS && !ps->stop && mono_ms() - ps->moved_ms < PERSISTER_LINGER_MS) {
        struct timespec ts = {0, PERSISTER_BUSY_NAP_MS * 1000000L};
        nanosleep(&ts, NULL); /* EINTR (SIGTERM): the loop looks at stop */
        return;
    }
    atomic_store_explicit(&rt->persister.sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with runtime_wake_persister's fence */
    const uint8_t *data;
    uint64_t pos;
    bool wake = (ps->stop && !ps->stopping) || snapper_attention(ps->snap) || snapshot_due(ps);
    if (store_ring_peek(ps->conf->store, &pos, &data) == 0 && !wake) {
        struct pollfd p = {.fd = rt->wake_fd, .events = POLLIN};
        if (poll(&p, 1, 200) < 0 && errno != EINTR)
            log_msg(LOG_WARNING, "persister: poll: %s", strerror(errno));
        uint64_t v;
        if ((p.revents & POLLIN) && read(rt->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_msg(LOG_WARNING, "persister: read (eventfd): %s", strerror(errno));
    }
    atomic_store_explicit(&rt->persister.sleeping, 0, memory_order_relaxed);
}

/* The newest snapshot's LSN (by name: recovery validated what it used)
 * and how much log was written after it. */
static int open_snapshots(pstate_t *ps)
{
    const persister_conf_t *c = ps->conf;
    snapshot_info_t *v = NULL;
    size_t n = 0;
    persist_error_t err;
    if (snapshot_list(c->data_dir, &v, &n, &err) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: %s", err.msg);
        return -1;
    }
    ps->snap_lsn = n ? v[0].start_lsn : 0;
    free(v);
    if (logscan_size_after(c->log_dir, ps->snap_lsn, &ps->log_since, &err) != PERSIST_OK)
        log_msg(LOG_WARNING, "persister: sizing the log: %s", err.msg);
    snapshot_stats_t *s = &c->runtime->snapshot;
    atomic_store_explicit(&s->log_bytes_since, ps->log_since, memory_order_relaxed);
    atomic_store_explicit(&s->in_progress, 0, memory_order_release); /* a predecessor may have died in one */
    ps->snap = snapper_new(c->region_path, c->data_dir, c->runtime->wake_fd);
    if (ps->snap == NULL) {
        log_msg(LOG_ERR, "persister: out of memory");
        return -1;
    }
    return 0;
}

/* A predecessor stopped after a failed fsync or write (or died between a
 * write and its fsync): the log may hold records past the durable LSN
 * whose fsync failed, and the kernel may have dropped their pages, so they
 * are not trusted. They are cut off the newest segment and written again
 * into a new one: from the ring, which holds every record that was not
 * fsynced with --fsync always (drain() copies them again), and otherwise
 * (everysec) as read back from the log, here. *last_lsn is lowered to what
 * the log keeps; *saved gets the records read back. 0, or -1 after
 * logging. */
static int cut_unsynced(pstate_t *ps, uint64_t *last_lsn, record_buf_t *saved)
{
    store_t *st = ps->conf->store;
    uint64_t durable = store_durable_lsn(st), pos;
    const uint8_t *data;
    size_t n = store_ring_peek(st, &pos, &data);
    if (*last_lsn <= durable)
        return 0;
    uint64_t ring_first = n >= RECORD_HEADER_SIZE ? rd_u64(data + RECORD_OFF_LSN) : UINT64_MAX;
    log_msg(LOG_WARNING, "persister: the log holds records after LSN %llu that were not fsynced (a predecessor's "
                         "fsync failed, or it died first); cutting them off and rewriting them (from the change "
                         "ring, else as read back)", (unsigned long long)durable);
    uint64_t kept, cut;
    persist_error_t err;
    if (logscan_cut_after(ps->conf->log_dir, durable, ring_first, saved, &kept, &cut, &err) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: cutting the records that were not fsynced off the log: %s", err.msg);
        return -1;
    }
    log_msg(LOG_INFO, "persister: cut %llu records after LSN %llu off the log; %zu bytes of them to write again "
                      "as read back", (unsigned long long)cut, (unsigned long long)kept, saved->len);
    *last_lsn = kept;
    return 0;
}

/* Writes the records cut_unsynced() read back into a new segment and
 * fsyncs it. 0, or -1 after logging. */
static int rewrite_saved(pstate_t *ps, record_buf_t *saved)
{
    if (saved->len == 0)
        return 0;
    uint64_t last = 0;
    for (size_t off = 0; off + RECORD_HEADER_SIZE <= saved->len; off += rd_u32(saved->data + off))
        last = rd_u64(saved->data + off + RECORD_OFF_LSN);
    record_buf_t batch = ps->batch;
    ps->batch = *saved;
    int rc = append(ps, last);
    ps->batch = batch;
    return rc == 0 ? do_sync(ps) : -1;
}

/* The log's state at start: cut a torn tail and what was not fsynced,
 * find the last LSN on disk. */
static int open_log(pstate_t *ps)
{
    const persister_conf_t *c = ps->conf;
    logscan_result_t res;
    persist_error_t err;
    if (logscan_tail(c->log_dir, &res, &err, NULL) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: the log cannot be continued: %s", err.msg);
        return -1;
    }
    if (res.truncated)
        log_msg(LOG_WARNING, "persister: cut a torn record off the end of the log (LSN %llu is the last whole one)",
                (unsigned long long)res.last_lsn);
    record_buf_t saved = {0};
    if (cut_unsynced(ps, &res.last_lsn, &saved) != 0) {
        record_buf_free(&saved);
        return -1;
    }
    segment_writer_opts_t o = {.roll_size = c->segment_size};
    if (segment_writer_open(c->log_dir, res.last_lsn + 1, &o, &ps->w, &err) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: %s", err.msg);
        record_buf_free(&saved);
        return -1;
    }
    ps->disk_lsn = ps->synced_lsn = res.last_lsn;
    ps->last_sync_ms = mono_ms();
    int rc = rewrite_saved(ps, &saved);
    record_buf_free(&saved);
    if (rc != 0 || open_snapshots(ps) != 0)
        return -1;
    store_set_durable_lsn(c->store, ps->synced_lsn);
    atomic_store_explicit(&c->runtime->persister.disk_lsn, ps->disk_lsn, memory_order_relaxed);
    log_msg(LOG_INFO, "persister: log at LSN %llu (%llu segments read); writing from the ring, fsync %s",
            (unsigned long long)ps->disk_lsn, (unsigned long long)res.segments,
            c->fsync == PERSIST_FSYNC_ALWAYS ? "always" : c->fsync == PERSIST_FSYNC_NO ? "no" : "everysec");
    return 0;
}

/* One turn of the loop: ring to log, fsync per policy, the snapshot
 * thread's needs, then sleep if there was nothing to do. 0, or 1 on a
 * fatal disk error. */
static int step(pstate_t *ps)
{
    uint64_t want = snapper_sync_wanted(ps->snap); /* before the drain: see answer_sync */
    int moved = drain(ps);
    if (moved < 0 || settle(ps, moved > 0) != 0 || answer_sync(ps, want, moved) != 0)
        return 1;
    reap_snapshot(ps);
    if (snapshot_due(ps))
        start_snapshot(ps);
    if (moved > 0)
        ps->moved_ms = mono_ms();
    else
        nap(ps);
    return 0;
}

int persister_main(const persister_conf_t *conf)
{
    static pstate_t ps;
    ps = (pstate_t){.conf = conf};
    signal_state = &ps;
    struct sigaction sa = {.sa_handler = on_term};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) {
        log_msg(LOG_ERR, "persister: sigaction: %s", strerror(errno));
        return 1;
    }
    atomic_store_explicit(&conf->runtime->persister.pid, (int32_t)getpid(), memory_order_relaxed);
    if (open_log(&ps) != 0)
        return 1;
    int rc = 0;
    while (rc == 0) {
        if (ps.stop && !ps.stopping)
            begin_stop(&ps);
        if (ps.stopping && !snapper_running(ps.snap) && !snapshot_due(&ps))
            break;
        rc = step(&ps);
    }
    snapper_free(ps.snap); /* after a fatal error: abandons a running snapshot */
    /* SIGTERM: the workers are gone; put what the ring still holds on disk. */
    int moved = 0;
    while (rc == 0 && (moved = drain(&ps)) > 0)
        if (ps.release_pos && do_sync(&ps) != 0) {
            moved = -1; /* the ring keeps what this fsync covered */
            break;
        }
    if (rc == 0 && (moved < 0 || do_sync(&ps) != 0))
        rc = 1;
    persist_error_t err;
    if (segment_writer_close(ps.w, &err) != PERSIST_OK) {
        log_msg(LOG_WARNING, "persister: %s", err.msg);
        rc = 1;
    }
    record_buf_free(&ps.batch);
    log_msg(rc ? LOG_WARNING : LOG_INFO, "persister: stopped at LSN %llu (durable %llu)",
            (unsigned long long)ps.disk_lsn, (unsigned long long)ps.synced_lsn);
    return rc;
}
