/*
 * snapper.c — the snapshot thread and its hand-shake with the persister's
 * loop (see snapper.h). A mutex and a condition variable guard the few
 * fields the two threads share.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "persister/snapper.h"

struct snapper {
    char region[PATH_MAX], dir[PATH_MAX];
    int wake_fd;
    pthread_t thread;
    bool running;              /* loop's view: started, not yet reaped */
    pthread_mutex_t mu;        /* guards everything below */
    pthread_cond_t cv;         /* the thread waits for sync_answered */
    uint64_t deadline_ms;
    uint64_t sync_lsn;         /* wanted, 0 = none */
    bool sync_answered, sync_ok;
    bool finished;
    persist_status_t st;
    snaptake_result_t res;
    persist_error_t err;
};

uint64_t snapper_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wake(snapper_t *s)
{
    uint64_t one = 1;
    if (s->wake_fd >= 0 && write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_msg(LOG_WARNING, "snapshot thread: write (eventfd): %s", strerror(errno));
}

static bool past_deadline(snapper_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t d = s->deadline_ms;
    pthread_mutex_unlock(&s->mu);
    return d && snapper_now_ms() >= d;
}

static bool cancelled(void *arg)
{
    return past_deadline(arg);
}

/* snaptake's wait_log: asks the loop, sleeps until it answers or the
 * deadline passes (then the loop's late answer is ignored). */
static int wait_log(void *arg, uint64_t lsn)
{
    snapper_t *s = arg;
    pthread_mutex_lock(&s->mu);
    s->sync_lsn = lsn ? lsn : 1;
    s->sync_answered = false;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    pthread_mutex_lock(&s->mu);
    while (!s->sync_answered && !(s->deadline_ms && snapper_now_ms() >= s->deadline_ms)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    bool ok = s->sync_answered && s->sync_ok;
    s->sync_lsn = 0;
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

static void *thread_main(void *arg)
{
    snapper_t *s = arg;
    store_t *st = NULL;
    persist_error_t err = {0};
    snaptake_result_t res = {0};
    persist_status_t rc;
    store_err_t se = store_attach(s->region, &st);
    if (se != STORE_OK) {
        rc = persist_fail(&err, PERSIST_INVALID, 0, 0, "snapshot: attaching %s: %s (%s)", s->region,
                          store_strerror(se), store_error_detail());
    } else {
        snaptake_opts_t o = {.wait_log = wait_log, .cancelled = cancelled, .arg = s};
        rc = snaptake_run(st, s->dir, &o, &res, &err);
        store_close(st);
    }
    pthread_mutex_lock(&s->mu);
    s->st = rc;
    s->res = res;
    s->err = err;
    s->finished = true;
    pthread_mutex_unlock(&s->mu);
    wake(s);
    return NULL;
}

snapper_t *snapper_new(const char *region_path, const char *dir, int wake_fd)
{
    snapper_t *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->region, sizeof(s->region), "%s", region_path);
    snprintf(s->dir, sizeof(s->dir), "%s", dir);
    s->wake_fd = wake_fd;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

int snapper_start(snapper_t *s, uint64_t deadline_ms)
{
    if (s->running) {
        errno = EBUSY;
        return -1;
    }
    s->deadline_ms = deadline_ms;
    s->finished = false;
    s->sync_lsn = 0;
    sigset_t all, old;
    sigfillset(&all);
    /* The thread inherits the mask: signals stay the loop's. */
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc == 0) {
        rc = pthread_create(&s->thread, NULL, thread_main, s);
        int rc2 = pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0 && rc2 != 0)
            log_msg(LOG_WARNING, "snapshot thread: pthread_sigmask: %s", strerror(rc2));
    }
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    s->running = true;
    return 0;
}

bool snapper_running(const snapper_t *s)
{
    return s->running;
}

void snapper_set_deadline(snapper_t *s, uint64_t deadline_ms)
{
    pthread_mutex_lock(&s->mu);
    s->deadline_ms = deadline_ms;
    pthread_mutex_unlock(&s->mu);
    pthread_cond_broadcast(&s->cv);
}

uint64_t snapper_sync_wanted(snapper_t *s)
{
    if (!s->running)
        return 0;
    pthread_mutex_lock(&s->mu);
    uint64_t lsn = s->sync_answered ? 0 : s->sync_lsn;
    pthread_mutex_unlock(&s->mu);
    return lsn;
}

void snapper_sync_answer(snapper_t *s, bool ok)
{
    pthread_mutex_lock(&s->mu);
    s->sync_answered = true;
    s->sync_ok = ok;
    pthread_mutex_unlock(&s->mu);
    pthread_cond_broadcast(&s->cv);
}

bool snapper_attention(snapper_t *s)
{
    if (!s->running)
        return false;
    pthread_mutex_lock(&s->mu);
    bool a = s->finished || (s->sync_lsn && !s->sync_answered);
    pthread_mutex_unlock(&s->mu);
    return a;
}

bool snapper_reap(snapper_t *s, persist_status_t *st, snaptake_result_t *res, persist_error_t *err)
{
    if (!s->running)
        return false;
    pthread_mutex_lock(&s->mu);
    bool done = s->finished;
    pthread_mutex_unlock(&s->mu);
    if (!done)
        return false;
    int rc = pthread_join(s->thread, NULL);
    if (rc != 0)
        log_msg(LOG_WARNING, "snapshot thread: pthread_join: %s", strerror(rc));
    s->running = false;
    *st = s->st;
    *res = s->res;
    *err = s->err;
    return true;
}

void snapper_free(snapper_t *s)
{
    if (s == NULL)
        return;
    if (s->running) {
        snapper_set_deadline(s, 1); /* long past: the thread gives up at its next check */
        persist_status_t st;
        snaptake_result_t res;
        persist_error_t err;
        while (!snapper_reap(s, &st, &res, &err)) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
