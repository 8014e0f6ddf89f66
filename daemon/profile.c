/*
 * The built-in Mobius profile (SPEC §1, §5): reads the services' own
 * environment (each variable also as NAME_FILE), builds a configuration
 * document and loads it through the same validation as a config file.
 * The document and every string read are owned here until handed over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_priv.h"
#include "config_text.h"
#include "interp.h"
#include "profile.h"

#define PF_PROFILE_QUEUE_KEY "mobius:chat:requests"
#define PF_PROFILE_QUEUE_MAX_DEPTH 1000

/* Which database check requires a table. */
enum profile_db { DB_CHAT, DB_RAG_CHUNKING, DB_RAG_EMBEDDING };

/* PROFILE_TABLES: the tables (SPEC §1) and the columns the workers read
 * or write, per database check.  docs/profile.md documents the same list
 * and tests/fixtures/pg/<db>.sql (the migrated schema the integration tests
 * run against) must hold all of it: change the three together.  Columns are
 * listed when their absence breaks a worker without an SQL error the
 * operator would see, e.g. extracted_facts' triple, without which
 * extraction silently stores 0 facts. */
static const struct profile_table {
	enum profile_db db;
	const char *table;
	const char *columns[10];	/* NULL-terminated */
} profile_tables[] = {
	{ DB_CHAT, "chat_threads", { "id", "created_at", "updated_at" } },
	{ DB_CHAT, "chat_turns", { "id", "thread_id", "correlation_id", "status",
				   "created_at", "completed_at" } },
	{ DB_CHAT, "chat_turn_messages", { "id", "turn_id", "role", "content",
					   "created_at" } },
	{ DB_CHAT, "chat_state", { "thread_id", "state", "facts", "version",
				   "updated_at" } },
	{ DB_RAG_CHUNKING, "documents", { "id", "source_uri", "mime_type",
					  "content_hash", "page_count", "status",
					  "updated_at" } },
	{ DB_RAG_CHUNKING, "document_pages", { "id", "document_id", "page_number",
					       "text" } },
	{ DB_RAG_CHUNKING, "chunking_jobs", { "id", "document_id", "status",
					      "attempts", "error", "started_at",
					      "finished_at" } },
	{ DB_RAG_CHUNKING, "chunking_results", { "id", "job_id", "document_id",
						 "chunk_count", "fact_count",
						 "created_at" } },
	{ DB_RAG_CHUNKING, "hierarchical_chunks", { "id", "document_id", "parent_id",
						    "level", "page_number", "content" } },
	{ DB_RAG_CHUNKING, "extracted_facts", { "id", "chunk_id", "document_id",
						"subject", "predicate", "object",
						"confidence", "created_at" } },
	{ DB_RAG_EMBEDDING, "embedding_jobs", { "id", "document_id", "model",
						"status", "attempts", "error",
						"finished_at" } },
	{ DB_RAG_EMBEDDING, "chunk_embeddings", { "id", "chunk_id", "model",
						  "embedding", "created_at" } },
};

/* The values the profile reads; every pointer is owned (NULL: not set). */
struct profile_env {
	char *chat_db;
	char *rag_db;
	char *redis_url;
	char *redis_key;
	char *chat_api;		/* without trailing '/' */
	char *chat_token;
};

static void env_release(struct profile_env *e)
{
	free(e->chat_db);
	free(e->rag_db);
	free(e->redis_url);
	free(e->redis_key);
	free(e->chat_api);
	free(e->chat_token);
}

/* Contents of NAME_FILE's file, trailing newlines trimmed. */
static int read_value_file(const char *var, const char *path, char **out,
			   char *err, size_t errlen)
{
	char ferr[512];
	size_t len = 0;

	if (pf_text_read_file(path, PF_INTERP_MAX_FILE, out, &len, "file", ferr,
			      sizeof ferr) < 0) {
		snprintf(err, errlen, "environment: %s: %s", var, ferr);
		return -1;
	}
	if (strlen(*out) != len) {
		snprintf(err, errlen, "environment: %s: %s contains a NUL byte",
			 var, path);
		free(*out);
		*out = NULL;
		return -1;
	}
	while (len > 0 && ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r'))
		(*out)[--len] = '\0';
	return 0;
}

/* NAME or NAME_FILE (an empty variable counts as unset; both set is an
 * error, since it is ambiguous which one the operator meant).  *out is
 * malloc'd, or NULL when neither is set. */
static int env_value(const char *name, char **out, char *err, size_t errlen)
{
	char fname[64];
	const char *v = getenv(name), *f;

	snprintf(fname, sizeof fname, "%s_FILE", name);
	f = getenv(fname);
	*out = NULL;
	if (v && !*v)
		v = NULL;
	if (f && !*f)
		f = NULL;
	if (v && f) {
		snprintf(err, errlen, "environment: both %s and %s are set; set only one",
			 name, fname);
		return -1;
	}
	if (f)
		return read_value_file(fname, f, out, err, errlen);
	if (v && !(*out = strdup(v))) {
		snprintf(err, errlen, "environment: out of memory");
		return -1;
	}
	return 0;
}

static int env_read(struct profile_env *e, char *err, size_t errlen)
{
	if (env_value("CHAT_RAG_DATABASE_URL", &e->chat_db, err, errlen) < 0 ||
	    env_value("RAG_DATABASE_URL", &e->rag_db, err, errlen) < 0 ||
	    (!e->rag_db && env_value("DATABASE_URL", &e->rag_db, err, errlen) < 0) ||
	    env_value("REDIS_URL", &e->redis_url, err, errlen) < 0 ||
	    env_value("REDIS_REQUEST_KEY", &e->redis_key, err, errlen) < 0 ||
	    env_value("CHAT_API_URL", &e->chat_api, err, errlen) < 0 ||
	    env_value("CHAT_API_TOKEN", &e->chat_token, err, errlen) < 0)
		return -1;
	if (e->chat_api) {
		size_t n = strlen(e->chat_api);
		while (n > 0 && e->chat_api[n - 1] == '/')
			e->chat_api[--n] = '\0';
	}
	return 0;
}

/* {"table": ["col", ...], ...} for one database. */
static cJSON *tables_for(enum profile_db db)
{
	cJSON *t = cJSON_CreateObject();

	for (size_t i = 0; t && i < sizeof profile_tables / sizeof *profile_tables; i++) {
		const struct profile_table *pt = &profile_tables[i];
		if (pt->db != db)
			continue;
		cJSON *cols = cJSON_AddArrayToObject(t, pt->table);
		for (size_t c = 0; cols && pt->columns[c]; c++)
			cJSON_AddItemToArray(cols, cJSON_CreateString(pt->columns[c]));
	}
	return t;
}

static cJSON *add_check(cJSON *checks, const char *name, const char *kind)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddItemToArray(checks, c);
	cJSON_AddStringToObject(c, "name", name);
	cJSON_AddStringToObject(c, "kind", kind);
	return c;
}

