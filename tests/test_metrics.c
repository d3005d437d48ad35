/*
 * test_metrics.c — the HTTP metrics/health endpoint of the real fickled
 * (--metrics-port): the exposition parses as Prometheus text 0.0.4, its
 * values follow what clients do, /health turns 503 when the persister or
 * every worker is down and back to 200 when they are respawned, other
 * paths and methods are refused, connections are limited, the server
 * process (fk-metrics) is respawned after a kill -9 while the workers
 * serve on, and nothing listens and no fk-metrics runs unless asked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "supervisor/metrics.h"
#include "tests/harness.h"

static fk_server_t srv;
static uint16_t mport;

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

/* Starts fickled with the metrics port on (plus extra, up to 6 words). */
static void start(const char *const *extra)
{
    static char port[16];
    mport = fk_free_port();
    snprintf(port, sizeof(port), "%u", mport);
    const char *args[16] = {"--metrics-port", port};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    ck_assert_int_eq(fk_start(&srv, args), 0);
}

/* ---- a minimal HTTP/1.1 client ---------------------------------------------- */

typedef struct {
    int status;
    char head[4096];
    char *body; /* NUL-terminated; free it */
    size_t len;
} http_t;

/* Reads the answer on fd: status line, headers, Content-Length bytes of
 * body. 0, or -1 on a timeout, EOF or malformed answer. */
static int http_read(int fd, http_t *r)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    ck_assert_ptr_nonnull(buf);
    char *end = NULL;
    long clen = -1;
    for (;;) {
        if (end && clen >= 0 && n - (size_t)(end + 4 - buf) >= (size_t)clen)
            break;
        if (n == cap) {
            buf = realloc(buf, (cap *= 2) + 1);
            ck_assert_ptr_nonnull(buf);
        }
        ssize_t k = recv(fd, buf + n, cap - n, 0);
        if (k <= 0) {
            free(buf);
            return -1;
        }
        n += (size_t)k;
        buf[n] = '\0';
        if (!end && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            clen = cl && cl < end ? strtol(cl + 17, NULL, 10) : 0;
        }
    }
    size_t hlen = (size_t)(end - buf);
    ck_assert_uint_lt(hlen, sizeof(r->head));
    memcpy(r->head, buf, hlen);
    r->head[hlen] = '\0';
    r->len = (size_t)clen;
    r->body = malloc(r->len + 1);
    ck_assert_ptr_nonnull(r->body);
    memcpy(r->body, end + 4, r->len);
    r->body[r->len] = '\0';
    free(buf);
    return sscanf(r->head, "HTTP/1.%*d %d", &r->status) == 1 ? 0 : -1;
}

static void http_send(int fd, const char *method, const char *path)
{
    char req[512];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test_metrics\r\n\r\n",
                     method, path);
    ck_assert_int_eq(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
}

static http_t http(const char *method, const char *path)
{
    http_t r = {0};
    int fd = fk_socket_to("127.0.0.1", mport);
    ck_assert_int_ge(fd, 0);
    http_send(fd, method, path);
    ck_assert_int_eq(http_read(fd, &r), 0);
    close(fd);
    return r;
}

/* ---- the exposition format ---------------------------------------------------- */

#define MAX_FAMILIES 256

typedef struct {
    char name[128];
    char type[16];
    bool help;
    double sum; /* of every sample of the family */
    unsigned samples;
} family_t;

typedef struct {
    family_t f[MAX_FAMILIES];
    unsigned n;
} scrape_t;

static family_t *find(scrape_t *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (!strcmp(s->f[i].name, name))
            return &s->f[i];
    return NULL;
}

static family_t *add(scrape_t *s, const char *name)
{
    family_t *f = find(s, name);
    if (f)
        return f;
    ck_assert_uint_lt(s->n, MAX_FAMILIES);
    f = &s->f[s->n++];
    snprintf(f->name, sizeof(f->name), "%s", name);
    return f;
}

/* A metric or label name per Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*
 * (labels: no colon). Returns its length, 0 if invalid. */
static size_t name_len(const char *p, bool label)
{
    size_t i = 0;
    while (isalpha((unsigned char)p[i]) || p[i] == '_' || (!label && p[i] == ':') ||
           (i > 0 && isdigit((unsigned char)p[i])))
        i++;
    return i;
}

