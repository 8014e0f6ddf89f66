/*
 * The `chat` check kind (SPEC §3 chat, §1a): POST {base_url}/chat, then
 * poll GET {base_url}/chat/response/{id} with backoff until the job is
 * done, failed or the deadline passes, waiting out 429s.  Every probe is
 * a real, paid turn of the service, so the kind runs on demand by default.
 * Owns the probe: the request in flight, the wake timer and the bearer it
 * minted; requests run on the shared curl multi (env->curl).  The config
 * lives in chat_cfg.c, the credentials in chat_jwt.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "chat.h"
#include "pf_check.h"
#include "pf_hint.h"
#include "pf_mask.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "pf_text.h"

/* Polls back off x1.5 up to this: a 300 s turn costs ~35 polls, under
 * the real service's 30 requests/min/IP limit. */
#define CHAT_POLL_MAX_MS 10000

enum chat_phase {
	CHAT_POST,		/* POST /chat in flight */
	CHAT_RETRY,		/* POST answered 429: waiting to send it again */
	CHAT_WAIT,		/* accepted; waiting for the next poll */
	CHAT_POLL		/* GET /chat/response/{id} in flight */
};

struct chat_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct chat_cfg *cfg;	/* borrowed from the check */
	struct pf_curlm *curl;		/* borrowed from the daemon */
	struct pf_xfer *x;		/* owned: the request in flight, or NULL */
	struct event *wake;		/* owned: the next poll or 429 retry */
	const char *bearer;		/* the token, or bearer_owned, or NULL */
	char *bearer_owned;		/* owned: the JWT minted for this probe */
	enum chat_phase phase;
	uint64_t poll_delay_ms;		/* the next wait between polls */
	char id[256];			/* correlation id, "" before the POST answered */
	char thread[64];		/* thread id the POST answered */
	unsigned polls, retries_429;
	double post_ms;			/* NAN until the POST answered */
	double completion_ms;		/* NAN unless the job completed */
	double poll_started_ms;
	struct pf_chat_status last;	/* the last status the API reported */
};

/* ---- the probe ---- */

static void chat_teardown(struct pf_probe *base)
{
	struct chat_probe *p = (struct chat_probe *)base;

	pf_xfer_free(p->x);
	p->x = NULL;
	if (p->wake)
		event_free(p->wake);
	p->wake = NULL;
	if (p->bearer_owned)
		explicit_bzero(p->bearer_owned, strlen(p->bearer_owned));
	free(p->bearer_owned);
	p->bearer_owned = NULL;
	p->bearer = NULL;
}

static void add_num_or_null(cJSON *o, const char *key, double v)
{
	if (isnan(v))
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, round(v * 10) / 10);
}

