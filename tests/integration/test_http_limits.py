"""The HTTP surface under descriptor exhaustion: a flood of idle clients
past the process's fd limit must not spin the loop (libevent retries a
failing accept() at once, forever, unless told otherwise) nor stop the
daemon from serving and probing once the flood is gone."""
import json
import os
import socket
import subprocess
import time

from harness.daemon import preflightd_bin, sanitizer_errors
from harness.net import free_port

FD_LIMIT = 96


def _cpu_ticks(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime


def _get(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.0\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1]), data.split(b"\r\n\r\n", 1)[1]


def test_accept_pauses_when_out_of_descriptors(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", free_port()))
    listener.listen(16)
    cfg = {"checks": [{"name": "up", "kind": "tcp", "interval": "500ms", "timeout": "300ms",
                       "address": "127.0.0.1:%d" % listener.getsockname()[1]}]}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    port = free_port()
    err = open(tmp_path / "stderr", "wb")
    out = open(tmp_path / "stdout", "wb")
    # `ulimit -n` lowers the hard limit too, so the daemon cannot raise it.
    proc = subprocess.Popen(
        ["bash", "-c", 'ulimit -n %d && exec "$@"' % FD_LIMIT, "sh", preflightd_bin(),
         "--config", str(tmp_path / "c.json"), "--listen", "127.0.0.1:%d" % port],
        stdout=out, stderr=err)
    flood = []
    try:
        for _ in range(100):
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        for _ in range(FD_LIMIT * 2):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            flood.append(s)
        time.sleep(0.5)
        t0 = _cpu_ticks(proc.pid)
        time.sleep(2.0)
        used = (_cpu_ticks(proc.pid) - t0) / os.sysconf("SC_CLK_TCK") / 2.0
        # Spinning on accept() costs most of a core; pausing costs next to nothing.
        assert used < 0.2, "daemon used %.0f%% of a core while out of fds" % (used * 100)
        for s in flood:
            s.close()
        flood = []
        time.sleep(0.5)
        assert proc.poll() is None, "daemon exited: %s" % proc.returncode
        code, body = _get(port, "/status")
        assert code == 200
        status = json.loads(body)
        assert status["checks"]["up"]["status"] == "pass"
    finally:
        for s in flood:
            s.close()
        proc.terminate()
        rc = proc.wait(timeout=5)
        listener.close()
        out.close()
        err.close()
    assert rc == 0
    logs = (tmp_path / "stdout").read_text() + (tmp_path / "stderr").read_text()
    assert not sanitizer_errors(logs), logs
    # What happened is logged once as a structured line, not as libevent noise.
    warned = [json.loads(line) for line in logs.splitlines()
              if line.startswith("{") and "pausing accept" in line]
    assert warned and warned[0]["severity"] == "WARNING", logs[-2000:]
    assert "[warn]" not in logs, logs[-2000:]
