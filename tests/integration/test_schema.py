"""`preflightd schema DIR` (SPEC §3a) against a real PostgreSQL: the corpus
tests/fixtures/migrations is applied file by file with psql to a fresh
database, and the derived schema must equal information_schema exactly
(tables, column order, views), with each object attributed to the file
from which on it exists on the server.  Binary: PREFLIGHTD_BIN."""
import json
import os
import secrets
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("PREFLIGHTD_BIN",
                                     os.path.join(ROOT, "build", "preflightd")))
CORPUS = os.path.join(ROOT, "tests", "fixtures", "migrations")

SNAPSHOT_SQL = """
SELECT json_build_object(
  'tables', (SELECT coalesce(json_object_agg(t.table_name, json_build_object(
        'type', t.table_type,
        'oid', (quote_ident(t.table_schema) || '.' || quote_ident(t.table_name))::regclass::oid,
        'columns', (SELECT coalesce(json_agg(c.column_name ORDER BY c.ordinal_position), '[]')
                    FROM information_schema.columns c
                    WHERE c.table_schema = t.table_schema
                      AND c.table_name = t.table_name))), '{}')
             FROM information_schema.tables t WHERE t.table_schema = 'public'),
  'matviews', (SELECT coalesce(json_agg(matviewname), '[]')
               FROM pg_matviews WHERE schemaname = 'public'))
"""


def run_schema(directory):
    return subprocess.run([BIN, "schema", directory], capture_output=True,
                          text=True, timeout=30)


def apply_file(pg, db, path):
    """Applies one migration the way a runner does: psql -f, stop on error."""
    env = dict(os.environ, PGPASSWORD=pg.passwords["postgres"])
    r = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", pg.socket_dir, "-p", str(pg.port), "-U",
                        "postgres", "-d", db, "-f", path],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, f"{path}: {r.stderr}"


def server_schema(pg, db):
    """{"tables": {t: [cols]}, "oids": {t: oid}, "views": {v: materialized}}
    from the server."""
    snap = json.loads(pg.sql(db, SNAPSHOT_SQL))
    base = {n: o for n, o in snap["tables"].items() if o["type"] == "BASE TABLE"}
    views = {n: False for n, o in snap["tables"].items() if o["type"] == "VIEW"}
    views.update({n: True for n in snap["matviews"]})
    return {"tables": {n: o["columns"] for n, o in base.items()},
            "oids": {n: o["oid"] for n, o in base.items()},
            "by_oid": {o["oid"]: o["columns"] for o in base.values()},
            "views": views}


@pytest.fixture(scope="module")
def applied(pg):
    """The corpus applied to a fresh database: (file names, snapshot after
    each file)."""
    db = "pf_schema_" + secrets.token_hex(4)
    pg.sql("postgres", f"CREATE DATABASE {db}")
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".sql"))
    assert len(files) >= 10
    snaps = []
    try:
        for f in files:
            apply_file(pg, db, os.path.join(CORPUS, f))
            snaps.append(server_schema(pg, db))
        yield files, snaps
    finally:
        pg.sql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture(scope="module")
def derived():
    r = run_schema(CORPUS)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_tables_and_columns_equal_server(applied, derived):
    server = applied[1][-1]
    assert derived["schema"] == "public"
    assert sorted(derived["tables"]) == sorted(server["tables"])
    for name, cols in server["tables"].items():
        got = list(derived["tables"][name]["columns"])
        assert got == cols, f"table {name}"
        assert "columns_unknown" not in derived["tables"][name]


def test_views_equal_server(applied, derived):
    server = applied[1][-1]
    got = {n: v["materialized"] for n, v in derived["views"].items()}
    assert got == server["views"]


def first_file_of_final_run(files, snaps, present):
    """The file from which on present(snapshot) holds until the end."""
    start = None
    for i, snap in enumerate(snaps):
        if present(snap):
            start = i if start is None else start
        else:
            start = None
    assert start is not None
    return files[start]


def test_attribution_matches_when_objects_appeared(applied, derived):
    """A table is attributed to the file from which its name exists; a
    column to the file from which that name exists on the same table
    (followed by oid across a table rename).  So renames attribute the
    new name to the renaming file, as docs/schema.md says."""
    files, snaps = applied
    for t, obj in derived["tables"].items():
        want = first_file_of_final_run(files, snaps,
                                       lambda s: t in s["tables"])
        assert obj["file"] == want, f"table {t}"
        oid = snaps[-1]["oids"][t]
        for c, f in obj["columns"].items():
            want = first_file_of_final_run(
                files, snaps, lambda s: c in s["by_oid"].get(oid, []))
            assert f == want, f"column {t}.{c}"
    for v, obj in derived["views"].items():
        want = first_file_of_final_run(files, snaps, lambda s: v in s["views"])
        assert obj["file"] == want, f"view {v}"


