/*
 * The getters of pf_config.h outside the key tables: a duration and an
 * array of strings, with errors naming the JSON path.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_config.h"
#include "pf_util.h"

static int fail(char *err, size_t errlen, const char *path, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *path, const char *key,
		const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s.%s: %s", path, key, msg);
	return -1;
}

int pf_cfg_duration(const cJSON *obj, const char *path, const char *key,
		    uint64_t *out_ms, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (cJSON_IsNumber(v)) {
		if (pf_duration_from_seconds(v->valuedouble, out_ms) < 0)
			return fail(err, errlen, path, key,
				    "%g is not a duration (seconds, 0 to one week)",
				    v->valuedouble);
		return 0;
	}
	if (cJSON_IsString(v)) {
		if (pf_duration_parse(v->valuestring, out_ms) < 0)
			return fail(err, errlen, path, key,
				    "\"%.64s\" is not a duration (e.g. \"250ms\", \"5s\", \"2m\")",
				    v->valuestring);
		return 0;
	}
	return fail(err, errlen, path, key,
		    "must be a duration string such as \"5s\" or a number of seconds");
}

void pf_cfg_strv_free(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

int pf_cfg_strv(const cJSON *obj, const char *path, const char *key,
		char ***out, size_t *n, char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
	size_t count, i = 0;
	char **vec;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(err, errlen, path, key, "must be an array of strings");
	count = (size_t)cJSON_GetArraySize(v);
	vec = calloc(count + 1, sizeof(*vec));
	if (!vec)
		return fail(err, errlen, path, key, "out of memory");
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it) || !(vec[i] = strdup(it->valuestring))) {
			pf_cfg_strv_free(vec);
			return fail(err, errlen, path, key,
				    "[%zu] must be a string", i);
		}
		i++;
	}
	pf_cfg_strv_free(*out);
	*out = vec;
	*n = count;
	return 0;
}

