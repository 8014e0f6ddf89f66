/*
 * The HTTP surface (SPEC §6): routes and cached bodies (http_cache.c), on
 * the server of httpd.c (which enforces the connection limits).  Owns the
 * server and the cached bodies; borrows the engine.  Bodies are rendered
 * when a result changed (the daemon's version moved) and, for /readyz,
 * also when a result went stale; /status bodies are assembled from
 * per-check fragments (status_cache.c), and those of thousands of checks
 * streamed from them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "engine.h"
#include "http.h"
#include "http_cache.h"
#include "httpd.h"
#include "pf_net.h"
#include "pf_util.h"
#include "render.h"
#include "run.h"
#include "status_cache.h"

/* Check objects rendered per loop turn for a /status (~2 ms): a config
 * with more checks has its /status refreshed in slices and streamed from
 * the turn after; and the rounds after which the rest is rendered at once
 * (results arriving faster than slices cannot starve the request). */
#define STATUS_SLICE 300
#define STATUS_ROUNDS_MAX 200
/* /metrics is re-rendered at least this often: loop turns and log drops
 * move without a result. */
#define METRICS_MAX_AGE_MS 1000.0
/* Sample lines of /metrics rendered per loop turn (~2-3 ms): 10,000
 * checks make ~160,000 lines, 16 MB, which in one go held the loop
 * ~280 ms. */
#define METRICS_SLICE 1000
/* What the first /metrics reserves per check before it knows (a tcp
 * check's families take ~1,600 bytes). */
#define METRICS_BYTES_PER_CHECK 1600

struct pf_http {
	struct pf_engine *e;			/* borrowed */
	struct pf_httpd *srv;			/* owned: connections and limits */
	struct pf_http_cache *status;		/* owned: [0] all, [1+g] group g */
	/* owned: per-check /status fragments the status bodies are
	 * assembled from, so a body after K results costs K check renders */
	struct pf_status_cache *frags;
	struct pf_http_cache *readyz;		/* owned, same layout */
	size_t n_sets;
	struct pf_http_cache *checks;		/* owned: one per check */
	size_t n_checks;
	struct pf_http_cache metrics;
	struct pf_metrics_job *metrics_job;	/* owned: a /metrics in steps */
	size_t metrics_len;			/* of the last /metrics body */
	struct pf_http_cache page;		/* GET / */
	/* on-demand checks in the config of generation od_generation: with
	 * none, no /status needs a scan for results going stale */
	size_t n_on_demand;
	uint64_t od_generation;
};

enum {
	M_GET = PF_HTTP_GET | PF_HTTP_HEAD,
	M_POST = PF_HTTP_POST,
};

static const char CT_JSON[] = "application/json";
static const char CT_TEXT[] = "text/plain; charset=utf-8";
static const char CT_METRICS[] = "text/plain; version=0.0.4; charset=utf-8";
static const char CT_HTML[] = "text/html; charset=utf-8";

static void send_text(struct pf_http_req *req, int code, const char *ctype,
		      const char *text)
{
	pf_httpd_reply(req, code, ctype, text, strlen(text));
}

/* A JSON error body {"error": msg}; msg may hold user input (escaped). */
static void send_error(struct pf_http_req *req, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "error", msg);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		send_text(req, 500, CT_JSON, "{\"error\":\"out of memory\"}");
		return;
	}
	send_text(req, code, CT_JSON, text);
	free(text);
}

static void send_oom(struct pf_http_req *req)
{
	send_text(req, 500, CT_JSON, "{\"error\":\"out of memory\"}");
}

static size_t status_body_read(void *arg, char *dst, size_t room)
{
	return pf_status_body_read(arg, dst, room);
}

static void status_body_release(void *arg)
{
	pf_status_body_free(arg);
}

/* A body of thousands of checks, streamed from the fragments it holds
 * references to: no 3 MB copy, and it reads the same bytes while the
 * cache re-renders meanwhile. */
