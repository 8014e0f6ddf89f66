"""SPEC §9 throughput bar: GET /status from preflightd vs nginx (Debian's
nginx-light, worker_processes 1, access_log off) serving the same bytes as
a static file.  Both servers are pinned to CPU 0 and wrk to CPU 1 (taskset),
with the same wrk settings; rounds alternate between the two servers and the
best round of each counts.  Bar: preflightd/nginx >= 0.80.

    PREFLIGHTD_BIN=build-bench/preflightd /usr/bin/python3 bench/status_vs_nginx.py
Env: BENCH_NGINX_CHECKS (20 tcp checks), BENCH_NGINX_SECONDS (5 per round),
BENCH_NGINX_ROUNDS (3), BENCH_NGINX_CONNS (50)."""
import os
import re
import subprocess
import sys
import time
import urllib.request

import common

RATIO_BAR = 0.80



def config(port, n):
    """n tcp checks that pass (the tarpit accepts) and then stay quiet for
    10 minutes, so the body does not change during the measurement."""
    return {"checks": [{"name": "svc-%03d" % i, "kind": "tcp",
                        "address": "127.0.0.1:%d" % port,
                        "interval": "10m", "timeout": "2s"}
                       for i in range(n)]}


def start_nginx(tmp, body):
    """nginx on a free port serving body at /status, pinned to CPU 0."""
    os.makedirs(os.path.join(tmp, "www"))
    os.makedirs(os.path.join(tmp, "tmp"))
    with open(os.path.join(tmp, "www", "status"), "wb") as f:
        f.write(body)
    for p in (tmp, os.path.join(tmp, "www")):
        os.chmod(p, 0o755)  # the worker runs as nobody
    os.chmod(os.path.join(tmp, "www", "status"), 0o644)
    port = common.free_port()
    conf = os.path.join(tmp, "nginx.conf")
    last = None
    with open(conf, "w") as f:
        f.write(common.NGINX_CONF.format(dir=tmp, port=port))
    proc = subprocess.Popen(["taskset", "-c", "0", common.require_tool("nginx"),
                             "-c", conf], stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/status" % port,
                                        timeout=1) as r:
                return proc, port, r.read()
        except OSError as e:
            last = e
            if proc.poll() is not None:
                sys.exit("bench: nginx exited: %s" % proc.stderr.read().decode())
            time.sleep(0.05)
    proc.kill()
    sys.exit("bench: nginx did not answer: %s" % last)


def wrk(port, seconds, conns):
    """Requests/s of one wrk run (pinned to CPU 1); fails on errors."""
    out = common.run(["taskset", "-c", "1", common.require_tool("wrk"), "-t1",
                      "-c%d" % conns, "-d%ds" % seconds,
                      "http://127.0.0.1:%d/status" % port]).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m or "Non-2xx" in out or "Socket errors" in out:
        sys.exit("bench: wrk run failed or saw errors:\n" + out)
    return float(m.group(1))


def main():
    n = int(os.environ.get("BENCH_NGINX_CHECKS", "20"))
    seconds = int(os.environ.get("BENCH_NGINX_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_NGINX_ROUNDS", "3"))
    conns = int(os.environ.get("BENCH_NGINX_CONNS", "50"))
    tarpit = common.Tarpit()
    tmp = common.mkdtemp("pf-bench-nginx-")
    os.chmod(tmp, 0o755)  # nginx's worker (nobody) walks into it
    d = nginx = None
    try:
        d = common.start_daemon(os.path.join(tmp, "pf"), config(tarpit.port, n))
        common.run(["taskset", "-a", "-p", "-c", "0", str(d.pid)])
        common.wait_all_run(d, n)
        _, _, body = d.get("/status")
        nginx, nport, served = start_nginx(os.path.join(tmp, "ngx"), body)
        if served != body:
            sys.exit("bench: nginx does not serve the same bytes")
        pf, ng = [], []
        for _ in range(rounds):
            pf.append(wrk(d.port, seconds, conns))
            ng.append(wrk(nport, seconds, conns))
        _, _, after = d.get("/status")
        if after != body:
            print("  note: the /status body changed during the run")
    finally:
        if nginx:
            nginx.terminate()
            nginx.wait(timeout=5)
        rc = common.stop_daemon(d) if d else -1
        tarpit.close()
    ratio = max(pf) / max(ng)
    print("status_vs_nginx: body %d bytes (%d checks), wrk -t1 -c%d -d%ds, "
          "%d rounds, servers on CPU 0, wrk on CPU 1" %
          (len(body), n, conns, seconds, rounds))
    print("  preflightd req/s: %s" % " ".join("%.0f" % x for x in pf))
    print("  nginx      req/s: %s" % " ".join("%.0f" % x for x in ng))
    ok = common.result("status_vs_nginx.ratio", "%.0f vs %.0f req/s = %.2f" %
                       (max(pf), max(ng), ratio), ">= %.2f" % RATIO_BAR,
                       ratio >= RATIO_BAR)
    if rc != 0:
        print("  FAIL: preflightd exited %s" % rc)
    return 0 if ok and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
