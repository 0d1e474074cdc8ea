"""newsfeed-bench load still runs against a real daemon (so the load
generator cannot rot): a 1-second run at 500 items/s with one subscriber
prints one JSON object with positive figures and no loss after gap fill.
No speed is asserted: this is not a benchmark run."""
import json
import os
import subprocess

from nftest import BUILD, Daemon, check, finish

BENCH = os.path.join(BUILD, "tools", "newsfeed-bench")


def positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


p = subprocess.run([BENCH, "load", "--no-such-flag"], capture_output=True, timeout=30)
check(p.returncode != 0 and "--no-such-flag" in p.stderr.decode(), "unknown flag is refused: %r" % p.stderr)

with Daemon() as d:
    p = subprocess.run([BENCH, "load", "-s", d.ingest, "--pub", d.publish[0], "-q", d.query,
                        "--rate", "500", "--seconds", "1", "-K", "1", "--json"],
                       capture_output=True, timeout=120,
                       # the benchmark keeps its corpus until exit: not a leak worth failing on
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    out, err = p.stdout.decode(), p.stderr.decode()
    check(p.returncode == 0, "load exits 0 (rc %d): %s" % (p.returncode, err))
    lines = out.splitlines()
    check(len(lines) == 1, "one JSON line: %r" % out)
    try:
        o = json.loads(lines[0]) if lines else {}
    except ValueError:
        o = {}
        check(False, "not JSON: %r" % out)
    r = o.get("result") or {}
    check(o.get("mode") == "rate" and o.get("subscribers") == 1, "mode and subscribers: %r" % o)
    check(r.get("items") == 500 and r.get("acked") == 500, "500 items acked: %r" % r)
    check(positive(r.get("ingest_items_per_s")), "ingest rate > 0: %r" % r.get("ingest_items_per_s"))
    lat = r.get("latency_us") or {}
    check(lat.get("count") == 500, "500 latency samples: %r" % lat)
    for q in ("p50", "p90", "p99", "p999", "max"):
        check(positive(lat.get(q)), "latency %s > 0: %r" % (q, lat))
    check(lat.get("p50", 0) <= lat.get("p99", 0) <= lat.get("max", 0), "quantiles in order: %r" % lat)
    subs = r.get("per_subscriber") or []
    check(len(subs) == 1, "one subscriber: %r" % subs)
    for s in subs:
        check(s.get("items") == 500 and positive(s.get("msgs_per_s")), "subscriber figures: %r" % s)
    check(r.get("lost_after_fill") == 0 and r.get("all_delivered_after_fill") is True,
          "nothing lost after gap fill: %r" % r)
    check((d.metric("newsfeed_items_accepted_total") or 0) >= 500, "the daemon accepted the items")
finish()
