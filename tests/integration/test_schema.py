"""`preflightd schema DIR` (SPEC §3a) against a real PostgreSQL: the corpus
tests/fixtures/migrations is applied file by file with psql to a fresh
database, and the derived schema must equal information_schema exactly
(tables, column order, views), with each object attributed to the file
from which on it exists on the server.  Binary: PREFLIGHTD_BIN."""
import json
import os
import secrets
import subprocess

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
