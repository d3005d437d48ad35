/*
 * store_bench.c — fickle's store against LMDB, same workload, same run.
 *
 * N keys (16 bytes, random but reproducible from --seed) with 32-byte
 * self-checking values go through: load (insert in random key order), random
 * get, random put (overwrite; one per transaction, then 1000 per
 * transaction), 100-row range scans forward and reverse from random keys, a
 * mixed phase (one reader process per online core doing random gets while
 * one writer process puts, for --duration seconds), and delete. Phases run
 * fickle then LMDB back to back, so a noisy machine hits both alike; every
 * result is checked and any wrong answer fails the run. The table gives
 * ops/s for each system and the ratio fickle/LMDB.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define NSYS 2
#define MAX_CHILDREN 65
#define MAX_SCANS 100000 /* scans per direction: keys / 10, at most this */

typedef struct {
    const char *label;
    double ops[NSYS]; /* ops/s; 0 = not run */
} result_t;

typedef struct {
    bench_cfg_t cfg;
    keyset_t ks;
    const system_t *sys[NSYS];
    void *h[NSYS];
    result_t res[16];
    unsigned nres;
    footprint_t fp[NSYS];
    uint64_t retries[NSYS], fallbacks[NSYS], reader_ops[NSYS];
    double reader_cpu[NSYS], writer_cpu[NSYS], mixed_secs[NSYS];
    unsigned phases; /* PH_* bits */
} bench_t;

enum { PH_GET = 1, PH_PUT = 2, PH_PUT1000 = 4, PH_SCAN = 8, PH_MIXED = 16, PH_DELETE = 32, PH_ALL = 63 };

static unsigned parse_phases(const char *s)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"get", PH_GET},     {"put", PH_PUT},     {"put1000", PH_PUT1000},
                 {"scan", PH_SCAN},   {"mixed", PH_MIXED}, {"delete", PH_DELETE}};
    unsigned bits = 0;
    while (*s) {
        size_t n = strcspn(s, ",");
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) && (strlen(names[i].name) != n || strncmp(s, names[i].name, n) != 0))
            i++;
        if (i == sizeof(names) / sizeof(names[0])) {
            fprintf(stderr, "store_bench: --phases: unknown phase '%.*s'\n", (int)n, s);
            exit(2);
        }
        bits |= names[i].bit;
        s += n + (s[n] == ',');
    }
    return bits;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: store_bench [options]\n"
                 "Runs one workload on fickle's store and on LMDB and prints ops/s and ratios.\n"
                 "  --keys N       number of keys (default 1000000)\n"
                 "  --seed S       seed of the keys and the random orders (default 1)\n"
                 "  --duration S   seconds of the mixed phase, per system (default 5)\n"
                 "  --readers N    reader processes in the mixed phase (default: online cores)\n"
                 "  --only NAME    run only fickle or only lmdb\n"
                 "  --phases LIST  run only these phases (comma-separated: get, put, put1000,\n"
                 "                 scan, mixed, delete; load always runs; default all)\n"
                 "  --dir DIR      where the region and env files go (default /dev/shm)\n"
                 "  --help         this text\n");
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "store_bench: %s wants an integer in %llu..%llu, not '%s'\n", opt,
                (unsigned long long)min, (unsigned long long)max, s);
        exit(2);
    }
    return v;
}

