/*
 * client/conn.c — libfickle's connection layer: handles, connecting over
 * TCP or a Unix socket with a timeout, and buffered non-blocking I/O with
 * poll(), EINTR and partial transfers handled, never raising SIGPIPE.
 * Errors are recorded in the handle (fickle_errstr).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client/internal.h"

#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0
#endif

/* ---- errors -------------------------------------------------------------------------- */

/* Formats via a copy, so c->err itself may be an argument. */
static void vset_err(fickle_t *c, const char *fmt, va_list ap)
{
    char tmp[FICKLE_ERR_MAX];
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    memcpy(c->err, tmp, sizeof(tmp));
}

int fickle__fail(fickle_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_err(c, fmt, ap);
    va_end(ap);
    return code;
}

int fickle__die(fickle_t *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_err(c, fmt, ap);
    va_end(ap);
    snprintf(c->why_dead, sizeof(c->why_dead), "%s", c->err);
    c->dead = true;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->wlen = c->woff = 0;
    c->rlen = c->roff = 0;
    c->pcount = 0;
    return code;
}

int fickle__enter(fickle_t *c)
{
    if (!c)
        return FICKLE_ERR_ARG;
    c->err[0] = '\0';
    if (c->dead)
        return fickle__fail(c, FICKLE_ERR_CLOSED, "connection closed: %s", c->why_dead);
    return FICKLE_OK;
}

const char *fickle_errstr(const fickle_t *c)
{
    return c ? c->err : "out of memory";
}

bool fickle_usable(const fickle_t *c)
{
    return c && !c->dead;
}

/* ---- handles ------------------------------------------------------------------------- */

void fickle_options_init(fickle_options_t *o)
{
    o->timeout_ms = 5000;
    o->max_reply = FICKLE_DEFAULT_MAX_REPLY;
}

/* A handle with no socket yet (dead until connected), or NULL. */
static fickle_t *handle_new(const fickle_options_t *opts)
{
    fickle_options_t d;
    if (!opts) {
        fickle_options_init(&d);
        opts = &d;
    }
    fickle_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->fd = -1;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 0;
    c->max_reply = opts->max_reply ? opts->max_reply : FICKLE_DEFAULT_MAX_REPLY;
    if (c->max_reply < FICKLE_HEADER_SIZE)
        c->max_reply = FICKLE_HEADER_SIZE;
    c->next_opaque = 1;
    c->dead = true;
    snprintf(c->why_dead, sizeof(c->why_dead), "not connected");
    c->rbuf = malloc(FICKLE_RBUF_SIZE);
    if (!c->rbuf) {
        free(c);
        return NULL;
    }
    c->rcap = FICKLE_RBUF_SIZE;
    return c;
}

void fickle_close(fickle_t *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->wbuf);
    free(c->rbuf);
    free(c->pend);
    free(c);
}

/* ---- waiting ------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for `events` (POLLIN/POLLOUT), at most the
 * timeout. Returns the revents (> 0), FICKLE_ERR_TIMEOUT or FICKLE_ERR_IO,
 * both with c->err set (the caller decides whether that kills c). */
static int wait_fd(fickle_t *c, int fd, short events, const char *what)
{
    int64_t deadline = c->timeout_ms ? now_ms() + c->timeout_ms : 0;
    for (;;) {
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            wait = left > 0 ? (int)left : 0;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, wait);
        if (n > 0)
            return p.revents;
        if (n == 0)
            return fickle__fail(c, FICKLE_ERR_TIMEOUT, "timeout: %s took over %d ms", what, c->timeout_ms);
        if (errno != EINTR)
            return fickle__fail(c, FICKLE_ERR_IO, "poll: %s", strerror(errno));
    }
}

/* ---- connecting ---------------------------------------------------------------------- */

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof(one)) < 0)
        return -1;
#endif
    return 0;
}

/* Connects a new socket of `family` to addr within the timeout. Returns the
 * fd, or -1 with c->err set and *rc the result. `name` is for messages. */
