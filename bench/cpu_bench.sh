#!/usr/bin/env bash
# bench/cpu_bench.sh — what one request costs the server, fickled against
# redis-server under the same redis-benchmark load: CPU time, context
# switches and system calls per request, for SET and GET at pipeline 1 and
# 16, with durability off (fickled --fsync no vs Redis without persistence)
# and with an fsync per write (--fsync always vs appendfsync always).
#
# Throughput on a small shared machine mostly measures who got the cores;
# the cost per request does not depend on that much, and it is what decides
# how far a server goes on a bigger machine (fickled spreads it over its
# workers, Redis runs it on one thread). CPU time and context switches come
# from /proc/<pid>/task/*/schedstat and status (every process and thread of
# the server); system calls from a second run under `strace -c -f`, which
# slows the server, so those counts are per request of that slower run.
# Settings (environment): FICKLED, N=200000, WORKERS=2.
set -euo pipefail

FICKLED=${FICKLED:-./supervisor/fickled}
N=${N:-200000}
WORKERS=${WORKERS:-2}
. "$(dirname "$0")/lib.sh"

bench_require cpu_bench redis-server redis-benchmark redis-cli strace

bench_dirs cbench
srv_pid=
cleanup() {
  [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null
  rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

start_server() { # kind(fickle|redis) durability(no|always) port
  if [ "$1" = fickle ]; then
    rm -rf "$tmp/f" "${shm:?}"/*
    "$FICKLED" --port 0 --resp-port "$3" --workers "$WORKERS" --memory 1g --fsync "$2" --data-dir "$tmp/f" \
      --shm-dir "$shm" --log-file "$tmp/f.log" </dev/null >/dev/null 2>&1 &
  else
    local aof=no; [ "$2" = always ] && aof=yes
    rm -rf "$tmp/r" && mkdir -p "$tmp/r"
    redis-server --port "$3" --bind 127.0.0.1 --save '' --appendonly "$aof" --appendfsync always \
      --dir "$tmp/r" --logfile "$tmp/r.log" </dev/null >/dev/null 2>&1 &
  fi
  srv_pid=$!
  wait_ready "$3"
}

stop_server() {
  kill "$srv_pid" 2>/dev/null && wait "$srv_pid" 2>/dev/null || true
  srv_pid=
}

server_pids() { echo "$srv_pid" $(pgrep -P "$srv_pid" || true); }

cpu_ns() { # total on-CPU ns of every thread of the server's processes
  local t=0 p f
  for p in $(server_pids); do
    for f in /proc/"$p"/task/*/schedstat; do
      [ -r "$f" ] && t=$((t + $(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)))
    done
  done
  echo "$t"
}

ctx_switches() {
  local t=0 p
  for p in $(server_pids); do
    t=$((t + $(cat /proc/"$p"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}')))
  done
  echo "$t"
}

load() { # port test pipeline
  redis-benchmark -p "$1" -t "$2" -n "$N" -c 50 -P "$3" -r 100000 -d 32 -q >/dev/null 2>&1
}

# One measurement: prints "cpu_us_per_req ctx_per_req syscalls_per_req".
measure() { # kind durability test pipeline
  local port c0 x0 c1 x1 sc
  port=$(free_port)
  start_server "$1" "$2" "$port"
  load "$port" set 16 # warm: every key exists, tables grown
  c0=$(cpu_ns); x0=$(ctx_switches)
  load "$port" "$3" "$4"
  c1=$(cpu_ns); x1=$(ctx_switches)
  strace -c -f -o "$tmp/strace.txt" -p "$(server_pids | tr ' ' ',')" 2>/dev/null &
  local st=$!
  sleep 0.5
  load "$port" "$3" "$4"
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  sc=$(awk '$NF == "total" {print $4}' "$tmp/strace.txt")
  stop_server
  awk -v c=$((c1 - c0)) -v x=$((x1 - x0)) -v s="${sc:-0}" -v n="$N" \
    'BEGIN { printf "%.2f %.3f %.2f\n", c / 1000 / n, x / n, s / n }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "== server cost per request, redis-benchmark -c 50 -r 100000 -d 32 -n $N; fickled --workers $WORKERS"
echo "   (ratio = fickle/redis: below 1 means fickle spends less)"
printf '%-8s %-4s %-3s | %9s %9s %6s | %8s %8s %6s | %8s %8s %6s\n' durable test P \
  "fk cpu us" "rd cpu us" ratio "fk ctxsw" "rd ctxsw" ratio "fk sysc" "rd sysc" ratio
for durable in no always; do
  for t in set get; do
    [ "$durable" = always ] && [ "$t" = get ] && continue
    for p in 1 16; do
      read -r fc fx fs < <(measure fickle "$durable" "$t" "$p")
      read -r rc rx rs < <(measure redis "$durable" "$t" "$p")
      printf '%-8s %-4s %-3s | %9s %9s %6s | %8s %8s %6s | %8s %8s %6s\n' "$durable" "$t" "$p" \
        "$fc" "$rc" "$(ratio "$fc" "$rc")" "$fx" "$rx" "$(ratio "$fx" "$rx")" "$fs" "$rs" "$(ratio "$fs" "$rs")"
    done
  done
done
