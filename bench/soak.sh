#!/usr/bin/env bash
# Issue 5, acceptance 5 (not in CI): a soak of our hub (LMDB transport, 2 workers).
#   SOAK_SECONDS=1800 bench/soak.sh [path/to/mercure-hub]
# Waves of SUBSCRIBERS (5,000) EventSource clients connect, receive checked updates for
# WAVE_HOLD seconds and all disconnect, WAVE_GAP seconds apart, for SOAK_SECONDS in total; a
# second publisher publishes to other topics at BG_RATE/s the whole time (until after the last
# sample), so the store is written continuously, between waves too. Each wave is one bench_sse_load run: it must end with every
# subscriber connected and nothing missing, duplicated or reordered.
# The hub's RSS (VmRSS, and its anonymous part RssAnon) and open descriptors (/proc/<pid>/fd)
# are sampled every SAMPLE_SECONDS: at a cold baseline (started, nothing connected yet), at the
# warm baseline (after WARMUP_WAVES waves disconnected: one-time costs such as malloc arenas, the
# LMDB map and the store reaching its `size` cap are paid by then), during the waves (max), and
# after the last wave disconnected. Passes when RSS and descriptors after the last wave are within
# 10% of the warm baseline. Prints a table; the samples are kept in $SAMPLES (default: a new
# /tmp/soak-samples.*.csv).
set -euo pipefail
cd "$(dirname "$0")/.."
hub=$(realpath "${1:-build/release/mercure-hub}")
gen=$(realpath "${GEN:-$(dirname "$hub")/bench_sse_load}")
SOAK_SECONDS=${SOAK_SECONDS:-1800}
SUBSCRIBERS=${SUBSCRIBERS:-5000}
TOPICS=${TOPICS:-100}
RATE=${RATE:-200}               # checked updates/s to the wave's topics during a wave
BG_RATE=${BG_RATE:-100}         # updates/s to other topics for the whole soak
WAVE_HOLD=${WAVE_HOLD:-20}      # seconds a wave stays connected and receives
WAVE_GAP=${WAVE_GAP:-5}         # seconds between the disconnect of a wave and the next
SAMPLE_SECONDS=${SAMPLE_SECONDS:-2}
SETTLE=${SETTLE:-10}            # seconds after a disconnect before the baseline/after samples
HISTORY=${HISTORY:-10000}       # LMDB `size`: events kept
WARMUP_WAVES=${WARMUP_WAVES:-3} # waves before the warm baseline
for f in "$hub" "$gen"; do [[ -x $f ]] || { echo "soak: $f is missing (build the release preset)" >&2; exit 2; }; done
ulimit -n "$(ulimit -Hn)"

source bench/lib.sh
SAMPLER_PID=
BG_PID=
stop_helpers() {
  for p in $SAMPLER_PID $BG_PID; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}
trap 'stop_helpers; cleanup' EXIT

start_hub soak "lmdb://$BENCH_TMP/store?size=$HISTORY" --workers 2
token=$("$hub" token --key "$KEY" --publish '*' --subscribe '*')
csv=${SAMPLES:-$(mktemp /tmp/soak-samples.XXXXXX.csv)}
echo "t_s,phase,rss_kib,rss_anon_kib,fds" >"$csv"
phase_file="$BENCH_TMP/phase"
echo cold >"$phase_file"
t0=$SECONDS

