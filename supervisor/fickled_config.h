/*
 * fickled_config.h — fickled's settings: defaults, command line (getopt_long) and
 * config file ("name value" lines, the same names as the long options).
 * The command line wins over the file.
 */
#ifndef FICKLE_SUPERVISOR_FICKLED_CONFIG_H
#define FICKLE_SUPERVISOR_FICKLED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { FSYNC_ALWAYS, FSYNC_EVERYSEC, FSYNC_NO } fsync_policy_t;

typedef struct {
    char bind[256];
    uint16_t port;          /* native protocol; 0 = off */
    uint16_t resp_port;     /* RESP; 0 = off */
    uint16_t metrics_port;  /* HTTP /metrics and /health; 0 = off */
    char metrics_bind[256];
    char unixsocket[108];   /* native protocol on a unix socket; "" = off */
    uint32_t unixsocketperm;
    unsigned workers;
    char data_dir[4096];
    char shm_dir[4096];     /* where the region file lives */
    uint64_t memory;        /* region bytes */
    uint64_t max_value_size;
    uint64_t max_output;    /* bytes of replies queued for one client */
    uint64_t ring_size;     /* change ring bytes; 0 = sized from memory and max value */
    uint64_t segment_size;  /* log segment rollover */
    uint64_t snapshot_log_size; /* snapshot after this much log; 0 = only SAVE/BGSAVE */
    fsync_policy_t fsync;
    char requirepass[256];
    uint32_t maxclients;
    bool protected_mode;    /* no password: refuse non-loopback peers */
    uint32_t timeout_s;
    int log_level;
    char log_file[4096];
    char pidfile[4096];
    char config_file[4096];
    bool daemonize;
    bool check_only;        /* --check: verify the region and the log, then exit */
    bool repair;            /* --repair: keep the longest valid prefix of a damaged log */
    unsigned shutdown_grace_ms;
} config_t;

/* Result of config_parse. */
typedef enum {
    CONFIG_RUN = 0, /* start the server */
    CONFIG_EXIT_OK, /* --help or --version printed: exit 0 */
    CONFIG_ERROR,   /* err holds a one-line message: exit 2 */
} config_result_t;

void config_defaults(config_t *cfg);

/* Applies the defaults, then --config FILE if given, then the rest of the
 * command line. */
config_result_t config_parse(config_t *cfg, int argc, char **argv, char *err, size_t errlen);

/* Sets one option by its long name from text (config file, tests).
 * Returns 0, or -1 with a message naming the option in err. */
int config_set(config_t *cfg, const char *name, const char *value, char *err, size_t errlen);

/* Reads a config file. Returns 0 or -1 with "FILE:LINE: reason" in err. */
int config_load_file(config_t *cfg, const char *path, char *err, size_t errlen);

const char *config_fsync_name(fsync_policy_t p);

/* Prints the usage text. */
void config_usage(const char *prog);

#endif
