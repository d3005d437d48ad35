/*
 * worker.c — a frontend worker process: event loop, accept, maxclients,
 * signals, graceful stop.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "fickle/protocol.h"
#include "frontend/worker.h"

uint64_t worker_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void worker_refresh_settings(worker_t *w)
{
    /* log-level reloads on SIGHUP too: the supervisor's own call does not
     * reach the workers' copies of the log state. */
    if (runtime_settings_read(w->conf->runtime, &w->settings_gen, &w->settings) && w->settings.log_level > 0)
        log_set_level(w->settings.log_level);
}

static void describe_peer(const struct sockaddr *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "unix");
    }
}

/* Loopback peers (and unix sockets) are this machine's own processes. */
static bool peer_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return sa->sa_family == AF_UNIX;
}

/* Refuses a connection with one protocol error reply, then closes it. */
static void refuse(worker_t *w, int fd, const proto_t *proto, uint16_t native_status, const char *text)
{
    struct evbuffer *msg = evbuffer_new();
    if (msg) {
        proto->error_reply(msg, native_status, text);
        size_t len = evbuffer_get_length(msg);
        /* Best effort, non-blocking: the client may already be gone. */
        if (send(fd, evbuffer_pullup(msg, -1), len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
            log_msg(LOG_DEBUG, "send (refusal): %s", strerror(errno));
        evbuffer_free(msg);
    }
    close(fd);
    atomic_fetch_add_explicit(&w->stats->rejected, 1, memory_order_relaxed);
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    worker_t *w = arg;
    const proto_t *proto = NULL;
    for (size_t i = 0; i < w->conf->nlisteners; i++)
        if (w->listeners[i] == l)
            proto = w->conf->listeners[i].proto;
    (void)salen;
    worker_refresh_settings(w);
    uint32_t before = atomic_fetch_add_explicit(&w->conf->runtime->clients, 1, memory_order_relaxed);
    if (w->settings.maxclients && before >= w->settings.maxclients) {
        atomic_fetch_sub_explicit(&w->conf->runtime->clients, 1, memory_order_relaxed);
        log_msg(LOG_NOTICE, "refused a connection: maxclients (%u) reached", w->settings.maxclients);
        refuse(w, fd, proto, FICKLE_STATUS_BUSY, "ERR max number of clients reached");
        return;
    }
    if (w->settings.protected_mode && w->settings.requirepass[0] == '\0' && !peer_is_loopback(sa)) {
        atomic_fetch_sub_explicit(&w->conf->runtime->clients, 1, memory_order_relaxed);
        char peer[64];
        describe_peer(sa, peer, sizeof(peer));
        log_msg(LOG_NOTICE, "refused a connection from %s: protected mode (no password, peer not on loopback)", peer);
        refuse(w, fd, proto, FICKLE_STATUS_AUTH_REQUIRED, WORKER_DENIED_MSG);
        return;
    }
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
            log_msg(LOG_DEBUG, "setsockopt TCP_NODELAY: %s", strerror(errno));
    }
    char peer[64];
    describe_peer(sa, peer, sizeof(peer));
    if (conn_new(w, fd, proto, peer) == NULL)
        atomic_fetch_sub_explicit(&w->conf->runtime->clients, 1, memory_order_relaxed);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    /* EMFILE and friends: the listener retries on the next readiness. */
    log_msg(LOG_WARNING, "accept: %s", strerror(errno));
}

/* SIGTERM / SIGINT: stop accepting, let clients finish, exit when the last
 * one is gone or the grace period ends. */
static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    worker_t *w = arg;
    (void)what;
    if (w->stopping)
        return;
    w->stopping = true;
    log_msg(LOG_INFO, "worker %u: signal %d, stopping (%llu clients)", w->conf->index, (int)sig,
            (unsigned long long)w->nconns);
    for (size_t i = 0; i < w->conf->nlisteners; i++)
        if (w->listeners[i])
            evconnlistener_disable(w->listeners[i]);
    for (conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        conn_close_after_flush(c);
    }
    if (w->nconns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    struct timeval tv = {w->conf->shutdown_grace_ms / 1000, (w->conf->shutdown_grace_ms % 1000) * 1000};
    event_add(w->grace, &tv);
}

static void grace_cb(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    (void)fd;
    (void)what;
    log_msg(LOG_WARNING, "worker %u: %llu clients still connected after the grace period; closing them",
            w->conf->index, (unsigned long long)w->nconns);
    event_base_loopexit(w->base, NULL);
}

static void hup_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    worker_refresh_settings(arg);
    if (log_reopen() != 0)
        log_msg(LOG_WARNING, "log_reopen: %s", strerror(errno));
}

/* The persister's eventfd says the durable LSN moved. */
static void durable_cb(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    uint64_t v;
    if ((what & EV_READ) && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_msg(LOG_WARNING, "worker %u: read (durable eventfd): %s", w->conf->index, strerror(errno));
    if (w->parked)
        conn_release_parked(w);
}

static void save_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    (void)fd;
    (void)what;
    if (w->parked)
        conn_release_parked(w);
}

static void request_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_sweep_requests(arg);
}

