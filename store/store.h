/*
 * store.h — public API of fickle's shared-memory ordered store.
 *
 * The store is one fixed-size MAP_SHARED region (a file under /dev/shm)
 * holding an allocator, a hash table (point lookups) and a skiplist (order)
 * over the same items. Any number of processes read it without locks under
 * a seqlock; one process at a time writes it under a process-shared robust
 * mutex. A writer that dies inside its critical section is repaired by the
 * next locker from an undo journal kept in the region.
 *
 * Threading: a store_t handle belongs to one thread. Processes that fork
 * after store_create()/store_attach() may keep using the inherited handle.
 * Nothing here knows about sockets or protocols.
 */
#ifndef FICKLE_STORE_H
#define FICKLE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct store store_t;

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND,    /* key absent or expired */
    STORE_EXISTS,       /* put with STORE_PUT_NX on a live key */
    STORE_CAS_MISMATCH, /* put/delete with a version that does not match */
    STORE_NOMEM,        /* region full; nothing was changed */
    STORE_TOO_BIG,      /* key or value over its limit */
    STORE_INVALID,      /* bad argument (see store_error_detail()) */
    STORE_TXN_TOO_BIG,  /* critical section outgrew the undo journal; rolled back */
    STORE_CORRUPT,      /* region failed validation or an invariant */
    STORE_IO,           /* a system call failed (see store_error_detail()) */
    STORE_BUSY,         /* the change ring stayed full (persister behind or down); nothing changed */
} store_err_t;

/* Limits. Keys are 0..STORE_MAX_KEY bytes; values up to the region's
 * max_value_size, itself at most STORE_MAX_VALUE_LIMIT. */
#define STORE_MAX_KEY 65535u
#define STORE_DEFAULT_MAX_VALUE (16u << 20)
#define STORE_MAX_VALUE_LIMIT (1u << 30)
/* Region size bounds: refs are 32-bit counts of 8-byte units. */
#define STORE_MIN_REGION (4ull << 20)
#define STORE_MAX_REGION (32ull << 30)

/* Static text for a code. */
const char *store_strerror(store_err_t err);
/* Detail of the last error this thread got from the store (names the file,
 * the system call, the field): for logs and error replies. */
const char *store_error_detail(void);

/* Parses "4096", "64k", "256m", "2g" (case-insensitive, binary units) into
 * *out. Returns 0, or -1 on a malformed or overflowing value. */
int store_parse_size(const char *text, uint64_t *out);

/* ---- region lifetime ---------------------------------------------------- */

typedef struct {
    uint64_t size;           /* bytes; STORE_MIN_REGION..STORE_MAX_REGION */
    uint64_t max_value_size; /* 0 = STORE_DEFAULT_MAX_VALUE */
    /* Change ring bytes, carved from size (0 = no ring: nothing is logged,
     * for stores nobody persists). At most half the region, and at least
     * store_ring_min(max_value_size) so the largest change fits. */
    uint64_t ring_size;
} store_options_t;

/* The smallest ring that holds a change carrying the largest value. */
uint64_t store_ring_min(uint64_t max_value_size);

/* Creates a new region file at path (O_EXCL, mode 0600, sparse), maps it and
 * initialises it. Refuses if the file exists or if the file system holding it
 * has less free space than the size (a sparse file on a full tmpfs would
 * SIGBUS later). */
store_err_t store_create(const char *path, const store_options_t *opt, store_t **out);

/* Maps an existing region after validating magic, layout version, recorded
 * size against the file's size and the header's internal offsets. A region
 * from another version, a truncated file or a foreign file is refused with
 * STORE_CORRUPT and a detail naming what is wrong; it is never mapped blindly. */
store_err_t store_attach(const char *path, store_t **out);

/* Unmaps and frees the handle; the region file stays. A critical section
 * still open on it is rolled back first (and the mutex released). */
void store_close(store_t *st);

/* Removes a region file. Returns 0 or -1 with errno. */
int store_unlink(const char *path);

/* Clock used for expiry (ms since the Unix epoch). Default: CLOCK_REALTIME. */
typedef uint64_t (*store_clock_fn)(void);
void store_set_clock(store_t *st, store_clock_fn fn);
uint64_t store_now_ms(const store_t *st);

/* Log sink for rare events (writer-death repair, refused regions). Default:
 * stderr. level: 0 error, 1 warning, 2 info. */
