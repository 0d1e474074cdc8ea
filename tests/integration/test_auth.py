"""Producer tokens (ingest.tokens_file): a producer must send {"auth":
TOKEN} first; good tokens are accepted (flag or NEWSFEED_TOKEN), bad or
missing ones are answered with an error and the connection is closed; a
tokens file readable by others is refused at start."""
import json
import os
import socket
import subprocess

from nftest import DAEMON, PUSH, Daemon, check, finish, history, tmpdir

TOKENS = "# producers\nscraper-1:s3cret-token-0123456789\nwire:another-token-abcdefghij\n"
CONFIG = "ingest:\n  tokens_file: tokens\n"


def push(d, args, env=None):
    p = subprocess.run([PUSH, "-s", d.ingest] + args, capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def raw(d, lines):
    host, port = d.ingest[6:].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall("".join(l + "\n" for l in lines).encode())
    s.shutdown(socket.SHUT_WR)  # EOF: the daemon answers, then closes
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return [json.loads(l) for l in data.decode().splitlines()]


tmp_files = {"tokens": TOKENS}
d = Daemon(config=CONFIG, files=tmp_files, extra_args=[])
with d:
    rc, out, err = push(d, ["--token", "s3cret-token-0123456789", "--title", "authenticated item"])
    check(rc == 0 and out.startswith("ok "), "good token accepted: %r %r" % (out, err))
    rc, out, err = push(d, ["--title", "via env"], env={"NEWSFEED_TOKEN": "another-token-abcdefghij"})
    check(rc == 0, "NEWSFEED_TOKEN accepted: %r" % err)
    rc, out, err = push(d, ["--token", "wrong-token-000000000", "--title", "x"])
    check(rc == 2 and "authentication failed" in err, "bad token refused: %r" % err)
    rc, out, err = push(d, ["--title", "no token"], env={"NEWSFEED_TOKEN": ""})
    check(rc != 0 and "authentication required" in out + err, "missing token refused: %r %r" % (out, err))
    answers = raw(d, ['{"auth": "s3cret-token-0123456789"}', '{"title": "raw after auth"}'])
    check(answers[0] == {"ok": True, "auth": "scraper-1"}, "auth answer names the producer: %s" % answers[0])
    check(answers[1].get("ok") is True and answers[1].get("item") == 1, "items numbered after auth: %s" % answers[1])
    answers = raw(d, ['{"title": "no auth"}', '{"title": "second"}'])
    check(len(answers) == 1 and answers[0]["ok"] is False and answers[0]["field"] == "auth",
          "unauthenticated connection: one error, then closed: %s" % answers)
    check("authenticated as scraper-1" in d.read_log(), "authentication logged")
    check(d.metric("newsfeed_items_accepted_total") == 3, "only authenticated items accepted")
    text = d.metrics_text()
    check('newsfeed_producer_items_total{producer="scraper-1",result="accepted"} 2' in text and
          'newsfeed_producer_items_total{producer="wire",result="accepted"} 1' in text,
          "items counted per producer: %s" % [l for l in text.splitlines() if "producer" in l])
    first, items = history(d.query, "headline")
    check([i.get("producer") for i in items] == ["scraper-1", "wire", "scraper-1"],
          "the producer's name is stamped on its items: %s" % [i.get("producer") for i in items])
    bad = raw(d, ['{"auth": "s3cret-token-0123456789"}', '{"title": "forged", "producer": "wire"}'])
    check(bad[1].get("ok") is False and bad[1].get("field") == "producer", "producers cannot set producer: %s" % bad[1])

# No tokens configured: an auth frame is harmless.
with Daemon() as d:
    rc, out, err = push(d, ["--token", "whatever-token-12345", "--title", "open daemon"])
    check(rc == 0, "auth frame accepted when no tokens are configured: %r" % err)

# A tokens file others can read is refused.
tmp = tmpdir(prefix="nftest-auth-")
with open(os.path.join(tmp, "tokens"), "w") as f:
    f.write(TOKENS)
os.chmod(os.path.join(tmp, "tokens"), 0o644)
with open(os.path.join(tmp, "c.yaml"), "w") as f:
    f.write(CONFIG)
p = subprocess.run([DAEMON, "--check", "-c", os.path.join(tmp, "c.yaml")], capture_output=True, text=True)
check(p.returncode == 1 and "readable by others" in p.stderr, "world-readable tokens refused: %r" % p.stderr)
with open(os.path.join(tmp, "tokens"), "w") as f:
    f.write("scraper-1:short\n")
os.chmod(os.path.join(tmp, "tokens"), 0o600)
p = subprocess.run([DAEMON, "--check", "-c", os.path.join(tmp, "c.yaml")], capture_output=True, text=True)
check(p.returncode == 1 and "tokens:1:11: token must be 16-256 characters" in p.stderr, "short token: %r" % p.stderr)
finish()
