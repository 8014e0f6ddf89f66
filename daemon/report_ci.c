/*
 * `preflightd check --format junit|tap` (SPEC §7): the checklist in the
 * two formats CI systems read.  JUnit XML: one testsuite per group (with
 * --group G that group; else every group with a reported check, and the
 * reported checks in no group as the suite "preflightd"), one testcase
 * per check, the failure's message its reason and error, its text the
 * error, hint and caused_by.  TAP version 13: one test point per check, a
 * YAML block with the same fields for a failure.  Built from the checks'
 * /status objects, so the formats cannot disagree.  Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "render_int.h"

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* XML 1.0 text or attribute: markup escaped, the control characters it
 * forbids dropped. */
static void xml_put(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if (*p >= 0x20 || *p == '\n' || *p == '\t')
				fputc(*p, f);
		}
	}
}

/* Whether check i is in the report: its set's member, and run (an
 * on-demand check nobody selected is not reported). */
static bool reported(const struct pf_view *v, size_t i)
{
	return !v->only || v->only[i];
}

static bool in_a_group(const struct pf_view *v, size_t i)
{
	for (size_t g = 0; g < v->cfg->n_groups; g++)
		for (size_t k = 0; k < v->cfg->groups[g].n_checks; k++)
			if (v->cfg->groups[g].idx[k] == i)
				return true;
	return false;
}

static void junit_case(FILE *f, const struct pf_view *v, size_t i)
{
	cJSON *o = pf_render_check_obj(v, i);
	const char *status = o ? str(o, "status") : "unknown";
	const cJSON *d = o ? cJSON_GetObjectItemCaseSensitive(o, "duration_ms") : NULL;

	fputs("    <testcase name=\"", f);
	xml_put(f, v->cfg->checks[i].name);
	fputs("\" classname=\"", f);
	xml_put(f, o ? str(o, "kind") : "");
	fprintf(f, "\" time=\"%.3f\">", cJSON_IsNumber(d) ? d->valuedouble / 1000.0 : 0.0);
	if (status && strcmp(status, "fail") == 0) {
		fputs("\n      <failure type=\"", f);
		xml_put(f, str(o, "reason") ? str(o, "reason") : "fail");
		fputs("\" message=\"", f);
		xml_put(f, str(o, "reason"));
		fputs(": ", f);
		xml_put(f, str(o, "error"));
		fputs("\">", f);
		xml_put(f, str(o, "error"));
		if (str(o, "hint")) {
			fputs("\nhint: ", f);
			xml_put(f, str(o, "hint"));
		}
		if (str(o, "caused_by")) {
			fputs("\ncaused by: ", f);
			xml_put(f, str(o, "caused_by"));
		}
		fputs("</failure>\n    ", f);
	} else if (!status || strcmp(status, "unknown") == 0) {
		fputs("<skipped message=\"no result\"/>", f);
	} else if (strcmp(status, "warn") == 0) {
		fputs("<system-out>warning: ", f);
		xml_put(f, str(o, "error"));
		fputs("</system-out>", f);
	}
	fputs("</testcase>\n", f);
	cJSON_Delete(o);
}

/* One suite of the checks in idx[0..n) that are reported. */
static void junit_suite(FILE *f, const struct pf_view *v, const char *name,
			const size_t *idx, size_t n)
{
	size_t tests = 0, failures = 0, skipped = 0;

	for (size_t k = 0; k < n; k++) {
		enum pf_status s = pf_view_status(v, idx[k]);

		if (!reported(v, idx[k]))
			continue;
		tests++;
		failures += s == PF_STATUS_FAIL;
		skipped += s == PF_STATUS_UNKNOWN;
	}
	if (tests == 0)
		return;
	fputs("  <testsuite name=\"", f);
	xml_put(f, name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n",
		tests, failures, skipped);
	for (size_t k = 0; k < n; k++)
		if (reported(v, idx[k]))
			junit_case(f, v, idx[k]);
	fputs("  </testsuite>\n", f);
}

