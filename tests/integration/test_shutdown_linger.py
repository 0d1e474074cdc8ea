"""SIGTERM while a producer is still sending: the daemon must not close the
socket with unread input (the kernel would send RST, and an RST can
destroy answers in flight).  It sends FIN after its last answer, discards
what still comes, and closes when the producer does.  The producer reads
every answer up to a clean EOF -- never a reset -- and every item it
read is answered, in order."""
import json
import signal
import socket
import threading

from nftest import Daemon, check, finish, wait_until

d = Daemon()
host, port = d.ingest[len("tcp://"):].rsplit(":", 1)
s = socket.create_connection((host, int(port)))
stop = threading.Event()
sent = [0]


def produce():  # never reads: only writes, until the daemon stops taking bytes
    i = 0
    try:
        while not stop.is_set():
            chunk = "".join(json.dumps({"id": "l-%d" % (i + k), "title": "Linger %d" % (i + k),
                                        "kind": "flash"}) + "\n" for k in range(200)).encode()
            s.sendall(chunk)
            i += 200
            sent[0] = i
    except OSError:
        pass


t = threading.Thread(target=produce, daemon=True)
t.start()
wait_until(lambda: (d.metric("newsfeed_items_accepted_total") or 0) > 1000, 20, "items flowing")
d.signal(signal.SIGTERM)
buf, reset = b"", None
s.settimeout(20)
try:
    while True:
        b = s.recv(65536)
        if not b:
            break
        buf += b
except ConnectionResetError as e:
    reset = e
stop.set()
s.close()
t.join(10)
check(reset is None, "the answers end with EOF, not a reset (%r)" % (reset,))
answers = buf.decode().splitlines()
check(answers and all(json.loads(a).get("ok") for a in answers), "%d whole ok answers" % len(answers))
ids = [json.loads(a)["id"] for a in answers]
check(ids == ["l-%d" % k for k in range(len(ids))], "answers in order, none skipped")
check(d.wait(30) == 0, "daemon exits 0")
check("shutdown deadline" not in d.read_log(), "no connection needed the shutdown deadline")
d.stop()
finish()
