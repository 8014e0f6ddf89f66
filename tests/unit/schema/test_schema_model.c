/* Unit tests for the derived schema (schema/schema_model.c, schema_ddl.c):
 * every modelled statement, decoys, names, attribution. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "pf_schema.h"

/* The schema prefix of an object outside the default schema ("" inside). */
static const char *q(const struct pf_schema *s, const struct pf_schema_item *t)
{
	return strcmp(t->schema, pf_schema_default(s)) ? t->schema : "";
}

/* Renders s as "t@file(c@file,...) ...; views: v@file[m]". */
static const char *render(const struct pf_schema *s, char *out, size_t len)
{
	struct pf_schema_item t, c;
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; pf_schema_table_at(s, i, &t); i++) {
		n += (size_t)snprintf(out + n, len - n, "%s%s%s%s@%s%s(", i ? " " : "",
				      q(s, &t), strcmp(t.schema, pf_schema_default(s)) ? "." : "",
				      t.name, t.file, t.columns_unknown ? "?" : "");
		for (size_t j = 0; pf_schema_column_at(s, i, j, &c) && n < len; j++)
			n += (size_t)snprintf(out + n, len - n, "%s%s@%s",
					      j ? "," : "", c.name, c.file);
		if (n < len)
			n += (size_t)snprintf(out + n, len - n, ")");
	}
	for (size_t i = 0; pf_schema_view_at(s, i, &t) && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "; view %s%s%s@%s%s", q(s, &t),
				      strcmp(t.schema, pf_schema_default(s)) ? "." : "",
				      t.name, t.file, t.materialized ? "[m]" : "");
	return out;
}

/* Applies (file, sql) pairs, NULL-terminated, to a new schema. */
static const char *derive(const char *target, char *out, size_t len,
			  const char *const *files)
{
	char err[256];
	struct pf_schema *s = pf_schema_new(target);
	if (!s)
		return "(oom)";
	for (size_t i = 0; files[i]; i += 2)
		if (pf_schema_apply(s, files[i], files[i + 1],
				    strlen(files[i + 1]), err, sizeof err) != 0)
			snprintf(out, len, "(error %s)", err);
	render(s, out, len);
	pf_schema_free(s);
	return out;
}

static const char *one(const char *sql, char *out, size_t len)
{
	const char *files[] = { "f.sql", sql, NULL };
	return derive(NULL, out, len, files);
}

static void test_create_table(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE IF NOT EXISTS chat_threads (\n"
			  "  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
			  "  title text CHECK (length(title) < 200),\n"
			  "  created_at timestamptz NOT NULL DEFAULT now()\n);",
			  b, sizeof b),
		      "chat_threads@f.sql(id@f.sql,title@f.sql,created_at@f.sql)");
	PF_EXPECT_STR(one("create unlogged table t (a numeric(10, 2), b int[])",
			  b, sizeof b), "t@f.sql(a@f.sql,b@f.sql)");
	PF_EXPECT_STR(one("CREATE TABLE t ()", b, sizeof b), "t@f.sql()");
}

static void test_table_constraints(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE t (a int, b int, c int,\n"
			  " PRIMARY KEY (a, b), CONSTRAINT u UNIQUE (c),\n"
			  " CHECK (a > 0), UNIQUE (b, c),\n"
			  " FOREIGN KEY (c) REFERENCES o(id) ON DELETE CASCADE,\n"
			  " EXCLUDE USING gist (a WITH =),\n"
			  " exclude text, \"primary\" int)", b, sizeof b),
		      "t@f.sql(a@f.sql,b@f.sql,c@f.sql,exclude@f.sql,"
		      "primary@f.sql)");
}

static void test_like(void)
{
	char b[1024];
	const char *files[] = {
		"1.sql", "CREATE TABLE base (id int, at timestamptz)",
		"2.sql", "CREATE TABLE copy (LIKE base INCLUDING ALL, extra int, "
			 "LIKE public.missing)",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "base@1.sql(id@1.sql,at@1.sql) copy@2.sql(id@2.sql,"
		      "at@2.sql,extra@2.sql)");
}

