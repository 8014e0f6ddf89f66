/*
 * The `redis` check kind (SPEC §3): resolve with evdns, connect with the
 * hiredis 0.14 async API on our own libevent adapter (redis_adapter.c,
 * which caps what a reply may buffer), then one pipelined round trip:
 * AUTH, SELECT, PING, ROLE and, with a queue, LLEN, LINDEX key -1 and
 * CLIENT LIST (INFO clients one round trip later where CLIENT is not
 * allowed).  The queue signals themselves are redis_queue.c's.  Owns the
 * probe's resolver request and its redisAsyncContext; the teardown rules
 * are PATTERNS.md's hiredis section.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "pf_check.h"
#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_util.h"
#include "pf_redis_adapter.h"
#include "redis_cfg.h"
#include "redis_probe.h"
#include "redis_reply.h"

static const char *const redis_keys[] = { "url", "queue", "allow_replica", NULL };

/* ---- probe: reporting ------------------------------------------------- */

/* Details for every outcome that got as far as an address. */
static void redis_details(struct redis_probe *p)
{
	cJSON *d;

	if (p->base.done || p->base.res.details || !p->ip[0])
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
	if (p->cfg->queue_key && p->consumers >= 0) {
		cJSON_AddNumberToObject(d, "consumers", (double)p->consumers);
		cJSON_AddStringToObject(d, "consumers_from", p->consumers_from);
	}
	if (!isnan(p->oldest_age_ms))
		cJSON_AddNumberToObject(d, "oldest_age_s", round(p->oldest_age_ms / 100) / 10);
	p->base.res.details = d;
}

/* Sets a kind-specific hint (printf format) unless already reported. */
void pf_redis_probe_hint(struct redis_probe *p, const char *fmt, ...)
{
	va_list ap;

	if (p->base.done)
		return;
	va_start(ap, fmt);
	vsnprintf(p->base.res.hint, sizeof(p->base.res.hint), fmt, ap);
	va_end(ap);
}

/* Reports once with details attached; reason NONE means pass. */
static void redis_report(struct redis_probe *p)
{
	redis_details(p);
	pf_probe_finish(&p->base);
}

/* ---- probe: teardown -------------------------------------------------- */

/* Frees what the probe holds but the pf_probe events.  Never called from
 * inside a hiredis callback with p->ac set (see redis_stop). */
static void redis_teardown(struct redis_probe *p)
{
	redisAsyncContext *ac = p->ac;

	if (p->resolve) {
		pf_resolve_cancel(p->resolve);
		p->resolve = NULL;
	}
	p->ac = NULL;	/* on_disconnect sees NULL: we own this teardown */
	if (ac)
		redisAsyncFree(ac);	/* outside callbacks: synchronous */
}

static void redis_destroy(struct redis_probe *p)
{
	redis_teardown(p);
	pf_probe_release(&p->base);
	free(p);
}

/* Reap event: the loop turn after the report, hiredis off the stack. */
static void redis_on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	redis_destroy(arg);
}

/* Ends the probe from inside a reply callback.  redisAsyncFree() there only
 * flags the context; hiredis frees it when the callback returns and skips
 * any further replies.  (redisAsyncDisconnect would keep reading, and an
 * unsolicited extra reply from a non-Redis peer trips an assert in 0.14.) */
void pf_redis_probe_stop(struct redis_probe *p)
{
	redisAsyncContext *ac = p->ac;

	redis_report(p);
	p->ac = NULL;
	if (ac)
		redisAsyncFree(ac);
	pf_probe_reap(&p->base);
}

/* ---- probe: connection ------------------------------------------------ */

/* hiredis reports connect errors as strerror() text in c.errstr. */
static enum pf_reason connect_reason(const char *errstr)
{
	static const int unreachable[] = { ETIMEDOUT, EHOSTUNREACH, ENETUNREACH };

	for (size_t i = 0; i < sizeof(unreachable) / sizeof(unreachable[0]); i++)
		if (strcmp(errstr, strerror(unreachable[i])) == 0)
			return PF_REASON_CONNECT_TIMEOUT;
	return PF_REASON_CONNECT_REFUSED;
}

static void redis_connect_failed(struct redis_probe *p, const char *errstr)
{
	enum pf_reason r = connect_reason(errstr);

	pf_probe_set(&p->base, r, "connect to %s: %s", p->target, errstr);
	if (r == PF_REASON_CONNECT_TIMEOUT && p->aclass == PF_ADDR_PRIVATE)
		pf_redis_probe_hint(p, REDIS_VPC_HINT, p->ip);
	redis_report(p);
}

