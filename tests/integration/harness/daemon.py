"""Runs preflightd for a test: writes a config file to a temp dir, starts
PREFLIGHTD_BIN on a free loopback port with JSON logs, waits for /healthz,
and offers get/post helpers.  On teardown it sends SIGTERM, asserts a clean
exit 0, and fails the test if a sanitizer reported anything on stderr."""
import http.client
import json
import os
import signal
import subprocess
import time

import pytest

from harness.net import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


def loop_turns(d):
    """The daemon's loop-turn histogram from /metrics: {le: cumulative
    count} (le as a float, +Inf as inf) and the longest turn (seconds)."""
    _, _, body = d.get("/metrics", timeout=60)
    buckets, longest = {}, 0.0
    for line in body.decode().splitlines():
        if line.startswith("preflight_loop_turn_cpu_seconds_bucket{le="):
            le = line.split('"')[1]
            buckets[float("inf") if le == "+Inf" else float(le)] = int(line.split()[-1])
        elif line.startswith("preflight_loop_turn_cpu_max_seconds "):
            longest = float(line.split()[-1])
    return buckets, longest


def turns_over(before, after, le):
    """Turns longer than le seconds between two loop_turns() histograms."""
    inf = float("inf")
    return (after[inf] - after[le]) - (before[inf] - before[le])


def preflightd_bin():
    return os.path.abspath(os.environ.get("PREFLIGHTD_BIN",
                                          os.path.join(ROOT, "build", "preflightd")))


def sanitizer_errors(text):
    """The lines of text that look like sanitizer reports."""
    return [l for l in text.splitlines() if any(m in l for m in SANITIZER_MARKS)]


def run_cli(args, env=None, timeout=30):
    """Runs preflightd with args; returns CompletedProcess (text mode) and
    fails on sanitizer output."""
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([preflightd_bin()] + list(args), capture_output=True,
                       text=True, env=e, timeout=timeout)
    bad = sanitizer_errors(p.stderr)
    assert not bad, "sanitizer reported:\n" + p.stderr
    return p


class Daemon:
    """One preflightd process.  config is a dict (written as JSON) or str;
    None runs it without --config (the built-in profile, from env)."""

    def __init__(self, tmpdir, config, env=None, args=()):
        self.dir = str(tmpdir)
        self.config_path = os.path.join(self.dir, "preflight.json")
        if config is not None:
            self.write_config(config)
        self.port = free_port()
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        e = dict(os.environ)
        e.pop("PREFLIGHT_LISTEN", None)
        e.pop("PREFLIGHT_CONFIG", None)
        e.update(env or {})
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [preflightd_bin()]
            + (["--config", self.config_path] if config is not None else [])
            + ["--listen", "127.0.0.1:%d" % self.port, "--log-format", "json"]
            + list(args),
            stdout=self._out, stderr=self._err, env=e)
        self.stopped = False
        self._wait_healthy()

    @property
    def pid(self):
        return self.proc.pid

    def write_config(self, config):
        text = config if isinstance(config, str) else json.dumps(config, indent=1)
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def _wait_healthy(self, timeout=10.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("preflightd exited with %s:\n%s" %
                                     (self.proc.returncode, self.stderr()))
            try:
                status, _, _ = self.get("/healthz", timeout=0.5)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("preflightd did not answer /healthz:\n" + self.stderr())

    def request(self, method, path, body=None, headers=None, timeout=5.0):
        """Returns (status, headers as a lower-cased dict, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=b"", **kw):
        return self.request("POST", path, body=body, **kw)

    def get_json(self, path):
        status, headers, body = self.get(path)
        return status, json.loads(body)

    def wait_for(self, pred, timeout=10.0, what="condition"):
        """Polls pred() until it returns a truthy value; returns it."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            last = pred()
            if last:
                return last
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))

    def wait_status(self, check, status, timeout=10.0):
        def pred():
            code, doc = self.get_json("/status/" + check)
            return doc if code == 200 and doc.get("status") == status else None
        return self.wait_for(pred, timeout, "%s to be %s" % (check, status))

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stdout(self):
        if not self._out.closed:
            self._out.flush()
        with open(self.stdout_path, "r", errors="replace") as f:
            return f.read()

    def stderr(self):
        if not self._err.closed:
            self._err.flush()
        with open(self.stderr_path, "r", errors="replace") as f:
            return f.read()

    def log_records(self):
        out = []
        for line in self.stdout().splitlines():
            line = line.strip()
            if line:
                out.append(json.loads(line))
        return out

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def stop(self, timeout=5.0):
        """SIGTERM; returns (exit code, seconds it took)."""
        if self.stopped:
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.stopped = True
        self._out.close()
        self._err.close()
        return rc, time.monotonic() - t0

    def check_clean(self):
        bad = sanitizer_errors(self.stderr())
        assert not bad, "sanitizer reported:\n" + self.stderr()


@pytest.fixture
def daemon_factory(tmp_path):
    """daemon_factory(config_dict_or_text, env=None) -> running Daemon."""
    started = []

    def make(config, env=None, args=()):
        sub = tmp_path / ("d%d" % len(started))
        sub.mkdir()
        d = Daemon(sub, config, env=env, args=args)
        started.append(d)
        return d

    yield make
    problems = []
    for d in started:
        was_stopped = d.stopped
        rc, _ = d.stop()
        if not was_stopped and rc != 0:
            problems.append("preflightd exited %s on SIGTERM:\n%s" % (rc, d.stderr()))
        bad = sanitizer_errors(d.stderr())
        if bad:
            problems.append("sanitizer reported:\n" + d.stderr())
    assert not problems, "\n".join(problems)