static int dial(fickle_t *c, int family, const struct sockaddr *addr, socklen_t alen, const char *name, int *rc)
{
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) {
        *rc = fickle__fail(c, FICKLE_ERR_IO, "socket: %s", strerror(errno));
        return -1;
    }
    if (set_nonblock(fd) < 0) {
        *rc = fickle__fail(c, FICKLE_ERR_IO, "fcntl: %s", strerror(errno));
        goto fail;
    }
    if (connect(fd, addr, alen) < 0) {
        if (errno != EINPROGRESS && errno != EINTR) { /* EINTR: the connect goes on */
            *rc = fickle__fail(c, FICKLE_ERR_IO, "connect to %s: %s", name, strerror(errno));
            goto fail;
        }
        int ev = wait_fd(c, fd, POLLOUT, "connect");
        if (ev < 0) {
            *rc = ev;
            goto fail;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            soerr = errno;
        if (soerr) {
            *rc = fickle__fail(c, FICKLE_ERR_IO, "connect to %s: %s", name, strerror(soerr));
            goto fail;
        }
    }
    if (family != AF_UNIX) {
        int one = 1; /* requests are small and latency-bound; a failure only costs speed */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
fail:
    close(fd);
    return -1;
}

static void attach(fickle_t *c, int fd)
{
    c->fd = fd;
    c->dead = false;
    c->why_dead[0] = '\0';
    c->err[0] = '\0';
}

int fickle_connect(fickle_t **out, const char *host, uint16_t port, const fickle_options_t *opts)
{
    fickle_t *c = *out = handle_new(opts);
    if (!c)
        return FICKLE_ERR_NOMEM;
    if (!host || !*host || !port)
        return fickle__fail(c, FICKLE_ERR_ARG, "connect: a host and a non-zero port are required");
    char ps[8];
    snprintf(ps, sizeof(ps), "%u", (unsigned)port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    int g = getaddrinfo(host, ps, &hints, &res);
    if (g)
        return fickle__fail(c, FICKLE_ERR_IO, "resolve %s: %s", host,
                            g == EAI_SYSTEM ? strerror(errno) : gai_strerror(g));
    int rc = FICKLE_ERR_IO, fd = -1;
    char name[300];
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        snprintf(name, sizeof(name), "%s port %u", host, (unsigned)port);
        fd = dial(c, ai->ai_family, ai->ai_addr, ai->ai_addrlen, name, &rc);
    }
    freeaddrinfo(res);
    if (fd < 0)
        return rc;
    attach(c, fd);
    return FICKLE_OK;
}

int fickle_connect_unix(fickle_t **out, const char *path, const fickle_options_t *opts)
{
    fickle_t *c = *out = handle_new(opts);
    if (!c)
        return FICKLE_ERR_NOMEM;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
        return fickle__fail(c, FICKLE_ERR_ARG, "connect: socket path empty or over %zu bytes",
                            sizeof(sa.sun_path) - 1);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = FICKLE_ERR_IO;
    int fd = dial(c, AF_UNIX, (const struct sockaddr *)&sa, sizeof(sa), path, &rc);
    if (fd < 0)
        return rc;
    attach(c, fd);
    return FICKLE_OK;
}

/* ---- receiving ----------------------------------------------------------------------- */

/* Receives 1..len bytes into buf, waiting as needed. Returns the count, 0
 * at EOF, or a FICKLE_ERR_* (connection killed). */
static ssize_t recv_some(fickle_t *c, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = recv(c->fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return fickle__die(c, FICKLE_ERR_IO, "receive: %s", strerror(errno));
        int ev = wait_fd(c, c->fd, POLLIN, "waiting for the server's reply");
        if (ev < 0)
            return fickle__die(c, ev, "%s", c->err);
    }
}

/* Makes room for at least `want` more bytes at rbuf's end: moves the
 * unconsumed bytes to the front, grows up to `cap` total. Returns false if
 * no room can be made. */
static bool rbuf_room(fickle_t *c, size_t want, size_t cap)
{
    if (c->roff == c->rlen)
        c->roff = c->rlen = 0;
    if (c->rcap - c->rlen >= want)
        return true;
    if (c->roff) {
        memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
        c->rlen -= c->roff;
        c->roff = 0;
        if (c->rcap - c->rlen >= want)
            return true;
    }
    size_t ncap = c->rcap * 2;
    if (ncap > cap || ncap < c->rlen + want)
        return false;
    uint8_t *nb = realloc(c->rbuf, ncap);
    if (!nb)
        return false;
    c->rbuf = nb;
    c->rcap = ncap;
    return true;
}

int fickle__read(fickle_t *c, void *dst, size_t n, const char *what)
{
    uint8_t *d = dst;
    while (n) {
        size_t avail = c->rlen - c->roff;
        if (avail) {
            size_t take = avail < n ? avail : n;
            memcpy(d, c->rbuf + c->roff, take);
            c->roff += take;
            d += take;
            n -= take;
            continue;
        }
        c->roff = c->rlen = 0;
        bool direct = n >= c->rcap; /* big bodies skip the buffer */
        ssize_t got = recv_some(c, direct ? d : c->rbuf, direct ? n : c->rcap);
        if (got < 0)
            return (int)got;
        if (got == 0)
            return fickle__die(c, FICKLE_ERR_CLOSED, "server closed the connection while %s", what);
        if (direct) {
            d += got;
            n -= (size_t)got;
        } else {
            c->rlen = (size_t)got;
        }
    }
    return FICKLE_OK;
}

/* ---- sending ------------------------------------------------------------------------- */

/* While a send would block: if the server is sending, buffer what it sends
 * (bounded by max_reply plus one buffer) so it can go on reading ours. */
static int flush_wait(fickle_t *c)
{
    bool room = rbuf_room(c, 4096, c->max_reply + FICKLE_RBUF_SIZE);
    int ev = wait_fd(c, c->fd, (short)(POLLOUT | (room ? POLLIN : 0)), "sending the request");
    if (ev < 0)
        return fickle__die(c, ev, "%s", c->err);
    if (!room || !(ev & POLLIN) || (ev & POLLOUT))
        return FICKLE_OK;
    ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    if (n > 0)
        c->rlen += (size_t)n;
    else if (n == 0)
        c->wclosed = true; /* EOF: read what was buffered, then fail */
    else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
        return fickle__die(c, FICKLE_ERR_IO, "receive: %s", strerror(errno));
    return FICKLE_OK;
}

/* Contract in internal.h. If the server has stopped reading (EPIPE,
 * ECONNRESET, or EOF seen), the unsent bytes are dropped and wclosed set,
 * and FICKLE_OK is returned so that replies already received can be read;
 * reading past them then fails with FICKLE_ERR_CLOSED. */
int fickle__flush(fickle_t *c)
{
    while (c->woff < c->wlen && !c->wclosed) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, SEND_FLAGS);
        if (n > 0) {
            c->woff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            c->wclosed = true;
            break;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return fickle__die(c, FICKLE_ERR_IO, "send: %s", strerror(errno));
        int rc = flush_wait(c);
        if (rc < 0)
            return rc;
    }
    c->woff = c->wlen = 0;
    return FICKLE_OK;
}

int fickle_flush(fickle_t *c)
{
    int rc = fickle__enter(c);
    if (rc == FICKLE_OK)
        rc = fickle__flush(c);
    if (rc == FICKLE_OK && c->wclosed)
        rc = fickle__fail(c, FICKLE_ERR_CLOSED, "server closed the connection: requests not sent");
    return rc;
}