void worker_save_waiters(worker_t *w, int delta)
{
    unsigned before = w->save_waiting;
    w->save_waiting = (unsigned)((int)w->save_waiting + delta);
    if (before == 0 && w->save_waiting > 0) {
        struct timeval tv = {0, WORKER_SAVE_POLL_MS * 1000};
        if (event_add(w->save_tick, &tv) != 0)
            log_msg(LOG_WARNING, "worker %u: cannot start the SAVE poll timer", w->conf->index);
    } else if (before > 0 && w->save_waiting == 0) {
        event_del(w->save_tick);
    }
}

/* --fsync always: the eventfd, plus a slow tick in case a wake-up was
 * missed (the persister restarting, say). */
static int setup_durability(worker_t *w)
{
    runtime_t *rt = w->conf->runtime;
    if (!rt->fsync_always)
        return 0;
    int fd = rt->durable_fds[w->conf->index];
    w->stage = evbuffer_new();
    w->durable_ev = fd >= 0 ? event_new(w->base, fd, EV_READ | EV_PERSIST, durable_cb, w) : NULL;
    w->durable_tick = event_new(w->base, -1, EV_PERSIST, durable_cb, w);
    struct timeval tick = {0, 50 * 1000};
    if (!w->stage || (fd >= 0 && (!w->durable_ev || event_add(w->durable_ev, NULL) != 0)) || !w->durable_tick ||
        event_add(w->durable_tick, &tick) != 0) {
        log_msg(LOG_WARNING, "worker %u: cannot set up durability events", w->conf->index);
        return -1;
    }
    return 0;
}

static int setup(worker_t *w)
{
    w->base = event_base_new();
    if (w->base == NULL) {
        log_msg(LOG_WARNING, "worker %u: event_base_new failed", w->conf->index);
        return -1;
    }
    for (size_t i = 0; i < w->conf->nlisteners; i++) {
        w->listeners[i] = evconnlistener_new(w->base, accept_cb, w, 0, -1, w->conf->listeners[i].fd);
        if (w->listeners[i] == NULL) {
            log_msg(LOG_WARNING, "worker %u: evconnlistener_new on fd %d failed", w->conf->index,
                    w->conf->listeners[i].fd);
            return -1;
        }
        evconnlistener_set_error_cb(w->listeners[i], accept_error_cb);
    }
    w->sigterm = evsignal_new(w->base, SIGTERM, stop_cb, w);
    w->sigint = evsignal_new(w->base, SIGINT, stop_cb, w);
    w->sighup = evsignal_new(w->base, SIGHUP, hup_cb, w);
    w->grace = evtimer_new(w->base, grace_cb, w);
    w->save_tick = event_new(w->base, -1, EV_PERSIST, save_tick_cb, w);
    w->request_tick = event_new(w->base, -1, EV_PERSIST, request_tick_cb, w);
    struct timeval second = {1, 0};
    if (!w->sigterm || !w->sigint || !w->sighup || !w->grace || !w->save_tick || !w->request_tick ||
        event_add(w->sigterm, NULL) != 0 || event_add(w->sigint, NULL) != 0 || event_add(w->sighup, NULL) != 0 ||
        event_add(w->request_tick, &second) != 0) {
        log_msg(LOG_WARNING, "worker %u: cannot set up signal events", w->conf->index);
        return -1;
    }
    if (worker_expire_start(w) != 0)
        return -1;
    return setup_durability(w);
}

static void teardown(worker_t *w)
{
    while (w->conns)
        conn_close(w->conns, "worker exiting");
    for (size_t i = 0; i < w->conf->nlisteners; i++)
        if (w->listeners[i])
            evconnlistener_free(w->listeners[i]);
    struct event *evs[] = {w->sigterm, w->sigint, w->sighup, w->grace, w->durable_ev, w->durable_tick, w->save_tick,
                           w->request_tick, w->expire_tick};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (w->stage)
        evbuffer_free(w->stage);
    if (w->base)
        event_base_free(w->base);
}

/* Test builds (linked with the store's crash points) arm one from the
 * environment, FICKLE_TEST_CRASH=<point>:<skip>; in production builds
 * store_test_crash_at() does nothing and returns false. */
static void arm_test_crash_point(unsigned index)
{
    const char *spec = getenv("FICKLE_TEST_CRASH");
    unsigned cp, skip;
    if (spec && sscanf(spec, "%u:%u", &cp, &skip) == 2 && store_test_crash_at((store_crash_point_t)cp, skip))
        log_msg(LOG_WARNING, "worker %u: test crash point %u armed after %u passes", index, cp, skip);
}

int worker_main(const worker_conf_t *conf)
{
    worker_t w = {.conf = conf, .stats = &conf->runtime->workers[conf->index]};
    atomic_store_explicit(&w.stats->pid, (int32_t)getpid(), memory_order_relaxed);
    worker_refresh_settings(&w);
    /* A write that finds the change log full must not stall this event
     * loop (every other client of the worker would wait): wait briefly,
     * then answer BUSY and let the client retry. */
    store_set_ring_wait(conf->store, WORKER_RING_WAIT_MS);
    arm_test_crash_point(conf->index);
    int status = 0;
    if (setup(&w) == 0) {
        log_msg(LOG_INFO, "worker %u: serving", conf->index);
        if (event_base_dispatch(w.base) < 0) {
            log_msg(LOG_WARNING, "worker %u: event_base_dispatch failed", conf->index);
            status = 1;
        }
    } else {
        status = 1;
    }
    teardown(&w);
    exec_scratch_free(&w.scratch);
    return status;
}
