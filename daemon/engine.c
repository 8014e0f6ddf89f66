/*
 * The engine's own functions (engine.h): a view of it for rendering, and
 * the check set of a configuration, built for start-up and for reload.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "log_sink.h"
#include "pf_curl.h"
#include "pf_util.h"
#include "scheduler.h"

void pf_engine_view(const struct pf_engine *e, struct pf_view *v)
{
	memset(v, 0, sizeof(*v));
	v->cfg = e->cfg;
	v->checks = e->checks;
	v->n_checks = e->n_checks;
	v->generation = e->generation;
	v->log_dropped = pf_log_sink_dropped(e->log.sink);
	v->loop = &e->loop;
	v->notify = e->notify_stats;
	v->n_notify = e->n_notify;
	v->instance = e->instance;
	v->started_at = e->started_at;
	clock_gettime(CLOCK_REALTIME, &v->now);
	v->now_mono_ms = pf_mono_ms();
	v->stopping = e->stopping;
}

static bool needs_curl(const struct pf_config *cfg)
{
	if (cfg->notify.n > 0)
		return true;	/* notifications go through the multi handle */
	for (size_t i = 0; i < cfg->n_checks; i++)
		if (cfg->checks[i].ops->needs_curl)
			return true;
	return false;
}

/* The shared curl multi exists once any configured check needs it. */
int pf_engine_ensure_curl(struct pf_engine *e, const struct pf_config *cfg,
			  char *err, size_t errlen)
{
	if (e->curl || !needs_curl(cfg))
		return 0;
	e->curl = pf_curlm_new(e->base, err, errlen);
	e->env.curl = e->curl;
	return e->curl ? 0 : -1;
}

struct check *pf_engine_make_checks(struct pf_engine *e, struct pf_config *cfg)
{
	struct check *cs = calloc(cfg->n_checks ? cfg->n_checks : 1, sizeof(*cs));

	if (!cs)
		return NULL;
	for (size_t i = 0; i < cfg->n_checks; i++) {
		if (pf_sched_init(e, &cs[i], &cfg->checks[i]) < 0) {
			pf_engine_free_checks(cs, i);
			return NULL;
		}
	}
	return cs;
}

void pf_engine_free_checks(struct check *cs, size_t n)
{
	for (size_t i = 0; cs && i < n; i++)
		pf_sched_free(&cs[i]);
	free(cs);
}
