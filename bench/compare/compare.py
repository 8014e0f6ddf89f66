"""Side-by-side benchmarks: preflightd against what users would run instead
(issue 17).  Starts, on 127.0.0.1 only and on ports below 32768, the anchors
from their Debian packages (prometheus-blackbox-exporter, nginx-light, monit;
pg_isready and psql from postgresql-client) beside preflightd, plus the
backends they probe (redis-server with requirepass, nginx serving a small
page, a PostgreSQL as an unprivileged user), and prints ratios from ONE run
whose rounds interleave the two sides:

  cpu      CPU per probe (utime+stime of the prober from /proc/PID/stat) at
           equal probe rates: preflightd with N checks at 1 s vs blackbox
           driven like Prometheus (GET /probe?target=..&module=.. at a fixed
           rate from this process, whose own CPU is not counted): tcp
           connect, redis AUTH+PING, http GET; postgres (client and server
           CPU) vs a pg_isready loop and a `psql -c 'select 1'` loop.
  status   GET /status vs nginx serving the same bytes (wrk, same settings).
  memory   RSS and RssAnon of preflightd (built-in profile, idle; and under
           the cpu rounds' load) vs monit (idle) and blackbox (idle, load).
  scale    RSS and probe-start lateness at 10, 100, 1,000 and 10,000 checks
           (the scheduler's `lateness_ms` DEBUG record, as scale_1000.py).
  startup  exec -> first /healthz 200 and first /readyz 200, three checks.

    PREFLIGHTD_BIN=build-bench/preflightd bench/compare/run.sh [--quick]

Every server and temp dir is removed on exit, on Ctrl-C and on failure."""
import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import common  # noqa: E402
import scale_1000  # noqa: E402
from harness.pg import PG_BIN, PgServer  # noqa: E402
from harness.profile_env import clean_env  # noqa: E402
from harness.redis import RedisServer  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")
REDIS_PW = "pf-bench-" + secrets.token_hex(6)
PROBE_RATE = 1000        # probes/s for tcp, redis, http (both sides)
PG_RATE = 10             # probes/s for postgres (every side)
DRIVER_CONNS = 16        # keep-alive connections of the blackbox driver
KEEP_UP = 0.95           # an anchor below this share of the rate "cannot keep up"

BARS = {}                # name -> (measured text, bar text, ok or None)

SMALL_PAGE = b"<!doctype html><title>ok</title><p>preflightd bench page</p>\n"


BLACKBOX_YML = """modules:
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  redis_auth:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      query_response:
        - send: "AUTH {pw}"
        - expect: "^\\\\+OK"
        - send: "PING"
        - expect: "^\\\\+PONG"
  http_get:
    prober: http
    timeout: 2s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      valid_status_codes: [200]
"""

MONIT_RC = """set daemon 1
set pidfile {dir}/monit.pid
set idfile {dir}/monit.id
set statefile {dir}/monit.state
set logfile {dir}/monit.log
check host bench-redis with address 127.0.0.1
  if failed port {redis} then alert
check host bench-web with address 127.0.0.1
  if failed port {nginx} protocol http request "/small" then alert
check host bench-pg with address 127.0.0.1
  if failed port {pg} protocol pgsql then alert
"""


# -- /proc ------------------------------------------------------------------
def _stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()  # fields from 3 (state) on


def cpu_s(pid, children=False):
    """utime+stime of pid in seconds (with children: + reaped children's)."""
    f = _stat(pid)
    t = int(f[11]) + int(f[12])
    if children:
        t += int(f[13]) + int(f[14])
    return t / HZ


