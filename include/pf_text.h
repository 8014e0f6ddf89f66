/*
 * Text from peers made fit to show in /status, logs and reports: one line,
 * valid UTF-8, bounded (text.c).
 */
#ifndef PF_TEXT_H
#define PF_TEXT_H

#include <stddef.h>

#define PF_TEXT_EXCERPT 160

/* The one peer-text sanitizer: one line of valid UTF-8 from in[0..n)
 * (NUL bytes included).  Control bytes and runs of whitespace fold to one
 * space, leading and trailing spaces go, invalid UTF-8 becomes U+FFFD;
 * at most limit bytes of text (0: as many as fit), cut at a character,
 * then "..." when something was left out.  out has cap bytes. */
const char *pf_text_clean(const char *in, size_t n, size_t limit, char *out,
			  size_t cap);

/* pf_text_clean to PF_TEXT_EXCERPT bytes, then secret masked
 * (pf_mask_secret; may be NULL): a body quoted in an error. */
const char *pf_text_excerpt(const char *body, size_t len, const char *secret,
			    char *out, size_t outlen);

/* Length of the character at s[0..n): 1 for ASCII, 2..4 for a valid
 * UTF-8 sequence, 0 for an invalid one (bad lead byte, truncated,
 * overlong, surrogate, above U+10FFFF) or n == 0. */
size_t pf_text_utf8_len(const char *s, size_t n);

/* A malloc'd copy of s with every invalid UTF-8 byte replaced by U+FFFD
 * (newlines and controls kept: JSON escapes them), or NULL when s is
 * already valid or out of memory. */
char *pf_text_utf8_fix(const char *s);

#endif
