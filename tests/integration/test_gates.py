"""Per-worker gates (SPEC §1, §6, §7) with the built-in profile against the
harness's real PostgreSQL (mobius_chat built from the migration corpus,
mobius_rag), Redis and the JWT-only Chat API fixture, the environment
written as the real services write theirs: a missing table gates only the
workers that need it, `caused_by` names the root, POST /run re-probes, and
`preflightd check --wait` turns ready when the migration lands mid-wait.
Databases are restored after every test."""
import json
import threading
import time
import urllib.parse

import pytest

from harness.daemon import run_cli
from harness.pg import CHAT_CORPUS, corpus_files
from harness.profile_env import GROUPS, clean_env, socket_url

JWT_SECRET = "pf-gates-jwt-41c7e09b"


def profile_env(pg, redis, api, **over):
    """Every profile variable pointing at the harness services in the real
    services' style (the caller's own values of the others are blanked:
    empty counts as unset)."""
    pw = pg.passwords["mobius_app"]
    env = clean_env()
    env.update({"CHAT_RAG_DATABASE_URL": socket_url(pg, "mobius_chat"),
                "CHAT_DB_PASSWORD": pw,
                "RAG_DATABASE_URL": "postgresql+asyncpg://mobius_app:%s@127.0.0.1:%d/mobius_rag"
                                    % (urllib.parse.quote(pw, safe=""), pg.port),
                "REDIS_URL": "redis://127.0.0.1:%d/0?health_check_interval=30" % redis.port,
                "CHAT_API_URL": api.base_url, "JWT_SECRET": JWT_SECRET})
    env.update(over)
    return env


@pytest.fixture
def stack(pg, redis, chat_api_factory):
    """(pg, redis, api, env); both databases restored afterwards."""
    api = chat_api_factory(auth_mode="required", jwt_secret=JWT_SECRET)
    try:
        yield pg, redis, api, profile_env(pg, redis, api)
    finally:
        pg.restore()


@pytest.fixture
def profiled(stack, daemon_factory):
    """The daemon on the built-in profile (no config file), every periodic
    check passing and the on-demand round trip run once (POST /run?group=e2e),
    so that every group is ready."""
    pg, redis, api, env = stack
    d = daemon_factory(None, env=env)
    d.wait_for(lambda: d.get("/readyz")[0] == 200, 15, "the full profile to pass")
    assert d.post("/run?group=e2e")[0] == 202
    d.wait_status("chat-roundtrip", "pass", timeout=15)
    assert verdicts(d) == dict.fromkeys(GROUPS, 200)
    return d, pg, redis, api, env


def ready(d, group):
    code, _, body = d.get("/readyz?group=" + group)
    return code, json.loads(body)


def wait_ready(d, group, want, timeout=5.0):
    return d.wait_for(lambda: (ready(d, group)[0] == 200) == want, timeout,
                      "%s ready=%s" % (group, want))


def verdicts(d):
    return {g: ready(d, g)[0] for g in GROUPS}


def last_runs(d):
    return {n: c["last_run"] for n, c in d.get_json("/status")[1]["checks"].items()}


def wait_reprobed(d, before, names, timeout=15):
    """Until each of names has a result newer than in before."""
    d.wait_for(lambda: all(last_runs(d)[n] != before[n] for n in names), timeout,
               "%s to probe again" % ", ".join(names))


# The profile's periodic checks probe every 10 s and POST /run starts a
# check at most once per run_min_spacing (10 s; the profile has no variable
# for it), so a re-probe asked for in profile mode may take up to ~10 s.
REPROBE = 13


