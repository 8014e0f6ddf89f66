/*
 * Incremental GET /status: each check's rendered object is kept as text
 * and re-rendered only when what it shows changed, so a request after K
 * results costs K check renders plus one concatenation.  The output is
 * byte-for-byte pf_render_status()'s.  Single-threaded, like the daemon.
 */
#ifndef PF_STATUS_CACHE_H
#define PF_STATUS_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "render.h"

struct pf_status_cache;

/* An empty cache; NULL when out of memory. */
struct pf_status_cache *pf_status_cache_new(void);

/* Drops every fragment.  The cache also starts over by itself when the
 * view's config generation changes (a reload). */
void pf_status_cache_reset(struct pf_status_cache *c);

/* NULL is ignored. */
void pf_status_cache_free(struct pf_status_cache *c);

/* The GET /status body for v (group < 0: every check), as
 * pf_render_status(v, group) would print it; malloc'd, the caller frees
 * it; NULL when out of memory.  *len gets its length (a 10,000-check
 * body is 3 MB: not worth a strlen).
 *
 * Relies on the daemon's invariants: a check's config does not change
 * until a reload, and its state changes only through pf_state_apply(),
 * which bumps state.runs.  A fragment is reused while its check's runs,
 * its caused_by (which follows other checks' statuses) and whether an
 * on-demand result reads stale are the same as when it was rendered. */
char *pf_status_cache_render(struct pf_status_cache *c,
			     const struct pf_view *v, int group, size_t *len);

/* A GET /status body read out piece by piece, for bodies too large to
 * copy whole (10,000 checks: 3 MB).  Made on the turn after a complete
 * pf_status_cache_refresh, it renders only what changed since, so the
 * head and every check object agree.  It holds references to the
 * fragments, so it reads the same bytes while the cache re-renders or
 * resets (a reload) meanwhile, and may outlive the cache.  NULL when out
 * of memory. */
struct pf_status_body;
struct pf_status_body *pf_status_cache_body(struct pf_status_cache *c,
					    const struct pf_view *v, int group);
/* Its length in bytes. */
size_t pf_status_body_len(const struct pf_status_body *b);
/* Copies up to room bytes of what is left into dst; returns how many
 * (0: everything was read). */
size_t pf_status_body_read(struct pf_status_body *b, char *dst, size_t room);
/* NULL is ignored. */
void pf_status_body_free(struct pf_status_body *b);

/* True while c holds fragments for v's config: after a reload it holds
 * none until the next refresh or render. */
bool pf_status_cache_bound(const struct pf_status_cache *c,
			   const struct pf_view *v);

/* Renders at most max of the fragments the body for group would need
 * re-rendered; returns how many are still out of date after that (0:
 * pf_status_cache_render now renders nothing but results that arrive
 * meanwhile).  Lets the caller spread a cold cache of thousands of
 * checks over several loop turns. */
size_t pf_status_cache_refresh(struct pf_status_cache *c,
			       const struct pf_view *v, int group, size_t max);

/* Check objects rendered since the cache was created (tests, logs). */
size_t pf_status_cache_renders(const struct pf_status_cache *c);

#endif
