/*
 * range.c — ordered range queries over the skiplist, lock-free.
 *
 * Both directions run one scan engine that finds a range's items through
 * the skiplist's own hierarchy instead of walking level 0 one item at a
 * time. Walking level 0 costs one dependent cache miss per row (items lie
 * in the slab in insertion order, not key order); the engine keeps up to
 * SCAN_WIDTH independent misses in flight instead.
 *
 * The engine keeps a private, doubly linked list of "nodes": items whose
 * place in key order is known, in key order. A node may own the stretch of
 * the skiplist between itself and the next node (its "gap"), tagged with
 * the list (level) l that links them: both ends are on list l and every
 * item strictly between them is reachable along lists l, l-1, ..., 0.
 * Processing a node loads its item once and reads its links fwd[l], ...,
 * fwd[0]: each link that does not point at the gap's end is a new node
 * inside the gap, owning the part of it up to the node found one list
 * higher. After that the node's gap is closed (nothing unknown between it
 * and the next node). Every item is loaded once; the new nodes are
 * prefetched the moment their refs are read.
 *
 * Each round processes up to SCAN_WIDTH nodes whose gaps come first in
 * the scan's direction and are still needed (an estimate of the items
 * before them is below the rows still wanted), then emits every row whose
 * place is settled. It starts from:
 *  - forward: the first item at or after the low bound, from a hash probe
 *    when the bound is an existing key (O(1)), else from the search's
 *    successors at each level; the last node's gap runs to the end of the
 *    list, and climbs to higher lists (up to a level picked from the limit)
 *    as taller items come along, so the scan reaches ahead quickly;
 *  - reverse: the search's predecessors of the high bound at every level
 *    (the last item on each list below the bound): gaps between them, from
 *    the right, cover any number of rows, so no item is walked twice.
 * Cost: O(log n + k) expected either way, each row's item loaded once (and
 * looked at again, in cache, when its row is copied). A 100-row scan takes
 * about 27 rounds of about 4 loads: the chains of same-level items, walked
 * one link at a time, set the depth. The far bound is compared only with
 * nodes not already known to be inside it (a node inherits that from the
 * gap's end going forward, from its left end in reverse).
 *
 * Everything read from the region is a relaxed load checked against the
 * region's bounds before use; a pass is bounded in steps and nodes and
 * rechecks the sequence as it goes; read_run() validates the whole pass
 * (or runs it under the mutex).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store/hash.h"
#include "store/read.h"
#include "store/skiplist.h"

typedef struct {
    struct store *st;
    const store_range_t *q;
    uint64_t now;    /* the clock, read when the first item with an expiry comes */
    store_rows_t *out;
    uint64_t *count; /* counting only */
} range_ctx_t;

/* True if v has expired. Most items carry no expiry: the clock is read at
 * most once per query, and only when one does. */
static inline bool row_expired(range_ctx_t *c, const iview_t *v)
{
    return item_expired_lazy(c->st, v, &c->now);
}

/* Row header in the result buffer, followed by key and value. */
typedef struct {
    uint32_t klen, vlen;
    uint64_t version, expiry;
} row_hdr_t;

/* Appends one row. Returns 1 if it fit, 0 if max_bytes stops the scan,
 * or a store error. */
static int emit(range_ctx_t *c, const iview_t *v)
{
    store_rows_t *out = c->out;
    size_t vlen = c->q->keys_only ? 0 : v->vlen;
    size_t need = sizeof(row_hdr_t) + v->klen + vlen;
    if (c->q->max_bytes && out->count > 0 && out->buf.len + need > c->q->max_bytes) {
        out->truncated = true;
        return 0;
    }
    if (out->buf.cap - out->buf.len < need && !store_buf_reserve(&out->buf, need))
        return store_fail(STORE_NOMEM, "out of process memory for range rows");
    row_hdr_t rh = {v->klen, (uint32_t)vlen, v->version, v->expiry};
    char *p = out->buf.data + out->buf.len;
    memcpy(p, &rh, sizeof(rh));
    memcpy(p + sizeof(rh), v->key, v->klen + vlen); /* the value follows the key in the item */
    out->buf.len += need;
    out->count++;
    return 1;
}

