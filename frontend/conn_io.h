/*
 * conn_io.h — a client socket's buffered I/O on a worker's event loop:
 * an input and an output evbuffer, one read and one write event.
 *
 * It does what libevent's socket bufferevent did for connections, with two
 * system calls fewer per request and reply: input is read with one readv
 * into space reserved in the input evbuffer (a bufferevent's evbuffer_read
 * asks ioctl(FIONREAD) before every read), and replies are written at once
 * by conn_io_flush, the write event being armed only while the socket is
 * full (docs/performance.md, "Cost per request").
 *
 * Reading stops by itself while the input holds the read limit or more,
 * and resumes as soon as the owner drains it below (the bufferevent's high
 * watermark). The idle timeout runs while reading is on.
 */
#ifndef FICKLE_FRONTEND_CONN_IO_H
#define FICKLE_FRONTEND_CONN_IO_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>
#include <event2/event.h>

typedef struct conn_io conn_io_t;

/* What conn_io reports through conn_io_cbs_t.event. */
enum {
    CONN_IO_EOF = 1,     /* the peer closed its side */
    CONN_IO_ERROR = 2,   /* a socket error: errno says which */
    CONN_IO_TIMEOUT = 4, /* no input for the idle timeout while reading */
};

/* Callbacks; arg is conn_io_new's. Each may free the conn_io. */
typedef struct {
    void (*readable)(void *arg);          /* new input is in the input buffer */
    void (*drained)(void *arg);           /* the output emptied after the socket had been full */
    void (*event)(void *arg, int what);   /* CONN_IO_EOF, _ERROR or _TIMEOUT */
} conn_io_cbs_t;

/* Takes over fd (non-blocking). Reading is off until conn_io_read(io,
 * true). NULL if out of memory (fd is left open). */
conn_io_t *conn_io_new(struct event_base *base, int fd, const conn_io_cbs_t *cbs, void *arg);

/* Frees the events and buffers and closes the socket. */
void conn_io_free(conn_io_t *io);

struct evbuffer *conn_io_input(const conn_io_t *io);
struct evbuffer *conn_io_output(const conn_io_t *io);

/* Reading stops while the input holds `limit` bytes or more. */
void conn_io_set_read_limit(conn_io_t *io, size_t limit);

/* Closes-by-timeout after `seconds` without input while reading (0: never).
 * Takes effect the next time reading is turned on. */
void conn_io_set_idle_timeout(conn_io_t *io, unsigned seconds);

/* Turns reading on or off. */
void conn_io_read(conn_io_t *io, bool on);

/* Writes what the output holds now; what the socket does not take goes out
 * when it is writable (then `drained` is called). 0, or -1 on a socket
 * error (errno; the caller closes). */
int conn_io_flush(conn_io_t *io);

#endif
