/*
 * fuzz_util.h — what the libFuzzer harnesses share: an assertion that
 * aborts (libFuzzer and the replay test both report an abort as a crash)
 * and a scratch file holding the input, for readers that take a path.
 */
#ifndef FICKLE_TESTS_FUZZ_UTIL_H
#define FICKLE_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The entry point every harness defines (libFuzzer's name). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond)                                                                \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                  \
        }                                                                             \
    } while (0)

/* Replaces the content of one process-wide in-memory file (memfd) with
 * data[0..size) and returns a path that opens it (/proc/self/fd/N). No
 * disk I/O, nothing left behind. Aborts if a system call fails. */
const char *fz_file(const uint8_t *data, size_t size);

#endif
