"""`preflightd check --wait`: the checks still failing and the time left,
updated in place on a terminal, plain lines otherwise (stderr; stdout
keeps the report)."""
import json
import os
import pty
import select
import subprocess
import threading
import time

from harness.daemon import preflightd_bin
from harness.net import free_port


def _config(tmp_path, port):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"checks": [
        {"name": "late-db", "kind": "tcp", "interval": "300ms", "timeout": "200ms",
         "address": "127.0.0.1:%d" % port}]}))
    return path


def _listen_later(port, delay):
    """The database comes up after delay seconds."""
    import socket
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def up():
        time.sleep(delay)
        s.bind(("127.0.0.1", port))
        s.listen(16)
    t = threading.Thread(target=up, daemon=True)
    t.start()
    return s, t


def test_wait_prints_plain_lines_when_not_a_terminal(tmp_path):
    port = free_port()
    sock, t = _listen_later(port, 2.5)
    try:
        r = subprocess.run([preflightd_bin(), "check", "--config", str(_config(tmp_path, port)),
                            "--wait", "10s"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, (r.stdout, r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.startswith("waiting")]
        assert lines and lines[0].startswith("waiting, ") and lines[0].endswith(" left: late-db"), r.stderr
        assert "\r" not in r.stderr and "\x1b" not in r.stderr
        assert "late-db" in r.stdout        # the report on stdout
    finally:
        t.join()
        sock.close()


def test_wait_updates_one_line_on_a_terminal(tmp_path):
    port = free_port()
    sock, t = _listen_later(port, 2.5)
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([preflightd_bin(), "check", "--config",
                              str(_config(tmp_path, port)), "--wait", "10s"],
                             stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        out, end = b"", time.monotonic() + 20
        while p.poll() is None and time.monotonic() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        p.wait(timeout=10)
        assert p.returncode == 0
        updates = out.count(b"\r\x1b[Kwaiting, ")
        assert updates >= 2, out
        assert b" left: late-db" in out
        assert out.endswith(b"\r\x1b[K"), out[-40:]   # the line is cleared
        assert b"\n" not in out.replace(b"\r\n", b""), out
    finally:
        os.close(master)
        t.join()
        sock.close()
