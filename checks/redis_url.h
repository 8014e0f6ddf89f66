/*
 * Pure parser for redis:// URLs (SPEC §3 redis): scheme, percent-decoded
 * userinfo, host (IPv6 in brackets), port and database number.  No I/O, so
 * tests/unit/test_redis_url.c drives it directly.
 */
#ifndef PF_REDIS_URL_H
#define PF_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>

#define PF_REDIS_DEFAULT_PORT 6379
#define PF_REDIS_MAX_DB 1000000L	/* far above any real `databases` setting */

/* A parsed URL.  Owns every string; release with pf_redis_url_free(). */
struct pf_redis_url {
	bool tls;		/* rediss:// (refused by the check while hiredis has no TLS) */
	char *user;		/* ACL user, decoded; NULL when absent */
	char *password;		/* decoded; NULL when absent.  A secret: never print it */
	char *host;		/* name or numeric address, without IPv6 brackets */
	unsigned port;		/* 1..65535, default 6379 */
	long db;		/* 0..PF_REDIS_MAX_DB, default 0 */
	/* Query options redis-py accepts that mean nothing to one probe
	 * (health_check_interval, socket_timeout, ...): their names, joined
	 * by ", ", for the note `preflightd config` shows; "" when none. */
	char ignored[256];
	bool db_from_query;	/* db came from ?db=, which wins over the path */
};

/* Parses redis://[user:password@]host[:port][/db][?options],
 * redis://:password@host and the rediss:// forms.  Query options are those
 * redis-py's from_url accepts: db, username and password are used (the
 * URL's own path and userinfo win, as in redis-py); the others are
 * accepted and listed in `ignored`; an unknown option is an error.  On error returns -1, fills err with a message
 * that never contains the password, and leaves *out zeroed. */
int pf_redis_url_parse(const char *url, struct pf_redis_url *out,
		       char *err, size_t errlen);

/* Releases the strings (the password is wiped first) and zeroes *u. */
void pf_redis_url_free(struct pf_redis_url *u);

/* Decodes %XX escapes of src[0..len) into a new string.  Returns NULL (and
 * fills err) on a malformed escape or an encoded NUL. */
char *pf_redis_pct_decode(const char *src, size_t len, char *err, size_t errlen);

#endif
