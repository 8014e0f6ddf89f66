/*
 * Configuration of the chat kind (SPEC §3 chat): parse, defaults,
 * validation, and the redacted forms (target, describe) that never show
 * the token, the JWT secret or secret header values.  Owns struct
 * chat_cfg and everything under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "pf_config.h"
#include "pf_util.h"
#include "pf_uuid.h"
#include "pf_xfer.h"
#include "pf_mask.h"

#define CHAT_DEFAULT_MESSAGE "preflight check: reply OK"
/* The longest a minted token may live: a probe needs seconds. */
#define CHAT_JWT_TTL_MAX_MS (24ULL * 3600 * 1000)

static void jwt_free(struct chat_jwt *j)
{
	if (!j)
		return;
	pf_secret_free(&j->secret);
	cJSON_Delete(j->claims);
	free(j);
}

void pf_chat_cfg_free(void *p)
{
	struct chat_cfg *c = p;

	if (!c)
		return;
	free(c->base_url);
	free(c->message);
	free(c->thread_id);
	cJSON_Delete(c->body);
	if (c->auth) {
		pf_secret_free(&c->auth->token);
		jwt_free(c->auth->jwt);
		free(c->auth);
	}
	free(c->id_field);
	free(c->ca_file);
	cJSON_Delete(c->headers);
	pf_cfg_strv_free(c->done);
	pf_cfg_strv_free(c->failed);
	free(c);
}

/* Defaults for the lists that were not configured.  refinement_ask is a
 * terminal answer of the real service too (its orchestrator stores it
 * like clarification: the path worked). */
static int chat_default_lists(struct chat_cfg *c)
{
	static const char *const done[] = {
		"completed", "clarification", "refinement_ask", NULL };
	static const char *const failed[] = { "failed", "error", NULL };
	const char *const *src[2] = { done, failed };
	char ***dst[2] = { &c->done, &c->failed };
	size_t *n[2] = { &c->n_done, &c->n_failed };

	for (int l = 0; l < 2; l++) {
		size_t k = 0;

		if (*dst[l])
			continue;
		while (src[l][k])
			k++;
		if (!(*dst[l] = calloc(k + 1, sizeof(char *))))
			return -1;
		for (size_t i = 0; i < k; i++)
			if (!((*dst[l])[i] = strdup(src[l][i])))
				return -1;
		*n[l] = k;
	}
	return 0;
}

static int chat_parse_strings(const cJSON *obj, const char *path,
			      struct chat_cfg *c, char *err, size_t errlen)
{
	char why[128];

	if (pf_cfg_str(obj, path, "base_url", true, &c->base_url, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "message", false, &c->message, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "thread_id", false, &c->thread_id, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "id_field", false, &c->id_field, err, errlen) < 0)
		return -1;
	if (pf_url_check(c->base_url, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s.base_url: %s", path, why);
		return -1;
	}
	/* The real service silently replaces a non-UUID thread_id with a new
	 * thread: every probe would create one. */
	if (c->thread_id && !pf_is_uuid(c->thread_id)) {
		snprintf(err, errlen, "%s.thread_id: must be a UUID (the Chat API"
			 " replaces anything else with a new thread on every"
			 " probe)", path);
		return -1;
	}
	if ((!c->message && !(c->message = strdup(CHAT_DEFAULT_MESSAGE))) ||
	    (!c->id_field && !(c->id_field = strdup("correlation_id")))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (!c->id_field[0]) {
		snprintf(err, errlen, "%s.id_field: must not be empty", path);
		return -1;
	}
	return 0;
}

/* body: an object of extra POST fields; message and thread_id have keys
 * of their own, so the body may not set them too. */
static int chat_parse_body(const cJSON *obj, const char *path,
			   struct chat_cfg *c, char *err, size_t errlen)
{
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(obj, "body");

	if (!b)
		return 0;
	if (!cJSON_IsObject(b)) {
		snprintf(err, errlen, "%s.body: must be an object of POST fields,"
			 " e.g. {\"chat_mode\": \"quick\", \"cache_assist\": false}", path);
		return -1;
	}
	if (cJSON_GetObjectItemCaseSensitive(b, "message") ||
	    cJSON_GetObjectItemCaseSensitive(b, "thread_id")) {
		snprintf(err, errlen, "%s.body: set message and thread_id with the"
			 " check's own keys", path);
		return -1;
	}
	if (!(c->body = cJSON_Duplicate(b, 1))) {
		snprintf(err, errlen, "%s.body: out of memory", path);
		return -1;
	}
	return 0;
}

/* jwt: {"secret", "claims", "ttl"} (nested keys checked like any). */
static int chat_parse_jwt(const cJSON *obj, const cJSON *raw, const char *path,
			  struct chat_auth *a, char *err, size_t errlen)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "jwt"), *k;
	const cJSON *rj = raw ? cJSON_GetObjectItemCaseSensitive(raw, "jwt") : NULL;
	const cJSON *claims;
	char jpath[256];

