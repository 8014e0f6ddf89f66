"""The redis check's free worker-liveness signals (SPEC §3 redis, issue 12)
against real redis-servers: consumers (clients blocked in BRPOP, from
CLIENT LIST or INFO where CLIENT is refused), queue_stalled when the
oldest item does not move, ROLE and read_only on a replica, redis-py URL
options, and what the signals cost on the wire (one connection, one round
trip more at most)."""
import json
import socket
import threading
import time
import urllib.request

import pytest

from harness.chat import probe_once
from harness.daemon import run_cli
from harness.net import free_port
from harness.redis import encode

QUEUE = "mobius:chat:requests"


class Popper:
    """A client blocked in `BRPOP key 30`, like an idle Chat worker."""

    def __init__(self, port, key=QUEUE, cmd="BRPOP"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.sendall(encode((cmd, key, "30")))

    def close(self):
        self.sock.close()


def wait_blocked(redis, n, timeout=5):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        info = redis.cmd("INFO", "clients")
        if ("blocked_clients:%d" % n) in info:
            return
        time.sleep(0.02)
    pytest.fail("never saw %d blocked clients" % n)


def probe(url, **kw):
    check = {"kind": "redis", "url": url, "timeout": "2s"}
    check.update(kw)
    rc, res, err = probe_once(check)
    assert res is not None, err
    return rc, res


def test_consumers_from_client_list(redis):
    rc, res = probe(redis.url(), queue={"key": QUEUE})
    assert rc == 0, res
    d = res["details"]
    assert d["consumers"] == 0 and d["consumers_from"] == "client_list"
    assert d["role"] == "master" and "oldest_age_s" in d
    workers = [Popper(redis.port), Popper(redis.port, cmd="BLPOP")]
    try:
        wait_blocked(redis, 2)
        rc, res = probe(redis.url(), queue={"key": QUEUE})
        assert rc == 0 and res["details"]["consumers"] == 2, res
        assert res["gauges"][1] == 2
    finally:
        for w in workers:
            w.close()


def test_consumers_fall_back_to_info_where_client_is_refused(redis):
    # Managed Redis often forbids CLIENT: an ACL user without it.
    redis.cmd("ACL", "SETUSER", "probe", "on", ">probe-pw", "~*", "&*", "+@all",
              "-client")
    w = Popper(redis.port)
    try:
        wait_blocked(redis, 1)
        rc, res = probe(redis.url(password="probe-pw", user="probe"),
                        queue={"key": QUEUE})
        assert rc == 0, res
        d = res["details"]
        assert d["consumers_from"] == "info_blocked_clients" and d["consumers"] == 1, d
    finally:
        w.close()


def test_empty_queue_without_consumers_is_not_a_failure(redis):
    rc, res = probe(redis.url(), queue={"key": QUEUE, "max_depth": 5,
                                        "stall_after": "1s"})
    assert rc == 0 and res["details"]["consumers"] == 0, res


def test_replica_is_read_only(redis_factory):
    primary = redis_factory()
    replica = redis_factory()
    replica.cmd("REPLICAOF", "127.0.0.1", str(primary.port))
    rc, res = probe(replica.url(), queue={"key": QUEUE})
    assert rc == 1 and res["reason"] == "read_only", res
    assert res["details"]["role"] == "slave"
    assert "primary" in res["hint"]
    rc, res = probe(replica.url(), queue={"key": QUEUE}, allow_replica=True)
    assert rc == 0 and res["details"]["role"] == "slave", res
    rc, res = probe(primary.url())
    assert rc == 0 and res["details"]["role"] == "master", res


def test_redis_py_url_options_load_and_are_noted(redis, tmp_path):
    url = redis.url() + "?health_check_interval=30&socket_timeout=5"
    rc, res = probe(url)
    assert rc == 0, res
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"checks": [{"name": "r", "kind": "redis", "url": url}]}))
    p = run_cli(["config", "--config", str(cfg)])
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    note = doc["checks"][0]["notes"][0]
    assert "health_check_interval" in note and "socket_timeout" in note
    rc, _, err = probe_once({"kind": "redis", "url": redis.url() + "?bogus=1"})
    assert rc == 2 and "unknown URL option" in err


# ---- stall detection, through the daemon (the check's memory) ----

def _redis(url, **queue):
    return {"name": "redis", "kind": "redis", "url": url, "interval": "300ms",
            "timeout": "250ms", "queue": dict({"key": QUEUE}, **queue)}


