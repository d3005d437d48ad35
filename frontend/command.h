/*
 * command.h — the one request structure both protocol parsers produce and
 * the executor runs.
 *
 * A parser (resp_parse.h, native_parse.h) turns bytes into a cmd_t: which
 * command, its operands as (ptr, len) slices, and its options already
 * decoded into numbers and flags. The executor switches on cmd_t.id and
 * never looks at protocol bytes; only the reply encoding differs per
 * protocol (cmd_t.proto says which one to use).
 *
 * Operands (argv) never include the command name. For the commands both
 * protocols share, argv has the same shape whichever protocol produced it:
 *
 *   GET, GETDEL, GETEX, EXISTS(1), DEL(1), INCRBY, EXPIRE   [key]
 *   SET, SETNX                                               [key, value]
 *   DEL, EXISTS, MGET (RESP: 1..n)                           [key...]
 *   MSET, MSETNX                                             [key, value, key, value...]
 *   RANGE, RCOUNT                                            [start key, end key]
 *   PING                                                     [] or [message]
 *   INFO                                                     [] or [section...]
 *   AUTH                                                     [password] or [user, password]
 *
 * Other RESP commands keep their words after the command name (and after
 * the subcommand for CLIENT and CONFIG) as text, e.g. GETRANGE's
 * [key, start, end]: only RESP has them, so only the RESP side of the
 * executor reads them.
 */
#ifndef FICKLE_FRONTEND_COMMAND_H
#define FICKLE_FRONTEND_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CMD_NONE = 0, /* not a command (never returned with CMD_PARSE_OK) */
    /* both protocols */
    CMD_GET,
    CMD_SET,      /* native SET and CAS; RESP SET, SETEX, PSETEX, GETSET */
    CMD_SETNX,    /* RESP SETNX (replies 1/0, unlike SET NX) */
    CMD_DEL,      /* RESP DEL, UNLINK; native DEL */
    CMD_EXISTS,
    CMD_INCRBY,   /* RESP INCR, DECR, INCRBY, DECRBY; native INCR, DECR: delta */
    CMD_MGET,
    CMD_MSET,     /* native MSET with NX flag, RESP MSET */
    CMD_MSETNX,   /* RESP MSETNX (replies 1/0) */
    CMD_RANGE,
    CMD_RCOUNT,   /* RESP RCOUNT, native COUNT */
    CMD_PING,
    CMD_INFO,     /* RESP INFO, native STATS */
    CMD_AUTH,
    CMD_QUIT,
    /* RESP only */
    CMD_ECHO,
    CMD_SELECT,
    CMD_HELLO,
    CMD_CLIENT_SETNAME,
    CMD_CLIENT_GETNAME,
    CMD_CLIENT_ID,
    CMD_CLIENT_SETINFO,
    CMD_COMMAND,
    CMD_DBSIZE,
    CMD_TIME,
    CMD_CONFIG_GET,
    CMD_GETDEL,
    CMD_GETEX,
    CMD_INCRBYFLOAT,
    CMD_APPEND,
    CMD_STRLEN,
    CMD_GETRANGE,
    CMD_SETRANGE,
    CMD_EXPIRE,   /* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT */
    CMD_TTL,
    CMD_PTTL,
    CMD_EXPIRETIME, /* EXPIRETIME, PEXPIRETIME: the absolute expiry */
    CMD_PEXPIRETIME,
    CMD_PERSIST,
    CMD_TYPE,
    CMD_KEYS,
    CMD_SCAN,
    CMD_RANDOMKEY,
    CMD_RENAME,
    CMD_RENAMENX,
    CMD_FLUSHDB,
    CMD_FLUSHALL,
    CMD_MULTI,
    CMD_EXEC,
    CMD_DISCARD,
    CMD_WATCH,
    CMD_UNWATCH,
    /* persistence: SAVE, BGSAVE both protocols; LASTSAVE RESP only */
    CMD_SAVE,     /* reply once a snapshot begun after the request is durable */
    CMD_BGSAVE,   /* RESP: [] or ["SCHEDULE"] */
    CMD_LASTSAVE,
    /* native only */
    CMD_TXN,      /* native TXN: argv [empty key, TXN body] (frontend/native_txn.h) */
    CMD__COUNT
} cmd_id_t;

typedef enum {
    CMD_PROTO_RESP = 1,
    CMD_PROTO_NATIVE = 2,
} cmd_proto_t;

