/*
 * Answers kept between requests by the HTTP surface (http.c): a body is
 * re-rendered only when what it shows changed.
 */
#ifndef PF_DAEMON_HTTP_CACHE_H
#define PF_DAEMON_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd.h"

/* A rendered body, shared by the cache and the responses still being
 * written: each holds a reference, the last one frees it, so a response
 * sends the cached bytes without copying them and a re-render never pulls
 * them from under a slow client. */
struct pf_http_body {
	size_t len;
	char *text;		/* owned, malloc'd by render.c */
	unsigned refs;		/* the cache's + one per response in flight */
};

struct pf_http_cache {
	struct pf_http_body *body;	/* owned, NULL when empty */
	uint64_t version;	/* daemon version it was rendered at */
	double expires_mono;	/* re-render after this (readyz); 0 = never */
	double done_mono;	/* when it was rendered */
	bool ready;		/* /readyz verdict */
};

/* /status and /metrics bodies larger than this are not kept between
 * requests (pf_http_cache_drop_if_large). */
#define PF_HTTP_KEEP_MAX (256 * 1024)

/* Drops one reference; NULL is ignored. */
void pf_http_body_unref(struct pf_http_body *b);
/* Empties n caches. */
void pf_http_cache_clear(struct pf_http_cache *c, size_t n);
/* Holds a body rendered at version and not expired at now. */
bool pf_http_cache_valid(const struct pf_http_cache *c, uint64_t version,
			 double now);
/* Takes text (malloc'd, len bytes); returns false when out of memory. */
bool pf_http_cache_store_len(struct pf_http_cache *c, char *text, size_t len,
			     uint64_t version);
/* The same for a string. */
bool pf_http_cache_store(struct pf_http_cache *c, char *text, uint64_t version);
void pf_http_cache_drop_if_large(struct pf_http_cache *c);
/* Answers with b by reference (one more reference until it is sent). */
void pf_http_send_body(struct pf_http_req *req, int code, const char *ctype,
		       struct pf_http_body *b);

#endif
