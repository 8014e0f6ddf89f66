/*
 * GET /metrics in the Prometheus text format 0.0.4 (SPEC §6): per-check
 * up/duration/runs/failures, group and overall readiness, one gauge
 * family per gauge a kind declares (ops->gauges), and build info.
 * Written to a memory stream; the caller frees the text.
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

/* preflight_probe_duration_seconds: latency percentiles come from PromQL
 * (histogram_quantile), across a fleet too. */
static void duration_histogram(FILE *f, const struct pf_view *v)
{
	put_family(f, "preflight_probe_duration_seconds", "histogram",
		   "Duration of the check's probes in seconds.");
	for (size_t i = 0; i < v->n_checks; i++) {
		const struct check_state *st = &v->checks[i].state;
		uint64_t cum = 0;
		char le[32];

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
	}
}

static void last_success_family(FILE *f, const struct pf_view *v)
{
	put_family(f, "preflight_check_last_success_timestamp_seconds", "gauge",
		   "Unix time of the check's last passing probe.");
	for (size_t i = 0; i < v->n_checks; i++) {
		const struct check_state *st = &v->checks[i].state;

		if (!st->has_success)
			continue;
		fputs("preflight_check_last_success_timestamp_seconds", f);
		put_check_labels(f, v, i);
		fputc('}', f);
		put_value(f, (double)st->last_success.tv_sec +
			  (double)st->last_success.tv_nsec / 1e9);
	}
}

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

static void check_families(FILE *f, const struct pf_view *v)
{
	put_family(f, "preflight_check_up", "gauge",
		   "1 when the check passes (or warns), 0 otherwise.");
	for (size_t i = 0; i < v->n_checks; i++) {
		enum pf_status s = pf_view_status(v, i);

		fputs("preflight_check_up", f);
		put_check_labels(f, v, i);
		fprintf(f, "} %d\n", s == PF_STATUS_PASS || s == PF_STATUS_WARN);
	}
	put_family(f, "preflight_check_duration_seconds", "gauge",
		   "Duration of the check's last probe in seconds.");
	for (size_t i = 0; i < v->n_checks; i++) {
		if (!v->checks[i].state.has_run)
			continue;
		fputs("preflight_check_duration_seconds", f);
		put_check_labels(f, v, i);
		fputc('}', f);
		put_value(f, v->checks[i].state.duration_ms / 1000.0);
	}
	duration_histogram(f, v);
	last_success_family(f, v);
	put_family(f, "preflight_check_runs_total", "counter",
		   "Probes of the check completed since start.");
	for (size_t i = 0; i < v->n_checks; i++) {
		fputs("preflight_check_runs_total", f);
		put_check_labels(f, v, i);
		fprintf(f, "} %llu\n",
			(unsigned long long)v->checks[i].state.runs);
	}
}

/* Only reasons that occurred are emitted: 18 zero series per check would
 * multiply the cardinality for no information. */
static void failure_family(FILE *f, const struct pf_view *v)
{
	put_family(f, "preflight_check_failures_total", "counter",
		   "Failed probes of the check since start, by reason.");
	for (size_t i = 0; i < v->n_checks; i++) {
		const struct check_state *st = &v->checks[i].state;

		for (int r = PF_REASON_NONE + 1; r < PF_REASON_COUNT; r++) {
			if (!st->failures[r])
				continue;
			fputs("preflight_check_failures_total", f);
			put_check_labels(f, v, i);
			put_label(f, "reason", pf_reason_name((enum pf_reason)r),
				  false);
			fprintf(f, "} %llu\n", (unsigned long long)st->failures[r]);
		}
	}
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

/* One family per gauge a kind declares, fed by last.gauge[g] of each of
 * the kind's checks that measured it. */
static void kind_gauges(FILE *f, const struct pf_view *v,
			const struct check_ops *ops)
{
	for (int g = 0; g < PF_GAUGE_MAX && ops->gauges[g].metric; g++) {
		const char *metric = ops->gauges[g].metric;

		put_family(f, metric, "gauge", ops->gauges[g].help);
		for (size_t i = 0; i < v->n_checks; i++) {
			const struct check_state *st = &v->checks[i].state;

			if (v->cfg->checks[i].ops != ops || !st->has_run ||
			    isnan(st->last.gauge[g]))
				continue;
			fprintf(f, "%s{", metric);
			put_label(f, "check", v->cfg->checks[i].name, true);
			fputc('}', f);
			put_value(f, st->last.gauge[g]);
		}
	}
}

static void gauge_families(FILE *f, const struct pf_view *v)
{
	const struct check_ops *kinds[PF_MAX_KINDS];
	size_t n = 0;

	for (size_t i = 0; i < v->n_checks && n < PF_MAX_KINDS; i++) {
		const struct check_ops *ops = v->cfg->checks[i].ops;

		if (ops && ops->gauges[0].metric && !seen_kind(kinds, n, ops))
			kinds[n++] = ops;
	}
	for (size_t k = 0; k < n; k++)
		kind_gauges(f, v, kinds[k]);
}

char *pf_render_metrics(const struct pf_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (!(f = open_memstream(&buf, &len)))
		return NULL;
	check_families(f, v);
	failure_family(f, v);
	ready_families(f, v);
	gauge_families(f, v);
	notify_families(f, v);
	put_family(f, "preflight_log_dropped_total", "counter",
		   "Log records dropped because the reader of stdout was slow.");
	fprintf(f, "preflight_log_dropped_total %lu\n", v->log_dropped);
	put_family(f, "preflight_build_info", "gauge",
		   "Always 1; the version label names the running build.");
	fputs("preflight_build_info{", f);
	put_label(f, "version", PF_VERSION, true);
	fputs("} 1\n", f);
	if (ferror(f)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}
