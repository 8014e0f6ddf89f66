/*
 * GET /metrics in the Prometheus text format 0.0.4 (SPEC §6): per-check
 * up/duration/runs/failures, group and overall readiness, one gauge
 * family per gauge a kind declares (ops->gauges), the loop's turns and
 * build info.  Written to a memory stream, in one call or in steps over
 * several loop turns (pf_metrics_job: 10,000 checks are 16 MB and ~280 ms
 * of rendering); the caller frees the text.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

/* Distinct kinds among the checks: a handful, so a linear list is enough. */
#define PF_MAX_KINDS 32

/* Label values: backslash, double quote and newline are escaped. */
static void put_label(FILE *f, const char *name, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* HELP text: backslash and newline are escaped. */
static void put_family(FILE *f, const char *name, const char *type,
		       const char *help)
{
	fprintf(f, "# HELP %s ", name);
	for (const char *p = help ? help : ""; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fprintf(f, "\n# TYPE %s %s\n", name, type);
}

static void put_check_labels(FILE *f, const struct pf_view *v, size_t i)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];

	fputc('{', f);
	put_label(f, "check", cfg->name, true);
	put_label(f, "kind", cfg->ops ? cfg->ops->kind : "", false);
}

static void put_value(FILE *f, double x)
{
	if (isnan(x))
		fputs(" NaN\n", f);
	else if (isinf(x))
		fputs(x > 0 ? " +Inf\n" : " -Inf\n", f);
	else
		fprintf(f, " %.15g\n", x);
}

/* ---- per-check samples: one call writes one check's lines ------------- */

struct family;
/* Writes check i's lines of fam; returns how many (the slice budget
 * counts lines, so checks of another kind cost nothing). */
typedef unsigned (*per_check_fn)(FILE *f, const struct pf_view *v, size_t i,
				 const struct family *fam);

/* One family of the exposition: its header, then either one call per
 * check (per_check) or everything at once
 * (whole, which writes its own headers). */
struct family {
	const char *name, *type, *help;
	per_check_fn per_check;
	void (*whole)(FILE *f, const struct pf_view *v);
	unsigned lines;			/* of whole, for the slice budget */
	const struct check_ops *ops;	/* a kind's gauge: the kind */
	int gauge;			/* and which of its gauges */
};

static unsigned up_samples(FILE *f, const struct pf_view *v, size_t i,
			   const struct family *fam)
{
	enum pf_status s = pf_view_status(v, i);

	(void)fam;
	fputs("preflight_check_up", f);
	put_check_labels(f, v, i);
	fprintf(f, "} %d\n", s == PF_STATUS_PASS || s == PF_STATUS_WARN);
	return 1;
}

static unsigned duration_samples(FILE *f, const struct pf_view *v, size_t i,
				 const struct family *fam)
{
	(void)fam;
	if (!v->checks[i].state.has_run)
		return 0;
	fputs("preflight_check_duration_seconds", f);
	put_check_labels(f, v, i);
	fputc('}', f);
	put_value(f, v->checks[i].state.duration_ms / 1000.0);
	return 1;
}

/* preflight_probe_duration_seconds: latency percentiles come from PromQL
 * (histogram_quantile), across a fleet too. */
static unsigned histogram_samples(FILE *f, const struct pf_view *v, size_t i,
				  const struct family *fam)
{
	const struct check_state *st = &v->checks[i].state;
	uint64_t cum = 0;
	char le[32];

	(void)fam;
	for (size_t b = 0; b < PF_DURATION_BUCKETS; b++) {
		cum += st->duration_buckets[b];
		snprintf(le, sizeof le, "%g", pf_duration_bounds[b]);
		fputs("preflight_probe_duration_seconds_bucket", f);
		put_check_labels(f, v, i);
		put_label(f, "le", le, false);
		fprintf(f, "} %llu\n", (unsigned long long)cum);
	}
	fputs("preflight_probe_duration_seconds_bucket", f);
	put_check_labels(f, v, i);
	put_label(f, "le", "+Inf", false);
	fprintf(f, "} %llu\n", (unsigned long long)st->runs);
	fputs("preflight_probe_duration_seconds_sum", f);
	put_check_labels(f, v, i);
	fputc('}', f);
	put_value(f, st->duration_sum_s);
	fputs("preflight_probe_duration_seconds_count", f);
	put_check_labels(f, v, i);
	fprintf(f, "} %llu\n", (unsigned long long)st->runs);
	return PF_DURATION_BUCKETS + 3;
}

