/*
 * metrics.c — the metrics/health HTTP server: an evhttp server on its own
 * event base, run by a dedicated supervisor thread. The supervisor's main
 * thread waits for signals with sigtimedwait and must stay free to reap
 * and respawn children, so HTTP clients (slow or many) never run on it;
 * workers and the persister are other processes and never wait for it.
 *
 * The thread shares nothing with the main thread but the runtime page
 * and the store handle, both read with relaxed atomic loads. libevent is
 * not set up for threads: only this thread ever touches its event base;
 * the main thread stops it through an eventfd. A fork copies only the
 * forking thread: had this one held a lock (malloc's, a sanitizer's, the
 * thread registry while it starts), the child would inherit it locked
 * and hang on it. So the main thread parks it around every fork
 * (metrics_pause/metrics_resume): it then waits on a condition variable,
 * holding nothing.
 *
 * evhttp 2.1 has no connection limit, so one is kept here: each new
 * connection's bufferevent (evhttp_set_bevcb) is counted, and a hook run
 * right after evhttp has wrapped it in a connection installs a close
 * callback that uncounts it; at METRICS_MAX_CONNS the listener pauses.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "common/log.h"
#include "common/stats.h"
#include "supervisor/metrics.h"

struct metrics {
    store_t *store;
    runtime_t *rt;
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener;
    struct event *stop_ev;
    int stop_fd;
    unsigned live;   /* connections open */
    bool paused;     /* listener disabled at the limit */
    pthread_t thread;
    /* Parking around fork (metrics_pause): under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool park_req, parked;
    int park_fd;
    struct event *park_ev;
};

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

/* ---- the thread ---------------------------------------------------------------- */

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((metrics_t *)arg)->base);
}

/* The main thread is about to fork: wait, holding nothing, until it has. */
static void on_park(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    metrics_t *m = arg;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_msg(LOG_WARNING, "metrics: read (park eventfd): %s", strerror(errno));
    pthread_mutex_lock(&m->mu);
    if (m->park_req) {
        m->parked = true;
        pthread_cond_broadcast(&m->cv);
        while (m->park_req)
            pthread_cond_wait(&m->cv, &m->mu);
        m->parked = false;
    }
    pthread_mutex_unlock(&m->mu);
}

void metrics_pause(metrics_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->park_req = true;
    pthread_mutex_unlock(&m->mu);
    uint64_t one = 1;
    if (write(m->park_fd, &one, sizeof(one)) != sizeof(one)) {
        log_msg(LOG_WARNING, "metrics: write (park eventfd): %s", strerror(errno));
        return;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 1;
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    while (!m->parked && rc == 0)
        rc = pthread_cond_timedwait(&m->cv, &m->mu, &dl);
    pthread_mutex_unlock(&m->mu);
    if (rc != 0) /* its handlers never block: this is not expected */
        log_msg(LOG_WARNING, "metrics: the thread did not park in 1 s; forking anyway");
}

void metrics_resume(metrics_t *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->park_req = false;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void *run(void *arg)
{
    metrics_t *m = arg;
    if (event_base_dispatch(m->base) < 0)
        log_msg(LOG_WARNING, "metrics: event_base_dispatch failed; the metrics port no longer answers");
    return NULL;
}

static void destroy(metrics_t *m)
{
    m->listener = NULL; /* evhttp_free frees it before it closes connections */
    if (m->http)
        evhttp_free(m->http); /* its connections and the listening socket */
    if (m->stop_ev)
        event_free(m->stop_ev);
    if (m->stop_fd >= 0)
        close(m->stop_fd);
    if (m->park_ev)
        event_free(m->park_ev);
    if (m->park_fd >= 0)
        close(m->park_fd);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    if (m->base)
        event_base_free(m->base);
    free(m);
}

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
    if (bound == NULL) {
        close(fd);
        return -1;
    }
    m->listener = evhttp_bound_socket_get_listener(bound);
    return 0;
}

metrics_t *metrics_start(int fd, store_t *st, runtime_t *rt)
{
    metrics_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        log_msg(LOG_ERR, "metrics: out of memory");
        close(fd);
        return NULL;
    }
    *m = (metrics_t){.store = st, .rt = rt, .stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC),
                     .park_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    if (m->stop_fd < 0 || m->park_fd < 0) {
        log_msg(LOG_ERR, "metrics: eventfd: %s", strerror(errno));
        close(fd);
        destroy(m);
        return NULL;
    }
    m->base = event_base_new();
    m->stop_ev = m->base ? event_new(m->base, m->stop_fd, EV_READ, on_stop, m) : NULL;
    m->park_ev = m->base ? event_new(m->base, m->park_fd, EV_READ | EV_PERSIST, on_park, m) : NULL;
    if (m->stop_ev == NULL || event_add(m->stop_ev, NULL) != 0 || m->park_ev == NULL ||
        event_add(m->park_ev, NULL) != 0 || setup_http(m, fd) != 0) {
        log_msg(LOG_ERR, "metrics: cannot set up the HTTP server (libevent)");
        if (m->http == NULL)
            close(fd);
        destroy(m);
        return NULL;
    }
    /* The thread must never take the supervisor's signals: sigtimedwait on
     * the main thread is how they are handled. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&m->thread, NULL, run, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        log_msg(LOG_ERR, "metrics: pthread_create: %s", strerror(rc));
        destroy(m);
        return NULL;
    }
    return m;
}

void metrics_stop(metrics_t *m)
{
    if (m == NULL)
        return;
    uint64_t one = 1;
    if (write(m->stop_fd, &one, sizeof(one)) != sizeof(one))
        log_msg(LOG_WARNING, "metrics: write (stop eventfd): %s", strerror(errno));
    int rc = pthread_join(m->thread, NULL);
    if (rc != 0) {
        log_msg(LOG_WARNING, "metrics: pthread_join: %s", strerror(rc));
        return; /* leak rather than free what the thread may still use */
    }
    destroy(m);
}
