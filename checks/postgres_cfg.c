/*
 * The postgres kind's configuration: url/DSN (parsed with PQconninfoParse,
 * which never blocks; the SQLAlchemy forms postgresql+driver:// accepted),
 * password, database, schema, tables, views, schema_dir, assertions; plus
 * the redacted target and the describe() view.  Owns struct pf_pg_cfg;
 * the schema_dir merge is in postgres_schema.c, hints in postgres_hint.c.
 */
#include <cjson/cJSON.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_config.h"
#include "pf_schema.h"
#include "pf_util.h"
#include "postgres.h"
#include "pf_mask.h"

/* NAMEDATALEN - 1: longer identifiers are silently truncated by the server
 * and would never match. */
#define PG_IDENT_MAX 63

const char *pf_pg_cfg_dbname(const struct pf_pg_cfg *c)
{
	if (c->database)
		return c->database;
	return c->dbname ? c->dbname : "?";
}

/* The environment default libpq itself would use for a connection key
 * that decides where to connect, or NULL. */
static const char *env_default(const char *keyword)
{
	static const char *const env[][2] = {
		{ "host", "PGHOST" }, { "hostaddr", "PGHOSTADDR" }, { "port", "PGPORT" },
	};

	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
		const char *v = strcmp(keyword, env[i][0]) == 0 ? getenv(env[i][1]) : NULL;
		if (v && *v)
			return v;
	}
	return NULL;
}

/* Takes the values libpq parsed; drops the ones the probe sets itself. */
static int take_conninfo(struct pf_pg_cfg *c, PQconninfoOption *opts)
{
	size_t n = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		n++;
	c->keys = calloc(n + 1, sizeof *c->keys);
	c->vals = calloc(n + 1, sizeof *c->vals);
	if (!c->keys || !c->vals)
		return -1;
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		/* libpq would fill a missing host from $PGHOST at connect time and
		 * resolve it with a blocking getaddrinfo(): take the environment's
		 * host here so the probe resolves it asynchronously like any other. */
		const char *val = o->val ? o->val : env_default(o->keyword);
		if (val == NULL)
			continue;
		if (strcmp(o->keyword, "options") == 0) {
			if ((c->user_options = strdup(val)) == NULL)
				return -1;
			continue;
		}
		if (strcmp(o->keyword, "application_name") == 0)
			continue;
		c->keys[c->n_conn] = strdup(o->keyword);
		c->vals[c->n_conn] = strdup(val);
		if (!c->keys[c->n_conn] || !c->vals[c->n_conn])
			return -1;
		c->n_conn++;
	}
	return 0;
}

/* Points the borrowed fields at the parsed values. */
static void index_conninfo(struct pf_pg_cfg *c)
{
	for (size_t i = 0; i < c->n_conn; i++) {
		const char *k = c->keys[i], *v = c->vals[i];
		if (strcmp(k, "password") == 0)
			c->password = v;
		else if (strcmp(k, "host") == 0)
			c->host = v;
		else if (strcmp(k, "port") == 0)
			c->port = v;
		else if (strcmp(k, "dbname") == 0)
			c->dbname = v;
		else if (strcmp(k, "hostaddr") == 0)
			c->has_hostaddr = *v != '\0';
		else if (strcmp(k, "gssencmode") == 0)
			c->has_gssencmode = true;
	}
}

/* postgresql+psycopg2://, postgresql+asyncpg://, postgres+x://: the
 * services' SQLAlchemy URLs.  They strip "+driver" themselves before
 * connecting, and so do we; libpq takes postgres:// and postgresql://. */
static void drop_driver(char *url)
{
	char *plus = strchr(url, '+'), *scheme = strstr(url, "://");
	size_t n = plus ? (size_t)(plus - url) : 0;

	if (!plus || !scheme || plus > scheme ||
	    !((n == 10 && strncmp(url, "postgresql", 10) == 0) ||
	      (n == 8 && strncmp(url, "postgres", 8) == 0)))
		return;
	memmove(plus, scheme, strlen(scheme) + 1);
}

