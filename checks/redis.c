/*
 * The `redis` check kind (SPEC §3): resolve with evdns, connect with the
 * hiredis 0.14 async API on the libevent adapter, AUTH, SELECT, PING and
 * optionally LLEN a queue.  Owns the probe's resolver request and its
 * redisAsyncContext; the teardown rules are PATTERNS.md's hiredis section.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <hiredis/adapters/libevent.h>	/* static functions: include from this file only */
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "pf_check.h"
#include "pf_config.h"
#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_util.h"
#include "redis_reply.h"
#include "redis_url.h"

struct redis_cfg {
	char *url;		/* owned: as configured; holds the password, never printed */
	struct pf_redis_url u;	/* owned: parsed url */
	char *queue_key;	/* owned; NULL when no queue is configured */
	long max_depth;		/* -1: report the depth, no limit */
};

enum redis_phase { PH_RESOLVE, PH_CONNECT, PH_CONNECTED };

struct redis_probe {
	struct pf_probe base;		/* deadline, funnel, result */
	const struct redis_cfg *cfg;	/* borrowed: outlives the probe */
	const struct pf_env *env;	/* borrowed from the daemon */
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
};

#define REDIS_VPC_HINT "no route to private IP %s: deploy with Direct VPC " \
	"egress (--network, --subnet, --vpc-egress=private-ranges-only) or a " \
	"Serverless VPC Access connector"

static const char *const redis_keys[] = { "url", "queue", NULL };

/* ---- configuration ---------------------------------------------------- */

static void redis_free_cfg(void *cfg)
{
	struct redis_cfg *c = cfg;

	if (!c)
		return;
	if (c->url)
		explicit_bzero(c->url, strlen(c->url));
	free(c->url);
	pf_redis_url_free(&c->u);
	free(c->queue_key);
	free(c);
}

/* queue: {"key": "...", "max_depth": N}; unknown keys are typos. */
static int parse_queue(const cJSON *obj, const char *path, struct redis_cfg *c,
		       char *err, size_t errlen)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, "queue");
	const cJSON *it;
	char qpath[256];

	if (!q)
		return 0;
	if (!cJSON_IsObject(q)) {
		snprintf(err, errlen, "%s.queue: must be an object such as "
			 "{\"key\": \"mobius:chat:requests\", \"max_depth\": 1000}", path);
		return -1;
	}
	snprintf(qpath, sizeof(qpath), "%s.queue", path);
	cJSON_ArrayForEach(it, q) {
		if (strcmp(it->string, "key") != 0 && strcmp(it->string, "max_depth") != 0) {
			snprintf(err, errlen, "%s.%s: unknown key (expected \"key\" "
				 "and \"max_depth\")", qpath, it->string);
			return -1;
		}
	}
	if (pf_cfg_str(q, qpath, "key", true, &c->queue_key, err, errlen) < 0 ||
	    pf_cfg_int(q, qpath, "max_depth", 0, 1000000000L, &c->max_depth, err, errlen) < 0)
		return -1;
	if (c->queue_key[0] == '\0') {
		snprintf(err, errlen, "%s.key: must not be empty", qpath);
		return -1;
	}
	return 0;
}

/* rediss:// is refused until a TLS-capable hiredis is wired in. */
static int refuse_tls(const char *path, char *err, size_t errlen)
{
#if HIREDIS_MAJOR >= 1
	/* hiredis >= 1.0 has hiredis_ssl (redisInitiateSSLWithContext): enable
	 * TLS here once the probe calls it and links hiredis_ssl. */
	snprintf(err, errlen, "%s.url: rediss:// (TLS) is not implemented yet; "
		 "use redis:// over a private network or a TLS proxy", path);
#else
	snprintf(err, errlen, "%s.url: rediss:// (TLS) is not supported: the "
		 "system hiredis %d.%d has no TLS; use redis:// over a private "
		 "network, or a local TLS proxy (stunnel) in front of Redis",
		 path, HIREDIS_MAJOR, HIREDIS_MINOR);
#endif
	return -1;
}

