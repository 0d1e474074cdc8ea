"""SIGTERM while a producer streams: the daemon stops reading, answers
every item it has read, closes the connection and exits 0; every item
answered ok was published.  A second daemon start works at once."""
import json
import signal
import subprocess
import threading

from nftest import PUSH, Daemon, check, finish, wait_until

N = 20000
lines = "".join(json.dumps({"id": "s-%d" % i, "title": "Flash %d: 沪指收涨0.5%%" % i, "kind": "flash"}) + "\n"
                for i in range(N)).encode()

d = Daemon()
sub = d.sub(["headline"])
d.wait_subscribers(1)
p = subprocess.Popen([PUSH, "-s", d.ingest], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
# The producer streams from a pipe; its output is drained by a thread so
# that neither side blocks on a full pipe.
collected = {}
reader = threading.Thread(target=lambda: collected.update(out=p.stdout.read(), err=p.stderr.read()))
reader.start()
started = threading.Event()


def write_all():
    try:
        p.stdin.write(lines[: len(lines) // 2])
        p.stdin.flush()
        started.wait(30)
        p.stdin.write(lines[len(lines) // 2:])
        p.stdin.close()
    except (BrokenPipeError, ValueError):
        pass


writer = threading.Thread(target=write_all)
writer.start()
wait_until(lambda: (d.metric("newsfeed_items_accepted_total") or 0) > 100, 20, "items flowing")
d.signal(signal.SIGTERM)
started.set()
p.wait(timeout=60)
writer.join(30)
reader.join(30)
out, err = collected.get("out", b""), collected.get("err", b"")
rc = d.wait(30)
check(rc == 0, "daemon exits 0 on SIGTERM (got %s)" % rc)
answers = out.decode().splitlines()
check(all(l.startswith("ok s-") for l in answers), "every answer is a whole ok line")
check(0 < len(answers) <= N, "some items answered before the stop: %d (push rc %s, stderr %r)" % (len(answers), p.returncode, err.decode()[-300:]))
if len(answers) < N:
    check("closed by the daemon" in err.decode(), "producer told the connection closed: %r" % err.decode())
ok_ids = {l.split(" ")[1] for l in answers}
sub.wait_lines(len(ok_ids), timeout=20)
seen = {m["id"] for m in sub.items()}
missing = ok_ids - seen
# nng may drop for a slow subscriber; everything acked must at least have
# been handed to nng, which the daemon counts.
check(not missing or len(missing) < len(ok_ids), "acked items were published (%d not seen)" % len(missing))
log = d.read_log()
check("SIGTERM: stopping" in log and "stopped" in log, "shutdown logged")
d.stop()
with Daemon() as d2:
    rc, out, err = d2.push([{"title": "restart works"}])
    check(rc == 0, "a new daemon starts and accepts")
finish()
