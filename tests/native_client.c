/*
 * native_client.c — blocking native-protocol frames for tests.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/native_client.h"

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *b = p;
    while (n) {
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

int nv_send(int fd, uint8_t opcode, uint8_t flags, uint64_t opaque, const void *extras, size_t elen, const void *key,
            size_t klen, const void *val, size_t vlen)
{
    uint8_t h[FICKLE_HEADER_SIZE] = {0};
    h[FICKLE_OFF_MAGIC] = FICKLE_MAGIC_REQUEST;
    h[FICKLE_OFF_VERSION] = FICKLE_PROTOCOL_VERSION;
    h[FICKLE_OFF_OPCODE] = opcode;
    h[FICKLE_OFF_FLAGS] = flags;
    fickle_put_le16(h + FICKLE_OFF_KEY_LEN, (uint16_t)klen);
    fickle_put_le16(h + FICKLE_OFF_EXTRAS_LEN, (uint16_t)elen);
    fickle_put_le32(h + FICKLE_OFF_VALUE_LEN, (uint32_t)vlen);
    fickle_put_le64(h + FICKLE_OFF_OPAQUE, opaque);
    return write_all(fd, h, sizeof(h)) || (elen && write_all(fd, extras, elen)) || (klen && write_all(fd, key, klen)) ||
                   (vlen && write_all(fd, val, vlen))
               ? -1
               : 0;
}

int nv_read(int fd, nv_reply_t *r)
{
    uint8_t h[FICKLE_HEADER_SIZE];
    memset(r, 0, sizeof(*r));
    if (read_all(fd, h, sizeof(h)) != 0 || h[FICKLE_OFF_MAGIC] != FICKLE_MAGIC_REPLY)
        return -1;
    r->opcode = h[FICKLE_OFF_OPCODE];
    r->status = fickle_get_le16(h + FICKLE_OFF_STATUS);
    r->opaque = fickle_get_le64(h + FICKLE_OFF_OPAQUE);
    size_t klen = fickle_get_le16(h + FICKLE_OFF_KEY_LEN);
    r->elen = fickle_get_le16(h + FICKLE_OFF_EXTRAS_LEN);
    r->vlen = fickle_get_le32(h + FICKLE_OFF_VALUE_LEN);
    if (klen != 0 || r->vlen > (64u << 20))
        return -1;
    r->extras = malloc(r->elen + 1);
    r->value = malloc(r->vlen + 1);
    if (!r->extras || !r->value || read_all(fd, r->extras, r->elen) != 0 || read_all(fd, r->value, r->vlen) != 0) {
        nv_free(r);
        return -1;
    }
    r->value[r->vlen] = '\0';
    return 0;
}

void nv_free(nv_reply_t *r)
{
    free(r->extras);
    free(r->value);
    r->extras = r->value = NULL;
}

int nv_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
