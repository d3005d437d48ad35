/*
 * metrics.h — the HTTP admin endpoint: GET /metrics (Prometheus text
 * format 0.0.4) and GET /health, served by libevent's evhttp in
 * fk-metrics, a child process of the supervisor (docs/server.md, "Metrics
 * and health"). It reads the runtime page and the store's lock-free
 * statistics only: it never takes the writer mutex and never changes the
 * region.
 */
#ifndef FICKLE_SUPERVISOR_METRICS_H
#define FICKLE_SUPERVISOR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "common/runtime.h"
#include "store/store.h"

/* Bounds of the HTTP server. */
#define METRICS_MAX_CONNS 32        /* open connections; beyond, accepting pauses */
#define METRICS_TIMEOUT_S 10        /* a connection idle this long is closed */
#define METRICS_MAX_HEADERS 8192    /* request line + headers, bytes */
#define METRICS_MAX_BODY 1024       /* request body, bytes (GET needs none) */

/* fk-metrics's body (the supervisor forks it): serves HTTP on the
 * inherited listening socket fd, reading st and rt, until SIGTERM or
 * SIGINT; SIGHUP reopens the log file and applies a new log level.
 * Expects default signal dispositions and an empty mask (children_spawn).
 * Returns the exit status: 0 after a signal, 1 if libevent failed
 * (logged). */
int metrics_main(int fd, store_t *st, runtime_t *rt);

/* /health's verdict: 200, or 503 with a short reason (no newline) in
 * reason. The rules are listed in docs/server.md. */
int metrics_health(const store_t *st, const runtime_t *rt, char *reason, size_t len);

/* Appends the Prometheus exposition text. Returns 0, or -1 if out of memory. */
int metrics_render(struct evbuffer *out, store_t *st, runtime_t *rt, uint64_t now_ms);

#endif
