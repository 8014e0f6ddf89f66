/*
 * Key tables, part one: parsing a config object into its struct, with
 * the unknown and duplicate key checks (pf_keys.h).  The struct owns what
 * is parsed into it; pf_keys_free releases it.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_config.h"
#include "pf_keys.h"
#include "pf_util.h"

/* The duplicate scan is quadratic: objects are bounded. */
#define PF_KEYS_MAX_MEMBERS 4096

static int fail(char *err, size_t errlen, const char *kpath, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, const char *kpath, const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", kpath, msg);
	return -1;
}

/* "path.name", or "name" at the top level (path "").  Runs for every key
 * of every check: no printf (reloading 5,000 checks must stay quick). */
static void join(char *buf, size_t len, const char *path, const char *name)
{
	size_t p = strlen(path), n = strnlen(name, 64), dot = p ? 1 : 0;

	if (p + dot + n + 1 > len) {
		snprintf(buf, len, "%s%s%.64s", path, dot ? "." : "", name);
		return;
	}
	memcpy(buf, path, p);
	buf[p] = '.';
	memcpy(buf + p + dot, name, n);
	buf[p + dot + n] = '\0';
}

int pf_keys_fail(char *err, size_t errlen, const char *path, const char *key,
		 const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s%s%s: %s", path, key && *path ? "." : "",
		 key ? key : "", msg);
	return -1;
}

static void *field_of(void *obj, const struct pf_key *k)
{
	return (char *)obj + k->offset;
}

static const struct pf_key *find_key(const struct pf_keys *t, const char *name)
{
	for (const struct pf_key *k = t ? t->keys : NULL; k && k->name; k++) {
		const struct pf_key *in;

		if (k->type == PF_KEY_INLINE && (in = find_key(k->sub, name)))
			return in;
		if (k->type != PF_KEY_INLINE && strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

/* Edit distance of a and b up to 3 (more counts as 3): "did you mean". */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[65];

	if (la > 63 || lb > 63)
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];

		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb] < 3 ? row[lb] : 3;
}

static const char *closest(const struct pf_keys *t, const struct pf_keys *also,
			   const char *name)
{
	const struct pf_keys *both[2] = { t, also };
	const char *best = NULL;
	int bd = 3;

	for (int i = 0; i < 2; i++)
		for (const struct pf_key *k = both[i] ? both[i]->keys : NULL;
		     k && k->name; k++) {
			int d = k->type == PF_KEY_INLINE ? 3 : distance(name, k->name);
			const char *in = k->type == PF_KEY_INLINE ?
				closest(k->sub, NULL, name) : NULL;

			if (in && distance(name, in) < bd) {
				bd = distance(name, in);
				best = in;
			}
			if (d < bd) {
				bd = d;
				best = k->name;
			}
		}
	return best;
}

bool pf_keys_duplicate(const cJSON *obj, const char *path, char *where,
		       size_t len)
{
	const cJSON *it, *prev;
	int n = 0;

	cJSON_ArrayForEach(it, obj) {
		char sub[512];

		if (cJSON_IsObject(obj) && ++n <= PF_KEYS_MAX_MEMBERS) {
			for (prev = obj->child; prev != it; prev = prev->next)
				if (strcmp(prev->string, it->string) == 0) {
					snprintf(where, len, "%s.%.64s", path, it->string);
					return true;
				}
		}
		if (cJSON_IsObject(obj))
			snprintf(sub, sizeof sub, "%s.%.64s", path, it->string);
		else
			snprintf(sub, sizeof sub, "%s[%d]", path, n++);
		if ((cJSON_IsObject(it) || cJSON_IsArray(it)) &&
		    pf_keys_duplicate(it, sub, where, len))
			return true;
	}
	return false;
}

