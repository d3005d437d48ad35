/*
 * ops.c — command semantics over the store (see ops.h).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ops.h"

ops_status_t ops_from_store(store_err_t err)
{
    switch (err) {
    case STORE_OK: return OPS_OK;
    case STORE_NOT_FOUND: return OPS_NIL;
    case STORE_EXISTS: return OPS_EXISTS;
    case STORE_CAS_MISMATCH: return OPS_CAS_MISMATCH;
    case STORE_NOMEM: return OPS_NOMEM;
    case STORE_TOO_BIG: return OPS_TOO_BIG;
    case STORE_BUSY: return OPS_BUSY;
    case STORE_TXN_TOO_BIG: return OPS_TXN_TOO_BIG;
    default: return OPS_INTERNAL;
    }
}


bool ops_parse_double(const char *s, size_t len, long double *out)
{
    char buf[5 * 1024]; /* Redis's MAX_LONG_DOUBLE_CHARS: INCRBYFLOAT's own results fit */
    if (len == 0 || len >= sizeof(buf) || isspace((unsigned char)s[0]))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (*end != '\0' || errno == ERANGE || isnan(v))
        return false;
    *out = v;
    return true;
}

size_t ops_format_ld(long double v, char *buf, size_t len)
{
    /* Like Redis's human-friendly long double: fixed notation with 17
     * significant digits, trailing zeros (and a bare point) removed. */
    int n = snprintf(buf, len, "%.17Lf", v);
    if (n < 0 || (size_t)n >= len)
        return 0;
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
    }
    buf[n] = '\0';
    if (strcmp(buf, "-0") == 0) {
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return (size_t)n;
}

ops_status_t ops_begin(store_t *st, ops_section_t *s)
{
    s->own = !store_in_write(st);
    return s->own ? ops_from_store(store_write_lock(st)) : OPS_OK;
}

void ops_end(store_t *st, const ops_section_t *s, bool undo)
{
    if (!s->own)
        return;
    if (undo)
        store_write_abort(st);
    else
        store_write_unlock(st);
}

/* Runs stmt, a single-change command (its failed change undid itself),
 * under one writer critical section. */
#define LOCKED(st, stmt)                                                                                     \
    do {                                                                                                     \
        ops_section_t sec_;                                                                                  \
        ops_status_t lk_ = ops_begin(st, &sec_);                                                             \
        if (lk_ != OPS_OK)                                                                                   \
            return lk_;                                                                                      \
        ops_status_t rc_ = (stmt);                                                                           \
        ops_end(st, &sec_, false);                                                                           \
        return rc_;                                                                                          \
    } while (0)

static ops_status_t do_incr_locked(store_t *st, const void *key, size_t klen, int64_t delta, int64_t *out,
                                   uint64_t *version)
{
    store_buf_t cur = {0};
    int64_t v = 0;
    store_err_t err = store_get_locked(st, key, klen, &cur, NULL);
    if (err == STORE_OK && !cmd_parse_i64(cur.data, cur.len, &v)) {
        store_buf_free(&cur);
        return OPS_NOT_INTEGER;
    }
    store_buf_free(&cur);
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return ops_from_store(err);
    if ((delta > 0 && v > INT64_MAX - delta) || (delta < 0 && v < INT64_MIN - delta))
        return OPS_OVERFLOW;
    v += delta;
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", (long long)v);
    store_put_opts_t opt = {.flags = STORE_PUT_KEEP_EXPIRY};
    store_meta_t meta;
    err = store_put_locked(st, key, klen, num, (size_t)n, &opt, &meta);
    if (err == STORE_OK) {
        *out = v;
        if (version)
            *version = meta.version;
    }
    return ops_from_store(err);
}

ops_status_t ops_incr(store_t *st, const void *key, size_t klen, int64_t delta, int64_t *out, uint64_t *version)
{
    LOCKED(st, do_incr_locked(st, key, klen, delta, out, version));
}

