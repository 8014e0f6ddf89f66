"""The built-in profile (SPEC §5) end to end: preflightd with NO config file,
its environment written the way the real services' is (SQLAlchemy driver
URLs, the Cloud SQL socket form with the password in CHAT_DB_PASSWORD, a
REDIS_URL with client options, a JWT secret instead of a static token) and
pointing at the harness's real PostgreSQL (mobius_chat built from the
migration corpus, mobius_rag), Redis and the JWT-only Chat API fixture.

Which variables are set decides exactly which checks and groups exist; the
database NAME in a URL decides which checks it stands for; NAME_FILE
variants are read and re-read; the round trip runs only on demand; the
profile passes against the fixture databases and fails, naming the object
and the migration file, on each damaged copy; secrets never reach /status,
/metrics, logs or the CLI.  Every test that damages a database restores it."""
import itertools
import json
import os
import re
import signal
import time
import urllib.parse
import uuid

import pytest

from harness.daemon import run_cli
from harness.net import refused_port
from harness.pg import CHAT_CORPUS, FIXTURES, corpus_files
from harness.profile_env import GROUPS, clean_env, socket_url
from harness.redis import PASSWORD as REDIS_PASSWORD

# The checks the daemon runs by itself, and with the on-demand round trip.
PERIODIC = ("chat-db", "rag-chunking-db", "rag-embedding-db", "redis",
            "chat-api-ready")
ALL_CHECKS = PERIODIC + ("chat-roundtrip",)
JWT_SECRET = "pf-jwt-secret-5b0c7e1d9a"
LAST_FILE = corpus_files()[-1]          # 059_published_rag_documents_matview.sql
FIXED_TID = "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def asyncpg_url(pg, db, password=None):
    pw = pg.passwords["mobius_app"] if password is None else password
    return "postgresql+asyncpg://mobius_app:%s@127.0.0.1:%d/%s" % (
        urllib.parse.quote(pw, safe=""), pg.port, db)


def real_env(pg, redis_url, api, **over):
    """The environment of the real services, aimed at the harness."""
    env = clean_env(CHAT_RAG_DATABASE_URL=socket_url(pg, "mobius_chat"),
                    CHAT_DB_PASSWORD=pg.passwords["mobius_app"],
                    RAG_DATABASE_URL=asyncpg_url(pg, "mobius_rag"),
                    REDIS_URL=redis_url,
                    CHAT_API_URL=api.base_url + "/",
                    JWT_SECRET=JWT_SECRET)
    env.update(over)
    return env


def redis_real_url(redis, password=None):
    auth = ":%s@" % urllib.parse.quote(password, safe="") if password else ""
    return "redis://%s127.0.0.1:%d/0?health_check_interval=30" % (auth, redis.port)


