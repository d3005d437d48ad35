/*
 * record.h — the log record codec: the byte layout of one change (put,
 * delete, expire, clear, or a transaction's whole batch) as it travels
 * through the change ring and sits in log segments. docs/persistence.md is
 * the byte-level specification; this is its C form.
 *
 * A record is a 20-byte header (length, CRC32C, LSN, type, two reserved
 * fields) and a payload. Integers are little-endian and unaligned.
 *
 * The encoder writes into caller memory. The decoder is pure and treats its
 * input as hostile: it never reads outside [buf, buf + len), bounds every
 * length before use, and accepts only well-formed canonical records (so a
 * record it accepts re-encodes to the very same bytes). Decoded keys and
 * values point into the input buffer.
 */
#ifndef FICKLE_STORE_RECORD_H
#define FICKLE_STORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_HEADER_SIZE 20u
#define RECORD_MAX_KEY 65535u            /* = STORE_MAX_KEY */
#define RECORD_MAX_VALUE (1u << 30)      /* = STORE_MAX_VALUE_LIMIT */
#define RECORD_MAX_SIZE 0x7fffffffu      /* whole record, header included */
#define RECORD_PUT_FIXED 22u             /* expiry, version, klen, vlen */

/* Header field offsets. */
#define RECORD_OFF_LENGTH 0
#define RECORD_OFF_CRC 4
#define RECORD_OFF_LSN 8
#define RECORD_OFF_TYPE 16
#define RECORD_CRC_START 8 /* the CRC covers [8, length) */

typedef enum {
    RECORD_PUT = 1,    /* key, value, expiry, version */
    RECORD_DEL = 2,    /* key */
    RECORD_EXPIRE = 3, /* key, expiry (0 = remove the expiry) */
    RECORD_CLEAR = 4,  /* no payload: remove every item */
    RECORD_TXN = 5,    /* 1..n PUT/DEL/EXPIRE applied atomically, one LSN */
} record_type_t;

typedef enum {
    RECORD_OK = 0,
    RECORD_TRUNCATED,  /* fewer bytes than the header, or than its length field */
    RECORD_BAD_LENGTH, /* a length out of range or not matching the bytes */
    RECORD_BAD_CRC,    /* the stored CRC32C does not match */
    RECORD_BAD_TYPE,   /* unknown record or sub-operation type */
    RECORD_BAD_FIELD,  /* reserved field not zero, LSN 0, empty transaction */
} record_err_t;

/* One change: a standalone PUT/DEL/EXPIRE record, or one operation of a
 * transaction. Fields a type does not use are ignored by the encoder and
 * zeroed by the decoder. */
typedef struct {
    uint8_t type;        /* RECORD_PUT, RECORD_DEL or RECORD_EXPIRE */
    const void *key;
    uint32_t klen;       /* <= RECORD_MAX_KEY */
    const void *val;     /* PUT */
    uint32_t vlen;       /* PUT; <= RECORD_MAX_VALUE */
    uint64_t expiry_ms;  /* PUT, EXPIRE: absolute ms since the epoch; 0 = never */
    uint64_t version;    /* PUT: the item's version */
} record_op_t;

typedef struct {
    uint64_t lsn;            /* >= 1 */
    uint8_t type;            /* record_type_t */
    record_op_t op;          /* PUT, DEL, EXPIRE (op.type is set to type) */
    /* TXN. To encode: ops[0..nops). Decoded: nops, and the raw operations
     * in body/body_len, read with record_txn_next(); ops is NULL. */
    const record_op_t *ops;
    uint32_t nops;
    const uint8_t *body;
    size_t body_len;
} record_t;

/* Static text for an error code / a type ("PUT", ... or "?"). */
const char *record_strerror(record_err_t err);
const char *record_type_name(unsigned type);

/* Bytes rec encodes to, or 0 if rec cannot be encoded: unknown type, a key
 * or value over its limit, a sub-operation of a type a TXN cannot hold, an
 * empty TXN, LSN 0, or a total over RECORD_MAX_SIZE. */
size_t record_size(const record_t *rec);

/* Encodes rec at dst (cap bytes available). Returns the bytes written
 * (record_size(rec)), or 0 if rec cannot be encoded or cap is too small;
 * then dst holds nothing useful. */
size_t record_encode(const record_t *rec, void *dst, size_t cap);

/* A growable private buffer for record_append(). Zero-initialise. */
typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} record_buf_t;

/* Appends rec's encoding at b->len. Returns 0, or -1 with errno EINVAL
 * (rec cannot be encoded) or ENOMEM; b is unchanged on error. */
int record_append(record_buf_t *b, const record_t *rec);
void record_buf_free(record_buf_t *b);
/* Makes room for n more bytes after b->len. 0, or -1 with errno ENOMEM. */
int record_buf_reserve(record_buf_t *b, size_t n);

/* Collecting a critical section's changes, then writing them as one
 * record. record_op_size: bytes record_op_append adds for op (a type byte
 * and the payload; 0 if op cannot be encoded). record_op_append: 0, or -1
 * with errno EINVAL / ENOMEM (b unchanged). */
size_t record_op_size(const record_op_t *op);
int record_op_append(record_buf_t *b, const record_op_t *op);
/* Size of the record made of nops collected operations (ops_len bytes),
 * or 0 if it cannot be encoded: one operation makes a plain record of its
 * type, several make a TXN. */
size_t record_ops_size(size_t ops_len, uint32_t nops);
/* Writes that record with this LSN at dst, CRC included. Returns its size,
 * or 0 (nothing useful written) if it cannot be encoded or cap is short. */
size_t record_encode_ops(uint64_t lsn, const uint8_t *ops, size_t ops_len, uint32_t nops, void *dst, size_t cap);

/* Checks the frame of the record at buf: enough bytes for the header and
 * for its length field, the length in range, the CRC. On RECORD_OK,
 * *rec_len is the record's length; on RECORD_TRUNCATED it is the number of
 * bytes needed to go on (the header, then the whole record). Never reads
 * outside [buf, buf + len). */
record_err_t record_check_frame(const void *buf, size_t len, size_t *rec_len);

/* Decodes the record at the start of buf (len bytes; more may follow).
 * RECORD_OK: *out describes it, pointing into buf, and *used (may be NULL)
 * is its length. Otherwise *out is unspecified, *used is as *rec_len of
 * record_check_frame() for RECORD_TRUNCATED and 0 for other errors, and
 * *detail (may be NULL) names the offending field in a static string. */
record_err_t record_decode(const void *buf, size_t len, record_t *out, size_t *used,
                           const char **detail);

/* Iterates the operations of a decoded TXN: *pos starts at 0. Returns false
 * after the last one. Only for records record_decode() accepted. */
bool record_txn_next(const record_t *rec, size_t *pos, record_op_t *op);

/* Little-endian accessors, shared with the segment and snapshot formats. */
static inline uint16_t rd_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}
static inline uint32_t rd_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t rd_u64(const uint8_t *p)
{
    return (uint64_t)rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
}
static inline uint8_t *wr_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    return p + 2;
}
static inline uint8_t *wr_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}
static inline uint8_t *wr_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

#endif