static int redis_parse(const cJSON *obj, const char *path, void **out,
		       char *err, size_t errlen)
{
	struct redis_cfg *c = calloc(1, sizeof(*c));
	char msg[256];

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	c->max_depth = -1;
	if (pf_cfg_str(obj, path, "url", true, &c->url, err, errlen) < 0)
		goto fail;
	if (pf_redis_url_parse(c->url, &c->u, msg, sizeof(msg)) < 0) {
		snprintf(err, errlen, "%s.url: %s", path, msg);
		goto fail;
	}
	if (c->u.tls && refuse_tls(path, err, errlen) < 0)
		goto fail;
	if (parse_queue(obj, path, c, err, errlen) < 0)
		goto fail;
	*out = c;
	return 0;
fail:
	redis_free_cfg(c);
	return -1;
}

static void redis_target(const void *cfg, char *buf, size_t len)
{
	const struct redis_cfg *c = cfg;

	pf_redact_url(c->url, buf, len);
}

static cJSON *redis_describe(const void *cfg)
{
	const struct redis_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject(), *q;
	char url[1024];

	if (!o || !cJSON_AddStringToObject(o, "url", pf_redact_url(c->url, url, sizeof(url))))
		goto fail;
	if (c->queue_key) {
		q = cJSON_AddObjectToObject(o, "queue");
		if (!q || !cJSON_AddStringToObject(q, "key", c->queue_key))
			goto fail;
		if (c->max_depth >= 0 &&
		    !cJSON_AddNumberToObject(q, "max_depth", (double)c->max_depth))
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

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
	if (!isnan(p->latency_ms))
		cJSON_AddNumberToObject(d, "latency_ms", round(p->latency_ms * 1000) / 1000);
	if (p->depth >= 0)
		cJSON_AddNumberToObject(d, "queue_depth", (double)p->depth);
	p->base.res.details = d;
}

/* Sets a kind-specific hint (printf format) unless already reported. */
static void redis_hint(struct redis_probe *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void redis_hint(struct redis_probe *p, const char *fmt, ...)
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
static void redis_stop(struct redis_probe *p)
{
	redisAsyncContext *ac = p->ac;

	redis_report(p);
	p->ac = NULL;
	if (ac)
		redisAsyncFree(ac);
	pf_probe_reap(&p->base);
}

/* ---- probe: replies --------------------------------------------------- */

/* Reason and hint for an error reply to `cmd`. */
static void redis_error_reply(struct redis_probe *p, const char *cmd,
			      const char *text)
{
	const char *hint;
	enum pf_reason r = pf_redis_error_reason(cmd, text, &hint);

	pf_probe_set(&p->base, r, "%s: %s", cmd, text);
	if (hint)
		redis_hint(p, "%s", hint);
}

/* The probe to act on for a reply, or NULL when the reply is to be
 * ignored: NULL replies come during teardown, which someone else owns. */
static struct redis_probe *reply_probe(const redisAsyncContext *ac, void *r,
				       void *priv)
{
	struct redis_probe *p = priv;

	if (!r || !p || p->ac != ac || p->base.done)
		return NULL;
	return p;
}

/* Checks a reply of type `want` (and text, if given); on anything else
 * reports and stops the probe.  Returns true when the probe goes on. */
static bool redis_expect(struct redis_probe *p, const redisReply *r,
			 int want, const char *text)
{
	char peer[256];
	const char *cmd = p->awaiting;

	if (r->type == want && (!text || (r->str && strcmp(r->str, text) == 0)))
		return true;
	/* Masks the password: a non-Redis peer may echo AUTH's arguments. */
	pf_redis_peer_text(r->str ? r->str : "", r->str ? r->len : 0,
			   p->cfg->u.password, peer, sizeof(peer));
	if (r->type == REDIS_REPLY_ERROR)
		redis_error_reply(p, cmd, peer);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s: unexpected reply "
			     "(type %d) \"%s\": is this a Redis server?", cmd,
			     r->type, peer);
	redis_stop(p);
	return false;
}

/* hiredis: reply to AUTH or SELECT; both answer +OK. */
static void redis_on_ok(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_probe *p = reply_probe(ac, reply, priv);

	if (!p || !redis_expect(p, reply, REDIS_REPLY_STATUS, "OK"))
		return;
	p->awaiting = strcmp(p->awaiting, "AUTH") == 0 && p->cfg->u.db ? "SELECT" : "PING";
}

/* hiredis: reply to PING; +PONG and nothing else. */
static void redis_on_ping(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_probe *p = reply_probe(ac, reply, priv);

	if (!p || !redis_expect(p, reply, REDIS_REPLY_STATUS, "PONG"))
		return;
	p->latency_ms = pf_mono_ms() - p->mark_ms;
	p->awaiting = "LLEN";
	if (!p->cfg->queue_key)
		redis_stop(p);
}

/* hiredis: reply to LLEN queue.key. */
static void redis_on_llen(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_probe *p = reply_probe(ac, reply, priv);
	const redisReply *r = reply;

	if (!p || !redis_expect(p, r, REDIS_REPLY_INTEGER, NULL))
		return;
	p->depth = r->integer;
	p->base.res.gauge = (double)r->integer;
	if (p->cfg->max_depth >= 0 && r->integer > p->cfg->max_depth) {
		pf_probe_set(&p->base, PF_REASON_QUEUE_BACKLOG,
			     "queue %s holds %lld items, above max_depth %ld",
			     p->cfg->queue_key, r->integer, p->cfg->max_depth);
		redis_hint(p, "no worker is consuming %s: is the Chat worker "
			   "running, and on the same Redis (host and /DB)?",
			   p->cfg->queue_key);
	}
	redis_stop(p);
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
		redis_hint(p, REDIS_VPC_HINT, p->ip);
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
	if (ac->err == REDIS_ERR_EOF)
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s closed the connection "
			     "before answering %s", p->target, p->awaiting);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s: %s (waiting for the "
			     "reply to %s): is this a Redis server?", p->target,
			     peer[0] ? peer : "connection lost", p->awaiting);
	redis_hint(p, "the peer at %s does not answer like Redis: check the "
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
			redis_hint(p, REDIS_VPC_HINT, p->ip);
	} else {
		pf_probe_set(&p->base, PF_REASON_TIMEOUT, "connected to %s but no "
			     "reply to %s within %.0f ms", p->target, p->awaiting, ms);
		redis_hint(p, "%s", "Redis accepted the connection but does not "
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
	size_t lens[3];

	for (int i = 0; i < argc; i++)
		lens[i] = strlen(argv[i]);
	return redisAsyncCommandArgv(p->ac, fn, p, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

/* Pipelines AUTH, SELECT, PING and LLEN right after the connect starts;
 * hiredis sends them once the socket is writable. */
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
		rc |= redis_cmd(p, redis_on_ok, u->user ? 3 : 2, argv);
	}
	if (u->db) {
		snprintf(db, sizeof(db), "%ld", u->db);
		argv[0] = "SELECT";
		argv[1] = db;
		rc |= redis_cmd(p, redis_on_ok, 2, argv);
	}
	argv[0] = "PING";
	rc |= redis_cmd(p, redis_on_ping, 1, argv);
	if (p->cfg->queue_key) {
		argv[0] = "LLEN";
		argv[1] = p->cfg->queue_key;
		rc |= redis_cmd(p, redis_on_llen, 2, argv);
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
	if (redisLibeventAttach(ac, p->env->base) != REDIS_OK ||
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
			 uint64_t timeout_ms, pf_done_fn done, void *arg)
{
	const struct redis_cfg *c = cfg;
	struct redis_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = c;
	p->env = env;
	p->latency_ms = NAN;
	p->depth = -1;
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
	.gauge_metric = "preflight_redis_queue_depth",
	.gauge_help = "Length of the Redis list named by the check's queue.key (LLEN)",
	.parse = redis_parse,
	.free_cfg = redis_free_cfg,
	.target = redis_target,
	.describe = redis_describe,
	.start = redis_start,
	.cancel = redis_cancel,
};
