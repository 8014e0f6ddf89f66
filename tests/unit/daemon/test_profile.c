/*
 * Unit tests of the built-in profile (daemon/profile.c): the document it
 * builds for each variable present or absent, the NAME_FILE variants,
 * groups and depends_on, and loading it through the real validation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "harness.h"
#include "interp.h"
#include "profile.h"
#include "pf_util.h"
#include "pf_uuid.h"

static const char *const vars[] = {
	"CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL",
	"CHAT_DB_PASSWORD", "DB_PASSWORD", "CHAT_SCHEMA_DIR", "RAG_SCHEMA_DIR",
	"REDIS_URL", "REDIS_REQUEST_KEY", "CHAT_QUEUE_TYPE", "QUEUE_TYPE",
	"CHAT_API_URL", "CHAT_API_TOKEN", "JWT_SECRET", "CHAT_PROBE_USER",
	"CHAT_PROBE_THREAD_ID", "MOBIUS_TURN_DEADLINE_S", "CHAT_PROBE_INTERVAL",
	"PREFLIGHT_RUN_TOKEN", NULL
};

static void clear_env(void)
{
	char name[64];

	for (size_t i = 0; vars[i]; i++) {
		unsetenv(vars[i]);
		snprintf(name, sizeof name, "%s_FILE", vars[i]);
		unsetenv(name);
	}
}

static cJSON *build(void)
{
	char err[512] = "";
	cJSON *doc = pf_profile_document(NULL, err, sizeof err);

	if (!doc)
		fprintf(stderr, "    unexpected error: %s\n", err);
	PF_EXPECT(doc != NULL);
	return doc;
}

/* The check object called name, or NULL. */
static const cJSON *check(const cJSON *doc, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "checks")) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(c, "name");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return c;
	}
	return NULL;
}

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON array printed compactly, for comparisons; "" when absent. */
static char *printed(const cJSON *v)
{
	char *s = v ? cJSON_PrintUnformatted(v) : NULL;

	return s ? s : strdup("");
}

static void expect_json(const cJSON *v, const char *want)
{
	char *s = printed(v);

	PF_EXPECT_STR(s, want);
	free(s);
}

static const cJSON *group(const cJSON *doc, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(doc, "groups"), name);
}

