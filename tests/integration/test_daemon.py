"""The running daemon against real loopback peers: tcp checks on a live
listener, a refused port, a black hole and a tarpit; the HTTP surface, the
one-shot CLI, SIGHUP reloads, SIGTERM, HTTP limits and load."""
import json
import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness.daemon import run_cli
from harness.net import BlackHole, free_port, listen_low, recv_all, refused_port


class Listener:
    """Accepts and closes connections: a healthy tcp peer."""

    def __init__(self, port=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or free_port()))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(128)
        self.sock.settimeout(0.2)
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
                c.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self._t.join(timeout=2)
        self.sock.close()


@pytest.fixture
def listener():
    l = Listener()
    yield l
    l.close()


def tcp(name, port, **kw):
    c = {"name": name, "kind": "tcp", "address": "127.0.0.1:%d" % port,
         "interval": "1s", "timeout": "500ms"}
    c.update(kw)
    return c


def test_status_shape_and_reasons(daemon_factory, listener, blackhole, tarpit):
    refused = refused_port()
    d = daemon_factory({
        "checks": [tcp("up", listener.port), tcp("refused", refused),
                   tcp("hole", blackhole.port), tcp("pit", tarpit.port),
                   tcp("soft", refused, critical=False)],
        "groups": {"web": ["up"], "all": ["up", "refused"]},
    })
    up = d.wait_status("up", "pass")
    assert up["kind"] == "tcp" and up["critical"] is True
    assert up["target"] == "127.0.0.1:%d" % listener.port
    assert up["reason"] is None and up["error"] is None and up["hint"] is None
    assert up["details"] == {"address": "127.0.0.1", "address_class": "loopback"}
    assert up["last_success"] and up["last_run"]
    r = d.wait_status("refused", "fail")
    assert r["reason"] == "connect_refused" and "refused" in r["error"].lower()
    assert r["hint"] and r["consecutive_failures"] >= 1 and r["last_success"] is None
    h = d.wait_status("hole", "fail", timeout=5)
    assert h["reason"] == "connect_timeout", h
    # A tarpit accepts: a connect-only probe passes.
    assert d.wait_status("pit", "pass")["reason"] is None
    assert d.wait_status("soft", "warn")["reason"] == "connect_refused"

    code, headers, body = d.get("/status")
    assert code == 200 and headers["content-type"].startswith("application/json")
    doc = json.loads(body)
    assert doc["status"] == "fail" and doc["service"] == "preflightd"
    for key in ("version", "instance", "started_at", "generated_at"):
        assert doc[key], key
    assert set(doc["checks"]) == {"up", "refused", "hole", "pit", "soft"}
    assert doc["groups"]["web"] == {"status": "pass", "checks": ["up"]}
    assert doc["groups"]["all"]["status"] == "fail"

    code, doc = d.get_json("/status?group=web")
    assert code == 200 and set(doc["checks"]) == {"up"} and doc["status"] == "pass"
    assert d.get("/status?group=nope")[0] == 404
    assert d.get("/status/nope")[0] == 404
    assert d.get("/readyz?group=nope")[0] == 404
    assert d.get("/nowhere")[0] == 404
    assert d.request("DELETE", "/status")[0] == 405
    assert d.get("/run")[0] == 405
    assert d.get("/healthz")[0] == 200


def test_readyz_before_and_after_first_result(daemon_factory, listener, tarpit):
    # A check whose first result cannot exist yet when we ask: its first
    # probe is splayed and then hangs 2 s on a black hole.
    hole = BlackHole()
    try:
        d = daemon_factory({"checks": [tcp("up", listener.port),
                                       tcp("slow", hole.port, interval="5s",
                                           timeout="2s")],
                            "groups": {"core": ["up"], "slow": ["slow"]}})
        code, headers, body = d.get("/readyz?group=slow")
        assert code == 503, body
        doc = json.loads(body)
        assert doc["ready"] is False and doc["status"] == "fail"
        assert doc["failing"] == ["slow"]
        d.wait_status("up", "pass")
        code, _, body = d.get("/readyz?group=core")
        assert code == 200 and json.loads(body) == {
            "status": "pass", "ready": True, "failing": []}
        # the group in the path, as Kubernetes probes write it
        assert d.get("/readyz/core")[0] == 200
        assert d.get("/readyz/slow")[0] == 503
        assert d.get("/readyz/nope")[0] == 404
        # POST is accepted too, its body ignored (Flagger webhook).
        code, _, body = d.post("/readyz?group=core", body=b'{"name":"x"}',
                               headers={"Content-Type": "application/json"})
        assert code == 200 and json.loads(body)["ready"] is True
        # Once the black hole timed out, the whole daemon stays not ready.
        assert d.wait_status("slow", "fail", timeout=6)["reason"] == "connect_timeout"
        code, _, body = d.get("/readyz")
        assert code == 503 and json.loads(body)["failing"] == ["slow"]
    finally:
        hole.close()


