/*
 * Asynchronous resolution with evdns_getaddrinfo, delivered on a later loop
 * turn.  Owns the evdns request and the answer until the callback returns.
 *
 * evdns may answer inside evdns_getaddrinfo() (numeric hosts, hosts file)
 * and, after evdns_getaddrinfo_cancel(), still calls back later with
 * EVUTIL_EAI_CANCEL.  So a cancelled request whose answer is pending stays
 * allocated (with no user callback) until evdns calls back, and frees
 * itself then.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_util.h"

struct pf_resolve {
	struct evdns_getaddrinfo_request *req;	/* pending query, NULL once answered */
	struct event *deliver;			/* runs the user callback on a later turn */
	struct evutil_addrinfo *ai;		/* the answer, owned */
	struct sockaddr_storage literal;	/* the answer for an IP literal */
	socklen_t literal_len;			/* 0: none, evdns answers */
	pf_resolve_fn cb;			/* NULL once cancelled */
	void *arg;
	bool in_cancel;				/* evdns called back inside cancel */
	char host[256];
	char err[256];
};

static void resolve_free(struct pf_resolve *r)
{
	if (r->deliver)
		event_free(r->deliver);
	if (r->ai)
		evutil_freeaddrinfo(r->ai);
	free(r);
}

/* Loop turn after the answer: hand it to the user, then free. */
static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct pf_resolve *r = arg;
	pf_resolve_fn cb = r->cb;

	(void)fd;
	(void)what;
	if (r->literal_len)
		cb(r->arg, (struct sockaddr *)&r->literal, r->literal_len, NULL);
	else if (r->ai)
		cb(r->arg, r->ai->ai_addr, (socklen_t)r->ai->ai_addrlen, NULL);
	else
		cb(r->arg, NULL, 0, r->err);
	resolve_free(r);
}

/* Called by evdns, possibly inside evdns_getaddrinfo() or cancel. */
static void on_answer(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct pf_resolve *r = arg;
	struct timeval zero = { 0, 0 };

	r->req = NULL;
	if (!r->cb) {
		if (ai)
			evutil_freeaddrinfo(ai);
		if (!r->in_cancel)
			resolve_free(r);
		return;
	}
	if (result == 0 && ai) {
		r->ai = ai;
	} else {
		if (ai)
			evutil_freeaddrinfo(ai);
		snprintf(r->err, sizeof(r->err), "cannot resolve %s: %s",
			 r->host, evutil_gai_strerror(result));
	}
	evtimer_add(r->deliver, &zero);
}

/* An IPv4 or IPv6 literal needs no resolver: evdns would parse it with
 * sscanf and allocate an answer on every probe (a few % of a tcp probe's
 * CPU).  False for names and scoped addresses (fe80::1%eth0). */
static bool parse_literal(const char *host, unsigned port,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	*len = 0;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof *in4;
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof *in6;
	}
	return *len != 0;
}

static void on_literal_turn(struct pf_probe *p)
{
	p->literal_cb(p->literal_arg, (const struct sockaddr *)&p->literal,
		      p->literal_len, NULL);
}

bool pf_resolve_literal_later(struct pf_probe *p, const char *host,
			      unsigned port, pf_resolve_fn cb, void *arg)
{
	if (!parse_literal(host, port, &p->literal, &p->literal_len))
		return false;
	p->literal_cb = cb;
	p->literal_arg = arg;
	pf_probe_next_turn(p, on_literal_turn);
	return true;
}

struct pf_resolve *pf_resolve_start(const struct pf_env *env, const char *host,
				    unsigned port, pf_resolve_fn cb, void *arg)
{
	struct timeval zero = { 0, 0 };
	struct evutil_addrinfo hints;
	struct pf_resolve *r;
	char portstr[16];

	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->deliver = evtimer_new(env->base, on_deliver, r);
	if (!r->deliver) {
		free(r);
		return NULL;
	}
	r->cb = cb;
	r->arg = arg;
	pf_strlcpy(r->host, host, sizeof(r->host));
	if (parse_literal(host, port, &r->literal, &r->literal_len)) {
		evtimer_add(r->deliver, &zero);	/* still a later turn */
		return r;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	r->req = evdns_getaddrinfo(env->dns, host, portstr, &hints, on_answer, r);
	return r;
}

void pf_resolve_cancel(struct pf_resolve *r)
{
	if (!r)
		return;
	r->cb = NULL;
	if (!r->req) {
		/* Answered (delivery pending) or never queued: ours to free. */
		resolve_free(r);
		return;
	}
	r->in_cancel = true;
	evdns_getaddrinfo_cancel(r->req);
	r->in_cancel = false;
	if (!r->req)
		resolve_free(r);	/* evdns called back synchronously */
	/* else on_answer frees it when evdns reports the cancellation */
}

struct evdns_base *pf_dns_new(struct event_base *base)
{
	const char *path = getenv("PREFLIGHT_RESOLV_CONF");
	struct evdns_base *dns;

	if (path && *path) {
		/* An explicit file (tests point it at a local fake DNS server, so
		 * no query ever leaves the machine). */
		dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
		if (dns && evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL, path) != 0)
			evdns_base_load_hosts(dns, NULL);
		return dns;
	}
	dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
				   EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (dns)
		return dns;
	dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (dns)
		evdns_base_load_hosts(dns, NULL);
	return dns;
}
