/*
 * recovery.c — the region at start: warm attach when the region is at
 * least as new as the log on disk, else a rebuild from the log; and
 * `fickled --check`. Runs in the supervisor before anything is forked.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "persister/logscan.h"
#include "store/replay.h"
#include "supervisor/supervisor.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void note(const char *msg)
{
    log_msg(LOG_WARNING, "%s", msg);
}

/* The ring: what the user asked for, or an eighth of the region, raised
 * to what the largest value needs. */
static uint64_t ring_size(const config_t *cfg)
{
    uint64_t min = store_ring_min(cfg->max_value_size);
    uint64_t r = cfg->ring_size ? cfg->ring_size : cfg->memory / 8;
    if (!cfg->ring_size && r < min)
        r = min;
    return (r + 4095) & ~4095ull;
}

static int create_region(supervisor_t *sv)
{
    store_options_t opt = {.size = sv->cfg.memory, .max_value_size = sv->cfg.max_value_size,
                           .ring_size = ring_size(&sv->cfg)};
    store_err_t err = store_create(sv->dd.region_path, &opt, &sv->store);
    if (err != STORE_OK) {
        log_msg(LOG_ERR, "cannot create the region %s: %s (%s)", sv->dd.region_path, store_strerror(err),
                store_error_detail());
        return -1;
    }
    return 0;
}

#define REPAIR_HINT ". Start with --repair to keep the longest valid prefix of the log (later records are lost)"

static int apply(void *arg, const record_t *rec)
{
    store_err_t err = store_replay_apply(arg, rec);
    if (err != STORE_OK)
        log_msg(LOG_ERR, "recovery: record LSN %llu (%s): %s (%s)", (unsigned long long)rec->lsn,
                record_type_name(rec->type), store_strerror(err), store_error_detail());
    return err != STORE_OK;
}

/* Builds a new region from the log. */
static int rebuild(supervisor_t *sv)
{
    if (create_region(sv) != 0)
        return -1;
    uint64_t t0 = mono_ms();
    logscan_result_t res;
    persist_error_t perr;
    store_err_t serr = store_replay_begin(sv->store);
    if (serr != STORE_OK) {
        log_msg(LOG_ERR, "recovery: %s (%s)", store_strerror(serr), store_error_detail());
        return -1;
    }
    persist_status_t st = logscan_run(sv->log_dir, sv->cfg.repair ? LOGSCAN_REPAIR : LOGSCAN_RECOVER, 0, apply,
                                      sv->store, &res, &perr, note);
    store_replay_end(sv->store);
    if (st != PERSIST_OK) {
        log_msg(LOG_ERR, "recovery failed: %s%s", perr.msg,
                st == PERSIST_CORRUPT || st == PERSIST_TORN ? REPAIR_HINT : "");
        store_close(sv->store);
        sv->store = NULL;
        store_unlink(sv->dd.region_path);
        return -1;
    }
    log_msg(LOG_NOTICE, "recovered %llu records up to LSN %llu from %llu log segments in %llu ms (%llu keys)",
            (unsigned long long)res.records, (unsigned long long)res.last_lsn, (unsigned long long)res.segments,
            (unsigned long long)(mono_ms() - t0), (unsigned long long)store_count(sv->store));
    return 0;
}

/* The log's last LSN, from its newest segment only (a warm start must not
 * read the whole log). *damaged: that segment is corrupt, which only
 * --repair gets past (else the start is refused, with the way out). */
static int disk_last_lsn(supervisor_t *sv, uint64_t *lsn, bool *damaged)
{
    persist_error_t perr;
    persist_status_t st = logscan_newest_lsn(sv->log_dir, lsn, &perr);
    *damaged = st == PERSIST_CORRUPT || st == PERSIST_TORN;
    if (st == PERSIST_OK || (*damaged && sv->cfg.repair))
        return 0;
    if (*damaged)
        log_msg(LOG_ERR, "recovery failed: %s%s", perr.msg, REPAIR_HINT);
    else
        log_msg(LOG_ERR, "cannot read the log: %s", perr.msg);
    return -1;
}

