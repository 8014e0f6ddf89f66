"""The postgres check against a real PostgreSQL 15 (harness.pg) whose
databases model the real services: mobius_chat built from the chat
migration corpus (public and compliance), mobius_rag from the RAG ORM
fixture.  Every failure reason, recovery, unix sockets, the URL forms the
services use (postgres://, postgresql+psycopg2://, postgresql+asyncpg://,
the Cloud SQL socket form, a separate `password`), schema-qualified
tables, required views, a real hot standby (read_only unless
allow_replica), trust authentication (warn), read-only sessions, secrets
kept out of the output, TLS (verify-full and each tls failure, against
the pg_tls server with the harness.tls PKI), and 1,000 probes with flat
fds and RSS.  Probes run through the probe_once tool (PROBE_ONCE_BIN).
Server errors in another language: test_postgres_parity.py."""
import json
import os
import subprocess
import time

import pytest

from harness.daemon import run_cli
from harness.fakepg import PgReplica, PgTrustServer, serve
from harness.net import BlackHole, Tarpit, listen_low, refused_port, serve_in_thread
from harness.pg import CHAT_CORPUS, FIXTURES

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
PROBE_ONCE = os.environ.get("PROBE_ONCE_BIN",
                            os.path.join(ROOT, "build", "tests", "probe_once"))

# The columns the Chat API's storage code reads and writes (mobius-chat),
# as the chat corpus creates them.
CHAT_TABLES = {
    "chat_threads": ["thread_id", "created_at", "updated_at"],
    "chat_turns": ["correlation_id", "question", "thread_id", "user_id",
                   "created_at"],
    "chat_turn_messages": ["turn_id", "thread_id", "role", "content",
                           "created_at"],
    "chat_state": ["thread_id", "state_json", "state_version", "updated_at"],
}
# What the RAG ORM models (Mobius-RAG app/models.py) read.
RAG_TABLES = {
    "documents": ["id", "filename", "file_hash", "status"],
    "document_pages": ["document_id", "page_number", "text", "source_url"],
    "chunking_jobs": ["id", "document_id", "status", "generator_id",
                      "priority"],
    "chunking_results": ["document_id", "metadata", "results"],
    "hierarchical_chunks": ["id", "document_id", "text", "summary"],
    "extracted_facts": ["id", "hierarchical_chunk_id", "document_id",
                        "fact_text", "fact_type"],
    "embedding_jobs": ["id", "document_id", "status", "generator_id"],
    "chunk_embeddings": ["id", "document_id", "source_type", "source_id",
                         "embedding", "generator_id"],
}
HIPAA = "compliance.hipaa_analysis_log"


def probe(pg, url, timeout="5s", secrets=(), args=(), env=None, **kw):
    """Runs one probe; returns (exit code, result dict).  Fails the test if
    any password appears anywhere in the tool's output."""
    check = dict(kind="postgres", name="pg", url=url, timeout=timeout, **kw)
    r = subprocess.run([PROBE_ONCE, json.dumps(check), *args],
                       capture_output=True, text=True, timeout=120,
                       env=None if env is None else dict(os.environ, **env))
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
    kw.setdefault("tables", CHAT_TABLES)
    return probe(pg, pg.url("mobius_chat"), **kw)


@pytest.fixture
def chat(pg):
    """mobius_chat, restored after the test whatever it dropped."""
    yield pg
    pg.restore("mobius_chat")


@pytest.fixture
def rag(pg):
    """mobius_rag, restored after the test."""
    yield pg
    pg.restore("mobius_rag")


def test_required_columns_are_the_fixtures_own(pg):
    """CHAT_TABLES / RAG_TABLES name real columns of the fixtures (else the
    passes below would prove nothing)."""
    for db, tables in (("mobius_chat", CHAT_TABLES), ("mobius_rag", RAG_TABLES)):
        cat = pg.catalog(db)["tables"]
        for t, cols in tables.items():
            assert set(cols) <= set(cat[t]), (db, t)


