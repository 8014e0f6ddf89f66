/*
 * The daemon's context and life cycle: creating the loop and resolver,
 * building the checks from a configuration, serving, reloading on SIGHUP
 * and stopping on SIGTERM/SIGINT.  Owns everything in struct pf_daemon.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "daemon.h"
#include "http.h"
#include "notifier.h"
#include "notify.h"
#include "pf_curl.h"
#include "pf_resolve.h"
#include "pf_sockets.h"
#include "pf_util.h"
#include "scheduler.h"
#include "verdict.h"

/* After SIGTERM, the loop keeps running this long so responses already
 * being written reach their clients; well inside SPEC's 2 s. */
#define STOP_GRACE_MS 200

static void set_instance(struct pf_daemon *d)
{
	pf_instance_name(d->eng.instance, sizeof(d->eng.instance));
}

/* Every probe holds a socket and every HTTP client one more: take the hard
 * limit on descriptors rather than a soft default of 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The loop.  The epoll changelist folds the add/del pairs evhttp makes on
 * every request into one epoll_ctl per descriptor and loop turn: /status
 * throughput +12 % (docs/benchmarks.md).  It is unsafe only with dup()ed
 * descriptors, which nothing here registers.  libevent's default coarse
 * (4 ms) clock is kept for its own timers (probe deadlines): its
 * precise mode wakes the loop for every distinct deadline and costs ~45 us
 * a probe here.  Probe starts and backstops do not use it: see slots.h. */
static struct event_base *new_base(void)
{
	struct event_config *ec = event_config_new();
	struct event_base *base;

	if (!ec)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(ec);
	event_config_free(ec);
	return base;
}

static void on_result(void *arg, bool status_changed);
static void on_transition(void *arg, size_t i, enum pf_status before);

int pf_daemon_init(struct pf_daemon *d, struct pf_config *cfg,
		   const char *config_path, const struct pf_log *log,
		   bool oneshot, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->eng.log = *log;
	d->eng.oneshot = oneshot;
	d->eng.cfg = cfg;
	d->last_overall = PF_STATUS_UNKNOWN;
	clock_gettime(CLOCK_REALTIME, &d->eng.started_at);
	set_instance(d);
	raise_fd_limit();
	d->eng.on_result = on_result;
	d->eng.on_transition = on_transition;
	d->eng.on_result_arg = d;
	d->eng.generation = 1;
	d->eng.base = new_base();
	d->eng.dns = d->eng.base ? pf_dns_new(d->eng.base) : NULL;
	if (!d->eng.base || !d->eng.dns || (config_path && !(d->config_path = strdup(config_path)))) {
		snprintf(err, errlen, "cannot create the event loop or resolver");
		pf_daemon_free(d);
		return -1;
	}
	d->eng.env.base = d->eng.base;
	d->eng.env.dns = d->eng.dns;
	d->eng.sockets = pf_sockets_new();
	d->eng.env.sockets = d->eng.sockets;
	if (!d->eng.sockets) {
		snprintf(err, errlen, "out of memory");
		pf_daemon_free(d);
		return -1;
	}
	d->eng.slots = pf_slots_new(d->eng.base, err, errlen);
	if (!d->eng.slots || pf_engine_ensure_curl(&d->eng, cfg, err, errlen) < 0) {
		pf_daemon_free(d);
		return -1;
	}
	d->eng.checks = pf_engine_make_checks(&d->eng, cfg);
	if (!d->eng.checks) {
		snprintf(err, errlen, "out of memory creating %zu checks", cfg->n_checks);
		pf_daemon_free(d);
		return -1;
	}
	d->eng.n_checks = cfg->n_checks;
	return 0;
}

void pf_daemon_schedule(struct pf_daemon *d, const bool *selected)
{
	for (size_t i = 0; i < d->eng.n_checks; i++) {
		const struct pf_check_cfg *cfg = d->eng.checks[i].cfg;

		if (selected ? !selected[i] : cfg->on_demand)
			continue;
		pf_sched_first(&d->eng.checks[i], i, d->eng.n_checks);
	}
}

