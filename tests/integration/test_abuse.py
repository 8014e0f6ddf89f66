"""The scripted attack pass (SPEC §6 connection limits, /run, §8 logs):
what one hostile client on the same network can do must not lock others
out, drive probes, or freeze the daemon.  Each test fails on a daemon
without the defence it names.

  - 512 idle keep-alive connections, from eight addresses: a fresh client
    still gets /healthz and /readyz within 100 ms, every time;
  - 1,000 half-open connections (a request head that never ends): the
    same, and they are shed once the head deadline passes; with
    nofile=256, 300 of them neither make /readyz unreachable nor make the
    checks fail for lack of descriptors;
  - a POST /run flood: at most one probe per run_min_spacing;
  - a log reader that stops reading: the daemon keeps answering and
    probing, counts what it drops and says so once the reader is back.
"""
import json
import os
import signal
import socket
import subprocess
import threading
import time

from harness.daemon import preflightd_bin, sanitizer_errors
from harness.net import free_port, recv_all

FRESH_MS = 100.0


def _request(port, path, method="GET", src=None, timeout=2.0):
    """One request on a fresh connection: (status, seconds, body)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    try:
        s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                   % (method, path)).encode())
        data = recv_all(s)
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), time.monotonic() - t0, body


def _fresh_clients_answered(port, rounds=20):
    """/healthz and /readyz from new connections, each within FRESH_MS."""
    worst = 0.0
    for _ in range(rounds):
        for path in ("/healthz", "/readyz"):
            code, took, _ = _request(port, path)
            assert code == 200, (path, code)
            worst = max(worst, took)
    assert worst * 1000 < FRESH_MS, "a fresh client waited %.0f ms" % (worst * 1000)
    return worst


def _keepalive(port, src):
    """A connection that made one request and then idles (keep-alive)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                 source_address=(src, 0))
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\nok\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return s


def _sources(n):
    return ["127.0.0.%d" % (2 + i) for i in range(n)]


def _up_check(listener):
    return {"name": "up", "kind": "tcp", "interval": "200ms", "timeout": "150ms",
            "address": "127.0.0.1:%d" % listener.getsockname()[1]}


def _listener():
    s = socket.socket()
    s.bind(("127.0.0.1", free_port()))
    s.listen(512)
    return s


def test_idle_keepalives_do_not_lock_others_out(daemon_factory):
    listener = _listener()
    d = daemon_factory({"checks": [_up_check(listener)]})
    d.wait_status("up", "pass")
    held = []
    try:
        for src in _sources(8):
            for _ in range(64):
                held.append(_keepalive(d.port, src))
        assert len(held) == 512
        _fresh_clients_answered(d.port)
        # the image's HEALTHCHECK is a client like any other
        r = subprocess.run([preflightd_bin(), "healthcheck", "--listen",
                            "127.0.0.1:%d" % d.port], capture_output=True, timeout=10)
        assert r.returncode == 0, r.stderr
        # one address holding more than its share evicts its own oldest
        for _ in range(100):
            held.append(_keepalive(d.port, "127.0.0.2"))
        _fresh_clients_answered(d.port, rounds=5)
    finally:
        for s in held:
            s.close()
        listener.close()


def _half_open(port, src):
    s = socket.create_connection(("127.0.0.1", port), timeout=2,
                                 source_address=(src, 0))
    s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    return s


def _trickle(socks, stop):
    """Slowloris: one more byte of the head on each socket every second,
    so that no read timeout ever fires."""
    while not stop.wait(1.0):
        for s in socks:
            try:
                s.send(b"a")
            except OSError:
                pass


def test_half_open_connections_are_shed(daemon_factory):
    listener = _listener()
    d = daemon_factory({"checks": [_up_check(listener)]})
    d.wait_status("up", "pass")
    fds0 = d.fd_count()
    held, stop = [], threading.Event()
    trickler = threading.Thread(target=_trickle, args=(held, stop), daemon=True)
    try:
        for src in _sources(16):
            for _ in range(63):
                if len(held) < 1000:
                    held.append(_half_open(d.port, src))
        trickler.start()
        _fresh_clients_answered(d.port)
        # the head deadline (5 s from the accept) sheds them all, however
        # steadily they trickle
        d.wait_for(lambda: d.fd_count() <= fds0 + 4, timeout=12,
                   what="half-open connections to be closed")
        assert d.get_json("/status/up")[1]["status"] == "pass"
    finally:
        stop.set()
        if trickler.is_alive():
            trickler.join()
        for s in held:
            s.close()
        listener.close()