static void parse_args(bench_t *b, int argc, char **argv)
{
    static const struct option opts[] = {
        {"keys", required_argument, NULL, 'k'}, {"seed", required_argument, NULL, 's'},
        {"duration", required_argument, NULL, 'd'}, {"readers", required_argument, NULL, 'r'},
        {"only", required_argument, NULL, 'o'}, {"dir", required_argument, NULL, 'D'},
        {"phases", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    b->cfg = (bench_cfg_t){1000000, 1, 5, cores > 0 ? (unsigned)cores : 1, "/dev/shm"};
    b->sys[0] = &fickle_system;
    b->sys[1] = &lmdb_system;
    b->phases = PH_ALL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': b->cfg.keys = parse_u64("--keys", optarg, 1000, 100000000); break;
        case 's': b->cfg.seed = parse_u64("--seed", optarg, 0, UINT64_MAX); break;
        case 'd': b->cfg.duration = (double)parse_u64("--duration", optarg, 1, 3600); break;
        case 'r': b->cfg.readers = (unsigned)parse_u64("--readers", optarg, 1, MAX_CHILDREN - 1); break;
        case 'D': b->cfg.dir = optarg; break;
        case 'p': b->phases = parse_phases(optarg); break;
        case 'o':
            if (strcmp(optarg, "fickle") == 0)
                b->sys[1] = NULL;
            else if (strcmp(optarg, "lmdb") == 0)
                b->sys[0] = NULL;
            else {
                fprintf(stderr, "store_bench: --only wants fickle or lmdb, not '%s'\n", optarg);
                exit(2);
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "store_bench: unexpected argument '%s'\n", argv[optind]);
        exit(2);
    }
}

static result_t *result(bench_t *b, const char *label)
{
    if (b->nres == sizeof(b->res) / sizeof(b->res[0]))
        die("too many result rows");
    result_t *r = &b->res[b->nres++];
    r->label = label;
    return r;
}

static void report(const bench_t *b, int s, const char *phase, uint64_t ops, double secs)
{
    fprintf(stderr, "  %-22s %-6s %10llu ops in %7.3f s\n", phase, b->sys[s]->name, (unsigned long long)ops, secs);
}

static void expect_count(bench_t *b, int s, uint64_t want, const char *after)
{
    uint64_t n = b->sys[s]->count(b->h[s]);
    if (n != want)
        die("%s: %llu keys after %s, expected %llu", b->sys[s]->name, (unsigned long long)n, after,
            (unsigned long long)want);
}

/* ---- the phases ------------------------------------------------------------ */

#define EACH_SYSTEM(b, s)                                                                                    \
    for (int s = 0; s < NSYS; s++)                                                                           \
        if ((b)->sys[s] != NULL)

static void phase_load(bench_t *b)
{
    result_t *r = result(b, "load: random insert, 1/txn");
    uint64_t n = b->cfg.keys;
    EACH_SYSTEM(b, s) {
        double t0 = now_sec();
        b->sys[s]->load(b->h[s], n);
        double dt = now_sec() - t0;
        report(b, s, "load", n, dt);
        r->ops[s] = n / dt;
        expect_count(b, s, n, "load");
        b->sys[s]->footprint(b->h[s], &b->fp[s]);
    }
}

static void phase_get(bench_t *b, uint64_t gen)
{
    result_t *r = result(b, "get: random");
    uint64_t n = b->cfg.keys;
    uint32_t *idx = perm_make(n, b->cfg.seed + 1);
    EACH_SYSTEM(b, s) {
        double t0 = now_sec();
        b->sys[s]->get(b->h[s], idx, n, gen);
        double dt = now_sec() - t0;
        report(b, s, "get", n, dt);
        r->ops[s] = n / dt;
    }
    free(idx);
}

static void phase_put(bench_t *b, unsigned batch, uint64_t gen)
{
    result_t *r = result(b, batch > 1 ? "put: random overwrite, 1000/txn" : "put: random overwrite, 1/txn");
    uint64_t n = b->cfg.keys;
    uint32_t *idx = perm_make(n, b->cfg.seed + 1 + gen);
    EACH_SYSTEM(b, s) {
        double t0 = now_sec();
        b->sys[s]->put(b->h[s], idx, n, gen, batch);
        double dt = now_sec() - t0;
        report(b, s, batch > 1 ? "put 1000/txn" : "put", n, dt);
        r->ops[s] = n / dt;
        expect_count(b, s, n, "put");
    }
    free(idx);
}

static void phase_scan(bench_t *b, bool reverse, uint64_t gen)
{
    result_t *r = result(b, reverse ? "range: 100 keys reverse (scans/s)" : "range: 100 keys forward (scans/s)");
    uint64_t n = b->cfg.keys / 10 < MAX_SCANS ? b->cfg.keys / 10 : MAX_SCANS;
    uint32_t *idx = perm_make(b->cfg.keys, b->cfg.seed + 10 + reverse);
    scan_t *sc = malloc(n * sizeof(*sc));
    if (sc == NULL)
        die("out of memory for %llu scans", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++) {
        unsigned char key[KEY_LEN];
        key_make(&b->ks, idx[i], key);
        sc[i] = (scan_t){idx[i], (uint32_t)key_rank(&b->ks, key)};
    }
    free(idx);
    EACH_SYSTEM(b, s) {
        double t0 = now_sec();
        b->sys[s]->scan(b->h[s], sc, n, reverse, gen);
        double dt = now_sec() - t0;
        report(b, s, reverse ? "range reverse" : "range forward", n, dt);
        r->ops[s] = n / dt;
    }
    free(sc);
}

static void phase_delete(bench_t *b)
{
    result_t *r = result(b, "delete: random, 1/txn");
    uint64_t n = b->cfg.keys;
    uint32_t *idx = perm_make(n, b->cfg.seed + 20);
    EACH_SYSTEM(b, s) {
        double t0 = now_sec();
        b->sys[s]->del(b->h[s], idx, n);
        double dt = now_sec() - t0;
        report(b, s, "delete", n, dt);
        r->ops[s] = n / dt;
        expect_count(b, s, 0, "delete");
    }
    free(idx);
}

/* ---- the mixed phase ------------------------------------------------------------ */

typedef struct {
    atomic_int ready, go, stop;
    child_stats_t child[MAX_CHILDREN];
} mixed_shm_t;

static void sleep_for(double secs)
{
    double end = now_sec() + secs;
    for (double left = secs; left > 0; left = end - now_sec()) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            die("nanosleep: %s", strerror(errno));
    }
}

