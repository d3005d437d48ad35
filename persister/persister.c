/*
 * persister.c — the persister process's loop (see persister.h).
 *
 * Ring records are copied (without the ring's alignment padding) into a
 * private batch and appended with one pwrite; the ring is released only
 * after the write, so a persister killed at any instant loses nothing: its
 * successor scans the log for the last LSN on disk, cuts a torn tail, and
 * skips ring records it already holds.
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

#define BATCH_MAX (8u << 20)

typedef struct {
    const persister_conf_t *conf;
    segment_writer_t *w;
    uint64_t disk_lsn;    /* last LSN appended */
    uint64_t synced_lsn;  /* last LSN fsynced */
    uint64_t last_sync_ms;
    record_buf_t batch;
    volatile sig_atomic_t stop;
} pstate_t;

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
        log_msg(LOG_WARNING, "persister: %s; stopping so that no write is acknowledged as durable", err.msg);
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
        log_msg(LOG_WARNING, "persister: %s", err.msg);
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

/* Sleeps until a writer wakes us, or the next everysec fsync is due. */
static void nap(pstate_t *ps)
{
    runtime_t *rt = ps->conf->runtime;
    atomic_store_explicit(&rt->persister.sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst); /* pairs with runtime_wake_persister's fence */
    const uint8_t *data;
    uint64_t pos;
    if (store_ring_peek(ps->conf->store, &pos, &data) == 0 && !ps->stop) {
        struct pollfd p = {.fd = rt->wake_fd, .events = POLLIN};
        if (poll(&p, 1, 200) < 0 && errno != EINTR)
            log_msg(LOG_WARNING, "persister: poll: %s", strerror(errno));
        uint64_t v;
        if ((p.revents & POLLIN) && read(rt->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            log_msg(LOG_WARNING, "persister: read (eventfd): %s", strerror(errno));
    }
    atomic_store_explicit(&rt->persister.sleeping, 0, memory_order_relaxed);
}

/* The log's state at start: cut a torn tail, find the last LSN on disk. */
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
    segment_writer_opts_t o = {.roll_size = c->segment_size};
    if (segment_writer_open(c->log_dir, res.last_lsn + 1, &o, &ps->w, &err) != PERSIST_OK) {
        log_msg(LOG_ERR, "persister: %s", err.msg);
        return -1;
    }
    ps->disk_lsn = ps->synced_lsn = res.last_lsn;
    ps->last_sync_ms = mono_ms();
    store_set_durable_lsn(c->store, res.last_lsn);
    atomic_store_explicit(&c->runtime->persister.disk_lsn, res.last_lsn, memory_order_relaxed);
    log_msg(LOG_INFO, "persister: log at LSN %llu (%llu segments read); writing from the ring, fsync %s",
            (unsigned long long)res.last_lsn, (unsigned long long)res.segments,
            c->fsync == PERSIST_FSYNC_ALWAYS ? "always" : c->fsync == PERSIST_FSYNC_NO ? "no" : "everysec");
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
    while (rc == 0 && !ps.stop) {
        int moved = drain(&ps);
        if (moved < 0 || settle(&ps, moved > 0) != 0)
            rc = 1;
        else if (moved == 0)
            nap(&ps);
    }
    /* SIGTERM: the workers are gone; put what the ring still holds on disk. */
    int moved = 0;
    while (rc == 0 && (moved = drain(&ps)) > 0)
        ;
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
