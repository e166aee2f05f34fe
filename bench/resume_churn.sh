#!/usr/bin/env bash
# A resume past subscription events: with SUBSCRIPTIONS on, every connect and disconnect stores
# a private event. For each hub binary in turn (a fresh LMDB store each): one update on the
# subscriber's topic, then ROUNDS rounds of 4,000 subscribers (bench_sse_load, each on its own
# topic) connecting and leaving, then one more update; measures 20 times the time from a request
# resuming after the first update to its first replayed event (the second), and prints how many
# events the history holds (mercure_history_events).
#   bench/resume_churn.sh [hub binary...]   (env: ROUNDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
bins=("$@")
((${#bins[@]})) || bins=(build/release/mercure-hub)
topic=https://example.com/bench/mine

for hub in "${bins[@]}"; do
  source bench/lib.sh
  token=$(publisher_token)
  SUBSCRIPTIONS=1 METRICS_ENABLED=1 start_hub churn "lmdb://$BENCH_TMP/store?size=0" --workers 1
  post() { curl -sf -o /dev/null -H "Authorization: Bearer $token" -d "topic=$1" -d "id=$2" -d "data=x" "http://127.0.0.1:$HUB_PORT/.well-known/mercure"; }
  post "$topic" resume-here
  for _ in $(seq 1 "${ROUNDS:-5}"); do
    build/release/bench_sse_load --port "$HUB_PORT" --token "$token" --subscribers 4000 --topics 4000 --rate 1 \
      --duration 1 --warmup 0 >/dev/null 2>&1 || true
  done
  post "$topic" t-0
  stored=$(curl -sf "http://127.0.0.1:$HUB_PORT/metrics" | awk '/^mercure_history_events /{print $2}')
  echo "$hub: $stored events stored"
  node bench/resume_latency.mjs --port "$HUB_PORT" --topic "$topic" --last-event-id resume-here --expect-id t-0 \
    --runs 20 --label "$hub: past ${ROUNDS:-5} x 4,000 subscribers' connect and disconnect events"
  stop_hub
  cleanup
  trap - EXIT
done