static ops_status_t do_incrbyfloat_locked(store_t *st, const void *key, size_t klen, long double delta, char *out,
                                          size_t outlen, size_t *outn)
{
    store_buf_t cur = {0};
    long double v = 0;
    store_err_t err = store_get_locked(st, key, klen, &cur, NULL);
    bool bad = err == STORE_OK && !ops_parse_double(cur.data, cur.len, &v);
    store_buf_free(&cur);
    if (bad)
        return OPS_NOT_FLOAT;
    if (err != STORE_OK && err != STORE_NOT_FOUND)
        return ops_from_store(err);
    v += delta;
    if (isnan(v) || isinf(v))
        return OPS_NAN;
    *outn = ops_format_ld(v, out, outlen);
    store_put_opts_t opt = {.flags = STORE_PUT_KEEP_EXPIRY};
    return ops_from_store(store_put_locked(st, key, klen, out, *outn, &opt, NULL));
}

ops_status_t ops_incrbyfloat(store_t *st, const void *key, size_t klen, long double delta, char *out, size_t outlen,
                             size_t *outn)
{
    LOCKED(st, do_incrbyfloat_locked(st, key, klen, delta, out, outlen, outn));
}

/* Writes [offset, offset + vlen) of key's value (zero-padded), or appends
 * when offset is UINT64_MAX. */
static ops_status_t do_splice_locked(store_t *st, const void *key, size_t klen, uint64_t offset, const void *val,
                                     size_t vlen, uint64_t *newlen)
{
    uint64_t max_value = store_max_value(st);
    store_buf_t cur = {0};
    store_err_t err = store_get_locked(st, key, klen, &cur, NULL);
    if (err != STORE_OK && err != STORE_NOT_FOUND) {
        store_buf_free(&cur);
        return ops_from_store(err);
    }
    if (offset == UINT64_MAX)
        offset = cur.len;
    if (err == STORE_NOT_FOUND && vlen == 0) { /* SETRANGE on a missing key with "" */
        *newlen = 0;
        return OPS_OK;
    }
    if (offset > max_value || vlen > max_value - offset) {
        store_buf_free(&cur);
        return OPS_TOO_BIG;
    }
    uint64_t end = offset + vlen;
    if (end > cur.len) {
        if (!store_buf_reserve(&cur, end - cur.len)) {
            store_buf_free(&cur);
            return OPS_NOMEM;
        }
        memset(cur.data + cur.len, 0, end - cur.len);
        cur.len = end;
    }
    if (vlen)
        memcpy(cur.data + offset, val, vlen);
    store_put_opts_t opt = {.flags = STORE_PUT_KEEP_EXPIRY};
    err = store_put_locked(st, key, klen, cur.data, cur.len, &opt, NULL);
    *newlen = cur.len;
    store_buf_free(&cur);
    return ops_from_store(err);
}

ops_status_t ops_append(store_t *st, const void *key, size_t klen, const void *val, size_t vlen, uint64_t *newlen)
{
    LOCKED(st, do_splice_locked(st, key, klen, UINT64_MAX, val, vlen, newlen));
}

ops_status_t ops_setrange(store_t *st, const void *key, size_t klen, uint64_t offset, const void *val, size_t vlen,
                          uint64_t *newlen)
{
    if (offset == UINT64_MAX)
        return OPS_TOO_BIG;
    LOCKED(st, do_splice_locked(st, key, klen, offset, val, vlen, newlen));
}

void ops_range_indexes(int64_t start, int64_t end, size_t len, size_t *from, size_t *to)
{
    int64_t n = (int64_t)len;
    *from = *to = 0;
    if (start < 0 && end < 0 && start > end)
        return;
    if (start < 0)
        start = n + start;
    if (end < 0)
        end = n + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= n)
        end = n - 1;
    if (n == 0 || start > end)
        return;
    *from = (size_t)start;
    *to = (size_t)end + 1;
}

