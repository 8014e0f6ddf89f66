"""The postgres check classifies server errors by their SQLSTATE, never by
their text (SPEC §3 postgres): a server that replies in German gives the
same reasons as one that replies in English, and so does a client whose
locale is German.

Three kinds of evidence:
- a fake server (harness.fakepg.FakePg) that answers the startup packet
  (after 'N' to an SSLRequest with sslmode=prefer) with the ErrorResponse
  a real PostgreSQL 15 sends, in English or in German, for 28P01, 3D000,
  57P03, 53300, 28000 and 42501; and one whose code and text contradict
  each other (the code wins);
- two real servers with the same roles, databases and pg_hba.conf, one
  with lc_messages=C and one with lc_messages=de_DE.UTF-8
  (harness.fakepg.PgLangServer), compared case by case; plus a real
  standby that never finishes starting (57P03) in each language;
- every probe runs with LANG/LC_ALL/LC_MESSAGES=de_DE.UTF-8 and a real
  compiled de_DE.UTF-8 locale (LOCPATH), under which a program that does
  call setlocale (psql) really speaks German.
Probes run through probe_once (PROBE_ONCE_BIN) and `preflightd check`
(PREFLIGHTD_BIN)."""
import json
import os
import shutil
import subprocess

import pytest

from harness.daemon import run_cli
from harness.fakepg import (MESSAGES, FakePg, PgLangServer, PgStuckStandby,
                            tmp_locale_dir)
from harness.net import refused_port
from harness.pg import PSQL

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PROBE_ONCE = os.environ.get("PROBE_ONCE_BIN",
                            os.path.join(ROOT, "build", "tests", "probe_once"))

EXPECTED = {"28P01": "auth", "3D000": "wrong_database",
            "57P03": "connect_refused", "53300": "connect_refused",
            "28000": "auth", "42501": "auth"}
# The SQLSTATE-specific hints (checks/postgres_error.c).
OWN_HINT = {
    "57P03": "the server is starting up, shutting down or recovering and"
             " does not accept connections yet: wait for it, or look at its"
             " log if this lasts",
    "53300": "no free connection slots: the server's max_connections, or"
             " the role's or database's CONNECTION LIMIT, is reached; stop"
             " idle clients or pool them, or raise the limit",
    "42501": "the role may not connect to this database: GRANT CONNECT ON"
             " DATABASE to it (and USAGE on its schemas)",
}
FAKE_PW = "pf-fake-secret-5150"
CHAT_TABLES = {"chat_threads": ["thread_id", "created_at", "updated_at"],
               "chat_turns": ["correlation_id", "thread_id", "user_id"]}


@pytest.fixture(scope="module")
def de_locale():
    """A compiled de_DE.UTF-8 (for LOCPATH), removed afterwards."""
    d = tmp_locale_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def german(locale_dir):
    """A client environment whose locale is German, for real."""
    return {"LOCPATH": locale_dir, "LANG": "de_DE.UTF-8",
            "LC_ALL": "de_DE.UTF-8", "LC_MESSAGES": "de_DE.UTF-8",
            "LANGUAGE": "de"}


def probe(check, env, secrets=()):
    check = dict({"kind": "postgres", "name": "pg", "timeout": "5s"}, **check)
    r = subprocess.run([PROBE_ONCE, json.dumps(check)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ, **env))
    marks = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
    assert not any(m in r.stderr for m in marks), "sanitizer:\n" + r.stderr
    for s in secrets:
        assert s not in r.stdout + r.stderr, "a password leaked"
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def test_the_client_locale_is_really_german(de_locale):
    """What makes "the client locale does not matter" meaningful: in this
    environment a program that calls setlocale (psql, with the same libpq)
    prints libpq's messages in German; probe_once, which never does, keeps
    libpq's English words."""
    port = refused_port()
    r = subprocess.run([PSQL, "-X", "-h", "127.0.0.1", "-p", str(port),
                        "-U", "nobody", "-d", "x", "-c", "SELECT 1"],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, **german(de_locale)))
    assert r.returncode != 0
    assert "Verbindung zum Server" in r.stderr, r.stderr
    rc, res = probe({"url": f"postgresql://u:p@127.0.0.1:{port}/x"},
                    german(de_locale))
    assert res["reason"] == "connect_refused", res
    assert "connection to server at" in res["error"], res
    assert "Verbindung" not in res["error"]


