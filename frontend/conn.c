/*
 * conn.c — connection lifecycle, limits and idle timeouts.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "fickle/protocol.h"
#include "frontend/conn.h"
#include "frontend/worker.h"

bool conn_output_full(const conn_t *c)
{
    uint64_t limit = c->w->settings.max_output;
    return limit && evbuffer_get_length(conn_io_output(c->io)) >= limit;
}

static void unpark(conn_t *c);

static void unlink_conn(conn_t *c)
{
    worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    atomic_fetch_sub_explicit(&w->stats->connections_current, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&w->conf->runtime->clients, 1, memory_order_relaxed);
}

void conn_count_limit_close(conn_t *c)
{
    atomic_fetch_add_explicit(&c->w->stats->closed_limits, 1, memory_order_relaxed);
}

void conn_close(conn_t *c, const char *why)
{
    log_msg(LOG_DEBUG, "client id=%llu %s closed: %s", (unsigned long long)c->id, c->peer, why);
    unlink_conn(c);
    if (c->parked)
        unpark(c);
    if (c->held)
        evbuffer_free(c->held);
    if (c->pstate)
        c->proto->state_free(c->pstate);
    conn_io_free(c->io); /* closes the socket */
    worker_t *w = c->w;
    free(c);
    if (w->stopping && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

void conn_close_after_flush(conn_t *c)
{
    c->closing = true;
    conn_io_read(c->io, false);
    if (evbuffer_get_length(conn_io_output(c->io)) == 0)
        conn_close(c, "closed after its last reply");
    else if (conn_io_flush(c->io) != 0) /* drained_cb closes it once the rest is out */
        conn_close(c, strerror(errno));
}

/* Replies go out at once from the callback that made them, as Redis does
 * before it sleeps (conn_io_flush). Returns false if c was closed (a
 * socket error). */
static bool flush_output(conn_t *c)
{
    if (conn_io_flush(c->io) == 0)
        return true;
    conn_close(c, strerror(errno));
    return false;
}

/* The most input a connection buffers: the read high watermark. The
 * margin covers a native frame's header, key and extras around a value
 * of max_request bytes, so any request a parser accepts fits. Before
 * AUTH only CONN_UNAUTH_MAX_INPUT: an anonymous peer cannot make the
 * worker buffer a large request it will refuse anyway. */
static size_t read_limit(const conn_t *c)
{
    if (!c->authed)
        return CONN_UNAUTH_MAX_INPUT;
    return c->w->conf->max_request + 256 * 1024;
}

/* A request that can never fit under the read limit would wait forever:
 * refuse it and close, as Redis does for oversize queries. */
static proto_result_t too_large(conn_t *c, const cmd_t *cmd, struct evbuffer *out, const conn_pump_t *p)
{
    log_msg(LOG_NOTICE, "client id=%llu %s closed: request over the %zu-byte limit", (unsigned long long)c->id,
            c->peer, read_limit(c));
    cmd_parse_t r = {.status = CMD_PARSE_ERROR, .fatal = true, .code = FICKLE_STATUS_TOO_BIG,
                     .msg = "ERR Protocol error: request too large"};
    p->reject(c, cmd, &r, out);
    conn_count_limit_close(c);
    return PROTO_CLOSE;
}

/* Pipelined requests: start the index misses of the next few requests'
 * keys together (store_prefetch_keys), so that running them finds the
 * lines in cache instead of paying each miss in turn. Returns how many
 * requests after the first one it covered. */
static unsigned prefetch_ahead(conn_t *c, const char *buf, size_t len, const conn_pump_t *p)
{
    store_key_t keys[CONN_PREFETCH_DEPTH];
    size_t at = 0;
    unsigned n = 0, nkeys = 0;
    while (n < CONN_PREFETCH_DEPTH && at < len) {
        const char *key;
        size_t klen, used = p->peek_key(buf + at, len - at, &key, &klen);
        if (used == 0)
            break;
        if (key != NULL)
            keys[nkeys++] = (store_key_t){key, klen};
        at += used;
        n++;
    }
    if (n < 2)
        return 0; /* a lone request: its own lookup pays the same misses */
    store_prefetch_keys(c->w->conf->store, keys, nkeys);
    return n - 1;
}

proto_result_t conn_pump(conn_t *c, struct evbuffer *in, struct evbuffer *out, size_t *want, const conn_pump_t *p)
{
    unsigned ahead = 0; /* requests from here on whose keys were prefetched */
    while (!conn_output_full(c)) {
        size_t avail = evbuffer_get_length(in);
        if (avail == 0 || avail < *want)
            break;
        const char *buf = (const char *)evbuffer_pullup(in, -1);
        if (buf == NULL)
            return PROTO_CLOSE; /* out of memory */
        if (ahead > 0)
            ahead--;
        else if (p->peek_key && *want == 0)
            ahead = prefetch_ahead(c, buf, avail, p);
        cmd_t cmd = {0};
        cmd_parse_t r = p->parse(c, buf, avail, &cmd);
        if (r.status == CMD_PARSE_NEED_MORE) {
            if (c->partial_ms == 0)
                c->partial_ms = worker_now_ms(); /* a request began (its bytes may sit in the parser) */
            evbuffer_drain(in, r.consumed);
            *want = r.want;
            if (r.want > read_limit(c) || avail - r.consumed >= read_limit(c))
                return too_large(c, &cmd, out, p);
            break;
        }
        *want = 0;
        c->partial_ms = 0;
        proto_result_t res;
        if (r.status == CMD_PARSE_ERROR) {
            p->reject(c, &cmd, &r, out);
            res = r.fatal ? PROTO_CLOSE : PROTO_CONTINUE;
            if (r.fatal) {
                log_msg(LOG_INFO, "client id=%llu %s: %s; closing", (unsigned long long)c->id, c->peer, r.msg);
                conn_count_limit_close(c);
            }
        } else {
            bool was_authed = c->authed;
            res = p->run(c, &cmd, out);
            if ((cmd_info(cmd.id) & CMD_I_WRITE) && !c->queued)
                c->wrote = true;
            if (c->authed != was_authed)
                conn_io_set_read_limit(c->io, read_limit(c));
            c->queued = false;
        }
        evbuffer_drain(in, r.consumed); /* operands pointed into these bytes */
        if (res == PROTO_CLOSE)
            return PROTO_CLOSE;
        if (c->save_ticket)
            break; /* the next request waits for the SAVE's reply */
    }
    return PROTO_CONTINUE;
}

/* Parks c until the durable LSN reaches wait_lsn (0: no durability wait)
 * and its SAVE, if any, is answered. */
static void park(conn_t *c, worker_t *w, uint64_t wait_lsn)
{
    c->parked = true;
    c->parked_ms = worker_now_ms();
    c->wait_lsn = wait_lsn;
    c->park_prev = NULL;
    c->park_next = w->parked;
    if (w->parked)
        w->parked->park_prev = c;
    w->parked = c;
    if (wait_lsn)
        atomic_fetch_add_explicit(&w->stats->durable_waiting, 1, memory_order_release);
    if (c->save_ticket)
        worker_save_waiters(w, 1);
    /* Reading stays enabled (no epoll_ctl): read_cb leaves what arrives
     * buffered, up to the read watermark, until the release. */
}

static void unpark(conn_t *c)
{
    worker_t *w = c->w;
    if (c->park_prev)
        c->park_prev->park_next = c->park_next;
    else
        w->parked = c->park_next;
    if (c->park_next)
        c->park_next->park_prev = c->park_prev;
    c->parked = false;
    if (c->wait_lsn)
        atomic_fetch_sub_explicit(&w->stats->durable_waiting, 1, memory_order_relaxed);
    c->wait_lsn = 0;
    if (c->save_ticket)
        worker_save_waiters(w, -1);
}

/* Moves the staged replies into c->held. Returns -1 if out of memory. */
static int hold_stage(conn_t *c, worker_t *w)
{
    if (c->held == NULL && (c->held = evbuffer_new()) == NULL) {
        evbuffer_drain(w->stage, evbuffer_get_length(w->stage));
        log_msg(LOG_WARNING, "client id=%llu: out of memory holding replies", (unsigned long long)c->id);
        return -1;
    }
    evbuffer_add_buffer(c->held, w->stage);
    return 0;
}

/* Runs the protocol over the input. With --fsync always the replies go to
 * a staging buffer first, and a batch that wrote is held back (parked)
 * until the persister's fsync covers it. A batch that ends in a SAVE is
 * parked until the snapshot is answered (the replies before it already
 * went out, or are held with the batch's writes). */
static proto_result_t process(conn_t *c, struct evbuffer *in, struct evbuffer *out)
{
    worker_t *w = c->w;
    bool hold = w->conf->runtime->fsync_always;
    proto_result_t r = c->proto->process(c, in, hold ? w->stage : out);
    bool wrote = c->wrote, saving = c->save_ticket != 0;
    c->wrote = false;
    if (wrote)
        runtime_wake_persister(w->conf->runtime);
    bool durable_wait = hold && wrote && evbuffer_get_length(w->stage) > 0;
    if (durable_wait || saving) {
        if (hold && hold_stage(c, w) != 0)
            return PROTO_CLOSE;
        c->close_after_release = r == PROTO_CLOSE;
        /* store_last_lsn covers every write of this batch */
        park(c, w, durable_wait ? store_last_lsn(w->conf->store) : 0);
        return PROTO_CONTINUE;
    }
    if (hold)
        evbuffer_add_buffer(out, w->stage);
    return r;
}

/* Runs the protocol over c's input, counting bytes in and out; *full
 * says whether the pump stopped because the output filled up. */
static proto_result_t serve_input(conn_t *c, struct evbuffer *in, struct evbuffer *out, bool *full)
{
    worker_t *w = c->w;
    size_t before_in = evbuffer_get_length(in), before_out = evbuffer_get_length(out);
    proto_result_t r = process(c, in, out);
    atomic_fetch_add_explicit(&w->stats->net_in, before_in - evbuffer_get_length(in), memory_order_relaxed);
    size_t out_len = evbuffer_get_length(out);
    if (out_len > before_out)
        atomic_fetch_add_explicit(&w->stats->net_out, out_len - before_out, memory_order_relaxed);
    *full = conn_output_full(c);
    return r;
}

static void read_cb(void *arg)
{
    conn_t *c = arg;
    worker_t *w = c->w;
    if (c->parked)
        return; /* its input waits until its last batch is durable */
    struct evbuffer *in = conn_io_input(c->io), *out = conn_io_output(c->io);
    c->last_ms = worker_now_ms();
    bool again;
    do {
        bool was_full;
        proto_result_t r = serve_input(c, in, out, &was_full);
        if (!flush_output(c))
            return;
        size_t out_len = evbuffer_get_length(out);
        if (w->settings.max_output && out_len > w->settings.max_output) {
            /* Redis's client-output-buffer-limit: a client that does not
             * read its replies must not eat the worker's memory. */
            log_msg(LOG_NOTICE, "client id=%llu %s closed: %zu bytes of replies queued, over the %llu-byte limit",
                    (unsigned long long)c->id, c->peer, out_len, (unsigned long long)w->settings.max_output);
            atomic_fetch_add_explicit(&w->stats->closed_limits, 1, memory_order_relaxed);
            conn_close(c, "output buffer limit");
            return;
        }
        if (r == PROTO_CLOSE) {
            conn_close_after_flush(c);
            return;
        }
        /* Not reading while the output is full is what makes a non-reading
         * client stop costing CPU; the write callback resumes reading. */
        if (conn_output_full(c)) {
            conn_io_read(c->io, false);
            return;
        }
        /* The pump stopped at a full output that the write emptied:
         * the requests left in the input are served now. */
        again = was_full && !c->parked && evbuffer_get_length(in) > 0;
    } while (again);
}

/* 0: c's SAVE (if any) still waits; else its status for save_reply. */
static int save_status(conn_t *c, uint64_t *lsn)
{
    *lsn = 0;
    if (c->save_ticket == 0)
        return 1;
    return runtime_snapshot_status(c->w->conf->runtime, c->save_ticket, lsn);
}

void conn_release_parked(worker_t *w)
{
    uint64_t durable = store_durable_lsn(w->conf->store), now = worker_now_ms(), lsn;
    for (conn_t *c = w->parked, *next; c; c = next) {
        next = c->park_next;
        if (c->wait_lsn > durable && now - c->parked_ms > CONN_DURABLE_TIMEOUT_MS) {
            log_msg(LOG_WARNING, "client id=%llu %s closed: its writes were not durable after %u s (LSN %llu, durable "
                                 "%llu); is the persister running?",
                    (unsigned long long)c->id, c->peer, CONN_DURABLE_TIMEOUT_MS / 1000,
                    (unsigned long long)c->wait_lsn, (unsigned long long)durable);
            conn_close(c, "durability timeout");
            continue;
        }
        int saved;
        if (c->wait_lsn > durable || (saved = save_status(c, &lsn)) == 0)
            continue;
        uint64_t ticket = c->save_ticket;
        unpark(c);
        c->save_ticket = 0;
        struct evbuffer *out = conn_io_output(c->io);
        size_t before = evbuffer_get_length(out);
        if (c->held)
            evbuffer_add_buffer(out, c->held);
        if (ticket)
            c->save_reply(c, out, saved, lsn);
        atomic_fetch_add_explicit(&w->stats->net_out, evbuffer_get_length(out) - before, memory_order_relaxed);
        if (!flush_output(c))
            continue;
        if (c->close_after_release) {
            conn_close_after_flush(c);
            continue;
        }
        conn_io_read(c->io, true);
        if (evbuffer_get_length(conn_io_input(c->io)) > 0)
            read_cb(c); /* requests that arrived while it waited */
    }
}

void conn_sweep_requests(worker_t *w)
{
    uint64_t limit_ms = (uint64_t)w->settings.timeout_s * 1000, now = worker_now_ms();
    if (limit_ms == 0)
        return;
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->partial_ms == 0 || c->parked || c->closing || now - c->partial_ms < limit_ms)
            continue;
        log_msg(LOG_NOTICE, "client id=%llu %s closed: a request still incomplete after %u s",
                (unsigned long long)c->id, c->peer, w->settings.timeout_s);
        conn_count_limit_close(c);
        conn_close(c, "request timeout");
    }
}

