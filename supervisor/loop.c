/*
 * loop.c — the supervisor's run loop: fork the children (persister,
 * fk-metrics, workers), wait for signals with sigtimedwait (no handlers
 * at all, so nothing async-signal-unsafe can run), reap and respawn
 * children with back-off, reload on SIGHUP, stop gracefully on
 * SIGTERM/SIGINT. The supervisor runs one thread and parses no network
 * input: its death would take every child with it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "persister/persister.h"
#include "supervisor/metrics.h"
#include "supervisor/supervisor.h"

static void close_fd(int fd, const char *what)
{
    if (fd >= 0 && close(fd) != 0)
        log_msg(LOG_WARNING, "close (%s, fd %d): %s", what, fd, strerror(errno));
}

/* The workers' listening sockets except worker keep's (-1: all): a dead
 * worker's queue is never drained by the wrong process. */
static void close_worker_sockets(supervisor_t *sv, int keep)
{
    for (unsigned i = 0; i < sv->nworkers; i++)
        if ((int)i != keep) {
            close_fd(sv->native_fds[i], "native socket");
            close_fd(sv->resp_fds[i], "resp socket");
        }
}

/* The persister needs none of the sockets. */
static int persister_entry(supervisor_t *sv)
{
    log_set_role("persister");
    close_worker_sockets(sv, -1);
    close_fd(sv->unix_fd, "unix socket");
    close_fd(sv->metrics_fd, "metrics socket");
    persister_conf_t pc = {.store = sv->store, .runtime = sv->rt, .segment_size = sv->cfg.segment_size,
                           .snapshot_log_size = sv->cfg.snapshot_log_size,
                           .fsync = sv->cfg.fsync == FSYNC_ALWAYS ? PERSIST_FSYNC_ALWAYS
                                    : sv->cfg.fsync == FSYNC_NO   ? PERSIST_FSYNC_NO
                                                                  : PERSIST_FSYNC_EVERYSEC};
    snprintf(pc.log_dir, sizeof(pc.log_dir), "%s", sv->log_dir);
    snprintf(pc.data_dir, sizeof(pc.data_dir), "%s", sv->dd.path);
    snprintf(pc.region_path, sizeof(pc.region_path), "%s", sv->dd.region_path);
    return persister_main(&pc);
}

/* fk-metrics keeps only the metrics socket; it reads the region through
 * the inherited store handle and never writes it. */
static int metrics_entry(supervisor_t *sv)
{
    log_set_role("metrics");
    close_worker_sockets(sv, -1);
    close_fd(sv->unix_fd, "unix socket");
    return metrics_main(sv->metrics_fd, sv->store, sv->rt);
}

static int worker_entry(supervisor_t *sv, int index)
{
    char role[32];
    snprintf(role, sizeof(role), "worker %d", index);
    log_set_role(role);
    close_fd(sv->metrics_fd, "metrics socket");
    close_worker_sockets(sv, index);
    return worker_main(&sv->wconf[index]);
}

static int child_entry(void *arg, child_kind_t kind, int index)
{
    supervisor_t *sv = arg;
    char title[16];
    /* The thread name ps, top and the tests' fault shim see (threads
     * inherit it: the snapshot thread is "fk-persister" too). */
    snprintf(title, sizeof(title), kind == CHILD_PERSISTER ? "fk-persister" : kind == CHILD_METRICS ? "fk-metrics"
                                                                                                    : "fk-worker-%d",
             index);
    if (prctl(PR_SET_NAME, title) != 0)
        log_msg(LOG_WARNING, "prctl(PR_SET_NAME %s): %s", title, strerror(errno));
    if (kind == CHILD_PERSISTER)
        return persister_entry(sv);
    if (kind == CHILD_METRICS)
        return metrics_entry(sv);
    return worker_entry(sv, index);
}

static const char *child_name(const child_t *c, char *buf, size_t len)
{
    if (c->kind == CHILD_WORKER)
        snprintf(buf, len, "worker %d", c->index);
    else
        snprintf(buf, len, c->kind == CHILD_PERSISTER ? "persister" : "metrics");
    return buf;
}

/* The runtime page's pid of c (0 while none runs: INFO, /health) and its
 * respawn counter. */
static _Atomic int32_t *child_pid_slot(supervisor_t *sv, const child_t *c, _Atomic uint64_t **restarts)
{
    if (c->kind == CHILD_PERSISTER) {
        *restarts = &sv->rt->persister.restarts;
        return &sv->rt->persister.pid;
    }
    if (c->kind == CHILD_METRICS) {
        *restarts = &sv->rt->metrics.restarts;
        return &sv->rt->metrics.pid;
    }
    *restarts = &sv->rt->workers[c->index].restarts;
    return &sv->rt->workers[c->index].pid;
}

