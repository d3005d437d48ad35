# bench/lib.sh — shell helpers the server benchmarks share (sourced).

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