static void test_quoted_and_qualified(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE \"Chat Log\" (\"Msg ID\" int, "
			  "\"a\"\"b\" text, MixedCase int)", b, sizeof b),
		      "Chat Log@f.sql(Msg ID@f.sql,a\"b@f.sql,mixedcase@f.sql)");
	PF_EXPECT_STR(one("CREATE TABLE public.a (x int); "
			  "CREATE TABLE \"public\".b (y int); "
			  "CREATE TABLE rag.c (z int); "
			  "CREATE TABLE db.public.d (w int); "
			  "CREATE TABLE \"Public\".e (v int)", b, sizeof b),
		      "a@f.sql(x@f.sql) b@f.sql(y@f.sql) rag.c@f.sql(z@f.sql) "
		      "d@f.sql(w@f.sql) Public.e@f.sql(v@f.sql)");
	const char *files[] = {
		"1.sql", "CREATE TABLE rag.c (z int); CREATE TABLE a (x int);"
			 "ALTER TABLE public.a ADD q int; ALTER TABLE rag.a "
			 "ADD r int; DROP TABLE rag.a",
		NULL };
	PF_EXPECT_STR(derive("rag", b, sizeof b, files), "c@1.sql(z@1.sql)");
}

static void test_decoys(void)
{
	char b[2048];
	PF_EXPECT_STR(one(
		"-- CREATE TABLE c1 (x int);\n"
		"/* CREATE TABLE c2 (x int); /* nested */ DROP TABLE t; */\n"
		"CREATE TABLE t (a int DEFAULT length('CREATE TABLE s1 (x int);'),"
		" b text DEFAULT E'it\\'s; ALTER TABLE t DROP a;');\n"
		"CREATE FUNCTION f() RETURNS trigger AS $fn$\n"
		"BEGIN CREATE TABLE d1 (x int); ALTER TABLE t ADD COLUMN z int;\n"
		"  EXECUTE $$DROP TABLE t$$; RETURN NEW; END $fn$ LANGUAGE plpgsql;\n"
		"DO $$ BEGIN CREATE TABLE d2 (y int); END $$;\n"
		"SELECT 'DROP TABLE t; ' || \"DROP TABLE t\" FROM x;\n"
		"INSERT INTO t VALUES (1, 'ALTER TABLE t ADD COLUMN q int');\n"
		"COMMENT ON TABLE t IS 'CREATE TABLE c3 (x int)';",
		b, sizeof b), "t@f.sql(a@f.sql,b@f.sql)");
}

static void test_skipped_statements(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE t (a int);"
			  "CREATE INDEX IF NOT EXISTS i ON t (a);"
			  "CREATE UNIQUE INDEX CONCURRENTLY j ON t (lower(a));"
			  "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW "
			  "EXECUTE FUNCTION f();"
			  "CREATE EXTENSION IF NOT EXISTS vector;"
			  "CREATE SCHEMA IF NOT EXISTS rag;"
			  "CREATE TYPE st AS ENUM ('a', 'b');"
			  "GRANT SELECT ON t TO r; BEGIN; COMMIT;"
			  "CREATE TEMP TABLE tmp (x int);"
			  "CREATE FOREIGN TABLE ft (x int) SERVER s;"
			  "ALTER INDEX i RENAME TO k; DROP INDEX k;"
			  "ALTER TABLE; DROP TABLE; CREATE TABLE; ALTER TABLE t;"
			  "CREATE TABLE (x int); CREATE TABLE \"\" (x int);"
			  "garbage ( ( ; CREATE TABLE z (x int)",
			  b, sizeof b), "t@f.sql(a@f.sql)");
}

