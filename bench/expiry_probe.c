/*
 * expiry_probe.c — the client side of bench/expiry_bench.sh: while a
 * server's keys expire, measures the round trips of a client doing
 * SET/GET one at a time, and the time until DBSIZE says they are gone.
 *
 *   expiry_probe PORT AT_MS LIVE_KEYS
 *
 * Waits until one second before AT_MS (wall clock, ms), measures a
 * baseline second of SET/GET round trips, then from AT_MS on measures
 * them again while polling DBSIZE (every 10 ms, on a second connection,
 * not measured) until it is LIVE_KEYS. Prints one line:
 *   base_p99_us=.. base_max_us=.. p99_us=.. max_us=.. ops=.. drain_ms=..
 * drain_ms counts from AT_MS (the start of the second in which the keys
 * expire). Exits 1 if the server stops answering or DBSIZE does not
 * get there within 300 s.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/harness.h"

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

typedef struct {
    uint32_t *us;
    size_t n, cap;
} samples_t;

static void add(samples_t *s, uint64_t us)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 65536;
        s->us = realloc(s->us, s->cap * sizeof(*s->us));
        if (s->us == NULL) {
            perror("expiry_probe: realloc");
            exit(1);
        }
    }
    s->us[s->n++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts s; p in [0, 1]. */
static uint32_t pct(samples_t *s, double p)
{
    if (s->n == 0)
        return 0;
    qsort(s->us, s->n, sizeof(*s->us), cmp_u32);
    size_t i = (size_t)(p * (double)(s->n - 1));
    return s->us[i];
}

/* One SET and one GET, each timed as its own round trip. */
static void round_trips(fk_conn_t *c, samples_t *s, uint64_t n)
{
    char line[64];
    snprintf(line, sizeof(line), "SET probe:%llu v", (unsigned long long)(n % 16));
    for (int i = 0; i < 2; i++) {
        uint64_t t = clock_us(CLOCK_MONOTONIC);
        rv_t *r = fk_cmd(c, i == 0 ? line : "GET probe:0");
        if (r == NULL || r->type == RV_ERROR) {
            fprintf(stderr, "expiry_probe: %s failed\n", i == 0 ? "SET" : "GET");
            exit(1);
        }
        rv_free(r);
        add(s, clock_us(CLOCK_MONOTONIC) - t);
    }
}

static int64_t dbsize(fk_conn_t *c)
{
    rv_t *r = fk_cmd(c, "DBSIZE");
    if (r == NULL || r->type != RV_INT) {
        fprintf(stderr, "expiry_probe: DBSIZE failed\n");
        exit(1);
    }
    int64_t n = r->i;
    rv_free(r);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: expiry_probe PORT AT_MS LIVE_KEYS\n");
        return 2;
    }
    uint16_t port = (uint16_t)atoi(argv[1]);
    uint64_t at_us = strtoull(argv[2], NULL, 10) * 1000;
    int64_t live = strtoll(argv[3], NULL, 10);
    fk_conn_t *c = fk_connect(port), *poll = fk_connect(port);
    if (c == NULL || poll == NULL) {
        fprintf(stderr, "expiry_probe: cannot connect to port %u\n", port);
        return 1;
    }
    live += 16; /* the probe's own keys */
    samples_t base = {0}, during = {0};
    uint64_t n = 0;
    while (clock_us(CLOCK_REALTIME) < at_us - 1000000) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    while (clock_us(CLOCK_REALTIME) < at_us)
        round_trips(c, &base, n++);
    uint64_t next_poll = 0, done_us = 0;
    for (;;) {
        uint64_t now = clock_us(CLOCK_REALTIME);
        if (now >= next_poll) {
            if (dbsize(poll) <= live) {
                done_us = now;
                break;
            }
            next_poll = now + 10000;
        }
        if (now > at_us + 300000000ull) {
            fprintf(stderr, "expiry_probe: DBSIZE still above %lld after 300 s\n", (long long)live);
            return 1;
        }
        round_trips(c, &during, n++);
    }
    size_t ops = during.n;
    printf("base_p99_us=%u base_max_us=%u p99_us=%u max_us=%u ops=%zu drain_ms=%llu\n", pct(&base, 0.99),
           pct(&base, 1.0), pct(&during, 0.99), pct(&during, 1.0), ops,
           (unsigned long long)((done_us - at_us) / 1000));
    fk_close(c);
    fk_close(poll);
    free(base.us);
    free(during.us);
    return 0;
}