/* Every member of obj is a key of t or also, and none repeats. */
static int check_members(const struct pf_keys *t, const struct pf_keys *also,
			 const cJSON *obj, const char *path, char *err,
			 size_t errlen)
{
	const cJSON *it, *prev;

	if (cJSON_GetArraySize(obj) > PF_KEYS_MAX_MEMBERS)
		return fail(err, errlen, path, "more than %d keys",
			    PF_KEYS_MAX_MEMBERS);
	cJSON_ArrayForEach(it, obj) {
		char kpath[512];
		const char *near;

		for (prev = obj->child; prev != it; prev = prev->next)
			if (strcmp(prev->string, it->string) == 0) {
				join(kpath, sizeof kpath, path, it->string);
				return fail(err, errlen, kpath, "duplicate key");
			}
		if (find_key(t, it->string) || find_key(also, it->string))
			continue;
		join(kpath, sizeof kpath, path, it->string);
		near = closest(t, also, it->string);
		if (near)
			return fail(err, errlen, kpath, "unknown key (did you"
				    " mean \"%s\"?)", near);
		return fail(err, errlen, kpath, "unknown key");
	}
	return 0;
}

static int parse_duration(const cJSON *v, const char *kpath, uint64_t *out,
			  char *err, size_t errlen)
{
	if (cJSON_IsNumber(v)) {
		if (pf_duration_from_seconds(v->valuedouble, out) < 0)
			return fail(err, errlen, kpath, "%g is not a duration"
				    " (seconds, 0 to one week)", v->valuedouble);
		return 0;
	}
	if (cJSON_IsString(v)) {
		if (pf_duration_parse(v->valuestring, out) < 0)
			return fail(err, errlen, kpath, "\"%.64s\" is not a duration"
				    " (e.g. \"250ms\", \"5s\", \"2m\")",
				    v->valuestring);
		return 0;
	}
	return fail(err, errlen, kpath, "must be a duration string such as"
		    " \"5s\" or a number of seconds");
}

static int parse_int(const struct pf_key *k, const cJSON *v, const char *kpath,
		     long *out, char *err, size_t errlen)
{
	double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;

	if (!isfinite(d) || d != floor(d))
		return fail(err, errlen, kpath, "must be a whole number");
	if (d < (double)k->min || d > (double)k->max)
		return fail(err, errlen, kpath, "%g is out of range %ld..%ld",
			    d, k->min, k->max);
	*out = (long)d;
	return 0;
}

static int parse_strings(const cJSON *v, const char *kpath, struct pf_strv *out,
			 char *err, size_t errlen)
{
	const cJSON *it;
	size_t i = 0;

	if (!cJSON_IsArray(v))
		return fail(err, errlen, kpath, "must be an array of strings");
	out->v = calloc((size_t)cJSON_GetArraySize(v) + 1, sizeof *out->v);
	if (!out->v)
		return fail(err, errlen, kpath, "out of memory");
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it))
			return fail(err, errlen, kpath, "[%zu] must be a string", i);
		if (!(out->v[i++] = strdup(it->valuestring)))
			return fail(err, errlen, kpath, "out of memory");
		out->n = i;
	}
	return 0;
}

static int parse_map(const cJSON *v, const char *kpath, cJSON **out,
		     char *err, size_t errlen)
{
	const cJSON *it;

	if (!cJSON_IsObject(v))
		return fail(err, errlen, kpath, "must be an object of strings");
	cJSON_ArrayForEach(it, v)
		if (!cJSON_IsString(it))
			return fail(err, errlen, kpath, "\"%.64s\" must be a string",
				    it->string);
	if (!(*out = cJSON_Duplicate(v, 1)))
		return fail(err, errlen, kpath, "out of memory");
	return 0;
}

static int parse_string(const struct pf_key *k, const cJSON *v,
			const char *kpath, char **out, char *err, size_t errlen)
{
	if (!cJSON_IsString(v))
		return fail(err, errlen, kpath, "must be a string");
	if (k->type == PF_KEY_ENUM) {
		size_t i = 0;
		char list[256] = "";

		for (; k->choices[i] && strcmp(k->choices[i], v->valuestring); i++)
			;
		if (!k->choices[i]) {
			for (i = 0; k->choices[i]; i++) {
				pf_strlcat(list, i ? ", " : "", sizeof list);
				pf_strlcat(list, k->choices[i], sizeof list);
			}
			return fail(err, errlen, kpath, "\"%.32s\" is not one of %s",
				    v->valuestring, list);
		}
	}
	if (k->valid) {
		char why[256];

		if (k->valid(v->valuestring, why, sizeof why) < 0)
			return fail(err, errlen, kpath, "%s", why);
	}
	if (!(*out = strdup(v->valuestring)))
		return fail(err, errlen, kpath, "out of memory");
	return 0;
}

