/*
 * segment.h — log segment files: `<dir>/<first LSN, 20 digits>.log`, a
 * 40-byte header (magic, format version, first LSN, creation time, header
 * CRC32C) followed by log records (record.h) in strictly increasing LSN
 * order. docs/persistence.md specifies the bytes.
 *
 * The writer appends encoded records, rolls over to a new file at a size,
 * and fsyncs on request. The reader yields records in order and stops at
 * the first invalid one, telling a torn tail (what a crash leaves: an
 * incomplete or CRC-bad record with nothing valid after it) from
 * corruption in the middle (a bad record followed by valid ones), which
 * recovery must not silently cut off.
 *
 * Nothing here is thread-safe: one writer or reader per thread.
 */
#ifndef FICKLE_PERSISTER_SEGMENT_H
#define FICKLE_PERSISTER_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persister/pio.h"
#include "store/record.h"

#define SEGMENT_MAGIC "FICKLOG\n" /* 8 bytes, no NUL */
#define SEGMENT_VERSION 1u
#define SEGMENT_HEADER_SIZE 40u
#define SEGMENT_DEFAULT_ROLL (64ull << 20)
#define SEGMENT_NAME_MAX 32 /* "<20 digits>.log.tmp" and its NUL fit */

typedef struct {
    uint64_t first_lsn;  /* LSN of the file's first record; the name says it too */
    uint64_t created_ms; /* ms since the epoch */
} segment_header_t;

/* Writes "<20-digit lsn>.log" into name (SEGMENT_NAME_MAX bytes). */
void segment_name(char name[SEGMENT_NAME_MAX], uint64_t first_lsn);

/* True if name is exactly a segment's name; *first_lsn (may be NULL) gets
 * its LSN. "x.log.tmp", other digit counts and overflowing numbers are not. */
bool segment_parse_name(const char *name, uint64_t *first_lsn);

typedef struct {
    uint64_t first_lsn;
    char name[SEGMENT_NAME_MAX];
} segment_info_t;

/* Lists dir's segments, oldest (smallest first LSN) first, into a malloc'd
 * array (*out, free() it; NULL when *n is 0). Other files are ignored.
 * PERSIST_OK, or PERSIST_IO / PERSIST_NOMEM. */
persist_status_t segment_list(const char *dir, segment_info_t **out, size_t *n,
                              persist_error_t *err);

/* ---- writer ---------------------------------------------------------------- */

typedef struct segment_writer segment_writer_t;

typedef struct {
    uint64_t roll_size; /* a segment holding records takes no record that would
                           carry it past this many bytes; 0 = SEGMENT_DEFAULT_ROLL */
} segment_writer_opts_t;

/* Opens a writer on dir (created, mode 0700, if missing), for records whose
 * LSNs start at or after next_lsn (>= 1). Removes leftover "*.log.tmp"
 * files. The first append creates the first segment, named after its
 * first record. opt may be NULL. PERSIST_OK, PERSIST_INVALID (next_lsn 0,
 * a path too long), PERSIST_IO, PERSIST_NOMEM. */
persist_status_t segment_writer_open(const char *dir, uint64_t next_lsn,
                                     const segment_writer_opts_t *opt, segment_writer_t **out,
                                     persist_error_t *err);

/* Appends len bytes holding one or more whole encoded records, each with an
 * LSN above the previous one (and >= next_lsn). The batch is checked first
 * (framing, CRC, LSN order): a bad one is refused with PERSIST_INVALID and
 * nothing is written. Records go out with pwrite() (short writes and EINTR
 * handled), rolling over to a new segment when the current one is full: the
 * old one is fsync'ed before the new one is created, and a new file is
 * created as "<name>.tmp", fsync'ed, renamed and its directory fsync'ed,
 * so a segment on disk always has a whole, durable header. Creating a
 * segment whose name exists is refused (PERSIST_INVALID, EEXIST) unless the
 * existing file holds no record.
 *
 * PERSIST_IO: records up to segment_writer_last_lsn() are in the files and
 * nothing after it (the file was truncated back to a record boundary); if
 * that truncation or an fsync failed, the writer is broken and every later
 * call repeats the error: close it and run recovery. Not durable until
 * segment_writer_sync(). */
persist_status_t segment_writer_append(segment_writer_t *w, const void *recs, size_t len,
                                       persist_error_t *err);

/* Makes every appended record durable (fdatasync of the current segment;
 * earlier ones were synced when they were closed). After a failed fsync
 * the writer is broken, as above: the kernel may have dropped the dirty
 * pages, so retrying would lie. PERSIST_OK or PERSIST_IO. */
persist_status_t segment_writer_sync(segment_writer_t *w, persist_error_t *err);

/* Closes the current segment (without an fsync: sync first) and frees w.
 * PERSIST_OK, or PERSIST_IO if close() failed; w is freed either way. */
persist_status_t segment_writer_close(segment_writer_t *w, persist_error_t *err);

/* LSN of the last record written (0 if none yet); path of the current
 * segment ("" before the first append). */
uint64_t segment_writer_last_lsn(const segment_writer_t *w);
const char *segment_writer_path(const segment_writer_t *w);

/* ---- reader ----------------------------------------------------------------- */

typedef struct segment_reader segment_reader_t;

/* Opens a segment and validates its header: magic, version, header size,
 * CRC, first LSN >= 1 and matching the file name (when the name is a
 * segment name). A file shorter than the header is PERSIST_CORRUPT: the
 * writer creates files atomically, so a crash cannot leave one. The file's
 * size is taken now; bytes appended later are not read. PERSIST_OK,
 * PERSIST_CORRUPT, PERSIST_IO, PERSIST_NOMEM. */
persist_status_t segment_reader_open(const char *path, segment_reader_t **out,
                                     persist_error_t *err);

const segment_header_t *segment_reader_header(const segment_reader_t *r);

/* Yields the next record into *rec (pointing into the reader's buffer,
 * valid until the next call). The first record's LSN must be the header's
 * first LSN and each next one larger. Returns
 *   PERSIST_OK       a record;
 *   PERSIST_END      the file ended right after the last record;
 *   PERSIST_TORN     the record at err->offset is incomplete or fails its
 *                    CRC, and no valid record follows it anywhere in the
 *                    file: what a crash mid-append leaves;
 *   PERSIST_CORRUPT  the record at err->offset is bad and a valid record
 *                    follows it (the message gives that offset), or it
 *                    passes its CRC but is malformed or out of LSN order;
 *   PERSIST_IO, PERSIST_NOMEM.
 * The message names the file and the offset. After anything but
 * PERSIST_OK, every call returns the same. */
persist_status_t segment_reader_next(segment_reader_t *r, record_t *rec, persist_error_t *err);

/* Offset just past the last good record (where a torn tail starts), and
 * that record's LSN (0 if none). */
uint64_t segment_reader_valid_end(const segment_reader_t *r);
uint64_t segment_reader_last_lsn(const segment_reader_t *r);

void segment_reader_close(segment_reader_t *r);

/* Recovery: cuts the segment at path down to offset bytes (normally
 * segment_reader_valid_end() after PERSIST_TORN) and fsyncs it. Refuses
 * (PERSIST_INVALID) an offset inside the header or past the end of the
 * file. PERSIST_OK, PERSIST_INVALID, PERSIST_IO. */
persist_status_t segment_truncate_tail(const char *path, uint64_t offset, persist_error_t *err);

#endif