static void temp_file(char *path, size_t len, const char *text)
{
	snprintf(path, len, "/tmp/pf_test_profile_XXXXXX");
	int fd = mkstemp(path);
	PF_EXPECT(fd >= 0);
	if (fd < 0)
		return;
	PF_EXPECT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* What a document value expands to, as the loader will expand it. */
static char *expanded(const cJSON *obj, const char *key)
{
	char err[256], *out = NULL;
	const char *v = str(obj, key);

	if (!v || pf_interp_string(v, key, &out, err, sizeof err) < 0)
		return strdup("(none)");
	return out;
}

static void expect_expanded(const cJSON *obj, const char *key, const char *want)
{
	char *v = expanded(obj, key);

	PF_EXPECT_STR(v, want);
	free(v);
}

static void test_nothing_set(void)
{
	clear_env();
	setenv("REDIS_URL", "", 1);	/* empty counts as unset */
	cJSON *doc = build();
	expect_json(doc, "{\"checks\":[],\"groups\":{}}");
	cJSON_Delete(doc);

	struct pf_config *cfg = NULL;
	char err[512];
	PF_EXPECT(pf_config_from_env(&cfg, err, sizeof err) == 0);
	if (cfg) {
		PF_EXPECT(cfg->n_checks == 0 && cfg->n_groups == 0);
		PF_EXPECT_STR(cfg->source, "environment");
		PF_EXPECT_STR(cfg->listen, "0.0.0.0:8089");
		pf_config_free(cfg);
	}
}

static void test_dbname(void)
{
	char db[64];

	pf_profile_dbname("postgresql+psycopg2://postgres@/mobius_chat?host=/cloudsql/p:r:i", db, sizeof db);
	PF_EXPECT_STR(db, "mobius_chat");
	pf_profile_dbname("postgresql+asyncpg://u:p%40@h:5432/mobius%5Frag", db, sizeof db);
	PF_EXPECT_STR(db, "mobius_rag");
	pf_profile_dbname("postgres://h/x?dbname=mobius_rag&sslmode=require", db, sizeof db);
	PF_EXPECT_STR(db, "mobius_rag");
	pf_profile_dbname("host=h dbname=mobius_chat user=u", db, sizeof db);
	PF_EXPECT_STR(db, "mobius_chat");
	pf_profile_dbname("postgresql://h:5432", db, sizeof db);
	PF_EXPECT_STR(db, "");
}

/* SPEC §5's columns for chat_turns, exactly (what the storage code writes). */
static void test_chat_db(void)
{
	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql+psycopg2://app@127.0.0.1:5432/mobius_chat", 1);
	setenv("CHAT_DB_PASSWORD", "pa$word", 1);
	setenv("DB_PASSWORD", "other", 1);
	cJSON *doc = build();
	const cJSON *c = check(doc, "chat-db");
	PF_EXPECT(c != NULL);
	PF_EXPECT_STR(str(c, "kind"), "postgres");
	expect_expanded(c, "url", "postgresql+psycopg2://app@127.0.0.1:5432/mobius_chat");
	/* '$' is doubled so that the loader's expansion gives it back */
	PF_EXPECT_STR(str(c, "password"), "pa$$word");
	expect_expanded(c, "password", "pa$word");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "tables");
	PF_EXPECT(cJSON_GetArraySize(t) == 4);
	expect_json(cJSON_GetObjectItemCaseSensitive(t, "chat_turns"),
		    "[\"correlation_id\",\"question\",\"thinking_log\",\"final_message\","
		    "\"sources\",\"duration_ms\",\"model_used\",\"llm_provider\",\"session_id\","
		    "\"thread_id\",\"plan_snapshot\",\"blueprint_snapshot\",\"agent_cards\","
		    "\"source_confidence_strip\",\"config_sha\",\"context_summary\",\"user_id\"]");
	expect_json(cJSON_GetObjectItemCaseSensitive(t, "chat_threads"),
		    "[\"thread_id\",\"created_at\",\"updated_at\"]");
	expect_json(cJSON_GetObjectItemCaseSensitive(t, "chat_state"),
		    "[\"thread_id\",\"state_json\",\"state_version\",\"updated_at\"]");
	expect_json(cJSON_GetObjectItemCaseSensitive(t, "chat_turn_messages"),
		    "[\"turn_id\",\"thread_id\",\"role\",\"content\",\"created_at\"]");
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "checks")) == 1);
	expect_json(group(doc, "chat-api"), "[\"chat-db\"]");
	expect_json(group(doc, "chat-worker"), "[\"chat-db\"]");
	PF_EXPECT(group(doc, "rag-chunking-worker") == NULL);
	cJSON_Delete(doc);
	/* DB_PASSWORD when CHAT_DB_PASSWORD is unset */
	unsetenv("CHAT_DB_PASSWORD");
	doc = build();
	PF_EXPECT_STR(str(check(doc, "chat-db"), "password"), "other");
	cJSON_Delete(doc);
}

/* The database name decides; RAG reads CHAT_RAG_DATABASE_URL as its own. */
static void test_rag_db(void)
{
	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql+asyncpg://rag:pw@127.0.0.1/mobius_rag", 1);
	setenv("DB_PASSWORD", "rag-pw", 1);
	cJSON *doc = build();
	PF_EXPECT(check(doc, "chat-db") == NULL);
	const cJSON *chunk = check(doc, "rag-chunking-db");
	const cJSON *emb = check(doc, "rag-embedding-db");
	expect_expanded(chunk, "url", "postgresql+asyncpg://rag:pw@127.0.0.1/mobius_rag");
	PF_EXPECT_STR(str(emb, "password"), "rag-pw");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(chunk, "tables");
	const cJSON *et = cJSON_GetObjectItemCaseSensitive(emb, "tables");
	/* the chunking worker enqueues embedding jobs; the embedding worker
	 * loads chunks and facts */
	PF_EXPECT(cJSON_GetArraySize(ct) == 7 && cJSON_GetArraySize(et) == 4);
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(ct, "embedding_jobs") != NULL);
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(et, "hierarchical_chunks") != NULL);
	expect_json(cJSON_GetObjectItemCaseSensitive(et, "chunk_embeddings"),
		    "[\"id\",\"document_id\",\"source_type\",\"source_id\",\"embedding\","
		    "\"model\",\"created_at\",\"generator_id\"]");
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ct, "extracted_facts")) == 43);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(ct, "chunking_jobs")) == 21);
	expect_json(group(doc, "rag-chunking-worker"), "[\"rag-chunking-db\"]");
	expect_json(group(doc, "rag-embedding-worker"), "[\"rag-embedding-db\"]");
	PF_EXPECT(group(doc, "chat-worker") == NULL);
	cJSON_Delete(doc);

	/* next to Chat: chat-db from CHAT_RAG_DATABASE_URL, RAG from the pair,
	 * the first set winning */
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://c@127.0.0.1/mobius_chat", 1);
	setenv("RAG_DATABASE_URL", "postgresql://r@127.0.0.1/rag_staging", 1);
	setenv("DATABASE_URL", "postgresql://d@127.0.0.1/other", 1);
	doc = build();
	expect_expanded(check(doc, "chat-db"), "url", "postgresql://c@127.0.0.1/mobius_chat");
	expect_expanded(check(doc, "rag-chunking-db"), "url", "postgresql://r@127.0.0.1/rag_staging");
	cJSON_Delete(doc);
	/* unknown names: the variable decides */
	unsetenv("RAG_DATABASE_URL");
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://c@127.0.0.1/chat_db", 1);
	doc = build();
	expect_expanded(check(doc, "chat-db"), "url", "postgresql://c@127.0.0.1/chat_db");
	expect_expanded(check(doc, "rag-chunking-db"), "url", "postgresql://d@127.0.0.1/other");
	cJSON_Delete(doc);
}

