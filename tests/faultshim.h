/*
 * faultshim.h — the control block shared by the fault-injection shim
 * (tests/faultshim.c, LD_PRELOADed into fickled by tests only) and the
 * tests that drive it (tests/faultctl.c).
 *
 * The block is a small file the test creates and both sides map
 * MAP_SHARED; the shim maps it once, in its constructor, from the path in
 * FAULTSHIM_CTL, so every process fickled forks (workers, persister) and
 * every thread (the snapshot thread) sees the same rules and counters, and
 * the test can arm and clear faults while the server runs.
 *
 * A rule is published by storing active = 1 (release) after its fields
 * are written, and cleared by storing 0; a slot is never reused, so a
 * reader never sees a rule half-written.
 */
#ifndef FICKLE_TESTS_FAULTSHIM_H
#define FICKLE_TESTS_FAULTSHIM_H

#include <stdint.h>

#define FS_MAGIC 0x46534831u /* "FSH1" */
#define FS_MAX_RULES 32

/* Calls a rule applies to (a mask). */
enum {
    FS_WRITE = 1u << 0,     /* write */
    FS_PWRITE = 1u << 1,    /* pwrite, pwrite64 */
    FS_FSYNC = 1u << 2,     /* fsync */
    FS_RENAME = 1u << 3,    /* rename (matched on the source path) */
    FS_OPEN = 1u << 4,      /* open, openat, and their 64 / _2 variants */
    FS_FTRUNCATE = 1u << 5, /* ftruncate, ftruncate64 */
    FS_MMAP = 1u << 6,      /* mmap, mmap64 of a file (never anonymous ones) */
    FS_FDATASYNC = 1u << 7, /* fdatasync */
    FS_SYNC = FS_FSYNC | FS_FDATASYNC,
};

typedef enum {
    FS_FAIL = 0, /* return -1 with errno = err, doing nothing */
    FS_SHORT,    /* (write, pwrite) write only the first half, at least one byte */
} fs_action_t;

typedef struct {
    uint32_t active;  /* 1: armed; written last (release), read first (acquire) */
    uint32_t calls;   /* FS_* mask */
    int32_t err;      /* errno for FS_FAIL */
    uint32_t action;  /* fs_action_t */
    char proc[16];    /* only threads whose name (PR_GET_NAME) contains this ("": any):
                       * fickled names its processes fk-persister (the snapshot thread
                       * too), fk-worker-N and fk-metrics; the supervisor keeps "fickled" */
    char path[96];    /* only files whose path contains this ("": any) */
    uint64_t skip;    /* let this many matching calls through first */
    int64_t count;    /* then inject this many faults (-1: until cleared) */
    uint64_t seen;    /* matching calls so far (atomic) */
    uint64_t fired;   /* faults injected so far (atomic) */
} fs_rule_t;

typedef struct {
    uint32_t magic;
    uint32_t nrules; /* slots used (only grows) */
    fs_rule_t rules[FS_MAX_RULES];
} fs_ctl_t;

#endif
