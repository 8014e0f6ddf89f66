/*
 * Unit tests of the scheduler (daemon/scheduler.c) through the engine
 * interface alone: a real event loop, a fake kind whose probes pass on
 * the next turn or hang, and an on_result hook that counts.  Covers the
 * start-up splay, periodic rhythm without drift, the backstop that cancels a probe that
 * never reports, and POST /run's spacing and coalescing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "harness.h"
#include "pf_probe.h"
#include "pf_util.h"
#include "scheduler.h"

/* ---- a fake kind ------------------------------------------------------ */

struct fake_cfg {
	bool hang;		/* the probe never reports */
	unsigned *starts;	/* counts every start */
};

static void fake_deadline(struct pf_probe *p)
{
	pf_probe_set(p, PF_REASON_TIMEOUT, "fake deadline");
}

static const struct pf_probe_class fake_class = {
	.kind = "fake", .size = sizeof(struct pf_probe), .deadline = fake_deadline,
};

static struct pf_probe *fake_start(const struct pf_start *s)
{
	const struct fake_cfg *c = s->cfg;
	struct pf_start hung = *s;
	struct pf_probe *p;

	/* a hanging probe's own deadline is an hour away: only the
	 * scheduler's backstop can end it */
	hung.timeout_ms = 3600000;
	p = pf_probe_new(&fake_class, c->hang ? &hung : s);
	(*c->starts)++;
	if (p && !c->hang)
		pf_probe_next_turn(p, pf_probe_end);
	return p;
}

static const struct check_ops fake_ops = { .kind = "fake", .start = fake_start };

/* ---- a one-check engine ----------------------------------------------- */

struct rig {
	struct pf_engine e;
	struct pf_check_cfg ccfg;
	struct fake_cfg fcfg;
	struct check c;
	unsigned starts, results, changes;
	enum pf_reason last_reason;
	char last_error[PF_ERROR_MAX];	/* a copy: the state owns its text */
};

static void on_result(void *arg, bool changed)
{
	struct rig *r = arg;

	r->results++;
	r->changes += changed;
	r->last_reason = r->c.state.last.reason;
	snprintf(r->last_error, sizeof r->last_error, "%s", r->c.state.last.error);
}

static int rig_init(struct rig *r, uint64_t interval_ms, uint64_t timeout_ms,
		    bool hang)
{
	memset(r, 0, sizeof *r);
	r->e.base = event_base_new();
	r->e.env.base = r->e.base;
	r->e.slots = r->e.base ? pf_slots_new(r->e.base, r->last_error,
					      sizeof r->last_error) : NULL;
	r->e.log.level = PF_LOG_ERROR;
	r->e.on_result = on_result;
	r->e.on_result_arg = r;
	r->fcfg.hang = hang;
	r->fcfg.starts = &r->starts;
	r->ccfg.name = "fake";
	r->ccfg.ops = &fake_ops;
	r->ccfg.kind_cfg = &r->fcfg;
	r->ccfg.interval_ms = interval_ms;
	r->ccfg.on_demand = interval_ms == 0;
	r->ccfg.timeout_ms = timeout_ms;
	r->ccfg.max_age_ms = 3600000;
	r->ccfg.run_spacing_ms = 200;
	r->ccfg.failure_threshold = r->ccfg.success_threshold = 1;
	r->ccfg.critical = true;
	return r->e.slots ? pf_sched_init(&r->e, &r->c, &r->ccfg) : -1;
}

static void rig_run(struct rig *r, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(r->e.base, &tv);
	event_base_dispatch(r->e.base);
}

static void rig_free(struct rig *r)
{
	pf_sched_free(&r->c);
	pf_slots_free(r->e.slots);
	event_base_free(r->e.base);
}

/* ---- tests ------------------------------------------------------------ */

static void periodic_rhythm(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 50, 20, false) == 0);
	pf_sched_after(&r.c, 0);
	rig_run(&r, 275);
	/* starts at 0, 50, ..., 250 ms: six, give or take the timer clock */
	PF_EXPECT(r.starts >= 5 && r.starts <= 7);
	PF_EXPECT(r.results == r.starts || r.results + 1 == r.starts);
	PF_EXPECT(r.changes == 1);	/* unknown -> pass, then steady */
	PF_EXPECT(r.e.version == r.results);
	PF_EXPECT(r.c.state.status == PF_STATUS_PASS);
	rig_free(&r);
}

/* Each start is planned an interval after the previous plan, not after
 * the previous start: late wake-ups do not add up.  (Counting from each
 * start on libevent's 4 ms clock made 168 starts of these 201.) */
static void period_does_not_drift(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 10, 5, false) == 0);
	pf_sched_after(&r.c, 0);
	rig_run(&r, 2010);
	/* starts at 0, 10, ..., 2000 ms */
	PF_EXPECT(r.starts >= 190 && r.starts <= 202);
	/* after the start "at once", the plan went on the 10 ms grid */
	PF_EXPECT(pf_slot_armed(&r.c.tick));
	PF_EXPECT(r.c.plan_mono_ms > 0);
	PF_EXPECT(r.c.plan_mono_ms == pf_slots_grid(r.c.plan_mono_ms));
	PF_EXPECT(r.c.tick.due_ms == r.c.plan_mono_ms);
	rig_free(&r);
}

/* An interval under the 10 ms grid still averages exactly: its start
 * always comes in the next slot, which is not an overrun (two starts a
 * slot for 5 ms, not one). */
