/*
 * The postgres kind's pure half, part one: the catalog query text and its
 * parameters, the session options, `expect` comparisons and assertion
 * verdicts.  No I/O: see postgres_query.h.
 */
#include "postgres_query.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_util.h"

/* Why this shape: one round trip whatever the number of tables.  The outer
 * LEFT JOIN on a one-row relation keeps current_database(), the version
 * and the recovery flag even when none of the objects exist; the inner
 * LEFT JOIN on pg_attribute keeps a relation that has no live columns.
 * Schema and relation names travel as parallel parameters (each object in
 * its own schema: compliance.hipaa_log beside public.chat_turns), never
 * concatenated; pg_catalog sees tables the role cannot read, which
 * information_schema would hide. */
const char pf_pg_catalog_sql[] =
	"SELECT current_database(), current_setting('server_version'),"
	" pg_catalog.pg_is_in_recovery(), t.nspname, t.relname, t.attname,"
	" t.relkind"
	" FROM (SELECT 1) AS one LEFT JOIN ("
	"SELECT n.nspname::text AS nspname, c.relname::text AS relname,"
	" a.attname::text AS attname, c.relkind::text AS relkind"
	" FROM unnest($1::text[], $2::text[]) AS w(nsp, rel)"
	" JOIN pg_catalog.pg_namespace n ON n.nspname = w.nsp"
	" JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel"
	" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"
	" AND a.attnum > 0 AND NOT a.attisdropped"
	" WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
	") AS t ON true";

int pf_pg_expect_parse(const char *s, struct pf_pg_expect *out)
{
	static const struct {
		const char *text;
		enum pf_pg_op op;
	} ops[] = {
		{"==", PF_PG_EQ}, {"!=", PF_PG_NE}, {"<=", PF_PG_LE},
		{">=", PF_PG_GE}, {"<", PF_PG_LT}, {">", PF_PG_GT},
		{"=", PF_PG_EQ},
	};
	if (s == NULL)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(s, ops[i].text, n) != 0)
			continue;
		double v;
		if (pf_pg_number(s + n, &v) != 0)
			return -1;
		out->op = ops[i].op;
		out->value = v;
		return 0;
	}
	return -1;
}

bool pf_pg_expect_eval(const struct pf_pg_expect *e, double v)
{
	switch (e->op) {
	case PF_PG_EQ: return v == e->value;
	case PF_PG_NE: return v != e->value;
	case PF_PG_LT: return v < e->value;
	case PF_PG_LE: return v <= e->value;
	case PF_PG_GT: return v > e->value;
	case PF_PG_GE: return v >= e->value;
	}
	return false;
}

int pf_pg_number(const char *text, double *out)
{
	if (text == NULL)
		return -1;
	while (isspace((unsigned char)*text))
		text++;
	if (*text == '\0')
		return -1;
	char *end;
	double v = strtod(text, &end);
	if (end == text)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	if (*end != '\0' || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Appends "x" with " and \\ escaped, and a ',' unless it is the first. */
static char *put_element(char *w, const char *x, bool first)
{
	if (!first)
		*w++ = ',';
	*w++ = '"';
	for (const char *r = x; *r; r++) {
		if (*r == '"' || *r == '\\')
			*w++ = '\\';
		*w++ = *r;
	}
	*w++ = '"';
	return w;
}

int pf_pg_text_arrays(const struct pf_pg_table *t, size_t n, const char *def,
		      char **schemas, char **names)
{
	size_t ls = 3, ln = 3;

	for (size_t i = 0; i < n; i++) {
		ls += 2 * strlen(t[i].schema ? t[i].schema : def) + 3;
		ln += 2 * strlen(t[i].name) + 3;
	}
	*schemas = malloc(ls);
	*names = malloc(ln);
	if (!*schemas || !*names) {
		free(*schemas);
		free(*names);
		*schemas = *names = NULL;
		return -1;
	}
	char *ws = *schemas, *wn = *names;
	*ws++ = '{';
	*wn++ = '{';
	for (size_t i = 0; i < n; i++) {
		ws = put_element(ws, t[i].schema ? t[i].schema : def, i == 0);
		wn = put_element(wn, t[i].name, i == 0);
	}
	strcpy(ws, "}");
	strcpy(wn, "}");
	return 0;
}

int pf_pg_session_options(const char *user_opts, uint64_t timeout_ms,
			  char *buf, size_t len)
{
	/* 90% of the check timeout: the server gives up (and says so) before
	 * our deadline closes the socket on it. */
	uint64_t st = timeout_ms - timeout_ms / 10;
	if (st == 0)
		st = 1;
	int n = snprintf(buf, len,
			 "%s%s-c default_transaction_read_only=on"
			 " -c statement_timeout=%llums",
			 user_opts ? user_opts : "",
			 user_opts && *user_opts ? " " : "",
			 (unsigned long long)st);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int pf_pg_assert_eval(const char *name, const char *expect_text,
		      const struct pf_pg_expect *e, int ntuples, int nfields,
		      const char *val, struct cJSON *out, char *err,
		      size_t errlen)
{
	cJSON *item = cJSON_CreateObject();
	cJSON_AddStringToObject(item, "name", name);
	cJSON_AddItemToArray(out, item);
	double v = 0;
	int rc = 0;
	if (ntuples != 1 || nfields != 1) {
		snprintf(err, errlen, "assertion %s must return one row with one"
			 " number, got %d row(s) of %d column(s)", name,
			 ntuples, nfields);
		rc = -1;
	} else if (val == NULL || pf_pg_number(val, &v) != 0) {
		snprintf(err, errlen, "assertion %s must return a number, got %s",
			 name, val ? "a non-numeric value" : "NULL");
		rc = -1;
	}
	if (rc == 0)
		cJSON_AddNumberToObject(item, "value", v);
	else
		cJSON_AddNullToObject(item, "value");
	cJSON_AddStringToObject(item, "expect", expect_text);
	bool pass = rc == 0 && pf_pg_expect_eval(e, v);
	cJSON_AddBoolToObject(item, "pass", pass);
	if (rc == 0 && !pass) {
		snprintf(err, errlen, "assertion %s returned %.15g, expected %s",
			 name, v, expect_text);
		rc = -1;
	}
	return rc;
}

