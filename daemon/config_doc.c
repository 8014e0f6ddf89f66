/*
 * What the key tables say about the whole configuration: the reference
 * (`preflightd config --reference`, kept as docs/reference-config.md) and
 * the JSON Schema (`preflightd config --json-schema`, kept as
 * docs/preflightd.schema.json).  Tests check both files are up to date.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "config_keys.h"
#include "pf_check.h"
#include "pf_keys.h"
#include "registry.h"

void pf_config_reference(FILE *f)
{
	const struct check_ops *const *k = pf_registry_all();
	char title[96];

	fputs("# Configuration keys\n\n"
	      "Generated from the key tables the parser uses (`preflightd config"
	      " --reference`); a test fails when this file is out of date.\n"
	      "Durations are \"250ms\", \"5s\", \"1m30s\" or a number of seconds."
	      " Any string may use `${VAR}`, `${VAR:-default}` and"
	      " `${file:/path}`.\n\n## The document\n\n", f);
	pf_keys_reference(f, "top level", &pf_top_keys);
	fputs("## Every check\n\n", f);
	pf_keys_reference(f, "common keys", &pf_common_keys);
	fputs("## Kinds\n\n", f);
	for (size_t i = 0; k[i]; i++) {
		snprintf(title, sizeof title, "kind `%s`", k[i]->kind);
		pf_keys_reference(f, title, k[i]->config);
	}
}

/* One kind's check: its keys, the common ones, and "kind" fixed. */
static cJSON *kind_schema(const struct check_ops *ops)
{
	cJSON *s = pf_keys_schema(ops->config, &pf_common_keys);
	cJSON *props = s ? cJSON_GetObjectItemCaseSensitive(s, "properties") : NULL;
	cJSON *kind = cJSON_CreateObject();

	cJSON_AddStringToObject(kind, "const", ops->kind);
	if (props)
		cJSON_ReplaceItemInObjectCaseSensitive(props, "kind", kind);
	else
		cJSON_Delete(kind);
	return s;
}

cJSON *pf_config_schema(void)
{
	const struct check_ops *const *k = pf_registry_all();
	cJSON *s = pf_keys_schema(&pf_top_keys, NULL);
	cJSON *defs = cJSON_CreateObject(), *check = cJSON_CreateObject();
	cJSON *any = cJSON_AddArrayToObject(check, "oneOf");

	for (size_t i = 0; any && k[i]; i++)
		cJSON_AddItemToArray(any, kind_schema(k[i]));
	cJSON_AddItemToObject(defs, "check", check);
	cJSON_AddStringToObject(s, "$schema",
				"https://json-schema.org/draft/2020-12/schema");
	cJSON_AddStringToObject(s, "title", "preflightd configuration");
	cJSON_AddItemToObject(s, "$defs", defs);
	return s;
}