def test_corpus_exercises_the_hard_cases(applied, derived):
    """Guards the corpus itself: renames, drops, quoting, partitions and
    later ALTER files must stay in it, or the comparison proves little."""
    tables = derived["tables"]
    assert tables["chat_turns"]["columns"]["thread_id"] == \
        "011_chat_turns_thread_id.sql"
    assert tables["document_pages"]["columns"]["page_text"] == "013_renames.sql"
    assert tables["embedding_jobs"]["file"] == "013_renames.sql"
    assert "Token Count" in tables["chat_turn_messages"]["columns"]
    assert "Feedback Log" in tables
    assert "chat_sessions_legacy" not in tables
    assert "legacy_flag" not in tables["chat_threads"]["columns"]
    assert "payload" in tables["chat_events_2025"]["columns"]
    for decoy in ("decoy_in_trigger", "decoy_default", "decoy_do_block",
                  "scratch_facts", "decoy_view", "embedding_runs"):
        assert decoy not in tables


def test_missing_folder_exits_2(tmp_path):
    r = run_schema(str(tmp_path / "nope"))
    assert r.returncode == 2
    assert r.stdout == ""
    assert "nope" in r.stderr and "No such file" in r.stderr


def test_file_instead_of_folder_exits_2(tmp_path):
    f = tmp_path / "001.sql"
    f.write_text("CREATE TABLE t (a int);")
    r = run_schema(str(f))
    assert r.returncode == 2 and r.stdout == ""
    assert "Not a directory" in r.stderr


def test_folder_without_sql_files_exits_2(tmp_path):
    (tmp_path / "README.md").write_text("CREATE TABLE t (a int);")
    (tmp_path / "dir.sql").mkdir()
    r = run_schema(str(tmp_path))
    assert r.returncode == 2 and r.stdout == ""
    assert "no .sql" in r.stderr


def test_unreadable_file_exits_2_and_names_it(tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE t (a int);")
    os.symlink(str(tmp_path / "gone"), str(tmp_path / "002_dangling.sql"))
    r = run_schema(str(tmp_path))
    assert r.returncode == 2 and r.stdout == ""
    assert "002_dangling.sql" in r.stderr


def test_oversized_file_exits_2(tmp_path):
    with open(tmp_path / "001_big.sql", "w") as f:
        f.write("-- " + "x" * (8 * 1024 * 1024) + "\n")
    r = run_schema(str(tmp_path))
    assert r.returncode == 2 and r.stdout == ""
    assert "001_big.sql" in r.stderr and "limit" in r.stderr


def test_lexical_order_hidden_files_and_other_extensions(tmp_path):
    (tmp_path / "010_b.sql").write_text("ALTER TABLE t ADD COLUMN b int;")
    (tmp_path / "002_a.sql").write_text("CREATE TABLE t (a int);")
    (tmp_path / ".001_hidden.sql").write_text("CREATE TABLE hidden (x int);")
    (tmp_path / "003_note.sql.bak").write_text("CREATE TABLE bak (x int);")
    r = run_schema(str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tables"] == {"t": {"file": "002_a.sql", "columns": {
        "a": "002_a.sql", "b": "010_b.sql"}}}
    assert out["views"] == {}


# -- schema_dir in the postgres check (probe_once, then the daemon) ---------

from harness.chat import probe_once  # noqa: E402
from harness.daemon import run_cli  # noqa: E402

FILES = sorted(f for f in os.listdir(CORPUS) if f.endswith(".sql"))
THREAD_ID_FILE = "011_chat_turns_thread_id.sql"


def create_db(pg, upto=None, template=None):
    """A fresh database with the first `upto` corpus files applied (all
    when None), or a copy of template."""
    db = "pf_sd_" + secrets.token_hex(4)
    if template:
        pg.sql("postgres", f"CREATE DATABASE {db} TEMPLATE {template}")
        return db
    pg.sql("postgres", f"CREATE DATABASE {db}")
    for f in FILES[:upto]:
        apply_file(pg, db, os.path.join(CORPUS, f))
    return db


def drop_db(pg, db):
    pg.sql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture(scope="module")
def migrated_template(pg):
    """A database with the whole corpus applied, used only as a template
    (copying it is much faster than applying 14 files per test)."""
    db = create_db(pg)
    yield db
    drop_db(pg, db)


@pytest.fixture
def migrated(pg, migrated_template):
    db = create_db(pg, template=migrated_template)
    yield db
    drop_db(pg, db)


