/*
 * segment.c — log segment files: names, listing, the writer (append,
 * rollover, fsync) and the reader (records in order, torn tail versus
 * mid-file corruption). Contracts in segment.h.
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
#include "persister/segment.h"

#define TMP_SUFFIX ".tmp"
#define READ_CHUNK (1u << 20)

/* ---- names and headers -------------------------------------------------------- */

void segment_name(char name[SEGMENT_NAME_MAX], uint64_t first_lsn)
{
    snprintf(name, SEGMENT_NAME_MAX, "%020" PRIu64 ".log", first_lsn);
}

/* Parses exactly 20 decimal digits into *v; false on anything else or
 * overflow. Shared idea with snapshot names. */
static bool parse_20_digits(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 20; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

bool segment_parse_name(const char *name, uint64_t *first_lsn)
{
    uint64_t v;
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0 || !parse_20_digits(name, &v))
        return false;
    if (first_lsn)
        *first_lsn = v;
    return true;
}

static void encode_header(uint8_t h[SEGMENT_HEADER_SIZE], const segment_header_t *sh)
{
    memcpy(h, SEGMENT_MAGIC, 8);
    wr_u32(h + 8, SEGMENT_VERSION);
    wr_u32(h + 12, SEGMENT_HEADER_SIZE);
    wr_u64(h + 16, sh->first_lsn);
    wr_u64(h + 24, sh->created_ms);
    wr_u32(h + 32, 0);
    wr_u32(h + 36, crc32c(0, h, 36));
}

/* Validates a header; on failure returns the reason. */
static const char *decode_header(const uint8_t h[SEGMENT_HEADER_SIZE], segment_header_t *sh)
{
    if (memcmp(h, SEGMENT_MAGIC, 8) != 0)
        return "bad magic: not a fickle log segment";
    if (crc32c(0, h, 36) != rd_u32(h + 36))
        return "header CRC mismatch";
    if (rd_u32(h + 8) != SEGMENT_VERSION)
        return "unsupported segment format version";
    if (rd_u32(h + 12) != SEGMENT_HEADER_SIZE || rd_u32(h + 32) != 0)
        return "bad header size or reserved field";
    sh->first_lsn = rd_u64(h + 16);
    sh->created_ms = rd_u64(h + 24);
    if (sh->first_lsn == 0)
        return "first LSN 0";
    return NULL;
}

static int cmp_info(const void *a, const void *b)
{
    uint64_t x = ((const segment_info_t *)a)->first_lsn, y = ((const segment_info_t *)b)->first_lsn;
    return x < y ? -1 : x > y;
}

persist_status_t segment_list(const char *dir, segment_info_t **out, size_t *n,
                              persist_error_t *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return persist_syserr(err, "opendir", dir);
    segment_info_t *v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t lsn;
        if (!segment_parse_name(de->d_name, &lsn))
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            segment_info_t *nv = realloc(v, cap * sizeof(*v));
            if (!nv) {
                free(v);
                closedir(d);
                return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "listing %s: out of memory", dir);
            }
            v = nv;
        }
        v[len].first_lsn = lsn;
        segment_name(v[len].name, lsn);
        len++;
        errno = 0;
    }
    if (errno != 0) {
        persist_status_t st = persist_syserr(err, "readdir", dir);
        free(v);
        closedir(d);
        return st;
    }
    closedir(d);
    if (len)
        qsort(v, len, sizeof(*v), cmp_info);
    *out = v;
    *n = len;
    return PERSIST_OK;
}

/* ---- writer ----------------------------------------------------------------- */

struct segment_writer {
    char dir[PATH_MAX];
    char path[PATH_MAX]; /* current segment, "" before the first */
    int fd;              /* -1 when no segment is open */
    uint64_t size;       /* bytes in the current segment */
    uint64_t next_lsn;   /* smallest LSN the next record may have */
    uint64_t last_lsn;
    uint64_t roll_size;
    bool broken;
    persist_error_t broken_err;
};

