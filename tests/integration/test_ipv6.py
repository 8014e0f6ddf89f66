"""IPv6 end to end on ::1: bracketed addresses in every kind that takes
one, the address actually used in details, and its class."""
import socket
import subprocess
import shutil
import tempfile
import time

import pytest

from harness.chat import probe_once
from harness.net import PORT_HI, PORT_LO, free_port, serve_in_thread


def bind_v6(sock):
    """Binds sock to ::1 on a free port below 32768 (the harness's range)."""
    import random
    for _ in range(200):
        port = random.randint(PORT_LO, PORT_HI)
        try:
            sock.bind(("::1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port on ::1")


@pytest.fixture
def v6_listener():
    s = socket.socket(socket.AF_INET6)
    port = bind_v6(s)
    s.listen(16)
    yield port
    s.close()


@pytest.fixture
def v6_redis():
    d = tempfile.mkdtemp(prefix="pf-redis6-")
    try:
        yield from _redis_on_v6(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _redis_on_v6(d):
    for _ in range(20):
        port = free_port()
        p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "::1",
                              "--save", "", "--appendonly", "no", "--dir", d],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                socket.create_connection(("::1", port), timeout=0.2).close()
                yield port
                p.terminate()
                p.wait(timeout=5)
                return
            except OSError:
                if p.poll() is not None:
                    break
                time.sleep(0.1)
        p.kill()
        p.wait()
    pytest.fail("redis-server did not start on ::1")


def test_tcp_on_v6_loopback(v6_listener):
    rc, res, _ = probe_once({"kind": "tcp", "address": "[::1]:%d" % v6_listener})
    assert rc == 0, res
    assert res["details"]["address"] == "::1"
    assert res["details"]["address_class"] == "loopback"


def test_tcp_refused_on_v6():
    s = socket.socket(socket.AF_INET6)
    port = bind_v6(s)
    s.close()
    rc, res, _ = probe_once({"kind": "tcp", "address": "[::1]:%d" % port})
    assert (rc, res["reason"]) == (1, "connect_refused"), res


def test_redis_on_v6_loopback(v6_redis):
    rc, res, _ = probe_once({"kind": "redis", "url": "redis://[::1]:%d/0" % v6_redis})
    assert rc == 0, res
    assert res["details"]["address"] == "::1"
    assert res["details"]["address_class"] == "loopback"


def test_http_on_v6_loopback():
    import http.server
    import threading

    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6

    class Ok(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *a):
            pass

    probe = socket.socket(socket.AF_INET6)
    port = bind_v6(probe)
    probe.close()
    srv = Server(("::1", port), Ok)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        rc, res, _ = probe_once({"kind": "http", "url": "http://[::1]:%d/health" % srv.server_address[1],
                                 "body_contains": "ok"})
        assert rc == 0, res
    finally:
        srv.shutdown()
        srv.server_close()


def _accepting(family, host):
    """A listener on host that accepts and closes (so its queue never
    fills); returns (socket, port, stop)."""
    s = socket.socket(family)
    port = bind_v6(s) if family == socket.AF_INET6 else None
    if port is None:
        port = free_port()
        s.bind((host, port))
    s.listen(64)
    stop = []
    serve_in_thread(s, lambda c: c.close(), lambda: stop)
    return s, port, stop


def _metric(d, name, check):
    text = d.get("/metrics")[2].decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name + "{") and 'check="%s"' % check in line)


def _side_by_side(d):
    d.wait_for(lambda: all(_metric(d, "preflight_check_runs_total", c) >= 6
                           for c in ("mapped", "v6")),
               timeout=15, what="six rounds of both checks")
    for c in ("mapped", "v6"):
        assert _metric(d, "preflight_check_failures_total", c) == 0, d.get("/status")[2]


def test_v4_mapped_and_native_v6_tcp_checks_side_by_side(daemon_factory):
    """The tcp kind keeps disconnected sockets for its next probes: one that
    connected to a v4-mapped address must not serve a native IPv6 check
    (it would stay on the IPv4 path and its connect would hang)."""
    l4, p4, stop4 = _accepting(socket.AF_INET, "127.0.0.1")
    l6, p6, stop6 = _accepting(socket.AF_INET6, "::1")
    try:
        _side_by_side(daemon_factory({"checks": [
            {"name": "mapped", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
             "address": "[::ffff:127.0.0.1]:%d" % p4},
            {"name": "v6", "kind": "tcp", "interval": "300ms", "timeout": "250ms",
             "address": "[::1]:%d" % p6}]}))
    finally:
        stop4.append(True)
        stop6.append(True)
        l4.close()
        l6.close()


def test_v4_mapped_and_native_v6_redis_checks_side_by_side(redis, v6_redis,
                                                           daemon_factory):
    """The same for the redis kind's connection."""
    _side_by_side(daemon_factory({"checks": [
        {"name": "mapped", "kind": "redis", "interval": "300ms", "timeout": "250ms",
         "url": "redis://[::ffff:127.0.0.1]:%d/0" % redis.port},
        {"name": "v6", "kind": "redis", "interval": "300ms", "timeout": "250ms",
         "url": "redis://[::1]:%d/0" % v6_redis}]}))
