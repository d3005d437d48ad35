/*
 * replay.c — applies log records (recovery). See replay.h.
 */
#include "config.h"

#include "store/hash.h"
#include "store/journal.h"
#include "store/replay.h"
#include "store/ring.h"
#include "store/sync.h"

static store_err_t apply_op(store_t *st, const record_op_t *op)
{
    store_err_t err;
    switch (op->type) {
    case RECORD_PUT: {
        store_put_opts_t o = {.expiry_ms = op->expiry_ms, .version = op->version};
        return store_put_locked(st, op->key, op->klen, op->val, op->vlen, &o, NULL);
    }
    case RECORD_DEL:
        err = store_delete_locked(st, op->key, op->klen);
        return err == STORE_NOT_FOUND ? STORE_OK : err;
    case RECORD_EXPIRE:
        err = store_expire_locked(st, op->key, op->klen, op->expiry_ms);
        return err == STORE_NOT_FOUND ? STORE_OK : err;
    default:
        return store_fail(STORE_INVALID, "record operation of type %u cannot be applied", op->type);
    }
}

static store_err_t apply_locked(store_t *st, const record_t *rec)
{
    if (rec->type == RECORD_TXN) {
        size_t pos = 0;
        record_op_t op;
        while (record_txn_next(rec, &pos, &op)) {
            store_err_t err = apply_op(st, &op);
            if (err != STORE_OK)
                return err;
        }
        return STORE_OK;
    }
    record_op_t op = rec->op;
    op.type = rec->type;
    return apply_op(st, &op);
}

/* LSNs are never handed out twice: the region's reaches the record's even
 * when nothing changed (a DEL of a missing key). */
static void raise_lsn_locked(store_t *st, uint64_t lsn)
{
    if (st->hdr->next_lsn < lsn)
        jset64(st, &st->hdr->next_lsn, lsn);
}

store_err_t store_apply_record(store_t *st, const record_t *rec)
{
    bool muted = st->ring_mute;
    st->ring_mute = true;
    store_err_t err = STORE_OK;
    if (rec->type == RECORD_CLEAR && (err = store_clear(st)) == STORE_OK &&
        (err = store_write_lock(st)) == STORE_OK) {
        raise_lsn_locked(st, rec->lsn);
        store_write_unlock(st);
    } else if (rec->type != RECORD_CLEAR && (err = store_write_lock(st)) == STORE_OK) {
        st->sec_lsn = rec->lsn; /* every change of the record carries its LSN */
        err = apply_locked(st, rec);
        if (err == STORE_OK) {
            raise_lsn_locked(st, rec->lsn);
            store_write_unlock(st);
        } else {
            store_write_abort(st);
        }
    }
    st->ring_mute = muted;
    return err;
}

store_err_t store_replay_begin(store_t *st, uint64_t expect_items)
{
    store_err_t err = store_write_lock(st);
    if (err == STORE_OK) {
        st->ring_mute = true;
        if (expect_items)
            hash_presize_locked(st, expect_items);
    }
    return err;
}

store_err_t store_replay_apply(store_t *st, const record_t *rec)
{
    if (!st->in_write)
        return store_fail(STORE_INVALID, "store_replay_apply without store_replay_begin");
    if (rec->type == RECORD_CLEAR || st->hdr->journal_len > STORE_JOURNAL_CAP / 4 ||
        (rec->type == RECORD_TXN && st->hdr->journal_len > 0)) {
        store_write_unlock(st); /* commit what came before: a section holds only so much */
        store_err_t err = rec->type == RECORD_CLEAR ? store_apply_record(st, rec) : STORE_OK;
        st->ring_mute = true;
        store_err_t lk = store_write_lock(st);
        if (err != STORE_OK || lk != STORE_OK || rec->type == RECORD_CLEAR)
            return err != STORE_OK ? err : lk;
    }
    st->sec_lsn = rec->lsn;
    store_err_t err = apply_locked(st, rec);
    if (err == STORE_OK)
        raise_lsn_locked(st, rec->lsn);
    else
        store_write_abort(st);
    return err;
}

store_err_t store_replay_end(store_t *st)
{
    if (st->in_write)
        store_write_unlock(st);
    st->ring_mute = false;
    return STORE_OK;
}

store_err_t store_raise_lsn(store_t *st, uint64_t lsn)
{
    bool muted = st->ring_mute;
    st->ring_mute = true;
    store_err_t err = store_write_lock(st);
    if (err == STORE_OK) {
        raise_lsn_locked(st, lsn);
        store_write_unlock(st);
    }
    st->ring_mute = muted;
    return err;
}
