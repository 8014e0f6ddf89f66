/*
 * The http kind's expect_status: a set of up to 16 inclusive status
 * ranges, parsed from 204, "204", "2xx", "200-299" or an array of those.
 * Pure.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "http_status.h"
#include "pf_keys.h"
#include "pf_util.h"

/* One element of expect_status: 204, "204", "2xx" or "200-299". */
static int status_one(const cJSON *v, unsigned *lo, unsigned *hi)
{
	const char *s;
	char *end;
	unsigned long a, b;

	if (cJSON_IsNumber(v)) {
		/* Range first: casting a huge double to an integer is undefined. */
		if (!(v->valuedouble >= 100 && v->valuedouble <= 599) ||
		    v->valuedouble != (double)(int)v->valuedouble)
			return -1;
		*lo = *hi = (unsigned)v->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(v))
		return -1;
	s = v->valuestring;
	if (strlen(s) == 3 && isdigit((unsigned char)s[0]) &&
	    strcasecmp(s + 1, "xx") == 0) {
		*lo = (unsigned)(s[0] - '0') * 100;
		*hi = *lo + 99;
		return *lo >= 100 && *lo <= 500 ? 0 : -1;
	}
	if (!isdigit((unsigned char)*s))
		return -1;
	a = strtoul(s, &end, 10);
	b = a;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -1;
		b = strtoul(end + 1, &end, 10);
	}
	if (*end || a < 100 || b > 599 || a > b)
		return -1;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

int pf_http_status_parse(const cJSON *v, struct pf_http_status_set *out,
			char *err, size_t errlen)
{
	struct pf_http_status_set set = { 0 };
	const cJSON *e;

	if (!cJSON_IsArray(v)) {
		if (status_one(v, &set.lo[0], &set.hi[0]) < 0)
			goto bad;
		set.n = 1;
		*out = set;
		return 0;
	}
	cJSON_ArrayForEach(e, v) {
		if (set.n == PF_HTTP_MAX_RANGES ||
		    status_one(e, &set.lo[set.n], &set.hi[set.n]) < 0)
			goto bad;
		set.n++;
	}
	if (set.n == 0)
		goto bad;
	*out = set;
	return 0;
bad:
	snprintf(err, errlen, "must be a status (200), a class (\"2xx\"), a "
		 "range (\"200-299\") or an array of up to %d of those, "
		 "between 100 and 599", PF_HTTP_MAX_RANGES);
	return -1;
}

bool pf_http_status_match(const struct pf_http_status_set *s, long code)
{
	for (unsigned i = 0; i < s->n; i++)
		if (code >= (long)s->lo[i] && code <= (long)s->hi[i])
			return true;
	return false;
}

const char *pf_http_status_format(const struct pf_http_status_set *s,
				 char *out, size_t len)
{
	char one[32];

	out[0] = '\0';
	for (unsigned i = 0; i < s->n; i++) {
		if (s->lo[i] == s->hi[i])
			snprintf(one, sizeof(one), "%s%u", i ? ", " : "", s->lo[i]);
		else
			snprintf(one, sizeof(one), "%s%u-%u", i ? ", " : "",
				 s->lo[i], s->hi[i]);
		pf_strlcat(out, one, len);
	}
	return out;
}

static int status_key_parse(const cJSON *v, const char *kpath, void *field,
			    char *err, size_t errlen)
{
	char why[256];

	if (pf_http_status_parse(v, field, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s: %s", kpath, why);
		return -1;
	}
	return 0;
}

static cJSON *status_key_describe(const void *field)
{
	char buf[256];

	return cJSON_CreateString(pf_http_status_format(field, buf, sizeof buf));
}

const struct pf_key_custom pf_http_status_key = {
	.parse = status_key_parse,
	.describe = status_key_describe,
	.type_doc = "status (`204`), class (`\"2xx\"`), range (`\"200-299\"`)"
		    " or an array of up to 16 of those",
	.schema = "{\"oneOf\":[{\"type\":\"integer\",\"minimum\":100,"
		  "\"maximum\":599},{\"type\":\"string\"},{\"type\":\"array\","
		  "\"items\":{\"type\":[\"integer\",\"string\"]},\"minItems\":1,"
		  "\"maxItems\":16}]}",
};
