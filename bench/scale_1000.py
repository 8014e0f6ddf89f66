"""SPEC §9 scale bar: 1,000 checks at a 1 s interval against a local
redis-server (900 tcp connect checks on its port, 100 redis PING checks),
run for DURATION seconds with DEBUG logs.  Measures probe start lateness
(the scheduler's `lateness_ms` debug record: how late each start came
against its plan, which is one interval after the previous plan), RSS and open fds sampled every
5 s (a dashboard-like GET /status and /metrics rides along each sample).
Bars: lateness p99 < 5 ms; RSS < 32 MB; no RSS growth (last sample within
1 MiB of the first after warm-up); fds flat.

    PREFLIGHTD_BIN=build-bench/preflightd /usr/bin/python3 bench/scale_1000.py
Env: BENCH_SCALE_TCP (900), BENCH_SCALE_REDIS (100), BENCH_SCALE_SECONDS (120)."""
import json
import os
import re
import sys
import time

import common

LATENESS_BAR_MS = 5.0
RSS_BAR_KB = 32 * 1024
GROWTH_SLACK_KB = 1024
FD_SLACK = 20
WARMUP_S = 10
SAMPLE_EVERY_S = 5
LATENESS_RE = re.compile(r"lateness_ms=(-?[\d.]+)")


def config(port, n_tcp, n_redis):
    checks = [{"name": "tcp-%04d" % i, "kind": "tcp",
               "address": "127.0.0.1:%d" % port,
               "interval": "1s", "timeout": "500ms"} for i in range(n_tcp)]
    checks += [{"name": "redis-%04d" % i, "kind": "redis",
                "url": "redis://127.0.0.1:%d/0" % port,
                "interval": "1s", "timeout": "500ms"} for i in range(n_redis)]
    return {"checks": checks}


def sample(d, t0):
    """One sample: (seconds since t0, RSS KiB, fds, /status ms, body bytes)."""
    s = time.perf_counter()
    _, _, body = d.get("/status", timeout=10)
    ms = (time.perf_counter() - s) * 1000.0
    d.get("/metrics", timeout=10)
    return (time.monotonic() - t0, common.rss_kb(d.pid),
            common.fd_count(d.pid), ms, len(body))


def lateness(d):
    """Every lateness_ms value the daemon logged, in log order."""
    out = []
    with open(d.stdout_path, errors="replace") as f:
        for line in f:
            if "lateness_ms=" not in line:
                continue
            m = LATENESS_RE.search(json.loads(line).get("message", ""))
            if m:
                out.append(float(m.group(1)))
    return out


def main():
    n_tcp = int(os.environ.get("BENCH_SCALE_TCP", "900"))
    n_redis = int(os.environ.get("BENCH_SCALE_REDIS", "100"))
    seconds = float(os.environ.get("BENCH_SCALE_SECONDS", "120"))
    n = n_tcp + n_redis
    srv = common.start_redis()
    tmp = common.mkdtemp("pf-bench-scale-")
    d = None
    try:
        d = common.start_daemon(tmp, config(srv.port, n_tcp, n_redis),
                                args=("--log-level", "debug"))
        t0 = time.monotonic()
        common.wait_all_run(d, n)
        samples = []
        while time.monotonic() - t0 < seconds:
            samples.append(sample(d, t0))
            time.sleep(SAMPLE_EVERY_S)
        _, doc = d.get_json("/status")
        statuses = {}
        for c in doc["checks"].values():
            statuses[c["status"]] = statuses.get(c["status"], 0) + 1
        rc = common.stop_daemon(d)
        lat_all = lateness(d)
    finally:
        if d:
            d.stop()
        srv.close()
    # Ticks are uniform over the run, so dropping the first WARMUP_S/run
    # share of records drops the warm-up.
    skip = int(len(lat_all) * WARMUP_S / max(seconds, 1))
    lat = lat_all[skip:]
    steady = [s for s in samples if s[0] >= WARMUP_S]
    first, last = steady[0], steady[-1]
    print("scale_1000: %d tcp + %d redis checks at 1 s on one redis-server, "
          "%.0fs run, exit %s" % (n_tcp, n_redis, seconds, rc))
    print("  statuses at the end: %s" % statuses)
    print("  lateness ms over %d ticks: p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f "
          "max %.3f (min %.3f)" % (len(lat), common.percentile(lat, 50),
                                   common.percentile(lat, 90),
                                   common.percentile(lat, 99),
                                   common.percentile(lat, 99.9), max(lat), min(lat)))
    for s in samples:
        print("  t=%5.1fs rss %6d KiB fds %4d /status %7.2f ms (%d bytes)" % s)
    p99 = common.percentile(lat, 99)
    peak_rss = max(s[1] for s in samples)
    fds = [s[2] for s in steady]
    all_pass = statuses.get("pass", 0) == n
    ok = common.result("scale_1000.lateness", "p99 %.3f ms (%d ticks)" %
                       (p99, len(lat)), "< %.0f ms" % LATENESS_BAR_MS,
                       p99 < LATENESS_BAR_MS and len(lat) >= n * (seconds - WARMUP_S) * 0.8)
    ok &= common.result("scale_1000.rss", "peak %.1f MiB" % (peak_rss / 1024.0),
                        "< 32 MiB", peak_rss < RSS_BAR_KB)
    ok &= common.result("scale_1000.rss_growth", "%d -> %d KiB" % (first[1], last[1]),
                        "+< %d KiB" % GROWTH_SLACK_KB,
                        last[1] - first[1] < GROWTH_SLACK_KB)
    ok &= common.result("scale_1000.fds", "%d -> %d (min %d max %d)" %
                        (first[2], last[2], min(fds), max(fds)),
                        "flat (+%d)" % FD_SLACK, max(fds) <= first[2] + FD_SLACK)
    if not all_pass:
        print("  FAIL: not every check passed: %s" % statuses)
    return 0 if ok and all_pass and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
