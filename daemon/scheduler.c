/*
 * Probe scheduling: two slots on the engine's clock (slots.h) per check,
 * its tick and its backstop.  A tick starts a probe (never two at once
 * for one check) and re-arms itself one interval after the start it was
 * planned for, so neither slow probes nor a late wake-up make the
 * schedule drift.  Completed probes are recorded here into check->state.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "log.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "scheduler.h"

/* Spread of the first round of probes (SPEC §8): none for a few checks,
 * so /readyz can turn 200 within one probe's time of start; over at most
 * a second for many, so a thousand checks do not connect in one instant. */
#define SPLAY_WINDOW_MS 1000
#define SPLAY_MIN_CHECKS 64
/* The backstop fires this long after a probe's own deadline. */
#define BACKSTOP_GRACE_MS 1000
/* One-shot mode (`check --wait`) retries failing checks at most this often. */
#define ONESHOT_RETRY_MS 1000

/* Check i's share of span among n: none for a few checks. */
static uint64_t share_ms(size_t i, size_t n, uint64_t span_ms)
{
	if (n <= SPLAY_MIN_CHECKS || i >= n)
		return 0;
	return span_ms * (uint64_t)i / (uint64_t)n;
}

static uint64_t splay_window_ms(uint64_t interval_ms)
{
	return interval_ms < SPLAY_WINDOW_MS ? interval_ms : SPLAY_WINDOW_MS;
}

uint64_t pf_sched_splay_ms(size_t i, size_t n, uint64_t interval_ms)
{
	return share_ms(i, n, splay_window_ms(interval_ms));
}

uint64_t pf_sched_spread_ms(size_t i, size_t n, uint64_t interval_ms)
{
	return share_ms(i, n, interval_ms - splay_window_ms(interval_ms));
}

void pf_sched_first(struct check *c, size_t i, size_t n)
{
	uint64_t iv = c->cfg->interval_ms;

	c->spread_ms = c->engine->oneshot ? 0 : pf_sched_spread_ms(i, n, iv);
	pf_sched_after(c, c->engine->oneshot ? 0 : pf_sched_splay_ms(i, n, iv));
}

void pf_sched_at(struct check *c, double plan_ms)
{
	c->plan_mono_ms = plan_ms;
	pf_slots_arm(c->engine->slots, &c->tick, pf_slots_grid(plan_ms));
}

void pf_sched_after(struct check *c, uint64_t delay_ms)
{
	double now = pf_mono_ms();

	/* at once means at once, not at the next slot; such a start has no
	 * plan, and the one after it is put on the grid */
	if (delay_ms == 0) {
		c->plan_mono_ms = 0;
		pf_slots_arm(c->engine->slots, &c->tick, now);
		return;
	}
	pf_sched_at(c, pf_slots_grid(now + (double)delay_ms));
}

/* Delay from a probe's start to the next one: the interval; in one-shot
 * mode (`check --wait`) a quick retry, except for on-demand checks, which
 * may be paid round trips and retry at most once per run_min_spacing. */
static uint64_t next_delay_ms(const struct check *c)
{
	uint64_t iv = c->cfg->interval_ms;

	if (c->engine->oneshot)
		return c->cfg->on_demand ? c->cfg->run_spacing_ms :
		       iv > ONESHOT_RETRY_MS ? ONESHOT_RETRY_MS : iv;
	return iv;
}

/* Whether a finished probe is followed by another one on the timer. */
static bool periodic(const struct check *c)
{
	return !c->cfg->on_demand || c->engine->oneshot;
}

