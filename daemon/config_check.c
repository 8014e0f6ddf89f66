/*
 * One entry of "checks": common fields (SPEC §3) with "defaults" applied,
 * the kind's own parse(), the fingerprint and the redacted description.
 * A pf_check_cfg built here owns its strings, hints, kind config and
 * fingerprint; pf_check_cfg_release() frees them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config_priv.h"
#include "pf_config.h"
#include "pf_util.h"
#include "registry.h"

/* Keys of every check besides the kind's own. */
static const char *const common_keys[] = {
	"name", "kind", "interval", "timeout", "failure_threshold",
	"success_threshold", "critical", "hints", "depends_on", "max_age", NULL
};

/* Keys allowed in "defaults": the common fields that make sense for all. */
static const char *const default_keys[] = {
	"interval", "timeout", "failure_threshold", "success_threshold",
	"critical", "hints", "max_age", NULL
};

#define PF_THRESHOLD_MAX 1000

/* Prefixes a getter's "path.key: msg" with "SOURCE: ". */
static int with_source(const char *source, char *err, size_t errlen)
{
	char msg[512];

	pf_strlcpy(msg, err, sizeof msg);
	snprintf(err, errlen, "%s: %s", source, msg);
	return -1;
}

static const struct check_ops *find_kind(const struct pf_load *ld,
					 const char *kind)
{
	if (!ld->kinds)
		return pf_registry_find(kind);
	for (size_t i = 0; ld->kinds[i]; i++)
		if (strcmp(ld->kinds[i]->kind, kind) == 0)
			return ld->kinds[i];
	return NULL;
}

/* "tcp, postgres, ..." for the unknown-kind message. */
static void kind_list(const struct pf_load *ld, char *buf, size_t len)
{
	const struct check_ops *const *k = ld->kinds ? ld->kinds
						     : pf_registry_all();
	buf[0] = '\0';
	for (size_t i = 0; k[i]; i++) {
		if (i)
			pf_strlcat(buf, ", ", len);
		pf_strlcat(buf, k[i]->kind, len);
	}
}

/* hints: an object of strings whose keys are reason names. */
static int check_hints(const cJSON *obj, const char *path, const char *source,
		       const cJSON **out, char *err, size_t errlen)
{
	const cJSON *h = NULL, *it;
	char hpath[64];

	if (pf_cfg_strmap(obj, path, "hints", &h, err, errlen) < 0)
		return with_source(source, err, errlen);
	snprintf(hpath, sizeof hpath, "%s.hints", path);
	if (h && pf_config_check_keys(h, hpath, NULL, NULL, source, err,
				      errlen) < 0)
		return -1;	/* duplicate reason */
	cJSON_ArrayForEach(it, h) {
		if (pf_reason_from_name(it->string) < 0) {
			snprintf(err, errlen,
				 "%s: %s.hints.%.64s: not a failure reason (e.g. dns, connect_timeout, missing_table)",
				 source, path, it->string);
			return -1;
		}
	}
	*out = h;
	return 0;
}

/* interval: a duration, or "off" for an on-demand check (SPEC §3). */
static int read_interval(const cJSON *obj, const char *path,
			 struct pf_check_cfg *c, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "interval");

	if (cJSON_IsString(v) && strcmp(v->valuestring, "off") == 0) {
		c->interval_ms = 0;
		c->on_demand = true;
		return 0;
	}
	if (v)
		c->on_demand = false;
	if (pf_cfg_duration(obj, path, "interval", &c->interval_ms, err, errlen) < 0)
		return -1;
	if (v && c->interval_ms == 0) {
		snprintf(err, errlen, "%s.interval: must be longer than 0 (or \"off\""
			 " for an on-demand check)", path);
		return -1;
	}
	return 0;
}

/* The common fields that "defaults" may hold, read into c (left as they
 * are when absent).  Also used to validate "defaults" itself. */