static persist_status_t writer_break(segment_writer_t *w, persist_error_t *err)
{
    w->broken = true;
    if (err)
        w->broken_err = *err;
    else
        persist_fail(&w->broken_err, PERSIST_IO, 0, 0, "segment writer on %s failed", w->dir);
    return w->broken_err.status;
}

/* Creates dir if missing and makes its entry durable in the parent. */
static persist_status_t ensure_dir(const char *dir, persist_error_t *err)
{
    if (mkdir(dir, 0700) != 0) {
        if (errno == EEXIST)
            return PERSIST_OK;
        return persist_syserr(err, "mkdir", dir);
    }
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", dir);
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(parent, sizeof(parent), ".");
    const char *call;
    if (pio_fsync_dir(parent, &call) != 0)
        return persist_syserr(err, call, parent);
    return PERSIST_OK;
}

/* Removes "<segment name>.tmp" files a crash left behind. */
static persist_status_t remove_tmp_files(segment_writer_t *w, persist_error_t *err)
{
    DIR *d = opendir(w->dir);
    if (!d)
        return persist_syserr(err, "opendir", w->dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        char base[SEGMENT_NAME_MAX];
        if (l != 28 || strcmp(de->d_name + 24, TMP_SUFFIX) != 0)
            continue;
        memcpy(base, de->d_name, 24);
        base[24] = '\0';
        if (!segment_parse_name(base, NULL))
            continue;
        char p[PATH_MAX];
        pio_join(p, sizeof(p), w->dir, de->d_name); /* fits: checked at open */
        if (unlink(p) != 0 && errno != ENOENT) {
            persist_status_t st = persist_syserr(err, "unlink", p);
            closedir(d);
            return st;
        }
    }
    closedir(d);
    return PERSIST_OK;
}

persist_status_t segment_writer_open(const char *dir, uint64_t next_lsn,
                                     const segment_writer_opts_t *opt, segment_writer_t **out,
                                     persist_error_t *err)
{
    *out = NULL;
    if (next_lsn == 0)
        return persist_fail(err, PERSIST_INVALID, EINVAL, 0, "segment writer: next LSN 0");
    if (strlen(dir) + 1 + SEGMENT_NAME_MAX > PATH_MAX)
        return persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "log directory path too long");
    segment_writer_t *w = calloc(1, sizeof(*w));
    if (!w)
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "segment writer: out of memory");
    snprintf(w->dir, sizeof(w->dir), "%s", dir);
    w->fd = -1;
    w->next_lsn = next_lsn;
    w->roll_size = opt && opt->roll_size ? opt->roll_size : SEGMENT_DEFAULT_ROLL;
    persist_status_t st = ensure_dir(dir, err);
    if (st == PERSIST_OK)
        st = remove_tmp_files(w, err);
    if (st != PERSIST_OK) {
        free(w);
        return st;
    }
    *out = w;
    return PERSIST_OK;
}

/* Refuses to replace an existing segment that holds records. */
static persist_status_t check_no_records(const char *path, persist_error_t *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return errno == ENOENT ? PERSIST_OK : persist_syserr(err, "stat", path);
    if ((uint64_t)sb.st_size > SEGMENT_HEADER_SIZE)
        return persist_fail(err, PERSIST_INVALID, EEXIST, 0,
                            "segment %s already exists and holds records", path);
    return PERSIST_OK;
}

/* Creates the segment for first_lsn: "<name>.tmp", header, fsync, rename,
 * directory fsync. On success it is w's current segment. */
