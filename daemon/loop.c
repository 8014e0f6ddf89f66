/*
 * The event loop, one turn at a time (loop.h).
 */
#include <time.h>

#include <event2/event.h>

#include "loop.h"

const double pf_loop_bucket_le[PF_LOOP_BUCKETS] = {
	0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25,
};

/* This thread's CPU time: waiting in epoll_wait costs none, so the time
 * between two readings is the turn's work (and a little of the wait
 * syscall's), not its wall time, which another process could stretch. */
static double thread_cpu_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pf_loop_record(struct pf_loop_stats *st, double cpu_s)
{
	if (cpu_s < 0)
		cpu_s = 0;
	for (int b = 0; b < PF_LOOP_BUCKETS; b++) {
		if (cpu_s <= pf_loop_bucket_le[b]) {
			st->bucket[b]++;
			break;
		}
	}
	st->turns++;
	st->sum_s += cpu_s;
	if (cpu_s > st->max_s)
		st->max_s = cpu_s;
}

int pf_loop_run(struct event_base *base, struct pf_loop_stats *st)
{
	double before = thread_cpu_s();

	for (;;) {
		/* EVLOOP_ONCE: wait, then run what became active (and what
		 * that activated) before returning */
		int rc = event_base_loop(base, EVLOOP_ONCE);
		double after = thread_cpu_s();

		pf_loop_record(st, after - before);
		before = after;
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		if (event_base_got_exit(base) || event_base_got_break(base))
			return 0;
	}
}
