/*
 * Text from peers made fit to show: one line, valid UTF-8, bounded.  Pure.
 */
#include <stdbool.h>
#include <string.h>

#include "pf_text.h"
#include "pf_util.h"

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

const char *pf_text_excerpt(const char *body, size_t len, const char *secret,
			   char *out, size_t outlen)
{
	size_t o = 0, limit = outlen > 4 ? outlen - 4 : 0;
	bool space = false;

	if (limit > PF_TEXT_EXCERPT)
		limit = PF_TEXT_EXCERPT;
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
	pf_mask_secret(out, secret);
	return out;
}