static void send_status_body(struct pf_http_req *req, struct pf_status_body *b)
{
	struct pf_httpd_source src = {
		.read = status_body_read, .release = status_body_release, .arg = b,
	};

	if (!b) {
		send_oom(req);
		return;
	}
	pf_httpd_reply_stream(req, 200, CT_JSON, pf_status_body_len(b), &src);
}

/* Earliest moment a currently fresh result goes stale (0: none will).
 * Readiness follows every check's freshness; what /status, /status/{check}
 * and /metrics show changes only when an on-demand result goes stale
 * (it then reads unknown), hence on_demand_only. */
static double next_stale_ms(const struct pf_engine *e, double now,
			    bool on_demand_only)
{
	double next = 0;

	for (size_t i = 0; i < e->n_checks; i++) {
		const struct check *c = &e->checks[i];
		double t;

		if (!c->state.has_run || (on_demand_only && !c->cfg->on_demand))
			continue;
		t = pf_state_fresh_until(&c->state, c->cfg);
		if (t > now && (next <= 0 || t < next))
			next = t;
	}
	return next;
}

/* next_stale_ms(on_demand_only): 0 at once when the config has no
 * on-demand check, without touching every check's state. */
static double next_on_demand_stale_ms(struct pf_http *h, double now)
{
	if (h->od_generation != h->e->generation) {
		h->n_on_demand = 0;
		for (size_t i = 0; i < h->e->n_checks; i++)
			h->n_on_demand += h->e->checks[i].cfg->on_demand;
		h->od_generation = h->e->generation;
	}
	return h->n_on_demand ? next_stale_ms(h->e, now, true) : 0;
}

/* The ?group= argument: -1 for none, -2 (404 sent) for an unknown one. */
static int query_group(struct pf_http *h, struct pf_http_req *req,
		       const struct evkeyvalq *q)
{
	const char *g = evhttp_find_header(q, "group");
	char msg[300];
	int idx;

	if (!g)
		return -1;
	idx = pf_config_find_group(h->e->cfg, g);
	if (idx < 0) {
		snprintf(msg, sizeof(msg), "unknown group %s", g);
		send_error(req, 404, msg);
		return -2;
	}
	return idx;
}

