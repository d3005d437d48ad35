/*
 * fickle/protocol.h — constants and header layout of fickle's native binary
 * protocol (version 1), shared by the server and by clients.
 *
 * docs/protocol.md is the specification; this header is its C form. Every
 * multi-byte integer on the wire is LITTLE-ENDIAN. A frame is a 24-byte
 * header followed by a body of extras, key, value, in that order:
 *
 *   off size field
 *     0    1 magic        FICKLE_MAGIC_REQUEST / FICKLE_MAGIC_REPLY
 *     1    1 version      FICKLE_PROTOCOL_VERSION
 *     2    1 opcode       FICKLE_OP_*; a reply echoes its request's
 *     3    1 flags        per-opcode request flags; 0 in replies
 *     4    2 status       0 in requests; FICKLE_STATUS_* in replies
 *     6    2 key_len      bytes of key
 *     8    2 extras_len   bytes of extras
 *    10    2 reserved     0
 *    12    4 value_len    bytes of value
 *    16    8 opaque       chosen by the client, echoed in the reply
 *
 * The helpers below read and write fields byte by byte, so they work on
 * any host byte order and on unaligned buffers.
 */
#ifndef FICKLE_PROTOCOL_H
#define FICKLE_PROTOCOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FICKLE_MAGIC_REQUEST 0xFCu
#define FICKLE_MAGIC_REPLY 0xFDu
#define FICKLE_PROTOCOL_VERSION 1u
#define FICKLE_HEADER_SIZE 24u

/* Header field offsets. */
#define FICKLE_OFF_MAGIC 0
#define FICKLE_OFF_VERSION 1
#define FICKLE_OFF_OPCODE 2
#define FICKLE_OFF_FLAGS 3
#define FICKLE_OFF_STATUS 4
#define FICKLE_OFF_KEY_LEN 6
#define FICKLE_OFF_EXTRAS_LEN 8
#define FICKLE_OFF_RESERVED 10
#define FICKLE_OFF_VALUE_LEN 12
#define FICKLE_OFF_OPAQUE 16

/* ---- opcodes -------------------------------------------------------------- */
enum {
    FICKLE_OP_GET = 0x01,
    FICKLE_OP_SET = 0x02,
    FICKLE_OP_DEL = 0x03,
    FICKLE_OP_EXISTS = 0x04,
    FICKLE_OP_INCR = 0x05,
    FICKLE_OP_DECR = 0x06,
    FICKLE_OP_CAS = 0x07,
    FICKLE_OP_MGET = 0x08,
    FICKLE_OP_MSET = 0x09,
    FICKLE_OP_RANGE = 0x0A,
    FICKLE_OP_COUNT = 0x0B,
    /* 0x0C..0x0F: reserved for more key-value operations */
    FICKLE_OP_PING = 0x10,
    FICKLE_OP_STATS = 0x11,
    FICKLE_OP_AUTH = 0x12,
    FICKLE_OP_QUIT = 0x13,
    /* 0x14..0x1F: reserved for connection/server operations */
    FICKLE_OP_TXN = 0x20,    /* compare/then/else transaction (0x21..0x2F reserved) */
    FICKLE_OP_SAVE = 0x30,   /* snapshot now, reply when it is durable */
    FICKLE_OP_BGSAVE = 0x31, /* start a snapshot, reply at once */
    /* 0x32..0x3F: reserved for persistence; 0x40..0xEF: future;
     * 0xF0..0xFF: never assigned (private experiments) */
};