def config_doc(env):
    p = run_cli(["config"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["source"] == "environment", doc
    return doc


def by_name(doc):
    return {c["name"]: c for c in doc["checks"]}


def check_json(env, *args):
    """`preflightd check --format json [args]`: (exit code, report)."""
    p = run_cli(["check", "--format", "json"] + list(args), env=env)
    assert p.returncode in (0, 1), p.stdout + p.stderr
    return p.returncode, json.loads(p.stdout)


def expected(chat_db, rag_db, redis, api):
    """(checks, groups) the profile must build for these variables."""
    checks = set()
    if chat_db:
        checks.add("chat-db")
    if rag_db:
        checks |= {"rag-chunking-db", "rag-embedding-db"}
    if redis:
        checks.add("redis")
    if api:
        checks |= {"chat-api-ready", "chat-roundtrip"}
    members = {"chat-api": ["chat-db", "redis"], "chat-worker": ["chat-db", "redis"],
               "rag-chunking-worker": ["rag-chunking-db"],
               "rag-embedding-worker": ["rag-embedding-db"],
               "e2e": ["chat-api-ready", "chat-roundtrip"]}
    groups = {g: [m for m in ms if m in checks] for g, ms in members.items()}
    return sorted(checks), {g: ms for g, ms in groups.items() if ms}


@pytest.fixture
def api(chat_api_factory):
    """The Chat API fixture as the real service runs: JWT required."""
    return chat_api_factory(auth_mode="required", jwt_secret=JWT_SECRET)


@pytest.fixture
def services(pg, redis, api):
    """(pg, redis, api, env): the real-style environment aimed at them; both
    databases restored afterwards."""
    try:
        yield pg, redis, api, real_env(pg, redis_real_url(redis), api)
    finally:
        pg.restore()


def secrets_of(pg):
    return [pg.passwords["mobius_app"], pg.passwords["postgres"],
            pg.passwords["mobius_ro"], JWT_SECRET, REDIS_PASSWORD]


def assert_no_secret(text, secrets, where):
    for s in secrets:
        assert s not in text, "secret %r leaked in %s" % (s[:6] + "...", where)
    # a minted token (base64url of '{"alg":"HS256"...') is a secret too
    assert "eyJ" not in text, "a JWT leaked in %s" % where


# -- which variables create which checks -----------------------------------

def test_each_variable_creates_exactly_its_checks():
    """All 16 combinations of the four service variables, in the services'
    own URL styles (values need not answer: `config` only builds and
    validates).  CHAT_DB_PASSWORD and JWT_SECRET are always set: alone they
    create nothing.  The round trip is on demand and depends on the backends
    that exist."""
    urls = {"CHAT_RAG_DATABASE_URL":
            "postgresql+psycopg2://app@/mobius_chat?host=/cloudsql/p:r:i",
            "RAG_DATABASE_URL": "postgresql+asyncpg://app:pw2@127.0.0.1:5/mobius_rag",
            "REDIS_URL": "redis://:pw3@127.0.0.1:6/0?health_check_interval=30",
            "CHAT_API_URL": "http://127.0.0.1:7/"}
    names = list(urls)
    for bits in itertools.product((False, True), repeat=4):
        env = clean_env(CHAT_DB_PASSWORD="pw1", JWT_SECRET="pw4-jwt",
                        **{n: urls[n] for n, on in zip(names, bits) if on})
        doc = config_doc(env)
        checks, groups = expected(*bits)
        assert sorted(by_name(doc)) == checks, (bits, doc)
        assert doc.get("groups", {}) == groups, (bits, doc)
        assert_no_secret(json.dumps(doc), ["pw1", "pw2", "pw3", "pw4-jwt"], "config")
        c = by_name(doc)
        if "chat-db" in c:
            assert c["chat-db"]["password"] == "***", c["chat-db"]
        if "chat-roundtrip" in c:
            rt = c["chat-roundtrip"]
            assert rt["interval"] == "off" and rt["timeout"] == "5m30s", rt
            assert rt["depends_on"] == [n for n in ("redis", "chat-db", "chat-api-ready")
                                        if n in c], rt
            assert rt["base_url"] == "http://127.0.0.1:7", rt
            assert rt["body"] == {"chat_mode": "quick", "cache_assist": False}, rt
            assert rt["jwt"] == {"secret": "***", "ttl": "5m",
                                 "claims": {"sub": "preflightd", "type": "access"}}, rt
            assert "token" not in rt
            assert c["chat-api-ready"]["url"] == "http://127.0.0.1:7/ready"
    # the password variables alone create nothing either
    doc = config_doc(clean_env(CHAT_DB_PASSWORD="pw1", DB_PASSWORD="pw2",
                               JWT_SECRET="pw4", CHAT_API_TOKEN="pw5"))
    assert doc["checks"] == [] and doc.get("groups", {}) == {}, doc


# Hosts tell which variable a check's URL came from.
H = {"CHAT_RAG_DATABASE_URL": "h-chatrag", "RAG_DATABASE_URL": "h-rag",
     "DATABASE_URL": "h-db"}


def db_url(var, db, scheme="postgresql"):
    return "%s://app@%s:5432/%s" % (scheme, H[var], db)


@pytest.mark.parametrize("env,want", [
    # the name decides, whatever the variable
    ({"CHAT_RAG_DATABASE_URL": "mobius_rag"}, {"rag": "CHAT_RAG_DATABASE_URL"}),
    ({"RAG_DATABASE_URL": "mobius_chat"}, {"chat": "RAG_DATABASE_URL"}),
    ({"DATABASE_URL": "mobius_chat"}, {"chat": "DATABASE_URL"}),
    ({"DATABASE_URL": "mobius_rag"}, {"rag": "DATABASE_URL"}),
    # next to RAG_DATABASE_URL, a CHAT_RAG_DATABASE_URL naming mobius_rag
    # gives the RAG checks (first of its kind wins), and no chat-db
    ({"CHAT_RAG_DATABASE_URL": "mobius_rag", "RAG_DATABASE_URL": "mobius_rag"},
     {"rag": "CHAT_RAG_DATABASE_URL"}),
    # both kinds
    ({"CHAT_RAG_DATABASE_URL": "mobius_chat", "RAG_DATABASE_URL": "mobius_rag"},
     {"chat": "CHAT_RAG_DATABASE_URL", "rag": "RAG_DATABASE_URL"}),
    ({"CHAT_RAG_DATABASE_URL": "mobius_rag", "RAG_DATABASE_URL": "mobius_chat"},
     {"chat": "RAG_DATABASE_URL", "rag": "CHAT_RAG_DATABASE_URL"}),
    ({"CHAT_RAG_DATABASE_URL": "mobius_rag", "DATABASE_URL": "mobius_chat"},
     {"chat": "DATABASE_URL", "rag": "CHAT_RAG_DATABASE_URL"}),
    # unknown names: by variable (CHAT_RAG -> chat, the other two -> RAG)
    ({"CHAT_RAG_DATABASE_URL": "chat_staging"}, {"chat": "CHAT_RAG_DATABASE_URL"}),
    ({"RAG_DATABASE_URL": "rag_staging"}, {"rag": "RAG_DATABASE_URL"}),
    ({"DATABASE_URL": "app"}, {"rag": "DATABASE_URL"}),
    ({"CHAT_RAG_DATABASE_URL": "chat_staging", "RAG_DATABASE_URL": "rag_staging"},
     {"chat": "CHAT_RAG_DATABASE_URL", "rag": "RAG_DATABASE_URL"}),
    # precedence within a kind: CHAT_RAG, RAG, DATABASE
    ({"RAG_DATABASE_URL": "mobius_rag", "DATABASE_URL": "mobius_rag"},
     {"rag": "RAG_DATABASE_URL"}),
    ({"RAG_DATABASE_URL": "rag_staging", "DATABASE_URL": "mobius_rag"},
     {"rag": "RAG_DATABASE_URL"}),
    ({"CHAT_RAG_DATABASE_URL": "mobius_chat", "DATABASE_URL": "mobius_chat"},
     {"chat": "CHAT_RAG_DATABASE_URL"}),
    ({"CHAT_RAG_DATABASE_URL": "x", "RAG_DATABASE_URL": "mobius_chat",
      "DATABASE_URL": "y"}, {"chat": "CHAT_RAG_DATABASE_URL", "rag": "DATABASE_URL"}),
])
def test_database_name_decides_the_checks(env, want):
    values = {v: db_url(v, db) for v, db in env.items()}
    doc = config_doc(clean_env(**values))
    c = by_name(doc)
    names = set()
    if "chat" in want:
        names.add("chat-db")
    if "rag" in want:
        names |= {"rag-chunking-db", "rag-embedding-db"}
    assert set(c) == names, (env, doc)
    for kind, checks in (("chat", ["chat-db"]),
                         ("rag", ["rag-chunking-db", "rag-embedding-db"])):
        for n in checks if kind in want else ():
            assert c[n]["target"] == values[want[kind]], (env, n, c[n])
    if "chat" in want:
        assert "chat_turns" in c["chat-db"]["tables"]
    if "rag" in want:
        assert "chunking_jobs" in c["rag-chunking-db"]["tables"]
        assert "chunk_embeddings" in c["rag-embedding-db"]["tables"]


def test_url_forms_are_classified_and_accepted():
    """The services' URL forms: the SQLAlchemy driver suffixes, postgres://,
    the socket form, a percent-encoded name, ?dbname= — all valid, all
    classified by the database name."""
    cases = [("postgresql+psycopg2://u:p@h:1/mobius_rag", "rag"),
             ("postgresql+asyncpg://u:p@h:1/mobius_chat", "chat"),
             ("postgres://u:p@h:1/mobius_chat", "chat"),
             ("postgresql+psycopg2://u@/mobius_chat?host=/cloudsql/p:r:i", "chat"),
             ("postgresql://u@h/mobius%5Frag", "rag"),
             ("postgresql://u@h/?dbname=mobius_chat", "chat")]
    for url, kind in cases:
        doc = config_doc(clean_env(DATABASE_URL=url))
        names = sorted(by_name(doc))
        assert names == (["chat-db"] if kind == "chat" else
                         ["rag-chunking-db", "rag-embedding-db"]), (url, doc)


def test_precedence_and_fallbacks(tmp_path):
    # the fallback URL as a mounted secret, trailing newline trimmed
    secret = tmp_path / "database-url"
    secret.write_text("postgresql+asyncpg://a:filepw@127.0.0.1:5/mobius_rag\n")
    doc = config_doc(clean_env(DATABASE_URL_FILE=str(secret)))
    assert sorted(by_name(doc)) == ["rag-chunking-db", "rag-embedding-db"]
    assert all(c["target"] == "postgresql+asyncpg://a:***@127.0.0.1:5/mobius_rag"
               for c in doc["checks"]), doc
    assert "filepw" not in json.dumps(doc)
    # RAG_DATABASE_URL_FILE wins over DATABASE_URL
    doc = config_doc(clean_env(DATABASE_URL="postgresql://a@h-db/mobius_rag",
                               RAG_DATABASE_URL_FILE=str(secret)))
    assert all("127.0.0.1:5" in c["target"] for c in doc["checks"]), doc
    # the password: CHAT_DB_PASSWORD for chat-db, else DB_PASSWORD; the RAG
    # checks take DB_PASSWORD only
    chat = "postgresql://a@h/mobius_chat"
    rag = "postgresql://a@h/mobius_rag"
    for pw, want_chat, want_rag in ((dict(CHAT_DB_PASSWORD="c"), True, False),
                                   (dict(DB_PASSWORD="d"), True, True),
                                   (dict(CHAT_DB_PASSWORD="c", DB_PASSWORD="d"), True, True),
                                   ({}, False, False)):
        c = by_name(config_doc(clean_env(CHAT_RAG_DATABASE_URL=chat,
                                         RAG_DATABASE_URL=rag, **pw)))
        assert ("password" in c["chat-db"]) == want_chat, (pw, c["chat-db"])
        for n in ("rag-chunking-db", "rag-embedding-db"):
            assert ("password" in c[n]) == want_rag, (pw, c[n])
        assert all(c[n].get("password", "***") == "***" for n in c)
    # the queue: its key, CHAT_QUEUE_TYPE over QUEUE_TYPE
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6"))
    assert doc["checks"][0]["queue"] == {"key": "mobius:chat:requests",
                                         "max_depth": 50, "stall_after": "10m"}, doc
    assert "notes" not in doc
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6",
                               REDIS_REQUEST_KEY="other:queue"))
    assert doc["checks"][0]["queue"]["key"] == "other:queue"
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6",
                               CHAT_QUEUE_TYPE="redis", QUEUE_TYPE="memory"))
    assert "queue" in doc["checks"][0] and "notes" not in doc, doc
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6", QUEUE_TYPE="memory"))
    assert "queue" not in doc["checks"][0], doc
    assert any("QUEUE_TYPE=memory" in n for n in doc["notes"]), doc
    # the round trip's auth: CHAT_API_TOKEN (static) over JWT_SECRET
    api = dict(CHAT_API_URL="http://127.0.0.1:7")
    rt = by_name(config_doc(clean_env(CHAT_API_TOKEN="tok-1", JWT_SECRET="sec-1",
                                      **api)))["chat-roundtrip"]
    assert rt["token"] == "***" and "jwt" not in rt, rt
    rt = by_name(config_doc(clean_env(**api)))["chat-roundtrip"]
    assert "token" not in rt and "jwt" not in rt, rt
    rt = by_name(config_doc(clean_env(JWT_SECRET="s", CHAT_PROBE_USER="probe-7",
                                      CHAT_PROBE_THREAD_ID=FIXED_TID,
                                      MOBIUS_TURN_DEADLINE_S="90",
                                      CHAT_PROBE_INTERVAL="15m", **api)))["chat-roundtrip"]
    assert rt["jwt"]["claims"] == {"sub": "probe-7", "type": "access"}, rt
    assert rt["thread_id"] == FIXED_TID and rt["timeout"] == "2m", rt
    assert rt["interval"] == "15m" and "max_age" not in rt, rt
    # CHAT_PROBE_THREAD_ID must be a UUID: the API would replace anything
    # else with a new thread on every probe
    p = run_cli(["config"], env=clean_env(CHAT_PROBE_THREAD_ID="probe-thread", **api))
    assert p.returncode == 2 and "thread_id" in p.stderr and "UUID" in p.stderr, p.stderr
    # else the thread id is a UUID derived from the instance name
    tids = [by_name(config_doc(clean_env(K_REVISION=rev, **api)))["chat-roundtrip"]["thread_id"]
            for rev in ("rev-a", "rev-a", "rev-b")]
    assert all(UUID_RE.match(t) for t in tids), tids
    assert tids[0] == tids[1] != tids[2], tids
    # NAME and NAME_FILE together is ambiguous: a configuration error
    for bad, word in ((dict(REDIS_URL="redis://127.0.0.1:6", REDIS_URL_FILE="/nonexistent"),
                       "REDIS_URL_FILE"),
                      (dict(JWT_SECRET="s", JWT_SECRET_FILE=str(secret)), "JWT_SECRET_FILE"),
                      (dict(CHAT_API_TOKEN_FILE="/nonexistent/token"), "CHAT_API_TOKEN_FILE"),
                      (dict(CHAT_DB_PASSWORD_FILE="/nonexistent/pw"), "CHAT_DB_PASSWORD_FILE"),
                      (dict(MOBIUS_TURN_DEADLINE_S="soon", **api), "MOBIUS_TURN_DEADLINE_S")):
        p = run_cli(["config"], env=clean_env(**bad))
        assert p.returncode == 2 and word in p.stderr, (bad, p.stderr)