/* systemd STATUS= line when the overall verdict changes. */
static void notify_overall(struct pf_daemon *d)
{
	struct pf_view v;
	enum pf_status s;
	char msg[128];

	if (!d->notify)
		return;
	pf_engine_view(&d->eng, &v);
	s = pf_render_overall(&v, -1);
	if (s == d->last_overall)
		return;
	d->last_overall = s;
	snprintf(msg, sizeof(msg), "%s: %zu checks", pf_status_name(s), d->eng.n_checks);
	pf_notify_status(d->notify, msg);
}

/* The engine's on_transition: the log says why (hint, root cause), and
 * the notifiers tell people. */
static void on_transition(void *arg, size_t i, enum pf_status before)
{
	struct pf_daemon *d = arg;
	const struct check *c = &d->eng.checks[i];
	const struct check_state *st = &c->state;
	struct pf_view v;

	(void)before;
	if (st->status == PF_STATUS_PASS) {
		pf_log(&d->eng.log, PF_LOG_INFO, c->cfg->name, NULL, st->duration_ms,
		       "check %s is now pass", c->cfg->name);
	} else {
		pf_engine_view(&d->eng, &v);
		pf_log_change(&d->eng.log, PF_LOG_WARNING, c->cfg->name,
			      pf_reason_name(st->last.reason), st->duration_ms,
			      pf_state_hint(st, c->cfg), pf_caused_by(&v, i),
			      "check %s is now %s: %s", c->cfg->name,
			      pf_status_name(st->status), st->last.error);
	}
	pf_notifier_transition(d->notifier, i, before);
}

/* The engine's on_result: after every recorded result. */
static void on_result(void *arg, bool status_changed)
{
	struct pf_daemon *d = arg;

	if (status_changed)
		notify_overall(d);
	if (d->on_result)
		d->on_result(d, d->on_result_arg);
}

void pf_daemon_stop(struct pf_daemon *d)
{
	struct timeval grace = { 0, STOP_GRACE_MS * 1000 };

	if (d->eng.stopping)
		return;
	d->eng.stopping = true;
	d->eng.version++;		/* /readyz re-renders as 503 */
	pf_notify_stopping(d->notify);
	pf_log(&d->eng.log, PF_LOG_INFO, NULL, NULL, -1,
	       "shutting down: not ready, probes stopped");
	for (size_t i = 0; i < d->eng.n_checks; i++)
		pf_sched_halt(&d->eng.checks[i]);
	if (d->watchdog)
		event_del(d->watchdog);
	event_base_loopexit(d->eng.base, &grace);
}

/* Signal events (run on the loop, not in signal context). */
static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	pf_daemon_stop(arg);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	pf_daemon_reload(arg);
}

/* Loop timer: proves to systemd's watchdog that the loop turns. */
static void on_watchdog(evutil_socket_t fd, short what, void *arg)
{
	struct pf_daemon *d = arg;

	(void)fd;
	(void)what;
	pf_notify_watchdog(d->notify);
}

static int install_events(struct pf_daemon *d)
{
	uint64_t wd = pf_notify_watchdog_usec(d->notify);
	struct timeval tv = { (time_t)(wd / 1000000), (suseconds_t)(wd % 1000000) };

	d->sig_term = evsignal_new(d->eng.base, SIGTERM, on_stop_signal, d);
	d->sig_int = evsignal_new(d->eng.base, SIGINT, on_stop_signal, d);
	d->sig_hup = evsignal_new(d->eng.base, SIGHUP, on_hup, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup ||
	    evsignal_add(d->sig_term, NULL) < 0 || evsignal_add(d->sig_int, NULL) < 0 ||
	    evsignal_add(d->sig_hup, NULL) < 0)
		return -1;
	if (wd > 0) {
		d->watchdog = event_new(d->eng.base, -1, EV_PERSIST, on_watchdog, d);
		if (!d->watchdog || event_add(d->watchdog, &tv) < 0)
			return -1;
	}
	return 0;
}