/* hiredis: the connect finished.  On failure hiredis frees the context
 * itself right after this returns, so we only drop our pointer. */
static void redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_probe *p = ac->data;

	if (!p || p->ac != ac)
		return;
	if (status != REDIS_OK) {
		p->ac = NULL;
		redis_connect_failed(p, ac->c.errstr);
		pf_probe_reap(&p->base);
		return;
	}
	p->phase = PH_CONNECTED;
	p->mark_ms = pf_mono_ms();
}

/* The error for a reply over REDIS_REPLY_CAP (see pf_redis_budget). */
static void redis_over_budget_error(struct redis_probe *p)
{
	if (p->budget.announced > 0)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s announced a "
			     "%lld-byte reply to %s, more than the "
			     REDIS_REPLY_CAP_TEXT " a probe may buffer: not a "
			     "Redis server?", p->target, p->budget.announced,
			     p->awaiting);
	else if (p->budget.announced_elements > 0)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s announced a "
			     "%zu-element array in reply to %s, more than the "
			     REDIS_REPLY_CAP_TEXT " a probe may buffer: not a "
			     "Redis server?", p->target,
			     p->budget.announced_elements, p->awaiting);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s sent more than "
			     REDIS_REPLY_CAP_TEXT " without completing a reply "
			     "(waiting for the reply to %s): not a Redis server?",
			     p->target, p->awaiting);
}

/* Adapter: the reply being read outgrew REDIS_REPLY_CAP.  Called from the
 * read event after hiredis returned, so the teardown is synchronous. */
static void redis_on_over_budget(void *arg)
{
	struct redis_probe *p = arg;

	if (!p->ac || p->base.done)
		return;
	redis_over_budget_error(p);
	pf_redis_probe_hint(p, "the peer at %s does not answer like Redis: check the "
		   "URL's host and port (a proxy or another service may be "
		   "listening there)", p->target);
	redis_report(p);
	redis_teardown(p);
	pf_probe_reap(&p->base);
}

/* hiredis: the connection is gone.  With p->ac NULL we started the
 * teardown ourselves; otherwise hiredis did (EOF, protocol error) and frees
 * the context after this returns. */
static void redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_probe *p = ac->data;
	char peer[160];

	(void)status;
	if (!p || p->ac != ac)
		return;
	p->ac = NULL;
	pf_redis_peer_text(ac->errstr ? ac->errstr : "",
			   ac->errstr ? strlen(ac->errstr) : 0, p->cfg->u.password,
			   peer, sizeof(peer));
	if (p->budget.exceeded)
		redis_over_budget_error(p);
	else if (ac->err == REDIS_ERR_EOF)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s closed the connection "
			     "before answering %s", p->target, p->awaiting);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s: %s (waiting for the "
			     "reply to %s): is this a Redis server?", p->target,
			     peer[0] ? peer : "connection lost", p->awaiting);
	pf_redis_probe_hint(p, "the peer at %s does not answer like Redis: check the "
		   "URL's host and port (maxclients reached, a proxy or another "
		   "service may be listening there)", p->target);
	redis_report(p);
	pf_probe_reap(&p->base);
}

/* Deadline timer: the phase we are in names the reason. */
static void redis_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct redis_probe *p = arg;
	double ms = pf_probe_elapsed_ms(&p->base);

	(void)fd;
	(void)what;
	if (p->phase == PH_RESOLVE) {
		pf_probe_set(&p->base, PF_REASON_DNS, "resolving %s did not finish "
			     "within %.0f ms", p->cfg->u.host, ms);
	} else if (p->phase == PH_CONNECT) {
		pf_probe_set(&p->base, PF_REASON_CONNECT_TIMEOUT, "connect to %s "
			     "timed out after %.0f ms (no answer to SYN)", p->target, ms);
		if (p->aclass == PF_ADDR_PRIVATE)
			pf_redis_probe_hint(p, REDIS_VPC_HINT, p->ip);
	} else {
		pf_probe_set(&p->base, PF_REASON_TIMEOUT, "connected to %s but no "
			     "reply to %s within %.0f ms", p->target, p->awaiting, ms);
		pf_redis_probe_hint(p, "%s", "Redis accepted the connection but does not "
			   "answer: is it overloaded, paused or blocked (SLOWLOG, "
			   "CLIENT PAUSE, a long script)?");
	}
	redis_report(p);
	redis_teardown(p);
	pf_probe_reap(&p->base);
}