/* The rest of the replies went out once the socket took them. */
static void drained_cb(void *arg)
{
    conn_t *c = arg;
    if (c->closing) {
        conn_close(c, "closed after its last reply");
        return;
    }
    if (!conn_output_full(c) && !c->w->stopping && !c->parked) {
        conn_io_read(c->io, true);
        if (evbuffer_get_length(conn_io_input(c->io)) > 0)
            read_cb(c); /* requests that waited for room */
    }
}

static void event_cb(void *arg, int what)
{
    conn_t *c = arg;
    if (what == CONN_IO_TIMEOUT && c->parked)
        return; /* waiting on the server, not idle */
    if (what == CONN_IO_TIMEOUT)
        conn_close(c, "idle timeout");
    else if (what == CONN_IO_ERROR)
        conn_close(c, strerror(errno));
    else
        conn_close(c, "client closed the connection");
}

static const conn_io_cbs_t conn_cbs = {read_cb, drained_cb, event_cb};

conn_t *conn_new(worker_t *w, int fd, const proto_t *proto, const char *peer)
{
    conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        log_msg(LOG_WARNING, "out of memory for a new connection from %s", peer);
        close(fd);
        return NULL;
    }
    c->w = w;
    c->io = conn_io_new(w->base, fd, &conn_cbs, c);
    if (c->io == NULL || (proto->state_new && (c->pstate = proto->state_new(c)) == NULL)) {
        log_msg(LOG_WARNING, "out of memory for a new connection from %s", peer);
        if (c->io)
            conn_io_free(c->io); /* closes fd */
        else
            close(fd);
        free(c);
        return NULL;
    }
    c->proto = proto;
    c->id = ++w->next_id * RUNTIME_MAX_WORKERS + w->conf->index; /* unique across workers */
    c->created_ms = c->last_ms = worker_now_ms();
    c->authed = w->settings.requirepass[0] == '\0';
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    atomic_fetch_add_explicit(&w->stats->connections_current, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->stats->connections_total, 1, memory_order_relaxed);
    conn_io_set_idle_timeout(c->io, w->settings.timeout_s);
    /* Input beyond the largest request is not read until it is parsed. */
    conn_io_set_read_limit(c->io, read_limit(c));
    conn_io_read(c->io, true);
    return c;
}