typedef void (*store_log_fn)(int level, const char *msg);
void store_set_logger(store_log_fn fn);

/* ---- private result buffers --------------------------------------------- */

/* Growable process-private buffer. Zero-initialise; free with store_buf_free. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} store_buf_t;

void store_buf_free(store_buf_t *b);
/* Makes room for `more` bytes after b->len. Returns false if out of memory. */
bool store_buf_reserve(store_buf_t *b, size_t more);

/* Metadata of one item. */
typedef struct {
    uint64_t version;   /* LSN of the item's last change */
    uint64_t expiry_ms; /* absolute ms since epoch; 0 = never */
    uint32_t vlen;      /* value length */
} store_meta_t;

/* ---- reads: lock-free, copy-then-validate ------------------------------- */

/* Copies key's value into val (replacing its contents) and fills meta (may be
 * NULL). val may be NULL to fetch metadata only. STORE_NOT_FOUND if absent or
 * expired. Never takes the writer mutex unless optimistic reads keep failing. */
store_err_t store_get(store_t *st, const void *key, size_t klen, store_buf_t *val, store_meta_t *meta);

/* Point reads of n keys in ONE consistent view (MGET): one optimistic
 * pass that validated, or a pass under the mutex. The values are packed
 * in vals (replaced); rows[i] says where key i's value is, or that it is
 * absent or expired. STORE_OK, or STORE_NOMEM (process memory). */
typedef struct {
    const void *key;
    size_t klen;
} store_key_t;
typedef struct {
    size_t off;   /* in vals->data */
    uint32_t len;
    bool found;
    uint64_t version; /* when found */
} store_mget_row_t;
store_err_t store_mget(store_t *st, const store_key_t *keys, size_t n, store_buf_t *vals, store_mget_row_t *rows);

/* A hint for a batch of pipelined requests: the caller is about to run
 * requests on these keys (at most STORE_PREFETCH_MAX; more are ignored)
 * and wants the memory misses of their lookups to overlap instead of
 * being paid one after the other. In three waves: each key's hash bucket,
 * then the item the bucket points to, then, for the keys whose bucket is
 * empty (inserts, most likely), the ordered index's search paths, all
 * walked together. Takes no lock, reads racily with every ref bounds
 * checked, changes nothing, cannot fail. */
#define STORE_PREFETCH_MAX 16
void store_prefetch_keys(const store_t *st, const store_key_t *keys, unsigned n);

/* STORE_OK if key is live, STORE_NOT_FOUND otherwise. */
store_err_t store_exists(store_t *st, const void *key, size_t klen);

/* Number of items, including expired ones not yet removed. */
uint64_t store_count(store_t *st);

/* Bounds for range queries. */
typedef enum {
    STORE_BOUND_NONE = 0, /* unbounded: "-" or "+" */
    STORE_BOUND_INCL,     /* "[key" */
    STORE_BOUND_EXCL,     /* "(key" */
} store_bound_kind_t;

typedef struct {
    store_bound_kind_t kind;
    const void *key;
    size_t len;
} store_bound_t;

typedef struct {
    store_bound_t lo, hi; /* lo <= key <= hi, whatever the direction */
    size_t limit;         /* max rows; 0 = no limit */
    size_t max_bytes;     /* stop after this much output; 0 = no limit */
    bool reverse;         /* from hi down to lo */
    bool keys_only;       /* do not copy values */
} store_range_t;

/* Rows of a range result, packed in a private buffer. */
typedef struct {
    store_buf_t buf;
    size_t count;
    bool truncated; /* stopped by max_bytes with more rows left */
    bool keys_only; /* rows carry no values */
} store_rows_t;

typedef struct {
    const char *key;
    size_t klen;
    const char *val; /* NULL with keys_only */
    size_t vlen;
    uint64_t version;
    uint64_t expiry_ms;
} store_row_t;

/* Runs a range query; out is reset first. The rows are one consistent view:
 * either one optimistic pass that validated, or a pass under the mutex.
 * Expired items are skipped. Cost O(log n + k). */
store_err_t store_range(store_t *st, const store_range_t *q, store_rows_t *out);

/* Counts live keys between lo and hi (q->limit caps the count when non-zero). */
store_err_t store_range_count(store_t *st, const store_range_t *q, uint64_t *count);

/* Fills q's bounds so that it covers every key starting with prefix. The
 * pointers refer to prefix and to succ (a caller buffer of plen bytes). */
