/*
 * test_native_server.c — every native-protocol opcode against the real
 * fickled, with the statuses and reply layouts docs/protocol.md promises.
 * Frames are built from fickle/protocol.h alone (tests/native_client.c).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness.h"
#include "tests/native_client.h"

static fk_server_t srv;
static int fd = -1;
static uint64_t opaque;

static void setup(void)
{
    ck_assert_int_eq(fk_start(&srv, NULL), 0);
    fd = nv_connect(srv.port);
    ck_assert_int_ge(fd, 0);
}

static void teardown(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
    fk_cleanup(&srv);
    memset(&srv, 0, sizeof(srv));
}

/* One request, one reply; asserts the echoed opcode/opaque and the status. */
static void call(nv_reply_t *r, uint8_t op, uint8_t flags, const void *ext, size_t elen, const char *key,
                 const void *val, size_t vlen, uint16_t status)
{
    uint64_t id = ++opaque;
    ck_assert_int_eq(nv_send(fd, op, flags, id, ext, elen, key, key ? strlen(key) : 0, val, vlen), 0);
    ck_assert_int_eq(nv_read(fd, r), 0);
    ck_assert_uint_eq(r->opcode, op);
    ck_assert_uint_eq(r->opaque, id);
    ck_assert_msg(r->status == status, "opcode 0x%02x: status 0x%04x (%s), expected 0x%04x", op, r->status,
                  (char *)r->value, status);
    if (status != FICKLE_STATUS_OK)
        ck_assert_uint_eq(r->elen, 0); /* errors carry no extras */
}

static uint64_t set(const char *key, const char *val, uint8_t flags, uint16_t status)
{
    nv_reply_t r;
    call(&r, FICKLE_OP_SET, flags, NULL, 0, key, val, strlen(val), status);
    uint64_t v = status == FICKLE_STATUS_OK ? fickle_get_le64(r.extras) : 0;
    nv_free(&r);
    return v;
}

START_TEST(get_set_nx_xx_expiry)
{
    nv_reply_t r;
    uint64_t v1 = set("a", "1", 0, FICKLE_STATUS_OK);
    set("a", "2", FICKLE_SET_NX, FICKLE_STATUS_EXISTS);
    set("b", "2", FICKLE_SET_XX, FICKLE_STATUS_NOT_FOUND);
    uint64_t v2 = set("a", "3", FICKLE_SET_XX, FICKLE_STATUS_OK);
    ck_assert_uint_gt(v2, v1);
    call(&r, FICKLE_OP_GET, 0, NULL, 0, "a", NULL, 0, FICKLE_STATUS_OK);
    ck_assert_uint_eq(r.elen, FICKLE_EXT_R_ITEM);
    ck_assert_uint_eq(fickle_get_le64(r.extras), v2);
    ck_assert_uint_eq(fickle_get_le64(r.extras + 8), 0); /* no expiry */
    ck_assert_str_eq((char *)r.value, "3");
    nv_free(&r);
    call(&r, FICKLE_OP_GET, 0, NULL, 0, "missing", NULL, 0, FICKLE_STATUS_NOT_FOUND);
    nv_free(&r);
    /* Relative expiry: GET reports the absolute time; 200 ms later it is gone. */
    uint8_t ext[8];
    fickle_put_le64(ext, 200);
    call(&r, FICKLE_OP_SET, 0, ext, 8, "e", "x", 1, FICKLE_STATUS_OK);
    nv_free(&r);
    call(&r, FICKLE_OP_EXISTS, 0, NULL, 0, "e", NULL, 0, FICKLE_STATUS_OK);
    ck_assert_uint_eq(r.vlen, 0);
    ck_assert_uint_gt(fickle_get_le64(r.extras + 8), 1700000000000ull);
    nv_free(&r);
    usleep(350 * 1000);
    call(&r, FICKLE_OP_EXISTS, 0, NULL, 0, "e", NULL, 0, FICKLE_STATUS_NOT_FOUND);
    nv_free(&r);
    /* KEEPTTL with an expiry is a bad request; NX|XX too. */
    call(&r, FICKLE_OP_SET, FICKLE_SET_KEEPTTL, ext, 8, "a", "x", 1, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&r);
    call(&r, FICKLE_OP_SET, FICKLE_SET_NX | FICKLE_SET_XX, NULL, 0, "a", "x", 1, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&r);
}
END_TEST

