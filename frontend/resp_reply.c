/*
 * resp_reply.c — RESP2 reply encoders (see resp_reply.h).
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/resp_reply.h"

size_t resp_format_i64(char *buf, int64_t n)
{
    char tmp[24];
    size_t i = 0, len = 0;
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    do {
        tmp[i++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (n < 0)
        buf[len++] = '-';
    while (i)
        buf[len++] = tmp[--i];
    buf[len] = '\0';
    return len;
}

size_t resp_format_double(char *buf, double d)
{
    if (isnan(d))
        return (size_t)sprintf(buf, "nan");
    if (isinf(d))
        return (size_t)sprintf(buf, d > 0 ? "inf" : "-inf");
    if (d == 0)
        return (size_t)sprintf(buf, signbit(d) ? "-0" : "0");
    /* Integral within +-2^62: print as an integer (Redis's double2ll). */
    if (d >= (double)(-INT64_MAX / 2) && d <= (double)(INT64_MAX / 2) && d == (double)(int64_t)d)
        return resp_format_i64(buf, (int64_t)d);
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, d);
        if (prec == 17 || strtod(buf, NULL) == d)
            return (size_t)n;
    }
    return 0; /* not reached */
}

/* Appends prefix + s (CR/LF mapped to spaces) + CRLF. */
static int line(struct evbuffer *out, char prefix, const char *s, size_t len)
{
    if (evbuffer_add(out, &prefix, 1) < 0)
        return -1;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\r' && s[i] != '\n')
            continue;
        if (evbuffer_add(out, s + start, i - start) < 0 || evbuffer_add(out, " ", 1) < 0)
            return -1;
        start = i + 1;
    }
    if (evbuffer_add(out, s + start, len - start) < 0)
        return -1;
    return evbuffer_add(out, "\r\n", 2);
}

int resp_reply_simple(struct evbuffer *out, const char *s, size_t len)
{
    return line(out, '+', s, len);
}

int resp_reply_ok(struct evbuffer *out)
{
    return evbuffer_add(out, "+OK\r\n", 5);
}

int resp_reply_error(struct evbuffer *out, const char *msg)
{
    if (msg[0] == '-')
        msg++;
    return line(out, '-', msg, strlen(msg));
}

int resp_reply_errorf(struct evbuffer *out, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    return resp_reply_error(out, buf);
}

/* "<prefix><n>\r\n" */
static int number_line(struct evbuffer *out, char prefix, int64_t n)
{
    char buf[32];
    buf[0] = prefix;
    size_t len = 1 + resp_format_i64(buf + 1, n);
    buf[len++] = '\r';
    buf[len++] = '\n';
    return evbuffer_add(out, buf, len);
}

int resp_reply_int(struct evbuffer *out, int64_t n)
{
    return number_line(out, ':', n);
}

int resp_reply_bulk(struct evbuffer *out, const void *data, size_t len)
{
    char buf[256];
    buf[0] = '$';
    size_t h = 1 + resp_format_i64(buf + 1, (int64_t)len);
    buf[h++] = '\r';
    buf[h++] = '\n';
    if (len <= sizeof(buf) - h - 2) { /* small: one append */
        if (len)
            memcpy(buf + h, data, len);
        memcpy(buf + h + len, "\r\n", 2);
        return evbuffer_add(out, buf, h + len + 2);
    }
    if (evbuffer_add(out, buf, h) < 0 || evbuffer_add(out, data, len) < 0)
        return -1;
    return evbuffer_add(out, "\r\n", 2);
}

int resp_reply_bulk_str(struct evbuffer *out, const char *s)
{
    return resp_reply_bulk(out, s, strlen(s));
}

int resp_reply_bulk_i64(struct evbuffer *out, int64_t n)
{
    char buf[24];
    size_t len = resp_format_i64(buf, n);
    return resp_reply_bulk(out, buf, len);
}

int resp_reply_double(struct evbuffer *out, double d)
{
    char buf[40];
    size_t len = resp_format_double(buf, d);
    return resp_reply_bulk(out, buf, len);
}

int resp_reply_null(struct evbuffer *out)
{
    return evbuffer_add(out, "$-1\r\n", 5);
}

int resp_reply_array(struct evbuffer *out, size_t n)
{
    return number_line(out, '*', (int64_t)n);
}

int resp_reply_null_array(struct evbuffer *out)
{
    return evbuffer_add(out, "*-1\r\n", 5);
}
