/*
 * worker.h — a frontend worker process: one libevent loop serving the
 * connections the kernel hands to its listening sockets.
 */
#ifndef FICKLE_FRONTEND_WORKER_H
#define FICKLE_FRONTEND_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "common/runtime.h"
#include "frontend/conn.h"
#include "frontend/exec.h"
#include "store/store.h"

#define WORKER_MAX_LISTENERS 16
#define WORKER_RING_WAIT_MS 20 /* longest a write blocks the loop for ring space */

typedef struct {
    int fd;
    const proto_t *proto;
} worker_listener_t;

/* Protected mode's refusal: why, and the four ways out (Redis's -DENIED). */
#define WORKER_DENIED_MSG                                                                                          \
    "DENIED fickled is running in protected mode because protected mode is enabled and no password is set. "   \
    "In this mode connections are only accepted from the loopback interface. If you want to connect from "      \
    "other computers, do one of the following: 1) set a password with --requirepass (or 'requirepass' in the "  \
    "config file, then SIGHUP) and AUTH with it; 2) set 'protected-mode no' in the config file and send "         \
    "fickled SIGHUP; 3) restart fickled with '--protected-mode no'. You need only one of them. "                \
    "Make sure fickled is not reachable from the internet if you turn protected mode off."

/* What the supervisor hands a worker. */
typedef struct {
    unsigned index;
    store_t *store;
    runtime_t *runtime;
    worker_listener_t listeners[WORKER_MAX_LISTENERS];
    size_t nlisteners;
    uint64_t max_request;      /* largest request a client may send */
    unsigned shutdown_grace_ms;
} worker_conf_t;

typedef struct worker {
    const worker_conf_t *conf;
    struct event_base *base;
    struct evconnlistener *listeners[WORKER_MAX_LISTENERS];
    worker_stats_t *stats;
    runtime_settings_t settings; /* private copy, refreshed on change */
    uint32_t settings_gen;
    conn_t *conns;               /* live connections */
    uint64_t nconns;
    uint64_t next_id;
    exec_scratch_t scratch;      /* the executor's reusable buffers */
    struct evbuffer *stage;      /* --fsync always: replies before they may go */
    conn_t *parked;              /* connections waiting for durability */
    struct event *durable_ev, *durable_tick;
    struct event *save_tick;     /* polls the runtime page while SAVEs wait */
    struct event *request_tick;  /* once a second: request timeouts */
    unsigned save_waiting;       /* connections parked on a SAVE */
    struct event *expire_tick;   /* active expiry (expire_tick.c) */
    bool stopping;
    struct event *sigterm, *sigint, *sighup, *grace;
} worker_t;

/* Runs the worker until SIGTERM and its graceful stop. Returns the exit
 * status for the process. */
int worker_main(const worker_conf_t *conf);

/* Refreshes w->settings from the runtime page if the supervisor changed them. */
void worker_refresh_settings(worker_t *w);

uint64_t worker_now_ms(void);

/* Counts connections parked on a SAVE (delta +1 or -1); the worker polls
 * for the persister's answer every WORKER_SAVE_POLL_MS while any waits. */
#define WORKER_SAVE_POLL_MS 5
void worker_save_waiters(worker_t *w, int delta);

/* Arms the active expiry timer (expire_tick.c). Returns 0 or -1 (logged). */
int worker_expire_start(worker_t *w);

#endif
