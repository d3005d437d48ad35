/*
 * test_client.c — libfickle against the in-process fake server
 * (fake_server.h): every API call round trip (encode, server-side parse,
 * reply, decode), pipelining, and the failure paths — server error
 * statuses, a server closing mid-reply, oversize length claims, timeouts,
 * protocol violations, signals during I/O, argument checks.
 */
#include "config.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "fickle/client.h"
#include "frontend/native_reply.h"
#include "tests/fake_server.h"

static fake_t *srv;
static fickle_t *c;

static void setup(void)
{
    srv = fake_start();
    ck_assert_int_eq(fickle_connect(&c, "127.0.0.1", fake_port(srv), NULL), FICKLE_OK);
    ck_assert_str_eq(fickle_errstr(c), "");
}

static void teardown(void)
{
    fickle_close(c);
    fake_stop(srv);
}

/* Reconnects c with these options. */
static void reconnect(int timeout_ms, size_t max_reply)
{
    fickle_options_t o;
    fickle_options_init(&o);
    o.timeout_ms = timeout_ms;
    o.max_reply = max_reply;
    fickle_close(c);
    ck_assert_int_eq(fickle_connect(&c, "127.0.0.1", fake_port(srv), &o), FICKLE_OK);
}

static uint64_t set_s(const char *k, const char *v)
{
    uint64_t ver = 0;
    ck_assert_int_eq(fickle_set(c, k, strlen(k), v, strlen(v), 0, 0, &ver), FICKLE_OK);
    ck_assert_uint_gt(ver, 0);
    return ver;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- connecting ---------------------------------------------------------------------- */

START_TEST(connect_tcp_and_unix)
{
    ck_assert(fickle_usable(c));
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_OK);
    ck_assert_int_eq(fickle_ping(c, "hello\0x", 7), FICKLE_OK);
    fickle_t *u;
    ck_assert_int_eq(fickle_connect_unix(&u, fake_unix_path(srv), NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_ping(u, "u", 1), FICKLE_OK);
    set_s("k", "v");
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(u, "k", 1, &it), FICKLE_OK); /* same server, other connection */
    ck_assert_str_eq(it.value, "v");
    fickle_item_free(&it);
    fickle_close(u);
    fickle_t *h;
    ck_assert_int_eq(fickle_connect(&h, "localhost", fake_port(srv), NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_ping(h, NULL, 0), FICKLE_OK);
    fickle_close(h);
}
END_TEST

START_TEST(connect_failures)
{
    fickle_t *x;
    ck_assert_int_eq(fickle_connect_unix(&x, "/nonexistent/fickle.sock", NULL), FICKLE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(x), "No such file"));
    ck_assert(!fickle_usable(x));
    ck_assert_int_eq(fickle_ping(x, NULL, 0), FICKLE_ERR_CLOSED);
    fickle_close(x);
    ck_assert_int_eq(fickle_connect(&x, "127.0.0.1", 0, NULL), FICKLE_ERR_ARG);
    fickle_close(x);
    ck_assert_int_eq(fickle_connect(&x, "no-such-host.invalid", 7070, NULL), FICKLE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(x), "resolve"));
    fickle_close(x);
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    ck_assert_int_eq(fickle_connect_unix(&x, longp, NULL), FICKLE_ERR_ARG);
    fickle_close(x);
    /* a port nobody listens on: bind one, note it, close it */
    fake_t *gone = fake_start();
    uint16_t port = fake_port(gone);
    fake_stop(gone);
    ck_assert_int_eq(fickle_connect(&x, "127.0.0.1", port, NULL), FICKLE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(x), "refused"));
    fickle_close(x);
    fickle_close(NULL);
    ck_assert_str_eq(fickle_errstr(NULL), "out of memory");
}
END_TEST

START_TEST(status_names)
{
    ck_assert_str_eq(fickle_strstatus(FICKLE_OK), "OK");
    ck_assert_str_eq(fickle_strstatus(FICKLE_STATUS_CAS_MISMATCH), "CAS_MISMATCH");
    ck_assert_str_eq(fickle_strstatus(FICKLE_STATUS_INTERNAL), "INTERNAL");
    ck_assert_str_eq(fickle_strstatus(FICKLE_ERR_IO), "ERR_IO");
    ck_assert_str_eq(fickle_strstatus(FICKLE_ERR_ARG), "ERR_ARG");
    ck_assert_str_eq(fickle_strstatus(0x100), "UNKNOWN");
    ck_assert_str_eq(fickle_strstatus(-100), "UNKNOWN");
}
END_TEST

/* ---- the typed calls ------------------------------------------------------------------ */