def child_pids(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if int(_stat(int(name))[1]) == pid:
                    out.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    return out


def tree_cpu_s(pid):
    """CPU of pid, its live children and the children it reaped (postgres:
    the postmaster reaps every backend, so its cutime holds theirs)."""
    t = cpu_s(pid, children=True)
    for c in child_pids(pid):
        try:
            t += cpu_s(c)
        except OSError:
            pass
    return t


def mem_kb(pid):
    """(VmRSS, RssAnon) in KiB."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon"):
                out[k] = int(v.split()[0])
    return out.get("VmRSS", -1), out.get("RssAnon", -1)


def tree_mem_kb(pid):
    r, a = mem_kb(pid)
    for c in child_pids(pid):
        try:
            cr, ca = mem_kb(c)
            r, a = r + cr, a + ca
        except OSError:
            pass
    return r, a


def http_get(port, path, timeout=5.0):
    """(status, body) of one GET over a fresh connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                  % path.encode())
        data = b""
        while True:
            c = s.recv(65536)
            if not c:
                break
            data += c
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def wait_http(port, path, proc, what, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit("bench: %s exited with %s" % (what, proc.returncode))
        try:
            code, _ = http_get(port, path, timeout=1)
            if code == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("bench: %s did not answer %s" % (what, path))


def stop_proc(p, sig=signal.SIGTERM):
    if p is None or p.poll() is not None:
        return
    p.send_signal(sig)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(timeout=5)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# -- the backends and anchors -----------------------------------------------
class BenchPg(PgServer):
    """The harness's PostgreSQL (unprivileged user when root, SCRAM) with one
    role and database instead of the test fixtures; no statement log."""

    def __init__(self):
        super().__init__()
        self.extra_args = ["-c", "log_statement=none", "-c", "max_connections=100"]
        self.passwords["bench"] = "pf-bench-" + secrets.token_hex(6)

    def _setup(self):
        self.sql("postgres", "CREATE ROLE bench LOGIN PASSWORD '%s'" %
                 self.passwords["bench"])
        self.sql("postgres", "CREATE DATABASE bench OWNER bench")

    def bench_url(self):
        return "postgresql://bench:%s@127.0.0.1:%d/bench" % (
            self.passwords["bench"], self.port)


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []
        self.redis = self.pg = None
        self.n_daemon = 0

    def close(self):
        for p in reversed(self.procs):
            stop_proc(p)
        if self.redis:
            self.redis.close()
        if self.pg:
            self.pg.stop()

    def _spawn(self, argv, **kw):
        p = subprocess.Popen(argv, **kw)
        self.procs.append(p)
        return p

    def start_redis(self):
        for _ in range(3):
            srv = RedisServer(password=REDIS_PW)
            try:
                self.redis = srv.start()
                return
            except RuntimeError:
                srv.close()
        raise SystemExit("bench: redis-server did not start")

    def start_pg(self):
        self.pg = BenchPg()
        self.pg.start()

    def start_nginx(self):
        d = os.path.join(self.tmp, "nginx")
        for sub in ("www", "tmp"):
            os.makedirs(os.path.join(d, sub))
        for p in (self.tmp, d, os.path.join(d, "www")):
            os.chmod(p, 0o755)  # the worker runs as nobody
        self.www = os.path.join(d, "www")
        self.write_www("small", SMALL_PAGE)
        self.nginx_port = common.free_port()
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(common.NGINX_CONF.format(dir=d, port=self.nginx_port))
        # Pinned to CPU 0, wrk to CPU 1 (as bench/status_vs_nginx.py).
        self.nginx = self._spawn(["taskset", "-c", "0", common.require_tool("nginx"),
                                  "-c", conf], stderr=subprocess.DEVNULL)
        wait_http(self.nginx_port, "/small", self.nginx, "nginx")

    def write_www(self, name, body):
        path = os.path.join(self.www, name)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.chmod(path + ".tmp", 0o644)
        os.replace(path + ".tmp", path)

    def start_blackbox(self):
        d = os.path.join(self.tmp, "blackbox")
        os.makedirs(d)
        conf = os.path.join(d, "blackbox.yml")
        with open(conf, "w") as f:
            f.write(BLACKBOX_YML.format(pw=REDIS_PW))
        self.bb_port = common.free_port()
        self.blackbox = self._spawn(
            [common.require_tool("prometheus-blackbox-exporter"),
             "--config.file=" + conf,
             "--web.listen-address=127.0.0.1:%d" % self.bb_port,
             "--log.level=warn"], stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(d, "stderr.log"), "wb"))
        wait_http(self.bb_port, "/-/healthy", self.blackbox, "blackbox exporter")

    def start_monit(self):
        d = os.path.join(self.tmp, "monit")
        os.makedirs(d)
        rc = os.path.join(d, "monitrc")
        with open(rc, "w") as f:
            f.write(MONIT_RC.format(dir=d, redis=self.redis.port,
                                    nginx=self.nginx_port, pg=self.pg.port))
        os.chmod(rc, 0o600)  # monit refuses a control file others can read
        self.monit = self._spawn([common.require_tool("monit"), "-I", "-c", rc],
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)

    def daemon(self, config, env=None, args=()):
        self.n_daemon += 1
        return common.start_daemon(os.path.join(self.tmp, "pf%03d" % self.n_daemon),
                                   config, args=args) if env is None else \
            _daemon_env(os.path.join(self.tmp, "pf%03d" % self.n_daemon), env)

    # targets of each kind, the same for both sides
    def pf_check(self, kind, i):
        c = {"name": "%s-%05d" % (kind, i), "kind": kind,
             "interval": "1s", "timeout": "500ms"}
        if kind == "tcp":
            c["address"] = "127.0.0.1:%d" % self.nginx_port
        elif kind == "redis":
            c["url"] = self.redis.url(password=REDIS_PW)
        elif kind == "http":
            c["url"] = "http://127.0.0.1:%d/small" % self.nginx_port
        elif kind == "postgres":
            c["url"] = self.pg.bench_url()
        return c

    def bb_path(self, kind):
        if kind == "tcp":
            return "/probe?target=127.0.0.1:%d&module=tcp_connect" % self.nginx_port
        if kind == "redis":
            return "/probe?target=127.0.0.1:%d&module=redis_auth" % self.redis.port
        return ("/probe?target=http://127.0.0.1:%d/small&module=http_get" %
                self.nginx_port)


