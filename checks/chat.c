/*
 * The `chat` check kind (SPEC §3 chat): POST {base_url}/chat, then poll
 * GET {base_url}/chat/response/{id} until the job is done, failed or the
 * deadline passes.  Owns the probe: the request in flight and the poll
 * timer; requests run on the shared curl multi (env->curl).  The config
 * lives in chat_cfg.c.
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
#include "pf_probe.h"
#include "pf_util.h"
#include "web.h"

#define CHAT_JOB_TIMEOUT_HINT "the API accepted the job but no worker " \
	"completed it: is the worker running, on the same Redis, with its " \
	"tables migrated?"

enum chat_phase {
	CHAT_POST,		/* POST /chat in flight */
	CHAT_WAIT,		/* accepted; waiting for the next poll */
	CHAT_POLL,		/* GET /chat/response/{id} in flight */
	CHAT_FAILING,		/* failed before any I/O: report on next turn */
	CHAT_OVER		/* reported */
};

struct chat_probe {
	struct pf_probe base;		/* deadline, funnel, result */
	const struct chat_cfg *cfg;	/* borrowed from the check */
	struct pf_curlm *curl;		/* borrowed from the daemon */
	struct pf_xfer *x;		/* owned: the request in flight, or NULL */
	struct event *wake;		/* owned: poll timer / deferred failure */
	enum chat_phase phase;
	uint64_t timeout_ms;
	char id[256];			/* correlation id, "" before the POST answered */
	unsigned polls;
	double post_ms;			/* NAN until the POST answered */
	double poll_started_ms;
	struct pf_chat_status last;	/* the last status the API reported */
};

static const char *const chat_keys[] = {
	"base_url", "message", "thread_id", "token", "headers", "poll_interval",
	"id_field", "done", "failed", "max_body", "ca_file", NULL
};

/* ---- the probe ---- */

