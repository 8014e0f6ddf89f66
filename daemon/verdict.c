/*
 * Readiness, in one place (verdict.h): which checks a request covers,
 * what a check's status is now, when it counts as ready, what caused its
 * failure, and the verdict of a set.  /status, /readyz, /metrics, the
 * one-shot report and systemd's STATUS= all ask here.  Pure: names were
 * resolved to indices when the configuration loaded.
 */
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

int pf_set_init(struct pf_set *s, const struct pf_view *v, int group)
{
	const struct pf_group_cfg *g;
	size_t cap;

	s->n = 0;
	s->idx = NULL;
	s->skip_on_demand = group < 0 && !v->only;
	if (group >= 0 && (size_t)group >= v->cfg->n_groups)
		return 0;
	g = group >= 0 ? &v->cfg->groups[group] : NULL;
	cap = g ? g->n_checks : v->n_checks;
	if (cap == 0)
		return 0;
	if (!(s->idx = malloc(cap * sizeof *s->idx)))
		return -1;
	for (size_t i = 0; i < cap; i++) {
		size_t j = g ? g->idx[i] : i;

		if (!g && v->only && !v->only[i])
			continue;
		if (j < v->n_checks)
			s->idx[s->n++] = j;
	}
	return 0;
}

void pf_set_free(struct pf_set *s)
{
	free(s->idx);
	s->idx = NULL;
	s->n = 0;
}

bool pf_status_failing(enum pf_status s)
{
	return s == PF_STATUS_FAIL || s == PF_STATUS_WARN;
}

enum pf_status pf_view_status(const struct pf_view *v, size_t i)
{
	return pf_state_status(&v->checks[i].state, &v->cfg->checks[i],
			       v->now_mono_ms);
}

/* Index of the first dependency of check i that is failing, or -1. */
static long failing_dependency(const struct pf_view *v, size_t i)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];

	for (size_t d = 0; d < cfg->n_depends_on; d++) {
		size_t j = cfg->dep_idx[d];

		if (j != i && j < v->n_checks &&
		    pf_status_failing(pf_view_status(v, j)))
			return (long)j;
	}
	return -1;
}

const char *pf_caused_by(const struct pf_view *v, size_t i)
{
	long root = -1;
	size_t hops = 0;

	if (!pf_status_failing(pf_view_status(v, i)))
		return NULL;
	/* Follow failing dependencies down to the root, so the dashboard names
	 * the backend that broke rather than an intermediate check echoing it
	 * (chat-roundtrip -> chat-api-ready -> redis).  The config rejects
	 * cycles; the hop bound guards the loop anyway. */
	for (long j = failing_dependency(v, i); j >= 0 && hops < v->n_checks;
	     j = failing_dependency(v, (size_t)j), hops++)
		root = j;
	return root >= 0 ? v->cfg->checks[root].name : NULL;
}

bool pf_check_ready(const struct pf_view *v, size_t i)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];
	const struct check_state *st = &v->checks[i].state;

	if (!cfg->critical)
		return true;
	if (st->status != PF_STATUS_PASS && st->status != PF_STATUS_WARN)
		return false;
	if (!pf_state_fresh(st, cfg, v->now_mono_ms))
		return false;
	/* An on-demand pass is evidence only while what it depends on still
	 * works: a round trip that passed an hour ago says nothing once its
	 * database broke. */
	return !cfg->on_demand || failing_dependency(v, i) < 0;
}

bool pf_set_counts(const struct pf_view *v, const struct pf_set *s, size_t k)
{
	return !s->skip_on_demand || !v->cfg->checks[s->idx[k]].on_demand;
}

bool pf_set_ready(const struct pf_view *v, const struct pf_set *s)
{
	if (v->stopping)
		return false;
	for (size_t k = 0; k < s->n; k++)
		if (pf_set_counts(v, s, k) && !pf_check_ready(v, s->idx[k]))
			return false;
	return true;
}

enum pf_status pf_set_overall(const struct pf_view *v, const struct pf_set *s)
{
	bool warn = false;

	for (size_t k = 0; k < s->n; k++) {
		size_t i = s->idx[k];
		enum pf_status st = pf_view_status(v, i);

		if (!pf_set_counts(v, s, k))
			continue;
		if (v->cfg->checks[i].critical && st != PF_STATUS_PASS &&
		    st != PF_STATUS_WARN)
			return PF_STATUS_FAIL;
		if (st == PF_STATUS_WARN)
			warn = true;
	}
	return warn ? PF_STATUS_WARN : PF_STATUS_PASS;
}

enum pf_status pf_render_overall(const struct pf_view *v, int group)
{
	struct pf_set s;
	enum pf_status st;

	if (pf_set_init(&s, v, group) < 0)
		return PF_STATUS_UNKNOWN;
	st = pf_set_overall(v, &s);
	pf_set_free(&s);
	return st;
}