def _daemon_env(d, env):
    os.makedirs(d, exist_ok=True)
    common.require_binary()
    return common.Daemon(d, None, env=env)


def runs_total(d):
    """Sum of preflight_check_runs_total over every check (GET /metrics),
    and the monotonic time it stands for (the request's midpoint)."""
    t0 = time.monotonic()
    _, _, body = d.get("/metrics", timeout=10)
    t = (t0 + time.monotonic()) / 2
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.decode().splitlines()
               if l.startswith("preflight_check_runs_total{")), t


def statuses(d):
    _, doc = d.get_json("/status")
    out = {}
    for c in doc["checks"].values():
        out[c["status"]] = out.get(c["status"], 0) + 1
    return out


# -- the blackbox driver (Prometheus-like) ----------------------------------
async def _read_response(r):
    head = await r.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split()[1])
    hdr = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdr[k.strip().lower()] = v.strip()
    if "content-length" in hdr:
        return code, await r.readexactly(int(hdr["content-length"]))
    body = b""
    while True:  # chunked
        size = int((await r.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await r.readuntil(b"\r\n")
            return code, body
        body += (await r.readexactly(size + 2))[:-2]


async def _drive(port, path, rate, seconds, on_start):
    loop = asyncio.get_running_loop()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: Prometheus/2.42.0\r\n"
           "Accept: text/plain\r\n\r\n" % (path, port)).encode()
    n = int(rate * seconds)
    res = {"ok": 0, "fail": 0}
    streams = [await asyncio.open_connection("127.0.0.1", port)
               for _ in range(DRIVER_CONNS)]
    on_start()
    t0 = loop.time()
    hard_end = t0 + seconds * 1.5

    async def worker(j):
        r, w = streams[j]
        k = j
        while k < n and loop.time() < hard_end:
            delay = t0 + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            w.write(req)
            code, body = await _read_response(r)
            res["ok" if code == 200 and b"\nprobe_success 1" in body else "fail"] += 1
            k += DRIVER_CONNS
        w.close()
    await asyncio.gather(*(worker(j) for j in range(DRIVER_CONNS)))
    return res, loop.time() - t0


def bb_window(b, kind, seconds):
    """Blackbox probing kind at PROBE_RATE for seconds: dict of the window."""
    cpu0 = [0.0]
    asyncio.run(_drive(b.bb_port, b.bb_path(kind), PROBE_RATE, 0.2, lambda: None))  # warm
    res, elapsed = asyncio.run(_drive(b.bb_port, b.bb_path(kind), PROBE_RATE, seconds,
                                      lambda: cpu0.__setitem__(0, cpu_s(b.blackbox.pid))))
    cpu = cpu_s(b.blackbox.pid) - cpu0[0]
    probes = res["ok"] + res["fail"]
    rss, anon = mem_kb(b.blackbox.pid)
    return {"cpu_ms": cpu * 1000.0 / max(probes, 1), "rate": probes / elapsed,
            "fail": res["fail"], "rss": rss, "anon": anon}


def pf_window(b, kind, seconds, warm, rate):
    """preflightd probing kind `rate` times a second for seconds: `rate`
    checks at 1 s; postgres: rate/2 checks at 500 ms (fewer than 64 checks
    start together, so smaller batches keep the window's count smoother)."""
    if kind == "postgres":
        checks = [dict(b.pf_check(kind, i), interval="500ms", timeout="400ms")
                  for i in range(max(1, rate // 2))]
    else:
        checks = [b.pf_check(kind, i) for i in range(rate)]
    d = b.daemon({"checks": checks})
    try:
        time.sleep(warm)
        # The two /metrics reads that count the probes stay outside the
        # CPU window (1,000 checks: ~25 ms of rendering each, 5-10 % of a
        # 5 s window); the probe rate comes from them, the CPU from the
        # window between them.
        r0, tr0 = runs_total(d)
        s0 = tree_cpu_s(b.pg.proc.pid) if kind == "postgres" else 0
        c0, t0 = cpu_s(d.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_s(d.pid), time.monotonic()
        s1 = tree_cpu_s(b.pg.proc.pid) if kind == "postgres" else 0
        r1, tr1 = runs_total(d)
        rss, anon = mem_kb(d.pid)
        st = statuses(d)
    finally:
        common.stop_daemon(d)
    rate = max(r1 - r0, 1) / (tr1 - tr0)
    probes = rate * (t1 - t0)
    return {"cpu_ms": (c1 - c0) * 1000.0 / probes, "rate": rate,
            "server_ms": (s1 - s0) * 1000.0 / probes,
            "fail": sum(v for k, v in st.items() if k != "pass"), "rss": rss,
            "anon": anon}


def pg_anchor_window(b, which, seconds):
    """pg_isready or psql -c 'select 1' spawned PG_RATE times a second;
    client CPU from wait4's rusage, server CPU from the postgres tree."""
    if which == "pg_isready":
        argv = [os.path.join(PG_BIN, "pg_isready"), "-q", "-h", "127.0.0.1",
                "-p", str(b.pg.port), "-d", "bench", "-U", "bench"]
    else:
        argv = [os.path.join(PG_BIN, "psql"), "-X", "-q", "-At", "-h", "127.0.0.1",
                "-p", str(b.pg.port), "-U", "bench", "-d", "bench",
                "-c", "select 1"]
    env = dict(os.environ, PGPASSWORD=b.pg.passwords["bench"], PGCONNECT_TIMEOUT="5")
    n = int(PG_RATE * seconds)
    client = 0.0
    fails = 0
    s0 = tree_cpu_s(b.pg.proc.pid)
    t0 = time.monotonic()
    for k in range(n):
        delay = t0 + k / PG_RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pid = os.posix_spawn(argv[0], argv, env,
                             file_actions=[(os.POSIX_SPAWN_OPEN, 1, os.devnull,
                                            os.O_WRONLY, 0)])
        _, status, ru = os.wait4(pid, 0)
        client += ru.ru_utime + ru.ru_stime
        fails += status != 0
    elapsed = time.monotonic() - t0
    time.sleep(0.05)  # let the postmaster reap the last backend
    s1 = tree_cpu_s(b.pg.proc.pid)
    return {"cpu_ms": client * 1000.0 / n, "server_ms": (s1 - s0) * 1000.0 / n,
            "rate": n / elapsed, "fail": fails}


# -- /status vs nginx --------------------------------------------------------
def wrk(port, seconds, conns, path="/status"):
    out = common.run(["taskset", "-c", "1", common.require_tool("wrk"), "-t1",
                      "-c%d" % conns, "-d%ds" % seconds,
                      "http://127.0.0.1:%d%s" % (port, path)]).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit("bench: wrk run failed or saw errors:\n" + out)
    return float(m.group(1)), int(n.group(1))


def status_vs_nginx(b, rounds, seconds, conns=50, n=20):
    d = b.daemon({"checks": [dict(b.pf_check("tcp", i), interval="10m",
                                  timeout="2s") for i in range(n)]})
    pf, ng = [], []
    try:
        common.run(["taskset", "-a", "-p", "-c", "0", str(d.pid)])
        common.wait_all_run(d, n)
        _, _, body = d.get("/status")
        b.write_www("status", body)
        if http_get(b.nginx_port, "/status")[1] != body:
            raise SystemExit("bench: nginx does not serve the same bytes")
        for i in range(rounds):
            for side in (("pf", "ng") if i % 2 == 0 else ("ng", "pf")):
                pid, port = (d.pid, d.port) if side == "pf" else (b.nginx.pid, b.nginx_port)
                c0 = tree_cpu_s(pid) if side == "ng" else cpu_s(pid)
                rps, reqs = wrk(port, seconds, conns)
                c1 = tree_cpu_s(pid) if side == "ng" else cpu_s(pid)
                (pf if side == "pf" else ng).append((rps, (c1 - c0) * 1e6 / reqs))
        changed = d.get("/status")[2] != body
    finally:
        common.stop_daemon(d)
    return {"bytes": len(body), "pf": pf, "ng": ng, "changed": changed,
            "conns": conns, "seconds": seconds}


# -- scale, startup, idle memory --------------------------------------------
def scale_point(b, n, interval_s, seconds):
    cfg = {"checks": [dict(b.pf_check("tcp", i), interval="%ds" % interval_s,
                           timeout="500ms") for i in range(n)]}
    d = b.daemon(cfg, args=("--log-level", "debug"))
    peak = (0, 0)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            r = mem_kb(d.pid)
            peak = (max(peak[0], r[0]), max(peak[1], r[1]))
            time.sleep(0.5)
        rc = common.stop_daemon(d)
    finally:
        d.stop()
    lat = scale_1000.lateness(d)
    if interval_s == 1:  # drop the start-up: the first 2 s (quick: 1 s)
        lat = lat[int(len(lat) * min(2.0, seconds / 2.0) / seconds):]
    return {"n": n, "interval": interval_s, "rss": peak[0], "anon": peak[1],
            "ticks": len(lat), "p50": common.percentile(lat, 50),
            "p99": common.percentile(lat, 99), "p999": common.percentile(lat, 99.9),
            "max": max(lat) if lat else float("nan"), "rc": rc,
            "seconds": seconds}


def startup(b, reps):
    """exec -> first /healthz 200 and -> first /readyz 200 (ms), three
    local checks (tcp, redis AUTH, http GET)."""
    cfg = {"checks": [b.pf_check("tcp", 0), b.pf_check("redis", 0),
                      b.pf_check("http", 0)]}
    out = []
    for _ in range(reps):
        b.n_daemon += 1
        d = os.path.join(b.tmp, "pf%03d" % b.n_daemon)
        os.makedirs(d)
        conf = os.path.join(d, "preflight.json")
        with open(conf, "w") as f:
            json.dump(cfg, f)
        port = common.free_port()
        t0 = time.perf_counter()
        p = subprocess.Popen([common.require_binary(), "--config", conf, "--listen",
                              "127.0.0.1:%d" % port, "--log-format", "json"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = {}
        try:
            for path in ("/healthz", "/readyz"):
                while path not in got:
                    if time.perf_counter() - t0 > 10 or p.poll() is not None:
                        raise SystemExit("bench: no %s 200 within 10 s" % path)
                    try:
                        if http_get(port, path, timeout=1)[0] == 200:
                            got[path] = (time.perf_counter() - t0) * 1000.0
                            continue
                    except OSError:
                        pass
                    time.sleep(0.0005)
        finally:
            stop_proc(p)
        out.append(got)
    return out


def profile_idle(b, seconds):
    """The built-in profile (no config file): REDIS_URL, DATABASE_URL and
    CHAT_API_URL set, checks at their default 10 s interval."""
    env = clean_env(REDIS_URL=b.redis.url(password=REDIS_PW),
                    DATABASE_URL=b.pg.bench_url(),
                    CHAT_API_URL="http://127.0.0.1:%d" % b.nginx_port)
    d = b.daemon(None, env=env)
    try:
        time.sleep(seconds)
        r = mem_kb(d.pid)
        n = len(d.get_json("/status")[1]["checks"])
    finally:
        common.stop_daemon(d)
    return r, n


# -- report -----------------------------------------------------------------
def bar(name, measured, bar_text, ok):
    BARS[name] = (measured, bar_text, ok)


def mib(kb):
    return "%.1f" % (kb / 1024.0)


def report(cpu, pg, st, mem, scale, start, args, elapsed):
    print()
    print("## CPU per probe (%d probes/s; postgres %d/s), %d interleaved round(s) "
          "of %gs" % (PROBE_RATE, PG_RATE, args.rounds, args.seconds))
    print()
    print("| kind | preflightd ms/probe | blackbox ms/probe | ratio (median, min-max) "
          "| probes/s pf / bb | bar |")
    print("|---|---|---|---|---|---|")
    for kind in ("tcp", "redis", "http"):
        pf, bb = cpu[kind]["pf"], cpu[kind]["bb"]
        ratios = [x["cpu_ms"] / y["cpu_ms"] for y, x in zip(pf, bb)]
        slow = [x["rate"] for x in bb if x["rate"] < PROBE_RATE * KEEP_UP]
        fails = sum(x["fail"] for x in bb), sum(x["fail"] for x in pf)
        note = ""
        if slow:
            note = " (blackbox cannot keep up: %.0f/s)" % min(slow)
        if any(fails):
            note += " (failed probes bb %d, pf %d)" % fails
        r = med(ratios)
        ok = r >= 10.0 and not slow
        print("| %s | %.4f | %.4f | **%.1fx** (%.1f-%.1f)%s | %.0f / %.0f | >= 10x: %s |" %
              (kind, med([y["cpu_ms"] for y in pf]), med([x["cpu_ms"] for x in bb]), r,
               min(ratios), max(ratios), note, med([y["rate"] for y in pf]),
               med([x["rate"] for x in bb]), "PASS" if ok else "FAIL"))
        bar("cpu.%s" % kind, "%.1fx" % r, ">= 10x", ok)
    print()
    print("| postgres (SCRAM) | client ms/probe | server ms/probe | client+server "
          "ratio vs preflightd | probes/s |")
    print("|---|---|---|---|---|")
    pfs = pg["preflightd"]
    pf_tot = med([x["cpu_ms"] + x["server_ms"] for x in pfs])
    for who in ("preflightd", "pg_isready", "psql -c 'select 1'"):
        xs = pg[who]
        tot = med([x["cpu_ms"] + x["server_ms"] for x in xs])
        fails = sum(x["fail"] for x in xs)
        print("| %s | %.3f | %.3f | %s | %.1f%s |" % (
            who, med([x["cpu_ms"] for x in xs]), med([x["server_ms"] for x in xs]),
            "1.0x" if who == "preflightd" else "%.2fx" % (tot / pf_tot),
            med([x["rate"] for x in xs]), " (%d failed)" % fails if fails else ""))
    print()
    rps = [p[0] / n[0] for p, n in zip(st["pf"], st["ng"])]
    cpr = [n[1] / p[1] for p, n in zip(st["pf"], st["ng"])]
    print("## GET /status vs nginx, same %d bytes, wrk -t1 -c%d -d%ds, %d rounds "
          "(servers on CPU 0, wrk on CPU 1)" % (st["bytes"], st["conns"], st["seconds"],
                                                len(rps)))
    print()
    print("| | preflightd | nginx | ratio (median, min-max) | bar |")
    print("|---|---|---|---|---|")
    r = med(rps)
    print("| req/s | %.0f | %.0f | **%.2fx** (%.2f-%.2f) | >= 1.0x: %s |" % (
        med([p[0] for p in st["pf"]]), med([n[0] for n in st["ng"]]), r, min(rps),
        max(rps), "PASS" if r >= 1.0 else "FAIL"))
    print("| CPU us/request | %.2f | %.2f | %.2fx less | |" % (
        med([p[1] for p in st["pf"]]), med([n[1] for n in st["ng"]]), med(cpr)))
    bar("status_vs_nginx", "%.2fx" % r, ">= 1.0x", r >= 1.0)
    if st["changed"]:
        print("\nnote: the /status body changed during the run")
    print()
    print("## Memory (MiB)")
    print()
    print("| process | state | RSS | RssAnon |")
    print("|---|---|---|---|")
    for row in mem:
        print("| %s | %s | %s | %s |" % (row[0], row[1], mib(row[2]), mib(row[3])))
    prof = next(r for r in mem if r[0].startswith("preflightd") and "idle" in r[1])
    mon = next(r for r in mem if r[0] == "monit")
    bar("rss.profile_vs_monit", "%s vs %s MiB" % (mib(prof[2]), mib(mon[2])),
        "<= monit idle", prof[2] <= mon[2])
    print()
    print("## Scale: tcp checks, DEBUG logs (lateness_ms records)")
    print()
    print("| checks | interval | run | RSS peak | RssAnon peak | lateness p50 / p99 / "
          "p99.9 / max ms | ticks |")
    print("|---|---|---|---|---|---|---|")
    for s in scale:
        print("| %d | %ds | %gs | %s | %s | %.3f / **%.3f** / %.3f / %.3f | %d |" % (
            s["n"], s["interval"], s["seconds"], mib(s["rss"]), mib(s["anon"]),
            s["p50"], s["p99"], s["p999"], s["max"], s["ticks"]))
    by_n = {s["n"]: s for s in scale}
    if 10000 in by_n:
        s = by_n[10000]
        bar("rss.10000", "%s MiB" % mib(s["rss"]), "< 48 MB (45.8 MiB)",
            s["rss"] * 1024 < 48e6)
        bar("lateness.10000", "p99 %.3f ms" % s["p99"], "< 5 ms", s["p99"] < 5.0)
    if 1000 in by_n:
        s = by_n[1000]
        bar("lateness.1000", "p99 %.3f ms" % s["p99"], "<= 2 ms", s["p99"] <= 2.0)
    print()
    h = [x["/healthz"] for x in start]
    rz = [x["/readyz"] for x in start]
    print("## exec -> first 200, three local checks (tcp, redis, http), %d starts"
          % len(start))
    print()
    print("| | median ms | max ms |")
    print("|---|---|---|")
    print("| /healthz | %.1f | %.1f |" % (med(h), max(h)))
    print("| /readyz | %.1f | %.1f |" % (med(rz), max(rz)))
    bar("startup.readyz", "max %.1f ms" % max(rz), "<= 100 ms", max(rz) <= 100.0)
    bar("loop_turn_under_status", "see bench/status_at_10000.py", "<= 5 ms", None)
    print()
    print("## Bars")
    print()
    for name, (m, b_, ok) in BARS.items():
        print("BAR %-24s %-40s bar: %-20s %s" % (
            name, m, b_, "n/a" if ok is None else ("PASS" if ok else "FAIL")))
    print("\nrun time %.0f s, load average at the end: %s" % (
        elapsed, open("/proc/loadavg").read().split(" ", 3)[:3]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="one round, short windows (< 1 minute)")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.seconds, args.warm = 1, 1.5, 1.2
        wrk_s, starts, scale_plan = 2, 2, [(10, 1, 2), (100, 1, 2), (1000, 1, 3),
                                           (10000, 10, 11.5)]
    else:
        args.rounds, args.seconds, args.warm = 3, 5.0, 2.0
        wrk_s, starts, scale_plan = 5, 5, [(10, 1, 10), (100, 1, 10), (1000, 1, 20),
                                           (10000, 10, 25)]
    for tool in ("nginx", "wrk", "monit", "prometheus-blackbox-exporter", "taskset"):
        common.require_tool(tool)
    common.require_binary()
    t_start = time.monotonic()
    tmp = common.mkdtemp("pf-compare-")  # SIGTERM -> SystemExit: see common
    b = Bench(tmp)
    try:
        print("== %s, %s; load average %s" % (common.preflightd_bin(),
              "quick" if args.quick else "full",
              " ".join(open("/proc/loadavg").read().split()[:3])), flush=True)
        b.start_redis()
        b.start_pg()
        b.start_nginx()
        b.start_blackbox()
        bb_idle = mem_kb(b.blackbox.pid)
        b.start_monit()
        print("== %.1fs servers up: redis %d, postgres %d, nginx %d, blackbox %d" % (
            time.monotonic() - t_start, b.redis.port, b.pg.port, b.nginx_port,
            b.bb_port), flush=True)

        cpu = {k: {"pf": [], "bb": []} for k in ("tcp", "redis", "http")}
        pg = {"preflightd": [], "pg_isready": [], "psql -c 'select 1'": []}
        for rnd in range(args.rounds):
            for kind in ("tcp", "redis", "http"):
                order = ("pf", "bb") if rnd % 2 == 0 else ("bb", "pf")
                for side in order:
                    if side == "pf":
                        x = pf_window(b, kind, args.seconds, args.warm, PROBE_RATE)
                    else:
                        x = bb_window(b, kind, args.seconds)
                    cpu[kind][side].append(x)
                    print("  %5.1fs round %d %-5s %s %.4f ms/probe at %.0f/s" % (
                        time.monotonic() - t_start, rnd + 1, kind, side,
                        x["cpu_ms"], x["rate"]), flush=True)
            whos = list(pg)
            if rnd % 2:
                whos.reverse()
            for who in whos:
                if who == "preflightd":
                    x = pf_window(b, "postgres", args.seconds, args.warm, PG_RATE)
                else:
                    x = pg_anchor_window(b, who.split()[0], args.seconds)
                pg[who].append(x)
                print("  %5.1fs round %d postgres %s client %.3f server %.3f ms/probe "
                      "at %.1f/s" % (time.monotonic() - t_start, rnd + 1, who,
                                     x["cpu_ms"], x["server_ms"], x["rate"]),
                      flush=True)
        st = status_vs_nginx(b, max(2, args.rounds), wrk_s)
        print("  %5.1fs /status vs nginx: %s" % (time.monotonic() - t_start, st),
              flush=True)
        monit_idle = mem_kb(b.monit.pid)
        prof, n_prof = profile_idle(b, 1.5 if args.quick else 4.0)
        mem = [("preflightd (built-in profile, %d checks)" % n_prof, "idle",) + prof,
               ("monit", "idle, 3 checks every 1 s") + monit_idle,
               ("prometheus-blackbox-exporter", "idle, before any probe") + bb_idle,
               ("prometheus-blackbox-exporter", "idle, after the load") +
               mem_kb(b.blackbox.pid)]
        for kind in ("tcp", "redis", "http"):
            pf = max(cpu[kind]["pf"], key=lambda x: x["rss"])
            bb = max(cpu[kind]["bb"], key=lambda x: x["rss"])
            mem.append(("preflightd (1,000 %s checks)" % kind,
                        "load, %d probes/s" % PROBE_RATE, pf["rss"], pf["anon"]))
            mem.append(("prometheus-blackbox-exporter", "load, %d %s probes/s" %
                        (PROBE_RATE, kind), bb["rss"], bb["anon"]))
        # The scale points measure preflightd's own timer lateness: the
        # anchors' wake-ups (monit's cycle, blackbox's Go runtime, the
        # PostgreSQL background workers) would only add noise on 2 cores.
        stop_proc(b.monit)
        stop_proc(b.blackbox)
        b.pg.stop()
        b.pg = None
        scale = []
        for n, iv, secs in scale_plan:
            s = scale_point(b, n, iv, secs)
            scale.append(s)
            print("  %5.1fs scale %d checks: rss %d KiB, lateness p99 %.3f ms (%d "
                  "ticks)" % (time.monotonic() - t_start, n, s["rss"], s["p99"],
                              s["ticks"]), flush=True)
        start = startup(b, starts)
        report(cpu, pg, st, mem, scale, start, args, time.monotonic() - t_start)
    finally:
        b.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
