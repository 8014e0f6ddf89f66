/*
 * The shared libcurl multi handle on the libevent loop: curl tells us which
 * sockets to watch (socket callback) and when to wake it (timer callback);
 * we call curl_multi_socket_action and hand finished transfers back to
 * their owners.  Owns the multi, one timer, and one watcher per socket.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "pf_curl.h"

/* One transfer in flight.  Reached through CURLOPT_PRIVATE of its easy. */
struct curlm_xfer {
	struct pf_curlm *m;		/* back pointer, not owned */
	CURL *easy;			/* owned by the caller */
	pf_curlm_done_fn done;
	void *arg;			/* the caller's, not owned */
	struct curlm_xfer *prev, *next;
};

/* One socket curl asked us to watch.  Attached with curl_multi_assign. */
struct curlm_sock {
	struct pf_curlm *m;		/* back pointer, not owned */
	curl_socket_t fd;		/* owned by curl */
	struct event *ev;		/* owned: persistent read/write watcher */
	struct curlm_sock *prev, *next;
};

struct pf_curlm {
	struct event_base *base;	/* borrowed; must outlive us */
	CURLM *multi;			/* owned */
	struct event *timer;		/* owned: curl's one non-repeating timeout */
	struct curlm_xfer *xfers;	/* owned list of running transfers */
	struct curlm_sock *socks;	/* owned list of watched sockets */
	size_t running;
	/* owned: idle easy handles, reset, for the next transfers */
	CURL *idle[PF_CURLM_POOL];
	size_t n_idle;
};

static void drain(struct pf_curlm *m);

static void xfer_unlink(struct pf_curlm *m, struct curlm_xfer *x)
{
	if (x->prev)
		x->prev->next = x->next;
	else
		m->xfers = x->next;
	if (x->next)
		x->next->prev = x->prev;
	m->running--;
}

static void sock_free(struct pf_curlm *m, struct curlm_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		m->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	/* event_free deletes the event first: curl closes the fd after this. */
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* libevent: a watched socket is ready; let curl act on it. */
static void on_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct curlm_sock *s = arg;
	struct pf_curlm *m = s->m;	/* s may be freed during socket_action */
	int flags = 0, running = 0;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(m->multi, fd, flags, &running);
	drain(m);
}

/* libevent: curl's timeout expired. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pf_curlm *m = arg;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(m->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(m);
}

static struct curlm_sock *sock_new(struct pf_curlm *m, curl_socket_t fd)
{
	struct curlm_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->m = m;
	s->fd = fd;
	s->next = m->socks;
	if (m->socks)
		m->socks->prev = s;
	m->socks = s;
	curl_multi_assign(m->multi, fd, s);
	return s;
}

/* curl (inside socket_action, add/remove_handle or cleanup): start, change
 * or stop watching fd.  Only libevent state changes here, never curl. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
			  void *socketp)
{
	struct pf_curlm *m = userp;
	struct curlm_sock *s = socketp;
	short ev = EV_PERSIST;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(m->multi, fd, NULL);
			sock_free(m, s);
		}
		return 0;
	}
	if (!s && !(s = sock_new(m, fd)))
		return -1;
	if (what & CURL_POLL_IN)
		ev |= EV_READ;
	if (what & CURL_POLL_OUT)
		ev |= EV_WRITE;
	/* libevent corrupts itself if a pending event is re-assigned. */
	if (s->ev) {
		event_del(s->ev);
		event_assign(s->ev, m->base, fd, ev, on_sock_event, s);
	} else {
		s->ev = event_new(m->base, fd, ev, on_sock_event, s);
		if (!s->ev)
			return -1;
	}
	return event_add(s->ev, NULL) == 0 ? 0 : -1;
}

/* curl: arm (or with -1 delete) the one timer.  0 is a valid timeout that
 * fires on the next loop turn; curl must not be called from here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct pf_curlm *m = userp;
	struct timeval tv;

	(void)multi;
	if (timeout_ms < 0)
		return event_del(m->timer) == 0 ? 0 : -1;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(m->timer, &tv) == 0 ? 0 : -1;
}

static struct curlm_xfer *xfer_of(CURL *easy)
{
	char *priv = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK)
		return NULL;
	return (struct curlm_xfer *)(void *)priv;
}

/* Hands finished transfers to their owners.  Runs after curl returned, so
 * owners may free handles or start new transfers from their callback. */
