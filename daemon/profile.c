/*
 * The built-in Mobius profile (SPEC §1, §5): reads the services' own
 * environment (each variable also as NAME_FILE), decides from the database
 * names which checks the URLs stand for, and builds a configuration
 * document that the same loader validates as a file.  Everything read is
 * owned here until the document is handed over.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "config_priv.h"
#include "config_text.h"
#include "interp.h"
#include "pf_util.h"
#include "pf_uuid.h"
#include "profile.h"

#define QUEUE_KEY "mobius:chat:requests"
#define QUEUE_MAX_DEPTH 50
#define QUEUE_STALL_AFTER "10m"
/* A minted probe token lives this long: one probe, with slack. */
#define JWT_TTL "5m"

/* The variables the profile reads, in one table. */
enum pvar {
	V_CHAT_RAG_DB, V_RAG_DB, V_DB,		/* database URLs, in precedence order */
	V_CHAT_DB_PASSWORD, V_DB_PASSWORD,
	V_CHAT_SCHEMA_DIR, V_RAG_SCHEMA_DIR,
	V_REDIS_URL, V_REDIS_KEY, V_CHAT_QUEUE_TYPE, V_QUEUE_TYPE,
	V_CHAT_API, V_CHAT_TOKEN, V_JWT_SECRET, V_PROBE_USER, V_PROBE_THREAD,
	V_TURN_DEADLINE, V_PROBE_INTERVAL,
	V_COUNT
};

static const char *const var_names[V_COUNT] = {
	"CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL",
	"CHAT_DB_PASSWORD", "DB_PASSWORD",
	"CHAT_SCHEMA_DIR", "RAG_SCHEMA_DIR",
	"REDIS_URL", "REDIS_REQUEST_KEY", "CHAT_QUEUE_TYPE", "QUEUE_TYPE",
	"CHAT_API_URL", "CHAT_API_TOKEN", "JWT_SECRET", "CHAT_PROBE_USER",
	"CHAT_PROBE_THREAD_ID", "MOBIUS_TURN_DEADLINE_S", "CHAT_PROBE_INTERVAL",
};

/* Values (NULL: unset) and, for NAME_FILE, the file they came from. */
struct profile_env {
	char *val[V_COUNT];
	char *file[V_COUNT];
	int chat_db, rag_db;		/* V_* of the URL each check uses, -1: none */
};

static void env_release(struct profile_env *e)
{
	for (int i = 0; i < V_COUNT; i++) {
		if (e->val[i])
			explicit_bzero(e->val[i], strlen(e->val[i]));
		free(e->val[i]);
		free(e->file[i]);
	}
}

static int env_read(struct profile_env *e, char *err, size_t errlen)
{
	for (int i = 0; i < V_COUNT; i++)
		if (pf_env_value(var_names[i], PF_INTERP_MAX_FILE, &e->val[i],
				 &e->file[i], err, errlen) < 0)
			return -1;
	if (e->val[V_CHAT_API]) {
		size_t n = strlen(e->val[V_CHAT_API]);
		while (n > 0 && e->val[V_CHAT_API][n - 1] == '/')
			e->val[V_CHAT_API][--n] = '\0';
	}
	return 0;
}

/* ---- which URL is which database --------------------------------------- */

/* Percent-decodes src[0..n) into out (bounded). */
static void pct_decode(const char *src, size_t n, char *out, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++) {
		if (src[i] == '%' && i + 2 < n && isxdigit((unsigned char)src[i + 1]) &&
		    isxdigit((unsigned char)src[i + 2])) {
			char hex[3] = { src[i + 1], src[i + 2], '\0' };
			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = src[i];
		}
	}
	out[o] = '\0';
}

/* The value of key=... in a DSN or a URL query ("" when absent). */
static void find_param(const char *s, const char *key, const char *seps,
		       char *out, size_t len)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = s; (p = strstr(p, key)) != NULL; p += kl) {
		if ((p == s || strchr(seps, p[-1])) && p[kl] == '=') {
			const char *v = p + kl + 1;
			pct_decode(v, strcspn(v, seps), out, len);
			return;
		}
	}
}

void pf_profile_dbname(const char *url, char *out, size_t len)
{
	const char *scheme = strstr(url, "://"), *auth, *slash, *q;

	out[0] = '\0';
	if (!scheme) {			/* key=value DSN */
		find_param(url, "dbname", " \t", out, len);
		return;
	}
	auth = scheme + 3;
	q = strchr(auth, '?');
	slash = strchr(auth, '/');
	if (slash && (!q || slash < q))
		pct_decode(slash + 1, q ? (size_t)(q - slash - 1) : strlen(slash + 1),
			   out, len);
	if (q) {
		char dbq[128];
		find_param(q + 1, "dbname", "&", dbq, sizeof dbq);
		if (dbq[0])
			pf_strlcpy(out, dbq, len);
	}
}

