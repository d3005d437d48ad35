#!/usr/bin/env bash
# bench/persist_bench.sh — what durability costs, fickled against
# redis-server in the same run (make bench-persist):
#   1. SET throughput, fickled --fsync always against redis-server
#      --appendonly yes --appendfsync always, and everysec against everysec
#      (redis-benchmark, 50 clients, pipeline 1 and 16, random keys: nearly
#      all of them new, so nearly every SET is an insert), and the same
#      with --fsync always over OVERWRITE_KEYS existing keys (every SET an
#      overwrite: what an ordered index costs shows in the difference);
#      Then --fsync always again on an emulated slower disk: both servers
#      with bench/fsync_delay.so preloaded, each fsync taking
#      FSYNC_DELAYS microseconds longer (a real SSD flushes in 0.2-2 ms,
#      this machine's virtual disk in about 0.1 ms);
#   2. restart with KEYS keys of 32-byte values: fickled warm attach (the
#      region survived), fickled cold recovery (region gone: log replay),
#      and redis-server loading its RDB; time from start until DBSIZE
#      answers with every key.
# Settings (environment): FICKLED, N=20000 (requests per fsync-always
# run; everysec runs use 10x), KEYS=1000000, OVERWRITE_KEYS=100000,
# FSYNC_DELAYS="1000 2000" (empty: skip), FSYNC_DELAY_LIB (make
# bench-persist builds and passes bench/fsync_delay.so).
# Same caveat as server_bench.sh: client and servers share the machine.
set -euo pipefail

FICKLED=${FICKLED:-./supervisor/fickled}
N=${N:-20000}
KEYS=${KEYS:-1000000}
OVERWRITE_KEYS=${OVERWRITE_KEYS:-100000}
FSYNC_DELAYS=${FSYNC_DELAYS-1000 2000}
FSYNC_DELAY_LIB=${FSYNC_DELAY_LIB:-}
. "$(dirname "$0")/lib.sh"

bench_require persist_bench redis-server redis-benchmark redis-cli

