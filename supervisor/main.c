/*
 * main.c — fickled: parse the configuration, lock the data directory,
 * create or attach the region, bind the sockets, then hand over to the
 * run loop (loop.c). Every failure before serving is one clear log line
 * and a non-zero exit: 2 for a bad option, 1 for anything else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "frontend/proto.h"
#include "supervisor/listen.h"
#include "supervisor/supervisor.h"

#define LISTEN_BACKLOG 511
#define METRICS_BACKLOG 64 /* scrapers and health checkers: a few */

static void store_logger(int level, const char *msg)
{
    log_msg(level == 0 ? LOG_ERR : level == 1 ? LOG_WARNING : LOG_NOTICE, "store: %s", msg);
}

/* One socket per worker on each TCP port (SO_REUSEPORT); port 0 (tests)
 * binds once to learn the port, then binds the others to it. */
static int bind_port(supervisor_t *sv, uint16_t want, int *fds, uint16_t *bound)
{
    char err[512];
    uint16_t port = want;
    for (unsigned i = 0; i < sv->nworkers; i++) {
        fds[i] = listen_tcp(sv->cfg.bind, port, LISTEN_BACKLOG, err, sizeof(err));
        if (fds[i] < 0) {
            log_msg(LOG_ERR, "cannot listen: %s", err);
            return -1;
        }
        if (port == 0)
            port = listen_port(fds[i]);
    }
    *bound = port;
    return 0;
}

static int bind_sockets(supervisor_t *sv)
{
    for (unsigned i = 0; i < RUNTIME_MAX_WORKERS; i++)
        sv->native_fds[i] = sv->resp_fds[i] = -1;
    sv->unix_fd = -1;
    if (sv->cfg.port && bind_port(sv, sv->cfg.port, sv->native_fds, &sv->port) != 0)
        return -1;
    if (sv->cfg.resp_port && bind_port(sv, sv->cfg.resp_port, sv->resp_fds, &sv->resp_port) != 0)
        return -1;
    if (sv->cfg.unixsocket[0]) {
        char err[512];
        sv->unix_fd = listen_unix(sv->cfg.unixsocket, sv->cfg.unixsocketperm, LISTEN_BACKLOG, err, sizeof(err));
        if (sv->unix_fd < 0) {
            log_msg(LOG_ERR, "cannot listen: %s", err);
            return -1;
        }
    }
    if (sv->cfg.metrics_port) {
        char err[512];
        sv->metrics_fd = listen_tcp(sv->cfg.metrics_bind, sv->cfg.metrics_port, METRICS_BACKLOG, err, sizeof(err));
        if (sv->metrics_fd < 0) {
            log_msg(LOG_ERR, "cannot listen (metrics): %s", err);
            return -1;
        }
        sv->metrics_port = listen_port(sv->metrics_fd);
    }
    if (!sv->cfg.port && !sv->cfg.resp_port && !sv->cfg.unixsocket[0]) {
        log_msg(LOG_ERR, "nothing to serve: --port, --resp-port and --unixsocket are all off");
        return -1;
    }
    return 0;
}

static void build_worker_confs(supervisor_t *sv)
{
    uint64_t max_request = sv->cfg.max_value_size + (1u << 20);
    if (max_request < (64u << 20))
        max_request = 64u << 20;
    for (unsigned i = 0; i < sv->nworkers; i++) {
        worker_conf_t *w = &sv->wconf[i];
        *w = (worker_conf_t){.index = i, .store = sv->store, .runtime = sv->rt, .max_request = max_request,
                             .shutdown_grace_ms = sv->cfg.shutdown_grace_ms};
        if (sv->native_fds[i] >= 0)
            w->listeners[w->nlisteners++] = (worker_listener_t){sv->native_fds[i], &proto_native};
        if (sv->resp_fds[i] >= 0)
            w->listeners[w->nlisteners++] = (worker_listener_t){sv->resp_fds[i], &proto_resp};
        if (sv->unix_fd >= 0)
            w->listeners[w->nlisteners++] = (worker_listener_t){sv->unix_fd, &proto_native};
    }
}

/* Owner-only, like every file fickled makes; an older file's mode is
 * tightened too (O_CREAT keeps it). */
static int write_pidfile(const char *path)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, buf, (size_t)n) == n;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        log_msg(LOG_ERR, "cannot write the pid file %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* Detaches from the terminal (double fork, setsid); standard streams go to
 * /dev/null, so the log should be a file. */
static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(LOG_ERR, "fork (daemonize): %s", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0) {
        log_msg(LOG_ERR, "setsid: %s", strerror(errno));
        return -1;
    }
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0) {
        log_msg(LOG_ERR, "open /dev/null: %s", strerror(errno));
        return -1;
    }
    /* Standard error too: a daemon must not hold its starter's terminal or
     * pipe open; the log goes to --log-file (without one it is lost, as
     * with Redis). */
    if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) {
        log_msg(LOG_ERR, "dup2 (daemonize): %s", strerror(errno));
        return -1;
    }
    if (fd > STDERR_FILENO)
        close(fd);
    return 0;
}