sample() {
  local rss anon fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$HUB_PID/status")
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$HUB_PID/status")
  fds=$(find "/proc/$HUB_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$((SECONDS - t0)),$(cat "$phase_file"),$rss,$anon,$fds"
}
(while kill -0 "$HUB_PID" 2>/dev/null; do sample >>"$csv"; sleep "$SAMPLE_SECONDS"; done) &
SAMPLER_PID=$!

sleep "$SETTLE"
cold=$(sample)
# Background publishing to topics nobody subscribes to (bench_sse_load with no subscribers),
# until SIGTERM after the last sample.
"$gen" --port "$HUB_PORT" --token "$token" --subscribers 0 --publishers 2 --rate "$BG_RATE" \
  --topic-prefix https://example.com/soak-background/ --warmup 0 --duration $((SOAK_SECONDS * 2 + 600)) --drain 5 \
  --json >"$BENCH_TMP/background.json" 2>"$BENCH_TMP/background.err" &
BG_PID=$!

wave() {  # wave N: one bench_sse_load run; appends its JSON line
  echo wave >"$phase_file"
  local rc=0
  "$gen" --port "$HUB_PORT" --token "$token" --subscribers "$SUBSCRIBERS" --topics "$TOPICS" \
    --publishers 4 --rate "$RATE" --topic-prefix https://example.com/soak/ --warmup 0 \
    --duration "$WAVE_HOLD" --drain 10 --connect-concurrency 256 --server-pid "$HUB_PID" --label "wave-$1" --json \
    >>"$BENCH_TMP/waves.jsonl" 2>>"$BENCH_TMP/waves.err" || rc=$?
  echo gap >"$phase_file"
  if ((rc != 0)); then
    failed_waves=$((failed_waves + 1))
    echo "soak: wave $1 reported errors: $(tail -1 "$BENCH_TMP/waves.jsonl")" >&2
  fi
}

failed_waves=0
waves=0
while ((waves < WARMUP_WAVES)); do
  ((waves == 0)) || sleep "$WAVE_GAP"
  waves=$((waves + 1))
  wave "$waves"
done
sleep "$SETTLE"
warm=$(sample)
while ((SECONDS - t0 + WAVE_HOLD + WAVE_GAP < SOAK_SECONDS)); do
  sleep "$WAVE_GAP"
  waves=$((waves + 1))
  wave "$waves"
done
echo after >"$phase_file"
sleep "$SETTLE"
after=$(sample)
bg_rc=0
kill -TERM "$BG_PID"
wait "$BG_PID" || bg_rc=$?
BG_PID=
sleep "$SAMPLE_SECONDS"
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=

field() { cut -d, -f"$2" <<<"$1"; }
peak() { awk -F, -v c="$1" 'NR > 1 && $2 == "wave" && $c > m { m = $c } END { print m + 0 }' "$csv"; }
within() { awk -v a="$1" -v b="$2" 'BEGIN { d = (a - b) / b * 100; printf "%+.1f%%", d; exit (d > 10 || d < -10) }'; }
elapsed=$((SECONDS - t0))
delivered=$(grep -o '"delivered":[0-9]*' "$BENCH_TMP/waves.jsonl" | awk -F: '{ s += $2 } END { print s + 0 }')
bad=$(grep -o '"missing":[0-9]*,"duplicated":[0-9]*,"reordered":[0-9]*' "$BENCH_TMP/waves.jsonl" | grep -vc '"missing":0,"duplicated":0,"reordered":0' || true)

echo
echo "bench/soak.sh $(date -u +%F): $elapsed s, $waves waves of $SUBSCRIBERS subscribers (hold ${WAVE_HOLD} s, gap ${WAVE_GAP} s), $TOPICS topics, $RATE checked updates/s per wave + $BG_RATE/s background; hub $hub, lmdb size=$HISTORY, 2 workers"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| %-16s | %12s | %14s | %8s |\n' sample "RSS (KiB)" "RssAnon (KiB)" fds
printf '|%s|%s|%s|%s|\n' ------------------ -------------- ---------------- ----------
for row in "cold baseline:$cold" "warm baseline:$warm" "during (peak):x,wave,$(peak 3),$(peak 4),$(peak 5)" "after last wave:$after"; do
  name=${row%%:*}
  s=${row#*:}
  printf '| %-16s | %12s | %14s | %8s |\n' "$name" "$(field "$s" 3)" "$(field "$s" 4)" "$(field "$s" 5)"
done
ok=1
rss_d=$(within "$(field "$after" 3)" "$(field "$warm" 3)") || ok=0
anon_d=$(within "$(field "$after" 4)" "$(field "$warm" 4)") || true
fd_d=$(within "$(field "$after" 5)" "$(field "$warm" 5)") || ok=0
cold_d=$(within "$(field "$after" 3)" "$(field "$cold" 3)") || true
echo "after last wave vs warm baseline: RSS $rss_d, RssAnon $anon_d, fds $fd_d (vs cold baseline: RSS $cold_d)"
bg_posts=$(grep -o '"post_ok":[0-9]*,"post_errors":[0-9]*' "$BENCH_TMP/background.json" || echo "no report")
echo "deliveries checked: ${delivered:-0}; waves with errors: $failed_waves (missing/duplicated/reordered in $bad); background publisher: exit $bg_rc, $bg_posts"
echo "samples: $csv"
if ((ok == 1 && failed_waves == 0 && bg_rc == 0)); then
  echo "PASS: RSS and open descriptors back within 10% of the warm baseline, nothing lost"
else
  echo "FAIL"
  exit 1
fi
