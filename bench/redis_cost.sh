#!/usr/bin/env bash
# Redis's CPU per publish through the Redis transport: what one cluster costs its Redis, the
# part that does not scale out (one Redis thread serves every hub); and the hub's own.
#   bench/redis_cost.sh [hub binary...]    (default build/release/mercure-hub)
# For each binary, in turn, and each scheme of SCHEMES (default "redis"; "redis rediss" also
# measures TLS to Redis, with a throwaway CA), on a fresh redis-server (AOF off) and stream: a
# hub with 2 workers, then bench_publish_load sends REQUESTS publishes (default 100000) over
# CONNECTIONS keep-alive connections (default 64); prints updates/s and the user+system CPU
# (from /proc/<pid>/stat) per publish of redis-server and of the hub. Compare binaries in one
# run: this machine's speed drifts.
set -euo pipefail
cd "$(dirname "$0")/.."
load=${LOAD:-build/release/bench_publish_load}
requests=${REQUESTS:-100000}
connections=${CONNECTIONS:-64}
source bench/lib.sh
hub=build/release/mercure-hub
token=$(publisher_token)
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

schemes=${SCHEMES:-redis}
certs=
if [[ " $schemes " == *" rediss "* ]]; then
  certs="$BENCH_TMP/certs"
  mkdir -p "$certs"
  (
    cd "$certs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem -out ca.pem -days 2 \
      -subj '/CN=bench redis CA' 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout key.pem -out server.csr \
      -subj '/CN=bench redis' 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext \
      -out cert.pem 2>/dev/null
  )
fi

printf '%-40s %-7s %12s %14s %12s\n' binary scheme updates/s redis_cpu_us hub_cpu_us
[[ $# -gt 0 ]] || set -- build/release/mercure-hub
for hub in "$@"; do
  for scheme in $schemes; do
    if [[ $scheme == rediss ]]; then
      tls_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      start_redis --appendonly no --tls-port "$tls_port" --tls-cert-file "$certs/cert.pem" \
        --tls-key-file "$certs/key.pem" --tls-ca-cert-file "$certs/ca.pem" --tls-auth-clients no
      url="rediss://127.0.0.1:$tls_port/0?stream=cost&size=0&tls_ca_file=$certs/ca.pem"
    else
      start_redis --appendonly no
      url="redis://127.0.0.1:$REDIS_PORT/0?stream=cost&size=0"
    fi
    start_hub "redis-cost" "$url" --workers 2
    "$load" --port "$HUB_PORT" --token "$token" --connections "$connections" --requests 1000 >/dev/null
    before=$(cpu_ticks "$REDIS_PID")
    hub_before=$(cpu_ticks "$HUB_PID")
    started=$(date +%s.%N)
    "$load" --port "$HUB_PORT" --token "$token" --connections "$connections" --requests "$requests" >/dev/null
    ended=$(date +%s.%N)
    after=$(cpu_ticks "$REDIS_PID")
    hub_after=$(cpu_ticks "$HUB_PID")
    stop_hub
    stop_redis
    awk -v h="$hub" -v s="$scheme" -v n="$requests" -v t0="$started" -v t1="$ended" -v c0="$before" -v c1="$after" \
      -v d0="$hub_before" -v d1="$hub_after" -v hz="$ticks" \
      'BEGIN { printf "%-40s %-7s %12d %14.2f %12.2f\n", h, s, n / (t1 - t0), (c1 - c0) / hz * 1e6 / n, (d1 - d0) / hz * 1e6 / n }'
  done
done
