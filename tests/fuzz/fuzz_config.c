/*
 * fuzz_config.c — libFuzzer target for fickled's config-file parser
 * (supervisor/fickled_config.c). `make fuzz` builds and runs it; `make
 * check` replays its corpus and regressions (tests/fuzz/fuzz.mk,
 * docs/testing.md).
 *
 * The input is the file, read through an in-memory file. Besides the
 * sanitizers' checks it asserts: a failure names the file and a line; a
 * success leaves every setting in its documented range with its strings
 * terminated inside their fields; loading is deterministic; and a file of
 * nothing but comments and blank lines, however long, changes nothing.
 */
#include "config.h"

#include <string.h>

#include "common/log.h"
#include "store/store.h"
#include "supervisor/fickled_config.h"
#include "tests/fuzz/fuzz_util.h"

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check_ranges(const config_t *c)
{
    FZ_CHECK(TERMINATED(c->bind) && TERMINATED(c->unixsocket) && TERMINATED(c->data_dir));
    FZ_CHECK(TERMINATED(c->shm_dir) && TERMINATED(c->requirepass) && TERMINATED(c->log_file));
    FZ_CHECK(TERMINATED(c->pidfile) && TERMINATED(c->config_file));
    FZ_CHECK(c->unixsocketperm <= 0777);
    FZ_CHECK(c->workers >= 1 && c->workers <= 256);
    FZ_CHECK(c->memory >= STORE_MIN_REGION && c->memory <= STORE_MAX_REGION);
    FZ_CHECK(c->max_value_size >= 1 && c->max_value_size <= STORE_MAX_VALUE_LIMIT);
    FZ_CHECK(c->ring_size <= STORE_MAX_REGION / 2);
    FZ_CHECK(c->segment_size >= (1u << 20) && c->segment_size <= (1ull << 40));
    FZ_CHECK(c->snapshot_log_size <= (1ull << 50));
    FZ_CHECK(c->fsync == FSYNC_ALWAYS || c->fsync == FSYNC_EVERYSEC || c->fsync == FSYNC_NO);
    FZ_CHECK(c->maxclients <= 1000000 && c->timeout_s <= 100000000 && c->shutdown_grace_ms <= 600000);
    FZ_CHECK(c->log_level == LOG_DEBUG || c->log_level == LOG_INFO || c->log_level == LOG_NOTICE ||
             c->log_level == LOG_WARNING || c->log_level == LOG_ERR);
}

/* True if every line is blank or a comment as config files define them:
 * first character other than space or tab is '#', '\r', '\n' or none. */
static bool only_comments(const uint8_t *p, size_t n)
{
    bool start = true, comment = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            start = true;
            comment = false;
        } else if (start && (p[i] == ' ' || p[i] == '\t')) {
            continue;
        } else if (start) {
            start = false;
            comment = p[i] == '#' || p[i] == '\r';
            if (!comment)
                return false;
        }
    }
    (void)comment;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(data, size);
    static config_t cfg, again, dflt;
    char err[1024], err2[1024];
    config_defaults(&cfg);
    config_defaults(&again);
    config_defaults(&dflt);
    memset(err, 'x', sizeof(err));
    int rc = config_load_file(&cfg, path, err, sizeof(err));
    int rc2 = config_load_file(&again, path, err2, sizeof(err2));
    FZ_CHECK(rc == 0 || rc == -1);
    FZ_CHECK(rc == rc2);
    if (rc != 0) {
        size_t plen = strlen(path);
        FZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL && strcmp(err, err2) == 0);
        FZ_CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':' && err[plen + 1] >= '1' && err[plen + 1] <= '9');
        FZ_CHECK(!only_comments(data, size));
        return 0;
    }
    check_ranges(&cfg);
    FZ_CHECK(memcmp(&cfg, &again, sizeof(cfg)) == 0);
    if (only_comments(data, size))
        FZ_CHECK(memcmp(&cfg, &dflt, sizeof(cfg)) == 0);
    return 0;
}
