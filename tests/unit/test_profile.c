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
#include "profile.h"

static const char *const vars[] = {
	"CHAT_RAG_DATABASE_URL", "RAG_DATABASE_URL", "DATABASE_URL", "REDIS_URL",
	"REDIS_REQUEST_KEY", "CHAT_API_URL", "CHAT_API_TOKEN", NULL
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
	cJSON *doc = pf_profile_document(err, sizeof err);

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

static void test_chat_db(void)
{
	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://app:pw@127.0.0.1:5432/mobius_chat", 1);
	cJSON *doc = build();
	const cJSON *c = check(doc, "chat-db");
	PF_EXPECT(c != NULL);
	PF_EXPECT_STR(str(c, "kind"), "postgres");
	PF_EXPECT_STR(str(c, "url"), "postgresql://app:pw@127.0.0.1:5432/mobius_chat");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "tables");
	PF_EXPECT(cJSON_GetArraySize(t) == 4);
	expect_json(cJSON_GetObjectItemCaseSensitive(t, "chat_turns"),
		    "[\"id\",\"thread_id\",\"correlation_id\",\"status\",\"created_at\",\"completed_at\"]");
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(t, "chat_threads") != NULL);
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(t, "chat_turn_messages") != NULL);
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(t, "chat_state") != NULL);
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "checks")) == 1);
	expect_json(group(doc, "chat-api"), "[\"chat-db\"]");
	expect_json(group(doc, "chat-worker"), "[\"chat-db\"]");
	PF_EXPECT(group(doc, "rag-chunking-worker") == NULL);
	PF_EXPECT(group(doc, "e2e") == NULL);
	cJSON_Delete(doc);
}

static void test_rag_db(void)
{
	clear_env();
	setenv("DATABASE_URL", "postgresql://fallback@127.0.0.1/mobius_rag", 1);
	cJSON *doc = build();
	PF_EXPECT_STR(str(check(doc, "rag-chunking-db"), "url"),
		      "postgresql://fallback@127.0.0.1/mobius_rag");
	PF_EXPECT_STR(str(check(doc, "rag-embedding-db"), "url"),
		      "postgresql://fallback@127.0.0.1/mobius_rag");
	cJSON_Delete(doc);

	setenv("RAG_DATABASE_URL", "postgresql://rag@127.0.0.1/mobius_rag", 1);
	doc = build();
	const cJSON *chunk = check(doc, "rag-chunking-db");
	const cJSON *emb = check(doc, "rag-embedding-db");
	PF_EXPECT_STR(str(chunk, "url"), "postgresql://rag@127.0.0.1/mobius_rag");
	PF_EXPECT_STR(str(emb, "url"), "postgresql://rag@127.0.0.1/mobius_rag");
	const cJSON *ct = cJSON_GetObjectItemCaseSensitive(chunk, "tables");
	const cJSON *et = cJSON_GetObjectItemCaseSensitive(emb, "tables");
	PF_EXPECT(cJSON_GetArraySize(ct) == 6 && cJSON_GetArraySize(et) == 2);
	expect_json(cJSON_GetObjectItemCaseSensitive(et, "chunk_embeddings"),
		    "[\"id\",\"chunk_id\",\"model\",\"embedding\",\"created_at\"]");
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(ct, "extracted_facts") != NULL);
	PF_EXPECT(cJSON_GetObjectItemCaseSensitive(ct, "hierarchical_chunks") != NULL);
	expect_json(group(doc, "rag-chunking-worker"), "[\"rag-chunking-db\"]");
	expect_json(group(doc, "rag-embedding-worker"), "[\"rag-embedding-db\"]");
	PF_EXPECT(group(doc, "chat-worker") == NULL);
	PF_EXPECT(check(doc, "chat-db") == NULL);
	cJSON_Delete(doc);
}

static void test_redis(void)
{
	clear_env();
	setenv("REDIS_URL", "redis://:pw@127.0.0.1:6379/0", 1);
	cJSON *doc = build();
	const cJSON *r = check(doc, "redis");
	PF_EXPECT_STR(str(r, "kind"), "redis");
	PF_EXPECT_STR(str(r, "url"), "redis://:pw@127.0.0.1:6379/0");
	expect_json(cJSON_GetObjectItemCaseSensitive(r, "queue"),
		    "{\"key\":\"mobius:chat:requests\",\"max_depth\":1000}");
	expect_json(group(doc, "chat-worker"), "[\"redis\"]");
	cJSON_Delete(doc);

	setenv("REDIS_REQUEST_KEY", "staging:chat", 1);
	doc = build();
	PF_EXPECT_STR(str(cJSON_GetObjectItemCaseSensitive(check(doc, "redis"), "queue"), "key"),
		      "staging:chat");
	cJSON_Delete(doc);
}