def test_memory_queue_note():
    """CHAT_QUEUE_TYPE=memory: the API and worker never touch the Redis
    list, so the redis check has no queue part, and `config` says why."""
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6", CHAT_QUEUE_TYPE="memory",
                               QUEUE_TYPE="redis"))
    redis = by_name(doc)["redis"]
    assert "queue" not in redis, redis
    assert doc["notes"] == ["redis: queue check left out: CHAT_QUEUE_TYPE=memory,"
                            " so the Chat API and worker never use the Redis list"], doc


@pytest.mark.parametrize("present", [
    ("CHAT_RAG_DATABASE_URL",), ("RAG_DATABASE_URL",), ("REDIS_URL",),
    ("CHAT_API_URL",), ("CHAT_RAG_DATABASE_URL", "REDIS_URL")])
def test_status_lists_exactly_the_configured_checks(daemon_factory, services, present):
    _, _, _, full = services
    env = clean_env(**{v: full[v] for v in present})
    env.update(CHAT_DB_PASSWORD=full["CHAT_DB_PASSWORD"], JWT_SECRET=JWT_SECRET)
    d = daemon_factory(None, env=env)
    code, doc = d.get_json("/status")
    assert code == 200
    bits = [v in present for v in ("CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL",
                                   "REDIS_URL", "CHAT_API_URL")]
    checks, groups = expected(*bits)
    assert sorted(doc["checks"]) == checks
    assert sorted(doc["groups"]) == sorted(groups)
    for g, members in groups.items():
        assert sorted(doc["groups"][g]["checks"]) == sorted(members)
    for g in GROUPS:
        code, _, _ = d.get("/readyz?group=" + g)
        assert (code == 404) == (g not in groups), (g, code)


