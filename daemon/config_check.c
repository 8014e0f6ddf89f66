/*
 * One entry of "checks": the common keys (config_keys.c) with "defaults"
 * applied and the kind's defaults for the rest, the kind's key table, the
 * fingerprint and the redacted description.
 * A pf_check_cfg built here owns its strings, hints and kind config;
 * pf_check_cfg_release() frees them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "config_keys.h"
#include "config_priv.h"
#include "pf_config.h"
#include "pf_keys.h"
#include "pf_util.h"
#include "registry.h"

/* Prefixes a table's "path.key: msg" with "SOURCE: ". */
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

/* The kind first (its table decides which other keys are known). */
static int find_ops(const cJSON *obj, const char *path, const struct pf_load *ld,
		    struct pf_check_cfg *c, char *err, size_t errlen)
{
	const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
	char known[256];

	if (!cJSON_IsString(kind)) {
		snprintf(err, errlen, "%s: %s.kind: %s", ld->source, path,
			 kind ? "must be a string" : "is required");
		return -1;
	}
	c->ops = find_kind(ld, kind->valuestring);
	if (!c->ops) {
		kind_list(ld, known, sizeof known);
		snprintf(err, errlen, "%s: %s.kind: unknown kind \"%.64s\" (known: %s)",
			 ld->source, path, kind->valuestring, known);
		return -1;
	}
	return 0;
}

/* The common keys (parsed by pf_common_keys) with the kind's defaults for
 * what is absent, then the timeout/interval rule. */
static int common_fields(struct pf_check_common *cm, const char *path,
			 const struct pf_load *ld, struct pf_check_cfg *c,
			 char *err, size_t errlen)
{
	const struct pf_check_defaults *d = &cm->d;
	char a[32], b[32];

	c->name = cm->name;
	cm->name = NULL;
	c->depends_on = cm->depends_on.v;
	c->n_depends_on = cm->depends_on.n;
	cm->depends_on.v = NULL;
	cm->depends_on.n = 0;
	c->hints = d->hints;
	cm->d.hints = NULL;
	c->on_demand = d->interval.set ? d->interval.off : c->ops->default_on_demand;
	c->interval_ms = c->on_demand ? 0 : d->interval.set ? d->interval.ms :
		c->ops->default_interval_ms ? c->ops->default_interval_ms :
		PF_DEFAULT_INTERVAL_MS;
	c->timeout_ms = d->timeout_ms ? d->timeout_ms : c->ops->default_timeout_ms ?
		c->ops->default_timeout_ms : PF_DEFAULT_TIMEOUT_MS;
	c->max_age_ms = d->max_age_ms ? d->max_age_ms : PF_DEFAULT_MAX_AGE_MS;
	c->failure_threshold = (unsigned)d->failure_threshold;
	c->success_threshold = (unsigned)d->success_threshold;
	c->critical = d->critical;
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

/* SHA-256 of the canonical JSON of the effective object with common
 * fields normalised, so "10s" and 10 or an omitted default fingerprint
 * alike.  The digest, not the text, is kept: 32 bytes instead of ~160 a
 * check (10,000 checks: 1.3 MB), and no copy of the secrets in it. */
static int fingerprint(const cJSON *eff, struct pf_check_cfg *c)
{
	cJSON *fp = cJSON_Duplicate(eff, 1);
	char *s;
	int ok;

	if (!fp)
		return -1;
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
	ok = s && EVP_Digest(s, strlen(s), c->fingerprint, NULL, EVP_sha256(),
			     NULL) == 1;
	free(s);
	return ok ? 0 : -1;
}

static int build_effective(const cJSON *eff, const cJSON *raw,
			   const char *path, const struct pf_load *ld,
			   struct pf_check_cfg *c, char *err, size_t errlen)
{
	struct pf_check_common cm = { 0 };
	int rc;

	if (pf_keys_parse(&pf_common_keys, c->ops->config, eff, raw, path, &cm,
			  err, errlen) < 0)
		return with_source(ld->source, err, errlen);
	rc = common_fields(&cm, path, ld, c, err, errlen);
	pf_keys_free(&pf_common_keys, &cm);
	if (rc < 0)
		return -1;
	c->kind_cfg = pf_keys_new(c->ops->config, &pf_common_keys, eff, raw, path,
				  err, errlen);
	if (!c->kind_cfg)
		return with_source(ld->source, err, errlen);
	if (pf_check_secrets_build(c, ld) < 0) {
		snprintf(err, errlen, "%s: %s: out of memory", ld->source, path);
		return -1;
	}
	if (fingerprint(eff, c) < 0) {
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
	if (find_ops(obj, path, ld, &c, err, errlen) < 0)
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
	if (c->kind_cfg && c->ops)
		pf_keys_delete(c->ops->config, c->kind_cfg);
	free(c->name);
	cJSON_Delete(c->hints);
	pf_cfg_strv_free(c->depends_on);
	free(c->dep_idx);
	pf_check_secrets_free(c);
	memset(c, 0, sizeof *c);
}

/* Adds the kind's described fields that do not clash with common ones. */
static void add_kind_fields(cJSON *o, const struct pf_check_cfg *c)
{
	cJSON *kd, *it;

	if (!c->kind_cfg)
		return;
	kd = pf_keys_describe(c->ops->config, c->kind_cfg);
	while (kd && (it = kd->child)) {
		cJSON_DetachItemViaPointer(kd, it);
		if (cJSON_GetObjectItemCaseSensitive(o, it->string))
			cJSON_Delete(it);
		else
			cJSON_AddItemToObject(o, it->string, it);
	}
	cJSON_Delete(kd);
}

bool pf_check_target(const struct pf_check_cfg *c, char *buf, size_t len)
{
	if (c->ops && c->kind_cfg)
		return pf_keys_target(c->ops->config, c->kind_cfg, buf, len);
	if (len)
		buf[0] = '\0';
	return false;
}

cJSON *pf_check_describe(const struct pf_check_cfg *c)
{
	cJSON *o = cJSON_CreateObject();
	char buf[512];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "kind", c->ops->kind);
	if (pf_check_target(c, buf, sizeof buf))
		cJSON_AddStringToObject(o, "target", buf);
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
	pf_check_mask_file_values(c, o);
	return o;
}
