"""newsfeed-bench tag still runs (so the benchmark cannot rot): a short run
prints one valid JSON object per term count and one for the tagger, with
positive throughputs.  No speed is asserted: this is not a benchmark run."""
import json
import os
import re
import subprocess

from nftest import BUILD, check, finish

BENCH = os.path.join(BUILD, "tools", "newsfeed-bench")


def run(args, timeout=300):
    p = subprocess.run([BENCH] + args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


rc, out, err = run(["--help"])
check(rc == 0 and "usage:" in out and "tag" in out, "newsfeed-bench --help: %r" % out)
rc, out, err = run(["--version"])
check(rc == 0 and re.match(r"^newsfeed-bench \d+\.\d+\.\d+$", out.strip()), "--version: %r" % out)
rc, out, err = run(["tag", "--no-such-flag"])
check(rc != 0 and len(err.strip().splitlines()) == 1 and "--no-such-flag" in err,
      "unknown flag gives one line: %r" % err)
rc, out, err = run(["no-such-command"])
check(rc != 0 and "no-such-command" in err, "unknown command is refused: %r" % err)

rc, out, err = run(["tag", "--terms", "1000", "--seconds", "0.2", "--runs", "1", "--cold=1",
                     "--json"])
check(rc == 0, "tag exits 0 (rc %d): %s" % (rc, err))
objs = []
for line in out.splitlines():
    try:
        objs.append(json.loads(line))
    except ValueError:
        check(False, "not a JSON line: %r" % line)


def positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


matchers = [o for o in objs if o.get("what") == "matcher"]
taggers = [o for o in objs if o.get("what") == "tagger"]
check(len(matchers) == 1 and len(taggers) == 1, "one matcher and one tagger object: %r" % out)
for m in matchers:
    check(m.get("terms") == 1000 and m.get("terms_from_rules") == 1000, "1000 rule terms: %r" % m)
    check(positive(m.get("mb_s")), "matcher MB/s > 0: %r" % m.get("mb_s"))
    check(positive(m.get("memory_bytes")), "matcher memory > 0")
    check(positive(m.get("corpus_bytes")) and m["corpus_bytes"] >= 32 * 1000 * 1000,
          "corpus >= 32 MB: %r" % m.get("corpus_bytes"))
    check(isinstance(m.get("compile_ms"), (int, float)) and m["compile_ms"] >= 0, "compile time")
    check(positive(m.get("matches")), "the rule terms match the corpus")
    for kind in ("flash", "article"):
        k = m.get(kind) or {}
        check(positive(k.get("mb_s")) and positive(k.get("us_mean")), "%s figures: %r" % (kind, k))
        check(isinstance(k.get("us_p99"), (int, float)) and k["us_p99"] >= k.get("us_p50", 0),
              "%s p99 >= p50: %r" % (kind, k))
        c = (m.get("cold") or {}).get(kind) or {}
        check(positive(c.get("mb_s")) and positive(c.get("us_mean")), "cold %s: %r" % (kind, c))
    hs = m.get("hyperscan")
    if hs is not None:  # built with libhs
        check(positive(hs.get("mb_s")) and positive(hs.get("database_bytes")), "hyperscan: %r" % hs)
        check(positive(hs.get("ratio_mb_s")), "hyperscan ratio: %r" % hs.get("ratio_mb_s"))
    else:
        print("newsfeed-bench built without Hyperscan; comparison not checked")
for t in taggers:
    check(positive(t.get("mb_s")), "tagger MB/s > 0: %r" % t.get("mb_s"))
    check(positive(t.get("fold", {}).get("mb_s")), "fold MB/s > 0")
    check(positive(t.get("topics_per_item")), "items get topics")
    # only the matcher is measured cold: the tagger's and the fold's cold
    # figures are absent (they once came from uninitialised memory)
    check(t.get("cold") is None and t.get("fold", {}).get("cold") is None,
          "no cold figures for the tagger and fold: %r / %r" % (t.get("cold"), t.get("fold", {}).get("cold")))
finish()
