/*
 * Asynchronous name resolution with evdns, for libraries whose own
 * resolvers block (libpq, hiredis 0.14).  A numeric host is answered
 * without a query, but still on a later loop turn: the callback never runs
 * inside pf_resolve_start().
 */
#ifndef PF_RESOLVE_H
#define PF_RESOLVE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "pf_check.h"

struct event_base;
struct evdns_base;
struct pf_resolve;

/* The resolver for a loop: nameservers from $PREFLIGHT_RESOLV_CONF when set
 * (a resolv.conf; "nameserver IP:PORT" is accepted), else /etc/resolv.conf,
 * plus /etc/hosts so "localhost" resolves without a query.  A missing or
 * broken file leaves the hosts file only.  NULL when out of memory. */
struct evdns_base *pf_dns_new(struct event_base *base);

/* Called exactly once unless cancelled.  On success err is NULL and sa is
 * the first address (valid only during the call).  On failure sa is NULL
 * and err says why ("no such host db.internal", ...). */
typedef void (*pf_resolve_fn)(void *arg, const struct sockaddr *sa,
			      socklen_t salen, const char *err);

/* Returns NULL only when out of memory.  port may be 0. */
struct pf_resolve *pf_resolve_start(const struct pf_env *env, const char *host,
				    unsigned port, pf_resolve_fn cb, void *arg);

/* An IPv4 or IPv6 literal (not a name, not a scoped address) as the
 * address to connect to, port included: what pf_resolve_start answers
 * without a query.  A probe that takes this answer itself needs no
 * resolver object (it still connects on a later turn).  False otherwise. */
bool pf_resolve_literal(const char *host, unsigned port,
			struct sockaddr_storage *ss, socklen_t *len);

/* Stops a pending resolution; the callback is not called. */
void pf_resolve_cancel(struct pf_resolve *r);

#endif