static void drain(struct pf_curlm *m)
{
	CURLMsg *msg;
	int left = 0;

	while ((msg = curl_multi_info_read(m->multi, &left))) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;	/* msg dies with remove_handle */
		struct curlm_xfer *x;
		pf_curlm_done_fn done;
		void *arg;

		if (msg->msg != CURLMSG_DONE)
			continue;
		x = xfer_of(easy);
		curl_multi_remove_handle(m->multi, easy);
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		if (!x || x->m != m)
			continue;
		done = x->done;
		arg = x->arg;
		xfer_unlink(m, x);
		free(x);
		done(arg, easy, rc);
	}
}

struct pf_curlm *pf_curlm_new(struct event_base *base, char *err,
			      size_t errlen)
{
	const curl_version_info_data *vi;
	struct pf_curlm *m;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl failed to initialise");
		return NULL;
	}
	vi = curl_version_info(CURLVERSION_NOW);
	if (!(vi->features & CURL_VERSION_ASYNCHDNS)) {
		snprintf(err, errlen, "libcurl %s resolves names synchronously "
			 "(no AsynchDNS): http and chat checks would block the "
			 "loop; install a libcurl built with the threaded "
			 "resolver or c-ares", vi->version);
		curl_global_cleanup();
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m || !(m->multi = curl_multi_init()) ||
	    !(m->timer = evtimer_new(base, on_timer, m))) {
		snprintf(err, errlen, "out of memory creating the curl multi handle");
		if (m && m->multi)
			curl_multi_cleanup(m->multi);
		free(m);
		curl_global_cleanup();
		return NULL;
	}
	m->base = base;
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(m->multi, CURLMOPT_SOCKETDATA, m);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(m->multi, CURLMOPT_TIMERDATA, m);
	return m;
}

int pf_curlm_add(struct pf_curlm *m, CURL *easy, pf_curlm_done_fn done,
		 void *arg)
{
	struct curlm_xfer *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->m = m;
	x->easy = easy;
	x->done = done;
	x->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)x);
	if (curl_multi_add_handle(m->multi, easy) != CURLM_OK) {
		curl_easy_setopt(easy, CURLOPT_PRIVATE, NULL);
		free(x);
		return -1;
	}
	x->next = m->xfers;
	if (m->xfers)
		m->xfers->prev = x;
	m->xfers = x;
	m->running++;
	return 0;
}

/* Takes x's handle off the multi and forgets it, without a callback. */
static void xfer_drop(struct pf_curlm *m, struct curlm_xfer *x)
{
	curl_multi_remove_handle(m->multi, x->easy);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, NULL);
	xfer_unlink(m, x);
	free(x);
}

void pf_curlm_cancel(struct pf_curlm *m, CURL *easy)
{
	struct curlm_xfer *x;

	if (!m || !easy || !(x = xfer_of(easy)) || x->m != m)
		return;
	xfer_drop(m, x);
}

CURL *pf_curlm_get_easy(struct pf_curlm *m)
{
	if (m && m->n_idle > 0)
		return m->idle[--m->n_idle];
	return curl_easy_init();
}

/* Reset here, not on the next get: the handle must not keep pointers
 * into the finished transfer (its header list, error buffer, callbacks'
 * data), which its owner frees next. */
void pf_curlm_put_easy(struct pf_curlm *m, CURL *easy)
{
	if (!easy)
		return;
	if (!m || m->n_idle == PF_CURLM_POOL) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	m->idle[m->n_idle++] = easy;
}

size_t pf_curlm_running(const struct pf_curlm *m)
{
	return m ? m->running : 0;
}

void pf_curlm_free(struct pf_curlm *m)
{
	if (!m)
		return;
	while (m->xfers)
		xfer_drop(m, m->xfers);
	/* Cleanup may still call on_curl_socket (REMOVE) and on_curl_timer,
	 * which need m, the base and the timer alive. */
	curl_multi_cleanup(m->multi);
	while (m->n_idle > 0)
		curl_easy_cleanup(m->idle[--m->n_idle]);
	while (m->socks)
		sock_free(m, m->socks);
	event_free(m->timer);
	free(m);
	curl_global_cleanup();
}
