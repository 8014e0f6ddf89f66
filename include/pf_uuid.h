#ifndef PF_UUID_H
#define PF_UUID_H

#include <stdbool.h>
#include <stddef.h>

/* A name-based UUID (RFC 4122 version 5, SHA-1) of name in preflightd's
 * own namespace, as 36 characters in out (len >= 37); -1 when hashing
 * fails. */
int pf_uuid_from_name(const char *name, char *out, size_t len);
/* True for the 8-4-4-4-12 hex form of a UUID. */
bool pf_is_uuid(const char *s);

#endif
