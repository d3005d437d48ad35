/*
 * resp_reply.h — RESP2 reply encoders over a libevent evbuffer.
 *
 * Each function appends one reply (or, for the array headers, the start of
 * one) to `out` and returns 0, or -1 if the evbuffer could not grow (out of
 * memory; `out` may then hold a partial reply and the connection should be
 * closed). Pure: no store, no sockets, no globals.
 */
#ifndef FICKLE_FRONTEND_RESP_REPLY_H
#define FICKLE_FRONTEND_RESP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

/* "+<s>\r\n". CR and LF in s (not allowed in a simple string) become spaces. */
int resp_reply_simple(struct evbuffer *out, const char *s, size_t len);
/* "+OK\r\n" */
int resp_reply_ok(struct evbuffer *out);
/* "-<msg>\r\n". msg carries its own code ("ERR ...", "WRONGTYPE ...", "NOAUTH
 * ..."); one starting with '-' keeps it; CR and LF become spaces, as Redis
 * does for messages that quote user input. */
int resp_reply_error(struct evbuffer *out, const char *msg);
int resp_reply_errorf(struct evbuffer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ":<n>\r\n" */
int resp_reply_int(struct evbuffer *out, int64_t n);
/* "$<len>\r\n<data>\r\n" */
int resp_reply_bulk(struct evbuffer *out, const void *data, size_t len);
int resp_reply_bulk_str(struct evbuffer *out, const char *s);
/* An integer as a bulk string (e.g. CONFIG GET values). */
int resp_reply_bulk_i64(struct evbuffer *out, int64_t n);
/* A double as a bulk string, formatted like Redis: integral values as
 * integers, others with the shortest "%.17g"-precision form that reads back
 * to the same double, "inf" / "-inf" / "nan". */
int resp_reply_double(struct evbuffer *out, double d);
/* "$-1\r\n" */
int resp_reply_null(struct evbuffer *out);
/* "*<n>\r\n": n elements follow. */
int resp_reply_array(struct evbuffer *out, size_t n);
/* "*-1\r\n" */
int resp_reply_null_array(struct evbuffer *out);

/* Formats n in decimal into buf (at least 21 bytes); returns the length. */
size_t resp_format_i64(char *buf, int64_t n);
/* Formats d as resp_reply_double does into buf (at least 32 bytes). */
size_t resp_format_double(char *buf, double d);

#endif
