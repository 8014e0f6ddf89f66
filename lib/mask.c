/*
 * Masking (pf_mask.h), the one place that decides what of a secret may
 * show: known secrets wherever they reappear (pf_mask_secret), the secret
 * parts of connection strings shown as targets (pf_mask_url), and which
 * header names carry secrets.  Works in place or on a copy; never fails.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pf_mask.h"
#include "pf_util.h"

#define MASK "***"

/* Appends n bytes of s to out at *off, bounded by len. */
static void put(char *out, size_t len, size_t *off, const char *s, size_t n)
{
	if (*off + 1 >= len)
		return;
	if (n > len - 1 - *off)
		n = len - 1 - *off;
	memcpy(out + *off, s, n);
	*off += n;
	out[*off] = '\0';
}

/* Whether the key of a key=value pair s[0..n) names a secret. */
static bool secret_key(const char *s, size_t n)
{
	char name[64];

	if (n == 0 || n >= sizeof name)
		return false;
	memcpy(name, s, n);
	name[n] = '\0';
	return pf_mask_name_is_secret(name);
}

/* The key=value pair at s (up to a separator in seps, or n): its length;
 * *secret_at the offset of its value when its key names a secret, else 0.
 * What pf_mask_url masks and pf_mask_url_secrets lists, in one place. */
static size_t next_pair(const char *s, size_t n, const char *seps,
			size_t *secret_at)
{
	size_t len = 0;
	const char *eq;

	while (len < n && !strchr(seps, s[len]))
		len++;
	eq = memchr(s, '=', len);
	*secret_at = eq && secret_key(s, (size_t)(eq - s)) ? (size_t)(eq - s) + 1 : 0;
	return len;
}

/* Masks the value of every pair whose key names a secret in a run of
 * key=value pairs separated by `seps` ("&" in a URL query). */
static void redact_pairs(const char *s, size_t n, const char *seps, char *out,
			 size_t len, size_t *off)
{
	size_t i = 0;

	while (i < n) {
		size_t at, plen = next_pair(s + i, n - i, seps, &at);

		if (at) {
			put(out, len, off, s + i, at);
			put(out, len, off, MASK, strlen(MASK));
		} else {
			put(out, len, off, s + i, plen);
		}
		i += plen;
		if (i < n)
			put(out, len, off, s + i++, 1);
	}
}

/* Schemes whose user name is a role, not a credential: postgresql://app@h
 * shows app; any other userinfo without a password (http://TOKEN@host)
 * is itself the secret. */
static bool user_is_public(const char *in, const char *rest)
{
	static const char *const schemes[] = {
		"postgresql://", "postgres://", "redis://", "rediss://", NULL };
	size_t n = (size_t)(rest - in);

	for (size_t i = 0; schemes[i]; i++)
		if (n == strlen(schemes[i]) && strncasecmp(in, schemes[i], n) == 0)
			return true;
	/* postgresql+asyncpg:// and the like */
	return n > 9 && strncasecmp(in, "postgres", 8) == 0 && memchr(in, '+', n);
}

/* Length of a DSN value at s: 'quoted with \\ escapes' or up to space. */
static size_t dsn_value_len(const char *s)
{
	size_t i = 0;

	if (s[0] != '\'')
		return strcspn(s, " \t\n");
	for (i = 1; s[i] && s[i] != '\''; i++)
		if (s[i] == '\\' && s[i + 1])
			i++;
	return s[i] ? i + 1 : i;
}

/* key = value pairs as libpq reads them: spaces allowed around '=',
 * values optionally single-quoted. */
