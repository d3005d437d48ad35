/*
 * native_bench.c — a load generator for fickled's native protocol, over
 * libfickle, shaped like redis-benchmark so the two can be compared.
 *
 *   native_bench [-h host] [-p port | -s socket] [-c clients] [-n requests]
 *                [-P pipeline] [-t set,get,txn] [-r keyspace] [-d value-size]
 *                [--threads T] [--csv] [--no-preload | --preload]
 *
 * Each of the clients is its own libfickle connection; they are spread over
 * T threads. A thread keeps every one of its clients busy: it queues a batch
 * of P requests on each (fickle_queue_*), flushes it, then goes round its
 * clients reading each one's P replies (fickle_read_reply) and sending that
 * client's next batch as soon as its replies are in -- redis-benchmark's
 * event loop does the same with one thread. Keys are "key:" and 12 digits
 * (redis-benchmark -r's form) drawn uniformly from [0, keyspace); values are
 * d bytes of 'x' (redis-benchmark -d's). -n requests of each test are
 * divided among the clients. A txn request is one TXN shaped like a
 * transfer: "if key A exists then PUT A, PUT B" (two random keys; the
 * keyspace is preloaded so the compare holds).
 *
 * Everything is checked: every reply must have status OK (SET: a new
 * version; GET: a value of exactly d bytes, so before GETs the keyspace is
 * preloaded with one SET of every key). Any other reply, or any client-side
 * error, prints what, on which key, and exits 1: a run that prints figures
 * did the work it counts.
 *
 * Latency is taken with CLOCK_MONOTONIC. For each request: from the moment
 * its batch is handed to the socket (just before fickle_flush) to the
 * moment its own reply has been read and decoded ("per request"). Also,
 * for comparison with redis-benchmark, which stamps a batch once, from the
 * start of its write to the first read event of the reply, and records that
 * one figure for every request of the batch: from the batch's send to its
 * first reply, recorded once per request ("batch"). With -P 1 the two are
 * the same; with -P 16 "per request" also counts the wait for the replies
 * ahead in the batch. Both go into log-linear histograms (64 sub-buckets
 * per power of two: under 1.6% error), per thread, merged at the end;
 * percentiles are the bucket's upper edge, as HdrHistogram reports them.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fickle/client.h>

#define KEY_DIGITS 12
#define KEY_LEN (4 + KEY_DIGITS)      /* "key:" + 12 digits, as redis-benchmark -r */
#define MAX_KEYSPACE 1000000000000ULL /* 10^12: what 12 digits hold */
#define PRELOAD_PIPELINE 128

/* ---- histogram --------------------------------------------------------------------- */

/* Values (ns) below 128 have a bucket each; above, each power of two
 * [2^e, 2^(e+1)) is cut into 64 equal buckets. Values from 2^41 ns (36
 * minutes) up share the last bucket. */
#define HIST_SUB 64
#define HIST_MAX_EXP 40
#define HIST_BUCKETS ((HIST_MAX_EXP - 6) * HIST_SUB + 2 * HIST_SUB)

typedef struct {
    uint64_t n, sum, min, max;
    uint64_t b[HIST_BUCKETS];
} hist_t;

static unsigned hist_index(uint64_t v)
{
    if (v < 2 * HIST_SUB)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    if (e > HIST_MAX_EXP)
        return HIST_BUCKETS - 1;
    return (e - 6) * HIST_SUB + (unsigned)(v >> (e - 6));
}

/* The largest value that lands in bucket i. */
static uint64_t hist_high(unsigned i)
{
    if (i < 2 * HIST_SUB)
        return i;
    unsigned e = i / HIST_SUB + 5;
    uint64_t m = i % HIST_SUB + HIST_SUB;
    return ((m + 1) << (e - 6)) - 1;
}

