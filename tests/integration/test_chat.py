"""The chat kind against the Chat API fixture and a real Redis (issue 5):
a healthy round trip, every failure reason from a real failure of the
fixture, recovery, secrets kept out of output, and no fd growth."""
import json

import pytest

from harness.chat import probe_once
from harness.net import BlackHole, Tarpit, refused_port

JOB_TIMEOUT_HINT = ("the API accepted the job but no worker completed it: is "
                    "the worker running, on the same Redis, with its tables "
                    "migrated?")


def run(check, **kw):
    rc, res, err = probe_once(check, **kw)
    assert res is not None, "probe_once printed nothing: %s" % err
    return rc, res


def test_round_trip_passes_with_latencies(chat_api, chat_redis):
    rc, res = run(chat_api.check())
    assert rc == 0, res
    assert res["reason"] is None
    d = res["details"]
    assert d["final_status"] == "completed"
    assert d["polls"] >= 1
    assert 0 < d["post_ms"] <= d["completion_ms"] < 3000
    assert len(d["correlation_id"]) == 36
    assert d["error"] is None
    assert abs(res["gauge"] * 1000 - d["completion_ms"]) < 5
    # The job really went through the Redis list and the worker.
    state = json.loads(chat_redis.cmd("GET", "mobius:chat:response:" + d["correlation_id"]))
    assert state["status"] == "completed"
    assert chat_redis.cmd("LLEN", "mobius:chat:requests") == 0
    assert chat_api.state()["processed"] >= 1


def test_message_and_thread_id_are_sent(chat_api, chat_redis):
    rc, res = run(chat_api.check(thread_id="thread-42", message="ping"))
    assert rc == 0, res
    cid = res["details"]["correlation_id"]
    state = json.loads(chat_redis.cmd("GET", "mobius:chat:response:" + cid))
    assert state["thread_id"] == "thread-42"


def test_bearer_token_accepted_and_never_printed(chat_api_factory):
    api = chat_api_factory(token="tok-s3cr3t-value")
    rc, res, err = probe_once(api.check())
    assert rc == 0, res
    rc, res, err = probe_once(api.check(token="wrong-t0ken-zzz"))
    assert rc == 1
    assert res["reason"] == "auth"
    assert "401" in res["error"]
    out = json.dumps(res) + err
    assert "wrong-t0ken-zzz" not in out and "tok-s3cr3t-value" not in out


def test_missing_token_is_auth(chat_api_factory):
    api = chat_api_factory(token="tok-abc")
    check = api.check()
    del check["token"]
    rc, res = run(check)
    assert rc == 1 and res["reason"] == "auth", res
    assert "no token configured" in res["error"]


def test_dns_failure():
    # A 70-character label cannot be encoded in a DNS query, so the
    # resolver fails locally: no packet leaves the machine.
    host = "a" * 70 + ".invalid"
    rc, res = run({"kind": "chat", "base_url": "http://%s:8080" % host,
                   "timeout": "3s"})
    assert rc == 1 and res["reason"] == "dns", res


def test_connect_refused():
    port = refused_port()
    rc, res = run({"kind": "chat", "base_url": "http://127.0.0.1:%d" % port,
                   "timeout": "3s"})
    assert rc == 1 and res["reason"] == "connect_refused", res


def test_connect_timeout(blackhole):
    rc, res = run({"kind": "chat", "timeout": "1s",
                   "base_url": "http://127.0.0.1:%d" % blackhole.port})
    assert rc == 1 and res["reason"] == "connect_timeout", res
    assert 900 <= res["duration_ms"] < 2500


def test_post_hangs_is_timeout(chat_api):
    chat_api.control(mode="hang")
    rc, res = run(chat_api.check(timeout="1s"))
    assert rc == 1 and res["reason"] == "timeout", res
    assert "POST /chat" in res["error"]
    assert 900 <= res["duration_ms"] < 2500


def test_tarpit_is_timeout(tarpit):
    rc, res = run({"kind": "chat", "timeout": "1s",
                   "base_url": "http://127.0.0.1:%d" % tarpit.port})
    assert rc == 1 and res["reason"] == "timeout", res


def test_slow_body_is_timeout(chat_api):
    chat_api.control(mode="slow")
    rc, res = run(chat_api.check(timeout="1s"))
    assert rc == 1 and res["reason"] == "timeout", res


def test_tls_handshake_with_plain_http_server_is_tls(chat_api):
    url = chat_api.base_url.replace("http://", "https://")
    rc, res = run(chat_api.check(base_url=url))
    assert rc == 1 and res["reason"] == "tls", res


# ---- HTTPS with the harness.tls test PKI: verification stays on, and
# ca_file trusts a private CA instead of the system store ----

@pytest.fixture
def tls_chat_api(chat_api_factory, tls_pki):
    """The Chat API serving HTTPS with the localhost/127.0.0.1 certificate."""
    return chat_api_factory(tls=(tls_pki.server, tls_pki.server_key, tls_pki.ca))


