/*
 * The `preflightd check` report (SPEC §7): a checklist for people, one
 * line per check with reason, error and hint for failures and a summary,
 * or the same JSON object as /status.  Pure; the caller prints it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "render_int.h"
#include "pf_text.h"

#define PF_TARGET_MAX 1024

static const char *mark(enum pf_status s)
{
	switch (s) {
	case PF_STATUS_PASS: return "\xe2\x9c\x93";	/* ✓ */
	case PF_STATUS_FAIL: return "\xe2\x9c\x97";	/* ✗ */
	case PF_STATUS_WARN: return "!";
	default: return "?";
	}
}

/* Prints text on one line: a peer's multi-line error stays indented. */
static void put_line_text(FILE *f, const char *s)
{
	char *fixed = pf_text_utf8_fix(s);

	for (const unsigned char *p = (const unsigned char *)(fixed ? fixed : s);
	     *p; p++) {
		if (*p == '\n')
			fputs("\n      ", f);
		else if (*p == '\r' || *p == '\t')
			fputc(' ', f);
		else if (*p < 0x20 || *p == 0x7f)
			fputc('?', f);
		else
			fputc(*p, f);
	}
	free(fixed);
}

static void report_check(FILE *f, const struct pf_view *v, size_t i,
			 int width)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];
	const struct check_state *st = &v->checks[i].state;
	enum pf_status s = pf_view_status(v, i);
	char target[PF_TARGET_MAX] = "";
	const char *hint, *cause;

	pf_check_target(cfg, target, sizeof target);
	/* names padded to one column so the targets line up */
	fprintf(f, "%s %-*s", mark(s), target[0] ? width : 0, cfg->name);
	if (target[0]) {
		fputs("  ", f);
		put_line_text(f, target);
	}
	if (!cfg->critical)
		fputs("  (non-critical)", f);
	fputc('\n', f);
	if (s == PF_STATUS_UNKNOWN) {
		fputs(st->has_run ? "    stale: the last result is older than max_age\n"
				  : "    no result yet\n", f);
		return;
	}
	if (s == PF_STATUS_WARN && st->last.warn && st->last.error[0]) {
		fputs("    warning: ", f);
		put_line_text(f, st->last.error);
		fputc('\n', f);
	}
	if (!pf_status_failing(s) || st->last.reason == PF_REASON_NONE)
		return;
	fprintf(f, "    %s: ", pf_reason_name(st->last.reason));
	put_line_text(f, st->last.error[0] ? st->last.error : "(no detail)");
	fputc('\n', f);
	if ((cause = pf_caused_by(v, i)))
		fprintf(f, "    caused by: %s\n", cause);
	if ((hint = pf_state_hint(st, cfg))) {
		fputs("    hint: ", f);
		put_line_text(f, hint);
		fputc('\n', f);
	}
}

static int name_width(const struct pf_view *v, const struct pf_set *s)
{
	size_t w = 0;

	for (size_t k = 0; k < s->n; k++) {
		size_t n = strlen(v->cfg->checks[s->idx[k]].name);

		w = n > w ? n : w;
	}
	return w > 64 ? 64 : (int)w;
}

static void report_summary(FILE *f, const struct pf_view *v,
			   const struct pf_set *s)
{
	size_t count[4] = { 0 };

	for (size_t k = 0; k < s->n; k++) {
		enum pf_status st = pf_view_status(v, s->idx[k]);

		count[(unsigned)st < 4 ? (unsigned)st : 0]++;
	}
	fprintf(f, "\n%zu check%s: %zu passed, %zu failed, %zu warning%s, "
		"%zu unknown: %s\n", s->n, s->n == 1 ? "" : "s",
		count[PF_STATUS_PASS], count[PF_STATUS_FAIL],
		count[PF_STATUS_WARN], count[PF_STATUS_WARN] == 1 ? "" : "s",
		count[PF_STATUS_UNKNOWN],
		pf_set_overall(v, s) == PF_STATUS_FAIL ? "NOT READY" : "READY");
}

char *pf_render_report_text(const struct pf_view *v, int group)
{
	struct pf_set s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;

	if (pf_set_init(&s, v, group) == 0 &&
	    (f = open_memstream(&buf, &len))) {
		int width = name_width(v, &s);

		if (group >= 0 && (size_t)group < v->cfg->n_groups)
			fprintf(f, "group %s\n", v->cfg->groups[group].name);
		for (size_t k = 0; k < s.n; k++)
			report_check(f, v, s.idx[k], width);
		report_summary(f, v, &s);
		if (ferror(f)) {
			fclose(f);
			free(buf);
			buf = NULL;
			f = NULL;
		}
	}
	if (f)
		fclose(f);
	pf_set_free(&s);
	return buf;
}

char *pf_render_report_json(const struct pf_view *v, int group)
{
	cJSON *root = pf_render_status_json(v, group);
	char *out;

	if (!root)
		return NULL;
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}
