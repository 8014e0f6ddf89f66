/*
 * The event loop, run one turn at a time so that each turn's CPU time is
 * known: a turn is everything the daemon does between two waits, and
 * every answer and probe start waits for the turn in progress.
 * Exported as preflight_loop_turn_cpu_seconds (/metrics).
 */
#ifndef PF_LOOP_H
#define PF_LOOP_H

#include <stdint.h>

struct event_base;

#define PF_LOOP_BUCKETS 8

/* Upper bounds (seconds) of the histogram's buckets, +Inf aside. */
extern const double pf_loop_bucket_le[PF_LOOP_BUCKETS];

struct pf_loop_stats {
	uint64_t bucket[PF_LOOP_BUCKETS];	/* turns in each bucket (not cumulative) */
	uint64_t turns;				/* every turn */
	double sum_s;				/* their CPU time */
	double max_s;				/* the longest turn */
};

/* Records one turn of cpu_s seconds. */
void pf_loop_record(struct pf_loop_stats *st, double cpu_s);

/* Runs base like event_base_dispatch() (until loopexit, loopbreak or
 * nothing is left to wait for), recording every turn in st.  0, or -1
 * when the loop failed. */
int pf_loop_run(struct event_base *base, struct pf_loop_stats *st);

#endif
