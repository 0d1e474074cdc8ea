"""Routing end to end: a mixed Chinese/English corpus pushed with
newsfeed-push reaches each subscriber exactly on its topics, with gapless
seq per topic, and headline carries no body."""
import collections

from nftest import Daemon, check, corpus, finish

records = corpus()
items = [r["item"] for r in records]
check(len(items) >= 60, "corpus has at least 60 items")

with Daemon() as d:
    subs = {
        "finance.flash": d.sub(["finance.flash"]),
        "headline": d.sub(["headline"]),
        "sym": d.sub(["sym.>"]),
        "sports": d.sub(["sports"]),
    }
    d.wait_subscribers(len(subs))
    rc, out, err = d.push(items)
    check(rc == 0, "push exits 0 (stderr: %s)" % err)
    check(len(out) == len(items), "one answer line per item")

    topics_of = {}  # id -> topics from the daemon's answers
    for line, it in zip(out, items):
        parts = line.split(" ")
        check(parts[0] == "ok" and parts[1] == it["id"], "answer for %s: %s" % (it["id"], line))
        topics_of[parts[1]] = parts[2].split(",") if len(parts) > 2 else []

    def expected(pred):
        return sorted((i, t) for i, ts in topics_of.items() for t in ts if pred(t))

    want = {
        "finance.flash": expected(lambda t: t == "finance.flash"),
        "headline": expected(lambda t: t == "headline"),
        "sym": expected(lambda t: t.startswith("sym.")),
        "sports": expected(lambda t: t == "sports"),
    }
    for name, s in subs.items():
        s.wait_lines(len(want[name]))
        s.kill()
        got = s.items()
        check(sorted((m["id"], m["topic"]) for m in got) == want[name],
              "%s subscriber got exactly its %d messages (got %d)" % (name, len(want[name]), len(got)))
        per_topic = collections.defaultdict(list)
        for m in got:
            per_topic[m["topic"]].append(m["seq"])
        for topic, seqs in per_topic.items():
            check(seqs == list(range(1, len(seqs) + 1)), "%s: seq gapless from 1: %s" % (topic, seqs[:10]))

    heads = subs["headline"].items()
    check(len(heads) == len(items), "every item is on headline")
    check(all("body" not in m for m in heads), "headline messages carry no body")
    check(all(m["v"] == 1 and m["epoch"] > 0 and m["received"] > 0 for m in heads), "v, epoch, received set")
    by_id = {r["item"]["id"]: r for r in records}
    for m in subs["finance.flash"].items():
        check(m["kind"] == "flash", "finance.flash only carries flashes (%s)" % m["id"])
    # Flashes with a stock code land on finance.flash and on their sym.* topic.
    for r in records:
        it = r["item"]
        if it["kind"] == "flash" and r["symbols"]:
            check("finance.flash" in topics_of[it["id"]], "%s with symbols is finance.flash" % it["id"])
            for s in r["symbols"]:
                check("sym." + s in topics_of[it["id"]], "%s tagged sym.%s (got %s)" % (it["id"], s, topics_of[it["id"]]))
    check("sym.09968.HK" in topics_of.get("c-0001", []), "the Gelonghui flash gets sym.09968.HK")
    full = [m for m in subs["sports"].items() if by_id[m["id"]]["item"].get("body")]
    check(all("body" in m for m in full), "non-headline topics carry the body")
finish()
