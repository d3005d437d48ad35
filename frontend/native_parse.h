/*
 * native_parse.h — parser for fickle's native binary protocol (see
 * include/fickle/protocol.h and docs/protocol.md): turns one request frame
 * into a cmd_t, or into a precise error status. Pure: no store, no sockets,
 * no globals. Also splits reply frames and iterates rows, for clients and
 * tests.
 *
 * Input is a contiguous span, for the reasons given in resp_parse.h: the
 * caller pulls up `want` bytes of its evbuffer (the whole frame, known from
 * the 24-byte header) and parses; operands point into that span.
 */
#ifndef FICKLE_FRONTEND_NATIVE_PARSE_H
#define FICKLE_FRONTEND_NATIVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fickle/protocol.h"
#include "frontend/command.h"

#define NATIVE_DEFAULT_MAX_VALUE (512u * 1024 * 1024) /* as RESP's max bulk */
#define NATIVE_DEFAULT_MAX_KEYS 1048576u              /* as RESP's max args */
#define NATIVE_ERR_MAX 160

typedef struct {
    uint32_t max_value; /* longest value field of a request */
    uint32_t max_keys;  /* most entries in one MGET or MSET */
} native_limits_t;

/* One per connection. Fields are private. */
typedef struct {
    native_limits_t lim;
    bool failed;        /* a fatal error happened; every call repeats it */
    uint16_t fail_code;
    uint64_t skip;      /* bytes of an oversize frame still to discard */
    cmd_arg_t kv[2];    /* operands of single-key requests */
    cmd_arg_t *args;    /* MGET/MSET operands */
    size_t args_cap;
    char err[NATIVE_ERR_MAX];
} native_parser_t;

void native_limits_default(native_limits_t *lim);
/* lim NULL means the defaults. */
void native_parser_init(native_parser_t *p, const native_limits_t *lim);
void native_parser_free(native_parser_t *p);

/* Parses the next request frame in buf[0..len).
 * OK: *cmd is filled; operands point into buf (and into p's operand array
 *   for MGET/MSET), valid until the next call and while buf stays in place.
 * NEED_MORE: want = the frame size once the header is in, else what is
 *   needed to read it. consumed > 0 only while discarding an oversize body.
 * ERROR: code is the reply status, msg a short text; cmd->opcode and
 *   cmd->opaque are the request's (0 if the header was unreadable), for the
 *   error reply. Fatal (bad magic, unsupported version): reply and close.
 *   Non-fatal: the frame was consumed (an oversize one is consumed now and
 *   discarded by later calls as it arrives); reply and go on. */
cmd_parse_t native_parse(native_parser_t *p, const char *buf, size_t len, cmd_t *cmd);

/* A hint for prefetching, not a parse (see resp_peek_key): if buf starts
 * with a whole request frame, sets [*key, *klen) to its key (*key NULL if
 * the key field is empty) and returns the frame's length; else 0. Never
 * reads past buf + len. */
size_t native_peek_key(const char *buf, size_t len, const char **key, size_t *klen);

/* ---- frames and rows, for clients and tests ---------------------------------- */

typedef struct {
    fickle_header_t h;
    const uint8_t *extras;
    const uint8_t *key;
    const uint8_t *value;
} native_frame_t;

/* Splits the frame at buf (request or reply; no limits applied). Returns 1
 * with *f and *size (bytes of the frame), 0 if buf holds only part of it,
 * -1 if the magic byte is neither request nor reply or the version is not
 * FICKLE_PROTOCOL_VERSION. */
int native_frame_split(const void *buf, size_t len, native_frame_t *f, size_t *size);

typedef struct {
    const char *key;
    size_t klen;
    const char *val; /* NULL if the row has no value */
    size_t vlen;
    uint64_t version;
    uint16_t flags;  /* FICKLE_ROW_* */
} native_row_t;

/* Iterates the rows of an MGET/RANGE reply value; *pos starts at 0.
 * Returns 1 with *row, 0 at the end, -1 if the rows are malformed. */
int native_row_next(const void *value, size_t vlen, size_t *pos, native_row_t *row);

#endif
