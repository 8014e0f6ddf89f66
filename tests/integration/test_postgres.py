"""The postgres check against a real PostgreSQL 15 (harness.pg): every
failure reason, recovery, unix sockets, read-only sessions, secrets kept
out of the output, TLS (verify-full and each tls failure, against the
pg_tls server with the harness.tls PKI), and 1,000 probes with flat fds
and RSS.  Probes run
through the probe_once tool (PROBE_ONCE_BIN)."""
import json
import os
import socket
import subprocess
import threading

import pytest

from harness.net import BlackHole, Tarpit, refused_port

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PROBE_ONCE = os.environ.get("PROBE_ONCE_BIN",
                            os.path.join(ROOT, "build", "tests", "probe_once"))

CHAT_TABLES = {
    "chat_threads": ["id", "user_id", "created_at"],
    "chat_turns": ["id", "thread_id", "correlation_id", "status"],
    "chat_turn_messages": ["turn_id", "role", "content"],
    "chat_state": [],
}
RAG_TABLES = {
    "chunking_jobs": ["id", "document_id", "status"],
    "chunking_results": ["job_id", "chunk_count"],
    "documents": ["id", "content_hash"],
    "document_pages": ["document_id", "page_number", "text"],
    "hierarchical_chunks": ["id", "parent_id", "content"],
    "extracted_facts": ["chunk_id", "subject", "predicate", "object"],
    "embedding_jobs": ["id", "model", "status"],
    "chunk_embeddings": ["chunk_id", "embedding"],
}


