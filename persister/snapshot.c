/*
 * snapshot.c — snapshot files: names, the writer (chunks, trailer, atomic
 * rename), the validating reader, listing and pruning. Contracts in
 * snapshot.h; bytes in docs/persistence.md.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/crc32c.h"
#include "store/record.h"
#include "persister/snapshot.h"

#define CHUNK_HEAD 8u /* entry count, size */
#define CHUNK_CRC 4u

/* ---- names -------------------------------------------------------------------- */

void snapshot_name(char name[SNAPSHOT_NAME_MAX], uint64_t start_lsn, bool tmp)
{
    snprintf(name, SNAPSHOT_NAME_MAX, "snapshot-%020" PRIu64 "%s", start_lsn, tmp ? ".tmp" : ".snap");
}

/* "snapshot-<20 digits><suffix>" exactly; *lsn gets the number. */
static bool parse_name(const char *name, const char *suffix, uint64_t *lsn)
{
    size_t sl = strlen(suffix);
    if (strncmp(name, "snapshot-", 9) != 0 || strlen(name) != 29 + sl || strcmp(name + 29, suffix))
        return false;
    uint64_t x = 0;
    for (int i = 9; i < 29; i++) {
        if (name[i] < '0' || name[i] > '9')
            return false;
        unsigned d = (unsigned)(name[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    if (lsn)
        *lsn = x;
    return true;
}

bool snapshot_parse_name(const char *name, uint64_t *lsn)
{
    return parse_name(name, ".snap", lsn);
}

/* Store order: memcmp, a shorter key first on a common prefix. */
static int key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

/* ---- writer -------------------------------------------------------------------- */

struct snapshot_writer {
    char dir[PATH_MAX], tmp[PATH_MAX], path[PATH_MAX];
    int fd;
    uint64_t off;           /* file bytes written */
    uint64_t promised;      /* item count given at open */
    uint64_t count;         /* entries added */
    uint32_t body_crc;
    uint8_t *chunk;         /* CHUNK_HEAD placeholder, then entries */
    size_t chunk_len, chunk_cap;
    uint32_t chunk_n;
    uint8_t *last_key;      /* copy of the last key added */
    uint32_t last_klen;
    persist_error_t failed; /* status != OK once an I/O error happened */
};

persist_status_t snapshot_writer_open(const char *dir, uint64_t start_lsn, uint64_t item_count,
                                      snapshot_writer_t **out, persist_error_t *err)
{
    *out = NULL;
    char name[SNAPSHOT_NAME_MAX];
    if (strlen(dir) + 1 + SNAPSHOT_NAME_MAX > PATH_MAX)
        return persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "snapshot directory path too long");
    snapshot_writer_t *w = calloc(1, sizeof(*w));
    if (w)
        w->last_key = malloc(RECORD_MAX_KEY);
    if (!w || !w->last_key) {
        if (w)
            free(w);
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "snapshot writer: out of memory");
    }
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    snapshot_name(name, start_lsn, true);
    pio_join(w->tmp, sizeof(w->tmp), dir, name);
    snapshot_name(name, start_lsn, false);
    pio_join(w->path, sizeof(w->path), dir, name);
    w->promised = item_count;
    w->chunk_len = CHUNK_HEAD;
    uint8_t h[SNAPSHOT_HEADER_SIZE];
    memcpy(h, SNAPSHOT_MAGIC, 8);
    wr_u32(h + 8, SNAPSHOT_VERSION);
    wr_u32(h + 12, SNAPSHOT_HEADER_SIZE);
    wr_u64(h + 16, start_lsn);
    wr_u64(h + 24, item_count);
    wr_u64(h + 32, pio_now_ms());
    wr_u32(h + 40, 0);
    wr_u32(h + 44, crc32c(0, h, 44));
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    persist_status_t st = PERSIST_OK;
    if (w->fd < 0)
        st = persist_syserr(err, "open", w->tmp);
    else if (pio_pwrite_all(w->fd, h, sizeof(h), 0) != 0)
        st = persist_syserr(err, "write", w->tmp);
    if (st != PERSIST_OK) {
        snapshot_writer_abort(w);
        return st;
    }
    w->off = SNAPSHOT_HEADER_SIZE;
    *out = w;
    return PERSIST_OK;
}

static persist_status_t writer_failed(snapshot_writer_t *w, persist_error_t *err)
{
    if (err)
        *err = w->failed;
    return w->failed.status;
}

/* Seals the chunk being built (count, size, CRC) and writes it. */
static persist_status_t flush_chunk(snapshot_writer_t *w)
{
    if (w->chunk_n == 0)
        return PERSIST_OK;
    uint8_t *c = w->chunk;
    wr_u32(c, w->chunk_n);
    wr_u32(c + 4, (uint32_t)(w->chunk_len - CHUNK_HEAD));
    wr_u32(c + w->chunk_len, crc32c(0, c, w->chunk_len)); /* room kept by add */
    size_t n = w->chunk_len + CHUNK_CRC;
    if (pio_pwrite_all(w->fd, c, n, w->off) != 0)
        return persist_syserr(&w->failed, "write", w->tmp);
    w->body_crc = crc32c(w->body_crc, c, n);
    w->off += n;
    w->chunk_len = CHUNK_HEAD;
    w->chunk_n = 0;
    return PERSIST_OK;
}

/* Room for `more` bytes after the chunk's entries, its CRC included. */
static persist_status_t chunk_reserve(snapshot_writer_t *w, size_t more)
{
    size_t need = w->chunk_len + more + CHUNK_CRC;
    if (need <= w->chunk_cap)
        return PERSIST_OK;
    size_t cap = w->chunk_cap ? w->chunk_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *c = realloc(w->chunk, cap);
    if (!c)
        return persist_fail(&w->failed, PERSIST_NOMEM, ENOMEM, 0, "%s: out of memory", w->tmp);
    w->chunk = c;
    w->chunk_cap = cap;
    return PERSIST_OK;
}

persist_status_t snapshot_writer_add(snapshot_writer_t *w, const snapshot_entry_t *e,
                                     persist_error_t *err)
{
    if (w->failed.status != PERSIST_OK)
        return writer_failed(w, err);
    if (e->klen > RECORD_MAX_KEY || e->vlen > RECORD_MAX_VALUE || (e->klen && !e->key) ||
        (e->vlen && !e->val))
        return persist_fail(err, PERSIST_INVALID, EINVAL, 0, "%s: key or value over its limit",
                            w->tmp);
    if (w->count && key_cmp(e->key, e->klen, w->last_key, w->last_klen) <= 0)
        return persist_fail(err, PERSIST_INVALID, EINVAL, 0,
                            "%s: entry %" PRIu64 " is not after the previous key", w->tmp, w->count);
    size_t n = SNAPSHOT_ENTRY_FIXED + (size_t)e->klen + e->vlen;
    if (w->chunk_n && w->chunk_len - CHUNK_HEAD + n > SNAPSHOT_CHUNK_TARGET &&
        flush_chunk(w) != PERSIST_OK)
        return writer_failed(w, err);
    if (chunk_reserve(w, n) != PERSIST_OK)
        return writer_failed(w, err);
    uint8_t *p = w->chunk + w->chunk_len;
    p = wr_u64(p, e->expiry_ms);
    p = wr_u64(p, e->version);
    p = wr_u16(p, (uint16_t)e->klen);
    p = wr_u32(p, e->vlen);
    if (e->klen)
        memcpy(p, e->key, e->klen);
    if (e->vlen)
        memcpy(p + e->klen, e->val, e->vlen);
    w->chunk_len += n;
    w->chunk_n++;
    w->count++;
    if (e->klen)
        memcpy(w->last_key, e->key, e->klen);
    w->last_klen = e->klen;
    return PERSIST_OK;
}

/* Trailer, fsync, close, rename, directory fsync. */
static persist_status_t seal(snapshot_writer_t *w, persist_error_t *err)
{
    uint8_t t[SNAPSHOT_TRAILER_SIZE];
    wr_u32(t, 0);
    wr_u32(t + 4, 0);
    wr_u64(t + 8, w->count);
    wr_u32(t + 16, w->body_crc);
    memcpy(t + 20, SNAPSHOT_END_MAGIC, 8);
    wr_u32(t + 28, crc32c(0, t, 28));
    const char *call = NULL;
    if (pio_pwrite_all(w->fd, t, sizeof(t), w->off) != 0)
        call = "write";
    else if (fsync(w->fd) != 0)
        call = "fsync";
    if (call)
        return persist_syserr(err, call, w->tmp);
    int rc = close(w->fd);
    w->fd = -1;
    if (rc != 0)
        return persist_syserr(err, "close", w->tmp);
    if (rename(w->tmp, w->path) != 0)
        return persist_syserr(err, "rename", w->tmp);
    if (pio_fsync_dir(w->dir, &call) != 0)
        return persist_syserr(err, call, w->dir);
    return PERSIST_OK;
}

persist_status_t snapshot_writer_commit(snapshot_writer_t *w, persist_error_t *err)
{
    persist_status_t st = PERSIST_OK;
    if (w->failed.status != PERSIST_OK || flush_chunk(w) != PERSIST_OK)
        st = writer_failed(w, err);
    else if (w->promised != SNAPSHOT_COUNT_UNKNOWN && w->promised != w->count)
        st = persist_fail(err, PERSIST_INVALID, EINVAL, 0,
                          "%s: %" PRIu64 " entries written, %" PRIu64 " announced", w->tmp, w->count,
                          w->promised);
    else
        st = seal(w, err);
    if (st != PERSIST_OK) {
        snapshot_writer_abort(w);
        return st;
    }
    free(w->chunk);
    free(w->last_key);
    free(w);
    return PERSIST_OK;
}

void snapshot_writer_abort(snapshot_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    unlink(w->tmp); /* best effort: a leftover .tmp is ignored and pruned */
    free(w->chunk);
    free(w->last_key);
    free(w);
}

/* ---- reader -------------------------------------------------------------------- */

struct snapshot_reader {
    char path[PATH_MAX];
    int fd;
    uint64_t size, body_end; /* the trailer starts at body_end */
    snapshot_header_t hdr;
    uint64_t trailer_count;
    uint32_t trailer_crc;
    uint64_t off;            /* next chunk */
    uint32_t body_crc;       /* of the chunks read so far */
    uint64_t count;          /* entries yielded */
    uint8_t *chunk;          /* the current chunk, validated */
    size_t chunk_cap, chunk_end, pos;
    uint32_t chunk_left;     /* entries not yet yielded */
    uint8_t *prev_key;       /* last key of the previous chunk */
    uint32_t prev_klen;
    persist_error_t done;    /* sticky once not OK */
};

static persist_status_t corrupt(snapshot_reader_t *r, uint64_t off, const char *why)
{
    return persist_fail(&r->done, PERSIST_CORRUPT, 0, off, "%s: corrupt snapshot at offset %" PRIu64
                        " (%s)", r->path, off, why);
}

/* Parses the entry at p (avail bytes). Returns its size, or 0 if it does
 * not fit. */
static size_t parse_entry(const uint8_t *p, size_t avail, snapshot_entry_t *e)
{
    if (avail < SNAPSHOT_ENTRY_FIXED)
        return 0;
    e->expiry_ms = rd_u64(p);
    e->version = rd_u64(p + 8);
    e->klen = rd_u16(p + 16);
    e->vlen = rd_u32(p + 18);
    if (e->vlen > RECORD_MAX_VALUE)
        return 0;
    size_t n = SNAPSHOT_ENTRY_FIXED + (size_t)e->klen + e->vlen;
    if (n > avail)
        return 0;
    e->key = p + SNAPSHOT_ENTRY_FIXED;
    e->val = p + SNAPSHOT_ENTRY_FIXED + e->klen;
    return n;
}

static persist_status_t read_header(snapshot_reader_t *r)
{
    uint8_t h[SNAPSHOT_HEADER_SIZE], t[SNAPSHOT_TRAILER_SIZE];
    if (r->size < SNAPSHOT_HEADER_SIZE + SNAPSHOT_TRAILER_SIZE)
        return corrupt(r, 0, "file too short for a header and a trailer");
    if (pio_pread_all(r->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
        pio_pread_all(r->fd, t, sizeof(t), r->size - sizeof(t)) != (ssize_t)sizeof(t))
        return persist_syserr(&r->done, "pread", r->path);
    if (memcmp(h, SNAPSHOT_MAGIC, 8) != 0)
        return corrupt(r, 0, "bad magic: not a fickle snapshot");
    if (crc32c(0, h, 44) != rd_u32(h + 44))
        return corrupt(r, 0, "header CRC mismatch");
    if (rd_u32(h + 8) != SNAPSHOT_VERSION)
        return corrupt(r, 8, "unsupported snapshot format version");
    if (rd_u32(h + 12) != SNAPSHOT_HEADER_SIZE || rd_u32(h + 40) != 0)
        return corrupt(r, 12, "bad header size or reserved field");
    r->hdr.start_lsn = rd_u64(h + 16);
    r->hdr.item_count = rd_u64(h + 24);
    r->hdr.created_ms = rd_u64(h + 32);
    r->body_end = r->size - SNAPSHOT_TRAILER_SIZE;
    if (rd_u32(t) != 0 || rd_u32(t + 4) != 0 || memcmp(t + 20, SNAPSHOT_END_MAGIC, 8) != 0 ||
        crc32c(0, t, 28) != rd_u32(t + 28))
        return corrupt(r, r->body_end, "no valid trailer: truncated or damaged");
    r->trailer_count = rd_u64(t + 8);
    r->trailer_crc = rd_u32(t + 16);
    return PERSIST_OK;
}

persist_status_t snapshot_reader_open(const char *path, snapshot_reader_t **out,
                                      persist_error_t *err)
{
    *out = NULL;
    if (strlen(path) >= PATH_MAX)
        return persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "snapshot path too long");
    snapshot_reader_t *r = calloc(1, sizeof(*r));
    if (r)
        r->prev_key = malloc(RECORD_MAX_KEY);
    if (!r || !r->prev_key) {
        free(r);
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "%s: out of memory", path);
    }
    snprintf(r->path, sizeof(r->path), "%s", path);
    struct stat sb;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    persist_status_t st;
    if (r->fd < 0)
        st = persist_syserr(&r->done, "open", path);
    else if (fstat(r->fd, &sb) != 0)
        st = persist_syserr(&r->done, "fstat", path);
    else {
        r->size = (uint64_t)sb.st_size;
        st = read_header(r);
    }
    if (st != PERSIST_OK) {
        if (err)
            *err = r->done;
        snapshot_reader_close(r);
        return st;
    }
    r->off = SNAPSHOT_HEADER_SIZE;
    *out = r;
    return PERSIST_OK;
}