static int read_common(const cJSON *obj, const char *path, const char *source,
		       struct pf_check_cfg *c, const cJSON **hints, char *err,
		       size_t errlen)
{
	long fail_t = c->failure_threshold, ok_t = c->success_threshold;

	if (read_interval(obj, path, c, err, errlen) < 0 ||
	    pf_cfg_duration(obj, path, "timeout", &c->timeout_ms, err, errlen) < 0 ||
	    pf_cfg_duration(obj, path, "max_age", &c->max_age_ms, err, errlen) < 0 ||
	    pf_cfg_int(obj, path, "failure_threshold", 1, PF_THRESHOLD_MAX,
		       &fail_t, err, errlen) < 0 ||
	    pf_cfg_int(obj, path, "success_threshold", 1, PF_THRESHOLD_MAX,
		       &ok_t, err, errlen) < 0 ||
	    pf_cfg_bool(obj, path, "critical", &c->critical, err, errlen) < 0)
		return with_source(source, err, errlen);
	c->failure_threshold = (unsigned)fail_t;
	c->success_threshold = (unsigned)ok_t;
	if (check_hints(obj, path, source, hints, err, errlen) < 0)
		return -1;
	if (c->timeout_ms == 0 || c->max_age_ms == 0) {
		snprintf(err, errlen, "%s: %s.%s: must be longer than 0",
			 source, path, c->timeout_ms == 0 ? "timeout" : "max_age");
		return -1;
	}
	return 0;
}

int pf_check_defaults_validate(const cJSON *defaults, const struct pf_load *ld,
			       char *err, size_t errlen)
{
	struct pf_check_cfg c = { .interval_ms = 1, .timeout_ms = 1,
				  .max_age_ms = 1, .failure_threshold = 1,
				  .success_threshold = 1 };
	const cJSON *hints = NULL;

	if (!defaults)
		return 0;
	if (!cJSON_IsObject(defaults)) {
		snprintf(err, errlen, "%s: defaults: must be an object", ld->source);
		return -1;
	}
	if (pf_config_check_keys(defaults, "defaults", default_keys, NULL,
				 ld->source, err, errlen) < 0)
		return -1;
	return read_common(defaults, "defaults", ld->source, &c, &hints, err,
			   errlen);
}

/* A copy of the check's object with the defaults it lacks added; hints are
 * merged per reason (the check's own text wins). */
static cJSON *apply_defaults(const cJSON *obj, const cJSON *defaults)
{
	cJSON *eff = cJSON_Duplicate(obj, 1);
	const cJSON *d;

	if (!eff || !defaults)
		return eff;
	cJSON_ArrayForEach(d, defaults) {
		cJSON *own = cJSON_GetObjectItemCaseSensitive(eff, d->string);
		const cJSON *h;
		if (own && strcmp(d->string, "hints") == 0 && cJSON_IsObject(own)) {
			cJSON_ArrayForEach(h, d) {
				if (!cJSON_GetObjectItemCaseSensitive(own, h->string))
					cJSON_AddItemToObject(own, h->string,
							      cJSON_Duplicate(h, 1));
			}
		} else if (!own) {
			cJSON_AddItemToObject(eff, d->string, cJSON_Duplicate(d, 1));
		}
	}
	return eff;
}

/* name and kind: both required; name well-formed, kind registered. */
static int name_and_kind(const cJSON *obj, const char *path,
			 const struct pf_load *ld, struct pf_check_cfg *c,
			 char *err, size_t errlen)
{
	char *kind = NULL;
	char known[256];

	if (pf_cfg_str(obj, path, "name", true, &c->name, err, errlen) < 0 ||
	    pf_cfg_str(obj, path, "kind", true, &kind, err, errlen) < 0) {
		free(kind);
		return with_source(ld->source, err, errlen);
	}
	if (!pf_config_valid_name(c->name)) {
		snprintf(err, errlen,
			 "%s: %s.name: \"%.64s\" must be 1-%d characters of a-z, 0-9, '_', '.', '-'",
			 ld->source, path, c->name, PF_NAME_MAX);
		free(kind);
		return -1;
	}
	c->ops = find_kind(ld, kind);
	if (!c->ops) {
		kind_list(ld, known, sizeof known);
		snprintf(err, errlen, "%s: %s.kind: unknown kind \"%.64s\" (known: %s)",
			 ld->source, path, kind, known);
	}
	free(kind);
	return c->ops ? 0 : -1;
}

