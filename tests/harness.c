/*
 * harness.c — start/stop the real fickled for integration tests, and a
 * minimal blocking RESP client to drive it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness.h"

#ifndef FICKLED_PATH
#error "FICKLED_PATH must name the fickled binary under test"
#endif

const char *fk_binary = FICKLED_PATH;

uint16_t fk_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void print_log(const fk_server_t *s)
{
    FILE *f = fopen(s->log, "r");
    char line[1024];
    fprintf(stderr, "---- %s\n", s->log);
    while (f && fgets(line, sizeof(line), f))
        fputs(line, stderr);
    if (f)
        fclose(f);
}

static pid_t spawn(fk_server_t *s, const char *const *extra)
{
    char port[8], resp[8], data[300], shm[300];
    snprintf(port, sizeof(port), "%u", s->port);
    snprintf(resp, sizeof(resp), "%u", s->resp_port);
    snprintf(data, sizeof(data), "%s/data", s->dir);
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(s->dir, '/') + 1);
    const char *argv[64] = {fk_binary, "--port", port, "--resp-port", resp, "--data-dir", data, "--shm-dir", shm,
                            "--log-file", s->log, "--workers", "2"};
    size_t n = 13;
    for (size_t i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        fk_execv(fk_binary, argv);
        _exit(127);
    }
    return pid;
}

/* Waits for PING to answer on the RESP port. */
static bool wait_ready(fk_server_t *s)
{
    for (int i = 0, n = fk_slow_ms(200); i < n; i++) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return false;
        }
        fk_conn_t *c = fk_connect(s->resp_port);
        if (c) {
            rv_t *r = fk_cmd(c, "PING");
            /* NOAUTH also means it serves (a server with a password). */
            bool ok = r && ((r->type == RV_STATUS && strcmp(r->s, "PONG") == 0) ||
                            (r->type == RV_ERROR && strncmp(r->s, "NOAUTH", 6) == 0));
            rv_free(r);
            fk_close(c);
            /* One worker may answer before the supervisor forked the
             * others: it logs "ready" once every child is forked. */
            if (ok)
                return fk_log_has(s, "ready to accept connections", 5000);
        }
        sleep_ms(50);
    }
    return false;
}

int fk_start(fk_server_t *s, const char *const *extra)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->dir, sizeof(s->dir), "/tmp/fickle-test-XXXXXX");
    if (mkdtemp(s->dir) == NULL)
        return -1;
    char shm[300];
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(s->dir, '/') + 1);
    if (mkdir(shm, 0700) != 0)
        return -1;
    snprintf(s->log, sizeof(s->log), "%s/fickled.log", s->dir);
    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = fk_free_port();
        s->resp_port = fk_free_port();
        if (s->port == s->resp_port)
            continue;
        s->pid = spawn(s, extra);
        if (s->pid > 0 && wait_ready(s))
            return 0;
        if (s->pid > 0)
            fk_stop(s);
        if (!fk_log_has(s, "in use", 0))
            break;
    }
    print_log(s);
    return -1;
}

int fk_restart(fk_server_t *s, const char *const *extra)
{
    if (s->pid > 0)
        fk_stop(s);
    s->pid = spawn(s, extra);
    if (s->pid > 0 && wait_ready(s))
        return 0;
    print_log(s);
    return -1;
}