/* Checks the labels {a="x",b="y"} at p; returns what follows them. */
static const char *skip_labels(const char *p, const char *line)
{
    if (*p != '{')
        return p;
    p++;
    while (*p != '}') {
        size_t k = name_len(p, true);
        ck_assert_msg(k > 0 && p[k] == '=' && p[k + 1] == '"', "bad label in: %s", line);
        p += k + 2;
        while (*p && *p != '"')
            p += (*p == '\\' && p[1]) ? 2 : 1;
        ck_assert_msg(*p == '"', "unterminated label value in: %s", line);
        p++;
        if (*p == ',')
            p++;
        else
            ck_assert_msg(*p == '}', "bad label list in: %s", line);
    }
    return p + 1;
}

static void parse_comment(scrape_t *s, const char *line)
{
    char kind[8], name[128], rest[256] = "";
    if (sscanf(line, "# %7s %127s %255[^\n]", kind, name, rest) < 2 ||
        (strcmp(kind, "HELP") && strcmp(kind, "TYPE")))
        return; /* a plain comment */
    ck_assert_msg(name_len(name, false) == strlen(name), "bad metric name: %s", line);
    family_t *f = add(s, name);
    ck_assert_msg(f->samples == 0, "HELP/TYPE after samples: %s", line);
    if (!strcmp(kind, "HELP")) {
        ck_assert_msg(!f->help && rest[0], "duplicate or empty HELP: %s", line);
        f->help = true;
        return;
    }
    ck_assert_msg(!f->type[0], "duplicate TYPE: %s", line);
    ck_assert_msg(!strcmp(rest, "counter") || !strcmp(rest, "gauge") || !strcmp(rest, "untyped") ||
                      !strcmp(rest, "histogram") || !strcmp(rest, "summary"),
                  "bad TYPE: %s", line);
    snprintf(f->type, sizeof(f->type), "%s", rest);
}

static void parse_sample(scrape_t *s, const char *line)
{
    size_t k = name_len(line, false);
    ck_assert_msg(k > 0 && k < 128, "bad sample name: %s", line);
    char name[128];
    memcpy(name, line, k);
    name[k] = '\0';
    const char *p = skip_labels(line + k, line);
    ck_assert_msg(*p == ' ', "no value: %s", line);
    char *end;
    errno = 0;
    double v = strtod(p + 1, &end);
    ck_assert_msg(end != p + 1 && errno == 0 && (*end == '\0' || *end == ' '), "bad value: %s", line);
    family_t *f = find(s, name);
    ck_assert_msg(f && f->help && f->type[0], "sample before its HELP and TYPE: %s", line);
    if (!strcmp(f->type, "counter")) {
        ck_assert_msg(k > 6 && !strcmp(name + k - 6, "_total"), "counter without _total: %s", line);
        ck_assert_msg(v >= 0, "negative counter: %s", line);
    }
    f->sum += v;
    f->samples++;
}

/* Scrapes /metrics and checks every line. */
static void scrape(scrape_t *s)
{
    http_t r = http("GET", "/metrics");
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.head, "text/plain; version=0.0.4"));
    ck_assert_msg(r.len > 0 && r.body[r.len - 1] == '\n', "exposition must end with a newline");
    memset(s, 0, sizeof(*s));
    for (char *save = NULL, *line = strtok_r(r.body, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            parse_comment(s, line);
        else
            parse_sample(s, line);
    }
    for (unsigned i = 0; i < s->n; i++)
        ck_assert_msg(s->f[i].help && s->f[i].type[0] && s->f[i].samples > 0, "family %s incomplete",
                      s->f[i].name);
    free(r.body);
}

