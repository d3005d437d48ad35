# bench/lib.sh — shell helpers the server benchmarks share (sourced).

bench_require() { # script-name prog...: exits unless each prog is on PATH and $FICKLED runs
  local name=$1 prog
  shift
  for prog; do
    command -v "$prog" >/dev/null ||
      { echo "$name: $prog not found (Debian: apt-get install redis-server redis-tools strace)" >&2; exit 1; }
  done
  [ -x "$FICKLED" ] || { echo "$name: no fickled at $FICKLED (set FICKLED=...)" >&2; exit 1; }
}

bench_dirs() { # tag: sets tmp (a new directory under /tmp) and shm (its twin under /dev/shm)
  tmp=$(mktemp -d "/tmp/fickle-$1-XXXXXX")
  shm=/dev/shm/$(basename "$tmp")
  mkdir -p "$shm"
}

free_port() { # prints a TCP port nothing listens on
  # Below the ephemeral range (32768.. by default): a port a client socket
  # of redis-benchmark holds cannot be bound by a server, even if nothing
  # listens on it.
  local port low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  while :; do
    port=$((10000 + RANDOM % (low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

wait_ready() { # port: waits until PING answers PONG (5 s)
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "bench: nothing answers on port $1" >&2
  return 1
}

now_ms() { date +%s%3N; }
