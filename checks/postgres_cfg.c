/*
 * The postgres kind's configuration: url/DSN (parsed with PQconninfoParse,
 * which never blocks), database, schema, tables, schema_dir, assertions;
 * plus the redacted target, the describe() view and the kind's hints.
 * Owns struct pf_pg_cfg; the schema_dir merge is in postgres_schema.c.
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

/* "host:port" (or the socket dir) for hints; never holds a secret. */
const char *pf_pg_where(const struct pf_pg_cfg *c, char *buf, size_t len)
{
	if (c->host == NULL || *c->host == '\0')
		return pf_strlcpy(buf, "the default socket", len), buf;
	if (c->host[0] == '/')
		snprintf(buf, len, "socket directory %s", c->host);
	else
		snprintf(buf, len, "%s:%s", c->host, c->port ? c->port : "5432");
	return buf;
}

void pf_pg_tls_hint(const char *msg, const char *where, char *h, size_t n)
{
	h[0] = '\0';
	if (msg == NULL)
		return;
	/* libpq reports every chain failure (unknown CA, expired, not yet
	 * valid) as "certificate verify failed", so that hint names both. */
	if (strstr(msg, "does not support SSL"))
		snprintf(h, n, "%s does not offer TLS but sslmode requires it:"
			 " turn ssl on at the server, or use sslmode=prefer"
			 " only where the path is private (unix socket, Cloud"
			 " SQL Auth Proxy)", where);
	else if (strstr(msg, "does not match host name"))
		snprintf(h, n, "the certificate of %s does not name the host"
			 " in the URL: connect with a name its subjectAltName"
			 " lists, or reissue the certificate for this name",
			 where);
	else if (strstr(msg, "root certificate file"))
		snprintf(h, n, "sslrootcert names no readable file: mount the"
			 " CA certificate that issued the server's (Cloud SQL:"
			 " server-ca.pem) at that path");
	else if (strstr(msg, "certificate verify failed"))
		snprintf(h, n, "the certificate of %s is not trusted: point"
			 " sslrootcert at the CA that issued it (Cloud SQL:"
			 " server-ca.pem), and check that it has not expired",
			 where);
	else if (strstr(msg, "protocol version") ||
		 strstr(msg, "unsupported protocol"))
		snprintf(h, n, "%s and this client share no TLS version: align"
			 " ssl_min_protocol_version/ssl_max_protocol_version"
			 " in the URL with the server's settings", where);
	else if (strstr(msg, "no pg_hba.conf entry") &&
		 strstr(msg, "no encryption"))
		snprintf(h, n, "no pg_hba.conf line of %s admits this"
			 " unencrypted connection: if it takes clients only"
			 " over TLS (hostssl), set sslmode=verify-full with"
			 " sslrootcert (or sslmode=require); else add a"
			 " pg_hba entry for this client's address", where);
}

void pf_pg_hint(const struct pf_pg_cfg *c, enum pf_reason reason,
		bool private_addr, const char *error, char *h, size_t n)
{
	const char *db = pf_pg_cfg_dbname(c);
	char w[256];

	pf_pg_where(c, w, sizeof w);
	switch (reason) {
	case PF_REASON_MISSING_TABLE:
	case PF_REASON_MISSING_COLUMN:
		pf_pg_migration_hint(db, NULL, h, n);
		break;
	case PF_REASON_TLS:
		pf_pg_tls_hint(error, w, h, n);
		break;
	case PF_REASON_AUTH:
		pf_pg_tls_hint(error, w, h, n);
		if (h[0] != '\0')
			break;
		snprintf(h, n, "the server rejected the credentials for database"
			 " %s: check the user and password in the mounted"
			 " secret, that the role exists and may log in (pg_hba"
			 " allows it, SCRAM password set)", db);
		break;
	case PF_REASON_WRONG_DATABASE:
		snprintf(h, n, "point the URL at database %s, or create it and"
			 " grant the role CONNECT on it", db);
		break;
	case PF_REASON_CONNECT_REFUSED:
		if (c->host && c->host[0] == '/')
			snprintf(h, n, "no PostgreSQL socket in %s: is the Cloud"
				 " SQL connector/proxy running and the volume"
				 " mounted there?", c->host);
		break;
	case PF_REASON_CONNECT_TIMEOUT:
		if (!private_addr)
			snprintf(h, n, "nothing accepted the TCP connection to %s:"
				 " check the host, port, firewall rules and"
				 " authorized networks", w);
		break;
	case PF_REASON_PROTOCOL:
		snprintf(h, n, "%s does not speak the PostgreSQL protocol: is"
			 " the host or port pointing at another service?", w);
		break;
	default:
		break;
	}
}

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

static int parse_url(struct pf_pg_cfg *c, const char *path, char *err,
		     size_t errlen)
{
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(c->url, &perr);
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
				pf_pg_scrub(msg, sizeof msg, secret);
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

/* One entry of `tables`: "name": ["col", ...]. */
static int parse_table(struct pf_pg_table *t, const cJSON *item,
		       const char *path, char *err, size_t errlen)
{
	char where[300], loc[400];
	snprintf(where, sizeof where, "%s.tables", path);
	snprintf(loc, sizeof loc, "%s.%s", where, item->string);
	if (check_ident(item->string, loc, err, errlen) != 0)
		return -1;
	if ((t->name = strdup(item->string)) == NULL)
		goto oom;
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
	if ((c->tables_param = pf_pg_text_array(c->tables, c->n_tables)) == NULL)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "%s.tables: out of memory", path);
	return -1;
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

int pf_pg_cfg_parse(const cJSON *obj, const char *path, void **out,
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
	    parse_url(c, path, err, errlen) ||
	    parse_tables(c, obj, path, err, errlen) ||
	    parse_assertions(c, obj, path, err, errlen))
		goto fail;
	if (c->schema == NULL && (c->schema = strdup("public")) == NULL)
		goto oom;
	char where[300];
	snprintf(where, sizeof where, "%s.schema", path);
	if (check_ident(c->schema, where, err, errlen) != 0 ||
	    pf_pg_schema_merge(c, path, err, errlen) != 0)
		goto fail;
	size_t rlen = strlen(c->url) + 16;
	if ((c->redacted = malloc(rlen)) == NULL)
		goto oom;
	pf_redact_url(c->url, c->redacted, rlen);
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
	for (size_t i = 0; i < c->n_tables; i++) {
		free(c->tables[i].name);
		free_strv(c->tables[i].columns, c->tables[i].n_columns);
		free(c->tables[i].column_files);
	}
	free(c->tables);
	free(c->tables_param);
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
	cJSON_AddStringToObject(o, "url", c->redacted);
	if (c->database)
		cJSON_AddStringToObject(o, "database", c->database);
	cJSON_AddStringToObject(o, "schema", c->schema);
	cJSON *t = cJSON_AddObjectToObject(o, "tables");
	for (size_t i = 0; i < c->n_tables; i++) {
		cJSON *cols = cJSON_AddArrayToObject(t, c->tables[i].name);
		for (size_t j = 0; j < c->tables[i].n_columns; j++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(
				c->tables[i].columns[j]));
	}
	if (c->schema_dir) {
		/* `tables` above is the merged set; say what the folder added. */
		cJSON_AddStringToObject(o, "schema_dir", c->schema_dir);
		cJSON *d = cJSON_AddObjectToObject(o, "schema_dir_derived");
		cJSON_AddNumberToObject(d, "tables", (double)c->derived_tables);
		cJSON_AddNumberToObject(d, "columns", (double)c->derived_columns);
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
