/*
 * Loading the configuration document: file or string -> parsed JSON ->
 * ${...} expansion -> validation of the top level, checks and groups ->
 * struct pf_config (config.h).  Also the effective, redacted description.
 * On any error nothing is leaked and *out is untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_keys.h"
#include "config_notify.h"
#include "config_priv.h"
#include "config_text.h"
#include "pf_mask.h"
#include "pf_file.h"
#include "interp.h"
#include "pf_config.h"
#include "pf_keys.h"
#include "pf_net.h"
#include "pf_util.h"

#define PF_MAX_CHECKS 10000	/* far above any real deployment, bounds the work */

static int load_checks(const cJSON *doc, const cJSON *raw,
		       const struct pf_load *ld, struct pf_config *cfg,
		       char *err, size_t errlen)
{
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(doc, "checks");
	const cJSON *defaults = cJSON_GetObjectItemCaseSensitive(doc, "defaults");
	const cJSON *raw_checks = raw ? cJSON_GetObjectItemCaseSensitive(raw, "checks") : NULL;
	const cJSON *it, *raw_it = raw_checks ? raw_checks->child : NULL;
	int i = 0;

	if (!checks)
		return 0;
	int n = cJSON_GetArraySize(checks);
	if (n > PF_MAX_CHECKS) {
		snprintf(err, errlen, "%s: checks: more than %d checks", ld->source,
			 PF_MAX_CHECKS);
		return -1;
	}
	if (n == 0)
		return 0;
	cfg->checks = calloc((size_t)n, sizeof *cfg->checks);
	if (!cfg->checks) {
		snprintf(err, errlen, "%s: out of memory", ld->source);
		return -1;
	}
	cJSON_ArrayForEach(it, checks) {
		if (pf_check_build(it, raw_it, i, defaults, ld, &cfg->checks[i],
				   err, errlen) < 0)
			return -1;
		cfg->n_checks = (size_t)++i;
		raw_it = raw_it ? raw_it->next : NULL;
	}
	return pf_config_deps_and_names(cfg, err, errlen);
}

/* One group: a non-empty array of distinct, existing check names. */
static int load_group(const cJSON *groups, const cJSON *g,
		      const struct pf_config *cfg,
		      const char *source, struct pf_group_cfg *out, char *err,
		      size_t errlen)
{
	char path[PF_NAME_MAX + 16];

	snprintf(path, sizeof path, "groups.%s", g->string);
	if (!pf_config_valid_name(g->string)) {
		snprintf(err, errlen,
			 "%s: groups.%.64s: a group name must be 1-%d characters of a-z, 0-9, '_', '.', '-'",
			 source, g->string, PF_NAME_MAX);
		return -1;
	}
	if (!(out->name = strdup(g->string))) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -1;
	}
	if (cJSON_IsArray(g) && (size_t)cJSON_GetArraySize(g) > cfg->n_checks) {
		snprintf(err, errlen, "%s: %s: lists more checks than there are",
			 source, path);
		return -1;
	}
	if (!cJSON_IsArray(g) || cJSON_GetArraySize(g) == 0) {
		snprintf(err, errlen, "%s: %s: must be a non-empty array of check names",
			 source, path);
		return -1;
	}
	if (pf_cfg_strv(groups, "groups", g->string, &out->checks,
			&out->n_checks, err, errlen) < 0) {
		char msg[512];
		pf_strlcpy(msg, err, sizeof msg);
		snprintf(err, errlen, "%s: %s", source, msg);
		return -1;
	}
	if (!(out->idx = calloc(out->n_checks + 1, sizeof *out->idx))) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -1;
	}
	for (size_t i = 0; i < out->n_checks; i++) {
		const char *m = out->checks[i];
		int at = pf_config_find_check(cfg, m);

		out->idx[i] = (size_t)at;
		if (at < 0) {
			snprintf(err, errlen, "%s: %s[%zu]: no check is named \"%.64s\"",
				 source, path, i, m);
			return -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(out->checks[j], m) == 0) {
				snprintf(err, errlen, "%s: %s[%zu]: \"%.64s\" is listed twice",
					 source, path, i, m);
				return -1;
			}
		}
	}
	return 0;
}

static int load_groups(const cJSON *doc, const char *source,
		       struct pf_config *cfg, char *err, size_t errlen)
{
	const cJSON *groups = cJSON_GetObjectItemCaseSensitive(doc, "groups");
	const cJSON *g;