static void test_schema_dirs(void)
{
	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://c@127.0.0.1/mobius_chat", 1);
	setenv("RAG_DATABASE_URL", "postgresql://r@127.0.0.1/mobius_rag", 1);
	setenv("CHAT_SCHEMA_DIR", "/srv/chat/db/schema", 1);
	setenv("RAG_SCHEMA_DIR", "/srv/rag/schema.sql", 1);
	cJSON *doc = build();
	const cJSON *c = check(doc, "chat-db");
	PF_EXPECT_STR(str(c, "schema_dir"), "/srv/chat/db/schema");
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(c, "tables") == NULL);
	PF_EXPECT_STR(str(check(doc, "rag-embedding-db"), "schema_dir"), "/srv/rag/schema.sql");
	cJSON_Delete(doc);
}

static void test_redis(void)
{
	clear_env();
	setenv("REDIS_URL", "redis://:pw@127.0.0.1:6379/0?health_check_interval=30", 1);
	cJSON *doc = build();
	const cJSON *r = check(doc, "redis");
	PF_EXPECT_STR(str(r, "kind"), "redis");
	expect_expanded(r, "url", "redis://:pw@127.0.0.1:6379/0?health_check_interval=30");
	expect_json(cJSON_GetObjectItemCaseSensitive(r, "queue"),
		    "{\"key\":\"mobius:chat:requests\",\"max_depth\":50,\"stall_after\":\"10m\"}");
	expect_json(group(doc, "chat-worker"), "[\"redis\"]");
	cJSON_Delete(doc);

	setenv("REDIS_REQUEST_KEY", "staging:chat", 1);
	setenv("QUEUE_TYPE", "redis", 1);
	doc = build();
	PF_EXPECT_STR(str(cJSON_GetObjectItemCaseSensitive(check(doc, "redis"), "queue"), "key"),
		      "staging:chat");
	cJSON_Delete(doc);

	/* a memory queue never touches Redis: no queue part, and a note */
	struct pf_profile_notes notes;
	char err[256];
	setenv("CHAT_QUEUE_TYPE", "memory", 1);
	doc = pf_profile_document(&notes, err, sizeof err);
	PF_EXPECT(doc && !cJSON_GetObjectItemCaseSensitive(check(doc, "redis"), "queue"));
	PF_EXPECT(notes.n == 1 && strstr(notes.text[0], "CHAT_QUEUE_TYPE=memory"));
	cJSON_Delete(doc);
	struct pf_config *cfg = NULL;
	PF_EXPECT(pf_config_from_env(&cfg, err, sizeof err) == 0);
	PF_EXPECT(cfg && cfg->n_notes == 1);
	pf_config_free(cfg);
}

