/*
 * The `http` check kind (SPEC §3 http): one GET/HEAD/POST to `url` on the
 * shared curl multi, passing when the status is in expect_status and the
 * body holds body_contains.  Owns its config and the request in flight.
 * A 3xx is not followed: it is compared against expect_status as it is.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_check.h"
#include "pf_config.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "http_status.h"
#include "pf_text.h"

struct http_cfg {
	char *url;			/* owned; may hold user:pass, shown redacted */
	char *method;			/* owned: GET, HEAD or POST */
	char *body_contains;		/* owned, or NULL */
	char *ca_file;			/* owned path, or NULL: system CA store */
	cJSON *headers;			/* owned copy, or NULL */
	struct pf_http_status_set expect;
	size_t max_body;
};

struct http_probe {
	struct pf_probe base;		/* deadline, funnel, result */
	const struct http_cfg *cfg;	/* borrowed from the check */
	struct pf_xfer *x;		/* owned: the request in flight, or NULL */
	struct event *later;		/* owned: reports a failure found in start() */
	uint64_t timeout_ms;
};

static const char *const http_keys[] = {
	"url", "method", "expect_status", "body_contains", "headers",
	"max_body", "ca_file", NULL
};

static void http_free_cfg(void *p)
{
	struct http_cfg *c = p;

	if (!c)
		return;
	free(c->url);
	free(c->method);
	free(c->body_contains);
	free(c->ca_file);
	cJSON_Delete(c->headers);
	free(c);
}

static int http_parse_expect(const cJSON *obj, const char *path,
			     struct http_cfg *c, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "expect_status");
	char why[256];

	c->expect.n = 1;
	c->expect.lo[0] = 200;
	c->expect.hi[0] = 299;
	if (v && pf_http_status_parse(v, &c->expect, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s.expect_status: %s", path, why);
		return -1;
	}
	return 0;
}

static int http_check_fields(const char *path, struct http_cfg *c,
			     char *err, size_t errlen)
{
	char why[128];

	if (pf_url_check(c->url, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s.url: %s", path, why);
		return -1;
	}
	if (!c->method && !(c->method = strdup("GET"))) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (strcmp(c->method, "GET") && strcmp(c->method, "HEAD") &&
	    strcmp(c->method, "POST")) {
		snprintf(err, errlen, "%s.method: \"%.32s\" is not GET, HEAD or POST",
			 path, c->method);
		return -1;
	}
	if (c->body_contains && strcmp(c->method, "HEAD") == 0) {
		snprintf(err, errlen, "%s.body_contains: a HEAD answer has no body", path);
		return -1;
	}
	return 0;
}

static int http_parse(const cJSON *obj, const cJSON *raw,
		const char *path, void **out,
		      char *err, size_t errlen)
{
	struct http_cfg *c = calloc(1, sizeof(*c));

	if (!c) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	if (pf_cfg_str(obj, path, "url", true, &c->url, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "method", false, &c->method, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "body_contains", false, &c->body_contains,
		       err, errlen) < 0 ||
	    pf_xfer_cfg_headers(obj, path, &c->headers, err, errlen) < 0 ||
	    pf_xfer_cfg_max_body(obj, path, &c->max_body, err, errlen) < 0 ||
	    pf_xfer_cfg_ca_file(obj, path, &c->ca_file, err, errlen) < 0 ||
	    http_parse_expect(obj, path, c, err, errlen) < 0 ||
	    http_check_fields(path, c, err, errlen) < 0) {
		http_free_cfg(c);
		return -1;
	}
	*out = c;
	return 0;
}

static void http_target(const void *cfg, char *buf, size_t len)
{
	const struct http_cfg *c = cfg;

	pf_redact_url(c->url, buf, len);
}

static cJSON *http_describe(const void *cfg)
{
	const struct http_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject();
	char buf[1024];

	cJSON_AddStringToObject(o, "url", pf_redact_url(c->url, buf, sizeof(buf)));
	cJSON_AddStringToObject(o, "method", c->method);
	cJSON_AddStringToObject(o, "expect_status",
				pf_http_status_format(&c->expect, buf, sizeof(buf)));
	if (c->body_contains)
		cJSON_AddStringToObject(o, "body_contains", c->body_contains);
	if (c->headers)
		cJSON_AddItemToObject(o, "headers", pf_xfer_headers_describe(c->headers));
	cJSON_AddNumberToObject(o, "max_body", (double)c->max_body);
	if (c->ca_file)
		cJSON_AddStringToObject(o, "ca_file", c->ca_file);
	return o;
}

/* ---- the probe ---- */

/* The one completion funnel: report once, tear down, release later. */
static void http_finish(struct http_probe *p, long code)
{
	cJSON *d = cJSON_CreateObject();

	if (d) {
		if (code > 0)
			cJSON_AddNumberToObject(d, "status_code", (double)code);
		else
			cJSON_AddNullToObject(d, "status_code");
		cJSON_AddNumberToObject(d, "latency_ms",
					round(pf_probe_elapsed_ms(&p->base) * 10) / 10);
	}
	cJSON_Delete(p->base.res.details);
	p->base.res.details = d;
	pf_probe_finish(&p->base);
	pf_xfer_free(p->x);
	p->x = NULL;
	pf_probe_reap(&p->base);
}

static void http_fail(struct http_probe *p, long code, enum pf_reason reason,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void http_fail(struct http_probe *p, long code, enum pf_reason reason,
		      const char *fmt, ...)
{
	char msg[PF_ERROR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pf_probe_set(&p->base, reason, "%s", msg);
	http_finish(p, code);
}

/* Judges a complete answer: status first, then the body. */
static void http_judge(struct http_probe *p, struct pf_xfer *x)
{
	const struct http_cfg *c = p->cfg;
	long code = pf_xfer_status(x);
	char excerpt[PF_TEXT_EXCERPT + 8], want[128];

	pf_text_excerpt(x->body, x->len, NULL, excerpt, sizeof(excerpt));
	if (!pf_http_status_match(&c->expect, code)) {
		pf_http_status_format(&c->expect, want, sizeof(want));
		http_fail(p, code, code == 401 || code == 403 ? PF_REASON_AUTH
							      : PF_REASON_HTTP_STATUS,
			  "%s answered HTTP %ld, expected %s%s%s", c->method, code,
			  want, excerpt[0] ? ": " : "", excerpt);
		return;
	}
	if (c->body_contains && !(x->body && strstr(x->body, c->body_contains))) {
		http_fail(p, code, PF_REASON_BAD_RESPONSE,
			  "body (%zu bytes) does not contain \"%.100s\"%s%s",
			  x->len, c->body_contains, excerpt[0] ? ": " : "", excerpt);
		return;
	}
	http_finish(p, code);
}

/* pf_curlm (from a libevent callback, curl unwound): the request ended. */
static void on_xfer(void *arg, struct pf_xfer *x, CURLcode rc)
{
	struct http_probe *p = arg;
	char err[PF_ERROR_MAX], url[256];

	p->x = NULL;	/* ours to free below, after judging */
	if (rc != CURLE_OK) {
		enum pf_reason r = pf_xfer_classify(x, rc, err, sizeof(err));

		if (r == PF_REASON_TLS)
			pf_xfer_tls_hint(err, p->cfg->ca_file != NULL,
					p->base.res.hint,
					sizeof(p->base.res.hint));
		http_fail(p, 0, r, "%s %s: %s", p->cfg->method,
			  pf_redact_url(p->cfg->url, url, sizeof(url)), err);
	} else {
		http_judge(p, x);
	}
	pf_xfer_free(x);
}

/* libevent: the hard deadline; connected or not tells which timeout. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_probe *p = arg;
	char secs[32];
	bool up = p->x && pf_xfer_connected(p->x);

	(void)fd;
	(void)what;
	if (!p->x) {		/* failed in start(), report pending */
		http_finish(p, 0);
		return;
	}
	pf_duration_format(p->timeout_ms, secs, sizeof(secs));
	if (up)
		http_fail(p, 0, PF_REASON_TIMEOUT, "%s got no complete answer "
			  "within %s", p->cfg->method, secs);
	else
		http_fail(p, 0, PF_REASON_CONNECT_TIMEOUT, "could not connect "
			  "within %s", secs);
}

/* libevent: reports a failure found in start() on the next loop turn. */
static void on_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_finish(arg, 0);
}

