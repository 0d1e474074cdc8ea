"""Publishing over tls+tcp:// (tls.cert, tls.key): nngcat subscribes with
the certificate as its CA and reads the same messages as a plain
subscriber; a subscriber without TLS cannot connect to that endpoint."""
import os
import subprocess

import msgpack

from nftest import Daemon, check, finish, free_port, tmpdir, wait_until

tmp = tmpdir(prefix="nftest-tls-")
key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
tls_url = "tls+tcp://127.0.0.1:%d" % free_port()
plain_url = "tcp://127.0.0.1:%d" % free_port()
cfg = "tls:\n  cert: %s\n  key: %s\n" % (cert, key)
with Daemon(config=cfg, publish=[plain_url, tls_url]) as d:
    # mbedtls (nng's TLS) verifies DNS names, not IP addresses: dial by name
    cat = subprocess.Popen(["stdbuf", "-o0", "nngcat", "--sub", "--dial", tls_url.replace("127.0.0.1", "localhost"),
                            "--cacert", cert,
                            "--subscribe", "headline", "--msgpack", "--count", "1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        d.wait_subscribers(1)
        rc, out, err = d.push([{"id": "tls-1", "title": "over TLS"}])
        check(rc == 0, "push ok")
        data, errs = cat.communicate(timeout=15)
        msgs = list(msgpack.Unpacker(__import__("io").BytesIO(data), raw=True))
        check(len(msgs) == 1 and msgs[0].startswith(b"headline\x00"), "nngcat read a message over TLS: %r %r" % (data[:60], errs))
        if msgs:
            m = msgpack.unpackb(msgs[0].partition(b"\x00")[2])
            check(m["id"] == "tls-1" and m["seq"] == 1, "the TLS message is the item")
    finally:
        cat.kill()
        cat.wait()
    # a plain-TCP subscriber pointed at the TLS endpoint never becomes a subscriber
    plain = subprocess.Popen(["nngcat", "--sub", "--dial", tls_url.replace("tls+tcp", "tcp"), "--subscribe", "",
                              "--count", "1", "--recv-timeout", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    rc, out, err = d.push([{"title": "second"}])
    try:
        plain.wait(timeout=10)
    except subprocess.TimeoutExpired:
        plain.kill()
    check(plain.stdout.read() == b"", "plain TCP to the TLS endpoint gets nothing")
check(subprocess.run([os.path.join(os.environ.get("NF_BUILD_DIR", "build"), "src", "newsfeedd"), "--check",
                      "--publish", "tls+tcp://127.0.0.1:1"], capture_output=True, text=True).returncode == 1,
      "tls+tcp:// without tls.cert/key is refused by --check")
finish()
