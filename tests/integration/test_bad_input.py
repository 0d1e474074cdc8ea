"""Bad input on raw sockets, in both framings: each bad line or frame gets
an error answer naming the item and field, the connection lives on, and a
good item afterwards is accepted.  Over-long items are discarded without
killing the connection; an unknown framing is refused and closed."""
import json
import socket
import struct

import msgpack

from nftest import Daemon, check, finish


def connect(d):
    host, port = d.ingest[len("tcp://"):].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


def read_lines(s, n):
    buf = b""
    while buf.count(b"\n") < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return [json.loads(l) for l in buf.split(b"\n")[:n]]


def frame(obj=None, raw=None):
    body = raw if raw is not None else msgpack.packb(obj)
    return struct.pack(">I", len(body)) + body


def read_frames(s, n):
    out, buf = [], b""
    while len(out) < n:
        while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
            chunk = s.recv(65536)
            if not chunk:
                return out
            buf += chunk
        size = struct.unpack(">I", buf[:4])[0]
        out.append(msgpack.unpackb(buf[4:4 + size]))
        buf = buf[4 + size:]
    return out


JSON_CASES = [
    (b'{"title": "unterminated', ""),
    (b'{"title": 42}', "title"),
    (b'{"body": "no title"}', "title"),
    (b'{"title": "x", "priority": 11}', "priority"),
    (b'{"title": "x", "symbols": "AAPL"}', "symbols"),
    (b'{"title": "x", "unknown": 1}', "unknown"),
    (b'{"title": "x", "seq": 3}', "seq"),
    (b'{"title": "\xff\xfe bad utf8"}', ""),
    (b'[1, 2, 3]', ""),
    (b'{"title": "x", "meta": [1]}', "meta"),
    (b'{"title": "x", "symbols": ["NOT A SYMBOL!!"]}', "symbols"),
    (b'"\\u\xc3\xa9"', ""),  # jansson's message quotes half a character: still a clean error
]

with Daemon(extra_args=["-c", "/dev/null"]) as d:
    # --- JSON Lines ---------------------------------------------------------
    s = connect(d)
    payload = b"".join(line + b"\n" for line, _ in JSON_CASES) + b'{"title": "good after bad"}\n'
    s.sendall(payload)
    answers = read_lines(s, len(JSON_CASES) + 1)
    for i, ((line, field), a) in enumerate(zip(JSON_CASES, answers)):
        check(a.get("ok") is False, "bad line %d rejected: %s -> %s" % (i + 1, line, a))
        check(a.get("item") == i + 1, "answer names item %d: %s" % (i + 1, a))
        check(a.get("field", "") == field, "line %d: field %r, got %r" % (i + 1, field, a.get("field")))
        check(bool(a.get("error")), "line %d has an error message" % (i + 1))
    good = answers[-1]
    check(good.get("ok") is True and "headline" in good.get("topics", []), "good item accepted after bad: %s" % good)
    check(good.get("seq", {}).get("headline") == 1, "first accepted item is headline seq 1")

    # an over-long line (default limit 1 MiB) is discarded as it streams
    s.sendall(b'{"title": "' + b"x" * (2 << 20) + b'"}\n{"title": "after long"}\n')
    a1, a2 = read_lines(s, 2)
    check(a1.get("ok") is False and "too large" in a1.get("error", ""), "over-long line rejected: %s" % a1)
    check(a2.get("ok") is True, "item after an over-long line accepted: %s" % a2)
    s.close()

    # --- msgpack frames -----------------------------------------------------
    s = connect(d)
    cases = [
        frame(raw=b"\xc1"),                                  # reserved byte
        frame(raw=b"\x93\x01\x02"),                          # truncated array
        frame([1, 2]),                                       # not a map
        frame({"title": b"bytes not str"}),                  # bin title
        frame({"title": "x", "published": "yesterday"}),     # wrong type
        frame(raw=b"\xdd\xff\xff\xff\xff"),                  # array32 lying about its size
        frame(raw=b""),                                      # empty frame
        frame({"title": "x", "meta": {1: "int key"}}),       # non-string meta key
    ]
    s.sendall(b"".join(cases) + frame({"title": "good frame", "kind": "ticker"}))
    answers = read_frames(s, len(cases) + 1)
    check(len(answers) == len(cases) + 1, "one msgpack answer per frame")
    for i, a in enumerate(answers[:-1]):
        check(a.get("ok") is False and a.get("item") == i + 1 and a.get("error"), "bad frame %d rejected: %s" % (i + 1, a))
    check(answers[-1].get("ok") is True, "good frame accepted after bad ones: %s" % answers[-1])
    # a frame declaring 1 GiB is skipped as its bytes arrive, never allocated
    s.sendall(struct.pack(">I", 2 << 20) + b"\x00" * (2 << 20) + frame({"title": "after big frame"}))
    a1, a2 = read_frames(s, 2)
    check(a1.get("ok") is False and "too large" in a1.get("error", ""), "oversized frame rejected: %s" % a1)
    check(a2.get("ok") is True, "frame after an oversized one accepted")
    s.close()

    # --- a producer that disconnects mid-frame does not disturb others -------
    s = connect(d)
    s.sendall(struct.pack(">I", 1000) + b"\x81")
    s.close()
    # --- unknown framing: one error line, then the connection is closed ------
    s = connect(d)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n")
    a = read_lines(s, 1)[0]
    check(a.get("ok") is False and "framing" in a.get("error", ""), "unknown framing explained: %s" % a)
    check(s.recv(100) == b"", "connection closed after unknown framing")
    s.close()

    rc, out, _ = d.push([{"title": "still alive"}])
    check(rc == 0 and out and out[0].startswith("ok "), "daemon still accepts items: %s" % out)
    check(d.metric("newsfeed_items_rejected_total") == len(JSON_CASES) + 1 + len(cases) + 1,
          "rejections counted in metrics")
finish()
