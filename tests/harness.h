/*
 * harness.h — integration-test helpers: run the real fickled in a private
 * temporary directory on free ports, and talk RESP to it over TCP.
 */
#ifndef FICKLE_TESTS_HARNESS_H
#define FICKLE_TESTS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tests/exec_util.h"

typedef struct {
    pid_t pid;
    char dir[256];      /* temporary directory: data dir, log, config */
    char log[300];
    uint16_t port;      /* native */
    uint16_t resp_port;
} fk_server_t;

/* The binary fk_start and fk_run execute (default: the fickled built here). */
extern const char *fk_binary;

/* Starts fickled with --data-dir/--port/--resp-port/--log-file chosen here,
 * plus extra (NULL-terminated; may be NULL), and waits until it answers
 * PING. Retries on a port collision. Returns 0, or -1 (the log is printed). */
int fk_start(fk_server_t *s, const char *const *extra);

/* Stops the server if running and starts it again on the same directory
 * and ports (warm restart), with extra arguments. */
int fk_restart(fk_server_t *s, const char *const *extra);

/* SIGTERM, then waits. Returns the exit status (or 128+signal). */
int fk_stop(fk_server_t *s);

/* Removes the temporary directory and the region (after fk_stop). */
void fk_cleanup(fk_server_t *s);

/* A TCP port on 127.0.0.1 nothing listens on (for tests that start
 * fickled themselves). */
uint16_t fk_free_port(void);

/* Runs fickled with args and returns its exit status; its stderr goes to
 * errbuf (may be NULL). For option tests: nothing long-running. */
int fk_run(const char *const *args, char *errbuf, size_t errlen);

/* Pids of the server's children (workers), up to max. */
size_t fk_children(const fk_server_t *s, pid_t *pids, size_t max);

/* A numeric field of INFO section (e.g. "stats", "clients_closed_for_limits")
 * over a new RESP connection; -1 if absent or the server does not answer. */
long fk_info_field(const fk_server_t *s, const char *section, const char *field);
/* The same over an open connection (fk_conn_t is declared below). */
struct fk_conn;
long fk_info_field_on(struct fk_conn *c, const char *section, const char *field);

/* A "Field: N kB" line of /proc/<pid>/status (field "VmRSS", "RssAnon"...)
 * in KiB; -1 if the process or the field is missing. */
long fk_proc_kb(pid_t pid, const char *field);

/* fk_proc_kb summed over the server's children (workers and persister).
 * "RssAnon" is their private memory: buffers, heaps; "VmRSS" adds the
 * shared region pages they touched. */
long fk_children_kb(const fk_server_t *s, const char *field);

/* True if the log contains text (waits up to ms, times FICKLE_TEST_SLOW,
 * for it to appear). */
bool fk_log_has(const fk_server_t *s, const char *text, int ms);

/* Runs a Check suite (CK_VERBOSITY from the environment); the exit status. */
struct Suite;
int fk_run_suite(struct Suite *s);

/* ---- a small blocking RESP client ------------------------------------------ */

typedef enum { RV_STATUS, RV_ERROR, RV_INT, RV_BULK, RV_NIL, RV_ARRAY, RV_NIL_ARRAY } rv_type_t;

typedef struct rv {
    rv_type_t type;
    int64_t i;
    char *s;   /* STATUS, ERROR, BULK (NUL-terminated copy) */
    size_t len;
    size_t n;  /* ARRAY */
    struct rv *elems;
} rv_t;

typedef struct fk_conn {
    int fd;
    char buf[65536];
    size_t start, end;
} fk_conn_t;

/* Connects to 127.0.0.1:port with 10 s I/O timeouts (times
 * FICKLE_TEST_SLOW). NULL on failure. */
fk_conn_t *fk_connect(uint16_t port);
/* The same to an IPv4 address given as text. */
fk_conn_t *fk_connect_addr(const char *ipv4, uint16_t port);
/* A connected TCP socket (same timeouts, TCP_NODELAY), or -1: for tests
 * that hold many connections or speak raw bytes. */
int fk_socket_to(const char *ipv4, uint16_t port);
void fk_close(fk_conn_t *c);

/* Sends one request (argv with explicit lengths). Returns 0 or -1. */
int fk_send(fk_conn_t *c, int argc, const char *const *argv, const size_t *lens);
/* Sends raw bytes. */
int fk_send_raw(fk_conn_t *c, const void *data, size_t len);
/* Reads one reply; NULL on EOF, timeout or malformed input. */
rv_t *fk_read(fk_conn_t *c);
/* Sends words split on single spaces and reads the reply. */
rv_t *fk_cmd(fk_conn_t *c, const char *line);
void rv_free(rv_t *r);

/* True if the peer closed the connection (reads EOF within ms). */
bool fk_closed(fk_conn_t *c, int ms);

/* Assertion helpers: the reply to line is the status/bulk/int/error given. */
void fk_expect_status(fk_conn_t *c, const char *line, const char *status);
void fk_expect_bulk(fk_conn_t *c, const char *line, const char *bulk);
void fk_expect_nil(fk_conn_t *c, const char *line);
void fk_expect_int(fk_conn_t *c, const char *line, int64_t n);
/* The integer reply to line (asserts it is one). */
int64_t fk_int(fk_conn_t *c, const char *line);
/* error must be a prefix of the error text. */
void fk_expect_error(fk_conn_t *c, const char *line, const char *error);

#endif