static int parse_objects(const struct pf_key *k, const cJSON *v,
			 const cJSON *rawv, const char *kpath,
			 struct pf_objv *out, char *err, size_t errlen)
{
	const cJSON *it;
	size_t n = 0;

	if (!cJSON_IsArray(v))
		return fail(err, errlen, kpath, "must be an array of objects");
	out->v = calloc((size_t)cJSON_GetArraySize(v) + 1, k->sub->size);
	if (!out->v)
		return fail(err, errlen, kpath, "out of memory");
	cJSON_ArrayForEach(it, v) {
		char ipath[512];
		const cJSON *ri = rawv ? cJSON_GetArrayItem(rawv, (int)n) : NULL;

		snprintf(ipath, sizeof ipath, "%s[%zu]", kpath, n);
		if (pf_keys_parse(k->sub, NULL, it, ri, ipath,
				  (char *)out->v + n * k->sub->size, err, errlen) < 0)
			return -1;
		out->n = ++n;
	}
	return 0;
}

/* One present (or defaulted) value into its field. */
static int parse_value(const struct pf_key *k, const cJSON *v, const cJSON *rawv,
		       const char *kpath, void *f, char *err, size_t errlen)
{
	switch (k->type) {
	case PF_KEY_STRING:
	case PF_KEY_URL:
	case PF_KEY_ENUM:
		return parse_string(k, v, kpath, f, err, errlen);
	case PF_KEY_SECRET:
		if (!(*(struct pf_secret **)f = calloc(1, sizeof(struct pf_secret))))
			return fail(err, errlen, kpath, "out of memory");
		return pf_secret_from(v, rawv, kpath, *(struct pf_secret **)f, err,
				      errlen);
	case PF_KEY_BOOL:
		if (!cJSON_IsBool(v))
			return fail(err, errlen, kpath, "must be true or false");
		*(bool *)f = cJSON_IsTrue(v);
		return 0;
	case PF_KEY_DURATION:
		return parse_duration(v, kpath, f, err, errlen);
	case PF_KEY_INT:
		return parse_int(k, v, kpath, f, err, errlen);
	case PF_KEY_STRINGS:
		return parse_strings(v, kpath, f, err, errlen);
	case PF_KEY_MAP:
		return parse_map(v, kpath, f, err, errlen);
	case PF_KEY_JSON:
		if (!cJSON_IsObject(v))
			return fail(err, errlen, kpath, "must be an object");
		return (*(cJSON **)f = cJSON_Duplicate(v, 1)) ? 0 :
			fail(err, errlen, kpath, "out of memory");
	case PF_KEY_OBJECT:
		if (!(*(void **)f = calloc(1, k->sub->size)))
			return fail(err, errlen, kpath, "out of memory");
		return pf_keys_parse(k->sub, NULL, v, rawv, kpath, *(void **)f,
				     err, errlen);
	case PF_KEY_OBJECTS:
		return parse_objects(k, v, rawv, kpath, f, err, errlen);
	case PF_KEY_CUSTOM:
		return k->custom->parse(v, kpath, f, err, errlen);
	case PF_KEY_INLINE:
		break;		/* parse_keys descends itself */
	}
	return fail(err, errlen, kpath, "unknown key type");
}

/* Present, defaulted or required-and-missing: one key of t. */
static int parse_key(const struct pf_key *k, const cJSON *obj, const cJSON *raw,
		     const char *path, void *out, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k->name);
	const cJSON *rawv = raw ? cJSON_GetObjectItemCaseSensitive(raw, k->name) : NULL;
	char kpath[512];
	cJSON *def = NULL;
	int rc;

	join(kpath, sizeof kpath, path, k->name);
	if (!v && k->required)
		return fail(err, errlen, kpath, "is required");
	if (!v && !k->def)
		return 0;
	if (!v && !(v = def = cJSON_Parse(k->def)))
		return fail(err, errlen, kpath, "out of memory");
	rc = parse_value(k, v, def ? NULL : rawv, kpath, field_of(out, k), err,
			 errlen);
	cJSON_Delete(def);
	return rc;
}

