/*
 * Internal to the redis kind: the probe's state, shared by redis.c (the
 * connection's life cycle, the pipeline, the deadline) and redis_replies.c
 * (what each reply means: PING, ROLE and the queue signals).
 */
#ifndef PF_REDIS_PROBE_H
#define PF_REDIS_PROBE_H

#include <stdbool.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_redis_adapter.h"
#include "redis_cfg.h"
#include "redis_queue.h"

enum redis_phase { PH_RESOLVE, PH_CONNECT, PH_CONNECTED };

struct redis_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct pf_redis_cfg *cfg;	/* borrowed: outlives the probe */
	struct pf_resolve *resolve;	/* owned while resolving, else NULL */
	/* Owned while non-NULL.  Set to NULL by whoever starts its teardown
	 * (us, or hiredis on a failed connect / lost connection), so exactly
	 * one party frees it. */
	redisAsyncContext *ac;
	enum redis_phase phase;
	const char *awaiting;		/* command whose reply we wait for */
	enum pf_addr_class aclass;
	char ip[64];			/* numeric address actually used */
	char target[80];		/* "ip:port" or "[ip]:port" for messages */
	double mark_ms;			/* monotonic: connect done, pipeline sent */
	/* Connect to PONG: the pipelined AUTH/SELECT/PING round trip (replies
	 * arrive together, so a per-reply delta would read ~0). */
	double latency_ms;		/* NAN until measured */
	long long depth;		/* LLEN; -1 until measured */
	char role[16];			/* ROLE's first element, "" until known */
	double oldest_age_ms;		/* NAN until measured */
	long consumers;			/* -1 until known */
	const char *consumers_from;	/* "client_list" or "info_blocked_clients" */
	struct pf_redis_memory *mem;	/* the check's memory (oldest item) */
	/* Caps the bytes one reply may hold; written by the adapter until
	 * the context is freed, so it lives as long as the probe. */
	struct pf_redis_budget budget;
};

/* Our replies are +OK, +PONG, :N, short errors, one queue item and a
 * CLIENT LIST of a few thousand clients: anything near this is not Redis
 * answering our commands. */
#define REDIS_REPLY_CAP (4 * 1024 * 1024)
#define REDIS_REPLY_CAP_TEXT "4 MiB"

/* redis_replies.c: the probe a reply is for, or NULL when it is to be
 * ignored (teardown in progress); a reply check that reports and stops
 * on anything but type want (and text). */
struct redis_probe *pf_redis_reply_probe(const redisAsyncContext *ac, void *r,
					 void *priv);
bool pf_redis_expect(struct redis_probe *p, const redisReply *r, int want,
		     const char *text);
/* hiredis reply callbacks, one per pipelined command */
void pf_redis_on_ok(redisAsyncContext *ac, void *reply, void *priv);
void pf_redis_on_ping(redisAsyncContext *ac, void *reply, void *priv);
void pf_redis_on_role(redisAsyncContext *ac, void *reply, void *priv);
void pf_redis_on_llen(redisAsyncContext *ac, void *reply, void *priv);
void pf_redis_on_lindex(redisAsyncContext *ac, void *reply, void *priv);
void pf_redis_on_clients(redisAsyncContext *ac, void *reply, void *priv);

#endif