def sd_probe(pg, db, schema_dir=CORPUS, **kw):
    check = dict(kind="postgres", url=pg.url(db), schema_dir=schema_dir,
                 timeout="5s", **kw)
    rc, res, err = probe_once(check)
    out = json.dumps(res) + err
    for pw in pg.passwords.values():
        assert pw not in out
    return rc, res, err


def test_schema_dir_pass_on_migrated_database(pg, migrated):
    rc, res, err = sd_probe(pg, migrated, database=migrated)
    assert rc == 0, (res, err)
    d = res["details"]
    assert d["missing_tables"] == [] and d["missing_columns"] == {}
    assert d["introduced_by"] == {}
    assert res["gauge"] == 0


def test_schema_dir_missing_column_names_its_file(pg, migrated):
    pg.sql(migrated, "ALTER TABLE chat_turns DROP COLUMN thread_id CASCADE")
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 1
    assert res["reason"] == "missing_column"
    assert res["error"] == ("missing columns: chat_turns.thread_id"
                            f" ({THREAD_ID_FILE})")
    d = res["details"]
    assert d["missing_tables"] == []
    assert d["missing_columns"] == {"chat_turns": ["thread_id"]}
    assert d["introduced_by"] == {"chat_turns.thread_id": THREAD_ID_FILE}
    assert res["hint"] == (f"run the migrations for database {migrated} up to"
                           f" and including {THREAD_ID_FILE} before starting"
                           " its workers")
    assert res["gauge"] == 1


def test_schema_dir_missing_tables_name_their_files(pg, migrated):
    # chat_state comes from 005; embedding_jobs exists under that name
    # since 013's RENAME TO, so 013 is the file to run.
    pg.sql(migrated, "DROP TABLE chat_state, embedding_jobs CASCADE")
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 1 and res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == ["chat_state", "embedding_jobs"]
    assert res["details"]["missing_columns"] == {}
    assert res["details"]["introduced_by"] == {
        "chat_state": "005_chat_state.sql", "embedding_jobs": "013_renames.sql"}
    assert res["error"] == ("missing tables: chat_state (005_chat_state.sql),"
                            " embedding_jobs (013_renames.sql)")
    assert "from 005_chat_state.sql up to and including 013_renames.sql" \
        in res["hint"]
    assert res["gauge"] == 2


def test_schema_dir_merged_with_hand_written_tables(pg, migrated):
    hand = {"audit_log": [], "chat_turns": ["thread_id", "reviewed_by"],
            "Feedback Log": ["Score"]}
    pg.sql(migrated, 'ALTER TABLE "Feedback Log" DROP COLUMN "createdAt"')
    rc, res, _ = sd_probe(pg, migrated, tables=hand)
    assert rc == 1 and res["reason"] == "missing_table"
    d = res["details"]
    assert d["missing_tables"] == ["audit_log"]
    assert d["missing_columns"] == {"chat_turns": ["reviewed_by"],
                                    "Feedback Log": ["createdAt"]}
    # hand-written objects carry no file; derived ones do
    assert d["introduced_by"] == {
        "Feedback Log.createdAt": "014_feedback_and_events.sql"}
    assert res["error"] == (
        "missing tables: audit_log; missing columns: Feedback Log.createdAt"
        " (014_feedback_and_events.sql), chat_turns.reviewed_by")
    assert res["gauge"] == 3
    # once the hand-written objects exist, the union passes
    pg.sql(migrated, "CREATE TABLE audit_log (id int);"
           " ALTER TABLE chat_turns ADD COLUMN reviewed_by text;"
           ' ALTER TABLE "Feedback Log" ADD COLUMN "createdAt" timestamptz')
    rc, res, _ = sd_probe(pg, migrated, tables=hand)
    assert rc == 0, res


@pytest.mark.parametrize("upto", [3, 10, 13])
def test_migration_race_names_the_first_missing_file(pg, upto):
    """Workers started after only the first `upto` migrations ran: the
    probe fails and every missing object comes from a file not yet run,
    the earliest of them named first."""
    db = create_db(pg, upto=upto)
    try:
        rc, res, _ = sd_probe(pg, db)
    finally:
        drop_db(pg, db)
    assert rc == 1, res
    assert res["reason"] in ("missing_table", "missing_column")
    files = res["details"]["introduced_by"].values()
    assert files and min(files) == FILES[upto], res["details"]
    assert max(files) == FILES[-1]
    first = [k for k, f in res["details"]["introduced_by"].items()
             if f == FILES[upto]]
    assert f"{first[0]} ({FILES[upto]})" in res["error"]
    span = f"up to and including {FILES[-1]}"
    if FILES[upto] != FILES[-1]:
        span = f"from {FILES[upto]} " + span
    assert f"database {db} {span} before" in res["hint"], res["hint"]
    if upto == 10:
        assert res["details"]["missing_columns"]["chat_turns"][:2] == \
            ["thread_id", "latency_ms"]
        assert res["error"].split("missing columns: ")[1].startswith(
            f"chat_turns.thread_id ({THREAD_ID_FILE}), chat_turns.latency_ms"
            f" ({THREAD_ID_FILE})")