static void hist_reset(hist_t *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

static void hist_add(hist_t *h, uint64_t v, uint64_t count)
{
    h->b[hist_index(v)] += count;
    h->n += count;
    h->sum += v * count;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

static void hist_merge(hist_t *into, const hist_t *h)
{
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += h->b[i];
    into->n += h->n;
    into->sum += h->sum;
    if (h->min < into->min)
        into->min = h->min;
    if (h->max > into->max)
        into->max = h->max;
}

/* The p-th percentile (0 < p <= 100) in ns: the upper edge of the bucket
 * holding the ceil(p% * n)-th smallest value, capped at the maximum seen. */
static uint64_t hist_pct(const hist_t *h, double p)
{
    if (h->n == 0)
        return 0;
    uint64_t target = (uint64_t)((double)h->n * p / 100.0);
    if ((double)target < (double)h->n * p / 100.0)
        target++;
    if (target == 0)
        target = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= target) {
            uint64_t v = hist_high(i);
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

/* ---- configuration ----------------------------------------------------------------- */

enum { T_PRELOAD, T_SET, T_GET, T_TXN };
static const char *const test_name[] = {"PRELOAD", "SET", "GET", "TXN"};

#define MAX_TESTS 8

static struct {
    const char *host;
    unsigned port;
    const char *socket;
    unsigned clients;
    uint64_t requests;
    unsigned pipeline;
    int tests[MAX_TESTS];
    unsigned ntests;
    uint64_t keyspace;
    size_t dsize;
    unsigned threads;
    bool csv;
    int preload; /* -1: when GET or TXN is among the tests */
    uint64_t seed;
    int timeout_ms;
} cfg = {
    .host = "127.0.0.1",
    .port = FICKLE_DEFAULT_PORT,
    .clients = 50,
    .requests = 100000,
    .pipeline = 1,
    .keyspace = 100000,
    .dsize = 3,
    .threads = 1,
    .preload = -1,
    .seed = 1,
    .timeout_ms = 10000,
};

static char *value; /* dsize bytes of 'x' */

static void usage(FILE *out)
{
    fprintf(out,
            "usage: native_bench [options]\n"
            "Load generator for fickled's native protocol (libfickle), in the manner of redis-benchmark.\n"
            "  -h HOST        server host (default 127.0.0.1)\n"
            "  -p PORT        native protocol port (default %d)\n"
            "  -s SOCKET      a Unix socket instead of host and port\n"
            "  -c CLIENTS     connections (default 50)\n"
            "  -n REQUESTS    requests per test, over all clients (default 100000)\n"
            "  -P PIPELINE    requests sent per batch by each client (default 1)\n"
            "  -t TESTS       comma-separated, run in this order: set, get, txn (default set,get)\n"
            "  -r KEYSPACE    keys are key:000000000000 .. key:<KEYSPACE-1>, drawn uniformly (default 100000)\n"
            "  -d SIZE        value size in bytes for SET and the preload; GET checks it (default 3)\n"
            "  --threads T    threads the clients are spread over (default 1)\n"
            "  --csv          CSV like redis-benchmark --csv, plus the batch-latency percentiles\n"
            "  --preload      SET every key of the keyspace first (default: when GET or TXN is a test)\n"
            "  --no-preload   do not; GETs then need every key present with SIZE-byte values\n"
            "  --seed S       seed of the key choice (default 1)\n"
            "  --timeout MS   connect and I/O timeout per wait (default 10000)\n"
            "  --help         this text\n"
            "Every reply is checked; any error reply or failure exits 1.\n",
            FICKLE_DEFAULT_PORT);
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    flockfile(stderr);
    fputs("native_bench: FAIL: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
    va_end(ap);
    exit(1);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v < lo || v > hi) {
        fprintf(stderr, "native_bench: %s wants a number from %" PRIu64 " to %" PRIu64 ", not '%s'\n", opt, lo,
                hi, s);
        exit(2);
    }
    return v;
}

static void parse_tests(const char *s)
{
    cfg.ntests = 0;
    char *copy = strdup(s), *save = NULL;
    if (!copy)
        die("out of memory");
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int kind;
        if (!strcasecmp(t, "set"))
            kind = T_SET;
        else if (!strcasecmp(t, "get"))
            kind = T_GET;
        else if (!strcasecmp(t, "txn"))
            kind = T_TXN;
        else {
            fprintf(stderr, "native_bench: unknown test '%s' (set, get, txn)\n", t);
            exit(2);
        }
        if (cfg.ntests == MAX_TESTS) {
            fprintf(stderr, "native_bench: at most %d tests\n", MAX_TESTS);
            exit(2);
        }
        cfg.tests[cfg.ntests++] = kind;
    }
    free(copy);
    if (!cfg.ntests) {
        fprintf(stderr, "native_bench: -t names no test\n");
        exit(2);
    }
}

/* ---- clients and workers ----------------------------------------------------------- */

typedef struct {
    fickle_t *c;
    unsigned id;
    uint64_t rng;
    uint64_t todo;     /* requests still to send in this test */
    uint64_t next, hi; /* preload: the keys [next, hi) are still to be written */
    unsigned inflight; /* requests sent whose replies are unread */
    uint64_t *batch;   /* their key numbers, for error messages */
    uint64_t sent_ns;  /* when the batch went out */
} client_t;

typedef struct {
    pthread_t tid;
    client_t *cl;
    unsigned ncl;
    int kind;
    uint64_t start_ns, end_ns;
    hist_t each;  /* per request: batch sent -> its own reply read */
    hist_t first; /* per request: batch sent -> the batch's first reply read */
} worker_t;

static pthread_barrier_t start_line;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void format_key(char *buf, uint64_t k)
{
    memcpy(buf, "key:", 4);
    for (int i = KEY_LEN - 1; i >= 4; i--) {
        buf[i] = (char)('0' + k % 10);
        k /= 10;
    }
}

static bool has_work(const client_t *cl, int kind)
{
    return kind == T_PRELOAD ? cl->next < cl->hi : cl->todo > 0;
}

/* TXN: if key exists then PUT key, PUT key:other. */
static int queue_txn(client_t *cl, const char *key, uint64_t other)
{
    char k2[KEY_LEN];
    format_key(k2, other);
    fickle_txn_t *t = fickle_txn_new();
    if (!t)
        return FICKLE_ERR_NOMEM;
    fickle_txn_compare_exists(t, key, KEY_LEN, true);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, key, KEY_LEN, value, cfg.dsize, 0, 0);
    fickle_txn_put(t, FICKLE_TXN_SUCCESS, k2, KEY_LEN, value, cfg.dsize, 0, 0);
    int rc = fickle_queue_txn(cl->c, t, NULL);
    fickle_txn_free(t);
    return rc;
}

static void send_batch(client_t *cl, int kind)
{
    unsigned depth = kind == T_PRELOAD ? PRELOAD_PIPELINE : cfg.pipeline;
    unsigned n = 0;
    char key[KEY_LEN];
    while (n < depth && has_work(cl, kind)) {
        uint64_t k;
        if (kind == T_PRELOAD) {
            k = cl->next++;
        } else {
            k = splitmix64(&cl->rng) % cfg.keyspace;
            cl->todo--;
        }
        format_key(key, k);
        int rc = kind == T_GET   ? fickle_queue_get(cl->c, key, KEY_LEN, NULL)
                 : kind == T_TXN ? queue_txn(cl, key, splitmix64(&cl->rng) % cfg.keyspace)
                                 : fickle_queue_set(cl->c, key, KEY_LEN, value, cfg.dsize, 0, 0, NULL);
        if (rc != FICKLE_OK)
            die("client %u: queueing %s %.*s: %s", cl->id, test_name[kind], KEY_LEN, key, fickle_errstr(cl->c));
        cl->batch[n++] = k;
    }
    cl->inflight = n;
    cl->sent_ns = now_ns();
    int rc = fickle_flush(cl->c);
    if (rc != FICKLE_OK)
        die("client %u: sending %u %s requests: %s", cl->id, n, test_name[kind], fickle_errstr(cl->c));
}

/* Reads and checks the replies of cl's batch; records their latencies. */
static void read_batch(worker_t *w, client_t *cl, int kind)
{
    uint64_t first = 0;
    char key[KEY_LEN];
    for (unsigned i = 0; i < cl->inflight; i++) {
        fickle_reply_t r;
        int rc = fickle_read_reply(cl->c, &r);
        uint64_t t = now_ns() - cl->sent_ns;
        if (rc != FICKLE_OK) {
            format_key(key, cl->batch[i]);
            if (rc < 0)
                die("client %u: %s %.*s: %s", cl->id, test_name[kind], KEY_LEN, key, fickle_errstr(cl->c));
            die("client %u: %s %.*s: the server replied %s: %s", cl->id, test_name[kind], KEY_LEN, key,
                fickle_strstatus(rc), r.value ? r.value : "");
        }
        static const uint8_t opcode[] = {FICKLE_OP_SET, FICKLE_OP_SET, FICKLE_OP_GET, FICKLE_OP_TXN};
        bool ok = r.version != 0 && r.opcode == opcode[kind] &&
                  (kind != T_TXN || (fickle_txn_result_succeeded(r.txn) && fickle_txn_result_count(r.txn) == 2));
        if (!ok || (kind == T_GET && (r.vlen != cfg.dsize || !r.value))) {
            format_key(key, cl->batch[i]);
            die("client %u: %s %.*s: OK reply with opcode %u, version %" PRIu64 ", %zu-byte value%s", cl->id,
                test_name[kind], KEY_LEN, key, r.opcode, r.version, r.vlen,
                kind == T_GET ? " (every key must hold a -d byte value: preload the keyspace)" : "");
        }
        fickle_reply_free(&r);
        if (i == 0)
            first = t;
        if (kind != T_PRELOAD)
            hist_add(&w->each, t, 1);
    }
    if (kind != T_PRELOAD)
        hist_add(&w->first, first, cl->inflight);
    cl->inflight = 0;
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    pthread_barrier_wait(&start_line);
    w->start_ns = now_ns();
    for (unsigned i = 0; i < w->ncl; i++)
        if (has_work(&w->cl[i], w->kind))
            send_batch(&w->cl[i], w->kind);
    for (bool busy = true; busy;) {
        busy = false;
        for (unsigned i = 0; i < w->ncl; i++) {
            client_t *cl = &w->cl[i];
            if (!cl->inflight)
                continue;
            busy = true;
            read_batch(w, cl, w->kind);
            if (has_work(cl, w->kind))
                send_batch(cl, w->kind);
        }
    }
    w->end_ns = now_ns();
    return NULL;
}

/* Runs one test on every thread; fills *each and *first and returns the
 * seconds from the first thread's start to the last one's end. */
static double run_test(worker_t *ws, client_t *cls, int kind, hist_t *each, hist_t *first)
{
    /* Work is divided evenly: requests among clients, the keyspace among
     * clients for the preload. */
    for (unsigned i = 0; i < cfg.clients; i++) {
        client_t *cl = &cls[i];
        cl->todo = cfg.requests / cfg.clients + (i < cfg.requests % cfg.clients);
        uint64_t base = cfg.keyspace / cfg.clients, extra = cfg.keyspace % cfg.clients;
        cl->next = base * i + (i < extra ? i : extra);
        cl->hi = cl->next + base + (i < extra);
    }
    if (pthread_barrier_init(&start_line, NULL, cfg.threads) != 0)
        die("pthread_barrier_init failed");
    for (unsigned t = 0; t < cfg.threads; t++) {
        ws[t].kind = kind;
        hist_reset(&ws[t].each);
        hist_reset(&ws[t].first);
        int e = pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]);
        if (e)
            die("pthread_create: %s", strerror(e));
    }
    uint64_t t0 = UINT64_MAX, t1 = 0;
    hist_reset(each);
    hist_reset(first);
    for (unsigned t = 0; t < cfg.threads; t++) {
        pthread_join(ws[t].tid, NULL);
        if (ws[t].start_ns < t0)
            t0 = ws[t].start_ns;
        if (ws[t].end_ns > t1)
            t1 = ws[t].end_ns;
        hist_merge(each, &ws[t].each);
        hist_merge(first, &ws[t].first);
    }
    pthread_barrier_destroy(&start_line);
    return (double)(t1 - t0) / 1e9;
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    enum { O_THREADS = 256, O_CSV, O_PRELOAD, O_NO_PRELOAD, O_SEED, O_TIMEOUT, O_HELP };
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, O_THREADS}, {"csv", no_argument, NULL, O_CSV},
        {"preload", no_argument, NULL, O_PRELOAD},       {"no-preload", no_argument, NULL, O_NO_PRELOAD},
        {"seed", required_argument, NULL, O_SEED},       {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, O_HELP},             {NULL, 0, NULL, 0},
    };
    parse_tests("set,get");
    int opt;
    while ((opt = getopt_long(argc, argv, "h:p:s:c:n:P:t:r:d:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': cfg.host = optarg; break;
        case 'p': cfg.port = (unsigned)parse_u64("-p", optarg, 1, 65535); break;
        case 's': cfg.socket = optarg; break;
        case 'c': cfg.clients = (unsigned)parse_u64("-c", optarg, 1, 100000); break;
        case 'n': cfg.requests = parse_u64("-n", optarg, 1, UINT64_MAX / 2); break;
        case 'P': cfg.pipeline = (unsigned)parse_u64("-P", optarg, 1, 1000000); break;
        case 't': parse_tests(optarg); break;
        case 'r': cfg.keyspace = parse_u64("-r", optarg, 1, MAX_KEYSPACE); break;
        case 'd': cfg.dsize = (size_t)parse_u64("-d", optarg, 0, 1u << 30); break;
        case O_THREADS: cfg.threads = (unsigned)parse_u64("--threads", optarg, 1, 1024); break;
        case O_CSV: cfg.csv = true; break;
        case O_PRELOAD: cfg.preload = 1; break;
        case O_NO_PRELOAD: cfg.preload = 0; break;
        case O_SEED: cfg.seed = parse_u64("--seed", optarg, 0, UINT64_MAX); break;
        case O_TIMEOUT: cfg.timeout_ms = (int)parse_u64("--timeout", optarg, 0, INT_MAX); break;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "native_bench: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (cfg.threads > cfg.clients)
        cfg.threads = cfg.clients;
    if (cfg.preload < 0) {
        cfg.preload = 0;
        for (unsigned i = 0; i < cfg.ntests; i++)
            cfg.preload |= cfg.tests[i] == T_GET || cfg.tests[i] == T_TXN;
    }

    value = malloc(cfg.dsize + 1);
    client_t *cls = calloc(cfg.clients, sizeof(*cls));
    worker_t *ws = calloc(cfg.threads, sizeof(*ws));
    if (!value || !cls || !ws)
        die("out of memory");
    memset(value, 'x', cfg.dsize);

    fickle_options_t o;
    fickle_options_init(&o);
    o.timeout_ms = cfg.timeout_ms;
    if (cfg.dsize + (1u << 20) > o.max_reply)
        o.max_reply = cfg.dsize + (1u << 20);
    char where[300];
    if (cfg.socket)
        snprintf(where, sizeof(where), "%s", cfg.socket);
    else
        snprintf(where, sizeof(where), "%s:%u", cfg.host, cfg.port);
    unsigned depth = cfg.pipeline > PRELOAD_PIPELINE ? cfg.pipeline : PRELOAD_PIPELINE;
    for (unsigned i = 0; i < cfg.clients; i++) {
        client_t *cl = &cls[i];
        cl->id = i;
        cl->rng = cfg.seed * 0x2545f4914f6cdd1dULL + i;
        cl->batch = malloc(depth * sizeof(*cl->batch));
        if (!cl->batch)
            die("out of memory");
        int rc = cfg.socket ? fickle_connect_unix(&cl->c, cfg.socket, &o)
                            : fickle_connect(&cl->c, cfg.host, (uint16_t)cfg.port, &o);
        if (rc == FICKLE_OK)
            rc = fickle_ping(cl->c, "native_bench", 12); /* a fickle native port, answering */
        if (rc != FICKLE_OK)
            die("client %u: connecting to %s: %s", i, where, fickle_errstr(cl->c));
    }
    /* Clients are dealt to threads in contiguous runs. */
    for (unsigned t = 0, at = 0; t < cfg.threads; t++) {
        ws[t].ncl = cfg.clients / cfg.threads + (t < cfg.clients % cfg.threads);
        ws[t].cl = &cls[at];
        at += ws[t].ncl;
    }

    FILE *info = cfg.csv ? stderr : stdout;
    fprintf(info, "native_bench: %s, %u clients on %u thread%s, pipeline %u, keyspace %" PRIu64
                  ", %zu-byte values, %" PRIu64 " requests per test\n",
            where, cfg.clients, cfg.threads, cfg.threads == 1 ? "" : "s", cfg.pipeline, cfg.keyspace, cfg.dsize, cfg.requests);

    hist_t *each = malloc(sizeof(*each)), *first = malloc(sizeof(*first));
    if (!each || !first)
        die("out of memory");
    if (cfg.preload) {
        double s = run_test(ws, cls, T_PRELOAD, each, first);
        fprintf(info, "preload: SET of all %" PRIu64 " keys in %.2f s (%.0f/s), every reply OK\n", cfg.keyspace,
                s, (double)cfg.keyspace / s);
    }
    if (cfg.csv)
        printf("\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\","
               "\"p99_latency_ms\",\"max_latency_ms\",\"p50_batch_latency_ms\",\"p99_batch_latency_ms\"\n");
    for (unsigned i = 0; i < cfg.ntests; i++) {
        int kind = cfg.tests[i];
        double s = run_test(ws, cls, kind, each, first);
        if (each->n != cfg.requests)
            die("%s: %" PRIu64 " replies counted, %" PRIu64 " requested", test_name[kind], each->n, cfg.requests);
        double rps = (double)cfg.requests / s;
        if (cfg.csv) {
            printf("\"%s\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\"\n",
                   test_name[kind], rps, ms(each->sum) / (double)each->n, ms(each->min), ms(hist_pct(each, 50)),
                   ms(hist_pct(each, 95)), ms(hist_pct(each, 99)), ms(each->max), ms(hist_pct(first, 50)),
                   ms(hist_pct(first, 99)));
        } else {
            printf("%s: %" PRIu64 " requests in %.3f s: %.0f requests/s, every reply checked\n", test_name[kind],
                   cfg.requests, s, rps);
            printf("  latency per request (batch sent -> its reply), ms: avg %.3f min %.3f p50 %.3f p95 %.3f "
                   "p99 %.3f max %.3f\n",
                   ms(each->sum) / (double)each->n, ms(each->min), ms(hist_pct(each, 50)), ms(hist_pct(each, 95)),
                   ms(hist_pct(each, 99)), ms(each->max));
            printf("  latency of the batch (sent -> first reply, as redis-benchmark), ms: p50 %.3f p99 %.3f\n",
                   ms(hist_pct(first, 50)), ms(hist_pct(first, 99)));
        }
        fflush(stdout);
    }

    for (unsigned i = 0; i < cfg.clients; i++) {
        fickle_close(cls[i].c);
        free(cls[i].batch);
    }
    free(each);
    free(first);
    free(cls);
    free(ws);
    free(value);
    return 0;
}
