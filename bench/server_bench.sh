#!/usr/bin/env bash
# bench/server_bench.sh — fickled against redis-server, requests/s and
# p50/p99 latency, in one run (make bench-server).
#
# Starts redis-server (--save '' --appendonly no: no persistence),
# fickled --workers 1 and fickled --workers 2 (both --fsync no: each write
# still goes through the change ring to the log, but nothing is fsynced)
# on free ports, preloads the same KEYSPACE keys (key:000000000000 ...,
# VALUE_SIZE-byte values) into each, then, for each pipeline depth and
# keyspace, runs in interleaved rounds:
#   - redis-benchmark (RESP) against redis, fickle-w1 and fickle-w2;
#   - bench/native_bench (fickle's native protocol over libfickle) against
#     the native ports of fickle-w1 and fickle-w2, with the same clients,
#     pipeline, keyspace, value size and request count.
# Each round runs the five in one order and the next round in the reverse
# order, so drift on the machine hits all alike. It prints the median
# requests/s, p50 and p99 of the rounds and each one's ratio to redis.
# Run it as `make bench-server` (it builds and uses fickled and
# native_bench), or:
#   FICKLED=build/supervisor/fickled NATIVE_BENCH=build/bench/native_bench bench/server_bench.sh
# Settings (environment): N=200000 (requests per test at pipeline 1)
# N_PIPELINED=1000000 (per test at pipeline > 1) CLIENTS=50 ROUNDS=3
# BENCH_TESTS=set,get KEYSPACES="1000000" PIPELINES="1 16" VALUE_SIZE=3
# THREADS=1 (client threads, both generators). KEYSPACES="1 1000000" adds
# the one-hot-key case.
#
# Caveats. The client runs on the same machine and competes with the
# servers for its cores; on a 2-core box a 2-worker fickled shares them
# with the client, so absolute figures understate every server and the
# ratios say more than the numbers. fickled --fsync no still writes every
# change to its log (page cache) while this Redis persists nothing. The
# native rows compare a different protocol and a different client
# (native_bench, which checks every reply) with redis-benchmark on RESP:
# they show what fickle's own protocol costs, not a like-for-like
# protocol comparison. Latency: redis-benchmark stamps a batch from its
# write to the first read of the reply and records that for every request
# of the batch; the p50/p99 columns use that definition for every row
# (native_bench's "batch" figures), and the native rows also give
# native_bench's stricter per-request percentiles (to each request's own
# reply).
set -euo pipefail

FICKLED=${FICKLED:-./supervisor/fickled}
NATIVE_BENCH=${NATIVE_BENCH:-./bench/native_bench}
N=${N:-200000}
N_PIPELINED=${N_PIPELINED:-1000000}
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}
BENCH_TESTS=${BENCH_TESTS:-set,get}
KEYSPACES=${KEYSPACES:-1000000}
PIPELINES=${PIPELINES:-1 16}
VALUE_SIZE=${VALUE_SIZE:-3}
THREADS=${THREADS:-1}

. "$(dirname "$0")/lib.sh"
bench_require server_bench redis-server redis-benchmark redis-cli
[ -x "$NATIVE_BENCH" ] || { echo "server_bench: no native_bench at $NATIVE_BENCH (make bench/native_bench; set NATIVE_BENCH=...)" >&2; exit 1; }

# native_bench runs the tests it knows (set, get); others are RESP-only.
native_tests=$(tr ',' '\n' <<<"$BENCH_TESTS" | { grep -ixE 'set|get' || true; } | paste -sd, -)

bench_dirs bench
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