def probe(pg, url, timeout="5s", secrets=(), args=(), **kw):
    """Runs one probe; returns (exit code, result dict).  Fails the test if
    any password appears anywhere in the tool's output."""
    check = dict(kind="postgres", name="pg", url=url, timeout=timeout, **kw)
    r = subprocess.run([PROBE_ONCE, json.dumps(check), *args],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    marks = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")
    assert not any(m in r.stderr for m in marks), "sanitizer:\n" + r.stderr
    for pw in list(pg.passwords.values()) + list(secrets):
        assert pw not in out, "a password leaked into the output"
    if r.returncode == 2:
        return 2, {"stderr": r.stderr}
    assert r.stdout.strip(), r.stderr
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def chat_probe(pg, **kw):
    return probe(pg, pg.url("mobius_chat"), tables=CHAT_TABLES, **kw)


@pytest.fixture
def chat(pg):
    """mobius_chat, restored after the test whatever it dropped."""
    yield pg
    pg.restore("mobius_chat")


def test_pass_on_migrated_databases(pg):
    rc, res = chat_probe(pg, database="mobius_chat")
    assert rc == 0, res
    assert res["reason"] is None
    d = res["details"]
    assert d["database"] == "mobius_chat"
    assert d["server_version"].startswith("15")
    assert d["missing_tables"] == [] and d["missing_columns"] == {}
    assert d["address"] == "127.0.0.1" and d["address_class"] == "loopback"
    assert res["gauge"] == 0
    rc, res = probe(pg, pg.url("mobius_rag"), tables=RAG_TABLES)
    assert rc == 0, res
    assert res["details"]["database"] == "mobius_rag"


def test_missing_table_then_recovery(chat):
    chat.sql("mobius_chat", "DROP TABLE chat_threads CASCADE")
    rc, res = chat_probe(chat)
    assert rc == 1
    assert res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["chat_threads"]
    assert res["details"]["missing_columns"] == {}
    assert "chat_threads" in res["error"]
    assert "run the migrations for database mobius_chat" in res["hint"]
    assert res["gauge"] == 1
    chat.restore("mobius_chat")
    rc, res = chat_probe(chat)
    assert rc == 0 and res["reason"] is None, res


def test_missing_column(chat):
    chat.sql("mobius_chat", "ALTER TABLE chat_turns DROP COLUMN thread_id")
    rc, res = chat_probe(chat)
    assert rc == 1
    assert res["reason"] == "missing_column"
    assert res["details"]["missing_columns"] == {"chat_turns": ["thread_id"]}
    assert res["details"]["missing_tables"] == []
    assert "chat_turns.thread_id" in res["error"]
    assert "mobius_chat" in res["hint"]
    assert res["gauge"] == 1


def test_missing_table_and_column(chat):
    chat.sql("mobius_chat", "DROP TABLE chat_state;"
             " ALTER TABLE chat_turns DROP COLUMN status")
    rc, res = chat_probe(chat)
    assert res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["chat_state"]
    assert res["details"]["missing_columns"] == {"chat_turns": ["status"]}
    assert res["error"] == ("missing tables: chat_state;"
                            " missing columns: chat_turns.status")
    assert res["gauge"] == 2


def test_schema_key_and_other_schema(pg):
    rc, res = probe(pg, pg.url("mobius_chat"), schema="pg_catalog",
                    tables={"chat_threads": []})
    assert res["reason"] == "missing_table"
    rc, res = probe(pg, pg.url("mobius_chat"), schema="pg_catalog",
                    tables={"pg_class": ["relname"]})
    assert rc == 0, res


def test_wrong_password_is_auth(pg):
    wrong = "not-the-password-123"
    rc, res = probe(pg, pg.url("mobius_chat", password=wrong),
                    tables=CHAT_TABLES, secrets=[wrong])
    assert rc == 1
    assert res["reason"] == "auth"
    assert "password authentication failed" in res["error"]
    assert "mobius_chat" in res["hint"]


def test_unknown_role_is_auth(pg):
    rc, res = probe(pg, pg.url("mobius_chat", user="ghost", password="x"))
    assert res["reason"] == "auth", res


def test_wrong_database(pg):
    rc, res = probe(pg, pg.url("mobius_nope"), tables=CHAT_TABLES)
    assert res["reason"] == "wrong_database"
    assert "mobius_nope" in res["error"]
    # connected fine, but to another database than `database` says
    rc, res = probe(pg, pg.url("mobius_rag"), database="mobius_chat",
                    tables=CHAT_TABLES)
    assert res["reason"] == "wrong_database"
    assert "mobius_rag" in res["error"] and "mobius_chat" in res["error"]
    assert res["details"]["database"] == "mobius_rag"


def test_nothing_listening_is_connect_refused(pg):
    port = refused_port()
    rc, res = probe(pg, pg.url("mobius_chat", port=port))
    assert rc == 1
    assert res["reason"] == "connect_refused"
    assert res["duration_ms"] < 1000


def test_blackhole_is_connect_timeout_at_deadline(pg):
    bh = BlackHole()
    try:
        rc, res = probe(pg, pg.url("mobius_chat", port=bh.port), timeout="1s")
    finally:
        bh.close()
    assert res["reason"] == "connect_timeout", res
    assert 900 <= res["duration_ms"] < 1800
    assert "127.0.0.1" in res["error"]


def test_tarpit_times_out_at_deadline(pg):
    tp = Tarpit()
    try:
        rc, res = probe(pg, pg.url("mobius_chat", port=tp.port), timeout="1s")
    finally:
        tp.close()
    assert res["reason"] == "timeout", res
    assert 900 <= res["duration_ms"] < 1800
    assert tp.accepted >= 1


class GarbageServer:
    """Answers every connection with an HTTP error and closes it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            c.settimeout(1)
            try:
                c.recv(1024)
                c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                          b"Connection: close\r\n\r\n")
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.t.join(timeout=2)
        self.sock.close()


@pytest.mark.parametrize("sslmode", ["prefer", "disable"])
def test_http_server_is_protocol(pg, sslmode):
    g = GarbageServer()
    try:
        rc, res = probe(pg, pg.url("mobius_chat", port=g.port, sslmode=sslmode))
    finally:
        g.close()
    assert rc == 1
    assert res["reason"] == "protocol", res
    assert str(g.port) in res["hint"]


# ---- TLS: pg_tls (ssl=on, hostssl only) with the harness.tls test PKI ----

def tls_probe(pg, host="localhost", **params):
    """A probe of mobius_chat on pg at host (resolved by the probe itself)."""
    return probe(pg, pg.url("mobius_chat", host=host, **params),
                 tables=CHAT_TABLES)


def test_tls_verify_full_passes(pg_tls, tls_pki):
    # host=localhost goes through evdns (hosts file) to hostaddr=127.0.0.1
    # while libpq keeps host=localhost to check the certificate's name.
    for host in ("localhost", "127.0.0.1"):
        rc, res = tls_probe(pg_tls, host, sslmode="verify-full",
                            sslrootcert=tls_pki.ca)
        assert rc == 0, (host, res)
        assert res["details"]["address"] == "127.0.0.1"
        assert res["details"]["missing_tables"] == []
    # The sessions really were encrypted (log_connections names the TLS
    # protocol of each).
    ours = [line for line in pg_tls.log_text().splitlines()
            if "connection authorized" in line and "preflightd" in line]
    assert len(ours) >= 2
    assert all("SSL enabled (protocol=TLSv1.3" in line for line in ours), ours


def test_tls_server_refuses_plain_connections(pg_tls, tls_pki):
    # What makes the passes above meaningful: without TLS there is no way in.
    rc, res = tls_probe(pg_tls, sslmode="disable")
    assert rc == 1 and res["reason"] == "auth", res
    assert "no encryption" in res["error"]
    assert "hostssl" in res["hint"] and "sslmode=verify-full" in res["hint"]


def test_tls_unknown_ca_is_tls(pg_tls, tls_pki):
    rc, res = tls_probe(pg_tls, sslmode="verify-full",
                        sslrootcert=tls_pki.other_ca)
    assert rc == 1 and res["reason"] == "tls", res
    assert "certificate verify failed" in res["error"]
    assert "sslrootcert" in res["hint"]
    assert "localhost:%d" % pg_tls.port in res["hint"]


def test_tls_name_not_in_certificate_is_tls(pg_tls, tls_pki):
    # pg.loopback.test resolves to 127.0.0.1 through the harness's FakeDNS,
    # but the certificate only names localhost and 127.0.0.1.
    rc, res = tls_probe(pg_tls, "pg.loopback.test", sslmode="verify-full",
                        sslrootcert=tls_pki.ca)
    assert rc == 1 and res["reason"] == "tls", res
    assert "does not match host name" in res["error"]
    assert "pg.loopback.test" in res["error"]
    assert "subjectAltName" in res["hint"]
    # verify-ca checks the chain only: the same connection passes.
    rc, res = tls_probe(pg_tls, "pg.loopback.test", sslmode="verify-ca",
                        sslrootcert=tls_pki.ca)
    assert rc == 0, res


def test_tls_missing_root_certificate_is_tls(pg_tls, tls_pki):
    rc, res = tls_probe(pg_tls, sslmode="verify-full",
                        sslrootcert=tls_pki.path("absent.crt"))
    assert rc == 1 and res["reason"] == "tls", res
    assert "absent.crt" in res["error"]
    assert "sslrootcert names no readable file" in res["hint"]


def test_tls_protocol_version_mismatch_is_tls(pg_tls, tls_pki):
    # The server takes TLS 1.3 only; OpenSSL's complaint says "protocol",
    # which must not be mistaken for a peer that is not PostgreSQL.
    rc, res = tls_probe(pg_tls, sslmode="verify-full", sslrootcert=tls_pki.ca,
                        ssl_max_protocol_version="TLSv1.2")
    assert rc == 1 and res["reason"] == "tls", res
    assert "protocol" in res["error"]
    assert "ssl_max_protocol_version" in res["hint"]


def test_tls_required_but_server_has_none_is_tls(pg):
    rc, res = tls_probe(pg, "127.0.0.1", sslmode="require")
    assert rc == 1 and res["reason"] == "tls", res
    assert "server does not support SSL" in res["error"]
    assert "turn ssl on" in res["hint"]


def test_assertions(pg):
    asserts = [
        {"name": "seed_thread", "sql": "SELECT count(*) FROM chat_threads",
         "expect": ">= 1"},
        {"name": "no_stuck_turns", "sql": "SELECT count(*) FROM chat_threads",
         "expect": "== 0"},
    ]
    rc, res = chat_probe(pg, assertions=asserts)
    assert rc == 1
    assert res["reason"] == "assertion"
    assert "no_stuck_turns" in res["error"] and "returned 1" in res["error"]
    a = res["details"]["assertions"]
    assert a[0] == {"name": "seed_thread", "value": 1, "expect": ">= 1",
                    "pass": True}
    assert a[1]["pass"] is False and a[1]["value"] == 1
    rc, res = chat_probe(pg, assertions=asserts[:1])
    assert rc == 0, res


@pytest.mark.parametrize("sql,words", [
    ("SELECT 'abc'", "must return a number"),
    ("SELECT 1 UNION ALL SELECT 2", "got 2 row(s)"),
    ("SELECT 1, 2", "1 row(s) of 2 column(s)"),
    ("SELECT 1; SELECT 2", "multiple commands"),
    ("SELECT count(*) FROM no_such_table", "does not exist"),
])
def test_bad_assertion_results(pg, sql, words):
    rc, res = chat_probe(pg, assertions=[{"name": "bad", "sql": sql,
                                          "expect": "== 1"}])
    assert res["reason"] == "assertion", res
    assert "bad" in res["error"] and words in res["error"]


def test_session_is_read_only_with_statement_timeout(pg):
    setting = ("SELECT CASE WHEN current_setting('{}') = '{}'"
               " THEN 1 ELSE 0 END")
    asserts = [
        {"name": "ro", "sql": setting.format("default_transaction_read_only", "on"),
         "expect": "== 1"},
        {"name": "app", "sql": setting.format("application_name", "preflightd"),
         "expect": "== 1"},
        {"name": "st", "sql": "SELECT extract(epoch FROM"
         " current_setting('statement_timeout')::interval) * 1000",
         "expect": "== 1800"},
    ]
    rc, res = chat_probe(pg, timeout="2s", assertions=asserts)
    assert rc == 0, res


def test_statement_timeout_answers_before_deadline(pg):
    rc, res = chat_probe(pg, timeout="1s", assertions=[
        {"name": "slow", "sql": "SELECT 1 FROM pg_sleep(3)", "expect": "== 1"}])
    assert res["reason"] == "assertion"
    assert "statement timeout" in res["error"]
    assert res["duration_ms"] < 1500


def test_probe_never_writes(chat):
    # read-only role: SELECT and CONNECT only, and the check still passes
    rc, res = probe(chat, chat.url("mobius_chat", user="mobius_ro"),
                    tables=CHAT_TABLES)
    assert rc == 0, res
    # a write smuggled into an assertion is refused by the read-only session
    write = ("WITH x AS (INSERT INTO chat_state (thread_id) VALUES"
             " ('00000000-0000-0000-0000-000000000001') RETURNING 1)"
             " SELECT count(*) FROM x")
    rc, res = chat_probe(chat, assertions=[{"name": "w", "sql": write,
                                            "expect": "== 1"}])
    assert res["reason"] == "assertion"
    assert "read-only" in res["error"]
    assert chat.sql("mobius_chat", "SELECT count(*) FROM chat_state").strip() == "0"
    # the server log shows only SELECTs from preflightd's sessions
    start = len(chat.log_text())
    rc, res = chat_probe(chat)
    assert rc == 0
    mine = [ln for ln in chat.log_text()[start:].splitlines()
            if "app=preflightd" in ln and ("statement:" in ln or "execute" in ln)]
    assert mine, "log_statement=all shows no statement from preflightd"
    for ln in mine:
        stmt = ln.split(": ", 2)[-1].lstrip()
        assert stmt.upper().startswith("SELECT"), ln


def test_unix_socket(pg):
    rc, res = probe(pg, pg.url("mobius_chat", host=pg.socket_dir),
                    tables=CHAT_TABLES, database="mobius_chat")
    assert rc == 0, res
    assert "address" not in res["details"]
    # the Cloud SQL form with no proxy socket mounted
    rc, res = probe(pg, pg.url("mobius_chat", host="/nonexistent/cloudsql/p:r:i"))
    assert res["reason"] == "connect_refused"
    assert "/nonexistent/cloudsql/p:r:i" in res["hint"]


def test_host_from_pghost_goes_through_our_resolver(pg, monkeypatch):
    """A URL without a host takes $PGHOST/$PGPORT as libpq would, but the
    probe resolves it itself (libpq's own lookup would block the loop):
    details.address shows the address our resolver produced."""
    pw = pg.passwords["mobius_app"]
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(pg.port))
    rc, res = probe(pg, f"postgresql://mobius_app:{pw}@/mobius_chat", tables=CHAT_TABLES)
    assert rc == 0, res
    assert res["details"]["address"] == "127.0.0.1"


def test_key_value_dsn(pg):
    dsn = (f"host=127.0.0.1 port={pg.port} dbname=mobius_chat user=mobius_app"
           f" password='{pg.passwords['mobius_app']}' sslmode=disable")
    rc, res = probe(pg, dsn, tables=CHAT_TABLES)
    assert rc == 0, res


def test_bad_config_is_rejected_without_the_secret(pg):
    rc, res = probe(pg, "postgresql://u:hunter%zz2@h/db", secrets=["hunter"])
    assert rc == 2 and "url" in res["stderr"]
    rc, res = probe(pg, pg.url("mobius_chat"), assertions=[
        {"name": "a", "sql": "SELECT 1", "expect": "about one"}])
    assert rc == 2 and "expect" in res["stderr"]


def _sanitized():
    """True when probe_once is an ASan build: its quarantine holds freed
    memory, so RSS says nothing there (LeakSanitizer checks leaks exactly
    instead, and fails the run with a non-zero exit)."""
    with open(PROBE_ONCE, "rb") as f:
        return b"__asan_init" in f.read()


def test_thousand_probes_flat_fds_and_rss(pg):
    url = pg.url("mobius_chat", sslmode="disable")
    asan = _sanitized()
    runs = 300 if asan else 1000  # ASan is ~5x slower; keep the file < 60 s
    rc, warm = probe(pg, url, tables=CHAT_TABLES, args=["--repeat", "100"])
    assert rc == 0, warm
    rc, res = probe(pg, url, tables=CHAT_TABLES, args=["--repeat", str(runs)])
    assert rc == 0, res
    assert res["runs"] == runs
    assert res["fds_after"] == res["fds_before"]
    assert warm["fds_after"] == warm["fds_before"]
    if not asan:
        # 900 more probes may not cost more than a few hundred kB
        assert res["rss_kb_after"] - warm["rss_kb_after"] < 1024, (warm, res)


# -- through the daemon (harness.daemon, PREFLIGHTD_BIN) --------------------

def _daemon_config(pg, tp_port):
    return {"checks": [
        {"name": "chat-db", "kind": "postgres", "url": pg.url("mobius_chat"),
         "database": "mobius_chat", "tables": CHAT_TABLES,
         "interval": "1s", "timeout": "800ms"},
        {"name": "hung-db", "kind": "postgres", "critical": False,
         "url": pg.url("mobius_chat", port=tp_port),
         "interval": "1s", "timeout": "800ms"},
    ]}


def test_daemon_status_metrics_and_recovery(chat, daemon_factory):
    import time
    tp = Tarpit()
    try:
        chat.sql("mobius_chat", "DROP TABLE chat_turn_messages")
        d = daemon_factory(_daemon_config(chat, tp.port))
        doc = d.wait_status("chat-db", "fail")
        assert doc["reason"] == "missing_table"
        assert doc["details"]["missing_tables"] == ["chat_turn_messages"]
        assert "mobius_chat" in doc["hint"]
        assert doc["target"].startswith("postgresql://mobius_app:***@127.0.0.1:")
        # while hung-db's probes sit on the tarpit, /status stays fast
        for _ in range(20):
            t0 = time.monotonic()
            status, _, body = d.get("/status")
            assert status == 200 and time.monotonic() - t0 < 0.25
            for pw in chat.passwords.values():
                assert pw.encode() not in body
        _, _, metrics = d.get("/metrics")
        assert b'preflight_postgres_missing_objects{check="chat-db"} 1' in metrics
        hung = d.wait_status("hung-db", "warn")
        assert hung["reason"] == "timeout"
        chat.restore("mobius_chat")
        d.post("/run?check=chat-db")
        doc = d.wait_status("chat-db", "pass")
        assert doc["reason"] is None and doc["details"]["missing_tables"] == []
        for pw in chat.passwords.values():
            assert pw not in d.stdout() and pw not in d.stderr()
    finally:
        tp.close()
