/*
 * children.h — the supervisor's table of child processes: fork, describe
 * how each died, respawn with back-off.
 */
#ifndef FICKLE_SUPERVISOR_CHILDREN_H
#define FICKLE_SUPERVISOR_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum { CHILD_WORKER, CHILD_PERSISTER, CHILD_METRICS } child_kind_t;

/* Runs in the child after fork; its return value is the exit status. */
typedef int (*child_main_fn)(void *arg, child_kind_t kind, int index);

typedef struct {
    child_kind_t kind;
    int index;
    pid_t pid;             /* 0 while not running */
    uint64_t started_ms;   /* monotonic */
    uint64_t respawn_at_ms;
    uint32_t backoff_ms;
    uint64_t restarts;
} child_t;

#define CHILD_BACKOFF_MIN_MS 100u
#define CHILD_BACKOFF_MAX_MS 5000u
/* A child that lived this long before dying restarts without delay. */
#define CHILD_STABLE_MS 10000u

uint64_t children_now_ms(void);

/* Forks c. In the child: dies with the parent (PR_SET_PDEATHSIG), resets
 * signal dispositions, calls fn and _exit()s with its result. Returns 0, or
 * -1 with errno (fork failed). */
int children_spawn(child_t *c, child_main_fn fn, void *arg);

/* Describes a wait status ("exited with status 1", "killed by signal 9
 * (Killed)", "... core dumped") into buf. */
const char *children_describe(int status, char *buf, size_t len);

/* Records that c died: schedules its restart with exponential back-off
 * when it died young, immediately when it had been stable. */
void children_died(child_t *c, uint64_t now_ms);

#endif
