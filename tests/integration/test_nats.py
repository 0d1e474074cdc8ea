"""The NATS bridge (SPEC 10, outputs.nats).

1. With a real nats-server: every message published on nng also arrives on
   NATS as <subject_prefix>.<topic>, payload the same msgpack map (one per
   item and topic, batches split), in seq order per topic, headline without
   body; the same maps as the query API's history.
2. With a NATS server the test switches on and off (natsutil.FakeNats):
   the daemon starts, accepts and acknowledges while NATS has never been
   reachable; what was published meanwhile reaches NATS once it is up; the
   same after NATS goes away and comes back; past outputs.nats.buffer_bytes
   messages are dropped and counted while nng publishing is unaffected;
   SIGTERM exits promptly with NATS away.
3. Bad outputs.nats settings are refused by --check with the key named.
"""
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

from natsutil import FakeNats, NatsSub
from nftest import DAEMON, SRC, Daemon, check, corpus, finish, free_port, history, tcp_up, tmpdir, wait_until

ITEMS = [r["item"] for r in corpus()]


def subscribed(monitor, subject):
    """True once a client connection holds a subscription to SUBJECT.  (Not
    /subsz: its num_subscriptions also counts the server's own $SYS
    subscriptions -- 43 on an idle nats-server 2.9 -- so it is never < 2.)"""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/connz?subs=1" % monitor, timeout=2) as r:
            conns = json.load(r).get("connections") or []
    except OSError:
        return False
    return any(subject in (c.get("subscriptions_list") or []) for c in conns)


def answers(out):
    """{(topic, seq): id} from newsfeed-push's lines `ok ID TOPICS`, and
    the number of (item, topic) pairs."""
    ids = {}
    for line in out:
        parts = line.split(" ")
        if parts[0] == "ok" and len(parts) > 2:
            for t in parts[2].split(","):
                ids.setdefault(t, []).append(parts[1])
    return ids, sum(len(v) for v in ids.values())


def config(port, extra=""):
    return "outputs:\n  nats:\n    url: nats://127.0.0.1:%d\n    reconnect_ms: 50\n%s" % (port, extra)


