/*
 * The HTTP server's connections (httpd.h): accept with admission (total
 * and per-address caps, evicting the oldest idle connection), the head
 * and idle deadlines, the descriptor reserve, and closing.  Requests and
 * answers are httpd_msg.c.  Owns every connection and the listener.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "httpd_int.h"
#include "log.h"
#include "pf_util.h"

/* How often deadlines are checked and a paused accept is retried. */
#define SWEEP_MS 100
#define MIN_CONNS 8
#define MAX_SINGLE_WRITE (256 * 1024)
/* A sustained attack is explained by one line per this period. */
#define WARN_EVERY_MS 10000

enum { WARN_CAP, WARN_FDS };

/* Logs what admission does under pressure, at most once per period. */
static void warn(struct pf_httpd *s, int which)
{
	double now = pf_mono_ms();

	if (s->warned_ms[which] > 0 && now - s->warned_ms[which] < WARN_EVERY_MS)
		return;
	s->warned_ms[which] = now;
	if (which == WARN_CAP)
		pf_log(s->lim.log, PF_LOG_WARNING, NULL, NULL, -1, "HTTP: %zu"
		       " connections (the cap, or %zu from one address): closing"
		       " the oldest idle ones to admit new clients",
		       s->lim.max_conns, s->lim.max_per_addr);
	else
		pf_log(s->lim.log, PF_LOG_WARNING, NULL, NULL, -1, "HTTP: out of"
		       " file descriptors: pausing accept for up to %d ms at a"
		       " time", SWEEP_MS);
}

/* The sweep (deadlines, resuming a paused accept) runs only while there
 * is something to sweep: an idle daemon with no clients then has no timer
 * of its own waking it 10 times a second. */
static void arm_sweep(struct pf_httpd *s)
{
	struct timeval tick = { 0, SWEEP_MS * 1000 };

	if (!evtimer_pending(s->sweep, NULL))
		evtimer_add(s->sweep, &tick);
}

void pf_httpd_close(struct pf_httpd_conn *c)
{
	struct pf_httpd *s = c->srv;

	TAILQ_REMOVE(&s->conns, c, link);
	s->n--;
	pf_httpd_stream_release(c);	/* a body streamed only in part */
	bufferevent_free(c->bev);	/* drops unsent answers: their bodies are unref'd */
	evhttp_clear_headers(&c->out_headers);
	pf_httpd_drop_held(c);
	free(c);
}

/* Idle: between requests, nothing of the next one received yet. */
static bool idle(const struct pf_httpd_conn *c)
{
	return !c->busy && c->served > 0 &&
	       evbuffer_get_length(bufferevent_get_input(c->bev)) == 0;
}

/* The connection to close to admit a new one among those from peer (NULL:
 * any): the oldest idle keep-alive one, else the oldest one still sending
 * its head; NULL when every one is being answered. */
static struct pf_httpd_conn *victim(struct pf_httpd *s, const char *peer)
{
	struct pf_httpd_conn *c, *best_idle = NULL, *best = NULL;

	TAILQ_FOREACH(c, &s->conns, link) {
		if (c->busy || (peer && strcmp(c->peer, peer) != 0))
			continue;
		if (idle(c) && (!best_idle || c->since_ms < best_idle->since_ms))
			best_idle = c;
		if (!best || c->since_ms < best->since_ms)
			best = c;
	}
	return best_idle ? best_idle : best;
}

static size_t count_peer(const struct pf_httpd *s, const char *peer)
{
	const struct pf_httpd_conn *c;
	size_t n = 0;

	TAILQ_FOREACH(c, &s->conns, link)
		n += strcmp(c->peer, peer) == 0;
	return n;
}

/* Makes room for one more connection from peer; false when it must be
 * refused (every connection of the cap is being answered).  *evicted
 * says whether a connection was closed for it. */
static bool make_room(struct pf_httpd *s, const char *peer, bool *evicted)
{
	struct pf_httpd_conn *v;

	*evicted = false;
	if (count_peer(s, peer) >= s->lim.max_per_addr) {
		warn(s, WARN_CAP);
		if (!(v = victim(s, peer)))
			return false;
		s->shed++;
		pf_httpd_close(v);
		*evicted = true;
	}
	if (s->n >= s->lim.max_conns) {
		warn(s, WARN_CAP);
		if (!(v = victim(s, NULL)))
			return false;
		s->shed++;
		pf_httpd_close(v);
		*evicted = true;
	}
	return true;
}

