"""newsfeed-sub never misses: a subscriber frozen with SIGSTOP while 20,000
items pass loses messages (the daemon's per-subscriber queue is made tiny
and batching is off, so nng drops plenty), and after SIGCONT it prints
every item exactly once, in seq order per topic -- the lost ones filled
from the daemon's history -- and reports the gaps it filled on stderr."""
import os
import signal

from nftest import Daemon, check, finish
from subutil import by_topic, expected_by_topic, start_sub

N = 20000
SYMBOLS = ["600519.SH", "09968.HK", "301588.SZ", "AAPL.US"]
CONFIG = """
publish:
  batch: false
  send_buffer: 16
history:
  max_items: 30000
"""


def item(i):
    return {"id": "gap-%05d" % i, "kind": "flash", "title": "Gap fill test flash",
            "source": "test", "symbols": [SYMBOLS[i % len(SYMBOLS)]]}


def wanted(topic):
    return topic == "headline" or topic.startswith("sym.")


with Daemon(config=CONFIG) as d:
    sub = start_sub(d, ["headline", "sym.>"])
    d.wait_subscribers(1)
    # Readiness: the first item reaches the subscriber (on both topics).
    rc, answers, err = d.push([item(0)])
    check(rc == 0, "first push: %s" % err)
    check(sub.wait_for(lambda ms: len(ms) >= 2, 15, "the first item"), "the subscriber is live")

    os.kill(sub.proc.pid, signal.SIGSTOP)
    try:
        rc, out, err = d.push([item(i) for i in range(1, N)], timeout=120)
        check(rc == 0 and len(out) == N - 1, "push of %d items: rc %d, %d answers, %s" % (N - 1, rc, len(out), err[-300:]))
        answers += out
    finally:
        os.kill(sub.proc.pid, signal.SIGCONT)

    exp = expected_by_topic(answers, wanted)
    total = sum(len(v) for v in exp.values())
    check(len(exp["headline"]) == N, "every item is on headline")
    check(len(exp) == 1 + len(SYMBOLS), "one topic per symbol: %s" % sorted(exp))
    sub.wait_for(lambda ms: len(ms) >= total, 60, "%d lines" % total)
    log = sub.stderr()
    got = by_topic(sub.items())
    check(len(sub.lines) == total, "printed %d lines, want exactly %d" % (len(sub.lines), total))
    for topic, ids in exp.items():
        want = list(enumerate(ids, 1))
        have = got.get(topic, [])
        if have != want:
            seqs = [s for s, _ in have]
            dups = len(seqs) - len(set(seqs))
            missing = sorted(set(range(1, len(ids) + 1)) - set(seqs))
            check(False, "%s: %d items, %d duplicates, %d missing (%s), in order: %s"
                  % (topic, len(have), dups, len(missing), missing[:10], seqs == sorted(seqs)))
            print("stderr of newsfeed-sub ends:\n" + log[-2000:])
    filled = [l for l in log.splitlines() if "filled from history" in l]
    check(filled, "the subscriber lost messages and reported filling them: %r" % log[:300])
    check("lost" not in log, "no gap was unfillable: %r" % log[:500])
    print("%d lines, %d gaps filled" % (len(sub.lines), len(filled)))
finish()
