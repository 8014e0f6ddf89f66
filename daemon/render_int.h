/*
 * Helpers shared by the renderers (render.c, metrics.c, report.c) and
 * private to them: check lookup by name, the set of checks a request
 * covers (all, or one group) and the readiness rule.
 */
#ifndef PF_RENDER_INT_H
#define PF_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

/* Name -> index over cfg->checks, built once per render so depends_on and
 * group members resolve in O(log n) instead of a scan each. */
struct pf_lookup {
	const struct pf_check_cfg **sorted;	/* owned array of borrowed pointers */
	size_t n;
	const struct pf_check_cfg *base;	/* borrowed: cfg->checks */
};

/* Returns -1 when out of memory (lk is then empty but safe to use:
 * pf_lookup_find falls back to a linear scan). */
int pf_lookup_init(struct pf_lookup *lk, const struct pf_view *v);
/* Index of the check called name, or -1.  lk may be NULL (linear scan). */
long pf_lookup_find(const struct pf_lookup *lk, const struct pf_view *v,
		    const char *name);
void pf_lookup_free(struct pf_lookup *lk);

/* Indexes of the checks a request covers: every check for group < 0, the
 * group's members otherwise (an out-of-range group is empty). */
struct pf_set {
	size_t *idx;	/* owned */
	size_t n;
	/* The ungrouped set of the daemon: on-demand checks are listed but
	 * do not count for its verdict (SPEC §3); a group counts them all. */
	bool skip_on_demand;
};
int pf_set_init(struct pf_set *s, const struct pf_view *v, int group,
		const struct pf_lookup *lk);
void pf_set_free(struct pf_set *s);

bool pf_status_failing(enum pf_status s);
/* Check i's displayed status: its state's, or unknown when an on-demand
 * result went stale. */
enum pf_status pf_view_status(const struct pf_view *v, size_t i);
/* SPEC §3 depends_on: the first dependency that is itself failing (fail
 * or warn) while check i fails, else NULL.  lk may be NULL. */
const char *pf_caused_by(const struct pf_view *v, size_t i,
			 const struct pf_lookup *lk);
/* A critical check counts as ready when pass/warn and fresh (and, when on
 * demand, while none of its depends_on fails); a non-critical check never
 * blocks readiness. */
bool pf_check_ready(const struct pf_view *v, size_t i);
/* Whether the set's k-th check counts for its verdict. */
bool pf_set_counts(const struct pf_view *v, const struct pf_set *s, size_t k);
/* Every check of the set ready and the daemon not stopping. */
bool pf_set_ready(const struct pf_view *v, const struct pf_set *s);
enum pf_status pf_set_overall(const struct pf_view *v, const struct pf_set *s);

/* The /status object for a set (render.c); NULL when out of memory. */
struct cJSON *pf_render_status_json(const struct pf_view *v, int group);
/* Check i's /status object (render.c); lk may be NULL. */
struct cJSON *pf_render_check_obj(const struct pf_view *v, size_t i,
				  const struct pf_lookup *lk);
/* The /status object for set s of group without its "checks" member:
 * the top-level fields and "groups" (render.c); NULL when out of memory. */
struct cJSON *pf_render_status_head(const struct pf_view *v, int group,
				    const struct pf_lookup *lk,
				    const struct pf_set *s);

#endif