void store_prefix_bounds(store_range_t *q, const void *prefix, size_t plen, char *succ);

/* Iterates rows: *pos starts at 0. Returns false at the end. */
bool store_rows_next(const store_rows_t *rows, size_t *pos, store_row_t *row);
void store_rows_free(store_rows_t *rows);

/* ---- writes -------------------------------------------------------------- */

enum {
    STORE_PUT_NX = 1u << 0,          /* only if the key is absent */
    STORE_PUT_XX = 1u << 1,          /* only if the key is present */
    STORE_PUT_KEEP_EXPIRY = 1u << 2, /* keep the old item's expiry */
    STORE_PUT_CAS = 1u << 3,         /* only if the live item's version == cas_version */
};

typedef struct {
    uint32_t flags;
    uint64_t expiry_ms;   /* absolute; 0 = never (ignored with KEEP_EXPIRY) */
    uint64_t cas_version; /* with STORE_PUT_CAS */
    uint64_t version;     /* version to stamp (recovery replay); 0 = next LSN */
} store_put_opts_t;

/* Insert or replace. meta (may be NULL) receives the new item's metadata.
 * STORE_EXISTS / STORE_NOT_FOUND for NX / XX misses, STORE_CAS_MISMATCH,
 * STORE_TOO_BIG, STORE_NOMEM: the store is unchanged in each case. */
store_err_t store_put(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                      const store_put_opts_t *opt, store_meta_t *meta);

/* Removes key. STORE_NOT_FOUND if it was absent or expired (an expired item
 * is removed all the same). */
store_err_t store_delete(store_t *st, const void *key, size_t klen);

/* Sets or clears (expiry_ms = 0) the expiry of a live key. Giving a key
 * its first expiry or removing it rewrites the item: STORE_NOMEM (nothing
 * changed) if the region has no room for the copy. */
store_err_t store_expire(store_t *st, const void *key, size_t klen, uint64_t expiry_ms);

/* Removes every item. */
store_err_t store_clear(store_t *st);

/* ---- explicit critical sections (transactions, read-modify-write) ------- */

/* Takes the writer mutex and opens a critical section. Repairs the store
 * first if the previous owner died inside one (undo journal rollback).
 * Returns STORE_CORRUPT if the mutex is unrecoverable. */
store_err_t store_write_lock(store_t *st);

/* Commits every change made since store_write_lock() and releases the mutex. */
void store_write_unlock(store_t *st);

/* As store_write_lock, but never waits: STORE_BUSY (no detail) if another
 * writer holds the mutex, and no wait for ring room (a change that finds
 * the ring full fails with STORE_BUSY). For background work that must not
 * block its thread (the expiry sweep). */
store_err_t store_write_trylock(store_t *st);

/* Rolls back every change made since store_write_lock() and releases the
 * mutex: readers never see any of it. */
void store_write_abort(store_t *st);

/* True between store_write_lock() and unlock/abort on this handle. */
bool store_in_write(const store_t *st);

/* The first failure of a _locked write in the open section that leaves it
 * unable to do what its caller meant (STORE_NOMEM, STORE_BUSY,
 * STORE_TXN_TOO_BIG, STORE_CORRUPT, STORE_IO), else STORE_OK (also outside
 * a section). A caller running several commands in one section (EXEC)
 * aborts it then, so that none of them is applied. */
store_err_t store_write_error(const store_t *st);

/* The same operations for a caller that holds the mutex (store_write_lock).
 * A failed _locked call has undone its own partial changes; earlier calls in
 * the same critical section stand until unlock or abort. The reads see the
 * section's own changes and never take the optimistic path; they share
 * their implementation with the plain reads (which, called while this
 * handle holds the mutex, do the same). */
store_err_t store_get_locked(store_t *st, const void *key, size_t klen, store_buf_t *val, store_meta_t *meta);
store_err_t store_exists_locked(store_t *st, const void *key, size_t klen);
store_err_t store_range_locked(store_t *st, const store_range_t *q, store_rows_t *out);
store_err_t store_range_count_locked(store_t *st, const store_range_t *q, uint64_t *count);
store_err_t store_put_locked(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                             const store_put_opts_t *opt, store_meta_t *meta);
store_err_t store_delete_locked(store_t *st, const void *key, size_t klen);
store_err_t store_expire_locked(store_t *st, const void *key, size_t klen, uint64_t expiry_ms);