/* ---- the scan engine ---------------------------------------------------- */

#define SCAN_NIL UINT32_MAX
#define SCAN_CLOSED (-1)
#define SCAN_WIDTH 16      /* nodes processed per round: cache misses in flight */
#define SCAN_STALE_EVERY 8 /* rounds between sequence checks */

enum {
    SN_HEAD = 1u << 0,   /* the list head: no item, never a row */
    SN_SKIP = 1u << 1,   /* the item of an exclusive low bound: not a row */
    SN_INSIDE = 1u << 2, /* known not to pass the far bound */
    SN_BEYOND = 1u << 3, /* known to pass the far bound */
};

/* A node is "open" while its gap is not processed. Open nodes are also on
 * a second list of their own, in key order, each with the number of closed
 * nodes not yet emitted between it and the next open node: a round picks
 * its nodes and estimates the rows before each without walking the
 * processed nodes that wait to be emitted. */
struct scan_node {
    ref_t ref;             /* 0 for the head */
    uint32_t next, prev;   /* neighbours in key order, SCAN_NIL at the ends */
    uint32_t onext, oprev; /* open neighbours, while open */
    uint32_t run;          /* while open: closed nodes up to the next open one */
    int8_t gap;            /* list linking this node to the next, or SCAN_CLOSED */
    uint8_t flags;         /* SN_* */
};

typedef struct {
    struct store *st;
    range_ctx_t *c;
    bool locked, reverse;
    const store_bound_t *far; /* hi going forward, lo in reverse */
    struct scan_node *n;      /* st->scan_nodes */
    uint32_t used, free_list; /* nodes handed out so far; recycled ones */
    uint32_t first, last;     /* ends of the list (as built) */
    uint32_t ofirst, olast;   /* ends of the open list */
    uint32_t lrun;            /* closed nodes not yet emitted before ofirst (all, if none is open) */
    uint32_t mark;            /* the last node emitted, SCAN_NIL before the first */
    uint64_t need;            /* rows still wanted; UINT64_MAX without a limit */
    unsigned top;             /* levels in use, validated */
    int climb;                /* highest list an open gap climbs to (forward) */
    uint64_t found, rounds;   /* nodes created, rounds run */
    uint64_t loads;           /* items loaded (statistics) */
} scan_t;

/* Expected items strictly inside a gap of list g: between neighbours on
 * list g + 1 the number of lower items is geometric with mean 4^(g+1) - 1
 * for p = 1/4. Only steers how far ahead a scan works. */
static uint64_t gap_cover(int g)
{
    return g >= 20 ? UINT64_MAX / 4 : (1ull << (2 * (g + 1))) - 1;
}

/* True if v lies past the far bound (above hi forward, below lo reverse). */
static bool past_far(const scan_t *s, const iview_t *v)
{
    int c = key_cmp(v->key, v->klen, s->far->key, s->far->len);
    if (s->reverse)
        c = -c;
    return c > 0 || (c == 0 && s->far->kind == STORE_BOUND_EXCL);
}

static inline void classify(const scan_t *s, struct scan_node *p, const iview_t *v)
{
    if (!(p->flags & (SN_INSIDE | SN_BEYOND)))
        p->flags |= past_far(s, v) ? SN_BEYOND : SN_INSIDE;
}

static bool nodes_grow(scan_t *s)
{
    struct store *st = s->st;
    if (st->scan_cap >= SCAN_NIL / 2)
        return false;
    uint32_t cap = st->scan_cap ? st->scan_cap * 2 : 256;
    struct scan_node *n = realloc(st->scan_nodes, (size_t)cap * sizeof(*n));
    if (n == NULL)
        return false;
    st->scan_nodes = s->n = n;
    st->scan_cap = cap;
    return true;
}

/* A new unlinked node, or SCAN_NIL if out of memory. May move s->n. */
static uint32_t node_new(scan_t *s, ref_t ref, int gap, uint8_t flags)
{
    uint32_t i;
    if (s->free_list != SCAN_NIL) {
        i = s->free_list;
        s->free_list = s->n[i].next;
    } else {
        if (s->used == s->st->scan_cap && !nodes_grow(s))
            return SCAN_NIL;
        i = s->used++;
    }
    s->n[i] = (struct scan_node){ref, SCAN_NIL, SCAN_NIL, SCAN_NIL, SCAN_NIL, 0, (int8_t)gap, flags};
    return i;
}

