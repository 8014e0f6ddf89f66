"""The chat kind against the Chat API fixture (a model of the real
mobius-chat service: its router, Redis queue, worker, JWT auth and rate
limiter) and a real Redis: round trips that pass (completed,
clarification), every failure reason from a real failure of the fixture,
the real failure shapes, 429 handling, JWT minting and rotating token
files, thread reuse, secrets kept out of output, and no fd growth."""
import json
import os
import time

import pytest

from harness.chat import mint_jwt, probe_once
from harness.net import BlackHole, Tarpit, refused_port

THREAD = "3f2c8a51-7d0e-4b6a-9c1f-2a4b6c8d0e1f"
SECRET = "jwt-s3cret-for-tests"


def run(check, **kw):
    rc, res, err = probe_once(check, **kw)
    assert res is not None, "probe_once printed nothing: %s" % err
    return rc, res


def jwt_cfg(secret=SECRET, **claims):
    c = {"sub": "preflightd", "type": "access"}
    c.update(claims)
    return {"secret": secret, "claims": c, "ttl": "5m"}


def test_round_trip_passes_with_latencies(chat_api, chat_redis):
    rc, res = run(chat_api.check(thread_id=THREAD, body={"chat_mode": "quick",
                                                         "cache_assist": False}))
    assert rc == 0, res
    assert res["reason"] is None
    d = res["details"]
    assert d["final_status"] == "completed"
    assert d["polls"] >= 1 and d["retries_429"] == 0
    assert 0 < d["post_ms"] <= d["completion_ms"] < 3000
    assert len(d["correlation_id"]) == 36 and d["thread_id"] == THREAD
    assert d["error"] is None
    assert abs(res["gauge"] * 1000 - d["completion_ms"]) < 5
    # The job went through the Redis list and the worker; POST itself
    # stored nothing ("pending" is synthesized, never stored).
    state = json.loads(chat_redis.cmd("GET", "mobius:chat:response:" + d["correlation_id"]))
    assert state["status"] == "completed"
    assert chat_redis.cmd("LLEN", "mobius:chat:requests") == 0
    st = chat_api.state()
    assert st["processed"] >= 1
    job = st["last_job"]
    assert job["thread_id"] == THREAD and job["chat_mode"] == "quick"
    assert job["cache_assist"] is False and job["message"] == "preflight check: reply OK"


def test_twenty_probes_reuse_one_thread(chat_api):
    before = chat_api.state()["threads"]
    rc, res, err = probe_once(chat_api.check(thread_id=THREAD, poll_interval="10ms"),
                              args=("--repeat", "20"))
    assert rc == 0, (res, err)
    st = chat_api.state()
    assert st["posts"] >= 20
    assert st["threads"] == before + 1, st


def test_non_uuid_thread_is_a_config_error():
    rc, res, err = probe_once({"kind": "chat", "base_url": "http://127.0.0.1:1",
                               "thread_id": "thread-42"})
    assert rc == 2 and "must be a UUID" in err, err


@pytest.mark.parametrize("outcome", ["clarification", "refinement_ask"])
def test_terminal_answers_that_ask_the_user_pass(chat_api_factory, outcome):
    api = chat_api_factory(outcome=outcome)
    rc, res = run(api.check(thread_id=THREAD))
    assert rc == 0, res
    assert res["details"]["final_status"] == outcome
    assert res["details"]["polls"] <= 3


def test_worker_level_failure_is_job_failed(chat_api_factory):
    api = chat_api_factory(outcome="failed_worker")
    rc, res = run(api.check())
    assert rc == 1 and res["reason"] == "job_failed", res
    assert "unhandled_pipeline_exception" in res["error"]
    assert res["details"]["error"] == "unhandled_pipeline_exception"
    assert res["details"]["final_status"] == "failed"


def test_turn_deadline_is_job_failed_not_job_timeout(chat_api_factory):
    # The service's own deadline (MOBIUS_TURN_DEADLINE_S) ends the turn
    # before ours: its code says what happened.
    api = chat_api_factory(turn_deadline=1, delay=10)
    rc, res = run(api.check(timeout="5s"))
    assert rc == 1 and res["reason"] == "job_failed", res
    assert res["details"]["error"] == "turn_deadline_exceeded"


def test_pipeline_failure_code_comes_from_error_envelope(chat_api_factory):
    api = chat_api_factory(outcome="failed_pipeline")
    rc, res = run(api.check())
    assert rc == 1 and res["reason"] == "job_failed", res
    assert res["details"]["error"] == "provider_error"
    assert "provider_error" in res["error"]


def test_echoed_token_is_masked(chat_api_factory):
    api = chat_api_factory(outcome="failed_echo", auth_mode="required",
                           jwt_secret=SECRET)
    rc, res, err = probe_once(api.check(jwt=jwt_cfg()))
    assert rc == 1 and res["reason"] == "job_failed", res
    token = api.state()["last_job"].get("user_id")
    assert token == "preflightd"
    out = json.dumps(res) + err
    assert "eyJ" not in out, out    # no JWT (header.payload.sig) in output
    assert "***" in res["error"]


