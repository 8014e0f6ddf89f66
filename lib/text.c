/*
 * Text from peers made fit to show: one line, valid UTF-8, bounded.  Pure.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pf_mask.h"
#include "pf_text.h"

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

/* Appends the character at in[i] (one byte of ASCII, a whole valid
 * UTF-8 sequence, or U+FFFD for an invalid byte) if it fits in limit;
 * returns the input bytes taken, 0 when it does not fit. */
static size_t put_char(const unsigned char *in, size_t n, size_t i, char *out,
		       size_t *o, size_t limit)
{
	size_t seq = in[i] < 0x80 ? 1 : utf8_seq(in + i, n - i);
	const unsigned char *src = seq ? in + i : (const unsigned char *)"\xef\xbf\xbd";
	size_t w = seq ? seq : 3;

	if (*o + w > limit)
		return 0;
	memcpy(out + *o, src, w);
	*o += w;
	return seq ? seq : 1;
}

const char *pf_text_clean(const char *in, size_t n, size_t limit, char *out,
			  size_t cap)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t o = 0, i = 0;
	bool space = false;

	if (cap < 4)
		return cap ? (out[0] = '\0', out) : out;
	/* room for "..." and the NUL */
	if (limit == 0 || limit > cap - 4)
		limit = cap - 4;
	while (in && i < n) {
		size_t took;

		/* One line for logs and JSON: fold whitespace and controls. */
		if (u[i] < 0x20 || u[i] == 0x7f || u[i] == ' ') {
			if (!space && o > 0 && o < limit)
				out[o++] = ' ';
			space = true;
			i++;
			continue;
		}
		if (!(took = put_char(u, n, i, out, &o, limit)))
			break;
		space = false;
		i += took;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	if (in && i < n)
		memcpy(out + o, "...", 4);
	return out;
}

const char *pf_text_excerpt(const char *body, size_t len, const char *secret,
			    char *out, size_t outlen)
{
	pf_text_clean(body, len, PF_TEXT_EXCERPT, out, outlen);
	pf_mask_secret(out, outlen, secret);
	return out;
}

size_t pf_text_utf8_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (n == 0)
		return 0;
	return u[0] < 0x80 ? 1 : utf8_seq(u, n);
}

char *pf_text_utf8_fix(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t bad = 0, len, n;
	char *out, *o;

	if (!s)
		return NULL;
	len = strlen(s);
	for (size_t i = 0; i < len; i += n)
		if (!(n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i)))
			bad++, n = 1;
	if (!bad)
		return NULL;
	/* each bad byte (1) becomes U+FFFD (3) */
	if (!(out = malloc(len + 2 * bad + 1)))
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += n) {
		n = p[i] < 0x80 ? 1 : utf8_seq(p + i, len - i);
		if (n) {
			memcpy(o, p + i, n);
			o += n;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		}
	}
	*o = '\0';
	return out;
}
