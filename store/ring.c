/*
 * ring.c — the change ring's writer side and the persister's reading API
 * (the contract is in ring.h and store.h).
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "store/journal.h"
#include "store/ring.h"
#include "store/sync.h"

static uint8_t *ring_at(const store_t *st, uint64_t pos)
{
    return (uint8_t *)st->base + st->ring_off + pos % st->ring_size;
}

/* Bytes the section's record will take with more_ops more operation bytes
 * (a TXN's count included: the larger of the two forms). */
static size_t section_bytes(const store_t *st, size_t more_ops)
{
    if (st->sec_clear)
        return RECORD_HEADER_SIZE;
    return RECORD_HEADER_SIZE + 4 + st->sec_ops.len + more_ops;
}

store_err_t ring_check_room(store_t *st, size_t op_bytes)
{
    if (st->ring_size == 0)
        return STORE_OK;
    uint64_t need = ring_need(section_bytes(st, op_bytes));
    if (need > st->ring_size / 2)
        return store_fail(STORE_TXN_TOO_BIG, "a change of %zu bytes cannot fit in the %llu-byte change ring",
                          section_bytes(st, op_bytes), (unsigned long long)st->ring_size);
    uint64_t tail = atomic_load_explicit(&st->hdr->ring_tail, memory_order_acquire);
    uint64_t used = st->hdr->ring_head - tail;
    if (used > st->ring_size || st->ring_size - used < need)
        return store_fail(STORE_BUSY, "the change ring is full (%llu of %llu bytes not yet on disk)",
                          (unsigned long long)used, (unsigned long long)st->ring_size);
    /* The only allocation a change needs: made now, so logging it after
     * the index changed cannot fail. */
    if (record_buf_reserve(&st->sec_ops, op_bytes) != 0)
        return store_fail(STORE_NOMEM, "out of process memory for the change record");
    return STORE_OK;
}

/* Waits (outside the mutex) until half the ring is free, for at most the
 * handle's ring_wait_ms: a write then finds room unless the persister is
 * down or far behind, and gets STORE_BUSY only after that bounded wait. */
void ring_wait_for_room(store_t *st)
{
    if (st->ring_size == 0)
        return;
    unsigned waited_us = 0, step_us = 100;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&st->hdr->ring_tail, memory_order_acquire);
        uint64_t commit = atomic_load_explicit(&st->hdr->ring_commit, memory_order_relaxed);
        if (commit - tail <= st->ring_size / 2 || waited_us >= st->ring_wait_ms * 1000u)
            return;
        struct timespec ts = {0, (long)step_us * 1000};
        nanosleep(&ts, NULL);
        waited_us += step_us;
        if (step_us < 5000)
            step_us *= 2;
    }
}

/* Appends one operation. ring_check_room reserved its bytes, so this
 * cannot fail for an operation that passed the check. */
static void log_op(store_t *st, const record_op_t *op)
{
    if (st->ring_size == 0 || st->ring_mute)
        return;
    if (record_op_append(&st->sec_ops, op) != 0)
        store_log(0, "change ring: an operation could not be recorded (%s)", record_type_name(op->type));
    else
        st->sec_nops++;
}

void ring_log_put(store_t *st, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry,
                  uint64_t version)
{
    record_op_t op = {RECORD_PUT, key, (uint32_t)klen, val, (uint32_t)vlen, expiry, version};
    log_op(st, &op);
}

void ring_log_del(store_t *st, const void *key, size_t klen)
{
    record_op_t op = {.type = RECORD_DEL, .key = key, .klen = (uint32_t)klen};
    log_op(st, &op);
}

void ring_log_expire(store_t *st, const void *key, size_t klen, uint64_t expiry)
{
    record_op_t op = {.type = RECORD_EXPIRE, .key = key, .klen = (uint32_t)klen, .expiry_ms = expiry};
    log_op(st, &op);
}

void ring_log_clear(store_t *st)
{
    if (st->ring_size && !st->ring_mute)
        st->sec_clear = true;
}

