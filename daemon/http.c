/*
 * The HTTP surface on evhttp (SPEC §6): routes, cached bodies and limits.
 * Owns the evhttp server, the bound socket and the cached bodies; borrows
 * the daemon.  Bodies are rendered when a result changed (the daemon's
 * version moved) and, for /readyz, also when a result went stale; /status
 * bodies are assembled from per-check fragments (status_cache.c).
 */
#include <math.h>
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "engine.h"
#include "http.h"
#include "pf_net.h"
#include "pf_util.h"
#include "render.h"
#include "run.h"
#include "status_cache.h"

/* A rendered body, shared by the cache and the responses still being
 * written: each holds a reference, the last one frees it, so a response
 * sends the cached bytes without copying them and a re-render never pulls
 * them from under a slow client. */
struct body {
	size_t len;
	char *text;		/* owned, malloc'd by render.c */
	unsigned refs;		/* the cache's + one per response in flight */
};

struct cache {
	struct body *body;	/* owned, NULL when empty */
	uint64_t version;	/* daemon version it was rendered at */
	double expires_mono;	/* re-render after this (readyz); 0 = never */
	bool ready;		/* /readyz verdict */
};

struct pf_http {
	struct pf_engine *e;			/* borrowed */
	struct evhttp *http;			/* owned */
	/* Client connections that made a request (not owned: evhttp frees
	 * them and tells us through the close callback). */
	struct evhttp_connection *conn[PF_HTTP_MAX_CONNECTIONS];
	size_t conns;
	struct cache *status;			/* owned: [0] all, [1+g] group g */
	/* owned: per-check /status fragments the status bodies are
	 * assembled from, so a body after K results costs K check renders */
	struct pf_status_cache *frags;
	struct cache *readyz;			/* owned, same layout */
	size_t n_sets;
	struct cache *checks;			/* owned: one per check */
	size_t n_checks;
	struct cache metrics;
	struct evconnlistener *listener;	/* borrowed from evhttp's bound socket */
	struct event *accept_tick;		/* owned: re-enables accept after EMFILE */
	double accept_warned_ms;		/* monotonic time of the last such warning */
};

enum {
	M_GET = EVHTTP_REQ_GET | EVHTTP_REQ_HEAD,
	M_POST = EVHTTP_REQ_POST,
};

static const char CT_JSON[] = "application/json";
static const char CT_TEXT[] = "text/plain; charset=utf-8";
static const char CT_METRICS[] = "text/plain; version=0.0.4; charset=utf-8";

static void body_unref(struct body *b)
{
	if (b && --b->refs == 0) {
		free(b->text);
		free(b);
	}
}

/* libevent: the response holding this body was written or dropped. */
static void on_body_sent(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	body_unref(arg);
}

static void cache_clear(struct cache *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		body_unref(c[i].body);
		c[i].body = NULL;
	}
}

static bool cache_valid(const struct cache *c, uint64_t version, double now)
{
	return c->body && c->version == version &&
	       (c->expires_mono <= 0 || now < c->expires_mono);
}

/* Takes text (malloc'd); returns false when out of memory. */
static bool cache_store(struct cache *c, char *text, uint64_t version)
{
	struct body *b = text ? malloc(sizeof(*b)) : NULL;

	if (!b) {
		free(text);
		return false;
	}
	b->text = text;
	b->len = strlen(text);
	b->refs = 1;
	body_unref(c->body);
	c->body = b;
	c->version = version;
	c->expires_mono = 0;
	return true;
}

static void send_body(struct evhttp_request *req, int code, const char *ctype,
		      struct body *b)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	b->refs++;
	if (evbuffer_add_reference(out, b->text, b->len, on_body_sent, b) < 0) {
		b->refs--;
		evbuffer_add(out, b->text, b->len);
	}
	evhttp_send_reply(req, code, NULL, NULL);
}

static void send_text(struct evhttp_request *req, int code, const char *ctype,
		      const char *text)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	evbuffer_add(evhttp_request_get_output_buffer(req), text, strlen(text));
	evhttp_send_reply(req, code, NULL, NULL);
}

/* A JSON error body {"error": msg}; msg may hold user input (escaped). */
static void send_error(struct evhttp_request *req, int code, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "error", msg);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	send_text(req, code, CT_JSON, text);
	free(text);
}