static void redact_dsn(const char *s, char *out, size_t len, size_t *off)
{
	while (*s) {
		size_t ws = strspn(s, " \t\n"), klen, eq, vlen;

		put(out, len, off, s, ws);
		s += ws;
		if (!*s)
			break;	/* trailing whitespace: stepping on would pass the NUL */
		klen = strcspn(s, "= \t\n");
		eq = klen + strspn(s + klen, " \t\n");
		if (s[eq] != '=') {
			put(out, len, off, s, klen ? klen : 1);
			s += klen ? klen : 1;
			continue;
		}
		eq++;
		eq += strspn(s + eq, " \t\n");
		vlen = dsn_value_len(s + eq);
		put(out, len, off, s, eq);
		if (secret_key(s, klen))	/* password, sslpassword, ... */
			put(out, len, off, MASK, strlen(MASK));
		else
			put(out, len, off, s + eq, vlen);
		s += eq + vlen;
	}
}

/* scheme://[user[:pass]@]host...?query : mask pass and query passwords. */
static void redact_uri(const char *in, const char *rest, char *out, size_t len,
		       size_t *off)
{
	const char *auth_end = rest + strcspn(rest, "/?#");
	const char *at = NULL, *q;

	/* The last '@' before the path ends the userinfo (a password may hold '@'
	 * only percent-encoded, but be lenient). */
	for (const char *p = rest; p < auth_end; p++)
		if (*p == '@')
			at = p;
	put(out, len, off, in, (size_t)(rest - in));
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon) {
			put(out, len, off, rest, (size_t)(colon - rest) + 1);
			put(out, len, off, MASK, strlen(MASK));
			put(out, len, off, at, 1);
		} else if (user_is_public(in, rest)) {
			put(out, len, off, rest, (size_t)(at - rest) + 1);
		} else {
			put(out, len, off, MASK "@", strlen(MASK) + 1);
		}
		rest = at + 1;
	}
	q = strchr(rest, '?');
	if (!q) {
		put(out, len, off, rest, strlen(rest));
		return;
	}
	put(out, len, off, rest, (size_t)(q - rest) + 1);
	redact_pairs(q + 1, strlen(q + 1), "&#", out, len, off);
}

const char *pf_mask_url(const char *in, char *out, size_t len)
{
	const char *scheme_end;
	size_t off = 0;

	if (!len)
		return out;
	out[0] = '\0';
	if (!in)
		return out;
	scheme_end = strstr(in, "://");
	if (scheme_end)
		redact_uri(in, scheme_end + 3, out, len, &off);
	else
		redact_dsn(in, out, len, &off);
	return out;
}

/* Length of the longest prefix of secret (at least PF_MASK_PREFIX
 * bytes, or all of a shorter secret) that starts at t, or 0. */
static size_t prefix_run(const char *t, const char *secret, size_t sl)
{
	size_t m = 0;

	while (m < sl && t[m] == secret[m])
		m++;
	return m == sl || m >= PF_MASK_PREFIX ? m : 0;
}

/* A text that filled its buffer may end in the first bytes of the
 * secret, cut short: drop them. */
static void cut_tail_prefix(char *s, size_t cap, const char *secret, size_t sl)
{
	size_t cur = strlen(s);

	if (cap == 0 || cur + 1 < cap)
		return;
	for (size_t k = sl - 1; k > 0; k--) {
		if (cur >= k && strncmp(s + cur - k, secret, k) == 0) {
			s[cur - k] = '\0';
			return;
		}
	}
}

void pf_mask_secret(char *s, size_t cap, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;

	if (sl == 0 || !s)
		return;
	for (char *p = s; *p; p++) {
		size_t m = prefix_run(p, secret, sl);
		/* "***" never makes the text longer; a secret of one or two
		 * bytes becomes as many '*' */
		size_t put = m < 3 ? m : 3;

		if (m == 0)
			continue;
		memset(p, '*', put);
		memmove(p + put, p + m, strlen(p + m) + 1);
		p += put - 1;
	}
	cut_tail_prefix(s, cap, secret, sl);
}

void pf_mask_secrets(char *s, size_t cap, const char *const *secrets, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pf_mask_secret(s, cap, secrets[i]);
}

