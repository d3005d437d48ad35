/*
 * store_testutil.c — shared helpers of the store's Check tests (see
 * store_testutil.h): temp regions, fake clock, PRNG, self-validating
 * values, the sorted-array reference model, process helpers.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "tests/store_testutil.h"

/* ---- regions ---------------------------------------------------------------- */

void tu_path(char *buf, size_t n, const char *tag)
{
    static unsigned counter;
    /* A run that was killed leaves its regions behind; a later process with
     * the same pid must not trip over them. */
    do
        snprintf(buf, n, "/dev/shm/fickle-test-%s-%ld-%u", tag, (long)getpid(), counter++);
    while (access(buf, F_OK) == 0);
}

store_t *tu_ck_create(tu_region_t *r, const char *tag, uint64_t size, uint64_t max_value)
{
    tu_path(r->path, sizeof(r->path), tag);
    store_options_t o = {.size = size, .max_value_size = max_value};
    store_err_t err = store_create(r->path, &o, &r->st);
    ck_assert_msg(err == STORE_OK, "store_create %s: %s (%s)", r->path, store_strerror(err), store_error_detail());
    return r->st;
}

void tu_ck_check(store_t *st)
{
    char report[512];
    store_err_t err = store_check(st, report, sizeof(report));
    ck_assert_msg(err == STORE_OK, "store_check: %s: %s", store_strerror(err), report);
}

void tu_ck_destroy(tu_region_t *r)
{
    if (r->st) {
        tu_ck_check(r->st);
        store_close(r->st);
        r->st = NULL;
    }
    ck_assert_msg(store_unlink(r->path) == 0, "unlink %s: %s", r->path, strerror(errno));
}

/* ---- clock and randomness -------------------------------------------------- */

uint64_t tu_fake_now = 1700000000000ull;

uint64_t tu_fake_clock(void)
{
    return tu_fake_now;
}

uint64_t tu_rand(tu_rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t tu_below(tu_rng_t *r, uint64_t n)
{
    return tu_rand(r) % n;
}

uint64_t tu_seed(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : dflt;
}

/* ---- self-validating values ------------------------------------------------ */

#define VAL_MAGIC 0x31564b46u /* "FKV1" */
#define VAL_HDR 18u           /* magic, vlen, tag, klen */

size_t tu_val_min(size_t klen)
{
    return VAL_HDR + klen + 8;
}

void tu_val_make(char *out, size_t vlen, const void *key, size_t klen, uint64_t tag)
{
    uint32_t magic = VAL_MAGIC, len = (uint32_t)vlen;
    uint16_t kl = (uint16_t)klen;
    if (vlen < tu_val_min(klen))
        abort(); /* a test bug: no room for the header */
    memcpy(out, &magic, 4);
    memcpy(out + 4, &len, 4);
    memcpy(out + 8, &tag, 8);
    memcpy(out + 16, &kl, 2);
    if (klen)
        memcpy(out + VAL_HDR, key, klen);
    tu_rng_t r = {tag ^ vlen};
    for (size_t i = VAL_HDR + klen; i < vlen - 8; i += 8) {
        uint64_t x = tu_rand(&r);
        size_t n = vlen - 8 - i < 8 ? vlen - 8 - i : 8;
        memcpy(out + i, &x, n);
    }
    uint64_t sum = XXH64(out, vlen - 8, 0x5eed);
    memcpy(out + vlen - 8, &sum, 8);
}

const char *tu_val_verify(const void *val, size_t vlen, const void *key, size_t klen, uint64_t *tag)
{
    const char *v = val;
    uint32_t magic, len;
    uint16_t kl;
    uint64_t sum;
    if (vlen < tu_val_min(0))
        return "value shorter than its header";
    memcpy(&magic, v, 4);
    memcpy(&len, v + 4, 4);
    memcpy(&kl, v + 16, 2);
    if (magic != VAL_MAGIC)
        return "bad value magic";
    if (len != vlen)
        return "value length field differs from its length";
    if (kl != klen || vlen < tu_val_min(klen) || (klen && memcmp(v + VAL_HDR, key, klen) != 0))
        return "value belongs to another key";
    memcpy(&sum, v + vlen - 8, 8);
    if (XXH64(v, vlen - 8, 0x5eed) != sum)
        return "value checksum mismatch (torn)";
    if (tag)
        memcpy(tag, v + 8, 8);
    return NULL;
}

/* ---- reference model: a sorted array --------------------------------------- */

int tu_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c < 0 ? -1 : 1;
    return alen < blen ? -1 : alen > blen;
}

bool tu_model_find(const tu_model_t *m, const void *key, size_t klen, size_t *idx)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tu_key_cmp(m->e[mid].key, m->e[mid].klen, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *idx = lo;
    return lo < m->n && tu_key_cmp(m->e[lo].key, m->e[lo].klen, key, klen) == 0;
}

