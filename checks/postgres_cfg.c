/*
 * The postgres kind's key table: url/DSN (parsed with PQconninfoParse,
 * which never blocks; the SQLAlchemy forms postgresql+driver:// accepted),
 * password, database, schema, tables, views, schema_dir, assertions.  Its
 * check hook derives the connection keys and the catalog query's
 * parameters; the schema_dir merge is in postgres_schema.c, hints in
 * postgres_hint.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <libpq-fe.h>

#include "pf_config.h"
#include "pf_keys.h"
#include "pf_mask.h"
#include "pf_schema.h"
#include "pf_util.h"
#include "postgres.h"

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

/* Masks the password of a URL that libpq refused in its message. */
static void mask_url_password(const char *url, char *msg, size_t len)
{
	const char *at = strchr(url, '@'), *scheme = strstr(url, "://");
	const char *colon = at && scheme && scheme < at ?
		memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
	char secret[256];
	size_t n;

	if (!colon)
		return;
	n = (size_t)(at - colon - 1);
	if (n >= sizeof secret)
		n = sizeof secret - 1;
	memcpy(secret, colon + 1, n);
	secret[n] = '\0';
	pf_mask_secret(msg, len, secret);
	explicit_bzero(secret, sizeof secret);
}

/* The connection keys from url (left as configured: the target shows
 * it with its driver). */
static int parse_url(struct pf_pg_cfg *c, const char *path, char *err,
		     size_t errlen)
{
	char *perr = NULL, *url;
	PQconninfoOption *opts;

	if (c->url[strspn(c->url, " \t")] == '\0')
		return pf_keys_fail(err, errlen, path, "url", "must not be empty (a libpq URL such"
			 " as postgresql://user@host/db, or a key=value DSN)");
	if (!(url = strdup(c->url)))
		return pf_keys_fail(err, errlen, path, "url", "out of memory");
	drop_driver(url);
	opts = PQconninfoParse(url, &perr);
	explicit_bzero(url, strlen(url));
	free(url);
	if (opts == NULL) {
		char msg[PF_ERROR_MAX];
		/* libpq quotes the offending token, which may be the password
		 * (a bad %-escape in it): mask what looks like one. */
		pf_pg_clean_message(msg, sizeof msg,
				    perr ? perr : "out of memory", NULL);
		mask_url_password(c->url, msg, sizeof msg);
		PQfreemem(perr);
		return pf_keys_fail(err, errlen, path, "url", "not a valid libpq"
				    " URL or DSN: %s", msg);
	}
	int rc = take_conninfo(c, opts);
	PQconninfoFree(opts);
	if (rc != 0)
		return pf_keys_fail(err, errlen, path, "url", "out of memory");
	index_conninfo(c);
	return 0;
}

/* `password`, used when the URL has none (the services' own environment
 * keeps it apart: CHAT_DB_PASSWORD, DB_PASSWORD). */