def test_metrics_pass_promtool(daemon_factory, listener):
    d = daemon_factory({"checks": [tcp("up", listener.port),
                                   tcp("down", refused_port())],
                        "groups": {"g": ["up"]}})
    d.wait_status("down", "fail")
    code, headers, body = d.get("/metrics")
    assert code == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = body.decode()
    assert 'preflight_check_up{check="up",kind="tcp"} 1' in text
    assert 'preflight_check_up{check="down",kind="tcp"} 0' in text
    assert 'reason="connect_refused"' in text
    p = subprocess.run(["promtool", "check", "metrics"], input=body,
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout + p.stderr


def test_post_run_probes_now(daemon_factory):
    port = free_port()
    d = daemon_factory({"run_min_spacing": "0s",
                        "checks": [tcp("late", port, interval="1m", timeout="1s")]})
    d.wait_status("late", "fail")
    runs = d.get_json("/status/late")[1]["consecutive_failures"]
    l = Listener(port)
    try:
        code, _, _ = d.post("/run?check=late")
        assert code == 202
        d.wait_status("late", "pass", timeout=3)
        assert d.post("/run?check=nope")[0] == 404
        assert d.post("/run?group=nope")[0] == 404
        assert d.post("/run")[0] == 202
    finally:
        l.close()
    assert runs >= 1


def test_run_flood_starts_one_probe_per_spacing(daemon_factory, listener):
    """SPEC §6: at most one queued run per check and one start per
    run_min_spacing; a flood coalesces and the answer says so."""
    d = daemon_factory({"run_min_spacing": "2s",
                        "checks": [tcp("t", listener.port, interval="1m", timeout="1s")]})
    d.wait_status("t", "pass")

    def runs():
        _, _, metrics = d.get("/metrics")
        line = [l for l in metrics.decode().splitlines()
                if l.startswith('preflight_check_runs_total{check="t"')][0]
        return float(line.split()[-1])

    accepted = coalesced = 0
    t0 = time.monotonic()
    for _ in range(300):
        code, _, body = d.post("/run?check=t")
        assert code == 202
        doc = json.loads(body)
        accepted += len(doc["accepted"])
        coalesced += len(doc["coalesced"])
    assert time.monotonic() - t0 < 1.5
    # one run starts at once, one more is queued behind it: the rest join
    assert accepted <= 2 and accepted + coalesced == 300, (accepted, coalesced)
    time.sleep(max(0, 1.5 - (time.monotonic() - t0)))
    assert runs() == 2          # the first probe + the run started at once
    time.sleep(1.5)
    assert runs() == 1 + accepted  # the queued one, run_min_spacing later
    time.sleep(2.5)
    assert runs() == 1 + accepted  # and nothing more


def test_reload_keeps_a_run_waiting_for_its_spacing(daemon_factory, listener):
    """An accepted POST /run of an on-demand check, waiting for
    run_min_spacing, still runs after a SIGHUP that keeps the check."""
    d = daemon_factory({"run_min_spacing": "2s",
                        "checks": [tcp("od", listener.port, interval="off")]})
    assert d.post("/run?check=od")[0] == 202
    d.wait_status("od", "pass", timeout=3)
    t0 = time.monotonic()
    code, _, body = d.post("/run?check=od")
    assert code == 202 and json.loads(body)["accepted"] == ["od"], body
    d.signal(signal.SIGHUP)
    d.wait_for(lambda: any("configuration reloaded" in r.get("message", "")
                           for r in d.log_records()), what="the reload")
    assert _runs(d) == 1
    d.wait_for(lambda: _runs(d) == 2, timeout=5, what="the waiting run")
    # and not before its spacing, counted from the first run
    assert time.monotonic() - t0 > 1.5


def test_run_needs_a_token_from_elsewhere_and_refuses_cross_origin(daemon_factory, listener):
    d = daemon_factory({"run_token": "run-token-0123456789abc",
                        "checks": [tcp("t", listener.port)]})
    d.wait_status("t", "pass")
    # loopback without credentials: allowed (the sidecar's own pod)
    assert d.post("/run?check=t")[0] == 202
    # a wrong token is refused even from loopback
    code, hdrs, _ = d.post("/run", headers={"Authorization": "Bearer wrong"})
    assert code == 401
    assert d.post("/run", headers={"Authorization":
                                   "Bearer run-token-0123456789abc"})[0] == 202
    # a browser page elsewhere making the browser POST here
    code, _, body = d.post("/run", headers={"Origin": "http://evil.example"})
    assert code == 403 and b"cross-origin" in body
    assert d.post("/run", headers={"Origin": "http://127.0.0.1:%d" % d.port})[0] == 202


def test_oneshot_exit_codes(tmp_path, listener):
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"checks": [tcp("up", listener.port)]}))
    p = run_cli(["check", "--config", str(ok)])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "up" in p.stdout
    p = run_cli(["check", "--config", str(ok), "--format", "json"])
    assert p.returncode == 0 and json.loads(p.stdout)["checks"]["up"]["status"] == "pass"

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"checks": [tcp("up", listener.port),
                                          tcp("down", refused_port())],
                               "groups": {"g": ["up"]}}))
    p = run_cli(["check", "--config", str(bad)])
    assert p.returncode == 1, p.stdout + p.stderr
    assert "connect_refused" in p.stdout
    # The group filter only judges the group's checks.
    assert run_cli(["check", "--config", str(bad), "--group", "g"]).returncode == 0

    broken = tmp_path / "broken.json"
    broken.write_text('{"checks": [\n  {"name": "x", "kind": "tcp",, }]}')
    p = run_cli(["check", "--config", str(broken)])
    assert p.returncode == 2
    assert "broken.json:2:" in p.stderr, p.stderr
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"checks": [dict(tcp("x", 1), timeout="5x")]}))
    p = run_cli(["check", "--config", str(typo)])
    assert p.returncode == 2 and "checks[0].timeout" in p.stderr, p.stderr
    p = run_cli(["check", "--config", str(ok), "--bogus"])
    assert p.returncode == 2 and "usage" in p.stderr
    assert run_cli(["--nope"]).returncode == 2
    assert run_cli(["--version"]).stdout.startswith("preflightd ")
    assert run_cli(["--help"]).returncode == 0