def test_pass_on_migrated_databases(pg):
    rc, res = chat_probe(pg, database="mobius_chat")
    assert rc == 0, res
    assert res["reason"] is None and res["warn"] is False
    d = res["details"]
    assert d["database"] == "mobius_chat"
    assert d["server_version"].startswith("15")
    assert d["in_recovery"] is False
    assert d["missing_tables"] == [] and d["missing_columns"] == {}
    assert d["missing_views"] == []
    assert "introduced_by" not in d
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
    assert res["error"] == "missing tables: chat_threads"
    assert res["hint"] == ("run the migrations for database mobius_chat"
                           " before starting its workers")
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
    assert res["error"] == "missing columns: chat_turns.thread_id"
    assert "mobius_chat" in res["hint"]
    assert res["gauge"] == 1


def test_missing_table_and_column(chat):
    chat.sql("mobius_chat", "DROP TABLE chat_state;"
             " ALTER TABLE chat_turns DROP COLUMN user_id")
    rc, res = chat_probe(chat)
    assert res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["chat_state"]
    assert res["details"]["missing_columns"] == {"chat_turns": ["user_id"]}
    assert res["error"] == ("missing tables: chat_state;"
                            " missing columns: chat_turns.user_id")
    assert res["gauge"] == 2


def test_embedding_worker_tables_lack_generator_id(rag):
    """The embedding worker created embedding_jobs / chunk_embeddings before
    the API's create_all (rag_embedding_worker_tables.sql): the ORM's
    generator_id is missing from both."""
    rag.sql_file("mobius_rag", os.path.join(FIXTURES,
                                            "rag_embedding_worker_tables.sql"))
    rc, res = probe(rag, rag.url("mobius_rag"), tables=RAG_TABLES)
    assert rc == 1 and res["reason"] == "missing_column", res
    assert res["details"]["missing_columns"] == {
        "embedding_jobs": ["generator_id"], "chunk_embeddings": ["generator_id"]}
    assert res["error"] == ("missing columns: embedding_jobs.generator_id,"
                            " chunk_embeddings.generator_id")
    assert "mobius_rag" in res["hint"]
    rag.restore("mobius_rag")
    rc, res = probe(rag, rag.url("mobius_rag"), tables=RAG_TABLES)
    assert rc == 0, res


def test_schema_key_and_other_schema(pg):
    rc, res = probe(pg, pg.url("mobius_chat"), schema="pg_catalog",
                    tables={"chat_threads": []})
    assert res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["chat_threads"]
    rc, res = probe(pg, pg.url("mobius_chat"), schema="pg_catalog",
                    tables={"pg_class": ["relname"]})
    assert rc == 0, res
    # a schema-qualified table is looked up in its own schema
    rc, res = probe(pg, pg.url("mobius_chat"), schema="pg_catalog",
                    tables={"pg_class": [], "public.chat_turns": ["thread_id"]})
    assert rc == 0, res


def test_schema_qualified_tables(chat):
    tables = dict(CHAT_TABLES, **{HIPAA: ["user_id", "org_slug", "gate_source"],
                                  "compliance.hipaa_message_check_log": []})
    rc, res = chat_probe(chat, tables=tables)
    assert rc == 0, res
    # the same name in the other schema does not count
    rc, res = chat_probe(chat, tables={"compliance.chat_turns": [],
                                       "hipaa_analysis_log": []})
    assert res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["compliance.chat_turns",
                                                "hipaa_analysis_log"]
    chat.sql("mobius_chat", "DROP TABLE compliance.hipaa_message_check_log;"
             f" ALTER TABLE {HIPAA} DROP COLUMN gate_source")
    rc, res = chat_probe(chat, tables=tables)
    assert rc == 1 and res["reason"] == "missing_table", res
    d = res["details"]
    assert d["missing_tables"] == ["compliance.hipaa_message_check_log"]
    assert d["missing_columns"] == {HIPAA: ["gate_source"]}
    assert res["error"] == ("missing tables: compliance.hipaa_message_check_log;"
                            f" missing columns: {HIPAA}.gate_source")
    assert res["gauge"] == 2
    # with schema "compliance" its names are the unqualified ones
    rc, res = probe(chat, chat.url("mobius_chat"), schema="compliance",
                    tables={"hipaa_analysis_log": ["gate_source", "user_id"],
                            "public.chat_turns": ["thread_id", "nope"]})
    assert res["reason"] == "missing_column"
    assert res["details"]["missing_columns"] == {
        "hipaa_analysis_log": ["gate_source"], "public.chat_turns": ["nope"]}
    assert res["error"] == ("missing columns: hipaa_analysis_log.gate_source,"
                            " public.chat_turns.nope")


