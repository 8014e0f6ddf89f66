/*
 * A check's recent past, in memory (SPEC §6 /status/{check}): the last
 * PF_HISTORY_RUNS probe results, the last PF_HISTORY_TRANSITIONS status
 * changes, and pass ratios over the last hour, day and week.  Pure: the
 * caller passes the time.  About 1.35 KB a check (docs/operations.md),
 * fixed once allocated; owned by the check's state, moved with it on a
 * reload.
 */
#ifndef PF_HISTORY_H
#define PF_HISTORY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pf_check.h"

struct cJSON;

#define PF_HISTORY_RUNS 100
#define PF_HISTORY_TRANSITIONS 20

/* One probe, as pf_history_run_at() hands it out (stored packed). */
struct pf_history_run {
	uint32_t t;		/* wall clock, seconds since the epoch */
	float duration_ms;
	uint8_t status;		/* enum pf_status shown after it */
	uint8_t reason;		/* enum pf_reason, 0 when it passed */
};

struct pf_history_transition {
	uint32_t t;
	uint8_t from, to;	/* enum pf_status */
	uint8_t reason;		/* the reason of the probe that changed it */
};

/* Pass and total probe counts of one time bucket. */
struct pf_history_bucket {
	uint16_t pass, total;
};

/* The runs ring as parallel arrays, 9 bytes a run instead of a padded
 * 12: status in the high 3 bits of `what`, reason in the low 5 (both
 * enums fit, checked at compile time in history.c). */
struct pf_history {
	uint32_t run_t[PF_HISTORY_RUNS];	/* ring, oldest at head when full */
	float run_ms[PF_HISTORY_RUNS];
	uint8_t run_what[PF_HISTORY_RUNS];
	unsigned n_runs, head_run;
	struct pf_history_transition trans[PF_HISTORY_TRANSITIONS];
	unsigned n_trans, head_trans;
	/* 5-minute buckets over the last hour, hourly ones over the day,
	 * 6-hour ones over the week (168 hourly ones were 464 bytes a check
	 * more, 4.6 MB at 10,000 checks, for a 7-day ratio whose window
	 * moved by the hour instead of by six); the newest bucket's number is
	 * its time divided by its length */
	struct pf_history_bucket m5[12], h1[24], h6[28];
	uint32_t m5_key, h1_key, h6_key;
};

/* Records one probe (allocating *h on the first); false when out of
 * memory (the history then stays as it was). */
bool pf_history_add(struct pf_history **h, time_t now, enum pf_status before,
		    enum pf_status after, enum pf_reason reason, bool passed,
		    double duration_ms);

/* Pass ratio over the last window_s seconds (3600, 86400, 604800) of
 * probe counts, in whole buckets: 5 minutes, an hour, 6 hours (the current
 * bucket counts from its start); NAN when no probe ran in it. */
double pf_history_uptime(const struct pf_history *h, time_t now,
			 unsigned window_s);

/* Adds "history", "transitions" and "uptime" to o (h may be NULL). */
void pf_history_json(const struct pf_history *h, time_t now, struct cJSON *o);

/* The i-th most recent run (0 = newest) into *out; false when none. */
bool pf_history_run_at(const struct pf_history *h, unsigned i,
		       struct pf_history_run *out);

#endif
