/*
 * The JSON bodies of /status, /status/{check} and /readyz (SPEC §6),
 * built with cJSON from a read-only pf_view.  Never prints a check's
 * kind_cfg or fingerprint: the target comes redacted from the kind.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>

#include "log.h"
#include "pf_util.h"
#include "history.h"
#include "render_int.h"
#include "pf_text.h"

#define PF_TARGET_MAX 1024

/* Adds s as a string, repairing invalid UTF-8 so the body stays valid JSON. */
static void add_text(cJSON *obj, const char *key, const char *s)
{
	char *fixed;

	if (!s) {
		cJSON_AddNullToObject(obj, key);
		return;
	}
	fixed = pf_text_utf8_fix(s);
	cJSON_AddStringToObject(obj, key, fixed ? fixed : s);
	free(fixed);
}

/* Appends a name to an array; on failure nothing is leaked. */
static void add_name(cJSON *arr, const char *name)
{
	cJSON *item = cJSON_CreateString(name);

	if (item && !cJSON_AddItemToArray(arr, item))
		cJSON_Delete(item);
}

static void add_time(cJSON *obj, const char *key, bool has,
		     const struct timespec *ts)
{
	char buf[40];

	if (has)
		cJSON_AddStringToObject(obj, key,
					pf_time_rfc3339(ts, buf, sizeof buf));
	else
		cJSON_AddNullToObject(obj, key);
}

static void add_target(cJSON *o, const struct pf_check_cfg *cfg)
{
	char target[PF_TARGET_MAX];

	if (!pf_check_target(cfg, target, sizeof target)) {
		cJSON_AddNullToObject(o, "target");
		return;
	}
	add_text(o, "target", target);
}

/* reason, error and hint: null unless the displayed status is failing; a
 * probe that passed with a warning shows its error; a stale on-demand
 * result says so (SPEC §3: "stale: run it"). */
static void add_failure(cJSON *o, const struct pf_view *v, size_t i)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];
	const struct check_state *st = &v->checks[i].state;
	enum pf_status s = pf_view_status(v, i);
	bool failing = pf_status_failing(s) && st->last.reason != PF_REASON_NONE;
	char stale[PF_ERROR_MAX], age[32];
	const char *error = NULL;

	if (failing || (s == PF_STATUS_WARN && st->last.warn))
		error = st->last.error;
	if (pf_state_stale(st, cfg, v->now_mono_ms)) {
		snprintf(stale, sizeof stale, "stale: the last result is older than"
			 " max_age (%s): run it (POST /run?check=%s)",
			 pf_duration_format(cfg->max_age_ms, age, sizeof age),
			 cfg->name);
		error = stale;
	}
	add_text(o, "reason", failing ? pf_reason_name(st->last.reason) : NULL);
	add_text(o, "error", error);
	add_text(o, "hint", failing ? pf_state_hint(st, cfg) : NULL);
}

cJSON *pf_render_check_obj(const struct pf_view *v, size_t i)
{
	const struct pf_check_cfg *cfg = &v->cfg->checks[i];
	const struct check_state *st = &v->checks[i].state;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	add_text(o, "kind", cfg->ops ? cfg->ops->kind : NULL);
	cJSON_AddStringToObject(o, "status", pf_status_name(pf_view_status(v, i)));
	cJSON_AddBoolToObject(o, "critical", cfg->critical);
	if (cfg->on_demand)
		cJSON_AddTrueToObject(o, "on_demand");
	add_target(o, cfg);
	add_failure(o, v, i);
	add_time(o, "last_run", st->has_run, &st->last_run);
	add_time(o, "last_success", st->has_success, &st->last_success);
	if (st->has_run)
		cJSON_AddNumberToObject(o, "duration_ms",
					round(st->duration_ms * 1000.0) / 1000.0);
	else
		cJSON_AddNullToObject(o, "duration_ms");
	cJSON_AddNumberToObject(o, "consecutive_failures",
				st->consecutive_failures);
	add_text(o, "caused_by", pf_caused_by(v, i));
	/* a reference, not a copy: the state outlives this render */
	if (cJSON_IsObject(st->last.details))
		cJSON_AddItemReferenceToObject(o, "details", st->last.details);
	else
		cJSON_AddItemToObject(o, "details", cJSON_CreateObject());
	return o;
}

