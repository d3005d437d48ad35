/*
 * logscan.h — reading the whole log directory in LSN order: what recovery
 * replays, what a starting persister resumes after, what `fickled --check`
 * verifies. One place decides what a torn tail or a corrupt record means.
 */
#ifndef FICKLE_PERSISTER_LOGSCAN_H
#define FICKLE_PERSISTER_LOGSCAN_H

#include <stdbool.h>
#include <stdint.h>

#include "persister/pio.h"
#include "store/record.h"

typedef enum {
    LOGSCAN_CHECK,    /* report only; change no file */
    LOGSCAN_RECOVER,  /* cut a torn tail off the newest segment (logged) */
    LOGSCAN_REPAIR,   /* also keep the longest valid prefix past corruption (--repair) */
} logscan_mode_t;

/* Called for each record with an LSN above after_lsn, in order; a non-zero
 * return stops the scan with PERSIST_INVALID and that code in *cb_rc. */
typedef int (*logscan_fn)(void *arg, const record_t *rec);

typedef struct {
    uint64_t first_lsn, last_lsn; /* of the records found (0 if none) */
    uint64_t records, segments;
    bool truncated;               /* a torn tail (or, REPAIR, corruption) was cut off */
    int cb_rc;
} logscan_result_t;

/* Scans <dir> (missing = empty log). PERSIST_OK, or PERSIST_CORRUPT /
 * PERSIST_TORN (a torn tail where it cannot be one: not in the newest
 * segment, or CHECK mode) / PERSIST_IO, with err naming the file and
 * offset. note (may be NULL) receives one-line notices (a truncation). */
persist_status_t logscan_run(const char *dir, logscan_mode_t mode, uint64_t after_lsn, logscan_fn fn, void *arg,
                             logscan_result_t *res, persist_error_t *err, void (*note)(const char *msg));

/* As logscan_run, but segments whose records are all at or below after_lsn
 * (the next segment starts at or below after_lsn + 1) are not read at all:
 * recovery's replay after a snapshot with start LSN after_lsn. */
persist_status_t logscan_replay(const char *dir, logscan_mode_t mode, uint64_t after_lsn, logscan_fn fn, void *arg,
                                logscan_result_t *res, persist_error_t *err, void (*note)(const char *msg));

/* The first LSN the log holds, from its oldest segment's name (0 for an
 * empty or missing log). PERSIST_OK or the listing's error. */
persist_status_t logscan_first_lsn(const char *dir, uint64_t *lsn, persist_error_t *err);

/* Retention: removes every segment whose records all have LSNs at or
 * below upto_lsn, judged by names alone: segment i goes if segment i + 1
 * exists and starts at or below upto_lsn + 1. The newest segment is never
 * removed, so the log always tells its last LSN. Fsyncs dir after
 * removing. *removed gets the count. PERSIST_OK, PERSIST_IO. */
persist_status_t logscan_prune(const char *dir, uint64_t upto_lsn, unsigned *removed, persist_error_t *err);

/* Bytes of records (headers excluded) in the segments not wholly at or
 * below after_lsn: about how much log a replay after after_lsn reads.
 * PERSIST_OK, PERSIST_IO. */
persist_status_t logscan_size_after(const char *dir, uint64_t after_lsn, uint64_t *bytes, persist_error_t *err);

/* Where a starting persister continues: the last LSN of the log, reading
 * only its newest segments (back to the newest holding a record), with a
 * torn tail of the newest cut off. Older segments are not read: a
 * persister restart costs one segment, not the whole log, and damage
 * there is for recovery and `fickled --check` to find. */
persist_status_t logscan_tail(const char *dir, logscan_result_t *res, persist_error_t *err,
                              void (*note)(const char *msg));

/* The last LSN of the log, reading only its newest segments: the newest
 * one holding a record (a torn tail is ignored, not cut). 0 for an empty
 * or missing log. PERSIST_OK, or the reader's error. */
persist_status_t logscan_newest_lsn(const char *dir, uint64_t *lsn, persist_error_t *err);

/* After a failed fsync (the "fsyncgate" rule: a file whose fsync failed
 * is never trusted again): cuts the newest segment before its first record
 * with an LSN above upto_lsn, and fsyncs the cut. Only the newest segment
 * can hold records that were not fsynced (the writer fsyncs a segment
 * before it starts the next). The bytes of the cut records with an LSN
 * below save_below are first read back and appended to saved (may be NULL)
 * for the caller to write again. *cut_lsn gets the last LSN the log keeps
 * (upto_lsn, or the LSN before the newest segment's first if the whole
 * segment was cut), *cut the number of records removed. PERSIST_OK or the
 * reader's / truncation's error. */
persist_status_t logscan_cut_after(const char *dir, uint64_t upto_lsn, uint64_t save_below, record_buf_t *saved,
                                   uint64_t *cut_lsn, uint64_t *cut, persist_error_t *err);

#endif