	if (!groups)
		return 0;
	int n = cJSON_GetArraySize(groups);
	if (n == 0)
		return 0;
	cfg->groups = calloc((size_t)n, sizeof *cfg->groups);
	if (!cfg->groups) {
		snprintf(err, errlen, "%s: out of memory", source);
		return -1;
	}
	cJSON_ArrayForEach(g, groups) {
		/* counted first so a half-built group is released too */
		struct pf_group_cfg *gc = &cfg->groups[cfg->n_groups++];
		if (load_group(groups, g, cfg, source, gc, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void pf_config_free(struct pf_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_checks; i++)
		pf_check_cfg_release(&cfg->checks[i]);
	free(cfg->checks);
	for (size_t i = 0; i < cfg->n_groups; i++) {
		free(cfg->groups[i].name);
		pf_cfg_strv_free(cfg->groups[i].checks);
		free(cfg->groups[i].idx);
	}
	free(cfg->groups);
	for (size_t i = 0; i < cfg->n_notes; i++)
		free(cfg->notes[i]);
	free(cfg->notes);
	for (size_t i = 0; i < cfg->notify.n; i++)
		pf_keys_free(&pf_notify_keys,
			     (struct pf_notify_cfg *)cfg->notify.v + i);
	free(cfg->notify.v);
	free(cfg->public_url);
	free(cfg->source);
	free(cfg->listen);
	if (cfg->run_token)
		explicit_bzero(cfg->run_token, strlen(cfg->run_token));
	free(cfg->run_token);
	free(cfg);
}

/* The top level's own values (config_keys.c checked them). */
static int load_top(const cJSON *doc, const cJSON *raw, struct pf_load *ld,
		    struct pf_config *cfg, char *err, size_t errlen)
{
	struct pf_top_cfg top = { 0 };
	char msg[512];

	if (pf_keys_parse(&pf_top_keys, NULL, doc, raw, "", &top, msg,
			  sizeof msg) < 0) {
		snprintf(err, errlen, "%s: %s", ld->source, msg);
		return -1;
	}
	cfg->listen = top.listen;
	cfg->run_token = top.run_token;
	cfg->notify = top.notify;
	cfg->public_url = top.public_url;
	top.listen = top.run_token = top.public_url = NULL;
	top.notify.v = NULL;
	top.notify.n = 0;
	ld->run_spacing_set = cfg->run_spacing_set = top.run_spacing_set;
	ld->run_spacing_ms = cfg->run_spacing_ms = top.run_spacing_ms;
	pf_keys_free(&pf_top_keys, &top);
	return 0;
}

static int load_doc(const cJSON *doc, const cJSON *raw,
		    const struct pf_load *ld_in, struct pf_config *cfg, char *err,
		    size_t errlen)
{
	struct pf_load ld = *ld_in;

	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "%s: the configuration must be a JSON object",
			 ld.source);
		return -1;
	}
	if (load_top(doc, raw, &ld, cfg, err, errlen) < 0 ||
	    load_checks(doc, raw, &ld, cfg, err, errlen) < 0 ||
	    load_groups(doc, ld.source, cfg, err, errlen) < 0 ||
	    pf_config_notify_resolve(cfg, err, errlen) < 0)
		return -1;
	return 0;
}

/* Masks in err the expanded value of every string that used ${file:}:
 * a kind's or getter's message may quote a value ("x" is not a duration)
 * and file contents are secrets.  raw is the document before expansion;
 * both trees have the same shape. */
static void mask_file_values(const cJSON *raw, const cJSON *exp, char *err)
{
	if (cJSON_IsString(raw) && cJSON_IsString(exp)) {
		if (strstr(raw->valuestring, "${file:"))
			pf_mask_secret(err, 0, exp->valuestring);
		return;
	}
	for (raw = raw->child, exp = exp->child; raw && exp;
	     raw = raw->next, exp = exp->next)
		mask_file_values(raw, exp, err);
}

int pf_config_load_json(cJSON *doc, bool expand, const struct pf_load *ld,
			struct pf_config **out, char *err, size_t errlen)
{
	struct pf_config *cfg = calloc(1, sizeof *cfg);
	struct pf_load files = *ld;
	cJSON *raw = NULL;
	int rc = -1;

	files.file_values = NULL;
	files.n_file_values = 0;

