/*
 * tests/fake_server.c — the fake native-protocol server of fake_server.h:
 * one thread polling a TCP listener, a Unix listener and up to
 * FAKE_MAX_CONNS connections; requests go through frontend's native parser,
 * a sorted-array model executes them, native_reply encodes the answers.
 * The model follows docs/protocol.md closely enough for client tests; it
 * is not the server's executor.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "frontend/native_parse.h"
#include "frontend/native_reply.h"
#include "tests/fake_server.h"

#define FAKE_MAX_CONNS 8

typedef struct {
    char *k, *v;
    size_t kl, vl;
    uint64_t ver, exp; /* exp: absolute Unix ms, 0 = none */
} item_t;

typedef struct {
    int fd; /* -1: free slot */
    struct evbuffer *in;
    native_parser_t p;
    bool authed, hang;
} fconn_t;

struct fake {
    pthread_t th;
    pthread_mutex_t mu; /* guards the knobs below and the request count */
    int lfd, ufd, wake[2];
    uint16_t port;
    char path[100];
    fconn_t conn[FAKE_MAX_CONNS];
    item_t *items; /* sorted by key; touched only by the server thread */
    size_t n, cap;
    uint64_t next_version;
    char *password;
    uint32_t range_cap;
    fake_hook_t hook;
    void *hook_arg;
    uint64_t requests;
};

/* ---- the model --------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int keycmp(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

/* Index of the first item >= key; *hit if it equals key. */
static size_t find(const fake_t *f, const char *k, size_t kl, bool *hit)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (keycmp(f->items[mid].k, f->items[mid].kl, k, kl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *hit = lo < f->n && !keycmp(f->items[lo].k, f->items[lo].kl, k, kl);
    return lo;
}

static bool live(const item_t *it)
{
    return !it->exp || it->exp > now_ms();
}

/* The live item with key k, or NULL. */
static item_t *lookup(fake_t *f, const cmd_arg_t *k)
{
    bool hit;
    size_t i = find(f, k->ptr, k->len, &hit);
    return hit && live(&f->items[i]) ? &f->items[i] : NULL;
}

static char *memdup0(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    ck_assert_ptr_nonnull(d);
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Inserts or replaces key k. */
static void put(fake_t *f, const cmd_arg_t *k, const char *v, size_t vl, uint64_t ver, uint64_t exp)
{
    bool hit;
    size_t i = find(f, k->ptr, k->len, &hit);
    if (!hit) {
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 64;
            f->items = realloc(f->items, f->cap * sizeof(*f->items));
            ck_assert_ptr_nonnull(f->items);
        }
        memmove(&f->items[i + 1], &f->items[i], (f->n - i) * sizeof(*f->items));
        f->n++;
        f->items[i] = (item_t){.k = memdup0(k->ptr, k->len), .kl = k->len};
    } else {
        free(f->items[i].v);
    }
    f->items[i].v = memdup0(v, vl);
    f->items[i].vl = vl;
    f->items[i].ver = ver;
    f->items[i].exp = exp;
}

static void del(fake_t *f, const cmd_arg_t *k)
{
    bool hit;
    size_t i = find(f, k->ptr, k->len, &hit);
    if (!hit)
        return;
    free(f->items[i].k);
    free(f->items[i].v);
    memmove(&f->items[i], &f->items[i + 1], (f->n - i - 1) * sizeof(*f->items));
    f->n--;
}

/* ---- commands ---------------------------------------------------------------------- */

static int x_set(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    item_t *it = lookup(f, &c->argv[0]);
    if ((c->flags & CMD_F_CAS) && !it)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_NOT_FOUND, "no such key");
    if ((c->flags & CMD_F_CAS) && it->ver != c->version)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_CAS_MISMATCH, "version differs");
    if ((c->flags & CMD_F_NX) && it)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_EXISTS, "key exists");
    if ((c->flags & CMD_F_XX) && !it)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_NOT_FOUND, "no such key");
    uint64_t exp = 0;
    if (c->flags & CMD_F_EXP_REL)
        exp = now_ms() + (uint64_t)c->expiry_ms;
    else if (c->flags & CMD_F_EXP_ABS)
        exp = (uint64_t)c->expiry_ms;
    else if ((c->flags & CMD_F_KEEPTTL) && it)
        exp = it->exp;
    uint64_t ver = f->next_version++;
    put(f, &c->argv[0], c->argv[1].ptr, c->argv[1].len, ver, exp);
    return native_reply_version(out, c->opcode, c->opaque, ver);
}

static int x_del(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    item_t *it = lookup(f, &c->argv[0]);
    if (!it)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_NOT_FOUND, "no such key");
    if ((c->flags & CMD_F_CAS) && it->ver != c->version)
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_CAS_MISMATCH, "version differs");
    del(f, &c->argv[0]);
    return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_OK, NULL);
}