/* Waits for every child; any failure fails the run once all are reaped. */
static void reap(pid_t *pids, unsigned n, const char *name)
{
    int bad = -1, bad_status = 0;
    for (unsigned i = 0; i < n; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0)
            if (errno != EINTR)
                die("waitpid: %s", strerror(errno));
        if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && bad < 0) {
            bad = (int)i;
            bad_status = status;
        }
    }
    if (bad >= 0)
        die("%s: mixed-phase %s %d failed (%s %d)", name, bad == 0 ? "writer" : "reader", bad,
            WIFEXITED(bad_status) ? "exit" : "signal",
            WIFEXITED(bad_status) ? WEXITSTATUS(bad_status) : WTERMSIG(bad_status));
}

/* Child 0 writes, children 1..readers read. */
static void spawn(bench_t *b, int s, mixed_shm_t *m, pid_t *pids, unsigned n)
{
    mixed_flags_t fl = {&m->ready, &m->go, &m->stop};
    fflush(NULL);
    for (unsigned i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            die("fork: %s", strerror(errno));
        if (pids[i] == 0) {
            child_setup();
            uint64_t rng = mix64(b->cfg.seed * 0x9e3779b97f4a7c15ull + i + 100) | 1;
            b->sys[s]->mixed_child(b->h[s], i == 0, rng, &fl, &m->child[i]);
            _exit(0);
        }
    }
}

static void wait_ready(mixed_shm_t *m, pid_t *pids, unsigned n, const char *name)
{
    double deadline = now_sec() + 60;
    while ((unsigned)atomic_load(&m->ready) < n) {
        for (unsigned i = 0; i < n; i++) {
            int status;
            if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                atomic_store(&m->stop, 1);
                atomic_store(&m->go, 1);
                die("%s: mixed-phase child %u died before it started", name, i);
            }
        }
        if (now_sec() > deadline)
            die("%s: mixed-phase children not ready after 60 s", name);
        sleep_for(0.001);
    }
}

/* Rates per wall-clock second (r[0] readers, r[1] writer) and per
 * CPU-second used (r[2], r[3]): with more processes than cores, and other
 * load on the machine, the second is the steadier figure. */
static void tally(bench_t *b, int s, const mixed_shm_t *m, unsigned n, result_t *r[4])
{
    for (unsigned i = 1; i < n; i++) {
        r[0]->ops[s] += m->child[i].ops / m->child[i].secs;
        b->reader_ops[s] += m->child[i].ops;
        b->retries[s] += m->child[i].retries;
        b->fallbacks[s] += m->child[i].fallbacks;
        b->reader_cpu[s] += m->child[i].cpu;
    }
    b->writer_cpu[s] = m->child[0].cpu;
    b->mixed_secs[s] = m->child[0].secs;
    r[1]->ops[s] = m->child[0].ops / m->child[0].secs;
    r[2]->ops[s] = b->reader_ops[s] / b->reader_cpu[s];
    r[3]->ops[s] = m->child[0].ops / b->writer_cpu[s];
    report(b, s, "mixed readers", b->reader_ops[s], m->child[1].secs);
    report(b, s, "mixed writer", m->child[0].ops, m->child[0].secs);
}

static void mixed_one(bench_t *b, int s, result_t *r[4])
{
    unsigned n = b->cfg.readers + 1;
    mixed_shm_t *m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        die("mmap (shared counters): %s", strerror(errno));
    memset(m, 0, sizeof(*m));
    pid_t pids[MAX_CHILDREN];
    b->sys[s]->mixed_before(b->h[s]);
    spawn(b, s, m, pids, n);
    wait_ready(m, pids, n, b->sys[s]->name);
    atomic_store_explicit(&m->go, 1, memory_order_release);
    sleep_for(b->cfg.duration);
    atomic_store_explicit(&m->stop, 1, memory_order_relaxed);
    reap(pids, n, b->sys[s]->name);
    b->sys[s]->mixed_after(b->h[s]);
    tally(b, s, m, n, r);
    if (munmap(m, sizeof(*m)) != 0)
        die("munmap: %s", strerror(errno));
}

