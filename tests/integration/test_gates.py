"""Per-worker gates (SPEC §1, §6, §7) with the built-in profile against the
harness's real PostgreSQL, Redis and Chat API fixture: a missing table gates
only the workers that need it, `caused_by` names the root, POST /run
re-probes at once, and `preflightd check --wait` turns ready when the
migration lands mid-wait.  Tables are restored after every test."""
import json
import threading
import time

import pytest

from harness.daemon import run_cli

PROFILE_VARS = ("CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL",
                "REDIS_URL", "REDIS_REQUEST_KEY", "CHAT_API_URL",
                "CHAT_API_TOKEN")
GROUPS = ("chat-api", "chat-worker", "rag-chunking-worker",
          "rag-embedding-worker", "e2e")
TOKEN = "pf-gates-token-41c7"


def profile_env(pg, redis, api):
    """Every profile variable pointing at the harness services (the caller's
    own values of the others are blanked: empty counts as unset)."""
    env = {v: "" for v in PROFILE_VARS}
    env.update({v + "_FILE": "" for v in PROFILE_VARS})
    env.update({"PREFLIGHT_CONFIG": "", "PREFLIGHT_LISTEN": "",
                "CHAT_RAG_DATABASE_URL": pg.url("mobius_chat"),
                "RAG_DATABASE_URL": pg.url("mobius_rag"),
                "REDIS_URL": redis.url(), "CHAT_API_URL": api.base_url,
                "CHAT_API_TOKEN": TOKEN})
    return env


@pytest.fixture
def stack(pg, redis, chat_api_factory):
    """(pg, redis, api, env); both databases restored afterwards."""
    api = chat_api_factory(token=TOKEN)
    try:
        yield pg, redis, api, profile_env(pg, redis, api)
    finally:
        pg.restore()


@pytest.fixture
def profiled(stack, daemon_factory):
    """The daemon on the built-in profile (no config file), all passing."""
    pg, redis, api, env = stack
    d = daemon_factory(None, env=env)
    d.wait_for(lambda: d.get("/readyz")[0] == 200, 15, "the full profile to pass")
    return d, pg, redis, api, env


def ready(d, group):
    code, _, body = d.get("/readyz?group=" + group)
    return code, json.loads(body)


def wait_ready(d, group, want, timeout=5.0):
    return d.wait_for(lambda: (ready(d, group)[0] == 200) == want, timeout,
                      "%s ready=%s" % (group, want))


def verdicts(d):
    return {g: ready(d, g)[0] for g in GROUPS}


def test_missing_chat_table_gates_only_chat(profiled):
    d, pg, _, _, _ = profiled
    pg.sql("mobius_chat", "DROP TABLE chat_turn_messages CASCADE")
    assert d.post("/run")[0] == 202
    wait_ready(d, "chat-worker", False)
    code, body = ready(d, "chat-worker")
    assert code == 503 and body == {"status": "fail", "ready": False,
                                    "failing": ["chat-db"]}, body
    assert verdicts(d) == {"chat-api": 503, "chat-worker": 503,
                           "rag-chunking-worker": 200,
                           "rag-embedding-worker": 200, "e2e": 200}
    assert d.get("/readyz")[0] == 503
    code, db = d.get_json("/status/chat-db")
    assert db["reason"] == "missing_table"
    assert db["details"]["missing_tables"] == ["chat_turn_messages"]
    assert db["hint"].startswith("run the migrations for database mobius_chat"), db
    code, _, body = d.get("/readyz?group=no-such-worker")
    assert code == 404

    # The migration job ran: POST /run re-probes now, not at the next
    # 10 s tick, so the worker's startup probe turns green within seconds.
    pg.restore("mobius_chat")
    t0 = time.monotonic()
    assert d.post("/run?group=chat-worker")[0] == 202
    wait_ready(d, "chat-worker", True, timeout=3)
    assert time.monotonic() - t0 < 3
    assert d.get("/readyz")[0] == 200


def test_missing_embedding_table_gates_only_embedding(profiled):
    d, pg, _, _, _ = profiled
    pg.sql("mobius_rag", "DROP TABLE chunk_embeddings")
    assert d.post("/run?check=rag-embedding-db")[0] == 202
    wait_ready(d, "rag-embedding-worker", False)
    assert d.post("/run")[0] == 202
    time.sleep(0.5)  # let the other checks re-probe too: they must stay green
    assert verdicts(d) == {"chat-api": 200, "chat-worker": 200,
                           "rag-chunking-worker": 200,
                           "rag-embedding-worker": 503, "e2e": 200}
    code, emb = d.get_json("/status/rag-embedding-db")
    assert emb["details"]["missing_tables"] == ["chunk_embeddings"]
    code, chunk = d.get_json("/status/rag-chunking-db")
    assert chunk["status"] == "pass" and chunk["hint"] is None
    code, doc = d.get_json("/status?group=rag-embedding-worker")
    assert doc["status"] == "fail" and list(doc["checks"]) == ["rag-embedding-db"]


# -- caused_by: the dashboard shows the root ---------------------------------

