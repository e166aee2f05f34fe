#!/usr/bin/env bash
# A resume on a busy hub: the subscriber's topic had one update, then NOISE updates went to
# other topics, then its own 10 again. Resuming from its last id, what does reaching its next
# event cost? For each hub binary in turn (a fresh LMDB store each): fills the history, then
# measures 20 times the time from the request to the first replayed event (t-0), and the hub's
# CPU for those 20 resumes (from /proc). The two ways of finding it: scan every event since the
# resume id, or the store's topic index. Then the other side: the time to replay all NOISE
# events to a subscriber of their topic (a topic on every event), 5 times.
#   bench/resume_sparse.sh [hub binary...]   (env: NOISE=200000)
set -euo pipefail
cd "$(dirname "$0")/.."
bins=("$@")
((${#bins[@]})) || bins=(build/release/mercure-hub)
noise=${NOISE:-200000}
load=${LOAD:-build/release/bench_publish_load}
topic=https://example.com/bench/mine

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

for hub in "${bins[@]}"; do
  source bench/lib.sh
  token=$(publisher_token)
  start_hub sparse "lmdb://$BENCH_TMP/store?size=0" --workers 1
  post() { curl -sf -o /dev/null -H "Authorization: Bearer $token" -d "topic=$1" -d "id=$2" -d "data=x" "http://127.0.0.1:$HUB_PORT/.well-known/mercure"; }
  post "$topic" resume-here
  "$load" --port "$HUB_PORT" --token "$token" --connections 16 --requests "$noise" --ids noise- \
    --topic https://example.com/bench/others >/dev/null
  for i in $(seq 0 9); do post "$topic" "t-$i"; done
  before=$(cpu_ticks "$HUB_PID")
  result=$(node bench/resume_latency.mjs --port "$HUB_PORT" --topic "$topic" --last-event-id resume-here \
    --expect-id t-0 --runs 20 --label "$hub: past $noise other events")
  after=$(cpu_ticks "$HUB_PID")
  cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t * 1000 / hz / 21 }')
  echo "$result; hub CPU $cpu ms per resume (21 resumes, one unmeasured)"
  node bench/resume_latency.mjs --port "$HUB_PORT" --topic https://example.com/bench/others \
    --last-event-id resume-here --count "$noise" --runs 5 --label "$hub: every one of $noise events"
  stop_hub
  cleanup
  trap - EXIT
done
