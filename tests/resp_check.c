/*
 * resp_check.c — a reference redis-server for the RESP command tests, the
 * canonical text form of replies, and the table runner that checks each
 * expectation against fickled and Redis alike (see resp_check.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/resp_check.h"

/* ---- the reference server -------------------------------------------------- */

const char *rc_which(const char *prog)
{
    static char path[512];
    const char *env = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s", env ? env : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(path, sizeof(path), "%s/%s", d, prog);
        if (access(path, X_OK) == 0)
            return path;
    }
    return NULL;
}

static uint16_t any_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static pid_t spawn_redis(const char *bin, const rs_server_t *r)
{
    char port[8], log[128];
    snprintf(port, sizeof(port), "%u", r->port);
    snprintf(log, sizeof(log), "%s/redis.log", r->dir);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        execl(bin, bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r->dir,
              "--logfile", log, "--daemonize", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static bool redis_ready(rs_server_t *r)
{
    for (int i = 0; i < 100; i++) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
            r->pid = 0;
            return false;
        }
        fk_conn_t *c = fk_connect(r->port);
        rv_t *v = c ? fk_cmd(c, "PING") : NULL;
        bool ok = v && v->type == RV_STATUS;
        rv_free(v);
        fk_close(c);
        if (ok)
            return true;
        nap_ms(20);
    }
    return false;
}

bool rs_start(rs_server_t *r)
{
    memset(r, 0, sizeof(*r));
    const char *bin = rc_which("redis-server");
    if (bin == NULL) {
        fprintf(stderr, "note: redis-server not found: the comparison with Redis is skipped\n");
        return false;
    }
    char binpath[512];
    snprintf(binpath, sizeof(binpath), "%s", bin);
    snprintf(r->dir, sizeof(r->dir), "/tmp/fickle-redis-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return false;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = any_free_port();
        r->pid = spawn_redis(binpath, r);
        if (r->pid > 0 && redis_ready(r))
            return true;
        rs_stop(r);
    }
    fprintf(stderr, "note: redis-server did not start: the comparison with Redis is skipped\n");
    return false;
}

void rs_stop(rs_server_t *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r->pid = 0;
    }
    if (r->dir[0]) {
        char path[128];
        snprintf(path, sizeof(path), "%s/redis.log", r->dir);
        unlink(path);
        rmdir(r->dir);
    }
}

/* ---- reply text --------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, used;
} sbuf_t;

static void put(sbuf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && b->used + 1 < b->len; i++)
        b->buf[b->used++] = s[i];
    b->buf[b->used] = '\0';
}

static void put_bytes(sbuf_t *b, const char *s, size_t n)
{
    char esc[8];
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            snprintf(esc, sizeof(esc), "\\%c", ch);
        else if (ch < 0x20 || ch > 0x7e)
            snprintf(esc, sizeof(esc), "\\x%02x", ch);
        else
            snprintf(esc, sizeof(esc), "%c", ch);
        put(b, esc, strlen(esc));
    }
}

static void format_into(sbuf_t *b, const rv_t *r)
{
    char num[32];
    switch (r->type) {
    case RV_STATUS: put(b, "+", 1); put_bytes(b, r->s, r->len); break;
    case RV_ERROR: put(b, "-", 1); put_bytes(b, r->s, r->len); break;
    case RV_INT: snprintf(num, sizeof(num), ":%lld", (long long)r->i); put(b, num, strlen(num)); break;
    case RV_BULK: put(b, "\"", 1); put_bytes(b, r->s, r->len); put(b, "\"", 1); break;
    case RV_NIL: put(b, "nil", 3); break;
    case RV_NIL_ARRAY: put(b, "(nil-array)", 11); break;
    case RV_ARRAY:
        put(b, "[", 1);
        for (size_t i = 0; i < r->n; i++) {
            if (i)
                put(b, ", ", 2);
            format_into(b, &r->elems[i]);
        }
        put(b, "]", 1);
        break;
    }
}

void rv_format(const rv_t *r, char *buf, size_t len)
{
    sbuf_t b = {buf, len, 0};
    buf[0] = '\0';
    format_into(&b, r);
}

/* Byte order, shorter first on a common prefix: fickle's key order. */
static int cmp_elem(const void *a, const void *b)
{
    const rv_t *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s ? x->s : "", y->s ? y->s : "", n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* ---- requests ------------------------------------------------------------------- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Unescapes word in place; returns its length. */
static size_t unescape(char *w)
{
    size_t o = 0;
    for (size_t i = 0; w[i]; i++) {
        if (w[i] != '\\' || !w[i + 1]) {
            w[o++] = w[i];
            continue;
        }
        char e = w[++i];
        if (e == 'x' && hexval(w[i + 1]) >= 0 && hexval(w[i + 2]) >= 0) {
            w[o++] = (char)(hexval(w[i + 1]) * 16 + hexval(w[i + 2]));
            i += 2;
        } else if (e != 'e') {
            w[o++] = e == 's' ? ' ' : e == 'r' ? '\r' : e == 'n' ? '\n' : e == '0' ? '\0' : e;
        }
    }
    return o;
}

rv_t *rc_cmd(fk_conn_t *c, const char *line)
{
    char *copy = strdup(line), *save = NULL;
    const char *argv[512];
    size_t lens[512];
    int argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 512; w = strtok_r(NULL, " ", &save)) {
        lens[argc] = unescape(w);
        argv[argc++] = w;
    }
    rv_t *r = fk_send(c, argc, argv, lens) == 0 ? fk_read(c) : NULL;
    free(copy);
    return r;
}

