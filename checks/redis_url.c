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

/* redis-py's from_url options (redis/connection.py parse_url and the
 * Connection keywords users put there): those without meaning for one
 * probe are accepted and noted. */
static const char *const ignored_options[] = {
	"socket_timeout", "socket_connect_timeout", "socket_keepalive",
	"socket_keepalive_options", "retry_on_timeout", "retry_on_error",
	"max_connections", "health_check_interval", "timeout", "client_name",
	"decode_responses", "encoding", "encoding_errors", "protocol",
	"readonly", "single_connection_client", "ssl_cert_reqs",
	"ssl_ca_certs", "ssl_ca_path", "ssl_certfile", "ssl_keyfile",
	"ssl_check_hostname", NULL
};

static bool is_ignored_option(const char *k, size_t n)
{
	for (size_t i = 0; ignored_options[i]; i++)
		if (strlen(ignored_options[i]) == n && strncmp(ignored_options[i], k, n) == 0)
			return true;
	return false;
}

/* Option names are lowercase identifiers: anything else may be a piece of
 * a mistyped password, and is not quoted back. */
static bool option_name_ok(const char *k, size_t kl)
{
	if (kl == 0 || kl > 40)
		return false;
	for (size_t i = 0; i < kl; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		      k[i] == '_'))
			return false;
	return true;
}

/* One key=value of the query. */
static int query_option(const char *k, size_t kl, const char *v, size_t vl,
			struct pf_redis_url *u, char *err, size_t errlen)
{
	char **slot = NULL;

	if (kl == 2 && strncmp(k, "db", 2) == 0) {
		if (parse_uint(v, vl, 7, &u->db) < 0 || u->db > PF_REDIS_MAX_DB) {
			snprintf(err, errlen, "option db=\"%.*s\" is not a number in 0..%ld",
				 (int)(vl > 16 ? 16 : vl), v, PF_REDIS_MAX_DB);
			return -1;
		}
		u->db_from_query = true;
		return 0;
	}
	if (kl == 8 && strncmp(k, "password", 8) == 0)
		slot = &u->password;
	else if (kl == 8 && strncmp(k, "username", 8) == 0)
		slot = &u->user;
	if (slot) {
		if (*slot)	/* the URL's userinfo wins, as in redis-py */
			return 0;
		*slot = pf_redis_pct_decode(v, vl, err, errlen);
		return *slot ? 0 : -1;
	}
	if (!is_ignored_option(k, kl)) {
		if (option_name_ok(k, kl))
			snprintf(err, errlen, "unknown URL option \"%.*s\" (redis-py's"
				 " are db, username, password, socket_timeout,"
				 " health_check_interval, ...)", (int)kl, k);
		else
			snprintf(err, errlen, "the URL's query has an entry that is"
				 " not an option name (lowercase NAME=VALUE)");
		return -1;
	}
	if (u->ignored[0])
		strncat(u->ignored, ", ", sizeof u->ignored - strlen(u->ignored) - 1);
	strncat(u->ignored, k, kl < sizeof u->ignored - strlen(u->ignored) - 1 ?
		kl : sizeof u->ignored - strlen(u->ignored) - 1);
	return 0;
}

static int parse_query(const char *q, struct pf_redis_url *u, char *err,
		       size_t errlen)
{
	while (*q) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		if (n > 0 && query_option(q, eq ? (size_t)(eq - q) : n,
					  eq ? eq + 1 : q + n,
					  eq ? (size_t)(q + n - eq - 1) : 0,
					  u, err, errlen) < 0)
			return -1;
		q += n + (q[n] == '&');
	}
	/* a username from the query still needs a password */
	if (u->user && !u->password) {
		snprintf(err, errlen, "the URL has a user but no password");
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
	if (strchr(rest, '#')) {
		snprintf(err, errlen, "the URL has a fragment (#...), which a Redis "
			 "URL cannot have");
		return -1;
	}
	const char *query = strchr(rest, '?');
	size_t alen = strcspn(rest, "/?");
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
	if (query && parse_query(query + 1, u, err, errlen) < 0)
		return -1;
	if (rest[alen] != '/')
		return 0;
	char path[64];
	size_t plen = strcspn(rest + alen + 1, "?");
	snprintf(path, sizeof path, "%.*s", (int)(plen > 63 ? 63 : plen), rest + alen + 1);
	if (plen > 63) {
		snprintf(err, errlen, "database path is too long (want /DB)");
		return -1;
	}
	/* redis-py: a db= option wins over the path */
	return u->db_from_query ? 0 : parse_db(path, u, err, errlen);
}

/* An '@' after the authority: the userinfo was probably cut short by an
 * unencoded '/' or '?' in the password ("u:pa/ss@host"), so whatever an
 * error would quote from the URL may be part of the password. */
static bool split_password(const char *url)
{
	const char *rest = strstr(url, "://");

	if (!rest)
		return false;
	rest += 3;
	return strchr(rest + strcspn(rest, "/?"), '@') != NULL;
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
		if (split_password(url))
			snprintf(err, errlen, "the URL does not parse and has an '@'"
				 " after its host part: a '/' or '?' in the"
				 " password must be percent-encoded (%%2F, %%3F)");
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
