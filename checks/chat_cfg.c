/*
 * Configuration of the chat kind (SPEC §3 chat): its key tables (the
 * check and the nested jwt object) and the rules across keys; the
 * tables also describe it (never the token or the JWT secret) and list
 * its secrets.  struct chat_cfg owns everything under it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "chat.h"
#include "pf_keys.h"
#include "pf_mask.h"
#include "pf_util.h"
#include "pf_uuid.h"
#include "pf_xfer.h"

/* The longest a minted token may live: a probe needs seconds. */
#define CHAT_JWT_TTL_MAX_MS (24ULL * 3600 * 1000)

static int jwt_check(void *obj, const cJSON *json, const char *path,
		     char *err, size_t errlen)
{
	struct chat_jwt *j = obj;

	(void)json;
	if (j->ttl_ms < 1000 || j->ttl_ms > CHAT_JWT_TTL_MAX_MS)
		return pf_keys_fail(err, errlen, path, "ttl", "must be between 1s and 24h");
	return 0;
}

static const struct pf_key jwt_key_list[] = {
	{ .name = "secret", .type = PF_KEY_SECRET, .required = true,
	  .offset = offsetof(struct chat_jwt, secret),
	  .doc = "the service's JWT_SECRET (HS256)" },
	{ .name = "claims", .type = PF_KEY_JSON,
	  .def = "{\"sub\":\"preflightd\",\"type\":\"access\"}",
	  .offset = offsetof(struct chat_jwt, claims),
	  .doc = "claims of every token; iat and exp are added" },
	{ .name = "ttl", .type = PF_KEY_DURATION, .def = "\"5m\"",
	  .offset = offsetof(struct chat_jwt, ttl_ms),
	  .doc = "lifetime of a minted token, 1s to 24h" },
	{ 0 }
};

static const struct pf_keys chat_jwt_keys = {
	.name = "chat.jwt", .keys = jwt_key_list, .size = sizeof(struct chat_jwt),
	.check = jwt_check,
	.doc = "A fresh HS256 token is minted for every probe, as mobius-user"
	       " issues them.",
};

/* body: message and thread_id have keys of their own. */
static int check_body(const struct chat_cfg *c, const char *path, char *err,
		      size_t errlen)
{
	if (c->body && (cJSON_GetObjectItemCaseSensitive(c->body, "message") ||
			cJSON_GetObjectItemCaseSensitive(c->body, "thread_id")))
		return pf_keys_fail(err, errlen, path, "body", "set message and thread_id with the"
			 " check's own keys");
	return 0;
}

/* The real service silently replaces a non-UUID thread_id with a new
 * thread: every probe would create one. */
static int thread_id_valid(const char *s, char *why, size_t len)
{
	if (pf_is_uuid(s))
		return 0;
	snprintf(why, len, "must be a UUID (the Chat API replaces anything else"
		 " with a new thread on every probe)");
	return -1;
}

static int chat_check(void *cfg, const cJSON *obj, const char *path,
		      char *err, size_t errlen)
{
	const struct chat_cfg *c = cfg;

	(void)obj;
	if (c->poll_ms < 10)
		return pf_keys_fail(err, errlen, path, "poll_interval",
				    "must be at least 10ms");
	if (!c->id_field[0])
		return pf_keys_fail(err, errlen, path, "id_field", "must not be empty");
	if (c->token && strpbrk(c->token->value, "\r\n"))
		return pf_keys_fail(err, errlen, path, "token", "must be one line");
	if (c->token && c->jwt)
		return pf_keys_fail(err, errlen, path, NULL, "set token or jwt, not both");
	return check_body(c, path, err, errlen);
}

static const struct pf_key chat_key_list[] = {
	{ .name = "base_url", .type = PF_KEY_URL, .required = true,
	  .valid = pf_url_check, .offset = offsetof(struct chat_cfg, base_url),
	  .doc = "the Chat API: POST {base_url}/chat, GET"
		 " {base_url}/chat/response/{id}" },
	{ .name = "message", .type = PF_KEY_STRING,
	  .def = "\"preflight check: reply OK\"",
	  .offset = offsetof(struct chat_cfg, message),
	  .doc = "the probe's message (keep it free of identifiers: the PHI"
		 " gate blocks them)" },
	{ .name = "body", .type = PF_KEY_JSON,
	  .offset = offsetof(struct chat_cfg, body),
	  .doc = "more POST fields, e.g. {\"chat_mode\": \"quick\","
		 " \"cache_assist\": false}" },
	{ .name = "thread_id", .type = PF_KEY_STRING, .valid = thread_id_valid,
	  .offset = offsetof(struct chat_cfg, thread_id),
	  .doc = "a UUID: every probe reuses this thread" },
	{ .name = "token", .type = PF_KEY_SECRET,
	  .offset = offsetof(struct chat_cfg, token),
	  .doc = "a static bearer token (the real API takes only JWTs: use"
		 " jwt)" },
	{ .name = "jwt", .type = PF_KEY_OBJECT, .sub = &chat_jwt_keys,
	  .offset = offsetof(struct chat_cfg, jwt),
	  .doc = "mint an HS256 token per probe" },
	{ .name = "poll_interval", .type = PF_KEY_DURATION, .def = "\"1s\"",
	  .offset = offsetof(struct chat_cfg, poll_ms),
	  .doc = "the first wait between polls; it grows x1.5 up to 10s" },
	{ .name = "id_field", .type = PF_KEY_STRING, .def = "\"correlation_id\"",
	  .offset = offsetof(struct chat_cfg, id_field),
	  .doc = "the field of the POST answer that names the job" },
	/* refinement_ask is a terminal answer of the real service too (its
	 * orchestrator stores it like clarification: the path worked) */
	{ .name = "done", .type = PF_KEY_STRINGS,
	  .def = "[\"completed\",\"clarification\",\"refinement_ask\"]",
	  .offset = offsetof(struct chat_cfg, done),
	  .doc = "statuses that end the round trip as a pass" },
	{ .name = "failed", .type = PF_KEY_STRINGS, .def = "[\"failed\",\"error\"]",
	  .offset = offsetof(struct chat_cfg, failed),
	  .doc = "statuses that end it as job_failed" },
	{ .name = "http", .type = PF_KEY_INLINE, .sub = &pf_xfer_keys,
	  .offset = offsetof(struct chat_cfg, xfer) },
	{ 0 }
};

const struct pf_keys pf_chat_keys = {
	.name = "chat", .keys = chat_key_list, .size = sizeof(struct chat_cfg),
	.check = chat_check, .target = "base_url",
	.doc = "POST /chat, then poll /chat/response/{id} until the job is done,"
	       " failed or the deadline passes.  Every probe is a real, paid"
	       " turn of the service: the kind runs on demand by default.",
};
