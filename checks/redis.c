/*
 * The `redis` check kind (SPEC §3): resolve with evdns, connect on our
 * own Redis connection (redis_conn.c: hiredis' reader under a byte
 * budget), then one pipelined round trip: AUTH, SELECT, PING, ROLE and,
 * with a queue, LLEN, LINDEX key -1 and CLIENT LIST (INFO clients one
 * round trip later where CLIENT is not allowed).  The queue signals
 * themselves are redis_queue.c's.  Owns the probe's resolver request and
 * its connection.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "pf_check.h"
#include "pf_hint.h"
#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_util.h"
#include "pf_redis_conn.h"
#include "redis_cfg.h"
#include "redis_probe.h"
#include "redis_reply.h"
#include "pf_mask.h"
#include "pf_text.h"


/* ---- probe: reporting ------------------------------------------------- */

/* Last words: details for every outcome that got as far as an address. */
static void redis_conclude(struct pf_probe *base)
{
	struct redis_probe *p = (struct redis_probe *)base;
	cJSON *d;

	if (p->target[0])
		pf_result_var(&base->res, "target", "%s", p->target);
	if (p->base.res.details || !p->ip[0])
		return;
	if (!(d = cJSON_CreateObject()))
		return;
	cJSON_AddStringToObject(d, "address", p->ip);
	cJSON_AddStringToObject(d, "address_class", pf_addr_class_name(p->aclass));
	if (p->role[0])
		cJSON_AddStringToObject(d, "role", p->role);
	if (!isnan(p->latency_ms))
		cJSON_AddNumberToObject(d, "latency_ms", round(p->latency_ms * 1000) / 1000);
	if (p->depth >= 0)
		cJSON_AddNumberToObject(d, "queue_depth", (double)p->depth);
	if (p->cfg->queue && p->consumers >= 0) {
		cJSON_AddNumberToObject(d, "consumers", (double)p->consumers);
		cJSON_AddStringToObject(d, "consumers_from", p->consumers_from);
	}
	if (!isnan(p->oldest_age_ms))
		cJSON_AddNumberToObject(d, "oldest_age_s", round(p->oldest_age_ms / 100) / 10);
	p->base.res.details = d;
}

/* ---- probe: teardown -------------------------------------------------- */

/* Frees what the probe holds; the connection closes with a reset. */
static void redis_teardown(struct pf_probe *base)
{
	struct redis_probe *p = (struct redis_probe *)base;

	if (p->resolve)
		pf_resolve_cancel(p->resolve);
	p->resolve = NULL;
	pf_redis_conn_close(&p->conn);
}

/* ---- probe: connection ------------------------------------------------ */

static void redis_connect_failed(struct redis_probe *p, int err)
{
	pf_probe_set(&p->base, pf_connect_reason(err), "connect to %s: %s",
		     p->target, strerror(err));
	pf_probe_end(&p->base);
}

/* Connection: the handshake completed. */
static void redis_on_connected(void *arg)
{
	struct redis_probe *p = arg;

	p->phase = PH_CONNECTED;
	p->mark_ms = pf_mono_ms();
}

/* The error for a reply over REDIS_REPLY_CAP (see pf_redis_budget). */
static void redis_over_budget_error(struct redis_probe *p)
{
	const struct pf_redis_budget *b = &p->conn.budget;

	if (b->announced > 0)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s announced a "
			     "%lld-byte reply to %s, more than the "
			     REDIS_REPLY_CAP_TEXT " a probe may buffer: not a "
			     "Redis server?", p->target, b->announced,
			     p->awaiting);
	else if (b->announced_elements > 0)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s announced a "
			     "%zu-element array in reply to %s, more than the "
			     REDIS_REPLY_CAP_TEXT " a probe may buffer: not a "
			     "Redis server?", p->target,
			     b->announced_elements, p->awaiting);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s sent more than "
			     REDIS_REPLY_CAP_TEXT " without completing a reply "
			     "(waiting for the reply to %s): not a Redis server?",
			     p->target, p->awaiting);
}

/* Connection: it failed before the last reply; the peer is not Redis
 * answering our commands (or not reachable at all). */
