/*
 * Asynchronous name resolution with evdns, for libpq (whose own resolver
 * blocks) and the kinds that connect sockets themselves (tcp, redis).  A
 * numeric host is answered without a query, but still on a later loop
 * turn: the callback never runs inside pf_resolve_start().
 */
#ifndef PF_RESOLVE_H
#define PF_RESOLVE_H

#include <stdbool.h>
#include <sys/socket.h>

#include "pf_check.h"

struct event_base;
struct evdns_base;
struct pf_resolve;
struct pf_probe;

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

/* For a probe: when host is an IP literal, calls cb(arg, address) on the
 * probe's next turn, as pf_resolve_start would, but with the address kept
 * in the probe (no resolver object, no timer of its own), and returns
 * true; false for a name (then use pf_resolve_start).  The call does not
 * come once the probe has ended. */
bool pf_resolve_literal_later(struct pf_probe *p, const char *host,
			      unsigned port, pf_resolve_fn cb, void *arg);

/* Stops a pending resolution; the callback is not called. */
void pf_resolve_cancel(struct pf_resolve *r);

#endif
