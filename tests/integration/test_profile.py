"""The built-in profile (SPEC §5) end to end: preflightd with NO config file,
its environment pointing at the harness's real PostgreSQL (mobius_chat,
mobius_rag), Redis and Chat API fixture.  Which variables are set decides
exactly which checks and groups exist; NAME_FILE variants are read and
re-read on SIGHUP; secrets never reach /status, /metrics, logs or the CLI."""
import itertools
import json
import os
import signal

import pytest

from harness.daemon import run_cli
from harness.net import refused_port
from harness.redis import PASSWORD as REDIS_PASSWORD

# Every variable the profile reads, each also as NAME_FILE.  Tests set the
# absent ones to "" (the profile treats empty as unset) so that nothing from
# the caller's environment leaks into a run.
PROFILE_VARS = ("CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL",
                "REDIS_URL", "REDIS_REQUEST_KEY", "CHAT_API_URL",
                "CHAT_API_TOKEN")
ALL_CHECKS = ("chat-db", "rag-chunking-db", "rag-embedding-db", "redis",
              "chat-api-ready", "chat-roundtrip")
TOKEN = "pf-chat-token-0d5e9a"


def clean_env(**values):
    """The profile's variables all unset except values (and PREFLIGHT_*)."""
    env = {v: "" for v in PROFILE_VARS}
    env.update({v + "_FILE": "" for v in PROFILE_VARS})
    env.update({"PREFLIGHT_CONFIG": "", "PREFLIGHT_LISTEN": ""})
    env.update(values)
    return env


