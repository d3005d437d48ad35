/*
 * tests/fake_server.h — a native-protocol server in a thread, for testing
 * clients without fickled: it accepts on 127.0.0.1 (port 0: the kernel
 * picks) and on a Unix socket, parses requests with frontend's native
 * parser, runs them against a tiny in-memory model (a sorted array), and
 * answers with frontend's native_reply encoders. A test can take over the
 * reply to the next request (a hook) to send broken, slow or no replies.
 */
#ifndef FICKLE_TESTS_FAKE_SERVER_H
#define FICKLE_TESTS_FAKE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "frontend/command.h"

typedef struct fake fake_t;

/* What the server does after a hook has filled the reply. */
typedef enum {
    FAKE_KEEP,  /* send it, go on serving */
    FAKE_CLOSE, /* send it, then close the connection */
    FAKE_HANG,  /* send it, then ignore the connection (never reply again) */
    FAKE_DRIP,  /* send it one byte at a time, 2 ms apart, then go on */
} fake_after_t;

/* Replaces the normal reply to one request: appends whatever bytes it
 * likes to out (cmd->opcode, cmd->opaque are the request's). Runs on the
 * server thread. */
typedef fake_after_t (*fake_hook_t)(const cmd_t *cmd, struct evbuffer *out, void *arg);

/* Starts a server; aborts the test on failure. */
fake_t *fake_start(void);
/* Stops the thread, closes every socket, frees everything. */
void fake_stop(fake_t *f);

uint16_t fake_port(const fake_t *f);
const char *fake_unix_path(const fake_t *f);

/* Requires AUTH with this password (NULL: none) from now on. */
void fake_set_password(fake_t *f, const char *password);
/* RANGE replies stop after this many rows and set MORE (0: no cap). */
void fake_set_range_cap(fake_t *f, uint32_t rows);
/* The next request (on any connection) is answered by hook instead. */
void fake_set_hook(fake_t *f, fake_hook_t hook, void *arg);
/* Requests executed so far (hooked ones included). */
uint64_t fake_requests(fake_t *f);

#endif
