"""The Chat API fixture (tests/fixtures/chat_api.py) with its worker,
against a real redis-server (harness.redis), on loopback ports below 32768; plus
probe_once(), which runs one probe of a check with the PROBE_ONCE_BIN tool.

A server that does not start fails the test: never a skip."""
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from harness.net import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "chat_api.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def bin_path(env, default):
    """A binary from the environment (the sanitizer build sets them) or the
    default build directory, relative to the repository root."""
    p = os.environ.get(env, default)
    return p if os.path.isabs(p) else os.path.join(ROOT, p)


def probe_once_bin():
    return bin_path("PROBE_ONCE_BIN", "build/tests/probe_once")


def probe_once(check, timeout=30, args=()):
    """Runs one probe; returns (exit status, result dict or None, stderr)."""
    check = dict(check)
    check.setdefault("name", "t")
    p = subprocess.run([probe_once_bin(), json.dumps(check), *args],
                       capture_output=True, text=True, timeout=timeout)
    marks = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
    assert not any(m in p.stderr for m in marks), "sanitizer:\n" + p.stderr
    out = p.stdout.strip().splitlines()
    res = json.loads(out[-1]) if out else None
    return p.returncode, res, p.stderr


def _wait(fn, what, timeout=10.0):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            if fn():
                return
        except OSError as e:
            last = e
        time.sleep(0.05)
    pytest.fail("%s did not start within %.0fs (%s)" % (what, timeout, last))


class ChatAPI:
    """The fixture API + worker process, with runtime control."""

    def __init__(self, redis, token="", mode="normal", worker="run", delay=0.0,
                 tls=None):
        """tls: (cert, key, ca) to serve HTTPS with cert, trusting ca in
        the harness's own requests; None for plain HTTP."""
        self.redis = redis
        self.token = token
        self.port = free_port()
        scheme = "https" if tls else "http"
        self.base_url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self._ssl = ssl.create_default_context(cafile=tls[2]) if tls else None
        cmd = [PY, FIXTURE, "--port", str(self.port),
               "--redis-port", str(redis.port), "--mode", mode,
               "--worker", worker, "--delay", str(delay)]
        if token:
            cmd += ["--token", token]
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        # DEVNULL, not a pipe nobody reads: a full pipe would block it.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait(lambda: self._get("/health")["status"] == "ok", "chat API fixture")

    def _get(self, path):
        with urllib.request.urlopen(self.base_url + path, timeout=2,
                                    context=self._ssl) as r:
            return json.loads(r.read())

    def control(self, **kw):
        """Switches mode/worker/delay at runtime; returns the new state."""
        req = urllib.request.Request(self.base_url + "/_control",
                                     data=json.dumps(kw).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=2, context=self._ssl) as r:
            return json.loads(r.read())

    def state(self):
        return self._get("/_control")

    def check(self, **kw):
        """A chat check config aimed at this API (short poll interval)."""
        c = {"kind": "chat", "base_url": self.base_url,
             "poll_interval": "50ms", "timeout": "3s"}
        if self.token:
            c["token"] = self.token
        c.update(kw)
        return c

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def chat_redis(redis):
    """The Redis the API and worker share (harness.redis's server)."""
    return redis


@pytest.fixture
def chat_api_factory(chat_redis):
    """Starts Chat API fixtures on demand: chat_api_factory(token=..., ...)."""
    apis = []

    def make(**kw):
        api = ChatAPI(chat_redis, **kw)
        apis.append(api)
        return api

    yield make
    for a in apis:
        a.close()


@pytest.fixture
def chat_api(chat_api_factory):
    return chat_api_factory()