/* The reported checks that no group holds, as the suite "preflightd". */
static int ungrouped_suite(FILE *f, const struct pf_view *v)
{
	size_t *idx = malloc((v->n_checks ? v->n_checks : 1) * sizeof *idx), n = 0;

	if (!idx)
		return -1;
	for (size_t i = 0; i < v->n_checks; i++)
		if (!in_a_group(v, i))
			idx[n++] = i;
	junit_suite(f, v, "preflightd", idx, n);
	free(idx);
	return 0;
}

/* Closes the memstream; its buffer is only final after fclose. */
static char *finish(FILE *f, char **buf)
{
	if (fclose(f) != 0) {
		free(*buf);
		return NULL;
	}
	return *buf;
}

char *pf_render_report_junit(const struct pf_view *v, int group)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<testsuites name=\"preflightd\">\n", f);
	if (group >= 0 && (size_t)group < v->cfg->n_groups) {
		const struct pf_group_cfg *g = &v->cfg->groups[group];

		junit_suite(f, v, g->name, g->idx, g->n_checks);
	} else {
		for (size_t g = 0; g < v->cfg->n_groups; g++)
			junit_suite(f, v, v->cfg->groups[g].name, v->cfg->groups[g].idx,
				    v->cfg->groups[g].n_checks);
		if (ungrouped_suite(f, v) < 0)
			fputs("  <!-- out of memory -->\n", f);
	}
	fputs("</testsuites>\n", f);
	return finish(f, &buf);
}

/* A YAML double-quoted scalar (JSON's escapes are YAML's too). */
static void yaml_field(FILE *f, const char *key, const char *value)
{
	cJSON *s;
	char *q;

	if (!value)
		return;
	s = cJSON_CreateString(value);
	q = s ? cJSON_PrintUnformatted(s) : NULL;
	fprintf(f, "  %s: %s\n", key, q ? q : "\"\"");
	free(q);
	cJSON_Delete(s);
}

static void tap_point(FILE *f, const struct pf_view *v, size_t i, size_t n)
{
	cJSON *o = pf_render_check_obj(v, i);
	const char *status = o ? str(o, "status") : "unknown";
	bool fail = !status || strcmp(status, "fail") == 0;
	bool unknown = status && strcmp(status, "unknown") == 0;

	fprintf(f, "%s %zu - ", fail ? "not ok" : "ok", n);
	/* '#' would start a directive in the description */
	for (const char *p = v->cfg->checks[i].name; *p; p++)
		fputc(*p == '#' ? '_' : *p, f);
	if (unknown)
		fputs(" # SKIP no result", f);
	fputc('\n', f);
	if (fail || (status && strcmp(status, "warn") == 0)) {
		fputs("  ---\n", f);
		yaml_field(f, "status", status);
		yaml_field(f, "reason", str(o, "reason"));
		yaml_field(f, "error", str(o, "error"));
		yaml_field(f, "hint", str(o, "hint"));
		yaml_field(f, "caused_by", str(o, "caused_by"));
		yaml_field(f, "target", str(o, "target"));
		fputs("  ...\n", f);
	}
	cJSON_Delete(o);
}

char *pf_render_report_tap(const struct pf_view *v, int group)
{
	struct pf_set s;
	char *buf = NULL;
	size_t len = 0, n = 0;
	FILE *f;

	if (pf_set_init(&s, v, group) < 0)
		return NULL;
	if (!(f = open_memstream(&buf, &len))) {
		pf_set_free(&s);
		return NULL;
	}
	/* the set holds what is reported (pf_set_init honours v->only) */
	fprintf(f, "TAP version 13\n1..%zu\n", s.n);
	for (size_t k = 0; k < s.n; k++)
		tap_point(f, v, s.idx[k], ++n);
	pf_set_free(&s);
	return finish(f, &buf);
}
