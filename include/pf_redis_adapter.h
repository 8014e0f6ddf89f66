/*
 * The redis check's own libevent adapter for hiredis 0.14 async contexts,
 * plus a byte budget: hiredis buffers a reply until it is complete with no
 * size cap, so a hostile or non-Redis peer could make a probe grow without
 * bound.  The budget meters the reader's buffer and the reply objects.
 */
#ifndef PF_REDIS_ADAPTER_H
#define PF_REDIS_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/read.h>

/* Owned by the caller (embedded in the probe) and must outlive the
 * redisAsyncContext it is attached to: the adapter writes to it during the
 * context's teardown, and reads it after hiredis may have freed the
 * context (`attached` says whether the context is still alive). */
struct pf_redis_budget {
	size_t cap;		/* in: most bytes one reply may hold */
	/* in: called from the read event, outside any hiredis callback, when a
	 * reply outgrows the cap.  It must tear the context down (or at least
	 * stop reading).  `arg` is borrowed. */
	void (*on_exceeded)(void *arg);
	void *arg;
	size_t objects;		/* bytes of the reply objects being built */
	long long announced;	/* bulk length announced above cap, else 0 */
	size_t announced_elements; /* array size refused at its header, else 0 */
	bool attached;		/* an adapter is attached to a live context */
	bool exceeded;		/* the cap was hit; stays set */
};

/* Replaces the reader's reply-object functions with metering wrappers that
 * count into b and refuse (hiredis then reports "Out of memory") an object
 * that would take the reply over b->cap.  `fns` (caller-owned, outlives
 * the install) holds the wrapper table; pf_redis_meter_remove restores
 * the originals.  Public for the unit tests; pf_redis_attach uses it. */
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

/* Attaches ac to base with one read and one write event (like hiredis'
 * redisLibeventAttach) and meters its replies against b.  Sets
 * b->attached; the context's cleanup clears it.  REDIS_OK or REDIS_ERR
 * (out of memory; ac untouched). */
int pf_redis_attach(redisAsyncContext *ac, struct event_base *base,
		    struct pf_redis_budget *b);

#endif
