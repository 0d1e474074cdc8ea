"""Ingest over a Unix socket; publish over ipc:// and ws:// at once; one
socket serves every transport, so both subscribers see the same seq."""
import os
import stat

from nftest import Daemon, check, finish, free_port, tmpdir

tmp = tmpdir(prefix="nftest-ipc-")
ingest = "ipc://" + os.path.join(tmp, "ingest.sock")
pub_ipc = "ipc://" + os.path.join(tmp, "pub.sock")
pub_ws = "ws://127.0.0.1:%d/feed" % free_port()

with Daemon(ingest=ingest, publish=[pub_ipc, pub_ws]) as d:
    mode = stat.S_IMODE(os.stat(os.path.join(tmp, "ingest.sock")).st_mode)
    check(mode == 0o660, "ingest socket mode is ingest.ipc_mode 0660, got %o" % mode)
    a = d.sub(["finance.>"])
    b = d.sub(["finance.>"], extra=["-s", pub_ws])
    d.wait_subscribers(2)
    rc, out, err = d.push([{"id": "t-1", "kind": "flash", "title": "央行开展2000亿元逆回购操作 维护流动性合理充裕"},
                           {"id": "t-2", "title": "Nasdaq Composite closes at record as chip stocks rally"}])
    check(rc == 0, "push over ipc: %s %s" % (out, err))
    want = sum(1 for l in out for t in l.split(" ")[2].split(",") if t.startswith("finance."))
    got_a = [(m["topic"], m["seq"], m["id"]) for m in (a.wait_lines(want) and a.items())]
    got_b = [(m["topic"], m["seq"], m["id"]) for m in (b.wait_lines(want) and b.items())]
    check(len(got_a) == want and sorted(got_a) == sorted(got_b), "ipc and ws subscribers agree: %s vs %s" % (got_a, got_b))
check(not os.path.exists(os.path.join(tmp, "ingest.sock")), "ingest socket removed at exit")

# A stale socket file left by a crash is reclaimed; a live one is not stolen.
stale = os.path.join(tmp, "stale.sock")
import socket as _s
s = _s.socket(_s.AF_UNIX, _s.SOCK_STREAM)
s.bind(stale)
s.close()  # bound but not listening: connect() is refused, like after a crash
with Daemon(ingest="ipc://" + stale) as d:
    rc, out, err = d.push([{"title": "after stale socket"}])
    check(rc == 0, "daemon reclaimed a stale socket")
finish()
