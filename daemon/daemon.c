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
#include "notify.h"
#include "pf_curl.h"
#include "pf_resolve.h"
#include "pf_util.h"
#include "scheduler.h"

/* After SIGTERM, the loop keeps running this long so responses already
 * being written reach their clients; well inside SPEC's 2 s. */
#define STOP_GRACE_MS 200

static void set_instance(struct pf_daemon *d)
{
	pf_instance_name(d->instance, sizeof(d->instance));
}

static bool needs_curl(const struct pf_config *cfg)
{
	for (size_t i = 0; i < cfg->n_checks; i++)
		if (cfg->checks[i].ops->needs_curl)
			return true;
	return false;
}

/* The shared curl multi exists once any configured check needs it. */
int pf_daemon_ensure_curl(struct pf_daemon *d, const struct pf_config *cfg,
			  char *err, size_t errlen)
{
	if (d->curl || !needs_curl(cfg))
		return 0;
	d->curl = pf_curlm_new(d->base, err, errlen);
	d->env.curl = d->curl;
	return d->curl ? 0 : -1;
}

/* A check array for cfg, timers allocated and nothing armed. */
struct check *pf_daemon_make_checks(struct pf_daemon *d, struct pf_config *cfg)
{
	struct check *cs = calloc(cfg->n_checks ? cfg->n_checks : 1, sizeof(*cs));

	if (!cs)
		return NULL;
	for (size_t i = 0; i < cfg->n_checks; i++) {
		if (pf_sched_init(d, &cs[i], &cfg->checks[i]) < 0) {
			for (size_t k = 0; k < i; k++)
				pf_sched_free(&cs[k]);
			free(cs);
			return NULL;
		}
	}
	return cs;
}

