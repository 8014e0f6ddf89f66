/*
 * The HTTP surface (SPEC §6) on evhttp: routing, cached rendered bodies
 * (re-rendered only when a result changed, or for /readyz when a result
 * went stale), and the server limits (connection cap, header and body
 * size caps, read timeout).
 */
#ifndef PF_HTTP_H
#define PF_HTTP_H

#include <stddef.h>

struct pf_engine;
struct pf_http;

#define PF_HTTP_MAX_CONNECTIONS 512
#define PF_HTTP_MAX_HEADERS 8192
#define PF_HTTP_MAX_BODY 65536
#define PF_HTTP_READ_TIMEOUT_S 5
/* Out of descriptors, accepting pauses until the next tick of this period. */
#define PF_HTTP_ACCEPT_TICK_MS 250

/* Binds "host:port" and starts serving d.  NULL with err filled when the
 * address is malformed, in use or out of memory. */
struct pf_http *pf_http_new(struct pf_engine *e, const char *listen,
			    char *err, size_t errlen);

/* Drops the cached bodies after a reload (the check list changed). */
void pf_http_reset(struct pf_http *h);

/* Open client connections (tests and logs). */
size_t pf_http_connections(const struct pf_http *h);

/* Stops accepting; in-flight requests are dropped.  NULL is ignored. */
void pf_http_free(struct pf_http *h);

#endif