/* SPEC §5: the database name decides, else the variable (CHAT_RAG_DATABASE_URL
 * is chat's); the first URL of each kind in precedence order wins, as in
 * the RAG service (CHAT_RAG_DATABASE_URL, RAG_DATABASE_URL, DATABASE_URL). */
static void classify_dbs(struct profile_env *e)
{
	e->chat_db = e->rag_db = -1;
	for (int v = V_CHAT_RAG_DB; v <= V_DB; v++) {
		char db[128];
		bool chat;

		if (!e->val[v])
			continue;
		pf_profile_dbname(e->val[v], db, sizeof db);
		if (strcmp(db, "mobius_chat") == 0)
			chat = true;
		else if (strcmp(db, "mobius_rag") == 0)
			chat = false;
		else
			chat = v == V_CHAT_RAG_DB;
		if (chat && e->chat_db < 0)
			e->chat_db = v;
		else if (!chat && e->rag_db < 0)
			e->rag_db = v;
	}
}

/* ---- building the document --------------------------------------------- */

/* The document's text for variable v: ${file:PATH} for NAME_FILE (read by
 * the loader, and re-read by kinds that watch their secret files), else
 * the literal value with '$' doubled so that expansion leaves it as is. */
static char *value_text(const struct profile_env *e, int v, const char *suffix,
			bool literal)
{
	bool file = e->file[v] && !literal;
	const char *src = file ? e->file[v] : e->val[v];
	size_t n = strlen(src) + strlen(suffix) + sizeof "${file:}";
	char *out, *w;

	for (const char *p = src; *p; p++)
		n += *p == '$';
	if (!(out = malloc(n)))
		return NULL;
	if (file) {
		snprintf(out, n, "${file:%s}%s", src, suffix);
		return out;
	}
	w = out;
	for (const char *p = src; *p; p++) {
		*w++ = *p;
		if (*p == '$')
			*w++ = '$';
	}
	strcpy(w, suffix);
	return out;
}

static char *doc_value(const struct profile_env *e, int v, const char *suffix)
{
	return value_text(e, v, suffix, false);
}

static bool put_var(cJSON *o, const char *key, const struct profile_env *e, int v)
{
	char *text = doc_value(e, v, "");
	bool ok = text && cJSON_AddStringToObject(o, key, text);

	free(text);
	return ok;
}

static cJSON *add_check(cJSON *checks, const char *name, const char *kind)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddItemToArray(checks, c);
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "kind", kind);
	return c;
}

/* {"table": ["col", ...], ...} for one database. */
static cJSON *tables_for(enum pf_profile_db db)
{
	size_t n;
	const struct pf_profile_table *pt = pf_profile_tables(&n);
	cJSON *t = cJSON_CreateObject();

	for (size_t i = 0; t && i < n; i++) {
		if (pt[i].db != db)
			continue;
		cJSON *cols = cJSON_AddArrayToObject(t, pt[i].table);
		for (size_t c = 0; cols && pt[i].columns[c]; c++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(pt[i].columns[c]));
	}
	return t;
}

/* One postgres check: the URL, the password for a URL without one, and
 * either the built-in tables or the migrations folder. */
static void add_postgres(cJSON *checks, const char *name,
			 const struct profile_env *e, int url_var, int pw_var,
			 int dir_var, enum pf_profile_db db)
{
	cJSON *c = add_check(checks, name, "postgres");

	put_var(c, "url", e, url_var);
	if (pw_var >= 0 && e->val[pw_var])
		put_var(c, "password", e, pw_var);
	if (e->val[dir_var])
		put_var(c, "schema_dir", e, dir_var);
	else
		cJSON_AddItemToObject(c, "tables", tables_for(db));
}