static void free_checks(struct check *cs, size_t n)
{
	for (size_t i = 0; cs && i < n; i++)
		pf_sched_free(&cs[i]);
	free(cs);
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
 * descriptors, which nothing here registers.  The default coarse (4 ms)
 * timer clock is kept on purpose: the precise timer cut tick lateness p99
 * from 3.7 to 0.15 ms at 1,000 checks/s but more than doubled idle CPU, the
 * bar is 5 ms, and a sidecar pays for its CPU. */
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

int pf_daemon_init(struct pf_daemon *d, struct pf_config *cfg,
		   const char *config_path, const struct pf_log *log,
		   bool oneshot, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	d->log = *log;
	d->oneshot = oneshot;
	d->cfg = cfg;
	d->last_overall = PF_STATUS_UNKNOWN;
	clock_gettime(CLOCK_REALTIME, &d->started_at);
	set_instance(d);
	raise_fd_limit();
	d->base = new_base();
	d->dns = d->base ? pf_dns_new(d->base) : NULL;
	if (!d->base || !d->dns || (config_path && !(d->config_path = strdup(config_path)))) {
		snprintf(err, errlen, "cannot create the event loop or resolver");
		pf_daemon_free(d);
		return -1;
	}
	d->env.base = d->base;
	d->env.dns = d->dns;
	if (pf_daemon_ensure_curl(d, cfg, err, errlen) < 0) {
		pf_daemon_free(d);
		return -1;
	}
	d->checks = pf_daemon_make_checks(d, cfg);
	if (!d->checks) {
		snprintf(err, errlen, "out of memory creating %zu checks", cfg->n_checks);
		pf_daemon_free(d);
		return -1;
	}
	d->n_checks = cfg->n_checks;
	return 0;
}

void pf_daemon_schedule(struct pf_daemon *d, const bool *selected)
{
	for (size_t i = 0; i < d->n_checks; i++) {
		const struct pf_check_cfg *cfg = d->checks[i].cfg;

		if (selected ? !selected[i] : cfg->on_demand)
			continue;
		pf_sched_after(&d->checks[i], d->oneshot ? 0 :
			       pf_sched_splay_ms(i, d->n_checks, cfg->interval_ms));
	}
}

void pf_daemon_view(const struct pf_daemon *d, struct pf_view *v)
{
	memset(v, 0, sizeof(*v));
	v->cfg = d->cfg;
	v->checks = d->checks;
	v->n_checks = d->n_checks;
	v->instance = d->instance;
	v->started_at = d->started_at;
	clock_gettime(CLOCK_REALTIME, &v->now);
	v->now_mono_ms = pf_mono_ms();
	v->stopping = d->stopping;
}

/* systemd STATUS= line when the overall verdict changes. */
static void notify_overall(struct pf_daemon *d)
{
	struct pf_view v;
	enum pf_status s;
	char msg[128];

	if (!d->notify)
		return;
	pf_daemon_view(d, &v);
	s = pf_render_overall(&v, -1);
	if (s == d->last_overall)
		return;
	d->last_overall = s;
	snprintf(msg, sizeof(msg), "%s: %zu checks", pf_status_name(s), d->n_checks);
	pf_notify_status(d->notify, msg);
}

void pf_daemon_result(struct pf_daemon *d, bool status_changed)
{
	d->version++;	/* every cached body is now out of date */
	if (status_changed)
		notify_overall(d);
	if (d->on_result)
		d->on_result(d, d->on_result_arg);
}

void pf_daemon_stop(struct pf_daemon *d)
{
	struct timeval grace = { 0, STOP_GRACE_MS * 1000 };

	if (d->stopping)
		return;
	d->stopping = true;
	d->version++;		/* /readyz re-renders as 503 */
	pf_notify_stopping(d->notify);
	pf_log(&d->log, PF_LOG_INFO, NULL, NULL, -1,
	       "shutting down: not ready, probes stopped");
	for (size_t i = 0; i < d->n_checks; i++)
		pf_sched_halt(&d->checks[i]);
	if (d->watchdog)
		event_del(d->watchdog);
	event_base_loopexit(d->base, &grace);
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

	d->sig_term = evsignal_new(d->base, SIGTERM, on_stop_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, on_stop_signal, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (!d->sig_term || !d->sig_int || !d->sig_hup ||
	    evsignal_add(d->sig_term, NULL) < 0 || evsignal_add(d->sig_int, NULL) < 0 ||
	    evsignal_add(d->sig_hup, NULL) < 0)
		return -1;
	if (wd > 0) {
		d->watchdog = event_new(d->base, -1, EV_PERSIST, on_watchdog, d);
		if (!d->watchdog || event_add(d->watchdog, &tv) < 0)
			return -1;
	}
	return 0;
}

int pf_daemon_serve(struct pf_daemon *d, const char *listen)
{
	char err[512];

	d->notify = pf_notify_open();
	d->http = pf_http_new(d, listen, err, sizeof(err));
	if (!d->http) {
		pf_log(&d->log, PF_LOG_ERROR, NULL, NULL, -1, "%s", err);
		return 1;
	}
	if (install_events(d) < 0) {
		pf_log(&d->log, PF_LOG_ERROR, NULL, NULL, -1,
		       "cannot install signal handlers: out of memory");
		return 1;
	}
	pf_daemon_schedule(d, NULL);
	pf_log(&d->log, PF_LOG_INFO, NULL, NULL, -1,
	       "preflightd %s listening on %s with %zu checks from %s",
	       PF_VERSION, listen, d->n_checks, d->cfg->source);
	for (size_t i = 0; i < d->cfg->n_notes; i++)
		pf_log(&d->log, PF_LOG_INFO, NULL, NULL, -1, "%s", d->cfg->notes[i]);
	pf_notify_ready(d->notify, "starting: first probes scheduled");
	event_base_dispatch(d->base);
	pf_log(&d->log, PF_LOG_INFO, NULL, NULL, -1, "stopped");
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
	free_checks(d->checks, d->n_checks);
	d->checks = NULL;
	d->n_checks = 0;
	if (d->base) {
		/* Probes that already reported free themselves on a later
		 * turn (deferred release): give them those turns. */
		for (int i = 0; i < 4; i++)
			event_base_loop(d->base, EVLOOP_NONBLOCK);
	}
	pf_http_free(d->http);
	d->http = NULL;
	free_event(&d->sig_term);
	free_event(&d->sig_int);
	free_event(&d->sig_hup);
	free_event(&d->watchdog);
	pf_curlm_free(d->curl);
	d->curl = NULL;
	if (d->dns)
		evdns_base_free(d->dns, 1);
	if (d->base)
		event_base_free(d->base);
	d->dns = NULL;
	d->base = NULL;
	pf_config_free(d->cfg);
	d->cfg = NULL;
	pf_notify_close(d->notify);
	d->notify = NULL;
	free(d->config_path);
	d->config_path = NULL;
}