/* libevent closes a freed connection's descriptor only in a finalizer
 * that runs after the current callback: the listener, accepting a burst
 * until EAGAIN, would hold every evicted descriptor at once and run out
 * of them (then pause for a sweep, 100 ms) long before the cap.  After
 * an eviction the listener waits one loop turn, so at most one closed
 * descriptor is pending at a time. */
static void yield_accept(struct pf_httpd *s)
{
	static const struct timeval now = { 0, 0 };

	if (s->yielding)
		return;
	evconnlistener_disable(s->lev);
	s->yielding = true;
	evtimer_add(s->resume, &now);
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct pf_httpd *s = arg;

	(void)fd;
	(void)what;
	s->yielding = false;
	if (!s->paused)
		evconnlistener_enable(s->lev);
}

static void peer_name(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6 ?
		(const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr :
		(const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)len))
		pf_strlcpy(buf, "?", len);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pf_httpd_read(arg);
}

/* The answer was written (or, while a body streams, the output drained
 * to its low watermark): read the next request, or close. */
static void on_written(struct bufferevent *bev, void *arg)
{
	struct pf_httpd_conn *c = arg;

	(void)bev;
	if (!c->busy)
		return;
	if (c->stream.release) {	/* a streamed body with more to come */
		if (pf_httpd_stream_fill(c))
			return;
		/* its source failed (out of memory): the client gets a short
		 * body, then EOF; with nothing left to write, no callback
		 * would come to close it */
		c->close_after = true;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			pf_httpd_close(c);
		return;
	}
	c->busy = false;
	c->served++;
	c->since_ms = pf_mono_ms();
	if (c->close_after) {
		pf_httpd_close(c);
		return;
	}
	bufferevent_enable(c->bev, EV_READ);
	pf_httpd_read(c);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct pf_httpd_conn *c = arg;

	(void)bev;
	/* the peer finished sending: the answer being written still goes */
	if ((what & BEV_EVENT_EOF) && c->busy && !(what & BEV_EVENT_ERROR)) {
		c->close_after = true;
		return;
	}
	pf_httpd_close(c);	/* error, EOF between requests, write timeout */
}

/* Without TCP_NODELAY, the tail segment of a large body waits for the
 * client's delayed ACK, 40 ms on Linux, on every keep-alive request after
 * the first.  nginx sets it too. */
static void set_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Stops accepting when this connection took the last spare descriptor:
 * the probes need theirs, and accept() would fail in a loop. */
static void watch_descriptors(struct pf_httpd *s)
{
	int spare = fcntl(evconnlistener_get_fd(s->lev), F_DUPFD_CLOEXEC, 0);

	if (spare >= 0) {
		close(spare);
		return;
	}
	evconnlistener_disable(s->lev);
	s->paused = true;
	arm_sweep(s);
	warn(s, WARN_FDS);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct pf_httpd *s = arg;
	struct timeval wt = { s->lim.write_timeout_ms / 1000,
			      (s->lim.write_timeout_ms % 1000) * 1000 };
	struct pf_httpd_conn *c;
	bool evicted;
	char peer[64];

	(void)lev;
	(void)salen;
	peer_name(sa, peer, sizeof peer);
	if (!make_room(s, peer, &evicted) || !(c = calloc(1, sizeof *c))) {
		s->shed++;
		evutil_closesocket(fd);
		return;
	}
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		free(c);
		evutil_closesocket(fd);
		return;
	}
	c->srv = s;
	pf_strlcpy(c->peer, peer, sizeof c->peer);
	c->since_ms = pf_mono_ms();
	TAILQ_INIT(&c->out_headers);
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	arm_sweep(s);
	s->n++;
	set_nodelay(fd);
	bufferevent_setcb(c->bev, on_read, on_written, on_event, c);
	bufferevent_set_timeouts(c->bev, NULL, &wt);
	/* A 3 MB /status (10,000 checks) in one writev holds the loop for
	 * the whole loopback transfer, ~5 ms: in slices, other clients and
	 * probe events run between them. */
	bufferevent_set_max_single_write(c->bev, MAX_SINGLE_WRITE);
	bufferevent_enable(c->bev, EV_READ);
	if (evicted)
		yield_accept(s);
	watch_descriptors(s);
}

/* accept() failed: out of descriptors or memory.  Pause; the sweep
 * retries. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct pf_httpd *s = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		evconnlistener_disable(lev);
		s->paused = true;
		arm_sweep(s);
		warn(s, WARN_FDS);
	}
}

/* A connection past its deadline: the head not complete in time, idle
 * too long, or (busy) left to the write timeout. */
