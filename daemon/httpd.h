/*
 * A small HTTP/1.1 server on bufferevents (httpd.c): accept, admission,
 * request heads and bodies, keep-alive, responses.  What is answered is
 * the caller's (http.c routes); what this layer guarantees is that no
 * client, however many connections it holds or however slowly it sends,
 * locks others out (SPEC §6 connection limits):
 *
 *  - a total cap and a per-address cap on connections; when one is
 *    reached the oldest idle keep-alive connection (else the oldest one
 *    still sending its request head) is closed to admit the new one;
 *  - the whole request head must arrive within head_timeout_ms of the
 *    accept (or of the previous response): slowloris is shed;
 *  - descriptors stay in reserve for the probes: the total cap is lowered
 *    to what RLIMIT_NOFILE leaves, and accepting pauses when out of them;
 *  - HEAD answers headers only, with the Content-Length a GET would have.
 *
 * Every request is answered synchronously from the handler.
 */
#ifndef PF_HTTPD_H
#define PF_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evkeyvalq;
struct pf_httpd;
struct pf_httpd_conn;
struct pf_log;

enum pf_http_method {
	PF_HTTP_GET = 1,
	PF_HTTP_HEAD = 2,
	PF_HTTP_POST = 4,
	PF_HTTP_OTHER = 8	/* PUT, DELETE, ...: routes answer 405 */
};

/* One request, valid during the handler call. */
struct pf_http_req {
	enum pf_http_method method;
	const char *path;		/* percent-decoded */
	struct evkeyvalq *query;	/* parsed ?a=b&c=d */
	struct evkeyvalq *headers;	/* the request's headers */
	const char *peer;		/* the client's numeric address */
	struct pf_httpd_conn *conn;	/* borrowed: where the answer goes */
	bool answered;
	bool again;			/* pf_httpd_again() was called */
	unsigned round;			/* 0, then 1, 2, ... for each call again */
	double since_ms;		/* pf_mono_ms() of round 0 */
	uint64_t keep;			/* the handler's own, across rounds; 0 in round 0 */
};

typedef void (*pf_httpd_handler)(struct pf_http_req *req, void *arg);
/* Called when a body passed by reference is no longer needed. */
typedef void (*pf_httpd_unref)(const void *data, size_t len, void *arg);

struct pf_httpd_limits {
	size_t max_conns;		/* total cap (lowered to fit RLIMIT_NOFILE) */
	size_t max_per_addr;		/* cap per client address */
	size_t reserve_fds;		/* descriptors left for probes and logs */
	size_t max_head;		/* request line + headers, bytes */
	size_t max_body;		/* request body, bytes */
	unsigned head_timeout_ms;	/* whole head within this of accept/last answer */
	unsigned idle_timeout_ms;	/* keep-alive connections idle longer are closed */
	unsigned write_timeout_ms;	/* a reader that takes nothing this long is dropped */
	const struct pf_log *log;	/* borrowed: where shedding is reported */
};

/* Listens on host:port.  NULL with err filled when the address cannot be
 * bound or out of memory. */
struct pf_httpd *pf_httpd_new(struct event_base *base, const char *host,
			      unsigned port, const struct pf_httpd_limits *lim,
			      pf_httpd_handler handler, void *arg, char *err,
			      size_t errlen);

/* Adds a response header (before pf_httpd_reply*). */
void pf_httpd_header(struct pf_http_req *req, const char *name,
		     const char *value);
/* Answers with a copy of body[0..len). */
void pf_httpd_reply(struct pf_http_req *req, int code, const char *ctype,
		    const char *body, size_t len);
/* Answers with body[0..len) by reference; unref(body, len, arg) runs once
 * it was sent or dropped. */
void pf_httpd_reply_ref(struct pf_http_req *req, int code, const char *ctype,
			const char *body, size_t len, pf_httpd_unref unref,
			void *arg);

/* A body made as the connection drains, for one too large to hold whole
 * (a 10,000-check /status is 3 MB): read copies up to room bytes of what
 * is left into dst and returns how many (0 only when nothing is left);
 * release runs once, when all was read or the connection closed first. */
struct pf_httpd_source {
	size_t (*read)(void *arg, char *dst, size_t room);
	void (*release)(void *arg);
	void *arg;
};
/* Answers with len bytes read from src as the client takes them: at most
 * ~256 KB of it in our buffers at a time. */
void pf_httpd_reply_stream(struct pf_http_req *req, int code, const char *ctype,
			   size_t len, const struct pf_httpd_source *src);

/* Answer later: the handler is called again with the same request on a
 * later loop turn (req->round counts), so a long job can be cut into
 * slices with other clients served between them.  The connection reads
 * nothing meanwhile and no deadline closes it; the handler must answer
 * within a bounded number of rounds. */
void pf_httpd_again(struct pf_http_req *req);

/* The effective caps, open connections, and those shed so far. */
size_t pf_httpd_max_conns(const struct pf_httpd *s);
size_t pf_httpd_connections(const struct pf_httpd *s);
unsigned long pf_httpd_shed(const struct pf_httpd *s);

/* Closes every connection and the listener.  NULL is ignored. */
void pf_httpd_free(struct pf_httpd *s);

#endif
