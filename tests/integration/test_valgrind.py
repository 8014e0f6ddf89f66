"""The daemon under valgrind memcheck: every kind, passing and failing and
timing out, HTTP requests, a SIGHUP reload that adds and removes checks, and
SIGTERM.  Memcheck must report no errors and no definite or indirect leaks.
Uses the plain build (valgrind cannot run the sanitizer build), so the
sanitizer pass of scripts/test.sh deselects this file."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

from harness.daemon import ROOT
from harness.net import free_port, listen_low

PLAIN_BIN = os.path.join(ROOT, "build", "preflightd")


def _get(port, path, method="GET"):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _wait_http(port, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert proc.poll() is None, "preflightd exited under valgrind"
        try:
            if _get(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("preflightd under valgrind did not answer /healthz")


def _config(pg, redis, chat_api, listener, tarpit):
    fast = {"interval": "2s", "timeout": "1500ms"}
    return {"defaults": fast, "checks": [
        {"name": "tcp-up", "kind": "tcp", "address": "127.0.0.1:%d" % listener},
        {"name": "tcp-refused", "kind": "tcp", "address": "127.0.0.1:%d" % free_port(),
         "critical": False},
        {"name": "tcp-dns", "kind": "tcp", "address": "nope.nxdomain.test:80", "critical": False},
        {"name": "redis", "kind": "redis", "url": redis.url(),
         "queue": {"key": "mobius:chat:requests", "max_depth": 100}},
        {"name": "redis-tarpit", "kind": "redis",
         "url": "redis://127.0.0.1:%d" % tarpit.port, "critical": False},
        {"name": "pg", "kind": "postgres", "url": pg.url("mobius_chat"),
         "tables": {"chat_threads": ["id"], "chat_missing_table": []}, "critical": False},
        {"name": "pg-tarpit", "kind": "postgres", "critical": False,
         "url": "postgresql://u:pw@127.0.0.1:%d/db" % tarpit.port},
        {"name": "api", "kind": "http", "url": chat_api.base_url + "/health"},
        # Scheduled (chat defaults to on demand) so memcheck sees JWT minting.
        {"name": "chat", "kind": "chat", "base_url": chat_api.base_url, "interval": "2s",
         "jwt": {"secret": chat_api.jwt_secret, "ttl": "60s"},
         "poll_interval": "50ms", "critical": False},
        {"name": "chat-tarpit", "kind": "chat", "critical": False,
         "base_url": "http://127.0.0.1:%d" % tarpit.port, "timeout": "500ms"},
    ]}


def test_daemon_is_memcheck_clean(tmp_path, pg, redis, chat_api_factory, tarpit):
    chat_api = chat_api_factory(auth_mode="required",
                                jwt_secret="vg-secret-0123456789abcdef")
    lsock = listen_low()
    cfg = _config(pg, redis, chat_api, lsock.getsockname()[1], tarpit)
    path = tmp_path / "preflight.json"
    path.write_text(json.dumps(cfg))
    port = free_port()
    log = tmp_path / "valgrind.log"
    proc = subprocess.Popen(
        ["valgrind", "--error-exitcode=99", "--leak-check=full",
         "--errors-for-leak-kinds=definite,indirect", "--log-file=%s" % log,
         PLAIN_BIN, "--config", str(path), "--listen", "127.0.0.1:%d" % port,
         "--log-level", "debug"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(port, proc)
        time.sleep(5)
        for p in ("/status", "/metrics", "/readyz", "/status/pg", "/nope"):
            _get(port, p)
        assert _get(port, "/run", "POST")[0] == 202
        status = json.loads(_get(port, "/status")[1])
        assert status["checks"]["tcp-up"]["status"] == "pass"
        assert status["checks"]["pg"]["reason"] == "missing_table"
        # Reload: drop two checks (one may be mid-probe), add one.
        cfg["checks"] = [c for c in cfg["checks"] if c["name"] not in ("chat-tarpit", "redis")]
        cfg["checks"].append({"name": "tcp-up-2", "kind": "tcp",
                              "address": "127.0.0.1:%d" % lsock.getsockname()[1]})
        path.write_text(json.dumps(cfg))
        proc.send_signal(signal.SIGHUP)
        time.sleep(3)
        assert "tcp-up-2" in json.loads(_get(port, "/status")[1])["checks"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        lsock.close()
    report = log.read_text()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert rc == 0, "exit %s under valgrind:\n%s" % (rc, report[-4000:])
    assert summary and summary.group(1) == "0", report[-6000:]
    assert "definitely lost: 0 bytes" in report or "no leaks are possible" in report, report[-6000:]
