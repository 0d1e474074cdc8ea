"""The journal: what was acknowledged survives SIGKILL, numbering goes on
in the same epoch, a torn tail is cut (with a new epoch), repeated ids are
answered as duplicates and not published again (also across a restart),
and a journal that cannot be written gives error answers, never acks."""
import glob
import json
import os
import resource
import signal
import subprocess
import threading

from nftest import PUSH, Daemon, check, finish, history, query, wait_until

N = 3000
ITEMS = [{"id": "j-%d" % i, "kind": "flash", "title": "快讯%d：沪指午后拉升 涨0.%d%%" % (i, i % 10)} for i in range(N)]
LINES = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in ITEMS).encode()


def restart(d):
    """A new daemon on the same data dir and ports."""
    return Daemon(ingest=d.ingest, publish=d.publish, extra_args=["--data-dir", d.data_dir])


# --- SIGKILL while a producer streams --------------------------------------
d = Daemon()
p = subprocess.Popen([PUSH, "-s", d.ingest], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
out = {}
reader = threading.Thread(target=lambda: out.update(o=p.stdout.read()))
reader.start()
try:
    p.stdin.write(LINES)
    p.stdin.close()
except BrokenPipeError:
    pass
wait_until(lambda: (d.metric("newsfeed_items_accepted_total") or 0) > N // 3, 20, "items flowing")
d.proc.send_signal(signal.SIGKILL)
d.proc.wait()
p.wait(timeout=30)
reader.join(30)
acked = [l.split(" ")[1] for l in out.get("o", b"").decode().splitlines() if l.startswith("ok ")]
check(len(acked) > 0, "some items were acknowledged before SIGKILL (%d)" % len(acked))
epoch_before = None
d2 = restart(d)
first, items = history(d2.query, "headline")
ids = [i["id"] for i in items]
check(set(acked) <= set(ids), "every acknowledged id is in history after restart (%d missing)" % len(set(acked) - set(ids)))
check([i["seq"] for i in items] == list(range(1, len(items) + 1)), "history seqs are gapless from 1")
epoch = first["epoch"]
check(len({i["epoch"] for i in items}) == 1 and items[0]["epoch"] == epoch, "one epoch in history")
rc, lines, err = d2.push([{"id": "after-restart", "title": "numbering continues"}])
check(rc == 0 and lines[0].startswith("ok after-restart"), "push after restart: %s" % lines)
f2, items2 = history(d2.query, "headline", since=len(items))
check([i["seq"] for i in items2] == [len(items) + 1] and items2[0]["epoch"] == epoch,
      "numbering continues in the same epoch: %s" % [(i["seq"], i["epoch"]) for i in items2])

# --- duplicates: within the window, also across the restart ---------------
sub = d2.sub(["headline"])
d2.wait_subscribers(1)
rc, lines, err = d2.push([{"id": acked[0], "title": "retry of an acknowledged item"},
                          {"id": "dup-1", "title": "first"}, {"id": "dup-1", "title": "same id again"}])
check(rc == 0 and lines[0].endswith(" duplicate"), "retry across restart is a duplicate: %s" % lines[0])
check(not lines[1].endswith("duplicate") and lines[2].endswith(" duplicate"), "repeat in one batch: %s" % lines)
check(lines[1].split(" ")[2] == lines[2].split(" ")[2], "a duplicate gets the original's topics")
rc, lines, err = d2.push([{"title": "marker"}])
sub.wait_lines(2)
sub.kill()
check([m["title"] for m in sub.items()] == ["first", "marker"], "duplicates are not published: %s" % [m["title"] for m in sub.items()])
check(d2.metric("newsfeed_duplicates_total") == 2, "duplicates counted")
d2.stop()

# --- a torn record at the tail ----------------------------------------------
segs = sorted(glob.glob(os.path.join(d.data_dir, "journal", "*.nfj")))
size = os.path.getsize(segs[-1])
with open(segs[-1], "r+b") as f:
    f.truncate(size - 7)  # cut the last record in the middle
d3 = restart(d)
check("torn record" in d3.read_log(), "torn tail reported in the log")
first3, items3 = history(d3.query, "headline")
check(len(items3) == len(items) + 2, "records before the tear are kept, the torn one is not (%d)" % len(items3))
rc, lines, err = d3.push([{"id": "after-tear", "title": "after the tear"}])
f4, items4 = history(d3.query, "headline", since=items3[-1]["seq"])
check(rc == 0 and items4 and items4[0]["epoch"] != epoch, "a new epoch after a cut journal")
d3.stop()

# --- a journal that cannot be written: errors, not acks ---------------------
d = Daemon(extra_args=[], config="journal:\n  segment_bytes: 1048576\n")
soft, hard = resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE)
resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (200000, hard))  # a "full disk"
big = [{"title": "big item %d" % i, "body": "x" * 20000} for i in range(40)]
rc, lines, err = d.push(big)
oks = [l for l in lines if l.startswith("ok ")]
errs = [l for l in lines if l.startswith("error ")]
check(rc == 1 and errs and all("journal write failed" in l for l in errs), "full disk gives error answers: %s" % errs[:2])
first, items = history(d.query, "headline")
check(len(items) == len(oks), "only acknowledged items are in history (%d vs %d)" % (len(items), len(oks)))
check([i["seq"] for i in items] == list(range(1, len(oks) + 1)), "no seq was used by a refused item")
resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))
rc, lines, err = d.push([{"title": "the disk has room again"}])
check(rc == 0, "recovers when the disk does: %s" % lines)
d.stop()

# --- every fsync policy acknowledges ------------------------------------------
for policy in ("always", "never"):
    with Daemon(config="journal:\n  fsync: %s\n" % policy) as d:
        rc, lines, err = d.push(ITEMS[:200])
        check(rc == 0 and len(lines) == 200, "fsync %s: all acknowledged" % policy)
finish()