/* ---- optimistic watches (WATCH ... EXEC) ---------------------------------- */

/* What WATCH remembers of a key. */
typedef struct {
    uint64_t lsn;     /* the store's last LSN when it looked */
    uint64_t version; /* the item's version, if there was one */
    bool live;
} store_watch_t;

/* Looks at key (lock-free, one validated view) and fills w. */
store_err_t store_watch(store_t *st, const void *key, size_t klen, store_watch_t *w);

/* Caller holds the mutex. True if key may have changed since
 * store_watch() filled w: written, deleted, cleared, or expired while it
 * was live. Never false after a change; true without one (a false alarm)
 * only when key was absent at WATCH and another key whose hash shares its
 * delete slot (one of 1024) was deleted since, or the store was cleared,
 * or key was already expired at WATCH and has been removed since. */
bool store_watch_changed_locked(store_t *st, const void *key, size_t klen, const store_watch_t *w);

/* ---- expiry -------------------------------------------------------------- */
/* Readers treat expired items as missing (lazy expiry); the sweep removes
 * them (active expiry). See docs/store.md, "Expiry". */

typedef struct {
    uint64_t expires;      /* items carrying an expiry, expired ones not yet removed included */
    uint64_t avg_ttl_ms;   /* estimated mean time those have left; 0 if none */
    uint64_t expired_keys; /* items the sweep removed over the region's life */
} store_expiry_stats_t;

/* Lock-free: relaxed loads of counters the writers keep under the mutex. */
void store_expiry_stats(store_t *st, uint64_t now_ms, store_expiry_stats_t *out);

typedef struct {
    uint64_t visited;  /* items looked at */
    uint64_t expiring; /* of those, items carrying an expiry */
    uint64_t deleted;  /* expired items removed */
    bool wrapped;      /* the cursor completed a round of the hash table */
} store_sweep_t;

/* One batch of active expiry, in one critical section: walks hash buckets
 * from the cursor kept in the region and removes (through
 * store_delete_locked) the items expired at now_ms, until max_visits items
 * (or buckets) were looked at, max_deletes (at most 512) removed, or the round of the
 * table completed; stores the cursor so the next batch, from any process,
 * resumes there. The removals become one log record. Never waits: returns
 * STORE_BUSY without changing anything if another writer holds the mutex
 * or the change ring is over half full (the persister is behind), and
 * STORE_BUSY with *out counting what was removed if the ring filled up
 * during the batch. Does not take the mutex when no item carries an expiry. */
store_err_t store_expire_sweep(store_t *st, uint64_t now_ms, unsigned max_visits, unsigned max_deletes,
                               store_sweep_t *out);

/* Claims the next sweep tick among every process sharing the region: true
 * (and the next tick becomes due at next_ms) if the tick was due at now_ms
 * and no other process claimed it first. */
bool store_expire_claim(store_t *st, uint64_t now_ms, uint64_t next_ms);
/* The claimer sets when the next tick becomes due. */
void store_expire_schedule(store_t *st, uint64_t due_ms);

/* ---- LSNs ----------------------------------------------------------------- */

/* Largest value this region accepts. */
uint64_t store_max_value(const store_t *st);

/* Highest LSN assigned so far (0 for a new region). */
uint64_t store_last_lsn(store_t *st);

/* ---- change ring: what the persister reads ------------------------------- */
/* Every critical section that changes something becomes one log record
 * (store/record.h, docs/persistence.md) with the section's one LSN, in
 * the ring, in LSN order. Writes wait up to store_set_ring_wait() ms
 * (default 2000) for ring space and then fail with STORE_BUSY. */

bool store_has_ring(const store_t *st);
void store_set_ring_wait(store_t *st, unsigned ms);
/* Recovery: while muted, this handle's writes are not logged (they replay
 * the log itself). */
void store_ring_mute(store_t *st, bool mute);

/* The persister's read: committed record bytes from the ring tail, one
 * contiguous stretch (whole records; a stretch ends at the ring's end).
 * Returns the byte count (0 if none) with *pos the tail position and
 * *data the bytes; they stay valid until store_ring_release. One reader. */
size_t store_ring_peek(store_t *st, uint64_t *pos, const uint8_t **data);
/* Frees the ring up to pos (a position from store_ring_peek plus whole
 * records' aligned lengths): those records are on disk. */