# -- the real services' environment against the fixture databases ----------

def test_real_environment_passes(services):
    """Every profile table and column exists in the fixture databases (built
    like the real ones), so the services' own environment passes: chat-db
    over the socket with CHAT_DB_PASSWORD, the RAG checks over asyncpg-style
    TCP, Redis with health_check_interval, the API's /ready, and the round
    trip when asked for (JWT minted from JWT_SECRET)."""
    pg, _, api, env = services
    code, doc = check_json(env)
    assert code == 0, doc
    assert sorted(doc["checks"]) == sorted(PERIODIC), doc
    assert all(c["status"] == "pass" for c in doc["checks"].values()), doc
    db = doc["checks"]["chat-db"]
    assert db["target"] == env["CHAT_RAG_DATABASE_URL"], db
    assert db["details"]["database"] == "mobius_chat"
    assert db["details"]["missing_tables"] == [] and db["details"]["missing_columns"] == {}
    rag = doc["checks"]["rag-chunking-db"]
    assert rag["target"].startswith("postgresql+asyncpg://mobius_app:***@127.0.0.1:")
    assert rag["details"]["database"] == "mobius_rag"
    for g in ("chat-api", "chat-worker", "rag-chunking-worker", "rag-embedding-worker"):
        assert doc["groups"][g]["status"] == "pass", (g, doc["groups"])
    assert api.state()["posts"] == 0
    code, doc = check_json(env, "--group", "e2e")
    assert code == 0, doc
    assert doc["checks"]["chat-roundtrip"]["status"] == "pass", doc
    st = api.state()
    assert st["posts"] == 1 and st["processed"] == 1, st
    assert st["last_job"]["user_id"] == "preflightd", st["last_job"]


def test_database_password_variables(pg):
    """A URL without a password (the Cloud SQL socket form; an asyncpg URL
    without one) takes CHAT_DB_PASSWORD for chat-db, else DB_PASSWORD, and
    DB_PASSWORD for the RAG checks; a password in the URL wins."""
    pw = pg.passwords["mobius_app"]
    chat = socket_url(pg, "mobius_chat")
    rag = "postgresql+asyncpg://mobius_app@127.0.0.1:%d/mobius_rag" % pg.port
    cases = [  # (variables, chat-db passes, RAG checks pass)
        (dict(CHAT_DB_PASSWORD=pw), True, False),
        (dict(DB_PASSWORD=pw), True, True),
        (dict(CHAT_DB_PASSWORD="wrong-chat-pw", DB_PASSWORD=pw), False, True),
        (dict(CHAT_DB_PASSWORD=pw, DB_PASSWORD="wrong-db-pw"), True, False),
        ({}, False, False),
    ]
    for extra, chat_ok, rag_ok in cases:
        env = clean_env(CHAT_RAG_DATABASE_URL=chat, RAG_DATABASE_URL=rag, **extra)
        code, rep = check_json(env)
        assert code == (0 if chat_ok and rag_ok else 1), (extra, rep)
        for name, ok in (("chat-db", chat_ok), ("rag-chunking-db", rag_ok),
                         ("rag-embedding-db", rag_ok)):
            c = rep["checks"][name]
            assert c["status"] == ("pass" if ok else "fail"), (extra, name, c)
            if not ok:
                assert c["reason"] == "auth", (extra, name, c)
                assert "credentials for database" in c["hint"], c
        assert_no_secret(json.dumps(rep), [pw, "wrong-chat-pw", "wrong-db-pw"], "check")
    # the password in the URL wins over the variables
    env = clean_env(CHAT_RAG_DATABASE_URL=asyncpg_url(pg, "mobius_chat"),
                    RAG_DATABASE_URL=asyncpg_url(pg, "mobius_rag"),
                    CHAT_DB_PASSWORD="wrong-chat-pw", DB_PASSWORD="wrong-db-pw")
    code, rep = check_json(env)
    assert code == 0, rep


