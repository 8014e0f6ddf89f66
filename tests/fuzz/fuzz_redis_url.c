/*
 * libFuzzer target for the redis:// URL parser and its percent-decoder:
 * any bytes give a parsed URL within its documented ranges or an error that
 * does not echo the password, and nothing is leaked either way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redis_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The password part of url's userinfo (between the first ':' and the last
 * '@' before any of the bytes in stop), copied into buf ("" when there is
 * none); returns what follows that '@' (or NULL).  stop "/?" gives the
 * userinfo as parsed; "" what the user meant when a '/' or '?' in the
 * password was not percent-encoded. */
static const char *password_text(const char *url, const char *stop,
				 char *buf, size_t len)
{
	const char *rest = strstr(url, "://");
	const char *at = NULL, *colon;

	buf[0] = '\0';
	if (!rest)
		return NULL;
	rest += 3;
	size_t alen = strcspn(rest, stop);
	for (size_t i = 0; i < alen; i++)
		if (rest[i] == '@')
			at = rest + i;
	colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
	if (!colon || (size_t)(at - colon - 1) >= len)
		return NULL;
	memcpy(buf, colon + 1, (size_t)(at - colon - 1));
	buf[at - colon - 1] = '\0';
	return at + 1;
}

static void check_ok(const struct pf_redis_url *u)
{
	if (!u->host || !u->host[0] || u->port < 1 || u->port > 65535 ||
	    u->db < 0 || u->db > PF_REDIS_MAX_DB || (u->user && !u->password))
		abort();
}

/* The parser's own message texts: a "password" found in them is not a leak. */
static const char fixed_texts[] =
	"userinfo contains an encoded NUL (%00)|userinfo has a malformed "
	"%-escape (want %XX with two hex digits)|the URL has a user but no "
	"password; use redis://USER:PASSWORD@HOST or redis://:PASSWORD@HOST|"
	"the URL has no host (want redis://HOST[:PORT][/DB])|host \"\" contains "
	"'' (put IPv6 addresses in brackets)|malformed IPv6 host (want "
	"[ADDRESS]:PORT)|put IPv6 addresses in brackets: redis://[ADDRESS]:PORT|"
	"port \"\" is not a number in 1..65535|database \"/\" is not a number "
	"in 0..1000000|the URL must start with redis:// (e.g. "
	"redis://10.0.0.3:6379/0)|the URL contains a space or control "
	"character|the URL has a fragment (#...), which a Redis URL cannot have|"
	"the URL does not parse and has an '@' after its host part: a '/' or "
	"'?' in the password must be percent-encoded (%2F, %3F)|the URL's query has an entry that "
	"is not an option name (lowercase NAME=VALUE)|unknown URL option \"\" "
	"(redis-py's are db, username, password, socket_timeout, "
	"health_check_interval, ...)|option db=\"\" is not a number in "
	"0..1000000|database path is too long (want /DB)|out of memory";

/* An error may not quote a password of 6+ bytes unless it also appears
 * after the userinfo (then the message may be naming the host or db) or
 * in the parser's fixed texts. */
static void check_err(const char *url, const char *err)
{
	char pw[256];
	const char *after;

	if (!err[0])
		abort();
	for (int i = 0; i < 2; i++) {
		after = password_text(url, i == 0 ? "/?" : "", pw, sizeof pw);
		if (after && strlen(pw) >= 6 && strstr(err, pw) &&
		    !strstr(after, pw) && !strstr(fixed_texts, pw))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct pf_redis_url u;
	char *url = malloc(size + 1);

	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	err[0] = '\0';
	if (pf_redis_url_parse(url, &u, err, sizeof err) == 0) {
		check_ok(&u);
		pf_redis_url_free(&u);
	} else {
		if (u.host || u.user || u.password)
			abort();	/* *out is zeroed on error */
		check_err(url, err);
	}
	/* the decoder on the raw bytes, embedded NULs included */
	char *dec = pf_redis_pct_decode((const char *)data, size, err, sizeof err);
	if (dec && strlen(dec) > size)
		abort();
	free(dec);
	free(url);
	return 0;
}