/* Common fields of the effective object, then the timeout/interval rule. */
static int common_fields(const cJSON *eff, const char *path,
			 const struct pf_load *ld, struct pf_check_cfg *c,
			 char *err, size_t errlen)
{
	const cJSON *hints = NULL;
	char a[32], b[32];

	c->interval_ms = c->ops->default_interval_ms ? c->ops->default_interval_ms
						     : PF_DEFAULT_INTERVAL_MS;
	c->on_demand = c->ops->default_on_demand;
	if (c->on_demand)
		c->interval_ms = 0;
	c->timeout_ms = c->ops->default_timeout_ms ? c->ops->default_timeout_ms
						   : PF_DEFAULT_TIMEOUT_MS;
	c->max_age_ms = PF_DEFAULT_MAX_AGE_MS;
	c->failure_threshold = 1;
	c->success_threshold = 1;
	c->critical = true;
	if (read_common(eff, path, ld->source, c, &hints, err, errlen) < 0)
		return -1;
	c->run_spacing_ms = ld->run_spacing_set ? ld->run_spacing_ms :
		c->on_demand ? PF_DEFAULT_RUN_SPACING_ON_DEMAND_MS :
		PF_DEFAULT_RUN_SPACING_MS;
	if (!c->on_demand && !c->ops->timeout_may_exceed_interval &&
	    c->timeout_ms >= c->interval_ms) {
		snprintf(err, errlen,
			 "%s: %s.timeout: %s must be shorter than the interval (%s)",
			 ld->source, path, pf_duration_format(c->timeout_ms, a, sizeof a),
			 pf_duration_format(c->interval_ms, b, sizeof b));
		return -1;
	}
	if (hints && cJSON_GetArraySize(hints) > 0 &&
	    !(c->hints = cJSON_Duplicate(hints, 1))) {
		snprintf(err, errlen, "%s: %s: out of memory", ld->source, path);
		return -1;
	}
	if (pf_cfg_strv(eff, path, "depends_on", &c->depends_on,
			&c->n_depends_on, err, errlen) < 0)
		return with_source(ld->source, err, errlen);
	return 0;
}

/* Sorts object keys recursively so equal configs print equal. */
static void sort_keys(cJSON *node)
{
	size_t n = 0, i = 0;
	cJSON *c;

	for (c = node->child; c; c = c->next, n++)
		sort_keys(c);
	if (!cJSON_IsObject(node) || n < 2)
		return;
	cJSON **v = malloc(n * sizeof *v);
	if (!v)
		return;	/* unsorted is still a valid, merely stricter, fingerprint */
	for (c = node->child; c; c = c->next)
		v[i++] = c;
	for (i = 1; i < n; i++) {	/* insertion sort: configs are small */
		cJSON *x = v[i];
		size_t j = i;
		for (; j > 0 && strcmp(v[j - 1]->string, x->string) > 0; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	/* cJSON keeps the tail in child->prev */
	node->child = v[0];
	v[0]->prev = v[n - 1];
	for (i = 0; i + 1 < n; i++) {
		v[i]->next = v[i + 1];
		v[i + 1]->prev = v[i];
	}
	v[n - 1]->next = NULL;
	free(v);
}

/* Canonical JSON of the effective object with common fields normalised,
 * so "10s" and 10 or an omitted default fingerprint alike. */
static char *fingerprint(const cJSON *eff, const struct pf_check_cfg *c)
{
	cJSON *fp = cJSON_Duplicate(eff, 1);
	char *s;

	if (!fp)
		return NULL;
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "interval");
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "timeout");
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "max_age");
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "failure_threshold");
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "success_threshold");
	cJSON_DeleteItemFromObjectCaseSensitive(fp, "critical");
	cJSON_AddNumberToObject(fp, "interval", (double)c->interval_ms / 1000.0);
	cJSON_AddNumberToObject(fp, "timeout", (double)c->timeout_ms / 1000.0);
	cJSON_AddNumberToObject(fp, "max_age", (double)c->max_age_ms / 1000.0);
	cJSON_AddNumberToObject(fp, "failure_threshold", c->failure_threshold);
	cJSON_AddNumberToObject(fp, "success_threshold", c->success_threshold);
	cJSON_AddBoolToObject(fp, "critical", c->critical);
	sort_keys(fp);
	s = cJSON_PrintUnformatted(fp);
	cJSON_Delete(fp);
	return s;
}

