/*
 * resp_check.h — helpers of the RESP command tests: a reference
 * redis-server on a free port, a canonical text form of replies, and
 * tables of (request, expected reply) run against fickled and, where
 * redis-server is installed, against Redis too.
 *
 * Requests are written as one line of words split on single spaces; a
 * word may use the escapes \s (space), \r, \n, \0, \xHH, \\ and \e (the
 * word is empty). Replies are written as:
 *   +OK   -ERR msg   :12   "bulk"   nil   (nil-array)   ["a", :1, nil]
 * with \xHH for bytes outside 0x20..0x7e and \" \\ inside bulks. An
 * expectation starting with '~' is a pattern in which '*' matches any
 * text.
 */
#ifndef FICKLE_TESTS_RESP_CHECK_H
#define FICKLE_TESTS_RESP_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/harness.h"

typedef struct {
    pid_t pid;
    uint16_t port;
    char dir[64];
} rs_server_t;

/* Starts redis-server (--save '' --appendonly no) in a temporary
 * directory on a free port. False, with a note on stderr, if it is not
 * installed or does not come up: callers then skip the comparison. */
bool rs_start(rs_server_t *r);
void rs_stop(rs_server_t *r);

/* Path of a program on PATH (static buffer), or NULL. */
const char *rc_which(const char *prog);

/* Canonical text of a reply (truncated to len). */
void rv_format(const rv_t *r, char *buf, size_t len);

/* Sends a request written as a line (escapes above) and reads the reply. */
rv_t *rc_cmd(fk_conn_t *c, const char *line);

/* The reply to line, formatted; "(no reply)" if the connection failed. */
void rc_reply_text(fk_conn_t *c, const char *line, bool sort, char *buf, size_t len);

/* True if text matches want ('~' patterns as above). */
bool rc_match(const char *want, const char *text);

enum {
    RC_FICKLE = 1, /* fickle differs from Redis on purpose: not sent to Redis */
    RC_REDIS = 2,  /* only sent to Redis (keeps its state in step) */
    RC_SORT = 4,   /* arrays are sorted before comparing (Redis has no key order;
                      fickle's reply must already be in key order) */
};

typedef struct {
    const char *cmd;  /* "sleep N" waits N ms */
    const char *want;
    unsigned flags;
} rc_step_t;

/* The servers and connections one RESP test program compares: fickled
 * and, when redis-server is installed, a reference Redis (have_ref). The
 * servers live for the whole run (an unchecked fixture, rc_servers_up /
 * down); each test gets fresh connections (rc_connect_both / close_both;
 * rd is NULL without a reference). */
typedef struct {
    fk_server_t srv;
    rs_server_t ref;
    bool have_ref;
    /* The reference Redis runs on fickle's machine architecture, so its
     * long double (INCRBYFLOAT) is fickle's: false when an emulated aarch64
     * fickle is compared with a native x86-64 Redis (docs/arm.md). */
    bool ref_same_arch;
    fk_conn_t *fk, *rd;
} rc_env_t;
extern rc_env_t rc;
void rc_servers_up(void);
/* rc.rd when rc.ref_same_arch, else NULL with a note on stderr: for the
 * comparisons whose results depend on long double's precision. */
fk_conn_t *rc_float_ref(void);
void rc_servers_down(void);
void rc_connect_both(void);
void rc_close_both(void);

/* Runs steps on fickle (fk) and on Redis (rd, may be NULL), asserting each
 * reply matches its expectation, so every expectation is checked against
 * Redis 7 too. Both keyspaces are flushed first. */
void rc_run(fk_conn_t *fk, fk_conn_t *rd, const rc_step_t *steps, size_t n);
#define RC_RUN(fk, rd, steps) rc_run((fk), (rd), (steps), sizeof(steps) / sizeof((steps)[0]))

/* Sends each line to both servers and asserts identical replies (arrays
 * sorted where sort). Does nothing without Redis. */
void rc_diff(fk_conn_t *fk, fk_conn_t *rd, const char *const *lines, size_t n, bool sort);

#endif
