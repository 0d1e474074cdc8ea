"""newsfeed-sub "from now on" does not drop what was published while it
started.  It connects its SUB socket, then asks the daemon for each topic's
seq as its starting point.  An item published in between arrives live
with a seq at or below that starting point; it was once taken for a
duplicate and silently dropped (a CI flake of int-sub_gapfill).  Here the
window is widened on purpose: the subscriber is frozen the moment the
daemon counts its connection, an item is pushed, and it is resumed.  The
item must be printed, on both of its topics, exactly once."""
import json
import os
import signal

from nftest import Daemon, check, finish
from subutil import start_sub

TRIALS = 6
for trial in range(TRIALS):
    with Daemon() as d:
        sub = start_sub(d, ["headline", "sym.>"], name="sub%d" % trial)
        # No sleep: poll as fast as the metrics endpoint answers, to freeze
        # the subscriber before it asks for its starting point.
        while (d.metric("newsfeed_subscribers") or 0) < 1:
            check(sub.proc.poll() is None, "newsfeed-sub runs")
        os.kill(sub.proc.pid, signal.SIGSTOP)
        first = {"id": "now-%d-0" % trial, "kind": "flash", "title": "Started while we joined",
                 "source": "test", "symbols": ["600519.SH"]}
        rc, _, err = d.push([first])
        os.kill(sub.proc.pid, signal.SIGCONT)
        check(rc == 0, "push: %s" % err)
        later = dict(first, id="now-%d-1" % trial, title="After we joined")
        rc, _, err = d.push([later])
        check(sub.wait_for(lambda ms: len(ms) >= 4, 15, "both items"), "trial %d: both items arrive" % trial)
        got = sorted((m["topic"], m["seq"], m["id"]) for m in map(json.loads, sub.lines))
        want = sorted([("headline", 1, first["id"]), ("sym.600519.SH", 1, first["id"]),
                       ("headline", 2, later["id"]), ("sym.600519.SH", 2, later["id"])])
        check(got == want, "trial %d: each item once per topic: %s" % (trial, got))
finish()