bench_dirs pbench
declare -A pid port
cleanup() {
  for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

# The environment that makes fsync slower by $1 us (nothing for 0 or "").
delay_env() { [ -n "${1:-}" ] && [ "$1" != 0 ] && echo "LD_PRELOAD=$FSYNC_DELAY_LIB FSYNC_DELAY_US=$1"; true; }

start_fickle() { # name fsync [fsync delay us]
  port[$1]=${port[$1]:-$(free_port)}
  mkdir -p "$shm/$1"
  env $(delay_env "${3:-}") "$FICKLED" --port 0 --resp-port "${port[$1]}" --workers 2 --memory 1g --fsync "$2" --data-dir "$tmp/$1" \
    --shm-dir "$shm/$1" --log-file "$tmp/$1.log" </dev/null >/dev/null 2>&1 &
  pid[$1]=$!
}

start_redis() { # name appendonly appendfsync [fsync delay us]
  port[$1]=${port[$1]:-$(free_port)}
  mkdir -p "$tmp/$1"
  env $(delay_env "${4:-}") redis-server --port "${port[$1]}" --bind 127.0.0.1 --save '' --appendonly "$2" --appendfsync "$3" \
    --dir "$tmp/$1" --logfile "$tmp/$1.log" </dev/null >/dev/null 2>&1 &
  pid[$1]=$!
}

stop() { # name: SIGTERM and wait (graceful)
  kill "${pid[$1]}" && wait "${pid[$1]}" 2>/dev/null || true
  unset "pid[$1]"
}

set_rps() { # port pipeline requests [keyspace]
  redis-benchmark -p "$1" -t set -n "$3" -c 50 -P "$2" -r "${4:-1000000}" -d 32 --csv 2>/dev/null |
    awk -F'","' '/SET/ {gsub(/"/, "", $2); print int($2)}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# The keys redis-benchmark -r OVERWRITE_KEYS picks from (key:%012d).
awk -v n="$OVERWRITE_KEYS" 'BEGIN { v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"; for (i = 0; i < n; i++) {
  printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$32\r\n%s\r\n", i, v } }' >"$tmp/overwrite.resp"

echo "== SET throughput with durability (redis-benchmark -c 50 -r 1000000 -d 32)"
printf '%-10s %-3s %12s %12s %8s\n' fsync P fickle redis ratio
for mode in always everysec; do
  n=$N; [ "$mode" = everysec ] && n=$((N * 10))
  start_fickle "f-$mode" "$mode"; start_redis "r-$mode" yes "$mode"
  wait_ready "${port[f-$mode]}"; wait_ready "${port[r-$mode]}"
  for p in 1 16; do
    f=$(set_rps "${port[f-$mode]}" "$p" "$n"); r=$(set_rps "${port[r-$mode]}" "$p" "$n")
    printf '%-10s %-3s %12s %12s %8s\n' "$mode" "$p" "$f" "$r" "$(ratio "$f" "$r")"
  done
  if [ "$mode" = always ]; then # the same over keys that all exist: overwrites only
    for s in "f-$mode" "r-$mode"; do redis-cli -p "${port[$s]}" --pipe <"$tmp/overwrite.resp" >/dev/null; done
    for p in 1 16; do
      f=$(set_rps "${port[f-$mode]}" "$p" "$n" "$OVERWRITE_KEYS")
      r=$(set_rps "${port[r-$mode]}" "$p" "$n" "$OVERWRITE_KEYS")
      printf '%-10s %-3s %12s %12s %8s\n' "$mode/ow" "$p" "$f" "$r" "$(ratio "$f" "$r")"
    done
  fi
  stop "f-$mode"; stop "r-$mode"
done
echo "(always/ow: every SET overwrites one of $OVERWRITE_KEYS keys loaded first; the other rows insert new keys)"

if [ -n "$FSYNC_DELAYS" ]; then
  [ -f "$FSYNC_DELAY_LIB" ] || { echo "persist_bench: FSYNC_DELAY_LIB=$FSYNC_DELAY_LIB is no file (make bench/fsync_delay.so)" >&2; exit 1; }
  echo "== SET throughput, --fsync always, each fsync of both servers made slower (bench/fsync_delay.so)"
  printf '%-10s %-3s %12s %12s %8s\n' "+us/fsync" P fickle redis ratio
  for d in $FSYNC_DELAYS; do
    start_fickle "f-slow$d" always "$d"; start_redis "r-slow$d" yes always "$d"
    wait_ready "${port[f-slow$d]}"; wait_ready "${port[r-slow$d]}"
    for p in 1 16; do
      f=$(set_rps "${port[f-slow$d]}" "$p" "$N"); r=$(set_rps "${port[r-slow$d]}" "$p" "$N")
      printf '%-10s %-3s %12s %12s %8s\n' "$d" "$p" "$f" "$r" "$(ratio "$f" "$r")"
    done
    stop "f-slow$d"; stop "r-slow$d"
  done
fi

# KEYS SETs of 32-byte values in RESP, fed with redis-cli --pipe.
load_file=$tmp/load.resp
awk -v n="$KEYS" 'BEGIN { v = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv"; for (i = 0; i < n; i++) { k = "key:" i;
  printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$32\r\n%s\r\n", length(k), k, v } }' >"$load_file"

time_until_loaded() { # port -> ms from now until DBSIZE answers KEYS
  local t0 n
  t0=$(now_ms)
  while :; do
    n=$(redis-cli -p "$1" dbsize 2>/dev/null || true)
    [ "$n" = "$KEYS" ] && break
    [ $(( $(now_ms) - t0 )) -gt 600000 ] && { echo "persist_bench: port $1 never loaded ($n)" >&2; exit 1; }
    sleep 0.005
  done
  echo $(( $(now_ms) - t0 ))
}

echo "== restart with $KEYS keys (32-byte values): ms from start until every key answers"
start_fickle f-restart everysec; start_redis r-restart no everysec
wait_ready "${port[f-restart]}"; wait_ready "${port[r-restart]}"
redis-cli -p "${port[f-restart]}" --pipe <"$load_file" >/dev/null
redis-cli -p "${port[r-restart]}" --pipe <"$load_file" >/dev/null
redis-cli -p "${port[r-restart]}" save >/dev/null
stop f-restart; stop r-restart
start_fickle f-restart everysec; warm=$(time_until_loaded "${port[f-restart]}")
stop f-restart
rm -f "$shm"/f-restart/fickle-*        # the region is gone, as after a reboot
start_fickle f-restart everysec; cold=$(time_until_loaded "${port[f-restart]}")
stop f-restart
start_redis r-restart no everysec
rdb=$(time_until_loaded "${port[r-restart]}")
stop r-restart
printf '%-28s %8s ms\n' "fickle warm attach" "$warm" "fickle cold (snapshot + log)" "$cold" "redis RDB load" "$rdb"
printf 'warm/redis %s   cold/redis %s\n' "$(ratio "$warm" "$rdb")" "$(ratio "$cold" "$rdb")"
grep -h "recovered\|warm restart" "$tmp/f-restart.log" | tail -2

info_field() { # port section field
  redis-cli -p "$1" info "$2" | tr -d '\r' | awk -F: -v f="$3" '$1 == f { print $2 }'
}

# A snapshot (BGSAVE) of KEYS keys while redis-benchmark writes: its
# duration, the memory it costs, and the worst write latency meanwhile.
snapshot_under_load() { # name port kind
  local csv="$tmp/$1.snapcsv" saves
  redis-benchmark -p "$2" -t set -n $((N * 15)) -c 50 -r "$KEYS" -d 32 --csv >"$csv" 2>/dev/null &
  local bench=$!
  sleep 0.5
  if [ "$3" = fickle ]; then
    saves=$(info_field "$2" persistence rdb_saves)
    redis-cli -p "$2" bgsave >/dev/null
    while [ "$(info_field "$2" persistence rdb_saves)" = "$saves" ]; do sleep 0.01; done
    snap_ms=$(info_field "$2" persistence snapshot_last_duration_ms)
    snap_mem="no fork; persister private RSS $(awk '/RssAnon/ {print $2 $3}' /proc/"$(info_field "$2" persistence persister_pid)"/status 2>/dev/null || echo ?)"
  else
    redis-cli -p "$2" bgsave >/dev/null
    sleep 0.05
    while [ "$(info_field "$2" persistence rdb_bgsave_in_progress)" = 1 ]; do sleep 0.01; done
    snap_ms=$(( $(info_field "$2" persistence rdb_last_bgsave_time_sec) * 1000 ))
    snap_mem="$(info_field "$2" persistence rdb_last_cow_size) bytes copy-on-write"
  fi
  wait "$bench" || true
  max_ms=$(awk -F'","' '/SET/ {gsub(/"/, "", $8); print $8}' "$csv")
  printf '%-8s snapshot %8s ms   extra memory %s   max SET latency during it %s ms\n' "$3" "$snap_ms" "$snap_mem" "$max_ms"
}

echo "== snapshot of $KEYS keys under write load (redis-benchmark SET -c 50 -r $KEYS)"
start_fickle f-restart everysec; start_redis r-restart no everysec
time_until_loaded "${port[f-restart]}" >/dev/null; time_until_loaded "${port[r-restart]}" >/dev/null
snapshot_under_load f-restart "${port[f-restart]}" fickle
snapshot_under_load r-restart "${port[r-restart]}" redis
echo "(redis reports its BGSAVE time in whole seconds)"
