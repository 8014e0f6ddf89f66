/*
 * The per-check state machine (SPEC §4): thresholds, counters, freshness
 * and which hint to show.  Pure: no I/O, no clock reads; the caller passes
 * the times in.  Owns check_state.last.details.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "pf_hint.h"

const double pf_duration_bounds[PF_DURATION_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60
};

/* The histogram of probe durations (preflight_probe_duration_seconds). */
static void count_duration(struct check_state *st, double duration_ms)
{
	double s = duration_ms / 1000.0;

	st->duration_sum_s += s;
	for (size_t b = 0; b < PF_DURATION_BUCKETS; b++)
		if (s <= pf_duration_bounds[b]) {
			st->duration_buckets[b]++;
			return;
		}
}

static bool is_failing(enum pf_status s)
{
	return s == PF_STATUS_FAIL || s == PF_STATUS_WARN;
}

static enum pf_status failing_status(const struct pf_check_cfg *cfg)
{
	return cfg->critical ? PF_STATUS_FAIL : PF_STATUS_WARN;
}

/* Next displayed status given the counters already updated for this probe. */
static enum pf_status next_status(const struct check_state *st,
				  const struct pf_check_cfg *cfg, bool passed)
{
	unsigned fail_th = cfg->failure_threshold ? cfg->failure_threshold : 1;
	unsigned ok_th = cfg->success_threshold ? cfg->success_threshold : 1;

	if (!st->has_run)	/* the first completed probe decides */
		return passed ? PF_STATUS_PASS : failing_status(cfg);
	if (is_failing(st->status)) {
		if (passed && st->consecutive_successes >= ok_th)
			return PF_STATUS_PASS;
		return failing_status(cfg);
	}
	if (!passed && st->consecutive_failures >= fail_th)
		return failing_status(cfg);
	return PF_STATUS_PASS;
}

/* error and hint into one allocation sized to them.  Out of memory the
 * texts read "" (the reason still says what failed). */
static void store_text(struct pf_last_result *l, const char *error,
		       const char *hint)
{
	size_t ne = strnlen(error, PF_ERROR_MAX - 1);
	size_t nh = strnlen(hint, PF_HINT_MAX - 1);

	free(l->text);
	l->text = NULL;
	l->error = l->hint = "";
	if (ne + nh == 0 || !(l->text = malloc(ne + nh + 2)))
		return;
	memcpy(l->text, error, ne);
	l->text[ne] = '\0';
	memcpy(l->text + ne + 1, hint, nh);
	l->text[ne + 1 + nh] = '\0';
	l->error = l->text;
	l->hint = l->text + ne + 1;
}

/*
 * Stores the probe's result as `last`.  While the displayed status stays
 * failing after a passing probe (success_threshold not reached yet), the
 * previous failure's reason, error and hint are kept so /status still says
 * why the check is failing; details and gauge are always the new probe's.
 */
static void store_last(struct check_state *st, struct pf_result *res,
		       bool keep_failure)
{
	cJSON_Delete(st->last.details);
	st->last.details = res->details;
	res->details = NULL;
	memcpy(st->last.gauge, res->gauge, sizeof st->last.gauge);
	if (keep_failure)
		return;
	st->last.reason = res->reason;
	st->last.warn = res->warn;
	store_text(&st->last, res->error, res->hint);
}

void pf_last_reset(struct pf_last_result *l)
{
	memset(l, 0, sizeof *l);
	l->error = l->hint = "";
	for (size_t i = 0; i < PF_GAUGE_MAX; i++)
		l->gauge[i] = NAN;
}

bool pf_state_apply(struct check_state *st, const struct pf_check_cfg *cfg,
		    struct pf_result *res, double duration_ms,
		    const struct timespec *wall, double mono_ms)
{
	bool passed = res->reason == PF_REASON_NONE;
	enum pf_status before = st->status;
	enum pf_status after;

	st->runs++;
	if (passed) {
		st->consecutive_successes++;
		st->consecutive_failures = 0;
	} else {
		if ((unsigned)res->reason < PF_REASON_COUNT)
			st->failures[res->reason]++;
		else
			st->failures[PF_REASON_INTERNAL]++;
		st->consecutive_failures++;
		st->consecutive_successes = 0;
	}
	after = next_status(st, cfg, passed);
	/* A probe that passed with a warning (e.g. trust authentication)
	 * shows warn, which never blocks readiness. */
	if (passed && after == PF_STATUS_PASS && res->warn)
		after = PF_STATUS_WARN;
	/* out of memory the history stays as it was: it is only shown */
	(void)pf_history_add(&st->history, wall->tv_sec, st->has_run ? before :
			     PF_STATUS_UNKNOWN, after, passed ? PF_REASON_NONE :
			     res->reason, passed, duration_ms);
	count_duration(st, duration_ms);
	store_last(st, res, passed && is_failing(after) && !res->warn);
	if (!passed && (unsigned)res->reason >= PF_REASON_COUNT)
		st->last.reason = PF_REASON_INTERNAL;
	st->status = after;
	st->has_run = true;
	st->last_run = *wall;
	st->last_run_mono_ms = mono_ms;
	st->duration_ms = duration_ms;
	if (passed) {
		st->has_success = true;
		st->last_success = *wall;
	}
	return after != before;
}

void pf_state_move(struct check_state *dst, struct check_state *src)
{
	*dst = *src;
	memset(src, 0, sizeof *src);
	pf_last_reset(&src->last);
}

void pf_state_clear(struct check_state *st)
{
	cJSON_Delete(st->last.details);
	free(st->last.text);
	free(st->history);
	memset(st, 0, sizeof *st);
	pf_last_reset(&st->last);
}

double pf_state_fresh_until(const struct check_state *st,
			    const struct pf_check_cfg *cfg)
{
	double limit = cfg->on_demand ? (double)cfg->max_age_ms :
		2.0 * (double)cfg->interval_ms + (double)cfg->timeout_ms;

	if (!st->has_run)
		return 0;
	return st->last_run_mono_ms + limit;
}

bool pf_state_fresh(const struct check_state *st,
		    const struct pf_check_cfg *cfg, double now_mono_ms)
{
	return st->has_run && now_mono_ms < pf_state_fresh_until(st, cfg);
}

bool pf_state_stale(const struct check_state *st,
		    const struct pf_check_cfg *cfg, double now_mono_ms)
{
	return cfg->on_demand && st->has_run &&
	       !pf_state_fresh(st, cfg, now_mono_ms);
}

enum pf_status pf_state_status(const struct check_state *st,
			       const struct pf_check_cfg *cfg, double now_mono_ms)
{
	return pf_state_stale(st, cfg, now_mono_ms) ? PF_STATUS_UNKNOWN
						     : st->status;
}

const char *pf_state_hint(const struct check_state *st,
			  const struct pf_check_cfg *cfg)
{
	enum pf_reason r = st->last.reason;
	const cJSON *own;

	if (!st->has_run || r == PF_REASON_NONE)
		return NULL;
	own = cJSON_GetObjectItemCaseSensitive(cfg->hints, pf_reason_name(r));
	if (cJSON_IsString(own) && own->valuestring && own->valuestring[0])
		return own->valuestring;
	if (st->last.hint[0])
		return st->last.hint;
	return pf_hint_builtin(r);
}