/* Redis's integer syntax: optional '-', no leading zeros, int64 range. */
static bool integer(const char *s, size_t n, int64_t *v)
{
    char buf[32], back[32];
    if (!n || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    snprintf(back, sizeof(back), "%lld", x);
    *v = x;
    return !errno && !*end && !strcmp(back, buf);
}

static int x_incr(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    item_t *it = lookup(f, &c->argv[0]);
    int64_t v = 0, r;
    if (it && !integer(it->v, it->vl, &v))
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_NOT_A_NUMBER, "not an integer");
    if (__builtin_add_overflow(v, c->delta, &r))
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_OVERFLOW, "out of range");
    char s[32];
    int len = snprintf(s, sizeof(s), "%" PRId64, r);
    uint64_t ver = f->next_version++;
    put(f, &c->argv[0], s, (size_t)len, ver, it ? it->exp : 0);
    return native_reply_counter(out, c->opcode, c->opaque, ver, r);
}

static int x_mget(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    native_rows_t rows;
    ck_assert_int_eq(native_rows_init(&rows), 0);
    for (size_t i = 0; i < c->argc; i++) {
        const cmd_arg_t *k = &c->argv[i];
        item_t *it = lookup(f, k);
        if (it)
            native_rows_add(&rows, k->ptr, k->len, it->v, it->vl, it->ver, 0);
        else
            native_rows_add(&rows, k->ptr, k->len, NULL, 0, 0, FICKLE_ROW_MISSING);
    }
    return native_rows_finish(&rows, out, c->opcode, c->opaque, 0);
}

static int x_mset(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    for (size_t i = 0; (c->flags & CMD_F_NX) && i < c->argc; i += 2)
        if (lookup(f, &c->argv[i]))
            return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_EXISTS, "a key exists");
    uint64_t ver = f->next_version++;
    for (size_t i = 0; i < c->argc; i += 2)
        put(f, &c->argv[i], c->argv[i + 1].ptr, c->argv[i + 1].len, ver, 0);
    return native_reply_version(out, c->opcode, c->opaque, ver);
}

/* Whether item i is live and within the command's bounds. */
static bool in_range(const fake_t *f, const cmd_t *c, size_t i)
{
    const item_t *it = &f->items[i];
    const cmd_arg_t *lo = &c->argv[0], *hi = &c->argv[1];
    if (!(c->flags & CMD_F_LO_INF)) {
        int r = keycmp(it->k, it->kl, lo->ptr, lo->len);
        if (r < 0 || (r == 0 && (c->flags & CMD_F_LO_EXCL)))
            return false;
    }
    if (!(c->flags & CMD_F_HI_INF)) {
        int r = keycmp(it->k, it->kl, hi->ptr, hi->len);
        if (r > 0 || (r == 0 && (c->flags & CMD_F_HI_EXCL)))
            return false;
    }
    return live(it);
}

static int x_range(fake_t *f, const cmd_t *c, struct evbuffer *out, uint32_t cap)
{
    native_rows_t rows;
    ck_assert_int_eq(native_rows_init(&rows), 0);
    bool rev = c->flags & CMD_F_REV, keys = c->flags & CMD_F_KEYS_ONLY;
    uint32_t more = 0;
    uint64_t got = 0;
    for (size_t j = 0; j < f->n && got < c->limit; j++) {
        size_t i = rev ? f->n - 1 - j : j;
        if (!in_range(f, c, i))
            continue;
        if (cap && got == cap) {
            more = FICKLE_ROWS_MORE;
            break;
        }
        const item_t *it = &f->items[i];
        native_rows_add(&rows, it->k, it->kl, it->v, it->vl, it->ver, keys ? FICKLE_ROW_NO_VALUE : 0);
        got++;
    }
    return native_rows_finish(&rows, out, c->opcode, c->opaque, more);
}

static int x_count(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    uint64_t n = 0;
    for (size_t i = 0; i < f->n && n < c->limit; i++)
        n += in_range(f, c, i);
    return native_reply_count(out, c->opcode, c->opaque, n);
}

static int x_auth(fake_t *f, fconn_t *cn, const cmd_t *c, struct evbuffer *out)
{
    const cmd_arg_t *pw = &c->argv[c->argc - 1];
    bool user_ok = c->argc == 1 || (c->argv[0].len == 7 && !memcmp(c->argv[0].ptr, "default", 7));
    if (!f->password || !user_ok || pw->len != strlen(f->password) || memcmp(pw->ptr, f->password, pw->len))
        return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_AUTH_FAILED, "wrong password");
    cn->authed = true;
    return native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_OK, NULL);
}

