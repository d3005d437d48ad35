/*
 * client/request.c — libfickle's request side: encodes request frames
 * (docs/protocol.md) into the connection's send buffer and keeps the ring
 * of replies owed, which is what pipelining is. The fickle_queue_* calls
 * are the public face; the synchronous calls in ops.c use them too.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

#define SET_FLAGS (FICKLE_SET_NX | FICKLE_SET_XX | FICKLE_SET_KEEPTTL | FICKLE_SET_EXPIRE_AT)
#define CAS_FLAGS (FICKLE_SET_KEEPTTL | FICKLE_SET_EXPIRE_AT)
#define COUNT_FLAGS \
    (FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL | FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE)
#define RANGE_FLAGS (COUNT_FLAGS | FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY)

/* ---- buffers ----------------------------------------------------------------------- */

/* Room for one more pending entry. */
static bool pend_room(fickle_t *c)
{
    if (c->pcount < c->pcap)
        return true;
    size_t ncap = c->pcap ? c->pcap * 2 : 16;
    fickle_pend_t *np = malloc(ncap * sizeof(*np));
    if (!np)
        return false;
    for (size_t i = 0; i < c->pcount; i++)
        np[i] = c->pend[(c->phead + i) % c->pcap];
    free(c->pend);
    c->pend = np;
    c->pcap = ncap;
    c->phead = 0;
    return true;
}

/* Room for `more` bytes at wbuf's end. */
static bool wbuf_room(fickle_t *c, size_t more)
{
    if (c->wcap - c->wlen >= more)
        return true;
    size_t ncap = c->wcap ? c->wcap * 2 : 4096;
    if (ncap < c->wlen + more)
        ncap = c->wlen + more;
    uint8_t *nb = realloc(c->wbuf, ncap);
    if (!nb)
        return false;
    c->wbuf = nb;
    c->wcap = ncap;
    return true;
}

uint8_t *fickle__frame(fickle_t *c, uint8_t opcode, uint8_t flags, size_t elen, size_t klen, size_t vlen,
                       uint32_t keys, uint64_t *opaque, int *rc)
{
    if (klen > UINT16_MAX || elen > UINT16_MAX || vlen > UINT32_MAX ||
        vlen > SIZE_MAX - FICKLE_HEADER_SIZE - elen - klen) {
        *rc = fickle__fail(c, FICKLE_ERR_ARG, "request too long (key %zu, value %zu bytes; limits 65535, %u)",
                           klen, vlen, (unsigned)UINT32_MAX);
        return NULL;
    }
    if (c->wclosed) {
        *rc = fickle__fail(c, FICKLE_ERR_CLOSED, "server closed the connection: no more requests");
        return NULL;
    }
    size_t total = FICKLE_HEADER_SIZE + elen + klen + vlen;
    if (!pend_room(c) || !wbuf_room(c, total)) {
        *rc = fickle__fail(c, FICKLE_ERR_NOMEM, "out of memory queuing a %zu-byte request", total);
        return NULL;
    }
    fickle_header_t h = {
        .magic = FICKLE_MAGIC_REQUEST,
        .version = FICKLE_PROTOCOL_VERSION,
        .opcode = opcode,
        .flags = flags,
        .key_len = (uint16_t)klen,
        .extras_len = (uint16_t)elen,
        .value_len = (uint32_t)vlen,
        .opaque = c->next_opaque++,
    };
    uint8_t *p = c->wbuf + c->wlen;
    fickle_header_encode(p, &h);
    c->wlen += total;
    c->pend[(c->phead + c->pcount++) % c->pcap] = (fickle_pend_t){h.opaque, opcode, keys};
    if (opaque)
        *opaque = h.opaque;
    *rc = FICKLE_OK;
    return p + FICKLE_HEADER_SIZE;
}

size_t fickle_pending(const fickle_t *c)
{
    return c ? c->pcount : 0;
}

/* ---- the generic encoder ----------------------------------------------------------- */

static bool bad_span(const void *p, size_t len)
{
    return !p && len;
}

/* One frame from three byte spans (NULL allowed when its length is 0). */
static int queue(fickle_t *c, uint8_t opcode, uint8_t flags, const void *extras, size_t elen, const void *key,
                 size_t klen, const void *val, size_t vlen, uint64_t *opaque)
{
    int rc = fickle__enter(c);
    if (rc)
        return rc;
    if (bad_span(extras, elen) || bad_span(key, klen) || bad_span(val, vlen))
        return fickle__fail(c, FICKLE_ERR_ARG, "NULL pointer with a non-zero length");
    uint8_t *b = fickle__frame(c, opcode, flags, elen, klen, vlen, 0, opaque, &rc);
    if (!b)
        return rc;
    if (elen)
        memcpy(b, extras, elen);
    if (klen)
        memcpy(b + elen, key, klen);
    if (vlen)
        memcpy(b + elen + klen, val, vlen);
    return FICKLE_OK;
}