static int add_password(struct pf_pg_cfg *c, const char *path, char *err,
			size_t errlen)
{
	const char *env = getenv("PGPASSWORD");
	const char *pw = c->password_key ? c->password_key->value : NULL;

	if (pw && !c->password) {
		char **k = realloc(c->keys, (c->n_conn + 2) * sizeof *k);
		char **v = k ? realloc(c->vals, (c->n_conn + 2) * sizeof *v) : NULL;

		if (k)
			c->keys = k;
		if (v)
			c->vals = v;
		if (k && v)	/* free_conninfo frees up to n_conn */
			k[c->n_conn] = k[c->n_conn + 1] = v[c->n_conn] =
				v[c->n_conn + 1] = NULL;
		if (!k || !v || !(c->keys[c->n_conn] = strdup("password")) ||
		    !(c->vals[c->n_conn] = strdup(pw)))
			return pf_keys_fail(err, errlen, path, "password", "out of memory");
		c->n_conn++;
		c->keys[c->n_conn] = c->vals[c->n_conn] = NULL;
		index_conninfo(c);
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
	char loc[400];
	const cJSON *col;

	snprintf(loc, sizeof loc, "%s.%s", path, item->string);
	if (parse_relname(t, item->string, loc, err, errlen) != 0)
		return -1;
	if (!cJSON_IsArray(item)) {
		snprintf(err, errlen, "%s: must be an array of column names"
			 " ([] = the table only)", loc);
		return -1;
	}
	t->columns = calloc((size_t)cJSON_GetArraySize(item) + 1,
			    sizeof *t->columns);
	if (t->columns == NULL)
		goto oom;
	cJSON_ArrayForEach(col, item) {
		char cwhere[420];

		snprintf(cwhere, sizeof cwhere, "%s[%zu]", loc, t->n_columns);
		if (!cJSON_IsString(col)) {
			snprintf(err, errlen, "%s: must be a column name", cwhere);
			return -1;
		}
		if (check_ident(col->valuestring, cwhere, err, errlen) != 0)
			return -1;
		if ((t->columns[t->n_columns] = strdup(col->valuestring)) == NULL)
			goto oom;
		t->n_columns++;
	}
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", loc);
	return -1;
}

/* `tables`: an object of table -> required columns, into a pf_pg_rels. */
static int tables_parse(const cJSON *v, const char *path, void *field,
			char *err, size_t errlen)
{
	struct pf_pg_rels *r = field;
	const cJSON *item;

	if (!cJSON_IsObject(v)) {
		snprintf(err, errlen, "%s: must be an object: table ->"
			 " array of required columns", path);
		return -1;
	}
	r->v = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *r->v);
	if (r->v == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	cJSON_ArrayForEach(item, v)
		if (parse_table(&r->v[r->n++], item, path, err, errlen) != 0)
			return -1;
	return 0;
}

static void tables_free(void *field)
{
	struct pf_pg_rels *r = field;

	pf_pg_tables_free(r->v, r->n);
	r->v = NULL;
	r->n = 0;
}

/* The hand-written tables as configured; migrations' ones are counted by
 * the table's describe hook, views listed under `views`. */
static cJSON *tables_describe(const void *field)
{
	const struct pf_pg_rels *r = field;
	cJSON *o = cJSON_CreateObject();
	char q[200];

	for (size_t i = 0; o && i < r->n; i++) {
		const struct pf_pg_table *t = &r->v[i];
		cJSON *cols;

		if (t->file || t->view)
			continue;
		snprintf(q, sizeof q, "%s%s%s", t->schema ? t->schema : "",
			 t->schema ? "." : "", t->name);
		cols = cJSON_AddArrayToObject(o, q);
		for (size_t j = 0; cols && j < t->n_columns; j++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(t->columns[j]));
	}
	return o;
}

static const struct pf_key_custom tables_type = {
	.parse = tables_parse, .free = tables_free, .describe = tables_describe,
	.type_doc = "object: table -> [columns]",
	.schema = "{\"type\":\"object\",\"additionalProperties\":"
		  "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}}",
};

/* `views`: views or materialized views ("v" or "schema.v") that must
 * exist, appended to the tables as relations without columns. */
static int add_views(struct pf_pg_cfg *c, const char *path, char *err,
		     size_t errlen)
{
	struct pf_pg_table *t;

	if (c->views.n == 0)
		return 0;
	t = realloc(c->rels.v, (c->rels.n + c->views.n + 1) * sizeof *t);
	if (!t)
		return pf_keys_fail(err, errlen, path, "views", "out of memory");
	c->rels.v = t;
	for (size_t i = 0; i < c->views.n; i++) {
		char loc[300];
		struct pf_pg_table *v = &c->rels.v[c->rels.n++];

		memset(v, 0, sizeof *v);
		v->view = true;
		snprintf(loc, sizeof loc, "%s.views[%zu]", path, i);
		if (parse_relname(v, c->views.v[i], loc, err, errlen) != 0)
			return -1;
		if (!(v->columns = calloc(1, sizeof *v->columns))) {
			snprintf(err, errlen, "%s: out of memory", loc);
			return -1;
		}
	}
	return 0;
}

int pf_pg_cfg_params(struct pf_pg_cfg *c)
{
	char *s, *n;

	if (pf_pg_text_arrays(c->rels.v, c->rels.n, c->schema, &s, &n) < 0)
		return -1;
	free(c->schemas_param);
	free(c->names_param);
	c->schemas_param = s;
	c->names_param = n;
	return 0;
}

static int assertion_check(void *obj, const cJSON *json, const char *path,
			   char *err, size_t errlen)
{
	struct pf_pg_assertion *a = obj;

	(void)json;
	if (*a->sql == '\0')
		return pf_keys_fail(err, errlen, path, "sql", "must not be empty");
	if (pf_pg_expect_parse(a->expect, &a->cmp) != 0)
		return pf_keys_fail(err, errlen, path, "expect", "\"%.80s\" is not a comparison"
			 " such as \"== 0\", \"< 100\", \">= 1\"",
			 a->expect);
	return 0;
}

static const struct pf_key assertion_key_list[] = {
	{ .name = "name", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_pg_assertion, name),
	  .doc = "names the assertion in errors and details" },
	{ .name = "sql", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_pg_assertion, sql),
	  .doc = "one read-only statement whose first column of the first row"
		 " is compared" },
	{ .name = "expect", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_pg_assertion, expect),
	  .doc = "a comparison: \"== 0\", \"< 100\", \">= 1\"" },
	{ 0 }
};

static const struct pf_keys assertion_keys = {
	.name = "postgres.assertions[]", .keys = assertion_key_list,
	.size = sizeof(struct pf_pg_assertion), .check = assertion_check,
	.doc = "One SQL assertion, run in a read-only transaction.",
};