static void spawn(supervisor_t *sv, child_t *c)
{
    char name[32];
    if (children_spawn(c, child_entry, sv) != 0) {
        log_msg(LOG_WARNING, "fork (%s): %s; retrying", child_name(c, name, sizeof(name)), strerror(errno));
        children_died(c, children_now_ms());
        return;
    }
    /* Children store their own pid too (the persister); publishing it
     * here leaves no gap in which /health counts a running one as dead. */
    _Atomic uint64_t *restarts;
    atomic_store_explicit(child_pid_slot(sv, c, &restarts), (int32_t)c->pid, memory_order_relaxed);
    if (c->restarts++ > 0)
        atomic_fetch_add_explicit(restarts, 1, memory_order_relaxed);
    log_msg(LOG_INFO, "%s started (pid %d)", child_name(c, name, sizeof(name)), (int)c->pid);
}

#define MAX_CHILDREN (RUNTIME_MAX_WORKERS + 2)

/* Every child the supervisor runs: the persister, fk-metrics if the
 * metrics port is on, the workers. Returns how many are in out. */
static size_t all_children(supervisor_t *sv, child_t *out[MAX_CHILDREN])
{
    size_t n = 0;
    out[n++] = &sv->persister;
    if (sv->metrics_fd >= 0)
        out[n++] = &sv->metrics;
    for (unsigned i = 0; i < sv->nworkers; i++)
        out[n++] = &sv->workers[i];
    return n;
}

/* The child table entry of pid, or NULL. */
static child_t *find_child(supervisor_t *sv, pid_t pid)
{
    child_t *all[MAX_CHILDREN];
    for (size_t i = 0, n = all_children(sv, all); i < n; i++)
        if (all[i]->pid == pid)
            return all[i];
    return NULL;
}

/* A dead worker's clients are gone with it: take them off the count. */
static void forget_clients(supervisor_t *sv, int index)
{
    worker_stats_t *ws = &sv->rt->workers[index];
    uint64_t n = atomic_exchange_explicit(&ws->connections_current, 0, memory_order_relaxed);
    atomic_fetch_sub_explicit(&sv->rt->clients, (uint32_t)n, memory_order_relaxed);
}

static void reap(supervisor_t *sv, bool stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        child_t *c = find_child(sv, pid);
        if (c == NULL)
            continue;
        char how[128], name[32];
        children_describe(status, how, sizeof(how));
        child_name(c, name, sizeof(name));
        c->pid = 0;
        if (c->kind == CHILD_WORKER)
            forget_clients(sv, c->index);
        _Atomic uint64_t *restarts;
        atomic_store_explicit(child_pid_slot(sv, c, &restarts), 0, memory_order_relaxed); /* none running */
        if (stopping) {
            log_msg(LOG_INFO, "%s (pid %d) %s", name, (int)pid, how);
            continue;
        }
        uint64_t now = children_now_ms();
        children_died(c, now);
        log_msg(LOG_WARNING, "%s (pid %d) %s; restarting it in %llu ms", name, (int)pid, how,
                (unsigned long long)(c->respawn_at_ms > now ? c->respawn_at_ms - now : 0));
    }
}

static void respawn_due(supervisor_t *sv)
{
    uint64_t now = children_now_ms();
    child_t *all[MAX_CHILDREN];
    for (size_t i = 0, n = all_children(sv, all); i < n; i++)
        if (all[i]->pid == 0 && all[i]->respawn_at_ms <= now)
            spawn(sv, all[i]);
}

/* Milliseconds until the next respawn is due (capped at 1 s). */
static uint64_t next_wake_ms(supervisor_t *sv)
{
    uint64_t now = children_now_ms(), wait = 1000;
    child_t *all[MAX_CHILDREN];
    for (size_t i = 0, n = all_children(sv, all); i < n; i++) {
        const child_t *c = all[i];
        if (c->pid == 0)
            wait = c->respawn_at_ms <= now ? 0 : (c->respawn_at_ms - now < wait ? c->respawn_at_ms - now : wait);
    }
    return wait;
}

static void signal_child(const child_t *c, int sig)
{
    if (c->pid > 0 && kill(c->pid, sig) != 0 && errno != ESRCH)
        log_msg(LOG_WARNING, "kill(%d, %d): %s", (int)c->pid, sig, strerror(errno));
}

static void signal_workers(supervisor_t *sv, int sig)
{
    for (unsigned i = 0; i < sv->nworkers; i++)
        signal_child(&sv->workers[i], sig);
}

static unsigned running(const supervisor_t *sv)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sv->nworkers; i++)
        n += sv->workers[i].pid > 0;
    return n;
}

/* SIGHUP: re-reads the configuration (file, then command line) and applies
 * what can change while running; the rest needs a restart. */