/* Records one result (from a probe, or made up by the scheduler). */
static void record(struct check *c, struct pf_result *res)
{
	struct pf_engine *e = c->engine;
	double now = pf_mono_ms();
	double duration = now - c->probe_started_mono_ms;
	struct timespec wall;
	enum pf_status before = c->state.status;
	bool changed;

	clock_gettime(CLOCK_REALTIME, &wall);
	/* whatever a peer echoed of a configured secret goes no further (the
	 * hint is our own text, its values never secrets) */
	pf_check_mask(c->cfg, res->error, sizeof res->error);
	pf_check_mask_json(c->cfg, res->details);
	if (pf_log_enabled(&e->log, PF_LOG_DEBUG))
		pf_log(&e->log, PF_LOG_DEBUG, c->cfg->name, pf_reason_name(res->reason),
		       duration, "probe %s: %s", res->reason == PF_REASON_NONE ?
		       "passed" : "failed", res->error);
	changed = pf_state_apply(&c->state, c->cfg, res, duration, &wall, now);
	e->version++;	/* every cached body is now out of date */
	if (changed && e->on_transition)
		e->on_transition(e->on_result_arg, (size_t)(c - e->checks), before);
	if (e->on_result)
		e->on_result(e->on_result_arg, changed);
}

/* Milliseconds until run_min_spacing since the last run POST /run
 * caused has passed. */
static uint64_t spacing_left_ms(const struct check *c)
{
	double next = c->run_started_mono_ms + (double)c->cfg->run_spacing_ms;
	double now = pf_mono_ms();

	if (c->run_started_mono_ms <= 0 || next <= now)
		return 0;
	return (uint64_t)(next - now) + 1;
}

/* After a result: a run queued by POST /run starts once the spacing
 * allows; a periodic check whose tick fired while the probe was in flight
 * runs again at once. */
static void after_result(struct check *c)
{
	if (c->engine->stopping)
		return;
	if (c->run_queued) {
		c->run_queued = false;
		c->run_armed = true;
		pf_sched_after(c, spacing_left_ms(c));
	} else if (periodic(c) && !pf_slot_armed(&c->tick)) {
		/* its tick came while the probe ran: start now, against the
		 * plan that tick served, so that the rhythm goes on unless
		 * this start is an overrun (plan_next) */
		pf_slots_arm(c->engine->slots, &c->tick, pf_mono_ms());
	}
}

/* The probe's completion callback (pf_done_fn), called once per probe. */
static void on_probe_done(void *arg, struct pf_result *res)
{
	struct check *c = arg;

	c->probe = NULL;
	pf_slots_cancel(c->engine->slots, &c->backstop);
	record(c, res);
	after_result(c);
}

/* Backstop: the probe missed its own deadline and never reported. */
static void on_backstop(void *arg)
{
	struct check *c = arg;
	struct pf_result res;

	if (!c->probe)
		return;
	pf_result_reset(&res);
	res.reason = PF_REASON_INTERNAL;
	pf_probe_cancel(c->probe);
	c->probe = NULL;
	snprintf(res.error, sizeof(res.error),
		 "the %s probe did not report within its timeout of %llu ms; cancelled",
		 c->cfg->ops->kind, (unsigned long long)c->cfg->timeout_ms);
	record(c, &res);
	after_result(c);
}

/* Plans the start after the one beginning now: an interval after the
 * start this one was planned for, so the period is exact.  Counted from
 * now, on the slot grid, when there was no plan ("at once") or the start
 * came a whole interval after its slot (an overrun); the first round's spread
 * (pf_sched_first) is added once, also on the grid. */
static void plan_next(struct check *c, double now)
{
	double iv = (double)next_delay_ms(c);
	double spread = (double)c->spread_ms;
	double base = c->plan_mono_ms;

	c->spread_ms = 0;
	if (!periodic(c)) {
		c->plan_mono_ms = 0;
		return;
	}
	/* late by a whole interval after the slot it was due in: an overrun
	 * (counted from the slot, not the plan, so an interval under the
	 * grid, whose start always comes in the next slot, keeps its plan) */
	if (base <= 0 || now - pf_slots_grid(base) >= iv)
		base = now;
	else if (spread == 0) {
		pf_sched_at(c, base + iv);
		return;
	}
	pf_sched_at(c, pf_slots_grid(base + iv + spread));
}