def test_stopped_worker_is_job_timeout_pending(chat_api, chat_redis):
    chat_api.control(worker="stop")
    rc, res = run(chat_api.check(timeout="1s"))
    assert rc == 1 and res["reason"] == "job_timeout", res
    assert "still \"pending\"" in res["error"] and "no worker took it" in res["error"]
    assert "REDIS_REQUEST_KEY" in res["hint"] and "CHAT_QUEUE_TYPE=redis" in res["hint"]
    assert res["details"]["final_status"] == "pending"
    assert chat_redis.cmd("LLEN", "mobius:chat:requests") >= 1
    chat_api.control(worker="run")
    rc, res = run(chat_api.check(timeout="10s"))
    assert rc == 0, res


def test_slow_worker_is_job_timeout_processing(chat_api_factory):
    api = chat_api_factory(delay=5, turn_deadline=30)
    rc, res = run(api.check(timeout="1500ms"))
    assert rc == 1 and res["reason"] == "job_timeout", res
    assert "still \"processing\"" in res["error"]
    assert "a worker took the job" in res["hint"]


def test_backoff_keeps_a_45s_turn_under_a_30_per_minute_limit(chat_api_factory):
    # The real hosted default: 30 requests/min per client IP, polls
    # included.  Polls back off x1.5 up to 10 s: a 45 s turn needs ~9.
    api = chat_api_factory(delay=45, turn_deadline=90, rate_limit=30, rate_window=60)
    rc, res = run(api.check(poll_interval="1s", timeout="70s"), timeout=90)
    assert rc == 0, res
    d = res["details"]
    assert d["final_status"] == "completed"
    assert 6 <= d["polls"] <= 12, d
    assert d["retries_429"] == 0 and api.state()["rate_limited"] == 0


def test_429_waits_retry_after_and_goes_on(chat_api_factory):
    api = chat_api_factory(delay=2, rate_limit=2, rate_window=3)
    rc, res = run(api.check(poll_interval="100ms", timeout="15s"), timeout=30)
    assert rc == 0, res
    assert res["details"]["retries_429"] >= 1
    assert api.state()["rate_limited"] >= 1


def test_429_past_the_deadline_is_http_status(chat_api_factory):
    api = chat_api_factory(rate_limit=1, rate_window=60)
    run(api.check(timeout="2s"))      # uses the one request a minute
    rc, res = run(api.check(timeout="2s"))
    assert rc == 1 and res["reason"] == "http_status", res
    assert "429" in res["error"] and "deadline" in res["error"]
    assert "rate limit" in res["hint"]


def test_phi_gate_block_gets_the_phi_hint(chat_api_factory):
    for phi in ("block", "unreachable"):
        api = chat_api_factory(phi=phi)
        rc, res = run(api.check())
        assert rc == 1 and res["reason"] == "http_status", res
        assert "422" in res["error"]
        assert "PHI_GATE_URL" in res["hint"], res


def test_memory_queue_round_trip_never_touches_redis(chat_api_factory, chat_redis):
    api = chat_api_factory(queue="memory")
    rc, res = run(api.check())
    assert rc == 0, res
    assert chat_redis.cmd("EXISTS", "mobius:chat:requests") == 0
    assert chat_redis.cmd("EXISTS", "mobius:chat:response:" +
                          res["details"]["correlation_id"]) == 0


# ---- auth: the real service accepts only HS256 access JWTs ----

@pytest.fixture
def auth_api(chat_api_factory):
    return chat_api_factory(auth_mode="required", jwt_secret=SECRET)


def test_minted_jwt_passes(auth_api):
    rc, res = run(auth_api.check(jwt=jwt_cfg(sub="probe-1")))
    assert rc == 0, res
    assert auth_api.state()["last_job"]["user_id"] == "probe-1"


def test_static_and_expired_tokens_fail_auth(auth_api):
    expired = mint_jwt(SECRET, ttl=-60)
    for token in ("static-api-key-123456", expired):
        rc, res, err = probe_once(auth_api.check(token=token))
        assert rc == 1 and res["reason"] == "auth", res
        assert "401" in res["error"] and "HS256" in res["hint"]
        assert token not in json.dumps(res) + err


def test_wrong_jwt_secret_and_no_token_fail_auth(auth_api):
    rc, res = run(auth_api.check(jwt=jwt_cfg(secret="not-the-secret")))
    assert rc == 1 and res["reason"] == "auth", res
    assert "JWT_SECRET" in res["hint"] and "MOBIUS_OS_AUTH_URL" in res["hint"]
    rc, res = run(auth_api.check())
    assert rc == 1 and res["reason"] == "auth", res
    assert "no token configured" in res["error"]


