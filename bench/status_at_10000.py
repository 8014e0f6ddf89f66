"""10,000 tcp checks at 10 s against a local listener: RSS, and how long the
loop is held while GET /status (a ~3.2 MB body) is fetched every 50 ms.

The bar reads the daemon's own loop-turn histogram
(preflight_loop_turn_cpu_seconds, CPU time per turn) before and after the
polling: no turn over 5 ms meanwhile.  Beside it, a second process measures
what a probe poller would feel: the latency of GET /healthz on its own
keep-alive connection, every 2 ms.  A /healthz answer waits for whatever
loop turn is running, so its latency bounds the longest turn from above
(plus both processes' scheduling on 2 cores).  The first /status renders
in slices too; it is reported apart from the steady state that follows.

    PREFLIGHTD_BIN=build-bench/preflightd /usr/bin/python3 bench/status_at_10000.py
Env: BENCH_STATUS_CHECKS (10000), BENCH_STATUS_SECONDS (20).
Bars: RSS < 48 MB (45.8 MiB); no loop turn over 5 ms while polled."""
import http.client
import os
import subprocess
import sys
import time

import common

N = int(os.environ.get("BENCH_STATUS_CHECKS", "10000"))
SECONDS = float(os.environ.get("BENCH_STATUS_SECONDS", "20"))
RSS_BAR_KB = 48 * 1000 * 1000 // 1024
TURN_BAR_MS = 5.0

# The /healthz prober, a separate interpreter: no GIL shared with the
# process reading 3 MB bodies.  Prints "start latency_ms" per request
# (CLOCK_MONOTONIC, the same clock in both processes).
PROBER = r"""
import socket, sys, time
port, seconds = int(sys.argv[1]), float(sys.argv[2])
req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port))
end = time.monotonic() + seconds
out = []
while time.monotonic() < end:
    t = time.monotonic()
    s.sendall(req)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, _, body = buf.partition(b"\r\n\r\n")
    n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
         if l.lower().startswith(b"content-length:")][0]
    while len(body) < n:
        body += s.recv(4096)
    out.append((t, (time.monotonic() - t) * 1000))
    time.sleep(0.002)
print("\n".join("%.6f %.3f" % v for v in out))
"""


def fetch_status(port, seconds):
    """GET /status every 50 ms for `seconds`; returns the latencies (ms)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        c.request("GET", "/status")
        c.getresponse().read()
        out.append((time.monotonic() - t) * 1000)
        time.sleep(0.05)
    return out


def main():
    tmp = common.mkdtemp("pf-bench-status10k-")
    # A healthy tcp peer for every check: accepts and closes.
    sink = common.listen_low(backlog=4096)
    stopped = []
    common.serve_in_thread(sink, lambda c: c.close(), lambda: stopped)
    port = sink.getsockname()[1]
    checks = [{"name": "c%05d" % i, "kind": "tcp", "address": "127.0.0.1:%d" % port,
               "interval": "10s", "timeout": "1s"} for i in range(N)]
    d = common.start_daemon(tmp, {"checks": checks})
    try:
        time.sleep(12)  # every check has run once, the second round spread
        rss_idle = common.rss_kb(d.pid)
        prober = subprocess.Popen([sys.executable, "-c", PROBER, str(d.port), str(SECONDS + 1)],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        turns0 = common.loop_turns(d)
        t0 = time.monotonic()
        first = fetch_status(d.port, 0.01)[0]
        t1 = time.monotonic()
        turns1 = common.loop_turns(d)
        steady = fetch_status(d.port, SECONDS - (t1 - t0))
        rss_busy = common.rss_kb(d.pid)
        turns2 = common.loop_turns(d)
        lat = [tuple(map(float, l.split()))
               for l in prober.communicate(timeout=60)[0].splitlines()]
        cold = [ms for t, ms in lat if t0 - 0.01 <= t <= t1] or [0.0]
        hot = [ms for t, ms in lat if t > t1 + 0.01]
        print("RSS after the first rounds %.1f MiB, while /status is polled %.1f MiB"
              % (rss_idle / 1024, rss_busy / 1024))
        print("first /status %.1f ms; steady /status p50 %.1f ms max %.1f ms (%d)"
              % (first, common.percentile(steady, 50), max(steady), len(steady)))
        print("/healthz during the first /status: max %.2f ms" % max(cold))
        print("/healthz steady: p50 %.2f p99 %.2f p99.9 %.2f max %.2f ms (%d)"
              % (common.percentile(hot, 50), common.percentile(hot, 99),
                 common.percentile(hot, 99.9), max(hot), len(hot)))
        cold_long = common.turns_over(turns0[0], turns1[0], 0.005)
        hot_long = common.turns_over(turns1[0], turns2[0], 0.005)
        n_hot = turns2[0][float("inf")] - turns1[0][float("inf")]
        print("loop turns over 5 ms: during the first /status %d, while polled %d of %d "
              "(longest since start %.2f ms)" % (cold_long, hot_long, n_hot,
                                                 turns2[1] * 1000))
        for le in sorted(turns2[0]):
            print("  turns <= %-6s while polled: %d" % (
                le, turns2[0][le] - turns1[0][le]))
        ok_rss = max(rss_idle, rss_busy) < RSS_BAR_KB
        ok_turn = hot_long == 0
        common.result("status10k.rss", "idle %.1f / polled %.1f MiB" %
                      (rss_idle / 1024, rss_busy / 1024), "< 45.8 MiB", ok_rss)
        common.result("status10k.turn", "%d turns over 5 ms (/healthz max %.2f ms)" %
                      (hot_long, max(hot)), "0 over 5 ms", ok_turn)
    finally:
        common.stop_daemon(d)
        stopped.append(True)
        sink.close()
    return 0 if ok_rss and ok_turn else 1


if __name__ == "__main__":
    sys.exit(main())