cJSON *pf_render_check_json(const struct pf_view *v, size_t i)
{
	if (i >= v->n_checks)
		return NULL;
	return pf_render_check_obj(v, i);
}

static cJSON *groups_json(const struct pf_view *v, int group)
{
	cJSON *groups = cJSON_CreateObject();

	for (size_t g = 0; groups && g < v->cfg->n_groups; g++) {
		const struct pf_group_cfg *gc = &v->cfg->groups[g];
		cJSON *o, *names;
		struct pf_set s;

		if (group >= 0 && (size_t)group != g)
			continue;
		if (pf_set_init(&s, v, (int)g) < 0)
			continue;
		o = cJSON_AddObjectToObject(groups, gc->name);
		cJSON_AddStringToObject(o, "status",
					pf_status_name(pf_set_overall(v, &s)));
		names = cJSON_AddArrayToObject(o, "checks");
		for (size_t k = 0; k < s.n; k++)
			add_name(names, v->cfg->checks[s.idx[k]].name);
		pf_set_free(&s);
	}
	return groups;
}

static void add_header(cJSON *root, const struct pf_view *v, enum pf_status st)
{
	char buf[40];

	cJSON_AddStringToObject(root, "status", pf_status_name(st));
	cJSON_AddStringToObject(root, "service", "preflightd");
	cJSON_AddStringToObject(root, "version", PF_VERSION);
	add_text(root, "instance", v->instance ? v->instance : "");
	cJSON_AddStringToObject(root, "started_at",
				pf_time_rfc3339(&v->started_at, buf, sizeof buf));
	cJSON_AddStringToObject(root, "generated_at",
				pf_time_rfc3339(&v->now, buf, sizeof buf));
}

cJSON *pf_render_status_head(const struct pf_view *v, int group,
			     const struct pf_set *s)
{
	cJSON *root = cJSON_CreateObject();

	if (!root)
		return NULL;
	add_header(root, v, pf_set_overall(v, s));
	cJSON_AddItemToObject(root, "groups", groups_json(v, group));
	return root;
}

cJSON *pf_render_status_json(const struct pf_view *v, int group)
{
	struct pf_set s;
	cJSON *root = NULL, *checks;

	if (pf_set_init(&s, v, group) < 0)
		goto out;
	if (!(root = pf_render_status_head(v, group, &s)))
		goto out;
	checks = cJSON_AddObjectToObject(root, "checks");
	for (size_t k = 0; checks && k < s.n; k++) {
		cJSON *c = pf_render_check_obj(v, s.idx[k]);

		if (c && !cJSON_AddItemToObject(checks,
						v->cfg->checks[s.idx[k]].name, c))
			cJSON_Delete(c);
	}
out:
	pf_set_free(&s);
	return root;
}

static char *print_and_free(cJSON *root)
{
	char *out;

	if (!root)
		return NULL;
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

char *pf_render_status(const struct pf_view *v, int group)
{
	return print_and_free(pf_render_status_json(v, group));
}

char *pf_render_check(const struct pf_view *v, size_t i)
{
	cJSON *o = pf_render_check_json(v, i);

	if (o)
		pf_history_json(v->checks[i].state.history, v->now.tv_sec, o);
	return print_and_free(o);
}

char *pf_render_readyz(const struct pf_view *v, int group, bool *ready)
{
	struct pf_set s;
	cJSON *root = NULL, *failing;

	*ready = false;
	if (pf_set_init(&s, v, group) < 0)
		goto out;
	*ready = pf_set_ready(v, &s);
	if (!(root = cJSON_CreateObject()))
		goto out;
	cJSON_AddStringToObject(root, "status", *ready ? "pass" : "fail");
	cJSON_AddBoolToObject(root, "ready", *ready);
	failing = cJSON_AddArrayToObject(root, "failing");
	for (size_t k = 0; failing && k < s.n; k++)
		if (pf_set_counts(v, &s, k) && !pf_check_ready(v, s.idx[k]))
			add_name(failing, v->cfg->checks[s.idx[k]].name);
out:
	pf_set_free(&s);
	return print_and_free(root);
}
