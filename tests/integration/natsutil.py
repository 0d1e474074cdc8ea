"""NATS for the bridge tests, speaking the NATS text protocol directly (no
NATS client library for Python on Debian 12):

- NatsSub: a subscriber to a real nats-server (SUB, then PING/PONG so the
  subscription is known to be in place before anything is published);
- FakeNats: a NATS server the test switches on and off.  It listens only
  while `up`, answers CONNECT/PING the way nats-server does, and records
  every PUB -- so a test decides exactly when the bridge can reach NATS.
"""
import socket
import threading

import msgpack

INFO = b'INFO {"server_id":"fake","version":"2.9.10","proto":1,"max_payload":1048576,"headers":true}\r\n'


def _read_msgs(f, on_msg, pong):
    """Reads NATS protocol lines from F; calls on_msg(subject, payload) for
    each MSG or PUB; answers PING with PONG through pong()."""
    while True:
        line = f.readline()
        if not line:
            return
        parts = line.split()
        if not parts:
            continue
        op = parts[0].upper()
        if op == b"PING":
            pong()
        elif op in (b"MSG", b"PUB"):
            size = int(parts[-1])
            data = f.read(size)
            f.read(2)
            on_msg(parts[1].decode(), data)


class NatsSub:
    def __init__(self, port, subject):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.f = self.sock.makefile("rb")
        self.f.readline()  # INFO
        self.sock.sendall(b'CONNECT {"verbose":false}\r\nSUB %s 1\r\nPING\r\n' % subject.encode())
        while self.f.readline().strip() != b"PONG":
            pass
        self.sock.settimeout(None)
        self.msgs = []  # (subject, decoded map)
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _on(self, subject, data):
        with self.lock:
            self.msgs.append((subject, msgpack.unpackb(data)))

    def _run(self):
        try:
            _read_msgs(self.f, self._on, lambda: self.sock.sendall(b"PONG\r\n"))
        except (OSError, ValueError):
            pass

    def count(self):
        with self.lock:
            return len(self.msgs)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class FakeNats:
    def __init__(self, port):
        self.port = port
        self.msgs = []  # (subject, decoded map), across connections
        self.connects = 0
        self.lock = threading.Lock()
        self.lsock = None
        self.conns = []

    def start(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(8)
        threading.Thread(target=self._accept, args=(self.lsock,), daemon=True).start()

    def stop(self):
        """Away: no listener, every connection closed."""
        if self.lsock:
            try:  # wakes the thread blocked in accept(): close() alone would not
                self.lsock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.lsock.close()
            self.lsock = None
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, lsock):
        while True:
            try:
                c, _ = lsock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(c)
                self.connects += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _on(self, subject, data):
        with self.lock:
            self.msgs.append((subject, msgpack.unpackb(data)))

    def _serve(self, c):
        try:
            c.sendall(INFO)
            _read_msgs(c.makefile("rb"), self._on, lambda: c.sendall(b"PONG\r\n"))
        except (OSError, ValueError):
            pass

    def count(self):
        with self.lock:
            return len(self.msgs)

    def snapshot(self):
        with self.lock:
            return list(self.msgs)
