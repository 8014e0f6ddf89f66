"""Self-test of the Chat API fixture (tests/fixtures/chat_api.py): it must
behave like the real mobius-chat service (SPEC §1a) on every point the
chat check relies on.  Plain HTTP from Python and a real redis-server; no
preflightd binary is involved."""
import base64
import hashlib
import hmac
import http.client
import json
import re
import socket
import time
import uuid

import pytest

from harness.chat import mint_jwt

KEY = "mobius:chat:requests"
PREFIX = "mobius:chat:response:"
SECRET = "fixture-jwt-secret-123"
PENDING = {"status": "pending", "message": None, "plan": None, "thinking_log": None}
WORKER_FAILURE_KEYS = {"status", "message", "error", "was_truncated",
                       "partial_message", "checkpoint_kind"}
ENVELOPE_KEYS = {"schema_name", "version", "error_code", "user_facing_message",
                 "internal_detail", "retry_after_seconds", "tool", "round"}


class Reply:
    def __init__(self, r, data):
        self.status = r.status
        self.headers = r
        self.raw = data
        self.json = None
        if (r.getheader("Content-Type") or "").startswith("application/json"):
            try:
                self.json = json.loads(data)
            except ValueError:
                pass


def call(api, method, path, body=None, headers=None, raw=None, timeout=10):
    """One request on a fresh connection; body is sent as JSON."""
    h = {}
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        return Reply(r, r.read())
    finally:
        conn.close()


def post(api, body=None, raw=None, **kw):
    if body is None and raw is None:
        body = {}
    return call(api, "POST", "/chat", body, raw=raw, **kw)


def poll(api, cid, **kw):
    return call(api, "GET", "/chat/response/" + cid, **kw)


def wait_status(api, cid, statuses=("completed", "clarification", "refinement_ask",
                                    "failed"), timeout=5.0):
    end = time.monotonic() + timeout
    while True:
        r = poll(api, cid)
        assert r.status == 200
        if r.json["status"] in statuses or time.monotonic() > end:
            return r.json
        time.sleep(0.02)


def brpop_clients(redis):
    """Clients blocked in BRPOP (flags b, cmd brpop) per CLIENT LIST."""
    rows = [dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
            for line in redis.cmd("CLIENT", "LIST").splitlines()]
    return [r for r in rows if r.get("cmd") == "brpop" and "b" in r.get("flags", "")]


