/*
 * The HTTP server's messages: a request head and body read from a
 * connection's input (HTTP/1.0 and 1.1, Content-Length bodies only), the
 * handler called with it, and the answer written with its Content-Length
 * (headers only for HEAD).  Keep-alive is HTTP/1.1's default; an answer
 * to a malformed or oversized request closes the connection.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "httpd_int.h"
#include "pf_util.h"

#define MAX_HEADERS 100

/* A parsed head: its own copy of the text, pointed into. */
struct head {
	char *text;			/* owned */
	size_t len;			/* bytes of the head, CRLFCRLF included */
	enum pf_http_method method;
	char *target;
	bool http10;
	bool keep_alive;
	long body_len;
	struct evkeyvalq headers;	/* owned */
};

static const char *reason_phrase(int code)
{
	switch (code) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

static enum pf_http_method method_of(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return PF_HTTP_GET;
	if (strcmp(m, "HEAD") == 0)
		return PF_HTTP_HEAD;
	if (strcmp(m, "POST") == 0)
		return PF_HTTP_POST;
	return PF_HTTP_OTHER;
}

/* "METHOD SP target SP HTTP/1.x"; 0, or the status to refuse with. */
static int request_line(struct head *h, char *line)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	if (!sp1 || !sp2 || sp1 == line || sp2 == sp1 + 1 || strchr(sp2 + 1, ' '))
		return 400;
	*sp1 = *sp2 = '\0';
	for (const char *p = line; *p; p++)
		if (!isupper((unsigned char)*p))
			return 400;
	if (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)
		return strncmp(sp2 + 1, "HTTP/", 5) == 0 ? 505 : 400;
	h->method = method_of(line);
	h->target = sp1 + 1;
	h->http10 = strcmp(sp2 + 1, "HTTP/1.0") == 0;
	h->keep_alive = !h->http10;
	return 0;
}

/* What the framing headers say: body length, keep-alive; 0 or a status. */
static int framing(struct head *h, const char *name, const char *value,
		   size_t max_body)
{
	char *end;

	if (strcasecmp(name, "Transfer-Encoding") == 0)
		return 501;	/* chunked bodies: nothing here takes a body that needs them */
	if (strcasecmp(name, "Connection") == 0) {
		if (strcasecmp(value, "close") == 0)
			h->keep_alive = false;
		else if (strcasecmp(value, "keep-alive") == 0)
			h->keep_alive = true;
	}
	if (strcasecmp(name, "Content-Length") != 0)
		return 0;
	if (h->body_len >= 0 || !isdigit((unsigned char)value[0]))
		return 400;	/* repeated, or not a number */
	h->body_len = strtol(value, &end, 10);
	if (*end || h->body_len < 0)
		return 400;
	return (size_t)h->body_len > max_body ? 413 : 0;
}

/* One "Name: value" line; 0 or a status. */
static int header_line(struct head *h, char *line, size_t max_body)
{
	char *colon = strchr(line, ':'), *v;
	size_t n;

	if (!colon || colon == line || line[0] == ' ' || line[0] == '\t')
		return 400;	/* no name, or obsolete line folding */
	*colon = '\0';
	for (const char *p = line; *p; p++)
		if (*p <= ' ' || *p >= 127)
			return 400;
	v = colon + 1 + strspn(colon + 1, " \t");
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	if (evhttp_add_header(&h->headers, line, v) < 0)
		return 400;
	return framing(h, line, v, max_body);
}

/* Parses text[0..len) (the head without its last CRLFCRLF); 0 or a status. */
static int parse_head(struct head *h, size_t max_body)
{
	char *line = h->text, *eol;
	int count = 0, rc;

	eol = strstr(line, "\r\n");
	if (eol)
		*eol = '\0';
	if ((rc = request_line(h, line)) != 0)
		return rc;
	while (eol) {
		line = eol + 2;
		if (!*line)
			break;
		if ((eol = strstr(line, "\r\n")))
			*eol = '\0';
		if (++count > MAX_HEADERS)
			return 431;
		if ((rc = header_line(h, line, max_body)) != 0)
			return rc;
	}
	return 0;
}

static void head_free(struct head *h)
{
	evhttp_clear_headers(&h->headers);
	free(h->text);
}

/* The status line and headers of an answer, then body (unless HEAD). */
static void write_head(struct pf_httpd_conn *c, int code, const char *ctype,
		       size_t len)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct evkeyval *kv;

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			    "Content-Length: %zu\r\nCache-Control: no-store\r\n",
			    code, reason_phrase(code), ctype, len);
	TAILQ_FOREACH(kv, &c->out_headers, next)
		evbuffer_add_printf(out, "%s: %s\r\n", kv->key, kv->value);
	evhttp_clear_headers(&c->out_headers);
	evbuffer_add_printf(out, "%s\r\n", c->close_after ? "Connection: close\r\n" :
			    c->http10_keep_alive ? "Connection: keep-alive\r\n" : "");
	c->busy = true;
	/* no more reading until this answer is out: what a client pipelines
	 * meanwhile stays in the kernel, not in our buffers */
	bufferevent_disable(c->bev, EV_READ);
}

