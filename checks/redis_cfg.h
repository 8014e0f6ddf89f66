/*
 * The redis check's configuration (SPEC §3 redis): parsed once at load by
 * redis_cfg.c, read-only afterwards and shared by every probe of the
 * check (redis.c).
 */
#ifndef PF_REDIS_CFG_H
#define PF_REDIS_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "redis_url.h"

struct pf_redis_cfg {
	char *url;		/* owned: as configured; holds the password, never printed */
	struct pf_redis_url u;	/* owned: parsed url */
	char *queue_key;	/* owned; NULL when no queue is configured */
	long max_depth;		/* -1: report the depth, no limit */
	uint64_t stall_after_ms;	/* 0: no stall rule */
	bool allow_replica;	/* ROLE slave is not read_only */
};

/* check_ops hooks: parse (0, or -1 with err filled), free (NULL-safe),
 * the redacted target and the redacted JSON description. */
int pf_redis_cfg_parse(const cJSON *obj, const cJSON *raw,
		const char *path, void **out,
		       char *err, size_t errlen);
void pf_redis_cfg_free(void *cfg);
void pf_redis_cfg_target(const void *cfg, char *buf, size_t len);
cJSON *pf_redis_cfg_describe(const void *cfg);

#endif