void rc_reply_text(fk_conn_t *c, const char *line, bool sort, char *buf, size_t len)
{
    rv_t *r = rc_cmd(c, line);
    if (r == NULL) {
        snprintf(buf, len, "(no reply)");
        return;
    }
    if (sort && r->type == RV_ARRAY && r->n > 1)
        qsort(r->elems, r->n, sizeof(rv_t), cmp_elem);
    rv_format(r, buf, len);
    rv_free(r);
}

bool rc_match(const char *want, const char *text)
{
    if (want[0] != '~')
        return strcmp(want, text) == 0;
    const char *p = want + 1, *star = NULL, *resume = NULL;
    while (*text) {
        if (*p == '*') {
            star = p++;
            resume = text;
        } else if (*p == *text) {
            p++, text++;
        } else if (star) {
            p = star + 1;
            text = ++resume;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* ---- tables ------------------------------------------------------------------------- */

static void check_step(fk_conn_t *c, const char *who, const rc_step_t *s, bool sort)
{
    char got[8192];
    rc_reply_text(c, s->cmd, sort, got, sizeof(got));
    if (s->want)
        ck_assert_msg(rc_match(s->want, got), "%s: '%s'\n  want %s\n  got  %s", who, s->cmd, s->want, got);
}

void rc_run(fk_conn_t *fk, fk_conn_t *rd, const rc_step_t *steps, size_t n)
{
    const rc_step_t flush = {"FLUSHALL", "+OK", 0};
    check_step(fk, "fickle", &flush, false);
    if (rd)
        check_step(rd, "redis", &flush, false);
    for (size_t i = 0; i < n; i++) {
        const rc_step_t *s = &steps[i];
        if (strncmp(s->cmd, "sleep ", 6) == 0) {
            nap_ms(atol(s->cmd + 6));
            continue;
        }
        if (!(s->flags & RC_REDIS))
            check_step(fk, "fickle", s, false);
        if (rd && !(s->flags & RC_FICKLE))
            check_step(rd, "redis", s, (s->flags & RC_SORT) != 0);
    }
}

void rc_diff(fk_conn_t *fk, fk_conn_t *rd, const char *const *lines, size_t n, bool sort)
{
    char a[8192], b[8192];
    for (size_t i = 0; rd && i < n; i++) {
        rc_reply_text(fk, lines[i], false, a, sizeof(a));
        rc_reply_text(rd, lines[i], sort, b, sizeof(b));
        ck_assert_msg(strcmp(a, b) == 0, "'%s'\n  fickle %s\n  redis  %s", lines[i], a, b);
    }
}

rc_env_t rc;

/* True if the Redis on port reports (INFO server, "os:" ends with the
 * machine) the machine this process runs on (under qemu-user, the
 * emulated one). */
static bool ref_same_arch(uint16_t port)
{
    struct utsname u;
    fk_conn_t *c = fk_connect(port);
    rv_t *r = c ? fk_cmd(c, "INFO server") : NULL;
    bool same = false;
    const char *os = r && r->type == RV_BULK ? strstr(r->s, "\nos:") : NULL;
    if (os && uname(&u) == 0) {
        size_t len = strcspn(os + 1, "\r\n"), mlen = strlen(u.machine);
        same = len > mlen && memcmp(os + 1 + len - mlen, u.machine, mlen) == 0;
    }
    rv_free(r);
    fk_close(c);
    return same;
}

void rc_servers_up(void)
{
    ck_assert_msg(fk_start(&rc.srv, NULL) == 0, "fickled did not start");
    rc.have_ref = rs_start(&rc.ref);
    rc.ref_same_arch = rc.have_ref && ref_same_arch(rc.ref.port);
}

fk_conn_t *rc_float_ref(void)
{
    if (rc.rd && !rc.ref_same_arch)
        fprintf(stderr, "note: the reference Redis runs on another architecture (its long double differs): "
                        "INCRBYFLOAT results are checked against fickle's own expectations only\n");
    return rc.ref_same_arch ? rc.rd : NULL;
}

void rc_servers_down(void)
{
    fk_cleanup(&rc.srv);
    if (rc.have_ref)
        rs_stop(&rc.ref);
}

void rc_connect_both(void)
{
    rc.fk = fk_connect(rc.srv.resp_port);
    ck_assert_ptr_nonnull(rc.fk);
    rc.rd = rc.have_ref ? fk_connect(rc.ref.port) : NULL;
    ck_assert(!rc.have_ref || rc.rd);
}

void rc_close_both(void)
{
    fk_close(rc.fk);
    fk_close(rc.rd);
    rc.fk = rc.rd = NULL;
}