/* Checks every entry of the loaded chunk (sizes, key order) before any is
 * yielded, and remembers its last key for the next chunk. */
static persist_status_t check_chunk(snapshot_reader_t *r, uint64_t coff)
{
    size_t pos = CHUNK_HEAD;
    const void *prev = r->prev_key; /* every earlier chunk was yielded whole */
    uint32_t prev_len = r->prev_klen;
    bool have_prev = r->count > 0;
    for (uint32_t i = 0; i < r->chunk_left; i++) {
        snapshot_entry_t e;
        size_t n = parse_entry(r->chunk + pos, r->chunk_end - pos, &e);
        if (n == 0)
            return corrupt(r, coff + pos, "entry runs past its chunk");
        if (have_prev && key_cmp(e.key, e.klen, prev, prev_len) <= 0)
            return corrupt(r, coff + pos, "keys out of order");
        prev = e.key;
        prev_len = e.klen;
        have_prev = true;
        pos += n;
    }
    if (pos != r->chunk_end)
        return corrupt(r, coff + pos, "bytes after a chunk's last entry");
    if (prev_len)
        memcpy(r->prev_key, prev, prev_len);
    r->prev_klen = prev_len;
    return PERSIST_OK;
}

/* Loads, checks and accounts the chunk at r->off. */
static persist_status_t load_chunk(snapshot_reader_t *r)
{
    uint8_t h[CHUNK_HEAD];
    uint64_t coff = r->off, room = r->body_end - coff;
    if (room < CHUNK_HEAD + CHUNK_CRC)
        return corrupt(r, coff, "chunk header runs into the trailer");
    if (pio_pread_all(r->fd, h, sizeof(h), coff) != (ssize_t)sizeof(h))
        return persist_syserr(&r->done, "pread", r->path);
    uint32_t n = rd_u32(h), size = rd_u32(h + 4);
    if (n == 0 || (uint64_t)n * SNAPSHOT_ENTRY_FIXED > size || size > room - CHUNK_HEAD - CHUNK_CRC)
        return corrupt(r, coff, "chunk entry count or size out of range");
    size_t total = CHUNK_HEAD + (size_t)size + CHUNK_CRC;
    if (total > r->chunk_cap) {
        uint8_t *c = realloc(r->chunk, total);
        if (!c)
            return persist_fail(&r->done, PERSIST_NOMEM, ENOMEM, coff, "%s: out of memory", r->path);
        r->chunk = c;
        r->chunk_cap = total;
    }
    ssize_t got = pio_pread_all(r->fd, r->chunk, total, coff);
    if (got < 0)
        return persist_syserr(&r->done, "pread", r->path);
    if ((size_t)got != total)
        return persist_fail(&r->done, PERSIST_IO, EIO, coff, "pread %s: file shrank", r->path);
    if (crc32c(0, r->chunk, total - CHUNK_CRC) != rd_u32(r->chunk + total - CHUNK_CRC))
        return corrupt(r, coff, "chunk CRC mismatch");
    r->chunk_end = total - CHUNK_CRC;
    r->chunk_left = n;
    r->pos = CHUNK_HEAD;
    persist_status_t st = check_chunk(r, coff);
    if (st != PERSIST_OK)
        return st;
    r->body_crc = crc32c(r->body_crc, r->chunk, total);
    r->off += total;
    return PERSIST_OK;
}