def test_half_run_migrations_name_the_first_missing_file(services):
    """(a) The migration job stopped half way: a fresh database with the
    corpus applied up to a middle file.  With CHAT_SCHEMA_DIR the profile
    requires the whole corpus: missing_table, each object with the file that
    introduces it, the hint naming the span from the first missing file to
    the folder's last one.  The RAG workers are not held back."""
    pg, _, _, env = services
    files = corpus_files()
    upto = "017_chat_turns_context_summary.sql"
    pending = files[files.index(upto) + 1:]
    assert pending[0] == "017_roster_review.sql"  # byte-wise: the duplicate prefix
    pg.drop_database("chat_half")
    pg.create_database("chat_half")
    try:
        ran = pg.migrate("chat_half", upto=upto)
        assert [f for f, ok, _ in ran if ok] == files[:files.index(upto) + 1], ran
        env = dict(env, CHAT_RAG_DATABASE_URL=socket_url(pg, "chat_half"),
                   CHAT_SCHEMA_DIR=CHAT_CORPUS)
        doc = config_doc(env)
        db = by_name(doc)["chat-db"]
        assert db["schema_dir"] == CHAT_CORPUS and db["tables"] == {}, db
        # the whole corpus: its catalog (tests/fixtures/migrations/chat/README.md)
        assert db["schema_dir_derived"]["tables"] == 26, db
        assert db["schema_dir_derived"]["columns"] == 240, db
        code, rep = check_json(env)
        assert code == 1, rep
        chat = rep["checks"]["chat-db"]
        assert chat["status"] == "fail" and chat["reason"] == "missing_table", chat
        det = chat["details"]
        assert det["database"] == "chat_half"
        assert "roster_review_session" in det["missing_tables"], det
        assert "chat_turns" not in det["missing_tables"], det
        ib = det["introduced_by"]
        assert ib["roster_review_session"] == "017_roster_review.sql", ib
        assert ib["chat_turns.user_id"] == "033_phase_13_7_thread_summary.sql", ib
        assert ib["chat_state.resolved_slots"] == "018_chat_state_resolved_slots.sql", ib
        assert set(ib.values()) <= set(pending), ib
        assert "chat_turns.context_summary" not in ib  # 017_chat_turns_... ran
        assert chat["error"].startswith(
            "missing tables: roster_review_session (017_roster_review.sql)"), chat["error"]
        assert chat["hint"].startswith(
            "run the migrations for database chat_half from 017_roster_review.sql"
            " through %s (the folder's last file" % LAST_FILE), chat["hint"]
        assert rep["groups"]["chat-worker"]["status"] == "fail"
        assert rep["groups"]["chat-api"]["status"] == "fail"
        assert rep["groups"]["rag-chunking-worker"]["status"] == "pass"
        assert rep["groups"]["rag-embedding-worker"]["status"] == "pass"
        # the built-in tables alone see only what the Chat code uses
        code, rep = check_json(dict(env, CHAT_SCHEMA_DIR=""), "--group", "chat-worker")
        chat = rep["checks"]["chat-db"]
        assert code == 1 and chat["reason"] == "missing_column", chat
        assert chat["details"]["missing_columns"] == {"chat_turns": ["user_id"]}, chat
        assert chat["hint"] == ("run the migrations for database chat_half before"
                                " starting its workers"), chat
        # and once the rest has run, the same profile passes
        ran = pg.migrate("chat_half", skip=files[:files.index(upto) + 1])
        assert all(ok for _, ok, _ in ran), ran
        code, rep = check_json(env)
        assert code == 0, rep["checks"]["chat-db"]
    finally:
        pg.drop_database("chat_half")


@pytest.mark.parametrize("db,sql,failing,check,missing", [
    ("mobius_chat", "DROP TABLE chat_turn_messages CASCADE",
     {"chat-api", "chat-worker"}, {"chat-db": ["chat_turn_messages"]}, None),
    # both RAG workers need embedding_jobs: chunking enqueues, embedding consumes
    ("mobius_rag", "DROP TABLE embedding_jobs CASCADE",
     {"rag-chunking-worker", "rag-embedding-worker"},
     {"rag-chunking-db": ["embedding_jobs"], "rag-embedding-db": ["embedding_jobs"]}, None),
    ("mobius_rag", "DROP TABLE chunk_embeddings CASCADE",
     {"rag-embedding-worker"}, {"rag-embedding-db": ["chunk_embeddings"]}, None),
], ids=["chat_turn_messages", "embedding_jobs", "chunk_embeddings"])
def test_missing_worker_table_gates_its_workers(services, db, sql, failing, check, missing):
    """(b) One worker's table is missing: exactly the groups of the workers
    that use it are not ready, with missing_table naming it."""
    pg, _, _, env = services
    pg.sql(db, sql)
    code, rep = check_json(env)
    assert code == 1, rep
    for g in GROUPS[:4]:
        want = "fail" if g in failing else "pass"
        assert rep["groups"][g]["status"] == want, (g, rep["groups"])
    for name in PERIODIC:
        c = rep["checks"][name]
        if name in check:
            assert c["status"] == "fail" and c["reason"] == "missing_table", c
            assert c["details"]["missing_tables"] == check[name], c
            assert check[name][0] in c["error"], c
            assert c["hint"].startswith("run the migrations for database %s" % db), c
        else:
            assert c["status"] == "pass", c
    for g in GROUPS[:4]:
        p = run_cli(["check", "--group", g], env=env)
        assert p.returncode == (1 if g in failing else 0), (g, p.stdout)


