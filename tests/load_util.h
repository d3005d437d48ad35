/*
 * load_util.h — helpers for crash tests of the real server: a write-load
 * generator that records every acknowledged write, the check that all of
 * them are still there, and the server-state chores around a crash (kill
 * the whole process group, remove the region, `fickled --check`).
 */
#ifndef FICKLE_TESTS_LOAD_UTIL_H
#define FICKLE_TESTS_LOAD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/harness.h"

uint64_t load_now_ms(void);
void load_sleep_ms(int ms);

/* Forks a loader: SET load:<n> = val:<n>:<pad> one at a time, n from
 * id * 1000000, reconnecting after any failure and retrying the same n;
 * each acknowledged n is appended (a u32) to ack_path. Runs for ms, or
 * until load_stop. Values vary in size so some take page runs. */
pid_t load_start(uint16_t port, const char *ack_path, unsigned ms, unsigned id);
/* Asks a loader to finish its current write and exit. */
void load_stop(pid_t pid);
/* Waits for a loader; it must exit 0. */
void load_wait(pid_t pid);
/* Acknowledged writes recorded in ack_path so far. */
size_t load_acked(const char *ack_path);
/* Asserts every acknowledged write is there with its value; the count. */
size_t load_verify(uint16_t port, const char *ack_path);

/* A numeric field of INFO <section> (asserts it is there). */
uint64_t srv_info(uint16_t port, const char *section, const char *field);

/* SIGKILL to the supervisor and all its children at once, after stopping
 * them all (a machine crash, as far as the processes go); waits until all
 * are gone. */
void srv_kill_all(fk_server_t *s);
/* Removes the region file(s) of a stopped server (a reboot empties
 * /dev/shm); returns how many were removed. */
int srv_remove_region(const fk_server_t *s);
/* Removes the snapshots from a stopped server's data directory (a graceful
 * stop takes one), so that recovery has only the log; returns how many. */
int srv_remove_snapshots(const fk_server_t *s);
/* Empties the server's log file (so that a restart's lines stand alone). */
void srv_clear_log(const fk_server_t *s);
/* Runs `fickled --check` on the server's directories; the exit status,
 * its output in out. */
int srv_check(const fk_server_t *s, char *out, size_t len);
/* Stops the server (exit 0) and asserts `fickled --check` finds both the
 * region and the log consistent. */
void srv_stop_and_check(fk_server_t *s);

/* Gone, or a zombie (its files, the data-dir lock among them, are closed). */
bool srv_pid_gone(pid_t pid);

/* A failed Check test exits at once, without its teardown (Check kills
 * its processes, the servers among them): srv_track records a server's
 * directory, srv_sweep (after the run) removes those left behind.
 * srv_track_init comes first, in main. */
void srv_track_init(void);
void srv_track(const fk_server_t *s);
void srv_sweep(void);

#endif