def test_required_views(chat):
    views = ["model_performance_by_stage", "public.stage_fault_summary"]
    rc, res = chat_probe(chat, views=views)
    assert rc == 0, res
    assert res["details"]["missing_views"] == []
    chat.sql("mobius_chat",
             "DROP MATERIALIZED VIEW model_performance_by_stage CASCADE")
    rc, res = chat_probe(chat, views=views)
    assert rc == 1 and res["reason"] == "missing_table", res
    d = res["details"]
    assert d["missing_views"] == ["model_performance_by_stage"]
    assert d["missing_tables"] == [] and d["missing_columns"] == {}
    assert res["error"] == "missing views: model_performance_by_stage"
    assert res["gauge"] == 1
    # derived from the migrations, the view is named with its file
    rc, res = probe(chat, chat.url("mobius_chat"), schema_dir=CHAT_CORPUS,
                    views=["model_performance_by_stage"])
    assert rc == 1 and res["reason"] == "missing_table", res
    assert res["details"]["missing_views"] == ["model_performance_by_stage"]
    assert res["details"]["introduced_by"] == {
        "model_performance_by_stage": "022_model_performance_view.sql"}
    assert res["error"] == ("missing views: model_performance_by_stage"
                            " (022_model_performance_view.sql)")
    assert "from 022_model_performance_view.sql through" \
        " 059_published_rag_documents_matview.sql" in res["hint"]
    # a view in another schema
    chat.sql("mobius_chat", "CREATE VIEW compliance.pf_recent AS"
             f" SELECT id FROM {HIPAA}")
    rc, res = chat_probe(chat, views=["compliance.pf_recent"])
    assert rc == 0, res
    rc, res = chat_probe(chat, views=["pf_recent"])
    assert res["details"]["missing_views"] == ["pf_recent"]


def test_wrong_password_is_auth(pg):
    wrong = "not-the-password-123"
    rc, res = probe(pg, pg.url("mobius_chat", password=wrong),
                    tables=CHAT_TABLES, secrets=[wrong])
    assert rc == 1
    assert res["reason"] == "auth"
    assert "FATAL: 28P01: password authentication failed" in res["error"]
    assert "mobius_chat" in res["hint"]


def test_password_key(pg):
    """`password` is used when the URL has none, and only then."""
    pw = pg.passwords["mobius_app"]
    no_pw = pg.url("mobius_chat", password="")
    assert pw not in no_pw
    rc, res = probe(pg, no_pw, tables=CHAT_TABLES, password=pw)
    assert rc == 0, res
    wrong = "wrong-password-key-7"
    rc, res = probe(pg, no_pw, tables=CHAT_TABLES, password=wrong,
                    secrets=[wrong])
    assert rc == 1 and res["reason"] == "auth", res
    assert "28P01" in res["error"]
    # the URL's own password wins over the key
    rc, res = probe(pg, pg.url("mobius_chat"), tables=CHAT_TABLES,
                    password=wrong, secrets=[wrong])
    assert rc == 0, res
    # no password at all: the server asks for one, libpq has none
    rc, res = probe(pg, no_pw, env={"PGPASSWORD": "", "PGPASSFILE": os.devnull})
    assert res["reason"] == "auth", res
    assert "no password supplied" in res["error"]


def test_password_key_with_awkward_characters(pg):
    """The key travels to libpq as a value of its own, never spliced into a
    DSN or URL: quotes, spaces, backslashes, % and @ need no escaping."""
    weird = "a b'c\"d\\e%zz@f:/g?h=1&"
    lit = weird.replace("'", "''")
    pg.sql("postgres", f"CREATE ROLE pf_weird LOGIN PASSWORD '{lit}';"
           " GRANT CONNECT ON DATABASE mobius_chat TO pf_weird")
    try:
        url = pg.url("mobius_chat", user="pf_weird", password="")
        rc, res = probe(pg, url, password=weird, tables={"chat_turns": []},
                        secrets=[weird])
        assert rc == 0, res
        dsn = f"host=127.0.0.1 port={pg.port} dbname=mobius_chat user=pf_weird"
        rc, res = probe(pg, dsn, password=weird, secrets=[weird])
        assert rc == 0, res
    finally:
        pg.sql("postgres", "REVOKE CONNECT ON DATABASE mobius_chat FROM pf_weird;"
               " DROP ROLE pf_weird")