static int build_effective(const cJSON *eff, const cJSON *raw,
			   const char *path, const struct pf_load *ld,
			   struct pf_check_cfg *c, char *err, size_t errlen)
{
	if (common_fields(eff, path, ld, c, err, errlen) < 0)
		return -1;
	if (c->ops->parse(eff, raw, path, &c->kind_cfg, err, errlen) < 0) {
		c->kind_cfg = NULL;
		return with_source(ld->source, err, errlen);
	}
	c->fingerprint = fingerprint(eff, c);
	if (!c->fingerprint) {
		snprintf(err, errlen, "%s: %s: out of memory", ld->source, path);
		return -1;
	}
	return 0;
}

int pf_check_build(const cJSON *obj, const cJSON *raw, int index,
		   const cJSON *defaults,
		   const struct pf_load *ld, struct pf_check_cfg *out,
		   char *err, size_t errlen)
{
	struct pf_check_cfg c = { 0 };
	cJSON *eff = NULL;
	char path[32];
	int rc = -1;

	snprintf(path, sizeof path, "checks[%d]", index);
	if (!cJSON_IsObject(obj)) {
		snprintf(err, errlen, "%s: %s: must be an object", ld->source, path);
		return -1;
	}
	if (name_and_kind(obj, path, ld, &c, err, errlen) < 0 ||
	    pf_config_check_keys(obj, path, common_keys, c.ops->keys,
				 ld->source, err, errlen) < 0)
		goto out;
	eff = apply_defaults(obj, defaults);
	if (!eff) {
		snprintf(err, errlen, "%s: %s: out of memory", ld->source, path);
		goto out;
	}
	rc = build_effective(eff, raw, path, ld, &c, err, errlen);
	cJSON_Delete(eff);
out:
	if (rc < 0)
		pf_check_cfg_release(&c);
	else
		*out = c;
	return rc;
}

void pf_check_cfg_release(struct pf_check_cfg *c)
{
	if (c->kind_cfg && c->ops && c->ops->free_cfg)
		c->ops->free_cfg(c->kind_cfg);
	free(c->name);
	cJSON_Delete(c->hints);
	pf_cfg_strv_free(c->depends_on);
	free(c->fingerprint);
	memset(c, 0, sizeof *c);
}

/* Adds the kind's described fields that do not clash with common ones. */
static void add_kind_fields(cJSON *o, const struct pf_check_cfg *c)
{
	if (!c->ops->describe || !c->kind_cfg)
		return;
	cJSON *kd = c->ops->describe(c->kind_cfg);
	cJSON *it;
	while (kd && (it = kd->child)) {
		cJSON_DetachItemViaPointer(kd, it);
		if (cJSON_GetObjectItemCaseSensitive(o, it->string))
			cJSON_Delete(it);
		else
			cJSON_AddItemToObject(o, it->string, it);
	}
	cJSON_Delete(kd);
}

cJSON *pf_check_describe(const struct pf_check_cfg *c)
{
	cJSON *o = cJSON_CreateObject();
	char buf[512];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "kind", c->ops->kind);
	if (c->ops->target && c->kind_cfg) {
		buf[0] = '\0';
		c->ops->target(c->kind_cfg, buf, sizeof buf);
		cJSON_AddStringToObject(o, "target", buf);
	}
	cJSON_AddStringToObject(o, "interval", c->on_demand ? "off" :
				pf_duration_format(c->interval_ms, buf, sizeof buf));
	cJSON_AddStringToObject(o, "timeout",
				pf_duration_format(c->timeout_ms, buf, sizeof buf));
	if (c->on_demand)
		cJSON_AddStringToObject(o, "max_age",
					pf_duration_format(c->max_age_ms, buf, sizeof buf));
	cJSON_AddNumberToObject(o, "failure_threshold", c->failure_threshold);
	cJSON_AddNumberToObject(o, "success_threshold", c->success_threshold);
	cJSON_AddBoolToObject(o, "critical", c->critical);
	if (c->hints)
		cJSON_AddItemToObject(o, "hints", cJSON_Duplicate(c->hints, 1));
	if (c->n_depends_on)
		cJSON_AddItemToObject(o, "depends_on",
				      cJSON_CreateStringArray((const char *const *)c->depends_on,
							      (int)c->n_depends_on));
	add_kind_fields(o, c);
	return o;
}
