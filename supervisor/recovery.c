/*
 * recovery.c — the region at start: warm attach when the region is at
 * least as new as the disk, else a rebuild from the newest usable snapshot
 * and the log after it; and `fickled --check`. Runs in the supervisor
 * before anything is forked.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "persister/logscan.h"
#include "persister/snaptake.h"
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

static void drop_region(supervisor_t *sv)
{
    store_close(sv->store);
    sv->store = NULL;
    if (store_unlink(sv->dd.region_path) != 0 && errno != ENOENT)
        log_msg(LOG_WARNING, "unlink %s: %s", sv->dd.region_path, strerror(errno));
}

/* Loads snapshot v into a new region. 1 loaded, 0 damaged or unreadable
 * (the region is dropped: try an older one), -1 fatal (logged). */
static int try_snapshot(supervisor_t *sv, const snapshot_info_t *v, uint64_t log_first, bool older_left)
{
    const char *next = older_left ? "trying the older one" : "falling back to the log alone";
    if (log_first > v->start_lsn + 1) {
        log_msg(LOG_WARNING, "snapshot %s/%s cannot be used: the log starts at LSN %llu, after its LSN %llu + 1; %s",
                sv->dd.path, v->name, (unsigned long long)log_first, (unsigned long long)v->start_lsn, next);
        return 0;
    }
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", sv->dd.path, v->name);
    if (create_region(sv) != 0)
        return -1;
    snapshot_header_t hdr;
    uint64_t items = 0;
    persist_error_t perr;
    persist_status_t st = snaptake_load(sv->store, path, &hdr, &items, &perr);
    if (st == PERSIST_OK) {
        sv->recovery.snapshot_lsn = hdr.start_lsn;
        log_msg(LOG_NOTICE, "recovery: loaded snapshot %s (%llu items, LSN %llu)", path, (unsigned long long)items,
                (unsigned long long)hdr.start_lsn);
        return 1;
    }
    drop_region(sv);
    if (st != PERSIST_CORRUPT && st != PERSIST_IO) {
        log_msg(LOG_ERR, "recovery: loading snapshot %s: %s", path, perr.msg);
        return -1;
    }
    log_msg(LOG_WARNING, "snapshot %s is damaged or unreadable (%s); %s", path, perr.msg, next);
    return 0;
}

/* A new region holding the newest usable snapshot, or nothing if there is
 * none (*l0 = 0). */
