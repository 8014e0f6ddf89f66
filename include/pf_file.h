/*
 * Small files read whole (file.c): regular files only, opened without
 * blocking, size-capped.
 */
#ifndef PF_FILE_H
#define PF_FILE_H

#include <stddef.h>

/* The largest ${file:} value or secret file (SPEC §4). */
#define PF_FILE_MAX_SECRET (64u * 1024u)

/* Reads a whole file of at most `max` bytes into a NUL-terminated malloc'd
 * buffer (*out, owned by the caller) of length *len.  `what` names the file
 * in errors ("config file", "${file:...}").  Returns -1 with err filled. */
int pf_file_read(const char *path, size_t max, char **out, size_t *len,
		      const char *what, char *err, size_t errlen);

#endif
