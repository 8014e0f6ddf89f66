/*
 * Rendering of the HTTP bodies and the one-shot report from a read-only
 * view of the daemon.  Pure: the caller supplies the clock.  Every
 * function returns malloc'd text the caller frees (NULL only when out of
 * memory).  Caching (render on change, not per request) is the HTTP
 * layer's job.
 */
#ifndef PF_RENDER_H
#define PF_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "loop.h"

struct cJSON;

/* Counters of one notifier (notifier.c), for /metrics. */
struct pf_notify_stat {
	char name[129];
	unsigned long sent, failures, dropped;
};

struct pf_view {
	const struct pf_config *cfg;
	const struct check *checks;	/* parallel to cfg->checks */
	size_t n_checks;
	/* the configuration's generation: bumped on every reload, so what
	 * was rendered for another config is never reused */
	uint64_t generation;
	unsigned long log_dropped;	/* log records lost to a slow reader */
	const struct pf_loop_stats *loop;	/* NULL: not shown */
	const struct pf_notify_stat *notify;	/* n_notify of them */
	size_t n_notify;
	const char *instance;		/* hostname or K_REVISION */
	struct timespec started_at;	/* wall */
	struct timespec now;		/* wall, for generated_at */
	double now_mono_ms;		/* for the stale rule */
	bool stopping;			/* SIGTERM received: not ready */
	/* NULL, or parallel to checks: the ungrouped set holds only these
	 * (`preflightd check --check C`), on-demand ones included */
	const bool *only;
};

/* One check's object as in /status (SPEC §6), caused_by resolved. */
struct cJSON *pf_render_check_json(const struct pf_view *v, size_t i);

/* GET /status body; group < 0 means every check. */
char *pf_render_status(const struct pf_view *v, int group);
/* GET /status/{check} body. */
char *pf_render_check(const struct pf_view *v, size_t i);
/* GET /readyz body; *ready tells 200 vs 503. */
char *pf_render_readyz(const struct pf_view *v, int group, bool *ready);
/* GET / : the status page, one self-contained HTML document. */
char *pf_render_page(const struct pf_view *v);
/* GET /metrics body, Prometheus text format 0.0.4. */
char *pf_render_metrics(const struct pf_view *v);

/* The same body over several loop turns: a job renders the families in
 * order and one step writes about `budget` sample lines (10,000 checks
 * make ~160,000).  Each step reads the view it is given, which must be of
 * the same config generation as at begin.  size_hint: the expected
 * length (the last body's), so the buffer need not grow.  NULL when out
 * of memory. */
struct pf_metrics_job;
struct pf_metrics_job *pf_metrics_begin(const struct pf_view *v, size_t size_hint);
uint64_t pf_metrics_generation(const struct pf_metrics_job *j);
/* True once the body is complete. */
bool pf_metrics_step(struct pf_metrics_job *j, const struct pf_view *v, size_t budget);
/* The body (malloc'd, *len bytes; NULL when out of memory); frees j. */
char *pf_metrics_end(struct pf_metrics_job *j, size_t *len);
/* Frees j and what it wrote; NULL is ignored. */
void pf_metrics_abort(struct pf_metrics_job *j);


/* `preflightd check` report: the checklist for people (one line per check:
 * ✓/✗, name, target, reason, hint) or JSON (same object as /status). */
char *pf_render_report_text(const struct pf_view *v, int group);
char *pf_render_report_json(const struct pf_view *v, int group);
/* The same for CI systems (report_ci.c): JUnit XML and TAP version 13. */
char *pf_render_report_junit(const struct pf_view *v, int group);
char *pf_render_report_tap(const struct pf_view *v, int group);

#endif
