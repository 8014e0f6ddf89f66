/*
 * Internal to the redis kind: the probe's state, shared by redis.c (the
 * connection's life cycle, the pipeline, the deadline) and redis_replies.c
 * (what each reply means: PING, ROLE and the queue signals).
 */
#ifndef PF_REDIS_PROBE_H
#define PF_REDIS_PROBE_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_redis_conn.h"
#include "redis_cfg.h"
#include "redis_queue.h"

enum redis_phase { PH_RESOLVE, PH_CONNECT, PH_CONNECTED };

struct redis_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct pf_redis_cfg *cfg;	/* borrowed: outlives the probe */
	struct pf_resolve *resolve;	/* owned while resolving, else NULL */
	struct pf_redis_conn conn;	/* owned: closed by the teardown */
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
};

/* Our replies are +OK, +PONG, :N, short errors, one queue item and a
 * CLIENT LIST of a few thousand clients: anything near this is not Redis
 * answering our commands. */
#define REDIS_REPLY_CAP (4 * 1024 * 1024)
#define REDIS_REPLY_CAP_TEXT "4 MiB"

/* redis_replies.c: a reply check that reports and stops on anything but
 * type want (and text). */
bool pf_redis_expect(struct redis_probe *p, const redisReply *r, int want,
		     const char *text);
/* Reply callbacks (pf_redis_reply_fn), one per pipelined command; arg
 * is the probe.  The connection stops handing replies once a callback
 * has ended the probe (its teardown closes the connection). */
void pf_redis_on_ok(void *arg, redisReply *r);
void pf_redis_on_ping(void *arg, redisReply *r);
void pf_redis_on_role(void *arg, redisReply *r);
void pf_redis_on_llen(void *arg, redisReply *r);
void pf_redis_on_lindex(void *arg, redisReply *r);
void pf_redis_on_clients(void *arg, redisReply *r);

#endif
