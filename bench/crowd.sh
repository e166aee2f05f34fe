#!/usr/bin/env bash
# Issue 6, target 4: as many subscribers as one hub process holds here (2 workers, heartbeats on),
# then one broadcast that must reach every one of them.
#   bench/crowd.sh [path/to/mercure-hub]
# SUBSCRIBERS (19,000: the generator runs as 2 processes, each under the 20,000 open files one
# process may have; the hub needs one descriptor per subscriber), HEARTBEAT (5s) and IDLE (12 s:
# every subscriber stays connected and idle that long, so it receives two heartbeats, before
# the broadcast). Prints the generator's report (connect time, comment lines received = one
# first flush + the heartbeats per subscriber, delivery of the broadcast with loss checks, RSS
# per subscriber) and projects the hub's memory for 1,000,000 subscribers from it.
set -euo pipefail
cd "$(dirname "$0")/.."
hub=$(realpath "${1:-build/release/mercure-hub}")
gen=$(dirname "$hub")/bench_sse_load
SUBSCRIBERS=${SUBSCRIBERS:-19000}
HEARTBEAT=${HEARTBEAT:-5s}
IDLE=${IDLE:-12}
ulimit -n "$(ulimit -Hn)"
source bench/lib.sh
HEARTBEAT_INTERVAL=$HEARTBEAT start_hub crowd local:// --workers 2
token=$(publisher_token)
out=$("$gen" --target mercure --port "$HUB_PORT" --token "$token" --subscribers "$SUBSCRIBERS" --procs 2 \
  --src-addrs 4 --publishers 1 --messages 1 --idle "$IDLE" --drain 30 --server-pid "$HUB_PID")
echo "$out"
per_sub=$(grep -o '(\([0-9]*\) bytes per subscriber)' <<<"$out" | grep -o '[0-9]*')
echo "hub after the broadcast: $(grep VmRSS "/proc/$HUB_PID/status" | tr -s ' ')"
awk -v b="$per_sub" 'BEGIN { printf "projected for 1,000,000 subscribers: %.2f GiB of hub RSS (%d bytes each; kernel socket buffers not included)\n", b * 1e6 / 2^30, b }'
stop_hub
grep -q "; OK$" <<<"$out"
