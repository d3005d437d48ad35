/*
 * bench.h — shared pieces of store_bench: the workload (reproducible keys
 * and self-checking values), timing, failure handling, file cleanup, and
 * the interface each benchmarked system (fickle's store, LMDB) implements.
 */
#ifndef FICKLE_BENCH_H
#define FICKLE_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 16
#define VAL_LEN 32
#define SCAN_ROWS 100
#define BATCH_PUTS 1000
#define GEN_ANY UINT64_MAX /* value check: any generation is acceptable */

/* ---- configuration and workload ----------------------------------------- */

typedef struct {
    uint64_t keys;
    uint64_t seed;
    double duration; /* mixed phase, seconds per system */
    unsigned readers;
    const char *dir; /* where region and env files live */
} bench_cfg_t;

/* The key set: key i starts with the 8 bytes of key_prefix(i), big-endian
 * (a bijection of i, so keys are distinct), then 8 bytes derived from it.
 * sorted[] holds every prefix in order: range scans are checked against it. */
typedef struct {
    uint64_t n;
    uint64_t salt;
    uint64_t *sorted;
} keyset_t;

uint64_t mix64(uint64_t x);
void keyset_init(keyset_t *ks, uint64_t n, uint64_t seed);
void keyset_free(keyset_t *ks);
uint64_t key_prefix(const keyset_t *ks, uint64_t i);
void key_make(const keyset_t *ks, uint64_t i, unsigned char key[KEY_LEN]);
/* Rank of an existing key in sorted order. */
uint64_t key_rank(const keyset_t *ks, const unsigned char key[KEY_LEN]);

/* Value of a key at generation gen: [gen LE 8 bytes][24 bytes of f(key, gen)]. */
void val_make(const unsigned char key[KEY_LEN], uint64_t gen, unsigned char val[VAL_LEN]);
/* True if val is the value of key at gen (or at any gen with GEN_ANY). */
bool val_ok(const unsigned char key[KEY_LEN], const void *val, size_t vlen, uint64_t gen);

/* Checks one row of a scan: the row's key must be the key of sorted rank
 * `rank` and carry a valid value of generation gen. */
bool row_ok(const keyset_t *ks, uint64_t rank, const void *key, size_t klen, const void *val, size_t vlen,
            uint64_t gen);

/* Expected row count of a scan starting at rank r. */
static inline uint64_t scan_expect(const keyset_t *ks, uint64_t r, bool reverse)
{
    uint64_t avail = reverse ? r + 1 : ks->n - r;
    return avail < SCAN_ROWS ? avail : SCAN_ROWS;
}

/* A scan's start: key #idx, whose rank in sorted order is known. */
typedef struct {
    uint32_t idx, rank;
} scan_t;

/* A random permutation of 0..n-1 (n < 2^32) from seed. Caller frees. */
uint32_t *perm_make(uint64_t n, uint64_t seed);

/* xorshift64*: cheap private random numbers for the mixed phase. */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ---- timing, failure, cleanup -------------------------------------------- */

double now_sec(void); /* CLOCK_MONOTONIC */
double cpu_sec(void); /* CLOCK_PROCESS_CPUTIME_ID */

/* Prints "store_bench: FAIL: ..." and exits 1 (cleanup runs in the parent;
 * a forked child just _exits). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Registers a file to remove at exit, on error and on SIGINT/SIGTERM/SIGHUP. */
void cleanup_add(const char *path);
void cleanup_install(void);
/* Call in each forked child: no cleanup, die with the parent. */
void child_setup(void);
bool in_child(void);

/* ---- the systems under test ------------------------------------------------ */

typedef struct {
    double bytes_per_key;     /* the main figure */
    double alt_bytes_per_key; /* a second view (see the system's text) */
    char what[256];           /* what the two figures measure */
} footprint_t;

/* Mixed-phase counters of one child process, in shared memory. */
typedef struct {
    uint64_t ops;
    double secs;                 /* wall-clock time of the loop */
    double cpu;                  /* CPU time the process used in it */
    uint64_t retries, fallbacks; /* fickle readers only */
} child_stats_t;

typedef struct {
    atomic_int *ready;        /* children count themselves in */
    const atomic_int *go, *stop;
} mixed_flags_t;

typedef struct system {
    const char *name;
    void *(*open)(const bench_cfg_t *cfg, const keyset_t *ks);
    void (*load)(void *h, uint64_t n);                                /* insert keys 0..n-1, gen 0 */
    void (*get)(void *h, const uint32_t *idx, uint64_t n, uint64_t gen);
    void (*put)(void *h, const uint32_t *idx, uint64_t n, uint64_t gen, unsigned batch);
    void (*scan)(void *h, const scan_t *sc, uint64_t n, bool reverse, uint64_t gen);
    void (*del)(void *h, const uint32_t *idx, uint64_t n);
    uint64_t (*count)(void *h);
    void (*footprint)(void *h, footprint_t *out);
    /* Mixed phase: before forking, in each child, after the children. */
    void (*mixed_before)(void *h);
    void (*mixed_child)(void *h, bool writer, uint64_t rng, const mixed_flags_t *f, child_stats_t *out);
    void (*mixed_after)(void *h);
    void (*close)(void *h);
} system_t;

extern const system_t fickle_system;
extern const system_t lmdb_system;

/* Runs the timed loop of a mixed-phase child: reports ready, waits for go, calls
 * op(h, rng) until stop, fills out->ops and out->secs. */
void mixed_loop(void *h, uint64_t rng, const mixed_flags_t *f, child_stats_t *out,
                void (*op)(void *h, uint64_t *rng));

#endif /* FICKLE_BENCH_H */