static void send_oom(struct evhttp_request *req)
{
	send_text(req, 500, CT_JSON, "{\"error\":\"out of memory\"}");
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

/* The ?group= argument: -1 for none, -2 (404 sent) for an unknown one. */
static int query_group(struct pf_http *h, struct evhttp_request *req,
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

static void on_status(struct pf_http *h, struct evhttp_request *req,
		      const struct evkeyvalq *q)
{
	int g = query_group(h, req, q);
	double now = pf_mono_ms();
	struct cache *c;
	struct pf_view v;

	if (g == -2)
		return;
	if (!h->status || !h->frags) {	/* a reset ran out of memory */
		send_oom(req);
		return;
	}
	c = &h->status[g + 1];
	if (!cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!cache_store(c, pf_status_cache_render(h->frags, &v, g),
				 h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_stale_ms(h->e, now, true);
	}
	send_body(req, 200, CT_JSON, c->body);
}

static void on_readyz(struct pf_http *h, struct evhttp_request *req,
		      const struct evkeyvalq *q)
{
	int g = query_group(h, req, q);
	double now = pf_mono_ms();
	struct cache *c;
	struct pf_view v;

	if (g == -2)
		return;
	if (!h->readyz) {
		send_oom(req);
		return;
	}
	c = &h->readyz[g + 1];
	if (!cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!cache_store(c, pf_render_readyz(&v, g, &c->ready), h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_stale_ms(h->e, now, false);
	}
	send_body(req, c->ready ? 200 : 503, CT_JSON, c->body);
}

static void on_check(struct pf_http *h, struct evhttp_request *req,
		     const char *name)
{
	int i = pf_config_find_check(h->e->cfg, name);
	double now = pf_mono_ms();
	char msg[300];
	struct cache *c;
	struct pf_view v;

	if (i < 0 || (size_t)i >= h->n_checks) {
		snprintf(msg, sizeof(msg), "unknown check %s", name);
		send_error(req, 404, msg);
		return;
	}
	c = &h->checks[i];
	if (!cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!cache_store(c, pf_render_check(&v, (size_t)i), h->e->version)) {
			send_oom(req);
			return;
		}
		c->expires_mono = next_stale_ms(h->e, now, true);
	}
	send_body(req, 200, CT_JSON, c->body);
}

static void on_metrics(struct pf_http *h, struct evhttp_request *req)
{
	struct cache *c = &h->metrics;
	double now = pf_mono_ms();
	struct pf_view v;

	if (!cache_valid(c, h->e->version, now)) {
		pf_engine_view(h->e, &v);
		if (!cache_store(c, pf_render_metrics(&v), h->e->version)) {
			send_oom(req);
			return;
		}
		/* preflight_ready and _group_ready follow freshness too */
		c->expires_mono = next_stale_ms(h->e, now, false);
	}
	send_body(req, 200, CT_METRICS, c->body);
}

/* POST /run[?check=C|group=G]: the rules are run.c's; this passes the
 * request's facts and answers at once. */
static void on_run(struct pf_http *h, struct evhttp_request *req,
		   const struct evkeyvalq *q)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evkeyvalq *hdr = evhttp_request_get_input_headers(req);
	struct pf_run_req r = {
		.authorization = evhttp_find_header(hdr, "Authorization"),
		.origin = evhttp_find_header(hdr, "Origin"),
		.host = evhttp_find_header(hdr, "Host"),
		.check = evhttp_find_header(q, "check"),
		.group = evhttp_find_header(q, "group"),
	};
	char *peer = NULL, *body;
	ev_uint16_t port;
	int code;

	if (evcon)
		evhttp_connection_get_peer(evcon, &peer, &port);
	r.peer = peer;
	code = pf_run_request(h->e, &r, &body);
	if (!body) {
		send_oom(req);
		return;
	}
	if (code == 401)
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "WWW-Authenticate", "Bearer");
	send_text(req, code, CT_JSON, body);
	free(body);
}

/* Answers 405 unless the method is in allowed; returns true if it did. */
static bool wrong_method(struct evhttp_request *req, int allowed)
{
	int m = (int)evhttp_request_get_command(req);

	if (m & allowed)
		return false;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
			  allowed & EVHTTP_REQ_GET ? (allowed & EVHTTP_REQ_POST ?
			  "GET, HEAD, POST" : "GET, HEAD") : "POST");
	send_error(req, 405, "method not allowed");
	return true;
}

static void route(struct pf_http *h, struct evhttp_request *req,
		  const char *path, const struct evkeyvalq *q)
{
	if (strcmp(path, "/healthz") == 0) {
		if (!wrong_method(req, M_GET))
			send_text(req, 200, CT_TEXT, "ok\n");
	} else if (strcmp(path, "/readyz") == 0) {
		if (!wrong_method(req, M_GET | M_POST))
			on_readyz(h, req, q);
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

/* evcon's close callback: forget the connection. */
static void on_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct pf_http *h = arg;

	for (size_t i = 0; i < h->conns; i++) {
		if (h->conn[i] == evcon) {
			h->conn[i] = h->conn[--h->conns];
			return;
		}
	}
}

/* Without TCP_NODELAY, the tail segment of a large body (a /status of a
 * hundred checks) waits for the client's delayed ACK, 40 ms on Linux, on
 * every keep-alive request after the first.  nginx sets it too. */
static void set_nodelay(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The connection cap.  libevent 2.1 has neither a connection limit nor a
 * hook at accept time that sees the connection, so connections are
 * counted from their first request (a close callback forgets them) and
 * one over the cap is answered 503 and closed.  Connections that never
 * complete a request are bounded by the read timeout and header cap. */
static bool admit(struct pf_http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	if (!evcon)
		return true;
	for (size_t i = 0; i < h->conns; i++)
		if (h->conn[i] == evcon)
			return true;
	if (h->conns >= PF_HTTP_MAX_CONNECTIONS) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
				  "Connection", "close");
		send_error(req, 503, "too many connections");
		return false;
	}
	h->conn[h->conns++] = evcon;
	evhttp_connection_set_closecb(evcon, on_conn_closed, h);
	set_nodelay(evcon);
	return true;
}