static void node_free(scan_t *s, uint32_t i)
{
    s->n[i].next = s->free_list;
    s->free_list = i;
}

/* Links node i after node at on the key-order list (at == SCAN_NIL: at
 * its end). */
static void node_link_after(scan_t *s, uint32_t at, uint32_t i)
{
    if (at == SCAN_NIL)
        at = s->last;
    uint32_t nx = at == SCAN_NIL ? SCAN_NIL : s->n[at].next;
    s->n[i].prev = at;
    s->n[i].next = nx;
    if (nx != SCAN_NIL)
        s->n[nx].prev = i;
    else
        s->last = i;
    if (at != SCAN_NIL)
        s->n[at].next = i;
    else
        s->first = i;
}

/* Links open node i after open node at on the open list. */
static void open_link_after(scan_t *s, uint32_t at, uint32_t i)
{
    uint32_t nx = at == SCAN_NIL ? s->ofirst : s->n[at].onext;
    s->n[i].oprev = at;
    s->n[i].onext = nx;
    if (nx != SCAN_NIL)
        s->n[nx].oprev = i;
    else
        s->olast = i;
    if (at != SCAN_NIL)
        s->n[at].onext = i;
    else
        s->ofirst = i;
}

static void open_unlink(scan_t *s, uint32_t i)
{
    uint32_t pv = s->n[i].oprev, nx = s->n[i].onext;
    if (pv != SCAN_NIL)
        s->n[pv].onext = nx;
    else
        s->ofirst = nx;
    if (nx != SCAN_NIL)
        s->n[nx].oprev = pv;
    else
        s->olast = pv;
}

/* Adds k to the closed nodes counted just before open node i's place:
 * those of the open node before it, or those before the first. */
static void runs_add_before(scan_t *s, uint32_t i, uint32_t k)
{
    uint32_t pv = s->n[i].oprev;
    if (pv != SCAN_NIL)
        s->n[pv].run += k;
    else
        s->lrun += k;
}

/* Builds the open list from the key-order list (once, at the start). */
static void open_build(scan_t *s)
{
    uint32_t at = SCAN_NIL;
    for (uint32_t i = s->first; i != SCAN_NIL; i = s->n[i].next) {
        if (s->n[i].gap == SCAN_CLOSED) {
            if (at != SCAN_NIL)
                s->n[at].run++;
            else
                s->lrun++;
        } else {
            open_link_after(s, at, i);
            at = i;
        }
    }
}

/* Appends a node while the initial list is built. */
static int node_append(scan_t *s, ref_t ref, int gap, uint8_t flags)
{
    uint32_t i = node_new(s, ref, gap, flags);
    if (i == SCAN_NIL)
        return store_fail(STORE_NOMEM, "out of process memory for a range scan");
    node_link_after(s, SCAN_NIL, i);
    return 0;
}

/* always_inline: GCC 12 treats a small static function whose only effect
 * is __builtin_prefetch as pure and deletes the calls to it (the scans ran
 * at half speed without a single prefetch instruction). Inlined early, the
 * prefetches stay. */
static inline __attribute__((always_inline)) void prefetch_item(const struct store *st, ref_t ref)
{
    const char *p = ref_ptr(st, ref);
    __builtin_prefetch(p);
    /* Key and value of a small item usually reach into the next line. */
    if (ref_ok(st, ref, 128))
        __builtin_prefetch(p + 64);
}

/* Closes open node i, whose children (if any) follow it on both lists:
 * it now counts among the closed nodes before the first of them. Nodes
 * past a node beyond the far bound are of no use: the open list is cut
 * there (after it going forward, before its children in reverse). */
