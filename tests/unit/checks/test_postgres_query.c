/*
 * Unit tests of the postgres kind's pure parts: expect comparisons, the
 * $1 array literal, session options, schema and assertion verdicts,
 * classification and scrubbing of libpq messages, and config parsing.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "postgres.h"
#include "harness.h"
#include "pf_util.h"
#include "pf_net.h"
#include "pf_hint.h"

static void test_expect(void)
{
	struct pf_pg_expect e;
	PF_EXPECT(pf_pg_expect_parse("== 0", &e) == 0 && e.op == PF_PG_EQ &&
		  e.value == 0);
	PF_EXPECT(pf_pg_expect_parse("< 100", &e) == 0 && e.op == PF_PG_LT);
	PF_EXPECT(pf_pg_expect_parse(">=1", &e) == 0 && e.op == PF_PG_GE &&
		  e.value == 1);
	PF_EXPECT(pf_pg_expect_parse("!= 3", &e) == 0 && e.op == PF_PG_NE);
	PF_EXPECT(pf_pg_expect_parse(" <= -2.5 ", &e) == 0 && e.op == PF_PG_LE &&
		  e.value == -2.5);
	PF_EXPECT(pf_pg_expect_parse("> 7", &e) == 0 && e.op == PF_PG_GT);
	PF_EXPECT(pf_pg_expect_parse("= 4", &e) == 0 && e.op == PF_PG_EQ);
	PF_EXPECT(pf_pg_expect_parse("", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse("==", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse("~ 1", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse("== 1x", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse("== nan", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse("== inf", &e) == -1);
	PF_EXPECT(pf_pg_expect_parse(NULL, &e) == -1);

	pf_pg_expect_parse("< 100", &e);
	PF_EXPECT(pf_pg_expect_eval(&e, 99) && !pf_pg_expect_eval(&e, 100));
	pf_pg_expect_parse(">= 1", &e);
	PF_EXPECT(pf_pg_expect_eval(&e, 1) && !pf_pg_expect_eval(&e, 0.5));
	pf_pg_expect_parse("!= 3", &e);
	PF_EXPECT(pf_pg_expect_eval(&e, 2) && !pf_pg_expect_eval(&e, 3));
}

static void test_number(void)
{
	double v;
	PF_EXPECT(pf_pg_number("42", &v) == 0 && v == 42);
	PF_EXPECT(pf_pg_number("-1.5e3", &v) == 0 && v == -1500);
	PF_EXPECT(pf_pg_number("NaN", &v) == -1);
	PF_EXPECT(pf_pg_number("t", &v) == -1);
	PF_EXPECT(pf_pg_number("", &v) == -1);
	PF_EXPECT(pf_pg_number("12 apples", &v) == -1);
}

static void test_text_array(void)
{
	char n1[] = "chat_threads", n2[] = "we\"ird\\name", s2[] = "compliance";
	struct pf_pg_table t[2] = { { .name = n1 }, { .schema = s2, .name = n2 } };
	char *sch, *names;
	PF_EXPECT(pf_pg_text_arrays(t, 2, "public", &sch, &names) == 0);
	PF_EXPECT_STR(sch, "{\"public\",\"compliance\"}");
	PF_EXPECT_STR(names, "{\"chat_threads\",\"we\\\"ird\\\\name\"}");
	free(sch);
	free(names);
	PF_EXPECT(pf_pg_text_arrays(t, 0, "public", &sch, &names) == 0);
	PF_EXPECT_STR(sch, "{}");
	PF_EXPECT_STR(names, "{}");
	free(sch);
	free(names);
}

static void test_options(void)
{
	char buf[256];
	PF_EXPECT(pf_pg_session_options(NULL, 5000, buf, sizeof buf) == 0);
	PF_EXPECT_STR(buf, "-c default_transaction_read_only=on"
		      " -c statement_timeout=4500ms");
	PF_EXPECT(pf_pg_session_options("-c search_path=x", 1000, buf,
					sizeof buf) == 0);
	PF_EXPECT_STR(buf, "-c search_path=x -c default_transaction_read_only=on"
		      " -c statement_timeout=900ms");
	PF_EXPECT(pf_pg_session_options(NULL, 1, buf, sizeof buf) == 0);
	PF_EXPECT(strstr(buf, "statement_timeout=1ms") != NULL);
	PF_EXPECT(pf_pg_session_options(NULL, 5000, buf, 10) == -1);
}

static void test_schema_eval(void)
{
	char t1[] = "chat_threads", t2[] = "chat_turns", t3[] = "chat_state";
	char c1[] = "id", c2[] = "thread_id", c3[] = "status";
	char *cols2[] = { c1, c2, c3, NULL };
	char *cols1[] = { c1, NULL };
	struct pf_pg_table t[3] = {
		{ .name = t1, .columns = cols1, .n_columns = 1 },
		{ .name = t2, .columns = cols2, .n_columns = 3 },
		{ .name = t3 },
	};
	struct pf_pg_row all[] = {
		{ "public", "chat_threads", "id", 'r' }, { "public", "chat_turns", "id", 'r' },
		{ "public", "chat_turns", "thread_id", 'r' }, { "public", "chat_turns", "status", 'r' },
		{ "public", "chat_state", NULL, 'r' },
	};
	char err[PF_ERROR_MAX];
	unsigned missing = 99;
	cJSON *d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", all, 5, d, err, sizeof err,
				    &missing) == PF_REASON_NONE);
	PF_EXPECT(missing == 0 && err[0] == '\0');
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "missing_tables")) == 0);
	cJSON_Delete(d);

	/* chat_threads gone, chat_turns.thread_id gone: both listed */
	struct pf_pg_row some[] = {
		{ "public", "chat_turns", "id", 'r' }, { "public", "chat_turns", "status", 'r' },
		{ "public", "chat_state", "thread_id", 'r' },
	};
	d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", some, 3, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_TABLE);
	PF_EXPECT(missing == 2);
	PF_EXPECT_STR(err, "missing tables: chat_threads; missing columns:"
		      " chat_turns.thread_id");
	char *js = cJSON_PrintUnformatted(d);
	PF_EXPECT_STR(js, "{\"missing_tables\":[\"chat_threads\"],\"missing_views\":[],"
		      "\"missing_columns\":{\"chat_turns\":[\"thread_id\"]}}");
	free(js);
	cJSON_Delete(d);

	/* only a column missing; a NULL rel row (nothing matched) is ignored */
	struct pf_pg_row cols_only[] = {
		{ "public", "chat_threads", "id", 'r' }, { "public", "chat_turns", "id", 'r' },
		{ "public", "chat_turns", "thread_id", 'r' }, { "public", "chat_state", "x", 'r' },
		{ NULL, NULL, NULL, 0 },
	};
	d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", cols_only, 5, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_COLUMN);
	PF_EXPECT(missing == 1);
	PF_EXPECT_STR(err, "missing columns: chat_turns.status");
	cJSON_Delete(d);

	struct pf_pg_row none[] = { { NULL, NULL, NULL, 0 } };
	d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", none, 1, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_TABLE);
	PF_EXPECT(missing == 3);
	PF_EXPECT_STR(err, "missing tables: chat_threads, chat_turns, chat_state");
	cJSON_Delete(d);
}