static ops_status_t do_set_locked(store_t *st, const void *key, size_t klen, const void *val, size_t vlen,
                                  const ops_set_t *o, store_buf_t *old, bool *had_old)
{
    if (old) {
        store_err_t err = store_get_locked(st, key, klen, old, NULL);
        if (err != STORE_OK && err != STORE_NOT_FOUND)
            return ops_from_store(err);
        *had_old = err == STORE_OK;
    }
    store_put_opts_t opt = {.flags = o->flags, .expiry_ms = o->expiry_ms};
    store_err_t err = store_put_locked(st, key, klen, val, vlen, &opt, NULL);
    if (err == STORE_EXISTS || err == STORE_NOT_FOUND)
        return OPS_NIL; /* NX / XX said no */
    return ops_from_store(err);
}

ops_status_t ops_set(store_t *st, const void *key, size_t klen, const void *val, size_t vlen, const ops_set_t *o,
                     store_buf_t *old, bool *had_old)
{
    if (old == NULL && !store_in_write(st)) { /* the common SET: one put, its own critical section */
        store_put_opts_t opt = {.flags = o->flags, .expiry_ms = o->expiry_ms};
        store_err_t err = store_put(st, key, klen, val, vlen, &opt, NULL);
        return err == STORE_EXISTS || err == STORE_NOT_FOUND ? OPS_NIL : ops_from_store(err);
    }
    LOCKED(st, do_set_locked(st, key, klen, val, vlen, o, old, had_old));
}

static ops_status_t do_getdel_locked(store_t *st, const void *key, size_t klen, store_buf_t *val)
{
    store_err_t err = store_get_locked(st, key, klen, val, NULL);
    if (err == STORE_OK)
        err = store_delete_locked(st, key, klen);
    return ops_from_store(err);
}

ops_status_t ops_getdel(store_t *st, const void *key, size_t klen, store_buf_t *val)
{
    LOCKED(st, do_getdel_locked(st, key, klen, val));
}

static ops_status_t do_getex_locked(store_t *st, const void *key, size_t klen, int64_t expiry_ms, store_buf_t *val)
{
    store_err_t err = store_get_locked(st, key, klen, val, NULL);
    if (err == STORE_OK && expiry_ms >= 0)
        err = store_expire_locked(st, key, klen, (uint64_t)expiry_ms);
    return ops_from_store(err);
}

ops_status_t ops_getex(store_t *st, const void *key, size_t klen, int64_t expiry_ms, store_buf_t *val)
{
    if (expiry_ms < 0)
        return ops_from_store(store_get(st, key, klen, val, NULL));
    LOCKED(st, do_getex_locked(st, key, klen, expiry_ms, val));
}

/* Every entry gets the same version (the first put's LSN): an MSET is one
 * change, as a transaction will be. */
static ops_status_t do_mset_locked(store_t *st, const ops_pair_t *pairs, size_t n, bool nx, uint64_t *version)
{
    /* Sizes first: after that only a lack of room can stop a put half-way
     * (what store_write_error() reports to an enclosing EXEC). */
    for (size_t i = 0; i < n; i++)
        if (pairs[i].klen > STORE_MAX_KEY || pairs[i].vlen > store_max_value(st))
            return OPS_TOO_BIG;
    if (nx)
        for (size_t i = 0; i < n; i++)
            if (store_get_locked(st, pairs[i].key, pairs[i].klen, NULL, NULL) == STORE_OK)
                return OPS_NIL;
    store_put_opts_t opt = {0};
    for (size_t i = 0; i < n; i++) {
        store_meta_t meta;
        store_err_t err = store_put_locked(st, pairs[i].key, pairs[i].klen, pairs[i].val, pairs[i].vlen, &opt, &meta);
        if (err != STORE_OK)
            return ops_from_store(err);
        opt.version = meta.version;
    }
    if (version)
        *version = opt.version;
    return OPS_OK;
}

ops_status_t ops_mset(store_t *st, const ops_pair_t *pairs, size_t n, bool nx, uint64_t *version)
{
    ops_section_t sec;
    ops_status_t rc = ops_begin(st, &sec);
    if (rc != OPS_OK)
        return rc;
    rc = do_mset_locked(st, pairs, n, nx, version);
    /* All or nothing: a put that failed half-way undoes the ones before. */
    ops_end(st, &sec, rc != OPS_OK && rc != OPS_NIL);
    return rc;
}