static char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (d == NULL)
        abort(); /* no ck_assert: the model also runs in forked children */
    if (n)
        memcpy(d, p, n);
    return d;
}

void tu_model_put(tu_model_t *m, const void *key, size_t klen, const void *val, size_t vlen, uint64_t version,
                  uint64_t expiry)
{
    size_t i;
    if (tu_model_find(m, key, klen, &i)) {
        char *nv = dup_bytes(val, vlen); /* val may point into the old copy */
        free(m->e[i].val);
        m->e[i].val = nv;
    } else {
        if (m->n == m->cap) {
            m->cap = m->cap ? m->cap * 2 : 64;
            m->e = realloc(m->e, m->cap * sizeof(*m->e));
            if (m->e == NULL)
                abort();
        }
        memmove(&m->e[i + 1], &m->e[i], (m->n - i) * sizeof(*m->e));
        m->n++;
        m->e[i].key = dup_bytes(key, klen);
        m->e[i].klen = klen;
        m->e[i].val = dup_bytes(val, vlen);
    }
    m->e[i].vlen = vlen;
    m->e[i].version = version;
    m->e[i].expiry = expiry;
}

void tu_model_del_at(tu_model_t *m, size_t idx)
{
    free(m->e[idx].key);
    free(m->e[idx].val);
    memmove(&m->e[idx], &m->e[idx + 1], (m->n - idx - 1) * sizeof(*m->e));
    m->n--;
}

bool tu_model_live(const tu_ent_t *e, uint64_t now)
{
    return e->expiry == 0 || e->expiry > now;
}

void tu_model_copy(tu_model_t *dst, const tu_model_t *src)
{
    dst->n = dst->cap = 0;
    dst->e = NULL;
    for (size_t i = 0; i < src->n; i++) {
        const tu_ent_t *e = &src->e[i];
        tu_model_put(dst, e->key, e->klen, e->val, e->vlen, e->version, e->expiry);
    }
}

void tu_model_free(tu_model_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].key);
        free(m->e[i].val);
    }
    free(m->e);
    m->e = NULL;
    m->n = m->cap = 0;
}

store_err_t tu_put_expect(const tu_ent_t *e, bool live, const store_put_opts_t *o)
{
    if ((o->flags & STORE_PUT_NX) && live)
        return STORE_EXISTS;
    if ((o->flags & STORE_PUT_XX) && !live)
        return STORE_NOT_FOUND;
    if (o->flags & STORE_PUT_CAS)
        return !live ? STORE_NOT_FOUND : e->version != o->cas_version ? STORE_CAS_MISMATCH : STORE_OK;
    return STORE_OK;
}

tu_ent_t *tu_model_entry(tu_model_t *m, const void *key, size_t klen, bool *found, size_t *idx)
{
    size_t i;
    bool f = tu_model_find(m, key, klen, &i);
    if (found)
        *found = f;
    if (idx)
        *idx = i;
    return f ? &m->e[i] : NULL;
}

uint64_t tu_lsn_next(const tu_lsn_t *l)
{
    return l->locked && l->sec ? l->sec : l->lsn + 1;
}

void tu_lsn_took(tu_lsn_t *l, uint64_t v)
{
    if (l->locked && !l->sec)
        l->sec = v;
    if (v > l->lsn)
        l->lsn = v;
}

bool tu_model_put_done(tu_model_t *m, tu_lsn_t *l, const tu_ent_t *old, bool live, const void *key, size_t klen,
                       const void *val, size_t vlen, const store_put_opts_t *o, const store_meta_t *meta)
{
    uint64_t expiry = (o->flags & STORE_PUT_KEEP_EXPIRY) ? (live ? old->expiry : 0) : o->expiry_ms;
    uint64_t version = o->version ? o->version : tu_lsn_next(l);
    if (o->version) { /* a replayed version: not the section's */
        if (version > l->lsn)
            l->lsn = version;
    } else {
        tu_lsn_took(l, version);
    }
    tu_model_put(m, key, klen, val, vlen, version, expiry);
    return meta->version == version && meta->expiry_ms == expiry && meta->vlen == vlen;
}

static bool in_bounds(const store_range_t *q, const tu_ent_t *e)
{
    if (q->lo.kind != STORE_BOUND_NONE) {
        int c = tu_key_cmp(e->key, e->klen, q->lo.key, q->lo.len);
        if (c < 0 || (c == 0 && q->lo.kind == STORE_BOUND_EXCL))
            return false;
    }
    if (q->hi.kind != STORE_BOUND_NONE) {
        int c = tu_key_cmp(e->key, e->klen, q->hi.key, q->hi.len);
        if (c > 0 || (c == 0 && q->hi.kind == STORE_BOUND_EXCL))
            return false;
    }
    return true;
}