static unsigned last_success_samples(FILE *f, const struct pf_view *v, size_t i,
				     const struct family *fam)
{
	const struct check_state *st = &v->checks[i].state;

	(void)fam;
	if (!st->has_success)
		return 0;
	fputs("preflight_check_last_success_timestamp_seconds", f);
	put_check_labels(f, v, i);
	fputc('}', f);
	put_value(f, (double)st->last_success.tv_sec +
		  (double)st->last_success.tv_nsec / 1e9);
	return 1;
}

static unsigned runs_samples(FILE *f, const struct pf_view *v, size_t i,
			     const struct family *fam)
{
	(void)fam;
	fputs("preflight_check_runs_total", f);
	put_check_labels(f, v, i);
	fprintf(f, "} %llu\n", (unsigned long long)v->checks[i].state.runs);
	return 1;
}

/* Only reasons that occurred are emitted: 18 zero series per check would
 * multiply the cardinality for no information. */
static unsigned failure_samples(FILE *f, const struct pf_view *v, size_t i,
				const struct family *fam)
{
	const struct check_state *st = &v->checks[i].state;
	unsigned lines = 0;

	(void)fam;
	for (int r = PF_REASON_NONE + 1; r < PF_REASON_COUNT; r++) {
		if (!st->failures[r])
			continue;
		fputs("preflight_check_failures_total", f);
		put_check_labels(f, v, i);
		put_label(f, "reason", pf_reason_name((enum pf_reason)r), false);
		fprintf(f, "} %llu\n", (unsigned long long)st->failures[r]);
		lines++;
	}
	return lines;
}

/* A kind's gauge, fed by last.gauge[g] of each of the kind's checks that
 * measured it. */
static unsigned gauge_samples(FILE *f, const struct pf_view *v, size_t i,
			      const struct family *fam)
{
	const struct check_state *st = &v->checks[i].state;

	if (v->cfg->checks[i].ops != fam->ops || !st->has_run ||
	    isnan(st->last.gauge[fam->gauge]))
		return 0;
	fprintf(f, "%s{", fam->name);
	put_label(f, "check", v->cfg->checks[i].name, true);
	fputc('}', f);
	put_value(f, st->last.gauge[fam->gauge]);
	return 1;
}

/* ---- families rendered at once ----------------------------------------- */

static void notify_family(FILE *f, const struct pf_view *v, const char *name,
			  const char *help, size_t field)
{
	put_family(f, name, "counter", help);
	for (size_t k = 0; k < v->n_notify; k++) {
		const struct pf_notify_stat *s = &v->notify[k];
		unsigned long x = field == 0 ? s->sent : field == 1 ? s->failures :
				  s->dropped;

		fputs(name, f);
		fputc('{', f);
		put_label(f, "notifier", s->name, true);
		fprintf(f, "} %lu\n", x);
	}
}

static void notify_families(FILE *f, const struct pf_view *v)
{
	if (v->n_notify == 0)
		return;
	notify_family(f, v, "preflight_notify_sent_total",
		      "Notification messages the receiver accepted.", 0);
	notify_family(f, v, "preflight_notify_failures_total",
		      "Notification messages not delivered after 5 minutes of retries"
		      " (or refused).", 1);
	notify_family(f, v, "preflight_notify_dropped_total",
		      "Notification messages dropped because the queue was full.", 2);
}

static void ready_families(FILE *f, const struct pf_view *v)
{
	struct pf_set s;

	put_family(f, "preflight_group_ready", "gauge",
		   "1 when every critical check of the group is passing and fresh.");
	for (size_t g = 0; g < v->cfg->n_groups; g++) {
		if (pf_set_init(&s, v, (int)g) < 0)
			continue;
		fputs("preflight_group_ready{", f);
		put_label(f, "group", v->cfg->groups[g].name, true);
		fprintf(f, "} %d\n", pf_set_ready(v, &s));
		pf_set_free(&s);
	}
	put_family(f, "preflight_ready", "gauge",
		   "1 when every critical check is passing and fresh (/readyz).");
	if (pf_set_init(&s, v, -1) == 0) {
		fprintf(f, "preflight_ready %d\n", pf_set_ready(v, &s));
		pf_set_free(&s);
	}
}