static double value(scrape_t *s, const char *name)
{
    family_t *f = find(s, name);
    ck_assert_msg(f != NULL, "no metric %s", name);
    return f->sum;
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(exposition_parses_and_values_move)
{
    const char *extra[] = {"--fsync", "always", "--workers", "2", NULL};
    start(extra);
    static scrape_t a, b;
    scrape(&a);
    ck_assert(value(&a, "fickle_workers_alive") == 2);
    ck_assert(value(&a, "fickle_persister_up") == 1);
    ck_assert(value(&a, "fickle_healthy") == 1);
    ck_assert(value(&a, "fickle_build_info") == 1);
    ck_assert(value(&a, "fickle_region_size_bytes") > 0);
    ck_assert(find(&a, "fickle_fsync_last_seconds") && find(&a, "fickle_ring_fill_ratio") &&
              find(&a, "fickle_snapshots_total") && find(&a, "fickle_recovery_info") &&
              find(&a, "fickle_expired_keys_total") && find(&a, "fickle_worker_restarts_total"));
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    for (int i = 0; i < 50; i++) {
        char line[64];
        snprintf(line, sizeof(line), "SET metrics:%d v%d", i, i);
        fk_expect_status(c, line, "OK");
    }
    fk_expect_status(c, "MULTI", "OK");
    fk_expect_status(c, "SET metrics:txn 1", "QUEUED");
    rv_t *r = fk_cmd(c, "EXEC");
    ck_assert(r && r->type == RV_ARRAY && r->n == 1);
    rv_free(r);
    scrape(&b);
    ck_assert(value(&b, "fickle_keys") == value(&a, "fickle_keys") + 51);
    ck_assert(value(&b, "fickle_txn_exec_total") == value(&a, "fickle_txn_exec_total") + 1);
    ck_assert(find(&b, "fickle_txn_aborted_watch_total") && find(&b, "fickle_txn_aborted_error_total") &&
              find(&b, "fickle_txn_failed_compare_total") && find(&b, "fickle_metrics_restarts_total"));
    ck_assert(value(&b, "fickle_commands_processed_total") >= value(&a, "fickle_commands_processed_total") + 50);
    ck_assert(value(&b, "fickle_net_input_bytes_total") > value(&a, "fickle_net_input_bytes_total"));
    ck_assert(value(&b, "fickle_connected_clients") >= 1);
    ck_assert(value(&b, "fickle_last_lsn") >= value(&a, "fickle_last_lsn") + 50);
    /* --fsync always: every acknowledged write was fsynced first */
    ck_assert(value(&b, "fickle_fsyncs_total") > value(&a, "fickle_fsyncs_total"));
    ck_assert(value(&b, "fickle_durable_lsn") >= value(&a, "fickle_last_lsn") + 50);
    ck_assert(value(&b, "fickle_log_records_written_total") >= value(&a, "fickle_log_records_written_total") + 50);
    fk_close(c);
}
END_TEST

/* The server's children whose name (prctl, /proc/PID/comm) starts with
 * prefix: "fk-worker-", "fk-persister" or "fk-metrics". */
static size_t children_named(const char *prefix, pid_t *pids, size_t max)
{
    pid_t all[16];
    size_t n = fk_children(&srv, all, 16), k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        char path[64], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)all[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue; /* gone already */
        if (fgets(comm, sizeof(comm), f) && !strncmp(comm, prefix, strlen(prefix)))
            pids[k++] = all[i];
        fclose(f);
    }
    return k;
}

/* Kills the victims (workers, or the persister) again each time they are
 * back: each young death doubles the supervisor's respawn delay, so soon
 * /health must see them down. Returns true once it answered 503 with why. */
static bool health_fails_while_killing(bool workers, const char *why)
{
    for (int round = 0; round < 12; round++) {
        pid_t pids[16];
        size_t n = children_named(workers ? "fk-worker-" : "fk-persister", pids, 16);
        for (size_t i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        for (int poll = 0; poll < 100; poll++) {
            http_t r = http("GET", "/health");
            bool down = r.status == 503 && strstr(r.body, why) != NULL;
            ck_assert_msg(r.status == 200 || r.status == 503, "health answered %d", r.status);
            free(r.body);
            if (down)
                return true;
            usleep(5000);
        }
    }
    return false;
}

static void health_recovers(void)
{
    for (int i = 0, n = fk_slow_ms(15000) / 50; i < n; i++) {
        http_t r = http("GET", "/health");
        bool ok = r.status == 200 && !strcmp(r.body, "ok\n");
        free(r.body);
        if (ok)
            return;
        usleep(50000);
    }
    ck_abort_msg("/health did not come back to 200");
}

START_TEST(health_follows_children)
{
    const char *extra[] = {"--workers", "1", NULL};
    start(extra);
    http_t r = http("GET", "/health");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "ok\n");
    free(r.body);
    ck_assert(health_fails_while_killing(false, "persister down"));
    health_recovers();
    static scrape_t s;
    scrape(&s);
    ck_assert(value(&s, "fickle_persister_restarts_total") >= 1);
    ck_assert(value(&s, "fickle_persister_up") == 1);
    ck_assert(health_fails_while_killing(true, "no worker alive"));
    health_recovers();
    scrape(&s);
    ck_assert(value(&s, "fickle_worker_restarts_total") >= 1);
    ck_assert(value(&s, "fickle_workers_alive") == 1);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    fk_expect_status(c, "PING", "PONG");
    fk_close(c);
}
END_TEST