void store_ring_release(store_t *st, uint64_t pos);
/* Records up to this LSN are durable (fsynced as the policy says). */
void store_set_durable_lsn(store_t *st, uint64_t lsn);
uint64_t store_durable_lsn(const store_t *st);

typedef struct {
    uint64_t size, used;  /* bytes */
    uint64_t commit, tail; /* positions */
    uint64_t durable_lsn, last_lsn;
} store_ring_stats_t;
void store_ring_stats(const store_t *st, store_ring_stats_t *out);

/* ---- statistics and integrity --------------------------------------------- */

#define STORE_MAX_CLASSES 112

typedef struct {
    uint32_t chunk_size; /* bytes per chunk */
    uint64_t used;       /* chunks holding items */
    uint64_t free;       /* chunks on the free list or not yet carved */
    uint64_t runs;       /* slab runs owned by the class */
} store_class_stats_t;

typedef struct {
    uint64_t region_size;
    uint64_t page_size;
    uint64_t pages_total;     /* pages in the arena */
    uint64_t pages_free;
    uint64_t bytes_requested; /* sum of exact item sizes (header + key + value) */
    uint64_t bytes_allocated; /* chunks and page runs handed out, hash tables included */
    uint64_t bytes_free;      /* free pages + free chunks */
    uint64_t bytes_hash;      /* hash table(s) */
    double fragmentation;     /* 1 - requested / item bytes allocated */
    uint64_t items;
    uint64_t hash_buckets;
    bool rehashing;
    uint64_t last_lsn;
    uint64_t owner_deaths_repaired; /* writer deaths repaired over the region's life */
    unsigned nclasses;
    store_class_stats_t classes[STORE_MAX_CLASSES];
} store_stats_t;

/* Takes the mutex briefly. */
store_err_t store_stats(store_t *st, store_stats_t *out);
/* The same figures without the mutex (never waits, never repairs a dead
 * writer's section): for observers that must not change the region, such
 * as the supervisor's metrics endpoint. Each field is a value a writer
 * stored; they agree with each other unless writers kept changing them. */
void store_stats_peek(const store_t *st, store_stats_t *out);

/* Process-private counters of this handle's readers. */
typedef struct {
    uint64_t reads;
    uint64_t retries;   /* optimistic passes that failed validation */
    uint64_t fallbacks; /* reads finished under the mutex */
    uint64_t scan_items; /* items range reads loaded, searches and retries included */
} store_reader_stats_t;
void store_reader_stats(const store_t *st, store_reader_stats_t *out);

/* Walks the whole region under the mutex and verifies allocator, hash and
 * order invariants. STORE_OK, or STORE_CORRUPT with the first violation in
 * report (and store_error_detail()). report may be NULL. */
store_err_t store_check(store_t *st, char *report, size_t report_len);

/* ---- test-only crash points ------------------------------------------------ */

/* Places inside the writer's critical section where a test build
 * (FICKLE_TEST_HOOKS) can SIGKILL its own process. */
typedef enum {
    STORE_CP_NONE = 0,
    STORE_CP_LOCKED,          /* mutex held, seqlock odd, nothing changed */
    STORE_CP_ALLOCATED,       /* new item's chunk taken from the allocator */
    STORE_CP_HASH_LINKED,     /* new item in the hash table, not yet ordered */
    STORE_CP_ORDER_PARTIAL,   /* new item linked on some skiplist levels only */
    STORE_CP_INPLACE_PARTIAL, /* in-place value overwrite half done */
    STORE_CP_UNLINKED,        /* deleted item out of the hash, still ordered */
    STORE_CP_REHASH,          /* in the middle of an incremental rehash step */
    STORE_CP_FREEING,         /* committing: deferred frees half applied */
    STORE_CP_COMMITTED,       /* journal cleared, seqlock still odd */
    STORE_CP_COUNT
} store_crash_point_t;

/* Arms a crash point: the next time this process reaches it (the `skip`+1-th
 * time), it raises SIGKILL. Returns false in builds without test hooks. */
bool store_test_crash_at(store_crash_point_t cp, unsigned skip);

/* Arms a failure: the `skip`+1-th deferred free this process asks for
 * (every removal and replacement makes one, after unlinking the old item)
 * fails with STORE_NOMEM, as if memory for the list ran out, so the
 * operation is rolled back half done. Once only. Returns false in builds
 * without test hooks. */
bool store_test_fail_free_at(unsigned skip);

#ifdef __cplusplus
}
#endif
#endif /* FICKLE_STORE_H */