static void period_under_the_grid_averages(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 5, 2, false) == 0);
	pf_sched_after(&r.c, 0);
	rig_run(&r, 1005);
	PF_EXPECT(r.starts >= 180 && r.starts <= 202);
	rig_free(&r);
}

static void backstop_cancels_a_hung_probe(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 0, 20, true) == 0);
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_ACCEPTED);
	rig_run(&r, 600);
	PF_EXPECT(r.starts == 1 && r.results == 0 && r.c.probe != NULL);
	rig_run(&r, 700);	/* timeout 20 ms + the 1 s grace */
	PF_EXPECT(r.results == 1 && r.c.probe == NULL);
	PF_EXPECT(r.last_reason == PF_REASON_INTERNAL);
	PF_EXPECT(strstr(r.last_error, "did not report within its timeout of 20 ms"));
	PF_EXPECT(r.c.state.status == PF_STATUS_FAIL);
	rig_free(&r);
}

static void run_spacing_and_coalescing(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 0, 20, false) == 0);
	/* an on-demand check: nothing runs by itself */
	rig_run(&r, 50);
	PF_EXPECT(r.starts == 0);
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_ACCEPTED);
	/* a second request before the first started joins it */
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_COALESCED);
	rig_run(&r, 30);
	PF_EXPECT(r.starts == 1 && r.results == 1);
	/* a flood inside run_min_spacing (200 ms): one more start, later */
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_ACCEPTED);
	for (int i = 0; i < 100; i++)
		PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_COALESCED);
	rig_run(&r, 100);
	PF_EXPECT(r.starts == 1);
	rig_run(&r, 200);
	PF_EXPECT(r.starts == 2 && r.results == 2);
	/* the engine stopping refuses to start anything */
	r.e.stopping = true;
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_COALESCED);
	rig_run(&r, 250);
	PF_EXPECT(r.starts == 2);
	rig_free(&r);
}

static void halt_cancels_without_a_report(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r, 0, 20, true) == 0);
	PF_EXPECT(pf_sched_run_now(&r.c) == PF_RUN_ACCEPTED);
	rig_run(&r, 20);
	PF_EXPECT(r.c.probe != NULL);
	pf_sched_halt(&r.c);	/* a reload or shutdown */
	PF_EXPECT(r.c.probe == NULL);
	rig_run(&r, 1200);
	PF_EXPECT(r.results == 0);	/* no backstop, no report */
	rig_free(&r);
}

static void splay_spreads_within_window(void)
{
	uint64_t prev = 0;

	for (size_t i = 0; i < 1000; i++) {
		uint64_t d = pf_sched_splay_ms(i, 1000, 10000);

		PF_EXPECT(d < 1000);
		PF_EXPECT(d >= prev);
		prev = d;
	}
	PF_EXPECT(pf_sched_splay_ms(0, 1000, 10000) == 0);
	PF_EXPECT(pf_sched_splay_ms(500, 1000, 10000) == 500);
	/* a few checks all start at once: /readyz within one probe */
	PF_EXPECT(pf_sched_splay_ms(63, 64, 10000) == 0);
}

/* From the second round on, check i of n starts at interval * i / n:
 * first-round splay plus the one-time spread. */
static void spread_evens_later_rounds(void)
{
	for (size_t i = 0; i < 10000; i += 37) {
		uint64_t phase = pf_sched_splay_ms(i, 10000, 10000) +
				 pf_sched_spread_ms(i, 10000, 10000);

		PF_EXPECT(phase + 1 >= (uint64_t)i && phase <= (uint64_t)i);
	}
	PF_EXPECT(pf_sched_spread_ms(5000, 10000, 10000) == 4500);
	PF_EXPECT(pf_sched_spread_ms(63, 64, 10000) == 0);
	/* an interval within the splay window needs no spread */
	PF_EXPECT(pf_sched_spread_ms(500, 1000, 800) == 0);
}

static void splay_bounded_by_short_interval(void)
{
	PF_EXPECT(pf_sched_splay_ms(999, 1000, 1000) < 1000);
	PF_EXPECT(pf_sched_splay_ms(100, 200, 200) == 100);
}

static void splay_single_and_out_of_range(void)
{
	PF_EXPECT(pf_sched_splay_ms(0, 1, 10000) == 0);
	PF_EXPECT(pf_sched_splay_ms(5, 0, 10000) == 0);
	PF_EXPECT(pf_sched_splay_ms(7, 3, 10000) == 0);
}

static void splay_is_deterministic(void)
{
	PF_EXPECT(pf_sched_splay_ms(123, 1000, 5000) == pf_sched_splay_ms(123, 1000, 5000));
}

int main(void)
{
	pf_test("splay spreads within window", splay_spreads_within_window);
	pf_test("spread evens later rounds", spread_evens_later_rounds);
	pf_test("splay bounded by short interval", splay_bounded_by_short_interval);
	pf_test("splay single and out of range", splay_single_and_out_of_range);
	pf_test("splay is deterministic", splay_is_deterministic);
	pf_test("periodic rhythm", periodic_rhythm);
	pf_test("period does not drift", period_does_not_drift);
	pf_test("an interval under the grid averages", period_under_the_grid_averages);
	pf_test("backstop cancels a hung probe", backstop_cancels_a_hung_probe);
	pf_test("POST /run spacing and coalescing", run_spacing_and_coalescing);
	pf_test("halt cancels without a report", halt_cancels_without_a_report);
	return pf_test_summary();
}