static void add_postgres(cJSON *checks, const char *name, const char *url,
			 enum profile_db db)
{
	cJSON *c = add_check(checks, name, "postgres");

	cJSON_AddStringToObject(c, "url", url);
	cJSON_AddItemToObject(c, "tables", tables_for(db));
}

static void add_redis(cJSON *checks, const struct profile_env *e)
{
	cJSON *c = add_check(checks, "redis", "redis");
	cJSON *q = cJSON_CreateObject();

	cJSON_AddStringToObject(c, "url", e->redis_url);
	cJSON_AddStringToObject(q, "key", e->redis_key ? e->redis_key
						     : PF_PROFILE_QUEUE_KEY);
	cJSON_AddNumberToObject(q, "max_depth", PF_PROFILE_QUEUE_MAX_DEPTH);
	cJSON_AddItemToObject(c, "queue", q);
}

/* chat-api-ready (GET /ready) and chat-roundtrip, which depends on the
 * API being up and on the backends it needs, so /status names the root. */
static void add_chat(cJSON *checks, const struct profile_env *e)
{
	size_t n = strlen(e->chat_api) + sizeof "/ready";
	char *ready = malloc(n);
	cJSON *c = add_check(checks, "chat-api-ready", "http");

	if (ready) {
		snprintf(ready, n, "%s/ready", e->chat_api);
		cJSON_AddStringToObject(c, "url", ready);
		free(ready);
	}
	c = add_check(checks, "chat-roundtrip", "chat");
	cJSON_AddStringToObject(c, "base_url", e->chat_api);
	if (e->chat_token)
		cJSON_AddStringToObject(c, "token", e->chat_token);
	/* caused_by names the first failing dependency, so the backends come
	 * first: when Redis is down the API's /ready fails too, but it is an
	 * echo, and the dashboard should point at Redis. */
	cJSON *deps = cJSON_AddArrayToObject(c, "depends_on");
	if (e->redis_url)
		cJSON_AddItemToArray(deps, cJSON_CreateString("redis"));
	if (e->chat_db)
		cJSON_AddItemToArray(deps, cJSON_CreateString("chat-db"));
	cJSON_AddItemToArray(deps, cJSON_CreateString("chat-api-ready"));
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

cJSON *pf_profile_document(char *err, size_t errlen)
{
	struct profile_env e = { 0 };
	cJSON *doc = NULL, *checks;

	if (env_read(&e, err, errlen) < 0)
		goto out;
	doc = cJSON_CreateObject();
	checks = cJSON_AddArrayToObject(doc, "checks");
	if (!checks)
		goto oom;
	if (e.chat_db)
		add_postgres(checks, "chat-db", e.chat_db, DB_CHAT);
	if (e.rag_db) {
		add_postgres(checks, "rag-chunking-db", e.rag_db, DB_RAG_CHUNKING);
		add_postgres(checks, "rag-embedding-db", e.rag_db, DB_RAG_EMBEDDING);
	}
	if (e.redis_url)
		add_redis(checks, &e);
	if (e.chat_api)
		add_chat(checks, &e);
	add_groups(doc, checks);
	goto out;
oom:
	cJSON_Delete(doc);
	doc = NULL;
	snprintf(err, errlen, "environment: out of memory");
out:
	env_release(&e);
	return doc;
}

int pf_config_from_env(struct pf_config **out, char *err, size_t errlen)
{
	struct pf_load ld = { .source = "environment", .kinds = NULL };
	cJSON *doc = pf_profile_document(err, errlen);

	if (!doc)
		return -1;
	/* Values are literal (a password may contain '$'): no ${} expansion. */
	return pf_config_load_json(doc, false, &ld, out, err, errlen);
}
