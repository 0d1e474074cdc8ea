#!/usr/bin/env python3
"""A newsfeed consumer without the newsfeed library: libnng through ctypes,
and any msgpack decoder.  usage: consumer.py URL PREFIX [COUNT]
PREFIX "finance." is a subtree; "" is everything (docs/protocol.md)."""
import ctypes, sys, msgpack

class Socket(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint32)]

nng = ctypes.CDLL("libnng.so.1")
sock, prefix = Socket(), sys.argv[2].encode()
assert nng.nng_sub0_open(ctypes.byref(sock)) == 0
nng.nng_socket_set(sock, b"sub:subscribe", prefix, ctypes.c_size_t(len(prefix)))
assert nng.nng_dial(sock, sys.argv[1].encode(), None, 0) == 0
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 62):
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    assert nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), 1) == 0  # 1: NNG_FLAG_ALLOC
    data = ctypes.string_at(buf, size.value)
    nng.nng_free(buf, size)
    topic, _, body = data.partition(b"\0")
    msg = msgpack.unpackb(body)
    for item in msg if isinstance(msg, list) else [msg]:  # a batch is an array
        print(topic.decode(), item["seq"], item["title"], flush=True)
