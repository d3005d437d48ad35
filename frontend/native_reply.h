/*
 * native_reply.h — encoders for fickle's native binary protocol over a
 * libevent evbuffer: the server's replies, plus request frames for clients
 * and tests. Layouts are in include/fickle/protocol.h and docs/protocol.md.
 *
 * Every function appends whole frames and returns 0, or -1 if a field is
 * too long for its header field or the evbuffer could not grow (then `out`
 * may hold a partial frame: close the connection).
 */
#ifndef FICKLE_FRONTEND_NATIVE_REPLY_H
#define FICKLE_FRONTEND_NATIVE_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "fickle/protocol.h"

/* Any frame: header (key_len, extras_len, value_len taken from the lengths
 * given) + extras + key + value. */
int native_write_frame(struct evbuffer *out, uint8_t magic, uint8_t opcode, uint8_t flags, uint16_t status,
                       uint64_t opaque, const void *extras, size_t elen, const void *key, size_t klen,
                       const void *value, size_t vlen);

/* A request frame (clients, tests). */
int native_request(struct evbuffer *out, uint8_t opcode, uint8_t flags, uint64_t opaque, const void *extras,
                   size_t elen, const void *key, size_t klen, const void *value, size_t vlen);
/* MGET / MSET request value entries, appended to the value being built. */
int native_mget_entry(struct evbuffer *value, const void *key, size_t klen);
int native_mset_entry(struct evbuffer *value, const void *key, size_t klen, const void *val, size_t vlen);

/* ---- replies: opcode and opaque are the request's ---------------------------- */

/* A status with no body but an optional message (msg may be NULL): every
 * error reply, and OK for DEL, AUTH, QUIT. */
int native_reply_status(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint16_t status, const char *msg);
/* OK with a value and no extras: PING (echo), STATS (text). */
int native_reply_value(struct evbuffer *out, uint8_t opcode, uint64_t opaque, const void *value, size_t vlen);
/* OK for GET (with the value) and EXISTS (value NULL, 0): extras version +
 * expiry (absolute Unix ms, 0 = none). */
int native_reply_item(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version, uint64_t expiry_ms,
                      const void *value, size_t vlen);
/* OK for SET, CAS, MSET: extras = the write's version. */
int native_reply_version(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version);
/* OK for INCR/DECR: extras = version, new value. */
int native_reply_counter(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version, int64_t value);
/* OK for COUNT: extras = count. */
int native_reply_count(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t count);

/* OK with extras (at most 32 bytes) and the bytes of body as the value,
 * moved (not copied) behind the header; body is left empty. */
int native_reply_move(struct evbuffer *out, uint8_t opcode, uint64_t opaque, const void *extras, size_t elen,
                      struct evbuffer *body);

/* Rows of an MGET or RANGE reply, built in a private evbuffer and then
 * moved (not copied) behind the header by native_rows_finish. */
typedef struct {
    struct evbuffer *body;
    uint32_t count;
} native_rows_t;

int native_rows_init(native_rows_t *r);
/* One row; flags FICKLE_ROW_*; with MISSING or NO_VALUE, val is ignored. */
int native_rows_add(native_rows_t *r, const void *key, size_t klen, const void *val, size_t vlen, uint64_t version,
                    uint16_t flags);
/* Bytes of rows so far: the executor stops adding (and sets
 * FICKLE_ROWS_MORE) before this passes its reply cap, and must stay under
 * UINT32_MAX. */
size_t native_rows_size(const native_rows_t *r);
/* Appends the OK reply (header, count + set_flags extras, rows) to out and
 * frees r. */
int native_rows_finish(native_rows_t *r, struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint32_t set_flags);
void native_rows_free(native_rows_t *r);

#endif