static bool expired(const struct pf_httpd *s, const struct pf_httpd_conn *c,
		    double now)
{
	if (c->busy)
		return false;
	if (idle(c))
		return now - c->since_ms > (double)s->lim.idle_timeout_ms;
	return now - c->since_ms > (double)s->lim.head_timeout_ms;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct pf_httpd *s = arg;
	struct pf_httpd_conn *c, *next;
	double now = pf_mono_ms();

	(void)fd;
	(void)what;
	for (c = TAILQ_FIRST(&s->conns); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (expired(s, c, now)) {
			s->shed++;
			pf_httpd_close(c);
		}
	}
	if (s->paused) {
		s->paused = false;
		if (!s->yielding)
			evconnlistener_enable(s->lev);
	}
	if (!TAILQ_EMPTY(&s->conns))
		arm_sweep(s);
}

/* The total cap, lowered so that the connections leave reserve_fds of
 * RLIMIT_NOFILE to the probes (a process-wide budget: one per socket),
 * but never below MIN_CONNS: with the budget that tight (10,000 checks
 * under a 20,000 limit) one connection would evict the next, and an
 * operator could not read /status beside a probe poller.  A probe that
 * then finds no descriptor fails with its reason; the log says why. */
static size_t fit_cap(const struct pf_httpd_limits *lim, bool *tight)
{
	struct rlimit rl;
	size_t cap = lim->max_conns;
	size_t floor = cap < MIN_CONNS ? cap : MIN_CONNS;

	*tight = false;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		size_t room = rl.rlim_cur > lim->reserve_fds + 16 ?
			(size_t)rl.rlim_cur - lim->reserve_fds - 16 : 0;

		if (room < cap)
			cap = room;
		*tight = room < floor;
	}
	return cap < floor ? (floor ? floor : 1) : cap;
}

static struct evconnlistener *bind_listener(struct pf_httpd *s,
					    const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;
	char addr[300];

	snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%u" : "%s:%u",
		 host, port);
	memset(&ss, 0, sizeof ss);
	if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &len) < 0)
		return NULL;
	return evconnlistener_new_bind(s->base, on_accept, s,
				       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
				       LEV_OPT_CLOSE_ON_EXEC, 511,
				       (struct sockaddr *)&ss, len);
}


struct pf_httpd *pf_httpd_new(struct event_base *base, const char *host,
			      unsigned port, const struct pf_httpd_limits *lim,
			      pf_httpd_handler handler, void *arg, char *err,
			      size_t errlen)
{
	struct pf_httpd *s = calloc(1, sizeof *s);
	bool tight;

	if (!s) {
		snprintf(err, errlen, "out of memory starting the HTTP server");
		return NULL;
	}
	s->base = base;
	s->lim = *lim;
	s->lim.max_conns = fit_cap(lim, &tight);
	s->handler = handler;
	s->arg = arg;
	TAILQ_INIT(&s->conns);
	s->sweep = evtimer_new(base, on_sweep, s);
	s->resume = evtimer_new(base, on_resume, s);
	s->lev = bind_listener(s, host[0] ? host : "0.0.0.0", port);
	if (!s->sweep || !s->resume || !s->lev) {
		snprintf(err, errlen, "cannot listen on %s:%u: address in use, not "
			 "local, or not permitted", host, port);
		pf_httpd_free(s);
		return NULL;
	}
	evconnlistener_set_error_cb(s->lev, on_accept_error);
	if (tight)
		pf_log(lim->log, PF_LOG_WARNING, NULL, NULL, -1, "the open file"
		       " limit (RLIMIT_NOFILE) leaves too few descriptors for the"
		       " probes and %zu HTTP connections: raise it (LimitNOFILE="
		       " under systemd, ulimit -n) to at least %zu",
		       s->lim.max_conns, lim->reserve_fds + 16 + lim->max_conns);
	return s;
}

size_t pf_httpd_max_conns(const struct pf_httpd *s)
{
	return s ? s->lim.max_conns : 0;
}

size_t pf_httpd_connections(const struct pf_httpd *s)
{
	return s ? s->n : 0;
}

unsigned long pf_httpd_shed(const struct pf_httpd *s)
{
	return s ? s->shed : 0;
}

void pf_httpd_free(struct pf_httpd *s)
{
	if (!s)
		return;
	while (!TAILQ_EMPTY(&s->conns))
		pf_httpd_close(TAILQ_FIRST(&s->conns));
	if (s->lev)
		evconnlistener_free(s->lev);
	if (s->sweep)
		event_free(s->sweep);
	if (s->resume)
		event_free(s->resume);
	free(s);
}