	if (!cfg || !(cfg->source = strdup(ld->source)) ||
	    (expand && !(raw = cJSON_Duplicate(doc, 1)))) {
		snprintf(err, errlen, "%s: out of memory", ld->source);
		goto out;
	}
	if (expand && pf_interp_tree(doc, "", err, errlen) < 0) {
		char msg[512];
		pf_strlcpy(msg, err, sizeof msg);
		snprintf(err, errlen, "%s: %s", ld->source, msg);
		goto out;
	}
	if (raw && pf_config_file_values(raw, doc, &files.file_values,
					 &files.n_file_values) < 0) {
		snprintf(err, errlen, "%s: out of memory", ld->source);
		goto out;
	}
	rc = load_doc(doc, raw, &files, cfg, err, errlen);
	if (rc < 0 && raw)
		mask_file_values(raw, doc, err);
	if (rc == 0 && !cfg->run_token)
		rc = pf_env_value("PREFLIGHT_RUN_TOKEN", PF_INTERP_MAX_FILE,
				  &cfg->run_token, NULL, err, errlen);
out:
	pf_config_file_values_free(files.file_values, files.n_file_values);
	cJSON_Delete(raw);
	cJSON_Delete(doc);
	if (rc < 0)
		pf_config_free(cfg);
	else
		*out = cfg;
	return rc;
}

int pf_config_load_string_ops(const char *text, const char *source,
			      const struct check_ops *const *kinds,
			      struct pf_config **out, char *err, size_t errlen)
{
	struct pf_load ld = { .source = source, .kinds = kinds };
	cJSON *doc = NULL;

	if (pf_text_parse(text, strlen(text), source, &doc, err, errlen) < 0)
		return -1;
	return pf_config_load_json(doc, true, &ld, out, err, errlen);
}

int pf_config_load_string(const char *text, const char *source,
			  struct pf_config **out, char *err, size_t errlen)
{
	return pf_config_load_string_ops(text, source, NULL, out, err, errlen);
}

int pf_config_load_file(const char *path, struct pf_config **out, char *err,
			size_t errlen)
{
	struct pf_load ld = { .source = path, .kinds = NULL };
	char *text = NULL;
	size_t len = 0;
	cJSON *doc = NULL;

	if (pf_file_read(path, PF_CONFIG_MAX_BYTES, &text, &len,
			      "config file", err, errlen) < 0)
		return -1;
	int rc = pf_text_parse(text, len, path, &doc, err, errlen);
	free(text);
	if (rc < 0)
		return -1;
	return pf_config_load_json(doc, true, &ld, out, err, errlen);
}

int pf_config_add_note(struct pf_config *cfg, const char *text)
{
	char **v = realloc(cfg->notes, (cfg->n_notes + 1) * sizeof *v);

	if (!v)
		return -1;
	cfg->notes = v;
	if (!(v[cfg->n_notes] = strdup(text)))
		return -1;
	cfg->n_notes++;
	return 0;
}

cJSON *pf_config_describe(const struct pf_config *cfg)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *checks = cJSON_CreateArray();
	cJSON *groups = cJSON_CreateObject();

	if (!o || !checks || !groups) {
		cJSON_Delete(o);
		cJSON_Delete(checks);
		cJSON_Delete(groups);
		return NULL;
	}
	cJSON_AddStringToObject(o, "source", cfg->source);
	cJSON_AddStringToObject(o, "listen", cfg->listen);
	if (cfg->run_token)
		cJSON_AddStringToObject(o, "run_token", "***");
	if (cfg->run_spacing_set) {
		char buf[32];
		cJSON_AddStringToObject(o, "run_min_spacing",
					pf_duration_format(cfg->run_spacing_ms, buf, sizeof buf));
	}
	for (size_t i = 0; i < cfg->n_checks; i++)
		cJSON_AddItemToArray(checks, pf_check_describe(&cfg->checks[i]));
	if (cfg->public_url)
		cJSON_AddStringToObject(o, "public_url", cfg->public_url);
	if (cfg->notify.n) {
		cJSON *n = cJSON_AddArrayToObject(o, "notify");

		for (size_t i = 0; n && i < cfg->notify.n; i++)
			cJSON_AddItemToArray(n, pf_keys_describe(&pf_notify_keys,
				(const struct pf_notify_cfg *)cfg->notify.v + i));
	}
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct pf_group_cfg *g = &cfg->groups[i];
		cJSON_AddItemToObject(groups, g->name,
				      cJSON_CreateStringArray((const char *const *)g->checks,
							      (int)g->n_checks));
	}
	cJSON_AddItemToObject(o, "checks", checks);
	cJSON_AddItemToObject(o, "groups", groups);
	if (cfg->n_notes)
		cJSON_AddItemToObject(o, "notes", cJSON_CreateStringArray(
			(const char *const *)cfg->notes, (int)cfg->n_notes));
	return o;
}
