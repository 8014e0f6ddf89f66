/*
 * Parses redis:// and rediss:// URLs into struct pf_redis_url.  Pure: no
 * I/O, no globals.  Error messages name the part that is wrong but never
 * echo the userinfo, which carries the password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redis_url.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *pf_redis_pct_decode(const char *src, size_t len, char *err, size_t errlen)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (!out) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if (src[i] != '%') {
			out[n++] = src[i];
			continue;
		}
		int hi = i + 2 < len ? hexval(src[i + 1]) : -1;
		int lo = i + 2 < len ? hexval(src[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			snprintf(err, errlen, "%s", hi == 0 && lo == 0 ?
				 "userinfo contains an encoded NUL (%00)" :
				 "userinfo has a malformed %-escape (want %XX with two hex digits)");
			return NULL;
		}
		out[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[n] = '\0';
	return out;
}

/* Parses a decimal number of at most maxdigits digits in s[0..len). */
static int parse_uint(const char *s, size_t len, size_t maxdigits, long *out)
{
	long v = 0;

	if (len == 0 || len > maxdigits)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* user:password (either may be empty).  A user without a password is
 * refused: hiredis would send nothing and the ACL user would be ignored. */
static int parse_userinfo(const char *s, size_t len, struct pf_redis_url *u,
			  char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', len);
	size_t ulen = colon ? (size_t)(colon - s) : len;

	if (ulen > 0 && !(u->user = pf_redis_pct_decode(s, ulen, err, errlen)))
		return -1;
	if (colon && len - ulen > 1) {
		u->password = pf_redis_pct_decode(colon + 1, len - ulen - 1, err, errlen);
		if (!u->password)
			return -1;
	}
	if (u->user && !u->password) {
		/* Not echoed: people write redis://PASSWORD@HOST, so the
		 * "user" may well be the secret. */
		snprintf(err, errlen, "the URL has a user but no password; "
			 "use redis://USER:PASSWORD@HOST or redis://:PASSWORD@HOST");
		return -1;
	}
	return 0;
}

static bool host_char_ok(char c, bool bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')
		return true;
	return bracketed && (c == ':' || c == '%');
}

static int set_host(const char *s, size_t len, bool bracketed,
		    struct pf_redis_url *u, char *err, size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "the URL has no host (want redis://HOST[:PORT][/DB])");
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (!host_char_ok(s[i], bracketed)) {
			snprintf(err, errlen, "host \"%.*s\" contains '%c'%s",
				 (int)(len > 64 ? 64 : len), s, s[i],
				 s[i] == ':' ? " (put IPv6 addresses in brackets)" : "");
			return -1;
		}
	}
	if (!(u->host = strndup(s, len))) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* host, host:port, [v6] or [v6]:port */
static int parse_hostport(const char *s, size_t len, struct pf_redis_url *u,
			  char *err, size_t errlen)
{
	const char *hend = s + len, *port = NULL;

	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (!close || (close + 1 < s + len && close[1] != ':')) {
			snprintf(err, errlen, "malformed IPv6 host (want [ADDRESS]:PORT)");
			return -1;
		}
		if (set_host(s + 1, (size_t)(close - s - 1), true, u, err, errlen) < 0)
			return -1;
		port = close + 1 < s + len ? close + 2 : NULL;
	} else {
		const char *colon = memchr(s, ':', len);
		if (colon && memchr(colon + 1, ':', (size_t)(s + len - colon - 1))) {
			snprintf(err, errlen, "put IPv6 addresses in brackets: "
				 "redis://[ADDRESS]:PORT");
			return -1;
		}
		if (colon) {
			hend = colon;
			port = colon + 1;
		}
		if (set_host(s, (size_t)(hend - s), false, u, err, errlen) < 0)
			return -1;
	}
	u->port = PF_REDIS_DEFAULT_PORT;
	if (port) {
		long v;
		size_t plen = (size_t)(s + len - port);
		if (parse_uint(port, plen, 5, &v) < 0 || v < 1 || v > 65535) {
			snprintf(err, errlen, "port \"%.*s\" is not a number in 1..65535",
				 (int)(plen > 16 ? 16 : plen), port);
			return -1;
		}
		u->port = (unsigned)v;
	}
	return 0;
}

static int parse_db(const char *s, struct pf_redis_url *u, char *err, size_t errlen)
{
	size_t len = strlen(s);

	if (len == 0)
		return 0;
	if (parse_uint(s, len, 7, &u->db) < 0 || u->db > PF_REDIS_MAX_DB) {
		snprintf(err, errlen, "database \"/%.*s\" is not a number in 0..%ld",
			 (int)(len > 32 ? 32 : len), s, PF_REDIS_MAX_DB);
		return -1;
	}
	return 0;
}

/* Splits off the scheme; returns the rest or NULL. */
static const char *parse_scheme(const char *url, struct pf_redis_url *u,
				char *err, size_t errlen)
{
	if (strncasecmp(url, "redis://", 8) == 0)
		return url + 8;
	if (strncasecmp(url, "rediss://", 9) == 0) {
		u->tls = true;
		return url + 9;
	}
	snprintf(err, errlen, "the URL must start with redis:// (e.g. redis://10.0.0.3:6379/0)");
	return NULL;
}

static int parse_all(const char *url, struct pf_redis_url *u, char *err, size_t errlen)
{
	const char *rest = parse_scheme(url, u, err, errlen);

	if (!rest)
		return -1;
	for (const char *c = url; *c; c++) {
		if ((unsigned char)*c <= ' ' || *c == 0x7f) {
			snprintf(err, errlen, "the URL contains a space or control character");
			return -1;
		}
	}
	if (strpbrk(rest, "?#")) {
		snprintf(err, errlen, "the URL has a query or fragment, which the redis "
			 "check does not support (put the database in the path: /DB)");
		return -1;
	}
	size_t alen = strcspn(rest, "/");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)	/* the last '@': passwords may hold one */
		if (rest[i] == '@')
			at = rest + i;
	const char *hp = rest;
	if (at) {
		if (parse_userinfo(rest, (size_t)(at - rest), u, err, errlen) < 0)
			return -1;
		hp = at + 1;
	}
	if (parse_hostport(hp, (size_t)(rest + alen - hp), u, err, errlen) < 0)
		return -1;
	return rest[alen] == '/' ? parse_db(rest + alen + 1, u, err, errlen) : 0;
}

int pf_redis_url_parse(const char *url, struct pf_redis_url *out,
		       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!url || !*url) {
		snprintf(err, errlen, "the URL is empty");
		return -1;
	}
	if (parse_all(url, out, err, errlen) < 0) {
		pf_redis_url_free(out);
		return -1;
	}
	return 0;
}

void pf_redis_url_free(struct pf_redis_url *u)
{
	if (u->password) {
		/* explicit_bzero: a plain memset before free may be optimised out */
		explicit_bzero(u->password, strlen(u->password));
		free(u->password);
	}
	free(u->user);
	free(u->host);
	memset(u, 0, sizeof(*u));
}
