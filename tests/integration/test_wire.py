"""The wire contract read without newsfeed's library: nngcat from Debian's
nng-utils and Python's msgpack, and the ctypes consumer from
docs/examples/consumer.py.  Also checks the byte layout: TOPIC, 0x00, then
a msgpack map (or an array of maps) with the keys of SPEC section 6."""
import os
import subprocess
import sys
import time

import msgpack

from nftest import SRC, Daemon, check, finish, wait_until

ITEMS = [
    {"id": "w-1", "kind": "flash", "title": "证券之星消息,截至2025年7月4日收盘,美新科技(301588)报收于18.48元,下跌1.39%",
     "source": "证券之星", "published": 1751616000000, "meta": {"desk": "a-share", "n": [1, 2]}},
    {"id": "w-2", "kind": "ticker", "title": "Apple (NASDAQ: AAPL) shares rose 2.1% after record quarterly revenue",
     "source": "Reuters", "lang": "en", "priority": 2},
]

with Daemon() as d:
    url = d.publish[0]
    cat = subprocess.Popen(["stdbuf", "-o0", "nngcat", "--sub", "--dial", url, "--subscribe", "", "--msgpack", "--count", "100"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.Popen([sys.executable, os.path.join(SRC, "docs", "examples", "consumer.py"), url, "sym."],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        d.wait_subscribers(2)
        rc, out, err = d.push(ITEMS)
        check(rc == 0, "push ok: %s %s" % (out, err))
        expected = sum(len(l.split(" ")[2].split(",")) for l in out)
        msgs = []
        unpacker = msgpack.Unpacker(raw=True)
        os.set_blocking(cat.stdout.fileno(), False)

        def got_all():
            chunk = cat.stdout.read()
            if chunk:
                unpacker.feed(chunk)
                for raw in unpacker:  # a batch (array) becomes one message per item
                    topic, _, body = raw.partition(b"\x00")
                    m = msgpack.unpackb(body)
                    if isinstance(m, list):
                        check(all(isinstance(x, dict) for x in m), "a batch is an array of maps")
                        check([x["seq"] for x in m] == sorted(x["seq"] for x in m), "a batch is in seq order")
                        msgs.extend(topic + b"\x00" + msgpack.packb(x) for x in m)
                    else:
                        msgs.append(raw)
            return len(msgs) >= expected
        wait_until(got_all, 10, "%d messages via nngcat" % expected)
        for raw in msgs:
            topic, sep, body = raw.partition(b"\x00")
            check(sep == b"\x00", "message has TOPIC then 0x00")
            m = msgpack.unpackb(body)
            check(isinstance(m, dict), "body is one msgpack map")
            check(all(isinstance(k, str) for k in m), "map keys are strings")
            check(m["topic"] == topic.decode(), "map topic equals prefix topic")
            for k, t in [("v", int), ("id", str), ("topic", str), ("seq", int), ("epoch", int), ("kind", str),
                         ("title", str), ("topics", list), ("symbols", list), ("priority", int), ("received", int)]:
                check(isinstance(m.get(k), t), "%s: key %s is %s" % (topic, k, t.__name__))
        first = {(msgpack.unpackb(r.partition(b"\x00")[2])["id"], r.partition(b"\x00")[0].decode()) for r in msgs}
        check(("w-1", "sym.301588.SZ") in first, "sym.301588.SZ published: %s" % sorted(first))
        check(("w-2", "sym.AAPL.US") in first, "sym.AAPL.US published")
        w1 = [msgpack.unpackb(r.partition(b"\x00")[2]) for r in msgs if r.startswith(b"finance.flash\x00")]
        check(any(m["id"] == "w-1" and m["meta"] == {"desk": "a-share", "n": [1, 2]} and m["published"] == 1751616000000
                  for m in w1), "meta and published pass through")
        check(any(m["kind"] == "flash" and m["priority"] == 2 for m in
                  (msgpack.unpackb(r.partition(b"\x00")[2]) for r in msgs)), "ticker becomes flash; priority kept")
        lines = []

        def consumer_lines():
            os.set_blocking(consumer.stdout.fileno(), False)
            chunk = consumer.stdout.read()
            if chunk:
                lines.extend(chunk.splitlines())
            return len(lines) >= 2
        wait_until(consumer_lines, 10, "ctypes consumer output")
        check(any(l.startswith("sym.301588.SZ 1 ") for l in lines), "ctypes consumer prints topic seq title: %s" % lines)
    finally:
        for p in (cat, consumer):
            p.kill()
            p.wait()
finish()
