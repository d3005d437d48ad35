/*
 * metrics.c — the metrics/health HTTP server: an evhttp server on its own
 * event base, run by fk-metrics, a child process of the supervisor
 * (supervisor/loop.c forks, watches and respawns it like the persister).
 * It parses untrusted network input, so it must not run inside the
 * supervisor, whose death takes every process down: here a crash costs
 * only /metrics and /health until the respawn. The listening socket is
 * the supervisor's (bound once, inherited by each fk-metrics), so a
 * respawn binds nothing.
 *
 * It reads the runtime page and the store's lock-free statistics (relaxed
 * atomic loads, store_stats_peek): it never takes the writer mutex and
 * never changes the region.
 *
 * evhttp 2.1 has no connection limit, so one is kept here: each new
 * connection's bufferevent (evhttp_set_bevcb) is counted, and a hook run
 * right after evhttp has wrapped it in a connection installs a close
 * callback that uncounts it; at METRICS_MAX_CONNS the listener pauses.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/stats.h"
#include "supervisor/metrics.h"

typedef struct {
    store_t *store;
    runtime_t *rt;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener;
    struct event *sigterm, *sigint, *sighup;
    unsigned live;   /* connections open */
    bool paused;     /* listener disabled at the limit */
    uint32_t settings_gen;
} metrics_t;

/* ---- connection limit ------------------------------------------------------ */

typedef struct {
    metrics_t *m;
    struct bufferevent *bev;
    struct event *ev;
} conn_hook_t;

static void conn_gone(metrics_t *m)
{
    if (m->live > 0)
        m->live--;
    if (m->paused && m->live < METRICS_MAX_CONNS && m->listener != NULL) {
        if (evconnlistener_enable(m->listener) != 0)
            log_msg(LOG_WARNING, "metrics: evconnlistener_enable failed");
        else
            m->paused = false;
    }
}

static void conn_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_gone(arg);
}

/* Runs in the same loop pass as the accept, once evhttp has set its
 * callbacks on the bufferevent: their argument is the connection. If
 * evhttp already freed it (its callbacks are cleared), it is uncounted
 * here; our reference kept the bufferevent valid until now. */
static void conn_hook(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_hook_t *h = arg;
    void *evcon = NULL;
    bufferevent_getcb(h->bev, NULL, NULL, NULL, &evcon);
    if (evcon != NULL)
        evhttp_connection_set_closecb(evcon, conn_closed, h->m);
    else
        conn_gone(h->m);
    bufferevent_decref(h->bev);
    event_free(h->ev);
    free(h);
}

/* evhttp's bufferevent factory: one call per accepted connection. */
static struct bufferevent *conn_new(struct event_base *base, void *arg)
{
    metrics_t *m = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    conn_hook_t *h = bev ? malloc(sizeof(*h)) : NULL;
    struct event *ev = h ? event_new(base, -1, 0, conn_hook, h) : NULL;
    if (ev == NULL) {
        /* evhttp makes its own bufferevent; this connection goes uncounted */
        free(h);
        if (bev)
            bufferevent_free(bev);
        log_msg(LOG_WARNING, "metrics: out of memory for a connection");
        return NULL;
    }
    *h = (conn_hook_t){m, bev, ev};
    bufferevent_incref(bev);
    event_active(ev, EV_TIMEOUT, 0);
    if (++m->live >= METRICS_MAX_CONNS && !m->paused) {
        if (evconnlistener_disable(m->listener) == 0)
            m->paused = true;
    }
    return bev;
}

/* ---- requests ---------------------------------------------------------------- */

/* evhttp 2.1 drops Content-Length from the answer to HEAD but would
 * still send the body: send none. */
static void send_reply(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body)
{
    evhttp_send_reply(req, code, reason, evhttp_request_get_command(req) == EVHTTP_REQ_HEAD ? NULL : body);
}

static void reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
    struct evbuffer *body = evbuffer_new();
    if (body == NULL || evbuffer_add_printf(body, "%s\n", text) < 0) {
        if (body)
            evbuffer_free(body);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    send_reply(req, code, reason, body);
    evbuffer_free(body);
}