/* At the trailer: the body CRC and the counts must agree. */
static persist_status_t check_end(snapshot_reader_t *r)
{
    if (r->body_crc != r->trailer_crc)
        return corrupt(r, r->body_end, "body CRC does not match the trailer");
    if (r->count != r->trailer_count)
        return corrupt(r, r->body_end, "entry count does not match the trailer");
    if (r->hdr.item_count != SNAPSHOT_COUNT_UNKNOWN && r->hdr.item_count != r->count)
        return corrupt(r, r->body_end, "entry count does not match the header");
    return persist_fail(&r->done, PERSIST_END, 0, r->body_end, "%s: end", r->path);
}

persist_status_t snapshot_reader_next(snapshot_reader_t *r, snapshot_entry_t *e,
                                      persist_error_t *err)
{
    if (r->done.status == PERSIST_OK && r->chunk_left == 0) {
        if (r->off == r->body_end)
            check_end(r);
        else
            load_chunk(r);
    }
    if (r->done.status != PERSIST_OK) {
        if (err)
            *err = r->done;
        return r->done.status;
    }
    r->pos += parse_entry(r->chunk + r->pos, r->chunk_end - r->pos, e); /* checked on load */
    r->chunk_left--;
    r->count++;
    return PERSIST_OK;
}

const snapshot_header_t *snapshot_reader_header(const snapshot_reader_t *r)
{
    return &r->hdr;
}

