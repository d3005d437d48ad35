/*
 * snapper.h — the persister's snapshot thread. One snapshot at a time runs
 * on its own thread with its own store handle (store_attach of the region:
 * a store_t belongs to one thread), so the persister's loop keeps moving
 * the ring to the log meanwhile: no write ever waits for a snapshot.
 *
 * The thread needs the loop once: before sealing the file it asks for the
 * log to be durable through an LSN (snapper_sync_wanted), and sleeps until
 * the loop answers (snapper_sync_answer). It writes the persister's wake-up
 * eventfd whenever it wants something or has finished, so the loop never
 * sleeps through it. Everything here is called by the loop's thread only.
 */
#ifndef FICKLE_PERSISTER_SNAPPER_H
#define FICKLE_PERSISTER_SNAPPER_H

#include <stdbool.h>
#include <stdint.h>

#include "persister/snaptake.h"

typedef struct snapper snapper_t;

/* A snapper for the region at region_path, writing into dir; wake_fd (an
 * eventfd, or -1) is written when the loop should look. NULL if out of
 * memory. The strings are copied. */
snapper_t *snapper_new(const char *region_path, const char *dir, int wake_fd);

/* Frees s; a running snapshot is cancelled and waited for first. */
void snapper_free(snapper_t *s);

/* Starts a snapshot on a new thread (every signal blocked in it). It gives
 * up at deadline_ms (CLOCK_MONOTONIC ms; 0 = never). 0, or -1 with errno
 * (EBUSY: one is running). */
int snapper_start(snapper_t *s, uint64_t deadline_ms);

/* True from snapper_start until snapper_reap returns true. */
bool snapper_running(const snapper_t *s);

/* Moves the running snapshot's deadline (shutdown bounds it). */
void snapper_set_deadline(snapper_t *s, uint64_t deadline_ms);

/* The LSN through which the thread waits for the log to be durable, or 0
 * if it waits for nothing. */
uint64_t snapper_sync_wanted(snapper_t *s);

/* The loop made the log durable through the wanted LSN (ok) or cannot
 * (!ok: the snapshot is abandoned). */
void snapper_sync_answer(snapper_t *s, bool ok);

/* True if the thread has something for the loop: a sync wanted or its
 * result. */
bool snapper_attention(snapper_t *s);

/* If the thread has finished: joins it, fills *st, *res, *err and returns
 * true. Otherwise returns false at once. */
bool snapper_reap(snapper_t *s, persist_status_t *st, snaptake_result_t *res, persist_error_t *err);

/* CLOCK_MONOTONIC in ms. */
uint64_t snapper_now_ms(void);

#endif
