/*
 * faultctl.h — the tests' side of the fault-injection shim
 * (tests/faultshim.c): create the shared control block, have fickled
 * started after faultctl_init load the shim, arm and clear rules while it
 * runs, and count what was injected.
 */
#ifndef FICKLE_TESTS_FAULTCTL_H
#define FICKLE_TESTS_FAULTCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/faultshim.h"

/* Creates the control block (a temporary file) and sets FAULTSHIM_CTL and
 * LD_PRELOAD (shim is the shared object's path) in this process's
 * environment, so that every fickled started afterwards loads the shim;
 * the test process itself is not affected. Once per test program, before
 * the suite runs: the tests Check forks inherit the mapping, and
 * faultctl_done removes the file even when a test failed. Returns 0 or -1. */
int faultctl_init(const char *shim);

/* Disarms and forgets every rule (between tests, no fickled running). */
void faultctl_reset(void);

/* Removes the control block and unsets the environment. */
void faultctl_done(void);

/* Arms a rule: calls (FS_* mask) fail with err (FS_FAIL) or are cut short
 * (FS_SHORT), in threads whose name contains proc (NULL: any), on files
 * whose path contains path (NULL: any), after skip matching calls, count
 * times (-1: until cleared). Returns the rule's id (aborts the test when
 * the block is full). */
int faultctl_arm(unsigned calls, fs_action_t action, int err, const char *proc, const char *path, uint64_t skip,
                 int64_t count);

/* Disarms a rule (at once: the next matching call goes through). */
void faultctl_clear(int id);

/* Disarms every rule. */
void faultctl_clear_all(void);

/* Faults the rule injected so far. */
uint64_t faultctl_fired(int id);

/* Waits up to ms for the rule to have injected at least n faults; true
 * if it did. */
bool faultctl_wait_fired(int id, uint64_t n, int ms);

#endif