def test_missing_chat_table_gates_only_chat(profiled):
    d, pg, _, _, _ = profiled
    pg.sql("mobius_chat", "DROP TABLE chat_turn_messages CASCADE")
    code, _, body = d.post("/run")
    assert code == 202, body
    run = json.loads(body)
    # every periodic check is started or joins a start already due; the
    # on-demand round trip is not part of an ungrouped /run
    assert sorted(run["accepted"] + run["coalesced"]) == sorted(
        ["chat-db", "rag-chunking-db", "rag-embedding-db", "redis", "chat-api-ready"]), run
    wait_ready(d, "chat-worker", False, timeout=REPROBE)
    code, body = ready(d, "chat-worker")
    assert code == 503 and body == {"status": "fail", "ready": False,
                                    "failing": ["chat-db"]}, body
    # the Chat schema gates the Chat containers, not the RAG ones; the last
    # round trip passed, but it depends on chat-db, which now fails: its
    # pass is no longer evidence, so e2e is not ready either
    assert verdicts(d) == {"chat-api": 503, "chat-worker": 503,
                           "rag-chunking-worker": 200,
                           "rag-embedding-worker": 200, "e2e": 503}
    assert d.get("/readyz")[0] == 503
    code, db = d.get_json("/status/chat-db")
    assert db["reason"] == "missing_table"
    assert db["details"]["missing_tables"] == ["chat_turn_messages"]
    assert db["hint"].startswith("run the migrations for database mobius_chat"), db
    code, _, body = d.get("/readyz?group=no-such-worker")
    assert code == 404

    # The migration job ran: POST /run re-probes (within the spacing), so
    # the worker's startup probe turns green without anyone restarting.
    pg.restore("mobius_chat")
    assert d.post("/run?group=chat-worker")[0] == 202
    wait_ready(d, "chat-worker", True, timeout=REPROBE)
    assert d.get("/readyz")[0] == 200
    assert verdicts(d) == dict.fromkeys(GROUPS, 200)


def test_missing_embedding_table_gates_only_embedding(profiled):
    d, pg, _, _, _ = profiled
    before = last_runs(d)
    pg.sql("mobius_rag", "DROP TABLE chunk_embeddings")
    assert d.post("/run?check=rag-embedding-db")[0] == 202
    wait_ready(d, "rag-embedding-worker", False, timeout=REPROBE)
    # let the other checks re-probe too: they must stay green
    wait_reprobed(d, before, ["chat-db", "rag-chunking-db", "redis", "chat-api-ready"])
    assert verdicts(d) == {"chat-api": 200, "chat-worker": 200,
                           "rag-chunking-worker": 200,
                           "rag-embedding-worker": 503, "e2e": 200}
    code, emb = d.get_json("/status/rag-embedding-db")
    assert emb["details"]["missing_tables"] == ["chunk_embeddings"]
    assert emb["details"]["missing_columns"] == {}
    code, chunk = d.get_json("/status/rag-chunking-db")
    assert chunk["status"] == "pass" and chunk["hint"] is None
    code, doc = d.get_json("/status?group=rag-embedding-worker")
    assert doc["status"] == "fail" and list(doc["checks"]) == ["rag-embedding-db"]


def test_missing_embedding_jobs_gates_both_rag_workers(stack):
    """embedding_jobs is written by the chunking worker (it enqueues the
    embedding job) and read by the embedding worker: both RAG gates close,
    the Chat ones stay open."""
    pg, _, _, env = stack
    pg.sql("mobius_rag", "DROP TABLE embedding_jobs CASCADE")
    for g, want in (("rag-chunking-worker", 1), ("rag-embedding-worker", 1),
                    ("chat-worker", 0), ("chat-api", 0)):
        p = run_cli(["check", "--group", g], env=env)
        assert p.returncode == want, (g, p.stdout)
        if want:
            assert "    missing_table: " in p.stdout and "embedding_jobs" in p.stdout, p.stdout


# -- caused_by: the dashboard shows the root ---------------------------------

SECRET_KEYS = {"chat-db": {"password": "CHAT_DB_PASSWORD"},
               "rag-chunking-db": {"url": "RAG_DATABASE_URL"},
               "rag-embedding-db": {"url": "RAG_DATABASE_URL"}}
DISPLAY_ONLY = ("target", "run_min_spacing", "notes", "schema_dir_derived")