def test_jwt_config_errors_exit_2():
    base = {"kind": "chat", "base_url": "http://x"}
    for extra, words in (({"jwt": {"claims": {}}}, "secret"),
                         ({"jwt": {"secret": "s", "ttl": "0s"}}, "ttl"),
                         ({"jwt": {"secret": "s", "extra": 1}}, "unknown key"),
                         ({"jwt": {"secret": "s", "claims": []}}, "claims"),
                         ({"jwt": {"secret": "s"}, "token": "t"}, "not both"),
                         ({"body": {"message": "x"}}, "body"),
                         ({"body": "quick"}, "body")):
        rc, res, err = probe_once(dict(base, **extra))
        assert rc == 2 and words in err, (extra, err)


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


def test_custom_id_field_unknown_job_stays_pending(chat_api):
    chat_api.control(mode="noid")
    rc, res = run(chat_api.check(id_field="thread_id", timeout="1s"))
    # thread_id is found, but the API does not know it as a job: like the
    # real service it answers 200 "pending" forever (never 404).
    assert rc == 1 and res["reason"] == "job_timeout", res
    assert res["details"]["final_status"] == "pending"


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


def test_custom_done_and_failed_lists(chat_api):
    # Treat "processing" as done: passes even while the worker is slow.
    chat_api.control(delay=1.0)
    rc, res = run(chat_api.check(done=["processing", "completed"]))
    assert rc == 0, res
    assert res["details"]["final_status"] == "processing"
    rc, res = run(chat_api.check(failed=["processing"]))
    assert rc == 1 and res["reason"] == "job_failed", res


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
    api = chat_api_factory(auth_mode="required", jwt_secret=SECRET)
    d = daemon_factory({"checks": _chat_checks(1, api.base_url, jwt=jwt_cfg(),
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
    assert "no worker took the job" in doc["hint"]
    api.control(worker="run")
    d.wait_status("rt0", "pass", timeout=5)
    _, _, status = d.get("/status")
    _, _, metrics = d.get("/metrics")
    for text in (status, metrics, d.stdout().encode(), d.stderr().encode()):
        assert SECRET.encode() not in text and b"eyJ" not in text


def test_daemon_on_demand_chat_runs_only_when_asked(daemon_factory, chat_api):
    d = daemon_factory({"run_min_spacing": "0s", "checks": [
        {"name": "api", "kind": "http", "url": chat_api.base_url + "/health",
         "interval": "200ms", "timeout": "150ms"},
        {"name": "rt", "kind": "chat", "base_url": chat_api.base_url,
         "thread_id": THREAD, "poll_interval": "20ms", "timeout": "3s"}],
        "groups": {"e2e": ["api", "rt"]}})
    d.wait_status("api", "pass")
    time.sleep(2)
    assert chat_api.state()["posts"] == 0
    _, doc = d.get_json("/status/rt")
    assert doc["status"] == "unknown" and doc.get("on_demand") is True
    # the ungrouped verdict does not wait for it; its group does
    assert d.get("/readyz")[0] == 200
    assert d.get("/readyz?group=e2e")[0] == 503
    code, _, body = d.post("/run?group=e2e")
    assert code == 202 and "rt" in json.loads(body)["accepted"]
    d.wait_status("rt", "pass", timeout=5)
    assert d.get("/readyz?group=e2e")[0] == 200
    # 20 on-demand runs: 20 paid turns at most, all on one thread
    before = chat_api.state()
    for _ in range(20):
        d.post("/run?check=rt")
        d.wait_for(lambda: chat_api.state()["processed"] > before["processed"], 5,
                   "a round trip")
        before = chat_api.state()
    st = chat_api.state()
    assert st["threads"] == 1, st
    assert st["posts"] <= 21, st


def test_daemon_rereads_a_rotated_token_file(daemon_factory, chat_api_factory, tmp_path):
    api = chat_api_factory(auth_mode="required", jwt_secret=SECRET)
    tok = tmp_path / "token"
    tok.write_text(mint_jwt(SECRET, sub="first") + "\n")
    d = daemon_factory({"checks": _chat_checks(1, api.base_url, interval="300ms",
                                               timeout="2s", poll_interval="20ms",
                                               token="${file:%s}" % tok)})
    d.wait_status("rt0", "pass")
    assert api.state()["last_job"]["user_id"] == "first"
    # a mounted secret rotates by replacing the file: no SIGHUP
    new = tmp_path / "token.new"
    new.write_text(mint_jwt(SECRET, sub="second"))
    os.replace(new, tok)
    d.wait_for(lambda: api.state()["last_job"]["user_id"] == "second", 5,
               "a probe with the rotated token")
    # an expired token in the file fails auth on the next probe
    tok.write_text(mint_jwt(SECRET, sub="third", ttl=-5))
    doc = d.wait_status("rt0", "fail", timeout=5)
    assert doc["reason"] == "auth"


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