uint64_t snapshot_reader_count(const snapshot_reader_t *r)
{
    return r->count;
}

uint64_t snapshot_reader_total(const snapshot_reader_t *r)
{
    return r->trailer_count;
}

void snapshot_reader_close(snapshot_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->chunk);
    free(r->prev_key);
    free(r);
}

persist_status_t snapshot_verify(const char *path, snapshot_header_t *hdr, uint64_t *count,
                                 persist_error_t *err)
{
    snapshot_reader_t *r;
    persist_status_t st = snapshot_reader_open(path, &r, err);
    if (st != PERSIST_OK)
        return st;
    snapshot_entry_t e;
    while ((st = snapshot_reader_next(r, &e, err)) == PERSIST_OK)
        ;
    if (st == PERSIST_END) {
        st = PERSIST_OK;
        if (hdr)
            *hdr = r->hdr;
        if (count)
            *count = r->count;
    }
    snapshot_reader_close(r);
    return st;
}

/* ---- directory --------------------------------------------------------------- */

static int cmp_newest_first(const void *a, const void *b)
{
    uint64_t x = ((const snapshot_info_t *)a)->start_lsn, y = ((const snapshot_info_t *)b)->start_lsn;
    return x > y ? -1 : x < y;
}

/* Lists names matching suffix (".snap" or ".tmp"), newest first. */
static persist_status_t list_names(const char *dir, const char *suffix, snapshot_info_t **out,
                                   size_t *n, persist_error_t *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return persist_syserr(err, "opendir", dir);
    snapshot_info_t *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t lsn;
        if (!parse_name(de->d_name, suffix, &lsn))
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 8;
            snapshot_info_t *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                free(v);
                closedir(d);
                return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "listing %s: out of memory", dir);
            }
            v = nv;
        }
        v[len].start_lsn = lsn;
        snapshot_name(v[len].name, lsn, strcmp(suffix, ".tmp") == 0);
        len++;
        errno = 0;
    }
    persist_status_t st = errno ? persist_syserr(err, "readdir", dir) : PERSIST_OK;
    closedir(d);
    if (st != PERSIST_OK) {
        free(v);
        return st;
    }
    if (len)
        qsort(v, len, sizeof(*v), cmp_newest_first);
    *out = v;
    *n = len;
    return PERSIST_OK;
}

