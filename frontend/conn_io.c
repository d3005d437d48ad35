/*
 * conn_io.c — a client socket's buffered I/O (see conn_io.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.h"
#include "frontend/conn_io.h"

/* The most one readable event reads (a bufferevent's default too). */
#define CONN_IO_READ_MAX 16384

struct conn_io {
    int fd;
    struct event *rev, *wev;
    struct evbuffer *in, *out;
    struct evbuffer_cb_entry *in_cb;
    size_t limit;
    struct timeval idle; /* tv_sec 0: none */
    bool want_read;      /* the owner wants input */
    bool read_armed;     /* rev is pending */
    bool write_armed;    /* wev is pending */
    conn_io_cbs_t cbs;
    void *arg;
};

/* Arms or disarms the read event as the owner's wish and the read limit
 * say. */
static void update_read(conn_io_t *io)
{
    bool want = io->want_read && evbuffer_get_length(io->in) < io->limit;
    if (want == io->read_armed)
        return;
    int rc = want ? event_add(io->rev, io->idle.tv_sec ? &io->idle : NULL) : event_del(io->rev);
    if (rc != 0)
        log_msg(LOG_WARNING, "%s (client socket %d): failed", want ? "event_add" : "event_del", io->fd);
    else
        io->read_armed = want;
}

/* The owner drained input: reading may resume. */
static void input_changed(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    if (info->n_deleted)
        update_read(arg);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    conn_io_t *io = arg;
    if (what & EV_TIMEOUT) {
        io->cbs.event(io->arg, CONN_IO_TIMEOUT);
        return;
    }
    size_t len = evbuffer_get_length(io->in);
    size_t want = io->limit > len ? io->limit - len : 1;
    if (want > CONN_IO_READ_MAX)
        want = CONN_IO_READ_MAX;
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(io->in, (ev_ssize_t)want, v, 2);
    if (nv <= 0) {
        errno = ENOMEM;
        io->cbs.event(io->arg, CONN_IO_ERROR);
        return;
    }
    struct iovec iov[2];
    size_t left = want;
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
        left -= iov[i].iov_len;
    }
    ssize_t n = readv(fd, iov, nv);
    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            io->cbs.event(io->arg, CONN_IO_ERROR);
        return;
    }
    if (n == 0) {
        io->cbs.event(io->arg, CONN_IO_EOF);
        return;
    }
    int used = 0;
    for (size_t got = (size_t)n; used < nv && got > 0; used++) {
        v[used].iov_len = iov[used].iov_len < got ? iov[used].iov_len : got;
        got -= v[used].iov_len;
    }
    if (evbuffer_commit_space(io->in, v, used) != 0) {
        errno = EIO;
        io->cbs.event(io->arg, CONN_IO_ERROR);
        return;
    }
    update_read(io); /* at the limit: stop until the owner drains */
    io->cbs.readable(io->arg);
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    conn_io_t *io = arg;
    (void)what;
    if (evbuffer_write(io->out, fd) < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        io->cbs.event(io->arg, CONN_IO_ERROR);
        return;
    }
    if (evbuffer_get_length(io->out) > 0)
        return;
    if (event_del(io->wev) != 0)
        log_msg(LOG_WARNING, "event_del (client socket %d): failed", io->fd);
    io->write_armed = false;
    io->cbs.drained(io->arg);
}

conn_io_t *conn_io_new(struct event_base *base, int fd, const conn_io_cbs_t *cbs, void *arg)
{
    conn_io_t *io = calloc(1, sizeof(*io));
    if (io == NULL)
        return NULL;
    io->fd = fd;
    io->cbs = *cbs;
    io->arg = arg;
    io->limit = (size_t)-1;
    io->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, io);
    io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, io);
    io->in = evbuffer_new();
    io->out = evbuffer_new();
    if (io->in)
        io->in_cb = evbuffer_add_cb(io->in, input_changed, io);
    if (!io->rev || !io->wev || !io->in || !io->out || !io->in_cb) {
        io->fd = -1; /* the caller still owns it */
        conn_io_free(io);
        return NULL;
    }
    return io;
}

void conn_io_free(conn_io_t *io)
{
    if (io == NULL)
        return;
    if (io->rev)
        event_free(io->rev);
    if (io->wev)
        event_free(io->wev);
    if (io->in_cb)
        evbuffer_remove_cb_entry(io->in, io->in_cb);
    if (io->in)
        evbuffer_free(io->in);
    if (io->out)
        evbuffer_free(io->out);
    if (io->fd >= 0 && close(io->fd) != 0)
        log_msg(LOG_WARNING, "close (client socket %d): %s", io->fd, strerror(errno));
    free(io);
}

struct evbuffer *conn_io_input(const conn_io_t *io)
{
    return io->in;
}

struct evbuffer *conn_io_output(const conn_io_t *io)
{
    return io->out;
}

void conn_io_set_read_limit(conn_io_t *io, size_t limit)
{
    io->limit = limit ? limit : 1;
    update_read(io);
}

void conn_io_set_idle_timeout(conn_io_t *io, unsigned seconds)
{
    io->idle = (struct timeval){.tv_sec = seconds};
}

void conn_io_read(conn_io_t *io, bool on)
{
    io->want_read = on;
    update_read(io);
}

int conn_io_flush(conn_io_t *io)
{
    if (evbuffer_get_length(io->out) == 0)
        return 0;
    if (evbuffer_write(io->out, io->fd) < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    if (evbuffer_get_length(io->out) > 0 && !io->write_armed) {
        if (event_add(io->wev, NULL) != 0) {
            log_msg(LOG_WARNING, "event_add (client socket %d): failed", io->fd);
            errno = EIO;
            return -1;
        }
        io->write_armed = true;
    }
    return 0;
}
