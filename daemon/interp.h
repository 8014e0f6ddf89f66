/*
 * Expansion of ${...} in configuration strings (SPEC §5).
 *
 *   ${VAR}            the environment variable; unset is an error
 *   ${VAR:-default}   VAR when set and non-empty, else the literal default
 *                     (the default may not contain '}' and is not expanded)
 *   ${file:/path}     the file's contents, trailing newlines (\n, \r\n)
 *                     trimmed; at most PF_INTERP_MAX_FILE bytes, no NUL
 *   $$                a literal '$' (so "pa$$word" gives "pa$word")
 *   $ + anything else a literal '$' (a lone "$5" or "cost: $" stays as is)
 *
 * VAR is [A-Za-z_][A-Za-z0-9_]*.  An unterminated "${" or a malformed name
 * is an error.  Error messages name the JSON path and never include a
 * variable's value or a file's contents (they may be secrets).
 */
#ifndef PF_DAEMON_INTERP_H
#define PF_DAEMON_INTERP_H

#include <stddef.h>

#include "pf_file.h"

struct cJSON;

#define PF_INTERP_MAX_FILE PF_FILE_MAX_SECRET	/* largest ${file:} */
#define PF_INTERP_MAX_LEN (4u * 1024u * 1024u)	/* largest expanded string */

/* Expands one string; *out is malloc'd (caller owns).  `path` ("checks[1].url")
 * prefixes error messages. */
int pf_interp_string(const char *in, const char *path, char **out,
		     char *err, size_t errlen);

/* Expands every string value (not keys) in the tree, in place.  `path` is
 * the JSON path of root ("" for the document). */
int pf_interp_tree(struct cJSON *root, const char *path, char *err,
		   size_t errlen);

#endif