size_t tu_model_range(const tu_model_t *m, const store_range_t *q, uint64_t now, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (tu_model_live(&m->e[i], now) && in_bounds(q, &m->e[i]))
            out[n++] = i;
    if (q->reverse)
        for (size_t i = 0; i < n / 2; i++) {
            size_t t = out[i];
            out[i] = out[n - 1 - i];
            out[n - 1 - i] = t;
        }
    return q->limit && q->limit < n ? q->limit : n;
}

static bool entry_by_get(const tu_ent_t *e, store_t *st, uint64_t now, store_buf_t *b, char *why, size_t n)
{
    store_meta_t meta;
    store_err_t err = store_get(st, e->key, e->klen, b, &meta);
    if (!tu_model_live(e, now)) {
        if (err != STORE_NOT_FOUND)
            return snprintf(why, n, "expired key (%zu bytes) still visible: %s", e->klen, store_strerror(err)), false;
        return true;
    }
    if (err != STORE_OK)
        return snprintf(why, n, "key '%.*s' (%zu bytes): get %s", (int)e->klen, e->key, e->klen, store_strerror(err)),
               false;
    if (b->len != e->vlen || (e->vlen && memcmp(b->data, e->val, e->vlen) != 0))
        return snprintf(why, n, "key '%.*s': value differs (%zu vs %zu bytes)", (int)e->klen, e->key, b->len,
                        e->vlen),
               false;
    if (meta.version != e->version || meta.expiry_ms != e->expiry || meta.vlen != e->vlen)
        return snprintf(why, n, "key '%.*s': meta version/expiry %llu/%llu, want %llu/%llu", (int)e->klen, e->key,
                        (unsigned long long)meta.version, (unsigned long long)meta.expiry_ms,
                        (unsigned long long)e->version, (unsigned long long)e->expiry),
               false;
    return true;
}

bool tu_model_scan_matches(const tu_model_t *m, store_t *st, uint64_t now, char *why, size_t n)
{
    if (store_count(st) != m->n)
        return snprintf(why, n, "store_count %llu, model holds %zu", (unsigned long long)store_count(st), m->n),
               false;
    store_range_t q = {0};
    static store_rows_t rows; /* kept: big results cost an mmap each under ASan */
    store_err_t err = store_range(st, &q, &rows);
    bool ok = err == STORE_OK;
    if (!ok)
        snprintf(why, n, "full range: %s", store_strerror(err));
    size_t pos = 0, i = 0;
    store_row_t row;
    while (ok && store_rows_next(&rows, &pos, &row)) {
        while (i < m->n && !tu_model_live(&m->e[i], now))
            i++;
        const tu_ent_t *e = i < m->n ? &m->e[i] : NULL;
        if (e == NULL || tu_key_cmp(row.key, row.klen, e->key, e->klen) != 0 || row.vlen != e->vlen ||
            (e->vlen && memcmp(row.val, e->val, e->vlen) != 0) || row.version != e->version ||
            row.expiry_ms != e->expiry) {
            snprintf(why, n, "full range row %zu ('%.*s') differs from the model", i, (int)row.klen, row.key);
            ok = false;
        }
        i++;
    }
    while (ok && i < m->n && !tu_model_live(&m->e[i], now))
        i++;
    if (ok && i != m->n) {
        snprintf(why, n, "full range ended early: model entry %zu of %zu missing", i, m->n);
        ok = false;
    }
    return ok;
}

bool tu_model_matches(const tu_model_t *m, store_t *st, uint64_t now, char *why, size_t whylen)
{
    if (!tu_model_scan_matches(m, st, now, why, whylen))
        return false;
    static store_buf_t b; /* kept, as above */
    bool ok = true;
    for (size_t i = 0; ok && i < m->n; i++)
        ok = entry_by_get(&m->e[i], st, now, &b, why, whylen);
    return ok;
}

/* ---- processes --------------------------------------------------------------- */

pid_t tu_ck_fork(void)
{
    pid_t pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    return pid;
}

int tu_ck_wait(pid_t pid)
{
    int status;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_msg(r == pid, "waitpid %ld: %s", (long)pid, strerror(errno));
    return status;
}

void *tu_ck_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_msg(p != MAP_FAILED, "mmap shared %zu: %s", size, strerror(errno));
    return p;
}

void tu_ck_unshare(void *p, size_t size)
{
    ck_assert_msg(munmap(p, size) == 0, "munmap: %s", strerror(errno));
}

const char *tu_status_text(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "status 0x%x", status);
    return buf;
}
