/*
 * journal.c — undo journal: record, roll back, commit, recover.
 */
#include "config.h"

#include <stdlib.h>

#include "store/journal.h"

/* Keeps the compiler from moving stores across this point: a SIGKILL can
 * land between any two instructions, so the journal entry must be complete
 * in memory before the word it protects changes. (The CPU's own reordering
 * does not matter here: the dying process's stores all reach memory before
 * the kernel hands the mutex to the next owner.) */
#define COMPILER_BARRIER() atomic_signal_fence(memory_order_seq_cst)

void journal_record(struct store *st, const void *p)
{
    uint64_t idx = st->hdr->journal_len;
    if (idx >= STORE_JOURNAL_CAP) {
        /* Callers check journal_room() first; reaching this is a bug. Dying
         * is safe: the next locker rolls the whole section back. */
        store_log(0, "store: undo journal overflow (bug); aborting the writer");
        abort();
    }
    uint64_t off = ((uint64_t)((const char *)p - st->base)) & ~(uint64_t)7;
    journal_entry_t *e = &st->journal[idx];
    e->offset = off;
    e->old = LD64(st->base + off);
    COMPILER_BARRIER();
    ST64(&st->hdr->journal_len, idx + 1);
    COMPILER_BARRIER();
}

void journal_rollback_to(struct store *st, uint64_t mark)
{
    uint64_t len = st->hdr->journal_len;
    if (len > STORE_JOURNAL_CAP)
        len = STORE_JOURNAL_CAP; /* a torn length: every slot is ours */
    for (uint64_t i = len; i > mark; i--) {
        const journal_entry_t *e = &st->journal[i - 1];
        if (e->offset == JOURNAL_REDO_CLEAR || e->offset > st->size - 8)
            continue;
        ST64(st->base + e->offset, e->old);
    }
    COMPILER_BARRIER();
    ST64(&st->hdr->journal_len, mark);
    st->finger.valid = false; /* it may point into what was undone */
}

void journal_commit(struct store *st)
{
    COMPILER_BARRIER();
    ST64(&st->hdr->journal_len, 0);
    COMPILER_BARRIER();
}

void journal_begin_redo_clear(struct store *st)
{
    st->journal[0].offset = JOURNAL_REDO_CLEAR;
    st->journal[0].old = 0;
    COMPILER_BARRIER();
    ST64(&st->hdr->journal_len, 1);
    COMPILER_BARRIER();
}

void journal_recover(struct store *st)
{
    uint64_t len = st->hdr->journal_len;
    if (len > 0 && st->journal[0].offset == JOURNAL_REDO_CLEAR) {
        store_reset_locked(st);
        journal_commit(st);
        return;
    }
    journal_rollback_to(st, 0);
}
