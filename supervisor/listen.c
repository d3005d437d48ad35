/*
 * listen.c — TCP and unix listening sockets.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "supervisor/listen.h"

static int sock_fail(int fd, char *err, size_t errlen, const char *call, const char *where)
{
    snprintf(err, errlen, "%s %s: %s", call, where, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

static int bind_one(const struct addrinfo *ai, int backlog, const char *where, char *err, size_t errlen)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return sock_fail(-1, err, errlen, "socket", where);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
        return sock_fail(fd, err, errlen, "setsockopt", where);
    if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0)
        return sock_fail(fd, err, errlen, "setsockopt IPV6_V6ONLY", where);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
        return sock_fail(fd, err, errlen, "bind", where);
    if (listen(fd, backlog) != 0)
        return sock_fail(fd, err, errlen, "listen", where);
    return fd;
}

int listen_tcp(const char *addr, uint16_t port, int backlog, char *err, size_t errlen)
{
    char service[8], where[300];
    snprintf(service, sizeof(service), "%u", port);
    snprintf(where, sizeof(where), "%s:%u", addr, port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int rc = getaddrinfo(addr, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "getaddrinfo %s: %s", where, gai_strerror(rc));
        return -1;
    }
    int fd = bind_one(res, backlog, where, err, errlen); /* the first address the resolver prefers */
    freeaddrinfo(res);
    return fd;
}

int listen_unix(const char *path, mode_t perm, int backlog, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errlen, "unix socket path %s is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
        return sock_fail(-1, err, errlen, "socket", path);
    if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(probe);
        snprintf(err, errlen, "unix socket %s is in use by a running server", path);
        return -1;
    }
    close(probe);
    if (unlink(path) != 0 && errno != ENOENT) /* a stale socket file from a dead server */
        return sock_fail(-1, err, errlen, "unlink", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return sock_fail(-1, err, errlen, "socket", path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return sock_fail(fd, err, errlen, "bind", path);
    if (chmod(path, perm) != 0)
        return sock_fail(fd, err, errlen, "chmod", path);
    if (listen(fd, backlog) != 0)
        return sock_fail(fd, err, errlen, "listen", path);
    return fd;
}

uint16_t listen_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}
