/*
 * native_reply.c — native binary protocol encoders (see native_reply.h).
 */
#include "config.h"

#include <string.h>

#include "frontend/native_reply.h"

int native_write_frame(struct evbuffer *out, uint8_t magic, uint8_t opcode, uint8_t flags, uint16_t status,
                       uint64_t opaque, const void *extras, size_t elen, const void *key, size_t klen,
                       const void *value, size_t vlen)
{
    if (elen > UINT16_MAX || klen > UINT16_MAX || vlen > UINT32_MAX)
        return -1;
    fickle_header_t h = {
        .magic = magic,
        .version = FICKLE_PROTOCOL_VERSION,
        .opcode = opcode,
        .flags = flags,
        .status = status,
        .key_len = (uint16_t)klen,
        .extras_len = (uint16_t)elen,
        .value_len = (uint32_t)vlen,
        .opaque = opaque,
    };
    uint8_t hdr[FICKLE_HEADER_SIZE];
    fickle_header_encode(hdr, &h);
    if (evbuffer_add(out, hdr, sizeof(hdr)) < 0)
        return -1;
    if (elen && evbuffer_add(out, extras, elen) < 0)
        return -1;
    if (klen && evbuffer_add(out, key, klen) < 0)
        return -1;
    if (vlen && evbuffer_add(out, value, vlen) < 0)
        return -1;
    return 0;
}

int native_request(struct evbuffer *out, uint8_t opcode, uint8_t flags, uint64_t opaque, const void *extras,
                   size_t elen, const void *key, size_t klen, const void *value, size_t vlen)
{
    return native_write_frame(out, FICKLE_MAGIC_REQUEST, opcode, flags, 0, opaque, extras, elen, key, klen, value,
                              vlen);
}

int native_mget_entry(struct evbuffer *value, const void *key, size_t klen)
{
    uint8_t h[FICKLE_MGET_ENTRY_HEADER];
    if (klen > UINT16_MAX)
        return -1;
    fickle_put_le16(h, (uint16_t)klen);
    if (evbuffer_add(value, h, sizeof(h)) < 0)
        return -1;
    return klen ? evbuffer_add(value, key, klen) : 0;
}

int native_mset_entry(struct evbuffer *value, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint8_t h[FICKLE_MSET_ENTRY_HEADER];
    if (klen > UINT16_MAX || vlen > UINT32_MAX)
        return -1;
    fickle_put_le16(h, (uint16_t)klen);
    fickle_put_le32(h + 2, (uint32_t)vlen);
    if (evbuffer_add(value, h, sizeof(h)) < 0)
        return -1;
    if (klen && evbuffer_add(value, key, klen) < 0)
        return -1;
    return vlen ? evbuffer_add(value, val, vlen) : 0;
}

static int reply(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint16_t status, const void *extras,
                 size_t elen, const void *value, size_t vlen)
{
    return native_write_frame(out, FICKLE_MAGIC_REPLY, opcode, 0, status, opaque, extras, elen, NULL, 0, value,
                              vlen);
}

int native_reply_status(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint16_t status, const char *msg)
{
    return reply(out, opcode, opaque, status, NULL, 0, msg, msg ? strlen(msg) : 0);
}

int native_reply_value(struct evbuffer *out, uint8_t opcode, uint64_t opaque, const void *value, size_t vlen)
{
    return reply(out, opcode, opaque, FICKLE_STATUS_OK, NULL, 0, value, vlen);
}

int native_reply_item(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version, uint64_t expiry_ms,
                      const void *value, size_t vlen)
{
    uint8_t ext[FICKLE_EXT_R_ITEM];
    fickle_put_le64(ext, version);
    fickle_put_le64(ext + 8, expiry_ms);
    return reply(out, opcode, opaque, FICKLE_STATUS_OK, ext, sizeof(ext), value, vlen);
}

int native_reply_version(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version)
{
    uint8_t ext[FICKLE_EXT_R_VERSION];
    fickle_put_le64(ext, version);
    return reply(out, opcode, opaque, FICKLE_STATUS_OK, ext, sizeof(ext), NULL, 0);
}

int native_reply_counter(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t version, int64_t value)
{
    uint8_t ext[FICKLE_EXT_R_COUNTER];
    fickle_put_le64(ext, version);
    fickle_put_le64(ext + 8, (uint64_t)value);
    return reply(out, opcode, opaque, FICKLE_STATUS_OK, ext, sizeof(ext), NULL, 0);
}

int native_reply_count(struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint64_t count)
{
    uint8_t ext[FICKLE_EXT_R_COUNT];
    fickle_put_le64(ext, count);
    return reply(out, opcode, opaque, FICKLE_STATUS_OK, ext, sizeof(ext), NULL, 0);
}

int native_rows_init(native_rows_t *r)
{
    r->count = 0;
    r->body = evbuffer_new();
    return r->body ? 0 : -1;
}

int native_rows_add(native_rows_t *r, const void *key, size_t klen, const void *val, size_t vlen, uint64_t version,
                    uint16_t flags)
{
    if (flags & (FICKLE_ROW_MISSING | FICKLE_ROW_NO_VALUE))
        vlen = 0;
    if (klen > UINT16_MAX || vlen > UINT32_MAX || r->count == UINT32_MAX)
        return -1;
    uint8_t h[FICKLE_ROW_HEADER_SIZE];
    fickle_put_le16(h, (uint16_t)klen);
    fickle_put_le16(h + 2, flags);
    fickle_put_le32(h + 4, (uint32_t)vlen);
    fickle_put_le64(h + 8, version);
    if (evbuffer_add(r->body, h, sizeof(h)) < 0)
        return -1;
    if (klen && evbuffer_add(r->body, key, klen) < 0)
        return -1;
    if (vlen && evbuffer_add(r->body, val, vlen) < 0)
        return -1;
    r->count++;
    return 0;
}

size_t native_rows_size(const native_rows_t *r)
{
    return evbuffer_get_length(r->body);
}

int native_reply_move(struct evbuffer *out, uint8_t opcode, uint64_t opaque, const void *extras, size_t elen,
                      struct evbuffer *body)
{
    size_t vlen = evbuffer_get_length(body);
    if (vlen > UINT32_MAX || elen > 32)
        return -1;
    fickle_header_t h = {
        .magic = FICKLE_MAGIC_REPLY,
        .version = FICKLE_PROTOCOL_VERSION,
        .opcode = opcode,
        .extras_len = (uint16_t)elen,
        .value_len = (uint32_t)vlen,
        .opaque = opaque,
    };
    uint8_t head[FICKLE_HEADER_SIZE + 32];
    fickle_header_encode(head, &h);
    if (elen)
        memcpy(head + FICKLE_HEADER_SIZE, extras, elen);
    /* evbuffer_add_buffer moves the body's chains: no copy. */
    if (evbuffer_add(out, head, FICKLE_HEADER_SIZE + elen) != 0 || evbuffer_add_buffer(out, body) != 0)
        return -1;
    return 0;
}

int native_rows_finish(native_rows_t *r, struct evbuffer *out, uint8_t opcode, uint64_t opaque, uint32_t set_flags)
{
    uint8_t ext[FICKLE_EXT_R_ROWS];
    fickle_put_le32(ext, r->count);
    fickle_put_le32(ext + 4, set_flags);
    int rc = native_reply_move(out, opcode, opaque, ext, sizeof(ext), r->body);
    native_rows_free(r);
    return rc;
}

void native_rows_free(native_rows_t *r)
{
    if (r->body)
        evbuffer_free(r->body);
    r->body = NULL;
    r->count = 0;
}
