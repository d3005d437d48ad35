/*
 * test_persist_damage.c — the real server on a damaged log: a known write
 * history is stopped gracefully, then its log segments are torn (cut at
 * random offsets, or followed by zeros) or corrupted (a flipped byte),
 * each trial on a fresh copy of the log, the region removed. A torn tail
 * of the newest segment is cut and the data is exactly the history's
 * prefix of whole records; corruption (or a torn older segment) is
 * refused, with the file and offset named, unless --repair, which keeps
 * exactly the prefix before the damage; `fickled --check` flags it.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/load_util.h"

static fk_server_t srv;

static void teardown(void)
{
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

/* ---- the write history: op i is SET h:<i> = value(i) ----------------------- */

static size_t maxpad = 600; /* values are 7 to 7 + maxpad bytes */

static size_t hist_value(unsigned i, char *buf)
{
    int n = snprintf(buf, 16, "v%05u:", i);
    size_t pad = ((size_t)i * 7919) % maxpad;
    memset(buf + n, 'a' + (int)(i % 26), pad);
    return (size_t)n + pad;
}

static void write_history(unsigned n)
{
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    static char val[9000];
    for (unsigned i = 0; i < n; i++) {
        char key[16];
        int klen = snprintf(key, sizeof(key), "h:%05u", i);
        const char *argv[] = {"SET", key, val};
        size_t lens[] = {3, (size_t)klen, hist_value(i, val)};
        rv_t *r = fk_send(c, 3, argv, lens) == 0 ? fk_read(c) : NULL;
        ck_assert_msg(r && r->type == RV_STATUS, "SET h:%05u failed", i);
        rv_free(r);
    }
    fk_close(c);
}

/* Asserts the data is exactly the first want ops of an n-op history. */
static void expect_prefix(unsigned n, unsigned want, const char *what)
{
    const char **argv = calloc(n + 1, sizeof(*argv));
    char (*keys)[16] = calloc(n, sizeof(*keys));
    argv[0] = "MGET";
    for (unsigned i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), "h:%05u", i);
        argv[i + 1] = keys[i];
    }
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(fk_send(c, (int)n + 1, argv, NULL), 0);
    rv_t *r = fk_read(c);
    ck_assert_msg(r && r->type == RV_ARRAY && r->n == n, "MGET failed (%s)", what);
    static char val[9000];
    for (unsigned i = 0; i < n; i++) {
        const rv_t *e = &r->elems[i];
        if (i >= want) {
            ck_assert_msg(e->type == RV_NIL, "%s: h:%05u is there, past the expected prefix of %u", what, i, want);
            continue;
        }
        size_t len = hist_value(i, val);
        ck_assert_msg(e->type == RV_BULK, "%s: h:%05u is missing from the expected prefix of %u", what, i, want);
        ck_assert_msg(e->len == len && memcmp(e->s, val, len) == 0, "%s: h:%05u has a wrong value", what, i);
    }
    rv_free(r);
    fk_close(c);
    free(keys);
    free(argv);
    ck_assert_uint_eq(srv_info(srv.resp_port, "persistence", "last_lsn"), want); /* LSNs 1..want */
}

/* ---- the log's files ---------------------------------------------------------- */

#define MAX_SEGS 16
#define MAX_RECS 1024

typedef struct {
    char name[64];
    unsigned first;            /* history op of its first record */
    unsigned nrec;
    uint64_t off[MAX_RECS + 1]; /* record starts; off[nrec] = file size */
} seg_t;

static seg_t segs[MAX_SEGS];
static size_t nsegs;
static char log_dir[300], pristine[300];

static int is_segment(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".log") == 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(*len + 1);
    ck_assert(fread(data, 1, *len, f) == *len);
    fclose(f);
    return data;
}

/* Record boundaries of one segment: a 40-byte header, then records
 * starting with a little-endian u32 length. */
static void map_segment(seg_t *s, const char *dir, unsigned first)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, s->name);
    size_t len;
    uint8_t *d = read_file(path, &len);
    s->first = first;
    s->nrec = 0;
    uint64_t off = 40;
    while (off + 4 <= len && s->nrec < MAX_RECS) {
        s->off[s->nrec++] = off;
        off += (uint64_t)d[off] | (uint64_t)d[off + 1] << 8 | (uint64_t)d[off + 2] << 16 | (uint64_t)d[off + 3] << 24;
    }
    ck_assert_msg(off == len, "%s: records do not end at the end of the file", path);
    s->off[s->nrec] = off;
    free(d);
}