	if (!j)
		return 0;
	snprintf(jpath, sizeof(jpath), "%s.jwt", path);
	if (!cJSON_IsObject(j)) {
		snprintf(err, errlen, "%s: must be an object {\"secret\", \"claims\","
			 " \"ttl\"}", jpath);
		return -1;
	}
	cJSON_ArrayForEach(k, j) {
		if (strcmp(k->string, "secret") && strcmp(k->string, "claims") &&
		    strcmp(k->string, "ttl")) {
			snprintf(err, errlen, "%s.%.64s: unknown key (expected secret,"
				 " claims, ttl)", jpath, k->string);
			return -1;
		}
	}
	if (!(a->jwt = calloc(1, sizeof(*a->jwt)))) {
		snprintf(err, errlen, "%s: out of memory", jpath);
		return -1;
	}
	a->jwt->ttl_ms = 300000;
	if (pf_cfg_secret(j, rj, jpath, "secret", true, &a->jwt->secret, err,
			  errlen) < 0 ||
	    pf_cfg_duration(j, jpath, "ttl", &a->jwt->ttl_ms, err, errlen) < 0)
		return -1;
	if (a->jwt->ttl_ms < 1000 || a->jwt->ttl_ms > CHAT_JWT_TTL_MAX_MS) {
		snprintf(err, errlen, "%s.ttl: must be between 1s and 24h", jpath);
		return -1;
	}
	claims = cJSON_GetObjectItemCaseSensitive(j, "claims");
	if (claims && !cJSON_IsObject(claims)) {
		snprintf(err, errlen, "%s.claims: must be an object such as"
			 " {\"sub\": \"preflightd\", \"type\": \"access\"}", jpath);
		return -1;
	}
	a->jwt->claims = claims ? cJSON_Duplicate(claims, 1)
				: cJSON_Parse("{\"sub\":\"preflightd\",\"type\":\"access\"}");
	if (!a->jwt->claims) {
		snprintf(err, errlen, "%s: out of memory", jpath);
		return -1;
	}
	return 0;
}

/* token (a static bearer) or jwt; a ${file:} token is watched. */
static int chat_parse_auth(const cJSON *obj, const cJSON *raw, const char *path,
			   struct chat_cfg *c, char *err, size_t errlen)
{
	if (!(c->auth = calloc(1, sizeof(*c->auth)))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (pf_cfg_secret(obj, raw, path, "token", false, &c->auth->token, err,
			  errlen) < 0 ||
	    chat_parse_jwt(obj, raw, path, c->auth, err, errlen) < 0)
		return -1;
	if (c->auth->token.value && strpbrk(c->auth->token.value, "\r\n")) {
		snprintf(err, errlen, "%s.token: must be one line", path);
		return -1;
	}
	if (c->auth->token.value && c->auth->jwt) {
		snprintf(err, errlen, "%s: set token or jwt, not both", path);
		return -1;
	}
	return 0;
}

int pf_chat_cfg_parse(const cJSON *obj, const cJSON *raw, const char *path,
		      void **out, char *err, size_t errlen)
{
	struct chat_cfg *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	c->poll_ms = 1000;
	if (chat_parse_strings(obj, path, c, err, errlen) < 0 ||
	    chat_parse_body(obj, path, c, err, errlen) < 0 ||
	    chat_parse_auth(obj, raw, path, c, err, errlen) < 0 ||
	    pf_xfer_cfg_headers(obj, path, &c->headers, err, errlen) < 0 ||
	    pf_cfg_duration(obj, path, "poll_interval", &c->poll_ms, err, errlen) < 0 ||
	    pf_cfg_strv(obj, path, "done", &c->done, &c->n_done, err, errlen) < 0 ||
	    pf_cfg_strv(obj, path, "failed", &c->failed, &c->n_failed, err, errlen) < 0 ||
	    pf_xfer_cfg_max_body(obj, path, &c->max_body, err, errlen) < 0 ||
	    pf_xfer_cfg_ca_file(obj, path, &c->ca_file, err, errlen) < 0)
		goto fail;
	if (c->poll_ms < 10) {
		snprintf(err, errlen, "%s.poll_interval: must be at least 10ms", path);
		goto fail;
	}
	if (chat_default_lists(c) < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	pf_chat_cfg_free(c);
	return -1;
}

void pf_chat_cfg_target(const void *cfg, char *buf, size_t len)
{
	const struct chat_cfg *c = cfg;

	pf_mask_url(c->base_url, buf, len);
}

static cJSON *strv_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; v && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* auth as `preflightd config` shows it: never a secret's value. */
static void describe_auth(cJSON *o, const struct chat_auth *a)
{
	char buf[64];

	if (a->token.value)
		cJSON_AddStringToObject(o, "token", "***");
	if (!a->jwt)
		return;
	cJSON *j = cJSON_AddObjectToObject(o, "jwt");
	cJSON_AddStringToObject(j, "secret", "***");
	cJSON_AddItemToObject(j, "claims", cJSON_Duplicate(a->jwt->claims, 1));
	cJSON_AddStringToObject(j, "ttl", pf_duration_format(a->jwt->ttl_ms, buf,
							     sizeof(buf)));
}

cJSON *pf_chat_cfg_describe(const void *cfg)
{
	const struct chat_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject();
	char buf[1024];

	cJSON_AddStringToObject(o, "base_url", pf_mask_url(c->base_url, buf, sizeof(buf)));
	cJSON_AddStringToObject(o, "message", c->message);
	if (c->body)
		cJSON_AddItemToObject(o, "body", cJSON_Duplicate(c->body, 1));
	if (c->thread_id)
		cJSON_AddStringToObject(o, "thread_id", c->thread_id);
	describe_auth(o, c->auth);
	if (c->headers)
		cJSON_AddItemToObject(o, "headers", pf_xfer_headers_describe(c->headers));
	cJSON_AddStringToObject(o, "poll_interval",
				pf_duration_format(c->poll_ms, buf, sizeof(buf)));
	cJSON_AddStringToObject(o, "id_field", c->id_field);
	cJSON_AddItemToObject(o, "done", strv_json(c->done));
	cJSON_AddItemToObject(o, "failed", strv_json(c->failed));
	cJSON_AddNumberToObject(o, "max_body", (double)c->max_body);
	if (c->ca_file)
		cJSON_AddStringToObject(o, "ca_file", c->ca_file);
	return o;
}