static void add_note(struct pf_profile_notes *notes, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_note(struct pf_profile_notes *notes, const char *fmt, ...)
{
	va_list ap;

	if (!notes || notes->n >= PF_PROFILE_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(notes->text[notes->n++], sizeof notes->text[0], fmt, ap);
	va_end(ap);
}

/* redis, with the request queue unless the services queue in memory. */
static void add_redis(cJSON *checks, const struct profile_env *e,
		      struct pf_profile_notes *notes)
{
	cJSON *c = add_check(checks, "redis", "redis");
	int qv = e->val[V_CHAT_QUEUE_TYPE] ? V_CHAT_QUEUE_TYPE : V_QUEUE_TYPE;
	const char *qt = e->val[qv];

	put_var(c, "url", e, V_REDIS_URL);
	if (qt && strcasecmp(qt, "redis") != 0) {
		/* A memory queue never touches Redis: a depth or stall check
		 * on the list would watch a list nobody uses. */
		add_note(notes, "redis: queue check left out: %s=%s, so the Chat"
			 " API and worker never use the Redis list", var_names[qv], qt);
		return;
	}
	cJSON *q = cJSON_AddObjectToObject(c, "queue");
	if (e->val[V_REDIS_KEY])
		put_var(q, "key", e, V_REDIS_KEY);
	else
		cJSON_AddStringToObject(q, "key", QUEUE_KEY);
	cJSON_AddNumberToObject(q, "max_depth", QUEUE_MAX_DEPTH);
	cJSON_AddStringToObject(q, "stall_after", QUEUE_STALL_AFTER);
}

static bool has_check(const cJSON *checks, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, checks) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return true;
	}
	return false;
}

/* The round trip's auth: a static token, else a JWT minted per probe. */
static void add_chat_auth(cJSON *c, const struct profile_env *e)
{
	if (e->val[V_CHAT_TOKEN]) {
		put_var(c, "token", e, V_CHAT_TOKEN);
		return;
	}
	if (!e->val[V_JWT_SECRET])
		return;
	cJSON *jwt = cJSON_AddObjectToObject(c, "jwt");
	cJSON *claims = cJSON_CreateObject();
	put_var(jwt, "secret", e, V_JWT_SECRET);
	if (e->val[V_PROBE_USER])
		put_var(claims, "sub", e, V_PROBE_USER);
	else
		cJSON_AddStringToObject(claims, "sub", "preflightd");
	cJSON_AddStringToObject(claims, "type", "access");
	cJSON_AddItemToObject(jwt, "claims", claims);
	cJSON_AddStringToObject(jwt, "ttl", JWT_TTL);
}

/* The probe thread: CHAT_PROBE_THREAD_ID, else a UUID derived from the
 * instance name, so every probe of this instance reuses one thread. */
static void add_chat_thread(cJSON *c, const struct profile_env *e)
{
	char inst[256], uuid[40], name[300];

	if (e->val[V_PROBE_THREAD]) {
		put_var(c, "thread_id", e, V_PROBE_THREAD);
		return;
	}
	pf_instance_name(inst, sizeof inst);
	snprintf(name, sizeof name, "preflightd-probe:%s", inst);
	if (pf_uuid_from_name(name, uuid, sizeof uuid) == 0)
		cJSON_AddStringToObject(c, "thread_id", uuid);
}

/* The service's own turn deadline + 30 s, so that a slow worker is
 * reported by its turn_deadline_exceeded rather than by our timeout. */
static int add_chat_timeout(cJSON *c, const struct profile_env *e, char *err,
			    size_t errlen)
{
	const char *s = e->val[V_TURN_DEADLINE];
	char *end;
	double secs;

	if (!s)
		return 0;
	secs = strtod(s, &end);
	if (end == s || *end || !(secs > 0 && secs <= 86400)) {
		snprintf(err, errlen, "environment: MOBIUS_TURN_DEADLINE_S: must be"
			 " a number of seconds (the Chat worker's turn deadline)");
		return -1;
	}
	cJSON_AddNumberToObject(c, "timeout", secs + 30);
	return 0;
}

/* chat-api-ready (GET /ready: the API and its database, not Redis) and
 * chat-roundtrip (on demand: a real, paid turn).  The round trip depends
 * on the backends first, so /status names the root as caused_by. */
static int add_chat(cJSON *checks, const struct profile_env *e, char *err,
		    size_t errlen)
{
	/* the URL as read (trailing '/' trimmed), also from CHAT_API_URL_FILE */
	char *ready = value_text(e, V_CHAT_API, "/ready", true);
	char *base = value_text(e, V_CHAT_API, "", true);
	cJSON *c = add_check(checks, "chat-api-ready", "http");

	if (ready)
		cJSON_AddStringToObject(c, "url", ready);
	c = add_check(checks, "chat-roundtrip", "chat");
	if (base)
		cJSON_AddStringToObject(c, "base_url", base);
	free(ready);
	free(base);
	cJSON *body = cJSON_AddObjectToObject(c, "body");
	cJSON_AddStringToObject(body, "chat_mode", "quick");
	cJSON_AddFalseToObject(body, "cache_assist");
	add_chat_thread(c, e);
	add_chat_auth(c, e);
	if (e->val[V_PROBE_INTERVAL])
		put_var(c, "interval", e, V_PROBE_INTERVAL);
	cJSON *deps = cJSON_AddArrayToObject(c, "depends_on");
	const char *dep_names[] = { "redis", "chat-db", "chat-api-ready" };
	for (size_t i = 0; i < 3; i++)
		if (has_check(checks, dep_names[i]))
			cJSON_AddItemToArray(deps, cJSON_CreateString(dep_names[i]));
	return add_chat_timeout(c, e, err, errlen);
}