/* ---- request flags (header byte 3), meaning per opcode --------------------- */
/* SET, CAS */
#define FICKLE_SET_NX 0x01u        /* SET only: only if the key is absent */
#define FICKLE_SET_XX 0x02u        /* SET only: only if the key is present */
#define FICKLE_SET_KEEPTTL 0x04u   /* keep the current expiry; expiry extra must be 0 */
#define FICKLE_SET_EXPIRE_AT 0x08u /* expiry extra is absolute Unix ms, not relative ms */
/* MSET */
#define FICKLE_MSET_NX 0x01u /* write nothing if any key exists */
/* RANGE, COUNT */
#define FICKLE_RANGE_START_INCL 0x01u /* start bound is inclusive */
#define FICKLE_RANGE_END_INCL 0x02u   /* end bound is inclusive */
#define FICKLE_RANGE_START_NONE 0x04u /* no start bound (key must be empty) */
#define FICKLE_RANGE_END_NONE 0x08u   /* no end bound (value must be empty) */
#define FICKLE_RANGE_REVERSE 0x10u    /* RANGE only: from end down to start */
#define FICKLE_RANGE_KEYS_ONLY 0x20u  /* RANGE only: rows carry no values */

/* ---- reply status codes (header bytes 4..5) -------------------------------- */
enum {
    FICKLE_STATUS_OK = 0x0000,
    FICKLE_STATUS_NOT_FOUND = 0x0001,           /* key absent (or XX / CAS on a missing key) */
    FICKLE_STATUS_EXISTS = 0x0002,              /* NX on a present key */
    FICKLE_STATUS_CAS_MISMATCH = 0x0003,        /* version did not match */
    FICKLE_STATUS_TOO_BIG = 0x0004,             /* key, value, count or reply over a limit */
    FICKLE_STATUS_NOMEM = 0x0005,               /* store full; nothing changed */
    FICKLE_STATUS_BAD_REQUEST = 0x0006,         /* malformed frame or fields */
    FICKLE_STATUS_UNKNOWN_OPCODE = 0x0007,      /* opcode not implemented */
    FICKLE_STATUS_AUTH_REQUIRED = 0x0008,       /* AUTH first */
    FICKLE_STATUS_AUTH_FAILED = 0x0009,         /* wrong credentials */
    FICKLE_STATUS_NOT_A_NUMBER = 0x000A,        /* INCR/DECR on a non-integer value */
    FICKLE_STATUS_OVERFLOW = 0x000B,            /* INCR/DECR result out of int64 */
    FICKLE_STATUS_BUSY = 0x000C,                /* server cannot take the write now; retry */
    FICKLE_STATUS_TIMEOUT = 0x000D,             /* gave up waiting (e.g. durability) */
    FICKLE_STATUS_UNSUPPORTED_VERSION = 0x000E, /* header version not spoken */
    FICKLE_STATUS_INTERNAL = 0x000F,            /* server-side failure */
    FICKLE_STATUS_TXN_TOO_BIG = 0x0010,         /* TXN's changes outgrow one atomic change; nothing applied */
};

/* ---- extras layouts (sizes in bytes; fields little-endian) ----------------- */
/* Requests */
#define FICKLE_EXT_SET 8      /* u64 expiry (0 = none); or 0 bytes: no expiry */
#define FICKLE_EXT_CAS 8      /* u64 expected version */
#define FICKLE_EXT_CAS_EXP 16 /* u64 expected version, u64 expiry */
#define FICKLE_EXT_DEL 8      /* u64 expected version; or 0 bytes: unconditional */
#define FICKLE_EXT_INCR 8     /* i64 amount; or 0 bytes: amount 1 */
#define FICKLE_EXT_MULTI 4    /* MGET/MSET: u32 entry count */
#define FICKLE_EXT_RANGE 4    /* RANGE/COUNT: u32 limit (0 = none); or 0 bytes */
/* Replies (status OK only; an error reply never has extras) */
#define FICKLE_EXT_R_ITEM 16    /* GET/EXISTS: u64 version, u64 expiry (abs Unix ms, 0 = none) */
#define FICKLE_EXT_R_VERSION 8  /* SET/CAS/MSET: u64 version of the write */
#define FICKLE_EXT_R_COUNTER 16 /* INCR/DECR: u64 version, i64 new value */
#define FICKLE_EXT_R_ROWS 8     /* MGET/RANGE: u32 row count, u32 row-set flags */
#define FICKLE_EXT_R_COUNT 8    /* COUNT: u64 count */
#define FICKLE_EXT_R_SAVE 8     /* SAVE: u64 start LSN of the snapshot */

