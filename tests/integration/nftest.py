"""Helpers for newsfeed's integration tests.

Every test starts the real newsfeedd on free loopback ports and drives it
with the real tools.  Nothing here sleeps a fixed time to wait for a server:
readiness is polled with a deadline, and every process started gets a
deadline after which it is killed by pid.
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = os.environ.get("NF_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SRC = os.environ.get("NF_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
DAEMON = os.path.join(BUILD, "src", "newsfeedd")
PUSH = os.path.join(BUILD, "tools", "newsfeed-push")
SUB = os.path.join(BUILD, "tools", "newsfeed-sub")
WRAP = os.environ.get("NF_WRAP", "").split()  # e.g. valgrind for leak runs

_failures = []

# Run at exit, last registered first: temporary directories go, and any
# daemon a test did not stop is killed -- also when a check failed or an
# exception ended the test early.  NF_KEEP_TMP=1 keeps the directories.
_cleanups = []


def _cleanup_all():
    for f in reversed(_cleanups):
        try:
            f()
        except Exception:  # cleaning up must not hide the test's result
            pass


atexit.register(_cleanup_all)


def tmpdir(prefix="nftest-"):
    """A temporary directory removed when the test process exits."""
    d = tempfile.mkdtemp(prefix=prefix)
    if os.environ.get("NF_KEEP_TMP"):
        print("keeping", d, file=sys.stderr)
    else:
        _cleanups.append(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def check(cond, what):
    """Records a failed expectation without stopping the test."""
    if not cond:
        _failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def finish():
    if _failures:
        print("%d expectation(s) failed" % len(_failures), file=sys.stderr)
        sys.exit(1)
    print("ok")
    sys.exit(0)


_given_ports = set()


def free_port():
    """A free loopback port, never one this process was given before: the
    kernel may hand the same ephemeral port to two binds in a row once the
    first socket is closed, and two endpoints of one daemon on one port make
    it fail to start."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port
    raise RuntimeError("no free port")