static void test_chat_api(void)
{
	char err[256];

	clear_env();
	setenv("K_REVISION", "chat-api-00042", 1);
	setenv("CHAT_API_URL", "http://127.0.0.1:8000//", 1);
	cJSON *doc = build();
	const cJSON *ready = check(doc, "chat-api-ready");
	const cJSON *rt = check(doc, "chat-roundtrip");
	PF_EXPECT_STR(str(ready, "kind"), "http");
	expect_expanded(ready, "url", "http://127.0.0.1:8000/ready");
	PF_EXPECT_STR(str(rt, "kind"), "chat");
	expect_expanded(rt, "base_url", "http://127.0.0.1:8000");
	expect_json(cJSON_GetObjectItemCaseSensitive(rt, "body"),
		    "{\"chat_mode\":\"quick\",\"cache_assist\":false}");
	/* one thread per instance: a UUID derived from its name */
	const char *tid = str(rt, "thread_id");
	PF_EXPECT(tid && pf_is_uuid(tid));
	char first[40];
	pf_strlcpy(first, tid ? tid : "", sizeof first);
	PF_EXPECT(str(rt, "token") == NULL && !cJSON_GetObjectItemCaseSensitive(rt, "jwt"));
	/* on demand unless CHAT_PROBE_INTERVAL says otherwise */
	PF_EXPECT(!cJSON_GetObjectItemCaseSensitive(rt, "interval"));
	PF_EXPECT(!cJSON_GetObjectItemCaseSensitive(rt, "timeout"));
	expect_json(cJSON_GetObjectItemCaseSensitive(rt, "depends_on"), "[\"chat-api-ready\"]");
	expect_json(group(doc, "e2e"), "[\"chat-api-ready\",\"chat-roundtrip\"]");
	cJSON_Delete(doc);
	doc = build();
	PF_EXPECT_STR(str(check(doc, "chat-roundtrip"), "thread_id"), first);
	cJSON_Delete(doc);

	/* a minted JWT from JWT_SECRET, the deadline, the interval */
	setenv("JWT_SECRET", "jwt-s3cret", 1);
	setenv("CHAT_PROBE_USER", "probe-user", 1);
	setenv("MOBIUS_TURN_DEADLINE_S", "300", 1);
	setenv("CHAT_PROBE_INTERVAL", "1h", 1);
	setenv("CHAT_PROBE_THREAD_ID", "5f0c1f4e-2b8a-4c1e-9d7a-0123456789ab", 1);
	setenv("REDIS_URL", "redis://127.0.0.1:6379", 1);
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://127.0.0.1/mobius_chat", 1);
	doc = build();
	rt = check(doc, "chat-roundtrip");
	const cJSON *jwt = cJSON_GetObjectItemCaseSensitive(rt, "jwt");
	PF_EXPECT_STR(str(jwt, "secret"), "jwt-s3cret");
	expect_json(cJSON_GetObjectItemCaseSensitive(jwt, "claims"),
		    "{\"sub\":\"probe-user\",\"type\":\"access\"}");
	PF_EXPECT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(rt, "timeout")) == 330);
	PF_EXPECT_STR(str(rt, "interval"), "1h");
	PF_EXPECT_STR(str(rt, "thread_id"), "5f0c1f4e-2b8a-4c1e-9d7a-0123456789ab");
	expect_json(cJSON_GetObjectItemCaseSensitive(rt, "depends_on"),
		    "[\"redis\",\"chat-db\",\"chat-api-ready\"]");
	expect_json(group(doc, "chat-api"), "[\"chat-db\",\"redis\"]");
	cJSON_Delete(doc);
	/* a static token wins over JWT_SECRET */
	setenv("CHAT_API_TOKEN", "tok", 1);
	doc = build();
	PF_EXPECT_STR(str(check(doc, "chat-roundtrip"), "token"), "tok");
	PF_EXPECT(!cJSON_GetObjectItemCaseSensitive(check(doc, "chat-roundtrip"), "jwt"));
	cJSON_Delete(doc);
	setenv("MOBIUS_TURN_DEADLINE_S", "soon", 1);
	PF_EXPECT(pf_profile_document(NULL, err, sizeof err) == NULL);
	PF_EXPECT(strstr(err, "MOBIUS_TURN_DEADLINE_S") != NULL);
	unsetenv("K_REVISION");
}