START_TEST(cas_and_versioned_delete)
{
    nv_reply_t r;
    uint64_t v = set("k", "one", 0, FICKLE_STATUS_OK);
    uint8_t ext[8];
    fickle_put_le64(ext, v + 100);
    call(&r, FICKLE_OP_CAS, 0, ext, 8, "k", "two", 3, FICKLE_STATUS_CAS_MISMATCH);
    nv_free(&r);
    fickle_put_le64(ext, v);
    call(&r, FICKLE_OP_CAS, 0, ext, 8, "k", "two", 3, FICKLE_STATUS_OK);
    uint64_t v2 = fickle_get_le64(r.extras);
    nv_free(&r);
    call(&r, FICKLE_OP_CAS, 0, ext, 8, "nokey", "x", 1, FICKLE_STATUS_NOT_FOUND);
    nv_free(&r);
    fickle_put_le64(ext, v); /* stale version */
    call(&r, FICKLE_OP_DEL, 0, ext, 8, "k", NULL, 0, FICKLE_STATUS_CAS_MISMATCH);
    nv_free(&r);
    fickle_put_le64(ext, v2);
    call(&r, FICKLE_OP_DEL, 0, ext, 8, "k", NULL, 0, FICKLE_STATUS_OK);
    nv_free(&r);
    call(&r, FICKLE_OP_DEL, 0, NULL, 0, "k", NULL, 0, FICKLE_STATUS_NOT_FOUND);
    nv_free(&r);
}
END_TEST

START_TEST(incr_decr)
{
    nv_reply_t r;
    call(&r, FICKLE_OP_INCR, 0, NULL, 0, "n", NULL, 0, FICKLE_STATUS_OK);
    ck_assert_int_eq((int64_t)fickle_get_le64(r.extras + 8), 1);
    nv_free(&r);
    uint8_t ext[8];
    fickle_put_le64(ext, 10);
    call(&r, FICKLE_OP_DECR, 0, ext, 8, "n", NULL, 0, FICKLE_STATUS_OK);
    ck_assert_int_eq((int64_t)fickle_get_le64(r.extras + 8), -9);
    nv_free(&r);
    set("s", "abc", 0, FICKLE_STATUS_OK);
    call(&r, FICKLE_OP_INCR, 0, NULL, 0, "s", NULL, 0, FICKLE_STATUS_NOT_A_NUMBER);
    nv_free(&r);
    set("big", "9223372036854775807", 0, FICKLE_STATUS_OK);
    call(&r, FICKLE_OP_INCR, 0, NULL, 0, "big", NULL, 0, FICKLE_STATUS_OVERFLOW);
    nv_free(&r);
}
END_TEST

static size_t mget_entry(uint8_t *p, const char *k)
{
    fickle_put_le16(p, (uint16_t)strlen(k));
    memcpy(p + 2, k, strlen(k));
    return 2 + strlen(k);
}

static size_t mset_entry(uint8_t *p, const char *k, const char *v)
{
    fickle_put_le16(p, (uint16_t)strlen(k));
    fickle_put_le32(p + 2, (uint32_t)strlen(v));
    memcpy(p + 6, k, strlen(k));
    memcpy(p + 6 + strlen(k), v, strlen(v));
    return 6 + strlen(k) + strlen(v);
}

