/*
 * Key tables, part two: what may be shown of a parsed object
 * (`preflightd config`) and which of its values are secrets (for the
 * masking of every output).  Pure; describe returns a new cJSON tree.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_config.h"
#include "pf_keys.h"
#include "pf_mask.h"
#include "pf_util.h"

#define MASKED "***"

static const void *field_of(const void *obj, const struct pf_key *k)
{
	return (const char *)obj + k->offset;
}

static cJSON *masked_map(const cJSON *map, bool secret)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *it;

	cJSON_ArrayForEach(it, map) {
		bool hide = secret && !pf_mask_header_is_public(it->string);

		cJSON_AddStringToObject(o, it->string, hide ? MASKED : it->valuestring);
	}
	return o;
}

static cJSON *strings_json(const struct pf_strv *sv)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

static cJSON *objects_json(const struct pf_key *k, const struct pf_objv *ov)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < ov->n; i++)
		cJSON_AddItemToArray(a, pf_keys_describe(k->sub,
				     (const char *)ov->v + i * k->sub->size));
	return a;
}

static cJSON *string_json(const struct pf_key *k, const char *s)
{
	char buf[2048];

	if (!s)
		return NULL;
	if (k->secret)
		return cJSON_CreateString(MASKED);
	if (k->type == PF_KEY_URL)
		return cJSON_CreateString(pf_mask_url(s, buf, sizeof buf));
	return cJSON_CreateString(s);
}

/* The shown value of one key; NULL to leave it out. */
static cJSON *value_json(const struct pf_key *k, const void *f)
{
	char buf[64];

	switch (k->type) {
	case PF_KEY_STRING:
	case PF_KEY_URL:
	case PF_KEY_ENUM:
		return string_json(k, *(char *const *)f);
	case PF_KEY_SECRET:
		return *(struct pf_secret *const *)f ? cJSON_CreateString(MASKED)
						     : NULL;
	case PF_KEY_BOOL:
		return cJSON_CreateBool(*(const bool *)f);
	case PF_KEY_DURATION:
		if (*(const uint64_t *)f == 0 && !k->def)
			return NULL;	/* absent: the rule is off */
		return cJSON_CreateString(pf_duration_format(*(const uint64_t *)f,
							     buf, sizeof buf));
	case PF_KEY_INT:
		/* below the minimum: the table's check marked it unset */
		if (*(const long *)f < k->min)
			return NULL;
		return cJSON_CreateNumber((double)*(const long *)f);
	case PF_KEY_STRINGS:
		return ((const struct pf_strv *)f)->v || k->def ?
			strings_json(f) : NULL;
	case PF_KEY_MAP:
		return *(cJSON *const *)f ? masked_map(*(cJSON *const *)f, k->secret)
					  : NULL;
	case PF_KEY_JSON:
		return *(cJSON *const *)f ? cJSON_Duplicate(*(cJSON *const *)f, 1)
					  : NULL;
	case PF_KEY_OBJECT:
		return *(void *const *)f ? pf_keys_describe(k->sub, *(void *const *)f)
					 : NULL;
	case PF_KEY_OBJECTS:
		return objects_json(k, f);
	case PF_KEY_CUSTOM:
		return k->custom->describe ? k->custom->describe(f) : NULL;
	case PF_KEY_INLINE:
		break;		/* pf_keys_describe merges it */
	}
	return NULL;
}

/* Moves every member of from into to. */
static void merge(cJSON *to, cJSON *from)
{
	cJSON *it;

	while (from && (it = from->child)) {
		cJSON_DetachItemViaPointer(from, it);
		cJSON_AddItemToObject(to, it->string, it);
	}
	cJSON_Delete(from);
}

cJSON *pf_keys_describe(const struct pf_keys *t, const void *obj)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	for (const struct pf_key *k = t->keys; k->name; k++) {
		cJSON *v = k->hidden ? NULL : value_json(k, field_of(obj, k));

		if (k->type == PF_KEY_INLINE)
			merge(o, pf_keys_describe(k->sub, field_of(obj, k)));
		else if (v)
			cJSON_AddItemToObject(o, k->name, v);
	}
	if (t->describe)
		t->describe(obj, o);
	return o;
}

bool pf_keys_target(const struct pf_keys *t, const void *obj, char *buf,
		    size_t len)
{
	for (const struct pf_key *k = t && t->target ? t->keys : NULL;
	     k && k->name; k++) {
		const char *v = *(char *const *)field_of(obj, k);

		if (strcmp(k->name, t->target) != 0 || !v)
			continue;
		if (k->type == PF_KEY_URL)
			pf_mask_url(v, buf, len);
		else
			pf_strlcpy(buf, v, len);
		return true;
	}
	if (len)
		buf[0] = '\0';
	return false;
}

void pf_keys_urls(const struct pf_keys *t, const void *obj,
		  void (*fn)(void *arg, const char *url), void *arg)
{
	for (const struct pf_key *k = t->keys; k->name; k++) {
		const void *f = field_of(obj, k);

		if (k->type == PF_KEY_URL && *(char *const *)f)
			fn(arg, *(char *const *)f);
		else if (k->type == PF_KEY_OBJECT && *(void *const *)f)
			pf_keys_urls(k->sub, *(void *const *)f, fn, arg);
		else if (k->type == PF_KEY_INLINE)
			pf_keys_urls(k->sub, f, fn, arg);
	}
}

static void map_secrets(const cJSON *map,
			void (*fn)(void *arg, const char *secret), void *arg)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, map)
		if (!pf_mask_header_is_public(it->string))
			fn(arg, it->valuestring);
}

void pf_keys_secrets(const struct pf_keys *t, const void *obj,
		     void (*fn)(void *arg, const char *secret), void *arg)
{
	for (const struct pf_key *k = t->keys; k->name; k++) {
		const void *f = field_of(obj, k);

		if (k->type == PF_KEY_SECRET && *(struct pf_secret *const *)f &&
		    (*(struct pf_secret *const *)f)->value)
			fn(arg, (*(struct pf_secret *const *)f)->value);
		else if (k->type == PF_KEY_STRING && k->secret && *(char *const *)f)
			fn(arg, *(char *const *)f);
		else if (k->type == PF_KEY_URL && *(char *const *)f)
			pf_mask_url_secrets(*(char *const *)f, fn, arg);
		else if (k->type == PF_KEY_MAP && k->secret && *(cJSON *const *)f)
			map_secrets(*(cJSON *const *)f, fn, arg);
		else if (k->type == PF_KEY_OBJECT && *(void *const *)f)
			pf_keys_secrets(k->sub, *(void *const *)f, fn, arg);
		else if (k->type == PF_KEY_INLINE)
			pf_keys_secrets(k->sub, f, fn, arg);
		else if (k->type == PF_KEY_OBJECTS)
			for (size_t i = 0; i < ((const struct pf_objv *)f)->n; i++)
				pf_keys_secrets(k->sub, (const char *)
						((const struct pf_objv *)f)->v +
						i * k->sub->size, fn, arg);
	}
}
