/*
 * fickled_config.c — option table, value parsers, command line and config file.
 *
 * One table describes every option: getopt_long's table is built from it,
 * and the config file reader looks names up in it, so the two can never
 * disagree about what an option is called or how its value is read.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/log.h"
#include "store/store.h"
#include "supervisor/fickled_config.h"

typedef enum { T_STR, T_PORT, T_UINT, T_SIZE, T_BOOL, T_FSYNC, T_LEVEL, T_OCTAL, T_FLAG } opt_type_t;

typedef struct {
    const char *name;
    opt_type_t type;
    size_t off;    /* field in config_t */
    size_t size;   /* T_STR: buffer size */
    uint64_t min, max;
    const char *help;
} opt_t;

#define F(field) offsetof(config_t, field), sizeof(((config_t *)0)->field)

static const opt_t opts[] = {
    {"bind", T_STR, F(bind), 0, 0, "address to listen on (default 127.0.0.1)"},
    {"port", T_PORT, F(port), 0, 65535, "native protocol TCP port, 0 = off (default 7070)"},
    {"resp-port", T_PORT, F(resp_port), 0, 65535, "RESP (Redis protocol) port, 0 = off (default 6380)"},
    {"metrics-port", T_PORT, F(metrics_port), 0, 65535,
     "HTTP port of /metrics (Prometheus) and /health, 0 = off (default 0)"},
    {"metrics-bind", T_STR, F(metrics_bind), 0, 0, "address of the metrics port (default 127.0.0.1; no auth)"},
    {"unixsocket", T_STR, F(unixsocket), 0, 0, "also serve the native protocol on this unix socket"},
    {"unixsocketperm", T_OCTAL, F(unixsocketperm), 0, 0777, "permissions of the unix socket (default 700)"},
    {"workers", T_UINT, F(workers), 1, 256, "worker processes (default: online CPUs)"},
    {"data-dir", T_STR, F(data_dir), 0, 0, "data directory (default ./fickle-data)"},
    {"shm-dir", T_STR, F(shm_dir), 0, 0, "directory of the shared region file (default /dev/shm)"},
    {"memory", T_SIZE, F(memory), STORE_MIN_REGION, STORE_MAX_REGION, "region size, e.g. 256m, 2g (default 256m)"},
    {"max-value-size", T_SIZE, F(max_value_size), 1, STORE_MAX_VALUE_LIMIT, "largest value (default 16m)"},
    {"max-output", T_SIZE, F(max_output), 0, UINT64_MAX, "replies queued for one client before it is closed (default 64m, 0 = no limit)"},
    {"fsync", T_FSYNC, F(fsync), 0, 0, "always | everysec | no (default everysec)"},
    {"ring-size", T_SIZE, F(ring_size), 0, STORE_MAX_REGION / 2, "change ring in the region (default: an eighth of --memory, enough for the largest value)"},
    {"log-segment-size", T_SIZE, F(segment_size), 1u << 20, 1ull << 40, "roll log segments over at this size (default 64m)"},
    {"snapshot-log-size", T_SIZE, F(snapshot_log_size), 0, 1ull << 50, "take a snapshot once this much log was written since the last one, 0 = only on SAVE/BGSAVE (default 256m)"},
    {"requirepass", T_STR, F(requirepass), 0, 0, "password clients must AUTH with"},
    {"protected-mode", T_BOOL, F(protected_mode), 0, 0,
     "yes | no: without --requirepass, refuse clients not on loopback (default yes)"},
    {"maxclients", T_UINT, F(maxclients), 0, 1000000, "most connected clients, 0 = no limit (default 10000)"},
    {"timeout", T_UINT, F(timeout_s), 0, 100000000, "close clients idle this many seconds, 0 = never (default 0)"},
    {"log-level", T_LEVEL, F(log_level), 0, 0, "debug | verbose | notice | warning (default notice)"},
    {"log-file", T_STR, F(log_file), 0, 0, "log file (default: standard error)"},
    {"pidfile", T_STR, F(pidfile), 0, 0, "write the supervisor's pid here"},
    {"daemonize", T_BOOL, F(daemonize), 0, 0, "yes | no: detach from the terminal (default no)"},
    {"shutdown-grace", T_UINT, F(shutdown_grace_ms), 0, 600000, "ms clients get to finish at shutdown (default 5000)"},
    {"check", T_FLAG, F(check_only), 0, 0, "verify the region and the log, then exit"},
    {"repair", T_FLAG, F(repair), 0, 0, "recover from a damaged log by keeping its longest valid prefix"},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

void config_defaults(config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->bind, sizeof(cfg->bind), "127.0.0.1");
    snprintf(cfg->metrics_bind, sizeof(cfg->metrics_bind), "127.0.0.1");
    cfg->port = 7070;
    cfg->resp_port = 6380;
    cfg->unixsocketperm = 0700;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->workers = n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "./fickle-data");
    snprintf(cfg->shm_dir, sizeof(cfg->shm_dir), "/dev/shm");
    cfg->memory = 256ull << 20;
    cfg->max_value_size = STORE_DEFAULT_MAX_VALUE;
    cfg->max_output = 64ull << 20;
    cfg->segment_size = 64ull << 20;
    cfg->snapshot_log_size = 256ull << 20;
    cfg->fsync = FSYNC_EVERYSEC;
    cfg->maxclients = 10000;
    cfg->protected_mode = true;
    cfg->log_level = LOG_NOTICE;
    cfg->shutdown_grace_ms = 5000;
}

