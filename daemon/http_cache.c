/*
 * Answers kept between requests (http_cache.h): reference-counted bodies,
 * so a response sends the cached bytes without copying them and a
 * re-render never pulls them from under a slow client.
 */
#include <stdlib.h>
#include <string.h>

#include "http_cache.h"
#include "pf_util.h"

void pf_http_body_unref(struct pf_http_body *b)
{
	if (b && --b->refs == 0) {
		free(b->text);
		free(b);
	}
}

/* httpd: the answer holding this body was written or dropped. */
static void on_body_sent(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	pf_http_body_unref(arg);
}

void pf_http_cache_clear(struct pf_http_cache *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++) {
		pf_http_body_unref(c[i].body);
		c[i].body = NULL;
	}
}

bool pf_http_cache_valid(const struct pf_http_cache *c, uint64_t version,
			 double now)
{
	return c->body && c->version == version &&
	       (c->expires_mono <= 0 || now < c->expires_mono);
}

bool pf_http_cache_store_len(struct pf_http_cache *c, char *text, size_t len,
			     uint64_t version)
{
	struct pf_http_body *b = text ? malloc(sizeof(*b)) : NULL;

	if (!b) {
		free(text);
		return false;
	}
	b->text = text;
	b->len = len;
	b->refs = 1;
	pf_http_body_unref(c->body);
	c->body = b;
	c->version = version;
	c->expires_mono = 0;
	c->done_mono = pf_mono_ms();
	return true;
}

bool pf_http_cache_store(struct pf_http_cache *c, char *text, uint64_t version)
{
	return pf_http_cache_store_len(c, text, text ? strlen(text) : 0, version);
}

/* A body of thousands of checks changes with every result, so a second
 * request almost never finds it current: keeping it would only double
 * what the fragments hold (/status) or keep 16 MB for nothing (/metrics
 * of 10,000 checks).  It goes once sent; the answers in flight hold it. */
void pf_http_cache_drop_if_large(struct pf_http_cache *c)
{
	if (c->body && c->body->len > PF_HTTP_KEEP_MAX) {
		pf_http_body_unref(c->body);
		c->body = NULL;
	}
}

void pf_http_send_body(struct pf_http_req *req, int code, const char *ctype,
		       struct pf_http_body *b)
{
	b->refs++;
	pf_httpd_reply_ref(req, code, ctype, b->text, b->len, on_body_sent, b);
}

