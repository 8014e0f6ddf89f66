"""The Chat API fixture (tests/fixtures/chat_api.py, a model of the real
mobius-chat service) with its worker, against a real redis-server
(harness.redis), on loopback ports below 32768; mint_jwt(), an HS256 access
token as the real service accepts them; plus probe_once(), which runs one
probe of a check with the PROBE_ONCE_BIN tool.

A server that does not start fails the test: never a skip."""
import base64
import hashlib
import hmac
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


def _wait(fn, what, timeout=10.0, proc=None):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            pytest.fail("%s exited with status %s" % (what, proc.returncode))
        try:
            if fn():
                return
        except OSError as e:
            last = e
        time.sleep(0.05)
    pytest.fail("%s did not start within %.0fs (%s)" % (what, timeout, last))


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint_jwt(secret, sub="preflightd", ttl=300, type="access", **extra_claims):
    """An HS256 JWT as mobius-user issues them: {"sub", "type", "iat",
    "exp"} plus extra_claims (a claim set to None is left out; ttl=None
    gives no exp)."""
    now = int(time.time())
    claims = {"sub": sub, "type": type, "iat": now}
    if ttl is not None:
        claims["exp"] = now + ttl
    claims.update(extra_claims)
    claims = {k: v for k, v in claims.items() if v is not None}
    head = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), ("%s.%s" % (head, body)).encode(),
                   hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, _b64url(sig))


class ChatAPI:
    """The fixture API + worker process, with runtime control.  Keyword
    options are the fixture's settings (see tests/fixtures/chat_api.py):
    jwt_secret, auth_mode, rate_limit, rate_window, thread_limit, queue,
    outcome, delay, worker, phi, turn_deadline, redis_retry, request_key,
    db, mode; tls=(cert, key, ca) serves HTTPS with cert, trusting ca in
    the harness's own requests."""

    OPTIONS = ("jwt_secret", "auth_mode", "rate_limit", "rate_window",
               "thread_limit", "queue", "outcome", "delay", "worker", "phi",
               "turn_deadline", "redis_retry", "request_key", "db", "mode")

    def __init__(self, redis, tls=None, **opts):
        bad = set(opts) - set(self.OPTIONS)
        if bad:
            raise TypeError("unknown ChatAPI option(s): %s" % ", ".join(sorted(bad)))
        self.redis = redis
        self.jwt_secret = opts.get("jwt_secret", "")
        self.port = free_port()
        scheme = "https" if tls else "http"
        self.base_url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self._ssl = ssl.create_default_context(cafile=tls[2]) if tls else None
        cmd = [PY, FIXTURE, "--port", str(self.port), "--redis-port", str(redis.port)]
        for k, v in opts.items():
            cmd += ["--" + k.replace("_", "-"), str(v)]
        if tls:
            cmd += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        # DEVNULL, not a pipe nobody reads: a full pipe would block it.
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _wait(lambda: self._get("/health")["status"] == "ok", "chat API fixture",
              proc=self.proc)

    def _get(self, path):
        with urllib.request.urlopen(self.base_url + path, timeout=5,
                                    context=self._ssl) as r:
            return json.loads(r.read())

    def control(self, **kw):
        """Switches settings at runtime (any OPTIONS key, or reset=True);
        returns the new state."""
        req = urllib.request.Request(self.base_url + "/_control",
                                     data=json.dumps(kw).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5, context=self._ssl) as r:
            return json.loads(r.read())

    def state(self):
        """Settings and counters (GET /_control)."""
        return self._get("/_control")

    def jwt(self, **kw):
        """A valid access JWT for this API's secret (mint_jwt keywords)."""
        return mint_jwt(self.jwt_secret, **kw)

    def check(self, **kw):
        """A chat check config aimed at this API (short poll interval); the
        caller adds "token" or "jwt" itself."""
        c = {"kind": "chat", "base_url": self.base_url,
             "poll_interval": "50ms", "timeout": "3s"}
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
    """Starts Chat API fixtures on demand: chat_api_factory(auth_mode=..., ...)."""
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