void pf_httpd_refuse(struct pf_httpd_conn *c, int code, const char *msg)
{
	char body[160];
	int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);

	c->close_after = true;
	write_head(c, code, "application/json", (size_t)n);
	evbuffer_add(bufferevent_get_output(c->bev), body, (size_t)n);
}

void pf_httpd_header(struct pf_http_req *req, const char *name,
		     const char *value)
{
	evhttp_add_header(&req->conn->out_headers, name, value);
}

void pf_httpd_reply(struct pf_http_req *req, int code, const char *ctype,
		    const char *body, size_t len)
{
	if (req->answered)
		return;
	req->answered = true;
	write_head(req->conn, code, ctype, len);
	if (req->method != PF_HTTP_HEAD)
		evbuffer_add(bufferevent_get_output(req->conn->bev), body, len);
}

void pf_httpd_reply_ref(struct pf_http_req *req, int code, const char *ctype,
			const char *body, size_t len, pf_httpd_unref unref,
			void *arg)
{
	struct evbuffer *out = bufferevent_get_output(req->conn->bev);

	if (req->answered || req->method == PF_HTTP_HEAD) {
		pf_httpd_reply(req, code, ctype, body, len);
		unref(body, len, arg);
		return;
	}
	req->answered = true;
	write_head(req->conn, code, ctype, len);
	if (evbuffer_add_reference(out, body, len, unref, arg) < 0) {
		evbuffer_add(out, body, len);
		unref(body, len, arg);
	}
}

/* A streamed body is read from its source in pieces of STREAM_PIECE into
 * the output until it holds STREAM_HIGH, and again once the output drops
 * to STREAM_LOW (the write watermark): a 3 MB /status costs ~256 KB of
 * buffer, not a second copy of itself.  A piece and libevent's chain
 * header fit a 64 KB allocation (libevent rounds a chain up to a power of
 * two: 64 KB of data would take 128 KB), below malloc's mmap threshold,
 * so the memory is reused rather than faulted in anew. */
#define STREAM_PIECE (64 * 1024 - 256)
#define STREAM_HIGH (256 * 1024)
#define STREAM_LOW (64 * 1024)

void pf_httpd_stream_release(struct pf_httpd_conn *c)
{
	void (*release)(void *arg) = c->stream.release;

	if (!release)
		return;
	c->stream.release = NULL;
	c->stream_left = 0;
	release(c->stream.arg);
}

bool pf_httpd_stream_fill(struct pf_httpd_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	bool ok = true;

	while (c->stream_left > 0 && evbuffer_get_length(out) < STREAM_HIGH) {
		struct evbuffer_iovec vec;
		size_t want = c->stream_left < STREAM_PIECE ? c->stream_left : STREAM_PIECE;
		size_t got = 0;

		if (evbuffer_reserve_space(out, (ev_ssize_t)want, &vec, 1) == 1)
			got = c->stream.read(c->stream.arg, vec.iov_base,
					     want < vec.iov_len ? want : vec.iov_len);
		if (got == 0) {
			ok = false;	/* out of memory, or a source shorter than it said */
			break;
		}
		vec.iov_len = got;
		evbuffer_commit_space(out, &vec, 1);
		c->stream_left -= got;
	}
	if (c->stream_left == 0 || !ok) {
		/* all of it queued: the write callback fires again when the
		 * output is empty, which ends the answer */
		pf_httpd_stream_release(c);
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	}
	return ok;
}

void pf_httpd_reply_stream(struct pf_http_req *req, int code, const char *ctype,
			   size_t len, const struct pf_httpd_source *src)
{
	struct pf_httpd_conn *c = req->conn;

	if (req->answered) {
		src->release(src->arg);
		return;
	}
	req->answered = true;
	write_head(c, code, ctype, len);
	if (req->method == PF_HTTP_HEAD || len == 0) {
		src->release(src->arg);
		return;
	}
	c->stream = *src;
	c->stream_left = len;
	bufferevent_setwatermark(c->bev, EV_WRITE, STREAM_LOW, 0);
	if (!pf_httpd_stream_fill(c))
		c->close_after = true;	/* the client sees a short body, then EOF */
}

/* Path and query of the target, and the handler's call.  True when the
 * handler asked to be called again (the caller then holds h). */