/* Missing derived objects name their file; errors list them earliest
 * file first, details keep the configured order plus introduced_by. */
static void test_schema_eval_files(void)
{
	char t1[] = "chat_turns", t2[] = "chat_state", t3[] = "hand_only";
	char c1[] = "id", c2[] = "thread_id", c3[] = "latency_ms", c4[] = "x";
	char *cols1[] = { c1, c2, c3, c4, NULL };
	const char *files1[] = { "003_turns.sql", "011_thread.sql",
				 "011_thread.sql", NULL };
	struct pf_pg_table t[3] = {
		{ .name = t1, .columns = cols1, .n_columns = 4,
		  .file = "003_turns.sql", .column_files = files1 },
		{ .name = t2, .file = "005_state.sql" },
		{ .name = t3 },
	};
	struct pf_pg_row rows[] = { { "public", "chat_turns", "id", 'r' } };
	char err[PF_ERROR_MAX], hint[PF_HINT_MAX];
	unsigned missing = 0;
	cJSON *d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", rows, 1, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_TABLE);
	PF_EXPECT(missing == 5);
	PF_EXPECT_STR(err, "missing tables: chat_state (005_state.sql),"
		      " hand_only; missing columns: chat_turns.thread_id"
		      " (011_thread.sql), chat_turns.latency_ms (011_thread.sql),"
		      " chat_turns.x");
	char *js = cJSON_PrintUnformatted(d);
	PF_EXPECT_STR(js, "{\"missing_tables\":[\"chat_state\",\"hand_only\"],"
		      "\"missing_views\":[],\"missing_columns\":{\"chat_turns\":[\"thread_id\","
		      "\"latency_ms\",\"x\"]},\"introduced_by\":{"
		      "\"chat_turns.thread_id\":\"011_thread.sql\","
		      "\"chat_turns.latency_ms\":\"011_thread.sql\","
		      "\"chat_state\":\"005_state.sql\"}}");
	free(js);
	pf_pg_migration_span(d, "020_last.sql", hint, sizeof hint);
	PF_EXPECT_STR(hint, " from 005_state.sql through 020_last.sql (the"
		      " folder's last file; the missing objects come from"
		      " 005_state.sql to 011_thread.sql)");
	cJSON_Delete(d);

	/* only 011 missing: one file named */
	struct pf_pg_row most[] = {
		{ "public", "chat_turns", "id", 'r' }, { "public", "chat_turns", "x", 'r' },
		{ "public", "chat_state", NULL, 'r' }, { "public", "hand_only", NULL, 'r' },
	};
	d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 3, "public", most, 4, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_COLUMN);
	PF_EXPECT_STR(err, "missing columns: chat_turns.thread_id"
		      " (011_thread.sql), chat_turns.latency_ms (011_thread.sql)");
	pf_pg_migration_span(d, "020_last.sql", hint, sizeof hint);
	PF_EXPECT_STR(hint, " from 011_thread.sql through 020_last.sql (the"
		      " folder's last file; the missing objects come from"
		      " 011_thread.sql)");
	pf_pg_migration_span(d, "011_thread.sql", hint, sizeof hint);
	PF_EXPECT_STR(hint, " from 011_thread.sql");
	cJSON_Delete(d);

	/* no files at all: no span */
	pf_pg_migration_span(NULL, NULL, hint, sizeof hint);
	PF_EXPECT_STR(hint, "");
}