@pytest.mark.parametrize("sslmode", ["prefer", "disable"])
@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_fake_server_in_german_gives_the_english_reason(de_locale, code,
                                                        sslmode):
    results = {}
    for lang in ("en", "de"):
        with FakePg(code, lang=lang, ask_password=code == "28P01") as fake:
            url = fake.url("mobius_chat", password=FAKE_PW, sslmode=sslmode)
            rc, res = probe({"url": url}, german(de_locale), [FAKE_PW])
            assert fake.errors == []
            assert len(fake.startups) == 1, fake.startups
            start = fake.startups[0]
            assert start["user"] == "mobius_app"
            assert start["database"] == "mobius_chat"
            assert start["application_name"] == "preflightd"
            # sslmode=prefer asks for TLS first and takes the 'N'
            assert fake.ssl_requests == (1 if sslmode == "prefer" else 0)
            if code == "28P01":
                assert fake.passwords == 1  # it got as far as the password
            message = fake.message.format(user="mobius_app",
                                          database="mobius_chat",
                                          host="127.0.0.1")
        assert rc == 1
        assert res["reason"] == EXPECTED[code], (lang, res)
        # the server's own words reached the probe, code first
        assert f"FATAL: {code}: {message}" in res["error"], (lang, res)
        if MESSAGES[code][lang][2]:
            assert MESSAGES[code][lang][2] in res["error"]
        assert "LOCATION" not in res["error"]
        results[lang] = res
    en, de = results["en"], results["de"]
    assert en["error"] != de["error"]
    assert de["reason"] == en["reason"]
    if code in OWN_HINT:
        assert en["hint"] == de["hint"] == OWN_HINT[code]
    elif code != "28000":
        # (28000: the hint for a hostssl-only server is still chosen from
        # the English words "no pg_hba.conf entry ... no encryption")
        assert en["hint"] == de["hint"]
    assert de["hint"]


@pytest.mark.parametrize("code,message,reason", [
    ("57P03", 'password authentication failed for user "mobius_app"',
     "connect_refused"),
    ("28P01", "the database system is starting up", "auth"),
    ("3D000", "sorry, too many clients already", "wrong_database"),
    ("53300", 'database "mobius_chat" does not exist', "connect_refused"),
    ("28000", "sorry, too many clients already", "auth"),
    # an unknown code from a server that spoke the protocol: it refused us
    ("XX000", 'password authentication failed for user "mobius_app"',
     "connect_refused"),
])
def test_the_code_decides_not_the_words(de_locale, code, message, reason):
    """A server whose text says one thing and whose SQLSTATE another: the
    SQLSTATE wins (an unknown one is not read as auth from its words)."""
    with FakePg(code, message=message) as fake:
        rc, res = probe({"url": fake.url("mobius_chat", sslmode="disable")},
                        german(de_locale))
    assert rc == 1
    assert res["reason"] == reason, res
    assert f"FATAL: {code}: {message}" in res["error"]
    if code in OWN_HINT:
        assert res["hint"] == OWN_HINT[code]


# -- two real servers, English and German --------------------------------

@pytest.fixture(scope="module")
def servers(de_locale):
    """{"en": PgLangServer("en"), "de": PgLangServer("de")}, each with a
    database pf_noconnect mobius_app may not CONNECT to and a role
    pf_limited whose CONNECTION LIMIT is 0."""
    srvs = {"en": PgLangServer("en"), "de": PgLangServer("de", de_locale)}
    try:
        for srv in srvs.values():
            srv.start()
            srv.create_database("pf_noconnect")
            srv.sql("postgres", "REVOKE CONNECT ON DATABASE pf_noconnect"
                    " FROM mobius_app")
            srv.sql("postgres", "CREATE ROLE pf_limited LOGIN PASSWORD"
                    " 'pf-limited-pw' CONNECTION LIMIT 0")
            srv.sql("postgres", "GRANT CONNECT ON DATABASE mobius_chat"
                    " TO pf_limited")
        yield srvs
    finally:
        for srv in srvs.values():
            srv.stop()


@pytest.fixture(scope="module")
def stuck(servers, de_locale):
    """A standby of each server that answers 57P03 forever."""
    srvs = {"en": PgStuckStandby(servers["en"], "en"),
            "de": PgStuckStandby(servers["de"], "de", de_locale)}
    try:
        for srv in srvs.values():
            srv.start()
        yield srvs
    finally:
        for srv in srvs.values():
            srv.stop()


SLOW = {"name": "slow", "sql": "SELECT 1 FROM pg_sleep(3)", "expect": "== 1"}
WRITE = {"name": "w", "expect": "== 1",
         "sql": "WITH x AS (INSERT INTO chat_state (thread_id) VALUES"
                " ('00000000-0000-0000-0000-000000000001') RETURNING 1)"
                " SELECT count(*) FROM x"}
NOPE = {"name": "nope", "sql": "SELECT count(*) FROM no_such_table",
        "expect": "== 0"}

