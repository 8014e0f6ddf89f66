/*
 * Unit tests of the scheduler's clock (daemon/slots.c) on a real event
 * loop: slots fire in due order, never before their time on
 * CLOCK_MONOTONIC, once; cancelling and moving work from inside a firing;
 * the heap stays ordered under many random arms and cancels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "harness.h"
#include "pf_util.h"
#include "slots.h"

#define N_SLOTS 64

struct rig {
	struct event_base *base;
	struct pf_slots *clock;
	struct pf_slot slot[N_SLOTS];
	double fired_at[N_SLOTS];	/* pf_mono_ms() when each fired; 0: never */
	unsigned fires[N_SLOTS];
	size_t order[N_SLOTS];		/* indices in firing order */
	size_t n_fired;
	/* what a firing does to another slot: -1 nothing */
	int cancel_on_fire, move_on_fire;
	double move_to_ms;
};

struct arg {
	struct rig *r;
	size_t i;
};

static struct arg args[N_SLOTS];

static void on_fire(void *p)
{
	struct arg *a = p;
	struct rig *r = a->r;

	r->fired_at[a->i] = pf_mono_ms();
	r->fires[a->i]++;
	r->order[r->n_fired++ % N_SLOTS] = a->i;
	if (r->cancel_on_fire >= 0)
		pf_slots_cancel(r->clock, &r->slot[r->cancel_on_fire]);
	if (r->move_on_fire >= 0)
		pf_slots_arm(r->clock, &r->slot[r->move_on_fire], r->move_to_ms);
	r->cancel_on_fire = r->move_on_fire = -1;
}

static int rig_init(struct rig *r)
{
	char err[256];

	memset(r, 0, sizeof *r);
	r->cancel_on_fire = r->move_on_fire = -1;
	r->base = event_base_new();
	r->clock = r->base ? pf_slots_new(r->base, err, sizeof err) : NULL;
	if (!r->clock)
		return -1;
	for (size_t i = 0; i < N_SLOTS; i++) {
		args[i] = (struct arg){ r, i };
		pf_slot_init(&r->slot[i], on_fire, &args[i]);
		if (pf_slots_reserve(r->clock) < 0)
			return -1;
	}
	return 0;
}

static void rig_run(struct rig *r, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
}

static void rig_free(struct rig *r)
{
	for (size_t i = 0; i < N_SLOTS; i++)
		pf_slots_cancel(r->clock, &r->slot[i]);
	for (size_t i = 0; i < N_SLOTS; i++)
		pf_slots_release(r->clock);
	pf_slots_free(r->clock);
	event_base_free(r->base);
}

/* ---- tests ------------------------------------------------------------ */

static void fire_in_order_and_on_time(void)
{
	struct rig r;
	double t0;

	PF_EXPECT(rig_init(&r) == 0);
	t0 = pf_mono_ms();
	/* armed out of order: 5 at +50 ms, 3 at +20, 7 at +35, 1 at +21 */
	pf_slots_arm(r.clock, &r.slot[5], t0 + 50);
	pf_slots_arm(r.clock, &r.slot[3], t0 + 20);
	pf_slots_arm(r.clock, &r.slot[7], t0 + 35);
	pf_slots_arm(r.clock, &r.slot[1], t0 + 21);
	rig_run(&r, 120);
	PF_EXPECT(r.n_fired == 4);
	PF_EXPECT(r.order[0] == 3 && r.order[1] == 1 && r.order[2] == 7 && r.order[3] == 5);
	/* never early (the timerfd is on CLOCK_MONOTONIC, as pf_mono_ms);
	 * how late is the benchmarks' business (bench/compare: lateness),
	 * a loaded CI machine under ASan can add milliseconds */
	PF_EXPECT(r.fired_at[3] >= t0 + 20 && r.fired_at[3] < t0 + 20 + 60);
	PF_EXPECT(r.fired_at[5] >= t0 + 50 && r.fired_at[5] < t0 + 50 + 60);
	for (size_t i = 0; i < N_SLOTS; i++)
		PF_EXPECT(r.fires[i] == (i == 1 || i == 3 || i == 5 || i == 7));
	PF_EXPECT(!pf_slot_armed(&r.slot[5]));
	rig_free(&r);
}

static void past_times_fire_on_the_next_turn(void)
{
	struct rig r;

	PF_EXPECT(rig_init(&r) == 0);
	pf_slots_arm(r.clock, &r.slot[0], pf_mono_ms() - 1000);
	pf_slots_arm(r.clock, &r.slot[1], pf_mono_ms());
	event_base_loop(r.base, EVLOOP_ONCE);
	PF_EXPECT(r.fires[0] == 1 && r.fires[1] == 1);
	rig_free(&r);
}