/* A table must be a table, a view a view (or a materialized view). */
static void test_schema_eval_kinds(void)
{
	char tn[] = "calls", vn[] = "perf";
	struct pf_pg_table t[2] = { { .name = tn }, { .name = vn, .view = true } };
	struct pf_pg_row swapped[] = { { "public", "calls", NULL, 'v' },
				       { "public", "perf", NULL, 'r' } };
	struct pf_pg_row right[] = { { "public", "calls", "id", 'p' },
				     { "public", "perf", NULL, 'm' } };
	char err[PF_ERROR_MAX];
	unsigned missing = 0;
	cJSON *d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 2, "public", swapped, 2, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_TABLE);
	PF_EXPECT_STR(err, "missing tables: calls; missing views: perf");
	cJSON_Delete(d);
	d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, 2, "public", right, 2, d, err, sizeof err,
				    &missing) == PF_REASON_NONE);
	cJSON_Delete(d);
}

/* A list too long for the error keeps whole items and counts the rest. */
static void test_schema_eval_long(void)
{
	enum { N = 60 };
	char names[N][32];
	struct pf_pg_table t[N];
	memset(t, 0, sizeof t);
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof names[i], "table_number_%02d", i);
		t[i].name = names[i];
		t[i].file = "001_everything.sql";
	}
	struct pf_pg_row none[] = { { NULL, NULL, NULL, 0 } };
	char err[PF_ERROR_MAX];
	unsigned missing = 0;
	cJSON *d = cJSON_CreateObject();
	PF_EXPECT(pf_pg_schema_eval(t, N, "public", none, 1, d, err, sizeof err,
				    &missing) == PF_REASON_MISSING_TABLE);
	PF_EXPECT(missing == N);
	const char *head = "missing tables: table_number_00"
			   " (001_everything.sql), table_number_01";
	PF_EXPECT(strncmp(err, head, strlen(head)) == 0);
	const char *more = strstr(err, " more");
	PF_EXPECT(more != NULL && more[5] == '\0');
	PF_EXPECT(strstr(err, ") and ") != NULL);	/* cut after a whole item */
	PF_EXPECT(strlen(err) < sizeof err - 1);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(d, "missing_tables"))
		  == N);
	cJSON_Delete(d);
}

static void test_assert_eval(void)
{
	struct pf_pg_expect e;
	char err[PF_ERROR_MAX];
	cJSON *arr = cJSON_CreateArray();
	pf_pg_expect_parse("== 0", &e);
	PF_EXPECT(pf_pg_assert_eval("stuck", "== 0", &e, 1, 1, "0", arr, err,
				    sizeof err) == 0);
	PF_EXPECT(pf_pg_assert_eval("stuck", "== 0", &e, 1, 1, "3", arr, err,
				    sizeof err) == -1);
	PF_EXPECT_STR(err, "assertion stuck returned 3, expected == 0");
	PF_EXPECT(pf_pg_assert_eval("rows", "== 0", &e, 2, 1, "0", arr, err,
				    sizeof err) == -1);
	PF_EXPECT(strstr(err, "got 2 row(s)") != NULL);
	PF_EXPECT(pf_pg_assert_eval("text", "== 0", &e, 1, 1, "abc", arr, err,
				    sizeof err) == -1);
	PF_EXPECT(strstr(err, "must return a number") != NULL);
	PF_EXPECT(pf_pg_assert_eval("null", "== 0", &e, 1, 1, NULL, arr, err,
				    sizeof err) == -1);
	PF_EXPECT(strstr(err, "NULL") != NULL);
	char *js = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 1));
	PF_EXPECT_STR(js, "{\"name\":\"stuck\",\"value\":3,\"expect\":\"== 0\","
		      "\"pass\":false}");
	free(js);
	js = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 0));
	PF_EXPECT(strstr(js, "\"pass\":true") != NULL);
	free(js);
	PF_EXPECT(cJSON_GetArraySize(arr) == 5);
	cJSON_Delete(arr);
}