static void on_status(struct pf_http *h, struct pf_http_req *req,
		      const struct evkeyvalq *q)
{
	int g = query_group(h, req, q);
	double now = pf_mono_ms();
	struct pf_http_cache *c;
	struct pf_view v;

	if (g == -2)
		return;
	if (!h->status || !h->frags) {	/* a reset ran out of memory */
		send_oom(req);
		return;
	}
	c = &h->status[g + 1];
	if (!pf_http_cache_valid(c, h->e->version, now)) {
		uint64_t version = h->e->version;
		size_t len = 0;
		char *text;

		pf_engine_view(h->e, &v);
		/* keep is the generation the slices were for, plus one: after
		 * a reload (another client may have bound the cache to the new
		 * config meanwhile), refresh in slices again */
		if (req->keep && (req->keep != v.generation + 1 ||
				  !pf_status_cache_bound(h->frags, &v)))
			req->keep = 0;
		if (req->keep) {
			/* the last round brought every fragment up to date:
			 * the body is streamed from them, never kept */
			send_status_body(req, pf_status_cache_body(h->frags, &v, g));
			return;
		} else if (v.n_checks > STATUS_SLICE && req->round < STATUS_ROUNDS_MAX) {
			/* Thousands of checks: out-of-date check objects are
			 * rendered a slice per loop turn, and the body is
			 * streamed on the turn after, probes and other clients
			 * between. */
			if (pf_status_cache_refresh(h->frags, &v, g, STATUS_SLICE) == 0)
				req->keep = v.generation + 1;
			pf_httpd_again(req);
			return;
		} else {
			text = pf_status_cache_render(h->frags, &v, g, &len);
		}
		if (!pf_http_cache_store_len(c, text, len, version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_on_demand_stale_ms(h, now);
	}
	pf_http_send_body(req, 200, CT_JSON, c->body);
	pf_http_cache_drop_if_large(c);
}

/* GET /readyz/{G}: the group from the path; -2 (404 sent) when unknown. */
static int path_group(struct pf_http *h, struct pf_http_req *req, const char *name)
{
	int g = pf_config_find_group(h->e->cfg, name);
	char msg[300];

	if (g < 0) {
		snprintf(msg, sizeof(msg), "unknown group %s", name);
		send_error(req, 404, msg);
		return -2;
	}
	return g;
}

static void on_readyz(struct pf_http *h, struct pf_http_req *req, int g)
{
	double now = pf_mono_ms();
	struct pf_http_cache *c;
	struct pf_view v;

	if (g == -2)
		return;
	if (!h->readyz) {
		send_oom(req);
		return;
	}
	c = &h->readyz[g + 1];
	if (!pf_http_cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!pf_http_cache_store(c, pf_render_readyz(&v, g, &c->ready), h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_stale_ms(h->e, now, false);
	}
	pf_http_send_body(req, c->ready ? 200 : 503, CT_JSON, c->body);
}

static void on_check(struct pf_http *h, struct pf_http_req *req,
		     const char *name)
{
	int i = pf_config_find_check(h->e->cfg, name);
	double now = pf_mono_ms();
	char msg[300];
	struct pf_http_cache *c;
	struct pf_view v;

	if (i < 0 || (size_t)i >= h->n_checks) {
		snprintf(msg, sizeof(msg), "unknown check %s", name);
		send_error(req, 404, msg);
		return;
	}
	c = &h->checks[i];
	if (!pf_http_cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!pf_http_cache_store(c, pf_render_check(&v, (size_t)i), h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_on_demand_stale_ms(h, now);
	}
	pf_http_send_body(req, 200, CT_JSON, c->body);
}

/* One step of the /metrics job, started when none runs (or it was for
 * another config); the body once the job is done, else NULL with *more
 * set (or not, when out of memory). */
static char *metrics_step(struct pf_http *h, const struct pf_view *v,
			  size_t *len, bool *more)
{
	char *text;

	*more = false;
	if (h->metrics_job && pf_metrics_generation(h->metrics_job) != v->generation) {
		pf_metrics_abort(h->metrics_job);
		h->metrics_job = NULL;
	}
	if (!h->metrics_job &&
	    !(h->metrics_job = pf_metrics_begin(v, h->metrics_len ? h->metrics_len :
						METRICS_BYTES_PER_CHECK * v->n_checks)))
		return NULL;
	if (!pf_metrics_step(h->metrics_job, v, METRICS_SLICE)) {
		*more = true;
		return NULL;
	}
	text = pf_metrics_end(h->metrics_job, len);
	h->metrics_job = NULL;
	h->metrics_len = text ? *len : 0;
	return text;
}

/* GET /metrics, rendered METRICS_SLICE lines a loop turn: a request
 * waits for the job in progress (several waiting advance the same job, a
 * step each per turn) and takes a body finished since it came while the
 * cache holds it.  A large body is not kept once sent, so a second
 * scraper of thousands of checks waiting at the same time renders its
 * own.  A body finished over several turns may miss results that came
 * meanwhile; it is at most METRICS_MAX_AGE_MS old when served again. */
static void on_metrics(struct pf_http *h, struct pf_http_req *req)
{
	struct pf_http_cache *c = &h->metrics;
	double now = pf_mono_ms();
	struct pf_view v;
	size_t len = 0;
	bool more;
	char *text;

	if (!pf_http_cache_valid(c, h->e->version, now) &&
	    !(req->round > 0 && c->body && c->done_mono >= req->since_ms)) {
		pf_engine_view(h->e, &v);
		text = metrics_step(h, &v, &len, &more);
		if (more) {
			pf_httpd_again(req);
			return;
		}
		if (!pf_http_cache_store_len(c, text, len, h->e->version)) {
			send_oom(req);
			return;
		}
		/* preflight_ready and _group_ready follow freshness too;
		 * what moves without a result (loop turns, log drops) is at
		 * most METRICS_MAX_AGE_MS old */
		c->expires_mono = next_stale_ms(h->e, now, false);
		if (c->expires_mono <= 0 || c->expires_mono > now + METRICS_MAX_AGE_MS)
			c->expires_mono = now + METRICS_MAX_AGE_MS;
	}
	pf_http_send_body(req, 200, CT_METRICS, c->body);
	pf_http_cache_drop_if_large(c);
}

/* GET /: what people read.  No script may run in it, whatever a peer put
 * into an error: the page has none and the policy forbids any. */
static void on_page(struct pf_http *h, struct pf_http_req *req)
{
	struct pf_http_cache *c = &h->page;
	double now = pf_mono_ms();
	struct pf_view v;

	if (!pf_http_cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!pf_http_cache_store(c, pf_render_page(&v), h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_stale_ms(h->e, now, false);
	}
	pf_httpd_header(req, "Content-Security-Policy",
			"default-src 'none'; style-src 'unsafe-inline'");
	pf_httpd_header(req, "X-Content-Type-Options", "nosniff");
	pf_http_send_body(req, 200, CT_HTML, c->body);
}

/* POST /run[?check=C|group=G]: the rules are run.c's; this passes the
 * request's facts and answers at once. */
static void on_run(struct pf_http *h, struct pf_http_req *req,
		   const struct evkeyvalq *q)
{
	const struct evkeyvalq *hdr = req->headers;
	struct pf_run_req r = {
		.authorization = evhttp_find_header(hdr, "Authorization"),
		.origin = evhttp_find_header(hdr, "Origin"),
		.host = evhttp_find_header(hdr, "Host"),
		.check = evhttp_find_header(q, "check"),
		.group = evhttp_find_header(q, "group"),
		.peer = req->peer,
	};
	char *body;
	int code;

	code = pf_run_request(h->e, &r, &body);
	if (!body) {
		send_oom(req);
		return;
	}
	if (code == 401)
		pf_httpd_header(req, "WWW-Authenticate", "Bearer");
	send_text(req, code, CT_JSON, body);
	free(body);
}

/* Answers 405 unless the method is in allowed; returns true if it did. */
static bool wrong_method(struct pf_http_req *req, int allowed)
{
	if ((int)req->method & allowed)
		return false;
	pf_httpd_header(req, "Allow", allowed & PF_HTTP_GET ?
			(allowed & PF_HTTP_POST ? "GET, HEAD, POST" : "GET, HEAD") :
			"POST");
	send_error(req, 405, "method not allowed");
	return true;
}

static void route(struct pf_http *h, struct pf_http_req *req,
		  const char *path, const struct evkeyvalq *q)
{
	if (strcmp(path, "/") == 0) {
		if (!wrong_method(req, M_GET))
			on_page(h, req);
	} else if (strcmp(path, "/healthz") == 0) {
		if (!wrong_method(req, M_GET))
			send_text(req, 200, CT_TEXT, "ok\n");
	} else if (strcmp(path, "/readyz") == 0) {
		if (!wrong_method(req, M_GET | M_POST))
			on_readyz(h, req, query_group(h, req, q));
	} else if (strncmp(path, "/readyz/", 8) == 0 && path[8]) {
		if (!wrong_method(req, M_GET | M_POST))
			on_readyz(h, req, path_group(h, req, path + 8));
	} else if (strcmp(path, "/status") == 0) {
		if (!wrong_method(req, M_GET))
			on_status(h, req, q);
	} else if (strncmp(path, "/status/", 8) == 0 && path[8]) {
		if (!wrong_method(req, M_GET))
			on_check(h, req, path + 8);
	} else if (strcmp(path, "/metrics") == 0) {
		if (!wrong_method(req, M_GET))
			on_metrics(h, req);
	} else if (strcmp(path, "/run") == 0) {
		if (!wrong_method(req, M_POST))
			on_run(h, req, q);
	} else {
		send_error(req, 404, "not found");
	}
}

/* httpd's handler: every complete request lands here. */
static void on_request(struct pf_http_req *req, void *arg)
{
	route(arg, req, req->path, req->query);
}

static bool alloc_caches(struct pf_http *h)
{
	const struct pf_config *cfg = h->e->cfg;

	h->n_sets = cfg->n_groups + 1;
	h->n_checks = cfg->n_checks;
	h->status = calloc(h->n_sets, sizeof(*h->status));
	h->readyz = calloc(h->n_sets, sizeof(*h->readyz));
	h->checks = calloc(h->n_checks ? h->n_checks : 1, sizeof(*h->checks));
	h->frags = pf_status_cache_new();
	return h->status && h->readyz && h->checks && h->frags;
}

static void free_caches(struct pf_http *h)
{
	pf_http_cache_clear(h->status, h->n_sets);
	pf_http_cache_clear(h->readyz, h->n_sets);
	pf_http_cache_clear(h->checks, h->n_checks);
	pf_http_cache_clear(&h->metrics, 1);
	pf_metrics_abort(h->metrics_job);	/* made for the old config */
	h->metrics_job = NULL;
	pf_http_cache_clear(&h->page, 1);
	pf_status_cache_free(h->frags);
	h->frags = NULL;
	free(h->status);
	free(h->readyz);
	free(h->checks);
	h->status = h->readyz = h->checks = NULL;
	h->n_sets = h->n_checks = 0;
}

void pf_http_reset(struct pf_http *h)
{
	free_caches(h);
	if (!alloc_caches(h))
		free_caches(h);	/* every request then answers 500 until memory returns */
}

struct pf_http *pf_http_new(struct pf_engine *e, const char *listen,
			    char *err, size_t errlen)
{
	struct pf_httpd_limits lim = {
		.max_conns = PF_HTTP_MAX_CONNECTIONS,
		.max_per_addr = PF_HTTP_MAX_PER_ADDRESS,
		/* a probe holds a socket or two; logs, curl and DNS a few */
		.reserve_fds = 2 * e->n_checks + 32,
		.max_head = PF_HTTP_MAX_HEADERS, .max_body = PF_HTTP_MAX_BODY,
		.head_timeout_ms = PF_HTTP_READ_TIMEOUT_S * 1000,
		.idle_timeout_ms = PF_HTTP_IDLE_TIMEOUT_S * 1000,
		.write_timeout_ms = PF_HTTP_WRITE_TIMEOUT_S * 1000,
		.log = &e->log,
	};
	struct pf_http *h = calloc(1, sizeof(*h));
	char host[256];
	unsigned port;

	if (pf_split_hostport(listen, host, sizeof(host), &port, 0) < 0 ||
	    port == 0 || port > 65535) {
		snprintf(err, errlen, "listen: \"%s\" is not host:port", listen);
		free(h);
		return NULL;
	}
	if (!h || !(h->e = e) || !alloc_caches(h)) {
		snprintf(err, errlen, "out of memory starting the HTTP server");
		pf_http_free(h);
		return NULL;
	}
	h->srv = pf_httpd_new(e->base, host, port, &lim, on_request, h, err, errlen);
	if (!h->srv) {
		pf_http_free(h);
		return NULL;
	}
	return h;
}

size_t pf_http_connections(const struct pf_http *h)
{
	return h ? pf_httpd_connections(h->srv) : 0;
}

void pf_http_free(struct pf_http *h)
{
	if (!h)
		return;
	pf_httpd_free(h->srv);	/* answers in flight unref their bodies */
	free_caches(h);
	free(h);
}
