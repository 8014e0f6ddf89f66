/*
 * A byte budget for one Redis reply: hiredis' reader buffers a reply until
 * it is complete, with no size cap, so a hostile or non-Redis peer could
 * make a probe grow without bound.  The budget meters the reader's buffer
 * and the reply objects (redis_budget.c); pf_redis_conn.h applies it.
 */
#ifndef PF_REDIS_BUDGET_H
#define PF_REDIS_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/read.h>

/* Owned by the caller (pf_redis_conn embeds it) and outlives the reader
 * it meters. */
struct pf_redis_budget {
	size_t cap;		/* in: most bytes one reply may hold */
	size_t objects;		/* bytes of the reply objects being built */
	long long announced;	/* bulk length announced above cap, else 0 */
	size_t announced_elements; /* array size refused at its header, else 0 */
	bool exceeded;		/* the cap was hit; stays set */
};

/* Replaces the reader's reply-object functions with metering wrappers that
 * count into b and refuse (hiredis then reports "Out of memory") an object
 * that would take the reply over b->cap.  `fns` (caller-owned, outlives
 * the install) holds the wrapper table; pf_redis_meter_remove restores
 * the originals.  pf_redis_conn_init installs it. */
struct pf_redis_meter {
	redisReplyObjectFunctions fns;		/* the wrappers */
	redisReplyObjectFunctions *orig;	/* borrowed: hiredis' table */
	struct pf_redis_budget *b;		/* borrowed */
};
void pf_redis_meter_install(redisReader *r, struct pf_redis_meter *m,
			    struct pf_redis_budget *b);
void pf_redis_meter_remove(redisReader *r, struct pf_redis_meter *m);

/* True (and b->exceeded set) when the reply being read holds more than
 * b->cap bytes, or announces a bulk string longer than b->cap. */
bool pf_redis_over_budget(const redisReader *r, struct pf_redis_budget *b);

/* Parses a bulk length header "<digits>\r\n" at s[0..n): 1 with *out set,
 * 0 when incomplete, -1 when malformed (hiredis reports that itself). */
int pf_redis_bulk_len(const char *s, size_t n, long long *out);

#endif
