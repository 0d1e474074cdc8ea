#!/usr/bin/env bash
# bench/journal-modes.sh -- ingest throughput with journal.fsync never, batch
# and always (and without a journal), alternating modes in each round so the
# machine's drift hits all of them alike.  Prints items/s per run and the
# median per mode.
#
#   bench/journal-modes.sh [ITEMS_FILE] [ROUNDS]
#
# ITEMS_FILE: JSON Lines items (default: 100,000 flashes made from the test
# corpus).  One newsfeed-push connection, up to 1024 items in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build
ROUNDS=${2:-5}
ITEMS=${1:-}
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
if [ -z "$ITEMS" ]; then
  ITEMS=$tmp/flash.jsonl
  /usr/bin/python3 - "$ITEMS" <<'PY'
import json, sys
recs = [json.loads(l)["item"] for l in open("tests/corpus/labelled.jsonl")]
flashes = [r for r in recs if r["kind"] == "flash"]
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        it = dict(flashes[i % len(flashes)]); it["id"] = "f-%d" % i
        f.write(json.dumps(it, ensure_ascii=False) + "\n")
PY
fi
n=$(wc -l < "$ITEMS")
port=$((20000 + RANDOM % 20000))
run() { # run MODE -> items/s
  local mode=$1 dd=(--data-dir "$tmp/data") cfg=$tmp/c.yaml
  rm -rf "$tmp/data"
  if [ "$mode" = none ]; then dd=(--data-dir ""); : > "$cfg"; else printf 'journal:\n  fsync: %s\n' "$mode" > "$cfg"; fi
  $B/src/newsfeedd -c "$cfg" "${dd[@]}" --ingest tcp://127.0.0.1:$port --publish tcp://127.0.0.1:$((port+1)) \
    --query off --metrics off --log-level error 2>/dev/null &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
  local s e
  s=$(date +%s.%N)
  $B/tools/newsfeed-push -s tcp://127.0.0.1:$port "$ITEMS" > /dev/null
  e=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null || true
  echo "$n / ($e - $s)" | bc
}
declare -A res
for r in $(seq "$ROUNDS"); do
  for mode in none never batch always; do
    v=$(run $mode); res[$mode]="${res[$mode]:-} $v"; echo "round $r $mode $v items/s"
  done
done
for mode in none never batch always; do
  med=$(echo ${res[$mode]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "median $mode $med items/s"
done
