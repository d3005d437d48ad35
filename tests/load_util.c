/*
 * load_util.c — write load with acknowledgement records, and the server
 * chores of crash tests (see load_util.h).
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/load_util.h"

uint64_t load_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void load_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- the loader ------------------------------------------------------------ */

static volatile sig_atomic_t loader_stop;

static void on_stop(int sig)
{
    (void)sig;
    loader_stop = 1;
}

static size_t pad_of(uint32_t n)
{
    return (n % 50 == 0) ? 12000 : n % 200;
}

/* One SET; true if acknowledged with +OK. */
static bool set_one(fk_conn_t *c, const char *key, size_t klen, const char *val, size_t vlen)
{
    const char *argv[] = {"SET", key, val};
    size_t lens[] = {3, klen, vlen};
    rv_t *r = fk_send(c, 3, argv, lens) == 0 ? fk_read(c) : NULL;
    bool ok = r && r->type == RV_STATUS;
    rv_free(r);
    return ok;
}

/* Writes load:n; true if acknowledged. Every third n also replaces a
 * scratch key with a value of another size, so that the commit's
 * deferred frees (STORE_CP_FREEING) get exercised. */
static bool write_n(fk_conn_t *c, uint32_t n)
{
    static char val[20000];
    char key[32];
    if (n % 3 == 0) {
        int sklen = snprintf(key, sizeof(key), "scratch:%u", n % 7);
        if (!set_one(c, key, (size_t)sklen, val, 16 + (n * 37) % 3000))
            return false;
    }
    int klen = snprintf(key, sizeof(key), "load:%u", n);
    size_t vlen = (size_t)snprintf(val, sizeof(val), "val:%u:", n);
    memset(val + vlen, 'a' + (char)(n % 26), pad_of(n));
    return set_one(c, key, (size_t)klen, val, vlen + pad_of(n));
}

static void loader(uint16_t port, int ack_fd, unsigned ms, unsigned id)
{
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    fk_conn_t *c = NULL;
    uint64_t end = load_now_ms() + ms;
    for (uint32_t n = id * 1000000; !loader_stop && load_now_ms() < end;) {
        if (c == NULL && (c = fk_connect(port)) == NULL) {
            usleep(10000);
            continue;
        }
        if (!write_n(c, n)) {
            fk_close(c);
            c = NULL;
            continue;
        }
        if (write(ack_fd, &n, sizeof(n)) != (ssize_t)sizeof(n))
            _exit(3);
        n++;
    }
    fk_close(c);
    _exit(0);
}

pid_t load_start(uint16_t port, const char *ack_path, unsigned ms, unsigned id)
{
    int fd = open(ack_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    ck_assert_int_ge(fd, 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        loader(port, fd, ms, id);
    close(fd);
    return pid;
}

void load_stop(pid_t pid)
{
    ck_assert_int_eq(kill(pid, SIGTERM), 0);
}

void load_wait(pid_t pid)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_int_eq(r, pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "loader failed (wait status 0x%x)", status);
}

size_t load_acked(const char *ack_path)
{
    struct stat st;
    return stat(ack_path, &st) == 0 ? (size_t)st.st_size / sizeof(uint32_t) : 0;
}

size_t load_verify(uint16_t port, const char *ack_path)
{
    FILE *f = fopen(ack_path, "r");
    ck_assert_ptr_nonnull(f);
    fk_conn_t *c = fk_connect(port);
    ck_assert_ptr_nonnull(c);
    uint32_t n;
    size_t count = 0;
    while (fread(&n, sizeof(n), 1, f) == 1) {
        char cmd[64], prefix[32];
        snprintf(cmd, sizeof(cmd), "GET load:%u", n);
        int plen = snprintf(prefix, sizeof(prefix), "val:%u:", n);
        rv_t *r = fk_cmd(c, cmd);
        ck_assert_msg(r && r->type == RV_BULK, "acknowledged write load:%u is missing", n);
        ck_assert_msg(strncmp(r->s, prefix, (size_t)plen) == 0, "load:%u has a wrong value", n);
        ck_assert_uint_eq(r->len, (size_t)plen + pad_of(n));
        rv_free(r);
        count++;
    }
    fclose(f);
    fk_close(c);
    return count;
}

/* ---- server chores ----------------------------------------------------------- */

uint64_t srv_info(uint16_t port, const char *section, const char *field)
{
    fk_conn_t *c = fk_connect(port);
    ck_assert_ptr_nonnull(c);
    char cmd[64], pat[64];
    snprintf(cmd, sizeof(cmd), "INFO %s", section);
    snprintf(pat, sizeof(pat), "\n%s:", field);
    rv_t *r = fk_cmd(c, cmd);
    ck_assert_msg(r && r->type == RV_BULK, "no reply to %s", cmd);
    const char *p = strstr(r->s, pat);
    ck_assert_msg(p != NULL, "INFO %s has no %s:\n%s", section, field, r->s);
    uint64_t v = strtoull(p + strlen(pat), NULL, 10);
    rv_free(r);
    fk_close(c);
    return v;
}

bool srv_pid_gone(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *rp = strrchr(buf, ')');
    return rp == NULL || rp[1] == '\0' || rp[2] == 'Z' || rp[2] == 'X';
}

void srv_kill_all(fk_server_t *s)
{
    pid_t kids[64];
    size_t n = fk_children(s, kids, 64);
    ck_assert_uint_ge(n, 2); /* a worker and the persister at least */
    /* Frozen first, so that none sees another die (as in a power cut). */
    ck_assert_int_eq(kill(s->pid, SIGSTOP), 0);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGSTOP);
    ck_assert_int_eq(kill(s->pid, SIGKILL), 0);
    for (size_t i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    int status;
    while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    for (size_t i = 0; i < n; i++) {
        for (int waited = 0; !srv_pid_gone(kids[i]); waited += 10) {
            ck_assert_msg(waited < 10000, "child %d survived SIGKILL", (int)kids[i]);
            load_sleep_ms(10);
        }
    }
}

static void shm_dir(const fk_server_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "/dev/shm/%s", strrchr(s->dir, '/') + 1);
}