static persist_status_t create_segment(segment_writer_t *w, uint64_t first_lsn,
                                       persist_error_t *err)
{
    char name[SEGMENT_NAME_MAX], tmpname[SEGMENT_NAME_MAX], path[PATH_MAX], tmp[PATH_MAX];
    segment_name(name, first_lsn);
    memcpy(tmpname, name, 24);
    memcpy(tmpname + 24, TMP_SUFFIX, sizeof(TMP_SUFFIX));
    pio_join(path, sizeof(path), w->dir, name); /* both fit: checked at open */
    pio_join(tmp, sizeof(tmp), w->dir, tmpname);
    persist_status_t st = check_no_records(path, err);
    if (st != PERSIST_OK)
        return st;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return persist_syserr(err, "open", tmp);
    uint8_t h[SEGMENT_HEADER_SIZE];
    segment_header_t sh = {.first_lsn = first_lsn, .created_ms = pio_now_ms()};
    encode_header(h, &sh);
    const char *call = NULL;
    if (pio_pwrite_all(fd, h, sizeof(h), 0) != 0)
        call = "write";
    else if (fsync(fd) != 0)
        call = "fsync";
    else if (rename(tmp, path) != 0)
        call = "rename";
    if (call) {
        st = persist_syserr(err, call, tmp);
        close(fd);
        unlink(tmp);
        return st;
    }
    if (pio_fsync_dir(w->dir, &call) != 0) {
        st = persist_syserr(err, call, w->dir);
        close(fd);
        return st; /* the file stays; it holds no record, so a retry replaces it */
    }
    w->fd = fd;
    w->size = SEGMENT_HEADER_SIZE;
    snprintf(w->path, sizeof(w->path), "%s", path);
    return PERSIST_OK;
}

/* Closes the current segment after making it durable. */
static persist_status_t finish_segment(segment_writer_t *w, persist_error_t *err)
{
    persist_status_t st = PERSIST_OK;
    if (fdatasync(w->fd) != 0)
        st = persist_syserr(err, "fdatasync", w->path);
    if (close(w->fd) != 0 && st == PERSIST_OK)
        st = persist_syserr(err, "close", w->path);
    w->fd = -1;
    return st == PERSIST_OK ? st : writer_break(w, err);
}

/* Checks a batch before anything is written: whole records, valid frames,
 * LSNs increasing from w->last_lsn and >= w->next_lsn. */
static persist_status_t check_batch(const segment_writer_t *w, const uint8_t *p, size_t len,
                                    persist_error_t *err)
{
    uint64_t prev = w->last_lsn;
    size_t pos = 0;
    while (pos < len) {
        size_t n;
        record_err_t e = record_check_frame(p + pos, len - pos, &n);
        if (e != RECORD_OK)
            return persist_fail(err, PERSIST_INVALID, EINVAL, pos,
                                "append to %s: %s at batch offset %zu", w->dir, record_strerror(e),
                                pos);
        uint64_t lsn = rd_u64(p + pos + RECORD_OFF_LSN);
        if (lsn <= prev || lsn < w->next_lsn)
            return persist_fail(err, PERSIST_INVALID, EINVAL, pos,
                                "append to %s: LSN %" PRIu64 " after %" PRIu64 " (at least %" PRIu64
                                " expected)",
                                w->dir, lsn, prev, prev >= w->next_lsn ? prev + 1 : w->next_lsn);
        prev = lsn;
        pos += n;
    }
    return PERSIST_OK;
}

/* Writes p[0..len) (whole records) at the end of the current segment. */
static persist_status_t write_run(segment_writer_t *w, const uint8_t *p, size_t len,
                                  persist_error_t *err)
{
    if (pio_pwrite_all(w->fd, p, len, w->size) == 0) {
        w->size += len;
        return PERSIST_OK;
    }
    int write_errno = errno;
    persist_status_t st = persist_syserr(err, "write", w->path);
    /* Cut the partial record so the file ends on a record boundary. */
    if (ftruncate(w->fd, (off_t)w->size) != 0) {
        int e = errno;
        persist_fail(err, PERSIST_IO, write_errno, w->size, "write %s: %s; then ftruncate: %s",
                     w->path, strerror(write_errno), strerror(e));
        return writer_break(w, err);
    }
    return st;
}

