"""Ingest over nng REQ/REP (ingest.nng_listen): an item map is answered
like a msgpack frame, an array of items with an array of answers; with
tokens the pipe must authenticate first; over tls+tcp:// nngcat (verifying
the daemon's certificate) pushes an item that subscribers receive."""
import os
import subprocess

import msgpack

from nftest import Daemon, check, finish, free_port, query, tmpdir

tmp = tmpdir(prefix="nftest-nngi-")
key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
plain = "tcp://127.0.0.1:%d" % free_port()
tls = "tls+tcp://127.0.0.1:%d" % free_port()
cfg = "ingest:\n  nng_listen: [%s, %s]\ntls:\n  cert: %s\n  key: %s\n" % (plain, tls, cert, key)
with Daemon(config=cfg) as d:
    sub = d.sub(["headline"])
    d.wait_subscribers(1)
    a = query(plain, {"id": "n-1", "title": "over nng REQ/REP", "kind": "flash"})
    check(a.get("ok") is True and a.get("id") == "n-1" and a["seq"]["headline"] == 1, "one item: %s" % a)
    a = query(plain, [{"title": "batch one"}, {"title": 7}, {"title": "batch three"}])
    check(isinstance(a, list) and [x["ok"] for x in a] == [True, False, True], "array of answers: %s" % a)
    check(a[1].get("field") == "title" and a[1].get("item") == 2, "the bad one names item and field")
    a = query(plain, {"id": "n-1", "title": "retry"})
    check(a.get("duplicate") is True, "a retry over nng is a duplicate: %s" % a)
    item = os.path.join(tmp, "item.mp")
    with open(item, "wb") as f:
        f.write(msgpack.packb({"id": "n-tls", "title": "pushed over TLS"}))
    for attempt in range(3):  # nngcat 1.5.2 now and then fails to set up its socket
        p = subprocess.run(["nngcat", "--req", "--dial", tls.replace("127.0.0.1", "localhost"), "--cacert", cert,
                            "--file", item, "--raw", "--count", "1"], capture_output=True, timeout=20)
        if p.stdout:
            break
    reply = msgpack.unpackb(p.stdout) if p.stdout else {}
    check(reply.get("ok") is True and reply.get("id") == "n-tls", "nngcat over TLS got an ok: %r %r" % (reply, p.stderr))
    sub.wait_lines(4)
    check([m["id"] for m in sub.items()][-1:] == ["n-tls"], "the TLS item was published")

# With tokens: each connection (pipe) authenticates first.
cfg = "ingest:\n  nng_listen: [%s]\n  tokens_file: tokens\n" % plain
with Daemon(config=cfg, files={"tokens": "remote:remote-token-0123456789\n"}) as d:
    a = query(plain, {"title": "no auth"})
    check(a.get("ok") is False and a.get("field") == "auth", "items need auth first: %s" % a)
    a = query(plain, {"auth": "wrong-token-000000000"})
    check(a.get("ok") is False and "failed" in a.get("error", ""), "a wrong token is refused: %s" % a)
    a = query(plain, {"auth": "remote-token-0123456789"})
    check(a == {"ok": True, "auth": "remote"}, "a good token names the producer: %s" % a)
finish()
