"""Asynchronous name resolution (evdns) end to end, for every kind that
resolves before connecting: names answered by the harness's FakeDNS, and
names it refuses (NXDOMAIN) giving reason `dns`.  No query leaves 127.0.0.1."""

import pytest

from harness.chat import probe_once
from harness.net import listen_low


@pytest.fixture
def listener():
    s = listen_low(backlog=16)
    yield s.getsockname()[1]
    s.close()


def test_tcp_resolves_through_evdns(listener, fake_dns):
    rc, res, _ = probe_once({"kind": "tcp", "address": "svc.loopback.test:%d" % listener})
    assert rc == 0, res
    assert res["details"]["address"].startswith("127.0.0.1")
    assert ("svc.loopback.test", 1) in fake_dns.queries


def test_tcp_nxdomain_is_dns(fake_dns):
    rc, res, _ = probe_once({"kind": "tcp", "address": "gone.nxdomain.test:80"})
    assert rc == 1
    assert res["reason"] == "dns"
    assert "gone.nxdomain.test" in res["error"]


def test_redis_resolves_and_reports_dns(redis, fake_dns):
    rc, res, _ = probe_once({"kind": "redis", "url": "redis://cache.loopback.test:%d" % redis.port})
    assert rc == 0, res
    assert res["details"]["address"] == "127.0.0.1"
    assert res["details"]["address_class"] == "loopback"
    rc, res, _ = probe_once({"kind": "redis", "url": "redis://memorystore.nxdomain.test:6379"})
    assert (rc, res["reason"]) == (1, "dns"), res


def test_postgres_resolves_to_hostaddr_and_reports_dns(pg, fake_dns):
    url = pg.url("mobius_chat", host="db.loopback.test")
    rc, res, _ = probe_once({"kind": "postgres", "url": url, "tables": {"chat_threads": []}})
    assert rc == 0, res
    rc, res, _ = probe_once({"kind": "postgres",
                             "url": pg.url("mobius_chat", host="db.nxdomain.test")})
    assert (rc, res["reason"]) == (1, "dns"), res
    assert pg.passwords["mobius_app"] not in res["error"]
