/*
 * store_testutil.h — helpers shared by the store's Check tests: temporary
 * regions under /dev/shm, a fake clock, a deterministic PRNG, values that
 * carry their own key, length and checksum, a sorted-array reference model
 * of the store, and a probe for robust process-shared mutexes.
 *
 * Helpers named tu_ck_* use ck_assert and belong in a test's own process;
 * the rest return errors and are safe in forked children.
 */
#ifndef FICKLE_TESTS_STORE_TESTUTIL_H
#define FICKLE_TESTS_STORE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

/* Like ck_assert_msg, but silent while it holds. Check reports every
 * passing assertion to its runner with a system call, which dominates a
 * loop that asserts millions of times (and triples its time under ASan). */
#define TU_ASSERT(cond, ...)                                                                                        \
    do {                                                                                                            \
        if (!(cond))                                                                                                \
            ck_abort_msg(__VA_ARGS__);                                                                              \
    } while (0)

/* ---- regions ---------------------------------------------------------------- */

typedef struct {
    char path[128];
    store_t *st;
} tu_region_t;

/* A unique path /dev/shm/fickle-test-<tag>-<pid>-<n> that does not exist yet. */
void tu_path(char *buf, size_t n, const char *tag);

/* Creates a region (asserts success); max_value 0 = default. */
store_t *tu_ck_create(tu_region_t *r, const char *tag, uint64_t size, uint64_t max_value);

/* store_check passes (asserts, with the report in the message). */
void tu_ck_check(store_t *st);

/* Checks, closes and removes the region (asserts the check). */
void tu_ck_destroy(tu_region_t *r);

/* ---- clock and randomness -------------------------------------------------- */

/* A fake clock for store_set_clock(): returns tu_fake_now. */
extern uint64_t tu_fake_now;
uint64_t tu_fake_clock(void);

typedef struct {
    uint64_t s;
} tu_rng_t;

uint64_t tu_rand(tu_rng_t *r);               /* splitmix64 */
uint64_t tu_below(tu_rng_t *r, uint64_t n);  /* 0..n-1 (n > 0) */

/* Seed from the environment variable `name` if set, else `dflt`. */
uint64_t tu_seed(const char *name, uint64_t dflt);

/* ---- self-validating values ------------------------------------------------ */

/* Layout: magic u32 | vlen u32 | tag u64 | klen u16 | key | payload | xxh64.
 * A value proves which key it belongs to, how long it is and that no byte
 * of it is torn. */
size_t tu_val_min(size_t klen);
/* Fills out[0..vlen) (vlen >= tu_val_min(klen)) for key with tag. */
void tu_val_make(char *out, size_t vlen, const void *key, size_t klen, uint64_t tag);
/* NULL if val is a whole value of key (its tag in *tag, may be NULL), else
 * a static text saying what is wrong. */
const char *tu_val_verify(const void *val, size_t vlen, const void *key, size_t klen, uint64_t *tag);

/* ---- reference model: a sorted array --------------------------------------- */

typedef struct {
    char *key;
    size_t klen;
    char *val;
    size_t vlen;
    uint64_t version;
    uint64_t expiry;
} tu_ent_t;

typedef struct {
    tu_ent_t *e;
    size_t n, cap;
} tu_model_t;

int tu_key_cmp(const void *a, size_t alen, const void *b, size_t blen);
/* Index of key (true) or of where it would go (false). */
bool tu_model_find(const tu_model_t *m, const void *key, size_t klen, size_t *idx);
/* The entry for key, live or expired, or NULL. found and idx (may be
 * NULL) get whether it exists and its index (or where it would go). */
tu_ent_t *tu_model_entry(tu_model_t *m, const void *key, size_t klen, bool *found, size_t *idx);
/* Inserts or replaces. */
void tu_model_put(tu_model_t *m, const void *key, size_t klen, const void *val, size_t vlen, uint64_t version,
                  uint64_t expiry);
void tu_model_del_at(tu_model_t *m, size_t idx);
bool tu_model_live(const tu_ent_t *e, uint64_t now);
void tu_model_copy(tu_model_t *dst, const tu_model_t *src);
void tu_model_free(tu_model_t *m);

/* LSN bookkeeping of a model test: the changes of one critical section
 * share the LSN of its first successful change; a lone change takes the
 * next. */
typedef struct {
    uint64_t lsn; /* expected store_last_lsn() */
    bool locked;  /* inside store_write_lock() */
    uint64_t sec; /* the section's LSN once a change in it succeeded */
} tu_lsn_t;
/* The version the next change gets. */
uint64_t tu_lsn_next(const tu_lsn_t *l);
/* A change took version v. */
void tu_lsn_took(tu_lsn_t *l, uint64_t v);
/* Records a successful store_put (opts o) of key in the model: its
 * version (o->version, else tu_lsn_next) and expiry (with KEEP_EXPIRY,
 * old's if live, else 0). old/live: the key's model entry before the put.
 * Returns false if meta (what the store returned) disagrees. */
bool tu_model_put_done(tu_model_t *m, tu_lsn_t *l, const tu_ent_t *old, bool live, const void *key, size_t klen,
                       const void *val, size_t vlen, const store_put_opts_t *o, const store_meta_t *meta);
/* What store_put() must return for opts o on key whose model entry is e
 * (NULL if none) and live says whether it is live: STORE_OK, STORE_EXISTS,
 * STORE_NOT_FOUND or STORE_CAS_MISMATCH (region space not considered). */
store_err_t tu_put_expect(const tu_ent_t *e, bool live, const store_put_opts_t *o);
/* Model answer to range query q at time now: the indexes of live entries in
 * q's bounds, in q's order, into out (room for m->n). Returns how many of
 * them q->limit lets through (out holds all of them). */
size_t tu_model_range(const tu_model_t *m, const store_range_t *q, uint64_t now, size_t *out);

/* Compares the whole store with the model at time `now`: item count,
 * every live entry by get (value, version, expiry), every expired entry
 * absent, and one full forward range. Returns true, or false with a
 * description in why. */
bool tu_model_matches(const tu_model_t *m, store_t *st, uint64_t now, char *why, size_t whylen);
/* The cheaper part of that: the item count and one full forward range. */
bool tu_model_scan_matches(const tu_model_t *m, store_t *st, uint64_t now, char *why, size_t whylen);

/* ---- processes --------------------------------------------------------------- */

/* fork() that asserts success (for the test's own process). */
pid_t tu_ck_fork(void);

/* waitpid() retried on EINTR; returns the status, asserts on failure. */
int tu_ck_wait(pid_t pid);

/* A MAP_SHARED anonymous block (zeroed) children and parent share. */
void *tu_ck_shared(size_t size);
void tu_ck_unshare(void *p, size_t size);

/* Text for a wait status: "exit 3", "signal 9 (Killed)". */
const char *tu_status_text(int status, char *buf, size_t n);

#endif /* FICKLE_TESTS_STORE_TESTUTIL_H */