START_TEST(get_set_round_trip)
{
    uint64_t v1 = set_s("user:1", "ann");
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "user:1", 6, &it), FICKLE_OK);
    ck_assert_uint_eq(it.len, 3);
    ck_assert_str_eq(it.value, "ann");
    ck_assert_uint_eq(it.version, v1);
    ck_assert_uint_eq(it.expiry_ms, 0);
    fickle_item_free(&it);
    ck_assert_ptr_null(it.value);
    /* binary key and value, the empty key, an empty value */
    ck_assert_int_eq(fickle_set(c, "a\0b", 3, "\0\xff\n", 3, 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "a\0b", 3, &it), FICKLE_OK);
    ck_assert_uint_eq(it.len, 3);
    ck_assert_mem_eq(it.value, "\0\xff\n", 3);
    fickle_item_free(&it);
    ck_assert_int_eq(fickle_set(c, "", 0, "", 0, 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "", 0, &it), FICKLE_OK);
    ck_assert_uint_eq(it.len, 0);
    ck_assert_str_eq(it.value, "");
    fickle_item_free(&it);
    /* a 1 MiB value: bigger than the receive buffer */
    size_t big = 1u << 20;
    char *bv = malloc(big);
    for (size_t i = 0; i < big; i++)
        bv[i] = (char)(i * 7);
    ck_assert_int_eq(fickle_set(c, "big", 3, bv, big, 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "big", 3, &it), FICKLE_OK);
    ck_assert_uint_eq(it.len, big);
    ck_assert(!memcmp(it.value, bv, big));
    fickle_item_free(&it);
    free(bv);
    /* missing */
    ck_assert_int_eq(fickle_get(c, "nope", 4, &it), FICKLE_STATUS_NOT_FOUND);
    ck_assert_str_eq(fickle_errstr(c), "NOT_FOUND: no such key");
    ck_assert(fickle_usable(c));
    ck_assert_int_eq(fickle_get(c, "user:1", 6, NULL), FICKLE_OK);
    ck_assert_str_eq(fickle_errstr(c), "");
}
END_TEST

START_TEST(set_options)
{
    uint64_t v0 = set_s("k", "1"), ver, exp;
    ck_assert_int_eq(fickle_set(c, "k", 1, "2", 1, 0, FICKLE_SET_NX, NULL), FICKLE_STATUS_EXISTS);
    ck_assert_int_eq(fickle_set(c, "n", 1, "2", 1, 0, FICKLE_SET_XX, NULL), FICKLE_STATUS_NOT_FOUND);
    ck_assert_int_eq(fickle_set(c, "n", 1, "2", 1, 0, FICKLE_SET_NX, &ver), FICKLE_OK);
    ck_assert_int_eq(fickle_set(c, "k", 1, "3", 1, 0, FICKLE_SET_XX, &ver), FICKLE_OK);
    ck_assert_uint_gt(ver, v0);
    uint64_t before = wall_ms();
    ck_assert_int_eq(fickle_set(c, "t", 1, "x", 1, 60000, 0, NULL), FICKLE_OK); /* relative */
    ck_assert_int_eq(fickle_exists(c, "t", 1, NULL, &exp), FICKLE_OK);
    ck_assert_uint_ge(exp, before + 60000);
    ck_assert_uint_le(exp, wall_ms() + 60000);
    ck_assert_int_eq(fickle_set(c, "t", 1, "y", 1, 0, FICKLE_SET_KEEPTTL, NULL), FICKLE_OK);
    uint64_t exp2;
    ck_assert_int_eq(fickle_exists(c, "t", 1, NULL, &exp2), FICKLE_OK);
    ck_assert_uint_eq(exp2, exp);
    uint64_t at = wall_ms() + 3600000;
    ck_assert_int_eq(fickle_set(c, "t", 1, "z", 1, at, FICKLE_SET_EXPIRE_AT, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_exists(c, "t", 1, NULL, &exp), FICKLE_OK);
    ck_assert_uint_eq(exp, at);
    ck_assert_int_eq(fickle_set(c, "t", 1, "z", 1, 0, 0, NULL), FICKLE_OK); /* persistent again */
    ck_assert_int_eq(fickle_exists(c, "t", 1, NULL, &exp), FICKLE_OK);
    ck_assert_uint_eq(exp, 0);
    /* an already-past absolute expiry: gone */
    ck_assert_int_eq(fickle_set(c, "old", 3, "z", 1, 1, FICKLE_SET_EXPIRE_AT, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "old", 3, NULL), FICKLE_STATUS_NOT_FOUND);
    /* flags SET does not have: refused before sending, connection fine */
    ck_assert_int_eq(fickle_set(c, "k", 1, "v", 1, 0, 0x80, NULL), FICKLE_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "flags"));
    /* the server judges combinations */
    ck_assert_int_eq(fickle_set(c, "k", 1, "v", 1, 0, FICKLE_SET_NX | FICKLE_SET_XX, NULL), FICKLE_STATUS_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "BAD_REQUEST: SET: NX and XX"));
    ck_assert_int_eq(fickle_set(c, "k", 1, "v", 1, 5, FICKLE_SET_KEEPTTL, NULL), FICKLE_STATUS_BAD_REQUEST);
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_OK);
}
END_TEST

