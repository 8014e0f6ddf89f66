/*
 * The `http` check kind (SPEC §3 http): one GET/HEAD/POST to `url` on the
 * shared curl multi, passing when the status is in expect_status and the
 * body holds body_contains.  Owns its config and the request in flight.
 * A 3xx is not followed: it is compared against expect_status as it is.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_check.h"
#include "pf_keys.h"
#include "pf_hint.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "pf_xfer.h"
#include "http_status.h"
#include "pf_text.h"
#include "pf_mask.h"

/* Filled by http_keys; owns its strings. */
struct http_cfg {
	char *url;			/* may hold user:pass, shown masked */
	char *method;			/* GET, HEAD or POST */
	char *body_contains;		/* or NULL */
	struct pf_http_status_set expect;
	struct pf_xfer_opts xfer;	/* headers, max_body, ca_file */
};

struct http_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct http_cfg *cfg;	/* borrowed from the check */
	struct pf_xfer *x;		/* owned: the request in flight, or NULL */
	long code;			/* the answer's status, 0 when none */
};

/* A HEAD answer has no body to look into. */
static int http_check(void *cfg, const cJSON *obj, const char *path,
		      char *err, size_t errlen)
{
	const struct http_cfg *c = cfg;

	(void)obj;
	if (c->body_contains && strcmp(c->method, "HEAD") == 0)
		return pf_keys_fail(err, errlen, path, "body_contains",
				    "a HEAD answer has no body");
	return 0;
}

static const char *const http_methods[] = { "GET", "HEAD", "POST", NULL };

static const struct pf_key http_key_list[] = {
	{ .name = "url", .type = PF_KEY_URL, .required = true,
	  .valid = pf_url_check, .offset = offsetof(struct http_cfg, url),
	  .doc = "http:// or https:// URL; a 3xx is not followed" },
	{ .name = "method", .type = PF_KEY_ENUM, .def = "\"GET\"",
	  .choices = http_methods, .offset = offsetof(struct http_cfg, method),
	  .doc = "the request's method" },
	{ .name = "expect_status", .type = PF_KEY_CUSTOM, .def = "\"200-299\"",
	  .custom = &pf_http_status_key, .offset = offsetof(struct http_cfg, expect),
	  .doc = "statuses that pass; 401 and 403 outside it are auth" },
	{ .name = "body_contains", .type = PF_KEY_STRING,
	  .offset = offsetof(struct http_cfg, body_contains),
	  .doc = "text the body must contain (not with HEAD)" },
	{ .name = "http", .type = PF_KEY_INLINE, .sub = &pf_xfer_keys,
	  .offset = offsetof(struct http_cfg, xfer) },
	{ 0 }
};

static const struct pf_keys http_keys = {
	.name = "http", .keys = http_key_list, .size = sizeof(struct http_cfg),
	.check = http_check, .target = "url",
	.doc = "One request; passes when the status is in expect_status and"
	       " the body holds body_contains.  Redirects are not followed and"
	       " proxies from the environment (http_proxy, https_proxy) are not"
	       " used: the probe proves the direct path.",
};

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
	.kind = "http", .size = sizeof(struct http_probe),
	.deadline = http_deadline, .conclude = http_conclude,
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
			pf_xfer_tls_cause(err, p->cfg->xfer.ca_file != NULL) : NULL;

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
		.opts = &p->cfg->xfer, .timeout_ms = p->base.timeout_ms,
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

static struct pf_probe *http_start(const struct pf_start *s)
{
	struct http_probe *p = pf_probe_new(&http_class, s);

	if (!p)
		return NULL;
	p->cfg = s->cfg;
	/* start() never reports itself: failures surface on the next turn. */
	if (http_send(p) < 0)
		pf_probe_next_turn(&p->base, pf_probe_end);
	return &p->base;
}

const struct check_ops pf_check_http = {
	.kind = "http", .config = &http_keys, .needs_curl = true,
	.start = http_start,
};
