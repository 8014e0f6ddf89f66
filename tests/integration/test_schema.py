"""`preflightd schema PATH` and the postgres check's schema_dir (SPEC §3a)
against a real PostgreSQL (harness.pg).

The modelled mobius-chat corpus (tests/fixtures/migrations/chat, 28 files,
schemas public and compliance) is applied file by file to a fresh database
the way the service's scripts/migrate.sh does it (pg.apply_file), with a
pg_catalog snapshot (pg.catalog) after every file.  What `preflightd
schema` derives from the same files must equal the final catalog object by
object: per schema the tables in creation order with their columns in
attnum order, the views and materialized views by name and kind; and each
table, column and view must be attributed to the first file after which it
exists for good.  A `pg_dump -s` of that database, given as a one-file
PATH, must yield the same tables, columns and views.

Then the check itself (probe_once, then the daemon) against damaged copies
of that database: migrations half run, a late column dropped, a table of
the compliance schema dropped, a view dropped (require_views), the first
file failing because its extension is unavailable: each fails with the
right reason, names the object with the file that introduced it, and the
hint names the span of files to run and the folder's last file.
Binaries: PREFLIGHTD_BIN, PROBE_ONCE_BIN (schema_dump next to it)."""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import time

import pytest

from harness.chat import probe_once, probe_once_bin
from harness.daemon import preflightd_bin, run_cli
from harness.pg import CHAT_CORPUS, corpus_files

BIN = preflightd_bin()
SCHEMA_DUMP = os.path.join(os.path.dirname(probe_once_bin()), "schema_dump")
CORPUS = CHAT_CORPUS
FILES = corpus_files(CORPUS)
LAST = FILES[-1]
SCHEMAS = ("public", "compliance")
# The four tables of 001 (they need the extension the file creates).
RAG_001 = ["documents", "chunks", "chunk_embeddings", "facts"]


def run_schema(path, *opts):
    return subprocess.run([BIN, "schema", *opts, str(path)],
                          capture_output=True, text=True, timeout=30)


def derive(path, *opts):
    r = run_schema(path, *opts)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def schema_of(key):
    """The schema of a catalog/derived key ("t" is in public)."""
    return key.split(".", 1)[0] if "." in key else "public"


def derived_tables(d, schema):
    """[(key, [columns])] of one schema, in the derived order."""
    return [(k, list(o["columns"])) for k, o in d["tables"].items()
            if o["schema"] == schema]


def catalog_tables(cat, schema):
    return [(k, cols) for k, cols in cat["tables"].items()
            if schema_of(k) == schema]


def summary_of(cat):
    """derive()'s "summary" computed from a pg.catalog()."""
    out = {}
    def entry(s):
        return out.setdefault(s, {"tables": 0, "columns": 0, "views": 0,
                                  "materialized_views": 0})
    for k, cols in cat["tables"].items():
        e = entry(schema_of(k))
        e["tables"] += 1
        e["columns"] += len(cols)
    for k, v in cat["views"].items():
        entry(schema_of(k))["materialized_views" if v["materialized"]
                            else "views"] += 1
    return out


class Applied:
    """The corpus applied file by file to database db: snaps[i] is the
    catalog after FILES[i]."""

    def __init__(self, db, snaps):
        self.db, self.snaps = db, snaps
        self.final = snaps[-1]


@pytest.fixture(scope="module")
def applied(pg):
    db = "pf_schema_" + secrets.token_hex(4)
    pg.create_database(db)
    try:
        snaps = []
        for f in FILES:
            ok, err = pg.apply_file(db, os.path.join(CORPUS, f))
            assert ok, f"{f}: {err}"
            snaps.append(pg.catalog(db))
        yield Applied(db, snaps)
    finally:
        pg.drop_database(db)


@pytest.fixture(scope="module")
def derived():
    return derive(CORPUS)


# -- the derived schema equals pg_catalog --------------------------------

def test_tables_and_columns_equal_catalog_per_schema(pg, applied, derived):
    assert applied.final == pg.catalog(applied.db)
    assert {schema_of(k) for k in applied.final["tables"]} == set(SCHEMAS)
    assert {o["schema"] for o in derived["tables"].values()} == set(SCHEMAS)
    for schema in SCHEMAS:
        # same tables in the same (creation) order, same columns in order
        assert derived_tables(derived, schema) == \
            catalog_tables(applied.final, schema), schema
    for key, o in derived["tables"].items():
        assert schema_of(key) == o["schema"], key
        assert "columns_unknown" not in o, key
    assert derived["summary"] == summary_of(applied.final)


def test_views_equal_catalog(applied, derived):
    got = {k: {"materialized": o["materialized"]}
           for k, o in derived["views"].items()}
    assert got == applied.final["views"]
    assert any(v["materialized"] for v in got.values())
    assert not all(v["materialized"] for v in got.values())
    for key, o in derived["views"].items():
        assert o["schema"] == schema_of(key)


