/*
 * bench_common.c — workload generation and checking, timing, failure
 * handling and file cleanup shared by every part of store_bench.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

/* ---- keys and values ------------------------------------------------------ */

/* splitmix64's finaliser: a bijection of 64-bit words. */
uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t key_prefix(const keyset_t *ks, uint64_t i)
{
    return mix64(i + ks->salt);
}

void key_make(const keyset_t *ks, uint64_t i, unsigned char key[KEY_LEN])
{
    uint64_t p = key_prefix(ks, i);
    put_be64(key, p);
    put_be64(key + 8, mix64(p ^ 0xa5a5a5a5a5a5a5a5ull));
}

void keyset_init(keyset_t *ks, uint64_t n, uint64_t seed)
{
    ks->n = n;
    ks->salt = mix64(seed ^ 0x6669636b6c65ull);
    ks->sorted = malloc(n * sizeof(uint64_t));
    if (ks->sorted == NULL)
        die("out of memory for %llu sorted keys", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        ks->sorted[i] = key_prefix(ks, i);
    qsort(ks->sorted, n, sizeof(uint64_t), cmp_u64);
}

void keyset_free(keyset_t *ks)
{
    free(ks->sorted);
    ks->sorted = NULL;
}

uint64_t key_rank(const keyset_t *ks, const unsigned char key[KEY_LEN])
{
    uint64_t p = get_be64(key), lo = 0, hi = ks->n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (ks->sorted[mid] < p)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == ks->n || ks->sorted[lo] != p)
        die("key %016llx is not in the key set", (unsigned long long)p);
    return lo;
}

void val_make(const unsigned char key[KEY_LEN], uint64_t gen, unsigned char val[VAL_LEN])
{
    uint64_t h = mix64(get_be64(key + 8) ^ mix64(get_be64(key) + gen));
    memcpy(val, &gen, 8);
    for (int j = 0; j < 3; j++)
        memcpy(val + 8 + 8 * j, &(uint64_t){mix64(h + (uint64_t)j)}, 8);
}

bool val_ok(const unsigned char key[KEY_LEN], const void *val, size_t vlen, uint64_t gen)
{
    if (vlen != VAL_LEN)
        return false;
    uint64_t g;
    memcpy(&g, val, 8);
    if (gen != GEN_ANY && g != gen)
        return false;
    unsigned char want[VAL_LEN];
    val_make(key, g, want);
    return memcmp(want, val, VAL_LEN) == 0;
}

bool row_ok(const keyset_t *ks, uint64_t rank, const void *key, size_t klen, const void *val, size_t vlen,
            uint64_t gen)
{
    const unsigned char *k = key;
    if (klen != KEY_LEN || rank >= ks->n || get_be64(k) != ks->sorted[rank])
        return false;
    return get_be64(k + 8) == mix64(ks->sorted[rank] ^ 0xa5a5a5a5a5a5a5a5ull) && val_ok(k, val, vlen, gen);
}

uint32_t *perm_make(uint64_t n, uint64_t seed)
{
    if (n > UINT32_MAX)
        die("%llu keys: at most %u supported", (unsigned long long)n, UINT32_MAX);
    uint32_t *p = malloc((n ? n : 1) * sizeof(uint32_t));
    if (p == NULL)
        die("out of memory for a permutation of %llu", (unsigned long long)n);
    for (uint64_t i = 0; i < n; i++)
        p[i] = (uint32_t)i;
    uint64_t s = mix64(seed) | 1;
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = rng_next(&s) % i;
        uint32_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    return p;
}

/* ---- timing ------------------------------------------------------------------ */

double now_sec(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        die("clock_gettime(CLOCK_MONOTONIC) failed");
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cpu_sec(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        die("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void mixed_loop(void *h, uint64_t rng, const mixed_flags_t *f, child_stats_t *out,
                void (*op)(void *h, uint64_t *rng))
{
    atomic_fetch_add_explicit(f->ready, 1, memory_order_release);
    while (!atomic_load_explicit(f->go, memory_order_acquire))
        usleep(100);
    double t0 = now_sec(), c0 = cpu_sec();
    uint64_t ops = 0;
    while (!atomic_load_explicit(f->stop, memory_order_relaxed)) {
        for (int i = 0; i < 32; i++)
            op(h, &rng);
        ops += 32;
    }
    out->secs = now_sec() - t0;
    out->cpu = cpu_sec() - c0;
    out->ops = ops;
}

/* ---- failure and cleanup --------------------------------------------------------- */

#define MAX_CLEANUP 8
static char *cleanup_paths[MAX_CLEANUP];
static volatile sig_atomic_t ncleanup;
static pid_t owner_pid;

bool in_child(void)
{
    return owner_pid != 0 && getpid() != owner_pid;
}

static void cleanup_run(void)
{
    if (in_child())
        return;
    for (sig_atomic_t i = 0; i < ncleanup; i++)
        unlink(cleanup_paths[i]); /* may already be gone: not an error */
}

static void on_signal(int sig)
{
    cleanup_run();
    signal(sig, SIG_DFL);
    raise(sig);
}

void cleanup_install(void)
{
    owner_pid = getpid();
    if (atexit(cleanup_run) != 0)
        die("atexit failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            die("sigaction failed");
}

void cleanup_add(const char *path)
{
    if (ncleanup >= MAX_CLEANUP)
        die("too many files to clean up");
    char *p = strdup(path);
    if (p == NULL)
        die("out of memory");
    cleanup_paths[ncleanup] = p;
    ncleanup++;
}

void child_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        die("prctl(PR_SET_PDEATHSIG): failed");
    if (getppid() != owner_pid)
        _exit(1); /* the parent died before prctl */
}

void die(const char *fmt, ...)
{
    va_list ap;
    fputs("store_bench: FAIL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (in_child())
        _exit(1);
    exit(1);
}