# name: (check from server, reason, SQLSTATE in the error or None,
#        the server's text is in the error)
CASES = {
    "pass": (lambda s: {"url": s.url("mobius_chat"), "tables": CHAT_TABLES},
             None, None, False),
    "wrong password": (lambda s: {"url": s.url("mobius_chat",
                                               password="wrong-pw-123")},
                       "auth", "28P01", True),
    "unknown role": (lambda s: {"url": s.url("mobius_chat", user="ghost",
                                             password="x-pw")},
                     "auth", "28P01", True),
    "unknown database": (lambda s: {"url": s.url("mobius_nope")},
                         "wrong_database", "3D000", True),
    "pg_hba rejects": (lambda s: {"url": s.url("pf_rejected",
                                               user="mobius_ro")},
                       "auth", "28000", True),
    "no pg_hba entry": (lambda s: {"url": s.url("mobius_chat",
                                                user="postgres")},
                        "auth", "28000", True),
    "no CONNECT privilege": (lambda s: {"url": s.url("pf_noconnect")},
                             "auth", "42501", True),
    "role connection limit": (lambda s: {"url": s.url(
        "mobius_chat", user="pf_limited", password="pf-limited-pw")},
        "connect_refused", "53300", True),
    "missing table": (lambda s: {"url": s.url("mobius_chat"),
                                 "tables": dict(CHAT_TABLES, nope=[])},
                      "missing_table", None, False),
    "assertion on a missing table": (
        lambda s: {"url": s.url("mobius_chat"), "assertions": [NOPE]},
        "assertion", "42P01", True),
    "write in the read-only session": (
        lambda s: {"url": s.url("mobius_chat"), "assertions": [WRITE]},
        "assertion", "25006", True),
    "statement timeout": (
        lambda s: {"url": s.url("mobius_chat"), "assertions": [SLOW],
                   "timeout": "1s"},
        "assertion", "57014", True),
}


@pytest.mark.parametrize("case", list(CASES))
def test_real_german_server_gives_the_english_reason(servers, de_locale, case):
    make, reason, code, server_text = CASES[case]
    results = {}
    for lang, srv in servers.items():
        rc, res = probe(make(srv), german(de_locale),
                        list(srv.passwords.values()))
        assert rc == (0 if reason is None else 1), (lang, res)
        assert res["reason"] == reason, (lang, res)
        if code:
            assert f": {code}: " in res["error"], (lang, res)
        results[lang] = res
    en, de = results["en"], results["de"]
    if server_text:
        # the German server really spoke German
        assert en["error"] != de["error"]
        assert "»" in de["error"] or "Berechtigung" in de["error"] or \
            "Zeitüberschreitung" in de["error"] or \
            "Read-Only" in de["error"], de["error"]
    else:
        assert en["error"] == de["error"]
    if case != "no pg_hba entry":  # see the fake-server test
        assert en["hint"] == de["hint"]
    if code in OWN_HINT and case != "role connection limit":
        assert de["hint"] == OWN_HINT[code]
    if case == "write in the read-only session":
        for res in (en, de):
            assert "(it tried to write in a read-only session)" in res["error"]
    assert en["details"].get("missing_tables") == \
        de["details"].get("missing_tables")


def test_real_starting_server_in_german_is_connect_refused(stuck, de_locale):
    results = {}
    for lang, srv in stuck.items():
        rc, res = probe({"url": srv.url("mobius_chat")}, german(de_locale),
                        list(srv.passwords.values()))
        assert rc == 1 and res["reason"] == "connect_refused", (lang, res)
        assert "FATAL: 57P03: " in res["error"]
        assert res["hint"] == OWN_HINT["57P03"]
        results[lang] = res
    assert "the database system is starting up" in results["en"]["error"]
    assert "das Datenbanksystem startet" in results["de"]["error"]


def test_preflightd_check_in_german(servers, stuck, de_locale, tmp_path):
    """The daemon's own binary, German client locale, German servers."""
    de = servers["de"]
    cfg = tmp_path / "preflight.json"
    cfg.write_text(json.dumps({"checks": [
        {"name": "ok", "kind": "postgres", "url": de.url("mobius_chat"),
         "tables": CHAT_TABLES},
        {"name": "bad-pw", "kind": "postgres",
         "url": de.url("mobius_chat", password="wrong-pw-123")},
        {"name": "no-db", "kind": "postgres", "url": de.url("mobius_nope")},
        {"name": "starting", "kind": "postgres",
         "url": stuck["de"].url("mobius_chat")},
    ]}))
    p = run_cli(["check", "--config", str(cfg), "--format", "json"],
                env=german(de_locale))
    assert p.returncode == 1, p.stdout + p.stderr
    for pw in de.passwords.values():
        assert pw not in p.stdout and pw not in p.stderr
    checks = json.loads(p.stdout)["checks"]
    assert checks["ok"]["status"] == "pass"
    assert checks["bad-pw"]["reason"] == "auth"
    assert "Passwort-Authentifizierung" in checks["bad-pw"]["error"]
    assert checks["no-db"]["reason"] == "wrong_database"
    assert checks["starting"]["reason"] == "connect_refused"
    assert checks["starting"]["hint"] == OWN_HINT["57P03"]