static void redis_on_failed(void *arg, enum pf_redis_conn_error e, int err,
			    const char *text)
{
	struct redis_probe *p = arg;
	char peer[160];

	if (p->base.ended)
		return;
	if (e == PF_REDIS_CONN_CONNECT) {
		redis_connect_failed(p, err);
		return;
	}
	if (e == PF_REDIS_CONN_RESOURCE) {
		/* as the tcp kind: our shortage, not the peer's fault */
		pf_probe_fail(&p->base, PF_REASON_INTERNAL, err == ENOMEM ||
			      err == ENOBUFS ? "out of memory" : "socket: %s",
			      strerror(err));
		return;
	}
	pf_text_clean(text, strlen(text), 200, peer, sizeof(peer));
	pf_mask_secret(peer, sizeof(peer), p->cfg->u.password);
	if (e == PF_REDIS_CONN_BUDGET)
		redis_over_budget_error(p);
	else if (e == PF_REDIS_CONN_EOF)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s closed the connection "
			     "before answering %s", p->target, p->awaiting);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s: %s (waiting for the "
			     "reply to %s): is this a Redis server?", p->target,
			     e == PF_REDIS_CONN_IO ? strerror(err) : peer, p->awaiting);
	pf_result_cause(&p->base.res, "not_redis");
	pf_probe_end(&p->base);
}

static const struct pf_redis_conn_ops redis_conn_ops = {
	.connected = redis_on_connected, .failed = redis_on_failed,
};

/* The deadline: the phase we are in names the reason. */
static void redis_deadline(struct pf_probe *base)
{
	struct redis_probe *p = (struct redis_probe *)base;
	double ms = pf_probe_elapsed_ms(base);

	if (p->phase == PH_RESOLVE) {
		pf_probe_set(&p->base, PF_REASON_DNS, "resolving %s did not finish "
			     "within %.0f ms", p->cfg->u.host, ms);
	} else if (p->phase == PH_CONNECT) {
		pf_probe_set(&p->base, PF_REASON_CONNECT_TIMEOUT, "connect to %s "
			     "timed out after %.0f ms (no answer to SYN)", p->target, ms);
	} else {
		pf_probe_set(&p->base, PF_REASON_TIMEOUT, "connected to %s but no "
			     "reply to %s within %.0f ms", p->target, p->awaiting, ms);
	}
}