START_TEST(cas_del_exists)
{
    uint64_t v1 = set_s("k", "a"), v2, ver, exp;
    ck_assert_int_eq(fickle_cas(c, "k", 1, "b", 1, v1 + 100, 0, 0, NULL), FICKLE_STATUS_CAS_MISMATCH);
    ck_assert_int_eq(fickle_cas(c, "k", 1, "b", 1, v1, 0, 0, &v2), FICKLE_OK);
    ck_assert_uint_gt(v2, v1);
    ck_assert_int_eq(fickle_cas(c, "k", 1, "c", 1, v1, 0, 0, NULL), FICKLE_STATUS_CAS_MISMATCH);
    ck_assert_int_eq(fickle_cas(c, "none", 4, "c", 1, v1, 0, 0, NULL), FICKLE_STATUS_NOT_FOUND);
    ck_assert_int_eq(fickle_cas(c, "k", 1, "c", 1, v2, 30000, 0, &ver), FICKLE_OK); /* with expiry */
    ck_assert_int_eq(fickle_exists(c, "k", 1, &v2, &exp), FICKLE_OK);
    ck_assert_uint_eq(v2, ver);
    ck_assert_uint_gt(exp, wall_ms());
    ck_assert_int_eq(fickle_cas(c, "k", 1, "c", 1, v2, 0, FICKLE_SET_NX, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_del(c, "k", 1, v2 + 1), FICKLE_STATUS_CAS_MISMATCH);
    ck_assert_int_eq(fickle_del(c, "k", 1, v2), FICKLE_OK);
    ck_assert_int_eq(fickle_exists(c, "k", 1, &ver, NULL), FICKLE_STATUS_NOT_FOUND);
    ck_assert_int_eq(fickle_del(c, "k", 1, 0), FICKLE_STATUS_NOT_FOUND);
    set_s("k", "again");
    ck_assert_int_eq(fickle_del(c, "k", 1, 0), FICKLE_OK);
}
END_TEST

START_TEST(counters)
{
    int64_t v;
    uint64_t ver;
    ck_assert_int_eq(fickle_incr(c, "n", 1, 1, &v, &ver), FICKLE_OK);
    ck_assert_int_eq(v, 1);
    ck_assert_uint_gt(ver, 0);
    ck_assert_int_eq(fickle_incr(c, "n", 1, 41, &v, NULL), FICKLE_OK);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(fickle_decr(c, "n", 1, 50, &v, NULL), FICKLE_OK);
    ck_assert_int_eq(v, -8);
    ck_assert_int_eq(fickle_incr(c, "n", 1, -2, &v, NULL), FICKLE_OK);
    ck_assert_int_eq(v, -10);
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "n", 1, &it), FICKLE_OK);
    ck_assert_str_eq(it.value, "-10");
    fickle_item_free(&it);
    set_s("s", "abc");
    ck_assert_int_eq(fickle_incr(c, "s", 1, 1, &v, NULL), FICKLE_STATUS_NOT_A_NUMBER);
    ck_assert_int_eq(fickle_set(c, "m", 1, "9223372036854775807", 19, 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_incr(c, "m", 1, 1, &v, NULL), FICKLE_STATUS_OVERFLOW);
    ck_assert_int_eq(fickle_decr(c, "n", 1, INT64_MIN, &v, NULL), FICKLE_STATUS_OVERFLOW);
    ck_assert_int_eq(fickle_decr(c, "d", 1, 1, &v, NULL), FICKLE_OK);
    ck_assert_int_eq(v, -1);
}
END_TEST

START_TEST(mget_mset)
{
    const void *k[] = {"a", "bb", "c"};
    const void *vals[] = {"1", "22", ""};
    uint64_t ver;
    ck_assert_int_eq(fickle_mset(c, 3, k, NULL, vals, NULL, 0, &ver), FICKLE_OK);
    const void *q[] = {"c", "zz", "a", "bb"};
    fickle_rows_t *rows;
    ck_assert_int_eq(fickle_mget(c, 4, q, NULL, &rows), FICKLE_OK);
    ck_assert_uint_eq(fickle_rows_count(rows), 4);
    const fickle_row_t *r = fickle_rows_at(rows, 0);
    ck_assert_uint_eq(r->klen, 1);
    ck_assert_mem_eq(r->key, "c", 1);
    ck_assert_ptr_nonnull(r->value);
    ck_assert_uint_eq(r->vlen, 0);
    ck_assert_uint_eq(r->version, ver);
    r = fickle_rows_at(rows, 1);
    ck_assert_uint_eq(r->flags, FICKLE_ROW_MISSING);
    ck_assert_ptr_null(r->value);
    ck_assert_uint_eq(r->version, 0);
    r = fickle_rows_at(rows, 3);
    ck_assert_mem_eq(r->value, "22", 2);
    ck_assert_ptr_null(fickle_rows_at(rows, 4));
    ck_assert(!fickle_rows_more(rows));
    fickle_rows_free(rows);
    /* explicit lengths, binary keys */
    const void *bk[] = {"x\0y", "a"};
    size_t bl[] = {3, 1};
    const void *bv[] = {"\0", "2"};
    size_t bvl[] = {1, 1};
    ck_assert_int_eq(fickle_mset(c, 2, bk, bl, bv, bvl, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_mget(c, 2, bk, bl, &rows), FICKLE_OK);
    ck_assert_uint_eq(fickle_rows_at(rows, 0)->vlen, 1);
    ck_assert_mem_eq(fickle_rows_at(rows, 1)->value, "2", 1);
    fickle_rows_free(rows);
    /* NX: nothing written if any key exists */
    const void *nk[] = {"new", "a"};
    ck_assert_int_eq(fickle_mset(c, 2, nk, NULL, vals, NULL, FICKLE_MSET_NX, NULL), FICKLE_STATUS_EXISTS);
    ck_assert_int_eq(fickle_get(c, "new", 3, NULL), FICKLE_STATUS_NOT_FOUND);
    ck_assert_int_eq(fickle_mset(c, 1, nk, NULL, vals, NULL, FICKLE_MSET_NX, NULL), FICKLE_OK);
    /* bad arguments: nothing sent */
    ck_assert_int_eq(fickle_mget(c, 0, q, NULL, &rows), FICKLE_ERR_ARG);
    ck_assert_ptr_null(rows);
    ck_assert_int_eq(fickle_mset(c, 1, nk, NULL, NULL, NULL, 0, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_mset(c, 1, nk, NULL, vals, NULL, 0x2, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_OK);
}
END_TEST

/* Keys k0..k9 with values v0..v9. */
static void ten_keys(void)
{
    for (int i = 0; i < 10; i++) {
        char k[4], v[4];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        set_s(k, v);
    }
}

/* The rows' keys joined by commas. */
static const char *keys_of(fickle_rows_t *rows)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = '\0';
    fickle_rows_rewind(rows);
    for (const fickle_row_t *r; (r = fickle_rows_next(rows));)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? "," : "", (int)r->klen, r->key);
    return buf;
}

static const char *range_keys(const char *start, const char *end, unsigned flags, uint32_t limit)
{
    fickle_range_t q;
    fickle_range_init(&q);
    q.start = start, q.start_len = start ? strlen(start) : 0;
    q.end = end, q.end_len = end ? strlen(end) : 0;
    q.flags = flags, q.limit = limit;
    fickle_rows_t *rows;
    ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_OK);
    const char *s = keys_of(rows);
    fickle_rows_free(rows);
    return s;
}