static void test_classify(void)
{
	/* server errors: by SQLSTATE (verbose messages carry it) */
	PF_EXPECT(pf_pg_classify_connect("connection to server at \"127.0.0.1\","
		" port 5 failed: FATAL:  28P01: password authentication failed for user"
		" \"app\"") == PF_REASON_AUTH);
	PF_EXPECT(pf_pg_classify_connect("FATAL:  28000: role \"x\" does not exist") ==
		  PF_REASON_AUTH);
	PF_EXPECT(pf_pg_classify_connect("FATAL:  3D000: database \"nope\" does not"
		" exist") == PF_REASON_WRONG_DATABASE);
	/* the same failures from a server speaking German: same reasons */
	PF_EXPECT(pf_pg_classify_connect("connection to server at \"127.0.0.1\","
		" port 5 failed: FATAL:  28P01: Passwort-Authentifizierung für"
		" Benutzer \u00bbapp\u00ab fehlgeschlagen") == PF_REASON_AUTH);
	PF_EXPECT(pf_pg_classify_connect("SCHWERWIEGEND:  3D000: Datenbank"
		" \u00bbnope\u00ab existiert nicht") == PF_REASON_WRONG_DATABASE);
	PF_EXPECT(pf_pg_classify_connect("FATAL:  57P03: das Datenbanksystem"
		" startet") == PF_REASON_CONNECT_REFUSED);
	PF_EXPECT(pf_pg_classify_connect("FATAL:  53300: tut mir leid, schon zu"
		" viele Verbindungen") == PF_REASON_CONNECT_REFUSED);
	/* English words of a server error never decide on their own */
	PF_EXPECT(pf_pg_classify_connect("FATAL:  XX000: database \"x\" does not"
		" exist") == PF_REASON_CONNECT_REFUSED);
	char st[6];
	PF_EXPECT(pf_pg_message_sqlstate("a failed: FATAL:  28P01: b", st) &&
		  strcmp(st, "28P01") == 0);
	PF_EXPECT(!pf_pg_message_sqlstate("FATAL: 28P01: one space", st));
	PF_EXPECT(!pf_pg_message_sqlstate("Connection refused", st));
	PF_EXPECT(!pf_pg_message_sqlstate(NULL, st));
	PF_EXPECT(pf_pg_classify_connect("connection to server at \"127.0.0.1\","
		" port 5 failed: Connection refused\n\tIs the server running")
		  == PF_REASON_CONNECT_REFUSED);
	PF_EXPECT(pf_pg_classify_connect("connection to server on socket"
		" \"/x/.s.PGSQL.5432\" failed: No such file or directory") ==
		  PF_REASON_CONNECT_REFUSED);
	PF_EXPECT(pf_pg_classify_connect("received invalid response to SSL"
		" negotiation: H") == PF_REASON_PROTOCOL);
	PF_EXPECT(pf_pg_classify_connect("expected authentication request from"
		" server, but received H") == PF_REASON_PROTOCOL);
	PF_EXPECT(pf_pg_classify_connect("SSL error: certificate verify failed")
		  == PF_REASON_TLS);
	PF_EXPECT(pf_pg_classify_connect("Connection timed out") ==
		  PF_REASON_CONNECT_TIMEOUT);
}

/* libpq 15's words for each TLS failure, as the probe saw them against the
 * ssl=on server of the integration tests (test_postgres.py). */
