/*
 * doc_hex.h — reads the worked hex examples out of docs/protocol.md, so
 * tests can check them against the encoders (the doc cannot drift).
 */
#ifndef FICKLE_TESTS_DOC_HEX_H
#define FICKLE_TESTS_DOC_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Reads the hex bytes of the code block after "<!-- hex:NAME -->" in the
 * markdown file at path ("# ..." comments allowed) into out. Returns the
 * byte count; fails the running Check test if the block is missing or
 * longer than cap. */
size_t doc_hex(const char *path, const char *name, uint8_t *out, size_t cap);

#endif
