/*
 * Pure helpers for the redis check's replies: what an error reply means
 * (reason and remediation) and how peer text is made safe to show.  No
 * I/O; unit-tested in tests/unit/test_redis_url.c.
 */
#ifndef PF_REDIS_REPLY_H
#define PF_REDIS_REPLY_H

#include <stddef.h>

#include "pf_check.h"

/* Reason for an error reply `text` to command `cmd` ("AUTH", "SELECT",
 * "PING", "LLEN").  *hint gets a static remediation text, or NULL when the
 * built-in hint for the reason fits. */
enum pf_reason pf_redis_error_reason(const char *cmd, const char *text,
				     const char **hint);

/* Copies s[0..n) into out for an error message: non-printable bytes become
 * '?', every occurrence of `secret` (may be NULL) becomes "***", and the
 * copy stops at 200 characters or len - 1. */
void pf_redis_peer_text(const char *s, size_t n, const char *secret,
			char *out, size_t len);

#endif
