/*
 * exec_util.h — for tests that run programs built here (fickled,
 * fickled_test, fickle-cli) as child processes, and for waits that must
 * stretch when the build runs under an emulator.
 *
 * FICKLE_TEST_EXEC names a program that runs the binaries built here,
 * e.g. "qemu-aarch64" when an aarch64 build is tested on x86-64 (see
 * docs/arm.md); words after the first are its arguments. Unset: the binary
 * is executed directly.
 *
 * FICKLE_TEST_SLOW is a factor (integer >= 1, default 1) by which tests
 * multiply the waits they allow for a server to start, answer or die.
 */
#ifndef FICKLE_TESTS_EXEC_UTIL_H
#define FICKLE_TESTS_EXEC_UTIL_H

/* execv(path, argv), through FICKLE_TEST_EXEC when set. Returns only on
 * failure, with errno set, like execv. */
int fk_execv(const char *path, const char *const *argv);

/* ms times FICKLE_TEST_SLOW. */
int fk_slow_ms(int ms);

/* FICKLE_TEST_SLOW (1 when unset or invalid). */
int fk_slow_factor(void);

#endif
