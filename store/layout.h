/*
 * layout.h — the on-region layout of a fickle store and the private handle.
 *
 * Everything inside the region is addressed by offsets, never pointers, so
 * a region can be mapped anywhere (warm restart). Item and chunk references
 * are ref_t: 32-bit counts of 8-byte units from the region base, which caps
 * a region at 32 GiB and keeps per-item overhead small.
 *
 * Region map (all page aligned):
 *   [header: region_hdr_t][undo journal][page bitmap][page descriptors][arena][change ring]
 * The arena is cut into 4 KiB pages: slab runs for small items, page runs
 * for large items and hash tables.
 *
 * Fields marked "writer" change only under the writer mutex, and only
 * through the undo journal (journal.h). Readers load them with relaxed
 * atomics (LD32/LD64) and trust nothing until the seqlock validates.
 */
#ifndef FICKLE_STORE_LAYOUT_H
#define FICKLE_STORE_LAYOUT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/record.h"
#include "store/store.h"

#define STORE_MAGIC 0x3147524c4b434946ull /* "FICKLRG1" little-endian */
#define STORE_LAYOUT_VERSION 3u
#define STORE_UNIT 8u            /* bytes per ref unit */
#define STORE_PAGE 4096u         /* arena page */
#define STORE_MAX_LEVEL 24       /* skiplist levels (p = 1/4: 2^48 items) */
#define STORE_JOURNAL_CAP 65536u /* undo entries per critical section */
#define STORE_SLAB_MAX (128u * 1024u) /* largest slab chunk */
#define STORE_INPLACE_MAX 256u   /* values up to this are overwritten in place */
#define STORE_INITIAL_BUCKETS_LOG2 10
#define STORE_FREE_MAGIC 0xF7EEC4A7u
#define STORE_DEL_STAMPS 1024u /* delete stamps, by key hash (WATCH, read.c) */

typedef uint32_t ref_t;

/* Page descriptor of the first page of a run; other pages hold 0. */
#define PAGE_DESC_FREE 0u
#define PAGE_DESC_LARGE 0xFFu /* one large item */
#define PAGE_DESC_HASH 0xFEu  /* a hash table */
/* 1..nclasses: slab run of class (desc - 1) */

typedef struct {
    uint32_t chunk_size;
    uint32_t run_pages;  /* pages per slab run */
    ref_t free_head;     /* writer: free list of carved chunks */
    ref_t carve_next;    /* writer: next never-used chunk of the newest run */
    ref_t carve_end;     /* writer: end of the newest run's whole chunks */
    uint32_t unused;
    uint64_t used;       /* writer: chunks holding items */
    uint64_t free_count; /* writer: free + not yet carved chunks */
    uint64_t runs;       /* writer */
} class_hdr_t;

typedef struct {
    ref_t table;   /* bucket array (page run), 0 if none */
    uint32_t log2; /* buckets = 1 << log2 */
} hash_tab_t;

typedef struct {
    uint64_t offset; /* byte offset of an 8-byte aligned word, or JOURNAL_REDO_CLEAR */
    uint64_t old;
} journal_entry_t;

#define JOURNAL_REDO_CLEAR UINT64_MAX

typedef enum { REGION_STATE_DIRTY = 0, REGION_STATE_CLEAN = 1 } region_state_t;

