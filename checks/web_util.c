/*
 * Pure helpers of the HTTP kinds: URL validation and joining, printable
 * body excerpts, which headers hold secrets, and expect_status sets.
 * No I/O and no allocation; unit-tested in tests/unit/test_chat_json.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "pf_config.h"
#include "pf_util.h"
#include "web.h"

int pf_web_check_url(const char *url, char *err, size_t errlen)
{
	const char *host;

	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else {
		snprintf(err, errlen, "must start with http:// or https://");
		return -1;
	}
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#') {
		snprintf(err, errlen, "has no host");
		return -1;
	}
	for (const char *c = url; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "contains a space or control character");
			return -1;
		}
	}
	return 0;
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int pf_web_join(const char *base, const char *path, const char *id,
		char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t blen = strlen(base), o;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen + strlen(path) >= len)
		return -1;
	memcpy(out, base, blen);
	strcpy(out + blen, path);
	o = blen + strlen(path);
	for (const unsigned char *c = (const unsigned char *)(id ? id : ""); *c; c++) {
		if (o + 4 > len)
			return -1;
		if (unreserved(*c)) {
			out[o++] = (char)*c;
		} else {
			out[o++] = '%';
			out[o++] = hex[*c >> 4];
			out[o++] = hex[*c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

void pf_web_mask_secret(char *s, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	char *at = s, *hit;

	if (sl == 0)
		return;
	while ((hit = strstr(at, secret))) {
		if (sl >= 3) {
			memmove(hit + 3, hit + sl, strlen(hit + sl) + 1);
			memcpy(hit, "***", 3);
			at = hit + 3;
		} else {
			memset(hit, '*', sl);
			at = hit + sl;
		}
	}
}

/* Length of the valid UTF-8 sequence at s[0..n) (1..4), or 0 when the
 * bytes there are not one (overlong forms and surrogates included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	unsigned cp;

	if (len == 0 || s[0] > 0xf4 || len > n)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

const char *pf_web_excerpt(const char *body, size_t len, const char *secret,
			   char *out, size_t outlen)
{
	size_t o = 0, limit = outlen > 4 ? outlen - 4 : 0;
	bool space = false;

	if (limit > PF_WEB_EXCERPT)
		limit = PF_WEB_EXCERPT;
	for (size_t i = 0; body && i < len && o < limit; i++) {
		unsigned char c = (unsigned char)body[i];
		size_t n;

		/* One line for logs and JSON: fold whitespace. */
		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space && o > 0)
				out[o++] = ' ';
			space = true;
			continue;
		}
		space = false;
		if (c < 0x80) {
			out[o++] = (char)c;
			continue;
		}
		/* Valid UTF-8 is kept whole; an invalid byte becomes U+FFFD,
		 * so the excerpt is always valid UTF-8 (JSON, logs). */
		n = utf8_seq((const unsigned char *)body + i, len - i);
		if (n && o + n > limit)
			break;
		if (n) {
			memcpy(out + o, body + i, n);
			o += n;
			i += n - 1;
		} else if (o + 3 <= limit) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
		} else {
			break;
		}
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (body && o >= limit && limit < len)
		pf_strlcat(out, "...", outlen);
	pf_web_mask_secret(out, secret);
	return out;
}

bool pf_web_header_secret(const char *name)
{
	static const char *const exact[] = {
		"authorization", "proxy-authorization", "cookie", "set-cookie", NULL
	};
	static const char *const part[] = {
		"token", "key", "secret", "password", "auth", NULL
	};
	char low[128];

	pf_strlcpy(low, name, sizeof(low));
	for (char *c = low; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0; exact[i]; i++)
		if (strcmp(low, exact[i]) == 0)
			return true;
	for (size_t i = 0; part[i]; i++)
		if (strstr(low, part[i]))
			return true;
	return false;
}

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

int pf_web_status_parse(const cJSON *v, struct pf_web_status_set *out,
			char *err, size_t errlen)
{
	struct pf_web_status_set set = { 0 };
	const cJSON *e;

	if (!cJSON_IsArray(v)) {
		if (status_one(v, &set.lo[0], &set.hi[0]) < 0)
			goto bad;
		set.n = 1;
		*out = set;
		return 0;
	}
	cJSON_ArrayForEach(e, v) {
		if (set.n == PF_WEB_MAX_RANGES ||
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
		 "between 100 and 599", PF_WEB_MAX_RANGES);
	return -1;
}

bool pf_web_status_match(const struct pf_web_status_set *s, long code)
{
	for (unsigned i = 0; i < s->n; i++)
		if (code >= (long)s->lo[i] && code <= (long)s->hi[i])
			return true;
	return false;
}

const char *pf_web_status_format(const struct pf_web_status_set *s,
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

/* RFC 9110 token characters: a header name made of anything else would
 * let a config smuggle extra header lines. */
static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return false;
	return true;
}

int pf_web_headers(const cJSON *obj, const char *path, cJSON **out,
		   char *err, size_t errlen)
{
	const cJSON *map = NULL, *h;

	if (pf_cfg_strmap(obj, path, "headers", &map, err, errlen) < 0)
		return -1;
	if (!map)
		return 0;
	cJSON_ArrayForEach(h, map) {
		if (!header_name_ok(h->string)) {
			snprintf(err, errlen, "%s.headers: \"%.64s\" is not a valid "
				 "header name", path, h->string);
			return -1;
		}
		if (strpbrk(h->valuestring, "\r\n")) {
			snprintf(err, errlen, "%s.headers.%.64s: value must be one "
				 "line", path, h->string);
			return -1;
		}
	}
	*out = cJSON_Duplicate(map, 1);
	if (!*out) {
		snprintf(err, errlen, "%s.headers: out of memory", path);
		return -1;
	}
	return 0;
}

cJSON *pf_web_headers_describe(const cJSON *headers)
{
	cJSON *o = cJSON_CreateObject();
	const cJSON *h;

	cJSON_ArrayForEach(h, headers) {
		const char *v = pf_web_header_secret(h->string) ? "***"
								: h->valuestring;
		cJSON_AddStringToObject(o, h->string, v);
	}
	return o;
}

int pf_web_max_body(const cJSON *obj, const char *path, size_t *out,
		    char *err, size_t errlen)
{
	long v = PF_WEB_MAX_BODY_DEFAULT;

	if (pf_cfg_int(obj, path, "max_body", 1, 256L * 1024 * 1024, &v,
		       err, errlen) < 0)
		return -1;
	*out = (size_t)v;
	return 0;
}
