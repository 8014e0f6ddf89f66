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

struct event;
struct pf_daemon;

struct check_state {
	enum pf_status status;		/* what /status shows */
	unsigned consecutive_failures;
	unsigned consecutive_successes;
	uint64_t runs;			/* probes completed */
	uint64_t failures[PF_REASON_COUNT];	/* failed probes per reason */
	struct pf_result last;		/* last probe's result; last.details owned here */
	bool has_run;
	struct timespec last_run;	/* wall clock of the last completed probe */
	bool has_success;
	struct timespec last_success;	/* wall clock of the last passing probe */
	double last_run_mono_ms;	/* monotonic, for the stale rule */
	double duration_ms;		/* of the last probe */
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
 * younger than 2 x interval + timeout (SPEC §6). */
bool pf_state_fresh(const struct check_state *st,
		    const struct pf_check_cfg *cfg, double now_mono_ms);

/* The hint shown for the last result: the check's `hints` override, else
 * the kind's own hint in the result, else the built-in hint for the
 * reason.  NULL while passing. */
const char *pf_state_hint(const struct check_state *st,
			  const struct pf_check_cfg *cfg);

/* Built-in remediation for a reason (daemon/hints.c). */
const char *pf_hint_builtin(enum pf_reason r);

struct check {
	struct pf_check_cfg *cfg;	/* borrowed from the daemon's config */
	struct pf_daemon *daemon;	/* back pointer for event callbacks */
	struct check_state state;
	void *probe;			/* in-flight probe handle, or NULL */
	double probe_started_mono_ms;
	struct event *tick;		/* fires the next probe */
	struct event *backstop;		/* cancels a probe that never reported */
	bool run_queued;		/* POST /run while a probe was in flight */
};

#endif
