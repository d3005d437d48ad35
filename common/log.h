/*
 * log.h — the one log every fickle process writes.
 *
 * Lines look like Redis's: "<pid>:<role> <date time.ms> <level> <message>".
 * Each line goes out in one write() on an O_APPEND descriptor, so lines
 * from the supervisor, workers and persister never interleave mid-line.
 * Levels are syslog's (LOG_DEBUG .. LOG_ERR). Not for signal handlers.
 */
#ifndef FICKLE_COMMON_LOG_H
#define FICKLE_COMMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Opens the log: path NULL or "" means stderr. Returns 0, or -1 with errno
 * (the log then stays on stderr). role names the process ("supervisor"). */
int log_open(const char *path, int level, const char *role);

/* After fork: the child's role ("worker 2", "persister"). */
void log_set_role(const char *role);
void log_set_level(int level);
int log_get_level(void);

/* Reopens the file (after logrotate moved it; SIGHUP). 0 or -1 with errno. */
int log_reopen(void);

/* Parses "debug", "verbose"/"info", "notice", "warning". Returns the level or -1. */
int log_level_parse(const char *name);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if a message at level would be written (skip building costly text). */
bool log_enabled(int level);

#endif
