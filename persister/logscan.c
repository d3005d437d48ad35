/*
 * logscan.c — reads every log segment of a directory in order (see
 * logscan.h for what each mode does with damage).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Scans dir's segments; skip_old: leave out segments whose records are all
 * at or below after_lsn (known from the next segment's name). */
static persist_status_t scan_dir(const char *dir, logscan_mode_t mode, uint64_t after_lsn, bool skip_old,
                                 logscan_fn fn, void *arg, logscan_result_t *res, persist_error_t *err,
                                 void (*note)(const char *msg))
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
        if (skip_old && i + 1 < n && after_lsn < UINT64_MAX && segs[i + 1].first_lsn <= after_lsn + 1)
            continue;
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

persist_status_t logscan_run(const char *dir, logscan_mode_t mode, uint64_t after_lsn, logscan_fn fn, void *arg,
                             logscan_result_t *res, persist_error_t *err, void (*note)(const char *msg))
{
    return scan_dir(dir, mode, after_lsn, false, fn, arg, res, err, note);
}

persist_status_t logscan_replay(const char *dir, logscan_mode_t mode, uint64_t after_lsn, logscan_fn fn, void *arg,
                                logscan_result_t *res, persist_error_t *err, void (*note)(const char *msg))
{
    return scan_dir(dir, mode, after_lsn, true, fn, arg, res, err, note);
}

persist_status_t logscan_first_lsn(const char *dir, uint64_t *lsn, persist_error_t *err)
{
    *lsn = 0;
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK;
    if (st == PERSIST_OK && n > 0)
        *lsn = segs[0].first_lsn;
    free(segs);
    return st;
}

persist_status_t logscan_prune(const char *dir, uint64_t upto_lsn, unsigned *removed, persist_error_t *err)
{
    *removed = 0;
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK;
    for (size_t i = 0; st == PERSIST_OK && i + 1 < n && segs[i + 1].first_lsn <= upto_lsn + 1; i++) {
        char path[4096];
        if (pio_join(path, sizeof(path), dir, segs[i].name) != 0)
            st = persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "%s/%s: path too long", dir, segs[i].name);
        else if (unlink(path) != 0 && errno != ENOENT)
            st = persist_syserr(err, "unlink", path);
        else
            (*removed)++;
    }
    free(segs);
    const char *call;
    if (*removed && pio_fsync_dir(dir, &call) != 0) {
        persist_error_t e2;
        persist_status_t s2 = persist_syserr(&e2, call, dir);
        if (st == PERSIST_OK) {
            st = s2;
            if (err)
                *err = e2;
        }
    }
    return st;
}

persist_status_t logscan_size_after(const char *dir, uint64_t after_lsn, uint64_t *bytes, persist_error_t *err)
{
    *bytes = 0;
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK;
    for (size_t i = 0; st == PERSIST_OK && i < n; i++) {
        char path[4096];
        struct stat sb;
        if (i + 1 < n && segs[i + 1].first_lsn <= after_lsn + 1)
            continue; /* wholly at or below after_lsn */
        if (pio_join(path, sizeof(path), dir, segs[i].name) != 0)
            st = persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "%s/%s: path too long", dir, segs[i].name);
        else if (stat(path, &sb) != 0)
            st = persist_syserr(err, "stat", path);
        else if ((uint64_t)sb.st_size > SEGMENT_HEADER_SIZE)
            *bytes += (uint64_t)sb.st_size - SEGMENT_HEADER_SIZE;
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

/* Copies bytes [from, to) of the file at path to the end of buf. */
static persist_status_t save_range(const char *path, uint64_t from, uint64_t to, record_buf_t *buf,
                                   persist_error_t *err)
{
    if (to <= from)
        return PERSIST_OK;
    if (record_buf_reserve(buf, (size_t)(to - from)) != 0)
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "%s: out of memory for %llu bytes", path,
                            (unsigned long long)(to - from));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return persist_syserr(err, "open", path);
    ssize_t got = pio_pread_all(fd, buf->data + buf->len, (size_t)(to - from), from);
    persist_status_t st = got < 0 ? persist_syserr(err, "pread", path) : PERSIST_OK;
    if (st == PERSIST_OK && (uint64_t)got != to - from)
        st = persist_fail(err, PERSIST_IO, EIO, from, "%s: the file shrank while it was read", path);
    close(fd);
    if (st == PERSIST_OK)
        buf->len += (size_t)(to - from);
    return st;
}

persist_status_t logscan_cut_after(const char *dir, uint64_t upto_lsn, uint64_t save_below, record_buf_t *saved,
                                   uint64_t *cut_lsn, uint64_t *cut, persist_error_t *err)
{
    *cut_lsn = upto_lsn;
    *cut = 0;
    segment_info_t *segs = NULL;
    size_t n = 0;
    persist_status_t st = segment_list(dir, &segs, &n, err);
    if (st == PERSIST_IO && err->sys_errno == ENOENT)
        return PERSIST_OK;
    if (st != PERSIST_OK || n == 0) {
        free(segs);
        return st;
    }
    char path[4096];
    segment_reader_t *r = NULL;
    if (pio_join(path, sizeof(path), dir, segs[n - 1].name) != 0)
        st = persist_fail(err, PERSIST_INVALID, 0, 0, "%s/%s: path too long", dir, segs[n - 1].name);
    else
        st = segment_reader_open(path, &r, err);
    if (segs[n - 1].first_lsn > upto_lsn + 1)
        *cut_lsn = segs[n - 1].first_lsn - 1; /* older segments were fsynced before this one began */
    free(segs);
    uint64_t at = SEGMENT_HEADER_SIZE, save_end = 0;
    record_t rec;
    persist_status_t rs = PERSIST_OK;
    while (st == PERSIST_OK && (rs = segment_reader_next(r, &rec, err)) == PERSIST_OK) {
        if (rec.lsn <= *cut_lsn) {
            at = segment_reader_valid_end(r);
            continue;
        }
        (*cut)++;
        if (rec.lsn < save_below)
            save_end = segment_reader_valid_end(r);
    }
    if (st == PERSIST_OK && rs != PERSIST_END && rs != PERSIST_TORN)
        st = rs;
    if (st == PERSIST_OK && saved)
        st = save_range(path, at, save_end, saved, err);
    if (st == PERSIST_OK && (*cut || rs == PERSIST_TORN))
        st = segment_truncate_tail(path, at, err);
    segment_reader_close(r);
    return st;
}