static int pg_check(void *obj, const cJSON *json, const char *path,
		    char *err, size_t errlen)
{
	struct pf_pg_cfg *c = obj;
	char where[300];

	(void)json;
	snprintf(where, sizeof where, "%s.schema", path);
	if (parse_url(c, path, err, errlen) != 0 ||
	    add_password(c, path, err, errlen) != 0 ||
	    add_views(c, path, err, errlen) != 0 ||
	    check_ident(c->schema, where, err, errlen) != 0 ||
	    pf_pg_schema_merge(c, path, err, errlen) != 0)
		return -1;
	if (pf_pg_cfg_params(c) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* Frees n_conn entries and the one a failed add may have left at n_conn. */
static void free_conninfo(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i <= n; i++) {
		if (v[i])
			explicit_bzero(v[i], strlen(v[i]));
		free(v[i]);
	}
	free(v);
}

/* What pg_check derived (the keys are freed by the table). */
static void pg_free(void *obj)
{
	struct pf_pg_cfg *c = obj;

	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	free_conninfo(c->keys, c->n_conn);
	free_conninfo(c->vals, c->n_conn);
	free(c->user_options);
	free(c->schemas_param);
	free(c->names_param);
	pf_schema_free(c->model);
}

/* `views` lists what the migrations do not create; what schema_dir
 * derived is counted (a real folder derives hundreds). */
static void pg_describe(const void *obj, cJSON *out)
{
	const struct pf_pg_cfg *c = obj;
	cJSON *views = cJSON_AddArrayToObject(out, "views"), *d;
	size_t dviews = 0;
	char q[200];

	for (size_t i = 0; views && i < c->rels.n; i++) {
		const struct pf_pg_table *t = &c->rels.v[i];

		if (!t->view || t->file)
			continue;
		snprintf(q, sizeof q, "%s%s%s", t->schema ? t->schema : "",
			 t->schema ? "." : "", t->name);
		cJSON_AddItemToArray(views, cJSON_CreateString(q));
	}
	if (!c->schema_dir)
		return;
	for (size_t i = 0; i < c->rels.n; i++)
		dviews += c->rels.v[i].file && c->rels.v[i].view;
	d = cJSON_AddObjectToObject(out, "schema_dir_derived");
	cJSON_AddNumberToObject(d, "tables", (double)c->derived_tables);
	cJSON_AddNumberToObject(d, "columns", (double)c->derived_columns);
	cJSON_AddNumberToObject(d, "required_views", (double)dviews);
}

static const struct pf_key pg_key_list[] = {
	{ .name = "url", .type = PF_KEY_URL, .required = true,
	  .offset = offsetof(struct pf_pg_cfg, url),
	  .doc = "libpq URL or key=value DSN; postgresql+driver:// accepted"
		 " (the services' SQLAlchemy URLs)" },
	{ .name = "password", .type = PF_KEY_SECRET,
	  .offset = offsetof(struct pf_pg_cfg, password_key),
	  .doc = "used when the URL has none (CHAT_DB_PASSWORD, DB_PASSWORD)" },
	{ .name = "database", .type = PF_KEY_STRING,
	  .offset = offsetof(struct pf_pg_cfg, database),
	  .doc = "expected current_database(): wrong_database otherwise" },
	{ .name = "schema", .type = PF_KEY_STRING, .def = "\"public\"",
	  .offset = offsetof(struct pf_pg_cfg, schema),
	  .doc = "schema of unqualified table names" },
	{ .name = "tables", .type = PF_KEY_CUSTOM, .custom = &tables_type,
	  .offset = offsetof(struct pf_pg_cfg, rels),
	  .doc = "required tables and their required columns ([] = the table"
		 " only)" },
	{ .name = "views", .type = PF_KEY_STRINGS, .hidden = true,
	  .offset = offsetof(struct pf_pg_cfg, views),
	  .doc = "views or materialized views that must exist" },
	{ .name = "require_views", .type = PF_KEY_BOOL, .def = "false",
	  .offset = offsetof(struct pf_pg_cfg, require_views),
	  .doc = "every view schema_dir creates is required too" },
	{ .name = "schema_dir", .type = PF_KEY_STRING,
	  .offset = offsetof(struct pf_pg_cfg, schema_dir),
	  .doc = "folder of migration files: the tables and columns they create"
		 " are required" },
	{ .name = "allow_replica", .type = PF_KEY_BOOL, .def = "false",
	  .offset = offsetof(struct pf_pg_cfg, allow_replica),
	  .doc = "a server in recovery passes instead of read_only" },
	{ .name = "assertions", .type = PF_KEY_OBJECTS, .sub = &assertion_keys,
	  .offset = offsetof(struct pf_pg_cfg, assertions),
	  .doc = "SQL whose answer must compare as expected" },
	{ 0 }
};

const struct pf_keys pf_pg_keys = {
	.name = "postgres", .keys = pg_key_list, .size = sizeof(struct pf_pg_cfg),
	.check = pg_check, .free = pg_free, .describe = pg_describe,
	.target = "url",
	.doc = "Connect and authenticate, check the database, the tables,"
	       " columns and views the services need, and run assertions.",
};
