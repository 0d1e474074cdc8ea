#!/usr/bin/env python3
"""A consumer of newsfeedd's NATS bridge (outputs.nats) in plain Python: the
NATS text protocol over a socket, and any msgpack decoder.  Any NATS client
library works the same way; this one needs none.
usage: nats_consumer.py HOST:PORT SUBJECT [COUNT]
SUBJECT uses NATS wildcards: news.finance.> (a subtree), news.* (one level)."""
import socket, sys, msgpack

host, port = sys.argv[1].rsplit(":", 1)
sock = socket.create_connection((host, int(port)))
f = sock.makefile("rb")
f.readline()  # the server's INFO line
sock.sendall(b'CONNECT {"verbose":false}\r\nSUB %s 1\r\n' % sys.argv[2].encode())
for _ in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 62):
    while True:
        line = f.readline()
        if not line:  # the server closed the connection
            sys.exit("nats_consumer: connection closed by the server")
        op = line.split()
        if op and op[0] == b"PING":
            sock.sendall(b"PONG\r\n")  # the server checks that we are alive
        elif op and op[0] == b"MSG":  # MSG SUBJECT SID [REPLY] SIZE
            break
    item = msgpack.unpackb(f.read(int(op[-1])))
    f.read(2)  # \r\n
    print(op[1].decode(), item["seq"], item["title"], flush=True)
