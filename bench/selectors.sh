#!/usr/bin/env bash
# What URI template selectors cost a publish, against exact topics, in one run:
#   bench/selectors.sh [path/to/mercure-hub] [path/to/another/mercure-hub]
# 10,000 subscribers (QUICK=1: 1,000), each on a topic of its own, 1,000 updates/s to random
# topics (one delivery each), three ways:
#   exact      each subscriber's selector is its topic;
#   templates  each subscriber's selector is a URI template of its own (`.../<t>{/kind}`), each
#              update's topic an expansion of one of them (`.../<t>/update`);
#   leading    the same, with the expression first (`https://example.com/{kind}/<t>`): the
#              templates share their literal prefix and differ after it;
#   shared     exact topics, and every subscriber also holds the same template
#              (`https://example.com/elsewhere/{id}`), which no update matches.
# Prints, per hub and way, the server CPU per update and the ratio to the same hub's exact
# figure: a publish should cost the same whatever the non-matching subscribers' selectors are.
# The hub runs alone on core 0 (1 worker, local transport), the generator on core 1. A second
# hub binary (an older build) runs the same scenarios after the first, for a before/after.
set -euo pipefail
cd "$(dirname "$0")/.."
hubs=("$(realpath "${1:-build/release/mercure-hub}")")
[[ -n ${2:-} ]] && hubs+=("$(realpath "$2")")
gen=$(realpath "${GEN:-build/release/bench_sse_load}")
QUICK=${QUICK:-0}
for f in "${hubs[@]}" "$gen"; do [[ -x $f ]] || { echo "selectors: $f is missing (build the release preset)" >&2; exit 2; }; done
ulimit -n "$(ulimit -Hn)"
hub=${hubs[0]}
source bench/lib.sh
OUT=$(mktemp /tmp/selectors.XXXXXX.jsonl)
token=$("$hub" token --key "$KEY" --publish '*' --subscribe '*')
if [[ $QUICK == 1 ]]; then
  n=1000 t=(--warmup 0.5 --duration 3 --drain 3)
else
  n=10000 t=(--warmup 2 --duration 10 --drain 10)
fi
common=(--subscribers "$n" --topics "$n" --pick random --publishers 8 --rate 1000 --publishers-apart "${t[@]}")

for i in "${!hubs[@]}"; do
  hub=${hubs[$i]}
  for way in exact templates leading shared; do
    case $way in
      exact) extra=() ;;
      templates) extra=(--selector-suffix '{/kind}' --topic-suffix /update) ;;
      leading) extra=(--selector-prefix 'https://example.com/{kind}/') ;;
      shared) extra=(--extra-selector 'https://example.com/elsewhere/{id}') ;;
    esac
    HUB_TASKSET="taskset -c 0" start_hub "hub-$i-$way" local:// --workers 1
    echo "== hub $i ($hub): $way" >&2
    taskset -c 1 "$gen" --target mercure --port "$HUB_PORT" --token "$token" --server-pid "$HUB_PID" \
      --label "$i $way" --json "${common[@]}" "${extra[@]}" >>"$OUT"
    tail -1 "$OUT" >&2
    stop_hub
  done
done

echo
echo "bench/selectors.sh $(date -u +%FT%TZ), $n subscribers each on its own topic, 1,000 updates/s to random ones"
node -e '
const [file, ...hubs] = process.argv.slice(1);
const rows = require("fs").readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
console.log("| hub | selectors | updates in window | server CPU per update (us) | ratio to exact | delivered / expected | missing, duplicated, reordered |");
console.log("|---|---|---|---|---|---|---|");
for (const [i, hub] of hubs.entries()) {
  const of = (w) => rows.find((r) => r.label === `${i} ${w}`);
  const base = of("exact").server_cpu_us / of("exact").delivered_window;
  for (const w of ["exact", "templates", "leading", "shared"]) {
    const r = of(w), per = r.server_cpu_us / r.delivered_window;
    console.log(`| ${hub} | ${w} | ${r.delivered_window} | ${per.toFixed(2)} | ${(per / base).toFixed(2)} | ${r.delivered} / ${r.expected} | ${r.missing}, ${r.duplicated}, ${r.reordered} |`);
  }
}' "$OUT" "${hubs[@]}"
if grep -q '"ok":false' "$OUT"; then
  echo "selectors: a run reported errors (see $OUT)" >&2
  exit 1
fi
