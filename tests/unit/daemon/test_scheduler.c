/* Unit tests for the scheduler's pure part: the start-up splay. */
#include <stdlib.h>

#include "harness.h"
#include "scheduler.h"

static void splay_spreads_within_window(void)
{
	uint64_t prev = 0;

	for (size_t i = 0; i < 1000; i++) {
		uint64_t d = pf_sched_splay_ms(i, 1000, 10000);

		PF_EXPECT(d < 3000);
		PF_EXPECT(d >= prev);
		prev = d;
	}
	PF_EXPECT(pf_sched_splay_ms(0, 1000, 10000) == 0);
	PF_EXPECT(pf_sched_splay_ms(500, 1000, 10000) == 1500);
}

static void splay_bounded_by_short_interval(void)
{
	PF_EXPECT(pf_sched_splay_ms(999, 1000, 1000) < 1000);
	PF_EXPECT(pf_sched_splay_ms(1, 2, 200) == 100);
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
	pf_test("splay bounded by short interval", splay_bounded_by_short_interval);
	pf_test("splay single and out of range", splay_single_and_out_of_range);
	pf_test("splay is deterministic", splay_is_deterministic);
	return pf_test_summary();
}
