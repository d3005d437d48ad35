/*
 * children.c — fork, death description, respawn back-off.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "supervisor/children.h"

uint64_t children_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The parent's handlers (libevent's signal pipe) must not fire in a child. */
static void reset_signals(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1, SIGUSR2};
    struct sigaction sa = {.sa_handler = SIG_DFL};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    sa.sa_handler = SIG_IGN; /* a vanished client must not kill a worker */
    sigaction(SIGPIPE, &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int children_spawn(child_t *c, child_main_fn fn, void *arg)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        reset_signals();
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            _exit(70);
        if (getppid() != parent) /* the parent died before prctl took effect */
            _exit(0);
        _exit(fn(arg, c->kind, c->index));
    }
    c->pid = pid;
    c->started_ms = children_now_ms();
    c->respawn_at_ms = 0;
    return 0;
}

const char *children_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status))
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
                 WCOREDUMP(status) ? ", core dumped" : "");
    else
        snprintf(buf, len, "stopped with wait status 0x%x", status);
    return buf;
}

void children_died(child_t *c, uint64_t now_ms)
{
    bool stable = now_ms - c->started_ms >= CHILD_STABLE_MS;
    if (stable || c->backoff_ms == 0)
        c->backoff_ms = stable ? 0 : CHILD_BACKOFF_MIN_MS;
    else
        c->backoff_ms = c->backoff_ms * 2 > CHILD_BACKOFF_MAX_MS ? CHILD_BACKOFF_MAX_MS : c->backoff_ms * 2;
    c->pid = 0;
    c->restarts++;
    c->respawn_at_ms = now_ms + c->backoff_ms;
}
