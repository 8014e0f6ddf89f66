/*
 * The probe skeleton (pf_probe.h): allocation, deadline, the one end,
 * next-turn steps, cancel and the deferred release.  Owns the two events
 * (in the probe's own allocation) and, until the report, the result's
 * details.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "pf_hint.h"
#include "pf_probe.h"
#include "pf_util.h"

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

/* Frees what the skeleton owns and the probe itself (its two events
 * live in the same allocation, after the kind's struct). */
static void release(struct pf_probe *p)
{
	event_del(p->deadline);
	event_del(p->turn);
	cJSON_Delete(p->res.details);
	free(p);
}

/* The kind's struct rounded up for the events that follow it. */
static size_t events_offset(const struct pf_probe_class *cls)
{
	return (cls->size + 15) & ~(size_t)15;
}

/* libevent: the zero-delay event; the step or the release. */
static void on_turn(evutil_socket_t fd, short what, void *arg)
{
	struct pf_probe *p = arg;
	void (*fn)(struct pf_probe *) = p->turn_fn;

	(void)fd;
	(void)what;
	p->turn_fn = NULL;
	if (p->ended)
		release(p);
	else if (fn)
		fn(p);
}

/* libevent: the hard deadline; the kind names the phase, then the end. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct pf_probe *p = arg;

	(void)fd;
	(void)what;
	if (p->ended)
		return;
	p->cls->deadline(p);
	pf_probe_end(p);
}

void *pf_probe_new(const struct pf_probe_class *cls, const struct pf_start *s)
{
	struct timeval tv = {
		.tv_sec = (time_t)(s->timeout_ms / 1000),
		.tv_usec = (suseconds_t)((s->timeout_ms % 1000) * 1000),
	};
	size_t evsize = event_get_struct_event_size();
	struct pf_probe *p = calloc(1, events_offset(cls) + 2 * evsize);

	if (!p)
		return NULL;
	p->cls = cls;
	p->env = s->env;
	p->timeout_ms = s->timeout_ms;
	p->done_cb = s->done;
	p->done_arg = s->arg;
	pf_result_reset(&p->res);
	clock_gettime(CLOCK_MONOTONIC, &p->started);
	/* one allocation instead of three a probe */
	p->deadline = (struct event *)(void *)((char *)p + events_offset(cls));
	p->turn = (struct event *)(void *)((char *)p->deadline + evsize);
	if (evtimer_assign(p->deadline, s->env->base, on_deadline, p) < 0 ||
	    evtimer_assign(p->turn, s->env->base, on_turn, p) < 0 ||
	    evtimer_add(p->deadline, &tv) < 0) {
		free(p);
		return NULL;
	}
	return p;
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

	if (p->ended)
		return;
	va_start(ap, fmt);
	probe_vset(p, reason, fmt, ap);
	va_end(ap);
}

/* A zero timeout runs on the next loop turn, after the library that
 * called us has unwound its stack. */
static void arm_turn(struct pf_probe *p)
{
	struct timeval zero = { 0, 0 };

	evtimer_add(p->turn, &zero);
}

void pf_probe_end(struct pf_probe *p)
{
	if (p->ended)
		return;
	if (p->cls->conclude)
		p->cls->conclude(p);
	pf_hint_choose(p->cls->hints, &p->res);
	p->ended = true;
	evtimer_del(p->deadline);
	p->done_cb(p->done_arg, &p->res);
	if (p->cls->teardown)
		p->cls->teardown(p);
	p->turn_fn = NULL;
	arm_turn(p);
}

void pf_probe_fail(struct pf_probe *p, enum pf_reason reason,
		   const char *fmt, ...)
{
	va_list ap;

	if (p->ended)
		return;
	va_start(ap, fmt);
	probe_vset(p, reason, fmt, ap);
	va_end(ap);
	pf_probe_end(p);
}

void pf_probe_next_turn(struct pf_probe *p, void (*fn)(struct pf_probe *p))
{
	if (p->ended)
		return;
	p->turn_fn = fn;
	arm_turn(p);
}

void pf_probe_cancel(struct pf_probe *p)
{
	if (!p || p->ended)
		return;
	p->ended = true;
	if (p->cls->teardown)
		p->cls->teardown(p);
	release(p);
}

double pf_probe_elapsed_ms(const struct pf_probe *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return pf_ms_between(&p->started, &now);
}

double pf_probe_left_ms(const struct pf_probe *p)
{
	double left = (double)p->timeout_ms - pf_probe_elapsed_ms(p);

	return left > 0 ? left : 0;
}