int fk_stop(fk_server_t *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int status;
    pid_t r;
    while ((r = waitpid(s->pid, &status, 0)) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    if (r < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[600];
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(sub);
        else
            unlink(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

void fk_cleanup(fk_server_t *s)
{
    char shm[300];
    if (s->dir[0] == '\0')
        return; /* never started */
    if (s->pid > 0)
        fk_stop(s);
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(s->dir, '/') + 1);
    remove_tree(shm);
    remove_tree(s->dir);
}

int fk_run(const char *const *args, char *errbuf, size_t errlen)
{
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return -1;
    const char *argv[64] = {fk_binary};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        dup2(pipefd[1], STDOUT_FILENO);
        close(pipefd[0]);
        close(pipefd[1]); /* else a daemon would keep the pipe open */
        fk_execv(fk_binary, argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t got = 0;
    ssize_t r;
    char sink[4096];
    while ((r = read(pipefd[0], errbuf && got + 1 < errlen ? errbuf + got : sink,
                     errbuf && got + 1 < errlen ? errlen - got - 1 : sizeof(sink))) > 0)
        if (errbuf && got + 1 < errlen)
            got += (size_t)r;
    if (errbuf && errlen)
        errbuf[got] = '\0';
    close(pipefd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Scans /proc for processes whose parent is the server. */
size_t fk_children(const fk_server_t *s, pid_t *pids, size_t max)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    size_t n = 0;
    while (d && n < max && (e = readdir(d))) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[len] = '\0';
        char *rp = strrchr(buf, ')'); /* the name may hold spaces */
        char state;
        int ppid;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == s->pid && state != 'Z')
            pids[n++] = (pid_t)atoi(e->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

long fk_info_field(const fk_server_t *s, const char *section, const char *field)
{
    fk_conn_t *c = fk_connect(s->resp_port);
    long v = c ? fk_info_field_on(c, section, field) : -1;
    fk_close(c);
    return v;
}

long fk_info_field_on(fk_conn_t *c, const char *section, const char *field)
{
    char line[64], key[128];
    snprintf(line, sizeof(line), "INFO %s", section);
    snprintf(key, sizeof(key), "\n%s:", field);
    rv_t *r = fk_cmd(c, line);
    const char *p = r && r->type == RV_BULK ? strstr(r->s, key) : NULL;
    long v = p ? strtol(p + strlen(key), NULL, 10) : -1;
    rv_free(r);
    return v;
}

long fk_proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    size_t flen = strlen(field);
    long kb = -1;
    while (kb < 0 && fgets(line, sizeof(line), f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':')
            kb = strtol(line + flen + 1, NULL, 10);
    fclose(f);
    return kb;
}

long fk_children_kb(const fk_server_t *s, const char *field)
{
    pid_t pids[64];
    size_t n = fk_children(s, pids, 64);
    long sum = 0;
    for (size_t i = 0; i < n; i++) {
        long kb = fk_proc_kb(pids[i], field);
        sum += kb > 0 ? kb : 0;
    }
    return sum;
}

bool fk_log_has(const fk_server_t *s, const char *text, int ms)
{
    ms = fk_slow_ms(ms);
    for (int waited = 0;; waited += 50) {
        FILE *f = fopen(s->log, "r");
        char line[2048];
        bool found = false;
        while (f && !found && fgets(line, sizeof(line), f))
            found = strstr(line, text) != NULL;
        if (f)
            fclose(f);
        if (found)
            return true;
        if (waited >= ms)
            return false;
        sleep_ms(50);
    }
}

int fk_run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- RESP client ------------------------------------------------------------- */

int fk_socket_to(const char *ipv4, uint16_t port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ipv4, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {fk_slow_ms(10000) / 1000, 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

fk_conn_t *fk_connect(uint16_t port)
{
    return fk_connect_addr("127.0.0.1", port);
}

fk_conn_t *fk_connect_addr(const char *ipv4, uint16_t port)
{
    int fd = fk_socket_to(ipv4, port);
    if (fd < 0)
        return NULL;
    fk_conn_t *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    return c;
}

void fk_close(fk_conn_t *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

int fk_send_raw(fk_conn_t *c, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(c->fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fk_send(fk_conn_t *c, int argc, const char *const *argv, const size_t *lens)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "*%d\r\n", argc);
    if (fk_send_raw(c, head, (size_t)n) != 0)
        return -1;
    for (int i = 0; i < argc; i++) {
        size_t len = lens ? lens[i] : strlen(argv[i]);
        n = snprintf(head, sizeof(head), "$%zu\r\n", len);
        if (fk_send_raw(c, head, (size_t)n) != 0 || fk_send_raw(c, argv[i], len) != 0 || fk_send_raw(c, "\r\n", 2) != 0)
            return -1;
    }
    return 0;
}

/* Makes at least want bytes available. */
static bool fill(fk_conn_t *c, size_t want)
{
    while (c->end - c->start < want) {
        if (c->start > 0) {
            memmove(c->buf, c->buf + c->start, c->end - c->start);
            c->end -= c->start;
            c->start = 0;
        }
        if (c->end == sizeof(c->buf))
            return false;
        ssize_t r = recv(c->fd, c->buf + c->end, sizeof(c->buf) - c->end, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c->end += (size_t)r;
    }
    return true;
}

/* Reads a CRLF-terminated line (without CRLF) into a malloc'd string. */
static char *read_line(fk_conn_t *c, size_t *len)
{
    for (size_t scanned = 0;;) {
        char *nl = memchr(c->buf + c->start + scanned, '\n', c->end - c->start - scanned);
        if (nl) {
            size_t l = (size_t)(nl - (c->buf + c->start));
            char *s = malloc(l + 1);
            memcpy(s, c->buf + c->start, l);
            if (l > 0 && s[l - 1] == '\r')
                l--;
            s[l] = '\0';
            *len = l;
            c->start += (size_t)(nl - (c->buf + c->start)) + 1;
            return s;
        }
        scanned = c->end - c->start;
        if (!fill(c, scanned + 1))
            return NULL;
    }
}

/* Reads n bytes (a bulk may exceed the buffer). */
static bool read_bytes(fk_conn_t *c, char *dst, size_t n)
{
    while (n > 0) {
        if (c->end == c->start && !fill(c, 1))
            return false;
        size_t take = c->end - c->start < n ? c->end - c->start : n;
        memcpy(dst, c->buf + c->start, take);
        c->start += take;
        dst += take;
        n -= take;
    }
    return true;
}

rv_t *fk_read(fk_conn_t *c)
{
    size_t len;
    char *line = read_line(c, &len);
    if (line == NULL || len == 0) {
        free(line);
        return NULL;
    }
    rv_t *r = calloc(1, sizeof(*r));
    char *text = line + 1;
    switch (line[0]) {
    case '+': r->type = RV_STATUS; r->s = strdup(text); r->len = len - 1; break;
    case '-': r->type = RV_ERROR; r->s = strdup(text); r->len = len - 1; break;
    case ':': r->type = RV_INT; r->i = strtoll(text, NULL, 10); break;
    case '$':
        r->i = strtoll(text, NULL, 10);
        if (r->i < 0) {
            r->type = RV_NIL;
            break;
        }
        r->type = RV_BULK;
        r->len = (size_t)r->i;
        r->s = malloc(r->len + 2);
        if (!read_bytes(c, r->s, r->len + 2)) {
            free(line);
            rv_free(r);
            return NULL;
        }
        r->s[r->len] = '\0';
        break;
    case '*':
        r->i = strtoll(text, NULL, 10);
        if (r->i < 0) {
            r->type = RV_NIL_ARRAY;
            break;
        }
        r->type = RV_ARRAY;
        r->n = (size_t)r->i;
        r->elems = calloc(r->n ? r->n : 1, sizeof(rv_t));
        for (size_t i = 0; i < r->n; i++) {
            rv_t *e = fk_read(c);
            if (e == NULL) {
                r->n = i;
                free(line);
                rv_free(r);
                return NULL;
            }
            r->elems[i] = *e;
            free(e);
        }
        break;
    default:
        free(line);
        free(r);
        return NULL;
    }
    free(line);
    return r;
}

static void rv_free_inner(rv_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        rv_free_inner(&r->elems[i]);
    free(r->elems);
    free(r->s);
}

void rv_free(rv_t *r)
{
    if (r) {
        rv_free_inner(r);
        free(r);
    }
}

rv_t *fk_cmd(fk_conn_t *c, const char *line)
{
    char *copy = strdup(line), *save = NULL;
    const char *argv[256];
    int argc = 0;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 256; w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    rv_t *r = fk_send(c, argc, argv, NULL) == 0 ? fk_read(c) : NULL;
    free(copy);
    return r;
}

bool fk_closed(fk_conn_t *c, int ms)
{
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    char b[4096];
    for (int waited = 0; waited <= ms; waited += 50) {
        if (poll(&p, 1, 50) > 0) {
            ssize_t r = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                return true;
        }
    }
    return false;
}

static rv_t *must(fk_conn_t *c, const char *line)
{
    rv_t *r = fk_cmd(c, line);
    ck_assert_msg(r != NULL, "no reply to '%s'", line);
    return r;
}

void fk_expect_status(fk_conn_t *c, const char *line, const char *status)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_STATUS && strcmp(r->s, status) == 0, "'%s': expected +%s, got type %d '%s'", line,
                  status, r->type, r->s ? r->s : "");
    rv_free(r);
}

void fk_expect_bulk(fk_conn_t *c, const char *line, const char *bulk)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_BULK && strcmp(r->s, bulk) == 0, "'%s': expected \"%s\", got type %d '%s'", line,
                  bulk, r->type, r->s ? r->s : "");
    rv_free(r);
}

void fk_expect_nil(fk_conn_t *c, const char *line)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_NIL, "'%s': expected nil, got type %d '%s'", line, r->type, r->s ? r->s : "");
    rv_free(r);
}

void fk_expect_int(fk_conn_t *c, const char *line, int64_t n)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_INT && r->i == n, "'%s': expected :%lld, got type %d %lld '%s'", line, (long long)n,
                  r->type, (long long)r->i, r->s ? r->s : "");
    rv_free(r);
}

int64_t fk_int(fk_conn_t *c, const char *line)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_INT, "'%s': expected an integer, got type %d '%s'", line, r->type, r->s ? r->s : "");
    int64_t v = r->i;
    rv_free(r);
    return v;
}

void fk_expect_error(fk_conn_t *c, const char *line, const char *error)
{
    rv_t *r = must(c, line);
    ck_assert_msg(r->type == RV_ERROR && strncmp(r->s, error, strlen(error)) == 0, "'%s': expected -%s..., got type %d '%s'",
                  line, error, r->type, r->s ? r->s : "");
    rv_free(r);
}