def test_missing_chat_table_names_its_migration(services):
    """The same missing table with CHAT_SCHEMA_DIR: the file that made it."""
    pg, _, _, env = services
    pg.sql("mobius_chat", "DROP TABLE chat_turn_messages CASCADE")
    code, rep = check_json(dict(env, CHAT_SCHEMA_DIR=CHAT_CORPUS), "--group", "chat-worker")
    chat = rep["checks"]["chat-db"]
    assert code == 1 and chat["reason"] == "missing_table", chat
    assert chat["details"]["missing_tables"] == ["chat_turn_messages"], chat
    assert chat["details"]["introduced_by"] == {
        "chat_turn_messages": "009_chat_turn_messages.sql"}, chat
    assert "chat_turn_messages (009_chat_turn_messages.sql)" in chat["error"], chat
    assert chat["hint"].startswith("run the migrations for database mobius_chat from"
                                   " 009_chat_turn_messages.sql"), chat


def test_late_column_missing(services):
    """(c) A column a late migration adds (chat_turns.user_id, 033) is
    missing: missing_column naming chat_turns.user_id, and with
    CHAT_SCHEMA_DIR the file too."""
    pg, _, _, env = services
    pg.sql("mobius_chat", "ALTER TABLE chat_turns DROP COLUMN user_id CASCADE")
    code, rep = check_json(env, "--group", "chat-worker")
    chat = rep["checks"]["chat-db"]
    assert code == 1 and chat["reason"] == "missing_column", chat
    assert chat["details"]["missing_columns"] == {"chat_turns": ["user_id"]}, chat
    assert chat["details"]["missing_tables"] == []
    assert "chat_turns.user_id" in chat["error"], chat
    code, rep = check_json(dict(env, CHAT_SCHEMA_DIR=CHAT_CORPUS), "--group", "chat-worker")
    chat = rep["checks"]["chat-db"]
    assert code == 1 and chat["reason"] == "missing_column", chat
    assert chat["details"]["missing_columns"] == {"chat_turns": ["user_id"]}, chat
    assert chat["details"]["introduced_by"] == {
        "chat_turns.user_id": "033_phase_13_7_thread_summary.sql"}, chat
    assert "chat_turns.user_id (033_phase_13_7_thread_summary.sql)" in chat["error"], chat
    assert chat["hint"] == (
        "run the migrations for database mobius_chat from"
        " 033_phase_13_7_thread_summary.sql through %s (the folder's last file;"
        " the missing objects come from 033_phase_13_7_thread_summary.sql) before"
        " starting its workers" % LAST_FILE), chat
    # the RAG workers are not held back
    code, _ = check_json(env, "--group", "rag-embedding-worker")
    assert code == 0


def test_embedding_worker_made_tables_lack_generator_id(services):
    """(d) The embedding worker created embedding_jobs / chunk_embeddings
    itself (its start-up migration), without generator_id, which the RAG
    ORM selects: rag-embedding-db fails missing_column generator_id."""
    pg, _, _, env = services
    ok, err = pg.apply_file("mobius_rag", os.path.join(FIXTURES, "rag_embedding_worker_tables.sql"))
    assert ok, err
    code, rep = check_json(env)
    assert code == 1, rep
    emb = rep["checks"]["rag-embedding-db"]
    assert emb["reason"] == "missing_column", emb
    assert emb["details"]["missing_columns"] == {"embedding_jobs": ["generator_id"],
                                                 "chunk_embeddings": ["generator_id"]}, emb
    assert "embedding_jobs.generator_id" in emb["error"], emb
    assert "chunk_embeddings.generator_id" in emb["error"], emb
    # the chunking worker enqueues embedding jobs with a generator_id too
    chunk = rep["checks"]["rag-chunking-db"]
    assert chunk["reason"] == "missing_column", chunk
    assert chunk["details"]["missing_columns"] == {"embedding_jobs": ["generator_id"]}, chunk
    assert rep["checks"]["chat-db"]["status"] == "pass"
    assert rep["groups"]["chat-worker"]["status"] == "pass"
    assert rep["groups"]["rag-embedding-worker"]["status"] == "fail"


def test_rag_schema_from_pg_dump(services, tmp_path):
    """RAG_SCHEMA_DIR may be one `pg_dump -s` file of the intended schema:
    both RAG checks then require all of it, and the embedding worker's own
    tables are reported against that file."""
    pg, _, _, env = services
    dump = pg.dump_schema("mobius_rag", str(tmp_path / "mobius_rag-schema.sql"))
    env = dict(env, RAG_SCHEMA_DIR=dump)
    c = by_name(config_doc(env))
    for n in ("rag-chunking-db", "rag-embedding-db"):
        assert c[n]["schema_dir"] == dump and c[n]["tables"] == {}, c[n]
        assert c[n]["schema_dir_derived"]["tables"] == len(pg.catalog("mobius_rag")["tables"])
    assert "chat_turns" in c["chat-db"]["tables"]  # CHAT_SCHEMA_DIR unset
    code, rep = check_json(env)
    assert code == 0, rep
    ok, err = pg.apply_file("mobius_rag", os.path.join(FIXTURES, "rag_embedding_worker_tables.sql"))
    assert ok, err
    code, rep = check_json(env)
    assert code == 1, rep
    for n in ("rag-chunking-db", "rag-embedding-db"):
        r = rep["checks"][n]
        assert r["reason"] == "missing_column", r
        assert r["details"]["missing_columns"] == {"chunk_embeddings": ["generator_id"],
                                                   "embedding_jobs": ["generator_id"]}, r
        assert r["details"]["introduced_by"] == {
            "chunk_embeddings.generator_id": "mobius_rag-schema.sql",
            "embedding_jobs.generator_id": "mobius_rag-schema.sql"}, r
        assert "embedding_jobs.generator_id (mobius_rag-schema.sql)" in r["error"], r
    assert rep["checks"]["chat-db"]["status"] == "pass"