persist_status_t segment_writer_append(segment_writer_t *w, const void *recs, size_t len,
                                       persist_error_t *err)
{
    const uint8_t *p = recs;
    if (w->broken)
        return err ? (*err = w->broken_err).status : w->broken_err.status;
    persist_status_t st = check_batch(w, p, len, err);
    size_t pos = 0;
    while (st == PERSIST_OK && pos < len) {
        if (w->fd < 0) {
            st = create_segment(w, rd_u64(p + pos + RECORD_OFF_LSN), err);
            continue;
        }
        /* The longest run of records that fits; a segment without records
         * takes at least one, however big. */
        size_t end = pos;
        while (end < len) {
            uint64_t seg = w->size + (end - pos), n = rd_u32(p + end);
            if (seg > SEGMENT_HEADER_SIZE && seg + n > w->roll_size)
                break;
            end += n;
        }
        if (end == pos) {
            st = finish_segment(w, err);
            continue;
        }
        st = write_run(w, p + pos, end - pos, err);
        if (st != PERSIST_OK)
            break;
        /* LSN of the run's last record: walk to it */
        for (size_t q = pos; q < end; q += rd_u32(p + q))
            w->last_lsn = rd_u64(p + q + RECORD_OFF_LSN);
        pos = end;
    }
    return st;
}

persist_status_t segment_writer_sync(segment_writer_t *w, persist_error_t *err)
{
    if (w->broken)
        return err ? (*err = w->broken_err).status : w->broken_err.status;
    if (w->fd < 0 || fdatasync(w->fd) == 0)
        return PERSIST_OK;
    persist_syserr(err, "fdatasync", w->path);
    return writer_break(w, err);
}

persist_status_t segment_writer_close(segment_writer_t *w, persist_error_t *err)
{
    persist_status_t st = PERSIST_OK;
    if (w->fd >= 0 && close(w->fd) != 0)
        st = persist_syserr(err, "close", w->path);
    free(w);
    return st;
}

uint64_t segment_writer_last_lsn(const segment_writer_t *w)
{
    return w->last_lsn;
}

const char *segment_writer_path(const segment_writer_t *w)
{
    return w->path;
}

/* ---- reader ----------------------------------------------------------------- */

struct segment_reader {
    char path[PATH_MAX];
    int fd;
    uint64_t size;         /* file size at open */
    segment_header_t hdr;
    uint64_t off;          /* next record */
    uint64_t last_lsn;     /* of the last good record; 0 if none */
    persist_error_t done;  /* sticky result once not PERSIST_OK */
    uint8_t *buf;          /* file bytes [buf_off, buf_off + buf_len) */
    size_t buf_cap, buf_len;
    uint64_t buf_off;
};

/* Makes file bytes [off, off + n) available (n <= r->size - off, checked by
 * the caller) and points *p at them. */
static persist_status_t window(segment_reader_t *r, uint64_t off, size_t n, const uint8_t **p,
                               persist_error_t *err)
{
    if (off >= r->buf_off && off + n <= r->buf_off + r->buf_len) {
        *p = r->buf + (off - r->buf_off);
        return PERSIST_OK;
    }
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (want > r->size - off)
        want = (size_t)(r->size - off);
    if (want > r->buf_cap) {
        uint8_t *b = realloc(r->buf, want);
        if (!b)
            return persist_fail(err, PERSIST_NOMEM, ENOMEM, off,
                                "%s: out of memory for a %zu-byte record", r->path, n);
        r->buf = b;
        r->buf_cap = want;
    }
    r->buf_len = 0;
    ssize_t got = pio_pread_all(r->fd, r->buf, want, off);
    if (got < 0)
        return persist_syserr(err, "pread", r->path);
    if ((size_t)got < want)
        return persist_fail(err, PERSIST_IO, EIO, off, "pread %s: file shrank while being read",
                            r->path);
    r->buf_off = off;
    r->buf_len = want;
    *p = r->buf;
    return PERSIST_OK;
}

/* Cheap tests a record header at q must pass before its CRC is worth
 * computing: plausible length, known type, zero reserved fields, an LSN
 * after the last good one. */
