/*
 * The redis check's key table: the URL (password kept, never printed),
 * the optional queue and allow_replica.  The table's check parses the
 * URL once at load; its free hook wipes the URL and its parse.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <hiredis/hiredis.h>

#include "pf_keys.h"
#include "pf_mask.h"
#include "redis_cfg.h"

static int queue_check(void *obj, const cJSON *json, const char *path,
		       char *err, size_t errlen)
{
	struct pf_redis_queue *q = obj;

	if (!cJSON_GetObjectItemCaseSensitive(json, "max_depth"))
		q->max_depth = -1;	/* below the key's minimum: unset */
	if (q->key[0] == '\0')
		return pf_keys_fail(err, errlen, path, "key", "must not be empty");
	if (cJSON_GetObjectItemCaseSensitive(json, "stall_after") &&
	    q->stall_after_ms == 0)
		return pf_keys_fail(err, errlen, path, "stall_after", "must be longer than 0");
	return 0;
}

static const struct pf_key queue_key_list[] = {
	{ .name = "key", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct pf_redis_queue, key),
	  .doc = "the list the workers BRPOP from (\"mobius:chat:jobs\")" },
	{ .name = "max_depth", .type = PF_KEY_INT, .min = 0, .max = 1000000000L,
	  .offset = offsetof(struct pf_redis_queue, max_depth),
	  .doc = "queue_backlog when LLEN is above this; absent: the depth is"
		 " only reported" },
	{ .name = "stall_after", .type = PF_KEY_DURATION,
	  .offset = offsetof(struct pf_redis_queue, stall_after_ms),
	  .doc = "queue_stalled when the oldest item stays the oldest this long"
		 " with nobody popping" },
	{ 0 }
};

static const struct pf_keys queue_keys = {
	.name = "redis.queue", .keys = queue_key_list,
	.size = sizeof(struct pf_redis_queue), .check = queue_check,
	.doc = "A Redis list used as a job queue: depth, consumers, stall.",
};

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

static int redis_check(void *obj, const cJSON *json, const char *path,
		       char *err, size_t errlen)
{
	struct pf_redis_cfg *c = obj;
	char msg[256];

	(void)json;
	if (pf_redis_url_parse(c->url, &c->u, msg, sizeof(msg)) < 0)
		return pf_keys_fail(err, errlen, path, "url", "%s", msg);
	return c->u.tls ? refuse_tls(path, err, errlen) : 0;
}

static void redis_free(void *obj)
{
	struct pf_redis_cfg *c = obj;

	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	pf_redis_url_free(&c->u);
}

/* URL options redis-py accepts but one probe has no use for. */
static void redis_describe(const void *obj, cJSON *out)
{
	const struct pf_redis_cfg *c = obj;
	char note[400];
	cJSON *notes;

	if (!c->u.ignored[0])
		return;
	snprintf(note, sizeof(note), "URL options ignored (no meaning for a"
		 " probe that opens one connection): %s", c->u.ignored);
	notes = cJSON_AddArrayToObject(out, "notes");
	if (notes)
		cJSON_AddItemToArray(notes, cJSON_CreateString(note));
}

static const struct pf_key redis_key_list[] = {
	{ .name = "url", .type = PF_KEY_URL, .required = true,
	  .offset = offsetof(struct pf_redis_cfg, url),
	  .doc = "redis://[user:password@]host[:port][/db] (redis-py's"
		 " REDIS_URL forms)" },
	{ .name = "queue", .type = PF_KEY_OBJECT, .sub = &queue_keys,
	  .offset = offsetof(struct pf_redis_cfg, queue),
	  .doc = "a list to watch: {\"key\", \"max_depth\", \"stall_after\"}" },
	{ .name = "allow_replica", .type = PF_KEY_BOOL, .def = "false",
	  .offset = offsetof(struct pf_redis_cfg, allow_replica),
	  .doc = "a replica (ROLE slave) passes instead of read_only" },
	{ 0 }
};

const struct pf_keys pf_redis_keys = {
	.name = "redis", .keys = redis_key_list, .size = sizeof(struct pf_redis_cfg),
	.check = redis_check, .free = redis_free, .describe = redis_describe,
	.target = "url",
	.doc = "Connect, AUTH, SELECT, PING and ROLE; optionally a queue's"
	       " depth, consumers and age. The connection closes with a reset"
	       " once the replies are in, leaving no TIME_WAIT socket.",
};
