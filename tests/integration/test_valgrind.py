"""Daemon-heavy integration tests again with newsfeedd under valgrind
--leak-check=full: no definite leaks and no memory errors in any daemon
run (valgrind's own exit code and its logs are both checked)."""
import glob
import os
import shutil
import subprocess
import sys

from nftest import BUILD, SRC, check, finish, tmpdir

if not shutil.which("valgrind") or BUILD.rstrip("/").endswith("asan"):
    print("valgrind not installed, or an ASan build: skipped")
    finish()
logs = tmpdir(prefix="nftest-vg-")
env = dict(os.environ, NF_WRAP="valgrind --leak-check=full --errors-for-leak-kinds=definite "
                               "--error-exitcode=9 --log-file=%s/vg.%%p.log" % logs)
for t in ("test_bad_input.py", "test_ctl.py"):  # not timing-sensitive under valgrind
    p = subprocess.run([sys.executable, os.path.join(SRC, "tests", "integration", t)], env=env,
                       capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "%s under valgrind: %s" % (t, p.stderr[-500:]))
runs = glob.glob(os.path.join(logs, "vg.*.log"))
check(len(runs) >= 2, "valgrind logs written (%d)" % len(runs))
for log in runs:
    text = open(log).read()
    if "definitely lost:" in text:
        check("definitely lost: 0 bytes" in text, "%s: definite leak\n%s" % (log, text[-2000:]))
    check("ERROR SUMMARY: 0 errors" in text, "%s: memory errors\n%s" % (log, text[-2000:]))
shutil.rmtree(logs)
finish()
