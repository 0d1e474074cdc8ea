#!/bin/sh
# bench/callgrind.sh [OUT] -- instructions the daemon spends on a burst of
# 5,000 300-byte flashes to 4 subscribers, counted by callgrind.  Unlike
# times, instruction counts do not move with the machine's load, so two
# builds can be compared on a busy machine.  Prints the totals of the main
# stages; `callgrind_annotate OUT` shows the rest.
#   B=build bench/callgrind.sh /tmp/cg.out
set -eu
OUT=${1:-/tmp/newsfeed-callgrind.out}
B=${B:-build}
PI=17860 PP=17861 PQ=17862 PM=17863
DATA=$(mktemp -d /tmp/nfcg.XXXXXX)
valgrind --tool=callgrind --callgrind-out-file="$OUT" "$B/src/newsfeedd" --data-dir "$DATA" \
  --log-level warn --ingest tcp://127.0.0.1:$PI --publish tcp://127.0.0.1:$PP \
  --query tcp://127.0.0.1:$PQ --metrics http://127.0.0.1:$PM/metrics >/dev/null 2>&1 &
VPID=$!
trap 'kill $VPID 2>/dev/null || true; rm -rf "$DATA"' EXIT
i=0
until curl -sf http://127.0.0.1:$PM/metrics >/dev/null; do
  i=$((i + 1)); [ $i -lt 300 ] || { echo "daemon did not start" >&2; exit 1; }
  sleep 0.1 # polling interval (valgrind starts slowly)
done
"$B/tools/newsfeed-bench" load -s tcp://127.0.0.1:$PI --pub tcp://127.0.0.1:$PP \
  -q tcp://127.0.0.1:$PQ --burst 5000 -K 4 --flash-only --size 300 | sed -n 2p
curl -s http://127.0.0.1:$PM/metrics | grep '^newsfeed_messages_published_total'
kill -TERM $VPID
wait $VPID || true
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null |
  grep -E 'PROGRAM TOTALS|:(nfd_pipeline_run|nf_tag_item|nfd_pub_flush|on_frame|on_read) \['