int fickle_queue_raw(fickle_t *c, uint8_t opcode, uint8_t flags, const void *extras, size_t elen, const void *key,
                     size_t klen, const void *val, size_t vlen, uint64_t *opaque)
{
    return queue(c, opcode, flags, extras, elen, key, klen, val, vlen, opaque);
}

/* ---- single-key requests ----------------------------------------------------------- */

int fickle_queue_auth(fickle_t *c, const char *user, const char *password, uint64_t *opaque)
{
    if (!password)
        return c ? fickle__fail(c, FICKLE_ERR_ARG, "AUTH: no password") : FICKLE_ERR_ARG;
    return queue(c, FICKLE_OP_AUTH, 0, NULL, 0, user, user ? strlen(user) : 0, password, strlen(password), opaque);
}

int fickle_queue_ping(fickle_t *c, const void *msg, size_t len, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_PING, 0, NULL, 0, NULL, 0, msg, len, opaque);
}

int fickle_queue_get(fickle_t *c, const void *key, size_t klen, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_GET, 0, NULL, 0, key, klen, NULL, 0, opaque);
}

int fickle_queue_exists(fickle_t *c, const void *key, size_t klen, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_EXISTS, 0, NULL, 0, key, klen, NULL, 0, opaque);
}

static int bad_flags(fickle_t *c, const char *op, unsigned flags, unsigned allowed)
{
    if (!c)
        return FICKLE_ERR_ARG;
    return fickle__fail(c, FICKLE_ERR_ARG, "%s: flags 0x%x not valid", op, flags & ~allowed);
}

int fickle_queue_set(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry_ms,
                     unsigned flags, uint64_t *opaque)
{
    if (flags & ~SET_FLAGS)
        return bad_flags(c, "SET", flags, SET_FLAGS);
    uint8_t ext[8];
    fickle_put_le64(ext, expiry_ms);
    return queue(c, FICKLE_OP_SET, (uint8_t)flags, ext, expiry_ms ? 8 : 0, key, klen, val, vlen, opaque);
}

int fickle_queue_cas(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expected,
                     uint64_t expiry_ms, unsigned flags, uint64_t *opaque)
{
    if (flags & ~CAS_FLAGS)
        return bad_flags(c, "CAS", flags, CAS_FLAGS);
    uint8_t ext[16];
    fickle_put_le64(ext, expected);
    fickle_put_le64(ext + 8, expiry_ms);
    return queue(c, FICKLE_OP_CAS, (uint8_t)flags, ext, expiry_ms ? 16 : 8, key, klen, val, vlen, opaque);
}

int fickle_queue_del(fickle_t *c, const void *key, size_t klen, uint64_t version, uint64_t *opaque)
{
    uint8_t ext[8];
    fickle_put_le64(ext, version);
    return queue(c, FICKLE_OP_DEL, 0, ext, version ? 8 : 0, key, klen, NULL, 0, opaque);
}

static int queue_counter(fickle_t *c, uint8_t opcode, const void *key, size_t klen, int64_t n, uint64_t *opaque)
{
    uint8_t ext[8];
    fickle_put_le64(ext, (uint64_t)n);
    return queue(c, opcode, 0, ext, n == 1 ? 0 : 8, key, klen, NULL, 0, opaque);
}

int fickle_queue_incr(fickle_t *c, const void *key, size_t klen, int64_t n, uint64_t *opaque)
{
    return queue_counter(c, FICKLE_OP_INCR, key, klen, n, opaque);
}

int fickle_queue_decr(fickle_t *c, const void *key, size_t klen, int64_t n, uint64_t *opaque)
{
    return queue_counter(c, FICKLE_OP_DECR, key, klen, n, opaque);
}

int fickle_queue_stats(fickle_t *c, const char *section, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_STATS, 0, NULL, 0, section, section ? strlen(section) : 0, NULL, 0, opaque);
}

int fickle_queue_quit(fickle_t *c, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_QUIT, 0, NULL, 0, NULL, 0, NULL, 0, opaque);
}

int fickle_queue_save(fickle_t *c, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_SAVE, 0, NULL, 0, NULL, 0, NULL, 0, opaque);
}

int fickle_queue_bgsave(fickle_t *c, uint64_t *opaque)
{
    return queue(c, FICKLE_OP_BGSAVE, 0, NULL, 0, NULL, 0, NULL, 0, opaque);
}

/* ---- multi-key requests ------------------------------------------------------------ */

static size_t len_of(const void *const *p, const size_t *lens, size_t i)
{
    return lens ? lens[i] : p[i] ? strlen(p[i]) : 0;
}

/* Sums MGET (vals NULL) or MSET entry sizes into *total; false if an entry
 * is invalid or the sum passes UINT32_MAX (the value field). */
static bool entries_size(size_t n, const void *const *keys, const size_t *klens, const void *const *vals,
                         const size_t *vlens, size_t *total)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl = len_of(keys, klens, i), vl = vals ? len_of(vals, vlens, i) : 0;
        if (kl > UINT16_MAX || vl > UINT32_MAX || bad_span(keys[i], kl) || (vals && bad_span(vals[i], vl)))
            return false;
        sum += (vals ? FICKLE_MSET_ENTRY_HEADER : FICKLE_MGET_ENTRY_HEADER) + kl + vl;
        if (sum > UINT32_MAX)
            return false;
    }
    *total = (size_t)sum;
    return true;
}