static ops_status_t do_rename_locked(store_t *st, const void *src, size_t slen, const void *dst, size_t dlen, bool nx)
{
    store_buf_t val = {0};
    store_meta_t meta;
    store_err_t err = store_get_locked(st, src, slen, &val, &meta);
    if (err == STORE_NOT_FOUND)
        return OPS_NO_SUCH_KEY;
    if (err == STORE_OK && slen == dlen && memcmp(src, dst, slen) == 0) {
        store_buf_free(&val);
        return nx ? OPS_NIL : OPS_OK;
    }
    if (err == STORE_OK && nx && store_get_locked(st, dst, dlen, NULL, NULL) == STORE_OK)
        err = STORE_EXISTS;
    store_put_opts_t opt = {.expiry_ms = meta.expiry_ms};
    if (err == STORE_OK)
        err = store_put_locked(st, dst, dlen, val.data, val.len, &opt, NULL);
    if (err == STORE_OK)
        err = store_delete_locked(st, src, slen);
    store_buf_free(&val);
    return err == STORE_EXISTS ? OPS_NIL : ops_from_store(err);
}

ops_status_t ops_rename(store_t *st, const void *src, size_t slen, const void *dst, size_t dlen, bool nx)
{
    ops_section_t sec;
    ops_status_t rc = ops_begin(st, &sec);
    if (rc != OPS_OK)
        return rc;
    rc = do_rename_locked(st, src, slen, dst, dlen, nx);
    /* The put stood but the delete failed: undo both. */
    ops_end(st, &sec, rc != OPS_OK && rc != OPS_NIL && rc != OPS_NO_SUCH_KEY);
    return rc;
}

static int fold(int c, bool nocase)
{
    return nocase ? tolower(c) : c;
}

/* Matches a [...] class at pat[*pi] (just past '['); advances *pi past ']'. */
static bool class_match(const char *pat, size_t plen, size_t *pi, unsigned char c, bool nocase)
{
    size_t i = *pi;
    bool negate = i < plen && pat[i] == '^', hit = false;
    if (negate)
        i++;
    for (; i < plen && pat[i] != ']'; i++) {
        if (pat[i] == '\\' && i + 1 < plen) {
            i++;
            hit |= fold(pat[i], nocase) == fold(c, nocase);
        } else if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
            int lo = fold((unsigned char)pat[i], nocase), hi = fold((unsigned char)pat[i + 2], nocase);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            hit |= fold(c, nocase) >= lo && fold(c, nocase) <= hi;
            i += 2;
        } else {
            hit |= fold((unsigned char)pat[i], nocase) == fold(c, nocase);
        }
    }
    *pi = i < plen ? i + 1 : i; /* an unclosed class ends the pattern */
    return negate ? !hit : hit;
}

bool ops_glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase)
{
    /* Iterative with one backtrack point for the last '*': linear in
     * practice, no recursion a hostile pattern could blow up. */
    size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < slen) {
        if (pi < plen && pat[pi] == '*') {
            while (pi < plen && pat[pi] == '*')
                pi++;
            if (pi == plen)
                return true;
            star_p = pi;
            star_s = si;
            continue;
        }
        if (pi < plen) {
            size_t next = pi + 1;
            bool ok;
            unsigned char c = (unsigned char)s[si];
            if (pat[pi] == '?') {
                ok = true;
            } else if (pat[pi] == '[') {
                ok = class_match(pat, plen, &next, c, nocase);
            } else if (pat[pi] == '\\' && pi + 1 < plen) {
                ok = fold((unsigned char)pat[pi + 1], nocase) == fold(c, nocase);
                next = pi + 2;
            } else {
                ok = fold((unsigned char)pat[pi], nocase) == fold(c, nocase);
            }
            if (ok) {
                pi = next;
                si++;
                continue;
            }
        }
        if (star_p == SIZE_MAX)
            return false;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && pat[pi] == '*')
        pi++;
    return pi == plen;
}