static void test_classify_tls(void)
{
	static const char *const tls[] = {
		"connection to server at \"127.0.0.1\", port 5 failed: SSL"
		" error: certificate verify failed",
		"connection to server at \"127.0.0.1\", port 5 failed: server"
		" certificate for \"localhost\" (and 1 other name) does not"
		" match host name \"pg.loopback.test\"",
		"connection to server at \"127.0.0.1\", port 5 failed: root"
		" certificate file \"/x/ca.crt\" does not exist; Either"
		" provide the file or change sslmode to disable server"
		" certificate verification.",
		"connection to server at \"127.0.0.1\", port 5 failed: server"
		" does not support SSL, but SSL was required",
		/* OpenSSL's words contain "protocol": still tls, not protocol */
		"connection to server at \"127.0.0.1\", port 5 failed: SSL"
		" error: tlsv1 alert protocol version",
		"SSL error: unsupported protocol",
		"SSL SYSCALL error: EOF detected",
	};
	for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++)
		PF_EXPECT(pf_pg_classify_connect(tls[i]) == PF_REASON_TLS);
	/* A peer that is not PostgreSQL answers the SSL request with junk. */
	PF_EXPECT(pf_pg_classify_connect("received invalid response to SSL"
		" negotiation: H") == PF_REASON_PROTOCOL);
	/* A plain connection a hostssl-only server refuses: pg_hba, auth. */
	PF_EXPECT(pf_pg_classify_connect("FATAL:  28000: no pg_hba.conf entry for host"
		" \"127.0.0.1\", user \"a\", database \"b\", no encryption")
		  == PF_REASON_AUTH);
}

/* The hint the policy chooses for a postgres result (postgres_hint.c's
 * rules) against db.internal:5432, database mobius_chat. */
static const char *pg_hint(enum pf_reason reason, int aclass,
			   const char *sqlstate, const char *error,
			   const char *span)
{
	static struct pf_result res;
	struct pf_pg_cfg c = { .host = "db.internal", .port = "5432",
			       .database = (char *)"mobius_chat" };

	memset(&res, 0, sizeof res);
	pf_result_reset(&res);
	res.reason = reason;
	res.aclass = aclass;
	pf_strlcpy(res.error, error ? error : "", sizeof res.error);
	if (span)
		pf_result_var(&res, "span", "%s", span);
	pf_pg_hint_facts(&c, sqlstate, &res);
	pf_hint_choose(pf_pg_hints, &res);
	return res.hint;
}

static void test_hints(void)
{
	const char *w = "db.internal:5432", *h;

	h = pg_hint(PF_REASON_TLS, 0, NULL, "SSL error: certificate verify failed", NULL);
	PF_EXPECT(strstr(h, "sslrootcert") && strstr(h, w) && strstr(h, "expired"));
	h = pg_hint(PF_REASON_TLS, 0, NULL, "server certificate for \"a\" does not"
		    " match host name \"b\"", NULL);
	PF_EXPECT(strstr(h, "subjectAltName") != NULL);
	h = pg_hint(PF_REASON_TLS, 0, NULL, "root certificate file \"/x\" does not exist", NULL);
	PF_EXPECT(strstr(h, "sslrootcert names no readable file") != NULL);
	h = pg_hint(PF_REASON_TLS, 0, NULL, "server does not support SSL, but SSL was"
		    " required", NULL);
	PF_EXPECT(strstr(h, "turn ssl on") && strstr(h, w));
	h = pg_hint(PF_REASON_AUTH, 0, NULL, "FATAL: no pg_hba.conf entry for host \"h\","
		    " user \"u\", database \"d\", no encryption", NULL);
	PF_EXPECT(strstr(h, "hostssl") && strstr(h, "sslmode=verify-full"));
	h = pg_hint(PF_REASON_TLS, 0, NULL, "SSL error: tlsv1 alert protocol version", NULL);
	PF_EXPECT(strstr(h, "ssl_max_protocol_version") != NULL);
	/* unknown words: the built-in hint of the reason */
	h = pg_hint(PF_REASON_TLS, 0, NULL, "SSL error: something new", NULL);
	PF_EXPECT_STR(h, pf_hint_builtin(PF_REASON_TLS));
	/* a wrong password: the kind's auth hint, naming the database */
	h = pg_hint(PF_REASON_AUTH, 0, "28P01", "password authentication failed", NULL);
	PF_EXPECT(strstr(h, "rejected the credentials for database mobius_chat") != NULL);
	/* a SQLSTATE with its own hint wins, whatever the words */
	h = pg_hint(PF_REASON_CONNECT_REFUSED, 0, "57P03", "das Datenbanksystem startet", NULL);
	PF_EXPECT(strstr(h, "starting up") != NULL);
	h = pg_hint(PF_REASON_CONNECT_REFUSED, 0, "XX000", "x", NULL);
	PF_EXPECT(strstr(h, "db.internal:5432 refused the connection with SQLSTATE XX000") != NULL);
	/* the migration span; a private address that times out needs VPC egress */
	h = pg_hint(PF_REASON_MISSING_TABLE, 0, NULL, "missing", " from 011_x.sql");
	PF_EXPECT_STR(h, "run the migrations for database mobius_chat from"
		      " 011_x.sql before starting its workers");
	h = pg_hint(PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PRIVATE, NULL, "timed out", NULL);
	PF_EXPECT(strstr(h, "VPC egress") != NULL);
	h = pg_hint(PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PUBLIC, NULL, "timed out", NULL);
	PF_EXPECT(strstr(h, "nothing accepted the TCP connection to db.internal:5432"));
}