static void close_node(scan_t *s, uint32_t i, uint32_t children)
{
    struct scan_node *p = &s->n[i];
    uint32_t self = i != s->mark; /* the mark was emitted already */
    if (children > 0) {
        uint32_t last_child = p->onext;
        for (uint32_t k = 1; k < children; k++)
            last_child = s->n[last_child].onext;
        s->n[last_child].run = p->run;
        runs_add_before(s, i, self);
    } else {
        runs_add_before(s, i, self + p->run);
    }
    bool beyond = p->flags & SN_BEYOND;
    uint32_t pv = p->oprev, nx = p->onext;
    open_unlink(s, i);
    p->gap = SCAN_CLOSED;
    if (beyond && !s->reverse) { /* nothing after it is in range */
        if (pv != SCAN_NIL)
            s->n[pv].onext = SCAN_NIL;
        else
            s->ofirst = SCAN_NIL;
        s->olast = pv;
    } else if (beyond) { /* nothing before it is in range */
        if (nx != SCAN_NIL)
            s->n[nx].oprev = SCAN_NIL;
        else
            s->olast = SCAN_NIL;
        s->ofirst = nx;
        s->lrun = 0;
    }
}

/* Processes open node i: loads its item and splits its gap into new
 * nodes, then closes it. */
static int process(scan_t *s, uint32_t i)
{
    struct store *st = s->st;
    struct scan_node *p = &s->n[i];
    const uint32_t *fwd;
    unsigned level;
    if (p->flags & SN_HEAD) {
        fwd = sl_head(st);
        level = s->top;
    } else {
        iview_t v;
        s->loads++;
        if (!item_load(st, p->ref, &v))
            return READ_TORN;
        classify(s, p, &v);
        if (!s->reverse && (p->flags & SN_BEYOND)) {
            close_node(s, i, 0); /* nothing after it is in range */
            return 0;
        }
        fwd = v.fwd;
        level = v.level;
    }
    int g = p->gap;
    /* The last gap of a forward scan runs to the end of the list: it may
     * follow any list the node is on, so it climbs to reach ahead faster. */
    if (p->next == SCAN_NIL && g < s->climb && (int)level - 1 > g)
        g = (int)level - 1 < s->climb ? (int)level - 1 : s->climb;
    if (g >= (int)level)
        return READ_TORN; /* the node is not on the list its gap follows */
    ref_t end = p->next == SCAN_NIL ? 0 : s->n[p->next].ref;
    /* What is known of the new nodes' far side: forward, they lie before
     * the gap's end; in reverse, after this node. */
    uint8_t inherit;
    if (s->far->kind == STORE_BOUND_NONE)
        inherit = SN_INSIDE;
    else if (s->reverse)
        inherit = p->flags & SN_INSIDE;
    else
        inherit = p->next != SCAN_NIL ? s->n[p->next].flags & SN_INSIDE : 0;
    uint32_t children = 0;
    for (int l = g; l >= 0; l--) {
        ref_t r = LD32(&fwd[l]);
        if (r == end)
            continue; /* no item of list l inside what is left of the gap */
        if (!ref_ok(st, r, sizeof(item_t)) || ++s->found > st->max_steps)
            return READ_TORN; /* includes the end of the list before the gap's end */
        prefetch_item(st, r);
        uint32_t k = node_new(s, r, l, inherit);
        if (k == SCAN_NIL)
            return store_fail(STORE_NOMEM, "out of process memory for a range scan");
        node_link_after(s, i, k);
        open_link_after(s, i, k);
        children++;
        end = r;
    }
    close_node(s, i, children);
    return 0;
}

/* Emits every row whose place is settled. Returns 1 when the scan is
 * over, 0 when it waits for gaps to be processed, or an error. */