/* The hints of what a Redis (or a peer posing as one) can answer. */
static const struct pf_hint_rule redis_hints[] = {
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "noauth",
	  "the server requires a password: put it in the URL"
	  " (redis://:PASSWORD@host, or redis://USER:PASSWORD@host for an ACL"
	  " user)" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "wrongpass",
	  "the password (or ACL user) in the URL is not accepted by this"
	  " server: check the secret the service is deployed with" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "no_password_set",
	  "the URL carries a password but this server has none (requirepass"
	  " unset): is this the Redis you expect? Set requirepass, or drop the"
	  " password from the URL" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "noperm",
	  "the ACL user may not run this command: grant it (ACL SETUSER)" },
	{ PF_REASON_PROTOCOL, PF_HINT_ANY_ADDR, "loading",
	  "Redis is loading its dataset into memory and answers once loading"
	  " completes" },
	{ PF_REASON_WRONG_DATABASE, PF_HINT_ANY_ADDR, "select_range",
	  "the server has fewer databases than the URL's /DB: fix the database"
	  " number in the URL (or `databases` in redis.conf)" },
	{ PF_REASON_PROTOCOL, PF_HINT_ANY_ADDR, "wrongtype",
	  "queue.key holds something other than a list: is it the right key?" },
	{ PF_REASON_PROTOCOL, PF_HINT_ANY_ADDR, "not_redis",
	  "the peer at {target} does not answer like Redis: check the URL's"
	  " host and port (maxclients reached, a proxy or another service may"
	  " be listening there)" },
	{ PF_REASON_READ_ONLY, PF_HINT_ANY_ADDR, NULL,
	  "point REDIS_URL at the primary (on Memorystore: the primary"
	  " endpoint, not the read endpoint), or set \"allow_replica\": true"
	  " if a replica is intended" },
	{ PF_REASON_TIMEOUT, PF_HINT_ANY_ADDR, NULL,
	  "Redis accepted the connection but does not answer: is it"
	  " overloaded, paused or blocked (SLOWLOG, CLIENT PAUSE, a long"
	  " script)?" },
	{ PF_REASON_QUEUE_STALLED, PF_HINT_ANY_ADDR, NULL,
	  "no worker takes jobs from {key}: is the Chat worker running, on"
	  " this Redis, with CHAT_QUEUE_TYPE=redis?" },
	{ PF_REASON_QUEUE_BACKLOG, PF_HINT_ANY_ADDR, NULL,
	  "the workers do not keep up with {key}: is the Chat worker running"
	  " (enough instances), and on the same Redis (host and /DB)?" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

static const struct pf_probe_class redis_class = {
	.kind = "redis", .size = sizeof(struct redis_probe),
	.deadline = redis_deadline, .conclude = redis_conclude,
	.teardown = redis_teardown, .hints = redis_hints,
};

static int redis_cmd(struct redis_probe *p, pf_redis_reply_fn *fn, int argc,
		     const char **argv)
{
	return pf_redis_conn_command(&p->conn, fn, argc, argv);
}

/* Queues every command before the connect starts (one round trip): the
 * connection sends them as soon as the handshake is done. */
static int redis_queue_commands(struct redis_probe *p)
{
	const struct pf_redis_url *u = &p->cfg->u;
	char db[24];
	const char *argv[3];
	int rc = 0;

	p->awaiting = u->password ? "AUTH" : u->db ? "SELECT" : "PING";
	if (u->password) {
		argv[0] = "AUTH";
		argv[1] = u->user ? u->user : u->password;
		argv[2] = u->password;
		rc |= redis_cmd(p, pf_redis_on_ok, u->user ? 3 : 2, argv);
	}
	if (u->db) {
		snprintf(db, sizeof(db), "%ld", u->db);
		argv[0] = "SELECT";
		argv[1] = db;
		rc |= redis_cmd(p, pf_redis_on_ok, 2, argv);
	}
	argv[0] = "PING";
	rc |= redis_cmd(p, pf_redis_on_ping, 1, argv);
	argv[0] = "ROLE";
	rc |= redis_cmd(p, pf_redis_on_role, 1, argv);
	if (p->cfg->queue) {
		argv[0] = "LLEN";
		argv[1] = p->cfg->queue->key;
		rc |= redis_cmd(p, pf_redis_on_llen, 2, argv);
		argv[0] = "LINDEX";
		argv[2] = "-1";
		rc |= redis_cmd(p, pf_redis_on_lindex, 3, argv);
		argv[0] = "CLIENT";
		argv[1] = "LIST";
		rc |= redis_cmd(p, pf_redis_on_clients, 2, argv);
	}
	return rc;
}

/* Queues the pipeline and starts the connect; the connection's ops
 * report the outcome (redis_on_failed may run before this returns). */
static void redis_connect(struct redis_probe *p, const struct sockaddr *sa,
			  socklen_t salen)
{
	p->phase = PH_CONNECT;
	if (redis_queue_commands(p) < 0) {
		pf_probe_fail(&p->base, PF_REASON_INTERNAL, "out of memory");
		return;
	}
	pf_redis_conn_connect(&p->conn, p->base.env, sa, salen);
}

/* Resolver answer (a later loop turn than pf_resolve_start). */
static void redis_on_resolved(void *arg, const struct sockaddr *sa,
			      socklen_t salen, const char *err)
{
	struct redis_probe *p = arg;

	p->resolve = NULL;	/* it frees itself after this call */
	if (!sa) {
		pf_probe_fail(&p->base, PF_REASON_DNS, "%s", err ? err : "no address");
		return;
	}
	pf_addr_str(sa, p->ip, sizeof(p->ip));
	p->aclass = pf_addr_class(sa);
	p->base.res.aclass = (int)p->aclass;
	snprintf(p->target, sizeof(p->target), sa->sa_family == AF_INET6 ?
		 "[%s]:%u" : "%s:%u", p->ip, p->cfg->u.port);
	redis_connect(p, sa, salen);
}

static struct pf_probe *redis_start(const struct pf_start *s)
{
	const struct pf_redis_cfg *c = s->cfg;
	struct redis_probe *p = pf_probe_new(&redis_class, s);

	if (!p)
		return NULL;
	p->cfg = c;
	p->latency_ms = NAN;
	p->depth = -1;
	p->oldest_age_ms = NAN;
	p->consumers = -1;
	p->mem = s->memory;
	p->awaiting = "PING";
	if (pf_redis_conn_init(&p->conn, REDIS_REPLY_CAP, &redis_conn_ops, p) < 0) {
		pf_probe_cancel(&p->base);
		return NULL;
	}
	if (pf_resolve_literal_later(&p->base, c->u.host, c->u.port,
				     redis_on_resolved, p))
		return &p->base;
	p->resolve = pf_resolve_start(s->env, c->u.host, c->u.port, redis_on_resolved, p);
	if (!p->resolve) {
		pf_probe_cancel(&p->base);
		return NULL;
	}
	return &p->base;
}

const struct check_ops pf_check_redis = {
	.kind = "redis", .config = &pf_redis_keys,
	.start = redis_start,
	.memory_size = sizeof(struct pf_redis_memory),
	.gauges = {
		{ "preflight_redis_queue_depth",
		  "Length of the Redis list named by the check's queue.key (LLEN)" },
		{ "preflight_redis_queue_consumers",
		  "Clients blocked popping from Redis (CLIENT LIST, else INFO"
		  " blocked_clients): idle workers of the queue" },
		{ "preflight_redis_queue_oldest_age_seconds",
		  "How long the queue's oldest item has been the oldest" },
	},
};