START_TEST(ranges)
{
    ten_keys();
    const unsigned IN = FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL;
    ck_assert_str_eq(range_keys("k2", "k5", IN, 0), "k2,k3,k4,k5");
    ck_assert_str_eq(range_keys("k2", "k5", 0, 0), "k3,k4");
    ck_assert_str_eq(range_keys("k2", "k5", FICKLE_RANGE_START_INCL, 0), "k2,k3,k4");
    ck_assert_str_eq(range_keys("k2", "k5", IN | FICKLE_RANGE_REVERSE, 0), "k5,k4,k3,k2");
    ck_assert_str_eq(range_keys("k2", "k5", IN | FICKLE_RANGE_REVERSE, 2), "k5,k4");
    ck_assert_str_eq(range_keys(NULL, "k2", FICKLE_RANGE_END_INCL, 0), "k0,k1,k2");
    ck_assert_str_eq(range_keys("k7", NULL, 0, 0), "k8,k9");
    ck_assert_str_eq(range_keys(NULL, NULL, 0, 3), "k0,k1,k2");
    ck_assert_str_eq(range_keys("k", "k", IN, 0), "");
    /* _NONE flags work as NULL bounds, ignoring the key */
    ck_assert_str_eq(range_keys("zz", NULL, FICKLE_RANGE_START_NONE, 2), "k0,k1");
    /* keys only */
    fickle_range_t q;
    fickle_range_init(&q);
    q.flags = FICKLE_RANGE_KEYS_ONLY;
    q.limit = 2;
    fickle_rows_t *rows;
    ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_OK);
    const fickle_row_t *r = fickle_rows_next(rows);
    ck_assert_uint_eq(r->flags, FICKLE_ROW_NO_VALUE);
    ck_assert_ptr_null(r->value);
    ck_assert_uint_gt(r->version, 0);
    fickle_rows_free(rows);
    /* values */
    q.flags = 0;
    ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_OK);
    ck_assert_mem_eq(fickle_rows_at(rows, 1)->value, "v1", 2);
    fickle_rows_free(rows);
    q.flags = 0x40;
    ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_range(c, NULL, &rows), FICKLE_ERR_ARG);
}
END_TEST

START_TEST(range_more)
{
    ten_keys();
    fake_set_range_cap(srv, 4);
    fickle_range_t q;
    fickle_range_init(&q);
    fickle_rows_t *rows;
    char last[8] = "";
    char all[128] = "";
    for (int round = 0; round < 10; round++) {
        ck_assert_int_eq(fickle_range(c, &q, &rows), FICKLE_OK);
        strcat(all, keys_of(rows));
        strcat(all, "|");
        bool more = fickle_rows_more(rows);
        const fickle_row_t *r = fickle_rows_at(rows, fickle_rows_count(rows) - 1);
        memcpy(last, r->key, r->klen);
        q.start = last, q.start_len = r->klen;
        fickle_rows_free(rows);
        if (!more)
            break;
    }
    ck_assert_str_eq(all, "k0,k1,k2,k3|k4,k5,k6,k7|k8,k9|");
}
END_TEST

START_TEST(count_and_stats)
{
    ten_keys();
    fickle_range_t q;
    fickle_range_init(&q);
    uint64_t n;
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, 10);
    q.start = "k3", q.start_len = 2, q.end = "k6", q.end_len = 2;
    q.flags = FICKLE_RANGE_START_INCL | FICKLE_RANGE_REVERSE | FICKLE_RANGE_KEYS_ONLY; /* last two dropped */
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, 3);
    q.limit = 2;
    ck_assert_int_eq(fickle_count(c, &q, &n), FICKLE_OK);
    ck_assert_uint_eq(n, 2);
    char *text;
    size_t len;
    ck_assert_int_eq(fickle_stats(c, NULL, &text, &len), FICKLE_OK);
    ck_assert_uint_eq(strlen(text), len);
    ck_assert_ptr_nonnull(strstr(text, "# Server\r\n"));
    ck_assert_ptr_nonnull(strstr(text, "keys:10\r\n"));
    free(text);
    ck_assert_int_eq(fickle_stats(c, "memory", &text, NULL), FICKLE_OK);
    ck_assert_ptr_nonnull(strstr(text, "# memory\r\n"));
    free(text);
}
END_TEST