START_TEST(mset_mget_rows)
{
    nv_reply_t r;
    uint8_t body[256], ext[4];
    size_t n = mset_entry(body, "m1", "v1");
    n += mset_entry(body + n, "m2", "v2");
    fickle_put_le32(ext, 2);
    call(&r, FICKLE_OP_MSET, 0, ext, 4, NULL, body, n, FICKLE_STATUS_OK);
    uint64_t v = fickle_get_le64(r.extras);
    nv_free(&r);
    n = mset_entry(body, "m3", "x");
    n += mset_entry(body + n, "m1", "y");
    call(&r, FICKLE_OP_MSET, FICKLE_MSET_NX, ext, 4, NULL, body, n, FICKLE_STATUS_EXISTS);
    nv_free(&r);
    n = mget_entry(body, "m1");
    n += mget_entry(body + n, "m3");
    n += mget_entry(body + n, "m2");
    fickle_put_le32(ext, 3);
    call(&r, FICKLE_OP_MGET, 0, ext, 4, NULL, body, n, FICKLE_STATUS_OK);
    ck_assert_uint_eq(fickle_get_le32(r.extras), 3);
    const uint8_t *p = r.value;
    /* row 1: m1 = v1 at version v */
    ck_assert_uint_eq(fickle_get_le16(p), 2);
    ck_assert_uint_eq(fickle_get_le16(p + 2), 0);
    ck_assert_uint_eq(fickle_get_le32(p + 4), 2);
    ck_assert_uint_eq(fickle_get_le64(p + 8), v);
    ck_assert_int_eq(memcmp(p + 16, "m1v1", 4), 0);
    p += 20;
    /* row 2: m3 missing (untouched by the refused MSET NX) */
    ck_assert_uint_eq(fickle_get_le16(p + 2), FICKLE_ROW_MISSING);
    ck_assert_uint_eq(fickle_get_le32(p + 4), 0);
    p += 18;
    ck_assert_int_eq(memcmp(p + 16, "m2v2", 4), 0);
    ck_assert_uint_eq(fickle_get_le64(p + 8), v); /* one MSET, one version */
    nv_free(&r);
}
END_TEST

/* Keys of every row of a RANGE reply, concatenated with ','. */
static void range(uint8_t flags, const char *lo, const char *hi, uint32_t limit, char *out, uint32_t *set_flags)
{
    nv_reply_t r;
    uint8_t ext[4];
    fickle_put_le32(ext, limit);
    call(&r, FICKLE_OP_RANGE, flags, ext, 4, lo, hi, hi ? strlen(hi) : 0, FICKLE_STATUS_OK);
    uint32_t count = fickle_get_le32(r.extras);
    *set_flags = fickle_get_le32(r.extras + 4);
    out[0] = '\0';
    const uint8_t *p = r.value, *end = r.value + r.vlen;
    for (uint32_t i = 0; i < count; i++) {
        ck_assert(p + 16 <= end);
        size_t kl = fickle_get_le16(p), vl = fickle_get_le32(p + 4);
        if (flags & FICKLE_RANGE_KEYS_ONLY)
            ck_assert_uint_eq(fickle_get_le16(p + 2), FICKLE_ROW_NO_VALUE);
        strncat(out, (const char *)p + 16, kl);
        strcat(out, ",");
        p += 16 + kl + vl;
    }
    ck_assert(p == end); /* rows fill the value exactly */
    nv_free(&r);
}

START_TEST(range_and_count)
{
    const char *keys[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++)
        set(keys[i], "v", 0, FICKLE_STATUS_OK);
    char out[256];
    uint32_t sf;
    range(FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_INCL, "b", "d", 0, out, &sf);
    ck_assert_str_eq(out, "b,c,d,");
    ck_assert_uint_eq(sf, 0);
    range(0, "b", "d", 0, out, &sf);
    ck_assert_str_eq(out, "c,");
    range(FICKLE_RANGE_START_NONE | FICKLE_RANGE_END_NONE | FICKLE_RANGE_REVERSE, "", "", 2, out, &sf);
    ck_assert_str_eq(out, "e,d,");
    range(FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_NONE | FICKLE_RANGE_KEYS_ONLY, "c", "", 0, out, &sf);
    ck_assert_str_eq(out, "c,d,e,");
    nv_reply_t r;
    uint8_t ext[4];
    fickle_put_le32(ext, 0);
    call(&r, FICKLE_OP_COUNT, FICKLE_RANGE_START_INCL | FICKLE_RANGE_END_NONE, ext, 4, "b", NULL, 0,
         FICKLE_STATUS_OK);
    ck_assert_uint_eq(fickle_get_le64(r.extras), 4);
    nv_free(&r);
    /* START_NONE with a non-empty key is a bad request; REVERSE is not a COUNT flag. */
    call(&r, FICKLE_OP_RANGE, FICKLE_RANGE_START_NONE, NULL, 0, "x", NULL, 0, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&r);
    call(&r, FICKLE_OP_COUNT, FICKLE_RANGE_REVERSE, NULL, 0, "a", "b", 1, FICKLE_STATUS_BAD_REQUEST);
    nv_free(&r);
}
END_TEST