static void http_release(struct http_probe *p)
{
	pf_xfer_free(p->x);
	if (p->later)
		event_free(p->later);
	pf_probe_release(&p->base);
	free(p);
}

/* libevent: the turn after the report; nothing of ours is on the stack. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_release(arg);
}

static int http_send(struct http_probe *p, const struct pf_env *env)
{
	struct pf_xfer_req req = {
		.url = p->cfg->url, .method = p->cfg->method,
		.headers = p->cfg->headers, .max_body = p->cfg->max_body,
		.timeout_ms = p->timeout_ms, .ca_file = p->cfg->ca_file,
	};
	char err[PF_ERROR_MAX];

	if (!env->curl) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "no HTTP client: the "
			     "curl multi handle was not created");
		return -1;
	}
	p->x = pf_xfer_start(env->curl, &req, on_xfer, p, err, sizeof(err));
	if (!p->x) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "%s", err);
		return -1;
	}
	return 0;
}

static void *http_start(const void *cfg, const struct pf_env *env,
			void *memory,
			uint64_t timeout_ms, pf_done_fn done, void *arg)
{
	struct http_probe *p = calloc(1, sizeof(*p));
	struct timeval zero = { 0, 0 };

	if (!p)
		return NULL;
	p->cfg = cfg;
	p->timeout_ms = timeout_ms;
	if (pf_probe_init(&p->base, env, timeout_ms, on_deadline, on_reap, p,
			  done, arg) < 0) {
		free(p);
		return NULL;
	}
	if (!(p->later = evtimer_new(env->base, on_later, p))) {
		http_release(p);
		return NULL;
	}
	/* start() never reports itself: failures surface on the next turn. */
	if (http_send(p, env) < 0)
		evtimer_add(p->later, &zero);
	return p;
}

static void http_cancel(void *probe)
{
	http_release(probe);
}

const struct check_ops pf_check_http = {
	.kind = "http",
	.keys = http_keys,
	.needs_curl = true,
	.parse = http_parse,
	.free_cfg = http_free_cfg,
	.target = http_target,
	.describe = http_describe,
	.start = http_start,
	.cancel = http_cancel,
};
