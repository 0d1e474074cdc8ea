#!/bin/sh
# bench/load-matrix.sh OUTDIR -- the measurements of docs/performance.md:
# for publish.batch true and false, a fresh newsfeedd (journal on, default
# config otherwise), then 3x each: --max (4 subscribers, 300-byte flashes),
# --rate 10000 for 5 s (1 subscriber), --burst 10000 (4 subscribers); then
# RSS idle and with full history on another fresh daemon.
set -eu
OUT=${1:-/tmp/nfload}
B=${B:-build}
mkdir -p "$OUT"
PI=17850 PP=17851 PQ=17852 PM=17853
BENCH="$B/tools/newsfeed-bench load -s tcp://127.0.0.1:$PI --pub tcp://127.0.0.1:$PP -q tcp://127.0.0.1:$PQ --json"

start() { # CONFIG-FILE-OR-EMPTY
  rm -rf /tmp/nfbench
  set -- ${1:+-c "$1"}
  "$B/src/newsfeedd" --data-dir /tmp/nfbench --log-level warn "$@" \
    --ingest tcp://127.0.0.1:$PI --publish tcp://127.0.0.1:$PP \
    --query tcp://127.0.0.1:$PQ --metrics http://127.0.0.1:$PM/metrics >>"$OUT/daemon.log" 2>&1 &
  DPID=$!
  i=0
  until curl -sf http://127.0.0.1:$PM/metrics >/dev/null; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "daemon did not start" >&2; exit 1; }
    sleep 0.05 # polling interval
  done
}
stop() { kill "$DPID"; wait "$DPID" || true; }
rss() { awk '/^VmRSS/ {print $2}' /proc/$DPID/status; }
metric() { curl -s http://127.0.0.1:$PM/metrics | awk -v n="$1" '$1 == n {print $2}'; }

printf 'publish:\n  batch: false\n' >"$OUT/nobatch.yaml"
for cfg in batch nobatch; do
  conf=""; [ $cfg = nobatch ] && conf="$OUT/nobatch.yaml"
  start "$conf"
  for r in 1 2 3; do
    $BENCH --max -K 4 --flash-only --size 300 >"$OUT/$cfg-max-$r.json"
    $BENCH --rate 10000 --seconds 5 -K 1 >"$OUT/$cfg-lat-$r.json"
    $BENCH --burst 10000 -K 4 >"$OUT/$cfg-burst-$r.json"
  done
  stop
  start "$conf"
  idle=$(rss)
  $BENCH --burst 20000 -K 1 --flash-only >"$OUT/$cfg-fill.json"
  full=$(rss)
  echo "{\"rss_idle_kb\":$idle,\"rss_full_kb\":$full,\"history_items\":$(metric newsfeed_history_items)}" >"$OUT/$cfg-rss.json"
  stop
done
echo done
