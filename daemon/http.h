/*
 * The HTTP surface (SPEC §6): routing and cached rendered bodies
 * (re-rendered only when a result changed, or for /readyz when a result
 * went stale), on the server of httpd.h with these limits.
 */
#ifndef PF_HTTP_H
#define PF_HTTP_H

#include <stddef.h>

struct pf_engine;
struct pf_http;

#define PF_HTTP_MAX_CONNECTIONS 512
#define PF_HTTP_MAX_PER_ADDRESS 64
#define PF_HTTP_MAX_HEADERS 8192
#define PF_HTTP_MAX_BODY 65536
/* the whole request head within this of the accept or the last answer */
#define PF_HTTP_READ_TIMEOUT_S 5
#define PF_HTTP_IDLE_TIMEOUT_S 60
#define PF_HTTP_WRITE_TIMEOUT_S 30

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