static int x_stats(fake_t *f, const cmd_t *c, struct evbuffer *out)
{
    char text[256];
    int n = snprintf(text, sizeof(text), "# %.*s\r\nserver:fake\r\nkeys:%zu\r\n",
                     c->argc ? (int)c->argv[0].len : 6, c->argc ? c->argv[0].ptr : "Server", f->n);
    return native_reply_value(out, c->opcode, c->opaque, text, (size_t)n);
}

/* Runs one parsed request; returns what to do with the connection. */
static fake_after_t execute(fake_t *f, fconn_t *cn, const cmd_t *c, struct evbuffer *out)
{
    pthread_mutex_lock(&f->mu);
    fake_hook_t hook = f->hook;
    void *arg = f->hook_arg;
    f->hook = NULL;
    f->requests++;
    bool need_auth = f->password && !cn->authed && c->id != CMD_AUTH && c->id != CMD_QUIT;
    uint32_t cap = f->range_cap;
    pthread_mutex_unlock(&f->mu);
    if (hook)
        return hook(c, out, arg);
    if (need_auth) {
        native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_AUTH_REQUIRED, "AUTH first");
        return FAKE_KEEP;
    }
    const item_t *it;
    switch (c->id) {
    case CMD_GET:
    case CMD_EXISTS:
        if (!(it = lookup(f, &c->argv[0])))
            native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_NOT_FOUND, "no such key");
        else
            native_reply_item(out, c->opcode, c->opaque, it->ver, it->exp, c->id == CMD_GET ? it->v : NULL,
                              c->id == CMD_GET ? it->vl : 0);
        break;
    case CMD_SET: x_set(f, c, out); break;
    case CMD_DEL: x_del(f, c, out); break;
    case CMD_INCRBY: x_incr(f, c, out); break;
    case CMD_MGET: x_mget(f, c, out); break;
    case CMD_MSET: x_mset(f, c, out); break;
    case CMD_RANGE: x_range(f, c, out, cap); break;
    case CMD_RCOUNT: x_count(f, c, out); break;
    case CMD_PING:
        native_reply_value(out, c->opcode, c->opaque, c->argc ? c->argv[0].ptr : NULL, c->argc ? c->argv[0].len : 0);
        break;
    case CMD_INFO: x_stats(f, c, out); break;
    case CMD_AUTH: x_auth(f, cn, c, out); break;
    case CMD_QUIT:
        native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_OK, NULL);
        return FAKE_CLOSE;
    default:
        native_reply_status(out, c->opcode, c->opaque, FICKLE_STATUS_UNKNOWN_OPCODE, "not in the fake");
    }
    return FAKE_KEEP;
}

/* ---- connections ------------------------------------------------------------------- */

static void conn_close(fconn_t *cn)
{
    if (cn->fd < 0)
        return;
    close(cn->fd);
    evbuffer_free(cn->in);
    native_parser_free(&cn->p);
    cn->fd = -1;
}

/* Sends out (blocking); false if the peer is gone. */
static bool conn_send(fconn_t *cn, struct evbuffer *out, bool drip)
{
    while (evbuffer_get_length(out)) {
        unsigned char byte;
        ssize_t n;
        if (drip) {
            evbuffer_copyout(out, &byte, 1);
            n = send(cn->fd, &byte, 1, MSG_NOSIGNAL);
            if (n == 1) {
                evbuffer_drain(out, 1);
                usleep(2000);
            }
        } else {
            n = evbuffer_write(out, cn->fd);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
    }
    return true;
}

/* Parses and answers every complete request buffered on cn. */
static void conn_serve(fake_t *f, fconn_t *cn)
{
    size_t len = evbuffer_get_length(cn->in), off = 0;
    const char *buf = (const char *)evbuffer_pullup(cn->in, -1);
    while (!cn->hang && cn->fd >= 0) {
        cmd_t cmd;
        cmd_parse_t r = native_parse(&cn->p, buf + off, len - off, &cmd);
        if (r.status == CMD_PARSE_NEED_MORE) {
            off += r.consumed;
            break;
        }
        struct evbuffer *out = evbuffer_new();
        ck_assert_ptr_nonnull(out);
        fake_after_t after = FAKE_KEEP;
        if (r.status == CMD_PARSE_ERROR) {
            native_reply_status(out, cmd.opcode, cmd.opaque, r.code, r.msg);
            after = r.fatal ? FAKE_CLOSE : FAKE_KEEP;
        } else {
            after = execute(f, cn, &cmd, out);
        }
        off += r.consumed;
        bool ok = conn_send(cn, out, after == FAKE_DRIP);
        evbuffer_free(out);
        if (!ok || after == FAKE_CLOSE)
            conn_close(cn);
        cn->hang = after == FAKE_HANG;
    }
    if (cn->fd >= 0)
        evbuffer_drain(cn->in, cn->hang ? len : off);
}

static void conn_accept(fake_t *f, int lfd)
{
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0)
        return;
    for (int i = 0; i < FAKE_MAX_CONNS; i++) {
        fconn_t *cn = &f->conn[i];
        if (cn->fd >= 0)
            continue;
        *cn = (fconn_t){.fd = fd, .in = evbuffer_new()};
        ck_assert_ptr_nonnull(cn->in);
        native_parser_init(&cn->p, NULL);
        return;
    }
    close(fd); /* full */
}