static bool plausible_header(const segment_reader_t *r, const uint8_t *h, uint64_t q)
{
    uint32_t n = rd_u32(h + RECORD_OFF_LENGTH);
    uint64_t lsn = rd_u64(h + RECORD_OFF_LSN);
    uint8_t type = h[RECORD_OFF_TYPE];
    if (n < RECORD_HEADER_SIZE || n > RECORD_MAX_SIZE || n > r->size - q)
        return false;
    if (type < RECORD_PUT || type > RECORD_TXN || h[17] != 0 || h[18] != 0 || h[19] != 0)
        return false;
    return r->last_lsn ? lsn > r->last_lsn : lsn >= r->hdr.first_lsn;
}

/* Looks for a valid record starting anywhere after offset bad. Sets *found
 * to its offset, or to 0 if there is none. */
static persist_status_t find_valid_after(segment_reader_t *r, uint64_t bad, uint64_t *found,
                                         persist_error_t *err)
{
    *found = 0;
    for (uint64_t q = bad + 1; q + RECORD_HEADER_SIZE <= r->size; q++) {
        const uint8_t *h;
        persist_status_t st = window(r, q, RECORD_HEADER_SIZE, &h, err);
        if (st != PERSIST_OK)
            return st;
        if (!plausible_header(r, h, q))
            continue;
        record_t rec;
        size_t n = rd_u32(h);
        st = window(r, q, n, &h, err);
        if (st != PERSIST_OK)
            return st;
        if (record_decode(h, n, &rec, NULL, NULL) == RECORD_OK) {
            *found = q;
            return PERSIST_OK;
        }
    }
    return PERSIST_OK;
}

static persist_status_t reader_stop(segment_reader_t *r, persist_error_t *err)
{
    if (err)
        *err = r->done;
    return r->done.status;
}

/* The record at r->off is bad for reason `why`: torn tail or corruption. */
static persist_status_t classify(segment_reader_t *r, const char *why, persist_error_t *err)
{
    uint64_t next;
    persist_status_t st = find_valid_after(r, r->off, &next, &r->done);
    if (st != PERSIST_OK)
        return reader_stop(r, err);
    if (next)
        persist_fail(&r->done, PERSIST_CORRUPT, 0, r->off,
                     "%s: corrupt record at offset %" PRIu64 " (%s) followed by a valid record at "
                     "offset %" PRIu64,
                     r->path, r->off, why, next);
    else
        persist_fail(&r->done, PERSIST_TORN, 0, r->off,
                     "%s: torn tail at offset %" PRIu64 " (%s); %" PRIu64 " bytes after the last "
                     "valid record",
                     r->path, r->off, why, r->size - r->off);
    return reader_stop(r, err);
}

