"""Notifications (SPEC §6a) against a local receiver: a check turns fail,
then pass; every format gets one message each, with the body its service
expects; with the receiver down for 30 s the messages arrive once it is
back, while /status keeps answering fast; nothing secret is in them."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.net import free_port

MARK = "tokd41f0e9a"


class _Receiver:
    """Records every POST (path, JSON body); answers 200."""

    def __init__(self, port):
        got = self.got = []

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                got.append((self.path, json.loads(self.rfile.read(n))))
                self.send_response(200 if self.path != "/pd" else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()
        self.srv = ThreadingHTTPServer(("127.0.0.1", port), H)
        self.srv.daemon_threads = True
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()

    def by_path(self, path):
        return [b for p, b in self.got if p == path]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def _config(port, db_port):
    base = "http://127.0.0.1:%d" % port
    return {
        "public_url": "https://preflight.example/status",
        "checks": [
            {"name": "chat-db", "kind": "tcp", "interval": "200ms", "timeout": "150ms",
             "address": "127.0.0.1:%d" % db_port},
            {"name": "api", "kind": "http", "interval": "200ms", "timeout": "150ms",
             "url": "http://127.0.0.1:%d/x?token=%s" % (db_port, MARK),
             "depends_on": ["chat-db"]}],
        "notify": [
            {"name": "hook", "url": base + "/json", "format": "json"},
            {"name": "team", "url": base + "/slack", "format": "slack", "checks": ["chat-db"]},
            {"name": "pager", "url": base + "/pd", "format": "pagerduty",
             "routing_key": "R0UT1NGKEY0000000000000000000000", "groups": ["db"]}],
        "groups": {"db": ["chat-db"]}}


def _flip(d, db_port):
    """chat-db: fail (nothing listens), then pass (a listener)."""
    d.wait_status("chat-db", "fail")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", db_port))
    s.listen(64)
    d.wait_status("chat-db", "pass")
    return s


def _check_bodies(rx):
    js = [b for b in rx.by_path("/json") if b["check"] == "chat-db"]
    assert [b["event"] for b in js] == ["fail", "recover"], js
    assert js[0]["status"] == "fail" and js[0]["reason"] == "connect_refused"
    assert js[0]["hint"] and js[0]["link"] == "https://preflight.example/status"
    assert js[1]["status"] == "pass" and js[0]["instance"]
    slack = rx.by_path("/slack")
    assert len(slack) == 2, slack            # chat-db only: the filter
    assert "chat-db is now fail" in slack[0]["text"]
    assert slack[0]["blocks"][0]["type"] == "section"
    assert "passing again" in slack[1]["text"]
    pd = rx.by_path("/pd")
    assert [b["event_action"] for b in pd] == ["trigger", "resolve"], pd
    assert pd[0]["dedup_key"] == pd[1]["dedup_key"]
    assert pd[0]["routing_key"] == "R0UT1NGKEY0000000000000000000000"
    assert pd[0]["payload"]["severity"] == "critical"
    assert pd[0]["payload"]["source"] and "chat-db" in pd[0]["payload"]["summary"]
    everything = json.dumps(rx.got)
    assert MARK not in everything


def test_each_format_gets_one_message_per_transition(daemon_factory):
    port, db_port = free_port(), free_port()
    rx = _Receiver(port)
    s = None
    try:
        d = daemon_factory(_config(port, db_port))
        s = _flip(d, db_port)
        d.wait_for(lambda: len(rx.by_path("/pd")) >= 2 and len(rx.by_path("/slack")) >= 2,
                   timeout=10, what="the messages")
        time.sleep(1.0)     # and no more than one each
        _check_bodies(rx)
        metrics = d.get("/metrics")[2].decode()
        assert 'preflight_notify_sent_total{notifier="pager"} 2' in metrics
        assert 'preflight_notify_failures_total{notifier="hook"} 0' in metrics
        assert "R0UT1NGKEY" not in d.get("/status")[2].decode()
    finally:
        rx.close()
        if s:
            s.close()


def test_messages_arrive_after_the_receiver_was_down(daemon_factory):
    port, db_port = free_port(), free_port()
    d = daemon_factory(_config(port, db_port))
    s = _flip(d, db_port)
    rx = None
    try:
        # the receiver is down meanwhile; one keep-alive client measures
        # (a raw socket: little of the client's own time in the numbers)
        sock = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        f = sock.makefile("rb")
        lat, end = [], time.monotonic() + 30
        while time.monotonic() < end:
            t0 = time.perf_counter()
            sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
            assert f.readline().startswith(b"HTTP/1.1 200")
            length = 0
            while True:
                line = f.readline()
                if line == b"\r\n":
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            f.read(length)
            lat.append(time.perf_counter() - t0)
            time.sleep(0.02)
        f.close()
        sock.close()
        lat.sort()
        p99 = lat[int(len(lat) * 0.99)]
        assert p99 * 1000 < 5, "/status p99 %.1f ms while retrying" % (p99 * 1000)
        rx = _Receiver(port)
        d.wait_for(lambda: len(rx.by_path("/pd")) >= 2 and len(rx.by_path("/slack")) >= 2
                   and len([b for b in rx.by_path("/json") if b["check"] == "chat-db"]) >= 2,
                   timeout=45, what="the queued messages after the outage")
        _check_bodies(rx)
    finally:
        s.close()
        if rx:
            rx.close()