/* A crowded slot fires over several loop turns, at most 32 a turn, so
 * HTTP answers get in between; all of it within a few milliseconds. */
static void crowded_slot_spreads_over_turns(void)
{
	struct rig r;
	double due = pf_mono_ms() + 5;

	PF_EXPECT(rig_init(&r) == 0);
	for (size_t i = 0; i < N_SLOTS; i++)
		pf_slots_arm(r.clock, &r.slot[i], due);
	while (r.n_fired == 0)
		event_base_loop(r.base, EVLOOP_ONCE);
	PF_EXPECT(r.n_fired == 32);
	event_base_loop(r.base, EVLOOP_ONCE);
	PF_EXPECT(r.n_fired == 64);
	for (size_t i = 0; i < N_SLOTS; i++)
		PF_EXPECT(r.fires[i] == 1 && r.fired_at[i] < due + 50);
	rig_free(&r);
}

static void cancel_and_move_from_a_firing(void)
{
	struct rig r;
	double t0;

	PF_EXPECT(rig_init(&r) == 0);
	t0 = pf_mono_ms();
	pf_slots_arm(r.clock, &r.slot[0], t0 + 10);
	pf_slots_arm(r.clock, &r.slot[1], t0 + 10);	/* same slot as 0 */
	pf_slots_arm(r.clock, &r.slot[2], t0 + 30);
	pf_slots_arm(r.clock, &r.slot[3], t0 + 500);
	/* whichever of 0 and 1 fires first cancels 2 and pulls 3 in */
	r.cancel_on_fire = 2;
	r.move_on_fire = 3;
	r.move_to_ms = t0 + 40;
	rig_run(&r, 100);
	PF_EXPECT(r.fires[0] == 1 && r.fires[1] == 1);
	PF_EXPECT(r.fires[2] == 0);
	PF_EXPECT(r.fires[3] == 1 && r.fired_at[3] >= t0 + 40);
	/* re-arming moves, it does not add a second firing */
	pf_slots_arm(r.clock, &r.slot[4], pf_mono_ms() + 20);
	pf_slots_arm(r.clock, &r.slot[4], pf_mono_ms() + 30);
	rig_run(&r, 80);
	PF_EXPECT(r.fires[4] == 1);
	rig_free(&r);
}

/* Random arms, moves and cancels; then every armed slot fires once, in
 * due order (the heap's invariant held throughout). */
static void heap_order_under_churn(void)
{
	struct rig r;
	double t0, due[N_SLOTS];
	bool armed[N_SLOTS] = { false };
	unsigned seed = 12345;
	size_t want = 0;

	PF_EXPECT(rig_init(&r) == 0);
	t0 = pf_mono_ms() + 20;
	for (int k = 0; k < 5000; k++) {
		size_t i;

		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % N_SLOTS;
		if ((seed >> 20) % 4 == 0) {
			pf_slots_cancel(r.clock, &r.slot[i]);
			armed[i] = false;
		} else {
			due[i] = t0 + (double)((seed >> 12) % 40);
			pf_slots_arm(r.clock, &r.slot[i], due[i]);
			armed[i] = true;
		}
	}
	for (size_t i = 0; i < N_SLOTS; i++)
		want += armed[i];
	rig_run(&r, 150);
	PF_EXPECT(r.n_fired == want);
	for (size_t k = 1; k < r.n_fired && k < N_SLOTS; k++)
		PF_EXPECT(due[r.order[k - 1]] <= due[r.order[k]]);
	for (size_t i = 0; i < N_SLOTS; i++)
		PF_EXPECT(r.fires[i] == (armed[i] ? 1u : 0u));
	rig_free(&r);
}

static void grid_rounds_up_to_a_slot(void)
{
	PF_EXPECT(pf_slots_grid(0) == 0);
	PF_EXPECT(pf_slots_grid(1) == PF_SLOT_MS);
	PF_EXPECT(pf_slots_grid(PF_SLOT_MS) == PF_SLOT_MS);
	PF_EXPECT(pf_slots_grid(12345678.5) == 12345680.0);
	/* a whole-ms plan on the grid stays there after whole intervals */
	PF_EXPECT(pf_slots_grid(pf_slots_grid(98765.4) + 1000) == pf_slots_grid(98765.4) + 1000);
}

int main(void)
{
	pf_test("fire in order and on time", fire_in_order_and_on_time);
	pf_test("past times fire on the next turn", past_times_fire_on_the_next_turn);
	pf_test("crowded slot spreads over turns", crowded_slot_spreads_over_turns);
	pf_test("cancel and move from a firing", cancel_and_move_from_a_firing);
	pf_test("heap order under churn", heap_order_under_churn);
	pf_test("grid rounds up to a slot", grid_rounds_up_to_a_slot);
	return pf_test_summary();
}