static void chat_teardown(struct chat_probe *p)
{
	pf_xfer_free(p->x);
	p->x = NULL;
	if (p->wake)
		event_del(p->wake);
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

/* The one completion funnel: details, report once, release later. */
static void chat_finish(struct chat_probe *p, double completion_ms)
{
	cJSON *d = cJSON_CreateObject();

	if (d) {
		add_str_or_null(d, "correlation_id", p->id);
		add_num_or_null(d, "post_ms", p->post_ms);
		add_num_or_null(d, "completion_ms", completion_ms);
		cJSON_AddNumberToObject(d, "polls", p->polls);
		add_str_or_null(d, "final_status", p->last.status);
		add_str_or_null(d, "error", p->last.error);
	}
	cJSON_Delete(p->base.res.details);
	p->base.res.details = d;
	p->phase = CHAT_OVER;
	pf_probe_finish(&p->base);
	chat_teardown(p);
	pf_probe_reap(&p->base);
}

static void chat_fail(struct chat_probe *p, enum pf_reason reason,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void chat_fail(struct chat_probe *p, enum pf_reason reason,
		      const char *fmt, ...)
{
	char msg[PF_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pf_probe_set(&p->base, reason, "%s", msg);
	chat_finish(p, NAN);
}

static uint64_t remaining_ms(const struct chat_probe *p)
{
	double left = (double)p->timeout_ms - pf_probe_elapsed_ms(&p->base);

	return left < 1 ? 1 : (uint64_t)left;
}

static void on_xfer(void *arg, struct pf_xfer *x, CURLcode rc);

static int chat_send(struct chat_probe *p, const char *url, const char *method,
		     const char *body)
{
	struct pf_xfer_req req = {
		.url = url, .method = method, .body = body,
		.content_type = body ? "application/json" : NULL,
		.bearer = p->cfg->token, .headers = p->cfg->headers,
		.max_body = p->cfg->max_body, .timeout_ms = remaining_ms(p),
		.ca_file = p->cfg->ca_file,
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
	char *body = pf_chat_post_body(p->cfg->message, p->cfg->thread_id);
	int rc = -1;

	if (!body)
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory");
	else if (pf_web_join(p->cfg->base_url, "/chat", NULL, url, sizeof(url)) < 0)
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

	if (pf_web_join(p->cfg->base_url, "/chat/response/", p->id, url,
			sizeof(url)) < 0) {
		chat_fail(p, PF_REASON_BAD_RESPONSE,
			  "correlation id too long for a URL");
		return;
	}
	p->phase = CHAT_POLL;
	p->poll_started_ms = pf_probe_elapsed_ms(&p->base);
	if (chat_send(p, url, "GET", NULL) < 0)
		chat_finish(p, NAN);
}

static void arm_wake(struct chat_probe *p, uint64_t ms)
{
	struct timeval tv = { .tv_sec = (time_t)(ms / 1000),
			      .tv_usec = (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(p->wake, &tv);
}

/* libevent: time for the next poll, or a failure found in start(). */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct chat_probe *p = arg;

	(void)fd;
	(void)what;
	if (p->phase == CHAT_FAILING)
		chat_finish(p, NAN);
	else if (p->phase == CHAT_WAIT)
		chat_poll(p);
}

/* Fails on 401/403 (auth) and other non-2xx (http_status) answers. */
static bool chat_bad_status(struct chat_probe *p, struct pf_xfer *x,
			    const char *what)
{
	long code = pf_xfer_status(x);
	char excerpt[PF_WEB_EXCERPT + 8], msg[PF_ERROR_MAX];

	if (code >= 200 && code <= 299)
		return false;
	pf_web_excerpt(x->body, x->len, p->cfg->token, excerpt, sizeof(excerpt));
	snprintf(msg, sizeof(msg), "%s answered HTTP %ld%s%s", what, code,
		 excerpt[0] ? ": " : "", excerpt);
	if (code == 401 || code == 403) {
		chat_fail(p, PF_REASON_AUTH, "%s%s", msg,
			  p->cfg->token ? " (the token was refused)"
					: " (no token configured)");
	} else {
		chat_fail(p, PF_REASON_HTTP_STATUS, "%s", msg);
	}
	return true;
}

static void chat_on_post(struct chat_probe *p, struct pf_xfer *x)
{
	char err[PF_ERROR_MAX];

	if (chat_bad_status(p, x, "POST /chat"))
		return;
	if (pf_chat_parse_id(x->body, p->cfg->id_field, p->id, sizeof(p->id),
			     err, sizeof(err)) < 0) {
		char excerpt[PF_WEB_EXCERPT + 8];

		p->id[0] = '\0';
		pf_web_excerpt(x->body, x->len, p->cfg->token, excerpt, sizeof(excerpt));
		chat_fail(p, PF_REASON_BAD_RESPONSE, "%s: %s", err,
			  excerpt[0] ? excerpt : "(empty body)");
		return;
	}
	p->post_ms = pf_probe_elapsed_ms(&p->base);
	p->phase = CHAT_WAIT;
	arm_wake(p, p->cfg->poll_ms);
}

static void chat_on_poll(struct chat_probe *p, struct pf_xfer *x)
{
	char err[PF_ERROR_MAX];
	struct pf_chat_status st;

	p->polls++;
	if (chat_bad_status(p, x, "GET /chat/response/{id}"))
		return;
	if (pf_chat_parse_status(x->body, &st, err, sizeof(err)) < 0) {
		chat_fail(p, PF_REASON_BAD_RESPONSE, "%s", err);
		return;
	}
	p->last = st;
	switch (pf_chat_verdict(st.status, p->cfg->done, p->cfg->failed)) {
	case PF_CHAT_DONE:
		p->base.res.gauge = pf_probe_elapsed_ms(&p->base) / 1000.0;
		chat_finish(p, pf_probe_elapsed_ms(&p->base));
		break;
	case PF_CHAT_FAILED:
		chat_fail(p, PF_REASON_JOB_FAILED, "job %s ended \"%s\": %s%s%s",
			  p->id, st.status, st.error,
			  st.error[0] && st.message[0] ? ": " : "",
			  st.error[0] || st.message[0] ? st.message
						       : "the API gave no error");
		break;
	case PF_CHAT_PENDING:
		p->phase = CHAT_WAIT;
		arm_wake(p, p->cfg->poll_ms);
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
	if (rc != CURLE_OK) {
		enum pf_reason r = pf_xfer_classify(x, rc, err, sizeof(err));

		if (r == PF_REASON_TLS)
			pf_web_tls_hint(err, p->cfg->ca_file != NULL,
					p->base.res.hint,
					sizeof(p->base.res.hint));
		chat_fail(p, r, "%s: %s", what, err);
	} else if (p->phase == CHAT_POST) {
		chat_on_post(p, x);
	} else {
		chat_on_poll(p, x);
	}
	pf_xfer_free(x);
}

/* libevent: the probe's hard deadline; the phase says what hung. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct chat_probe *p = arg;
	char secs[32], msg[PF_ERROR_MAX];

	(void)fd;
	(void)what;
	pf_duration_format(p->timeout_ms, secs, sizeof(secs));
	if (p->phase == CHAT_POST) {
		bool up = p->x && pf_xfer_connected(p->x);

		chat_fail(p, up ? PF_REASON_TIMEOUT : PF_REASON_CONNECT_TIMEOUT,
			  up ? "POST /chat got no answer within %s"
			     : "could not connect to the Chat API within %s",
			  secs);
		return;
	}
	if (p->phase == CHAT_FAILING) {
		chat_finish(p, NAN);
		return;
	}
	snprintf(msg, sizeof(msg), "job %s still \"%s\" after %s (%u polls)%s",
		 p->id, p->last.status[0] ? p->last.status : "unknown", secs,
		 p->polls, p->phase == CHAT_POLL &&
		 pf_probe_elapsed_ms(&p->base) - p->poll_started_ms > 1000
		 ? "; the last status request got no answer" : "");
	pf_strlcpy(p->base.res.hint, CHAT_JOB_TIMEOUT_HINT, sizeof(p->base.res.hint));
	chat_fail(p, PF_REASON_JOB_TIMEOUT, "%s", msg);
}

static void chat_release(struct chat_probe *p)
{
	chat_teardown(p);
	if (p->wake)
		event_free(p->wake);
	pf_probe_release(&p->base);
	free(p);
}

/* libevent: the turn after the report; nothing of ours is on the stack. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chat_release(arg);
}

static void *chat_start(const void *cfg, const struct pf_env *env,
			uint64_t timeout_ms, pf_done_fn done, void *arg)
{
	struct chat_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->cfg = cfg;
	p->curl = env->curl;
	p->timeout_ms = timeout_ms;
	p->post_ms = NAN;
	if (pf_probe_init(&p->base, env, timeout_ms, on_deadline, on_reap, p,
			  done, arg) < 0) {
		free(p);
		return NULL;
	}
	if (!(p->wake = evtimer_new(env->base, on_wake, p))) {
		chat_release(p);
		return NULL;
	}
	if (!p->curl)
		pf_probe_set(&p->base, PF_REASON_INTERNAL,
			     "no HTTP client: the curl multi handle was not created");
	/* start() never reports itself: failures surface on the next turn. */
	if (!p->curl || chat_post(p) < 0) {
		p->phase = CHAT_FAILING;
		arm_wake(p, 0);
	}
	return p;
}

static void chat_cancel(void *probe)
{
	chat_release(probe);
}

const struct check_ops pf_check_chat = {
	.kind = "chat",
	.keys = chat_keys,
	.default_interval_ms = 60000,
	.default_timeout_ms = 120000,
	.timeout_may_exceed_interval = true,
	.needs_curl = true,
	.gauge_metric = "preflight_chat_completion_seconds",
	.gauge_help = "Seconds from POST /chat to a completed response in the "
		      "last chat round trip.",
	.parse = pf_chat_cfg_parse,
	.free_cfg = pf_chat_cfg_free,
	.target = pf_chat_cfg_target,
	.describe = pf_chat_cfg_describe,
	.start = chat_start,
	.cancel = chat_cancel,
};