static int redis_cmd(struct redis_probe *p, redisCallbackFn *fn, int argc,
		     const char **argv)
{
	size_t lens[4];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return redisAsyncCommandArgv(p->ac, fn, p, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

/* Pipelines every command right after the connect starts (one round
 * trip); hiredis sends them once the socket is writable. */
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
	if (p->cfg->queue_key) {
		argv[0] = "LLEN";
		argv[1] = p->cfg->queue_key;
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

/* Starts the async connect to the numeric address; reports on failure. */
static void redis_connect(struct redis_probe *p, unsigned port)
{
	redisAsyncContext *ac = redisAsyncConnect(p->ip, (int)port);

	if (!ac) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory");
		redis_report(p);
		return;
	}
	if (ac->err) {
		redis_connect_failed(p, ac->errstr);
		redisAsyncFree(ac);
		return;
	}
	ac->data = p;
	p->ac = ac;
	p->phase = PH_CONNECT;
	p->budget.cap = REDIS_REPLY_CAP;
	p->budget.on_exceeded = redis_on_over_budget;
	p->budget.arg = p;
	if (pf_redis_attach(ac, p->env->base, &p->budget) != REDIS_OK ||
	    redisAsyncSetConnectCallback(ac, redis_on_connect) != REDIS_OK ||
	    redisAsyncSetDisconnectCallback(ac, redis_on_disconnect) != REDIS_OK ||
	    redis_queue_commands(p) < 0) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "cannot set up the "
			     "hiredis connection to %s", p->target);
		redis_report(p);
		redis_teardown(p);
	}
}

/* Resolver answer (a later loop turn than pf_resolve_start). */
static void redis_on_resolved(void *arg, const struct sockaddr *sa,
			      socklen_t salen, const char *err)
{
	struct redis_probe *p = arg;

	(void)salen;
	p->resolve = NULL;	/* it frees itself after this call */
	if (!sa) {
		pf_probe_set(&p->base, PF_REASON_DNS, "%s", err ? err : "no address");
		redis_report(p);
		pf_probe_reap(&p->base);
		return;
	}
	pf_addr_str(sa, p->ip, sizeof(p->ip));
	p->aclass = pf_addr_class(sa);
	snprintf(p->target, sizeof(p->target), sa->sa_family == AF_INET6 ?
		 "[%s]:%u" : "%s:%u", p->ip, p->cfg->u.port);
	redis_connect(p, p->cfg->u.port);
	if (p->base.done)
		pf_probe_reap(&p->base);
}

static void *redis_start(const void *cfg, const struct pf_env *env,
			void *memory,
			 uint64_t timeout_ms, pf_done_fn done, void *arg)
{
	const struct pf_redis_cfg *c = cfg;
	struct redis_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = c;
	p->env = env;
	p->latency_ms = NAN;
	p->depth = -1;
	p->oldest_age_ms = NAN;
	p->consumers = -1;
	p->mem = memory;
	p->awaiting = "PING";
	if (pf_probe_init(&p->base, env, timeout_ms, redis_on_deadline,
			  redis_on_reap, p, done, arg) < 0) {
		free(p);
		return NULL;
	}
	p->resolve = pf_resolve_start(env, c->u.host, c->u.port, redis_on_resolved, p);
	if (!p->resolve) {
		pf_probe_release(&p->base);
		free(p);
		return NULL;
	}
	return p;
}

/* Before done(): release everything now; done() will never be called. */
static void redis_cancel(void *probe)
{
	if (probe)
		redis_destroy(probe);
}

const struct check_ops pf_check_redis = {
	.kind = "redis",
	.keys = redis_keys,
	.gauges = {
		{ "preflight_redis_queue_depth",
		  "Length of the Redis list named by the check's queue.key (LLEN)" },
		{ "preflight_redis_queue_consumers",
		  "Clients blocked popping from Redis (CLIENT LIST, else INFO"
		  " blocked_clients): idle workers of the queue" },
		{ "preflight_redis_queue_oldest_age_seconds",
		  "How long the queue's oldest item has been the oldest" },
	},
	.memory_size = sizeof(struct pf_redis_memory),
	.parse = pf_redis_cfg_parse,
	.free_cfg = pf_redis_cfg_free,
	.target = pf_redis_cfg_target,
	.describe = pf_redis_cfg_describe,
	.start = redis_start,
	.cancel = redis_cancel,
};