def test_unknown_role_is_auth(pg):
    rc, res = probe(pg, pg.url("mobius_chat", user="ghost", password="x"))
    assert res["reason"] == "auth", res
    assert "28P01" in res["error"]


def test_no_connect_privilege_is_auth(pg):
    """42501 at connect: the role may not CONNECT to the database."""
    pg.create_database("pf_noconnect")
    try:
        pg.sql("postgres", "REVOKE CONNECT ON DATABASE pf_noconnect FROM mobius_app")
        rc, res = probe(pg, pg.url("pf_noconnect"))
        assert rc == 1 and res["reason"] == "auth", res
        assert "FATAL: 42501: permission denied for database" in res["error"]
        assert "GRANT CONNECT ON DATABASE" in res["hint"]
    finally:
        pg.drop_database("pf_noconnect")


def test_connection_limit_is_connect_refused(pg):
    """53300 at connect (here the role's CONNECTION LIMIT; the server uses
    the same code for max_connections): connect_refused."""
    pg.sql("postgres", "ALTER ROLE mobius_ro CONNECTION LIMIT 0")
    try:
        rc, res = probe(pg, pg.url("mobius_chat", user="mobius_ro"))
    finally:
        pg.sql("postgres", "ALTER ROLE mobius_ro CONNECTION LIMIT -1")
    assert rc == 1 and res["reason"] == "connect_refused", res
    assert "FATAL: 53300: too many connections for role" in res["error"]
    rc, res = probe(pg, pg.url("mobius_chat", user="mobius_ro"))
    assert rc == 0, res


def test_wrong_database(pg):
    rc, res = probe(pg, pg.url("mobius_nope"), tables=CHAT_TABLES)
    assert res["reason"] == "wrong_database"
    assert "FATAL: 3D000:" in res["error"] and "mobius_nope" in res["error"]
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
        self.sock = listen_low(backlog=16)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.t = serve_in_thread(self.sock, self._answer, lambda: self.stop)

    @staticmethod
    def _answer(c):
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
    # told apart by its SQLSTATE (25006), not by the words
    assert "(it tried to write in a read-only session)" in res["error"]
    assert "25006" in res["error"]
    assert chat.sql("mobius_chat", "SELECT count(*) FROM chat_state").strip() == "0"
    # the server log shows only SELECTs from preflightd's sessions, with
    # hand-written tables and views or with schema_dir
    start = len(chat.log_text())
    rc, res = chat_probe(chat, views=["model_performance_by_stage"])
    assert rc == 0, res
    rc, res = probe(chat, chat.url("mobius_chat"), schema_dir=CHAT_CORPUS,
                    require_views=True)
    assert rc == 0, res
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


def _url_forms(pg):
    """(form, url, extra check keys) as the services spell their URLs."""
    pw = pg.passwords["mobius_app"]
    hp = f"127.0.0.1:{pg.port}"
    return [
        ("psycopg2 + password key",
         f"postgresql+psycopg2://mobius_app@{hp}/mobius_chat", {"password": pw}),
        ("asyncpg, password in the URL",
         f"postgresql+asyncpg://mobius_app:{pw}@{hp}/mobius_chat", {}),
        ("postgres://", f"postgres://mobius_app:{pw}@{hp}/mobius_chat", {}),
        ("postgres+driver://",
         f"postgres+pg8000://mobius_app:{pw}@{hp}/mobius_chat", {}),
        ("Cloud SQL socket form + password key",
         f"postgresql+psycopg2://mobius_app@/mobius_chat"
         f"?host={pg.socket_dir}&port={pg.port}", {"password": pw}),
    ]


URL_FORMS = ["psycopg2 + password key", "asyncpg, password in the URL",
             "postgres://", "postgres+driver://",
             "Cloud SQL socket form + password key"]


@pytest.mark.parametrize("form", URL_FORMS)
def test_url_forms(pg, form):
    forms = {f: (u, e) for f, u, e in _url_forms(pg)}
    assert list(forms) == URL_FORMS
    url, extra = forms[form]
    rc, res = probe(pg, url, tables=CHAT_TABLES, database="mobius_chat", **extra)
    assert rc == 0, (form, res)
    assert res["details"]["database"] == "mobius_chat"
    assert ("address" in res["details"]) == ("?host=/" not in url)
    # a wrong password key on the same URL is auth (when the URL has none)
    if "password" in extra:
        rc, res = probe(pg, url, password="wrong-pw-xyz", secrets=["wrong-pw-xyz"])
        assert rc == 1 and res["reason"] == "auth", (form, res)