def _wait_up(port, proc):
    for _ in range(100):
        assert proc.poll() is None, "preflightd exited %s" % proc.returncode
        try:
            if _request(port, "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("preflightd did not answer /healthz")


def test_half_open_with_few_descriptors(tmp_path):
    listener = _listener()
    (tmp_path / "c.json").write_text(json.dumps({"checks": [_up_check(listener)]}))
    port = free_port()
    out = open(tmp_path / "stdout", "wb")
    proc = subprocess.Popen(
        ["bash", "-c", 'ulimit -n 256 && exec "$@"', "sh", preflightd_bin(),
         "--config", str(tmp_path / "c.json"), "--listen", "127.0.0.1:%d" % port],
        stdout=out, stderr=subprocess.STDOUT)
    held = []
    try:
        _wait_up(port, proc)
        # stopped, the daemon finds all 300 queued and accepts them in
        # one burst: the admissions that evict must not pile up the
        # evicted descriptors (libevent closes them a loop turn later)
        proc.send_signal(signal.SIGSTOP)
        try:
            for src in _sources(5):
                for _ in range(60):
                    held.append(_half_open(port, src))
        finally:
            proc.send_signal(signal.SIGCONT)
        _fresh_clients_answered(port, rounds=10)
        time.sleep(1.0)	# five probes with every slot of the cap taken
        code, _, body = _request(port, "/status/up")
        doc = json.loads(body)
        assert code == 200 and doc["status"] == "pass", doc
        assert doc["consecutive_failures"] == 0, doc
    finally:
        for s in held:
            s.close()
        proc.terminate()
        rc = proc.wait(timeout=5)
        out.close()
        listener.close()
    logs = (tmp_path / "stdout").read_text()
    assert rc == 0, logs[-2000:]
    assert not sanitizer_errors(logs), logs
    assert "Too many open files" not in logs
    assert "out of file descriptors" not in logs, logs[-2000:]


class _Counter:
    """A listener that counts the connections the tcp probes open."""

    def __init__(self):
        self.sock = _listener()
        self.count = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def _flood(port, seconds, out):
    """POST /run?check=ondemand on one keep-alive connection, as fast as
    answers come."""
    end = time.monotonic() + seconds
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    f = s.makefile("rb")
    try:
        while time.monotonic() < end:
            s.sendall(b"POST /run?check=ondemand HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 0\r\n\r\n")
            status = f.readline()
            length = 0
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            out.append(int(status.split(b" ")[1]))
    finally:
        f.close()
        s.close()


def test_run_flood_starts_one_probe_per_spacing(daemon_factory):
    counter = _Counter()
    try:
        d = daemon_factory({"run_min_spacing": "2s", "checks": [
            {"name": "ondemand", "kind": "tcp", "interval": "off",
             "address": "127.0.0.1:%d" % counter.sock.getsockname()[1]}]})
        codes = []
        threads = [threading.Thread(target=_flood, args=(d.port, 9.0, codes))
                   for _ in range(4)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        worst = 0.0
        while any(t.is_alive() for t in threads):
            code, took, _ = _request(d.port, "/healthz")
            assert code == 200
            worst = max(worst, took)
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        time.sleep(0.5)
        assert len(codes) >= 1000, "only %d requests were answered" % len(codes)
        assert set(codes) == {202}, set(codes)
        allowed = int(elapsed / 2.0) + 2
        assert 1 <= counter.count <= allowed, (counter.count, allowed, len(codes))
        assert worst * 1000 < FRESH_MS, "/healthz waited %.0f ms" % (worst * 1000)
        # a page on another origin cannot make a browser run probes
        code, _, body = d.post("/run?check=ondemand",
                               headers={"Origin": "http://evil.example"})
        assert code == 403, body
    finally:
        counter.close()


def test_stalled_log_reader(tmp_path):
    """stdout a pipe nobody reads, debug logging at 200 probes a second
    (the pipe and the daemon's buffer fill within seconds)."""
    pause = float(os.environ.get("PF_ABUSE_LOG_PAUSE_S", "120"))
    listener = _listener()
    cfg = {"checks": [dict(_up_check(listener), interval="50ms", timeout="40ms")] +
           [dict(_up_check(listener), name="up%d" % i, interval="50ms", timeout="40ms")
            for i in range(9)]}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    port = free_port()
    r, w = os.pipe()
    err = open(tmp_path / "stderr", "wb")
    proc = subprocess.Popen([preflightd_bin(), "--config", str(tmp_path / "c.json"),
                             "--listen", "127.0.0.1:%d" % port, "--log-level", "debug"],
                            stdout=w, stderr=err)
    os.close(w)
    try:
        _wait_up(port, proc)
        end = time.monotonic() + pause
        runs, worst = [], 0.0
        while time.monotonic() < end:
            code, took, body = _request(port, "/status/up")
            assert code == 200
            worst = max(worst, took)
            runs.append(json.loads(body)["last_run"])
            time.sleep(0.5)
        assert worst * 1000 < FRESH_MS, "a request waited %.0f ms" % (worst * 1000)
        assert len(set(runs[-10:])) >= 5, "probes stopped: %r" % runs[-10:]
        metrics = _request(port, "/metrics")[2].decode()
        dropped = [int(l.split()[1]) for l in metrics.splitlines()
                   if l.startswith("preflight_log_dropped_total ")]
        assert dropped and dropped[0] > 0, "nothing was dropped in %.0f s" % pause
        # the reader comes back: the daemon says what it lost
        os.set_blocking(r, False)
        text, end = b"", time.monotonic() + 10
        while b"records dropped" not in text and time.monotonic() < end:
            try:
                text += os.read(r, 1 << 20)
            except BlockingIOError:
                time.sleep(0.05)
        assert b"records dropped" in text
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        os.close(r)
        err.close()
        listener.close()
    assert not sanitizer_errors((tmp_path / "stderr").read_text())
