/*
 * A check at run time: its config (borrowed from the daemon's pf_config),
 * its state machine and its scheduling.  SPEC §4.
 *
 * The state machine (state.c) is pure: no I/O and no clock reads; callers
 * pass the times in, so tests drive it directly.
 */
#ifndef PF_DAEMON_CHECK_H
#define PF_DAEMON_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "pf_check.h"
#include "slots.h"

struct event;
struct pf_engine;
struct pf_probe;
struct pf_history;

/* What the state keeps of the last result: what /status shows.  The hint
 * was chosen when the probe ended, so its cause and vars (1.4 KB a
 * check) are not kept, and error and hint are kept at their length, not
 * in the result's 512-byte buffers: a passing check, the common case at
 * 10,000 checks, then holds no text at all (1 KB a check less). */
struct pf_last_result {
	enum pf_reason reason;
	bool warn;
	/* Never NULL: each points into text or at a constant "". */
	const char *error;
	const char *hint;
	char *text;			/* owned: "error\0hint\0", NULL when both are "" */
	struct cJSON *details;		/* owned by the state */
	double gauge[PF_GAUGE_MAX];
};

/* No reason, no text, no details, every gauge NAN.  Frees nothing: for
 * a zeroed or moved-from struct; pf_state_clear() releases. */
void pf_last_reset(struct pf_last_result *l);

/* Upper bounds (seconds) of preflight_probe_duration_seconds' buckets;
 * +Inf is the count. */
#define PF_DURATION_BUCKETS 14
extern const double pf_duration_bounds[PF_DURATION_BUCKETS];

struct check_state {
	enum pf_status status;		/* what /status shows */
	unsigned consecutive_failures;
	unsigned consecutive_successes;
	uint64_t runs;			/* probes completed */
	/* failed probes per reason: 32 bits (84 bytes a check less) wrap
	 * after 13 years of failing every 100 ms, which Prometheus reads as
	 * a counter reset */
	uint32_t failures[PF_REASON_COUNT];
	struct pf_last_result last;	/* last probe's result; last.details owned here */
	bool has_run;
	struct timespec last_run;	/* wall clock of the last completed probe */
	bool has_success;
	struct timespec last_success;	/* wall clock of the last passing probe */
	double last_run_mono_ms;	/* monotonic, for the stale rule */
	double duration_ms;		/* of the last probe */
	struct pf_history *history;	/* owned: recent runs, transitions, uptime; NULL before the first */
	/* probes per duration bucket (not cumulative) and their sum */
	uint32_t duration_buckets[PF_DURATION_BUCKETS];
	double duration_sum_s;
};

/* Applies one completed probe.  Takes res->details.  The first completed
 * probe decides the status directly; after that a passing check turns
 * failing after failure_threshold consecutive failures and back after
 * success_threshold consecutive passes.  A failing non-critical check
 * shows `warn`.  Returns true when the displayed status changed. */
bool pf_state_apply(struct check_state *st, const struct pf_check_cfg *cfg,
		    struct pf_result *res, double duration_ms,
		    const struct timespec *wall, double mono_ms);

/* Moves the state of an unchanged check across a reload (dst was empty). */
void pf_state_move(struct check_state *dst, struct check_state *src);
/* Releases what the state owns and zeroes it. */
void pf_state_clear(struct check_state *st);

/* True when the last result is recent enough to count for readiness:
 * younger than 2 x interval + timeout (SPEC §6), or than max_age for an
 * on-demand check (SPEC §3). */
bool pf_state_fresh(const struct check_state *st,
		    const struct pf_check_cfg *cfg, double now_mono_ms);
/* Monotonic time at which the last result stops counting (0: no result). */
double pf_state_fresh_until(const struct check_state *st,
			    const struct pf_check_cfg *cfg);
/* An on-demand check whose last result is older than max_age: it reads
 * `unknown` again ("stale: run it"). */
bool pf_state_stale(const struct check_state *st,
		    const struct pf_check_cfg *cfg, double now_mono_ms);
/* The status to display: the state's, or unknown when stale. */
enum pf_status pf_state_status(const struct check_state *st,
			       const struct pf_check_cfg *cfg, double now_mono_ms);

/* The hint shown for the last result: the check's `hints` override, else
 * the kind's own hint in the result, else the built-in hint for the
 * reason.  NULL while passing. */
const char *pf_state_hint(const struct check_state *st,
			  const struct pf_check_cfg *cfg);


struct check {
	struct pf_check_cfg *cfg;	/* borrowed from the daemon's config */
	struct pf_engine *engine;	/* borrowed: loop, env, log, hooks */
	struct check_state state;
	/* owned: the kind's memory across probes (ops->memory_size bytes,
	 * NULL when 0); moves with the state across a reload */
	void *memory;
	struct pf_probe *probe;		/* in-flight probe, or NULL */
	double probe_started_mono_ms;	/* 0: never started */
	uint64_t spread_ms;		/* added once after the first start (pf_sched_first) */
	struct pf_slot tick;		/* fires the next probe, on engine->slots */
	/* the start the armed tick serves, before rounding to its slot: the
	 * next one is an interval after it (no drift), lateness counts from
	 * it; 0 when nothing is planned or the tick fires "at once" */
	double plan_mono_ms;
	/* cancels a probe that never reported (timeout + 1 s after its
	 * start), on engine->slots like the tick: no libevent timer (144
	 * bytes) per check */
	struct pf_slot backstop;
	bool run_queued;		/* POST /run while a probe was in flight */
	bool run_armed;			/* tick armed by POST /run, not yet fired */
	/* monotonic start of the last probe POST /run caused (0: none):
	 * run_min_spacing counts from it, so a request right after a
	 * periodic tick still probes at once, and a flood starts one probe
	 * per spacing */
	double run_started_mono_ms;
};

#endif
