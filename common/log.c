/*
 * log.c — line-at-a-time logging shared by every fickle process.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static struct {
    int fd;
    int level;
    char path[4096];
    char role[32];
} lg = {.fd = STDERR_FILENO, .level = LOG_NOTICE, .role = "fickled"};

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

int log_open(const char *path, int level, const char *role)
{
    lg.level = level;
    if (role)
        log_set_role(role);
    if (path == NULL || path[0] == '\0') {
        lg.path[0] = '\0';
        return 0;
    }
    if (strlen(path) >= sizeof(lg.path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open_file(path);
    if (fd < 0)
        return -1;
    snprintf(lg.path, sizeof(lg.path), "%s", path);
    if (lg.fd != STDERR_FILENO)
        close(lg.fd);
    lg.fd = fd;
    return 0;
}

void log_set_role(const char *role)
{
    snprintf(lg.role, sizeof(lg.role), "%s", role);
}

void log_set_level(int level)
{
    lg.level = level;
}

int log_get_level(void)
{
    return lg.level;
}

bool log_enabled(int level)
{
    return level <= lg.level;
}

int log_reopen(void)
{
    if (lg.path[0] == '\0')
        return 0;
    int fd = open_file(lg.path);
    if (fd < 0)
        return -1;
    /* dup2 keeps the descriptor number, so nothing holding it goes stale. */
    int rc = dup2(fd, lg.fd);
    int e = errno;
    close(fd);
    errno = e;
    if (rc < 0)
        return -1;
    return 0;
}

int log_level_parse(const char *name)
{
    static const struct {
        const char *name;
        int level;
    } names[] = {{"debug", LOG_DEBUG},   {"verbose", LOG_INFO},   {"info", LOG_INFO},
                 {"notice", LOG_NOTICE}, {"warning", LOG_WARNING}, {"error", LOG_ERR}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].level;
    return -1;
}

static char level_char(int level)
{
    switch (level) {
    case LOG_DEBUG: return '.';
    case LOG_INFO: return '-';
    case LOG_NOTICE: return '*';
    default: return '#';
    }
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > lg.level)
        return;
    int saved = errno; /* callers often log and then use errno */
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%d:%s ", (int)getpid(), lg.role);
    n += (int)strftime(line + n, sizeof(line) - (size_t)n, "%d %b %Y %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof(line) - (size_t)n, ".%03d %c ", (int)(tv.tv_usec / 1000), level_char(level));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2; /* truncated: keep the newline */
    line[len++] = '\n';
    /* Best effort: a log that cannot be written must not stop the server. */
    ssize_t w;
    do
        w = write(lg.fd, line, len);
    while (w < 0 && errno == EINTR);
    errno = saved;
}