def tcp_up(port):
    """True once something accepts connections on loopback PORT."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    delay = 0.005
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(delay)  # polling interval, not a fixed wait for a server
        delay = min(delay * 2, 0.1)
    raise TimeoutError("timed out waiting for " + what)


class Daemon:
    """One newsfeedd on free ports, in a temporary directory."""

    def __init__(self, extra_args=(), config=None, ingest=None, publish=None, files=None):
        self.dir = tmpdir("nftest-")
        self.proc = None
        _cleanups.append(self._kill_at_exit)
        for name, text in (files or {}).items():  # private: tokens files must be
            with open(os.open(os.path.join(self.dir, name), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(text)
        self.ingest_port = free_port()
        self.publish_port = free_port()
        self.metrics_port = free_port()
        self.query = "tcp://127.0.0.1:%d" % free_port()
        self.ingest = ingest or "tcp://127.0.0.1:%d" % self.ingest_port
        self.publish = publish or ["tcp://127.0.0.1:%d" % self.publish_port]
        self.metrics = "http://127.0.0.1:%d/metrics" % self.metrics_port
        self.data_dir = os.path.join(self.dir, "data")
        args = WRAP + [DAEMON, "--ingest", self.ingest, "--metrics", self.metrics, "--query", self.query,
                       "--data-dir", self.data_dir, "--log-level", "debug"]
        for p in self.publish:
            args += ["--publish", p]
        if config is not None:
            path = os.path.join(self.dir, "newsfeedd.yaml")
            with open(path, "w") as f:
                f.write(config)
            args += ["-c", path]
        args += list(extra_args)
        self.log_path = os.path.join(self.dir, "daemon.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.children = []
        try:
            wait_until(self._ready, 20, "newsfeedd to listen")
        except Exception:
            self.stop()
            print(self.read_log(), file=sys.stderr)
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise RuntimeError("newsfeedd exited with %s:\n%s" % (self.proc.returncode, self.read_log()))
        try:
            return self.metric("newsfeed_items_received_total") is not None
        except OSError:
            return False

    def _kill_at_exit(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def metrics_text(self):
        with urllib.request.urlopen(self.metrics, timeout=2) as r:
            return r.read().decode()

    def metric(self, name):
        for line in self.metrics_text().splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        return None

    def wait_subscribers(self, n):
        wait_until(lambda: (self.metric("newsfeed_subscribers") or 0) >= n, 10, "%d subscribers" % n)

    def sub(self, topics, extra=(), fmt="json"):
        """Starts newsfeed-sub (filling gaps from this daemon's history); returns a Sub."""
        s = Sub([SUB, "-s", self.publish[0], "-q", self.query, "--format", fmt] + list(extra) + list(topics))
        self.children.append(s)
        return s

    def push(self, lines=None, args=(), input_bytes=None, timeout=60):
        """Runs newsfeed-push; returns (rc, stdout lines, stderr)."""
        data = input_bytes if input_bytes is not None else "".join(
            (l if isinstance(l, str) else json.dumps(l, ensure_ascii=False)) + "\n" for l in (lines or [])
        ).encode()
        p = subprocess.run([PUSH, "-s", self.ingest] + list(args), input=data, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stop(self):
        for c in self.children:
            c.kill()
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = "killed"
        else:
            rc = self.proc.returncode
        self.log.close()
        if os.environ.get("NF_KEEP_TMP"):
            print("kept", self.dir, file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        rc = self.stop()
        if exc[0] is None:
            check(rc == 0, "newsfeedd exited with %r on SIGTERM" % (rc,))


class Sub:
    """A newsfeed-sub process whose output lines are collected."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._buf = b""

    def _pump(self):
        try:
            chunk = self.proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            self._buf += chunk
            *done, self._buf = self._buf.split(b"\n")
            self.lines += [l.decode() for l in done]

    def wait_lines(self, n, timeout=15):
        def enough():
            self._pump()
            return len(self.lines) >= n
        try:
            wait_until(enough, timeout, "%d lines from newsfeed-sub" % n)
        except TimeoutError:
            pass
        return self.lines

    def items(self):
        return [json.loads(l) for l in self.lines]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._pump()

    def stderr(self):
        self.kill()
        return self.proc.stderr.read().decode()


def corpus(split=None):
    """The labelled corpus: list of (item, labels) pairs."""
    out = []
    with open(os.path.join(SRC, "tests", "corpus", "labelled.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if split is None or rec["split"] == split:
                out.append(rec)
    return out


def query(url, request, timeout_ms=5000):
    """One request to the query API (nng REQ through ctypes, msgpack)."""
    import ctypes
    import msgpack

    class Socket(ctypes.Structure):
        _fields_ = [("id", ctypes.c_uint32)]

    nng = ctypes.CDLL("libnng.so.1")
    sock = Socket()
    assert nng.nng_req0_open(ctypes.byref(sock)) == 0
    try:
        nng.nng_socket_set_ms(sock, b"recv-timeout", ctypes.c_int32(timeout_ms))
        rv = nng.nng_dial(sock, url.encode(), None, 0)
        if rv:
            raise OSError("nng_dial %s: %d" % (url, rv))
        data = msgpack.packb(request)
        assert nng.nng_send(sock, data, ctypes.c_size_t(len(data)), 0) == 0
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        rv = nng.nng_recv(sock, ctypes.byref(buf), ctypes.byref(size), 1)
        if rv:
            raise OSError("nng_recv: %d" % rv)
        reply = msgpack.unpackb(ctypes.string_at(buf, size.value))
        nng.nng_free(buf, size)
        return reply
    finally:
        nng.nng_close(sock)


def history(url, topic, since=0):
    """Every item of TOPIC after SINCE, paging through the query API."""
    items, first = [], None
    while True:
        r = query(url, {"op": "history", "topic": topic, "since": since, "limit": 1000})
        if not r.get("ok"):
            raise RuntimeError(r)
        first = r if first is None else first
        if not r["items"]:
            return first, items
        items += r["items"]
        since = r["items"][-1]["seq"]