static void *serve(void *arg)
{
    fake_t *f = arg;
    for (;;) {
        struct pollfd p[3 + FAKE_MAX_CONNS];
        p[0] = (struct pollfd){.fd = f->wake[0], .events = POLLIN};
        p[1] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
        p[2] = (struct pollfd){.fd = f->ufd, .events = POLLIN};
        for (int i = 0; i < FAKE_MAX_CONNS; i++)
            p[3 + i] = (struct pollfd){.fd = f->conn[i].fd, .events = POLLIN};
        if (poll(p, 3 + FAKE_MAX_CONNS, -1) < 0) {
            ck_assert_int_eq(errno, EINTR);
            continue;
        }
        if (p[0].revents)
            return NULL;
        for (int i = 1; i < 3; i++)
            if (p[i].revents & POLLIN)
                conn_accept(f, p[i].fd);
        for (int i = 0; i < FAKE_MAX_CONNS; i++) {
            fconn_t *cn = &f->conn[i];
            if (cn->fd < 0 || !p[3 + i].revents || cn->fd != p[3 + i].fd)
                continue;
            int n = evbuffer_read(cn->in, cn->fd, 65536);
            if (n <= 0 && !(n < 0 && errno == EINTR))
                conn_close(cn);
            else if (n > 0)
                conn_serve(f, cn);
        }
    }
}

/* ---- life cycle and knobs ---------------------------------------------------------- */

fake_t *fake_start(void)
{
    static int seq;
    signal(SIGPIPE, SIG_IGN);
    fake_t *f = calloc(1, sizeof(*f));
    ck_assert_ptr_nonnull(f);
    pthread_mutex_init(&f->mu, NULL);
    f->next_version = 1000;
    for (int i = 0; i < FAKE_MAX_CONNS; i++)
        f->conn[i].fd = -1;
    ck_assert_int_eq(pipe(f->wake), 0);

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f->lfd, 0);
    ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(f->lfd, 16), 0);
    ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&sin, &sl), 0);
    f->port = ntohs(sin.sin_port);

    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(f->path, sizeof(f->path), "/tmp/fickle-fake-%d-%d.sock", (int)getpid(), seq++);
    unlink(f->path);
    memcpy(sun.sun_path, f->path, strlen(f->path) + 1);
    f->ufd = socket(AF_UNIX, SOCK_STREAM, 0);
    ck_assert_int_ge(f->ufd, 0);
    ck_assert_int_eq(bind(f->ufd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    ck_assert_int_eq(listen(f->ufd, 16), 0);

    ck_assert_int_eq(pthread_create(&f->th, NULL, serve, f), 0);
    return f;
}

void fake_stop(fake_t *f)
{
    ck_assert_int_eq(write(f->wake[1], "x", 1), 1);
    pthread_join(f->th, NULL);
    for (int i = 0; i < FAKE_MAX_CONNS; i++)
        conn_close(&f->conn[i]);
    close(f->lfd);
    close(f->ufd);
    unlink(f->path);
    close(f->wake[0]);
    close(f->wake[1]);
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i].k);
        free(f->items[i].v);
    }
    free(f->items);
    free(f->password);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

uint16_t fake_port(const fake_t *f)
{
    return f->port;
}

const char *fake_unix_path(const fake_t *f)
{
    return f->path;
}

void fake_set_password(fake_t *f, const char *password)
{
    pthread_mutex_lock(&f->mu);
    free(f->password);
    f->password = password ? strdup(password) : NULL;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_range_cap(fake_t *f, uint32_t rows)
{
    pthread_mutex_lock(&f->mu);
    f->range_cap = rows;
    pthread_mutex_unlock(&f->mu);
}

void fake_set_hook(fake_t *f, fake_hook_t hook, void *arg)
{
    pthread_mutex_lock(&f->mu);
    f->hook = hook;
    f->hook_arg = arg;
    pthread_mutex_unlock(&f->mu);
}

uint64_t fake_requests(fake_t *f)
{
    pthread_mutex_lock(&f->mu);
    uint64_t n = f->requests;
    pthread_mutex_unlock(&f->mu);
    return n;
}
