/*
 * Helpers shared by the renderers (render.c, status_cache.c) and private
 * to them; readiness is verdict.h.
 */
#ifndef PF_RENDER_INT_H
#define PF_RENDER_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"
#include "verdict.h"

/* The /status object for a set (render.c); NULL when out of memory. */
struct cJSON *pf_render_status_json(const struct pf_view *v, int group);
/* Check i's /status object (render.c). */
struct cJSON *pf_render_check_obj(const struct pf_view *v, size_t i);
/* The /status object for set s of group without its "checks" member:
 * the top-level fields and "groups" (render.c); NULL when out of memory. */
struct cJSON *pf_render_status_head(const struct pf_view *v, int group,
				    const struct pf_set *s);

#endif