static int load_snapshot(supervisor_t *sv, uint64_t *l0)
{
    snapshot_info_t *v = NULL;
    size_t n = 0;
    uint64_t first = 0;
    persist_error_t perr;
    *l0 = 0;
    if (snapshot_list(sv->dd.path, &v, &n, &perr) != PERSIST_OK ||
        logscan_first_lsn(sv->log_dir, &first, &perr) != PERSIST_OK) {
        log_msg(LOG_ERR, "recovery: %s", perr.msg);
        free(v);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if ((rc = try_snapshot(sv, &v[i], first, i + 1 < n)) == 1)
            *l0 = v[i].start_lsn;
    free(v);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (first > 1 && !sv->cfg.repair) {
        log_msg(LOG_ERR, "recovery failed: no usable snapshot, and the log starts at LSN %llu: the records before it "
                         "are gone. Start with --repair to recover what the log holds",
                (unsigned long long)first);
        return -1;
    }
    return create_region(sv);
}

/* Builds a new region from the newest usable snapshot and the log. */
static int rebuild(supervisor_t *sv)
{
    uint64_t t0 = mono_ms(), l0 = 0;
    if (load_snapshot(sv, &l0) != 0)
        return -1;
    logscan_result_t res;
    persist_error_t perr;
    uint64_t applied = 0;
    persist_status_t st = snaptake_replay(sv->store, sv->log_dir, sv->cfg.repair ? LOGSCAN_REPAIR : LOGSCAN_RECOVER,
                                          l0, &res, &applied, &perr, note);
    if (st != PERSIST_OK) {
        log_msg(LOG_ERR, "recovery failed: %s%s", perr.msg,
                st == PERSIST_CORRUPT || st == PERSIST_TORN ? REPAIR_HINT : "");
        drop_region(sv);
        return -1;
    }
    /* What was read from the disk is durable: the persister rewrites only
     * records past this that were not fsynced (persister.c). */
    store_set_durable_lsn(sv->store, store_last_lsn(sv->store));
    const char *src = l0 ? "snapshot" : res.records ? "log" : "empty";
    snprintf(sv->recovery.source, sizeof(sv->recovery.source), "%s", src);
    sv->recovery.records = applied;
    if (l0)
        log_msg(LOG_NOTICE, "recovered %llu records up to LSN %llu from %llu log segments after the snapshot at LSN "
                            "%llu, in %llu ms (%llu keys)",
                (unsigned long long)applied, (unsigned long long)store_last_lsn(sv->store),
                (unsigned long long)res.segments, (unsigned long long)l0, (unsigned long long)(mono_ms() - t0),
                (unsigned long long)store_count(sv->store));
    else
        log_msg(LOG_NOTICE, "recovered %llu records up to LSN %llu from %llu log segments in %llu ms (%llu keys)",
                (unsigned long long)applied, (unsigned long long)res.last_lsn, (unsigned long long)res.segments,
                (unsigned long long)(mono_ms() - t0), (unsigned long long)store_count(sv->store));
    return 0;
}

/* What the disk holds: the log's last LSN, from its newest segment only
 * (a warm start must not read the whole log), or the newest snapshot's
 * start LSN if larger. Also notes the newest snapshot for LASTSAVE.
 * *damaged: the newest segment is corrupt, which only --repair gets past
 * (else the start is refused, with the way out). */
static int disk_last_lsn(supervisor_t *sv, uint64_t *lsn, bool *damaged)
{
    persist_error_t perr;
    persist_status_t st = logscan_newest_lsn(sv->log_dir, lsn, &perr);
    *damaged = st == PERSIST_CORRUPT || st == PERSIST_TORN;
    if (st != PERSIST_OK && !(*damaged && sv->cfg.repair)) {
        if (*damaged)
            log_msg(LOG_ERR, "recovery failed: %s%s", perr.msg, REPAIR_HINT);
        else
            log_msg(LOG_ERR, "cannot read the log: %s", perr.msg);
        return -1;
    }
    snapshot_info_t *v = NULL;
    size_t n = 0;
    if (snapshot_list(sv->dd.path, &v, &n, &perr) != PERSIST_OK) {
        log_msg(LOG_ERR, "cannot read the data directory: %s", perr.msg);
        return -1;
    }
    if (n > 0) {
        char path[4200];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", sv->dd.path, v[0].name);
        sv->snapshot_lsn = v[0].start_lsn;
        if (stat(path, &sb) == 0)
            sv->snapshot_ms = (uint64_t)sb.st_mtim.tv_sec * 1000 + (uint64_t)sb.st_mtim.tv_nsec / 1000000;
        if (v[0].start_lsn > *lsn)
            *lsn = v[0].start_lsn;
    }
    free(v);
    return 0;
}

/* The region file exists: attach it if it is as new as the disk (1), or
 * remove it to rebuild (0); -1 when it is unusable and cannot be rebuilt. */
static int try_warm(supervisor_t *sv, uint64_t disk)
{
    const char *path = sv->dd.region_path;
    store_err_t err = store_attach(path, &sv->store);
    if (err == STORE_OK && store_last_lsn(sv->store) >= disk && store_has_ring(sv->store)) {
        log_msg(LOG_NOTICE, "warm restart: attached the region %s (%llu keys, LSN %llu; the disk is at %llu)", path,
                (unsigned long long)store_count(sv->store), (unsigned long long)store_last_lsn(sv->store),
                (unsigned long long)disk);
        return 1;
    }
    if (err == STORE_OK) {
        log_msg(LOG_WARNING, "the region %s is older than the disk (LSN %llu < %llu) or has no change ring: "
                             "rebuilding it",
                path, (unsigned long long)store_last_lsn(sv->store), (unsigned long long)disk);
        store_close(sv->store);
        sv->store = NULL;
    } else if (disk == 0) {
        /* Nothing on disk to rebuild from: the region may be the only
         * copy of the data (a build without persistence made it). */
        log_msg(LOG_ERR, "the region %s cannot be used (%s: %s) and the disk holds nothing to rebuild it from; "
                         "move the region file away to start empty",
                path, store_strerror(err), store_error_detail());
        return -1;
    } else {
        log_msg(LOG_WARNING, "the region %s cannot be used (%s: %s): rebuilding it", path, store_strerror(err),
                store_error_detail());
    }
    if (store_unlink(path) != 0) {
        log_msg(LOG_ERR, "unlink %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int recovery_open_region(supervisor_t *sv)
{
    uint64_t t0 = mono_ms(), disk = 0;
    bool damaged;
    snprintf(sv->log_dir, sizeof(sv->log_dir), "%s/log", sv->dd.path);
    if (disk_last_lsn(sv, &disk, &damaged) != 0)
        return -1;
    const char *path = sv->dd.region_path;
    int rc = 0;
    if (damaged) { /* --repair: the region may hold more than the log keeps */
        log_msg(LOG_WARNING, "the newest log segment is damaged: --repair rebuilds the region");
        if (access(path, F_OK) == 0 && store_unlink(path) != 0) {
            log_msg(LOG_ERR, "unlink %s: %s", path, strerror(errno));
            return -1;
        }
    } else if (access(path, F_OK) == 0 && (rc = try_warm(sv, disk)) != 0) {
        if (rc > 0)
            snprintf(sv->recovery.source, sizeof(sv->recovery.source), "warm");
        sv->recovery.ms = mono_ms() - t0;
        return rc > 0 ? 0 : -1;
    }
    rc = rebuild(sv);
    sv->recovery.ms = mono_ms() - t0;
    return rc;
}

/* --check: reads every snapshot whole; checks the log reaches back to the
 * newest valid one. */
static int check_snapshots(supervisor_t *sv)
{
    snapshot_info_t *v = NULL;
    size_t n = 0;
    uint64_t first = 0, newest_valid = 0;
    bool any_valid = false;
    persist_error_t perr;
    if (snapshot_list(sv->dd.path, &v, &n, &perr) != PERSIST_OK ||
        logscan_first_lsn(sv->log_dir, &first, &perr) != PERSIST_OK) {
        printf("data directory %s: %s\n", sv->dd.path, perr.msg);
        free(v);
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4200];
        snapshot_header_t hdr;
        uint64_t count = 0;
        snprintf(path, sizeof(path), "%s/%s", sv->dd.path, v[i].name);
        if (snapshot_verify(path, &hdr, &count, &perr) != PERSIST_OK) {
            printf("snapshot %s: %s\n", path, perr.msg);
            rc = 1;
            continue;
        }
        printf("snapshot %s is consistent (%llu items, LSN %llu)\n", path, (unsigned long long)count,
               (unsigned long long)hdr.start_lsn);
        if (!any_valid)
            newest_valid = hdr.start_lsn;
        any_valid = true;
    }
    free(v);
    uint64_t base = any_valid ? newest_valid : 0;
    if (first > base + 1) {
        printf("log %s starts at LSN %llu: %s cannot be completed from it\n", sv->log_dir, (unsigned long long)first,
               any_valid ? "the newest valid snapshot" : "with no valid snapshot, the data");
        rc = 1;
    }
    return rc;
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
        printf("region %s: absent (it is rebuilt from the snapshots and the log at start)\n", sv->dd.region_path);
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
    if (check_snapshots(sv) != 0)
        rc = 1;
    return rc;
}