static int scan_emit(scan_t *s)
{
    for (;;) {
        uint32_t q;
        if (!s->reverse) {
            if (s->mark == SCAN_NIL)
                q = s->first;
            else if (s->n[s->mark].gap != SCAN_CLOSED)
                return 0;
            else
                q = s->n[s->mark].next;
        } else {
            q = s->mark == SCAN_NIL ? s->last : s->n[s->mark].prev;
            if (q != SCAN_NIL && s->n[q].gap != SCAN_CLOSED)
                return 0;
        }
        if (q == SCAN_NIL)
            return 1;
        struct scan_node *p = &s->n[q];
        if (p->flags & SN_HEAD) {
            if (s->reverse)
                return 1;
        } else {
            iview_t v;
            if (!item_load(s->st, p->ref, &v))
                return READ_TORN;
            classify(s, p, &v);
            if (p->flags & SN_BEYOND)
                return 1;
            if (!(p->flags & SN_SKIP) && !row_expired(s->c, &v)) {
                if (s->c->count) {
                    (*s->c->count)++;
                } else {
                    int rc = emit(s->c, &v);
                    if (rc != 1)
                        return rc < 0 ? rc : 1;
                }
                if (s->need != UINT64_MAX && --s->need == 0)
                    return 1;
            }
        }
        /* A closed node leaves the count of those waiting: going forward
         * they come before the first open node; in reverse, after the
         * last. An open one (forward) stays open as the mark. */
        if (p->gap == SCAN_CLOSED) {
            if (!s->reverse || s->olast == SCAN_NIL)
                s->lrun -= s->lrun > 0;
            else
                s->n[s->olast].run -= s->n[s->olast].run > 0;
        }
        if (s->mark != SCAN_NIL)
            node_free(s, s->mark);
        s->mark = q;
        if (s->reverse)
            s->n[q].next = SCAN_NIL;
        else
            s->n[q].prev = SCAN_NIL;
    }
}

/* Picks the open nodes to process next: those whose gaps come first in
 * the scan's direction, while the rows estimated before a gap are fewer
 * than the rows wanted. The first gap in the scan's direction is always
 * picked: the emission waits for it. */
static unsigned scan_select(const scan_t *s, uint32_t batch[SCAN_WIDTH])
{
    unsigned nb = 0;
    const struct scan_node *n = s->n;
    if (!s->reverse) {
        uint64_t before = s->lrun;
        for (uint32_t i = s->ofirst; i != SCAN_NIL && nb < SCAN_WIDTH; i = n[i].onext) {
            if (i != s->mark && !(n[i].flags & (SN_HEAD | SN_SKIP)))
                before++;
            if (before >= s->need && nb > 0)
                break;
            batch[nb++] = i;
            before += gap_cover(n[i].gap) + n[i].run;
        }
    } else {
        uint64_t before = s->olast != SCAN_NIL ? n[s->olast].run : 0;
        for (uint32_t i = s->olast; i != SCAN_NIL && nb < SCAN_WIDTH; i = n[i].oprev) {
            if (before >= s->need && nb > 0)
                break;
            batch[nb++] = i;
            if (n[i].flags & (SN_HEAD | SN_BEYOND))
                break;
            before += gap_cover(n[i].gap) + 1;
            if (n[i].oprev != SCAN_NIL)
                before += n[n[i].oprev].run;
        }
    }
    return nb;
}

static int scan_run(scan_t *s)
{
    uint32_t batch[SCAN_WIDTH];
    open_build(s);
    for (;;) {
        int rc = scan_emit(s);
        if (rc != 0)
            return rc > 0 ? 0 : rc;
        unsigned nb = scan_select(s, batch);
        if (nb == 0)
            return READ_TORN; /* waiting with nothing open: impossible in a consistent list */
        for (unsigned b = 0; b < nb; b++)
            if ((rc = process(s, batch[b])) != 0)
                return rc;
        if (++s->rounds > s->st->max_steps)
            return READ_TORN;
        if (s->rounds % SCAN_STALE_EVERY == 0 && read_pass_stale(s->st, s->locked))
            return READ_TORN;
    }
}

/* Looks the low bound's key up in the hash table: an existing key is the
 * scan's first item without a search. Returns 1 with *v, 0, or READ_TORN. */
static int probe(scan_t *s, const store_bound_t *b, iview_t *v)
{
    struct store *st = s->st;
    uint32_t h = hash_key(b->key, b->len);
    uint32_t *slot = hash_bucket(st, h);
    if (slot == NULL)
        return READ_TORN;
    uint64_t steps = 0;
    for (ref_t ref = LD32(slot); ref != 0; ref = v->hnext) {
        s->loads++;
        if (!item_load(st, ref, v) || ++steps > st->max_steps)
            return READ_TORN;
        if (v->hash == h && v->klen == b->len && (b->len == 0 || memcmp(v->key, b->key, b->len) == 0))
            return 1;
    }
    return 0;
}