/* MGET (vals NULL) or MSET: extras = u32 count, value = the entries. */
static int queue_multi(fickle_t *c, uint8_t opcode, uint8_t flags, size_t n, const void *const *keys,
                       const size_t *klens, const void *const *vals, const size_t *vlens, uint64_t *opaque)
{
    int rc = fickle__enter(c);
    if (rc)
        return rc;
    size_t vlen;
    if (!n || n > UINT32_MAX || !keys || (opcode == FICKLE_OP_MSET && !vals) ||
        !entries_size(n, keys, klens, vals, vlens, &vlen))
        return fickle__fail(c, FICKLE_ERR_ARG, "%s: no keys, a NULL array, a key over 65535 bytes, or entries over "
                            "4 GiB", opcode == FICKLE_OP_MGET ? "MGET" : "MSET");
    uint32_t keys_owed = opcode == FICKLE_OP_MGET ? (uint32_t)n : 0;
    uint8_t *b = fickle__frame(c, opcode, flags, FICKLE_EXT_MULTI, 0, vlen, keys_owed, opaque, &rc);
    if (!b)
        return rc;
    fickle_put_le32(b, (uint32_t)n);
    b += FICKLE_EXT_MULTI;
    for (size_t i = 0; i < n; i++) {
        size_t kl = len_of(keys, klens, i), vl = vals ? len_of(vals, vlens, i) : 0;
        fickle_put_le16(b, (uint16_t)kl);
        if (vals)
            fickle_put_le32(b + 2, (uint32_t)vl);
        b += vals ? FICKLE_MSET_ENTRY_HEADER : FICKLE_MGET_ENTRY_HEADER;
        if (kl)
            memcpy(b, keys[i], kl);
        if (vl)
            memcpy(b + kl, vals[i], vl);
        b += kl + vl;
    }
    return FICKLE_OK;
}

int fickle_queue_mget(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, uint64_t *opaque)
{
    return queue_multi(c, FICKLE_OP_MGET, 0, n, keys, klens, NULL, NULL, opaque);
}

int fickle_queue_mset(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, const void *const *vals,
                      const size_t *vlens, unsigned flags, uint64_t *opaque)
{
    if (flags & ~FICKLE_MSET_NX)
        return bad_flags(c, "MSET", flags, FICKLE_MSET_NX);
    return queue_multi(c, FICKLE_OP_MSET, (uint8_t)flags, n, keys, klens, vals, vlens, opaque);
}

/* ---- ranges ------------------------------------------------------------------------ */

void fickle_range_init(fickle_range_t *q)
{
    memset(q, 0, sizeof(*q));
}

/* RANGE/COUNT: key = start, value = end; a NULL bound (or a _NONE flag)
 * sends no key and the _NONE flag. */
unsigned fickle__range_bounds(const fickle_range_t *q, unsigned allowed, const void **start, size_t *slen,
                              const void **end, size_t *elen)
{
    unsigned fl = q->flags & allowed;
    *start = q->start, *end = q->end;
    *slen = q->start_len, *elen = q->end_len;
    if (!*start || (fl & FICKLE_RANGE_START_NONE)) {
        *start = NULL, *slen = 0;
        fl = (fl | FICKLE_RANGE_START_NONE) & ~FICKLE_RANGE_START_INCL;
    }
    if (!*end || (fl & FICKLE_RANGE_END_NONE)) {
        *end = NULL, *elen = 0;
        fl = (fl | FICKLE_RANGE_END_NONE) & ~FICKLE_RANGE_END_INCL;
    }
    return fl;
}

static int queue_range(fickle_t *c, uint8_t opcode, const fickle_range_t *q, unsigned allowed, uint64_t *opaque)
{
    if (!q)
        return c ? fickle__fail(c, FICKLE_ERR_ARG, "no range given") : FICKLE_ERR_ARG;
    if (q->flags & ~RANGE_FLAGS)
        return bad_flags(c, opcode == FICKLE_OP_RANGE ? "RANGE" : "COUNT", q->flags, RANGE_FLAGS);
    const void *start, *end;
    size_t slen, elen;
    unsigned fl = fickle__range_bounds(q, allowed, &start, &slen, &end, &elen);
    uint8_t ext[4];
    fickle_put_le32(ext, q->limit);
    return queue(c, opcode, (uint8_t)fl, ext, q->limit ? 4 : 0, start, slen, end, elen, opaque);
}

int fickle_queue_range(fickle_t *c, const fickle_range_t *q, uint64_t *opaque)
{
    return queue_range(c, FICKLE_OP_RANGE, q, RANGE_FLAGS, opaque);
}

int fickle_queue_count(fickle_t *c, const fickle_range_t *q, uint64_t *opaque)
{
    return queue_range(c, FICKLE_OP_COUNT, q, COUNT_FLAGS, opaque);
}