static void reload(supervisor_t *sv)
{
    config_t next;
    char err[1024];
    if (log_reopen() != 0)
        log_msg(LOG_WARNING, "reopening the log file %s: %s", sv->cfg.log_file, strerror(errno));
    if (config_parse(&next, sv->argc, sv->argv, err, sizeof(err)) != CONFIG_RUN) {
        log_msg(LOG_WARNING, "SIGHUP: configuration not reloaded: %s", err);
    } else {
        sv->cfg.maxclients = next.maxclients;
        sv->cfg.timeout_s = next.timeout_s;
        sv->cfg.max_output = next.max_output;
        sv->cfg.protected_mode = next.protected_mode;
        memcpy(sv->cfg.requirepass, next.requirepass, sizeof(next.requirepass));
        sv->cfg.log_level = next.log_level;
        log_set_level(next.log_level);
        supervisor_publish_settings(sv);
        log_msg(LOG_NOTICE, "SIGHUP: log reopened; maxclients, timeout, max-output, protected-mode, requirepass "
                            "and log-level reloaded (other options need a restart)");
    }
    signal_workers(sv, SIGHUP);
    signal_child(&sv->metrics, SIGHUP); /* its log level */
}

/* Waits for one of our signals for up to ms. Returns it, or 0. */
static int wait_signal(const sigset_t *set, uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
    int sig = sigtimedwait(set, NULL, &ts);
    if (sig < 0 && errno != EAGAIN && errno != EINTR)
        log_msg(LOG_WARNING, "sigtimedwait: %s", strerror(errno));
    return sig < 0 ? 0 : sig;
}

/* Asks c to stop (SIGTERM), waits up to ms for it, then kills it. Used
 * for fk-metrics (nothing to finish) and the persister, after the
 * workers: it writes what the ring still holds, fsyncs, and exits. */
static void stop_child(supervisor_t *sv, const sigset_t *set, child_t *c, uint64_t ms)
{
    if (c->pid <= 0)
        return;
    char name[32];
    child_name(c, name, sizeof(name));
    signal_child(c, SIGTERM);
    uint64_t deadline = children_now_ms() + ms;
    while (c->pid > 0 && children_now_ms() < deadline) {
        wait_signal(set, 100);
        reap(sv, true);
    }
    if (c->pid > 0) {
        log_msg(LOG_WARNING, "the %s did not stop in %llu ms; killing it", name, (unsigned long long)ms);
        signal_child(c, SIGKILL);
        while (c->pid > 0) {
            wait_signal(set, 100);
            reap(sv, true);
        }
    }
}

/* Asks workers to finish their clients, then kills what is left after the
 * grace period. */
static void stop_workers(supervisor_t *sv, const sigset_t *set)
{
    signal_workers(sv, SIGTERM);
    uint64_t deadline = children_now_ms() + sv->cfg.shutdown_grace_ms + 2000;
    while (running(sv) > 0 && children_now_ms() < deadline) {
        wait_signal(set, 100);
        reap(sv, true);
    }
    if (running(sv) > 0) {
        log_msg(LOG_WARNING, "%u workers did not stop in time; killing them", running(sv));
        signal_workers(sv, SIGKILL);
        while (running(sv) > 0) {
            wait_signal(set, 100);
            reap(sv, true);
        }
    }
}

int supervisor_run(supervisor_t *sv)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        log_msg(LOG_ERR, "sigprocmask: %s", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sv->persister = (child_t){.kind = CHILD_PERSISTER, .index = -1};
    spawn(sv, &sv->persister);
    sv->metrics = (child_t){.kind = CHILD_METRICS, .index = -1};
    if (sv->metrics_fd >= 0)
        spawn(sv, &sv->metrics);
    for (unsigned i = 0; i < sv->nworkers; i++) {
        sv->workers[i] = (child_t){.kind = CHILD_WORKER, .index = (int)i};
        spawn(sv, &sv->workers[i]);
    }
    char metrics[48] = "";
    if (sv->metrics_fd >= 0)
        snprintf(metrics, sizeof(metrics), ", metrics port %u", sv->metrics_port);
    log_msg(LOG_NOTICE, "fickled %s ready to accept connections: native port %u, resp port %u%s%s%s, %u workers, "
                        "data dir %s",
            PACKAGE_VERSION, sv->port, sv->resp_port, sv->unix_fd >= 0 ? ", unix socket " : "",
            sv->unix_fd >= 0 ? sv->cfg.unixsocket : "", metrics, sv->nworkers, sv->dd.path);
    for (;;) {
        int sig = wait_signal(&set, next_wake_ms(sv));
        if (sig == SIGTERM || sig == SIGINT) {
            log_msg(LOG_NOTICE, "received %s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            break;
        }
        if (sig == SIGHUP)
            reload(sv);
        reap(sv, false);
        respawn_due(sv);
    }
    stop_child(sv, &set, &sv->metrics, 5000);
    stop_workers(sv, &set);
    stop_child(sv, &set, &sv->persister, 30000);
    log_msg(LOG_NOTICE, "fickled stopped");
    return 0;
}