typedef struct region_hdr {
    /* Geometry: written once at creation, validated at attach. */
    uint64_t magic;
    uint32_t layout_version;
    uint32_t page_size;
    uint64_t region_size;
    uint64_t journal_off;
    uint64_t bitmap_off;
    uint64_t pagedesc_off;
    uint64_t arena_off;
    uint64_t arena_pages;
    uint64_t max_value_size;
    uint64_t created_ms;
    uint32_t nclasses;
    uint32_t state; /* region_state_t; maintained by the supervisor */
    uint64_t ring_off;  /* change ring (ring.h); size 0 = no ring */
    uint64_t ring_size;

    alignas(64) pthread_mutex_t mutex;
    alignas(64) _Atomic uint64_t seq; /* odd while a writer changes things */

    /* The change ring's shared positions (ring.h); each on its own line,
     * since writers and the persister store them from different cores. */
    alignas(64) _Atomic uint64_t ring_commit; /* writer: readable up to here */
    alignas(64) _Atomic uint64_t ring_tail;   /* persister: on disk up to here */
    _Atomic uint64_t durable_lsn;             /* persister: records on disk (fsynced per policy) */

    alignas(64) uint64_t next_lsn; /* writer: last LSN assigned */
    uint64_t ring_head;            /* writer: ring bytes written (ring.h) */
    uint64_t snapshot_lsn;
    uint64_t journal_len;  /* writer: entries in the undo journal */
    uint64_t owner_deaths; /* writer: repairs done */

    /* Allocator (writer). */
    uint64_t pages_free;
    uint64_t search_hint;     /* bitmap word below which no page is free */
    uint64_t bytes_requested; /* exact item sizes */
    uint64_t bytes_items;     /* chunk/page bytes holding items */
    uint64_t bytes_hash;      /* page bytes holding hash tables */

    /* Index (writer). tab[0] is the live table; while rehashing, tab[1] is
     * the old one, migrated bucket by bucket from rehash_idx upwards. */
    uint64_t items;
    hash_tab_t tab[2];
    uint32_t rehashing;
    uint32_t rehash_idx;
    uint32_t sl_level; /* levels in use, 1..STORE_MAX_LEVEL */
    uint32_t unused;
    uint64_t rng;
    ref_t sl_head[STORE_MAX_LEVEL];

    class_hdr_t classes[STORE_MAX_CLASSES];

    /* WATCH's memory of removals (writer): the LSN of the last delete of
     * any key whose hash falls in each slot, and of the last clear. A key
     * absent at WATCH and created then deleted again before EXEC leaves
     * no item to compare, only this stamp. */
    uint64_t clear_lsn;
    uint64_t del_lsn[STORE_DEL_STAMPS];

    /* Expiry (expire.c). */
    uint64_t expires;       /* writer: items carrying an expiry */
    uint64_t expiry_sum_s;  /* writer: sum of those expiries, in seconds (avg_ttl) */
    uint64_t expired_keys;  /* writer: items the active sweep removed */
    uint64_t expire_cursor; /* writer: next hash bucket the sweep visits */
    _Atomic uint64_t expire_due_ms; /* when the next sweep tick may be claimed (CAS) */
} region_hdr_t;

/* Item: header, [expiry], fwd[level], key, value. 8-byte aligned. */
typedef struct {
    ref_t hnext;      /* hash chain */
    uint32_t hash;    /* low 32 bits of the key's hash */
    uint16_t klen;
    uint8_t level;    /* 1..STORE_MAX_LEVEL; 0 marks a free chunk */
    uint8_t flags;    /* ITEM_F_* */
    uint32_t vlen;
    uint64_t version; /* LSN of last change */
} item_t;

/* The region's 64-bit words are read and written as single atomic
 * accesses (LD64/ST64, the journal's words): an unaligned one tears on
 * ARM (or faults, for exclusive accesses). Items start at STORE_UNIT
 * multiples and their sizes round up to 8, so these sizes must keep it so. */
_Static_assert(STORE_UNIT % 8 == 0 && sizeof(item_t) % 8 == 0, "item words must stay 8-byte aligned");
_Static_assert(sizeof(journal_entry_t) % 8 == 0 && sizeof(class_hdr_t) % 8 == 0, "region arrays of 64-bit words");

#define ITEM_F_EXPIRY 0x01u /* a uint64_t expiry follows the header */
#define ITEM_F_LARGE 0x02u  /* lives in its own page run */

/* Private, per-process handle. Geometry is copied out of the header at
 * create/attach time after validation, so readers never trust a torn
 * header for bounds. */
