"""newsfeed-sub --state FILE: a consumer stopped (SIGTERM) and restarted
with the same state file prints exactly the items it missed -- on a topic
created while it was away too -- then the live ones; the state saved every
second survives a SIGKILL; an epoch change (a daemon that lost its
history) is reported and the new epoch is delivered from its start."""
import json
import os
import shutil
import signal

from nftest import Daemon, check, finish, tmpdir, wait_until
from subutil import by_topic, expected_by_topic, start_sub

TOPICS = ["headline", "sym.>"]


def items(tag, n, symbols):
    return [{"id": "%s-%04d" % (tag, i), "kind": "flash", "title": "State test flash",
             "source": "test", "symbols": [symbols[i % len(symbols)]]} for i in range(n)]


def wanted(topic):
    return topic == "headline" or topic.startswith("sym.")


def read_state(path):
    try:
        with open(path) as f:
            return json.load(f)["topics"]
    except (OSError, ValueError, KeyError):
        return {}


def run(d, state, name):
    return start_sub(d, TOPICS, ["--state", state], name=name)


def push(d, batch):
    rc, out, err = d.push(batch)
    check(rc == 0 and len(out) == len(batch), "push %d items: %s" % (len(batch), err))
    return out


def expect(sub, answers, what):
    """SUB printed exactly the items of ANSWERS on its topics, in seq order."""
    exp = expected_by_topic(answers, wanted)
    n = sum(len(v) for v in exp.values())
    sub.wait_for(lambda ls: len(ls) >= n, 20, "%d lines" % n)
    got = by_topic(sub.items())
    check(len(sub.lines) == n, "%s: %d lines, want %d" % (what, len(sub.lines), n))
    return exp, got


tmp = tmpdir(prefix="nftest-state-")
state = os.path.join(tmp, "sub.state")
seq = {}  # topic -> last seq pushed so far


def check_run(sub, answers, what):
    """SUB printed exactly ANSWERS' items, each topic going on from SEQ."""
    exp, got = expect(sub, answers, what)
    for topic, ids in exp.items():
        first = seq.get(topic, 0) + 1
        want = [(first + k, i) for k, i in enumerate(ids)]
        check(got.get(topic) == want, "%s: %s is seq %d..%d (got %s..%s)"
              % (what, topic, first, first + len(ids) - 1, got.get(topic, [])[:1], got.get(topic, [])[-1:]))
        seq[topic] = first + len(ids) - 1


with Daemon() as d:
    # 1. A first run, stopped by SIGTERM: the state names what it printed.
    a = run(d, state, "a")
    d.wait_subscribers(1)
    check_run(a, push(d, items("one", 100, ["600519.SH", "09968.HK"])), "first run")
    check(a.stop(signal.SIGTERM) == 0, "SIGTERM: exit 0")
    st = read_state(state)
    check({t: v["seq"] for t, v in st.items()} == seq, "state after SIGTERM: %s, want %s" % (st, seq))
    check(all(v["epoch"] > 0 for v in st.values()), "state has epochs")

    # 2. Items pass while it is away, one new topic among them; the second
    #    run prints exactly those, then live ones.
    missed = push(d, items("two", 60, ["600519.SH", "09968.HK", "301588.SZ"]))
    b = run(d, state, "b")
    check_run(b, missed, "resumed run, the missed items")
    b.lines.clear()
    check_run(b, push(d, items("three", 40, ["09968.HK"])), "resumed run, live")

    # 3. SIGKILL: nothing saved at exit, but the state written every second
    #    holds what was printed by then.
    check(wait_until(lambda: {t: v["seq"] for t, v in read_state(state).items()} == seq, 10,
                     "the periodic state save"), "state saved while running")
    b.kill()
    c = run(d, state, "c")
    check_run(c, push(d, items("four", 20, ["09968.HK"])), "after SIGKILL")
    check(c.stop(signal.SIGINT) == 0, "SIGINT: exit 0")
    log = a.stderr() + b.stderr() + c.stderr()
    check("lost" not in log and "epoch" not in log, "nothing lost, no epoch change: %r" % log[:300])

# 4. A daemon that starts with empty history numbers from 1 in a new epoch.
with Daemon() as d2:
    fresh = push(d2, items("five", 6, ["09968.HK"]))
    e = run(d2, state, "e")
    seq.clear()
    check_run(e, fresh, "new epoch, from its start")
    log = e.stderr()
    check("headline: epoch changed" in log and "sym.09968.HK: epoch changed" in log,
          "epoch changes reported: %r" % log)
shutil.rmtree(tmp, ignore_errors=True)
finish()