static int parse_url(struct pf_pg_cfg *c, const char *path, char *err,
		     size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts;

	if (c->url[strspn(c->url, " \t")] == '\0') {
		snprintf(err, errlen, "%s.url: must not be empty (a libpq URL such"
			 " as postgresql://user@host/db, or a key=value DSN)", path);
		return -1;
	}
	drop_driver(c->url);
	opts = PQconninfoParse(c->url, &perr);
	if (opts == NULL) {
		char msg[PF_ERROR_MAX];
		/* libpq quotes the offending token, which may be the password
		 * (a bad %-escape in it): mask what looks like one. */
		pf_pg_clean_message(msg, sizeof msg,
				    perr ? perr : "out of memory", NULL);
		char *at = strchr(c->url, '@'), *scheme = strstr(c->url, "://");
		if (at && scheme && scheme < at) {
			char *colon = memchr(scheme + 3, ':',
					     (size_t)(at - scheme - 3));
			if (colon) {
				char secret[256];
				size_t n = (size_t)(at - colon - 1);
				if (n >= sizeof secret)
					n = sizeof secret - 1;
				memcpy(secret, colon + 1, n);
				secret[n] = '\0';
				pf_mask_secret(msg, sizeof msg, secret);
			}
		}
		snprintf(err, errlen, "%s.url: not a valid libpq URL or DSN: %s",
			 path, msg);
		PQfreemem(perr);
		return -1;
	}
	int rc = take_conninfo(c, opts);
	PQconninfoFree(opts);
	if (rc != 0) {
		snprintf(err, errlen, "%s.url: out of memory", path);
		return -1;
	}
	index_conninfo(c);
	return 0;
}

/* `password`, used when the URL has none (the services' own environment
 * keeps it apart: CHAT_DB_PASSWORD, DB_PASSWORD). */
static int add_password(struct pf_pg_cfg *c, const cJSON *obj, const char *path,
			char *err, size_t errlen)
{
	char *pw = NULL;
	const char *env = getenv("PGPASSWORD");

	if (pf_cfg_str(obj, path, "password", false, &pw, err, errlen) < 0)
		return -1;
	if (pw && !c->password) {
		char **k = realloc(c->keys, (c->n_conn + 2) * sizeof *k);
		char **v = k ? realloc(c->vals, (c->n_conn + 2) * sizeof *v) : NULL;
		if (k)
			c->keys = k;
		if (v)
			c->vals = v;
		if (!k || !v || !(c->keys[c->n_conn] = strdup("password"))) {
			free(pw);
			snprintf(err, errlen, "%s.password: out of memory", path);
			return -1;
		}
		c->vals[c->n_conn++] = pw;
		c->keys[c->n_conn] = c->vals[c->n_conn] = NULL;
		c->password_from_key = true;
		pw = NULL;
		index_conninfo(c);
	}
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
	c->password_configured = c->password || (env && *env);
	return 0;
}

/* loc is the full JSON path of the value, e.g. "checks[0].tables.t[2]". */
static int check_ident(const char *s, const char *loc, char *err, size_t errlen)
{
	if (*s == '\0' || strlen(s) > PG_IDENT_MAX) {
		snprintf(err, errlen, "%s: \"%.80s\" is not a PostgreSQL"
			 " name (1 to %d bytes)", loc, s, PG_IDENT_MAX);
		return -1;
	}
	return 0;
}

/* "name" or "schema.name" into t (owned copies). */
static int parse_relname(struct pf_pg_table *t, const char *s, const char *loc,
			 char *err, size_t errlen)
{
	const char *dot = strchr(s, '.');

	if (dot) {
		if ((t->schema = strndup(s, (size_t)(dot - s))) == NULL)
			goto oom;
		if (check_ident(t->schema, loc, err, errlen) != 0)
			return -1;
		s = dot + 1;
	}
	if (check_ident(s, loc, err, errlen) != 0)
		return -1;
	if ((t->name = strdup(s)) == NULL)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", loc);
	return -1;
}

