"""Command-line conventions of every program (SPEC section 4): --help,
--version, one clear line on stderr and a non-zero exit on failure,
FILE:LINE:COL for config and rule errors; push from flags and YAML."""
import os
import re
import subprocess

from nftest import BUILD, DAEMON, PUSH, SUB, Daemon, check, finish, free_port, tmpdir

CTL = os.path.join(BUILD, "tools", "newsfeed-ctl")


def run(args, input=None, timeout=20):
    p = subprocess.run(args, capture_output=True, input=input, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


for prog in (DAEMON, PUSH, SUB, CTL):
    name = os.path.basename(prog)
    rc, out, err = run([prog, "--help"])
    check(rc == 0 and "usage:" in out, "%s --help" % name)
    rc, out, err = run([prog, "--version"])
    check(rc == 0 and re.match(r"^%s \d+\.\d+\.\d+$" % name, out.strip()), "%s --version: %r" % (name, out))
    rc, out, err = run([prog, "--no-such-flag"])
    check(rc != 0 and len(err.strip().splitlines()) == 1 and "--no-such-flag" in err,
          "%s: unknown flag gives one line: %r" % (name, err))

tmp = tmpdir(prefix="nftest-cli-")


def write(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


# --check: built-in defaults, a good file, a bad file, bad rules.
rc, out, err = run([DAEMON, "--check"])
check(rc == 0, "--check on built-in defaults: %s" % err)
good = write("good.yaml", "publish:\n  batch: false\n")
rc, out, err = run([DAEMON, "--check", "-c", good])
check(rc == 0, "--check on a good file")
bad = write("bad.yaml", "ingest:\n  listen: [tcp://127.0.0.1:1]\n  max_item_bytes: lots\n")
rc, out, err = run([DAEMON, "--check", "-c", bad])
check(rc == 1 and err.strip() == "%s:3:19: ingest.max_item_bytes: expected an integer 256..67108864" % bad,
      "--check names FILE:LINE:COL: %r" % err)
typo = write("typo.yaml", "publish:\n  bach: true\n")
rc, out, err = run([DAEMON, "--check", "-c", typo])
check(rc == 1 and err.startswith("%s:2:3: " % typo) and "publish.bach" in err, "unknown key named: %r" % err)
syntax = write("syntax.yaml", "ingest:\n  listen: [tcp://x\n")
rc, out, err = run([DAEMON, "--check", "-c", syntax])
check(rc == 1 and err.startswith(syntax + ":") and len(err.strip().splitlines()) == 1, "YAML syntax error: %r" % err)
rules = write("rules.yaml", "version: 1\ntopics:\n  headline: {all: true}\n  tech:\n    terms:\n      - weight: 99999\n        match: [chip]\n")
cfg = write("withrules.yaml", "tagging:\n  rules: rules.yaml\n")
rc, out, err = run([DAEMON, "--check", "-c", cfg])
check(rc == 1 and err.startswith("%s:6:17: " % rules), "rule error at FILE:LINE:COL: %r" % err)
rc, out, err = run([DAEMON, "--check", "--ingest", "http://127.0.0.1:1"])
check(rc == 1 and "ingest.listen" in err, "bad --ingest URL: %r" % err)
rc, out, err = run([DAEMON, "-c", os.path.join(tmp, "missing.yaml")])
check(rc == 1 and "missing.yaml" in err and "No such file" in err, "missing config file: %r" % err)

# Daemon that cannot bind: clear one-line error, exit non-zero.
port = free_port()
with Daemon() as d:
    rc, out, err = run([DAEMON, "--ingest", d.ingest, "--publish", "tcp://127.0.0.1:%d" % free_port(),
                        "--metrics", "off", "--query", "off", "--data-dir", ""])
    check(rc != 0 and "address already in use" in err.lower(), "busy ingest port reported: %r" % err)

    # push from flags
    rc, out, err = run([PUSH, "-s", d.ingest, "--title", "沪指午后拉升 半导体板块涨停潮", "--kind", "flash",
                        "--source", "财联社", "--symbol", "sh600519", "--priority", "1", "--id", "flag-1"])
    check(rc == 0 and out.startswith("ok flag-1 ") and "sym.600519.SH" in out and "finance.flash" in out,
          "push from flags: %r %r" % (out, err))
    rc, out, err = run([PUSH, "-s", d.ingest, "--title", "x", "--priority", "12"])
    check(rc == 1 and out.strip() == "error 1: priority: must be 1..9", "bad flag item: %r" % out)
    # push YAML documents
    y = write("items.yaml", "title: 英超第10轮 曼城2比1逆转阿森纳\nkind: article\nbody: 哈兰德梅开二度。\n---\n"
              "title: 2025\n---\ntitle: \"Typhoon warning issued for Guangdong coast\"\npriority: 2\n")
    rc, out, err = run([PUSH, "-s", d.ingest, y])
    lines = out.strip().splitlines()
    check(rc == 1 and len(lines) == 3, "yaml push: 3 answers, one error: %r" % out)
    check(lines and "sports" in lines[0], "yaml item 1 is sports: %r" % lines)
    check(len(lines) > 1 and lines[1] == "error 2: title: must be a string", "yaml item 2 rejected: %r" % lines)
    check(len(lines) > 2 and "society" in lines[2], "yaml item 3 is society: %r" % lines)
    # mixed valid/invalid JSON lines keep input order
    rc, out, err = run([PUSH, "-s", d.ingest], input=b'{"title":"a"}\n{"title":1}\n\n{"title":"c"}\n')
    lines = out.strip().splitlines()
    check(rc == 1 and [l.split(" ")[0] for l in lines] == ["ok", "error", "ok"] and lines[1].startswith("error 2:"),
          "answers in input order: %r" % lines)

rc, out, err = run([PUSH, "-s", "tcp://127.0.0.1:%d" % port, "--title", "x"])
check(rc == 2 and "connect" in err and len(err.strip().splitlines()) == 1, "push to nothing: %r" % err)
rc, out, err = run([SUB, "bad topic!"])
check(rc == 2 and "not a topic" in err, "sub rejects a bad topic: %r" % err)
rc, out, err = run([SUB])
check(rc == 2 and "TOPIC" in err, "sub needs a topic: %r" % err)
finish()