static void test_alter_add_drop(void)
{
	char b[1024];
	const char *files[] = {
		"001.sql", "CREATE TABLE IF NOT EXISTS chat_turns (id int, a int)",
		"002.sql", "ALTER TABLE chat_turns ADD COLUMN IF NOT EXISTS "
			   "thread_id uuid REFERENCES chat_threads(id), "
			   "ADD b text DEFAULT 'x,y', ADD IF NOT EXISTS c int,"
			   " ADD CONSTRAINT k UNIQUE (a), ADD PRIMARY KEY (id),"
			   " ALTER COLUMN a SET DEFAULT 1, DROP CONSTRAINT k",
		"003.sql", "ALTER TABLE IF EXISTS ONLY public.chat_turns "
			   "DROP COLUMN IF EXISTS a, DROP b CASCADE, "
			   "DROP COLUMN IF EXISTS nope;"
			   "ALTER TABLE chat_turns ADD COLUMN IF NOT EXISTS c int;"
			   "ALTER TABLE chat_turns* ADD COLUMN d int;"
			   "ALTER TABLE IF EXISTS ghost ADD COLUMN e int",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "chat_turns@001.sql(id@001.sql,thread_id@002.sql,"
		      "c@002.sql,d@003.sql)");
}

static void test_renames(void)
{
	char b[1024];
	const char *files[] = {
		"001.sql", "CREATE TABLE msgs (id int, body text, x int)",
		"002.sql", "ALTER TABLE msgs RENAME COLUMN body TO content;"
			   "ALTER TABLE msgs RENAME x TO \"X\";"
			   "ALTER TABLE msgs RENAME CONSTRAINT a TO b;"
			   "ALTER TABLE msgs RENAME COLUMN id TO content;"
			   "ALTER TABLE msgs RENAME COLUMN nope TO y",
		"003.sql", "ALTER TABLE IF EXISTS msgs RENAME TO chat_turn_messages",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "chat_turn_messages@003.sql(id@001.sql,content@002.sql,"
		      "X@002.sql)");
}

static void test_drop_table(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE a (x int); CREATE TABLE b (y int);"
			  "CREATE TABLE c (z int);"
			  "DROP TABLE IF EXISTS a, public.c, nope CASCADE;"
			  "CREATE TABLE IF NOT EXISTS b (w int);"
			  "CREATE TABLE c (q int)", b, sizeof b),
		      "b@f.sql(y@f.sql) c@f.sql(q@f.sql)");
}

static void test_views(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE t (a int);"
			  "CREATE OR REPLACE VIEW v AS SELECT a FROM t;"
			  "CREATE VIEW IF NOT EXISTS bad AS SELECT 1;"
			  "CREATE TEMP VIEW tv AS SELECT 1;"
			  "CREATE OR REPLACE TEMPORARY RECURSIVE VIEW rv (n) AS "
			  "SELECT 1;"
			  "CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT 1;"
			  "CREATE RECURSIVE VIEW r2 (n) AS SELECT 1;"
			  "CREATE VIEW t AS SELECT 1;"
			  "ALTER VIEW v RENAME TO v2;"
			  "ALTER MATERIALIZED VIEW mv RENAME TO mv2;"
			  "DROP VIEW IF EXISTS r2, bad;"
			  "DROP MATERIALIZED VIEW nope;",
			  b, sizeof b),
		      "t@f.sql(a@f.sql); view v2@f.sql; view mv2@f.sql[m]");
}

static void test_partitions_and_inheritance(void)
{
	char b[1024];
	const char *files[] = {
		"1.sql", "CREATE TABLE ev (id int, at date) PARTITION BY RANGE (at);"
			 "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM "
			 "('2024-01-01') TO ('2025-01-01');"
			 "CREATE TABLE ev_x PARTITION OF other DEFAULT;"
			 "CREATE TABLE kid (own int, id int) INHERITS (ev)",
		"2.sql", "ALTER TABLE ev ADD COLUMN src text",
		"3.sql", "ALTER TABLE ev RENAME COLUMN at TO day;"
			 "ALTER TABLE ONLY ev DROP COLUMN src;"
			 "ALTER TABLE ev DETACH PARTITION ev_2024;"
			 "ALTER TABLE ev ADD COLUMN late int",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "ev@1.sql(id@1.sql,day@3.sql,late@3.sql) "
		      "ev_2024@1.sql(id@1.sql,day@3.sql,src@2.sql) "
		      "ev_x@1.sql?() "
		      "kid@1.sql(id@1.sql,day@3.sql,own@1.sql,src@2.sql,"
		      "late@3.sql)");
	PF_EXPECT_STR(one("CREATE TABLE p (a int); CREATE TABLE c PARTITION OF p "
			  "FOR VALUES IN (1); DROP TABLE p; CREATE TABLE p (b int);"
			  "ALTER TABLE p ADD COLUMN z int", b, sizeof b),
		      "p@f.sql(b@f.sql,z@f.sql)");
}