def test_stalled_queue_then_a_worker_takes_it(redis, daemon_factory):
    redis.cmd("LPUSH", QUEUE, json.dumps({"correlation_id": "c-1"}))
    d = daemon_factory({"checks": [_redis(redis.url(), stall_after="1s", max_depth=50)]})
    t0 = time.monotonic()
    doc = d.wait_status("redis", "fail", timeout=5)
    took = time.monotonic() - t0
    assert doc["reason"] == "queue_stalled", doc
    # within stall_after + interval (+ scheduling slack)
    assert took < 1 + 0.3 + 1.0, took
    assert "CHAT_QUEUE_TYPE=redis" in doc["hint"] and QUEUE in doc["hint"]
    assert doc["details"]["consumers"] == 0 and doc["details"]["oldest_age_s"] >= 1
    _, _, body = d.get("/metrics")
    text = body.decode()
    assert 'preflight_redis_queue_consumers{check="redis"} 0' in text
    assert 'preflight_redis_queue_oldest_age_seconds{check="redis"}' in text
    # a worker drains it: the queue moves, the check recovers
    redis.cmd("RPOP", QUEUE)
    d.wait_status("redis", "pass", timeout=3)


def test_moving_queue_is_not_stalled(redis, daemon_factory):
    d = daemon_factory({"checks": [_redis(redis.url(), stall_after="1s")]})
    end = time.monotonic() + 3
    n = 0
    while time.monotonic() < end:
        # a busy but working consumer: the oldest item changes
        redis.cmd("LPUSH", QUEUE, "job-%d" % n)
        if n >= 2:
            redis.cmd("RPOP", QUEUE)
        n += 1
        time.sleep(0.2)
    _, doc = d.get_json("/status/redis")
    assert doc["status"] == "pass", doc


def test_stopped_chat_worker_is_seen_free_and_then_on_demand(
        chat_api_factory, chat_redis, daemon_factory):
    """A stopped worker with queued jobs: queue_stalled from the redis
    check alone (no chat probe), and job_timeout "pending" when the round
    trip is run on demand."""
    api = chat_api_factory(worker="stop")
    req = urllib.request.Request(api.base_url + "/chat", data=b'{"message": "hi"}',
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=5).read()
    d = daemon_factory({"run_min_spacing": "0s", "checks": [
        _redis(chat_redis.url(), stall_after="2s"),
        {"name": "rt", "kind": "chat", "base_url": api.base_url,
         "poll_interval": "50ms", "timeout": "1500ms", "depends_on": ["redis"]}],
        "groups": {"e2e": ["rt"]}})
    t0 = time.monotonic()
    doc = d.wait_status("redis", "fail", timeout=6)
    assert doc["reason"] == "queue_stalled", doc
    assert time.monotonic() - t0 < 2 + 0.3 + 1.5
    assert api.state()["posts"] == 1      # only ours: no chat probe ran
    assert d.post("/run?check=rt")[0] == 202
    doc = d.wait_status("rt", "fail", timeout=5)
    assert doc["reason"] == "job_timeout" and "pending" in doc["error"]
    assert doc["caused_by"] == "redis"


# ---- what the signals cost on the wire ----

class CountingProxy:
    """A TCP proxy to Redis that counts connections and the bursts each
    client sends (a burst: bytes sent before the server answered)."""

    def __init__(self, port):
        self.target = port
        self.port = free_port()
        self.conns = 0
        self.bursts = []
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", self.port))
        self.lsock.listen(16)
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._pipe, args=(c,), daemon=True).start()

    def _pipe(self, c):
        s = socket.create_connection(("127.0.0.1", self.target))
        bursts = 0
        waiting = False      # we forwarded client bytes, answer pending
        c.settimeout(0.05)
        s.settimeout(0.05)
        try:
            while True:
                try:
                    data = c.recv(65536)
                    if not data:
                        break
                    if not waiting:
                        bursts += 1
                        waiting = True
                    s.sendall(data)
                except socket.timeout:
                    pass
                try:
                    data = s.recv(1 << 20)
                    if not data:
                        break
                    c.sendall(data)
                    waiting = False
                except socket.timeout:
                    pass
        except ConnectionResetError:
            pass  # the probe closes with a reset once it has its replies
        finally:
            self.bursts.append(bursts)
            c.close()
            s.close()

    def close(self):
        self.stop = True
        self.lsock.close()


def test_queue_signals_cost_no_connection_and_no_round_trip_more(redis):
    proxy = CountingProxy(redis.port)
    try:
        url = "redis://127.0.0.1:%d/0" % proxy.port
        assert probe(url)[0] == 0
        assert probe(url, queue={"key": QUEUE, "stall_after": "10m"})[0] == 0
        time.sleep(0.3)
        # one connection per probe; PING alone and PING + ROLE + LLEN +
        # LINDEX + CLIENT LIST are both one pipelined round trip
        assert proxy.conns == 2, proxy.conns
        assert proxy.bursts == [1, 1], proxy.bursts
    finally:
        proxy.close()
