/*
 * SIGHUP: reload the configuration (the file, or the environment profile
 * with its *_FILE secrets re-read).  Checks whose fingerprint did not
 * change keep their state; the others start over.  A configuration that
 * does not load leaves the running one untouched.
 *
 * Reading and validating runs on a helper thread (5,000 checks take
 * ~100 ms; a schema_dir folder more): the loaders are pure and share
 * nothing with the loop.  The thread hands the new configuration back
 * through a pipe, and only the swap runs on the loop.  struct pf_reload
 * owns the thread, the pipe and, until the swap, the new configuration.
 * The notifiers follow each configuration (pf_daemon_notifiers).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon.h"
#include "engine.h"
#include "http.h"
#include "notifier.h"
#include "notify.h"
#include "pf_curl.h"
#include "pf_util.h"
#include "scheduler.h"

struct reload_counts {
	size_t kept, added;
};

struct pf_reload {
	struct pf_daemon *d;		/* borrowed: the owner */
	pthread_t thread;
	bool running;			/* the thread is loading */
	bool again;			/* SIGHUP while loading: once more after */
	int pipe[2];			/* owned: the thread writes one byte when done */
	struct event *done;		/* owned: pipe[0] readable */
	/* the job; the thread writes them, the loop reads them after join */
	char *path;			/* owned copy of config_path, or NULL */
	struct pf_config *cfg;		/* owned until the swap */
	int rc;
	char err[1024];
};

/* The helper thread: the file, or the environment profile. */
static void *load_thread(void *arg)
{
	struct pf_reload *r = arg;

	r->rc = r->path ? pf_config_load_file(r->path, &r->cfg, r->err, sizeof r->err)
			: pf_config_from_env(&r->cfg, r->err, sizeof r->err);
	while (write(r->pipe[1], "", 1) < 0 && errno == EINTR)
		;
	return NULL;
}

/* Index of the old check that new check nc (at index i) continues, or
 * -1.  Most reloads keep the order: the same index is tried first, so
 * 5,000 checks do not cost 12 million name comparisons. */
static int find_unchanged(const struct pf_daemon *d, const struct pf_check_cfg *nc,
			  size_t i)
{
	const struct pf_config *old = d->eng.cfg;
	int j = i < old->n_checks && strcmp(old->checks[i].name, nc->name) == 0 ?
		(int)i : pf_config_find_check(old, nc->name);

	if (j < 0 || (size_t)j >= d->eng.n_checks)
		return -1;
	if (memcmp(d->eng.cfg->checks[j].fingerprint, nc->fingerprint,
		   PF_FINGERPRINT_LEN) != 0)
		return -1;
	return j;
}

/* When a kept check probes next, in monotonic ms: its plan, so its rhythm
 * goes on, or the start a POST /run is waiting for; 0 at once (a probe
 * was cut short by the reload, or it never ran); -1 never (on demand). */
static double kept_plan_ms(const struct check *old, bool was_probing)
{
	if (was_probing)
		return 0;	/* finish what the reload interrupted */
	if (old->run_armed && pf_slot_armed(&old->tick))
		return old->tick.due_ms;	/* a POST /run waiting for its spacing */
	if (old->cfg->on_demand)
		return -1;	/* on demand: no timer */
	if (!old->state.has_run)
		return 0;
	if (pf_slot_armed(&old->tick))
		return old->plan_mono_ms;	/* 0 for "at once" */
	return old->probe_started_mono_ms + (double)old->cfg->interval_ms;
}

/* Moves state from the old checks into the new array and arms the ticks. */
static void carry_over(struct pf_daemon *d, struct check *nc, size_t n,
		       struct reload_counts *rc)
{
	for (size_t i = 0; i < n; i++) {
		int j = find_unchanged(d, nc[i].cfg, i);
		struct check *old;
		double plan;
		bool probing;

		if (j < 0) {
			rc->added++;
			if (!nc[i].cfg->on_demand)
				pf_sched_first(&nc[i], i, n);
			continue;
		}
		old = &d->eng.checks[j];
		probing = old->probe != NULL;
		/* before the state moves: the plan reads it (has_run) */
		plan = kept_plan_ms(old, probing);
		/* an accepted POST /run still runs, and its spacing goes on */
		nc[i].run_armed = !probing && old->run_armed && pf_slot_armed(&old->tick);
		nc[i].run_started_mono_ms = old->run_started_mono_ms;
		/* The in-flight probe reports to the old struct check: cancel
		 * it rather than let it write into freed memory. */
		pf_sched_halt(old);
		pf_state_move(&nc[i].state, &old->state);
		pf_sched_move_memory(&nc[i], old);
		nc[i].probe_started_mono_ms = old->probe_started_mono_ms;
		rc->kept++;
		if (plan > pf_mono_ms())
			pf_sched_at(&nc[i], plan);
		else if (plan >= 0)
			pf_sched_after(&nc[i], 0);
	}
}

static void swap_in(struct pf_daemon *d, struct pf_config *cfg,
		    struct check *cs, const struct reload_counts *rc)
{
	size_t removed = d->eng.n_checks - rc->kept;