START_TEST(ping_stats_unknown_quit)
{
    nv_reply_t r;
    call(&r, FICKLE_OP_PING, 0, NULL, 0, NULL, "echo me", 7, FICKLE_STATUS_OK);
    ck_assert_str_eq((char *)r.value, "echo me");
    nv_free(&r);
    call(&r, FICKLE_OP_STATS, 0, NULL, 0, NULL, NULL, 0, FICKLE_STATUS_OK);
    ck_assert_ptr_nonnull(strstr((char *)r.value, "# Server\r\n"));
    ck_assert_ptr_nonnull(strstr((char *)r.value, "total_commands_processed:"));
    nv_free(&r);
    call(&r, FICKLE_OP_STATS, 0, NULL, 0, "memory", NULL, 0, FICKLE_STATUS_OK);
    ck_assert_ptr_nonnull(strstr((char *)r.value, "used_memory:"));
    ck_assert_ptr_null(strstr((char *)r.value, "# Server"));
    nv_free(&r);
    call(&r, FICKLE_OP_TXN + 1, 0, NULL, 0, NULL, NULL, 0, FICKLE_STATUS_UNKNOWN_OPCODE);
    nv_free(&r);
    call(&r, 0xF3, 0, NULL, 0, NULL, NULL, 0, FICKLE_STATUS_UNKNOWN_OPCODE);
    nv_free(&r);
    call(&r, FICKLE_OP_AUTH, 0, NULL, 0, NULL, "pw", 2, FICKLE_STATUS_AUTH_FAILED); /* no password set */
    nv_free(&r);
    /* Requests pipelined after QUIT are not executed. */
    nv_send(fd, FICKLE_OP_QUIT, 0, 90, NULL, 0, NULL, 0, NULL, 0);
    nv_send(fd, FICKLE_OP_SET, 0, 91, NULL, 0, "after", 5, "x", 1);
    ck_assert_int_eq(nv_read(fd, &r), 0);
    ck_assert_uint_eq(r.opaque, 90);
    ck_assert_uint_eq(r.status, FICKLE_STATUS_OK);
    nv_free(&r);
    ck_assert_int_ne(nv_read(fd, &r), 0); /* closed */
    close(fd);
    fd = nv_connect(srv.port);
    call(&r, FICKLE_OP_EXISTS, 0, NULL, 0, "after", NULL, 0, FICKLE_STATUS_NOT_FOUND);
    nv_free(&r);
}
END_TEST

/* The version byte is checked: an unknown one gets UNSUPPORTED_VERSION in
 * a version-1 frame with opcode 0 and opaque 0, then a close. */
START_TEST(unsupported_version_closes)
{
    uint8_t h[FICKLE_HEADER_SIZE] = {FICKLE_MAGIC_REQUEST, 9, FICKLE_OP_PING};
    ck_assert_int_eq(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    nv_reply_t r;
    ck_assert_int_eq(nv_read(fd, &r), 0);
    ck_assert_uint_eq(r.status, FICKLE_STATUS_UNSUPPORTED_VERSION);
    ck_assert_uint_eq(r.opcode, 0);
    ck_assert_uint_eq(r.opaque, 0);
    nv_free(&r);
    ck_assert_int_ne(nv_read(fd, &r), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("native_server");
    TCase *tc = tcase_create("native_server");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, get_set_nx_xx_expiry);
    tcase_add_test(tc, cas_and_versioned_delete);
    tcase_add_test(tc, incr_decr);
    tcase_add_test(tc, mset_mget_rows);
    tcase_add_test(tc, range_and_count);
    tcase_add_test(tc, ping_stats_unknown_quit);
    tcase_add_test(tc, unsupported_version_closes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fk_run_suite(suite());
}