int recovery_open_region(supervisor_t *sv)
{
    snprintf(sv->log_dir, sizeof(sv->log_dir), "%s/log", sv->dd.path);
    uint64_t disk = 0;
    bool damaged;
    if (disk_last_lsn(sv, &disk, &damaged) != 0)
        return -1;
    const char *path = sv->dd.region_path;
    if (damaged) { /* --repair: the region may hold more than the log keeps */
        log_msg(LOG_WARNING, "the newest log segment is damaged: --repair rebuilds the region from the log");
        if (access(path, F_OK) == 0 && store_unlink(path) != 0) {
            log_msg(LOG_ERR, "unlink %s: %s", path, strerror(errno));
            return -1;
        }
        return rebuild(sv);
    }
    if (access(path, F_OK) == 0) {
        store_err_t err = store_attach(path, &sv->store);
        if (err == STORE_OK && store_last_lsn(sv->store) >= disk && store_has_ring(sv->store)) {
            log_msg(LOG_NOTICE, "warm restart: attached the region %s (%llu keys, LSN %llu; the log is at %llu)",
                    path, (unsigned long long)store_count(sv->store), (unsigned long long)store_last_lsn(sv->store),
                    (unsigned long long)disk);
            return 0;
        }
        if (err == STORE_OK) {
            log_msg(LOG_WARNING, "the region %s is older than the log (LSN %llu < %llu) or has no change ring: "
                                 "rebuilding it from the log",
                    path, (unsigned long long)store_last_lsn(sv->store), (unsigned long long)disk);
            store_close(sv->store);
            sv->store = NULL;
        } else if (disk == 0) {
            /* Nothing on disk to rebuild from: the region may be the only
             * copy of the data (a build without persistence made it). */
            log_msg(LOG_ERR, "the region %s cannot be used (%s: %s) and the log holds nothing to rebuild it from; "
                             "move the region file away to start empty",
                    path, store_strerror(err), store_error_detail());
            return -1;
        } else {
            log_msg(LOG_WARNING, "the region %s cannot be used (%s: %s): rebuilding it from the log", path,
                    store_strerror(err), store_error_detail());
        }
        if (store_unlink(path) != 0) {
            log_msg(LOG_ERR, "unlink %s: %s", path, strerror(errno));
            return -1;
        }
    }
    return rebuild(sv);
}

int recovery_check(supervisor_t *sv)
{
    int rc = 0;
    snprintf(sv->log_dir, sizeof(sv->log_dir), "%s/log", sv->dd.path);
    if (access(sv->dd.region_path, F_OK) == 0) {
        char report[512];
        store_err_t err = store_attach(sv->dd.region_path, &sv->store);
        if (err == STORE_OK)
            err = store_check(sv->store, report, sizeof(report));
        else
            snprintf(report, sizeof(report), "%s", store_error_detail());
        if (err != STORE_OK) {
            printf("region %s: %s\n", sv->dd.region_path, report);
            rc = 1;
        } else {
            printf("region %s is consistent (%llu keys, LSN %llu)\n", sv->dd.region_path,
                   (unsigned long long)store_count(sv->store), (unsigned long long)store_last_lsn(sv->store));
        }
    } else {
        printf("region %s: absent (it is rebuilt from the log at start)\n", sv->dd.region_path);
    }
    logscan_result_t res;
    persist_error_t perr;
    if (logscan_run(sv->log_dir, LOGSCAN_CHECK, UINT64_MAX, NULL, NULL, &res, &perr, NULL) != PERSIST_OK) {
        printf("log %s: %s\n", sv->log_dir, perr.msg);
        rc = 1;
    } else {
        printf("log %s is consistent (%llu records in %llu segments, LSN %llu..%llu)\n", sv->log_dir,
               (unsigned long long)res.records, (unsigned long long)res.segments,
               (unsigned long long)res.first_lsn, (unsigned long long)res.last_lsn);
    }
    return rc;
}