START_TEST(auth)
{
    fake_set_password(srv, "secret");
    ck_assert_int_eq(fickle_get(c, "k", 1, NULL), FICKLE_STATUS_AUTH_REQUIRED);
    ck_assert_int_eq(fickle_auth(c, NULL, "wrong"), FICKLE_STATUS_AUTH_FAILED);
    ck_assert_str_eq(fickle_errstr(c), "AUTH_FAILED: wrong password");
    ck_assert_int_eq(fickle_auth(c, "bob", "secret"), FICKLE_STATUS_AUTH_FAILED);
    ck_assert_int_eq(fickle_auth(c, NULL, "secret"), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "k", 1, NULL), FICKLE_STATUS_NOT_FOUND);
    ck_assert_int_eq(fickle_auth(c, "default", "secret"), FICKLE_OK);
    ck_assert_int_eq(fickle_auth(c, NULL, NULL), FICKLE_ERR_ARG);
}
END_TEST

START_TEST(quit)
{
    ck_assert_int_eq(fickle_quit(c), FICKLE_OK);
    ck_assert_str_eq(fickle_errstr(c), "");
    ck_assert(!fickle_usable(c));
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "QUIT"));
}
END_TEST

START_TEST(argument_checks)
{
    static char huge[70000];
    ck_assert_int_eq(fickle_get(c, huge, sizeof(huge), NULL), FICKLE_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "65535"));
    ck_assert_int_eq(fickle_get(c, NULL, 1, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_set(c, "k", 1, NULL, 5, 0, 0, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_queue_raw(NULL, 1, 0, NULL, 0, NULL, 0, NULL, 0, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_get(NULL, "k", 1, NULL), FICKLE_ERR_ARG);
    ck_assert_uint_eq(fickle_pending(c), 0);
    ck_assert(fickle_usable(c));
    ck_assert_int_eq(fickle_get(c, huge, 65535, NULL), FICKLE_STATUS_NOT_FOUND); /* the longest key */
}
END_TEST

/* ---- pipelining ---------------------------------------------------------------------- */

START_TEST(pipeline_in_order)
{
    enum { N = 300 };
    uint64_t op[3 * N];
    for (int i = 0; i < N; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "p%03d", i);
        ck_assert_int_eq(fickle_queue_set(c, k, (size_t)kl, k, (size_t)kl, 0, 0, &op[3 * i]), FICKLE_OK);
        ck_assert_int_eq(fickle_queue_get(c, k, (size_t)kl, &op[3 * i + 1]), FICKLE_OK);
        ck_assert_int_eq(fickle_queue_incr(c, "ctr", 3, 2, &op[3 * i + 2]), FICKLE_OK);
    }
    ck_assert_uint_eq(fickle_pending(c), 3 * N);
    /* synchronous calls refuse to overtake */
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "pending"));
    ck_assert_int_eq(fickle_flush(c), FICKLE_OK);
    for (int i = 0; i < 3 * N; i++) {
        fickle_reply_t r;
        ck_assert_int_eq(fickle_read_reply(c, &r), FICKLE_OK);
        ck_assert_uint_eq(r.opaque, op[i]);
        if (i > 0)
            ck_assert_uint_gt(op[i], op[i - 1]);
        switch (i % 3) {
        case 0:
            ck_assert_uint_eq(r.opcode, FICKLE_OP_SET);
            ck_assert_uint_gt(r.version, 0);
            break;
        case 1:
            ck_assert_uint_eq(r.opcode, FICKLE_OP_GET);
            ck_assert_uint_eq(r.vlen, 4);
            ck_assert_int_eq(atoi(r.value + 1), i / 3);
            break;
        case 2:
            ck_assert_uint_eq(r.opcode, FICKLE_OP_INCR);
            ck_assert_int_eq(r.number, 2 * (i / 3 + 1));
            break;
        }
        fickle_reply_free(&r);
    }
    ck_assert_uint_eq(fickle_pending(c), 0);
    fickle_reply_t r;
    ck_assert_int_eq(fickle_read_reply(c, &r), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_read_reply(c, NULL), FICKLE_ERR_ARG);
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_OK);
}
END_TEST