/* Groups: which checks gate which workload.  Members that were not created
 * are left out, and a group left empty is omitted, so /readyz?group=G
 * answers 404 instead of a vacuous 200 when its variables are missing. */
static const struct profile_group {
	const char *name;
	const char *members[3];
} profile_groups[] = {
	{ "chat-api", { "chat-db", "redis" } },
	{ "chat-worker", { "chat-db", "redis" } },
	{ "rag-chunking-worker", { "rag-chunking-db" } },
	{ "rag-embedding-worker", { "rag-embedding-db" } },
	{ "e2e", { "chat-api-ready", "chat-roundtrip" } },
};

static void add_groups(cJSON *doc, const cJSON *checks)
{
	cJSON *groups = cJSON_AddObjectToObject(doc, "groups");

	for (size_t i = 0; groups && i < sizeof profile_groups / sizeof *profile_groups; i++) {
		const struct profile_group *g = &profile_groups[i];
		cJSON *arr = cJSON_CreateArray();
		for (size_t m = 0; arr && m < 3 && g->members[m]; m++)
			if (has_check(checks, g->members[m]))
				cJSON_AddItemToArray(arr, cJSON_CreateString(g->members[m]));
		if (cJSON_GetArraySize(arr) > 0)
			cJSON_AddItemToObject(groups, g->name, arr);
		else
			cJSON_Delete(arr);
	}
}

/* A NAME_FILE path ends up inside ${file:...}: a '}' would end it early. */
static int check_file_paths(const struct profile_env *e, char *err, size_t errlen)
{
	for (int i = 0; i < V_COUNT; i++) {
		if (e->file[i] && strchr(e->file[i], '}')) {
			snprintf(err, errlen, "environment: %s_FILE: the path must not"
				 " contain '}'", var_names[i]);
			return -1;
		}
	}
	return 0;
}

static int add_checks(cJSON *checks, const struct profile_env *e,
		      struct pf_profile_notes *notes, char *err, size_t errlen)
{
	if (e->chat_db >= 0)
		add_postgres(checks, "chat-db", e, e->chat_db,
			     e->val[V_CHAT_DB_PASSWORD] ? V_CHAT_DB_PASSWORD : V_DB_PASSWORD,
			     V_CHAT_SCHEMA_DIR, PF_PROFILE_CHAT);
	if (e->rag_db >= 0) {
		add_postgres(checks, "rag-chunking-db", e, e->rag_db, V_DB_PASSWORD,
			     V_RAG_SCHEMA_DIR, PF_PROFILE_RAG_CHUNKING);
		add_postgres(checks, "rag-embedding-db", e, e->rag_db, V_DB_PASSWORD,
			     V_RAG_SCHEMA_DIR, PF_PROFILE_RAG_EMBEDDING);
	}
	if (e->val[V_REDIS_URL])
		add_redis(checks, e, notes);
	if (e->val[V_CHAT_API])
		return add_chat(checks, e, err, errlen);
	return 0;
}

cJSON *pf_profile_document(struct pf_profile_notes *notes, char *err,
			   size_t errlen)
{
	struct profile_env e = { 0 };
	cJSON *doc = NULL, *checks;

	if (notes)
		notes->n = 0;
	if (env_read(&e, err, errlen) < 0 || check_file_paths(&e, err, errlen) < 0)
		goto out;
	classify_dbs(&e);
	doc = cJSON_CreateObject();
	checks = cJSON_AddArrayToObject(doc, "checks");
	if (!checks) {
		cJSON_Delete(doc);
		doc = NULL;
		snprintf(err, errlen, "environment: out of memory");
		goto out;
	}
	if (add_checks(checks, &e, notes, err, errlen) < 0) {
		cJSON_Delete(doc);
		doc = NULL;
		goto out;
	}
	add_groups(doc, checks);
out:
	env_release(&e);
	return doc;
}

int pf_config_from_env(struct pf_config **out, char *err, size_t errlen)
{
	struct pf_load ld = { .source = "environment", .kinds = NULL };
	struct pf_profile_notes notes;
	cJSON *doc = pf_profile_document(&notes, err, errlen);

	if (!doc)
		return -1;
	if (pf_config_load_json(doc, true, &ld, out, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < notes.n; i++)
		if (pf_config_add_note(*out, notes.text[i]) < 0) {
			pf_config_free(*out);
			*out = NULL;
			snprintf(err, errlen, "environment: out of memory");
			return -1;
		}
	return 0;
}
