/*
 * The redis check's queue signals (SPEC §3 redis), pure: who consumes the
 * request list (clients blocked in BRPOP and friends, from CLIENT LIST or
 * INFO clients), how long its oldest item has been there (the check's
 * memory across probes), and the verdict.  Unit-tested in
 * tests/unit/test_redis_url.c.
 */
#ifndef PF_REDIS_QUEUE_H
#define PF_REDIS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pf_check.h"

/* What the check remembers between probes (ops->memory_size bytes, plain
 * data): the oldest item last seen, by hash, and since when. */
struct pf_redis_memory {
	bool seen;
	uint64_t hash;			/* FNV-1a of the item */
	size_t len;
	double first_seen_ms;		/* monotonic */
};

/* Clients blocked in a list-popping command (BRPOP, BLPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP) in a CLIENT LIST answer: an idle Chat worker is
 * always one of them. */
long pf_redis_consumers(const char *client_list, size_t len);

/* blocked_clients from an INFO clients answer (every blocking command
 * counts there), or -1 when absent. */
long pf_redis_info_blocked(const char *info, size_t len);

/* Records the queue's oldest item (item NULL: the queue is empty) seen at
 * now_ms; returns how long that same item has been the oldest, in ms (0
 * when new or empty). */
double pf_redis_oldest_age(struct pf_redis_memory *m, const char *item,
			   size_t len, double now_ms);

/* The queue verdict: queue_stalled when the list is not empty and its
 * oldest item has not moved for stall_after_ms (0: no stall rule); else
 * queue_backlog above max_depth (-1: no limit); else none.  err says
 * what; consumers < 0 when unknown. */
enum pf_reason pf_redis_queue_verdict(const char *key, long long depth,
				      long max_depth, double age_ms,
				      uint64_t stall_after_ms, long consumers,
				      char *err, size_t errlen);

#endif
