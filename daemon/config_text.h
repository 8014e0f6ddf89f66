/*
 * The text layer of the configuration: blanking `//` and `/ * * /`
 * comments without moving any character, and parsing with cJSON so that syntax errors come out as FILE:LINE:COL.
 */
#ifndef PF_DAEMON_CONFIG_TEXT_H
#define PF_DAEMON_CONFIG_TEXT_H

#include <stddef.h>

struct cJSON;

#define PF_CONFIG_MAX_BYTES (4u * 1024u * 1024u)	/* largest config file */
#define PF_CONFIG_MAX_DEPTH 32				/* deepest {...}/[...] nesting */

/* Replaces comments in text[0..len) by spaces, keeping every newline, so
 * byte offsets (and thus line:column) are unchanged; `//` and `/ *` inside
 * strings are left alone.  Also rejects NUL bytes, unterminated comments
 * and nesting deeper than PF_CONFIG_MAX_DEPTH.  Errors are
 * "SOURCE:LINE:COL: message". */
int pf_text_strip_comments(char *text, size_t len, const char *source,
			   char *err, size_t errlen);

/* Environment variable NAME, or the contents of the file NAME_FILE names
 * (at most max bytes, trailing newlines trimmed; how mounted secrets
 * arrive).  An empty variable counts as unset; both set is an error.
 * *out is malloc'd, or NULL when neither is set; with file non-NULL,
 * *file is a malloc'd copy of NAME_FILE's path (NULL when not used). */
int pf_env_value(const char *name, size_t max, char **out, char **file,
		 char *err, size_t errlen);

/* 1-based line and column (in characters, not bytes) of byte offset `pos`. */
void pf_text_position(const char *text, size_t pos, unsigned *line,
		      unsigned *col);

/* Strips comments from a copy of text[0..len) and parses it.  On success
 * *out is the document (owned by the caller). */
int pf_text_parse(const char *text, size_t len, const char *source,
		  struct cJSON **out, char *err, size_t errlen);

#endif