/* evhttp's generic callback: every complete request lands here. */
static void on_request(struct evhttp_request *req, void *arg)
{
	struct pf_http *h = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq q;
	char *decoded;

	if (!admit(h, req))
		return;
	TAILQ_INIT(&q);
	if (!path || (query && evhttp_parse_query_str(query, &q) < 0)) {
		send_error(req, 400, "malformed request URI");
		return;
	}
	decoded = evhttp_uridecode(path, 0, NULL);
	if (!decoded) {
		send_oom(req);
	} else {
		route(h, req, decoded, &q);
		free(decoded);
	}
	evhttp_clear_headers(&q);
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
	cache_clear(h->status, h->n_sets);
	cache_clear(h->readyz, h->n_sets);
	cache_clear(h->checks, h->n_checks);
	cache_clear(&h->metrics, 1);
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

/* Stops accepting until the next accept tick: out of descriptors, the
 * listening socket stays readable and libevent would retry accept() at
 * once, forever, spinning the loop. */
static void pause_accept(struct pf_http *h, int err)
{
	evconnlistener_disable(h->listener);
	/* One line per 10 s is enough to explain a sustained shortage. */
	if (h->accept_warned_ms == 0 || pf_mono_ms() - h->accept_warned_ms > 10000) {
		h->accept_warned_ms = pf_mono_ms();
		pf_log(&h->e->log, PF_LOG_WARNING, NULL, NULL, -1,
		       "HTTP: out of file descriptors (%s): pausing accept for up "
		       "to %d ms at a time", strerror(err), PF_HTTP_ACCEPT_TICK_MS);
	}
}

/* evhttp, once per accepted connection: the bufferevent it will use (the
 * kind evhttp makes by default).  The one place that sees accepts: if this
 * connection took the last free descriptor, pause before accept() fails. */
static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
	struct pf_http *h = arg;
	int spare = fcntl(evconnlistener_get_fd(h->listener), F_DUPFD_CLOEXEC, 0);

	if (spare >= 0)
		close(spare);
	else if (errno == EMFILE || errno == ENFILE)
		pause_accept(h, errno);
	return bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
}

/* libevent: accept() failed for good (a probe took the descriptor we had
 * spare).  The listener's argument is evhttp's, not ours, so only disable
 * here; the accept tick turns accepting back on. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	int err = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
		evconnlistener_disable(lev);
}

/* accept_tick (persistent): re-enables accepting after a pause; a no-op
 * while accepting is on. */
static void on_accept_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pf_http *h = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(h->listener);
}

static int bind_listen(struct pf_http *h, const char *listen, char *err,
		       size_t errlen)
{
	struct evhttp_bound_socket *bound;
	char host[256];
	unsigned port;

	if (pf_split_hostport(listen, host, sizeof(host), &port, 0) < 0 ||
	    port == 0 || port > 65535) {
		snprintf(err, errlen, "listen: \"%s\" is not host:port", listen);
		return -1;
	}
	bound = evhttp_bind_socket_with_handle(h->http, host[0] ? host : "0.0.0.0",
					       (ev_uint16_t)port);
	if (!bound) {
		snprintf(err, errlen, "cannot listen on %s: address in use, not "
			 "local, or not permitted", listen);
		return -1;
	}
	h->listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(h->listener, on_accept_error);
	return 0;
}

struct pf_http *pf_http_new(struct pf_engine *e, const char *listen,
			    char *err, size_t errlen)
{
	struct timeval tick = { 0, PF_HTTP_ACCEPT_TICK_MS * 1000 };
	struct pf_http *h = calloc(1, sizeof(*h));

	if (h) {
		h->e = e;
		h->http = evhttp_new(e->base);
		h->accept_tick = event_new(e->base, -1, EV_PERSIST, on_accept_tick, h);
	}
	if (!h || !h->http || !h->accept_tick || !alloc_caches(h)) {
		snprintf(err, errlen, "out of memory starting the HTTP server");
		pf_http_free(h);
		return NULL;
	}
	evhttp_set_gencb(h->http, on_request, h);
	evhttp_set_bevcb(h->http, on_accept, h);
	evhttp_set_max_headers_size(h->http, PF_HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->http, PF_HTTP_MAX_BODY);
	evhttp_set_timeout(h->http, PF_HTTP_READ_TIMEOUT_S);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
				   EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
				   EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
				   EVHTTP_REQ_PATCH);
	if (bind_listen(h, listen, err, errlen) < 0) {
		pf_http_free(h);
		return NULL;
	}
	event_add(h->accept_tick, &tick);
	return h;
}

size_t pf_http_connections(const struct pf_http *h)
{
	return h ? h->conns : 0;
}

void pf_http_free(struct pf_http *h)
{
	if (!h)
		return;
	if (h->accept_tick)
		event_free(h->accept_tick);
	if (h->http)
		evhttp_free(h->http);	/* runs on_conn_closed for each connection */
	free_caches(h);
	free(h);
}
