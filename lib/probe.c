/*
 * Shared probe plumbing (see pf_probe.h): the deadline timer, the
 * idempotent completion funnel and the deferred-release event.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_probe.h"
#include "pf_util.h"

int pf_probe_init(struct pf_probe *p, const struct pf_env *env,
		  uint64_t timeout_ms,
		  void (*on_deadline)(int, short, void *),
		  void (*on_reap)(int, short, void *), void *self,
		  pf_done_fn done, void *arg)
{
	struct timeval tv = {
		.tv_sec = (time_t)(timeout_ms / 1000),
		.tv_usec = (suseconds_t)((timeout_ms % 1000) * 1000),
	};

	p->deadline = evtimer_new(env->base, on_deadline, self);
	p->reap = evtimer_new(env->base, on_reap, self);
	if (!p->deadline || !p->reap || evtimer_add(p->deadline, &tv) < 0) {
		if (p->deadline)
			event_free(p->deadline);
		if (p->reap)
			event_free(p->reap);
		p->deadline = p->reap = NULL;
		return -1;
	}
	p->done_cb = done;
	p->done_arg = arg;
	p->done = false;
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	pf_result_reset(&p->res);
	return 0;
}

void pf_result_reset(struct pf_result *r)
{
	r->reason = PF_REASON_NONE;
	r->warn = false;
	r->error[0] = '\0';
	r->hint[0] = '\0';
	r->details = NULL;
	for (int i = 0; i < PF_GAUGE_MAX; i++)
		r->gauge[i] = NAN;
}

__attribute__((format(printf, 3, 0)))
static void probe_vset(struct pf_probe *p, enum pf_reason reason,
		       const char *fmt, va_list ap)
{
	p->res.reason = reason;
	vsnprintf(p->res.error, sizeof(p->res.error), fmt, ap);
}

void pf_probe_set(struct pf_probe *p, enum pf_reason reason,
		  const char *fmt, ...)
{
	va_list ap;

	if (p->done)
		return;
	va_start(ap, fmt);
	probe_vset(p, reason, fmt, ap);
	va_end(ap);
}

bool pf_probe_finish(struct pf_probe *p)
{
	if (p->done)
		return false;
	p->done = true;
	if (p->deadline)
		evtimer_del(p->deadline);
	p->done_cb(p->done_arg, &p->res);
	return true;
}

bool pf_probe_fail(struct pf_probe *p, enum pf_reason reason,
		   const char *fmt, ...)
{
	va_list ap;

	if (p->done)
		return false;
	va_start(ap, fmt);
	probe_vset(p, reason, fmt, ap);
	va_end(ap);
	return pf_probe_finish(p);
}

void pf_probe_reap(struct pf_probe *p)
{
	/* A zero timeout runs on the next loop turn, after the library that
	 * called us has unwound its stack. */
	struct timeval zero = { 0, 0 };

	if (p->reap)
		evtimer_add(p->reap, &zero);
}

void pf_probe_release(struct pf_probe *p)
{
	if (p->deadline)
		event_free(p->deadline);
	if (p->reap)
		event_free(p->reap);
	p->deadline = p->reap = NULL;
	cJSON_Delete(p->res.details);
	p->res.details = NULL;
}

double pf_probe_elapsed_ms(const struct pf_probe *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return pf_ms_between(&p->started, &now);
}