def config_doc(env):
    p = run_cli(["config"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["source"] == "environment", doc
    return doc


def check_names(doc):
    return sorted(c["name"] for c in doc["checks"])


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
def services(pg, redis, chat_api_factory):
    """The harness services and the environment pointing at all of them."""
    api = chat_api_factory(token=TOKEN)
    env = clean_env(CHAT_RAG_DATABASE_URL=pg.url("mobius_chat"),
                    RAG_DATABASE_URL=pg.url("mobius_rag"),
                    REDIS_URL=redis.url(), CHAT_API_URL=api.base_url + "/",
                    CHAT_API_TOKEN=TOKEN)
    return pg, redis, api, env


def secrets_of(pg):
    return [pg.passwords["mobius_app"], pg.passwords["postgres"], TOKEN,
            REDIS_PASSWORD]


def assert_no_secret(text, secrets, where):
    for s in secrets:
        assert s not in text, "secret %r leaked in %s" % (s[:6] + "...", where)


# -- which variables create which checks -----------------------------------

def test_each_variable_creates_exactly_its_checks():
    """All 16 combinations of the four service variables (values need not
    answer: `config` only builds and validates)."""
    urls = {"CHAT_RAG_DATABASE_URL": "postgresql://app:pw1@127.0.0.1:5/mobius_chat",
            "RAG_DATABASE_URL": "postgresql://app:pw2@127.0.0.1:5/mobius_rag",
            "REDIS_URL": "redis://:pw3@127.0.0.1:6/0",
            "CHAT_API_URL": "http://127.0.0.1:7"}
    names = list(urls)
    for bits in itertools.product((False, True), repeat=4):
        env = clean_env(**{n: urls[n] for n, on in zip(names, bits) if on})
        doc = config_doc(env)
        checks, groups = expected(*bits)
        assert check_names(doc) == checks, (bits, doc)
        assert doc.get("groups", {}) == groups, (bits, doc)
        assert_no_secret(json.dumps(doc), ["pw1", "pw2", "pw3"], "config")


def test_fallbacks_queue_key_and_token(tmp_path):
    doc = config_doc(clean_env(DATABASE_URL="postgresql://a@127.0.0.1/mobius_rag"))
    assert check_names(doc) == ["rag-chunking-db", "rag-embedding-db"]
    assert all("/mobius_rag" in c["target"] for c in doc["checks"])
    # the fallback as a mounted secret, trailing newline trimmed
    secret = tmp_path / "database-url"
    secret.write_text("postgresql://a:filepw@127.0.0.1:5/mobius_rag\n")
    doc = config_doc(clean_env(DATABASE_URL_FILE=str(secret)))
    assert check_names(doc) == ["rag-chunking-db", "rag-embedding-db"]
    assert all(c["target"] == "postgresql://a:***@127.0.0.1:5/mobius_rag"
               for c in doc["checks"]), doc
    assert "filepw" not in json.dumps(doc)
    # RAG_DATABASE_URL wins over DATABASE_URL
    doc = config_doc(clean_env(DATABASE_URL="postgresql://a@127.0.0.1/other",
                               RAG_DATABASE_URL="postgresql://a@127.0.0.1/mobius_rag"))
    assert all(c["target"].endswith("/mobius_rag") for c in doc["checks"]), doc
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6"))
    assert doc["checks"][0]["queue"]["key"] == "mobius:chat:requests"
    doc = config_doc(clean_env(REDIS_URL="redis://127.0.0.1:6",
                               REDIS_REQUEST_KEY="other:queue"))
    assert doc["checks"][0]["queue"]["key"] == "other:queue"
    # NAME and NAME_FILE together is ambiguous: a configuration error
    p = run_cli(["config"], env=clean_env(REDIS_URL="redis://127.0.0.1:6",
                                          REDIS_URL_FILE="/nonexistent"))
    assert p.returncode == 2 and "REDIS_URL_FILE" in p.stderr, p.stderr
    p = run_cli(["config"], env=clean_env(CHAT_API_TOKEN_FILE="/nonexistent/token"))
    assert p.returncode == 2 and "CHAT_API_TOKEN_FILE" in p.stderr, p.stderr


@pytest.mark.parametrize("present", [
    ("CHAT_RAG_DATABASE_URL",), ("RAG_DATABASE_URL",), ("REDIS_URL",),
    ("CHAT_API_URL",), ("CHAT_RAG_DATABASE_URL", "REDIS_URL")])
def test_status_lists_exactly_the_configured_checks(daemon_factory, services, present):
    _, _, _, full = services
    d = daemon_factory(None, env=clean_env(**{v: full[v] for v in present}))
    code, doc = d.get_json("/status")
    assert code == 200
    bits = [v in present for v in ("CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL",
                                   "REDIS_URL", "CHAT_API_URL")]
    checks, groups = expected(*bits)
    assert sorted(doc["checks"]) == checks
    assert sorted(doc["groups"]) == sorted(groups)
    for g, members in groups.items():
        assert sorted(doc["groups"][g]["checks"]) == sorted(members)
    for g in ("chat-worker", "rag-chunking-worker", "rag-embedding-worker", "e2e"):
        code, _, _ = d.get("/readyz?group=" + g)
        assert (code == 404) == (g not in groups), (g, code)


# -- the full profile against the harness services --------------------------

def test_full_profile_passes_against_harness(daemon_factory, services):
    """Every profile table and column exists in the fixture databases, so
    with every variable set every check passes (and /readyz is 200)."""
    pg, _, _, env = services
    d = daemon_factory(None, env=env)
    for name in ALL_CHECKS:
        d.wait_status(name, "pass", timeout=15)
    code, doc = d.get_json("/status")
    assert doc["status"] == "pass" and sorted(doc["checks"]) == sorted(ALL_CHECKS)
    db = doc["checks"]["chat-db"]
    assert db["target"].startswith("postgresql://mobius_app:***@127.0.0.1:")
    assert not db["details"].get("missing_tables") and not db["details"].get("missing_columns")
    assert d.get("/readyz")[0] == 200
    for g in ("chat-api", "chat-worker", "rag-chunking-worker",
              "rag-embedding-worker", "e2e"):
        assert d.get("/readyz?group=" + g)[0] == 200, g
    p = run_cli(["check"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("\u2713") == len(ALL_CHECKS), p.stdout


def test_missing_column_is_reported(daemon_factory, services):
    """The columns are really required: dropping one (the extraction triple)
    fails rag-chunking-db with missing_column, and only that check."""
    pg, _, _, env = services
    env = clean_env(RAG_DATABASE_URL=env["RAG_DATABASE_URL"])
    try:
        pg.sql("mobius_rag", "ALTER TABLE extracted_facts DROP COLUMN predicate")
        p = run_cli(["check", "--format", "json"], env=env)
        assert p.returncode == 1, p.stdout + p.stderr
        doc = json.loads(p.stdout)
        chunk = doc["checks"]["rag-chunking-db"]
        assert chunk["reason"] == "missing_column", chunk
        assert chunk["details"]["missing_columns"] == {"extracted_facts": ["predicate"]}
        assert "mobius_rag" in chunk["hint"]
        assert doc["checks"]["rag-embedding-db"]["status"] == "pass"
    finally:
        pg.restore("mobius_rag")


# -- NAME_FILE variants and SIGHUP ------------------------------------------

def write(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, str(path))


def reload_and_wait(d, check, pred, what, timeout=10):
    d.signal(signal.SIGHUP)

    def ok():
        code, doc = d.get_json("/status/" + check)
        return doc if code == 200 and pred(doc) else None
    return d.wait_for(ok, timeout, what)


def test_file_variants_are_read_and_reread_on_sighup(daemon_factory, pg, redis_auth,
                                                       chat_api_factory, tmp_path):
    api = chat_api_factory(token=TOKEN)
    files = {n: tmp_path / n.lower() for n in ("db", "redis", "token")}
    write(files["db"], pg.url("mobius_chat") + "\n")
    write(files["redis"], redis_auth.url(password=REDIS_PASSWORD) + "\n")
    write(files["token"], TOKEN + "\n")
    env = clean_env(CHAT_RAG_DATABASE_URL_FILE=str(files["db"]),
                    REDIS_URL_FILE=str(files["redis"]),
                    CHAT_API_URL=api.base_url,
                    CHAT_API_TOKEN_FILE=str(files["token"]))
    d = daemon_factory(None, env=env)
    for name in ("chat-db", "redis", "chat-roundtrip"):
        d.wait_status(name, "pass", timeout=15)

    # A rotated (wrong) database password: the new value takes effect.
    write(files["db"], pg.url("mobius_chat", password="wrong-pw-1") + "\n")
    doc = reload_and_wait(d, "chat-db", lambda c: c["reason"] == "auth",
                          "chat-db auth failure after SIGHUP")
    assert doc["status"] == "fail"
    # Redis moved: the file now names a port where nothing listens.
    write(files["redis"], "redis://:%s@127.0.0.1:%d/0\n" % (REDIS_PASSWORD, refused_port()))
    reload_and_wait(d, "redis", lambda c: c["reason"] == "connect_refused",
                    "redis connect_refused after SIGHUP")
    # A revoked token: the API answers 401.
    write(files["token"], "not-the-token\n")
    d.post("/run?check=chat-roundtrip")
    doc = reload_and_wait(d, "chat-roundtrip", lambda c: c["status"] == "fail",
                          "chat-roundtrip failure after SIGHUP")
    assert doc["reason"] == "auth" and "401" in doc["error"], doc

    # And back: everything passes again with the right values.
    write(files["db"], pg.url("mobius_chat") + "\n")
    write(files["redis"], redis_auth.url(password=REDIS_PASSWORD) + "\n")
    write(files["token"], TOKEN + "\n")
    d.signal(signal.SIGHUP)
    d.post("/run")
    for name in ("chat-db", "redis", "chat-roundtrip"):
        d.wait_status(name, "pass", timeout=15)
    assert_no_secret(d.stdout() + d.stderr(), secrets_of(pg), "logs")


# -- secrets ----------------------------------------------------------------

def test_secrets_never_in_output(daemon_factory, services, redis_auth, tmp_path):
    pg, _, _, env = services
    env = dict(env, REDIS_URL=redis_auth.url(password=REDIS_PASSWORD))
    d = daemon_factory(None, env=env, args=("--log-level", "debug"))
    for name in ALL_CHECKS:
        d.wait_status(name, "pass", timeout=15)
    # a failure too: its error and hint must not quote the secret either
    try:
        pg.sql("mobius_chat", "DROP TABLE chat_state")
        d.post("/run")
        d.wait_status("chat-db", "fail", timeout=5)
        outputs = {"/status": d.get("/status")[2].decode(),
                   "/status/redis": d.get("/status/redis")[2].decode(),
                   "/metrics": d.get("/metrics")[2].decode(),
                   "/readyz": d.get("/readyz")[2].decode()}
        for args in (["config"], ["check"], ["check", "--format", "json"],
                     ["check", "--group", "chat-worker", "--format", "text"]):
            p = run_cli(args, env=env)
            outputs[" ".join(args)] = p.stdout + p.stderr
        assert "\u2717 chat-db" in outputs["check"], outputs["check"]
    finally:
        pg.restore("mobius_chat")
    d.stop()
    outputs["logs"] = d.stdout() + d.stderr()
    assert '"severity"' in outputs["logs"]
    for where, text in outputs.items():
        assert_no_secret(text, secrets_of(pg), where)
    assert "mobius_app:***@" in outputs["/status"]
    assert ":***@" in outputs["/status/redis"], outputs["/status/redis"]
