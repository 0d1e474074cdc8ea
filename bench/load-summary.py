#!/usr/bin/env python3
"""bench/load-summary.py [OUTDIR]: medians of the runs bench/load-matrix.sh wrote."""
import json, statistics as st, sys
D = sys.argv[1] if len(sys.argv) > 1 else "/tmp/nfload"
def L(n): return json.load(open(f"{D}/{n}.json"))
med = lambda xs: st.median(xs)
for cfg in ("batch", "nobatch"):
    print("==", cfg)
    try:
        m = [L(f"{cfg}-max-{r}") for r in (1,2,3)]
        print("max lossless:", [x["max_lossless_rate"] for x in m], "median", med([x["max_lossless_rate"] for x in m]),
              "first failing", [x["first_failing_rate"] for x in m])
        for x in m:
            print("   steps", [(s["rate"], s["ok"], round(s["ingest_items_per_s"]), s["lost"], s["lost_after_fill"]) for s in x["steps"]])
        l = [L(f"{cfg}-lat-{r}")["result"] for r in (1,2,3)]
        for k in ("p50","p90","p99","p999","max"):
            print(f"lat {k}:", [x["latency_us"][k] for x in l], "median", med([x["latency_us"][k] for x in l]))
        print("lat ingest/s:", [round(x["ingest_items_per_s"]) for x in l], "lost", [x["lost"] for x in l], "msgs/s", [round(x["per_subscriber"][0]["msgs_per_s"]) for x in l])
        b = [L(f"{cfg}-burst-{r}")["result"] for r in (1,2,3)]
        print("burst ms:", [round(x["first_send_to_last_receive_ms"]) for x in b], "median", med([x["first_send_to_last_receive_ms"] for x in b]))
        print("burst filled ms:", [round(x["first_send_to_gap_filled_ms"]) for x in b], "lost", [x["lost"] for x in b], "after fill", [x["lost_after_fill"] for x in b], "all", [x["all_delivered_after_fill"] for x in b])
        print("burst ingest/s:", [round(x["ingest_items_per_s"]) for x in b], "msgs/s/sub", [round(med([s["msgs_per_s"] for s in x["per_subscriber"]])) for x in b], "p50/p99", [(x["latency_us"]["p50"], x["latency_us"]["p99"]) for x in b])
        r = L(f"{cfg}-rss")
        print("rss", r, "bytes/item", (r["rss_full_kb"]-r["rss_idle_kb"])*1024/r["history_items"])
    except FileNotFoundError as e:
        print("missing", e)
