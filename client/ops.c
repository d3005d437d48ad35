/*
 * client/ops.c — libfickle's synchronous typed calls: each queues one
 * request (request.c), reads its reply (reply.c), and copies the decoded
 * fields to the caller's outputs. Contracts are in fickle/client.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client/internal.h"

/* Every synchronous call starts here: a live connection, no pipelined
 * replies owed (they would come back first). */
static int begin(fickle_t *c)
{
    int rc = fickle__enter(c);
    if (rc == FICKLE_OK && c->pcount)
        rc = fickle__fail(c, FICKLE_ERR_ARG, "%zu pipelined replies pending: read them first", c->pcount);
    return rc;
}

/* Reads the reply of the request just queued (qrc: the queuing result).
 * *r is always initialised, so the caller can always free it. */
static int run(fickle_t *c, int qrc, fickle_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    if (qrc != FICKLE_OK)
        return qrc;
    return fickle_read_reply(c, r);
}

void fickle_item_free(fickle_item_t *it)
{
    if (!it)
        return;
    free(it->value);
    memset(it, 0, sizeof(*it));
}

int fickle_auth(fickle_t *c, const char *user, const char *password)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_auth(c, user, password, NULL);
    rc = run(c, rc, &r);
    fickle_reply_free(&r);
    return rc;
}

int fickle_ping(fickle_t *c, const void *msg, size_t len)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_ping(c, msg, len, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && (r.vlen != len || (len && memcmp(r.value, msg, len))))
        rc = fickle__die(c, FICKLE_ERR_PROTOCOL, "PING: the reply does not echo the message");
    fickle_reply_free(&r);
    return rc;
}

int fickle_get(fickle_t *c, const void *key, size_t klen, fickle_item_t *out)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_get(c, key, klen, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && out) {
        *out = (fickle_item_t){r.value, r.vlen, r.version, r.expiry_ms};
        r.value = NULL;
    }
    fickle_reply_free(&r);
    return rc;
}

int fickle_set(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expiry_ms,
               unsigned flags, uint64_t *version)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_set(c, key, klen, val, vlen, expiry_ms, flags, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && version)
        *version = r.version;
    fickle_reply_free(&r);
    return rc;
}

int fickle_cas(fickle_t *c, const void *key, size_t klen, const void *val, size_t vlen, uint64_t expected,
               uint64_t expiry_ms, unsigned flags, uint64_t *version)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_cas(c, key, klen, val, vlen, expected, expiry_ms, flags, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && version)
        *version = r.version;
    fickle_reply_free(&r);
    return rc;
}

int fickle_del(fickle_t *c, const void *key, size_t klen, uint64_t version)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_del(c, key, klen, version, NULL);
    rc = run(c, rc, &r);
    fickle_reply_free(&r);
    return rc;
}

int fickle_exists(fickle_t *c, const void *key, size_t klen, uint64_t *version, uint64_t *expiry_ms)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_exists(c, key, klen, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && version)
        *version = r.version;
    if (rc == FICKLE_OK && expiry_ms)
        *expiry_ms = r.expiry_ms;
    fickle_reply_free(&r);
    return rc;
}

static int counter(fickle_t *c, bool decr, const void *key, size_t klen, int64_t n, int64_t *value,
                   uint64_t *version)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = (decr ? fickle_queue_decr : fickle_queue_incr)(c, key, klen, n, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && value)
        *value = r.number;
    if (rc == FICKLE_OK && version)
        *version = r.version;
    fickle_reply_free(&r);
    return rc;
}

int fickle_incr(fickle_t *c, const void *key, size_t klen, int64_t n, int64_t *value, uint64_t *version)
{
    return counter(c, false, key, klen, n, value, version);
}

int fickle_decr(fickle_t *c, const void *key, size_t klen, int64_t n, int64_t *value, uint64_t *version)
{
    return counter(c, true, key, klen, n, value, version);
}

/* Hands the reply's rows to *out (NULL: dropped). */
static void take_rows(fickle_reply_t *r, fickle_rows_t **out)
{
    if (out) {
        *out = r->rows;
        r->rows = NULL;
    }
}

int fickle_mget(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, fickle_rows_t **out)
{
    fickle_reply_t r;
    if (out)
        *out = NULL;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_mget(c, n, keys, klens, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK)
        take_rows(&r, out);
    fickle_reply_free(&r);
    return rc;
}

int fickle_mset(fickle_t *c, size_t n, const void *const *keys, const size_t *klens, const void *const *vals,
                const size_t *vlens, unsigned flags, uint64_t *version)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_mset(c, n, keys, klens, vals, vlens, flags, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && version)
        *version = r.version;
    fickle_reply_free(&r);
    return rc;
}

int fickle_range(fickle_t *c, const fickle_range_t *q, fickle_rows_t **out)
{
    fickle_reply_t r;
    if (out)
        *out = NULL;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_range(c, q, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK)
        take_rows(&r, out);
    fickle_reply_free(&r);
    return rc;
}

int fickle_count(fickle_t *c, const fickle_range_t *q, uint64_t *count)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_count(c, q, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && count)
        *count = r.count;
    fickle_reply_free(&r);
    return rc;
}

int fickle_stats(fickle_t *c, const char *section, char **text, size_t *len)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_stats(c, section, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && len)
        *len = r.vlen;
    if (rc == FICKLE_OK && text) {
        *text = r.value;
        r.value = NULL;
    }
    fickle_reply_free(&r);
    return rc;
}

int fickle_save(fickle_t *c, uint64_t *lsn)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_save(c, NULL);
    rc = run(c, rc, &r);
    if (rc == FICKLE_OK && lsn)
        *lsn = r.version;
    fickle_reply_free(&r);
    return rc;
}

int fickle_bgsave(fickle_t *c)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_bgsave(c, NULL);
    rc = run(c, rc, &r);
    fickle_reply_free(&r);
    return rc;
}

int fickle_lastsave(fickle_t *c, int64_t *unix_s)
{
    static const char field[] = "\nrdb_last_save_time:";
    char *text = NULL;
    int rc = fickle_stats(c, "persistence", &text, NULL);
    if (rc != FICKLE_OK)
        return rc;
    const char *p = strstr(text, field);
    char *end = NULL;
    long long v = p ? strtoll(p + sizeof(field) - 1, &end, 10) : 0;
    if (p == NULL || end == p + sizeof(field) - 1 || (*end != '\r' && *end != '\n'))
        rc = fickle__fail(c, FICKLE_ERR_PROTOCOL, "LASTSAVE: STATS persistence has no rdb_last_save_time");
    else if (unix_s)
        *unix_s = (int64_t)v;
    free(text);
    return rc;
}

int fickle_quit(fickle_t *c)
{
    fickle_reply_t r;
    int rc = begin(c);
    if (rc == FICKLE_OK)
        rc = fickle_queue_quit(c, NULL);
    rc = run(c, rc, &r);
    fickle_reply_free(&r);
    return rc;
}