def test_header_and_counts(derived):
    """files/last_file, and the counts the corpus README measured."""
    assert derived["default_schema"] == "public"
    assert derived["files"] == len(FILES) == 28
    assert derived["last_file"] == LAST == \
        "059_published_rag_documents_matview.sql"
    assert derived["summary"] == {
        "public": {"tables": 24, "columns": 213, "views": 4,
                   "materialized_views": 2},
        "compliance": {"tables": 2, "columns": 27, "views": 0,
                       "materialized_views": 0}}


def test_schema_dump_tool_prints_the_same(derived):
    r = subprocess.run([SCHEMA_DUMP, CORPUS], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == derived
    r = subprocess.run([SCHEMA_DUMP, CORPUS, "public"], capture_output=True,
                       text=True, timeout=30)
    assert json.loads(r.stdout) == derived
    assert derive(CORPUS, "--schema", "public") == derived


def first_file_for_good(snaps, present):
    """The file after which present(snapshot) holds in every later
    snapshot (None if it does not hold at the end)."""
    start = None
    for i, snap in enumerate(snaps):
        if present(snap):
            start = i if start is None else start
        else:
            start = None
    return None if start is None else FILES[start]


def test_attribution_matches_when_objects_appeared(applied, derived):
    """Each table, column and view is attributed to the first file after
    which it exists for good on the server (so the matview 052 drops and
    re-creates within one file keeps 022, where it first appeared)."""
    snaps = applied.snaps
    checked = 0
    for t, o in derived["tables"].items():
        assert o["file"] == first_file_for_good(
            snaps, lambda s: t in s["tables"]), f"table {t}"
        for c, f in o["columns"].items():
            assert f == first_file_for_good(
                snaps, lambda s: c in s["tables"].get(t, [])), f"column {t}.{c}"
            checked += 1
    for v, o in derived["views"].items():
        assert o["file"] == first_file_for_good(
            snaps, lambda s: v in s["views"]), f"view {v}"
    assert checked == 240


def test_corpus_exercises_the_hard_cases(applied, derived):
    """Guards the corpus: late ALTERs, a rename, IF NOT EXISTS no-ops, a
    generated column, a second schema, matviews dropped and re-created
    must stay in it, or the comparison proves little."""
    t = derived["tables"]
    turns = t["chat_turns"]["columns"]
    assert list(turns)[:2] == ["correlation_id", "question"]
    assert turns["thread_id"] == "011_chat_turns_thread_id.sql"
    assert turns["user_id"] == "033_phase_13_7_thread_summary.sql"
    assert t["chat_threads"]["columns"]["summary_long"] == \
        "033_phase_13_7_thread_summary.sql"
    assert t["chat_state"]["columns"]["resolved_slots"] == \
        "018_chat_state_resolved_slots.sql"
    calls = t["llm_calls"]
    assert calls["file"] == "020_llm_analytics.sql"  # not 020_llm_calls
    assert "tier" not in calls["columns"] and "total_tokens" in calls["columns"]
    assert calls["columns"]["is_hard_pinned"] == \
        "051_llm_calls_llmmanager_cols.sql"
    assert calls["columns"]["quality_ruler"] == \
        "055_is_hard_pinned_quality_judge_model.sql"
    assert "quality_judge_model" not in calls["columns"]
    hipaa = t["compliance.hipaa_analysis_log"]
    assert hipaa["schema"] == "compliance"
    assert hipaa["columns"]["org_source"] == "046_hipaa_log_identity.sql"
    assert t["prompt_compositions"]["columns"]["prompt_address"] == \
        "054_prompt_address_column.sql"
    v = derived["views"]
    assert v["model_performance_by_stage"] == {
        "schema": "public", "file": "022_model_performance_view.sql",
        "materialized": True}
    assert v["published_rag_documents"]["materialized"] is True
    assert v["stage_fault_summary"]["file"] == "026_adjudication_scores.sql"
    # and the server agrees: the matview existed after 051 and after 052
    i = FILES.index("052_llm_perf_view_variant_and_arm_index.sql")
    for snap in applied.snaps[i - 1:i + 1]:
        assert "model_performance_by_stage" in snap["views"]


def test_pg_dump_file_equals_catalog(pg, applied, tmp_path):
    """`pg_dump -s` output as a one-file PATH: every name in it is
    schema-qualified; the same tables, columns (in order) and views."""
    dump = pg.dump_schema(applied.db, str(tmp_path / "chat_schema.sql"))
    d = derive(dump)
    assert d["files"] == 1 and d["last_file"] == "chat_schema.sql"
    # pg_dump orders objects by name: compare per schema as mappings
    for schema in SCHEMAS:
        assert dict(derived_tables(d, schema)) == \
            dict(catalog_tables(applied.final, schema)), schema
    assert {k: {"materialized": o["materialized"]}
            for k, o in d["views"].items()} == applied.final["views"]
    assert d["summary"] == summary_of(applied.final)
    files = {o["file"] for o in d["tables"].values()} | \
        {f for o in d["tables"].values() for f in o["columns"].values()} | \
        {o["file"] for o in d["views"].values()}
    assert files == {"chat_schema.sql"}
    # --schema only changes which names are unqualified
    c = derive(dump, "--schema", "compliance")
    assert c["default_schema"] == "compliance"
    assert c["summary"] == d["summary"]
    assert "hipaa_analysis_log" in c["tables"]
    assert "public.chat_turns" in c["tables"]
    assert c["tables"]["public.chat_turns"]["columns"] == \
        d["tables"]["chat_turns"]["columns"]


# -- PATH errors and edge cases ------------------------------------------

def test_missing_path_exits_2(tmp_path):
    r = run_schema(tmp_path / "nope")
    assert r.returncode == 2
    assert r.stdout == ""
    assert "nope" in r.stderr and "No such file" in r.stderr


def test_single_sql_file_is_a_path(tmp_path):
    f = tmp_path / "001.sql"
    f.write_text("CREATE TABLE t (a int);\n"
                 "CREATE SCHEMA s; CREATE TABLE s.u (b int, c text);\n")
    out = derive(f)
    assert out["files"] == 1 and out["last_file"] == "001.sql"
    assert out["tables"] == {
        "t": {"schema": "public", "file": "001.sql", "columns": {"a": "001.sql"}},
        "s.u": {"schema": "s", "file": "001.sql",
                "columns": {"b": "001.sql", "c": "001.sql"}}}


def test_a_file_that_is_not_sql_still_parses(tmp_path):
    f = tmp_path / "NOTES.txt"
    f.write_text("These are notes; not SQL at all. (Really.)\n")
    out = derive(f)
    assert out["files"] == 1 and out["last_file"] == "NOTES.txt"
    assert out["tables"] == {} and out["views"] == {} and out["summary"] == {}


def test_path_through_a_file_exits_2(tmp_path):
    f = tmp_path / "001.sql"
    f.write_text("CREATE TABLE t (a int);")
    r = run_schema(str(f) + "/")
    assert r.returncode == 2 and r.stdout == ""
    assert "Not a directory" in r.stderr


def test_fifo_and_device_exit_2_without_blocking(tmp_path):
    fifo = tmp_path / "schema.sql"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/null"):
        t0 = time.monotonic()
        r = run_schema(path)
        assert time.monotonic() - t0 < 5
        assert r.returncode == 2 and r.stdout == "", path
        assert path in r.stderr
        assert "neither a folder of migrations nor a schema dump file" in r.stderr
    # inside a folder, a FIFO named *.sql is not a migration file: skipped
    (tmp_path / "001_t.sql").write_text("CREATE TABLE t (a int);")
    out = derive(tmp_path)
    assert out["files"] == 1 and list(out["tables"]) == ["t"]


def test_folder_without_sql_files_exits_2(tmp_path):
    (tmp_path / "README.md").write_text("CREATE TABLE t (a int);")
    (tmp_path / "dir.sql").mkdir()
    r = run_schema(tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "no .sql" in r.stderr


def test_unreadable_file_exits_2_and_names_it(tmp_path):
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE t (a int);")
    os.symlink(str(tmp_path / "gone"), str(tmp_path / "002_dangling.sql"))
    r = run_schema(tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert "002_dangling.sql" in r.stderr
    # the same link as a one-file PATH
    r = run_schema(tmp_path / "002_dangling.sql")
    assert r.returncode == 2 and r.stdout == ""
    assert "002_dangling.sql" in r.stderr and "No such file" in r.stderr


def test_oversized_file_exits_2(tmp_path):
    big = tmp_path / "m" / "001_big.sql"
    big.parent.mkdir()
    with open(big, "w") as f:
        f.write("-- " + "x" * (8 * 1024 * 1024) + "\n")
    for path in (big.parent, big):
        r = run_schema(path)
        assert r.returncode == 2 and r.stdout == "", path
        assert "001_big.sql" in r.stderr and "limit" in r.stderr


def test_lexical_order_hidden_files_and_other_extensions(tmp_path):
    (tmp_path / "010_b.sql").write_text("ALTER TABLE t ADD COLUMN b int;")
    (tmp_path / "002_a.sql").write_text("CREATE TABLE t (a int);")
    (tmp_path / "0020_z.sql").write_text("ALTER TABLE t ADD COLUMN z int;")
    (tmp_path / ".001_hidden.sql").write_text("CREATE TABLE hidden (x int);")
    (tmp_path / "003_note.sql.bak").write_text("CREATE TABLE bak (x int);")
    out = derive(tmp_path)
    # byte-wise order: "0020_z.sql" < "002_a.sql" ('0' is 0x30, '_' 0x5f),
    # so 0020's ALTER runs before the table exists and changes nothing
    assert out["tables"] == {"t": {"schema": "public", "file": "002_a.sql",
                                   "columns": {"a": "002_a.sql",
                                               "b": "010_b.sql"}}}
    assert out["views"] == {}
    assert out["files"] == 3 and out["last_file"] == "010_b.sql"


# -- schema_dir in the postgres check (probe_once, then the daemon) ------

def span_hint(db, files, last=LAST):
    """The migration hint for missing objects from `files` (checks/
    postgres_verdict.c pf_pg_migration_hint)."""
    if not files:
        return f"run the migrations for database {db} before starting its workers"
    lo, hi = min(files), max(files)
    if lo == last:
        return f"run the migrations for database {db} from {lo} before" \
            " starting its workers"
    come = lo if lo == hi else f"{lo} to {hi}"
    return (f"run the migrations for database {db} from {lo} through {last}"
            f" (the folder's last file; the missing objects come from {come})"
            " before starting its workers")


def sd_probe(pg, db, schema_dir=CORPUS, **kw):
    check = dict(kind="postgres", url=pg.url(db), schema_dir=schema_dir,
                 timeout="5s", **kw)
    rc, res, err = probe_once(check)
    out = json.dumps(res) + err
    for pw in pg.passwords.values():
        assert pw not in out
    return rc, res, err


def new_db(pg):
    db = "pf_sd_" + secrets.token_hex(4)
    pg.create_database(db)
    return db


@pytest.fixture
def fresh(pg):
    """An empty new database (CONNECT for the fixture roles)."""
    db = new_db(pg)
    yield db
    pg.drop_database(db)


@pytest.fixture
def migrated(pg, applied):
    """A copy of the fully migrated database, to damage."""
    db = "pf_sd_" + secrets.token_hex(4)
    pg.create_database(db, template=applied.db)
    yield db
    pg.drop_database(db)


def expected_missing(derived, cat, views=True):
    """What the check must report on a database whose catalog is cat:
    (missing_tables, missing_views, missing_columns, introduced_by)."""
    mt, mv, mc, ib = [], [], {}, {}
    for t, o in derived["tables"].items():
        if t not in cat["tables"]:
            mt.append(t)
            ib[t] = o["file"]
            continue
        cols = [c for c in o["columns"] if c not in cat["tables"][t]]
        if cols:
            mc[t] = cols
            ib.update({f"{t}.{c}": o["columns"][c] for c in cols})
    for v, o in derived["views"].items():
        if views and v not in cat["views"]:
            mv.append(v)
            ib[v] = o["file"]
    return mt, mv, mc, ib


def parse_error(error):
    """"missing tables: a (f), b (g) and 3 more; missing columns: ..." ->
    {"tables": ([items], more), ...}."""
    out = {}
    for part in error.split("; "):
        m = re.fullmatch(r"missing (tables|views|columns): (.*?)(?: and (\d+) more)?",
                         part)
        assert m, f"unexpected error part {part!r} in {error!r}"
        out[m.group(1)] = (m.group(2).split(", "), int(m.group(3) or 0))
    return out


def assert_error_lists(res, derived, mt, mv, mc):
    """The error lists every missing object with its file, earliest file
    first (ties in the derived order), whole items, the rest counted."""
    order = {k: i for i, k in enumerate(derived["tables"])}
    vorder = {k: i for i, k in enumerate(derived["views"])}
    tables = sorted(mt, key=lambda t: (derived["tables"][t]["file"], order[t]))
    views = sorted(mv, key=lambda v: (derived["views"][v]["file"], vorder[v]))
    cols = sorted(((t, c) for t, cs in mc.items() for c in cs),
                  key=lambda tc: (derived["tables"][tc[0]]["columns"][tc[1]],
                                  order[tc[0]],
                                  list(derived["tables"][tc[0]]["columns"]).index(tc[1])))
    want = {
        "tables": [f"{t} ({derived['tables'][t]['file']})" for t in tables],
        "views": [f"{v} ({derived['views'][v]['file']})" for v in views],
        "columns": [f"{t}.{c} ({derived['tables'][t]['columns'][c]})"
                    for t, c in cols],
    }
    got = parse_error(res["error"])
    assert set(got) == {k for k, v in want.items() if v}, res["error"]
    for kind, (items, more) in got.items():
        assert items == want[kind][:len(items)], (kind, res["error"])
        assert len(items) + more == len(want[kind]), (kind, res["error"])
    assert len(res["error"]) < 512


def test_schema_dir_pass_on_migrated_database(pg, migrated):
    for extra in ({}, {"require_views": True}):
        rc, res, err = sd_probe(pg, migrated, database=migrated, **extra)
        assert rc == 0, (res, err)
        d = res["details"]
        assert d["missing_tables"] == [] and d["missing_views"] == []
        assert d["missing_columns"] == {} and d["introduced_by"] == {}
        assert d["in_recovery"] is False and d["database"] == migrated
        assert res["gauge"] == 0 and res["warn"] is False


@pytest.mark.parametrize("upto", [
    0,                                        # nothing run yet
    "004_chat_turns.sql",
    "018_chat_state_resolved_slots.sql",      # first of the two 018s
    "042_hipaa_analysis_log.sql",             # compliance columns pending
    "055_is_hard_pinned_quality_judge_model.sql",  # only 059 pending
])
def test_migrations_half_run(pg, derived, fresh, upto):
    """Workers started while the migrations had run only up to a middle
    file: every missing object (exactly the ones the catalog lacks) comes
    from a later file, and the hint names the span to run and the
    folder's last file."""
    results = pg.migrate(fresh, upto=upto)
    assert all(ok for _, ok, _ in results), results
    ran = [f for f, _, _ in results]
    cat = pg.catalog(fresh)
    rc, res, _ = sd_probe(pg, fresh, require_views=True)
    assert rc == 1, res
    mt, mv, mc, ib = expected_missing(derived, cat)
    d = res["details"]
    assert d["missing_tables"] == mt
    assert d["missing_views"] == mv
    assert d["missing_columns"] == mc
    assert d["introduced_by"] == ib
    assert res["reason"] == ("missing_table" if mt or mv else "missing_column")
    assert res["gauge"] == len(mt) + len(mv) + sum(map(len, mc.values()))
    assert ib and all(f not in ran for f in ib.values())
    if ran:
        assert min(ib.values()) > ran[-1]
    assert_error_lists(res, derived, mt, mv, mc)
    assert res["hint"] == span_hint(fresh, set(ib.values()))
    if upto == "055_is_hard_pinned_quality_judge_model.sql":
        assert mv == ["published_rag_documents"] and not mt and not mc
        assert res["hint"] == (f"run the migrations for database {fresh} from"
                               f" {LAST} before starting its workers")
        # without require_views nothing the check needs is pending
        rc, res, _ = sd_probe(pg, fresh)
        assert rc == 0, res
    if upto == "042_hipaa_analysis_log.sql":
        assert mc["compliance.hipaa_analysis_log"] == [
            "correlation_id", "gate_source", "org_source"]


def test_late_columns_missing(pg, migrated):
    pg.sql(migrated, "ALTER TABLE chat_turns DROP COLUMN user_id CASCADE;"
           " ALTER TABLE llm_calls DROP COLUMN quality_ruler CASCADE")
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 1 and res["reason"] == "missing_column", res
    d = res["details"]
    assert d["missing_tables"] == [] and d["missing_views"] == []
    assert d["missing_columns"] == {"chat_turns": ["user_id"],
                                    "llm_calls": ["quality_ruler"]}
    assert d["introduced_by"] == {
        "chat_turns.user_id": "033_phase_13_7_thread_summary.sql",
        "llm_calls.quality_ruler": "055_is_hard_pinned_quality_judge_model.sql"}
    assert res["error"] == (
        "missing columns: chat_turns.user_id (033_phase_13_7_thread_summary.sql),"
        " llm_calls.quality_ruler (055_is_hard_pinned_quality_judge_model.sql)")
    assert res["hint"] == (
        f"run the migrations for database {migrated} from"
        " 033_phase_13_7_thread_summary.sql through"
        " 059_published_rag_documents_matview.sql (the folder's last file;"
        " the missing objects come from 033_phase_13_7_thread_summary.sql to"
        " 055_is_hard_pinned_quality_judge_model.sql) before starting its"
        " workers")
    assert res["gauge"] == 2


def test_one_late_column_missing(pg, migrated):
    pg.sql(migrated, "ALTER TABLE prompt_compositions DROP COLUMN prompt_address")
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 1 and res["reason"] == "missing_column", res
    assert res["error"] == ("missing columns: prompt_compositions.prompt_address"
                            " (054_prompt_address_column.sql)")
    assert res["hint"] == (
        f"run the migrations for database {migrated} from"
        " 054_prompt_address_column.sql through"
        " 059_published_rag_documents_matview.sql (the folder's last file;"
        " the missing objects come from 054_prompt_address_column.sql)"
        " before starting its workers")


def test_compliance_objects_missing(pg, migrated):
    pg.sql(migrated, "DROP TABLE compliance.hipaa_message_check_log;"
           " ALTER TABLE compliance.hipaa_analysis_log DROP COLUMN org_source")
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 1 and res["reason"] == "missing_table", res
    d = res["details"]
    assert d["missing_tables"] == ["compliance.hipaa_message_check_log"]
    assert d["missing_columns"] == {"compliance.hipaa_analysis_log": ["org_source"]}
    assert d["introduced_by"] == {
        "compliance.hipaa_message_check_log": "042_hipaa_analysis_log.sql",
        "compliance.hipaa_analysis_log.org_source": "046_hipaa_log_identity.sql"}
    assert res["error"] == (
        "missing tables: compliance.hipaa_message_check_log"
        " (042_hipaa_analysis_log.sql); missing columns:"
        " compliance.hipaa_analysis_log.org_source (046_hipaa_log_identity.sql)")
    assert res["hint"] == span_hint(migrated, {"042_hipaa_analysis_log.sql",
                                               "046_hipaa_log_identity.sql"})
    assert res["gauge"] == 2
    # the same public tables in a database that has no compliance schema
    # at all: only the compliance objects are missing
    pg.sql(migrated, "DROP SCHEMA compliance CASCADE")
    rc, res, _ = sd_probe(pg, migrated)
    assert res["details"]["missing_tables"] == [
        "compliance.hipaa_analysis_log", "compliance.hipaa_message_check_log"]
    assert res["details"]["missing_columns"] == {}


def test_view_missing_with_require_views(pg, migrated):
    pg.sql(migrated, "DROP VIEW stage_fault_summary")
    # views are not required by default
    rc, res, _ = sd_probe(pg, migrated)
    assert rc == 0, res
    want_hint = (f"run the migrations for database {migrated} from"
                 " 026_adjudication_scores.sql through"
                 " 059_published_rag_documents_matview.sql (the folder's last"
                 " file; the missing objects come from"
                 " 026_adjudication_scores.sql) before starting its workers")
    for extra in ({"require_views": True}, {"views": ["stage_fault_summary"]}):
        rc, res, _ = sd_probe(pg, migrated, **extra)
        assert rc == 1 and res["reason"] == "missing_table", (extra, res)
        d = res["details"]
        assert d["missing_views"] == ["stage_fault_summary"]
        assert d["missing_tables"] == [] and d["missing_columns"] == {}
        assert d["introduced_by"] == {
            "stage_fault_summary": "026_adjudication_scores.sql"}
        assert res["error"] == ("missing views: stage_fault_summary"
                                " (026_adjudication_scores.sql)")
        assert res["hint"] == want_hint
        assert res["gauge"] == 1


def test_matview_dropped_cascade_with_require_views(pg, migrated):
    pg.sql(migrated, "DROP MATERIALIZED VIEW model_performance_by_stage CASCADE")
    rc, res, _ = sd_probe(pg, migrated, require_views=True)
    assert rc == 1 and res["reason"] == "missing_table", res
    gone = ["model_performance_by_stage", "model_winner_by_stage",
            "model_composite_scores"]
    assert res["details"]["missing_views"] == gone
    assert res["error"] == "missing views: " + ", ".join(
        f"{v} (022_model_performance_view.sql)" for v in gone)
    assert res["gauge"] == 3


# An event trigger that makes CREATE EXTENSION cube fail the way it fails
# on a server without the extension's files (58P01, "could not open
# extension control file"): the modelled 001 then fails as the real 001
# does on a server without pgvector.
NO_CUBE_SQL = r"""
CREATE SCHEMA pf_guard;
CREATE FUNCTION pf_guard.no_cube() RETURNS event_trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF current_query() ~* 'create\s+extension\s+(if\s+not\s+exists\s+)?"?cube\M' THEN
        RAISE EXCEPTION 'could not open extension control file "%": No such file or directory',
            '/usr/share/postgresql/15/extension/cube.control'
            USING ERRCODE = '58P01';
    END IF;
END
$fn$;
CREATE EVENT TRIGGER pf_no_cube ON ddl_command_start
    WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION pf_guard.no_cube();
"""


def test_first_file_fails_without_its_extension(pg, applied, fresh):
    pg.sql(fresh, NO_CUBE_SQL)
    results = pg.migrate(fresh, stop_on_error=False)
    assert [f for f, _, _ in results] == FILES
    assert [f for f, ok, _ in results if not ok] == ["001_rag_schema.sql"]
    assert "cube.control" in results[0][2]
    cat = pg.catalog(fresh)
    # exactly the four tables of 001 are absent, nothing else
    want = {k: v for k, v in applied.final["tables"].items() if k not in RAG_001}
    assert cat["tables"] == want and cat["views"] == applied.final["views"]
    assert sum(len(applied.final["tables"][t]) for t in RAG_001) == 25
    rc, res, _ = sd_probe(pg, fresh, require_views=True)
    assert rc == 1 and res["reason"] == "missing_table", res
    d = res["details"]
    assert d["missing_tables"] == RAG_001
    assert d["missing_views"] == [] and d["missing_columns"] == {}
    assert d["introduced_by"] == {t: "001_rag_schema.sql" for t in RAG_001}
    assert res["error"] == "missing tables: " + ", ".join(
        f"{t} (001_rag_schema.sql)" for t in RAG_001)
    assert res["hint"] == span_hint(fresh, {"001_rag_schema.sql"})
    assert "from 001_rag_schema.sql through " + LAST in res["hint"]
    assert res["gauge"] == 4
    # leaving 001 out gives the same database
    other = new_db(pg)
    try:
        assert all(ok for _, ok, _ in pg.migrate(other, skip="001_rag_schema"))
        assert pg.catalog(other) == cat
    finally:
        pg.drop_database(other)


def test_first_file_fails_and_migrate_stops(pg, derived, fresh):
    """migrate.sh stops at the failing 001: nothing exists, everything is
    missing, from 001 through the last file."""
    pg.sql(fresh, NO_CUBE_SQL)
    results = pg.migrate(fresh)
    assert [(f, ok) for f, ok, _ in results] == [("001_rag_schema.sql", False)]
    rc, res, _ = sd_probe(pg, fresh)
    assert rc == 1 and res["reason"] == "missing_table"
    assert res["details"]["missing_tables"] == list(derived["tables"])
    files = set(res["details"]["introduced_by"].values())
    assert min(files) == "001_rag_schema.sql"
    # a missing table stands for its columns, and views are not required
    # here: the span ends at the latest file that creates a table
    assert files == {o["file"] for o in derived["tables"].values()}
    assert max(files) == "053_prompt_block_persistence.sql"
    assert res["hint"] == span_hint(fresh, files)


def test_schema_dir_merged_with_hand_written_tables(pg, migrated):
    hand = {"audit_log": [], "chat_turns": ["thread_id", "reviewed_by"],
            "compliance.hipaa_analysis_log": ["reviewer"]}
    pg.sql(migrated, "ALTER TABLE chat_threads DROP COLUMN summary_long")
    rc, res, _ = sd_probe(pg, migrated, tables=hand)
    assert rc == 1 and res["reason"] == "missing_table"
    d = res["details"]
    assert d["missing_tables"] == ["audit_log"]
    assert d["missing_columns"] == {
        "chat_turns": ["reviewed_by"], "chat_threads": ["summary_long"],
        "compliance.hipaa_analysis_log": ["reviewer"]}
    # hand-written objects carry no file; derived ones do
    assert d["introduced_by"] == {
        "chat_threads.summary_long": "033_phase_13_7_thread_summary.sql"}
    assert res["error"] == (
        "missing tables: audit_log; missing columns: chat_threads.summary_long"
        " (033_phase_13_7_thread_summary.sql), chat_turns.reviewed_by,"
        " compliance.hipaa_analysis_log.reviewer")
    assert res["hint"] == span_hint(migrated,
                                    {"033_phase_13_7_thread_summary.sql"})
    assert res["gauge"] == 4
    # once the hand-written objects exist, the union passes
    pg.sql(migrated, "CREATE TABLE audit_log (id int);"
           " ALTER TABLE chat_turns ADD COLUMN reviewed_by text;"
           " ALTER TABLE chat_threads ADD COLUMN summary_long text;"
           " ALTER TABLE compliance.hipaa_analysis_log ADD COLUMN reviewer text")
    rc, res, _ = sd_probe(pg, migrated, tables=hand)
    assert rc == 0, res


def test_schema_dir_can_be_a_dump_file(pg, applied, migrated, tmp_path):
    dump = pg.dump_schema(applied.db, str(tmp_path / "mobius_chat.sql"))
    rc, res, _ = sd_probe(pg, migrated, schema_dir=dump, require_views=True)
    assert rc == 0, res
    pg.sql(migrated, "ALTER TABLE chat_turns DROP COLUMN thread_id CASCADE")
    rc, res, _ = sd_probe(pg, migrated, schema_dir=dump)
    assert rc == 1 and res["reason"] == "missing_column"
    assert res["error"] == "missing columns: chat_turns.thread_id (mobius_chat.sql)"
    assert res["hint"] == (f"run the migrations for database {migrated} from"
                           " mobius_chat.sql before starting its workers")


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
    fifo = tmp_path / "fifo.sql"
    os.mkfifo(fifo)
    rc, res, err = sd_probe(pg, "mobius_chat", schema_dir=str(fifo))
    assert rc == 2 and "neither a folder of migrations nor a schema dump" in err
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "001_seed.sql").write_text("INSERT INTO t VALUES (1);")
    rc, res, err = sd_probe(pg, "mobius_chat", schema_dir=str(tmp_path / "empty"))
    assert rc == 2 and "create no table" in err
    (tmp_path / "empty" / "001_seed.sql").unlink()
    rc, res, err = sd_probe(pg, "mobius_chat", schema_dir=str(tmp_path / "empty"))
    assert rc == 2 and "no .sql migration files" in err


def test_config_describes_schema_dir(pg, derived, tmp_path):
    def describe(**kw):
        cfg = tmp_path / "preflight.json"
        cfg.write_text(json.dumps({"checks": [
            dict(name="chat-db", kind="postgres", url=pg.url("mobius_chat"),
                 schema_dir=CORPUS, tables={"audit_log": []}, **kw)]}))
        p = run_cli(["config", "--config", str(cfg)])
        assert p.returncode == 0, p.stderr
        assert pg.passwords["mobius_app"] not in p.stdout
        return json.loads(p.stdout)["checks"][0]
    check = describe()
    assert check["schema_dir"] == CORPUS
    assert check["schema_dir_derived"] == {
        "tables": len(derived["tables"]),
        "columns": sum(len(t["columns"]) for t in derived["tables"].values()),
        "required_views": 0}
    assert check["schema_dir_derived"]["tables"] == 26
    assert check["schema_dir_derived"]["columns"] == 240
    # `tables` lists what the folder does not create
    assert check["tables"] == {"audit_log": []}
    check = describe(require_views=True)
    assert check["require_views"] is True
    assert check["schema_dir_derived"]["required_views"] == len(derived["views"]) == 6
    check = describe(views=["stage_fault_summary", "compliance.extra_view"])
    assert check["schema_dir_derived"]["required_views"] == 1
    assert check["views"] == ["compliance.extra_view"]


def test_daemon_reports_files_and_rereads_the_folder_on_sighup(
        pg, migrated, daemon_factory, tmp_path):
    mdir = tmp_path / "migrations"
    shutil.copytree(CORPUS, mdir)
    pg.sql(migrated, "DROP TABLE chat_state CASCADE;"
           " ALTER TABLE chat_turns DROP COLUMN thread_id CASCADE")
    d = daemon_factory({"checks": [
        {"name": "chat-db", "kind": "postgres", "url": pg.url(migrated),
         "schema_dir": str(mdir), "interval": "1s", "timeout": "800ms"}]})
    doc = d.wait_status("chat-db", "fail")
    assert doc["reason"] == "missing_table"
    assert doc["error"] == ("missing tables: chat_state (010_chat_state.sql);"
                            " missing columns: chat_turns.thread_id"
                            " (011_chat_turns_thread_id.sql)")
    assert doc["details"]["introduced_by"] == {
        "chat_state": "010_chat_state.sql",
        "chat_turns.thread_id": "011_chat_turns_thread_id.sql"}
    assert doc["hint"] == span_hint(migrated, {"010_chat_state.sql",
                                               "011_chat_turns_thread_id.sql"})
    _, _, metrics = d.get("/metrics")
    assert b'preflight_postgres_missing_objects{check="chat-db"} 2' in metrics
    # the schema is repaired (chat_state by the two files that make it)
    for f in ("010_chat_state.sql", "018_chat_state_resolved_slots.sql"):
        ok, err = pg.apply_file(migrated, os.path.join(CORPUS, f))
        assert ok, err
    pg.sql(migrated, "ALTER TABLE chat_turns ADD COLUMN thread_id text")
    d.post("/run?check=chat-db")
    d.wait_status("chat-db", "pass")
    # a new migration lands in the folder: required after SIGHUP only
    (mdir / "060_turn_rating.sql").write_text(
        "ALTER TABLE chat_turns ADD COLUMN IF NOT EXISTS rating smallint;\n")
    d.post("/run?check=chat-db")
    time.sleep(1.5)
    assert d.get_json("/status/chat-db")[1]["status"] == "pass"
    d.signal(signal.SIGHUP)
    doc = d.wait_status("chat-db", "fail")
    assert doc["error"] == "missing columns: chat_turns.rating (060_turn_rating.sql)"
    assert doc["hint"] == (f"run the migrations for database {migrated} from"
                           " 060_turn_rating.sql before starting its workers")
    ok, err = pg.apply_file(migrated, str(mdir / "060_turn_rating.sql"))
    assert ok, err
    d.post("/run?check=chat-db")
    d.wait_status("chat-db", "pass")
    for pw in pg.passwords.values():
        assert pw not in d.stdout() and pw not in d.stderr()