/* Option flags (cmd_t.flags). */
enum {
    CMD_F_NX = 1u << 0,        /* only if absent (SET, MSET); EXPIRE: only if no expiry */
    CMD_F_XX = 1u << 1,        /* only if present (SET); EXPIRE: only if it has an expiry */
    CMD_F_GT = 1u << 2,        /* EXPIRE: only if the new expiry is later */
    CMD_F_LT = 1u << 3,        /* EXPIRE: only if the new expiry is earlier */
    CMD_F_GET = 1u << 4,       /* SET ... GET, GETSET: reply with the old value */
    CMD_F_KEEPTTL = 1u << 5,   /* keep the current expiry */
    CMD_F_PERSIST = 1u << 6,   /* GETEX: remove the expiry */
    CMD_F_EXP_REL = 1u << 7,   /* expiry_ms is relative (ms from now) */
    CMD_F_EXP_ABS = 1u << 8,   /* expiry_ms is absolute (Unix ms) */
    CMD_F_CAS = 1u << 9,       /* only if the live item's version == cmd.version */
    CMD_F_REV = 1u << 10,      /* RANGE: from the end bound down */
    CMD_F_KEYS_ONLY = 1u << 11, /* RANGE: no values */
    CMD_F_LO_INF = 1u << 12,   /* no start bound (argv[0] empty) */
    CMD_F_LO_EXCL = 1u << 13,  /* start bound exclusive (else inclusive) */
    CMD_F_HI_INF = 1u << 14,   /* no end bound (argv[1] empty) */
    CMD_F_HI_EXCL = 1u << 15,  /* end bound exclusive (else inclusive) */
};

/* No row limit (cmd_t.limit). */
#define CMD_NO_LIMIT UINT64_MAX

/* The parsers refuse relative expiries above this, so the executor can add
 * any wall-clock time before the year 10000 without overflowing int64. */
#define CMD_NOW_MAX_MS INT64_C(253402300799999)
#define CMD_EXPIRY_REL_MAX (INT64_MAX - CMD_NOW_MAX_MS)

/* A byte string: points into the parser's input or into its private copy. */
typedef struct {
    const char *ptr;
    size_t len;
} cmd_arg_t;

typedef struct {
    cmd_id_t id;
    cmd_proto_t proto;
    uint8_t opcode;       /* native: the request's opcode, echoed in the reply */
    uint32_t flags;       /* CMD_F_* */
    uint64_t opaque;      /* native: echoed in the reply; RESP: 0 */
    int64_t expiry_ms;    /* with CMD_F_EXP_REL or CMD_F_EXP_ABS; may be <= 0 for EXPIRE */
    int64_t delta;        /* INCRBY: signed amount to add */
    uint64_t version;     /* with CMD_F_CAS: expected version */
    uint64_t limit;       /* RANGE/RCOUNT: max rows, CMD_NO_LIMIT for none; 0 = an
                           * empty result (note: the store reads 0 as "no limit") */
    size_t argc;
    const cmd_arg_t *argv; /* operands; valid until the parser's next call */
} cmd_t;

/* ---- parse results (shared by both parsers) ------------------------------ */

typedef enum {
    CMD_PARSE_OK = 0,    /* a complete request: the cmd_t is filled */
    CMD_PARSE_NEED_MORE, /* incomplete: call again with the same bytes and more */
    CMD_PARSE_ERROR,     /* a bad request: reply with the error (see fatal) */
} cmd_parse_status_t;

typedef struct {
    cmd_parse_status_t status;
    /* Bytes of the input this call used up; the caller discards them (after
     * executing the command, since its operands may point into them). OK and
     * non-fatal ERROR: the request, plus any no-op input before it. NEED_MORE:
     * only no-op input (blank lines, empty multibulks, a skipped oversize
     * body), never part of the request in progress. */
    size_t consumed;
    /* NEED_MORE: how many bytes, counted from the first unconsumed one, must
     * be buffered before another call can make progress. A hint: calling
     * earlier is harmless, just useless. */
    size_t want;
    /* ERROR: true if the stream cannot be resynchronised: send the error
     * reply, then close the connection. The parser stays in the error. */
    bool fatal;
    /* ERROR: the native status code (FICKLE_STATUS_*); 0 for RESP. */
    uint16_t code;
    /* ERROR: the message. RESP: the whole error line without '-' and CRLF,
     * e.g. "ERR Protocol error: invalid bulk length". Native: a short text
     * for the reply's value. Valid until the parser's next call. */
    const char *msg;
} cmd_parse_t;

/* Redis's strict integer syntax (string2ll), the one both protocols and
 * the command semantics use: optional '-', digits, no leading zeros, no
 * '+', no spaces, within int64. */
bool cmd_parse_i64(const char *s, size_t len, int64_t *out);

/* Canonical lowercase name ("get", "client|setname"); "?" if out of range. */
const char *cmd_name(cmd_id_t id);

/* Command properties for the executor. */
enum {
    CMD_I_WRITE = 1u << 0,  /* may change the store */
    CMD_I_NOAUTH = 1u << 1, /* allowed before authentication */
};
uint32_t cmd_info(cmd_id_t id);

#endif
