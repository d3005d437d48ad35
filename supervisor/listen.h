/*
 * listen.h — listening sockets, created by the supervisor before it forks.
 *
 * TCP ports are bound once per worker with SO_REUSEPORT: the kernel then
 * spreads new connections evenly over the workers' sockets, with no
 * accept lock and no thundering herd (the scheme nginx uses with
 * "reuseport"). The supervisor keeps every socket open, so a worker's
 * replacement inherits the same socket and connections queued while it
 * restarts are not lost. The unix socket is one socket shared by all.
 */
#ifndef FICKLE_SUPERVISOR_LISTEN_H
#define FICKLE_SUPERVISOR_LISTEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Binds and listens on addr:port (IPv4 or IPv6 literal or host name).
 * Returns a non-blocking, close-on-exec fd, or -1 with the reason in err. */
int listen_tcp(const char *addr, uint16_t port, int backlog, char *err, size_t errlen);

/* Binds a unix stream socket at path (a stale socket file is replaced,
 * a live one refused), mode `perm`. Returns fd or -1 with err. */
int listen_unix(const char *path, mode_t perm, int backlog, char *err, size_t errlen);

/* The port a bound socket got (for port 0 in tests), or 0. */
uint16_t listen_port(int fd);

#endif
