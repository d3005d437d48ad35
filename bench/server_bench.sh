#!/usr/bin/env bash
# bench/server_bench.sh — fickled against redis-server under redis-benchmark.
#
# Starts fickled --workers 1, fickled --workers 2 and redis-server (--save ''
# --appendonly no) on free ports, runs the same redis-benchmark command line
# against each (pipeline 1 and 16, fixed key and -r random keys), rounds
# interleaved (fickle, redis, fickle; next round reversed) so drift hits
# all alike, and prints the median requests/s per test with fickle/redis
# ratios. Run it as `make bench-server` (it uses the built fickled), or:
#   FICKLED=build/supervisor/fickled bench/server_bench.sh
# Settings (environment): N=200000 CLIENTS=50 ROUNDS=3 BENCH_TESTS=set,get,incr,mset
# KEYSPACE=1000000 PIPELINES="1 16".
#
# Caveat: redis-benchmark runs on the same machine and competes with the
# server for its cores; on a 2-core box a 2-worker fickled shares them with
# the client, so absolute figures understate every server and the ratios
# say more than the numbers. fickled also logs every write (--fsync
# everysec, its default) while this Redis persists nothing.
set -euo pipefail

FICKLED=${FICKLED:-./supervisor/fickled}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}
BENCH_TESTS=${BENCH_TESTS:-set,get,incr,mset}
KEYSPACE=${KEYSPACE:-1000000}
PIPELINES=${PIPELINES:-1 16}

for prog in redis-server redis-benchmark redis-cli; do
  command -v "$prog" >/dev/null || { echo "server_bench: $prog not found (apt-get install redis-server redis-tools)" >&2; exit 1; }
done
[ -x "$FICKLED" ] || { echo "server_bench: no fickled at $FICKLED (set FICKLED=...)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/fickle-bench-XXXXXX)
shm=/dev/shm/$(basename "$tmp")
mkdir -p "$shm"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

. "$(dirname "$0")/lib.sh"

# Each starts a server in this shell (so cleanup can stop it) on a free port.
declare -A port
start_fickled() { # name workers
  port[$1]=$(free_port)
  "$FICKLED" --port 0 --resp-port "${port[$1]}" --workers "$2" --memory 1g --data-dir "$tmp/$1" \
    --shm-dir "$shm" --log-file "$tmp/$1.log" </dev/null >/dev/null 2>&1 &
  pids+=($!)
}

start_redis() {
  port[redis]=$(free_port)
  redis-server --port "${port[redis]}" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
    --logfile "$tmp/redis.log" </dev/null >/dev/null 2>&1 &
  pids+=($!)
}

start_fickled fickle-w1 1
start_fickled fickle-w2 2
start_redis
for s in fickle-w1 fickle-w2 redis; do wait_ready "${port[$s]}"; done

declare -A samples # "config|server|TEST" -> "rps rps ..."
names=()          # test names in redis-benchmark's order ("MSET (10 keys)")
configs=()
for p in $PIPELINES; do configs+=("P=$p" "P=$p -r"); done

run() { # config server
  local p=${1%% *}; p=${p#P=}
  local extra=(); [[ $1 == *-r ]] && extra=(-r "$KEYSPACE")
  local test rps
  while IFS=, read -r test rps _; do
    test=${test//\"/}; rps=${rps//\"/}
    [ "$test" = test ] && continue
    [[ " ${names[*]/%/|} " == *" $test|"* ]] || names+=("$test")
    samples["$1|$2|$test"]+="$rps "
  done < <(redis-benchmark -p "${port[$2]}" -n "$N" -c "$CLIENTS" -P "$p" "${extra[@]}" -t "$BENCH_TESTS" --csv 2>/dev/null)
}

median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{v[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "server_bench: N=$N clients=$CLIENTS rounds=$ROUNDS tests=$BENCH_TESTS keyspace(-r)=$KEYSPACE on $(nproc) cores" >&2
for c in "${configs[@]}"; do
  for s in fickle-w1 fickle-w2 redis; do redis-cli -p "${port[$s]}" flushall >/dev/null; done
  for r in $(seq "$ROUNDS"); do
    order=(fickle-w1 redis fickle-w2)
    [ $((r % 2)) -eq 0 ] && order=(fickle-w2 redis fickle-w1)
    for s in "${order[@]}"; do
      echo "  $c round $r: $s" >&2
      run "$c" "$s"
    done
  done
done

printf '\n%-12s %-16s %12s %12s %12s %9s %9s\n' config test fickle-w1 fickle-w2 redis w1/redis w2/redis
for c in "${configs[@]}"; do
  for t in "${names[@]}"; do
    f1=$(echo "${samples["$c|fickle-w1|$t"]:-}" | median)
    f2=$(echo "${samples["$c|fickle-w2|$t"]:-}" | median)
    rd=$(echo "${samples["$c|redis|$t"]:-}" | median)
    awk -v c="$c" -v t="$t" -v f1="$f1" -v f2="$f2" -v rd="$rd" 'BEGIN {
      printf "%-12s %-16s %12.0f %12.0f %12.0f %9.2f %9.2f\n", c, t, f1, f2, rd, rd ? f1 / rd : 0, rd ? f2 / rd : 0 }'
  done
done
echo
echo "median requests/s of $ROUNDS interleaved runs; redis-benchmark -n $N -c $CLIENTS -P <P> [-r $KEYSPACE] -t $BENCH_TESTS;"
echo "load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews results)"
echo "$(nproc) cores shared by client and servers; redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'); $("$FICKLED" --version 2>&1 | head -1)"