/* Row-set flags (MGET/RANGE reply extras, second word). */
#define FICKLE_ROWS_MORE 0x01u /* RANGE cut short by the server's reply cap: more rows remain */

/* Rows (MGET/RANGE reply value): each a 16-byte row header, then key bytes,
 * then value bytes:
 *   off size field
 *     0    2 key_len
 *     2    2 row_flags  FICKLE_ROW_*
 *     4    4 value_len
 *     8    8 version */
#define FICKLE_ROW_HEADER_SIZE 16u
#define FICKLE_ROW_MISSING 0x01u  /* MGET: this key is absent (no value, version 0) */
#define FICKLE_ROW_NO_VALUE 0x02u /* RANGE keys-only: value omitted */

/* Entries of an MGET request value: u16 key_len, key bytes.
 * Entries of an MSET request value: u16 key_len, u32 value_len, key, value. */
#define FICKLE_MGET_ENTRY_HEADER 2u
#define FICKLE_MSET_ENTRY_HEADER 6u

/* ---- TXN (opcode 0x20) ------------------------------------------------------ */
/* Request value: a 12-byte TXN header (u32 compare count, u32 success op
 * count, u32 failure op count), then the compares, then the success ops,
 * then the failure ops, back to back, filling the value exactly.
 *
 * Compare (16-byte header, key, argument):
 *   off size field
 *     0    1 target      FICKLE_TXN_TARGET_*
 *     1    1 comparison  FICKLE_TXN_CMP_*
 *     2    2 key_len
 *     4    4 arg_len     VALUE: any; VERSION: 8 (u64); EXISTS: 0
 *     8    8 reserved    0
 * Op (16-byte header, key, value):
 *   off size field
 *     0    1 kind        FICKLE_TXN_OP_*
 *     1    1 flags       PUT: FICKLE_TXN_PUT_KEEPTTL; RANGE: FICKLE_RANGE_*; else 0
 *     2    2 key_len     RANGE: the start key
 *     4    4 value_len   PUT: the value; RANGE: the end key; else 0
 *     8    8 word        PUT: expiry, absolute Unix ms, 0 = none; RANGE: row
 *                        limit, 0 = none; else 0
 * Reply (OK): extras FICKLE_EXT_R_TXN = u32 txn flags (FICKLE_TXN_SUCCEEDED),
 * u32 result count, u64 revision (the LSN of the TXN's writes, 0 if it
 * wrote nothing); value = one result per op of the branch that ran:
 *   off size field
 *     0    1 kind        the op's kind
 *     1    1 reserved    0
 *     2    2 status      FICKLE_STATUS_OK or _NOT_FOUND
 *     4    4 value_len   GET: the value; RANGE: the rows; else 0
 *     8    8 version     GET: the item's; PUT: the new one; RANGE: row count; else 0
 *    16    8 expiry      GET, PUT: absolute Unix ms, 0 = none; RANGE: row-set
 *                        flags (FICKLE_ROWS_MORE); else 0
 *    24  ... value       GET: the value; RANGE: rows as in a RANGE reply */
#define FICKLE_TXN_HEADER_SIZE 12u
#define FICKLE_TXN_COMPARE_HEADER 16u
#define FICKLE_TXN_OP_HEADER 16u
#define FICKLE_TXN_RESULT_HEADER 24u
#define FICKLE_EXT_R_TXN 16
#define FICKLE_TXN_SUCCEEDED 0x01u /* reply flag: every compare held; the success ops ran */

