/*
 * native_client.h — a minimal blocking native-protocol client for the
 * integration tests (frames built from fickle/protocol.h alone, so the
 * tests check the wire format the document describes, not our encoder).
 */
#ifndef FICKLE_TESTS_NATIVE_CLIENT_H
#define FICKLE_TESTS_NATIVE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "fickle/protocol.h"

typedef struct {
    uint8_t opcode;
    uint16_t status;
    uint64_t opaque;
    uint8_t *extras; /* malloc'd; extras_len bytes */
    size_t elen;
    uint8_t *value;  /* malloc'd, NUL-terminated; vlen bytes */
    size_t vlen;
} nv_reply_t;

/* Sends one request frame. Returns 0 or -1. */
int nv_send(int fd, uint8_t opcode, uint8_t flags, uint64_t opaque, const void *extras, size_t elen, const void *key,
            size_t klen, const void *val, size_t vlen);
/* Reads one reply frame. Returns 0, or -1 on EOF/timeout/bad frame. */
int nv_read(int fd, nv_reply_t *r);
void nv_free(nv_reply_t *r);
/* A TCP connection to 127.0.0.1:port with 10 s timeouts, or -1. */
int nv_connect(uint16_t port);

#endif