static void serve_metrics(metrics_t *m, struct evhttp_request *req)
{
    struct evbuffer *body = evbuffer_new();
    if (body == NULL || metrics_render(body, m->store, m->rt, stats_wall_ms()) != 0) {
        if (body)
            evbuffer_free(body);
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

static void serve_health(metrics_t *m, struct evhttp_request *req)
{
    char reason[160];
    int code = metrics_health(m->store, m->rt, reason, sizeof(reason));
    if (code == HTTP_OK)
        reply_text(req, HTTP_OK, "OK", "ok");
    else
        reply_text(req, HTTP_SERVUNAVAIL, "Service Unavailable", reason);
}

static void handle(struct evhttp_request *req, void *arg)
{
    metrics_t *m = arg;
    /* One request per connection: a connection never outlives its answer. */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (path == NULL) {
        reply_text(req, HTTP_BADREQUEST, "Bad Request", "bad request");
        return;
    }
    bool is_metrics = !strcmp(path, "/metrics"), is_health = !strcmp(path, "/health");
    if (!is_metrics && !is_health) {
        reply_text(req, HTTP_NOTFOUND, "Not Found", "not found: try /metrics or /health");
        return;
    }
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_text(req, HTTP_BADMETHOD, "Method Not Allowed", "method not allowed");
        return;
    }
    if (is_metrics)
        serve_metrics(m, req);
    else
        serve_health(m, req);
}


/* ---- the process ------------------------------------------------------------- */

/* SIGTERM, SIGINT: the supervisor is stopping; open connections go with us. */
static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    metrics_t *m = arg;
    log_msg(LOG_INFO, "metrics: signal %d: stopping", (int)sig);
    if (event_base_loopbreak(m->base) != 0)
        log_msg(LOG_WARNING, "metrics: event_base_loopbreak failed");
}

/* SIGHUP: reopen the log file (logrotate), as every process does; of the
 * settings the supervisor has published only the log level concerns us. */
static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    metrics_t *m = arg;
    runtime_settings_t s;
    if (runtime_settings_read(m->rt, &m->settings_gen, &s) && s.log_level > 0)
        log_set_level(s.log_level);
    if (log_reopen() != 0)
        log_msg(LOG_WARNING, "metrics: log_reopen: %s", strerror(errno));
    else
        log_msg(LOG_NOTICE, "metrics: SIGHUP: log reopened");
}

static void destroy(metrics_t *m)
{
    m->listener = NULL; /* evhttp_free frees it before it closes connections */
    if (m->http)
        evhttp_free(m->http); /* its connections and this process's copy of the socket */
    struct event *evs[] = {m->sigterm, m->sigint, m->sighup};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (m->base)
        event_base_free(m->base);
}

/* evhttp on fd. -1 if libevent failed (fd is then still ours). */
static int setup_http(metrics_t *m, int fd)
{
    m->http = evhttp_new(m->base);
    if (m->http == NULL)
        return -1;
    /* Every method reaches handle(), which answers 405 itself (evhttp's
     * own refusal would be 501). */
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                            EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_timeout(m->http, METRICS_TIMEOUT_S);
    evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
    evhttp_set_max_body_size(m->http, METRICS_MAX_BODY);
    evhttp_set_gencb(m->http, handle, m);
    evhttp_set_bevcb(m->http, conn_new, m);
    struct evhttp_bound_socket *bound = evhttp_accept_socket_with_handle(m->http, fd);
    if (bound == NULL)
        return -1;
    m->listener = evhttp_bound_socket_get_listener(bound);
    return 0;
}

static int setup_signals(metrics_t *m)
{
    m->sigterm = evsignal_new(m->base, SIGTERM, on_stop, m);
    m->sigint = evsignal_new(m->base, SIGINT, on_stop, m);
    m->sighup = evsignal_new(m->base, SIGHUP, on_hup, m);
    if (!m->sigterm || !m->sigint || !m->sighup || event_add(m->sigterm, NULL) != 0 ||
        event_add(m->sigint, NULL) != 0 || event_add(m->sighup, NULL) != 0)
        return -1;
    return 0;
}

int metrics_main(int fd, store_t *st, runtime_t *rt)
{
    metrics_t m = {.store = st, .rt = rt};
    runtime_settings_t s;
    runtime_settings_read(rt, &m.settings_gen, &s); /* a later SIGHUP applies only what changed */
    m.base = event_base_new();
    if (m.base == NULL || setup_signals(&m) != 0 || setup_http(&m, fd) != 0) {
        log_msg(LOG_ERR, "metrics: cannot set up the HTTP server on fd %d (libevent)", fd);
        if (m.listener == NULL && close(fd) != 0) /* else evhttp owns it */
            log_msg(LOG_WARNING, "metrics: close (listening socket): %s", strerror(errno));
        destroy(&m);
        return 1;
    }
    int rc = event_base_dispatch(m.base);
    if (rc < 0)
        log_msg(LOG_ERR, "metrics: event_base_dispatch failed");
    destroy(&m);
    return rc < 0 ? 1 : 0;
}