static bool seen_kind(const struct check_ops *const *kinds, size_t n,
		      const struct check_ops *ops)
{
	for (size_t k = 0; k < n; k++)
		if (kinds[k] == ops)
			return true;
	return false;
}

/* preflight_loop_turn_cpu_seconds and its max: whether one turn (a
 * large /status, a reload's swap, a burst of starts) held everything
 * else up. */
static void loop_families(FILE *f, const struct pf_loop_stats *st)
{
	uint64_t cum = 0;

	put_family(f, "preflight_loop_turn_cpu_seconds", "histogram",
		   "CPU time of one event-loop turn: probe starts and HTTP answers "
		   "wait for the turn in progress.");
	for (int b = 0; b < PF_LOOP_BUCKETS; b++) {
		cum += st->bucket[b];
		fprintf(f, "preflight_loop_turn_cpu_seconds_bucket{le=\"%g\"} %llu\n",
			pf_loop_bucket_le[b], (unsigned long long)cum);
	}
	fprintf(f, "preflight_loop_turn_cpu_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)st->turns);
	fputs("preflight_loop_turn_cpu_seconds_sum", f);
	put_value(f, st->sum_s);
	fprintf(f, "preflight_loop_turn_cpu_seconds_count %llu\n",
		(unsigned long long)st->turns);
	put_family(f, "preflight_loop_turn_cpu_max_seconds", "gauge",
		   "The longest event-loop turn since start, CPU seconds.");
	fputs("preflight_loop_turn_cpu_max_seconds", f);
	put_value(f, st->max_s);
}

/* Everything after the per-check families that is not per check. */
static void tail_families(FILE *f, const struct pf_view *v)
{
	notify_families(f, v);
	put_family(f, "preflight_log_dropped_total", "counter",
		   "Log records dropped because the reader of stdout was slow.");
	fprintf(f, "preflight_log_dropped_total %lu\n", v->log_dropped);
	if (v->loop)
		loop_families(f, v->loop);
	put_family(f, "preflight_build_info", "gauge",
		   "Always 1; the version label names the running build.");
	fputs("preflight_build_info{", f);
	put_label(f, "version", PF_VERSION, true);
	fputs("} 1\n", f);
}

/* The per-check families, readiness, then one family per gauge a kind
 * declares (ops->gauges), then the rest. */
static const struct family check_families[] = {
	{ "preflight_check_up", "gauge",
	  "1 when the check passes (or warns), 0 otherwise.", up_samples, NULL, 0, NULL, 0 },
	{ "preflight_check_duration_seconds", "gauge",
	  "Duration of the check's last probe in seconds.", duration_samples, NULL, 0, NULL, 0 },
	{ "preflight_probe_duration_seconds", "histogram",
	  "Duration of the check's probes in seconds.", histogram_samples, NULL, 0, NULL, 0 },
	{ "preflight_check_last_success_timestamp_seconds", "gauge",
	  "Unix time of the check's last passing probe.", last_success_samples, NULL, 0, NULL, 0 },
	{ "preflight_check_runs_total", "counter",
	  "Probes of the check completed since start.", runs_samples, NULL, 0, NULL, 0 },
	{ "preflight_check_failures_total", "counter",
	  "Failed probes of the check since start, by reason.", failure_samples, NULL, 0, NULL, 0 },
	{ NULL, NULL, NULL, NULL, ready_families, 1, NULL, 0 },
};

#define N_CHECK_FAMILIES (sizeof check_families / sizeof check_families[0])
#define MAX_FAMILIES (N_CHECK_FAMILIES + PF_MAX_KINDS * PF_GAUGE_MAX + 1)

struct pf_metrics_job {
	FILE *f;			/* owned: writes append to buf */
	char *buf;			/* owned until pf_metrics_end */
	size_t len, cap;
	bool oom;			/* a write did not fit and could not grow */
	uint64_t generation;		/* of the config the families are for */
	struct family fams[MAX_FAMILIES];
	size_t n_fams;
	size_t fam, check;		/* where the next step goes on */
};

/* Adds one family per gauge of every kind among the checks. */
static void add_kind_gauges(struct pf_metrics_job *j, const struct pf_view *v)
{
	const struct check_ops *kinds[PF_MAX_KINDS];
	size_t n = 0;

	for (size_t i = 0; i < v->n_checks && n < PF_MAX_KINDS; i++) {
		const struct check_ops *ops = v->cfg->checks[i].ops;

		if (ops && ops->gauges[0].metric && !seen_kind(kinds, n, ops))
			kinds[n++] = ops;
	}
	for (size_t k = 0; k < n; k++) {
		for (int g = 0; g < PF_GAUGE_MAX && kinds[k]->gauges[g].metric; g++)
			j->fams[j->n_fams++] = (struct family){
				kinds[k]->gauges[g].metric, "gauge", kinds[k]->gauges[g].help,
				gauge_samples, NULL, 0, kinds[k], g };
	}
}

/* The job's stream writes here.  Not open_memstream: its buffer doubles
 * by realloc, and copying 8 MB into fresh pages held the loop ~17 ms in
 * one step at 10,000 checks; sized from the last body, this buffer does
 * not move at all. */
static ssize_t job_write(void *cookie, const char *data, size_t size)
{
	struct pf_metrics_job *j = cookie;

	if (j->cap - j->len < size + 1) {
		size_t cap = j->cap * 2 > j->len + size + 1 ? j->cap * 2 : j->len + size + 1;
		char *b = realloc(j->buf, cap);

		if (!b) {
			j->oom = true;
			return 0;	/* fopencookie: 0 is the error */
		}
		j->buf = b;
		j->cap = cap;
	}
	memcpy(j->buf + j->len, data, size);
	j->len += size;
	j->buf[j->len] = '\0';
	return (ssize_t)size;
}

struct pf_metrics_job *pf_metrics_begin(const struct pf_view *v, size_t size_hint)
{
	struct pf_metrics_job *j = calloc(1, sizeof *j);

	if (!j)
		return NULL;
	j->cap = size_hint + size_hint / 8 + 4096;
	j->buf = malloc(j->cap);
	j->f = j->buf ? fopencookie(j, "w", (cookie_io_functions_t){ .write = job_write }) : NULL;
	if (!j->f) {
		free(j->buf);
		free(j);
		return NULL;
	}
	j->buf[0] = '\0';
	j->generation = v->generation;
	memcpy(j->fams, check_families, sizeof check_families);
	j->n_fams = N_CHECK_FAMILIES;
	add_kind_gauges(j, v);
	j->fams[j->n_fams++] = (struct family){ NULL, NULL, NULL, NULL, tail_families, 1, NULL, 0 };
	return j;
}

uint64_t pf_metrics_generation(const struct pf_metrics_job *j)
{
	return j->generation;
}

bool pf_metrics_step(struct pf_metrics_job *j, const struct pf_view *v, size_t budget)
{
	size_t spent = 0;

	while (j->fam < j->n_fams && spent < budget) {
		const struct family *fam = &j->fams[j->fam];

		if (fam->whole) {
			fam->whole(j->f, v);
			spent += fam->lines;
			j->fam++;
			continue;
		}
		if (j->check == 0)
			put_family(j->f, fam->name, fam->type, fam->help);
		for (; j->check < v->n_checks && spent < budget; j->check++)
			spent += fam->per_check(j->f, v, j->check, fam);
		if (j->check >= v->n_checks) {
			j->fam++;
			j->check = 0;
		}
	}
	return j->fam >= j->n_fams;
}

char *pf_metrics_end(struct pf_metrics_job *j, size_t *len)
{
	char *out;
	bool bad = fclose(j->f) != 0 || j->oom;	/* fclose flushes into buf */

	out = bad ? NULL : j->buf;
	*len = bad ? 0 : j->len;
	if (bad)
		free(j->buf);
	free(j);
	return out;
}

void pf_metrics_abort(struct pf_metrics_job *j)
{
	size_t len;

	if (j)
		free(pf_metrics_end(j, &len));
}

char *pf_render_metrics(const struct pf_view *v)
{
	struct pf_metrics_job *j = pf_metrics_begin(v, 0);
	size_t len;

	if (!j)
		return NULL;
	pf_metrics_step(j, v, SIZE_MAX);
	return pf_metrics_end(j, &len);
}
