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

/* Masks every value of `password=` in a run of key=value pairs separated by
 * `sep` characters (" " in a DSN, "&" in a URL query). */
static void redact_pairs(const char *s, size_t n, const char *seps, char *out,
			 size_t len, size_t *off)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, klen;

		while (i < n && !strchr(seps, s[i]))
			i++;
		/* [start, i) is one pair (key=value or anything else) */
		klen = strlen("password=");
		if (i - start >= klen && strncmp(s + start, "password=", klen) == 0) {
			put(out, len, off, s + start, klen);
			put(out, len, off, MASK, strlen(MASK));
		} else {
			put(out, len, off, s + start, i - start);
		}
		if (i < n)
			put(out, len, off, s + i++, 1);
	}
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
		if (klen == 8 && strncmp(s, "password", 8) == 0)
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
		} else {
			put(out, len, off, rest, (size_t)(at - rest) + 1);
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

/* Every `password=` value of the pairs in s[0..n) separated by seps. */
static void pair_secrets(const char *s, size_t n, const char *seps,
			 void (*fn)(void *arg, const char *secret), void *arg)
{
	size_t i = 0;

	while (i < n) {
		size_t start = i;

		while (i < n && !strchr(seps, s[i]))
			i++;
		if (i - start > 9 && strncmp(s + start, "password=", 9) == 0)
			emit(s + start + 9, i - start - 9, fn, arg);
		i++;
	}
}

void pf_mask_url_secrets(const char *in, void (*fn)(void *arg, const char *secret),
			 void *arg)
{
	const char *rest = in ? strstr(in, "://") : NULL, *end, *at = NULL, *q;

	if (!in)
		return;
	if (!rest) {	/* a key=value DSN */
		for (const char *p = strstr(in, "password"); p; p = strstr(p + 1, "password")) {
			const char *v = p + 8;

			v += strspn(v, " \t");
			if (*v != '=' || (p > in && !strchr(" \t", p[-1])))
				continue;
			v += 1 + strspn(v + 1, " \t");
			if (*v == '\'')
				emit(v + 1, strcspn(v + 1, "'"), fn, arg);
			else
				emit(v, strcspn(v, " \t\n"), fn, arg);
		}
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
	}
	if ((q = strchr(rest, '?')))
		pair_secrets(q + 1, strcspn(q + 1, "#"), "&", fn, arg);
}