/* Compare targets and comparisons. */
enum {
    FICKLE_TXN_TARGET_VALUE = 1,   /* bytewise (memcmp, shorter prefix first); absent key: compare fails */
    FICKLE_TXN_TARGET_VERSION = 2, /* u64; an absent key has version 0 */
    FICKLE_TXN_TARGET_EXISTS = 3,  /* EQUAL: key is live; NOT_EQUAL: key is absent */
};
enum {
    FICKLE_TXN_CMP_EQUAL = 1,
    FICKLE_TXN_CMP_NOT_EQUAL = 2,
    FICKLE_TXN_CMP_LESS = 3,    /* current < argument */
    FICKLE_TXN_CMP_GREATER = 4, /* current > argument */
};
/* Op kinds. */
enum {
    FICKLE_TXN_OP_GET = 1,
    FICKLE_TXN_OP_PUT = 2,
    FICKLE_TXN_OP_DELETE = 3,
    FICKLE_TXN_OP_RANGE = 4, /* rows between two keys, as the RANGE opcode */
};
#define FICKLE_TXN_PUT_KEEPTTL 0x01u /* PUT: keep the current expiry (expiry must be 0) */

/* Limits: more compares + ops than FICKLE_TXN_MAX_ENTRIES, or a request
 * value over FICKLE_TXN_MAX_BYTES, is answered TOO_BIG. */
#define FICKLE_TXN_MAX_ENTRIES 16384u
#define FICKLE_TXN_MAX_BYTES (64u << 20)

/* ---- byte order helpers ------------------------------------------------------ */
static inline void fickle_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void fickle_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fickle_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t fickle_get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t fickle_get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t fickle_get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* The header in host form. */
typedef struct {
    uint8_t magic;
    uint8_t version;
    uint8_t opcode;
    uint8_t flags;
    uint16_t status;
    uint16_t key_len;
    uint16_t extras_len;
    uint16_t reserved;
    uint32_t value_len;
    uint64_t opaque;
} fickle_header_t;

static inline void fickle_header_encode(uint8_t out[FICKLE_HEADER_SIZE], const fickle_header_t *h)
{
    out[FICKLE_OFF_MAGIC] = h->magic;
    out[FICKLE_OFF_VERSION] = h->version;
    out[FICKLE_OFF_OPCODE] = h->opcode;
    out[FICKLE_OFF_FLAGS] = h->flags;
    fickle_put_le16(out + FICKLE_OFF_STATUS, h->status);
    fickle_put_le16(out + FICKLE_OFF_KEY_LEN, h->key_len);
    fickle_put_le16(out + FICKLE_OFF_EXTRAS_LEN, h->extras_len);
    fickle_put_le16(out + FICKLE_OFF_RESERVED, h->reserved);
    fickle_put_le32(out + FICKLE_OFF_VALUE_LEN, h->value_len);
    fickle_put_le64(out + FICKLE_OFF_OPAQUE, h->opaque);
}

static inline void fickle_header_decode(const uint8_t in[FICKLE_HEADER_SIZE], fickle_header_t *h)
{
    h->magic = in[FICKLE_OFF_MAGIC];
    h->version = in[FICKLE_OFF_VERSION];
    h->opcode = in[FICKLE_OFF_OPCODE];
    h->flags = in[FICKLE_OFF_FLAGS];
    h->status = fickle_get_le16(in + FICKLE_OFF_STATUS);
    h->key_len = fickle_get_le16(in + FICKLE_OFF_KEY_LEN);
    h->extras_len = fickle_get_le16(in + FICKLE_OFF_EXTRAS_LEN);
    h->reserved = fickle_get_le16(in + FICKLE_OFF_RESERVED);
    h->value_len = fickle_get_le32(in + FICKLE_OFF_VALUE_LEN);
    h->opaque = fickle_get_le64(in + FICKLE_OFF_OPAQUE);
}

/* Bytes of the whole frame the header describes. */
static inline uint64_t fickle_frame_size(const fickle_header_t *h)
{
    return (uint64_t)FICKLE_HEADER_SIZE + h->extras_len + h->key_len + h->value_len;
}

#ifdef __cplusplus
}
#endif

#endif
