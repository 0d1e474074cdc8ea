"""Limits against misbehaving producers: connections per peer, idle
timeout, items per second, 1,000 idle connections while a real producer is
served, and a producer that never reads its answers (back-pressure)."""
import json
import resource
import socket
import time

from nftest import BUILD, Daemon, check, finish, wait_until

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))  # children inherit it


def connect(d):
    host, port = d.ingest[6:].rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def closed_by_peer(s, timeout=10):
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        return False


# --- per-peer connections and idle timeout --------------------------------
cfg = "ingest:\n  max_connections_per_peer: 3\n  idle_timeout_seconds: 1\n"
with Daemon(config=cfg) as d:
    conns = [connect(d) for _ in range(3)]
    wait_until(lambda: d.metric("newsfeed_connections_open") == 3, 10, "3 connections")
    extra = connect(d)
    check(closed_by_peer(extra), "a 4th connection from one address is closed")
    check(d.metric("newsfeed_connections_refused_total") == 1, "refusal counted")
    # idle: all three are closed within the timeout's reach
    for s in conns:
        check(closed_by_peer(s, 10), "an idle connection is closed")
    check(d.metric("newsfeed_connections_idle_closed_total") == 3, "idle closes counted")
    rc, out, err = d.push([{"title": "a busy producer is not idle"}])
    check(rc == 0, "new connections work after the idle ones went")

# --- items per second -------------------------------------------------------
with Daemon(config="ingest:\n  max_items_per_second: 5\n  burst_items: 5\n") as d:
    rc, out, err = d.push([{"title": "item %d" % i} for i in range(20)])
    oks = [l for l in out if l.startswith("ok ")]
    limited = [l for l in out if "rate limit" in l]
    check(len(oks) >= 5 and len(limited) >= 10 and len(oks) + len(limited) == 20,
          "rate limit answers errors beyond the bucket: %d ok, %d limited" % (len(oks), len(limited)))

# --- 1,000 idle connections while a real producer is served -----------------
cfg = "ingest:\n  max_connections: 2000\n  max_connections_per_peer: 2000\n"
with Daemon(config=cfg) as d:
    idle = [connect(d) for _ in range(1000)]
    wait_until(lambda: d.metric("newsfeed_connections_open") == 1000, 20, "1000 connections")
    t0 = time.monotonic()
    rc, out, err = d.push([{"title": "served among idle connections %d" % i} for i in range(2000)])
    took = time.monotonic() - t0
    check(rc == 0 and len(out) == 2000, "2000 items accepted with 1000 idle connections open")
    print("2000 items with 1000 idle connections: %.2f s" % took)
    for s in idle:
        s.close()

# --- a producer that never reads its answers ----------------------------------
cfg = "ingest:\n  max_pending_bytes: 65536\n"
with Daemon(config=cfg) as d:
    s = connect(d)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    line = (json.dumps({"title": "flood"}) + "\n").encode()
    s.setblocking(False)
    sent = 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # write until the daemon stops reading us
        try:
            sent += s.send(line * 256)
        except BlockingIOError:
            break
    rss_before = int(open("/proc/%d/status" % d.proc.pid).read().split("VmRSS:")[1].split()[0])
    rc, out, err = d.push([{"title": "another producer is still served"}])
    check(rc == 0, "another producer is served while one does not read")
    accepted = d.metric("newsfeed_items_accepted_total")
    check(accepted < sent // len(line), "the flooding producer was stopped being read (%d of %d)" % (accepted, sent // len(line)))
    rss = int(open("/proc/%d/status" % d.proc.pid).read().split("VmRSS:")[1].split()[0])
    if not BUILD.rstrip("/").endswith("asan"):  # ASan's quarantine keeps freed memory
        check(rss < rss_before + 20000, "RSS bounded while the producer does not read (%d -> %d KB)" % (rss_before, rss))
    s.close()

# --- a subscriber that never reads does not slow ingest or other subscribers --
import signal
with Daemon() as d:
    stuck = d.sub(["headline"])
    live = d.sub(["headline"])
    d.wait_subscribers(2)
    stuck.proc.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    rc, out, err = d.push([{"id": "s-%d" % i, "title": "with a stuck subscriber %d" % i} for i in range(5000)])
    took = time.monotonic() - t0
    check(rc == 0 and len(out) == 5000, "ingest goes on while a subscriber is stopped")
    live.wait_lines(5000, timeout=60)
    check(len({m["id"] for m in live.items()}) == 5000, "the other subscriber gets every item (%d)" % len(live.items()))
    print("5000 items with a stopped subscriber: %.2f s" % took)
    stuck.proc.send_signal(signal.SIGCONT)
finish()
