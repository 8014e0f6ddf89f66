/*
 * Parsing, describing and freeing the redis check's configuration: the
 * URL (password kept, never printed) and the optional queue.  Owns every
 * string of struct pf_redis_cfg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "pf_config.h"
#include "pf_util.h"
#include "redis_cfg.h"
#include "pf_mask.h"

void pf_redis_cfg_free(void *cfg)
{
	struct pf_redis_cfg *c = cfg;

	if (!c)
		return;
	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	free(c->url);
	pf_redis_url_free(&c->u);
	free(c->queue_key);
	free(c);
}

/* queue: {"key", "max_depth", "stall_after"}; unknown keys are typos. */
static int parse_queue(const cJSON *obj, const char *path,
		       struct pf_redis_cfg *c, char *err, size_t errlen)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, "queue");
	const cJSON *it;
	char qpath[256];

	if (!q)
		return 0;
	if (!cJSON_IsObject(q)) {
		snprintf(err, errlen, "%s.queue: must be an object such as "
			 "{\"key\": \"mobius:chat:requests\", \"max_depth\": 1000}", path);
		return -1;
	}
	snprintf(qpath, sizeof(qpath), "%s.queue", path);
	cJSON_ArrayForEach(it, q) {
		if (strcmp(it->string, "key") != 0 && strcmp(it->string, "max_depth") != 0 &&
		    strcmp(it->string, "stall_after") != 0) {
			snprintf(err, errlen, "%s.%s: unknown key (expected \"key\", "
				 "\"max_depth\" and \"stall_after\")", qpath, it->string);
			return -1;
		}
		for (const cJSON *prev = q->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0) {
				snprintf(err, errlen, "%s.%s: duplicate key", qpath,
					 it->string);
				return -1;
			}
	}
	if (pf_cfg_str(q, qpath, "key", true, &c->queue_key, err, errlen) < 0 ||
	    pf_cfg_int(q, qpath, "max_depth", 0, 1000000000L, &c->max_depth, err, errlen) < 0 ||
	    pf_cfg_duration(q, qpath, "stall_after", &c->stall_after_ms, err, errlen) < 0)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(q, "stall_after") && c->stall_after_ms == 0) {
		snprintf(err, errlen, "%s.stall_after: must be longer than 0", qpath);
		return -1;
	}
	if (c->queue_key[0] == '\0') {
		snprintf(err, errlen, "%s.key: must not be empty", qpath);
		return -1;
	}
	return 0;
}

/* rediss:// is refused until a TLS-capable hiredis is wired in. */
static int refuse_tls(const char *path, char *err, size_t errlen)
{
#if HIREDIS_MAJOR >= 1
	/* hiredis >= 1.0 has hiredis_ssl (redisInitiateSSLWithContext); this
	 * build does not link it, so TLS stays refused until the probe does. */
	snprintf(err, errlen, "%s.url: rediss:// (TLS) is not supported by this "
		 "build (no hiredis_ssl); use redis:// over a private network or a "
		 "TLS proxy", path);
#else
	snprintf(err, errlen, "%s.url: rediss:// (TLS) is not supported: the "
		 "system hiredis %d.%d has no TLS; use redis:// over a private "
		 "network, or a local TLS proxy (stunnel) in front of Redis",
		 path, HIREDIS_MAJOR, HIREDIS_MINOR);
#endif
	return -1;
}

int pf_redis_cfg_parse(const cJSON *obj, const cJSON *raw,
		const char *path, void **out,
		       char *err, size_t errlen)
{
	struct pf_redis_cfg *c = calloc(1, sizeof(*c));
	char msg[256];

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	c->max_depth = -1;
	if (pf_cfg_str(obj, path, "url", true, &c->url, err, errlen) < 0)
		goto fail;
	if (pf_redis_url_parse(c->url, &c->u, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s.url: %s", path, msg);
		goto fail;
	}
	if (c->u.tls && refuse_tls(path, err, errlen) < 0)
		goto fail;
	if (parse_queue(obj, path, c, err, errlen) < 0 ||
	    pf_cfg_bool(obj, path, "allow_replica", &c->allow_replica, err, errlen) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	pf_redis_cfg_free(c);
	return -1;
}

void pf_redis_cfg_target(const void *cfg, char *buf, size_t len)
{
	const struct pf_redis_cfg *c = cfg;

	pf_mask_url(c->url, buf, len);
}

cJSON *pf_redis_cfg_describe(const void *cfg)
{
	const struct pf_redis_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject(), *q;
	char url[1024];

	if (!o || !cJSON_AddStringToObject(o, "url", pf_mask_url(c->url, url, sizeof(url))))
		goto fail;
	if (c->queue_key) {
		q = cJSON_AddObjectToObject(o, "queue");
		if (!q || !cJSON_AddStringToObject(q, "key", c->queue_key))
			goto fail;
		if (c->max_depth >= 0 &&
		    !cJSON_AddNumberToObject(q, "max_depth", (double)c->max_depth))
			goto fail;
		if (c->stall_after_ms > 0 &&
		    !cJSON_AddStringToObject(q, "stall_after",
					     pf_duration_format(c->stall_after_ms, url,
								sizeof(url))))
			goto fail;
	}
	cJSON_AddBoolToObject(o, "allow_replica", c->allow_replica);
	if (c->u.ignored[0]) {
		char note[400];
		snprintf(note, sizeof(note), "URL options ignored (no meaning for a"
			 " probe that opens one connection): %s", c->u.ignored);
		cJSON *notes = cJSON_AddArrayToObject(o, "notes");
		cJSON_AddItemToArray(notes, cJSON_CreateString(note));
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