/* The highest list a forward scan's open gap climbs to: gaps of list l
 * cover about 4^(l+1) items, so about the rows wanted spread over a few of
 * them. */
static int climb_for(uint64_t need, unsigned top)
{
    int l = 0;
    while ((unsigned)l + 1 < top && l < 20 && (1ull << (2 * (l + 2))) <= need)
        l++;
    return l;
}

static int forward_start(scan_t *s)
{
    struct store *st = s->st;
    const store_bound_t *lo = &s->c->q->lo;
    if (lo->kind == STORE_BOUND_NONE)
        return node_append(s, 0, s->climb, SN_HEAD | SN_INSIDE);
    iview_t v;
    int rc = probe(s, lo, &v);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        int g = (int)v.level - 1 < s->climb ? (int)v.level - 1 : s->climb;
        uint8_t flags = (lo->kind == STORE_BOUND_EXCL ? SN_SKIP : 0) |
                        (s->far->kind == STORE_BOUND_NONE ? SN_INSIDE : 0);
        if ((rc = node_append(s, v.ref, g, flags)) != 0)
            return rc;
        classify(s, &s->n[s->first], &v);
        return 0;
    }
    /* Not a key: the successors of the bound on each list, from the search,
     * are the first nodes; the gap between two of them follows the lower
     * list. */
    uint32_t *preds[STORE_MAX_LEVEL];
    sl_mode_t mode = lo->kind == STORE_BOUND_INCL ? SL_BEFORE_GE : SL_BEFORE_GT;
    if (sl_search(st, lo->key ? lo->key : "", lo->len, mode, preds, NULL, &s->loads) != 0)
        return READ_TORN;
    uint8_t flags = s->far->kind == STORE_BOUND_NONE ? SN_INSIDE : 0;
    ref_t prev = 0;
    int l = 0;
    for (; l <= s->climb; l++) {
        ref_t r = LD32(&preds[l][l]);
        if (r == 0)
            break;
        if (r == prev)
            continue;
        if (prev != 0)
            s->n[s->last].gap = (int8_t)(l - 1);
        if ((rc = node_append(s, r, SCAN_CLOSED, flags)) != 0)
            return rc;
        prefetch_item(st, r);
        prev = r;
    }
    if (prev != 0)
        s->n[s->last].gap = (int8_t)(l - 1);
    return 0;
}

static int reverse_start(scan_t *s)
{
    struct store *st = s->st;
    const store_bound_t *hi = &s->c->q->hi;
    uint32_t *preds[STORE_MAX_LEVEL];
    ref_t owners[STORE_MAX_LEVEL];
    sl_mode_t mode = hi->kind == STORE_BOUND_EXCL ? SL_BEFORE_GE : SL_BEFORE_GT;
    /* A NULL key means the end of the list to the search: an empty bound
     * key may come without a pointer. */
    const void *key = hi->kind == STORE_BOUND_NONE ? NULL : hi->key ? hi->key : "";
    if (sl_search(st, key, hi->len, mode, preds, owners, &s->loads) != 0)
        return READ_TORN;
    /* The head, then the last item before the bound on each list from the
     * top down: the gap between two of them follows the lower one's list. */
    uint8_t inside = s->far->kind == STORE_BOUND_NONE ? SN_INSIDE : 0;
    int rc = node_append(s, 0, SCAN_CLOSED, SN_HEAD | (inside ? SN_INSIDE : SN_BEYOND));
    if (rc != 0)
        return rc;
    ref_t prev = 0;
    for (int l = (int)s->top - 1; l >= 0; l--) {
        ref_t r = owners[l];
        if (r == prev)
            continue;
        if (!ref_ok(st, r, sizeof(item_t)))
            return READ_TORN;
        s->n[s->last].gap = (int8_t)l;
        if ((rc = node_append(s, r, SCAN_CLOSED, inside)) != 0)
            return rc;
        prefetch_item(st, r);
        prev = r;
    }
    return 0;
}