void ring_reset_section(store_t *st)
{
    st->sec_ops.len = 0;
    st->sec_nops = 0;
    st->sec_clear = false;
    st->sec_lsn = 0;
}

/* Encodes the section's record into a contiguous stretch of the ring. */
static size_t encode_at(store_t *st, uint8_t *dst, size_t cap)
{
    if (st->sec_clear) {
        record_t rec = {.lsn = st->hdr->next_lsn, .type = RECORD_CLEAR};
        return record_encode(&rec, dst, cap);
    }
    return record_encode_ops(st->hdr->next_lsn, st->sec_ops.data, st->sec_ops.len, st->sec_nops, dst, cap);
}

void ring_write_section(store_t *st)
{
    if (st->ring_size == 0 || (!st->sec_clear && st->sec_nops == 0))
        return;
    size_t n = st->sec_clear ? RECORD_HEADER_SIZE : record_ops_size(st->sec_ops.len, st->sec_nops);
    uint64_t head = st->hdr->ring_head;
    uint64_t left = st->ring_size - head % st->ring_size;
    if (left < n) { /* does not fit before the end: mark the wrap */
        memset(ring_at(st, head), 0, 4);
        head += left;
    }
    size_t w = encode_at(st, ring_at(st, head), n);
    if (w != n) /* cannot happen: sizes were checked as changes came in */
        store_log(0, "change ring: record of %zu bytes encoded as %zu", n, w);
    jset64(st, &st->hdr->ring_head, head + ((n + 7) & ~(uint64_t)7));
}

void ring_publish(store_t *st)
{
    if (st->ring_size)
        atomic_store_explicit(&st->hdr->ring_commit, st->hdr->ring_head, memory_order_release);
}

/* ---- the persister's side ------------------------------------------------ */

bool store_has_ring(const store_t *st)
{
    return st->ring_size != 0;
}

size_t store_ring_peek(store_t *st, uint64_t *pos, const uint8_t **data)
{
    if (st->ring_size == 0)
        return 0;
    uint64_t commit = atomic_load_explicit(&st->hdr->ring_commit, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&st->hdr->ring_tail, memory_order_relaxed);
    if (commit <= tail || commit - tail > st->ring_size)
        return *pos = tail, 0;
    uint64_t left = st->ring_size - tail % st->ring_size;
    if (left >= 4 && LD32(ring_at(st, tail)) == 0) { /* a wrap mark */
        tail += left;
        atomic_store_explicit(&st->hdr->ring_tail, tail, memory_order_release);
        left = st->ring_size;
        if (commit <= tail)
            return *pos = tail, 0;
    }
    uint64_t n = commit - tail < left ? commit - tail : left;
    *pos = tail;
    *data = ring_at(st, tail);
    return (size_t)n;
}

void store_ring_mute(store_t *st, bool mute)
{
    st->ring_mute = mute;
}

void store_set_ring_wait(store_t *st, unsigned ms)
{
    st->ring_wait_ms = ms;
}

void store_ring_release(store_t *st, uint64_t pos)
{
    if (st->ring_size)
        atomic_store_explicit(&st->hdr->ring_tail, pos, memory_order_release);
}

void store_set_durable_lsn(store_t *st, uint64_t lsn)
{
    atomic_store_explicit(&st->hdr->durable_lsn, lsn, memory_order_release);
}

uint64_t store_durable_lsn(const store_t *st)
{
    return atomic_load_explicit(&st->hdr->durable_lsn, memory_order_acquire);
}

void store_ring_stats(const store_t *st, store_ring_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->size = st->ring_size;
    if (st->ring_size == 0)
        return;
    out->commit = atomic_load_explicit(&st->hdr->ring_commit, memory_order_acquire);
    out->tail = atomic_load_explicit(&st->hdr->ring_tail, memory_order_acquire);
    out->used = out->commit > out->tail ? out->commit - out->tail : 0;
    out->durable_lsn = store_durable_lsn(st);
    out->last_lsn = LD64(&st->hdr->next_lsn);
}
