"""SIGHUP reloads the rules: a valid new file takes effect for the next
item; a broken file is rejected with FILE:LINE:COL in the log, the old
rules stay in force, and the producer's connection is not dropped."""
import json
import os
import signal
import socket

from nftest import Daemon, check, finish, wait_until

RULES_A = "version: 1\ntopics:\n  headline: {all: true}\n  markets:\n    terms: [{match: [沪指, nasdaq]}]\n"
RULES_B = RULES_A + "  sports:\n    terms: [{match: [英超, premier league]}]\n"
BROKEN = RULES_B + "  oops:\n    terms: [{weight: many, match: [x]}]\n"


def send(s, obj):
    s.sendall((json.dumps(obj, ensure_ascii=False) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("connection dropped")
        buf += chunk
    return json.loads(buf)


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


with Daemon(config="tagging:\n  rules: rules.yaml\n", files={"rules.yaml": RULES_A}) as d:
    rules = os.path.join(d.dir, "rules.yaml")
    host, port = d.ingest[6:].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=10)
    item = {"title": "英超：曼城击败阿森纳 Nasdaq closes higher"}
    a = send(s, item)
    check(a["topics"] == ["headline", "markets"], "rules A: %s" % a)

    write(rules, RULES_B)
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.metric("newsfeed_rule_reloads_total") == 1, 10, "reload")
    a = send(s, item)
    check(a["topics"] == ["headline", "markets", "sports"], "rules B after SIGHUP: %s" % a)

    write(rules, BROKEN)
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.metric("newsfeed_rule_reload_failures_total") == 1, 10, "rejected reload")
    log = d.read_log()
    check("reload rejected, old rules stay in force: %s:9:22: weight must be an integer" % rules in log,
          "broken rules logged with FILE:LINE:COL")
    a = send(s, item)  # same connection: not dropped
    check(a["topics"] == ["headline", "markets", "sports"], "rules B still in force: %s" % a)

    os.unlink(rules)
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.metric("newsfeed_rule_reload_failures_total") == 2, 10, "missing file rejected")
    check(send(s, item)["ok"], "still serving after a missing rules file")
    s.close()
finish()