struct store {
    char *base;
    uint64_t size;
    int fd;
    char *path;
    region_hdr_t *hdr;
    journal_entry_t *journal;
    uint64_t *bitmap;
    uint8_t *pagedesc;
    uint64_t arena_off;
    uint64_t arena_pages;
    uint64_t max_value;
    uint64_t max_steps; /* bound for any optimistic walk */
    store_clock_fn clock;

    /* Change ring geometry (0 = none), copied from the validated header. */
    uint64_t ring_off, ring_size;
    unsigned ring_wait_ms; /* how long a write waits for ring space */
    bool ring_mute;        /* recovery replays without logging again */

    /* Writer state (valid between store_write_lock and unlock/abort). */
    bool in_write;
    uint64_t sec_lsn;       /* the section's one LSN, 0 until a change needs it */
    record_buf_t sec_ops;   /* its changes, as TXN operations (ring.h) */
    uint32_t sec_nops;
    bool sec_clear;         /* the section is a CLEAR */
    uint64_t journal_reserved; /* entries kept for the deferred frees */
    store_err_t sec_err;    /* first failure that makes the section unfinishable */
    struct pending_free {
        ref_t ref;
        bool is_item;  /* an item of `amount` bytes, else `amount` pages */
        uint64_t amount;
    } *pending;
    size_t npending, cap_pending;
    /* Append finger (skiplist.c): while valid, the last insert of this
     * section went to the end of the order and `preds` are the links a
     * greater key is spliced into, so ascending inserts (a snapshot load)
     * skip the search. Valid only inside one section. */
    struct sl_finger {
        bool valid;
        ref_t tail;
        uint32_t *preds[STORE_MAX_LEVEL];
    } finger;

    /* Reader state, scratch and counters. */
    uint64_t read_seq; /* sequence the current optimistic pass started at */
    struct scan_node *scan_nodes; /* range scans' private working list (range.c) */
    uint32_t scan_cap;
    store_reader_stats_t rstats;
};

/* Relaxed single loads/stores of shared words: no tearing, no re-fetch. */
#define LD32(p) __atomic_load_n((const uint32_t *)(p), __ATOMIC_RELAXED)
#define LD64(p) __atomic_load_n((const uint64_t *)(p), __ATOMIC_RELAXED)
#define LD16(p) __atomic_load_n((const uint16_t *)(p), __ATOMIC_RELAXED)
#define LD8(p) __atomic_load_n((const uint8_t *)(p), __ATOMIC_RELAXED)
#define ST32(p, v) __atomic_store_n((uint32_t *)(p), (uint32_t)(v), __ATOMIC_RELAXED)
#define ST64(p, v) __atomic_store_n((uint64_t *)(p), (uint64_t)(v), __ATOMIC_RELAXED)

static inline void *ref_ptr(const struct store *st, ref_t ref)
{
    return st->base + (uint64_t)ref * STORE_UNIT;
}

static inline ref_t off_ref(uint64_t off)
{
    return (ref_t)(off / STORE_UNIT);
}

/* True if [ref, ref + bytes) lies inside the arena: the check every
 * optimistically read reference passes before it is dereferenced. */
static inline bool ref_ok(const struct store *st, ref_t ref, uint64_t bytes)
{
    uint64_t off = (uint64_t)ref * STORE_UNIT;
    return ref != 0 && off >= st->arena_off && bytes <= st->size && off <= st->size - bytes;
}

static inline ref_t page_ref(const struct store *st, uint64_t page)
{
    return off_ref(st->arena_off + page * STORE_PAGE);
}

static inline uint64_t ref_page(const struct store *st, ref_t ref)
{
    return ((uint64_t)ref * STORE_UNIT - st->arena_off) / STORE_PAGE;
}

/* Internal return code of optimistic read passes: saw an impossible state. */
#define READ_TORN (-1)

/* Sets the detail text returned by store_error_detail(); returns err. */
store_err_t store_fail(store_err_t err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void store_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Initialises an empty index and allocator over the arena (create, clear). */
void store_reset_locked(struct store *st);

#endif /* FICKLE_STORE_LAYOUT_H */
