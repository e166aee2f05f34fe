#!/usr/bin/env bash
# Redis's CPU per publish through the Redis transport: what one cluster costs its Redis, the
# part that does not scale out (one Redis thread serves every hub).
#   bench/redis_cost.sh [hub binary...]    (default build/release/mercure-hub)
# For each binary, in turn, on a fresh redis-server (AOF off) and stream: a hub with 2 workers,
# then bench_publish_load sends REQUESTS publishes (default 100000) over CONNECTIONS keep-alive
# connections (default 64); prints updates/s and redis-server's user+system CPU (from
# /proc/<pid>/stat) per publish. Compare binaries in one run: this machine's speed drifts.
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

printf '%-40s %12s %22s\n' binary updates/s redis_cpu_us_per_publish
[[ $# -gt 0 ]] || set -- build/release/mercure-hub
for hub in "$@"; do
  start_redis --appendonly no
  start_hub "redis-cost" "redis://127.0.0.1:$REDIS_PORT/0?stream=cost&size=0" --workers 2
  "$load" --port "$HUB_PORT" --token "$token" --connections "$connections" --requests 1000 >/dev/null
  before=$(cpu_ticks "$REDIS_PID")
  started=$(date +%s.%N)
  "$load" --port "$HUB_PORT" --token "$token" --connections "$connections" --requests "$requests" >/dev/null
  ended=$(date +%s.%N)
  after=$(cpu_ticks "$REDIS_PID")
  stop_hub
  stop_redis
  awk -v h="$hub" -v n="$requests" -v t0="$started" -v t1="$ended" -v c0="$before" -v c1="$after" -v hz="$ticks" \
    'BEGIN { printf "%-40s %12d %22.2f\n", h, n / (t1 - t0), (c1 - c0) / hz * 1e6 / n }'
done
