/*
 * faultctl.c — the tests' side of the fault-injection shim (faultctl.h).
 */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tests/faultctl.h"

static fs_ctl_t *ctl;
static char ctl_path[64];

int faultctl_init(const char *shim)
{
    snprintf(ctl_path, sizeof(ctl_path), "/tmp/fickle-faults-XXXXXX");
    int fd = mkstemp(ctl_path);
    if (fd < 0) {
        perror("mkstemp");
        return -1;
    }
    if (ftruncate(fd, sizeof(fs_ctl_t)) != 0) {
        perror("ftruncate (fault control block)");
        close(fd);
        return -1;
    }
    void *p = mmap(NULL, sizeof(fs_ctl_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        perror("mmap (fault control block)");
        return -1;
    }
    ctl = p;
    ctl->magic = FS_MAGIC;
    setenv("FAULTSHIM_CTL", ctl_path, 1);
    setenv("LD_PRELOAD", shim, 1);
    /* A sanitizer build: its runtime need not come first for the shim.
     * Added to what the caller set (CI sets ASAN_OPTIONS too). */
    const char *asan = getenv("ASAN_OPTIONS");
    if (asan == NULL || strstr(asan, "verify_asan_link_order") == NULL) {
        char opts[512];
        snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "");
        setenv("ASAN_OPTIONS", opts, 1);
    }
    return 0;
}

void faultctl_reset(void)
{
    faultctl_clear_all();
    __atomic_store_n(&ctl->nrules, 0, __ATOMIC_RELEASE);
    memset(ctl->rules, 0, sizeof(ctl->rules));
}

void faultctl_done(void)
{
    unsetenv("LD_PRELOAD");
    unsetenv("FAULTSHIM_CTL");
    if (ctl) {
        munmap(ctl, sizeof(fs_ctl_t));
        unlink(ctl_path);
        ctl = NULL;
    }
}

int faultctl_arm(unsigned calls, fs_action_t action, int err, const char *proc, const char *path, uint64_t skip,
                 int64_t count)
{
    ck_assert_msg(ctl, "faultctl_init first");
    uint32_t id = ctl->nrules;
    ck_assert_msg(id < FS_MAX_RULES, "more than %d fault rules", FS_MAX_RULES);
    fs_rule_t *r = &ctl->rules[id];
    memset(r, 0, sizeof(*r));
    r->calls = calls;
    r->action = action;
    r->err = err;
    snprintf(r->proc, sizeof(r->proc), "%s", proc ? proc : "");
    snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
    r->skip = skip;
    r->count = count;
    __atomic_store_n(&r->active, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&ctl->nrules, id + 1, __ATOMIC_RELEASE);
    return (int)id;
}

void faultctl_clear(int id)
{
    __atomic_store_n(&ctl->rules[id].active, 0, __ATOMIC_RELEASE);
}

void faultctl_clear_all(void)
{
    for (uint32_t i = 0; ctl && i < ctl->nrules; i++)
        faultctl_clear((int)i);
}

uint64_t faultctl_fired(int id)
{
    return __atomic_load_n(&ctl->rules[id].fired, __ATOMIC_RELAXED);
}

bool faultctl_wait_fired(int id, uint64_t n, int ms)
{
    for (int waited = 0; faultctl_fired(id) < n; waited += 10) {
        if (waited >= ms)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    return true;
}