	pf_engine_free_checks(d->eng.checks, d->eng.n_checks);
	if (strcmp(cfg->listen, d->eng.cfg->listen) != 0)
		pf_log(&d->eng.log, PF_LOG_WARNING, NULL, NULL, -1,
		       "reload: listen changed to %s; it takes effect on restart",
		       cfg->listen);
	pf_config_free(d->eng.cfg);
	d->eng.cfg = cfg;
	d->eng.checks = cs;
	d->eng.n_checks = cfg->n_checks;
	d->eng.version++;
	d->eng.generation++;
	if (d->http)
		pf_http_reset(d->http);
	pf_log(&d->eng.log, PF_LOG_INFO, NULL, NULL, -1,
	       "configuration reloaded from %s: %zu checks (%zu kept, %zu new "
	       "or changed, %zu removed or changed)", cfg->source, cfg->n_checks,
	       rc->kept, rc->added, removed);
}

static void reload_failed(struct pf_daemon *d, const char *why)
{
	pf_log(&d->eng.log, PF_LOG_ERROR, NULL, "config", -1,
	       "reload failed, still running the previous configuration: %s", why);
	pf_notify_ready(d->notify, "reload failed: previous configuration kept");
}

/* On the loop, with the configuration the thread loaded. */
static void apply(struct pf_daemon *d, struct pf_config *cfg)
{
	struct reload_counts rc = { 0, 0 };
	struct check *cs;
	char err[1024];

	if (pf_engine_ensure_curl(&d->eng, cfg, err, sizeof(err)) < 0) {
		pf_config_free(cfg);
		reload_failed(d, err);
		return;
	}
	cs = pf_engine_make_checks(&d->eng, cfg);
	if (!cs) {
		pf_config_free(cfg);
		reload_failed(d, "out of memory");
		return;
	}
	carry_over(d, cs, cfg->n_checks, &rc);
	swap_in(d, cfg, cs, &rc);
	if (d->http)	/* serve mode: notifications follow the new file */
		pf_daemon_notifiers(d);
	pf_notify_ready(d->notify, "configuration reloaded");
}

static void join(struct pf_reload *r)
{
	char b;

	pthread_join(r->thread, NULL);
	r->running = false;
	while (read(r->pipe[0], &b, 1) < 0 && errno == EINTR)
		;
}

/* pipe[0] readable: the thread is done. */
static void on_loaded(evutil_socket_t fd, short what, void *arg)
{
	struct pf_reload *r = arg;
	struct pf_config *cfg;

	(void)fd;
	(void)what;
	join(r);
	cfg = r->cfg;
	r->cfg = NULL;
	if (r->d->eng.stopping)
		pf_config_free(cfg);
	else if (r->rc < 0)
		reload_failed(r->d, r->err);
	else
		apply(r->d, cfg);
	if (r->again && !r->d->eng.stopping) {
		r->again = false;
		pf_daemon_reload(r->d);
	}
}

static struct pf_reload *reload_new(struct pf_daemon *d)
{
	struct pf_reload *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->d = d;
	r->pipe[0] = r->pipe[1] = -1;
	if ((d->config_path && !(r->path = strdup(d->config_path))) ||
	    pipe2(r->pipe, O_CLOEXEC) < 0 ||
	    !(r->done = event_new(d->eng.base, r->pipe[0], EV_READ | EV_PERSIST,
				  on_loaded, r)) ||
	    event_add(r->done, NULL) < 0) {
		pf_reload_free(r);
		return NULL;
	}
	return r;
}

/* Starts the thread with every signal blocked in it: they are the
 * loop's. */
static int start(struct pf_reload *r)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&r->thread, NULL, load_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->running = rc == 0;
	return rc == 0 ? 0 : -1;
}

void pf_daemon_reload(struct pf_daemon *d)
{
	if (d->eng.stopping)
		return;
	if (!d->reload && !(d->reload = reload_new(d))) {
		reload_failed(d, "out of memory");
		return;
	}
	if (d->reload->running) {
		d->reload->again = true;	/* the file changed again meanwhile */
		return;
	}
	pf_notify_reloading(d->notify);
	d->reload->rc = -1;
	if (start(d->reload) < 0)
		reload_failed(d, "cannot start the loading thread");
}

void pf_reload_free(struct pf_reload *r)
{
	if (!r)
		return;
	if (r->running)
		join(r);	/* a load in progress finishes first */
	pf_config_free(r->cfg);
	if (r->done)
		event_free(r->done);
	if (r->pipe[0] >= 0)
		close(r->pipe[0]);
	if (r->pipe[1] >= 0)
		close(r->pipe[1]);
	free(r->path);
	free(r);
}

void pf_daemon_notifiers(struct pf_daemon *d)
{
	if (!d->notifier && d->eng.cfg->notify.n > 0)
		d->notifier = pf_notifier_new(&d->eng);
	else if (d->notifier && pf_notifier_configure(d->notifier) < 0)
		pf_log(&d->eng.log, PF_LOG_ERROR, NULL, NULL, -1,
		       "notify: out of memory configuring the notifiers");
	if (d->eng.cfg->notify.n > 0 && !d->notifier)
		pf_log(&d->eng.log, PF_LOG_ERROR, NULL, NULL, -1,
		       "notify: out of memory: no notifications will be sent");
	d->eng.notify_stats = pf_notifier_stats(d->notifier, &d->eng.n_notify);
}
