#!/usr/bin/env bash
# Issue 3, acceptance 4: durable publish throughput and POST latency with 1, 16 and 256
# concurrent keep-alive publishers, group commit (the default) against one fsync per update
# (max_batch=1), in the same run, each on a fresh LMDB store.
#   bench/durable_publish.sh [path/to/mercure-hub] [seconds per point]
# The hub (2 workers + its writer thread) and the generator share this machine's 2 cores; set
# PIN=1 to pin the hub to core 0 (1 worker) and the generator to core 1. MODES and PUBLISHERS
# choose the points (e.g. MODES=group-commit PUBLISHERS=256: acceptance 4 alone); the mode
# `local` (no history, nothing written) is the ceiling of the same HTTP path on this machine;
# `redis` publishes through the Redis transport to a redis-server started here with appendonly
# and appendfsync always (durable like group commit; Redis shares the 2 cores too), and
# `redis-memory` the same with Redis's AOF off (acknowledged = in Redis's memory).
set -euo pipefail
cd "$(dirname "$0")/.."
hub=${1:-build/release/mercure-hub}
seconds=${2:-8}
load=${LOAD:-build/release/bench_publish_load}
source bench/lib.sh
workers=2
gen=()
if [[ ${PIN:-0} == 1 ]]; then
  HUB_TASKSET="taskset -c 0"
  workers=1
  gen=(taskset -c 1)
fi
token=$(publisher_token)

printf '%-22s %10s %12s %10s %10s %10s %8s %8s\n' mode publishers updates/s p50_us p99_us max_us ratio spread
declare -A baseline
for mode in ${MODES:-fsync-per-update group-commit}; do
  batch=4096
  [[ $mode == fsync-per-update ]] && batch=1
  for publishers in ${PUBLISHERS:-1 16 256}; do
    store="$BENCH_TMP/store-$mode-$publishers"
    url="lmdb://$store?size=0&max_batch=$batch"
    [[ $mode == local ]] && url=local://
    if [[ $mode == redis || $mode == redis-memory ]]; then
      if [[ ${redis_mode:-} != "$mode" ]]; then
        stop_redis
        if [[ $mode == redis ]]; then start_redis --appendonly yes --appendfsync always; else start_redis --appendonly no; fi
        redis_mode=$mode
      fi
      url="redis://127.0.0.1:$REDIS_PORT/0?stream=bench-$publishers&size=0"
    fi
    start_hub "$mode-$publishers" "$url" --workers "$workers"
    out=$("${gen[@]}" "$load" --port "$HUB_PORT" --token "$token" --connections "$publishers" \
      --warmup 2 --duration "$seconds" --ids "$mode-$publishers-" --json)
    stop_hub
    rate=$(grep -o '"updates_per_s":[0-9]*' <<<"$out" | cut -d: -f2)
    p50=$(grep -o '"p50_us":[0-9]*' <<<"$out" | cut -d: -f2)
    p99=$(grep -o '"p99_us":[0-9]*' <<<"$out" | cut -d: -f2)
    max=$(grep -o '"max_us":[0-9]*' <<<"$out" | cut -d: -f2)
    errors=$(grep -o '"errors":[0-9]*' <<<"$out" | cut -d: -f2)
    # The slowest connection's mean latency over the fastest's (1.00: served evenly).
    spread=$(awk -v a="$(grep -o '"conn_mean_max_us":[0-9]*' <<<"$out" | cut -d: -f2)" \
      -v b="$(grep -o '"conn_mean_min_us":[0-9]*' <<<"$out" | cut -d: -f2)" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
    if [[ $errors != 0 ]]; then
      echo "errors during $mode/$publishers: $out" >&2
      exit 1
    fi
    ratio=1.00
    if [[ $mode == local || $mode == redis* ]]; then
      ratio=-
    elif [[ $mode == fsync-per-update ]]; then
      baseline[$publishers]=$rate
    else
      ratio=$(awk -v a="$rate" -v b="${baseline[$publishers]:-0}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }')
    fi
    printf '%-22s %10s %12s %10s %10s %10s %8s %8s\n' "$mode" "$publishers" "$rate" "$p50" "$p99" "$max" "$ratio" "$spread"
  done
done
echo "(ratio: group commit updates/s over one fsync per update, same publishers; spread: the slowest connection's mean POST latency over the fastest's; local: no history, the HTTP path alone; redis: the cluster transport; workers=$workers, pinned=${PIN:-0})"