static void phase_mixed(bench_t *b)
{
    static char lr[64];
    snprintf(lr, sizeof(lr), "mixed: %u readers, total gets/s", b->cfg.readers);
    result_t *r[4] = {result(b, lr), result(b, "mixed: 1 writer, puts/s (1/txn)"),
                      result(b, "mixed: readers, gets per CPU-s"), result(b, "mixed: writer, puts per CPU-s")};
    EACH_SYSTEM(b, s) {
        mixed_one(b, s, r);
        expect_count(b, s, b->cfg.keys, "the mixed phase");
    }
}

/* ---- output ------------------------------------------------------------------------ */

/* One table row: a value per system ("-" if not run) and their ratio. */
static void print_row(const char *label, const double v[NSYS], const char *fmt, bool ratio)
{
    printf("%-36s", label);
    for (int s = 0; s < NSYS; s++) {
        if (v[s] > 0)
            printf(fmt, v[s]);
        else
            printf(" %14s", "-");
    }
    if (!ratio)
        printf("\n");
    else if (v[0] > 0 && v[1] > 0)
        printf(" %12.2f\n", v[0] / v[1]);
    else
        printf(" %12s\n", "-");
}

static void print_table(const bench_t *b)
{
    printf("\n%-36s %14s %14s %12s\n", "operation", "fickle ops/s", "LMDB ops/s", "fickle/LMDB");
    for (unsigned i = 0; i < b->nres; i++)
        print_row(b->res[i].label, b->res[i].ops, " %14.0f", true);
    double main_fp[NSYS], alt_fp[NSYS];
    for (int s = 0; s < NSYS; s++) {
        main_fp[s] = b->sys[s] ? b->fp[s].bytes_per_key : 0;
        alt_fp[s] = b->sys[s] ? b->fp[s].alt_bytes_per_key : 0;
    }
    print_row("bytes per key after load", main_fp, " %14.1f", true);
    print_row("  (alternative view, see below)", alt_fp, " %14.1f", false);
    printf("\n");
    EACH_SYSTEM(b, s)
        printf("%s bytes per key: %s\n", b->sys[s]->name, b->fp[s].what);
    if (!(b->phases & PH_MIXED))
        return;
    EACH_SYSTEM(b, s)
        printf("%s mixed phase: readers used %.1f CPU-s, the writer %.1f CPU-s, in %.1f s on %ld cores\n",
               b->sys[s]->name, b->reader_cpu[s], b->writer_cpu[s], b->mixed_secs[s], sysconf(_SC_NPROCESSORS_ONLN));
    if (b->sys[0])
        printf("fickle mixed-phase readers: %llu gets, %llu optimistic retries, %llu fell back to the mutex\n",
               (unsigned long long)b->reader_ops[0], (unsigned long long)b->retries[0],
               (unsigned long long)b->fallbacks[0]);
}

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof(b));
    parse_args(&b, argc, argv);
    cleanup_install();
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("store_bench: %llu keys (%d-byte keys, %d-byte values), seed %llu, %ld online cores, "
           "mixed phase %.0f s with %u readers + 1 writer\n",
           (unsigned long long)b.cfg.keys, KEY_LEN, VAL_LEN, (unsigned long long)b.cfg.seed, cores,
           b.cfg.duration, b.cfg.readers);
    fflush(stdout);
    keyset_init(&b.ks, b.cfg.keys, b.cfg.seed);
    EACH_SYSTEM(&b, s)
        b.h[s] = b.sys[s]->open(&b.cfg, &b.ks);
    /* Values carry the generation of the last put phase that ran. */
    uint64_t gen = 0;
    phase_load(&b);
    if (b.phases & PH_GET)
        phase_get(&b, gen);
    if (b.phases & PH_PUT)
        phase_put(&b, 1, gen = 1);
    if (b.phases & PH_PUT1000)
        phase_put(&b, BATCH_PUTS, gen = 2);
    if (b.phases & PH_SCAN) {
        phase_scan(&b, false, gen);
        phase_scan(&b, true, gen);
    }
    if (b.phases & PH_MIXED)
        phase_mixed(&b);
    if (b.phases & PH_DELETE)
        phase_delete(&b);
    EACH_SYSTEM(&b, s)
        b.sys[s]->close(b.h[s]);
    keyset_free(&b.ks);
    print_table(&b);
    return 0;
}