def fast_profile(env, tmp_path, hints=None, interval="1s", timeout="500ms",
                 spacing="200ms"):
    """The profile's own checks and groups (from `preflightd config`) as a
    config file with short timings (a job_timeout takes seconds instead of
    the profile's 5m30s; POST /run may start a check again after spacing),
    the redacted secrets put back from env."""
    p = run_cli(["config"], env=env)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    for c in doc["checks"]:
        for k in DISPLAY_ONLY:
            c.pop(k, None)
        if c["kind"] == "postgres":
            # a password from the `password` key is shown as "***": put
            # back from env below (SECRET_KEYS) where the profile set one
            c.pop("password", None)
        for key, var in SECRET_KEYS.get(c["name"], {}).items():
            c[key] = env[var]
        if c["kind"] == "chat":
            assert c["jwt"]["secret"] == "***"
            c["jwt"]["secret"] = env["JWT_SECRET"]
            # on demand, as in the profile
            c.update(interval="off", timeout="4s", poll_interval="100ms")
        else:
            c["interval"], c["timeout"] = interval, timeout
        if hints and c["name"] in hints:
            c["hints"] = hints[c["name"]]
    assert "***" not in json.dumps(doc["checks"]), doc
    doc.pop("source")
    doc.pop("notes", None)
    doc["run_min_spacing"] = spacing
    path = tmp_path / "profile-fast.json"
    path.write_text(json.dumps(doc))
    return doc, str(path)


def test_caused_by_names_the_root(stack, daemon_factory, tmp_path):
    pg, redis, api, env = stack
    doc, _ = fast_profile(env, tmp_path)
    rt = next(c for c in doc["checks"] if c["name"] == "chat-roundtrip")
    assert rt["depends_on"] == ["redis", "chat-db", "chat-api-ready"]
    d = daemon_factory(doc, env=env)
    d.wait_for(lambda: d.get("/readyz")[0] == 200, 10, "the periodic checks to pass")
    assert d.get_json("/status/chat-roundtrip")[1]["status"] == "unknown"
    assert d.post("/run?check=chat-roundtrip")[0] == 202
    d.wait_status("chat-roundtrip", "pass", timeout=10)

    # The worker stopped: the API accepts jobs nobody completes.  The
    # round trip is the root itself (its backends are fine).
    api.control(worker="stop")
    assert d.post("/run?check=chat-roundtrip")[0] == 202
    st = d.wait_status("chat-roundtrip", "fail", timeout=10)
    assert st["reason"] == "job_timeout" and st["caused_by"] is None, st
    assert st["hint"].startswith("no worker took the job"), st
    assert d.get("/readyz?group=chat-worker")[0] == 200
    assert d.get("/readyz?group=e2e")[0] == 503
    api.control(worker="run")
    time.sleep(0.3)  # the spacing
    assert d.post("/run?check=chat-roundtrip")[0] == 202
    d.wait_status("chat-roundtrip", "pass", timeout=10)

    # Redis is down: redis fails; the API's /ready does not look at Redis
    # and stays green; the round trip, run on demand, fails and names redis
    # as its cause.
    redis.stop()
    try:
        st = d.wait_status("redis", "fail", timeout=5)
        assert st["reason"] == "connect_refused", st
        assert d.get_json("/status/chat-api-ready")[1]["status"] == "pass"
        posts = api.state()["posts"]
        assert d.post("/run?group=e2e")[0] == 202

        def rt_failed():
            code, s = d.get_json("/status/chat-roundtrip")
            return s if s["status"] == "fail" else None
        st = d.wait_for(rt_failed, 10, "chat-roundtrip to fail")
        assert st["caused_by"] == "redis", st
        assert api.state()["posts"] == posts + 1  # it really tried
        # the API could not LPUSH the job: a 500, not a job that times out
        assert st["reason"] == "http_status" and "500" in st["error"], st
        assert verdicts(d)["chat-worker"] == 503
        assert verdicts(d)["chat-api"] == 503
        assert verdicts(d)["e2e"] == 503
        assert verdicts(d)["rag-embedding-worker"] == 200
        code, s = d.get_json("/status?group=e2e")
        assert s["checks"]["chat-roundtrip"]["caused_by"] == "redis", s
    finally:
        redis.start()
    d.wait_status("redis", "pass", timeout=5)
    assert d.get_json("/status/chat-roundtrip")[1]["caused_by"] is None


