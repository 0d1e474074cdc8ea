"""systemd/newsfeedd.service passes `systemd-analyze verify`, runs as an
unprivileged user with sandboxing, and its ExecStartPre check passes on
the shipped configuration.  The unit is verified with its program paths
pointed at this build (the installed paths need not exist here)."""
import os
import shutil
import subprocess

from nftest import BUILD, DAEMON, SRC, check, finish, tmpdir

unit = open(os.path.join(BUILD, "newsfeedd.service")).read()
check("User=newsfeed" in unit and "NoNewPrivileges=yes" in unit and "ProtectSystem=strict" in unit,
      "unit runs unprivileged and sandboxed")
check("Type=notify" in unit, "unit waits for sd_notify readiness")
if shutil.which("systemd-analyze"):
    tmp = tmpdir(prefix="nftest-unit-")
    conf = os.path.join(SRC, "conf", "newsfeedd.yaml")
    exec_lines = [l for l in unit.splitlines() if l.startswith(("ExecStart=", "ExecStartPre="))]
    installed_daemon = exec_lines[0].split("=", 1)[1].split()[0]
    installed_conf = exec_lines[0].split("-c ", 1)[1].strip()
    local = unit.replace(installed_daemon, os.path.abspath(DAEMON)).replace(installed_conf, conf)
    path = os.path.join(tmp, "newsfeedd.service")
    with open(path, "w") as f:
        f.write(local)
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True)
    check(p.returncode == 0, "systemd-analyze verify: %s" % p.stderr)
    shutil.rmtree(tmp)
    pre = subprocess.run([DAEMON, "--check", "-c", conf], capture_output=True, text=True)
    check(pre.returncode == 0, "ExecStartPre --check passes on conf/newsfeedd.yaml: %s" % pre.stderr)
else:
    print("systemd-analyze not installed; verify skipped")
finish()