bool pf_mask_name_is_secret(const char *name)
{
	static const char *const exact[] = {
		"authorization", "proxy-authorization", "cookie", "set-cookie",
		"sig", "pwd", "pass", NULL
	};
	static const char *const part[] = {
		"token", "key", "secret", "password", "passwd", "auth",
		"signature", "credential", "session", NULL
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

bool pf_mask_header_is_public(const char *name)
{
	static const char *const public[] = {
		"accept", "accept-encoding", "accept-language", "cache-control",
		"content-type", "content-language", "host", "user-agent", "origin",
		"x-request-id", "x-forwarded-for", "x-forwarded-proto",
		"x-forwarded-host", "traceparent", NULL
	};

	for (size_t i = 0; public[i]; i++)
		if (strcasecmp(name, public[i]) == 0)
			return true;
	return false;
}

/* Calls fn with text[0..n) as a C string, and again percent-decoded when
 * that differs (a peer may echo either form). */
static void emit(const char *text, size_t n,
		 void (*fn)(void *arg, const char *secret), void *arg)
{
	char raw[512], dec[512];
	size_t o = 0;

	if (n == 0 || n >= sizeof raw)
		return;
	memcpy(raw, text, n);
	raw[n] = '\0';
	fn(arg, raw);
	for (size_t i = 0; i < n; i++) {
		unsigned hi, lo;

		if (raw[i] == '%' && i + 2 < n &&
		    sscanf(raw + i + 1, "%1x%1x", &hi, &lo) == 2) {
			dec[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			dec[o++] = raw[i];
		}
	}
	dec[o] = '\0';
	if (o > 0 && strcmp(dec, raw) != 0 && !memchr(dec, '\0', o))
		fn(arg, dec);
}

/* The value of every pair whose key names a secret, in s[0..n) separated
 * by seps. */
static void pair_secrets(const char *s, size_t n, const char *seps,
			 void (*fn)(void *arg, const char *secret), void *arg)
{
	size_t i = 0;

	while (i < n) {
		size_t at, plen = next_pair(s + i, n - i, seps, &at);

		if (at)
			emit(s + i + at, plen - at, fn, arg);
		i += plen + 1;
	}
}

/* The values of a DSN's secret keys (password, sslpassword, ...), with
 * libpq's syntax: spaces around '=', values optionally single-quoted. */
static void dsn_secrets(const char *s, void (*fn)(void *arg, const char *secret),
			void *arg)
{
	while (*s) {
		size_t klen, eq, vlen;

		s += strspn(s, " \t\n");
		klen = strcspn(s, "= \t\n");
		eq = klen + strspn(s + klen, " \t\n");
		if (!*s || s[eq] != '=') {
			s += klen ? klen : (*s ? 1 : 0);
			continue;
		}
		eq++;
		eq += strspn(s + eq, " \t\n");
		vlen = dsn_value_len(s + eq);
		if (secret_key(s, klen) && s[eq] == '\'') {
			/* 'quoted': without its quotes (the closing one may be missing) */
			bool closed = vlen > 1 && s[eq + vlen - 1] == '\'';

			emit(s + eq + 1, vlen - 1 - closed, fn, arg);
		} else if (secret_key(s, klen)) {
			emit(s + eq, vlen, fn, arg);
		}
		s += eq + vlen;
	}
}

void pf_mask_url_secrets(const char *in, void (*fn)(void *arg, const char *secret),
			 void *arg)
{
	const char *rest = in ? strstr(in, "://") : NULL, *end, *at = NULL, *q;

	if (!in)
		return;
	if (!rest) {
		dsn_secrets(in, fn, arg);
		return;
	}
	rest += 3;
	end = rest + strcspn(rest, "/?#");
	for (const char *p = rest; p < end; p++)
		if (*p == '@')
			at = p;
	if (at) {
		const char *colon = memchr(rest, ':', (size_t)(at - rest));

		if (colon)
			emit(colon + 1, (size_t)(at - colon - 1), fn, arg);
		else if (!user_is_public(in, rest))
			emit(rest, (size_t)(at - rest), fn, arg);
	}
	if ((q = strchr(rest, '?')))
		pair_secrets(q + 1, strcspn(q + 1, "#"), "&", fn, arg);
}