/* Maps the segments of dir (in name order = LSN order). */
static void map_log(const char *dir, unsigned total)
{
    struct dirent **list;
    int n = scandir(dir, &list, is_segment, alphasort);
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, MAX_SEGS);
    unsigned first = 0;
    nsegs = 0;
    for (int i = 0; i < n; i++) {
        seg_t *s = &segs[nsegs];
        bool fits = strlen(list[i]->d_name) < sizeof(s->name);
        ck_assert(fits);
        memcpy(s->name, list[i]->d_name, strlen(list[i]->d_name) + 1);
        free(list[i]);
        map_segment(s, dir, first);
        if (s->nrec == 0)
            continue; /* an empty segment (header only) plays no part */
        first += s->nrec;
        nsegs++;
    }
    free(list);
    ck_assert_uint_eq(first, total); /* one record per SET */
}

static void copy_file(const char *from, const char *to)
{
    size_t len;
    uint8_t *d = read_file(from, &len);
    FILE *f = fopen(to, "wb");
    ck_assert_msg(f != NULL, "%s: %s", to, strerror(errno));
    ck_assert(fwrite(d, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
    free(d);
}

/* Replaces the files of to (a flat directory) by copies of from's. */
static void copy_dir(const char *from, const char *to)
{
    char a[600], b[600];
    struct dirent *e;
    DIR *d = opendir(to);
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
            ck_assert_msg(unlink(b) == 0, "unlink %s: %s", b, strerror(errno));
        }
    if (d)
        closedir(d);
    else
        ck_assert_int_eq(mkdir(to, 0700), 0);
    ck_assert_ptr_nonnull(d = opendir(from));
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(a, sizeof(a), "%s/%s", from, e->d_name);
            snprintf(b, sizeof(b), "%s/%s", to, e->d_name);
            copy_file(a, b);
        }
    closedir(d);
}

/* Runs a server with the given options, writes an n-op history, stops it
 * gracefully, keeps a pristine copy of its log and maps it. */
static void make_history(const char *const *extra, unsigned n, size_t pad)
{
    maxpad = pad;
    ck_assert_int_eq(fk_start(&srv, extra), 0);
    srv_track(&srv);
    write_history(n);
    ck_assert_int_eq(fk_stop(&srv), 0);
    snprintf(log_dir, sizeof(log_dir), "%s/data/log", srv.dir);
    snprintf(pristine, sizeof(pristine), "%s/pristine", srv.dir);
    copy_dir(log_dir, pristine);
    map_log(pristine, n);
}

/* A fresh copy of the state after the history: the pristine log, no
 * region (a reboot), an empty server log. */
static void fresh_copy(void)
{
    copy_dir(pristine, log_dir);
    srv_remove_region(&srv);
    srv_remove_snapshots(&srv); /* the trials are about the log alone */
    srv_clear_log(&srv);
}

static void seg_path(const seg_t *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", log_dir, s->name);
}

/* Whole records of s before byte offset at. */
static unsigned whole_before(const seg_t *s, uint64_t at)
{
    unsigned k = 0;
    while (k < s->nrec && s->off[k + 1] <= at)
        k++;
    return k;
}

static void cut_at(const seg_t *s, uint64_t at, uint64_t zeros)
{
    char path[600];
    seg_path(s, path, sizeof(path));
    ck_assert_int_eq(truncate(path, (off_t)at), 0);
    if (zeros) /* a crash may leave allocated, never written blocks */
        ck_assert_int_eq(truncate(path, (off_t)(at + zeros)), 0);
}

static void flip_byte(const seg_t *s, uint64_t at, uint8_t mask)
{
    char path[600];
    seg_path(s, path, sizeof(path));
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t b;
    ck_assert_int_eq(pread(fd, &b, 1, (off_t)at), 1);
    b ^= mask;
    ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)at), 1);
    close(fd);
}

/* ---- running the server on the damage --------------------------------------- */

/* Reads the child's output until EOF or the deadline. */
static void drain_output(int fd, char *out, size_t len, uint64_t deadline)
{
    size_t got = 0;
    char sink[512];
    for (;;) {
        uint64_t now = load_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0)
            break;
        bool room = got + 1 < len;
        ssize_t r = read(fd, room ? out + got : sink, room ? len - 1 - got : sizeof(sink));
        if (r <= 0)
            break;
        if (room)
            got += (size_t)r;
    }
    out[got] = '\0';
}

/* Runs fickled on the server's directories and ports, logging to its
 * output: the exit status, or -1 if it was still running after 10 s (it
 * started on a log it should have refused; it is then stopped). */
