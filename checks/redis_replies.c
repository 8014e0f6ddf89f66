/*
 * What the redis probe's replies mean (SPEC §3 redis): +OK to AUTH and
 * SELECT, +PONG, ROLE (a replica is read_only), and the queue signals:
 * LLEN, the oldest item (LINDEX key -1), and the consumers from CLIENT
 * LIST or, where CLIENT is refused, INFO clients one round trip later.
 * The verdicts themselves are redis_queue.c's and redis_reply.c's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pf_hint.h"
#include "pf_util.h"
#include "redis_probe.h"
#include "redis_reply.h"
#include "pf_mask.h"
#include "pf_text.h"

/* ---- probe: replies --------------------------------------------------- */

/* Reason and cause for an error reply to `cmd`. */
static void redis_error_reply(struct redis_probe *p, const char *cmd,
			      const char *text)
{
	const char *cause;
	enum pf_reason r = pf_redis_error_reason(cmd, text, &cause);

	pf_probe_set(&p->base, r, "%s: %s", cmd, text);
	if (cause)
		pf_result_cause(&p->base.res, "%s", cause);
}

/* Checks a reply of type `want` (and text, if given); on anything else
 * reports and stops the probe.  Returns true when the probe goes on. */
bool pf_redis_expect(struct redis_probe *p, const redisReply *r,
			 int want, const char *text)
{
	char peer[256];
	const char *cmd = p->awaiting;

	if (r->type == want && (!text || (r->str && strcmp(r->str, text) == 0)))
		return true;
	/* Masks the password: a non-Redis peer may echo AUTH's arguments. */
	pf_text_clean(r->str, r->str ? r->len : 0, 200, peer, sizeof(peer));
	pf_mask_secret(peer, sizeof(peer), p->cfg->u.password);
	if (r->type == REDIS_REPLY_ERROR)
		redis_error_reply(p, cmd, peer);
	else
		pf_probe_set(&p->base, PF_REASON_PROTOCOL, "%s: unexpected reply "
			     "(type %d) \"%s\": is this a Redis server?", cmd,
			     r->type, peer);
	pf_probe_end(&p->base);
	return false;
}

/* Reply to AUTH or SELECT; both answer +OK. */
void pf_redis_on_ok(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (!pf_redis_expect(p, r, REDIS_REPLY_STATUS, "OK"))
		return;
	p->awaiting = strcmp(p->awaiting, "AUTH") == 0 && p->cfg->u.db ? "SELECT" : "PING";
}

/* Reply to PING; +PONG and nothing else. */
void pf_redis_on_ping(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (!pf_redis_expect(p, r, REDIS_REPLY_STATUS, "PONG"))
		return;
	p->latency_ms = pf_mono_ms() - p->mark_ms;
	p->awaiting = "ROLE";
}

/* Reply to ROLE.  A replica cannot take the API's LPUSH
 * (READONLY).  A server that refuses ROLE (restricted managed Redis, an
 * old one) is not failed for it: the role stays unknown. */
void pf_redis_on_role(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->str)
		pf_strlcpy(p->role, r->element[0]->str, sizeof(p->role));
	else
		pf_strlcpy(p->role, "unknown", sizeof(p->role));
	if (strcmp(p->role, "slave") == 0 && !p->cfg->allow_replica) {
		pf_probe_set(&p->base, PF_REASON_READ_ONLY, "%s is a replica (ROLE"
			     " answers slave): the Chat API's LPUSH would fail with"
			     " READONLY", p->target);
		pf_probe_end(&p->base);
		return;
	}
	p->awaiting = "LLEN";
	if (!p->cfg->queue)
		pf_probe_end(&p->base);
}

/* Reply to LLEN queue.key. */
void pf_redis_on_llen(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (!pf_redis_expect(p, r, REDIS_REPLY_INTEGER, NULL))
		return;
	p->depth = r->integer;
	p->base.res.gauge[0] = (double)r->integer;
	p->awaiting = "LINDEX";
}

/* Reply to LINDEX key -1, the oldest item (the API LPUSHes, the
 * worker BRPOPs). */
void pf_redis_on_lindex(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (r->type != REDIS_REPLY_NIL && !pf_redis_expect(p, r, REDIS_REPLY_STRING, NULL))
		return;
	p->oldest_age_ms = pf_redis_oldest_age(p->mem, r->type == REDIS_REPLY_NIL ?
					       NULL : r->str, r->len, pf_mono_ms());
	p->base.res.gauge[2] = p->oldest_age_ms / 1000;
	p->awaiting = "CLIENT LIST";
}

/* Decides on the queue once the consumers are known (or unknowable). */
static void redis_queue_done(struct redis_probe *p)
{
	char err[PF_ERROR_MAX];
	enum pf_reason r;

	p->base.res.gauge[1] = p->consumers >= 0 ? (double)p->consumers : NAN;
	r = pf_redis_queue_verdict(p->cfg->queue->key, p->depth, p->cfg->queue->max_depth,
				   p->oldest_age_ms, p->cfg->queue->stall_after_ms,
				   p->consumers, err, sizeof(err));
	if (r != PF_REASON_NONE) {
		pf_probe_set(&p->base, r, "%s", err);
		pf_result_var(&p->base.res, "key", "%s", p->cfg->queue->key);
	}
	pf_probe_end(&p->base);
}

/* Reply to INFO clients, the fallback where CLIENT is refused. */
static void redis_on_info(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (r->type == REDIS_REPLY_STRING) {
		p->consumers = pf_redis_info_blocked(r->str, r->len);
		p->consumers_from = "info_blocked_clients";
	}
	redis_queue_done(p);
}

/* Reply to CLIENT LIST.  Managed Redis often refuses CLIENT
 * (NOPERM, or renamed away): then INFO clients' blocked_clients, one
 * round trip more. */
void pf_redis_on_clients(void *arg, redisReply *r)
{
	struct redis_probe *p = arg;

	if (r->type == REDIS_REPLY_STRING) {
		p->consumers = pf_redis_consumers(r->str, r->len);
		p->consumers_from = "client_list";
		redis_queue_done(p);
		return;
	}
	p->awaiting = "INFO";
	if (pf_redis_conn_command(&p->conn, redis_on_info, 2,
				  (const char *[]){ "INFO", "clients" }) < 0)
		redis_queue_done(p);
}

