"""newsfeed-sub --last N and --since SEQ: replay history, then go live with
no gap and no duplicate, while another process keeps pushing throughout
(before, during and after the subscribers' start)."""
import json
import subprocess
import threading
import time

from nftest import PUSH, Daemon, check, finish, query, wait_until
from subutil import by_topic, contiguous, expected_by_topic, start_sub

PRE = 300    # items on headline before anything else happens
TAIL = 500   # items pushed after both subscribers are live
LAST = 100
SINCE = 250


def item(tag, i):
    return {"id": "%s-%05d" % (tag, i), "title": "Replay test item", "source": "test"}


class Pusher:
    """newsfeed-push fed from a thread until finish(): TAIL more items, then EOF."""

    def __init__(self, d):
        self.proc = subprocess.Popen([PUSH, "-s", d.ingest], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.answers = []
        self.done = threading.Event()
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.feeder.start()
        self.reader.start()

    def _write(self, i):
        self.proc.stdin.write((json.dumps(item("live", i)) + "\n").encode())

    def _feed(self):
        i = 0
        while not self.done.is_set():
            for _ in range(20):
                self._write(i)
                i += 1
            self.proc.stdin.flush()
            time.sleep(0.005)  # pacing the producer, not waiting for anything
        for _ in range(TAIL):
            self._write(i)
            i += 1
        self.proc.stdin.close()

    def _read(self):
        for line in self.proc.stdout:
            self.answers.append(line.decode().rstrip("\n"))

    def finish(self, timeout=60):
        self.done.set()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.feeder.join(timeout)
        self.reader.join(timeout)
        return rc


def headline_seq(d):
    return query(d.query, {"op": "topics"})["topics"].get("headline", {}).get("seq", 0)


def last_seq_is(n):
    def pred(lines):
        return bool(lines) and json.loads(lines[-1])["seq"] >= n
    return pred


with Daemon() as d:
    rc, answers, err = d.push([item("pre", i) for i in range(PRE)])
    check(rc == 0 and len(answers) == PRE, "pre-push: %s" % err)
    pusher = Pusher(d)
    try:
        wait_until(lambda: len(pusher.answers) >= 200, 20, "the concurrent producer")
        before = headline_seq(d)
        last = start_sub(d, ["headline"], ["--last", str(LAST)], name="last")
        since = start_sub(d, ["headline"], ["--since", str(SINCE)], name="since")
        check(last.wait_for(lambda ls: len(ls) >= LAST + 20, 20, "replay + live"), "--last prints")
        check(since.wait_for(lambda ls: len(ls) >= before - SINCE, 20, "replay"), "--since prints")
        after = headline_seq(d)
    finally:
        rc = pusher.finish()
    check(rc == 0, "the concurrent newsfeed-push exits 0")
    answers += pusher.answers
    ids = expected_by_topic(answers, lambda t: t == "headline")["headline"]
    total = len(ids)
    check(total > before + TAIL, "items kept coming: %d before the subscribers, %d in all" % (before, total))
    last.wait_for(last_seq_is(total), 30, "--last to reach seq %d" % total)
    since.wait_for(last_seq_is(total), 30, "--since to reach seq %d" % total)
    last_log, since_log = last.stderr(), since.stderr()

    got = by_topic(since.items())["headline"]
    want = [(k, ids[k - 1]) for k in range(SINCE + 1, total + 1)]
    check(got == want, "--since %d: exactly seq %d..%d in order (got %d items, %s..%s)"
          % (SINCE, SINCE + 1, total, len(got), got[:1], got[-1:]))

    got = by_topic(last.items())["headline"]
    check(contiguous(got), "--last %d: no gap, no duplicate (%d items)" % (LAST, len(got)))
    check(got and got[-1][0] == total, "--last reaches the end: %s" % got[-1:])
    check(all(ids[s - 1] == i for s, i in got), "--last: every seq carries its item")
    first = got[0][0] if got else 0
    # the replay started at (last seq when it asked) - LAST + 1
    check(before - LAST + 1 <= first <= after - LAST + 1,
          "--last %d starts within [%d, %d]: %d" % (LAST, before - LAST + 1, after - LAST + 1, first))
    print("headline seq %d when the subscribers started, %d once they were live, %d in all"
          % (before, after, total))
    for name, log in (("--last", last_log), ("--since", since_log)):
        check("lost" not in log and "error" not in log, "%s: nothing lost: %r" % (name, log[:300]))
finish()
