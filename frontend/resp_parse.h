/*
 * resp_parse.h — RESP2 request parser: multibulk and inline framing, then
 * command lookup and option decoding into a cmd_t. Pure: no store, no
 * sockets, no globals.
 *
 * Input is a contiguous byte span rather than an evbuffer. Operands can then
 * point straight into the input (no copy of values), the parser is trivial to
 * unit-test and fuzz, and the connection layer still reads with evbuffers:
 *
 *     for (;;) {
 *         size_t avail = evbuffer_get_length(in);
 *         if (avail < want) break;             // 0 on the first pass
 *         const char *buf = (const char *)evbuffer_pullup(in, -1);
 *         cmd_parse_t r = resp_parse(&p, buf, avail, &cmd);
 *         if (r.status == CMD_PARSE_NEED_MORE) {
 *             evbuffer_drain(in, r.consumed); want = r.want; break;
 *         }
 *         ... execute cmd or reply r.msg; drain r.consumed; want = 0;
 *         ... close after the reply if r.fatal
 *     }
 *
 * The parser remembers how far it got in a partial request (as offsets,
 * since the span may move between calls), so bytes are scanned once however
 * the request is split; `want` lets the caller skip pull-ups until a bulk is
 * complete, and evbuffer_pullup's power-of-two chain growth keeps repeated
 * pull-ups of a growing request amortised linear.
 *
 * Contract for every call: the span must start at the first byte not yet
 * consumed, and, after NEED_MORE, hold the same bytes as before plus any new
 * ones. Claimed lengths are never allocated up front: memory grows with the
 * bytes actually received.
 */
#ifndef FICKLE_FRONTEND_RESP_PARSE_H
#define FICKLE_FRONTEND_RESP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frontend/command.h"

#define RESP_DEFAULT_MAX_ARGS 1048576u              /* Redis's historic multibulk cap */
#define RESP_DEFAULT_MAX_BULK (512ull * 1024 * 1024) /* Redis's proto-max-bulk-len */
#define RESP_DEFAULT_MAX_INLINE (64u * 1024)         /* Redis's PROTO_INLINE_MAX_SIZE */
#define RESP_UNAUTH_MAX_ARGS 10                      /* before AUTH, as in Redis */
#define RESP_UNAUTH_MAX_BULK 16384
#define RESP_ERR_MAX 512

typedef struct {
    uint64_t max_args;  /* most arguments in one multibulk request */
    uint64_t max_bulk;  /* longest bulk string */
    size_t max_inline;  /* longest inline line, and longest '*'/'$' header line */
} resp_limits_t;

typedef struct {
    size_t off, len;
} resp_span_t;

/* One per connection. Fields below `unauth` are private. */
typedef struct {
    resp_limits_t lim;
    /* Set by the caller while the connection must authenticate: requests
     * are then limited to 10 arguments of 16 KiB, as in Redis. */
    bool unauth;
    /* Set by the parser: the last CMD_PARSE_ERROR came from the command
     * table (unknown command or subcommand, wrong arity against the
     * table's). Redis finds those before queuing a command after MULTI
     * and discards the transaction; other errors it finds when EXEC runs
     * the command. */
    bool table_error;

    int state;          /* where the request in progress stands */
    bool failed;        /* a fatal error happened; every call repeats it */
    size_t pos;         /* bytes of the request parsed so far */
    size_t scan;        /* a line-end search resumes here */
    uint64_t nargs;     /* multibulk: claimed argument count */
    uint64_t bulk;      /* multibulk: length of the bulk being read */
    resp_span_t *spans; /* arguments found so far, as offsets */
    size_t nspans, spans_cap;
    cmd_arg_t *words;   /* the finished request's arguments */
    size_t words_cap;
    char *line;         /* inline: the unescaped arguments */
    size_t line_cap;
    char err[RESP_ERR_MAX];
} resp_parser_t;

/* Fills the defaults above. */
void resp_limits_default(resp_limits_t *lim);

/* Initialises a parser; lim NULL means the defaults. */
void resp_parser_init(resp_parser_t *p, const resp_limits_t *lim);
void resp_parser_free(resp_parser_t *p);

/* Parses the next request in buf[0..len).
 * OK: *cmd is a known command with its arity checked and its options
 *   decoded; its operands are valid until the next call and, for multibulk
 *   requests, only while buf's bytes stay in place.
 * NEED_MORE: nothing but no-op input was consumed; see cmd_parse_t.want.
 * ERROR, fatal: framing is broken (Redis's "Protocol error: ..."); reply,
 *   then close. Non-fatal: the request was well framed but is not a valid
 *   command (unknown command, wrong arity, bad option); reply and go on. */
cmd_parse_t resp_parse(resp_parser_t *p, const char *buf, size_t len, cmd_t *cmd);

/* A hint for prefetching, not a parse: if buf starts with a whole multibulk
 * request of at most RESP_PEEK_MAX_ARGS arguments, sets [*arg, *alen) to
 * its second argument (the key, for the commands that have one; *arg NULL
 * if it has only a name) and returns the request's length; else returns 0
 * (an inline request, a partial one, or bytes that do not frame). Never
 * reads past buf + len. */
#define RESP_PEEK_MAX_ARGS 64
size_t resp_peek_key(const char *buf, size_t len, const char **arg, size_t *alen);

/* The framing half of resp_parse: on OK, *words and *nwords are the
 * request's arguments (nwords >= 1), valid as for resp_parse. */
cmd_parse_t resp_frame(resp_parser_t *p, const char *buf, size_t len, cmd_arg_t **words, size_t *nwords);

/* The decoding half: looks words[0] up, checks arity and decodes options
 * into *cmd. May reorder words. Returns OK or a non-fatal ERROR whose
 * message (Redis's wording) lives in p. consumed/want are left 0. */
cmd_parse_t resp_decode(resp_parser_t *p, cmd_arg_t *words, size_t nwords, cmd_t *cmd);

/* The command table, for COMMAND and COMMAND COUNT: top-level commands in
 * name order (CLIENT and CONFIG as containers). */
size_t resp_command_count(void);
bool resp_command_at(size_t i, const char **name, int *arity, bool *write);

#endif
