#!/usr/bin/env bash
# bench/expiry_bench.sh — mass expiry, fickled against redis-server in one
# run (make bench-expiry).
#
# For each server in turn (alone on the machine): start it, load KEYS keys
# (key:000000000000 ..., 3-byte values) that all expire within the same
# second (PXAT spread over [AT, AT + 1000) ms), plus LIVE keys without an
# expiry, then run bench/expiry_probe: a client doing SET/GET round trips
# one at a time measures a baseline second before AT and the whole time
# from AT until DBSIZE shows only the live keys, which it polls every
# 10 ms. Nobody reads the expiring keys: the servers' active expiry
# removes them (Redis: hz 10, active-expire-effort 1, the defaults).
# Prints per server the probe's p99 and max round trip (baseline and
# during expiry) and the drain time, medians over ROUNDS, with fickle's
# ratios to Redis.
# Run it as `make bench-expiry`, or:
#   FICKLED=build/supervisor/fickled PROBE=build/bench/expiry_probe bench/expiry_bench.sh
# Settings (environment): KEYS=1000000 LIVE=1000 ROUNDS=1 WORKERS=2.
#
# Caveats: the client, the loader and the server share the machine's cores.
# fickled runs --fsync no but still logs every change (each sweep batch is
# a log record); this Redis persists nothing.
set -euo pipefail

FICKLED=${FICKLED:-./supervisor/fickled}
PROBE=${PROBE:-./bench/expiry_probe}
KEYS=${KEYS:-1000000}
LIVE=${LIVE:-1000}
ROUNDS=${ROUNDS:-1}
WORKERS=${WORKERS:-2}

. "$(dirname "$0")/lib.sh"
bench_require expiry_bench redis-server redis-cli
[ -x "$PROBE" ] || { echo "expiry_bench: no probe at $PROBE (make bench/expiry_probe)" >&2; exit 1; }

bench_dirs expbench
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

start() { # server: starts it on $port, pid in $pid
  port=$(free_port)
  if [ "$1" = redis ]; then
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
      --logfile "$tmp/redis.log" </dev/null >/dev/null 2>&1 &
  else
    rm -rf "$tmp/fickle" "$shm"/*
    "$FICKLED" --port 0 --resp-port "$port" --workers "$WORKERS" --memory 2g --fsync no \
      --data-dir "$tmp/fickle" --shm-dir "$shm" --log-file "$tmp/fickle.log" </dev/null >/dev/null 2>&1 &
  fi
  pid=$!
  wait_ready "$port"
}

stop() {
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  pid=
}

# Loads the keys; prints AT. The load takes a few seconds: AT is the start
# of a second far enough ahead, checked after the load.
load() {
  local t0 t1 lead at
  t0=$(now_ms)
  awk -v n="$LIVE" 'BEGIN { for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$9\r\nlive:%04d\r\n$1\r\nv\r\n", i }' \
    >"$tmp/live.resp"
  redis-cli -p "$port" --pipe <"$tmp/live.resp" >/dev/null
  lead=$(( ${LOAD_LEAD_MS:-25000} ))
  at=$(( (t0 + lead) / 1000 * 1000 ))
  awk -v n="$KEYS" -v at="$at" 'BEGIN { for (i = 0; i < n; i++) {
      t = sprintf("%.0f", at + i % 1000); # %d: mawk clamps to 32 bits
      printf "*5\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$3\r\nxxx\r\n$4\r\nPXAT\r\n$%d\r\n%s\r\n", i, length(t), t } }' \
    | redis-cli -p "$port" --pipe >/dev/null
  t1=$(now_ms)
  [ "$t1" -lt $((at - 1500)) ] || { echo "expiry_bench: the load took $((t1 - t0)) ms; raise LOAD_LEAD_MS" >&2; exit 1; }
  got=$(redis-cli -p "$port" dbsize)
  [ "$got" = $((KEYS + LIVE)) ] || { echo "expiry_bench: $got keys after the load, not $((KEYS + LIVE))" >&2; exit 1; }
  echo "$at"
}

declare -A results # server -> "line line ..."
for round in $(seq "$ROUNDS"); do
  for s in fickle redis; do
    start "$s"
    at=$(load)
    line=$("$PROBE" "$port" "$at" "$LIVE")
    echo "round $round $s: $line" >&2
    results[$s]+="$line"$'\n'
    stop
  done
done

median() { # field server
  sed -n "s/.*$1=\([0-9]*\).*/\1/p" <<<"${results[$2]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

printf '\n%s keys expiring within one second, %s live keys, %s round(s); fickled --workers %s\n' \
  "$KEYS" "$LIVE" "$ROUNDS" "$WORKERS"
printf '%-8s %12s %12s %12s %12s %12s\n' server base_p99_us base_max_us p99_us max_us drain_ms
for s in redis fickle; do
  printf '%-8s %12s %12s %12s %12s %12s\n' "$s" "$(median base_p99_us $s)" "$(median base_max_us $s)" \
    "$(median p99_us $s)" "$(median max_us $s)" "$(median drain_ms $s)"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-8s %12s %12s %12s %12s %12s\n' "f/r" \
  "$(ratio "$(median base_p99_us fickle)" "$(median base_p99_us redis)")" \
  "$(ratio "$(median base_max_us fickle)" "$(median base_max_us redis)")" \
  "$(ratio "$(median p99_us fickle)" "$(median p99_us redis)")" \
  "$(ratio "$(median max_us fickle)" "$(median max_us redis)")" \
  "$(ratio "$(median drain_ms fickle)" "$(median drain_ms redis)")"
