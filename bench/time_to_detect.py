"""SPEC §9 time to detect: a redis-server dies, alternately killed (SIGKILL:
connects are refused) and frozen (SIGSTOP: connects hang until the probe
times out), and later returns (restart on the same port / SIGCONT);
/status/{check} is polled every 10 ms to time
how long until it shows `fail`, and after the restart until it shows
`pass` again.  Two checks watch the same server:
  fast: interval 1s, timeout 500ms, thresholds 1/1
  slow: interval 2s, timeout 1s, failure_threshold 2, success_threshold 2
Bar per check: threshold x interval + timeout (the worst case: the backend
dies just after a passing probe started), for detection and for recovery.
The recovery clock starts before redis-server is launched, so it includes
the server's own start-up.

    PREFLIGHTD_BIN=build-bench/preflightd /usr/bin/python3 bench/time_to_detect.py
Env: BENCH_DETECT_CYCLES (4)."""
import http.client
import json
import os
import random
import signal
import sys
import time

import common

CHECKS = {
    "fast": {"interval_s": 1.0, "timeout_s": 0.5, "fail_thr": 1, "ok_thr": 1},
    "slow": {"interval_s": 2.0, "timeout_s": 1.0, "fail_thr": 2, "ok_thr": 2},
}


def config(url):
    out = []
    for name, c in CHECKS.items():
        out.append({"name": name, "kind": "redis", "url": url,
                    "interval": "%gms" % (c["interval_s"] * 1000),
                    "timeout": "%gms" % (c["timeout_s"] * 1000),
                    "failure_threshold": c["fail_thr"],
                    "success_threshold": c["ok_thr"]})
    return {"checks": out}


def wait_states(d, want, t0, limit):
    """Polls every 10 ms until every check in want shows its status;
    returns {check: seconds since t0}, None for checks that never did."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
    seen = {}
    try:
        while len(seen) < len(want) and time.monotonic() - t0 < limit:
            for name in want:
                if name in seen:
                    continue
                conn.request("GET", "/status/" + name)
                doc = json.loads(conn.getresponse().read())
                if doc.get("status") == want[name]:
                    seen[name] = time.monotonic() - t0
            time.sleep(0.01)
    finally:
        conn.close()
    return {n: seen.get(n) for n in want}


def kill(srv):
    """The backend dies: SIGKILL, no goodbye."""
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait(timeout=5)
    srv.proc = None


def main():
    cycles = int(os.environ.get("BENCH_DETECT_CYCLES", "4"))
    srv = common.start_redis()
    detect = {n: [] for n in CHECKS}
    recover = {n: [] for n in CHECKS}
    d = None
    try:
        d = common.start_daemon(common.mkdtemp("pf-bench-detect-"),
                                config(srv.url()))
        wait_states(d, {n: "pass" for n in CHECKS}, time.monotonic(), 15)
        for i in range(cycles):
            frozen = i % 2 == 1
            time.sleep(random.uniform(0.5, 2.5))  # vary the phase vs ticks
            t0 = time.monotonic()
            if frozen:
                srv.pause()
            else:
                kill(srv)
            for n, s in wait_states(d, {n: "fail" for n in CHECKS}, t0, 15).items():
                detect[n].append(s)
            time.sleep(random.uniform(0.5, 2.5))
            t1 = time.monotonic()
            if frozen:
                srv.resume()
            else:
                srv.start()
            for n, s in wait_states(d, {n: "pass" for n in CHECKS}, t1, 15).items():
                recover[n].append(s)
    finally:
        rc = common.stop_daemon(d) if d else -1
        srv.close()
    ok = True
    for n, c in CHECKS.items():
        bar_f = c["fail_thr"] * c["interval_s"] + c["timeout_s"]
        bar_p = c["ok_thr"] * c["interval_s"] + c["timeout_s"]
        print("time_to_detect %s: interval %gs timeout %gs thresholds %d/%d" %
              (n, c["interval_s"], c["timeout_s"], c["fail_thr"], c["ok_thr"]))
        print("  cycles alternate kill/freeze; to fail: %s s; to pass: %s s" %
              (" ".join("%.3f" % x if x is not None else "never" for x in detect[n]),
               " ".join("%.3f" % x if x is not None else "never" for x in recover[n])))
        worst_f = max(x if x is not None else 1e9 for x in detect[n])
        worst_p = max(x if x is not None else 1e9 for x in recover[n])
        ok &= common.result("time_to_detect.%s.fail" % n, "worst %.3f s" % worst_f,
                            "<= %.1f s" % bar_f, worst_f <= bar_f)
        ok &= common.result("time_to_detect.%s.pass" % n, "worst %.3f s" % worst_p,
                            "<= %.1f s" % bar_p, worst_p <= bar_p)
    if rc != 0:
        print("  FAIL: preflightd exited %s" % rc)
    return 0 if ok and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
