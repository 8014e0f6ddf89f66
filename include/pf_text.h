/*
 * Text from peers made fit to show in /status, logs and reports: one line,
 * valid UTF-8, bounded (text.c).
 */
#ifndef PF_TEXT_H
#define PF_TEXT_H

#include <stddef.h>

#define PF_TEXT_EXCERPT 160

/* A printable one-line excerpt of a body, at most PF_TEXT_EXCERPT bytes
 * (then "..."), control bytes folded, invalid UTF-8 replaced by U+FFFD,
 * secret (if any) replaced by "***". */
const char *pf_text_excerpt(const char *body, size_t len, const char *secret,
			   char *out, size_t outlen);
#endif