const char *config_fsync_name(fsync_policy_t p)
{
    return p == FSYNC_ALWAYS ? "always" : p == FSYNC_NO ? "no" : "everysec";
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_uint(const char *v, uint64_t *out)
{
    char *end;
    if (*v < '0' || *v > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end)
        return -1;
    *out = n;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcmp(v, "1"))
        *out = true;
    else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcmp(v, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

/* Reads a number-like value into n and checks the option's bounds. */
static int numeric(const opt_t *o, const char *v, uint64_t *n, char *err, size_t errlen)
{
    int rc;
    const char *what = "a non-negative integer";
    if (o->type == T_SIZE) {
        rc = store_parse_size(v, n);
        what = "a size such as 4096, 64k, 256m or 2g";
    } else if (o->type == T_OCTAL) {
        char *end;
        errno = 0;
        *n = strtoull(v, &end, 8);
        rc = (errno || *end || !*v) ? -1 : 0;
        what = "an octal mode such as 700";
    } else {
        rc = parse_uint(v, n);
    }
    if (rc != 0)
        return fail(err, errlen, "--%s: '%s' is not %s", o->name, v, what);
    if (*n < o->min || *n > o->max)
        return fail(err, errlen, "--%s: %s is out of range (%llu..%llu)", o->name, v, (unsigned long long)o->min,
                    (unsigned long long)o->max);
    return 0;
}

static int apply(config_t *cfg, const opt_t *o, const char *v, char *err, size_t errlen)
{
    char *field = (char *)cfg + o->off;
    uint64_t n = 0;
    bool b;
    switch (o->type) {
    case T_STR:
        if (strlen(v) >= o->size)
            return fail(err, errlen, "--%s: value is too long (at most %zu bytes)", o->name, o->size - 1);
        memcpy(field, v, strlen(v) + 1);
        return 0;
    case T_BOOL:
    case T_FLAG:
        if (parse_bool(v, &b) != 0)
            return fail(err, errlen, "--%s: '%s' is not yes or no", o->name, v);
        *(bool *)field = b;
        return 0;
    case T_FSYNC:
        if (!strcmp(v, "always"))
            *(fsync_policy_t *)field = FSYNC_ALWAYS;
        else if (!strcmp(v, "everysec"))
            *(fsync_policy_t *)field = FSYNC_EVERYSEC;
        else if (!strcmp(v, "no"))
            *(fsync_policy_t *)field = FSYNC_NO;
        else
            return fail(err, errlen, "--fsync: '%s' is not always, everysec or no", v);
        return 0;
    case T_LEVEL:
        if ((*(int *)field = log_level_parse(v)) < 0)
            return fail(err, errlen, "--log-level: '%s' is not debug, verbose, notice or warning", v);
        return 0;
    default:
        break;
    }
    if (numeric(o, v, &n, err, errlen) != 0)
        return -1;
    if (o->size == sizeof(uint16_t))
        *(uint16_t *)field = (uint16_t)n;
    else if (o->size == sizeof(uint32_t))
        *(uint32_t *)field = (uint32_t)n;
    else
        *(uint64_t *)field = n;
    return 0;
}

static const opt_t *find(const char *name)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (!strcmp(opts[i].name, name))
            return &opts[i];
    return NULL;
}

int config_set(config_t *cfg, const char *name, const char *value, char *err, size_t errlen)
{
    const opt_t *o = find(name);
    if (o == NULL)
        return fail(err, errlen, "unknown option '%s'", name);
    return apply(cfg, o, value, err, errlen);
}

/* Splits one config line into name and value. Returns 0 (blank or
 * comment: *name NULL), 1 (a setting) or -1 (malformed). Values may be
 * quoted with "..." to keep spaces or a leading '#'. */
static int split_line(char *line, char **name, char **value)
{
    *name = *value = NULL;
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    *name = p;
    p += strcspn(p, " \t");
    if (*p == '\0')
        return -1;
    *p++ = '\0';
    p += strspn(p, " \t");
    if (*p == '"') {
        char *close = strchr(p + 1, '"');
        if (close == NULL || close[1 + strspn(close + 1, " \t")] != '\0')
            return -1;
        *close = '\0';
        *value = p + 1;
        return 1;
    }
    char *end = p + strlen(p);
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        *--end = '\0';
    *value = p;
    return *p ? 1 : -1;
}

int config_load_file(config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail(err, errlen, "--config: cannot open %s: %s", path, strerror(errno));
    char *line = NULL, msg[512];
    size_t cap = 0;
    unsigned lineno = 0;
    int rc = 0;
    /* getline, not fgets into a fixed buffer: the rest of a longer line
     * would be read as a line of its own (a long comment's tail as a
     * setting). */
    while (rc == 0 && getline(&line, &cap, f) != -1) {
        lineno++;
        char *name, *value;
        int s = split_line(line, &name, &value);
        if (s < 0)
            rc = fail(err, errlen, "%s:%u: expected 'name value'", path, lineno);
        else if (s > 0 && (!strcmp(name, "config") || !strcmp(name, "help") || !strcmp(name, "version")))
            rc = fail(err, errlen, "%s:%u: '%s' cannot be set in a config file", path, lineno, name);
        else if (s > 0 && config_set(cfg, name, value, msg, sizeof(msg)) != 0)
            rc = fail(err, errlen, "%s:%u: %s", path, lineno, msg);
    }
    if (rc == 0 && !feof(f)) /* a read error, or no memory for a line */
        rc = fail(err, errlen, "--config: reading %s: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

void config_usage(const char *prog)
{
    printf("Usage: %s [options]\n\nfickle's server: an ordered in-memory key-value store.\n\nOptions:\n", prog);
    printf("  --%-18s %s\n", "config FILE", "read settings from FILE ('name value' lines; the command line wins)");
    for (size_t i = 0; i < NOPTS; i++) {
        char left[64];
        snprintf(left, sizeof(left), "%s%s", opts[i].name, opts[i].type == T_FLAG ? "" : " VALUE");
        printf("  --%-18s %s\n", left, opts[i].help);
    }
    printf("  --%-18s %s\n  --%-18s %s\n", "version", "print the version and exit", "help",
           "print this help and exit");
    printf("\nExit status: 0 after a clean stop, 1 on a run-time failure, 2 on a bad option.\n");
}

enum { OPT_CONFIG = 1000, OPT_HELP, OPT_VERSION };

static void build_longopts(struct option *lo)
{
    size_t i = 0;
    for (; i < NOPTS; i++)
        lo[i] = (struct option){opts[i].name, opts[i].type == T_FLAG ? no_argument : required_argument, NULL,
                                (int)i};
    lo[i++] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    lo[i++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    lo[i++] = (struct option){"version", no_argument, NULL, OPT_VERSION};
    lo[i] = (struct option){0};
}

/* One getopt_long pass. first: only --config/--help/--version are acted on;
 * otherwise every setting is applied. */
static config_result_t scan(config_t *cfg, int argc, char **argv, bool first, char *err, size_t errlen)
{
    struct option lo[NOPTS + 4];
    build_longopts(lo);
    optind = 0;
    opterr = 0;
    int c, idx;
    while ((c = getopt_long(argc, argv, "hv", lo, &idx)) != -1) {
        if (c == '?' || c == ':') {
            if (optopt && optopt < OPT_CONFIG && (size_t)optopt >= NOPTS)
                fail(err, errlen, "-%c: unknown option", optopt);
            else
                fail(err, errlen, "%s: unknown option or missing value", argv[optind - 1]);
            return CONFIG_ERROR;
        }
        if (c == 'h' || c == OPT_HELP) {
            config_usage(argv[0]);
            return CONFIG_EXIT_OK;
        }
        if (c == 'v' || c == OPT_VERSION) {
            printf("fickled %s\n", PACKAGE_VERSION);
            return CONFIG_EXIT_OK;
        }
        if (c == OPT_CONFIG) {
            if (first && config_load_file(cfg, optarg, err, errlen) != 0)
                return CONFIG_ERROR;
            if (first)
                snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", optarg);
            continue;
        }
        if (!first && apply(cfg, &opts[c], opts[c].type == T_FLAG ? "yes" : optarg, err, errlen) != 0)
            return CONFIG_ERROR;
    }
    if (optind < argc) {
        fail(err, errlen, "unexpected argument '%s'", argv[optind]);
        return CONFIG_ERROR;
    }
    return CONFIG_RUN;
}

config_result_t config_parse(config_t *cfg, int argc, char **argv, char *err, size_t errlen)
{
    config_defaults(cfg);
    config_result_t r = scan(cfg, argc, argv, true, err, errlen);
    if (r != CONFIG_RUN)
        return r;
    return scan(cfg, argc, argv, false, err, errlen);
}