static void test_chat_api(void)
{
	clear_env();
	setenv("CHAT_API_URL", "http://127.0.0.1:8000//", 1);
	cJSON *doc = build();
	const cJSON *ready = check(doc, "chat-api-ready");
	const cJSON *rt = check(doc, "chat-roundtrip");
	PF_EXPECT_STR(str(ready, "kind"), "http");
	PF_EXPECT_STR(str(ready, "url"), "http://127.0.0.1:8000/ready");
	PF_EXPECT_STR(str(rt, "kind"), "chat");
	PF_EXPECT_STR(str(rt, "base_url"), "http://127.0.0.1:8000");
	PF_EXPECT(str(rt, "token") == NULL);
	expect_json(cJSON_GetObjectItemCaseSensitive(rt, "depends_on"), "[\"chat-api-ready\"]");
	expect_json(group(doc, "e2e"), "[\"chat-api-ready\",\"chat-roundtrip\"]");
	PF_EXPECT(group(doc, "chat-api") == NULL);
	cJSON_Delete(doc);

	/* with its backends: chat-roundtrip depends on them all */
	setenv("CHAT_API_TOKEN", "tok", 1);
	setenv("REDIS_URL", "redis://127.0.0.1:6379", 1);
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://127.0.0.1/mobius_chat", 1);
	doc = build();
	rt = check(doc, "chat-roundtrip");
	PF_EXPECT_STR(str(rt, "token"), "tok");
	expect_json(cJSON_GetObjectItemCaseSensitive(rt, "depends_on"),
		    "[\"redis\",\"chat-db\",\"chat-api-ready\"]");
	expect_json(group(doc, "chat-api"), "[\"chat-db\",\"redis\"]");
	expect_json(group(doc, "chat-worker"), "[\"chat-db\",\"redis\"]");
	cJSON_Delete(doc);
}

static void test_file_variants(void)
{
	char tok[64], url[64], err[512];

	clear_env();
	temp_file(tok, sizeof tok, "file-token\r\n");
	temp_file(url, sizeof url, "redis://127.0.0.1:6380\n");
	setenv("CHAT_API_URL", "http://127.0.0.1:8000", 1);
	setenv("CHAT_API_TOKEN_FILE", tok, 1);
	setenv("REDIS_URL_FILE", url, 1);
	setenv("DATABASE_URL_FILE", url, 1);
	setenv("RAG_DATABASE_URL", "postgresql://direct/mobius_rag", 1);
	cJSON *doc = build();
	PF_EXPECT_STR(str(check(doc, "chat-roundtrip"), "token"), "file-token");
	PF_EXPECT_STR(str(check(doc, "redis"), "url"), "redis://127.0.0.1:6380");
	/* RAG_DATABASE_URL wins over DATABASE_URL_FILE */
	PF_EXPECT_STR(str(check(doc, "rag-chunking-db"), "url"), "postgresql://direct/mobius_rag");
	cJSON_Delete(doc);

	/* both NAME and NAME_FILE: ambiguous, refused */
	setenv("REDIS_URL", "redis://127.0.0.1:1", 1);
	PF_EXPECT(pf_profile_document(err, sizeof err) == NULL);
	PF_EXPECT_STR(err, "environment: both REDIS_URL and REDIS_URL_FILE are set; set only one");
	unsetenv("REDIS_URL");

	/* a missing file names the variable and the path */
	unlink(tok);
	PF_EXPECT(pf_profile_document(err, sizeof err) == NULL);
	char want[256];
	snprintf(want, sizeof want,
		 "environment: CHAT_API_TOKEN_FILE: %s: cannot open file: No such file or directory",
		 tok);
	PF_EXPECT_STR(err, want);
	struct pf_config *cfg = NULL;
	PF_EXPECT(pf_config_from_env(&cfg, err, sizeof err) == -1);
	PF_EXPECT(cfg == NULL);
	unlink(url);
	clear_env();
}

/* The full profile goes through the same validation as a file.  Kinds
 * that are still placeholders refuse it; then only that is accepted. */
static void test_from_env(void)
{
	struct pf_config *cfg = NULL;
	char err[512] = "";

	clear_env();
	setenv("CHAT_RAG_DATABASE_URL", "postgresql://app:pgsecret@127.0.0.1:5432/mobius_chat", 1);
	setenv("RAG_DATABASE_URL", "postgresql://app:pgsecret@127.0.0.1:5432/mobius_rag", 1);
	setenv("REDIS_URL", "redis://:redissecret@127.0.0.1:6379/0", 1);
	setenv("CHAT_API_URL", "http://127.0.0.1:8000", 1);
	setenv("CHAT_API_TOKEN", "tokensecret", 1);
	if (pf_config_from_env(&cfg, err, sizeof err) < 0) {
		if (!strstr(err, "not built yet"))
			PF_EXPECT_STR(err, "(success, or a placeholder kind's refusal)");
		clear_env();
		return;
	}
	PF_EXPECT(cfg->n_checks == 6 && cfg->n_groups == 5);
	int rt = pf_config_find_check(cfg, "chat-roundtrip");
	PF_EXPECT(rt >= 0 && cfg->checks[rt].n_depends_on == 3);
	cJSON *d = pf_config_describe(cfg);
	char *out = cJSON_PrintUnformatted(d);
	PF_EXPECT(out && !strstr(out, "pgsecret") && !strstr(out, "redissecret") &&
		  !strstr(out, "tokensecret"));
	free(out);
	cJSON_Delete(d);
	pf_config_free(cfg);
	clear_env();
}

int main(void)
{
	pf_test("no variables: no checks", test_nothing_set);
	pf_test("CHAT_RAG_DATABASE_URL -> chat-db", test_chat_db);
	pf_test("RAG_DATABASE_URL / DATABASE_URL", test_rag_db);
	pf_test("REDIS_URL and REDIS_REQUEST_KEY", test_redis);
	pf_test("CHAT_API_URL and CHAT_API_TOKEN", test_chat_api);
	pf_test("NAME_FILE variants", test_file_variants);
	pf_test("pf_config_from_env validates the profile", test_from_env);
	return pf_test_summary();
}
