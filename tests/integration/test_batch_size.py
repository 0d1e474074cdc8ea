"""Batches stay moderate: 40 sports articles of ~60 KB pushed in one go
reach a raw nng SUB (ctypes, as docs/examples/consumer.py) complete and in
seq order, and no message is larger than 256 KiB unless it holds a single
map -- a subscriber that bounds its receive size (NNG_OPT_RECVMAXSZ) is
not disconnected by a batch.  Also 2 articles of ~300 KB each arrive alone,
one message per item."""
import ctypes

import msgpack

from nftest import Daemon, check, finish, wait_until

CAP = 256 << 10


class Socket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]


nng = ctypes.CDLL("libnng.so.1")


def article(i, size):
    words = "The Celtics beat the Knicks in the NBA playoffs on Saturday night. "
    return {"id": "big-%d-%d" % (size, i), "kind": "article", "title": "NBA playoffs recap %d" % i,
            "body": (words * (size // len(words) + 1))[:size]}


def receive(sock, want):
    """[(size, items)] of the messages until WANT items came (or a timeout)."""
    got, n = [], 0

    def more():
        nonlocal n
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        if nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), 1 | 2) != 0:  # ALLOC | NONBLOCK
            return n >= want
        data = ctypes.string_at(buf, size.value)
        nng.nng_free(buf, size)
        m = msgpack.unpackb(data.partition(b"\0")[2])
        items = m if isinstance(m, list) else [m]
        got.append((size.value, items))
        n += len(items)
        return n >= want
    try:
        wait_until(more, 30, "%d items" % want)
    except TimeoutError:
        pass
    return got


with Daemon(config="ingest:\n  max_item_bytes: 4194304\n") as d:
    sock = Socket()
    assert nng.nng_sub0_open(ctypes.byref(sock)) == 0
    nng.nng_socket_set(sock, b"sub:subscribe", b"sports\0", ctypes.c_size_t(7))
    assert nng.nng_dial(sock, d.publish[0].encode(), None, 0) == 0
    d.wait_subscribers(1)
    for count, size in ((40, 60000), (2, 300000)):
        rc, out, err = d.push([article(i, size) for i in range(count)])
        check(rc == 0 and len(out) == count, "%d articles of %d B accepted: %s" % (count, size, err[-300:]))
        msgs = receive(sock, count)
        items = [m for _, ms in msgs for m in ms]
        check([m["id"] for m in items] == ["big-%d-%d" % (size, i) for i in range(count)],
              "all %d items of %d B, in order (%d)" % (count, size, len(items)))
        seqs = [m["seq"] for m in items]
        check(seqs == list(range(seqs[0], seqs[0] + count)) if seqs else False, "seq gapless")
        big = [(s, len(ms)) for s, ms in msgs if s > CAP and len(ms) > 1]
        check(not big, "no batch over 256 KiB: %s" % big[:5])
        print("%d x %d B: %d messages, largest %d B, %d items in the largest batch" %
              (count, size, len(msgs), max(s for s, _ in msgs) if msgs else 0,
               max(len(ms) for _, ms in msgs) if msgs else 0))
    nng.nng_close(sock)
finish()