def test_https_round_trip_with_ca_file(tls_chat_api, tls_pki, chat_redis):
    assert tls_chat_api.base_url.startswith("https://")
    for host in ("127.0.0.1", "localhost"):
        url = tls_chat_api.base_url.replace("127.0.0.1", host)
        rc, res = run(tls_chat_api.check(base_url=url, ca_file=tls_pki.ca))
        assert rc == 0, (host, res)
        d = res["details"]
        assert d["final_status"] == "completed" and d["polls"] >= 1
        state = json.loads(chat_redis.cmd(
            "GET", "mobius:chat:response:" + d["correlation_id"]))
        assert state["status"] == "completed"
    assert tls_chat_api.state()["posts"] == 2


@pytest.mark.parametrize("trust", ["system store", "other CA"])
def test_https_untrusted_certificate_is_tls(tls_chat_api, tls_pki, trust):
    extra = {"ca_file": tls_pki.other_ca} if trust == "other CA" else {}
    rc, res = run(tls_chat_api.check(**extra))
    assert rc == 1 and res["reason"] == "tls", res
    assert "certificate" in res["error"], res
    assert "ca_file" in res["hint"], res
    assert res["details"]["correlation_id"] is None
    # Rejected in the handshake: the API never saw the request.
    assert tls_chat_api.state()["posts"] == 0


def test_ca_file_config_errors_name_the_path(tls_pki):
    base = {"kind": "chat", "base_url": "https://127.0.0.1:1"}
    for ca_file, words in ((tls_pki.path("absent.pem"), "cannot be read"),
                           (tls_pki.dir, "not a regular file"),
                           (tls_pki.server_key, "holds no PEM certificate"),
                           ("", "must not be empty"),
                           (7, "must be a string")):
        rc, res, err = probe_once(dict(base, ca_file=ca_file))
        assert rc == 2, (ca_file, res, err)
        assert "check.ca_file" in err and words in err, err


def test_post_500_is_http_status_with_excerpt(chat_api):
    chat_api.control(mode="post500")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "http_status", res
    assert "500" in res["error"] and "chat_threads" in res["error"]
    assert len(res["error"]) < 400


def test_poll_500_is_http_status(chat_api):
    chat_api.control(mode="poll500")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "http_status", res
    assert res["details"]["correlation_id"]


def test_non_json_is_bad_response(chat_api):
    chat_api.control(mode="nonjson")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "not a JSON" in res["error"] and "502 Bad Gateway" in res["error"]


def test_no_id_is_bad_response(chat_api):
    chat_api.control(mode="noid")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "correlation_id" in res["error"]


def test_custom_id_field(chat_api):
    chat_api.control(mode="noid")
    rc, res = run(chat_api.check(id_field="thread_id"))
    # thread_id is found, but the API does not know it as a job: 404.
    assert rc == 1 and res["reason"] == "http_status", res
    assert "404" in res["error"]


def test_poll_without_status_is_bad_response(chat_api):
    chat_api.control(mode="nostatus")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "status" in res["error"]


def test_huge_body_is_bad_response(chat_api):
    chat_api.control(mode="huge")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "bad_response", res
    assert "body over 1048576 bytes" in res["error"]
    rc, res = run(chat_api.check(max_body=100))
    assert rc == 1 and "body over 100 bytes" in res["error"], res


def test_worker_failure_is_job_failed(chat_api):
    chat_api.control(worker="fail")
    rc, res = run(chat_api.check())
    assert rc == 1 and res["reason"] == "job_failed", res
    assert "schema_missing" in res["error"]
    assert 'relation "chat_turns" does not exist' in res["error"]
    assert res["details"]["error"] == "schema_missing"
    assert res["details"]["final_status"] == "failed"


def test_custom_done_and_failed_lists(chat_api):
    # Treat "processing" as done: passes even while the worker is slow.
    chat_api.control(delay=1.0)
    rc, res = run(chat_api.check(done=["processing", "completed"]))
    assert rc == 0, res
    assert res["details"]["final_status"] == "processing"
    rc, res = run(chat_api.check(failed=["processing"]))
    assert rc == 1 and res["reason"] == "job_failed", res


def test_worker_stopped_is_job_timeout_then_recovers(chat_api, chat_redis):
    chat_api.control(worker="stop")
    rc, res = run(chat_api.check(timeout="1s"))
    assert rc == 1 and res["reason"] == "job_timeout", res
    assert res["hint"] == JOB_TIMEOUT_HINT
    assert res["details"]["final_status"] == "pending"
    assert res["details"]["polls"] >= 5
    assert res["details"]["post_ms"] is not None
    assert chat_redis.cmd("LLEN", "mobius:chat:requests") >= 1
    chat_api.control(worker="run")
    rc, res = run(chat_api.check())
    assert rc == 0, res
    assert res["details"]["final_status"] == "completed"


