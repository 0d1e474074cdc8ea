"""newsfeed-bench peer still runs (so the comparison tool cannot rot): a
1-second run at 500 msgs/s with two subscribers through raw nng prints one
JSON object with the keys of `newsfeed-bench load --json`, everything
delivered and latency figures; the same through nats-server and mosquitto
when they are installed (each started here on a free port, polled for
readiness, killed at the end).  No speed is asserted."""
import json
import os
import shutil
import subprocess

from nftest import BUILD, check, finish, free_port, tcp_up, tmpdir, wait_until

BENCH = os.path.join(BUILD, "tools", "newsfeed-bench")
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # connections are left to process exit


def positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0


def run_peer(what, args):
    p = subprocess.run([BENCH, "peer", "--rate", "500", "--seconds", "1", "-K", "2", "--json"] + args,
                       capture_output=True, timeout=120, env=ENV)
    out, err = p.stdout.decode(), p.stderr.decode()
    if "built without" in err:
        print("skipped %s: %s" % (what, err.strip()))
        return
    check(p.returncode == 0, "%s: peer exits 0 (rc %d): %s" % (what, p.returncode, err))
    lines = out.splitlines()
    check(len(lines) == 1, "%s: one JSON line: %r" % (what, out))
    try:
        o = json.loads(lines[0]) if lines else {}
    except ValueError:
        o = {}
        check(False, "%s: not JSON: %r" % (what, out))
    r = o.get("result") or {}
    check(o.get("what") == "peer" and o.get("mode") == "rate" and o.get("subscribers") == 2,
          "%s: head: %r" % (what, o))
    check(r.get("items") == 500 and r.get("sent") == 500 and r.get("acked") == 500,
          "%s: 500 published and confirmed: %r" % (what, r))
    check(r.get("lost") == 0 and r.get("all_delivered_after_fill") is True, "%s: nothing lost: %r" % (what, r))
    for k in ("ingest_items_per_s", "first_send_to_last_receive_ms"):
        check(positive(r.get(k)), "%s: %s > 0: %r" % (what, k, r.get(k)))
    lat = r.get("latency_us") or {}
    check(lat.get("count") == 1000, "%s: 1000 latency samples: %r" % (what, lat))
    for q in ("p50", "p90", "p99", "p999", "max"):
        check(isinstance(lat.get(q), (int, float)), "%s: latency %s present: %r" % (what, q, lat))
    check(lat.get("p50", 0) <= lat.get("p99", 0) <= lat.get("max", 0), "%s: quantiles in order: %r" % (what, lat))
    subs = r.get("per_subscriber") or []
    check(len(subs) == 2, "%s: two subscribers: %r" % (what, subs))
    for s in subs:
        check(s.get("items") == 500 and s.get("lost") == 0 and positive(s.get("msgs_per_s")),
              "%s: delivered == sent at each subscriber: %r" % (what, s))


def with_server(what, binary, args_for, tmp):
    if not shutil.which(binary):
        print("skipped %s: no %s" % (what, binary))
        return
    port = free_port()
    log = open(os.path.join(tmp, what + ".log"), "w")
    proc = subprocess.Popen([binary] + args_for(port), stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        def ready():
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s" % (binary, proc.returncode))
            return tcp_up(port)
        wait_until(ready, 20, binary + " to listen")
        return port
    except Exception as e:
        check(False, "%s did not start: %s" % (binary, e))
    finally:
        procs.append(proc)


p = subprocess.run([BENCH, "peer", "--broker", "nng", "--no-such-flag"], capture_output=True, timeout=30)
check(p.returncode != 0 and "--no-such-flag" in p.stderr.decode(), "unknown flag is refused: %r" % p.stderr)

procs = []
tmp = tmpdir(prefix="nftest-peer-")
try:
    run_peer("nng", ["--broker", "nng", "--url", "tcp://127.0.0.1:%d" % free_port()])

    port = with_server("nats", "nats-server", lambda port: ["-a", "127.0.0.1", "-p", str(port)], tmp)
    if port:
        run_peer("nats", ["--broker", "nats", "--url", "nats://127.0.0.1:%d" % port])

    conf = os.path.join(tmp, "mosquitto.conf")

    def mosquitto_args(port):
        with open(conf, "w") as f:
            f.write("listener %d 127.0.0.1\nallow_anonymous true\n" % port)
        return ["-c", conf]
    port = with_server("mosquitto", "mosquitto", mosquitto_args, tmp)
    if port:
        for qos in ("0", "1"):
            run_peer("mqtt qos " + qos, ["--broker", "mqtt", "--url", "mqtt://127.0.0.1:%d" % port, "--qos", qos])
finally:
    for proc in procs:
        proc.kill()  # by pid: only the servers this test started
        proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