static void test_create_table_as(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE s AS SELECT 1 AS x;"
			  "CREATE TABLE n (a, b) AS SELECT 1, 2;"
			  "CREATE TABLE ty OF some_type",
			  b, sizeof b),
		      "s@f.sql?() n@f.sql?(a@f.sql,b@f.sql) ty@f.sql?()");
}

static void test_set_schema(void)
{
	char b[1024];
	PF_EXPECT_STR(one("CREATE TABLE a (x int); CREATE TABLE b (y int);"
			  "ALTER TABLE a SET SCHEMA archive;"
			  "ALTER TABLE b SET SCHEMA public", b, sizeof b),
		      "archive.a@f.sql(x@f.sql) b@f.sql(y@f.sql)");
}

static void test_search_path_and_schemas(void)
{
	char b[2048];
	const char *files[] = {
		"1.sql", "CREATE SCHEMA IF NOT EXISTS compliance;"
			 "CREATE TABLE compliance.log (id int);"
			 "SET search_path TO compliance, public;"
			 "CREATE TABLE audit (a int);"
			 "ALTER TABLE log ADD COLUMN who text;"
			 "CREATE TABLE public.t (x int);"
			 "ALTER TABLE t ADD COLUMN y int",
		/* a new file starts with the default path again */
		"2.sql", "CREATE TABLE u (z int);"
			 "SET LOCAL search_path = '$user', \"Other\";"
			 "CREATE TABLE v (w int)",
		"3.sql", "DROP SCHEMA IF EXISTS \"Other\" CASCADE",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "compliance.log@1.sql(id@1.sql,who@1.sql) "
		      "compliance.audit@1.sql(a@1.sql) t@1.sql(x@1.sql,y@1.sql) "
		      "u@2.sql(z@2.sql)");
}

static void test_view_cascade_and_history(void)
{
	char b[2048];
	const char *files[] = {
		"022.sql", "CREATE TABLE calls (id int, stage text);"
			   "CREATE MATERIALIZED VIEW perf AS SELECT stage FROM calls;"
			   "CREATE VIEW perf_by_stage AS SELECT * FROM perf p"
			   " JOIN calls c ON true;"
			   "CREATE VIEW other AS SELECT extract(epoch FROM now());"
			   "CREATE VIEW two AS SELECT * FROM calls, perf_by_stage",
		/* dropped with CASCADE and re-created in one file: the views
		 * keep 022 (they existed all along); two is gone for good */
		"052.sql", "DROP MATERIALIZED VIEW IF EXISTS perf CASCADE;"
			   "CREATE MATERIALIZED VIEW perf AS SELECT stage, id FROM calls;"
			   "CREATE OR REPLACE VIEW perf_by_stage AS SELECT * FROM perf",
		"060.sql", "DROP TABLE calls; CREATE TABLE calls (id int, v int)",
		NULL };
	PF_EXPECT_STR(derive(NULL, b, sizeof b, files),
		      "calls@022.sql(id@022.sql,v@060.sql); view other@022.sql; "
		      "view perf@022.sql[m]; view perf_by_stage@022.sql");
}

static void test_meta_commands(void)
{
	char b[1024];
	/* pg_dump 15.14+ writes \\restrict lines; psql files may \\connect */
	PF_EXPECT_STR(one("\\restrict abc123\nCREATE TABLE public.a (x int);\n"
			  "\\connect other\nCREATE TABLE b (y int);\n"
			  "\\unrestrict abc123\n", b, sizeof b),
		      "a@f.sql(x@f.sql) b@f.sql(y@f.sql)");
}