/* Removes the files of dir whose names start with prefix; their count. */
static int remove_prefixed(const char *dir, const char *prefix)
{
    char path[600];
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
        n++;
    }
    closedir(d);
    return n;
}

int srv_remove_region(const fk_server_t *s)
{
    char dir[300];
    shm_dir(s, dir, sizeof(dir));
    return remove_prefixed(dir, "fickle-");
}

int srv_remove_snapshots(const fk_server_t *s)
{
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/data", s->dir);
    return remove_prefixed(dir, "snapshot-");
}

void srv_clear_log(const fk_server_t *s)
{
    ck_assert_msg(truncate(s->log, 0) == 0, "truncate %s: %s", s->log, strerror(errno));
}

int srv_check(const fk_server_t *s, char *out, size_t len)
{
    char data[300], shm[300];
    snprintf(data, sizeof(data), "%s/data", s->dir);
    shm_dir(s, shm, sizeof(shm));
    const char *args[] = {"--check", "--data-dir", data, "--shm-dir", shm, NULL};
    return fk_run(args, out, len);
}

/* True if a line of text starts with start and contains what. */
static bool line_says(const char *text, const char *start, const char *what)
{
    for (const char *line = text; line;) {
        const char *end = strchr(line, '\n'), *hit = strstr(line, what);
        if (strncmp(line, start, strlen(start)) == 0 && hit && (end == NULL || hit < end))
            return true;
        line = end ? end + 1 : NULL;
    }
    return false;
}

void srv_stop_and_check(fk_server_t *s)
{
    char out[4096];
    ck_assert_int_eq(fk_stop(s), 0);
    int rc = srv_check(s, out, sizeof(out));
    ck_assert_msg(rc == 0, "fickled --check exited %d: %s", rc, out);
    ck_assert_msg(line_says(out, "region ", " is consistent"), "region not consistent: %s", out);
    ck_assert_msg(line_says(out, "log ", " is consistent"), "log not consistent: %s", out);
}

/* ---- directories left behind by failed tests ----------------------------------- */

static char track_path[64];

void srv_track_init(void)
{
    snprintf(track_path, sizeof(track_path), "/tmp/fickle-track-XXXXXX");
    int fd = mkstemp(track_path);
    if (fd < 0)
        track_path[0] = '\0';
    else
        close(fd);
}

void srv_track(const fk_server_t *s)
{
    FILE *f = track_path[0] ? fopen(track_path, "a") : NULL;
    if (f) {
        fprintf(f, "%s\n", s->dir);
        fclose(f);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void srv_sweep(void)
{
    FILE *f = track_path[0] ? fopen(track_path, "r") : NULL;
    char dir[300], shm[400];
    while (f && fgets(dir, sizeof(dir), f)) {
        dir[strcspn(dir, "\n")] = '\0';
        if (strncmp(dir, "/tmp/fickle-test-", 17) != 0 || access(dir, F_OK) != 0)
            continue; /* cleaned up by its teardown */
        snprintf(shm, sizeof(shm), "/dev/shm/%s", dir + 5);
        nftw(shm, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    }
    if (f)
        fclose(f);
    if (track_path[0])
        unlink(track_path);
}