static void test_classify_sqlstate(void)
{
	PF_EXPECT(pf_pg_classify_sqlstate("28P01", PF_REASON_INTERNAL) ==
		  PF_REASON_AUTH);
	PF_EXPECT(pf_pg_classify_sqlstate("28000", PF_REASON_INTERNAL) ==
		  PF_REASON_AUTH);
	PF_EXPECT(pf_pg_classify_sqlstate("3D000", PF_REASON_INTERNAL) ==
		  PF_REASON_WRONG_DATABASE);
	PF_EXPECT(pf_pg_classify_sqlstate("57014", PF_REASON_INTERNAL) ==
		  PF_REASON_TIMEOUT);
	PF_EXPECT(pf_pg_classify_sqlstate("42P01", PF_REASON_PROTOCOL) ==
		  PF_REASON_PROTOCOL);
	PF_EXPECT(pf_pg_classify_sqlstate(NULL, PF_REASON_PROTOCOL) ==
		  PF_REASON_PROTOCOL);
}

static void test_clean_scrub(void)
{
	char buf[128];
	pf_pg_clean_message(buf, sizeof buf, "FATAL:  password authentication"
			    " failed\nDETAIL:  sekrit!\n", "sekrit!");
	PF_EXPECT_STR(buf, "FATAL: password authentication failed; DETAIL: ***");
	/* verbose messages lose their LOCATION lines */
	pf_pg_clean_message(buf, sizeof buf, "FATAL:  28P01: no\nLOCATION:  "
			    "auth_failed, auth.c:326\nHINT:  h\n", NULL);
	PF_EXPECT_STR(buf, "FATAL: 28P01: no; HINT: h");
	pf_pg_clean_message(buf, sizeof buf, "LOCATION:  x.c:1\n", NULL);
	PF_EXPECT_STR(buf, "");
	/* the password is masked by the one masking function (test_mask.c) */
	pf_pg_clean_message(buf, sizeof buf, "FATAL:  x pw\xff\n", "pw");
	PF_EXPECT_STR(buf, "FATAL: x **\xef\xbf\xbd");
}

/* Parses a check object; returns the cfg or NULL with err filled. */
static struct pf_pg_cfg *parse(const char *json, char *err, size_t len)
{
	cJSON *o = cJSON_Parse(json);
	void *cfg = NULL;
	err[0] = '\0';
	if (o != NULL)
		cfg = pf_keys_new(&pf_pg_keys, NULL, o, NULL, "checks[0]", err, len);
	cJSON_Delete(o);
	return cfg;
}

static void test_cfg(void)
{
	char err[512], tgt[256];
	struct pf_pg_cfg *c = parse("{\"url\":\"postgresql://app:s3cret@db.internal"
		":6432/mobius_chat?sslmode=require\",\"tables\":{\"chat_threads\":"
		"[\"id\"],\"chat_state\":[]},\"assertions\":[{\"name\":\"a\","
		"\"sql\":\"select 1\",\"expect\":\">= 1\"}]}", err, sizeof err);
	PF_EXPECT(c != NULL);
	if (c == NULL)
		return;
	PF_EXPECT_STR(c->host, "db.internal");
	PF_EXPECT_STR(c->port, "6432");
	PF_EXPECT_STR(c->password, "s3cret");
	PF_EXPECT_STR(c->schema, "public");
	PF_EXPECT_STR(pf_pg_cfg_dbname(c), "mobius_chat");
	PF_EXPECT(c->rels.n == 2 && c->assertions.n == 1);
	PF_EXPECT_STR(c->names_param, "{\"chat_threads\",\"chat_state\"}");
	pf_keys_target(&pf_pg_keys, c, tgt, sizeof tgt);
	PF_EXPECT(strstr(tgt, "s3cret") == NULL && strstr(tgt, "app:***@") != NULL);
	cJSON *d = pf_keys_describe(&pf_pg_keys, c);
	char *js = cJSON_PrintUnformatted(d);
	PF_EXPECT(strstr(js, "s3cret") == NULL);
	PF_EXPECT(strstr(js, "\"chat_state\":[]") != NULL);
	free(js);
	cJSON_Delete(d);
	pf_keys_delete(&pf_pg_keys, c);

	/* Cloud SQL unix-socket form and key=value DSN */
	c = parse("{\"url\":\"postgresql://u:p@/mobius_rag?host=/cloudsql/p:r:i\"}",
		  err, sizeof err);
	PF_EXPECT(c != NULL && c->host && strcmp(c->host, "/cloudsql/p:r:i") == 0);
	pf_keys_delete(&pf_pg_keys, c);
	c = parse("{\"url\":\"host=127.0.0.1 port=5 dbname=x user=u"
		  " password='a b' options='-c work_mem=4MB'\"}", err, sizeof err);
	PF_EXPECT(c != NULL && c->user_options &&
		  strcmp(c->user_options, "-c work_mem=4MB") == 0);
	if (c) {
		pf_keys_target(&pf_pg_keys, c, tgt, sizeof tgt);
		PF_EXPECT(strstr(tgt, "a b") == NULL);
	}
	pf_keys_delete(&pf_pg_keys, c);
}