def wait_for(fn, timeout=3.0):
    end = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def b64(obj):
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def forge(header, claims, secret=SECRET):
    signing = "%s.%s" % (b64(header), b64(claims))
    sig = hmac.new(secret.encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


def tampered(token):
    head, sig = token.rsplit(".", 1)
    return head + "." + ("B" if sig[0] == "A" else "A") + sig[1:]


# -- POST /chat and the queue ---------------------------------------------------
def test_post_enqueues_job_and_never_stores_pending(chat_api_factory, redis):
    api = chat_api_factory(worker="stop")
    cid = str(uuid.uuid4())
    r = post(api, {"message": "ping", "chat_mode": "quick", "cache_assist": False,
                   "correlation_id": cid.upper(), "unknown_key": 1})
    assert r.status == 200
    assert set(r.json) == {"correlation_id", "thread_id"}
    assert r.json["correlation_id"] == cid          # honoured, normalized
    assert redis.cmd("KEYS", "*") == [KEY]          # the list, and nothing else
    job = json.loads(redis.cmd("LRANGE", KEY, 0, -1)[0])
    assert job == {"correlation_id": cid, "message": "ping",
                   "thread_id": r.json["thread_id"], "chat_mode": "quick",
                   "cache_assist": False,
                   "phi_gate_verdict": {"gate": "clean", "phi_flag": False,
                                        "identifier_labels": [], "action": "passed"}}
    assert redis.cmd("EXISTS", PREFIX + cid) == 0
    assert poll(api, cid).json == PENDING
    st = api.state()
    assert st["last_job"] == job and st["jobs"] == [job]
    assert st["queue_depth"] == 1 and st["posts"] == 1
    r2 = post(api, {"correlation_id": "not-a-uuid"})
    assert r2.status == 200 and uuid.UUID(r2.json["correlation_id"])
    assert r2.json["correlation_id"] != "not-a-uuid"
    assert json.loads(redis.cmd("LINDEX", KEY, 0))["message"] == ""


def test_unknown_id_is_200_pending_never_404(chat_api):
    for cid in (str(uuid.uuid4()), "nope"):
        r = poll(chat_api, cid)
        assert r.status == 200 and r.json == PENDING
    assert call(chat_api, "GET", "/chat/response/").status == 404


def test_idle_worker_is_one_client_blocked_in_brpop(chat_api_factory, redis):
    api = chat_api_factory()
    assert wait_for(lambda: len(brpop_clients(redis)) == 1)
    time.sleep(0.3)
    assert len(brpop_clients(redis)) == 1
    api.control(worker="stop")
    assert brpop_clients(redis) == []               # at once: the BRPOP was ended
    cid = post(api, {"message": "x"}).json["correlation_id"]
    time.sleep(0.5)
    assert redis.cmd("LLEN", KEY) == 1 and brpop_clients(redis) == []
    assert poll(api, cid).json == PENDING
    api.control(worker="run")
    assert wait_status(api, cid)["status"] == "completed"
    assert redis.cmd("LLEN", KEY) == 0
    assert wait_for(lambda: len(brpop_clients(redis)) == 1)


def test_worker_stop_from_the_start_never_brpops(chat_api_factory, redis):
    chat_api_factory(worker="stop")
    time.sleep(0.3)
    assert [r for r in redis.cmd("CLIENT", "LIST").splitlines() if "cmd=brpop" in r] == []


def test_processing_while_the_worker_is_on_it(chat_api_factory, redis):
    api = chat_api_factory(delay=1.0)
    cid = post(api, {"message": "slow one"}).json["correlation_id"]
    r = wait_status(api, cid, statuses=("processing",))
    assert r["status"] == "processing"
    assert r["message"] is None and r["plan"] is None
    assert isinstance(r["thinking_log"], list) and r["thinking_log"]
    assert redis.cmd("EXISTS", PREFIX + cid) == 0   # processing is not stored
    done = wait_status(api, cid)
    assert done["status"] == "completed" and done["message"] == "OK"
    assert 86000 < redis.cmd("TTL", PREFIX + cid) <= 86400
    assert json.loads(redis.cmd("GET", PREFIX + cid)) == done


@pytest.mark.parametrize("outcome", ["completed", "clarification", "refinement_ask",
                                     "failed_worker", "failed_pipeline", "failed_echo"])
def test_outcome_shapes(chat_api_factory, redis, outcome):
    api = chat_api_factory(outcome=outcome)
    auth = "Bearer echo-me-t0ken-42"
    r = post(api, {"message": "q"}, headers={"Authorization": auth})
    cid, tid = r.json["correlation_id"], r.json["thread_id"]
    p = wait_status(api, cid)
    assert json.loads(redis.cmd("GET", PREFIX + cid)) == p
    if outcome == "completed":
        assert p["status"] == "completed" and p["message"] == "OK"
        assert p["correlation_id"] == cid and p["thread_id"] == tid
        assert p["response_source"] == "plan" and "error" not in p
    elif outcome == "clarification":
        assert p["status"] == "clarification" and p["message"].endswith("?")
        assert p["open_slots"] and p["clarification_options"][0]["slot"] in p["open_slots"]
        assert p["response_source"] == "clarification" and p["thread_id"] == tid
    elif outcome == "refinement_ask":
        assert p["status"] == "refinement_ask" and p["suggestions"]
        assert p["response_source"] == "refinement_ask"
    elif outcome == "failed_worker":
        assert set(p) == WORKER_FAILURE_KEYS
        assert p["status"] == "failed" and p["error"] == "unhandled_pipeline_exception"
        assert p["message"]
    else:
        assert p["status"] == "failed" and "error" not in p
        env = p["error_envelope"]
        assert set(env) == ENVELOPE_KEYS
        assert env["error_code"] == "provider_error" and env["schema_name"] == "error_envelope"
        assert p["llm_error"] and p["message"] and p["thread_id"] == tid
        if outcome == "failed_echo":
            assert auth in p["message"] and auth in env["internal_detail"]
        else:
            assert "echo-me" not in json.dumps(p)
    assert api.state()["processed"] == 1


def test_turn_deadline_failure(chat_api_factory, redis):
    api = chat_api_factory(delay=5, turn_deadline=0.5)
    t0 = time.monotonic()
    cid = post(api, {"message": "long"}).json["correlation_id"]
    p = wait_status(api, cid, timeout=4)
    assert time.monotonic() - t0 < 2.5
    assert set(p) == WORKER_FAILURE_KEYS | {"deadline_s"}
    assert p["status"] == "failed" and p["error"] == "turn_deadline_exceeded"
    assert p["deadline_s"] == 0.5 and p["was_truncated"] is False
    assert p["partial_message"] is None and p["checkpoint_kind"] is None


# -- auth ------------------------------------------------------------------------
def test_required_auth(chat_api_factory, redis):
    api = chat_api_factory(auth_mode="required", jwt_secret=SECRET)
    now = int(time.time())
    bad = {
        "none": None,
        "static": "Bearer static-api-key-123",
        "lowercase bearer": "bearer " + mint_jwt(SECRET),
        "raw token": mint_jwt(SECRET),
        "wrong secret": "Bearer " + mint_jwt("other-secret"),
        "expired": "Bearer " + mint_jwt(SECRET, ttl=-5),
        "exp now": "Bearer " + forge({"alg": "HS256"}, {"sub": "u", "type": "access",
                                                        "exp": now}),
        "aud": "Bearer " + mint_jwt(SECRET, aud="mobius-chat"),
        "refresh": "Bearer " + mint_jwt(SECRET, type="refresh"),
        "no type": "Bearer " + mint_jwt(SECRET, type=None),
        "no sub": "Bearer " + mint_jwt(SECRET, sub=None),
        "empty sub": "Bearer " + mint_jwt(SECRET, sub=""),
        "nbf future": "Bearer " + mint_jwt(SECRET, nbf=now + 60),
        "alg none": "Bearer " + b64({"alg": "none"}) + "." + b64({"sub": "u", "type": "access"}) + ".",
        "alg HS512": "Bearer " + forge({"alg": "HS512"}, {"sub": "u", "type": "access"}),
        "tampered": "Bearer " + tampered(mint_jwt(SECRET)),
    }
    for name, value in bad.items():
        r = post(api, {"message": "x"}, headers={"Authorization": value} if value else {})
        assert r.status == 401, name
        assert r.json == {"detail": "Authentication required"}, name
        assert r.headers.getheader("WWW-Authenticate") == "Bearer", name
    assert api.state()["posts"] == 0 and redis.cmd("LLEN", KEY) == 0
    good = {"default": mint_jwt(SECRET),
            "no exp": forge({"alg": "HS256", "typ": "JWT"}, {"sub": "u-7", "type": "access"}),
            "padded spaces": "  " + mint_jwt(SECRET, sub="u-8") + " "}
    for name, tok in good.items():
        r = post(api, {"message": "x"}, headers={"Authorization": "Bearer " + tok})
        assert r.status == 200, name
    users = [j.get("user_id") for j in api.state()["jobs"]]
    assert users == ["preflightd", "u-7", "u-8"]
    # Polls never check auth.
    assert poll(api, r.json["correlation_id"]).status == 200
    # A 401 is decided after JSON parsing (FastAPI reads the body first) but
    # before field validation.
    assert post(api, raw=b"{bad", headers={"Content-Type": "application/json"}).status == 422
    assert post(api, {"chat_mode": "nope"}).status == 401


def test_optional_and_off_auth_never_401(chat_api_factory):
    opt = chat_api_factory(auth_mode="optional", jwt_secret=SECRET)
    for hdr in ({}, {"Authorization": "Bearer garbage"},
                {"Authorization": "Bearer " + mint_jwt(SECRET, ttl=-10)}):
        assert post(opt, {"message": "x"}, headers=hdr).status == 200
    assert post(opt, {"message": "x"},
                headers={"Authorization": "Bearer " + mint_jwt(SECRET, sub="u1")}).status == 200
    assert [j.get("user_id") for j in opt.state()["jobs"]] == [None, None, None, "u1"]
    off = chat_api_factory(jwt_secret=SECRET)       # auth_mode defaults to off
    assert post(off, {"message": "x"}).status == 200
    assert post(off, {"message": "x"},
                headers={"Authorization": "Bearer " + mint_jwt(SECRET)}).status == 200
    assert all("user_id" not in j for j in off.state()["jobs"])
    assert off.state()["auth_mode"] == "off"


def test_required_without_secret_refuses_every_token(chat_api_factory):
    api = chat_api_factory(auth_mode="required")
    r = post(api, {}, headers={"Authorization": "Bearer " + mint_jwt(SECRET)})
    assert r.status == 401


# -- 413 / 422 / PHI ---------------------------------------------------------------
def test_body_cap_by_content_length(chat_api, redis):
    conn = http.client.HTTPConnection("127.0.0.1", chat_api.port, timeout=5)
    conn.putrequest("POST", "/chat")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", "1048577")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 413
    assert json.loads(r.read()) == {"error": "request_too_large", "max_bytes": 1048576,
                                    "received_bytes": 1048577}
    conn.close()
    assert chat_api.state()["posts"] == 0
    # Exactly 1 MiB passes.
    shell = json.dumps({"message": ""}).encode()
    body = json.dumps({"message": "a" * (1048576 - len(shell))}).encode()
    assert len(body) == 1048576
    r = call(chat_api, "POST", "/chat", raw=body,
             headers={"Content-Type": "application/json"})
    assert r.status == 200


def test_validation_422_shapes(chat_api, redis):
    r = post(chat_api, {"chat_mode": "turbo"})
    assert r.status == 422
    assert r.json == {"detail": [{
        "type": "literal_error", "loc": ["body", "chat_mode"],
        "msg": "Input should be 'copilot', 'agentic', 'quick' or 'task'",
        "input": "turbo", "ctx": {"expected": "'copilot', 'agentic', 'quick' or 'task'"}}]}
    r = post(chat_api, {"cache_assist": [1], "message": None})
    assert r.status == 422
    assert [(e["type"], e["loc"]) for e in r.json["detail"]] == [
        ("string_type", ["body", "message"]), ("bool_type", ["body", "cache_assist"])]
    r = post(chat_api, {"cache_assist": "maybe"})
    assert r.json["detail"][0]["type"] == "bool_parsing"
    r = post(chat_api, raw=b"not json", headers={"Content-Type": "application/json"})
    assert r.status == 422
    e = r.json["detail"][0]
    assert e["type"] == "json_invalid" and e["loc"] == ["body", 0]
    assert e["msg"] == "JSON decode error"
    r = post(chat_api, raw=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert r.json["detail"][0]["type"] == "model_attributes_type"
    r = call(chat_api, "POST", "/chat")
    assert r.status == 422 and r.json["detail"][0]["type"] == "missing"
    assert redis.cmd("LLEN", KEY) == 0 and chat_api.state()["threads"] == 0
    # Lax booleans, as Pydantic has them; null for optional fields.
    r = post(chat_api, {"cache_assist": "yes", "chat_mode": None, "thread_id": None})
    assert r.status == 200
    assert chat_api.state()["last_job"]["cache_assist"] is True


def test_phi_gate(chat_api_factory, redis):
    api = chat_api_factory(phi="block")
    r = post(api, {"message": "SSN 123-45-6789"})
    assert r.status == 422
    d = r.json["detail"]
    assert set(d) == {"phi_blocked", "phi_evidence", "identifier_labels", "message"}
    assert d["phi_blocked"] is True and d["identifier_labels"] and d["phi_evidence"]
    assert redis.cmd("LLEN", KEY) == 0
    assert api.state()["threads"] == 1              # ensure_thread ran before the gate
    r = post(api, {"message": "SSN 123-45-6789", "phi_override": True})
    assert r.status == 200
    assert api.state()["last_job"]["phi_gate_verdict"]["action"] == "overridden"
    api.control(phi="unreachable")
    r = post(api, {"message": "hello"})
    assert r.status == 422
    assert r.json == {"detail": {"phi_blocked": True, "phi_evidence": [],
                                 "identifier_labels": [],
                                 "message": "Message contains PHI — remove or "
                                            "override to proceed."}}
    r = post(api, {"message": "hello", "phi_override": True})
    assert r.status == 200
    assert api.state()["last_job"]["phi_gate_verdict"] == {
        "gate": "indeterminate", "phi_flag": False, "identifier_labels": [],
        "action": "overridden"}


# -- rate limits ------------------------------------------------------------------
def test_ip_rate_limit_on_posts_and_polls(chat_api_factory):
    api = chat_api_factory(rate_limit=3, rate_window=2)
    t0 = time.monotonic()
    assert post(api, {}).status == 200
    assert poll(api, "x").status == 200
    assert post(api, {}).status == 200
    for r in (poll(api, "x"), post(api, {})):
        assert r.status == 429
        n = int(r.headers.getheader("Retry-After"))
        assert 1 <= n <= 2
        assert r.json == {"detail": "Rate limit exceeded: 3 req/min (ip-tier)",
                          "tier": "ip", "retry_after_seconds": n}
    # Other paths and other clients are not limited.
    assert call(api, "GET", "/health").status == 200
    assert post(api, {}, headers={"X-Forwarded-For": "10.9.8.7, 127.0.0.1"}).status == 200
    # Keep knocking; rejected requests are not counted, so once the first
    # three leave the window exactly three more pass.
    while time.monotonic() - t0 < 1.7:
        assert poll(api, "x").status == 429
        time.sleep(0.1)
    time.sleep(max(0, t0 + 2.15 - time.monotonic()))
    assert [poll(api, "x").status for _ in range(4)] == [200, 200, 200, 429]
    st = api.state()                                # /_control is never limited
    assert st["rate_limited"] >= 5
    assert st["posts"] == 3 and st["polls"] == 4
    st = api.control(reset=True)                    # counters and buckets cleared
    assert (st["rate_limited"], st["posts"], st["polls"], st["jobs"]) == (0, 0, 0, [])
    assert poll(api, "x").status == 200
    assert call(api, "POST", "/_control", raw=b'{"delay": "inf"}').status == 400


def test_thread_rate_limit(chat_api_factory):
    api = chat_api_factory(rate_limit=100, thread_limit=2)
    tid = str(uuid.uuid4())
    assert [post(api, {"thread_id": tid}).status for _ in range(2)] == [200, 200]
    r = post(api, {"thread_id": tid})
    assert r.status == 429
    assert r.json["tier"] == "thread"
    assert r.json["detail"] == "Rate limit exceeded: 2 req/min (thread-tier)"
    assert int(r.headers.getheader("Retry-After")) == r.json["retry_after_seconds"] >= 1
    # Keyed on the raw string; any POST under /chat counts.
    assert post(api, {"thread_id": tid.upper()}).status == 200
    assert call(api, "POST", "/chat/anything", {"thread_id": "t-x"}).status == 404
    assert call(api, "POST", "/chat/anything", {"thread_id": "t-x"}).status == 404
    assert post(api, {"thread_id": "t-x"}).status == 429
    assert api.state()["rate_limited"] == 2


def test_rate_limit_off_by_default(chat_api):
    assert all(poll(chat_api, "x").status == 200 for _ in range(40))


# -- threads ----------------------------------------------------------------------
def test_thread_ids_and_thread_rows(chat_api):
    tid = str(uuid.uuid4())
    seen = [post(chat_api, {"thread_id": t}).json["thread_id"]
            for t in (tid, tid, tid.upper(), "{%s}" % tid)]
    assert seen == [tid, tid, tid.upper(), "{%s}" % tid]   # kept as sent
    assert chat_api.state()["threads"] == 1                 # one row
    minted = [post(chat_api, {"thread_id": "thread-42"}).json["thread_id"] for _ in range(2)]
    assert len(set(minted)) == 2 and "thread-42" not in minted
    assert all(uuid.UUID(m).version == 4 for m in minted)
    assert chat_api.state()["threads"] == 3
    assert post(chat_api, {}).json["thread_id"] not in minted
    assert chat_api.state()["threads"] == 4
    chat_api.control(db="down")                              # connection_error: echoed
    assert post(chat_api, {"thread_id": "thread-42"}).json["thread_id"] == "thread-42"
    assert chat_api.state()["threads"] == 4


# -- memory queue -------------------------------------------------------------------
def test_memory_queue_never_touches_redis(chat_api_factory, redis):
    api = chat_api_factory(queue="memory", worker="stop")
    cid = post(api, {"message": "m"}).json["correlation_id"]
    assert api.state()["queue_depth"] == 1
    api.control(worker="run")
    p = wait_status(api, cid)
    assert p["status"] == "completed"
    assert redis.cmd("KEYS", "*") == []
    assert [r for r in redis.cmd("CLIENT", "LIST").splitlines() if "cmd=brpop" in r] == []
    assert call(api, "GET", "/ready").json["checks"]["queue"] == {"status": "ok",
                                                                   "type": "MemoryQueue"}


# -- health, ready, Redis down ---------------------------------------------------------
def _commands(redis):
    info = redis.cmd("INFO", "stats")
    return int(re.search(r"total_commands_processed:(\d+)", info).group(1))


def test_health_ready_and_no_healthz(chat_api_factory, redis):
    api = chat_api_factory(worker="stop")
    assert call(api, "GET", "/health").json == {"status": "ok"}
    r = call(api, "GET", "/healthz")
    assert r.status == 404 and r.json == {"detail": "Not Found"}
    c1 = _commands(redis)
    c2 = _commands(redis)                                    # c2 - c1: one INFO
    for _ in range(5):
        r = call(api, "GET", "/ready")
        assert r.status == 200
    assert _commands(redis) - c2 == c2 - c1                  # /ready sent nothing
    assert r.json == {"status": "ready", "checks": {
        "db": {"status": "ok"}, "queue": {"status": "ok", "type": "RedisQueue"},
        "phase_13_7_schema": {"status": "ok"},
        "skills_mcp": {"status": "skipped", "reason": "not configured"}}}
    api.control(db="down")
    r = call(api, "GET", "/ready")
    assert r.status == 503 and r.json["status"] == "not_ready"
    assert r.json["checks"]["db"]["status"] == "fail"
    assert r.json["checks"]["db"]["error"] == "connection_error"
    api.control(db="up")
    redis.stop()
    assert call(api, "GET", "/ready").status == 200         # still ready
    assert call(api, "GET", "/health").status == 200


def test_redis_down_is_500_after_retry(chat_api_factory, redis):
    api = chat_api_factory(redis_retry=1.0)
    assert post(api, {}).status == 200
    redis.stop()
    r = poll(api, "x")
    assert r.status == 500 and r.raw == b"Internal Server Error"
    assert r.headers.getheader("Content-Type").startswith("text/plain")
    t0 = time.monotonic()
    r = post(api, {"message": "down"})
    took = time.monotonic() - t0
    assert r.status == 500 and r.raw == b"Internal Server Error"
    assert 0.9 <= took < 3.0
    redis.start()
    r = post(api, {"message": "up again"})
    assert r.status == 200
    assert wait_status(api, r.json["correlation_id"], timeout=8)["status"] == "completed"


# -- failure modes and TLS ------------------------------------------------------------------
def test_failure_modes(chat_api):
    chat_api.control(mode="post500")
    assert post(chat_api, {}).status == 500
    chat_api.control(mode="nonjson")
    assert post(chat_api, {}).raw.startswith(b"<html>")
    chat_api.control(mode="noid")
    assert set(post(chat_api, {}).json) == {"thread_id"}
    for mode, status in (("poll500", 500), ("pollnojson", 200), ("nostatus", 200)):
        chat_api.control(mode=mode)
        r = poll(chat_api, "x")
        assert r.status == status and (r.json is None or "status" not in r.json)
    chat_api.control(mode="huge")
    assert len(post(chat_api, {}).raw) > 2 * 1024 * 1024
    r = call(chat_api, "POST", "/_control", raw=b'{"mode": "bogus"}')
    assert r.status == 400


def test_hang_ends_at_shutdown(chat_api_factory):
    api = chat_api_factory(mode="hang")
    s = socket.create_connection(("127.0.0.1", api.port), timeout=5)
    s.sendall(b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 2\r\n\r\n{}")
    time.sleep(0.3)
    t0 = time.monotonic()
    api.close()
    assert s.recv(100) == b""                      # closed, unanswered
    assert time.monotonic() - t0 < 3
    s.close()


def test_https(chat_api_factory, tls_pki):
    import ssl
    api = chat_api_factory(tls=(tls_pki.server, tls_pki.server_key, tls_pki.ca))
    assert api.base_url.startswith("https://")
    ctx = ssl.create_default_context(cafile=tls_pki.ca)
    conn = http.client.HTTPSConnection("127.0.0.1", api.port, timeout=5, context=ctx)
    conn.request("POST", "/chat", body=b"{}", headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    assert r.status == 200 and "correlation_id" in json.loads(r.read())
    conn.close()
    assert api.check()["base_url"] == api.base_url and "token" not in api.check()
