#!/usr/bin/env bash
# Issue 3, acceptance 3: resume latency in a 1,000,000-event history, from an id 900,000
# events back and from a recent id: time from the request to the first replayed event.
#   bench/resume_history.sh [path/to/mercure-hub] [events]
# TRANSPORT=redis: the same on the Redis transport (a redis-server started here, nothing saved).
set -euo pipefail
cd "$(dirname "$0")/.."
hub=${1:-build/release/mercure-hub}
events=${2:-1000000}
load=${LOAD:-build/release/bench_publish_load}
source bench/lib.sh
topic=https://example.com/bench/history
token=$(publisher_token)

url="lmdb://$BENCH_TMP/store?size=0"
if [[ ${TRANSPORT:-lmdb} == redis ]]; then
  start_redis
  url="redis://127.0.0.1:$REDIS_PORT/0?stream=history&size=0"
fi
start_hub fill "$url" --workers 2
t0=$SECONDS
"$load" --port "$HUB_PORT" --token "$token" --connections 64 --requests "$events" --ids ev- --topic "$topic"
if [[ ${TRANSPORT:-lmdb} == redis ]]; then
  echo "filled $events events in $((SECONDS - t0)) s; redis: $(redis-cli -p "$REDIS_PORT" info memory | grep -o 'used_memory_human:[^[:space:]]*')"
else
  echo "filled $events events in $((SECONDS - t0)) s; store: $(du -sh "$BENCH_TMP/store" | cut -f1)"
fi
# Restart on the same store: the lookups below also show the history survives a restart.
stop_hub
start_hub resume "$url" --workers 2
grep -o 'LMDB history at.*\|Redis stream.*' "$BENCH_TMP/resume.log"

# Ids are ev-0..ev-<events-1> in roughly publish order (64 publishers in parallel).
far=$((events - 900000))
((far < 0)) && far=0
recent=$((events - 10))
node bench/resume_latency.mjs --port "$HUB_PORT" --topic "$topic" --last-event-id "ev-$far" --runs 20 --label "resume from ev-$far ($((events - far - 1)) events back)"
node bench/resume_latency.mjs --port "$HUB_PORT" --topic "$topic" --last-event-id "ev-$recent" --runs 20 --label "resume from ev-$recent (9 events back)"