def test_bad_schema_dir_is_a_config_error(pg, tmp_path):
    missing = str(tmp_path / "no-such-migrations")
    rc, res, err = sd_probe(pg, "mobius_chat", schema_dir=missing)
    assert rc == 2 and res is None
    assert "schema_dir: " in err and missing in err
    cfg = tmp_path / "preflight.json"
    cfg.write_text(json.dumps({"checks": [
        {"name": "chat-db", "kind": "postgres", "url": pg.url("mobius_chat"),
         "schema_dir": missing}]}))
    for args in (["check", "--config", str(cfg)], ["config", "--config", str(cfg)]):
        p = run_cli(args)
        assert p.returncode == 2, p
        assert "checks[0].schema_dir: " + missing in p.stderr
        assert "No such file" in p.stderr
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "001_seed.sql").write_text("INSERT INTO t VALUES (1);")
    rc, res, err = sd_probe(pg, "mobius_chat", schema_dir=str(tmp_path / "empty"))
    assert rc == 2 and "no table in schema public" in err


def test_config_describes_schema_dir(pg, tmp_path):
    cfg = tmp_path / "preflight.json"
    cfg.write_text(json.dumps({"checks": [
        {"name": "chat-db", "kind": "postgres", "url": pg.url("mobius_chat"),
         "schema_dir": CORPUS, "tables": {"audit_log": []}}]}))
    p = run_cli(["config", "--config", str(cfg)])
    assert p.returncode == 0, p.stderr
    assert pg.passwords["mobius_app"] not in p.stdout
    check = json.loads(p.stdout)["checks"][0]
    derived = json.loads(run_schema(CORPUS).stdout)["tables"]
    assert check["schema_dir"] == CORPUS
    assert check["schema_dir_derived"] == {
        "tables": len(derived),
        "columns": sum(len(t["columns"]) for t in derived.values())}
    assert sorted(check["tables"]) == sorted(list(derived) + ["audit_log"])


def test_daemon_reports_files_and_rereads_the_folder_on_sighup(
        pg, migrated, daemon_factory, tmp_path):
    import shutil
    import signal
    mdir = tmp_path / "migrations"
    shutil.copytree(CORPUS, mdir)
    pg.sql(migrated, "DROP TABLE chat_state CASCADE;"
           " ALTER TABLE chat_turns DROP COLUMN thread_id CASCADE")
    d = daemon_factory({"checks": [
        {"name": "chat-db", "kind": "postgres", "url": pg.url(migrated),
         "schema_dir": str(mdir), "interval": "1s", "timeout": "800ms"}]})
    doc = d.wait_status("chat-db", "fail")
    assert doc["reason"] == "missing_table"
    assert doc["error"] == ("missing tables: chat_state (005_chat_state.sql);"
                            " missing columns: chat_turns.thread_id"
                            f" ({THREAD_ID_FILE})")
    assert doc["details"]["introduced_by"] == {
        "chat_state": "005_chat_state.sql",
        "chat_turns.thread_id": THREAD_ID_FILE}
    assert migrated in doc["hint"]
    _, _, metrics = d.get("/metrics")
    assert b'preflight_postgres_missing_objects{check="chat-db"} 2' in metrics
    # the schema is repaired: passes
    apply_file(pg, migrated, os.path.join(CORPUS, "005_chat_state.sql"))
    pg.sql(migrated, "ALTER TABLE chat_turns ADD COLUMN thread_id uuid")
    d.post("/run?check=chat-db")
    d.wait_status("chat-db", "pass")
    # a new migration lands in the folder: required after SIGHUP only
    (mdir / "015_turn_rating.sql").write_text(
        "ALTER TABLE chat_turns ADD COLUMN rating smallint;\n")
    d.post("/run?check=chat-db")
    time.sleep(1.5)
    assert d.get_json("/status/chat-db")[1]["status"] == "pass"
    d.signal(signal.SIGHUP)
    doc = d.wait_status("chat-db", "fail")
    assert doc["error"] == ("missing columns: chat_turns.rating"
                            " (015_turn_rating.sql)")
    for pw in pg.passwords.values():
        assert pw not in d.stdout() and pw not in d.stderr()