static void test_cfg_errors(void)
{
	char err[512];
	PF_EXPECT(parse("{}", err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].url") != NULL);
	/* a bad %-escape inside the password must not echo the password */
	PF_EXPECT(parse("{\"url\":\"postgresql://u:hunter%zz2@h/db\"}", err,
			sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].url") != NULL);
	PF_EXPECT(strstr(err, "hunter") == NULL);
	PF_EXPECT(parse("{\"url\":\"nonsense without equals\"}", err,
			sizeof err) == NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x?bogus=1\"}", err,
			sizeof err) == NULL);
	PF_EXPECT(strstr(err, "bogus") != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"tables\":[]}", err,
			sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].tables") != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"tables\":{\"t\":[1]}}",
			err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].tables.t[0]") != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"tables\":{\"\":[]}}",
			err, sizeof err) == NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"assertions\":[{\"name\":"
			"\"a\",\"sql\":\"select 1\",\"expect\":\"about 3\"}]}",
			err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].assertions[0].expect") != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"assertions\":[{\"name\":"
			"\"a\",\"sql\":\"select 1\",\"expect\":\"== 1\",\"x\":1}]}",
			err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].assertions[0].x") != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///x\",\"schema\":\"\"}", err,
			sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].schema") != NULL);
}