/* The keys of t (inline tables included) from obj into out, then t's
 * check; on error out holds only what pf_keys_free releases. */
static int parse_keys(const struct pf_keys *t, const cJSON *obj, const cJSON *raw,
		      const char *path, void *out, char *err, size_t errlen)
{
	char where[512];

	for (const struct pf_key *k = t->keys; k->name; k++) {
		/* what no sub-table checks (bodies, claims, headers, a
		 * custom type's object) repeats no key either */
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, k->name);
		char kpath[512];

		join(kpath, sizeof kpath, path, k->name);
		if ((k->type == PF_KEY_JSON || k->type == PF_KEY_MAP ||
		     k->type == PF_KEY_CUSTOM) && v &&
		    pf_keys_duplicate(v, kpath, where, sizeof where))
			return fail(err, errlen, where, "duplicate key");
		if (k->type == PF_KEY_INLINE) {
			if (parse_keys(k->sub, obj, raw, path, field_of(out, k), err,
				       errlen) < 0)
				return -1;
		} else if (parse_key(k, obj, raw, path, out, err, errlen) < 0) {
			return -1;
		}
	}
	return t->check ? t->check(out, obj, path, err, errlen) : 0;
}

int pf_keys_parse(const struct pf_keys *t, const struct pf_keys *also,
		  const cJSON *obj, const cJSON *raw, const char *path,
		  void *out, char *err, size_t errlen)
{
	if (!cJSON_IsObject(obj))
		return fail(err, errlen, path, "must be an object");
	if (check_members(t, also, obj, path, err, errlen) < 0 ||
	    parse_keys(t, obj, raw, path, out, err, errlen) < 0) {
		pf_keys_free(t, out);
		return -1;
	}
	return 0;
}

static void free_value(const struct pf_key *k, void *f)
{
	switch (k->type) {
	case PF_KEY_STRING:
	case PF_KEY_URL:
	case PF_KEY_ENUM:
		free(*(char **)f);
		break;
	case PF_KEY_SECRET:
		if (*(struct pf_secret **)f)
			pf_secret_free(*(struct pf_secret **)f);
		free(*(struct pf_secret **)f);
		break;
	case PF_KEY_STRINGS:
		pf_cfg_strv_free(((struct pf_strv *)f)->v);
		break;
	case PF_KEY_MAP:
	case PF_KEY_JSON:
		cJSON_Delete(*(cJSON **)f);
		break;
	case PF_KEY_OBJECT:
		if (*(void **)f)
			pf_keys_free(k->sub, *(void **)f);
		free(*(void **)f);
		break;
	case PF_KEY_OBJECTS: {
		struct pf_objv *ov = f;

		for (size_t i = 0; i < ov->n; i++)
			pf_keys_free(k->sub, (char *)ov->v + i * k->sub->size);
		free(ov->v);
		break;
	}
	case PF_KEY_CUSTOM:
		if (k->custom->free)
			k->custom->free(f);
		break;
	case PF_KEY_INLINE:
		pf_keys_free(k->sub, f);
		break;
	default:
		return;		/* plain values own nothing */
	}
}

void pf_keys_free(const struct pf_keys *t, void *obj)
{
	if (!obj)
		return;
	if (t->free)
		t->free(obj);
	for (const struct pf_key *k = t->keys; k->name; k++)
		free_value(k, field_of(obj, k));
	memset(obj, 0, t->size);
}

void *pf_keys_new(const struct pf_keys *t, const struct pf_keys *also,
		  const cJSON *obj, const cJSON *raw, const char *path,
		  char *err, size_t errlen)
{
	void *out = calloc(1, t->size);

	if (!out) {
		fail(err, errlen, path, "out of memory");
		return NULL;
	}
	if (pf_keys_parse(t, also, obj, raw, path, out, err, errlen) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

void pf_keys_delete(const struct pf_keys *t, void *obj)
{
	if (!obj)
		return;
	pf_keys_free(t, obj);
	free(obj);
}