static void start_probe(struct check *c)
{
	struct pf_engine *e = c->engine;
	bool started_before = c->probe_started_mono_ms > 0;

	c->probe_started_mono_ms = pf_mono_ms();
	if (c->run_armed)
		c->run_started_mono_ms = c->probe_started_mono_ms;
	c->run_armed = false;
	/* For bench/: how late this start is against its plan. */
	if (started_before && periodic(c) && c->plan_mono_ms > 0 &&
	    pf_log_enabled(&e->log, PF_LOG_DEBUG))
		pf_log(&e->log, PF_LOG_DEBUG, c->cfg->name, NULL, -1,
		       "probe start lateness_ms=%.3f",
		       c->probe_started_mono_ms - c->plan_mono_ms);
	plan_next(c, c->probe_started_mono_ms);
	c->probe = c->cfg->ops->start(&(struct pf_start){
		.cfg = c->cfg->kind_cfg, .env = &e->env, .memory = c->memory,
		.timeout_ms = c->cfg->timeout_ms, .done = on_probe_done, .arg = c });
	if (!c->probe) {
		struct pf_result res;

		pf_result_reset(&res);
		res.reason = PF_REASON_INTERNAL;
		pf_strlcpy(res.error, "out of memory starting the probe", sizeof(res.error));
		record(c, &res);
		return;
	}
	pf_slots_arm(e->slots, &c->backstop, c->probe_started_mono_ms +
		     (double)(c->cfg->timeout_ms + BACKSTOP_GRACE_MS));
}

/* Tick: start a probe unless one is still running (then the probe's
 * completion starts the next one at once). */
static void on_tick(void *arg)
{
	struct check *c = arg;

	if (c->engine->stopping || c->probe)
		return;
	start_probe(c);
}

int pf_sched_init(struct pf_engine *e, struct check *c, struct pf_check_cfg *cfg)
{
	size_t msize = cfg->ops->memory_size;

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->engine = e;
	pf_last_reset(&c->state.last);
	pf_slot_init(&c->tick, on_tick, c);
	pf_slot_init(&c->backstop, on_backstop, c);
	/* two places in the heap: the tick and the backstop */
	if (pf_slots_reserve(e->slots) < 0)
		return -1;
	if (pf_slots_reserve(e->slots) < 0) {
		pf_slots_release(e->slots);
		return -1;
	}
	c->memory = msize ? calloc(1, msize) : NULL;
	if (msize && !c->memory) {
		pf_slots_release(e->slots);
		pf_slots_release(e->slots);
		c->engine = NULL;
		return -1;
	}
	return 0;
}

enum pf_run pf_sched_run_now(struct check *c)
{
	uint64_t wait;

	if (c->engine->stopping)
		return PF_RUN_COALESCED;
	/* At most one queued run: a request while one is pending joins it. */
	if (c->run_queued || c->run_armed)
		return PF_RUN_COALESCED;
	if (c->probe) {
		c->run_queued = true;	/* starts after the one in flight */
		return PF_RUN_ACCEPTED;
	}
	/* At most one start per run_min_spacing: if the periodic tick comes
	 * before the spacing would allow a start anyway, it serves this
	 * request. */
	wait = spacing_left_ms(c);
	if (pf_slot_armed(&c->tick) &&
	    c->tick.due_ms <= pf_mono_ms() + (double)wait)
		return PF_RUN_COALESCED;
	c->run_armed = true;
	pf_sched_after(c, wait);
	return PF_RUN_ACCEPTED;
}

void pf_sched_halt(struct check *c)
{
	if (c->probe) {
		pf_probe_cancel(c->probe);
		c->probe = NULL;
	}
	c->run_queued = false;
	c->run_armed = false;
	c->plan_mono_ms = 0;
	if (c->engine) {
		pf_slots_cancel(c->engine->slots, &c->tick);
		pf_slots_cancel(c->engine->slots, &c->backstop);
	}
}

void pf_sched_free(struct check *c)
{
	pf_sched_halt(c);
	if (c->engine) {
		pf_slots_release(c->engine->slots);
		pf_slots_release(c->engine->slots);
	}
	c->engine = NULL;
	free(c->memory);
	c->memory = NULL;
	pf_state_clear(&c->state);
}

void pf_sched_move_memory(struct check *dst, struct check *src)
{
	free(dst->memory);
	dst->memory = src->memory;
	src->memory = NULL;
}
