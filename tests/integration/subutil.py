"""Helpers for the delivery-guarantee tests of newsfeed-sub (test_sub_*.py).

A subscriber's stderr goes to a file here, not a pipe: one that reports
many gaps must never block on a full stderr pipe nobody reads.
"""
import collections
import os
import subprocess

from nftest import SUB, Sub, wait_until


class LoggedSub(Sub):
    """newsfeed-sub writing stdout and stderr to files, so that it never
    waits for the test to read (a pipe holds only 64 KiB)."""

    def __init__(self, args, path):
        self.log_path = path + ".stderr"
        self.log = open(self.log_path, "w")
        self.out = open(path + ".stdout", "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.log)
        self.reader = open(path + ".stdout", "rb")
        self.lines = []
        self._buf = b""

    def _pump(self):
        chunk = self.reader.read()
        if chunk:
            self._buf += chunk
            *done, self._buf = self._buf.split(b"\n")
            self.lines += [l.decode() for l in done]

    def stderr(self):
        self.kill()
        with open(self.log_path) as f:
            return f.read()

    def kill(self):
        super().kill()
        self.log.close()
        self.out.close()

    def stop(self, sig, timeout=10):
        """Sends SIG and waits (with a deadline) for the exit status."""
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "killed"
        self._pump()
        return rc

    def wait_for(self, pred, timeout, what):
        """Pumps output until PRED(lines) holds; returns whether it did."""
        def ok():
            self._pump()
            return pred(self.lines)
        try:
            wait_until(ok, timeout, what)
            return True
        except TimeoutError:
            return False


def start_sub(d, topics, extra=(), name="sub"):
    """Starts newsfeed-sub (JSON lines) on daemon D, with -q set."""
    args = [SUB, "-s", d.publish[0], "-q", d.query, "--format", "json"] + list(extra) + list(topics)
    s = LoggedSub(args, os.path.join(d.dir, name))
    d.children.append(s)
    return s


def expected_by_topic(answers, want):
    """From newsfeed-push answer lines ("ok ID T1,T2,..." in push order),
    the ids each wanted topic must carry, in seq order (one producer, so
    answer order is seq order)."""
    exp = collections.defaultdict(list)
    for line in answers:
        parts = line.split(" ")
        if parts[0] != "ok":
            continue
        for t in parts[2].split(",") if len(parts) > 2 else []:
            if want(t):
                exp[t].append(parts[1])
    return exp


def by_topic(items):
    """Subscriber output grouped by topic: {topic: [(seq, id), ...]} in output order."""
    got = collections.defaultdict(list)
    for m in items:
        got[m["topic"]].append((m["seq"], m["id"]))
    return got


def contiguous(pairs):
    """Are the seqs of [(seq, id)] consecutive, each once?"""
    seqs = [s for s, _ in pairs]
    return bool(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
