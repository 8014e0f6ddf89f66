/*
 * The `http` check kind (SPEC §3 http): one GET/HEAD/POST to `url` on the
 * shared curl multi, passing when the status is in expect_status and the
 * body holds body_contains.  Owns its config and the request in flight.
 * A 3xx is not followed: it is compared against expect_status as it is.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_check.h"
#include "pf_config.h"
#include "pf_hint.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "http_status.h"
#include "pf_text.h"
#include "pf_mask.h"

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
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct http_cfg *cfg;	/* borrowed from the check */
	struct pf_xfer *x;		/* owned: the request in flight, or NULL */
	long code;			/* the answer's status, 0 when none */
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

	pf_mask_url(c->url, buf, len);
}

static cJSON *http_describe(const void *cfg)
{
	const struct http_cfg *c = cfg;
	cJSON *o = cJSON_CreateObject();
	char buf[1024];

	cJSON_AddStringToObject(o, "url", pf_mask_url(c->url, buf, sizeof(buf)));
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

/* Last words: the answer's status and the latency. */
static void http_conclude(struct pf_probe *base)
{
	struct http_probe *p = (struct http_probe *)base;
	cJSON *d = cJSON_CreateObject();

	if (d) {
		if (p->code > 0)
			cJSON_AddNumberToObject(d, "status_code", (double)p->code);
		else
			cJSON_AddNullToObject(d, "status_code");
		cJSON_AddNumberToObject(d, "latency_ms",
					round(pf_probe_elapsed_ms(base) * 10) / 10);
	}
	cJSON_Delete(base->res.details);
	base->res.details = d;
}

static void http_teardown(struct pf_probe *base)
{
	struct http_probe *p = (struct http_probe *)base;

	pf_xfer_free(p->x);
	p->x = NULL;
}

/* The deadline: connected or not tells which timeout. */
static void http_deadline(struct pf_probe *base)
{
	struct http_probe *p = (struct http_probe *)base;
	char secs[32];

	pf_duration_format(base->timeout_ms, secs, sizeof(secs));
	pf_xfer_note_peer(p->x, &base->res);
	if (p->x && pf_xfer_connected(p->x))
		pf_probe_set(base, PF_REASON_TIMEOUT, "%s got no complete answer "
			     "within %s", p->cfg->method, secs);
	else
		pf_probe_set(base, PF_REASON_CONNECT_TIMEOUT, "could not connect "
			     "within %s", secs);
}

static const struct pf_probe_class http_class = {
	.kind = "http",
	.size = sizeof(struct http_probe),
	.deadline = http_deadline,
	.conclude = http_conclude,
	.teardown = http_teardown,
};

/* Judges a complete answer: status first, then the body. */
static void http_judge(struct http_probe *p, struct pf_xfer *x)
{
	const struct http_cfg *c = p->cfg;
	long code = pf_xfer_status(x);
	char excerpt[PF_TEXT_EXCERPT + 8], want[128];

	p->code = code;
	pf_text_excerpt(x->body, x->len, NULL, excerpt, sizeof(excerpt));
	if (!pf_http_status_match(&c->expect, code)) {
		pf_http_status_format(&c->expect, want, sizeof(want));
		pf_probe_fail(&p->base, code == 401 || code == 403 ?
			      PF_REASON_AUTH : PF_REASON_HTTP_STATUS,
			      "%s answered HTTP %ld, expected %s%s%s", c->method,
			      code, want, excerpt[0] ? ": " : "", excerpt);
		return;
	}
	if (c->body_contains && !(x->body && strstr(x->body, c->body_contains))) {
		pf_probe_fail(&p->base, PF_REASON_BAD_RESPONSE,
			      "body (%zu bytes) does not contain \"%.100s\"%s%s",
			      x->len, c->body_contains, excerpt[0] ? ": " : "",
			      excerpt);
		return;
	}
	pf_probe_end(&p->base);
}

/* pf_curlm (from a libevent callback, curl unwound): the request ended. */
static void on_xfer(void *arg, struct pf_xfer *x, CURLcode rc)
{
	struct http_probe *p = arg;
	char err[PF_ERROR_MAX], url[256];

	p->x = NULL;	/* ours to free below, after judging */
	pf_xfer_note_peer(x, &p->base.res);
	if (rc != CURLE_OK) {
		enum pf_reason r = pf_xfer_classify(x, rc, err, sizeof(err));

		const char *cause = r == PF_REASON_TLS ?
			pf_xfer_tls_cause(err, p->cfg->ca_file != NULL) : NULL;

		if (cause)
			pf_result_cause(&p->base.res, "%s", cause);
		pf_probe_fail(&p->base, r, "%s %s: %s", p->cfg->method,
			      pf_mask_url(p->cfg->url, url, sizeof(url)), err);
	} else {
		http_judge(p, x);
	}
	pf_xfer_free(x);
}

static int http_send(struct http_probe *p)
{
	const struct pf_env *env = p->base.env;
	struct pf_xfer_req req = {
		.url = p->cfg->url, .method = p->cfg->method,
		.headers = p->cfg->headers, .max_body = p->cfg->max_body,
		.timeout_ms = p->base.timeout_ms, .ca_file = p->cfg->ca_file,
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

static struct pf_probe *http_start(const void *cfg, const struct pf_env *env,
				   void *memory, uint64_t timeout_ms,
				   pf_done_fn done, void *arg)
{
	struct http_probe *p = pf_probe_new(&http_class, env, timeout_ms, done, arg);

	(void)memory;
	if (!p)
		return NULL;
	p->cfg = cfg;
	/* start() never reports itself: failures surface on the next turn. */
	if (http_send(p) < 0)
		pf_probe_next_turn(&p->base, pf_probe_end);
	return &p->base;
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
};
