/*
 * read.h — the optimistic read loop shared by every lock-free read.
 *
 * A read is a "pass" function run first without any lock: it may see torn
 * state, so it validates every ref and bound and copies what it returns
 * into private memory. read_run() accepts its result only if the sequence
 * did not move; after READ_ATTEMPTS failures it runs the pass once more
 * under the writer mutex, so every read finishes even under constant
 * writes (and a dead writer's mess is repaired on the way).
 */
#ifndef FICKLE_STORE_READ_H
#define FICKLE_STORE_READ_H

#include "store/layout.h"

#define READ_ATTEMPTS 8

/* A pass returns a store_err_t value or READ_TORN. `locked` is true when it
 * runs under the mutex (then READ_TORN means real corruption). */
typedef int (*read_pass_fn)(struct store *st, void *ctx, bool locked);

store_err_t read_run(struct store *st, read_pass_fn fn, void *ctx);

/* For long walks: true if the optimistic pass is already doomed. */
bool read_pass_stale(const struct store *st, bool locked);

#endif /* FICKLE_STORE_READ_H */