def fast_profile(env, tmp_path, hints=None):
    """The profile's own checks and groups (from `preflightd config`) as a
    config file with short timings, so a job_timeout takes seconds instead
    of the profile's 120 s; secrets put back from env."""
    p = run_cli(["config"], env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    secret = {"chat-db": ("url", env["CHAT_RAG_DATABASE_URL"]),
              "rag-chunking-db": ("url", env["RAG_DATABASE_URL"]),
              "rag-embedding-db": ("url", env["RAG_DATABASE_URL"]),
              "redis": ("url", env["REDIS_URL"]),
              "chat-roundtrip": ("token", env["CHAT_API_TOKEN"])}
    for c in doc["checks"]:
        c.pop("target", None)
        if c["name"] in secret:
            key, value = secret[c["name"]]
            c[key] = value
        c["interval"], c["timeout"] = "1s", "500ms"
        if c["kind"] == "chat":
            c.update(interval="4s", timeout="2500ms", poll_interval="100ms")
        if hints and c["name"] in hints:
            c["hints"] = hints[c["name"]]
    doc.pop("source")
    path = tmp_path / "profile-fast.json"
    path.write_text(json.dumps(doc))
    return doc, str(path)


def test_caused_by_names_the_root(stack, daemon_factory, tmp_path):
    pg, redis, api, env = stack
    doc, _ = fast_profile(env, tmp_path)
    rt = next(c for c in doc["checks"] if c["name"] == "chat-roundtrip")
    assert set(rt["depends_on"]) == {"chat-api-ready", "redis", "chat-db"}
    d = daemon_factory(doc, env=env)
    d.wait_status("chat-roundtrip", "pass", timeout=10)

    # The worker stopped: the API accepts jobs nobody completes.  The
    # round trip is the root itself (its backends are fine).
    api.control(worker="stop")
    st = d.wait_status("chat-roundtrip", "fail", timeout=10)
    assert st["reason"] == "job_timeout" and st["caused_by"] is None, st
    assert "worker running" in st["hint"], st
    assert d.get("/readyz?group=chat-worker")[0] == 200
    assert d.get("/readyz?group=e2e")[0] == 503
    api.control(worker="run")
    d.post("/run?check=chat-roundtrip")
    d.wait_status("chat-roundtrip", "pass", timeout=10)

    # Redis is down: redis fails, and the round trip names it as its cause.
    redis.stop()
    try:
        d.post("/run")
        d.wait_status("redis", "fail", timeout=5)

        def rt_caused():
            code, s = d.get_json("/status/chat-roundtrip")
            return s if s["status"] == "fail" and s["caused_by"] else None
        st = d.wait_for(rt_caused, 10, "chat-roundtrip to fail with a cause")
        assert st["caused_by"] == "redis", st
        assert d.get_json("/status/redis")[1]["reason"] == "connect_refused"
        assert verdicts(d)["chat-worker"] == 503
        assert verdicts(d)["rag-embedding-worker"] == 200
    finally:
        redis.start()


# -- preflightd check --wait: the migration-race fix -------------------------

def test_check_wait_turns_ready_when_migration_lands(stack):
    pg, _, _, env = stack
    pg.sql("mobius_chat", "DROP TABLE chat_threads CASCADE")
    restorer = threading.Timer(2.0, pg.restore, args=("mobius_chat",))
    t0 = time.monotonic()
    restorer.start()
    try:
        p = run_cli(["check", "--wait", "30s", "--group", "chat-worker"],
                    env=env, timeout=40)
    finally:
        restorer.join()
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stdout + p.stderr
    assert 1.5 < took < 15, took
    assert "\u2713 chat-db" in p.stdout and "READY" in p.stdout, p.stdout


def test_check_wait_gives_up_and_explains(stack):
    pg, _, _, env = stack
    pg.sql("mobius_chat", "DROP TABLE chat_turn_messages CASCADE")
    t0 = time.monotonic()
    p = run_cli(["check", "--wait", "2s", "--group", "chat-worker"], env=env,
                timeout=20)
    took = time.monotonic() - t0
    assert p.returncode == 1, p.stdout + p.stderr
    assert 1.8 < took < 10, took
    out = p.stdout
    assert out.startswith("group chat-worker\n"), out
    line = next(l for l in out.splitlines() if "chat-db" in l)
    assert line.startswith("\u2717 chat-db"), out
    assert "postgresql://mobius_app:***@127.0.0.1:%d/mobius_chat" % pg.port in line
    assert pg.passwords["mobius_app"] not in out
    assert "    missing_table: " in out and "chat_turn_messages" in out, out
    assert ("    hint: run the migrations for database mobius_chat before "
            "starting its workers") in out, out
    assert "\u2713 redis" in out and "NOT READY" in out
    assert "rag-" not in out  # only the group's checks are judged
    # the whole report, in JSON, for machines
    p = run_cli(["check", "--group", "chat-worker", "--format", "json"], env=env)
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and doc["checks"]["chat-db"]["reason"] == "missing_table"
    # other workers are not held back by the Chat schema
    assert run_cli(["check", "--group", "rag-embedding-worker"], env=env).returncode == 0


def test_per_check_hints_override(stack, tmp_path):
    pg, _, _, env = stack
    mine = "run the Chat migration job (mobius-chat-migrate) before deploying Chat"
    _, path = fast_profile(env, tmp_path, hints={"chat-db": {"missing_table": mine}})
    pg.sql("mobius_chat", "DROP TABLE chat_state")
    p = run_cli(["check", "--config", path, "--group", "chat-worker"], env=env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "    hint: " + mine in p.stdout, p.stdout
    assert "run the migrations for database" not in p.stdout
    # an override for another reason leaves this one's built-in hint alone
    _, path = fast_profile(env, tmp_path, hints={"chat-db": {"auth": "rotate it"}})
    p = run_cli(["check", "--config", path, "--group", "chat-worker",
                 "--format", "json"], env=env)
    hint = json.loads(p.stdout)["checks"]["chat-db"]["hint"]
    assert hint.startswith("run the migrations for database mobius_chat"), hint
