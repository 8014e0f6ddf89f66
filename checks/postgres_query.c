/*
 * The postgres kind's pure half: catalog query text and parameters,
 * `expect` comparisons, schema/assertion verdicts and the classification
 * and scrubbing of libpq messages.  No I/O: see postgres_query.h.
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
 * LEFT JOIN on a one-row relation keeps current_database() and the version
 * even when none of the tables exist; the inner LEFT JOIN on pg_attribute
 * keeps a table that has no live columns.  Names travel as parameters,
 * never concatenated; pg_catalog sees tables the role cannot read, which
 * information_schema would hide. */
const char pf_pg_catalog_sql[] =
	"SELECT current_database(), current_setting('server_version'),"
	" t.relname, t.attname"
	" FROM (SELECT 1) AS one LEFT JOIN ("
	"SELECT c.relname::text AS relname, a.attname::text AS attname"
	" FROM pg_catalog.pg_class c"
	" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	" LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"
	" AND a.attnum > 0 AND NOT a.attisdropped"
	" WHERE n.nspname = $2 AND c.relname = ANY($1::name[])"
	" AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
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

char *pf_pg_text_array(const struct pf_pg_table *t, size_t n)
{
	size_t len = 3;
	for (size_t i = 0; i < n; i++)
		len += 2 * strlen(t[i].name) + 3;
	char *buf = malloc(len);
	if (buf == NULL)
		return NULL;
	char *w = buf;
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*w++ = ',';
		*w++ = '"';
		for (const char *r = t[i].name; *r; r++) {
			if (*r == '"' || *r == '\\')
				*w++ = '\\';
			*w++ = *r;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	return buf;
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

/* Orders catalog rows by (rel, att), a NULL att first. */
static int row_cmp(const void *a, const void *b)
{
	const struct pf_pg_row *x = a, *y = b;
	int d = strcmp(x->rel, y->rel);
	if (d != 0)
		return d;
	if (x->att == NULL || y->att == NULL)
		return (x->att != NULL) - (y->att != NULL);
	return strcmp(x->att, y->att);
}

/* Looks (rel, att) up in rows sorted by row_cmp; att NULL: any row of rel.
 * Why sorted: a schema_dir can require thousands of columns, and a linear
 * scan per object would make each probe quadratic on the loop. */
static bool row_has(const struct pf_pg_row *rows, size_t nrows,
		    const char *rel, const char *att)
{
	const struct pf_pg_row key = { rel, att };
	size_t lo = 0, hi = nrows;
	while (lo < hi) {		/* first row >= key */
		size_t mid = lo + (hi - lo) / 2;
		if (row_cmp(&rows[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nrows || strcmp(rows[lo].rel, rel) != 0)
		return false;
	return att == NULL ||
	       (rows[lo].att != NULL && strcmp(rows[lo].att, att) == 0);
}

/* A sorted copy of the rows that name a relation (NULL: out of memory). */
static struct pf_pg_row *sorted_rows(const struct pf_pg_row *rows,
				     size_t nrows, size_t *n)
{
	struct pf_pg_row *s = malloc((nrows + 1) * sizeof *s);
	*n = 0;
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < nrows; i++)
		if (rows[i].rel != NULL)
			s[(*n)++] = rows[i];
	qsort(s, *n, sizeof *s, row_cmp);
	return s;
}

/* One missing object: table t, column c (NO_COLUMN for the table itself)
 * and the migration that introduced it (NULL: written by hand). */
#define NO_COLUMN ((size_t)-1)
struct missing {
	size_t t, c;
	const char *file;
};

/* Orders by file (by hand last); ties keep the configured order, so the
 * result does not depend on qsort's instability. */
static int missing_cmp(const void *a, const void *b)
{
	const struct missing *x = a, *y = b;
	if (x->file && y->file) {
		int d = strcmp(x->file, y->file);
		if (d != 0)
			return d;
	} else if (x->file != y->file) {
		return x->file ? -1 : 1;
	}
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->c != y->c)
		return x->c < y->c ? -1 : 1;
	return 0;
}

/* "t", "t.c", then " (file)" when derived. */
static void item_text(const struct pf_pg_table *t, const struct missing *m,
		      char *buf, size_t len)
{
	const struct pf_pg_table *tb = &t[m->t];
	if (m->c == NO_COLUMN)
		pf_strlcpy(buf, tb->name, len);
	else
		snprintf(buf, len, "%s.%s", tb->name, tb->columns[m->c]);
	if (m->file) {
		size_t used = strlen(buf);
		snprintf(buf + used, len - used, " (%s)", m->file);
	}
}

/* The comma-separated list of the missing tables (cols false) or columns
 * in buf, whole items only: once one does not fit in budget bytes, the
 * rest are counted as "and N more". */
static void list_text(const struct pf_pg_table *t, const struct missing *m,
		      size_t n, bool cols, char *buf, size_t budget)
{
	size_t more = 0;
	char item[400];

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if ((m[i].c != NO_COLUMN) != cols)
			continue;
		item_text(t, &m[i], item, sizeof item);
		/* 24 bytes stay free for " and N more". */
		if (more > 0 || strlen(buf) + strlen(item) + 2 + 24 > budget) {
			more++;
			continue;
		}
		if (buf[0] != '\0')
			pf_strlcat(buf, ", ", budget);
		pf_strlcat(buf, item, budget);
	}
	if (more > 0) {
		size_t used = strlen(buf);
		snprintf(buf + used, budget - used, " and %zu more", more);
	}
}

/* "missing tables: ...; missing columns: ...", each list taking half of
 * err when both are there. */
static void missing_text(const struct pf_pg_table *t, struct missing *m,
			 size_t n, unsigned n_tables, unsigned n_cols,
			 char *err, size_t errlen)
{
	char tables[PF_ERROR_MAX], cols[PF_ERROR_MAX];
	size_t budget = errlen > 64 ? errlen - 40 : 24;

	if (n_tables > 0 && n_cols > 0)
		budget /= 2;
	if (budget > sizeof tables)
		budget = sizeof tables;
	qsort(m, n, sizeof *m, missing_cmp);
	list_text(t, m, n, false, tables, budget);
	list_text(t, m, n, true, cols, budget);
	err[0] = '\0';
	if (n_tables > 0)
		snprintf(err, errlen, "missing tables: %s", tables);
	if (n_cols > 0) {
		size_t used = strlen(err);
		snprintf(err + used, errlen - used, "%smissing columns: %s",
			 used ? "; " : "", cols);
	}
}

/* Records one missing derived object in details' introduced_by. */
static void note_file(cJSON *ib, const struct pf_pg_table *tb, size_t c,
		      const char *file)
{
	char key[200];
	if (ib == NULL || file == NULL)
		return;
	if (c == NO_COLUMN)
		pf_strlcpy(key, tb->name, sizeof key);
	else
		snprintf(key, sizeof key, "%s.%s", tb->name, tb->columns[c]);
	cJSON_AddStringToObject(ib, key, file);
}

static size_t required_objects(const struct pf_pg_table *t, size_t nt,
			       bool *derived)
{
	size_t n = nt;
	*derived = false;
	for (size_t i = 0; i < nt; i++) {
		n += t[i].n_columns;
		if (t[i].file != NULL)
			*derived = true;
	}
	return n;
}

/* Adds the missing columns of present table i to m and details. */
static size_t missing_columns(const struct pf_pg_table *t, size_t i,
			      const struct pf_pg_row *rows, size_t nrows,
			      cJSON *mc, cJSON *ib, struct missing *m)
{
	cJSON *arr = NULL;
	size_t n = 0;
	for (size_t j = 0; j < t[i].n_columns; j++) {
		const char *c = t[i].columns[j];
		if (row_has(rows, nrows, t[i].name, c))
			continue;
		if (arr == NULL)
			arr = cJSON_AddArrayToObject(mc, t[i].name);
		cJSON_AddItemToArray(arr, cJSON_CreateString(c));
		m[n].t = i;
		m[n].c = j;
		m[n].file = t[i].column_files ? t[i].column_files[j] : NULL;
		note_file(ib, &t[i], j, m[n].file);
		n++;
	}
	return n;
}

enum pf_reason pf_pg_schema_eval(const struct pf_pg_table *t, size_t nt,
				 const struct pf_pg_row *rows, size_t nrows,
				 struct cJSON *details, char *err, size_t errlen,
				 unsigned *missing)
{
	bool derived;
	size_t total = required_objects(t, nt, &derived), n = 0;
	struct missing *m = malloc((total + 1) * sizeof *m);
	struct pf_pg_row *sorted = sorted_rows(rows, nrows, &nrows);
	unsigned n_tables = 0, n_cols = 0;

	*missing = 0;
	err[0] = '\0';
	if (m == NULL || sorted == NULL) {
		free(m);
		free(sorted);
		pf_strlcpy(err, "out of memory comparing the schema", errlen);
		return PF_REASON_INTERNAL;
	}
	rows = sorted;
	cJSON *mt = cJSON_AddArrayToObject(details, "missing_tables");
	cJSON *mc = cJSON_AddObjectToObject(details, "missing_columns");
	cJSON *ib = derived ? cJSON_AddObjectToObject(details, "introduced_by")
			    : NULL;
	for (size_t i = 0; i < nt; i++) {
		if (row_has(rows, nrows, t[i].name, NULL)) {
			size_t k = missing_columns(t, i, rows, nrows, mc, ib,
						   m + n);
			n += k;
			n_cols += (unsigned)k;
			continue;
		}
		cJSON_AddItemToArray(mt, cJSON_CreateString(t[i].name));
		m[n] = (struct missing){ i, NO_COLUMN, t[i].file };
		note_file(ib, &t[i], NO_COLUMN, t[i].file);
		n++;
		n_tables++;
	}
	*missing = n_tables + n_cols;
	missing_text(t, m, n, n_tables, n_cols, err, errlen);
	free(m);
	free(sorted);
	if (n_tables > 0)
		return PF_REASON_MISSING_TABLE;
	return n_cols > 0 ? PF_REASON_MISSING_COLUMN : PF_REASON_NONE;
}

void pf_pg_migration_hint(const char *db, const struct cJSON *details,
			  char *h, size_t n)
{
	const cJSON *ib = details ?
		cJSON_GetObjectItemCaseSensitive(details, "introduced_by") : NULL;
	const cJSON *f;
	const char *lo = NULL, *hi = NULL;

	/* Files apply in lexical order: the range names what is left to run. */
	cJSON_ArrayForEach(f, ib) {
		if (!cJSON_IsString(f))
			continue;
		if (lo == NULL || strcmp(f->valuestring, lo) < 0)
			lo = f->valuestring;
		if (hi == NULL || strcmp(f->valuestring, hi) > 0)
			hi = f->valuestring;
	}
	if (lo == NULL)
		snprintf(h, n, "run the migrations for database %s before"
			 " starting its workers", db);
	else if (strcmp(lo, hi) == 0)
		snprintf(h, n, "run the migrations for database %s up to and"
			 " including %s before starting its workers", db, hi);
	else
		snprintf(h, n, "run the migrations for database %s from %s up to"
			 " and including %s before starting its workers",
			 db, lo, hi);
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

static bool has(const char *msg, const char *needle)
{
	return strcasestr(msg, needle) != NULL;
}

enum pf_reason pf_pg_classify_connect(const char *msg)
{
	if (msg == NULL)
		return PF_REASON_CONNECT_REFUSED;
	/* Order matters: "role ... does not exist" is auth, "database ...
	 * does not exist" is not; SSL negotiation garbage is protocol (the
	 * peer is not PostgreSQL), but OpenSSL's own errors are tls even when
	 * they say "protocol" ("SSL error: unsupported protocol"). */
	if (has(msg, "database \"") && has(msg, "does not exist"))
		return PF_REASON_WRONG_DATABASE;
	if (has(msg, "password authentication failed") ||
	    has(msg, "no pg_hba.conf entry") ||
	    has(msg, "authentication failed") ||
	    has(msg, "no password supplied") ||
	    (has(msg, "role \"") && has(msg, "does not exist")) ||
	    has(msg, "SCRAM") || has(msg, "SASL"))
		return PF_REASON_AUTH;
	if (has(msg, "invalid response to SSL negotiation"))
		return PF_REASON_PROTOCOL;
	if (has(msg, "SSL error") || has(msg, "SSL SYSCALL") ||
	    has(msg, "does not support SSL") || has(msg, "certificate"))
		return PF_REASON_TLS;
	if (has(msg, "expected authentication request") ||
	    has(msg, "server closed the connection unexpectedly") ||
	    has(msg, "unexpected message") || has(msg, "invalid message") ||
	    has(msg, "lost synchronization") || has(msg, "protocol"))
		return PF_REASON_PROTOCOL;
	if (has(msg, "could not translate host name"))
		return PF_REASON_DNS;
	if (has(msg, "timed out") || has(msg, "no route to host") ||
	    has(msg, "network is unreachable"))
		return PF_REASON_CONNECT_TIMEOUT;
	if (has(msg, "SSL") || has(msg, "certificate"))
		return PF_REASON_TLS;
	return PF_REASON_CONNECT_REFUSED;
}

enum pf_reason pf_pg_classify_sqlstate(const char *state,
				       enum pf_reason fallback)
{
	if (state == NULL)
		return fallback;
	if (strcmp(state, "28P01") == 0 || strcmp(state, "28000") == 0)
		return PF_REASON_AUTH;
	if (strcmp(state, "3D000") == 0)
		return PF_REASON_WRONG_DATABASE;
	if (strcmp(state, "57014") == 0)
		return PF_REASON_TIMEOUT;
	return fallback;
}

/* A text cut at the buffer's end may end in the first bytes of the
 * secret: drop them. */
static void cut_secret_prefix(char *s, size_t len, const char *secret)
{
	size_t sl = strlen(secret);
	for (size_t k = sl - 1; k > 0 && strlen(s) + 1 >= len; k--) {
		size_t cur = strlen(s);
		if (cur >= k && strncmp(s + cur - k, secret, k) == 0) {
			s[cur - k] = '\0';
			break;
		}
	}
}

void pf_pg_scrub(char *s, size_t len, const char *secret)
{
	/* Shorter secrets cannot be told from ordinary text ("p" would mask
	 * every letter p); libpq does not echo passwords anyway: this is the
	 * second line of defence. */
	if (secret == NULL || strlen(secret) < PF_PG_SCRUB_MIN || len == 0)
		return;
	if (strstr(s, secret) == NULL) {
		cut_secret_prefix(s, len, secret);
		return;
	}
	char *tmp = malloc(len);
	if (tmp == NULL) {
		/* Cannot rewrite: drop the text rather than leak the secret. */
		pf_strlcpy(s, "(message withheld: it contained a secret)", len);
		return;
	}
	tmp[0] = '\0';
	size_t sl = strlen(secret);
	const char *r = s;
	for (const char *hit; (hit = strstr(r, secret)) != NULL; r = hit + sl) {
		size_t used = strlen(tmp), n = (size_t)(hit - r);
		if (used + n >= len)
			n = len - used - 1;
		memcpy(tmp + used, r, n);
		tmp[used + n] = '\0';
		pf_strlcat(tmp, "***", len);
	}
	pf_strlcat(tmp, r, len);
	pf_strlcpy(s, tmp, len);
	free(tmp);
	cut_secret_prefix(s, len, secret);
}

void pf_pg_clean_message(char *dst, size_t len, const char *msg,
			 const char *secret)
{
	size_t w = 0;
	if (len == 0)
		return;
	for (const char *r = msg ? msg : ""; *r && w + 1 < len; r++) {
		if (*r == '\n' || *r == '\r') {
			if (w > 0 && r[1] != '\0' && w + 3 < len) {
				dst[w++] = ';';
				dst[w++] = ' ';
			}
			continue;
		}
		/* "FATAL:  x" -> "FATAL: x" */
		if (*r == ' ' && w > 0 && dst[w - 1] == ' ')
			continue;
		dst[w++] = *r == '\t' ? ' ' : *r;
	}
	while (w > 0 && (dst[w - 1] == ' ' || dst[w - 1] == ';'))
		w--;
	dst[w] = '\0';
	pf_pg_scrub(dst, len, secret);
}