static int scan_pass(struct store *st, range_ctx_t *c, bool locked, bool reverse)
{
    const store_range_t *q = c->q;
    scan_t s = {
        .st = st,
        .c = c,
        .locked = locked,
        .reverse = reverse,
        .far = reverse ? &q->lo : &q->hi,
        .n = st->scan_nodes,
        .free_list = SCAN_NIL,
        .first = SCAN_NIL,
        .last = SCAN_NIL,
        .ofirst = SCAN_NIL,
        .olast = SCAN_NIL,
        .mark = SCAN_NIL,
        .need = q->limit ? q->limit : UINT64_MAX,
        .top = LD32(&st->hdr->sl_level),
    };
    if (s.top == 0 || s.top > STORE_MAX_LEVEL)
        return READ_TORN;
    s.climb = climb_for(s.need, s.top);
    int rc = reverse ? reverse_start(&s) : forward_start(&s);
    if (rc == 0 && s.first != SCAN_NIL)
        rc = scan_run(&s);
    st->rstats.scan_items += s.loads;
    return rc;
}

static int range_pass(struct store *st, void *arg, bool locked)
{
    range_ctx_t *c = arg;
    if (c->count) {
        *c->count = 0;
        return scan_pass(st, c, locked, false);
    }
    c->out->buf.len = 0;
    c->out->count = 0;
    c->out->truncated = false;
    c->out->keys_only = c->q->keys_only;
    return scan_pass(st, c, locked, c->q->reverse);
}

static store_err_t check_query(const store_range_t *q)
{
    if (q == NULL || (q->lo.kind != STORE_BOUND_NONE && q->lo.key == NULL && q->lo.len) ||
        (q->hi.kind != STORE_BOUND_NONE && q->hi.key == NULL && q->hi.len))
        return store_fail(STORE_INVALID, "range query with a missing bound key");
    return STORE_OK;
}

store_err_t store_range(store_t *st, const store_range_t *q, store_rows_t *out)
{
    store_err_t err = check_query(q);
    if (err != STORE_OK)
        return err;
    range_ctx_t c = {st, q, 0, out, NULL};
    return read_run(st, range_pass, &c);
}

store_err_t store_range_count(store_t *st, const store_range_t *q, uint64_t *count)
{
    store_err_t err = check_query(q);
    if (err != STORE_OK)
        return err;
    range_ctx_t c = {st, q, 0, NULL, count};
    return read_run(st, range_pass, &c);
}

store_err_t store_range_locked(store_t *st, const store_range_t *q, store_rows_t *out)
{
    return store_range(st, q, out); /* read_run sees in_write */
}

store_err_t store_range_count_locked(store_t *st, const store_range_t *q, uint64_t *count)
{
    return store_range_count(st, q, count);
}

void store_prefix_bounds(store_range_t *q, const void *prefix, size_t plen, char *succ)
{
    q->lo = (store_bound_t){plen ? STORE_BOUND_INCL : STORE_BOUND_NONE, prefix, plen};
    q->hi = (store_bound_t){STORE_BOUND_NONE, NULL, 0};
    /* The first key after every key with this prefix: drop trailing 0xFF
     * bytes, then increment the last one. */
    size_t n = plen;
    while (n > 0 && ((const unsigned char *)prefix)[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return;
    memcpy(succ, prefix, n);
    succ[n - 1] = (char)(((unsigned char)succ[n - 1]) + 1);
    q->hi = (store_bound_t){STORE_BOUND_EXCL, succ, n};
}

bool store_rows_next(const store_rows_t *rows, size_t *pos, store_row_t *row)
{
    if (*pos + sizeof(row_hdr_t) > rows->buf.len)
        return false;
    row_hdr_t rh;
    memcpy(&rh, rows->buf.data + *pos, sizeof(rh));
    const char *p = rows->buf.data + *pos + sizeof(rh);
    row->key = p;
    row->klen = rh.klen;
    row->val = rows->keys_only ? NULL : p + rh.klen;
    row->vlen = rh.vlen;
    row->version = rh.version;
    row->expiry_ms = rh.expiry;
    *pos += sizeof(rh) + rh.klen + rh.vlen;
    return true;
}

void store_rows_free(store_rows_t *rows)
{
    store_buf_free(&rows->buf);
    rows->count = 0;
    rows->truncated = false;
}
