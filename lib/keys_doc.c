/*
 * Key tables, part three: what the tables say about themselves -- the
 * reference tables of docs/reference.md and the JSON Schema of the
 * config -- so the docs, the schema and the parser cannot disagree.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_keys.h"
#include "pf_util.h"

/* "1 to 1000", "one of GET, HEAD, POST", ... for the type column. */
static const char *type_name(const struct pf_key *k, char *buf, size_t len)
{
	switch (k->type) {
	case PF_KEY_STRING:
		return k->secret ? "string (secret)" : "string";
	case PF_KEY_SECRET:
		return "string (secret; a `${file:}` is re-read when it changes)";
	case PF_KEY_URL:
		return "URL (its password is masked)";
	case PF_KEY_ENUM:
		pf_strlcpy(buf, "one of ", len);
		for (size_t i = 0; k->choices[i]; i++) {
			pf_strlcat(buf, i ? ", `" : "`", len);
			pf_strlcat(buf, k->choices[i], len);
			pf_strlcat(buf, "`", len);
		}
		return buf;
	case PF_KEY_BOOL:
		return "boolean";
	case PF_KEY_DURATION:
		return "duration (\"250ms\", \"5s\", \"1m30s\", or seconds)";
	case PF_KEY_INT:
		snprintf(buf, len, "integer, %ld to %ld", k->min, k->max);
		return buf;
	case PF_KEY_STRINGS:
		return "array of strings";
	case PF_KEY_MAP:
		return k->secret ? "object of strings (values masked)"
				 : "object of strings";
	case PF_KEY_JSON:
		return "object";
	case PF_KEY_OBJECT:
		snprintf(buf, len, "object (%s)", k->sub->name);
		return buf;
	case PF_KEY_OBJECTS:
		snprintf(buf, len, "array of objects (%s)", k->sub->name);
		return buf;
	case PF_KEY_CUSTOM:
		return k->custom->type_doc;
	case PF_KEY_INLINE:
		break;
	}
	return "?";
}

/* A table cell: '|' would end the cell. */
static void cell(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '|')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The rows of t's keys, inlined tables' keys in place. */
static void rows(FILE *f, const struct pf_keys *t)
{
	char buf[256];

	for (const struct pf_key *k = t->keys; k->name; k++) {
		if (k->type == PF_KEY_INLINE) {
			rows(f, k->sub);
			continue;
		}
		fprintf(f, "| `%s` | ", k->name);
		cell(f, type_name(k, buf, sizeof buf));
		fputs(" | ", f);
		if (k->required)
			fputs("required", f);
		else if (k->def) {
			fputs("`", f);
			cell(f, k->def);
			fputs("`", f);
		}
		fputs(" | ", f);
		cell(f, k->doc);
		fputs(" |\n", f);
	}
}

/* The nested tables of t (and of its inlined ones), after it. */
static void nested(FILE *f, const struct pf_keys *t)
{
	for (const struct pf_key *k = t->keys; k->name; k++)
		if (k->type == PF_KEY_INLINE)
			nested(f, k->sub);
		else if (k->type == PF_KEY_OBJECT || k->type == PF_KEY_OBJECTS)
			pf_keys_reference(f, k->sub->name, k->sub);
}

void pf_keys_reference(FILE *f, const char *title, const struct pf_keys *t)
{
	fprintf(f, "### %s\n\n", title);
	if (t->doc)
		fprintf(f, "%s\n\n", t->doc);
	fputs("| key | type | default | meaning |\n|---|---|---|---|\n", f);
	rows(f, t);
	fputs("\n", f);
	nested(f, t);
}

/* The schema of a duration: "5s"-style text or seconds. */
static cJSON *duration_schema(void)
{
	return cJSON_Parse("{\"oneOf\":[{\"type\":\"string\",\"pattern\":"
			   "\"^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$\"},"
			   "{\"type\":\"number\",\"minimum\":0}]}");
}

static cJSON *value_schema(const struct pf_key *k)
{
	cJSON *s;

	switch (k->type) {
	case PF_KEY_ENUM:
		s = cJSON_CreateObject();
		cJSON_AddItemToObject(s, "enum", cJSON_CreateArray());
		for (size_t i = 0; k->choices[i]; i++)
			cJSON_AddItemToArray(cJSON_GetObjectItem(s, "enum"),
					     cJSON_CreateString(k->choices[i]));
		return s;
	case PF_KEY_BOOL:
		return cJSON_Parse("{\"type\":\"boolean\"}");
	case PF_KEY_DURATION:
		return duration_schema();
	case PF_KEY_INT:
		s = cJSON_Parse("{\"type\":\"integer\"}");
		cJSON_AddNumberToObject(s, "minimum", (double)k->min);
		cJSON_AddNumberToObject(s, "maximum", (double)k->max);
		return s;
	case PF_KEY_STRINGS:
		return cJSON_Parse("{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
	case PF_KEY_MAP:
		return cJSON_Parse("{\"type\":\"object\",\"additionalProperties\":"
				   "{\"type\":\"string\"}}");
	case PF_KEY_JSON:
		return cJSON_Parse("{\"type\":\"object\"}");
	case PF_KEY_OBJECT:
		return pf_keys_schema(k->sub, NULL);
	case PF_KEY_OBJECTS:
		s = cJSON_Parse("{\"type\":\"array\"}");
		cJSON_AddItemToObject(s, "items", pf_keys_schema(k->sub, NULL));
		return s;
	case PF_KEY_CUSTOM:
		return cJSON_Parse(k->custom->schema);
	default:
		return cJSON_Parse("{\"type\":\"string\"}");
	}
}

static void add_properties(cJSON *props, cJSON *required, const struct pf_keys *t)
{
	for (const struct pf_key *k = t ? t->keys : NULL; k && k->name; k++) {
		cJSON *s;

		if (k->type == PF_KEY_INLINE) {
			add_properties(props, required, k->sub);
			continue;
		}
		s = value_schema(k);

		if (!s)
			continue;
		if (k->doc)
			cJSON_AddStringToObject(s, "description", k->doc);
		cJSON_AddItemToObject(props, k->name, s);
		if (k->required)
			cJSON_AddItemToArray(required, cJSON_CreateString(k->name));
	}
}

cJSON *pf_keys_schema(const struct pf_keys *t, const struct pf_keys *also)
{
	cJSON *s = cJSON_CreateObject();
	cJSON *props = cJSON_CreateObject(), *req = cJSON_CreateArray();

	if (!s || !props || !req) {
		cJSON_Delete(s);
		cJSON_Delete(props);
		cJSON_Delete(req);
		return NULL;
	}
	cJSON_AddStringToObject(s, "type", "object");
	add_properties(props, req, t);
	add_properties(props, req, also);
	cJSON_AddItemToObject(s, "properties", props);
	if (cJSON_GetArraySize(req) > 0)
		cJSON_AddItemToObject(s, "required", req);
	else
		cJSON_Delete(req);
	cJSON_AddBoolToObject(s, "additionalProperties", false);
	return s;
}
