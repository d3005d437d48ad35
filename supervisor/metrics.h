/*
 * metrics.h — the HTTP admin endpoint: GET /metrics (Prometheus text
 * format 0.0.4) and GET /health, served by libevent's evhttp on a thread
 * of the supervisor with its own event loop (docs/server.md, "Metrics and
 * health"). It reads the runtime page and the store's lock-free statistics
 * only: it never takes the writer mutex and never changes the region.
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

typedef struct metrics metrics_t;

/* Starts the server on the listening socket fd (it becomes the server's
 * and is closed by metrics_stop), reading st and rt, in a new thread that
 * blocks every signal. NULL on failure (logged; fd is closed). */
metrics_t *metrics_start(int fd, store_t *st, runtime_t *rt);

/* Around fork (main thread): pause returns once the server thread waits
 * holding no lock (or after 1 s, logged), resume lets it go on. NULL is a
 * no-op. */
void metrics_pause(metrics_t *m);
void metrics_resume(metrics_t *m);

/* Stops the thread, closes every connection and the socket. NULL is a no-op. */
void metrics_stop(metrics_t *m);

/* /health's verdict: 200, or 503 with a short reason (no newline) in
 * reason. The rules are listed in docs/server.md. */
int metrics_health(const store_t *st, const runtime_t *rt, char *reason, size_t len);

/* Appends the Prometheus exposition text. Returns 0, or -1 if out of memory. */
int metrics_render(struct evbuffer *out, store_t *st, runtime_t *rt, uint64_t now_ms);

#endif