static void add_str_or_null(cJSON *o, const char *key, const char *v)
{
	if (v && *v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* Last words: what the round trip got to. */
static void chat_conclude(struct pf_probe *base)
{
	struct chat_probe *p = (struct chat_probe *)base;
	cJSON *d = cJSON_CreateObject();

	if (d) {
		add_str_or_null(d, "correlation_id", p->id);
		add_str_or_null(d, "thread_id", p->thread);
		add_num_or_null(d, "post_ms", p->post_ms);
		add_num_or_null(d, "completion_ms", p->completion_ms);
		cJSON_AddNumberToObject(d, "polls", p->polls);
		add_str_or_null(d, "final_status", p->last.status);
		add_str_or_null(d, "error", p->last.error);
		cJSON_AddNumberToObject(d, "retries_429", p->retries_429);
	}
	cJSON_Delete(base->res.details);
	base->res.details = d;
}

/* Fails with reason, the cause that picks a hint rule (NULL: none) and
 * a message. */
static void chat_fail(struct chat_probe *p, enum pf_reason reason,
		      const char *cause, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void chat_fail(struct chat_probe *p, enum pf_reason reason,
		      const char *cause, const char *fmt, ...)
{
	char msg[PF_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pf_probe_set(&p->base, reason, "%s", msg);
	if (cause && !p->base.res.cause[0])
		pf_result_cause(&p->base.res, "%s", cause);
	pf_probe_end(&p->base);
}

static void on_xfer(void *arg, struct pf_xfer *x, CURLcode rc);

static int chat_send(struct chat_probe *p, const char *url, const char *method,
		     const char *body)
{
	double left = pf_probe_left_ms(&p->base);
	struct pf_xfer_req req = {
		.url = url, .method = method, .body = body,
		.content_type = body ? "application/json" : NULL,
		.bearer = p->bearer, .opts = &p->cfg->xfer,
		.timeout_ms = left < 1 ? 1 : (uint64_t)left,
	};
	char err[PF_ERROR_MAX];

	p->x = pf_xfer_start(p->curl, &req, on_xfer, p, err, sizeof(err));
	if (!p->x) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "%s", err);
		return -1;
	}
	return 0;
}

static int chat_post(struct chat_probe *p)
{
	char url[2048];
	char *body = pf_chat_post_body(p->cfg->message, p->cfg->thread_id,
				       p->cfg->body);
	int rc = -1;

	if (!body)
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory");
	else if (pf_url_join(p->cfg->base_url, "/chat", NULL, url, sizeof(url)) < 0)
		pf_probe_set(&p->base, PF_REASON_CONFIG, "base_url is too long");
	else
		rc = chat_send(p, url, "POST", body);
	free(body);
	if (rc == 0)
		p->phase = CHAT_POST;
	return rc;
}

static void chat_poll(struct chat_probe *p)
{
	char url[2048];

	if (pf_url_join(p->cfg->base_url, "/chat/response/", p->id, url,
			sizeof(url)) < 0) {
		chat_fail(p, PF_REASON_BAD_RESPONSE, NULL,
			  "correlation id too long for a URL");
		return;
	}
	p->phase = CHAT_POLL;
	p->poll_started_ms = pf_probe_elapsed_ms(&p->base);
	if (chat_send(p, url, "GET", NULL) < 0)
		pf_probe_end(&p->base);
}

static void arm_wake(struct chat_probe *p, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(p->wake, &tv);
}

/* The next poll after poll_delay_ms, which grows x1.5 up to 10 s. */
static void schedule_poll(struct chat_probe *p)
{
	uint64_t d = p->poll_delay_ms;

	p->phase = CHAT_WAIT;
	arm_wake(p, d);
	d = d + d / 2;
	p->poll_delay_ms = d > CHAT_POLL_MAX_MS ? CHAT_POLL_MAX_MS : d;
	if (p->poll_delay_ms < p->cfg->poll_ms)
		p->poll_delay_ms = p->cfg->poll_ms;
}

/* libevent: time for the next poll or 429 retry. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct chat_probe *p = arg;

	(void)fd;
	(void)what;
	if (p->phase == CHAT_WAIT)
		chat_poll(p);
	else if (p->phase == CHAT_RETRY && chat_post(p) < 0)
		pf_probe_end(&p->base);
}

/* 429 (rate limited): wait Retry-After (or the body's
 * retry_after_seconds) and send again, unless that would pass the
 * deadline.  Returns true when handled. */
static bool chat_rate_limited(struct chat_probe *p, struct pf_xfer *x,
			      const char *what)
{
	double wait = pf_xfer_retry_after(x);

	if (pf_xfer_status(x) != 429)
		return false;
	if (wait < 0)
		wait = pf_chat_retry_after(x->body);
	if (wait < 0)
		wait = (double)p->poll_delay_ms / 1000;
	if (wait * 1000 >= pf_probe_left_ms(&p->base)) {
		chat_fail(p, PF_REASON_HTTP_STATUS, "rate_limited",
			  "%s answered HTTP 429 (rate limited); waiting the %.0f s"
			  " it asks would pass the deadline (%u retries so far)",
			  what, wait, p->retries_429);
		return true;
	}
	p->retries_429++;
	p->phase = p->phase == CHAT_POST ? CHAT_RETRY : CHAT_WAIT;
	arm_wake(p, (uint64_t)(wait * 1000));
	return true;
}

/* Which credential the API refused, for the hint rules. */
static const char *auth_cause(const struct chat_probe *p)
{
	if (p->cfg->jwt)
		return "jwt_refused";
	return p->cfg->token ? "token_refused" : "no_token";
}

/* Fails on 401/403 (auth), a PHI-gate 422 and other non-2xx
 * (http_status) answers. */
static bool chat_bad_status(struct chat_probe *p, struct pf_xfer *x,
			    const char *what)
{
	long code = pf_xfer_status(x);
	char excerpt[PF_TEXT_EXCERPT + 8], msg[PF_ERROR_MAX];

	if (code >= 200 && code <= 299)
		return false;
	pf_text_excerpt(x->body, x->len, p->bearer, excerpt, sizeof(excerpt));
	snprintf(msg, sizeof(msg), "%s answered HTTP %ld%s%s", what, code,
		 excerpt[0] ? ": " : "", excerpt);
	if (code == 401 || code == 403)
		chat_fail(p, PF_REASON_AUTH, auth_cause(p), "%s%s", msg,
			  p->bearer ? " (the token was refused)"
				    : " (no token configured)");
	else if (code == 422 && pf_chat_phi_blocked(x->body))
		chat_fail(p, PF_REASON_HTTP_STATUS, "phi_blocked", "%s", msg);
	else
		chat_fail(p, PF_REASON_HTTP_STATUS, NULL, "%s", msg);
	return true;
}

/* Keeps the thread id the POST answered, for the details. */
static void note_thread(struct chat_probe *p, const char *body)
{
	cJSON *o = cJSON_Parse(body ? body : "");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "thread_id");

	if (cJSON_IsString(t))
		pf_strlcpy(p->thread, t->valuestring, sizeof(p->thread));
	cJSON_Delete(o);
}

static void chat_on_post(struct chat_probe *p, struct pf_xfer *x)
{
	char err[PF_ERROR_MAX];

	if (chat_rate_limited(p, x, "POST /chat") ||
	    chat_bad_status(p, x, "POST /chat"))
		return;
	if (pf_chat_parse_id(x->body, p->cfg->id_field, p->id, sizeof(p->id),
			     err, sizeof(err)) < 0) {
		char excerpt[PF_TEXT_EXCERPT + 8];

		p->id[0] = '\0';
		pf_text_excerpt(x->body, x->len, p->bearer, excerpt, sizeof(excerpt));
		chat_fail(p, PF_REASON_BAD_RESPONSE, NULL, "%s: %s", err,
			  excerpt[0] ? excerpt : "(empty body)");
		return;
	}
	note_thread(p, x->body);
	p->post_ms = pf_probe_elapsed_ms(&p->base);
	schedule_poll(p);
}

/* A failed job: its code (error, else error_envelope.error_code) and
 * message, masked and cut to one line. */
static void chat_job_failed(struct chat_probe *p, const struct pf_chat_status *st)
{
	char text[sizeof(st->message) + 8];

	pf_text_excerpt(st->message, strlen(st->message), p->bearer, text,
		       sizeof(text));
	chat_fail(p, PF_REASON_JOB_FAILED, NULL, "job %s ended \"%s\": %s%s%s",
		  p->id, st->status, st->error,
		  st->error[0] && text[0] ? ": " : "",
		  st->error[0] || text[0] ? text : "the API gave no error");
}

static void chat_on_poll(struct chat_probe *p, struct pf_xfer *x)
{
	char err[PF_ERROR_MAX];
	struct pf_chat_status st;

	p->polls++;
	if (chat_rate_limited(p, x, "GET /chat/response/{id}") ||
	    chat_bad_status(p, x, "GET /chat/response/{id}"))
		return;
	if (pf_chat_parse_status(x->body, &st, err, sizeof(err)) < 0) {
		chat_fail(p, PF_REASON_BAD_RESPONSE, NULL, "%s", err);
		return;
	}
	p->last = st;
	switch (pf_chat_verdict(st.status, p->cfg->done.v, p->cfg->failed.v)) {
	case PF_CHAT_DONE:
		p->completion_ms = pf_probe_elapsed_ms(&p->base);
		p->base.res.gauge[0] = p->completion_ms / 1000.0;
		pf_probe_end(&p->base);
		break;
	case PF_CHAT_FAILED:
		chat_job_failed(p, &st);
		break;
	case PF_CHAT_PENDING:
		schedule_poll(p);
		break;
	}
}

/* pf_curlm (from a libevent callback, curl unwound): a request ended. */
static void on_xfer(void *arg, struct pf_xfer *x, CURLcode rc)
{
	struct chat_probe *p = arg;
	char err[PF_ERROR_MAX];
	const char *what = p->phase == CHAT_POST ? "POST /chat"
						 : "GET /chat/response/{id}";

	p->x = NULL;	/* ours to free below, after the handlers ran */
	pf_xfer_note_peer(x, &p->base.res);
	/* A service may echo the caller's token (in an error's message):
	 * mask it in the whole answer before any part of it is cut or
	 * copied. */
	if (x->body) {
		pf_mask_secret(x->body, x->cap, p->bearer);
		x->len = strlen(x->body);
	}
	if (rc != CURLE_OK) {
		enum pf_reason r = pf_xfer_classify(x, rc, err, sizeof(err));

		chat_fail(p, r, r == PF_REASON_TLS ?
			  pf_xfer_tls_cause(err, p->cfg->xfer.ca_file != NULL) : NULL,
			  "%s: %s", what, err);
	} else if (p->phase == CHAT_POST) {
		chat_on_post(p, x);
	} else {
		chat_on_poll(p, x);
	}
	pf_xfer_free(x);
}

/* The deadline passed after the job was accepted: which state it was
 * stuck in says whether any worker took it. */
static void chat_job_timeout(struct chat_probe *p, const char *secs)
{
	bool processing = strcmp(p->last.status, "processing") == 0;

	pf_result_var(&p->base.res, "timeout", "%s", secs);
	chat_fail(p, PF_REASON_JOB_TIMEOUT, processing ? "processing" : "pending",
		  "job %s still \"%s\" after %s (%u polls): %s%s", p->id,
		  p->last.status[0] ? p->last.status : "pending", secs, p->polls,
		  processing ? "a worker took it but did not finish"
			     : "no worker took it",
		  p->phase == CHAT_POLL &&
		  pf_probe_elapsed_ms(&p->base) - p->poll_started_ms > 1000
		  ? "; the last status request got no answer" : "");
}

/* The deadline: the phase says what hung. */
static void chat_deadline(struct pf_probe *base)
{
	struct chat_probe *p = (struct chat_probe *)base;
	char secs[32];

	pf_duration_format(base->timeout_ms, secs, sizeof(secs));
	pf_xfer_note_peer(p->x, &base->res);
	if (p->phase == CHAT_POST || p->phase == CHAT_RETRY) {
		bool up = p->phase == CHAT_RETRY || (p->x && pf_xfer_connected(p->x));

		chat_fail(p, up ? PF_REASON_TIMEOUT : PF_REASON_CONNECT_TIMEOUT, NULL,
			  up ? "POST /chat got no answer within %s"
			     : "could not connect to the Chat API within %s",
			  secs);
	} else {
		chat_job_timeout(p, secs);
	}
}

/* The hints of the real Chat API's failure modes (SPEC §1a). */
static const struct pf_hint_rule chat_hints[] = {
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "jwt_refused",
	  "the Chat API refused the token preflightd minted: its secret must"
	  " be the service's JWT_SECRET, and the service treats every token"
	  " as invalid unless MOBIUS_OS_AUTH_URL is set" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "token_refused",
	  "the Chat API accepts only HS256 JWTs (type access, sub, exp): a"
	  " static or expired token is refused; configure \"jwt\" with the"
	  " service's JWT_SECRET instead" },
	{ PF_REASON_AUTH, PF_HINT_ANY_ADDR, "no_token",
	  "the Chat API requires a token (CHAT_AUTH_MODE=required): configure"
	  " \"jwt\" with the service's JWT_SECRET" },
	{ PF_REASON_HTTP_STATUS, PF_HINT_ANY_ADDR, "rate_limited",
	  "the Chat API's rate limit (CHAT_RATE_LIMIT_PER_MINUTE, per client"
	  " IP) is used up: other clients behind this address share it; raise"
	  " it, or probe less often" },
	{ PF_REASON_HTTP_STATUS, PF_HINT_ANY_ADDR, "phi_blocked",
	  "the Chat API's PHI gate blocked the probe message, or could not"
	  " reach its classifier (PHI_GATE_URL; it fails closed): check the"
	  " classifier, and keep the probe message free of identifiers" },
	{ PF_REASON_JOB_TIMEOUT, PF_HINT_ANY_ADDR, "processing",
	  "a worker took the job but did not finish within {timeout}: read"
	  " the worker's log for this correlation id; the service's"
	  " MOBIUS_TURN_DEADLINE_S should end a stuck turn before"
	  " preflightd's timeout" },
	{ PF_REASON_JOB_TIMEOUT, PF_HINT_ANY_ADDR, "pending",
	  "no worker took the job: is one consuming REDIS_REQUEST_KEY on this"
	  " Redis with CHAT_QUEUE_TYPE=redis (see the redis check's"
	  " consumers)?" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

static const struct pf_probe_class chat_class = {
	.kind = "chat", .size = sizeof(struct chat_probe),
	.deadline = chat_deadline, .conclude = chat_conclude,
	.teardown = chat_teardown, .hints = chat_hints,
};

/* The bearer for this probe: the token (re-read if its file changed) or
 * a freshly minted JWT.  A secret file that cannot be re-read keeps the
 * value read before. */
static int chat_credentials(struct chat_probe *p)
{
	char err[PF_ERROR_MAX];
	bool oom;

	/* the config's secrets are this check's, and only one of its probes
	 * runs at a time (pf_check.h) */
	p->bearer = pf_chat_bearer(p->cfg, &p->bearer_owned, &oom, err,
				   sizeof(err));
	if (oom)
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory minting"
			     " the token");
	return oom ? -1 : 0;
}

static struct pf_probe *chat_start(const struct pf_start *s)
{
	struct chat_probe *p = pf_probe_new(&chat_class, s);

	if (!p)
		return NULL;
	p->cfg = s->cfg;
	p->curl = s->env->curl;
	p->post_ms = NAN;
	p->completion_ms = NAN;
	p->poll_delay_ms = p->cfg->poll_ms;
	if (!(p->wake = evtimer_new(s->env->base, on_wake, p))) {
		pf_probe_cancel(&p->base);
		return NULL;
	}
	if (!p->curl)
		pf_probe_set(&p->base, PF_REASON_INTERNAL,
			     "no HTTP client: the curl multi handle was not created");
	/* start() never reports itself: failures surface on the next turn. */
	if (!p->curl || chat_credentials(p) < 0 || chat_post(p) < 0)
		pf_probe_next_turn(&p->base, pf_probe_end);
	return &p->base;
}

const struct check_ops pf_check_chat = {
	.kind = "chat", .config = &pf_chat_keys, .needs_curl = true,
	.start = chat_start,
	/* a real, paid LLM turn per probe: on demand, and longer than the
	 * service's own 300 s turn deadline, so that its
	 * turn_deadline_exceeded reports a slow worker */
	.default_on_demand = true,
	.default_interval_ms = 60000,
	.default_timeout_ms = 330000,
	.timeout_may_exceed_interval = true,
	.gauges = { { "preflight_chat_completion_seconds",
		      "Seconds from POST /chat to a completed response in the "
		      "last chat round trip." } },
};
