/*
 * Readiness in one place (verdict.c): the set of checks a request covers
 * (all, or one group), a check's displayed status, when it counts as
 * ready, what caused its failure, and a set's verdict.  Pure functions of
 * a view (render.h).
 */
#ifndef PF_VERDICT_H
#define PF_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

/* Indexes of the checks a request covers: every check for group < 0, the
 * group's members otherwise (an out-of-range group is empty). */
struct pf_set {
	size_t *idx;	/* owned */
	size_t n;
	/* The ungrouped set of the daemon: on-demand checks are listed but
	 * do not count for its verdict (SPEC §3); a group counts them all. */
	bool skip_on_demand;
};
int pf_set_init(struct pf_set *s, const struct pf_view *v, int group);
void pf_set_free(struct pf_set *s);

bool pf_status_failing(enum pf_status s);
/* Check i's displayed status: its state's, or unknown when an on-demand
 * result went stale. */
enum pf_status pf_view_status(const struct pf_view *v, size_t i);
/* SPEC §3 depends_on: the root of the chain of failing dependencies
 * (fail or warn) while check i fails, else NULL. */
const char *pf_caused_by(const struct pf_view *v, size_t i);
/* A critical check counts as ready when pass/warn and fresh (and, when on
 * demand, while none of its depends_on fails); a non-critical check never
 * blocks readiness. */
bool pf_check_ready(const struct pf_view *v, size_t i);
/* Whether the set's k-th check counts for its verdict. */
bool pf_set_counts(const struct pf_view *v, const struct pf_set *s, size_t k);
/* Every check of the set ready and the daemon not stopping. */
bool pf_set_ready(const struct pf_view *v, const struct pf_set *s);
enum pf_status pf_set_overall(const struct pf_view *v, const struct pf_set *s);

/* Overall status of a set: fail if any critical check is not pass/warn
 * (unknown counts as fail), warn if any warn, else pass. group < 0: all. */
enum pf_status pf_render_overall(const struct pf_view *v, int group);

#endif