static void test_file_variants(void)
{
	char tok[64], url[64], err[512], want[128];

	clear_env();
	temp_file(tok, sizeof tok, "file-token\r\n");
	temp_file(url, sizeof url, "redis://127.0.0.1:6380\n");
	setenv("CHAT_API_URL", "http://127.0.0.1:8000", 1);
	setenv("CHAT_API_TOKEN_FILE", tok, 1);
	setenv("REDIS_URL_FILE", url, 1);
	setenv("DATABASE_URL_FILE", url, 1);
	setenv("RAG_DATABASE_URL", "postgresql://direct/mobius_rag", 1);
	cJSON *doc = build();
	/* written as ${file:PATH}: the loader reads it, the chat kind
	 * re-reads its token when the file changes */
	snprintf(want, sizeof want, "${file:%s}", tok);
	PF_EXPECT_STR(str(check(doc, "chat-roundtrip"), "token"), want);
	expect_expanded(check(doc, "chat-roundtrip"), "token", "file-token");
	expect_expanded(check(doc, "redis"), "url", "redis://127.0.0.1:6380");
	/* RAG_DATABASE_URL wins over DATABASE_URL_FILE */
	expect_expanded(check(doc, "rag-chunking-db"), "url", "postgresql://direct/mobius_rag");
	cJSON_Delete(doc);

	/* both NAME and NAME_FILE: ambiguous, refused */
	setenv("REDIS_URL", "redis://127.0.0.1:1", 1);
	PF_EXPECT(pf_profile_document(NULL, err, sizeof err) == NULL);
	PF_EXPECT_STR(err, "environment: both REDIS_URL and REDIS_URL_FILE are set; set only one");
	unsetenv("REDIS_URL");

	/* a missing file names the variable and the path */
	unlink(tok);
	PF_EXPECT(pf_profile_document(NULL, err, sizeof err) == NULL);
	char msg[256];
	snprintf(msg, sizeof msg,
		 "environment: CHAT_API_TOKEN_FILE: %s: cannot open file: No such file or directory",
		 tok);
	PF_EXPECT_STR(err, msg);
	struct pf_config *cfg = NULL;
	PF_EXPECT(pf_config_from_env(&cfg, err, sizeof err) == -1);
	PF_EXPECT(cfg == NULL);
	unlink(url);
	clear_env();
}

/* The full profile goes through the same validation as a file. */
static void test_from_env(void)
{
	struct pf_config *cfg = NULL;
	char err[512] = "";

	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql+psycopg2://app@/mobius_chat?host=/cloudsql/p:r:i", 1);
	setenv("CHAT_DB_PASSWORD", "pg$ecret", 1);
	setenv("RAG_DATABASE_URL", "postgresql+asyncpg://app:pgsecret@127.0.0.1:5432/mobius_rag", 1);
	setenv("REDIS_URL", "redis://:redissecret@127.0.0.1:6379/0?health_check_interval=30", 1);
	setenv("CHAT_API_URL", "http://127.0.0.1:8000", 1);
	setenv("JWT_SECRET", "jwtsecret-value", 1);
	setenv("PREFLIGHT_RUN_TOKEN", "run-token-0123456789", 1);
	if (pf_config_from_env(&cfg, err, sizeof err) < 0) {
		PF_EXPECT_STR(err, "(success)");
		clear_env();
		return;
	}
	PF_EXPECT(cfg->n_checks == 6 && cfg->n_groups == 5);
	PF_EXPECT_STR(cfg->run_token, "run-token-0123456789");
	int rt = pf_config_find_check(cfg, "chat-roundtrip");
	PF_EXPECT(rt >= 0 && cfg->checks[rt].n_depends_on == 3);
	PF_EXPECT(rt >= 0 && cfg->checks[rt].on_demand &&
		  cfg->checks[rt].timeout_ms == 330000);
	cJSON *d = pf_config_describe(cfg);
	char *out = cJSON_PrintUnformatted(d);
	PF_EXPECT(out && !strstr(out, "pg$ecret") && !strstr(out, "pgsecret") &&
		  !strstr(out, "redissecret") && !strstr(out, "jwtsecret") &&
		  !strstr(out, "run-token-0123456789"));
	PF_EXPECT(out && strstr(out, "health_check_interval"));
	free(out);
	cJSON_Delete(d);
	pf_config_free(cfg);
	clear_env();
}

int main(void)
{
	pf_test("no variables: no checks", test_nothing_set);
	pf_test("database names in URLs", test_dbname);
	pf_test("mobius_chat -> chat-db, SPEC columns, password", test_chat_db);
	pf_test("mobius_rag -> RAG checks, precedence", test_rag_db);
	pf_test("CHAT_SCHEMA_DIR / RAG_SCHEMA_DIR", test_schema_dirs);
	pf_test("REDIS_URL, queue, CHAT_QUEUE_TYPE", test_redis);
	pf_test("CHAT_API_URL: ready, on-demand round trip, JWT", test_chat_api);
	pf_test("NAME_FILE variants", test_file_variants);
	pf_test("pf_config_from_env validates the profile", test_from_env);
	return pf_test_summary();
}
