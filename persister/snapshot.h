/*
 * snapshot.h — snapshot files: every item of the store, sorted by key, as of
 * a start LSN L0 (fuzzily: replaying the log from L0 + 1 over it gives the
 * exact state, because log records are idempotent after-images).
 *
 * `<dir>/snapshot-<L0, 20 digits>.snap`: a 48-byte header (magic, version,
 * L0, item count if known, creation time, CRC), chunks of PUT-like entries
 * (key, value, expiry, version; each chunk with its own CRC32C), and a
 * 32-byte trailer (entry count, CRC32C of the whole body, its own CRC, end
 * magic). docs/persistence.md specifies the bytes.
 *
 * A snapshot is written as `snapshot-<L0>.tmp`, fsync'ed, renamed to .snap
 * and its directory fsync'ed: a .snap file is always complete; a .tmp file
 * is an abandoned attempt and never read.
 */
#ifndef FICKLE_PERSISTER_SNAPSHOT_H
#define FICKLE_PERSISTER_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "persister/pio.h"

#define SNAPSHOT_MAGIC "FICKSNP\n"     /* 8 bytes, no NUL */
#define SNAPSHOT_END_MAGIC "FICKEND\n" /* 8 bytes, no NUL */
#define SNAPSHOT_VERSION 1u
#define SNAPSHOT_HEADER_SIZE 48u
#define SNAPSHOT_TRAILER_SIZE 32u
#define SNAPSHOT_ENTRY_FIXED 22u       /* expiry, version, klen, vlen */
#define SNAPSHOT_COUNT_UNKNOWN UINT64_MAX
#define SNAPSHOT_CHUNK_TARGET (1u << 20) /* a chunk is cut once it holds this much */
#define SNAPSHOT_NAME_MAX 40             /* "snapshot-<20 digits>.snap" and its NUL fit */

typedef struct {
    uint64_t start_lsn;  /* L0 */
    uint64_t item_count; /* or SNAPSHOT_COUNT_UNKNOWN */
    uint64_t created_ms;
} snapshot_header_t;

/* One item. Keys are <= 65535 bytes, values <= 1 GiB (record.h limits). */
typedef struct {
    const void *key;
    uint32_t klen;
    const void *val;
    uint32_t vlen;
    uint64_t expiry_ms; /* absolute; 0 = never */
    uint64_t version;
} snapshot_entry_t;

/* Writes "snapshot-<20-digit lsn>.snap" (tmp: ".tmp") into name. */
void snapshot_name(char name[SNAPSHOT_NAME_MAX], uint64_t start_lsn, bool tmp);

/* True if name is exactly a finished snapshot's name (not a .tmp); *lsn
 * (may be NULL) gets its start LSN. */
bool snapshot_parse_name(const char *name, uint64_t *lsn);

/* ---- writer ------------------------------------------------------------------ */

typedef struct snapshot_writer snapshot_writer_t;

/* Starts `<dir>/snapshot-<start_lsn>.tmp` (replacing a leftover one;
 * O_CLOEXEC, mode 0600) and writes the header. item_count is the exact
 * number of entries that will be added, or SNAPSHOT_COUNT_UNKNOWN.
 * PERSIST_OK, PERSIST_INVALID (path too long), PERSIST_IO, PERSIST_NOMEM. */
persist_status_t snapshot_writer_open(const char *dir, uint64_t start_lsn, uint64_t item_count,
                                      snapshot_writer_t **out, persist_error_t *err);

/* Adds an entry; keys must come in strictly increasing order (memcmp, a
 * shorter key first on a common prefix: the store's order). A key or
 * value over its limit or out of order: PERSIST_INVALID and the writer is
 * unchanged. PERSIST_IO / PERSIST_NOMEM leave the writer failed: abort it. */
persist_status_t snapshot_writer_add(snapshot_writer_t *w, const snapshot_entry_t *e,
                                     persist_error_t *err);

/* Writes the last chunk and the trailer, fsyncs, renames the .tmp file to
 * .snap and fsyncs the directory; then frees w. On error the .tmp file is
 * removed and w freed all the same. PERSIST_INVALID if the count given at
 * open does not match the entries added. */
persist_status_t snapshot_writer_commit(snapshot_writer_t *w, persist_error_t *err);

/* Gives up: closes and removes the .tmp file, frees w. */
void snapshot_writer_abort(snapshot_writer_t *w);

/* ---- reader ------------------------------------------------------------------ */

typedef struct snapshot_reader snapshot_reader_t;

/* Opens a snapshot: validates the header (magic, version, size, CRC) and
 * the trailer (end marker, magic, CRC). PERSIST_OK, PERSIST_CORRUPT (the
 * message names the file, the offset and the check), PERSIST_IO,
 * PERSIST_NOMEM. */
persist_status_t snapshot_reader_open(const char *path, snapshot_reader_t **out,
                                      persist_error_t *err);

const snapshot_header_t *snapshot_reader_header(const snapshot_reader_t *r);

/* Yields the next entry (pointing into the reader's buffer, valid until the
 * next call). Each chunk's CRC is checked before any of its entries is
 * yielded, every length is bounded, keys must increase. PERSIST_END only
 * once the whole body's CRC and the entry count match the trailer (and the
 * header's count, when known). PERSIST_CORRUPT (err->offset: the chunk or
 * entry), PERSIST_IO, PERSIST_NOMEM; after anything but PERSIST_OK every
 * call returns the same. */
persist_status_t snapshot_reader_next(snapshot_reader_t *r, snapshot_entry_t *e,
                                      persist_error_t *err);

/* Entries yielded so far. */
uint64_t snapshot_reader_count(const snapshot_reader_t *r);

/* Entries the trailer promises (checked by its CRC at open; the body is
 * checked against it as it is read). */
uint64_t snapshot_reader_total(const snapshot_reader_t *r);

void snapshot_reader_close(snapshot_reader_t *r);

/* Reads a whole snapshot without keeping anything: PERSIST_OK if it is
 * valid (*hdr, *count may be NULL), else as snapshot_reader_next(). */
persist_status_t snapshot_verify(const char *path, snapshot_header_t *hdr, uint64_t *count,
                                 persist_error_t *err);

/* ---- directory ------------------------------------------------------------- */

typedef struct {
    uint64_t start_lsn;
    char name[SNAPSHOT_NAME_MAX];
} snapshot_info_t;

/* Lists dir's finished snapshots (.snap; .tmp and other files ignored),
 * newest (largest start LSN) first, into a malloc'd array (*out, free() it;
 * NULL when *n is 0). Does not validate them. PERSIST_OK, PERSIST_IO,
 * PERSIST_NOMEM. */
persist_status_t snapshot_list(const char *dir, snapshot_info_t **out, size_t *n,
                               persist_error_t *err);

/* Keeps the newest `keep` (>= 1) snapshots by name and removes older ones,
 * along with .tmp files older than the newest snapshot (abandoned
 * attempts), then fsyncs dir. Does not validate what it keeps. PERSIST_OK,
 * PERSIST_INVALID (keep 0), PERSIST_IO, PERSIST_NOMEM. */
persist_status_t snapshot_prune(const char *dir, unsigned keep, persist_error_t *err);

#endif