static bool dispatch(struct pf_httpd_conn *c, struct head *h, unsigned round)
{
	struct evhttp_uri *uri = h->target[0] == '/' ? evhttp_uri_parse(h->target) : NULL;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyvalq q;
	char *decoded = path ? evhttp_uridecode(path, 0, NULL) : NULL;
	struct pf_http_req req = {
		.method = h->method, .path = decoded, .query = &q,
		.headers = &h->headers, .peer = c->peer, .conn = c,
		.round = round, .since_ms = c->held_since_ms,
		.keep = round ? c->held_keep : 0,
	};

	TAILQ_INIT(&q);
	if (round == 0) {	/* later rounds keep what an EOF meanwhile set */
		c->close_after = !h->keep_alive;
		c->http10_keep_alive = h->http10 && h->keep_alive;
	}
	if (!decoded || (query && evhttp_parse_query_str(query, &q) < 0)) {
		pf_httpd_refuse(c, 400, "malformed request URI");
	} else {
		c->srv->handler(&req, c->srv->arg);
		if (!req.answered)	/* a route that forgot: still one answer */
			pf_httpd_refuse(c, 500, "no answer");
		c->held_keep = req.keep;
	}
	evhttp_clear_headers(&q);
	free(decoded);
	if (uri)
		evhttp_uri_free(uri);
	return req.again;
}

void pf_httpd_again(struct pf_http_req *req)
{
	if (req->answered)
		return;
	req->answered = true;
	req->again = true;
}

static void head_destroy(struct head *h)
{
	if (!h)
		return;
	head_free(h);
	free(h);
}

void pf_httpd_drop_held(struct pf_httpd_conn *c)
{
	if (c->again)
		event_free(c->again);
	head_destroy(c->held);
	c->again = NULL;
	c->held = NULL;
}

static void on_again(evutil_socket_t fd, short what, void *arg);

/* Keeps h for another call of the handler on the next loop turn; the
 * connection reads nothing and counts as busy (no deadline) meanwhile. */
static void hold(struct pf_httpd_conn *c, struct head *h)
{
	struct timeval zero = { 0, 0 };

	if (!c->again)
		c->again = evtimer_new(c->srv->base, on_again, c);
	if (!c->again || evtimer_add(c->again, &zero) < 0) {
		head_destroy(h);
		pf_httpd_refuse(c, 500, "out of memory");
		return;
	}
	c->held = h;
	c->busy = true;
	bufferevent_disable(c->bev, EV_READ);
}

static void on_again(evutil_socket_t fd, short what, void *arg)
{
	struct pf_httpd_conn *c = arg;
	struct head *h = c->held;

	(void)fd;
	(void)what;
	c->held = NULL;
	c->busy = false;
	if (dispatch(c, h, ++c->held_round))
		hold(c, h);
	else
		head_destroy(h);
}

/* Takes the head off in, parsed into h; 0, 1 (incomplete) or a status. */
static int take_head(struct pf_httpd_conn *c, struct evbuffer *in,
		     struct head *h)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	const struct pf_httpd_limits *lim = &c->srv->lim;

	if (end.pos < 0)
		return evbuffer_get_length(in) > lim->max_head ? 431 : 1;
	if ((size_t)end.pos + 4 > lim->max_head)
		return 431;
	h->len = (size_t)end.pos + 4;
	if (!(h->text = malloc(h->len + 1)))
		return 500;
	evbuffer_copyout(in, h->text, h->len);
	if (memchr(h->text, '\0', h->len))
		return 400;
	h->text[h->len - 2] = '\0';	/* keeps the last header's CRLF */
	return parse_head(h, lim->max_body);
}

void pf_httpd_read(struct pf_httpd_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct head *h;
	int rc;

	if (c->busy)
		return;
	/* on the heap: a request may be held for later rounds */
	if (!(h = calloc(1, sizeof *h))) {
		pf_httpd_refuse(c, 500, "out of memory");
		return;
	}
	h->body_len = -1;
	TAILQ_INIT(&h->headers);
	rc = take_head(c, in, h);
	if (rc == 1 || (rc == 0 && evbuffer_get_length(in) <
			h->len + (size_t)(h->body_len > 0 ? h->body_len : 0))) {
		head_destroy(h);	/* more to come */
		return;
	}
	if (rc != 0) {
		head_destroy(h);
		pf_httpd_refuse(c, rc, rc == 431 ? "request head too large" :
				rc == 413 ? "request body too large" :
				rc == 501 ? "chunked bodies are not supported" :
				rc == 505 ? "HTTP version not supported" :
				"malformed request");
		return;
	}
	evbuffer_drain(in, h->len + (size_t)(h->body_len > 0 ? h->body_len : 0));
	c->held_round = 0;
	c->held_since_ms = pf_mono_ms();
	if (dispatch(c, h, 0))
		hold(c, h);
	else
		head_destroy(h);
}
