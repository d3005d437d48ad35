/*
 * logscan.c — reads every log segment of a directory in order (see
 * logscan.h for what each mode does with damage).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persister/logscan.h"
#include "persister/segment.h"

/* Cuts the file at the reader's valid end and reports it. */
static persist_status_t cut(const char *path, uint64_t at, const persist_error_t *why, persist_error_t *err,
                            void (*note)(const char *))
{
    persist_status_t st = segment_truncate_tail(path, at, err);
    if (st == PERSIST_OK && note) {
        char msg[PERSIST_MSG_MAX + 4200];
        snprintf(msg, sizeof(msg), "log: cut %s back to %llu bytes (%s)", path, (unsigned long long)at, why->msg);
        note(msg);
    }
    return st;
}

/* Removes the segments after index i (REPAIR: they follow corruption). */
static void drop_after(const char *dir, const segment_info_t *segs, size_t n, size_t i, void (*note)(const char *))
{
    for (size_t j = i + 1; j < n; j++) {
        char path[4096];
        if (pio_join(path, sizeof(path), dir, segs[j].name) == 0 && unlink(path) == 0 && note) {
            char msg[4200];
            snprintf(msg, sizeof(msg), "log: removed %s (it follows the damaged segment)", path);
            note(msg);
        }
    }
}

/* Scans one segment. PERSIST_END when it ended cleanly (or was cut). */
static persist_status_t scan_one(const char *path, bool newest, logscan_mode_t mode, uint64_t after_lsn,
                                 logscan_fn fn, void *arg, logscan_result_t *res, persist_error_t *err,
                                 void (*note)(const char *))
{
    segment_reader_t *r;
    persist_status_t st = segment_reader_open(path, &r, err);
    if (st != PERSIST_OK)
        return st;
    record_t rec;
    while ((st = segment_reader_next(r, &rec, err)) == PERSIST_OK) {
        if (res->records && rec.lsn <= res->last_lsn) {
            st = persist_fail(err, PERSIST_CORRUPT, 0, 0, "%s: LSN %llu does not follow %llu of the segment before", path,
                              (unsigned long long)rec.lsn, (unsigned long long)res->last_lsn);
            break;
        }
        if (res->first_lsn == 0)
            res->first_lsn = rec.lsn;
        res->last_lsn = rec.lsn;
        res->records++;
        if (rec.lsn > after_lsn && fn && (res->cb_rc = fn(arg, &rec)) != 0) {
            st = persist_fail(err, PERSIST_INVALID, 0, 0, "%s: applying the record with LSN %llu failed", path,
                              (unsigned long long)rec.lsn);
            break;
        }
    }
    uint64_t valid_end = segment_reader_valid_end(r);
    segment_reader_close(r);
    bool may_cut = (st == PERSIST_TORN && newest && mode != LOGSCAN_CHECK) ||
                   ((st == PERSIST_TORN || st == PERSIST_CORRUPT) && mode == LOGSCAN_REPAIR);
    if (may_cut) {
        persist_error_t why = *err;
        st = cut(path, valid_end, &why, err, note);
        res->truncated = true;
        return st == PERSIST_OK ? PERSIST_END : st;
    }
    return st;
}

persist_status_t logscan_run(const char *dir, logscan_mode_t mode, uint64_t after_lsn, logscan_fn fn, void *arg,
                             logscan_result_t *res, persist_error_t *err, void (*note)(const char *msg))
{
    memset(res, 0, sizeof(*res));
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK; /* no log yet */
    if (st != PERSIST_OK)
        return st;
    for (size_t i = 0; i < n && st == PERSIST_OK; i++) {
        char path[4096];
        if (pio_join(path, sizeof(path), dir, segs[i].name) != 0) {
            st = persist_fail(err, PERSIST_INVALID, 0, 0, "%s/%s: path too long", dir, segs[i].name);
            break;
        }
        res->segments++;
        bool was_truncated = res->truncated;
        st = scan_one(path, i + 1 == n, mode, after_lsn, fn, arg, res, err, note);
        if (st == PERSIST_END)
            st = PERSIST_OK;
        if (st == PERSIST_OK && res->truncated && !was_truncated && i + 1 < n) {
            drop_after(dir, segs, n, i, note); /* REPAIR: the prefix ends here */
            break;
        }
    }
    free(segs);
    return st;
}

persist_status_t logscan_tail(const char *dir, logscan_result_t *res, persist_error_t *err,
                              void (*note)(const char *msg))
{
    memset(res, 0, sizeof(*res));
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK; /* no log yet */
    /* From the newest segment back to the first that holds a record. */
    for (size_t i = n; st == PERSIST_OK && i-- > 0 && res->records == 0;) {
        char path[4096];
        if (pio_join(path, sizeof(path), dir, segs[i].name) != 0) {
            st = persist_fail(err, PERSIST_INVALID, 0, 0, "%s/%s: path too long", dir, segs[i].name);
            break;
        }
        res->segments++;
        st = scan_one(path, i + 1 == n, LOGSCAN_RECOVER, UINT64_MAX, NULL, NULL, res, err, note);
        if (st == PERSIST_END)
            st = PERSIST_OK;
    }
    free(segs);
    return st;
}

persist_status_t logscan_newest_lsn(const char *dir, uint64_t *lsn, persist_error_t *err)
{
    *lsn = 0;
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK;
    for (size_t i = n; st == PERSIST_OK && i-- > 0 && *lsn == 0;) {
        char path[4096];
        segment_reader_t *r;
        if (pio_join(path, sizeof(path), dir, segs[i].name) != 0) {
            st = persist_fail(err, PERSIST_INVALID, 0, 0, "%s/%s: path too long", dir, segs[i].name);
            break;
        }
        if ((st = segment_reader_open(path, &r, err)) != PERSIST_OK)
            break;
        record_t rec;
        persist_status_t rs;
        while ((rs = segment_reader_next(r, &rec, err)) == PERSIST_OK)
            *lsn = rec.lsn;
        segment_reader_close(r);
        if (rs != PERSIST_END && rs != PERSIST_TORN)
            st = rs;
    }
    free(segs);
    return st;
}