def test_api_recovers_after_500(chat_api):
    chat_api.control(mode="post500")
    rc, _ = run(chat_api.check())
    assert rc == 1
    chat_api.control(mode="normal")
    rc, res = run(chat_api.check())
    assert rc == 0, res


def test_config_errors_exit_2():
    for bad in ({"kind": "chat"},
                {"kind": "chat", "base_url": "ftp://x"},
                {"kind": "chat", "base_url": "http://x", "poll_interval": "1ms"},
                {"kind": "chat", "base_url": "http://x", "headers": {"X-A": "a\r\nb"}},
                {"kind": "chat", "base_url": "http://x", "headers": {"Bad Name": "v"}},
                {"kind": "chat", "base_url": "http://x", "max_body": 0},
                {"kind": "chat", "base_url": "http://x", "done": "completed"}):
        rc, res, err = probe_once(bad)
        assert rc == 2, (bad, res, err)
        assert "check." in err


def test_fds_flat_over_500_round_trips(chat_api):
    rc, res, err = probe_once(chat_api.check(poll_interval="10ms"), timeout=120,
                              args=("--repeat", "500"))
    assert rc == 0, (res, err)
    assert res["runs"] == 500
    assert res["fds_after"] <= res["fds_before"] + 2, res
    assert chat_api.state()["processed"] >= 500


def test_tarpit_and_blackhole_release_everything():
    t, b = Tarpit(), BlackHole()
    try:
        for port, reason in ((t.port, "timeout"), (b.port, "connect_timeout")):
            rc, res, err = probe_once(
                {"kind": "chat", "timeout": "250ms",
                 "base_url": "http://127.0.0.1:%d" % port},
                args=("--repeat", "4"))
            assert rc == 1 and res["reason"] == reason, res
            assert res["fds_after"] <= res["fds_before"] + 2, res
    finally:
        t.close()
        b.close()


# ---- daemon level (harness.daemon) ----

def _chat_checks(n, base_url, prefix="rt", **kw):
    c = []
    for i in range(n):
        d = {"name": "%s%d" % (prefix, i), "kind": "chat", "base_url": base_url,
             "poll_interval": "10ms"}
        d.update(kw)
        c.append(d)
    return c


def test_daemon_round_trip_status_metrics_and_recovery(daemon_factory, chat_api_factory):
    api = chat_api_factory(token="tok-d43m0n-secret")
    d = daemon_factory({"checks": _chat_checks(1, api.base_url, token=api.token,
                                               interval="300ms", timeout="1s",
                                               poll_interval="20ms")})
    doc = d.wait_status("rt0", "pass")
    assert doc["details"]["final_status"] == "completed"
    assert doc["details"]["polls"] >= 1
    _, _, metrics = d.get("/metrics")
    assert b'preflight_chat_completion_seconds{check="rt0"}' in metrics
    api.control(worker="stop")
    doc = d.wait_status("rt0", "fail", timeout=5)
    assert doc["reason"] == "job_timeout"
    assert doc["hint"] == JOB_TIMEOUT_HINT
    api.control(worker="run")
    d.wait_status("rt0", "pass", timeout=5)
    _, _, status = d.get("/status")
    _, _, metrics = d.get("/metrics")
    for text in (status, metrics, d.stdout().encode(), d.stderr().encode()):
        assert b"tok-d43m0n-secret" not in text


def test_daemon_fds_flat_over_500_round_trips(daemon_factory, chat_api):
    d = daemon_factory({"checks": _chat_checks(8, chat_api.base_url,
                                               interval="100ms", timeout="2s")})
    d.wait_for(lambda: chat_api.state()["posts"] >= 80, 20, "80 round trips")
    early = max(d.fd_count() for _ in range(5))
    d.wait_for(lambda: chat_api.state()["posts"] >= 500, 60, "500 round trips")
    late = [d.fd_count() for _ in range(5)]
    # At most one socket per check can be in flight at any sample.
    assert min(late) <= early + 8, (early, late)
    _, doc = d.get_json("/status")
    assert all(c["status"] == "pass" for c in doc["checks"].values()), doc


def test_status_fast_while_20_round_trips_hang(daemon_factory, tarpit):
    import time
    url = "http://127.0.0.1:%d" % tarpit.port
    d = daemon_factory({"checks": _chat_checks(20, url, interval="10s", timeout="3s")})
    d.wait_for(lambda: tarpit.accepted >= 20, 5, "20 hanging POSTs")
    times = []
    for _ in range(50):
        t0 = time.monotonic()
        code, _, _ = d.get("/status")
        times.append(time.monotonic() - t0)
        assert code == 200
    times.sort()
    assert times[len(times) // 2] < 0.02 and times[-1] < 0.2, times
    doc = d.wait_status("rt19", "fail", timeout=6)
    assert doc["reason"] == "timeout", doc