START_TEST(pipeline_every_opcode)
{
    fake_set_password(srv, "pw");
    const void *k[] = {"a", "b"};
    fickle_range_t q;
    fickle_range_init(&q);
    ck_assert_int_eq(fickle_queue_auth(c, NULL, "pw", NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_ping(c, "hi", 2, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_mset(c, 2, k, NULL, k, NULL, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_mget(c, 2, k, NULL, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_exists(c, "a", 1, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_cas(c, "a", 1, "x", 1, 1, 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_decr(c, "n", 1, 5, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_range(c, &q, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_count(c, &q, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_del(c, "b", 1, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_stats(c, NULL, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_raw(c, 0x0C, 0, NULL, 0, NULL, 0, NULL, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_quit(c, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_queue_ping(c, NULL, 0, NULL), FICKLE_OK); /* after QUIT: never answered */
    static const struct {
        int op, status;
    } want[] = {
        {FICKLE_OP_AUTH, 0},   {FICKLE_OP_PING, 0},  {FICKLE_OP_MSET, 0},  {FICKLE_OP_MGET, 0},
        {FICKLE_OP_EXISTS, 0}, {FICKLE_OP_CAS, FICKLE_STATUS_CAS_MISMATCH}, {FICKLE_OP_DECR, 0},
        {FICKLE_OP_RANGE, 0},  {FICKLE_OP_COUNT, 0}, {FICKLE_OP_DEL, 0},   {FICKLE_OP_STATS, 0},
        {0x0C, FICKLE_STATUS_UNKNOWN_OPCODE},        {FICKLE_OP_QUIT, 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        fickle_reply_t r;
        ck_assert_int_eq(fickle_read_reply(c, &r), want[i].status);
        ck_assert_int_eq(r.status, want[i].status);
        ck_assert_uint_eq(r.opcode, want[i].op);
        if (r.opcode == FICKLE_OP_PING)
            ck_assert_str_eq(r.value, "hi");
        if (r.opcode == FICKLE_OP_MGET)
            ck_assert_uint_eq(fickle_rows_count(r.rows), 2);
        if (r.opcode == FICKLE_OP_RANGE)
            ck_assert_str_eq(keys_of(r.rows), "a,b,n");
        if (r.opcode == FICKLE_OP_COUNT)
            ck_assert_uint_eq(r.count, 3); /* a, b, n */
        if (r.opcode == FICKLE_OP_DECR)
            ck_assert_int_eq(r.number, -5);
        if (r.opcode == 0x0C)
            ck_assert_ptr_nonnull(strstr(r.value, "unknown opcode"));
        fickle_reply_free(&r);
    }
    ck_assert(!fickle_usable(c)); /* QUIT closed it; the last PING is dropped */
    ck_assert_uint_eq(fickle_pending(c), 0);
}
END_TEST

/* Big requests and big replies at once: the client must read replies while
 * it sends, or both sides block on full socket buffers. */
START_TEST(pipeline_both_directions_large)
{
    reconnect(10000, 0);
    enum { N = 96, VLEN = 256 * 1024 };
    char *v = malloc(VLEN);
    memset(v, 'v', VLEN);
    ck_assert_int_eq(fickle_set(c, "big", 3, v, VLEN, 0, 0, NULL), FICKLE_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(fickle_queue_set(c, "w", 1, v, VLEN, 0, 0, NULL), FICKLE_OK);
        ck_assert_int_eq(fickle_queue_get(c, "big", 3, NULL), FICKLE_OK);
    }
    ck_assert_int_eq(fickle_flush(c), FICKLE_OK);
    for (int i = 0; i < 2 * N; i++) {
        fickle_reply_t r;
        ck_assert_int_eq(fickle_read_reply(c, &r), FICKLE_OK);
        if (i % 2)
            ck_assert_uint_eq(r.vlen, VLEN);
        fickle_reply_free(&r);
    }
    free(v);
}
END_TEST

/* ---- failures ------------------------------------------------------------------------ */

/* Appends a raw reply frame echoing cmd's opcode and opaque. */
static void frame(struct evbuffer *out, const cmd_t *cmd, uint16_t status, const void *ext, size_t elen,
                  const void *key, size_t klen, const void *val, size_t vlen)
{
    ck_assert_int_eq(native_write_frame(out, FICKLE_MAGIC_REPLY, cmd->opcode, 0, status, cmd->opaque, ext, elen, key,
                                        klen, val, vlen),
                     0);
}

static fake_after_t h_busy(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    native_reply_status(out, cmd->opcode, cmd->opaque, FICKLE_STATUS_BUSY, "log full\x01");
    return FAKE_KEEP;
}

static fake_after_t h_unknown_status(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    native_reply_status(out, cmd->opcode, cmd->opaque, 0x0100, "from the future");
    return FAKE_KEEP;
}

START_TEST(server_error_status)
{
    fake_set_hook(srv, h_busy, NULL);
    ck_assert_int_eq(fickle_set(c, "k", 1, "v", 1, 0, 0, NULL), FICKLE_STATUS_BUSY);
    ck_assert_str_eq(fickle_errstr(c), "BUSY: log full?"); /* control bytes made printable */
    ck_assert(fickle_usable(c));
    fake_set_hook(srv, h_unknown_status, NULL);
    ck_assert_int_eq(fickle_ping(c, NULL, 0), 0x0100);
    ck_assert_str_eq(fickle_errstr(c), "status 0x0100: from the future");
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_OK);
}
END_TEST

static fake_after_t h_half(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    struct evbuffer *full = evbuffer_new();
    native_reply_item(full, cmd->opcode, cmd->opaque, 9, 0, "hello world", 11);
    evbuffer_remove_buffer(full, out, evbuffer_get_length(full) / 2 + (arg ? 16 : 0));
    evbuffer_free(full);
    return FAKE_CLOSE;
}

static fake_after_t h_close(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    return FAKE_CLOSE;
}

START_TEST(server_closes)
{
    fake_set_hook(srv, h_half, NULL); /* inside the header + extras */
    ck_assert_int_eq(fickle_get(c, "k", 1, NULL), FICKLE_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "closed the connection while"));
    ck_assert(!fickle_usable(c));
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "connection closed: server closed"));
    reconnect(5000, 0);
    fake_set_hook(srv, h_half, srv); /* inside the value */
    ck_assert_int_eq(fickle_get(c, "k", 1, NULL), FICKLE_ERR_CLOSED);
    reconnect(5000, 0);
    fake_set_hook(srv, h_close, NULL); /* before any byte */
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_CLOSED);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "waiting for a reply"));
    ck_assert_uint_eq(fickle_pending(c), 0);
}
END_TEST

static fake_after_t h_oversize(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    fickle_header_t h = {.magic = FICKLE_MAGIC_REPLY, .version = 1, .opcode = cmd->opcode,
                         .extras_len = 16, .value_len = 0xFFFFFFF0u, .opaque = cmd->opaque};
    uint8_t b[FICKLE_HEADER_SIZE + 16] = {0};
    fickle_header_encode(b, &h);
    evbuffer_add(out, b, sizeof(b));
    return FAKE_KEEP;
}

START_TEST(oversize_reply)
{
    fake_set_hook(srv, h_oversize, NULL);
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "k", 1, &it), FICKLE_ERR_TOO_BIG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "4294967320 bytes"));
    ck_assert(!fickle_usable(c));
    /* a legitimate reply over a small configured limit */
    reconnect(5000, 1024);
    char v[2048];
    memset(v, 'x', sizeof(v));
    ck_assert_int_eq(fickle_set(c, "k", 1, v, 1024 - 40, 0, 0, NULL), FICKLE_OK); /* exactly the limit */
    ck_assert_int_eq(fickle_get(c, "k", 1, &it), FICKLE_OK);
    fickle_item_free(&it);
    ck_assert_int_eq(fickle_set(c, "k", 1, v, sizeof(v), 0, 0, NULL), FICKLE_OK);
    ck_assert_int_eq(fickle_get(c, "k", 1, &it), FICKLE_ERR_TOO_BIG);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "max_reply"));
}
END_TEST

static fake_after_t h_hang(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    return FAKE_HANG;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(timeout_when_server_never_replies)
{
    reconnect(200, 0);
    fake_set_hook(srv, h_hang, NULL);
    int64_t t0 = mono_ms();
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_TIMEOUT);
    int64_t took = mono_ms() - t0;
    ck_assert_int_ge(took, 190);
    ck_assert_int_lt(took, 3000);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "200 ms"));
    ck_assert(!fickle_usable(c));
}
END_TEST