static void test_lookups(void)
{
	char err[128];
	const char *sql1 = "CREATE TABLE chat_turns (id int);";
	const char *sql2 = "ALTER TABLE chat_turns ADD COLUMN thread_id uuid";
	struct pf_schema *s = pf_schema_new("public");
	PF_EXPECT(s != NULL);
	if (!s)
		return;
	PF_EXPECT(pf_schema_apply(s, "001_a.sql", sql1, strlen(sql1), err,
				  sizeof err) == 0);
	PF_EXPECT(pf_schema_apply(s, "011_chat_turns_thread_id.sql", sql2,
				  strlen(sql2), err, sizeof err) == 0);
	PF_EXPECT_STR(pf_schema_default(s), "public");
	PF_EXPECT_STR(pf_schema_last_file(s), "011_chat_turns_thread_id.sql");
	PF_EXPECT_STR(pf_schema_table_file(s, "public", "chat_turns"), "001_a.sql");
	PF_EXPECT_STR(pf_schema_column_file(s, "public", "chat_turns", "thread_id"),
		      "011_chat_turns_thread_id.sql");
	PF_EXPECT(pf_schema_column_file(s, "public", "chat_turns", "nope") == NULL);
	PF_EXPECT(pf_schema_column_file(s, "public", "nope", "id") == NULL);
	PF_EXPECT(pf_schema_table_file(s, "public", "nope") == NULL);
	struct pf_schema_item it;
	PF_EXPECT(pf_schema_table_count(s) == 1 && pf_schema_view_count(s) == 0);
	PF_EXPECT(pf_schema_table_at(s, 0, &it) && it.columns == 2);
	PF_EXPECT(!pf_schema_table_at(s, 1, &it));
	PF_EXPECT(!pf_schema_column_at(s, 0, 2, &it));
	PF_EXPECT(!pf_schema_view_at(s, 0, &it));
	pf_schema_free(s);
	pf_schema_free(NULL);
}

/* Hostile input is refused with a message, never a hang or a crash. */
static void test_limits(void)
{
	static char sql[16 * 1700 + 64];
	char err[256] = "";
	size_t n = (size_t)snprintf(sql, sizeof sql, "CREATE TABLE t (");
	for (int i = 0; i < 1700; i++)
		n += (size_t)snprintf(sql + n, sizeof sql - n, "%sc%d int",
				      i ? ", " : "", i);
	snprintf(sql + n, sizeof sql - n, ")");
	struct pf_schema *s = pf_schema_new(NULL);
	PF_EXPECT(s && pf_schema_apply(s, "big.sql", sql, strlen(sql), err,
				       sizeof err) == -1);
	PF_EXPECT(strstr(err, "big.sql: too many") != NULL);
	pf_schema_free(s);
}

int main(void)
{
	pf_test("limits", test_limits);
	pf_test("create table", test_create_table);
	pf_test("table constraints are not columns", test_table_constraints);
	pf_test("LIKE copies columns", test_like);
	pf_test("quoted and schema-qualified names", test_quoted_and_qualified);
	pf_test("decoy DDL in comments, strings, bodies", test_decoys);
	pf_test("unmodelled statements skipped", test_skipped_statements);
	pf_test("alter table add/drop", test_alter_add_drop);
	pf_test("renames carry the renaming file", test_renames);
	pf_test("drop table", test_drop_table);
	pf_test("views", test_views);
	pf_test("partitions and inheritance", test_partitions_and_inheritance);
	pf_test("create table as / of type", test_create_table_as);
	pf_test("set schema", test_set_schema);
	pf_test("search_path and schemas", test_search_path_and_schemas);
	pf_test("views: CASCADE and re-created in one file", test_view_cascade_and_history);
	pf_test("psql meta-commands", test_meta_commands);
	pf_test("look-ups and iteration", test_lookups);
	return pf_test_summary();
}