START_TEST(other_paths_and_methods_refused)
{
    char cfg[400];
    start(NULL);
    /* also from a config file: the same option names */
    snprintf(cfg, sizeof(cfg), "%s/metrics.conf", srv.dir);
    FILE *f = fopen(cfg, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "metrics-port %u\nmetrics-bind 127.0.0.1\n", mport);
    fclose(f);
    const char *conf[] = {"--config", cfg, NULL};
    ck_assert_int_eq(fk_restart(&srv, conf), 0);
    http_t r = http("GET", "/nope");
    ck_assert_int_eq(r.status, 404);
    free(r.body);
    r = http("GET", "/metrics/x");
    ck_assert_int_eq(r.status, 404);
    free(r.body);
    const char *methods[] = {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        r = http(methods[i], i % 2 ? "/health" : "/metrics");
        ck_assert_int_eq(r.status, 405);
        ck_assert_ptr_nonnull(strstr(r.head, "Allow: GET, HEAD"));
        free(r.body);
    }
    /* HEAD: the status without a body (the reply has no Content-Length,
     * so it ends when the server closes) */
    int hfd = fk_socket_to("127.0.0.1", mport);
    ck_assert_int_ge(hfd, 0);
    http_send(hfd, "HEAD", "/health");
    char head[2048];
    size_t hn = 0;
    for (ssize_t k; hn < sizeof(head) - 1 && (k = recv(hfd, head + hn, sizeof(head) - 1 - hn, 0)) > 0;)
        hn += (size_t)k;
    head[hn] = '\0';
    close(hfd);
    ck_assert_msg(!strncmp(head, "HTTP/1.1 200", 12), "HEAD /health: %s", head);
    ck_assert_msg(hn >= 4 && !strcmp(head + hn - 4, "\r\n\r\n"), "HEAD answered a body: %s", head);
    r = http("GET", "/health?verbose=1");
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    /* a request line over the header limit is refused, not buffered */
    int fd = fk_socket_to("127.0.0.1", mport);
    ck_assert_int_ge(fd, 0);
    static char big[METRICS_MAX_HEADERS * 2 + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    ssize_t sent = send(fd, big, sizeof(big), MSG_NOSIGNAL);
    ck_assert_int_gt(sent, 0);
    http_t e = {0};
    if (http_read(fd, &e) == 0) {
        ck_assert_int_ge(e.status, 400);
        free(e.body);
    } /* else: closed without an answer, also a refusal */
    close(fd);
}
END_TEST

START_TEST(connections_are_limited)
{
    start(NULL);
    int idle[METRICS_MAX_CONNS];
    for (int i = 0; i < METRICS_MAX_CONNS; i++) {
        idle[i] = fk_socket_to("127.0.0.1", mport);
        ck_assert_int_ge(idle[i], 0);
    }
    /* The kernel queues this one; the server accepts it only once one of
     * the idle connections is gone. */
    int fd = fk_socket_to("127.0.0.1", mport);
    ck_assert_int_ge(fd, 0);
    http_send(fd, "GET", "/health");
    struct timeval shortwait = {1, 0};
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &shortwait, sizeof(shortwait)), 0);
    char c;
    ck_assert_int_lt(recv(fd, &c, 1, MSG_PEEK), 0);
    close(idle[0]);
    struct timeval longwait = {fk_slow_ms(10000) / 1000, 0};
    ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &longwait, sizeof(longwait)), 0);
    http_t r = {0};
    ck_assert_int_eq(http_read(fd, &r), 0);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    close(fd);
    for (int i = 1; i < METRICS_MAX_CONNS; i++)
        close(idle[i]);
    /* and the server serves on once they are closed */
    r = http("GET", "/health");
    ck_assert_int_eq(r.status, 200);
    free(r.body);
}
END_TEST

/* One SET and one GET that must succeed (the worker serves on). */
static void set_get(fk_conn_t *c, int i)
{
    char line[64], val[16];
    snprintf(val, sizeof(val), "v%d", i);
    snprintf(line, sizeof(line), "SET during-kill:%d %s", i % 8, val);
    fk_expect_status(c, line, "OK");
    snprintf(line, sizeof(line), "GET during-kill:%d", i % 8);
    fk_expect_bulk(c, line, val);
}

/* /metrics answers 200 (one attempt). */
static bool metrics_answers(void)
{
    int fd = fk_socket_to("127.0.0.1", mport);
    if (fd < 0)
        return false;
    http_send(fd, "GET", "/metrics");
    http_t r = {0};
    bool ok = http_read(fd, &r) == 0 && r.status == 200;
    free(r.body);
    close(fd);
    return ok;
}