/* Writes name into dir with text; returns 0. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static const struct pf_pg_table *find_table(const struct pf_pg_cfg *c,
					    const char *name)
{
	for (size_t i = 0; i < c->rels.n; i++)
		if (strcmp(c->rels.v[i].name, name) == 0)
			return &c->rels.v[i];
	return NULL;
}

/* schema_dir merged with hand-written tables, each object with its file. */
static void test_cfg_schema_dir(void)
{
	char dir[] = "/tmp/pf-pgschema-XXXXXX", json[1024], err[512];
	PF_EXPECT(mkdtemp(dir) != NULL);
	PF_EXPECT(write_file(dir, "001_a.sql", "CREATE TABLE a (id int, b text);"
			     " CREATE TABLE r AS SELECT 1 AS one;") == 0);
	PF_EXPECT(write_file(dir, "002_b.sql", "ALTER TABLE a ADD COLUMN c int;"
			     " CREATE TABLE other.x (y int);") == 0);
	snprintf(json, sizeof json, "{\"url\":\"postgresql:///db\","
		 "\"schema_dir\":\"%s\",\"tables\":{\"hand\":[\"h\"],"
		 "\"a\":[\"id\",\"extra\"],\"r\":[\"one\",\"two\"]}}", dir);
	struct pf_pg_cfg *c = parse(json, err, sizeof err);
	PF_EXPECT(c != NULL);
	if (c != NULL) {
		/* other.x is required in its own schema */
		PF_EXPECT(c->rels.n == 4 && c->derived_tables == 3);
		PF_EXPECT(c->derived_columns == 4);
		PF_EXPECT_STR(c->names_param, "{\"a\",\"r\",\"x\",\"hand\"}");
		PF_EXPECT_STR(c->schemas_param, "{\"public\",\"public\",\"other\",\"public\"}");
		const struct pf_pg_table *a = find_table(c, "a");
		PF_EXPECT(a && a->n_columns == 4 && strcmp(a->file, "001_a.sql") == 0);
		if (a && a->n_columns == 4) {
			PF_EXPECT_STR(a->columns[2], "c");
			PF_EXPECT_STR(a->column_files[2], "002_b.sql");
			PF_EXPECT_STR(a->columns[3], "extra");
			PF_EXPECT(a->column_files[3] == NULL);
		}
		/* columns_unknown: only the hand-listed columns are required */
		const struct pf_pg_table *r = find_table(c, "r");
		PF_EXPECT(r && r->n_columns == 2 && r->file != NULL);
		const struct pf_pg_table *h = find_table(c, "hand");
		PF_EXPECT(h && h->file == NULL && h->n_columns == 1 &&
			  (h->column_files == NULL || h->column_files[0] == NULL));
		cJSON *d = pf_keys_describe(&pf_pg_keys, c);
		char *js = cJSON_PrintUnformatted(d);
		PF_EXPECT(strstr(js, "\"schema_dir_derived\":{\"tables\":3,"
				 "\"columns\":4,\"required_views\":0}") != NULL);
		PF_EXPECT(strstr(js, dir) != NULL);
		free(js);
		cJSON_Delete(d);
	}
	pf_keys_delete(&pf_pg_keys, c);

	/* a folder that creates no table at all */
	PF_EXPECT(write_file(dir, "001_a.sql", "CREATE INDEX i ON t (a);") == 0);
	PF_EXPECT(write_file(dir, "002_b.sql", "CREATE VIEW v AS SELECT 1;")
		  == 0);
	snprintf(json, sizeof json, "{\"url\":\"postgresql:///db\","
		 "\"schema_dir\":\"%s\"}", dir);
	PF_EXPECT(parse(json, err, sizeof err) == NULL);
	PF_EXPECT(strncmp(err, "checks[0].schema_dir: ", 22) == 0);
	PF_EXPECT(strstr(err, "create no table") != NULL);
	/* unqualified names go to the check's schema; views when asked */
	PF_EXPECT(write_file(dir, "002_b.sql", "CREATE TABLE x (y int);"
			     " CREATE VIEW v AS SELECT y FROM x;"
			     " CREATE MATERIALIZED VIEW public.m AS SELECT 1;") == 0);
	snprintf(json, sizeof json, "{\"url\":\"postgresql:///db\","
		 "\"schema\":\"other\",\"schema_dir\":\"%s\","
		 "\"views\":[\"public.m\",\"public.hand_v\"]}", dir);
	c = parse(json, err, sizeof err);
	PF_EXPECT(c != NULL && c->rels.n == 3);
	if (c) {
		PF_EXPECT_STR(c->schemas_param, "{\"other\",\"public\",\"public\"}");
		PF_EXPECT_STR(c->names_param, "{\"x\",\"m\",\"hand_v\"}");
		PF_EXPECT(c->rels.v[1].view && c->rels.v[1].file != NULL);
		PF_EXPECT(c->rels.v[2].view && c->rels.v[2].file == NULL);
	}
	pf_keys_delete(&pf_pg_keys, c);
	snprintf(json, sizeof json, "{\"url\":\"postgresql+asyncpg://u@h/db\","
		 "\"schema_dir\":\"%s\",\"require_views\":true}", dir);
	c = parse(json, err, sizeof err);
	PF_EXPECT(c != NULL && c->rels.n == 3);
	if (c)
		PF_EXPECT_STR(c->names_param, "{\"x\",\"v\",\"m\"}");
	pf_keys_delete(&pf_pg_keys, c);

	char path[600];
	snprintf(path, sizeof path, "%s/001_a.sql", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/002_b.sql", dir);
	unlink(path);
	/* an empty folder, then a missing one */
	snprintf(json, sizeof json, "{\"url\":\"postgresql:///db\","
		 "\"schema_dir\":\"%s\"}", dir);
	PF_EXPECT(parse(json, err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].schema_dir: ") == err &&
		  strstr(err, "no .sql") != NULL);
	rmdir(dir);
	PF_EXPECT(parse(json, err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].schema_dir: ") == err &&
		  strstr(err, dir) != NULL);
	PF_EXPECT(parse("{\"url\":\"postgresql:///db\",\"schema_dir\":7}", err,
			sizeof err) == NULL);
	PF_EXPECT(strstr(err, "checks[0].schema_dir") != NULL);
}

int main(void)
{
	pf_test("expect", test_expect);
	pf_test("number", test_number);
	pf_test("text_array", test_text_array);
	pf_test("options", test_options);
	pf_test("schema_eval", test_schema_eval);
	pf_test("schema_eval_files", test_schema_eval_files);
	pf_test("schema_eval: relation kinds", test_schema_eval_kinds);
	pf_test("schema_eval_long", test_schema_eval_long);
	pf_test("assert_eval", test_assert_eval);
	pf_test("classify", test_classify);
	pf_test("classify_tls", test_classify_tls);
	pf_test("hints: rules, causes and vars", test_hints);
	pf_test("classify_sqlstate", test_classify_sqlstate);
	pf_test("clean_scrub", test_clean_scrub);
	pf_test("cfg", test_cfg);
	pf_test("cfg_errors", test_cfg_errors);
	pf_test("cfg_schema_dir", test_cfg_schema_dir);
	return pf_test_summary();
}