def real_server():
    server = shutil.which("nats-server")
    if not server:
        print("skipped part 1: nats-server is not installed")
        return
    port, monitor = free_port(), free_port()
    nats = subprocess.Popen([server, "-a", "127.0.0.1", "-p", str(port), "-m", str(monitor)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    example = None
    try:
        wait_until(lambda: tcp_up(port), 20, "nats-server")
        sub = NatsSub(port, "feeds.cn.>")
        # docs/examples/nats_consumer.py, as the docs run it; its subscription
        # is in place once the server lists it on the example's connection
        n_flash = sum(1 for it in ITEMS if it.get("kind") == "flash")
        example = subprocess.Popen([sys.executable, os.path.join(SRC, "docs", "examples", "nats_consumer.py"),
                                    "127.0.0.1:%d" % port, "feeds.cn.finance.flash", "3"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_until(lambda: subscribed(monitor, "feeds.cn.finance.flash"), 20, "the example's subscription")
        with Daemon(config=config(port, "    subject_prefix: feeds.cn\n")) as d:
            wait_until(lambda: d.metric("newsfeed_nats_connected") == 1, 20, "the bridge to connect")
            rc, out, err = d.push(ITEMS)
            check(rc == 0, "push exits 0: %s" % err)
            by_topic, total = answers(out)
            wait_until(lambda: sub.count() >= total, 20, "%d NATS messages" % total)
            msgs = list(sub.msgs)
            check(len(msgs) == total, "one NATS message per item and topic: %d, want %d" % (len(msgs), total))
            wait_until(lambda: d.metric("newsfeed_nats_published_total") == total, 20,
                       "published_total to count them (counted after each publish returns)")
            check(d.metric("newsfeed_nats_dropped_total") == 0, "nothing dropped")
            got = collections.defaultdict(list)
            for subject, m in msgs:
                check(subject == "feeds.cn." + m.get("topic", "?"), "subject %s names topic %s" % (subject, m.get("topic")))
                got[m["topic"]].append(m)
            for topic, ids in by_topic.items():
                ms = got.get(topic, [])
                check([m["seq"] for m in ms] == list(range(1, len(ids) + 1)), "%s: seq 1.. in order" % topic)
                check([m["id"] for m in ms] == ids, "%s: the answered ids, in order" % topic)
            check(all("body" not in m for m in got["headline"]), "headline maps carry no body")
            check(any("body" in m for m in got["finance.market"]), "other topics keep the body")
            check(all(m["v"] == 1 and m["epoch"] > 0 and m["title"] for ms in got.values() for m in ms),
                  "v, epoch, title in every map")
            _, hist = history(d.query, "finance.flash")
            check(hist == got["finance.flash"], "NATS maps equal the query API's history maps")
            check(n_flash > 3, "the corpus has flashes")
            try:
                out, err = example.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                out, err = b"(timed out)", b""
            want = "".join("feeds.cn.finance.flash %d %s\n" % (m["seq"], m["title"]) for m in got["finance.flash"][:3])
            check(example.returncode == 0 and out.decode() == want,
                  "docs/examples/nats_consumer.py prints the first 3 flashes: %r %r" % (out[:300], err[-300:]))
        sub.close()
    finally:
        if example and example.poll() is None:
            example.kill()
            example.wait()
        nats.kill()
        nats.wait()


def fake_server():
    port = free_port()
    fake = FakeNats(port)
    small = "    buffer_bytes: 65536\n"
    with Daemon(config=config(port, small)) as d:
        # NATS never reached yet: the daemon is up and acknowledges.
        check(d.metric("newsfeed_nats_connected") == 0, "not connected while NATS is away")
        rc, out, err = d.push(ITEMS[:10])
        check(rc == 0, "acks while NATS has never been reachable: %s" % err)
        _, first = answers(out)
        fake.start()
        wait_until(lambda: fake.count() >= first, 20, "messages buffered before NATS came up")
        check(fake.count() == first, "%d messages after NATS came up, want %d" % (fake.count(), first))
        # libnats runs the connected callback on a thread of its own, after it
        # has flushed the buffered messages: wait for it, do not sample it
        wait_until(lambda: d.metric("newsfeed_nats_connected") == 1, 20, "the bridge to report connected")

        # NATS goes away and comes back: what was published meanwhile arrives.
        fake.stop()
        wait_until(lambda: d.metric("newsfeed_nats_connected") == 0, 20, "the bridge to see NATS gone")
        rc, out, err = d.push(ITEMS[10:20])
        check(rc == 0, "acks while NATS is away: %s" % err)
        by_topic, second = answers(out)
        fake.start()
        wait_until(lambda: fake.count() >= first + second, 20, "messages buffered while NATS was away")
        # the same callback thread counts the reconnection and sets connected
        # again -- wait for both, or the next "wait for connected == 0" would
        # pass before the bridge has even seen NATS go
        wait_until(lambda: d.metric("newsfeed_nats_reconnects_total") >= 1 and
                   d.metric("newsfeed_nats_connected") == 1, 20, "the reconnection to be counted")
        later = fake.snapshot()[first:]
        check(len(later) == second, "%d messages after the reconnection, want %d" % (len(later), second))
        check([m["id"] for s, m in later if m["topic"] == "headline"] == by_topic["headline"],
              "headline maps after the reconnection, in order")

        # Away again, past the 64 KiB buffer: drops are counted, nng and acks unaffected.
        fake.stop()
        wait_until(lambda: d.metric("newsfeed_nats_connected") == 0, 20, "the bridge to see NATS gone")
        before = d.metric("newsfeed_messages_published_total")
        nng_sub = d.sub(["headline"])
        d.wait_subscribers(1)
        rc, out, err = d.push(ITEMS[20:])
        check(rc == 0, "every item acked while NATS is away and the buffer overflows: %s" % err)
        _, third = answers(out)
        total = first + second + third
        # the bridge thread publishes (or drops) after the acks: wait until it
        # has accounted for every message before reading the two counters
        wait_until(lambda: d.metric("newsfeed_nats_published_total") + d.metric("newsfeed_nats_dropped_total") >= total,
                   20, "the bridge to account for %d messages" % total)
        dropped = d.metric("newsfeed_nats_dropped_total")
        check(dropped > 0, "messages beyond buffer_bytes are dropped and counted (%s)" % dropped)
        nng_sub.wait_lines(len(ITEMS) - 20)
        check(len(nng_sub.lines) == len(ITEMS) - 20, "nng subscribers get everything meanwhile")
        check(d.metric("newsfeed_messages_published_total") > before, "nng publishing went on")
        published = d.metric("newsfeed_nats_published_total")
        check(published + dropped == total, "published %d + dropped %d = %d messages" % (published, dropped, total))
        fake.start()
        wait_until(lambda: fake.count() >= published, 20, "the buffered part once NATS is back")
        check(fake.count() == published, "NATS got exactly what was not dropped (%d, want %d)" % (fake.count(), published))
        check("NATS: dropping messages" in d.read_log(), "the drops are logged")

    # SIGTERM with NATS away (and messages waiting for it) ends promptly.
    fake.stop()
    d = Daemon(config=config(port, "    flush_ms: 500\n"))
    d.push(ITEMS[:5])
    t0 = time.monotonic()
    d.signal(signal.SIGTERM)
    rc = d.wait(15)
    check(rc == 0 and time.monotonic() - t0 < 10, "SIGTERM with NATS away: exit %s after %.1f s" % (rc, time.monotonic() - t0))
    d.stop()


def refused():
    cases = [("    url: http://127.0.0.1:4222\n", "outputs.nats.url"),
             ("    url: nats://a:1,tcp://b:2\n", "outputs.nats.url"),
             ("    url: nats://127.0.0.1:4222\n    subject_prefix: news.>\n", "outputs.nats.subject_prefix"),
             ("    url: nats://127.0.0.1:4222\n    subject_prefix: a..b\n", "outputs.nats.subject_prefix"),
             ("    buffer_bytes: 10\n", "outputs.nats.buffer_bytes")]
    dir_ = tmpdir()
    for text, key in cases:
        path = os.path.join(dir_, "c.yaml")
        with open(path, "w") as f:
            f.write("outputs:\n  nats:\n" + text)
        p = subprocess.run([DAEMON, "-c", path, "--check"], capture_output=True, timeout=30)
        err = p.stderr.decode()
        check(p.returncode == 1 and key in err, "--check refuses %r naming %s: rc %d, %s" % (text, key, p.returncode, err))
    with open(os.path.join(dir_, "ok.yaml"), "w") as f:
        f.write("outputs:\n  nats:\n    url: nats://u:p@127.0.0.1:4222,nats://127.0.0.1:4223\n    subject_prefix: feeds.cn\n")
    p = subprocess.run([DAEMON, "-c", os.path.join(dir_, "ok.yaml"), "--check"], capture_output=True, timeout=30)
    check(p.returncode == 0, "a valid outputs.nats passes --check: %s" % p.stderr.decode())


refused()
real_server()
fake_server()
finish()
