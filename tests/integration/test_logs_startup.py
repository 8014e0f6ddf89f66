"""What the log says and how soon the daemon is ready (SPEC §8): a state
change logged with its hint and caused_by; a fatal configuration error in
the chosen format; journald's priority prefix when stdout is the journal;
the first /readyz 200 with three local checks soon after start."""
import json
import os
import socket
import subprocess
import time

from harness.daemon import preflightd_bin
from harness.net import free_port, listen_low, refused_port


def test_transition_log_has_hint_and_caused_by(daemon_factory):
    d = daemon_factory({"checks": [
        {"name": "chat-db", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
         "address": "127.0.0.1:%d" % refused_port()},
        {"name": "chat-api", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
         "address": "127.0.0.1:%d" % refused_port(), "depends_on": ["chat-db"]}]})
    d.wait_status("chat-api", "fail")

    def changed():
        return [r for r in d.log_records() if r.get("check") == "chat-api"
                and "is now fail" in r.get("message", "")]
    rec = d.wait_for(changed, what="the transition record")[0]
    assert rec["severity"] == "WARNING" and rec["reason"] == "connect_refused"
    assert "nothing listens" in rec["hint"]
    assert rec["caused_by"] == "chat-db"


def test_fatal_config_error_in_the_log_format(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"checks": [{"name": "x", "kind": "tcp", "adress": "h:1"}]}')
    r = subprocess.run([preflightd_bin(), "--config", str(cfg)], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2
    rec = json.loads(r.stderr.strip().splitlines()[-1])
    assert rec["severity"] == "ERROR" and "checks[0].adress: unknown key" in rec["message"]
    r = subprocess.run([preflightd_bin(), "--config", str(cfg), "--log-format", "text"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and r.stderr.startswith("preflightd: ")


def test_journald_priorities(tmp_path):
    out = tmp_path / "stdout"
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"checks": [
        {"name": "down", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
         "address": "127.0.0.1:%d" % refused_port()}]}))
    with open(out, "wb") as f:
        st = os.fstat(f.fileno())
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        p = subprocess.Popen([preflightd_bin(), "--config", str(cfg), "--log-format", "text",
                              "--listen", "127.0.0.1:%d" % free_port()],
                             stdout=f, stderr=subprocess.DEVNULL, env=env)
        time.sleep(1.0)
        p.terminate()
        p.wait(timeout=5)
    lines = out.read_text().splitlines()
    assert any(l.startswith("<4>") and "is now fail" in l for l in lines), lines
    assert any(l.startswith("<6>") and "listening on" in l for l in lines), lines
    assert all(l[:1] == "<" for l in lines), lines


def test_first_readyz_soon_after_start(tmp_path):
    listeners = [listen_low() for _ in range(3)]
    try:
        cfg = tmp_path / "c.json"
        cfg.write_text(json.dumps({"checks": [
            {"name": "c%d" % i, "kind": "tcp", "address": "127.0.0.1:%d" % s.getsockname()[1]}
            for i, s in enumerate(listeners)]}))
        port = free_port()
        t0 = time.monotonic()
        p = subprocess.Popen([preflightd_bin(), "--config", str(cfg), "--listen",
                              "127.0.0.1:%d" % port], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        try:
            ready = None
            while time.monotonic() - t0 < 5:
                try:
                    c = socket.create_connection(("127.0.0.1", port), timeout=1)
                    c.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if c.recv(64).startswith(b"HTTP/1.1 200"):
                        ready = time.monotonic() - t0
                        break
                    c.close()
                except OSError:
                    pass
                time.sleep(0.01)
            assert ready is not None and ready < 0.5, ready
        finally:
            p.terminate()
            p.wait(timeout=5)
    finally:
        for s in listeners:
            s.close()