START_TEST(metrics_child_respawned_after_kill)
{
    const char *extra[] = {"--workers", "1", NULL};
    start(extra);
    pid_t old, now, worker_before, worker_after;
    ck_assert_uint_eq(children_named("fk-metrics", &old, 1), 1);
    ck_assert_uint_eq(children_named("fk-worker-", &worker_before, 1), 1);
    ck_assert(metrics_answers());
    /* SIGHUP reaches fk-metrics too (log file, log level): not a death */
    ck_assert_int_eq(kill(srv.pid, SIGHUP), 0);
    ck_assert(fk_log_has(&srv, "metrics: SIGHUP: log reopened", 5000));
    ck_assert(metrics_answers());
    ck_assert_uint_eq(children_named("fk-metrics", &now, 1), 1);
    ck_assert_int_eq(now, old);
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    set_get(c, 0);
    ck_assert_int_eq(kill(old, SIGKILL), 0);
    char line[96];
    snprintf(line, sizeof(line), "metrics (pid %d) killed by signal 9", (int)old);
    /* The client keeps writing and reading until a new fk-metrics answers. */
    bool back = false;
    for (int i = 1, n = fk_slow_ms(15000) / 20; i < n && !back; i++) {
        set_get(c, i);
        back = children_named("fk-metrics", &now, 1) == 1 && now != old && metrics_answers();
        if (!back)
            usleep(20000);
    }
    ck_assert_msg(back, "fk-metrics was not respawned");
    ck_assert(fk_log_has(&srv, line, 2000));
    set_get(c, 0);
    fk_close(c);
    static scrape_t s;
    scrape(&s);
    ck_assert(value(&s, "fickle_metrics_restarts_total") == 1);
    ck_assert(value(&s, "fickle_worker_restarts_total") == 0);
    ck_assert(value(&s, "fickle_persister_restarts_total") == 0);
    ck_assert(value(&s, "fickle_healthy") == 1);
    ck_assert_uint_eq(children_named("fk-worker-", &worker_after, 1), 1);
    ck_assert_int_eq(worker_after, worker_before);
}
END_TEST

/* TCP ports the process listens on (from /proc), up to max. */
static size_t listening_ports(pid_t pid, uint16_t *ports, size_t max)
{
    char path[64];
    unsigned long inodes[64];
    size_t ni = 0, np = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL && ni < 64;) {
        char link[400], target[128];
        snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (sscanf(target, "socket:[%lu]", &inodes[ni]) == 1)
                ni++;
        }
    }
    closedir(d);
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) {
            unsigned port, state;
            unsigned long inode;
            if (sscanf(line, " %*d: %*[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x %*s %*s %*s %*s %*s %lu", &port, &state,
                       &inode) != 3 || state != 0x0A)
                continue;
            for (size_t i = 0; i < ni; i++)
                if (inodes[i] == inode && np < max)
                    ports[np++] = (uint16_t)port;
        }
        if (f)
            fclose(f);
    }
    return np;
}

/* Threads of process pid (/proc/PID/task). */
static unsigned threads_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    ck_assert_ptr_nonnull(d);
    unsigned n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(off_by_default)
{
    ck_assert_int_eq(fk_start(&srv, NULL), 0);
    ck_assert(!fk_log_has(&srv, "metrics port", 0));
    uint16_t ports[32];
    size_t n = listening_ports(srv.pid, ports, 32);
    ck_assert_uint_ge(n, 2);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ports[i] == srv.port || ports[i] == srv.resp_port, "unexpected listening port %u", ports[i]);
    pid_t child;
    ck_assert_uint_eq(children_named("fk-metrics", &child, 1), 0);
    /* An emulator (qemu-user, FICKLE_TEST_EXEC) adds threads of its own:
     * compare with this count rather than with 1. */
    unsigned threads_off = threads_of(srv.pid);
    /* and with it on, exactly one more: the metrics port */
    fk_stop(&srv);
    char port[16];
    mport = fk_free_port();
    snprintf(port, sizeof(port), "%u", mport);
    const char *on[] = {"--metrics-port", port, NULL};
    ck_assert_int_eq(fk_restart(&srv, on), 0);
    ck_assert(fk_log_has(&srv, "metrics port", 2000));
    n = listening_ports(srv.pid, ports, 32);
    bool seen = false;
    for (size_t i = 0; i < n; i++)
        seen = seen || ports[i] == mport;
    ck_assert(seen);
    ck_assert_uint_eq(children_named("fk-metrics", &child, 1), 1);
    ck_assert_uint_eq(threads_of(srv.pid), threads_off); /* the supervisor serves nothing itself */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, exposition_parses_and_values_move);
    tcase_add_test(tc, health_follows_children);
    tcase_add_test(tc, other_paths_and_methods_refused);
    tcase_add_test(tc, connections_are_limited);
    tcase_add_test(tc, metrics_child_respawned_after_kill);
    tcase_add_test(tc, off_by_default);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