def test_e2e_gate_expires_with_the_round_trip(stack, daemon_factory, tmp_path):
    """An on-demand result counts for max_age: e2e opens after a passing
    round trip and closes again when it is older than that, while the
    ungrouped verdict ignores the round trip throughout."""
    pg, redis, api, env = stack
    doc, _ = fast_profile(env, tmp_path)
    for c in doc["checks"]:
        if c["name"] == "chat-roundtrip":
            c["max_age"] = "3s"
    d = daemon_factory(doc, env=env)
    d.wait_for(lambda: d.get("/readyz")[0] == 200, 10, "the periodic checks to pass")
    assert ready(d, "e2e") == (503, {"status": "fail", "ready": False,
                                     "failing": ["chat-roundtrip"]}), ready(d, "e2e")
    assert d.get_json("/status/chat-roundtrip")[1]["status"] == "unknown"
    assert d.post("/run?group=e2e")[0] == 202
    d.wait_status("chat-roundtrip", "pass", timeout=10)
    t_pass = time.monotonic()
    assert ready(d, "e2e")[0] == 200
    wait_ready(d, "e2e", False, timeout=6)
    assert time.monotonic() - t_pass > 2.0
    code, body = ready(d, "e2e")
    assert body["failing"] == ["chat-roundtrip"], body
    # "stale: run it": the old pass reads unknown again
    assert d.get_json("/status/chat-roundtrip")[1]["status"] == "unknown"
    assert d.get("/readyz")[0] == 200
    assert api.state()["posts"] == 1  # expiring does not run it again


# -- preflightd check --wait: the migration-race fix -------------------------

def test_check_wait_turns_ready_when_migration_lands(stack):
    """The worker starts before its migration job finished: a fresh database
    with no schema; the corpus is applied (file by file, as migrate.sh does)
    while `check --wait` waits, and it turns ready when the last file lands."""
    pg, _, _, env = stack
    pg.drop_database("chat_fresh")
    pg.create_database("chat_fresh")
    env = dict(env, CHAT_RAG_DATABASE_URL=socket_url(pg, "chat_fresh"),
               CHAT_SCHEMA_DIR=CHAT_CORPUS)
    ran = []
    migrator = threading.Timer(2.0, lambda: ran.extend(pg.migrate("chat_fresh")))
    t0 = time.monotonic()
    migrator.start()
    try:
        p = run_cli(["check", "--wait", "30s", "--group", "chat-worker"],
                    env=env, timeout=40)
        took = time.monotonic() - t0
    finally:
        migrator.join()
        pg.drop_database("chat_fresh")
    assert [f for f, ok, _ in ran if ok] == corpus_files(), ran
    assert p.returncode == 0, p.stdout + p.stderr
    assert 2.0 < took < 20, took
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
    assert ("postgresql+psycopg2://mobius_app@/mobius_chat?host=%s&port=%d"
            % (pg.socket_dir, pg.port)) in line, line
    assert pg.passwords["mobius_app"] not in out
    assert "    missing_table: " in out and "chat_turn_messages" in out, out
    assert ("    hint: run the migrations for database mobius_chat before "
            "starting its workers") in out, out
    assert "\u2713 redis" in out and "NOT READY" in out
    assert "rag-" not in out  # only the group's checks are judged
    assert "chat-roundtrip" not in out
    # the whole report, in JSON, for machines
    p = run_cli(["check", "--group", "chat-worker", "--format", "json"], env=env)
    doc = json.loads(p.stdout)
    assert p.returncode == 1 and doc["checks"]["chat-db"]["reason"] == "missing_table"
    assert sorted(doc["checks"]) == ["chat-db", "redis"], doc
    # other workers are not held back by the Chat schema
    assert run_cli(["check", "--group", "rag-embedding-worker"], env=env).returncode == 0
    assert run_cli(["check", "--group", "rag-chunking-worker"], env=env).returncode == 0


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
    # and the override of auth is what a wrong password shows
    _, path = fast_profile(dict(env, CHAT_DB_PASSWORD="wrong-pw"), tmp_path,
                           hints={"chat-db": {"auth": "rotate it"}})
    p = run_cli(["check", "--config", path, "--group", "chat-worker",
                 "--format", "json"], env=env)
    db = json.loads(p.stdout)["checks"]["chat-db"]
    assert db["reason"] == "auth" and db["hint"] == "rotate it", db