def test_url_forms_in_the_daemon_config(pg, tmp_path):
    """`preflightd config` shows each URL as configured (driver kept) with
    the password masked, and "password": "***" when one is configured;
    `preflightd check` passes with all of them."""
    forms = _url_forms(pg)
    checks = [dict(name=f"db{i}", kind="postgres", url=url, **extra)
              for i, (_, url, extra) in enumerate(forms)]
    cfg = tmp_path / "preflight.json"
    cfg.write_text(json.dumps({"checks": checks}))
    p = run_cli(["check", "--config", str(cfg)])
    assert p.returncode == 0, p.stdout + p.stderr
    nopw = pg.url("mobius_chat", password="").replace("postgresql:", "postgresql+asyncpg:")
    cfg.write_text(json.dumps({"checks": checks + [
        dict(name="nopw", kind="postgres", url=nopw)]}))
    p = run_cli(["config", "--config", str(cfg)])
    assert p.returncode == 0, p.stderr
    for pw in pg.passwords.values():
        assert pw not in p.stdout and pw not in p.stderr
    described = json.loads(p.stdout)["checks"]
    for (form, url, extra), c in zip(forms, described):
        assert c["url"] == url.replace(pg.passwords["mobius_app"], "***"), form
        assert c["target"] == c["url"]
        # shown (masked) only when the `password` key gave it
        if "password" in extra:
            assert c["password"] == "***", form
        else:
            assert "password" not in c, form
    assert described[-1]["url"] == nopw and "password" not in described[-1]


@pytest.mark.parametrize("url", ["", "   ", "${PF_TEST_UNSET_URL:-}"])
def test_empty_url_is_a_config_error(pg, url):
    rc, res = probe(pg, url)
    assert rc == 2
    assert "check.url: must not be empty" in res["stderr"], res
    assert "postgresql://" in res["stderr"]


# -- a real hot standby, and a server with trust authentication ------------

@pytest.fixture(scope="module")
def replica(pg):
    """A hot standby streaming from pg (harness.fakepg.PgReplica)."""
    yield from serve(PgReplica(pg))


@pytest.fixture(scope="module")
def trust():
    """A second server whose pg_hba trusts TCP from 127.0.0.1."""
    yield from serve(PgTrustServer())


def caught_up(replica, primary, timeout=15.0):
    """Waits until the standby has replayed everything the primary wrote."""
    lsn = primary.sql("postgres", "SELECT pg_current_wal_lsn()").strip()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.sql("postgres", "SELECT pg_last_wal_replay_lsn() >="
                       f" '{lsn}'::pg_lsn").strip() == "t":
            return
        time.sleep(0.05)
    raise AssertionError(f"the standby did not replay up to {lsn}")


def test_replica_is_read_only_unless_allowed(chat, replica):
    caught_up(replica, chat)
    assert replica.sql("postgres", "SELECT pg_is_in_recovery()").strip() == "t"
    url = replica.url("mobius_chat")
    rc, res = probe(replica, url, tables=CHAT_TABLES, database="mobius_chat")
    assert rc == 1 and res["reason"] == "read_only", res
    d = res["details"]
    assert d["in_recovery"] is True and d["database"] == "mobius_chat"
    assert d["missing_tables"] == [] and d["missing_columns"] == {}
    assert res["error"] == (f"127.0.0.1:{replica.port} is in recovery (a"
                            " read-only replica): writes to database"
                            " mobius_chat fail there")
    assert '"allow_replica": true' in res["hint"] and "primary" in res["hint"]
    # read_only comes before missing objects and a wrong database
    rc, res = probe(replica, url, tables={"nope": []}, database="mobius_rag")
    assert res["reason"] == "read_only", res
    # allowed: a pass, and the schema is still checked
    rc, res = probe(replica, url, tables=CHAT_TABLES, allow_replica=True,
                    views=["model_performance_by_stage"])
    assert rc == 0 and res["reason"] is None and res["warn"] is False, res
    assert res["details"]["in_recovery"] is True
    rc, res = probe(replica, url, tables={"nope": []}, allow_replica=True)
    assert res["reason"] == "missing_table", res
    # it is a real standby of pg: what the primary drops is gone here too
    chat.sql("mobius_chat", "DROP TABLE chat_turn_messages")
    caught_up(replica, chat)
    rc, res = probe(replica, url, tables=CHAT_TABLES, allow_replica=True)
    assert res["reason"] == "missing_table", res
    assert res["details"]["missing_tables"] == ["chat_turn_messages"]
    chat.restore("mobius_chat")
    caught_up(replica, chat)
    rc, res = probe(replica, url, tables=CHAT_TABLES, allow_replica=True)
    assert rc == 0, res