int pf_daemon_serve(struct pf_daemon *d, const char *listen)
{
	char err[512];

	d->notify = pf_notify_open();
	d->http = pf_http_new(&d->eng, listen, err, sizeof(err));
	if (!d->http) {
		pf_log(&d->eng.log, PF_LOG_ERROR, NULL, NULL, -1, "%s", err);
		return 1;
	}
	if (install_events(d) < 0) {
		pf_log(&d->eng.log, PF_LOG_ERROR, NULL, NULL, -1,
		       "cannot install signal handlers: out of memory");
		return 1;
	}
	pf_daemon_notifiers(d);
	pf_daemon_schedule(d, NULL);
	pf_log(&d->eng.log, PF_LOG_INFO, NULL, NULL, -1,
	       "preflightd %s listening on %s with %zu checks from %s",
	       PF_VERSION, listen, d->eng.n_checks, d->eng.cfg->source);
	for (size_t i = 0; i < d->eng.cfg->n_notes; i++)
		pf_log(&d->eng.log, PF_LOG_INFO, NULL, NULL, -1, "%s", d->eng.cfg->notes[i]);
	pf_log(&d->eng.log, PF_LOG_DEBUG, NULL, NULL, -1, "tcp and redis probes "
	       "reuse disconnected sockets: IPv4 %s, IPv6 %s (start-up self-test)",
	       d->eng.sockets->reuse[0] ? "yes" : "no",
	       d->eng.sockets->reuse[1] ? "yes" : "no");
	pf_notify_ready(d->notify, "starting: first probes scheduled");
	pf_loop_run(d->eng.base, &d->eng.loop);
	pf_log(&d->eng.log, PF_LOG_INFO, NULL, NULL, -1, "stopped");
	return 0;
}

static void free_event(struct event **ev)
{
	if (*ev)
		event_free(*ev);
	*ev = NULL;
}

void pf_daemon_free(struct pf_daemon *d)
{
	d->eng.stopping = true;	/* no reload or probe starts during the turns below */
	pf_reload_free(d->reload);	/* before the loop: it holds an event */
	d->reload = NULL;
	pf_notifier_free(d->notifier);	/* requests on the curl multi, timers */
	d->notifier = NULL;
	/* The HTTP side goes before the checks: the loop turns below would
	 * otherwise answer requests (or pipelined ones behind a streamed
	 * body) from a view with no checks, "pass" with "checks":{}. */
	pf_http_free(d->http);
	d->http = NULL;
	pf_engine_free_checks(d->eng.checks, d->eng.n_checks);
	d->eng.checks = NULL;
	d->eng.n_checks = 0;
	if (d->eng.base) {
		/* Probes that already reported free themselves on a later
		 * turn (deferred release): give them those turns. */
		for (int i = 0; i < 4; i++)
			event_base_loop(d->eng.base, EVLOOP_NONBLOCK);
	}
	free_event(&d->sig_term);
	free_event(&d->sig_int);
	free_event(&d->sig_hup);
	free_event(&d->watchdog);
	pf_curlm_free(d->eng.curl);
	d->eng.curl = NULL;
	pf_sockets_free(d->eng.sockets);	/* after the probes gave theirs back */
	d->eng.sockets = NULL;
	d->eng.env.sockets = NULL;
	pf_slots_free(d->eng.slots);	/* after the checks: they held slots */
	d->eng.slots = NULL;
	if (d->eng.dns)
		evdns_base_free(d->eng.dns, 1);
	if (d->eng.base)
		event_base_free(d->eng.base);
	d->eng.dns = NULL;
	d->eng.base = NULL;
	pf_config_free(d->eng.cfg);
	d->eng.cfg = NULL;
	pf_notify_close(d->notify);
	d->notify = NULL;
	free(d->config_path);
	d->config_path = NULL;
}
