"""Shared helpers for the benchmarks in bench/: paths to the binaries, the
integration-test harness (daemon runner, free ports, tarpit, redis-server),
percentiles, /proc sampling (RSS, fds), temp dirs removed at exit and the
one result-line format.  Traffic goes to 127.0.0.1 only; ports come from
harness.net.free_port.  Importing this module turns SIGTERM (what
`timeout` in run_all.sh sends) into SystemExit, so every `finally` and
atexit clean-up runs then too, as on Ctrl-C (see _exit_on_signal)."""
import atexit
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness.daemon import (Daemon, loop_turns, preflightd_bin,  # noqa: E402,F401
                            sanitizer_errors, turns_over)
from harness.net import (BlackHole, Tarpit, free_port, listen_low,  # noqa: E402,F401
                         serve_in_thread)
from harness.redis import RedisServer  # noqa: E402,F401


# nginx serving static files from {dir}/www on 127.0.0.1:{port}, one
# worker, no logs: the anchor of the /status throughput comparisons.
NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    default_type application/json;
    client_body_temp_path {dir}/tmp;
    proxy_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port};
        root {dir}/www;
    }}
}}
"""


def _exit_on_signal(signum, _frame):
    """The first SIGINT/SIGTERM unwinds (KeyboardInterrupt / SystemExit, so
    `finally` and atexit run); later ones are ignored so that they cannot
    cut that clean-up short (`timeout` and a terminal's Ctrl-C signal the
    whole process group, so a second copy often arrives)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _exit_on_signal)
signal.signal(signal.SIGINT, _exit_on_signal)


def mkdtemp(prefix):
    """A temp dir under /tmp that is removed when the script exits: normally,
    on failure, on Ctrl-C or on SIGTERM (a scale run's debug log is ~28 MB)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def require_binary():
    """Exits with a clear message when PREFLIGHTD_BIN does not exist."""
    path = preflightd_bin()
    if not os.path.exists(path):
        sys.exit("bench: %s not found: build it (ninja -C build) or set "
                 "PREFLIGHTD_BIN" % path)
    return path


def require_tool(name):
    path = shutil.which(name)
    if not path:
        sys.exit("bench: %s not installed: run scripts/deps.sh --bench" % name)
    return path


def percentile(values, p):
    """Nearest-rank percentile of values (p in 0..100); NaN when empty."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(math.ceil(p / 100.0 * len(s))) - 1))
    return s[k]


def rss_kb(pid):
    """Resident set size of pid in KiB (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def result(name, measured, bar, ok):
    """The one line each benchmark prints per bar (run_all.sh greps it)."""
    print("RESULT %-22s %-48s bar: %-18s %s" %
          (name, measured, bar, "PASS" if ok else "FAIL"), flush=True)
    return ok


def start_daemon(tmpdir, config, args=()):
    """A preflightd on a free loopback port (harness.daemon.Daemon)."""
    require_binary()
    os.makedirs(tmpdir, exist_ok=True)
    return Daemon(tmpdir, config, args=args)


def stop_daemon(d):
    """SIGTERM; returns the exit code, or -1 when a sanitizer reported
    anything on stderr (printed)."""
    rc, _ = d.stop()
    bad = sanitizer_errors(d.stderr())
    if bad:
        print("  sanitizer reported:\n" + d.stderr())
        return -1
    return rc


def start_redis():
    """A redis-server on a free loopback port; retries a lost port race."""
    last = None
    for _ in range(3):
        srv = RedisServer()
        try:
            return srv.start()
        except RuntimeError as e:
            srv.close()
            last = e
    raise last


def wait_all_run(d, n, timeout=30.0):
    """Waits until every check of d has completed at least one probe."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        code, doc = d.get_json("/status")
        if code == 200 and sum(1 for c in doc["checks"].values()
                               if c["status"] != "unknown") >= n:
            return doc
        time.sleep(0.2)
    raise SystemExit("bench: checks did not all complete a probe in %.0fs" % timeout)


def run(cmd, **kw):
    """subprocess.run with text output; raises on a non-zero exit."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)