persist_status_t snapshot_list(const char *dir, snapshot_info_t **out, size_t *n,
                               persist_error_t *err)
{
    return list_names(dir, ".snap", out, n, err);
}

/* Unlinks dir/name; counts it in *removed. */
static persist_status_t remove_one(const char *dir, const char *name, unsigned *removed,
                                   persist_error_t *err)
{
    char p[PATH_MAX];
    if (pio_join(p, sizeof(p), dir, name) != 0)
        return persist_syserr(err, "unlink", name);
    if (unlink(p) != 0 && errno != ENOENT)
        return persist_syserr(err, "unlink", p);
    (*removed)++;
    return PERSIST_OK;
}

persist_status_t snapshot_prune(const char *dir, unsigned keep, persist_error_t *err)
{
    if (keep == 0)
        return persist_fail(err, PERSIST_INVALID, EINVAL, 0, "snapshot_prune: keep must be >= 1");
    snapshot_info_t *snaps, *tmps = NULL;
    size_t ns, nt = 0;
    unsigned removed = 0;
    persist_status_t st = list_names(dir, ".snap", &snaps, &ns, err);
    if (st == PERSIST_OK && ns > 0)
        st = list_names(dir, ".tmp", &tmps, &nt, err);
    for (size_t i = keep; st == PERSIST_OK && i < ns; i++)
        st = remove_one(dir, snaps[i].name, &removed, err);
    for (size_t i = 0; st == PERSIST_OK && i < nt; i++)
        if (tmps[i].start_lsn < snaps[0].start_lsn)
            st = remove_one(dir, tmps[i].name, &removed, err);
    free(snaps);
    free(tmps);
    const char *call;
    if (st == PERSIST_OK && removed && pio_fsync_dir(dir, &call) != 0)
        st = persist_syserr(err, call, dir);
    return st;
}
