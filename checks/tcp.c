/*
 * The `tcp` check kind: resolve "host:port" with evdns, open one
 * non-blocking connection and report whether it was accepted.  Owns the
 * probe's resolver request, socket and connect event.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_check.h"
#include "pf_keys.h"
#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_sockets.h"
#include "pf_util.h"

struct tcp_cfg {
	char *address;		/* owned: "host:port" as configured */
	char host[256];
	unsigned port;
};

struct tcp_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	struct pf_resolve *resolve;	/* owned while resolving, else NULL */
	struct event *io;		/* owned: write-readiness of the connect */
	int fd;				/* owned socket, -1 when closed */
	int family;			/* to give fd back as (pf_sockets_family) */
	bool connected;			/* the handshake completed */
	char ip[64];			/* numeric address being connected to */
	char target[320];		/* "ip:port" for messages */
};

/* host:port split once, at load. */
static int tcp_check(void *cfg, const cJSON *obj, const char *path,
		     char *err, size_t errlen)
{
	struct tcp_cfg *c = cfg;

	(void)obj;
	if (pf_split_hostport(c->address, c->host, sizeof(c->host), &c->port, 0) < 0 ||
	    c->host[0] == '\0' || c->port == 0 || c->port > 65535) {
		snprintf(err, errlen, "%s.address: \"%s\" is not host:port "
			 "(for example \"db.internal:5432\" or \"[::1]:6379\")",
			 path, c->address);
		return -1;
	}
	return 0;
}

static const struct pf_key tcp_key_list[] = {
	{ .name = "address", .type = PF_KEY_STRING, .required = true,
	  .offset = offsetof(struct tcp_cfg, address),
	  .doc = "host:port to connect to (\"db.internal:5432\", \"[::1]:6379\")" },
	{ 0 }
};

static const struct pf_keys tcp_keys = {
	.name = "tcp", .keys = tcp_key_list, .size = sizeof(struct tcp_cfg),
	.check = tcp_check, .target = "address",
	.doc = "One TCP connection to a host and port: accepted or not. It is closed at once with a reset, so no TIME_WAIT socket is left behind.",
};

/* Closes what the probe holds (the skeleton frees the struct). */
static void tcp_teardown(struct pf_probe *base)
{
	struct tcp_probe *p = (struct tcp_probe *)base;

	if (p->resolve)
		pf_resolve_cancel(p->resolve);
	if (p->io)
		event_free(p->io);	/* event_free deletes a pending event first */
	/* A connection we opened only to prove it can be opened ends with a
	 * reset; the socket may serve the next probe (pf_sockets.h). */
	pf_sockets_give(p->base.env->sockets, p->fd, p->family, p->connected);
	p->resolve = NULL;
	p->io = NULL;
	p->fd = -1;
}

/* The deadline: the phase we are in names the reason. */
static void tcp_deadline(struct pf_probe *base)
{
	struct tcp_probe *p = (struct tcp_probe *)base;
	double ms = pf_probe_elapsed_ms(base);

	if (p->resolve)
		pf_probe_set(base, PF_REASON_DNS,
			     "resolving the host timed out after %.0f ms", ms);
	else
		pf_probe_set(base, PF_REASON_CONNECT_TIMEOUT,
			     "connect to %s timed out after %.0f ms (no answer to SYN)",
			     p->target, ms);
}

static const struct pf_probe_class tcp_class = {
	.kind = "tcp", .size = sizeof(struct tcp_probe),
	.deadline = tcp_deadline, .teardown = tcp_teardown,
};

/* Socket became writable: the connect finished one way or the other. */
static void tcp_on_connect(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_probe *p = arg;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	(void)what;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr != 0)
		pf_probe_set(&p->base, pf_connect_reason(soerr), "connect to %s: %s",
			     p->target, strerror(soerr));
	p->connected = soerr == 0;
	pf_probe_end(&p->base);
}

static void tcp_add_details(struct tcp_probe *p, const struct sockaddr *sa)
{
	cJSON *d = cJSON_CreateObject();

	p->base.res.aclass = (int)pf_addr_class(sa);
	if (!d)
		return;
	cJSON_AddStringToObject(d, "address", p->ip);
	cJSON_AddStringToObject(d, "address_class",
				pf_addr_class_name(pf_addr_class(sa)));
	p->base.res.details = d;
}

/* A failed connect(): the result, and -1. */
static int tcp_connect_failed(struct tcp_probe *p, int e)
{
	pf_probe_set(&p->base, pf_connect_reason(e), "connect to %s: %s",
		     p->target, strerror(e));
	return -1;
}

/* Starts the non-blocking connect: 1 when it already completed, 0 when
 * the write event will tell, -1 with the result set. */
static int tcp_connect(struct tcp_probe *p, const struct sockaddr *sa,
		       socklen_t salen)
{
	p->family = pf_sockets_family(sa);
	p->fd = pf_sockets_take(p->base.env->sockets, sa);
	if (p->fd < 0) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "socket: %s", strerror(errno));
		return -1;
	}
	switch (pf_connect_now(p->fd, sa, salen)) {
	case 1:
		p->connected = true;
		return 1;
	case -1:
		return tcp_connect_failed(p, errno);
	}
	p->io = event_new(p->base.env->base, p->fd, EV_WRITE, tcp_on_connect, p);
	if (!p->io || event_add(p->io, NULL) < 0) {
		pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory");
		return -1;
	}
	return 0;
}

/* Resolver answer (a later loop turn than pf_resolve_start). */
static void tcp_on_resolved(void *arg, const struct sockaddr *sa,
			    socklen_t salen, const char *err)
{
	struct tcp_probe *p = arg;

	p->resolve = NULL;	/* it frees itself after this call */
	if (!sa) {
		pf_probe_fail(&p->base, PF_REASON_DNS, "%s", err ? err : "no address");
		return;
	}
	pf_addr_str(sa, p->ip, sizeof(p->ip));
	snprintf(p->target, sizeof(p->target), sa->sa_family == AF_INET6 ?
		 "[%s]:%u" : "%s:%u", p->ip, pf_addr_port(sa));
	tcp_add_details(p, sa);
	if (tcp_connect(p, sa, salen) != 0)
		pf_probe_end(&p->base);
}

static struct pf_probe *tcp_start(const struct pf_start *s)
{
	const struct tcp_cfg *c = s->cfg;
	struct tcp_probe *p = pf_probe_new(&tcp_class, s);

	if (!p)
		return NULL;
	p->fd = -1;
	pf_strlcpy(p->target, c->address, sizeof(p->target));
	if (pf_resolve_literal_later(&p->base, c->host, c->port, tcp_on_resolved, p))
		return &p->base;
	p->resolve = pf_resolve_start(s->env, c->host, c->port, tcp_on_resolved, p);
	if (!p->resolve) {
		pf_probe_cancel(&p->base);
		return NULL;
	}
	return &p->base;
}

const struct check_ops pf_check_tcp = {
	.kind = "tcp", .config = &tcp_keys, .start = tcp_start,
};
