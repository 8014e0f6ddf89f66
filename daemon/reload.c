/*
 * SIGHUP: reload the configuration (the file, or the environment profile
 * with its *_FILE secrets re-read).  Checks whose fingerprint did not
 * change keep their state; the others start over.  A configuration that
 * does not load leaves the running one untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "engine.h"
#include "http.h"
#include "notify.h"
#include "pf_curl.h"
#include "pf_util.h"
#include "scheduler.h"

struct reload_counts {
	size_t kept, added;
};

static int load_config(const struct pf_daemon *d, struct pf_config **out,
		       char *err, size_t errlen)
{
	if (d->config_path)
		return pf_config_load_file(d->config_path, out, err, errlen);
	return pf_config_from_env(out, err, errlen);
}

/* Index of the old check that new check nc continues, or -1. */
static int find_unchanged(const struct pf_daemon *d, const struct pf_check_cfg *nc)
{
	int j = pf_config_find_check(d->eng.cfg, nc->name);

	if (j < 0 || (size_t)j >= d->eng.n_checks)
		return -1;
	if (strcmp(d->eng.cfg->checks[j].fingerprint, nc->fingerprint) != 0)
		return -1;
	return j;
}

/* Delay before a kept check's next probe: keep its rhythm, but probe at
 * once if a probe was cut short by the reload. */
static uint64_t kept_delay_ms(const struct check *old, bool was_probing)
{
	double due, now = pf_mono_ms();

	if (was_probing)
		return 0;	/* finish what the reload interrupted */
	if (old->cfg->on_demand)
		return UINT64_MAX;	/* on demand: no timer */
	if (!old->state.has_run)
		return 0;
	due = old->probe_started_mono_ms + (double)old->cfg->interval_ms;
	return due > now ? (uint64_t)(due - now) : 0;
}

/* Moves state from the old checks into the new array and arms the ticks. */
static void carry_over(struct pf_daemon *d, struct check *nc, size_t n,
		       struct reload_counts *rc)
{
	for (size_t i = 0; i < n; i++) {
		int j = find_unchanged(d, nc[i].cfg);
		struct check *old;
		bool probing;

		if (j < 0) {
			rc->added++;
			if (!nc[i].cfg->on_demand)
				pf_sched_after(&nc[i], pf_sched_splay_ms(i, n, nc[i].cfg->interval_ms));
			continue;
		}
		old = &d->eng.checks[j];
		probing = old->probe != NULL;
		/* The in-flight probe reports to the old struct check: cancel
		 * it rather than let it write into freed memory. */
		pf_sched_halt(old);
		pf_state_move(&nc[i].state, &old->state);
		pf_sched_move_memory(&nc[i], old);
		nc[i].probe_started_mono_ms = old->probe_started_mono_ms;
		rc->kept++;
		uint64_t delay = kept_delay_ms(old, probing);
		if (delay != UINT64_MAX)
			pf_sched_after(&nc[i], delay);
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

void pf_daemon_reload(struct pf_daemon *d)
{
	struct reload_counts rc = { 0, 0 };
	struct pf_config *cfg = NULL;
	struct check *cs;
	char err[1024];

	if (d->eng.stopping)
		return;
	pf_notify_reloading(d->notify);
	if (load_config(d, &cfg, err, sizeof(err)) < 0) {
		reload_failed(d, err);
		return;
	}
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
	pf_notify_ready(d->notify, "configuration reloaded");
}