# -- the round trip runs on demand only ------------------------------------

def test_roundtrip_runs_only_on_demand(daemon_factory, services):
    """A real, paid turn per probe: the timer never runs chat-roundtrip.
    Over ~15 s of running the fixture sees no POST /chat, the round trip
    stays unknown and the ungrouped verdict ignores it; /readyz?group=e2e
    is 503 until it has run.  POST /run?group=e2e makes exactly one round
    trip, on one thread whose id is a UUID derived from the instance name
    (the same for the daemon and the CLI); `check --group e2e` runs it,
    plain `check` does not and says so."""
    pg, _, api, env = services
    env = dict(env, K_REVISION="preflightd-e2e-00042")
    t0 = time.monotonic()
    d = daemon_factory(None, env=env)
    for name in PERIODIC:
        d.wait_status(name, "pass", timeout=10)

    # `preflightd check` without a group: periodic checks only
    p = run_cli(["check"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "on demand, not run: chat-roundtrip" in p.stdout, p.stdout
    assert "\u2713 chat-roundtrip" not in p.stdout
    assert p.stdout.count("\u2713") == len(PERIODIC), p.stdout
    code, rep = check_json(env)
    assert code == 0 and "chat-roundtrip" not in rep["checks"], rep

    seen_ticks = set()
    while time.monotonic() - t0 < 15:
        code, rt = d.get_json("/status/chat-roundtrip")
        assert rt["status"] == "unknown" and rt["last_run"] is None, rt
        assert d.get("/readyz")[0] == 200
        assert d.get("/readyz?group=chat-worker")[0] == 200
        code, _, body = d.get("/readyz?group=e2e")
        assert code == 503 and json.loads(body)["failing"] == ["chat-roundtrip"], body
        code, st = d.get_json("/status")
        assert st["status"] == "pass", st
        seen_ticks.add(d.get_json("/status/redis")[1]["last_run"])
        time.sleep(0.5)
    assert len(seen_ticks) >= 2, seen_ticks  # the timer did run the others
    assert api.state()["posts"] == 0, api.state()

    code, _, body = d.post("/run?group=e2e")
    assert code == 202, body
    assert "chat-roundtrip" in json.loads(body)["accepted"], body
    rt = d.wait_status("chat-roundtrip", "pass", timeout=15)
    assert rt["caused_by"] is None and rt["details"], rt
    time.sleep(1.5)
    st = api.state()
    assert st["posts"] == 1 and st["processed"] == 1, st
    assert d.get("/readyz?group=e2e")[0] == 200
    assert d.get("/readyz")[0] == 200
    job = st["last_job"]
    tid = job["thread_id"]
    assert UUID_RE.match(tid) and uuid.UUID(tid).version == 5, job
    assert job["chat_mode"] == "quick" and job["cache_assist"] is False, job
    assert job["user_id"] == "preflightd", job   # the minted JWT's sub

    # at most one start per run_min_spacing (60 s for on demand): the next
    # request waits for its turn, the one after that joins it
    code, _, body = d.post("/run?check=chat-roundtrip")
    assert code == 202 and json.loads(body)["accepted"] == ["chat-roundtrip"], body
    code, _, body = d.post("/run?check=chat-roundtrip")
    assert code == 202 and json.loads(body) == {"accepted": [],
                                                "coalesced": ["chat-roundtrip"]}, body

    # `check --group e2e`: the round trip, on the same thread
    p = run_cli(["check", "--group", "e2e"], env=env, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "\u2713 chat-roundtrip" in p.stdout and "READY" in p.stdout, p.stdout
    st = api.state()
    assert st["posts"] == 2 and st["last_job"]["thread_id"] == tid, st
    # another instance name, another thread
    p = run_cli(["check", "--check", "chat-roundtrip"],
                env=dict(env, K_REVISION="preflightd-e2e-00043"), timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    st = api.state()
    assert st["posts"] == 3 and st["last_job"]["thread_id"] != tid, st
    # plain `check` again: not one POST
    assert run_cli(["check"], env=env).returncode == 0
    assert api.state()["posts"] == 3
    assert d.get_json("/status/chat-roundtrip")[1]["status"] == "pass"


# -- NAME_FILE variants and SIGHUP ------------------------------------------

def write(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, str(path))


def status_of(d, check):
    return d.get_json("/status/" + check)[1]


def wait_check(d, check, pred, what, timeout=15):
    def ok():
        doc = status_of(d, check)
        return doc if pred(doc) else None
    return d.wait_for(ok, timeout, what)


def test_file_variants_are_read_and_reread(daemon_factory, pg, redis_auth, api, tmp_path):
    """Every secret as a mounted file.  A rotated JWT secret is picked up by
    the round trip on its next probe without SIGHUP (the chat kind re-reads
    its secret file); a rotated database password and a moved Redis take
    effect on SIGHUP; and back."""
    files = {n: tmp_path / n for n in ("chat-url", "chat-pw", "rag-url", "redis", "jwt")}
    write(files["chat-url"], socket_url(pg, "mobius_chat") + "\n")
    write(files["chat-pw"], pg.passwords["mobius_app"] + "\n")
    write(files["rag-url"], asyncpg_url(pg, "mobius_rag") + "\n")
    write(files["redis"], redis_real_url(redis_auth, REDIS_PASSWORD) + "\n")
    write(files["jwt"], JWT_SECRET + "\n")
    env = clean_env(CHAT_RAG_DATABASE_URL_FILE=str(files["chat-url"]),
                    CHAT_DB_PASSWORD_FILE=str(files["chat-pw"]),
                    RAG_DATABASE_URL_FILE=str(files["rag-url"]),
                    REDIS_URL_FILE=str(files["redis"]),
                    JWT_SECRET_FILE=str(files["jwt"]),
                    CHAT_API_URL=api.base_url,
                    # periodic, so that the next probe comes by itself
                    CHAT_PROBE_INTERVAL="1s")
    d = daemon_factory(None, env=env, args=("--log-level", "debug"))
    for name in ALL_CHECKS:
        d.wait_status(name, "pass", timeout=15)

    # The API's secret rotated: the minted tokens are refused ...
    new_secret = "pf-jwt-rotated-77e2"
    api.control(jwt_secret=new_secret)
    doc = wait_check(d, "chat-roundtrip", lambda c: c["status"] == "fail",
                     "chat-roundtrip to fail with the old secret")
    assert doc["reason"] == "auth" and "401" in doc["error"], doc
    # ... until the mounted secret is rotated too: no SIGHUP needed
    write(files["jwt"], new_secret + "\n")
    d.wait_status("chat-roundtrip", "pass", timeout=10)
    posts = api.state()["posts"]

    # A rotated (wrong) database password and Redis moved: SIGHUP.
    write(files["chat-pw"], "wrong-pw-1\n")
    write(files["redis"], "redis://:%s@127.0.0.1:%d/0\n" % (REDIS_PASSWORD, refused_port()))
    d.signal(signal.SIGHUP)
    doc = wait_check(d, "chat-db", lambda c: c["reason"] == "auth",
                     "chat-db auth failure after SIGHUP")
    assert doc["status"] == "fail" and "mobius_chat" in doc["hint"], doc
    wait_check(d, "redis", lambda c: c["reason"] == "connect_refused",
               "redis connect_refused after SIGHUP")
    assert status_of(d, "rag-chunking-db")["status"] == "pass"

    # And back: everything passes again with the right values.
    write(files["chat-pw"], pg.passwords["mobius_app"] + "\n")
    write(files["redis"], redis_real_url(redis_auth, REDIS_PASSWORD) + "\n")
    d.signal(signal.SIGHUP)
    for name in ALL_CHECKS:
        d.wait_status(name, "pass", timeout=15)
    assert api.state()["posts"] > posts
    d.stop()
    assert_no_secret(d.stdout() + d.stderr(),
                     secrets_of(pg) + [new_secret, "wrong-pw-1"], "logs")


# -- secrets ----------------------------------------------------------------

def test_secrets_never_in_output(daemon_factory, services, redis_auth):
    """Database passwords (in the URL and in CHAT_DB_PASSWORD), the Redis
    password, the JWT secret and the tokens minted from it appear in no
    endpoint, log line or CLI output — with every check passing, with a
    failing one, and after the round trip ran."""
    pg, _, api, env = services
    env = dict(env, REDIS_URL=redis_real_url(redis_auth, REDIS_PASSWORD))
    pg.sql("mobius_chat", "DROP TABLE chat_state")
    outputs = {}
    d = daemon_factory(None, env=env, args=("--log-level", "debug"))
    st = d.wait_status("chat-db", "fail", timeout=10)
    assert st["reason"] == "missing_table"
    for name in PERIODIC[1:]:
        d.wait_status(name, "pass", timeout=10)
    assert d.post("/run?group=e2e")[0] == 202
    d.wait_status("chat-roundtrip", "pass", timeout=15)
    assert api.state()["posts"] == 1
    for path in ("/status", "/status/redis", "/status/chat-db", "/status/chat-roundtrip",
                 "/status?group=e2e", "/metrics", "/readyz", "/readyz?group=e2e"):
        outputs[path] = d.get(path)[2].decode()
    for args in (["config"], ["check"], ["check", "--format", "json"],
                 ["check", "--group", "chat-worker", "--format", "text"],
                 ["check", "--group", "e2e"], ["check", "--group", "e2e", "--format", "json"]):
        p = run_cli(args, env=env, timeout=60)
        outputs[" ".join(args)] = p.stdout + p.stderr
    assert "\u2717 chat-db" in outputs["check"], outputs["check"]
    assert "\u2713 chat-roundtrip" in outputs["check --group e2e"]
    assert api.state()["posts"] == 3
    # a refused token: its error must not quote it either
    api.control(jwt_secret="another-secret-9")
    p = run_cli(["check", "--check", "chat-roundtrip", "--format", "json"], env=env, timeout=60)
    rt = json.loads(p.stdout)["checks"]["chat-roundtrip"]
    assert p.returncode == 1 and rt["reason"] == "auth", rt
    outputs["check auth failure"] = p.stdout + p.stderr
    d.stop()
    outputs["logs"] = d.stdout() + d.stderr()
    assert '"severity"' in outputs["logs"]
    for where, text in outputs.items():
        assert_no_secret(text, secrets_of(pg), where)
    assert "mobius_app:***@" in outputs["/status"]
    assert ":***@" in outputs["/status/redis"], outputs["/status/redis"]
    c = by_name(json.loads(run_cli(["config"], env=env).stdout))
    assert c["chat-db"]["password"] == "***", c["chat-db"]
    assert c["chat-roundtrip"]["jwt"]["secret"] == "***", c["chat-roundtrip"]
