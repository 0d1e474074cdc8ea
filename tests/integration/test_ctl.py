"""newsfeed-ctl: stats and topics from a running daemon, reload through the
query API, and `tag` explanations that are the same locally (built-in
rules) and from the daemon (--daemon)."""
import json
import os
import subprocess

from nftest import BUILD, Daemon, check, finish, free_port

CTL = os.path.join(BUILD, "tools", "newsfeed-ctl")
ITEMS = [
    {"title": "格隆汇7月4日丨汇景控股(09968.HK)公告，拟配售新股", "kind": "flash", "source": "格隆汇"},
    {"title": "OpenAI unveils a new large language model for coding", "lang": "en"},
    {"title": "A new café opens downtown"},
]


def ctl(*args, input=None):
    p = subprocess.run([CTL] + list(args), capture_output=True, text=True, input=input, timeout=30)
    return p.returncode, p.stdout, p.stderr


lines = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in ITEMS)
rc, local, err = ctl("tag", "--json", input=lines)
check(rc == 0, "local tag: %s" % err)
local = [json.loads(l) for l in local.splitlines()]
check(len(local) == 3 and all(a["ok"] for a in local), "one explanation per item")
check("sym.09968.HK" in local[0]["topics"] and "finance.flash" in local[0]["topics"], "flash topics: %s" % local[0]["topics"])
check(any(r["why"] == "source" and r["topic"] == "finance.flash" for r in local[0]["reasons"]), "source reason given")
check({"tech", "tech.ai"} <= set(local[1]["topics"]), "AI item gets tech.ai and tech: %s" % local[1]["topics"])
check(any(r["why"] == "term" and r["topic"] == "tech.ai" and r["field"] == "title" and r["score"] > 0
          for r in local[1]["reasons"]), "term reason with field and score")
check(local[2]["topics"] == ["headline"], "an unrelated item only gets headline: %s" % local[2]["topics"])
rc, text, err = ctl("tag", input=lines)
check(rc == 0 and "item 1: 格隆汇" in text and "symbol 09968.HK" in text, "text explanation: %s" % text[:300])
rc, out, err = ctl("tag", input='{"title": 5}\n')
check(rc == 1 and out.startswith("error 1: title: must be a string"), "tag reports bad items: %r" % out)

with Daemon() as d:
    rc, out, err = ctl("-q", d.query, "tag", "--daemon", "--json", input=lines)
    check(rc == 0 and [json.loads(l) for l in out.splitlines()] == local, "daemon explains like local tagging")
    rc, out, err = d.push(ITEMS)
    rc, out, err = ctl("-q", d.query, "--json", "topics")
    topics = json.loads(out)["topics"] if rc == 0 else {}
    check(topics.get("headline", {}).get("seq") == 3, "topics: headline seq 3: %s" % topics)
    check(topics.get("sym.09968.HK", {}).get("seq") == 1, "topics lists sym topics")
    rc, out, err = ctl("-q", d.query, "history", "headline")
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 3 and lines[0].startswith("#1 ") and "held seq 1..3" in err,
          "history: %r %r" % (out, err))
    rc, out, err = ctl("-q", d.query, "--json", "--since", "1", "--limit", "1", "history", "headline")
    got = [json.loads(l) for l in out.splitlines()]
    check(rc == 0 and [m["seq"] for m in got] == [2] and "body" not in got[0], "history --since --limit: %r" % out)
    rc, out, err = ctl("-q", d.query, "stats")
    check(rc == 0 and "items_accepted" in out and " 3" in out, "stats text: %s" % out)
    rc, out, err = ctl("-q", d.query, "--json", "reload")
    check(rc == 0 and json.loads(out)["topics"] >= 10, "reload through ctl: %s %s" % (out, err))
    check(d.metric("newsfeed_rule_reloads_total") == 1, "reload counted")
rc, out, err = ctl("-q", "tcp://127.0.0.1:%d" % free_port(), "stats")
check(rc == 2 and "cannot reach the daemon" in err and len(err.splitlines()) == 1, "no daemon: %r" % err)
rc, out, err = ctl("frobnicate")
check(rc == 2 and "unknown command" in err, "unknown command")
finish()
