/*
 * util.c — error texts, the log hook, size parsing, private buffers.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/layout.h"

static _Thread_local char error_detail[512]; /* per thread: the persister runs a snapshot thread */

const char *store_strerror(store_err_t err)
{
    switch (err) {
    case STORE_OK: return "ok";
    case STORE_NOT_FOUND: return "not found";
    case STORE_EXISTS: return "key exists";
    case STORE_CAS_MISMATCH: return "version mismatch";
    case STORE_NOMEM: return "out of memory";
    case STORE_TOO_BIG: return "key or value too large";
    case STORE_INVALID: return "invalid argument";
    case STORE_TXN_TOO_BIG: return "transaction too large";
    case STORE_CORRUPT: return "region corrupt";
    case STORE_IO: return "system call failed";
    case STORE_BUSY: return "change log full: the persister is behind or down";
    }
    return "unknown error";
}

const char *store_error_detail(void)
{
    return error_detail;
}

store_err_t store_fail(store_err_t err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_detail, sizeof(error_detail), fmt, ap);
    va_end(ap);
    return err;
}

static void log_stderr(int level, const char *msg)
{
    static const char *names[] = {"error", "warning", "info"};
    fprintf(stderr, "fickle store %s: %s\n", names[level < 0 ? 0 : level > 2 ? 2 : level], msg);
}

static store_log_fn log_sink = log_stderr;

void store_set_logger(store_log_fn fn)
{
    log_sink = fn ? fn : log_stderr;
}

void store_log(int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_sink(level, msg);
}

int store_parse_size(const char *text, uint64_t *out)
{
    if (text == NULL || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    unsigned shift = 0;
    switch (tolower((unsigned char)*end)) {
    case '\0': break;
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    default: return -1;
    }
    if (*end != '\0') {
        end++;
        if (tolower((unsigned char)*end) == 'b') /* "64kb", "1GB" */
            end++;
        if (*end != '\0')
            return -1;
    }
    if (shift && n > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)n << shift;
    return 0;
}

void store_buf_free(store_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Makes room for `more` bytes after len. Returns false on allocation failure. */
bool store_buf_reserve(store_buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}