def test_oneshot_wait_turns_ready(tmp_path):
    port = free_port()
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"checks": [tcp("late", port, interval="10s")]}))
    holder = {}

    def start_later():
        time.sleep(1.5)
        holder["l"] = Listener(port)

    t = threading.Thread(target=start_later)
    t.start()
    t0 = time.monotonic()
    try:
        p = run_cli(["check", "--config", str(cfg), "--wait", "10s"])
        took = time.monotonic() - t0
    finally:
        t.join()
        if "l" in holder:
            holder["l"].close()
    assert p.returncode == 0, p.stdout + p.stderr
    assert 1.0 < took < 6, took
    # Without a listener --wait gives up at the deadline with exit 1.
    t0 = time.monotonic()
    p = run_cli(["check", "--config", str(cfg), "--wait", "1500ms"])
    assert p.returncode == 1 and 1.3 < time.monotonic() - t0 < 5


def test_config_command_redacts(tmp_path):
    secrets = ["pgpw-4d1f9a", "redispw-8b3e20", "hdr-77c1aa", "tok-e93b57"]
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"checks": [
        tcp("x", 1234),
        {"name": "db", "kind": "postgres",
         "url": "postgresql://app:%s@127.0.0.1:5432/mobius_chat" % secrets[0]},
        {"name": "q", "kind": "redis", "url": "redis://:%s@127.0.0.1:6379/0" % secrets[1]},
        {"name": "api", "kind": "http", "url": "http://127.0.0.1:1/ready",
         "headers": {"X-Api-Key": secrets[2]}},
        {"name": "rt", "kind": "chat", "base_url": "http://127.0.0.1:1",
         "token": secrets[3]}]}))
    p = run_cli(["config", "--config", str(cfg)])
    assert p.returncode == 0, p.stderr
    assert "127.0.0.1:1234" in p.stdout
    for s in secrets:
        assert s not in p.stdout + p.stderr, s
    described = {c["name"]: c for c in json.loads(p.stdout)["checks"]}
    assert described["db"]["target"] == "postgresql://app:***@127.0.0.1:5432/mobius_chat"
    assert described["q"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert described["api"]["headers"] == {"X-Api-Key": "***"}
    assert described["rt"]["token"] == "***"
    p = run_cli(["config", "--config", str(tmp_path / "missing.json")])
    assert p.returncode == 2 and "missing.json" in p.stderr


def _runs(d):
    text = d.get("/metrics")[2].decode()
    return sum(float(l.split()[-1]) for l in text.splitlines()
               if l.startswith("preflight_check_runs_total{"))


def test_reload_of_5000_checks_keeps_their_rhythm_and_the_loop(daemon_factory):
    """A SIGHUP that changes nothing probes nothing and blocks nothing: the
    file is read on a helper thread and kept checks keep their schedule."""
    refused = refused_port()
    cfg = {"checks": [tcp("c%d" % i, refused, interval="60s", timeout="5s")
                      for i in range(5000)]}
    d = daemon_factory(cfg)
    d.wait_for(lambda: _runs(d) >= 5000, timeout=20, what="the first round")
    before = _runs(d)
    worst, stop = [0.0], []

    def poll():
        while not stop:
            t0 = time.monotonic()
            d.get("/healthz")
            worst[0] = max(worst[0], time.monotonic() - t0)
            time.sleep(0.005)
    t = threading.Thread(target=poll)
    t.start()
    try:
        time.sleep(0.2)
        d.signal(signal.SIGHUP)
        d.wait_for(lambda: any("configuration reloaded" in r.get("message", "")
                               for r in d.log_records()), what="the reload")
        time.sleep(0.5)
    finally:
        stop.append(True)
        t.join()
    assert _runs(d) == before, "the reload re-probed kept checks"
    assert worst[0] * 1000 < 100, "/healthz waited %.0f ms" % (worst[0] * 1000)


def test_file_values_from_a_fifo_or_too_big_refused_without_blocking(
        daemon_factory, listener, tmp_path):
    d = daemon_factory({"checks": [tcp("one", listener.port)]})
    d.wait_status("one", "pass")
    fifo = tmp_path / "token.fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big.txt"
    big.write_text("x" * (64 * 1024 + 1))
    for path, words in ((fifo, "not a regular file"), (big, "larger than 65536 bytes")):
        d.write_config({"checks": [tcp("one", listener.port,
                                       hints={"timeout": "${file:%s}" % path})]})
        d.signal(signal.SIGHUP)
        t0 = time.monotonic()
        for _ in range(10):
            assert d.get("/healthz", timeout=1)[0] == 200
        assert time.monotonic() - t0 < 2
        d.wait_for(lambda: any(words in r.get("message", "") and
                               r.get("severity") == "ERROR"
                               for r in d.log_records()),
                   what="the reload refusing %s" % path.name)
    assert d.get_json("/status/one")[1]["status"] == "pass"


def test_sighup_adds_check_and_broken_file_keeps_old(daemon_factory, listener):
    cfg = {"checks": [tcp("one", listener.port)]}
    d = daemon_factory(cfg)
    first = d.wait_status("one", "pass")
    cfg["checks"].append(tcp("two", listener.port))
    d.write_config(cfg)
    d.signal(signal.SIGHUP)
    d.wait_status("two", "pass", timeout=5)
    # The unchanged check kept its state (its first success time).
    assert d.get_json("/status/one")[1]["last_success"] >= first["last_success"]
    assert d.get_json("/status/one")[1]["status"] == "pass"
    d.write_config('{"checks": [ this is not json')
    d.signal(signal.SIGHUP)
    d.wait_for(lambda: any(r.get("severity") == "ERROR" for r in d.log_records()),
               what="an ERROR log about the broken file")
    code, doc = d.get_json("/status")
    assert code == 200 and set(doc["checks"]) == {"one", "two"}
    assert d.proc.poll() is None


def test_sigterm_exits_fast_and_not_ready(daemon_factory, tarpit):
    d = daemon_factory({"checks": [tcp("pit%d" % i, tarpit.port, timeout="900ms")
                                   for i in range(20)]})
    d.wait_status("pit0", "pass")
    rc, took = d.stop()
    assert rc == 0 and took < 2.0, (rc, took)
    d.check_clean()


def test_http_limits(daemon_factory, listener):
    d = daemon_factory({"checks": [tcp("up", listener.port)]})
    # An oversized header is refused, not buffered forever.
    code, _, _ = d.get("/healthz", headers={"X-Big": "a" * 20000})
    assert code in (400, 413, 431), code
    # A slowloris client trickling a request does not block others.
    slow = socket.create_connection(("127.0.0.1", d.port))
    slow.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    for _ in range(20):
        assert d.get("/healthz")[0] == 200
    assert time.monotonic() - t0 < 2
    slow.close()


def _percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def test_many_tarpit_checks_stay_fast_and_flat(daemon_factory, tarpit):
    d = daemon_factory({"checks": [tcp("t%03d" % i, tarpit.port, interval="1s",
                                       timeout="500ms") for i in range(200)]})
    d.wait_status("t199", "pass", timeout=10)
    time.sleep(1)
    fds0 = d.fd_count()
    lat = []
    end = time.monotonic() + 8
    samples = []
    while time.monotonic() < end:
        t0 = time.monotonic()
        code, _, _ = d.get("/status")
        lat.append(time.monotonic() - t0)
        assert code == 200
        samples.append(d.fd_count())
        time.sleep(0.02)
    fds1 = d.fd_count()
    assert _percentile(lat, 0.99) < 0.05, _percentile(lat, 0.99)
    # 200 probes come and go every second: the fd count must not grow.
    assert fds1 <= fds0 + 30 and max(samples) <= fds0 + 100, (fds0, fds1, max(samples))
    assert tarpit.accepted >= 400


def test_tcp_probe_closes_with_reset_and_leaves_no_socket(daemon_factory):
    """A tcp check's connection closes with RST: after dozens of probes to
    a peer that never accepts (the kernel completes the handshakes), none
    of ours lingers in FIN-WAIT or TIME-WAIT, and the check passes."""
    peer = listen_low(backlog=512)
    port = peer.getsockname()[1]
    try:
        d = daemon_factory({"checks": [tcp("held%d" % i, port, interval="100ms",
                                           timeout="80ms") for i in range(5)]})
        assert _probes_for_a_while(d, "held0") >= 40
        assert _lingering(port) == set()
        for i in range(5):
            assert d.get_json("/status/held%d" % i)[1]["status"] == "pass"
    finally:
        peer.close()


def _probes_for_a_while(d, first):
    """Once `first` passes, 1.5 s of probing (5 checks at 100 ms: ~75);
    returns how many probes completed in all."""
    d.wait_status(first, "pass")
    time.sleep(1.5)
    return _runs(d)


def _lingering(port):
    """Our side's sockets to 127.0.0.1:port in FIN-WAIT, TIME-WAIT or
    CLOSING (ss lines)."""
    out = subprocess.run(["ss", "-tanH", "dst", "127.0.0.1:%d" % port],
                         capture_output=True, text=True, timeout=10, check=True).stdout
    return {l for l in out.splitlines()
            if l.split()[0] in ("FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSING")}


def test_redis_probe_closes_with_reset_and_leaves_no_socket(daemon_factory, redis):
    """A redis check closes its connection with RST too, once the replies
    are in: after dozens of probes no socket of ours lingers in FIN-WAIT
    or TIME-WAIT towards the server (the harness's own readiness client
    may have left one before), and the check passes."""
    before = _lingering(redis.port)
    d = daemon_factory({"checks": [{"name": "r%d" % i, "kind": "redis", "url": redis.url(),
                                    "interval": "100ms", "timeout": "80ms"}
                                   for i in range(5)]})
    assert _probes_for_a_while(d, "r0") >= 40
    assert _lingering(redis.port) - before == set()
    for i in range(5):
        assert d.get_json("/status/r%d" % i)[1]["status"] == "pass"


def _raw(port, data, read=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.sendall(data)
    out = b""
    if read:
        s.shutdown(socket.SHUT_WR)
        out = recv_all(s)
    s.close()
    return out


def test_status_of_thousands_is_rendered_in_slices_and_whole(daemon_factory, listener):
    """A cold /status of 1,500 checks is rendered a slice per loop turn
    (pf_httpd_again): the answer is still one whole body, a pipelined
    request behind it is answered after it, and clients that leave while
    it is held cost nothing (the factory checks the exit and sanitizers)."""
    n = 1500
    d = daemon_factory({"checks": [tcp("c%04d" % i, listener.port, interval="10s")
                                   for i in range(n)]})
    deadline = time.monotonic() + 30
    while True:
        _, doc = d.get_json("/readyz")
        if doc.get("ready") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert doc.get("ready"), doc
    # Pipelined: the first /status (cold: held for several turns), then
    # /healthz behind it.
    out = _raw(d.port, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
               b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, rest = out.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    length = int([l.split(b":")[1] for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:")][0])
    body, second = rest[:length], rest[length:]
    doc = json.loads(body)
    assert len(doc["checks"]) == n and all(c["status"] == "pass" for c in doc["checks"].values())
    assert second.startswith(b"HTTP/1.1 200"), second[:100]
    _, _, page = d.get("/status")
    assert json.loads(page)["checks"].keys() == doc["checks"].keys()
    # A reload empties the cache again; clients that go away while their
    # /status is held.
    d.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    for _ in range(5):
        _raw(d.port, b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n", read=False)
    assert d.get("/healthz")[0] == 200
    _, doc = d.get_json("/status")
    assert len(doc["checks"]) == n