static int run_server(char *out, size_t len)
{
    char port[8], resp[8], data[300], shm[300];
    snprintf(port, sizeof(port), "%u", srv.port);
    snprintf(resp, sizeof(resp), "%u", srv.resp_port);
    snprintf(data, sizeof(data), "%s/data", srv.dir);
    snprintf(shm, sizeof(shm), "/dev/shm/%s", strrchr(srv.dir, '/') + 1);
    const char *argv[] = {fk_binary, "--port", port, "--resp-port", resp, "--data-dir", data, "--shm-dir", shm,
                          "--workers", "2", NULL};
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        fk_execv(fk_binary, argv);
        _exit(127);
    }
    close(pfd[1]);
    drain_output(pfd[0], out, len, load_now_ms() + 10000);
    close(pfd[0]);
    int status;
    for (int waited = 0; waitpid(pid, &status, WNOHANG) != pid; waited += 10) {
        if (waited >= 1000) {
            kill(pid, SIGTERM);
            waitpid(pid, &status, 0);
            return -1;
        }
        load_sleep_ms(10);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The damaged log: the server refuses it (exit 1, naming file and offset),
 * so does --check; --repair keeps exactly the first keep ops. */
static void expect_refusal_then_repair(const seg_t *s, unsigned n, unsigned keep, const char *what)
{
    char path[600], out[8192];
    seg_path(s, path, sizeof(path));
    int rc = run_server(out, sizeof(out));
    ck_assert_msg(rc == 1, "%s: the server exited %d on a damaged log:\n%s", what, rc, out);
    ck_assert_msg(strstr(out, path) && strstr(out, "offset"), "%s: the refusal names no file and offset:\n%s", what,
                  out);
    rc = srv_check(&srv, out, sizeof(out));
    ck_assert_msg(rc == 1 && strstr(out, path), "%s: fickled --check exited %d:\n%s", what, rc, out);
    static const char *const repair[] = {"--repair", NULL};
    ck_assert_msg(fk_restart(&srv, repair) == 0, "%s: --repair did not start the server", what);
    expect_prefix(n, keep, what);
    srv_stop_and_check(&srv);
}

/* A torn tail (cut, or cut and followed by zeros) at a random offset of
 * the newest segment: cut off at start, the data is the prefix of whole
 * records before it. */
static void torn_trial(const seg_t *s, unsigned n, uint64_t at, uint64_t zeros)
{
    char what[128], path[600], cut[700];
    snprintf(what, sizeof(what), "torn at %llu (+%llu zeros) of %s", (unsigned long long)at,
             (unsigned long long)zeros, s->name);
    fresh_copy();
    cut_at(s, at, zeros);
    ck_assert_msg(fk_restart(&srv, NULL) == 0, "%s: the server did not start", what);
    unsigned whole = whole_before(s, at);
    seg_path(s, path, sizeof(path));
    snprintf(cut, sizeof(cut), "log: cut %s back to %llu bytes", path, (unsigned long long)s->off[whole]);
    ck_assert_msg(fk_log_has(&srv, cut, 0), "%s: the log does not say '%s'", what, cut);
    expect_prefix(n, s->first + whole, what);
    srv_stop_and_check(&srv);
}

/* A random offset inside record k of s. */
static uint64_t inside(const seg_t *s, unsigned k)
{
    return s->off[k] + (uint64_t)rand() % (s->off[k + 1] - s->off[k]);
}

/* The same, but not its first byte: a cut there leaves a torn record. */
static uint64_t past_start(const seg_t *s, unsigned k)
{
    return s->off[k] + 1 + (uint64_t)rand() % (s->off[k + 1] - s->off[k] - 1);
}

static bool is_boundary(const seg_t *s, uint64_t at)
{
    return s->off[whole_before(s, at)] == at;
}

START_TEST(torn_tail_is_cut)
{
    enum { N = 300 };
    make_history(NULL, N, 600);
    ck_assert_uint_eq(nsegs, 1);
    const seg_t *s = &segs[0];
    srand(12345);
    uint64_t size = s->off[s->nrec];
    for (int trial = 0; trial < 20; trial++) {
        uint64_t zeros = trial % 2 ? 1 + (uint64_t)rand() % 4096 : 0;
        uint64_t at = 41 + (uint64_t)rand() % (size - 41);
        if (trial == 0)
            at = 41; /* inside the first record: nothing survives */
        else if (trial == 2)
            at = size - 1; /* the last byte missing */
        else if (!zeros && is_boundary(s, at))
            at++; /* a cut between records is no torn record */
        torn_trial(s, N, at, zeros);
    }
}
END_TEST

START_TEST(corrupt_record_is_refused)
{
    enum { N = 300 };
    make_history(NULL, N, 600);
    const seg_t *s = &segs[0];
    srand(54321);
    for (int trial = 0; trial < 4; trial++) {
        unsigned k = N / 4 + (unsigned)rand() % (N / 2); /* never the last record */
        uint64_t at = inside(s, k);
        char what[128];
        snprintf(what, sizeof(what), "byte %llu (record %u) of %s flipped", (unsigned long long)at, k, s->name);
        fresh_copy();
        flip_byte(s, at, (uint8_t)(1 + rand() % 255));
        expect_refusal_then_repair(s, N, k, what);
    }
}
END_TEST

/* Several 1 MB segments: damage to one that is not the newest is never a
 * torn tail (the writer fsyncs a segment before it starts the next). */
START_TEST(older_segment_damage_is_refused)
{
    enum { N = 700 };
    static const char *const small[] = {"--log-segment-size", "1m", NULL};
    make_history(small, N, 8000);
    ck_assert_uint_ge(nsegs, 3);
    srand(777);
    const seg_t *s0 = &segs[0], *s1 = &segs[1], *last = &segs[nsegs - 1];
    char what[128];
    /* A flipped byte in the middle of the first segment. */
    unsigned k = s0->nrec / 2;
    uint64_t at = inside(s0, k);
    snprintf(what, sizeof(what), "byte %llu (record %u) of %s flipped", (unsigned long long)at, k, s0->name);
    fresh_copy();
    flip_byte(s0, at, 0x5a);
    expect_refusal_then_repair(s0, N, k, what);
    ck_assert(fk_log_has(&srv, "removed", 0)); /* the segments after it went */
    /* The second segment torn inside a record. */
    k = s1->nrec / 3;
    at = past_start(s1, k);
    snprintf(what, sizeof(what), "%s torn at %llu", s1->name, (unsigned long long)at);
    fresh_copy();
    cut_at(s1, at, 0);
    expect_refusal_then_repair(s1, N, s1->first + k, what);
    /* The newest segment torn: an ordinary torn tail. */
    torn_trial(last, N, past_start(last, last->nrec / 2), 0);
}
END_TEST

/* An older segment corrupt while the region survived (bit rot while the
 * server was stopped): the region is attached warm, as its LSN matches
 * the log's newest segment. Then either the start is refused, naming the
 * file, or the server must be able to put new writes on disk. */
START_TEST(warm_start_over_corrupt_older_segment)
{
    enum { N = 700 };
    static const char *const small[] = {"--log-segment-size", "1m", NULL};
    make_history(small, N, 8000);
    ck_assert_uint_ge(nsegs, 3);
    char path[600];
    seg_path(&segs[0], path, sizeof(path));
    flip_byte(&segs[0], inside(&segs[0], segs[0].nrec / 2), 0x5a);
    srv_clear_log(&srv);
    if (fk_restart(&srv, small) != 0) {
        ck_assert_msg(fk_log_has(&srv, path, 0) && fk_log_has(&srv, "offset", 0), "refused, but not naming %s", path);
        return;
    }
    fk_conn_t *c = fk_connect(srv.resp_port);
    ck_assert_ptr_nonnull(c);
    fk_expect_status(c, "SET after:damage 1", "OK");
    fk_close(c);
    uint64_t last = srv_info(srv.resp_port, "persistence", "last_lsn"), t0 = load_now_ms(), on_disk;
    while ((on_disk = srv_info(srv.resp_port, "persistence", "log_lsn")) < last && load_now_ms() - t0 < 20000)
        load_sleep_ms(50);
    ck_assert_msg(on_disk >= last, "the server started on a log with a corrupt segment but cannot write to it: "
                                   "log_lsn %llu < last_lsn %llu after 20 s; persister restarts: %llu",
                  (unsigned long long)on_disk, (unsigned long long)last,
                  (unsigned long long)srv_info(srv.resp_port, "persistence", "persister_restarts"));
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("persist_damage");
    TCase *tc = tcase_create("persist_damage");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, torn_tail_is_cut);
    tcase_add_test(tc, corrupt_record_is_refused);
    tcase_add_test(tc, older_segment_damage_is_refused);
    tcase_add_test(tc, warm_start_over_corrupt_older_segment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    srv_track_init();
    int rc = fk_run_suite(suite());
    srv_sweep();
    return rc;
}