def test_trust_auth_passes_with_a_warning(trust):
    url = trust.url("mobius_chat")  # with mobius_app's password
    rc, res = probe(trust, url, tables=CHAT_TABLES)
    assert rc == 0 and res["reason"] is None, res
    assert res["warn"] is True
    assert "without asking for the configured password" in res["error"]
    assert "trust" in res["error"] and "scram-sha-256" in res["error"]
    assert res["details"]["missing_tables"] == []
    # a password from the `password` key or PGPASSWORD is configured too
    nopw = trust.url("mobius_chat", password="")
    for kw, env in (({"password": "pf-key-pw-1234"}, None),
                    ({}, {"PGPASSWORD": "pf-env-pw-1234"})):
        rc, res = probe(trust, nopw, tables=CHAT_TABLES, env=env,
                        secrets=["pf-key-pw-1234", "pf-env-pw-1234"], **kw)
        assert rc == 0 and res["warn"] is True, (kw, env, res)
        assert "trust" in res["error"]
    # even a wrong password gets in: the server never looks at it
    rc, res = probe(trust, trust.url("mobius_chat", password="wrong-wrong"),
                    secrets=["wrong-wrong"])
    assert rc == 0 and res["warn"] is True, res
    # no password configured: nothing to warn about
    rc, res = probe(trust, nopw, tables=CHAT_TABLES,
                    env={"PGPASSWORD": "", "PGPASSFILE": os.devnull})
    assert rc == 0 and res["warn"] is False and res["error"] == "", res
    # the same server's socket asks for the password (scram): no warning
    rc, res = probe(trust, trust.url("mobius_chat", host=trust.socket_dir),
                    tables=CHAT_TABLES)
    assert rc == 0 and res["warn"] is False and res["error"] == "", res


def test_daemon_shows_trust_as_warn_and_a_replica_as_read_only(
        pg, replica, trust, daemon_factory):
    caught_up(replica, pg)
    common = {"kind": "postgres", "tables": CHAT_TABLES, "interval": "1s",
              "timeout": "800ms"}
    d = daemon_factory({"checks": [
        dict(common, name="trust-db", url=trust.url("mobius_chat")),
        dict(common, name="replica-ok", url=replica.url("mobius_chat"),
             allow_replica=True),
        dict(common, name="replica-db", url=replica.url("mobius_chat")),
    ]})
    doc = d.wait_status("trust-db", "warn")
    assert doc["reason"] is None and "trust" in doc["error"]
    doc = d.wait_status("replica-ok", "pass")
    assert doc["details"]["in_recovery"] is True
    doc = d.wait_status("replica-db", "fail")
    assert doc["reason"] == "read_only" and doc["details"]["in_recovery"] is True
    assert "allow_replica" in doc["hint"]
    # warn does not block readiness; the replica does
    status, _, body = d.get("/readyz")
    assert status == 503
    assert json.loads(body)["failing"] == ["replica-db"]
    for srv in (pg, trust):
        for pw in srv.passwords.values():
            assert pw not in d.stdout() and pw not in d.stderr()


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
    tp = Tarpit()
    try:
        chat.sql("mobius_chat", "DROP TABLE chat_turn_messages")
        d = daemon_factory(_daemon_config(chat, tp.port))
        doc = d.wait_status("chat-db", "fail")
        assert doc["reason"] == "missing_table"
        assert doc["details"]["missing_tables"] == ["chat_turn_messages"]
        assert doc["details"]["missing_views"] == []
        assert doc["details"]["in_recovery"] is False
        assert doc["error"] == "missing tables: chat_turn_messages"
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