# Each starts a server in this shell (so cleanup can stop it) on free ports.
declare -A port nport
start_fickled() { # name workers
  port[$1]=$(free_port)
  nport[$1]=$(free_port)
  "$FICKLED" --port "${nport[$1]}" --resp-port "${port[$1]}" --workers "$2" --memory 1g --fsync no \
    --data-dir "$tmp/$1" --shm-dir "$shm" --log-file "$tmp/$1.log" </dev/null >/dev/null 2>&1 &
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

# The same keys in every server, so GETs hit and SETs overwrite: the
# largest keyspace, in redis-benchmark -r's key form, values of 'x'.
keys=0
for ks in $KEYSPACES; do [ "$ks" -gt "$keys" ] && keys=$ks; done
awk -v n="$keys" -v d="$VALUE_SIZE" 'BEGIN { v = ""; for (j = 0; j < d; j++) v = v "x";
  for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012d\r\n$%d\r\n%s\r\n", i, d, v }' >"$tmp/load.resp"
for s in fickle-w1 fickle-w2 redis; do
  redis-cli -p "${port[$s]}" --pipe <"$tmp/load.resp" >/dev/null
  got=$(redis-cli -p "${port[$s]}" dbsize)
  [ "$got" = "$keys" ] || { echo "server_bench: $s holds $got keys after the preload, not $keys" >&2; exit 1; }
done
rm -f "$tmp/load.resp"

declare -A samples # "config|server|TEST|metric" -> "value value ..."
names=()          # test names in the generators' order ("SET", "GET")
configs=()
for p in $PIPELINES; do for ks in $KEYSPACES; do configs+=("P=$p r=$ks"); done; done
servers=(redis fickle-w1 fickle-w2)
[ -n "$native_tests" ] && servers+=(fickle-w1/native fickle-w2/native)

run() { # config server
  local p=${1%% *} ks=${1##*r=} n=$N s=$2 out=$tmp/run.csv
  p=${p#P=}
  [ "$p" -gt 1 ] && n=$N_PIPELINED
  local threads=(); [ "$THREADS" -gt 1 ] && threads=(--threads "$THREADS")
  if [[ $s == */native ]]; then
    "$NATIVE_BENCH" -p "${nport[${s%/native}]}" -c "$CLIENTS" -n "$n" -P "$p" -r "$ks" -d "$VALUE_SIZE" \
      -t "$native_tests" --threads "$THREADS" --no-preload --csv >"$out" 2>"$tmp/run.err" ||
      { cat "$tmp/run.err" >&2; echo "server_bench: native_bench failed against $s" >&2; exit 1; }
  else
    redis-benchmark -p "${port[$s]}" -n "$n" -c "$CLIENTS" -P "$p" -r "$ks" -d "$VALUE_SIZE" "${threads[@]}" \
      -t "$BENCH_TESTS" --csv >"$out" 2>"$tmp/run.err" ||
      { cat "$tmp/run.err" >&2; echo "server_bench: redis-benchmark failed against $s" >&2; exit 1; }
  fi
  # test,rps,avg,min,p50,p95,p99,max[,p50 batch,p99 batch (native_bench)]
  local test rps p50 p99 p50b p99b rows=0
  while IFS=, read -r test rps _ _ p50 _ p99 _ p50b p99b; do
    test=${test//\"/}
    [ "$test" = test ] && continue
    rps=${rps//\"/} p50=${p50//\"/} p99=${p99//\"/} p50b=${p50b//\"/} p99b=${p99b//\"/}
    [[ " ${names[*]/%/|} " == *" $test|"* ]] || names+=("$test")
    local k="$1|$s|$test"
    samples["$k|rps"]+="$rps "
    if [ -n "$p50b" ]; then # native_bench: batch figures as redis-benchmark's, per request aside
      samples["$k|p50"]+="$p50b " samples["$k|p99"]+="$p99b "
      samples["$k|p50each"]+="$p50 " samples["$k|p99each"]+="$p99 "
    else
      samples["$k|p50"]+="$p50 " samples["$k|p99"]+="$p99 "
    fi
    rows=$((rows + 1))
  done <"$out"
  [ "$rows" -gt 0 ] || { echo "server_bench: no results from $s" >&2; cat "$out" >&2; exit 1; }
}

median() { tr ' ' '\n' | { grep . || true; } | sort -g | awk '{v[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(now_ms)
echo "server_bench: N=$N N_PIPELINED=$N_PIPELINED clients=$CLIENTS threads=$THREADS rounds=$ROUNDS tests=$BENCH_TESTS" \
  "keyspaces=$KEYSPACES value=$VALUE_SIZE B on $(nproc) cores; $keys keys preloaded" >&2
for c in "${configs[@]}"; do
  for r in $(seq "$ROUNDS"); do
    # redis in the middle; the next round reversed
    order=(fickle-w1 redis fickle-w2)
    [ ${#servers[@]} -eq 5 ] && order=(fickle-w1 fickle-w2/native redis fickle-w1/native fickle-w2)
    if [ $((r % 2)) -eq 0 ]; then
      rev=(); for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done; order=("${rev[@]}")
    fi
    for s in "${order[@]}"; do
      echo "  $c round $r: $s" >&2
      run "$c" "$s"
    done
  done
done
# SET and GET of preloaded keys leave the key count alone (other tests add keys of their own).
if [ "$(tr ',' '\n' <<<"$BENCH_TESTS" | grep -c .)" = "$(tr ',' '\n' <<<"$native_tests" | grep -c .)" ]; then
  for s in fickle-w1 fickle-w2 redis; do
    got=$(redis-cli -p "${port[$s]}" dbsize)
    [ "$got" = "$keys" ] || { echo "server_bench: $s holds $got keys at the end, not $keys" >&2; exit 1; }
  done
fi

printf '\n%-14s %-5s %-17s %10s %8s %8s %9s %9s %9s %15s\n' config test server req/s p50-ms p99-ms \
  rps/redis p50/redis p99/redis "per-req p50/p99"
for c in "${configs[@]}"; do
  for t in "${names[@]}"; do
    rd_rps=$(echo "${samples["$c|redis|$t|rps"]:-}" | median)
    rd_p50=$(echo "${samples["$c|redis|$t|p50"]:-}" | median)
    rd_p99=$(echo "${samples["$c|redis|$t|p99"]:-}" | median)
    for s in "${servers[@]}"; do
      k="$c|$s|$t"
      rps=$(echo "${samples["$k|rps"]:-}" | median)
      [ -n "$rps" ] || continue
      p50=$(echo "${samples["$k|p50"]}" | median)
      p99=$(echo "${samples["$k|p99"]}" | median)
      e50= e99=
      if [[ $s == */native ]]; then
        e50=$(echo "${samples["$k|p50each"]}" | median) e99=$(echo "${samples["$k|p99each"]}" | median)
      fi
      awk -v c="$c" -v t="$t" -v s="$s" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v e50="$e50" -v e99="$e99" \
        -v rr="$rd_rps" -v r50="$rd_p50" -v r99="$rd_p99" 'BEGIN {
        each = e50 == "" ? "-" : sprintf("%.3f/%.3f", e50, e99)
        printf "%-14s %-5s %-17s %10.0f %8.3f %8.3f %9.2f %9.2f %9.2f %15s\n", c, t, s, rps, p50, p99,
          rr ? rps / rr : 0, r50 ? p50 / r50 : 0, r99 ? p99 / r99 : 0, each }'
    done
  done
done
echo
echo "medians of $ROUNDS interleaved rounds; latencies in ms, redis-benchmark's definition (batch sent -> first reply);"
echo "RESP rows: redis-benchmark -n <N> -c $CLIENTS -P <P> -r <r> -d $VALUE_SIZE -t $BENCH_TESTS; N=$N at P=1, $N_PIPELINED at P>1;"
echo "native rows: native_bench -c $CLIENTS -n <N> -P <P> -r <r> -d $VALUE_SIZE -t $native_tests --threads $THREADS --no-preload"
echo "  (every reply checked; per-req p50/p99: each request to its own reply); $keys keys preloaded in every server;"
echo "fickled --fsync no --memory 1g --workers 1|2; redis-server --save '' --appendonly no"
echo "load average before/after: $load_before / $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews results);" \
  "took $(( ($(now_ms) - t_start) / 1000 )) s"
echo "$(nproc) cores shared by client and servers; redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/');" \
  "redis-benchmark $(redis-benchmark --version | awk '{print $2}'); $("$FICKLED" --version 2>&1 | head -1)"
