/*
 * Configuration of the chat kind: parse, defaults, validation, and the
 * redacted forms (target, describe) that never show the token or secret
 * header values.  Owns struct chat_cfg and everything under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "pf_config.h"
#include "pf_util.h"
#include "web.h"

#define CHAT_DEFAULT_MESSAGE "preflight check: reply OK"

void pf_chat_cfg_free(void *p)
{
	struct chat_cfg *c = p;

	if (!c)
		return;
	free(c->base_url);
	free(c->message);
	free(c->thread_id);
	free(c->token);
	free(c->id_field);
	free(c->ca_file);
	cJSON_Delete(c->headers);
	pf_cfg_strv_free(c->done);
	pf_cfg_strv_free(c->failed);
	free(c);
}

/* Defaults for the lists that were not configured. */
static int chat_default_lists(struct chat_cfg *c)
{
	static const char *const done[] = { "completed", NULL };
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
	    pf_cfg_str(obj, path, "token", false, &c->token, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "id_field", false, &c->id_field, err, errlen) < 0)
		return -1;
	if (pf_web_check_url(c->base_url, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s.base_url: %s", path, why);
		return -1;
	}
	if (c->token && strpbrk(c->token, "\r\n")) {
		snprintf(err, errlen, "%s.token: must be one line", path);
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

int pf_chat_cfg_parse(const cJSON *obj, const char *path, void **out,
		      char *err, size_t errlen)
{
	struct chat_cfg *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	c->poll_ms = 1000;
	if (chat_parse_strings(obj, path, c, err, errlen) < 0 ||
	    pf_web_headers(obj, path, &c->headers, err, errlen) < 0 ||
	    pf_cfg_duration(obj, path, "poll_interval", &c->poll_ms, err, errlen) < 0 ||
	    pf_cfg_strv(obj, path, "done", &c->done, &c->n_done, err, errlen) < 0 ||
	    pf_cfg_strv(obj, path, "failed", &c->failed, &c->n_failed, err, errlen) < 0 ||
	    pf_web_max_body(obj, path, &c->max_body, err, errlen) < 0 ||
	    pf_web_ca_file(obj, path, &c->ca_file, err, errlen) < 0)
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

	pf_redact_url(c->base_url, buf, len);
}

static cJSON *strv_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; v && v[i]; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

cJSON *pf_chat_cfg_describe(const void *cfg)
{
	const struct chat_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject();
	char buf[1024];

	cJSON_AddStringToObject(o, "base_url", pf_redact_url(c->base_url, buf, sizeof(buf)));
	cJSON_AddStringToObject(o, "message", c->message);
	if (c->thread_id)
		cJSON_AddStringToObject(o, "thread_id", c->thread_id);
	if (c->token)
		cJSON_AddStringToObject(o, "token", "***");
	if (c->headers)
		cJSON_AddItemToObject(o, "headers", pf_web_headers_describe(c->headers));
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