persist_status_t segment_reader_open(const char *path, segment_reader_t **out,
                                     persist_error_t *err)
{
    *out = NULL;
    if (strlen(path) >= PATH_MAX)
        return persist_fail(err, PERSIST_INVALID, ENAMETOOLONG, 0, "segment path too long");
    segment_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return persist_fail(err, PERSIST_NOMEM, ENOMEM, 0, "%s: out of memory", path);
    snprintf(r->path, sizeof(r->path), "%s", path);
    persist_status_t st = PERSIST_OK;
    struct stat sb;
    uint8_t h[SEGMENT_HEADER_SIZE];
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        st = persist_syserr(err, "open", path);
    else if (fstat(r->fd, &sb) != 0)
        st = persist_syserr(err, "fstat", path);
    else if ((r->size = (uint64_t)sb.st_size) < SEGMENT_HEADER_SIZE)
        st = persist_fail(err, PERSIST_CORRUPT, 0, 0, "%s: %" PRIu64 " bytes, shorter than a "
                          "segment header", path, r->size);
    else if (pio_pread_all(r->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
        st = persist_syserr(err, "pread", path);
    if (st == PERSIST_OK) {
        const char *why = decode_header(h, &r->hdr);
        const char *base = strrchr(path, '/');
        uint64_t named;
        base = base ? base + 1 : path;
        if (!why && segment_parse_name(base, &named) && named != r->hdr.first_lsn)
            why = "header's first LSN does not match the file name";
        if (why)
            st = persist_fail(err, PERSIST_CORRUPT, 0, 0, "%s: %s", path, why);
    }
    if (st != PERSIST_OK) {
        segment_reader_close(r);
        return st;
    }
    r->off = SEGMENT_HEADER_SIZE;
    *out = r;
    return PERSIST_OK;
}

const segment_header_t *segment_reader_header(const segment_reader_t *r)
{
    return &r->hdr;
}

/* A record passed its CRC: check its place in the LSN order. */
static const char *lsn_order_error(const segment_reader_t *r, uint64_t lsn, char *buf, size_t cap)
{
    if (r->last_lsn == 0 && lsn != r->hdr.first_lsn)
        snprintf(buf, cap, "first record has LSN %" PRIu64 ", the segment starts at %" PRIu64, lsn,
                 r->hdr.first_lsn);
    else if (r->last_lsn != 0 && lsn <= r->last_lsn)
        snprintf(buf, cap, "LSN %" PRIu64 " after LSN %" PRIu64, lsn, r->last_lsn);
    else
        return NULL;
    return buf;
}

persist_status_t segment_reader_next(segment_reader_t *r, record_t *rec, persist_error_t *err)
{
    if (r->done.status != PERSIST_OK)
        return reader_stop(r, err);
    uint64_t avail = r->size - r->off;
    if (avail == 0) {
        persist_fail(&r->done, PERSIST_END, 0, r->off, "%s: end", r->path);
        return reader_stop(r, err);
    }
    if (avail < RECORD_HEADER_SIZE)
        return classify(r, "incomplete record header", err);
    const uint8_t *p;
    if (window(r, r->off, RECORD_HEADER_SIZE, &p, &r->done) != PERSIST_OK)
        return reader_stop(r, err);
    uint32_t n = rd_u32(p + RECORD_OFF_LENGTH);
    if (n < RECORD_HEADER_SIZE || n > RECORD_MAX_SIZE)
        return classify(r, "record length out of range", err);
    if (n > avail)
        return classify(r, "record runs past the end of the file", err);
    if (window(r, r->off, n, &p, &r->done) != PERSIST_OK)
        return reader_stop(r, err);
    const char *detail = NULL;
    record_err_t e = record_decode(p, n, rec, NULL, &detail);
    if (e == RECORD_BAD_CRC)
        return classify(r, "CRC mismatch", err);
    char why[160];
    if (e != RECORD_OK)
        snprintf(why, sizeof(why), "%s: %s", record_strerror(e), detail);
    if (e != RECORD_OK || lsn_order_error(r, rec->lsn, why, sizeof(why))) {
        persist_fail(&r->done, PERSIST_CORRUPT, 0, r->off,
                     "%s: corrupt record at offset %" PRIu64 " (%s)", r->path, r->off, why);
        return reader_stop(r, err);
    }
    r->off += n;
    r->last_lsn = rec->lsn;
    return PERSIST_OK;
}

uint64_t segment_reader_valid_end(const segment_reader_t *r)
{
    return r->off;
}

uint64_t segment_reader_last_lsn(const segment_reader_t *r)
{
    return r->last_lsn;
}

void segment_reader_close(segment_reader_t *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r);
}

persist_status_t segment_truncate_tail(const char *path, uint64_t offset, persist_error_t *err)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return persist_syserr(err, "open", path);
    struct stat sb;
    persist_status_t st = PERSIST_OK;
    if (fstat(fd, &sb) != 0)
        st = persist_syserr(err, "fstat", path);
    else if (offset < SEGMENT_HEADER_SIZE || offset > (uint64_t)sb.st_size)
        st = persist_fail(err, PERSIST_INVALID, EINVAL, offset,
                          "%s: cannot truncate to %" PRIu64 " bytes (file has %" PRIu64 ")", path,
                          offset, (uint64_t)sb.st_size);
    else if (ftruncate(fd, (off_t)offset) != 0)
        st = persist_syserr(err, "ftruncate", path);
    else if (fsync(fd) != 0)
        st = persist_syserr(err, "fsync", path);
    if (close(fd) != 0 && st == PERSIST_OK)
        st = persist_syserr(err, "close", path);
    return st;
}