static fake_after_t h_drip(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    native_reply_item(out, cmd->opcode, cmd->opaque, 77, 123, "dripped, byte by byte", 21);
    return FAKE_DRIP;
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A reply arriving a byte at a time (partial reads) while a 1 ms interval
 * timer interrupts every system call it can (EINTR). */
START_TEST(partial_reads_and_signals)
{
    struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
    struct itimerval tv = {.it_interval = {0, 1000}, .it_value = {0, 1000}};
    ck_assert_int_eq(setitimer(ITIMER_REAL, &tv, NULL), 0);
    for (int i = 0; i < 3; i++) {
        fake_set_hook(srv, h_drip, NULL);
        fickle_item_t it;
        ck_assert_int_eq(fickle_get(c, "k", 1, &it), FICKLE_OK);
        ck_assert_str_eq(it.value, "dripped, byte by byte");
        ck_assert_uint_eq(it.version, 77);
        ck_assert_uint_eq(it.expiry_ms, 123);
        fickle_item_free(&it);
        ck_assert_int_eq(fickle_ping(c, "x", 1), FICKLE_OK);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
}
END_TEST

/* Protocol violations, selected by the hook argument. */
enum {
    V_MAGIC, V_VERSION, V_OPAQUE, V_OPCODE, V_SHORT_EXTRAS, V_ERROR_EXTRAS, V_KEY, V_ROWS_SHORT, V_ROWS_HUGE,
    V_ROWS_MISSING_VALUE, V_MGET_COUNT, V_PING_ECHO, V__COUNT
};

static fake_after_t h_violate(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    int which = (int)(intptr_t)arg;
    uint8_t ext[16] = {0}, row[16 + 2] = {0};
    switch (which) {
    case V_MAGIC:
        native_write_frame(out, FICKLE_MAGIC_REQUEST, cmd->opcode, 0, 0, cmd->opaque, NULL, 0, NULL, 0, NULL, 0);
        break;
    case V_VERSION: {
        uint8_t b[FICKLE_HEADER_SIZE] = {FICKLE_MAGIC_REPLY, 2, cmd->opcode};
        evbuffer_add(out, b, sizeof(b));
        break;
    }
    case V_OPAQUE:
        native_write_frame(out, FICKLE_MAGIC_REPLY, cmd->opcode, 0, 0, cmd->opaque + 1, NULL, 0, NULL, 0, NULL, 0);
        break;
    case V_OPCODE:
        native_write_frame(out, FICKLE_MAGIC_REPLY, cmd->opcode + 1, 0, 0, cmd->opaque, NULL, 0, NULL, 0, NULL, 0);
        break;
    case V_SHORT_EXTRAS: frame(out, cmd, 0, ext, 8, NULL, 0, "v", 1); break;
    case V_ERROR_EXTRAS: frame(out, cmd, FICKLE_STATUS_NOT_FOUND, ext, 8, NULL, 0, NULL, 0); break;
    case V_KEY: frame(out, cmd, 0, ext, 16, "k", 1, "v", 1); break;
    case V_ROWS_SHORT: /* one row whose value runs past the end */
    case V_ROWS_HUGE:  /* claims 2^32-1 rows in 17 bytes */
    case V_ROWS_MISSING_VALUE:
    case V_MGET_COUNT:
        fickle_put_le32(ext, which == V_ROWS_HUGE ? 0xFFFFFFFFu : which == V_MGET_COUNT ? 1 : 2);
        fickle_put_le16(row, 1);
        row[16] = 'k';
        if (which == V_ROWS_SHORT) {
            fickle_put_le32(row + 4, 5);
            fickle_put_le32(ext, 1);
        }
        if (which == V_ROWS_MISSING_VALUE) {
            fickle_put_le16(row + 2, FICKLE_ROW_MISSING);
            fickle_put_le32(row + 4, 1);
            fickle_put_le32(ext, 1);
        }
        frame(out, cmd, 0, ext, 8, NULL, 0, row, which == V_ROWS_MISSING_VALUE ? 18 : 17);
        break;
    case V_PING_ECHO: frame(out, cmd, 0, NULL, 0, NULL, 0, "other", 5); break;
    }
    return FAKE_KEEP;
}

START_TEST(protocol_violations)
{
    static const char *const msg[V__COUNT] = {
        "magic", "version", "does not match", "does not match", "extras", "error reply with",
        "key", "malformed rows", "rows in", "malformed rows", "MGET of 2 keys", "echo",
    };
    const void *keys[] = {"a", "b"};
    fickle_range_t q;
    fickle_range_init(&q);
    for (int v = 0; v < V__COUNT; v++) {
        reconnect(5000, 0);
        fake_set_hook(srv, h_violate, (void *)(intptr_t)v);
        int rc;
        if (v >= V_ROWS_SHORT && v <= V_ROWS_MISSING_VALUE)
            rc = fickle_range(c, &q, NULL);
        else if (v == V_MGET_COUNT)
            rc = fickle_mget(c, 2, keys, NULL, NULL);
        else if (v == V_PING_ECHO)
            rc = fickle_ping(c, "mine", 4);
        else
            rc = fickle_get(c, "k", 1, NULL);
        ck_assert_msg(rc == FICKLE_ERR_PROTOCOL, "violation %d: rc %d (%s)", v, rc, fickle_errstr(c));
        ck_assert_msg(strstr(fickle_errstr(c), msg[v]), "violation %d: %s", v, fickle_errstr(c));
        ck_assert(!fickle_usable(c));
    }
}
END_TEST

static fake_after_t h_fatal(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    native_reply_status(out, 0, 0, FICKLE_STATUS_BAD_REQUEST, "bad magic byte 0x00");
    return FAKE_CLOSE;
}

static fake_after_t h_long_extras(const cmd_t *cmd, struct evbuffer *out, void *arg)
{
    uint8_t ext[24];
    fickle_put_le64(ext, 5);
    fickle_put_le64(ext + 8, 6);
    fickle_put_le64(ext + 16, 0xdeadbeef); /* a field from a later revision */
    frame(out, cmd, 0, ext, sizeof(ext), NULL, 0, "val", 3);
    return FAKE_KEEP;
}

START_TEST(fatal_frame_and_future_extras)
{
    fake_set_hook(srv, h_long_extras, NULL);
    fickle_item_t it;
    ck_assert_int_eq(fickle_get(c, "k", 1, &it), FICKLE_OK);
    ck_assert_uint_eq(it.version, 5);
    ck_assert_uint_eq(it.expiry_ms, 6);
    ck_assert_str_eq(it.value, "val");
    fickle_item_free(&it);
    fake_set_hook(srv, h_fatal, NULL);
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_STATUS_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(fickle_errstr(c), "BAD_REQUEST: bad magic byte"));
    ck_assert(!fickle_usable(c));
    ck_assert_int_eq(fickle_ping(c, NULL, 0), FICKLE_ERR_CLOSED);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("client");
    TCase *t = tcase_create("calls");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, connect_tcp_and_unix);
    tcase_add_test(t, connect_failures);
    tcase_add_test(t, status_names);
    tcase_add_test(t, get_set_round_trip);
    tcase_add_test(t, set_options);
    tcase_add_test(t, cas_del_exists);
    tcase_add_test(t, counters);
    tcase_add_test(t, mget_mset);
    tcase_add_test(t, ranges);
    tcase_add_test(t, range_more);
    tcase_add_test(t, count_and_stats);
    tcase_add_test(t, auth);
    tcase_add_test(t, quit);
    tcase_add_test(t, argument_checks);
    suite_add_tcase(s, t);

    t = tcase_create("pipelining");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 60);
    tcase_add_test(t, pipeline_in_order);
    tcase_add_test(t, pipeline_every_opcode);
    tcase_add_test(t, pipeline_both_directions_large);
    suite_add_tcase(s, t);

    t = tcase_create("failures");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_set_timeout(t, 30);
    tcase_add_test(t, server_error_status);
    tcase_add_test(t, server_closes);
    tcase_add_test(t, oversize_reply);
    tcase_add_test(t, timeout_when_server_never_replies);
    tcase_add_test(t, partial_reads_and_signals);
    tcase_add_test(t, protocol_violations);
    tcase_add_test(t, fatal_frame_and_future_extras);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
