/*
 * URLs of HTTP requests (the http and chat kinds): validating a configured
 * http(s) URL, and joining a base URL, a path and an escaped id.  Pure.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pf_util.h"
#include "pf_xfer.h"

int pf_url_check(const char *url, char *err, size_t errlen)
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

int pf_url_join(const char *base, const char *path, const char *id,
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