/* One entry of `tables`: "name" or "schema.name": ["col", ...]. */
static int parse_table(struct pf_pg_table *t, const cJSON *item,
		       const char *path, char *err, size_t errlen)
{
	char where[300], loc[400];
	snprintf(where, sizeof where, "%s.tables", path);
	snprintf(loc, sizeof loc, "%s.%s", where, item->string);
	if (parse_relname(t, item->string, loc, err, errlen) != 0)
		return -1;
	if (!cJSON_IsArray(item)) {
		snprintf(err, errlen, "%s.%s: must be an array of column names"
			 " ([] = the table only)", where, item->string);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(item);
	if ((t->columns = calloc(n + 1, sizeof *t->columns)) == NULL)
		goto oom;
	const cJSON *col;
	cJSON_ArrayForEach(col, item) {
		if (!cJSON_IsString(col)) {
			snprintf(err, errlen, "%s.%s[%zu]: must be a column name",
				 where, item->string, t->n_columns);
			return -1;
		}
		char cwhere[400];
		snprintf(cwhere, sizeof cwhere, "%s.%s[%zu]", where,
			 item->string, t->n_columns);
		if (check_ident(col->valuestring, cwhere, err, errlen) != 0)
			return -1;
		if ((t->columns[t->n_columns] = strdup(col->valuestring)) == NULL)
			goto oom;
		t->n_columns++;
	}
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", where);
	return -1;
}

static int parse_tables(struct pf_pg_cfg *c, const cJSON *obj,
			const char *path, char *err, size_t errlen)
{
	const cJSON *tables = cJSON_GetObjectItemCaseSensitive(obj, "tables");
	if (tables == NULL)
		goto param;
	if (!cJSON_IsObject(tables)) {
		snprintf(err, errlen, "%s.tables: must be an object: table ->"
			 " array of required columns", path);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(tables);
	if ((c->tables = calloc(n ? n : 1, sizeof *c->tables)) == NULL)
		goto oom;
	const cJSON *item;
	cJSON_ArrayForEach(item, tables) {
		if (parse_table(&c->tables[c->n_tables++], item, path, err,
				errlen) != 0)
			return -1;
	}
param:
	return 0;
oom:
	snprintf(err, errlen, "%s.tables: out of memory", path);
	return -1;
}

/* `views`: views or materialized views ("v" or "schema.v") that must
 * exist, appended to the tables as relations without columns. */
static int parse_views(struct pf_pg_cfg *c, const cJSON *obj, const char *path,
		       char *err, size_t errlen)
{
	char **names = NULL;
	size_t n = 0;
	struct pf_pg_table *t;

	if (pf_cfg_strv(obj, path, "views", &names, &n, err, errlen) < 0)
		return -1;
	if (n == 0) {
		pf_cfg_strv_free(names);
		return 0;
	}
	if (!(t = realloc(c->tables, (c->n_tables + n) * sizeof *t))) {
		pf_cfg_strv_free(names);
		snprintf(err, errlen, "%s.views: out of memory", path);
		return -1;
	}
	c->tables = t;
	for (size_t i = 0; i < n; i++) {
		char loc[300];
		struct pf_pg_table *v = &c->tables[c->n_tables++];
		memset(v, 0, sizeof *v);
		v->view = true;
		snprintf(loc, sizeof loc, "%s.views[%zu]", path, i);
		if (parse_relname(v, names[i], loc, err, errlen) != 0 ||
		    !(v->columns = calloc(1, sizeof *v->columns))) {
			pf_cfg_strv_free(names);
			return -1;
		}
	}
	pf_cfg_strv_free(names);
	return 0;
}

int pf_pg_cfg_params(struct pf_pg_cfg *c)
{
	char *s, *n;

	if (pf_pg_text_arrays(c->tables, c->n_tables, c->schema, &s, &n) < 0)
		return -1;
	free(c->schemas_param);
	free(c->names_param);
	c->schemas_param = s;
	c->names_param = n;
	return 0;
}

static int parse_assertion(struct pf_pg_assertion *a, const cJSON *item,
			   const char *path, char *err, size_t errlen)
{
	if (!cJSON_IsObject(item)) {
		snprintf(err, errlen, "%s: must be an object {\"name\", \"sql\","
			 " \"expect\"}", path);
		return -1;
	}
	const cJSON *k;
	cJSON_ArrayForEach(k, item) {
		if (strcmp(k->string, "name") && strcmp(k->string, "sql") &&
		    strcmp(k->string, "expect")) {
			snprintf(err, errlen, "%s.%s: unknown key (expected name,"
				 " sql, expect)", path, k->string);
			return -1;
		}
	}
	if (pf_cfg_str(item, path, "name", true, &a->name, err, errlen) ||
	    pf_cfg_str(item, path, "sql", true, &a->sql, err, errlen) ||
	    pf_cfg_str(item, path, "expect", true, &a->expect, err, errlen))
		return -1;
	if (*a->sql == '\0') {
		snprintf(err, errlen, "%s.sql: must not be empty", path);
		return -1;
	}
	if (pf_pg_expect_parse(a->expect, &a->cmp) != 0) {
		snprintf(err, errlen, "%s.expect: \"%.80s\" is not a comparison"
			 " such as \"== 0\", \"< 100\", \">= 1\"", path,
			 a->expect);
		return -1;
	}
	return 0;
}

static int parse_assertions(struct pf_pg_cfg *c, const cJSON *obj,
			    const char *path, char *err, size_t errlen)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "assertions");
	if (arr == NULL)
		return 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "%s.assertions: must be an array of"
			 " {\"name\", \"sql\", \"expect\"}", path);
		return -1;
	}
	size_t n = (size_t)cJSON_GetArraySize(arr);
	if ((c->assertions = calloc(n ? n : 1, sizeof *c->assertions)) == NULL) {
		snprintf(err, errlen, "%s.assertions: out of memory", path);
		return -1;
	}
	const cJSON *item;
	cJSON_ArrayForEach(item, arr) {
		char where[300];
		snprintf(where, sizeof where, "%s.assertions[%zu]", path,
			 c->n_assertions);
		if (parse_assertion(&c->assertions[c->n_assertions++], item,
				    where, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int pf_pg_cfg_parse(const cJSON *obj, const cJSON *raw,
		const char *path, void **out,
		    char *err, size_t errlen)
{
	struct pf_pg_cfg *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (pf_cfg_str(obj, path, "url", true, &c->url, err, errlen) ||
	    pf_cfg_str(obj, path, "database", false, &c->database, err, errlen) ||
	    pf_cfg_str(obj, path, "schema", false, &c->schema, err, errlen) ||
	    pf_cfg_str(obj, path, "schema_dir", false, &c->schema_dir, err,
		       errlen) ||
	    pf_cfg_bool(obj, path, "allow_replica", &c->allow_replica, err, errlen) ||
	    pf_cfg_bool(obj, path, "require_views", &c->require_views, err, errlen))
		goto fail;
	/* the target shows the URL as configured (its driver included) */
	size_t rlen = strlen(c->url) + 16;
	if ((c->redacted = malloc(rlen)) == NULL)
		goto oom;
	pf_mask_url(c->url, c->redacted, rlen);
	if (parse_url(c, path, err, errlen) ||
	    add_password(c, obj, path, err, errlen) ||
	    parse_tables(c, obj, path, err, errlen) ||
	    parse_views(c, obj, path, err, errlen) ||
	    parse_assertions(c, obj, path, err, errlen))
		goto fail;
	if (c->schema == NULL && (c->schema = strdup("public")) == NULL)
		goto oom;
	char where[300];
	snprintf(where, sizeof where, "%s.schema", path);
	if (check_ident(c->schema, where, err, errlen) != 0 ||
	    pf_pg_schema_merge(c, path, err, errlen) != 0)
		goto fail;
	if (pf_pg_cfg_params(c) != 0)
		goto oom;
	*out = c;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", path);
fail:
	pf_pg_cfg_free(c);
	return -1;
}

static void free_strv(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void pf_pg_cfg_free(void *cfg)
{
	struct pf_pg_cfg *c = cfg;
	if (c == NULL)
		return;
	free(c->url);
	free(c->redacted);
	free_strv(c->keys, c->n_conn);
	free_strv(c->vals, c->n_conn);
	free(c->user_options);
	free(c->database);
	free(c->schema);
	pf_pg_tables_free(c->tables, c->n_tables);
	free(c->schemas_param);
	free(c->names_param);
	free(c->schema_dir);
	pf_schema_free(c->model);
	for (size_t i = 0; i < c->n_assertions; i++) {
		free(c->assertions[i].name);
		free(c->assertions[i].sql);
		free(c->assertions[i].expect);
	}
	free(c->assertions);
	free(c);
}

void pf_pg_cfg_target(const void *cfg, char *buf, size_t len)
{
	const struct pf_pg_cfg *c = cfg;
	pf_strlcpy(buf, c->redacted, len);
}

cJSON *pf_pg_cfg_describe(const void *cfg)
{
	const struct pf_pg_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject();
	char q[200];
	cJSON_AddStringToObject(o, "url", c->redacted);
	if (c->password_from_key)
		cJSON_AddStringToObject(o, "password", "***");
	if (c->database)
		cJSON_AddStringToObject(o, "database", c->database);
	cJSON_AddStringToObject(o, "schema", c->schema);
	cJSON_AddBoolToObject(o, "allow_replica", c->allow_replica);
	cJSON *t = cJSON_AddObjectToObject(o, "tables");
	cJSON *v = cJSON_AddArrayToObject(o, "views");
	size_t dviews = 0;
	for (size_t i = 0; i < c->n_tables; i++) {
		/* derived objects are counted below, not listed: a real
		 * migration folder derives hundreds */
		if (c->tables[i].file) {
			dviews += c->tables[i].view;
			continue;
		}
		pf_pg_qualified(&c->tables[i], c->schema, q, sizeof q);
		if (c->tables[i].view) {
			cJSON_AddItemToArray(v, cJSON_CreateString(q));
			continue;
		}
		cJSON *cols = cJSON_AddArrayToObject(t, q);
		for (size_t j = 0; j < c->tables[i].n_columns; j++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(
				c->tables[i].columns[j]));
	}
	if (c->require_views)
		cJSON_AddTrueToObject(o, "require_views");
	if (c->schema_dir) {
		/* `tables` above lists what the folder does not create */
		cJSON_AddStringToObject(o, "schema_dir", c->schema_dir);
		cJSON *d = cJSON_AddObjectToObject(o, "schema_dir_derived");
		cJSON_AddNumberToObject(d, "tables", (double)c->derived_tables);
		cJSON_AddNumberToObject(d, "columns", (double)c->derived_columns);
		cJSON_AddNumberToObject(d, "required_views", (double)dviews);
	}
	cJSON *a = cJSON_AddArrayToObject(o, "assertions");
	for (size_t i = 0; i < c->n_assertions; i++) {
		cJSON *item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "name", c->assertions[i].name);
		cJSON_AddStringToObject(item, "sql", c->assertions[i].sql);
		cJSON_AddStringToObject(item, "expect", c->assertions[i].expect);
		cJSON_AddItemToArray(a, item);
	}
	return o;
}