/* The persister's wake-up fd and one durability fd per worker. */
static int make_eventfds(supervisor_t *sv)
{
    sv->rt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (unsigned i = 0; i < RUNTIME_MAX_WORKERS; i++)
        sv->rt->durable_fds[i] = i < sv->nworkers ? eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) : -1;
    bool ok = sv->rt->wake_fd >= 0;
    for (unsigned i = 0; i < sv->nworkers; i++)
        ok = ok && sv->rt->durable_fds[i] >= 0;
    if (!ok)
        log_msg(LOG_ERR, "eventfd: %s", strerror(errno));
    return ok ? 0 : -1;
}

/* How recovery went, and the newest snapshot on disk: LASTSAVE answers
 * its time (or, with none, the start time, as Redis does). */
static void publish_recovery(supervisor_t *sv)
{
    runtime_t *rt = sv->rt;
    rt->recovery = sv->recovery;
    atomic_store_explicit(&rt->snapshot.last_ok_ms, sv->snapshot_ms ? sv->snapshot_ms : rt->started_ms,
                          memory_order_relaxed);
    atomic_store_explicit(&rt->snapshot.last_lsn, sv->snapshot_lsn, memory_order_relaxed);
}

static int setup(supervisor_t *sv)
{
    char err[1024];
    if (sv->cfg.daemonize && daemonize() != 0)
        return -1;
    if (geteuid() == 0)
        log_msg(LOG_WARNING, "running as root: a dedicated user is safer");
    if (datadir_open(&sv->dd, sv->cfg.data_dir, sv->cfg.shm_dir, err, sizeof(err)) != 0) {
        log_msg(LOG_ERR, "%s", err);
        return -1;
    }
    if (sv->dd.loose_mode)
        log_msg(LOG_WARNING, "data directory %s is readable by others: chmod 700 it", sv->dd.path);
    if (sv->cfg.check_only)
        return 0;
    if (recovery_open_region(sv) != 0)
        return -1;
    if (sv->cfg.pidfile[0] && write_pidfile(sv->cfg.pidfile) != 0)
        return -1;
    sv->nworkers = sv->cfg.workers;
    if (bind_sockets(sv) != 0)
        return -1;
    sv->rt = runtime_create(sv->nworkers);
    if (sv->rt == NULL) {
        log_msg(LOG_ERR, "mmap (runtime page): %s", strerror(errno));
        return -1;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sv->rt->started_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    sv->rt->supervisor_pid = getpid();
    sv->rt->port = sv->port;
    sv->rt->resp_port = sv->resp_port;
    snprintf(sv->rt->fsync, sizeof(sv->rt->fsync), "%s", config_fsync_name(sv->cfg.fsync));
    sv->rt->fsync_always = sv->cfg.fsync == FSYNC_ALWAYS;
    publish_recovery(sv);
    if (make_eventfds(sv) != 0)
        return -1;
    supervisor_publish_settings(sv);
    build_worker_confs(sv);
    return 0;
}

void supervisor_publish_settings(supervisor_t *sv)
{
    runtime_settings_t s = {.maxclients = sv->cfg.maxclients,
                            .timeout_s = sv->cfg.timeout_s,
                            .max_output = sv->cfg.max_output,
                            .protected_mode = sv->cfg.protected_mode,
                            .log_level = sv->cfg.log_level};
    snprintf(s.requirepass, sizeof(s.requirepass), "%s", sv->cfg.requirepass);
    runtime_settings_write(sv->rt, &s);
}

int main(int argc, char **argv)
{
    static supervisor_t sv;
    char err[1024];
    sv.unix_fd = -1;
    sv.metrics_fd = -1;
    sv.argc = argc;
    sv.argv = argv;
    sv.dd.lock_fd = -1;
    switch (config_parse(&sv.cfg, argc, argv, err, sizeof(err))) {
    case CONFIG_EXIT_OK: return 0;
    case CONFIG_ERROR: fprintf(stderr, "fickled: %s (see --help)\n", err); return 2;
    case CONFIG_RUN: break;
    }
    if (log_open(sv.cfg.log_file, sv.cfg.log_level, "supervisor") != 0) {
        fprintf(stderr, "fickled: cannot open the log file %s: %s\n", sv.cfg.log_file, strerror(errno));
        return 1;
    }
    store_set_logger(store_logger);
    int status = setup(&sv);
    if (status == 0)
        status = sv.cfg.check_only ? recovery_check(&sv) : supervisor_run(&sv);
    else
        status = 1;
    if (sv.store)
        store_close(sv.store);
    if (sv.cfg.pidfile[0] && !sv.cfg.check_only && status == 0)
        unlink(sv.cfg.pidfile);
    if (sv.cfg.unixsocket[0] && sv.unix_fd >= 0)
        unlink(sv.cfg.unixsocket);
    datadir_close(&sv.dd);
    return status;
}
