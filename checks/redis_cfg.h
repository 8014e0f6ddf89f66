/*
 * The redis check's configuration (SPEC §3 redis): its key table
 * (redis_cfg.c) parses it once at load; read-only afterwards and shared
 * by every probe of the check (redis.c).
 */
#ifndef PF_REDIS_CFG_H
#define PF_REDIS_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "redis_url.h"

struct pf_keys;

/* "queue": the list a worker BRPOPs from. */
struct pf_redis_queue {
	char *key;		/* owned: the list's name */
	long max_depth;		/* -1: report the depth, no limit */
	uint64_t stall_after_ms;	/* 0: no stall rule */
};

struct pf_redis_cfg {
	char *url;		/* owned: as configured; holds the password, never printed */
	struct pf_redis_url u;	/* owned: parsed url (derived by the table's check) */
	struct pf_redis_queue *queue;	/* owned; NULL when no queue is configured */
	bool allow_replica;	/* ROLE slave is not read_only */
};

extern const struct pf_keys pf_redis_keys;


#endif
