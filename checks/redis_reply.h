/*
 * What a Redis error reply means (redis_reply.c).  No I/O; unit-tested in
 * tests/unit/checks/test_redis_url.c.
 */
#ifndef PF_REDIS_REPLY_H
#define PF_REDIS_REPLY_H

#include "pf_check.h"

/* Reason for an error reply `text` to command `cmd` ("AUTH", "SELECT",
 * "PING", "LLEN").  *cause gets the cause for the hint rules ("noauth",
 * "wrongpass", "no_password_set", "noperm", "loading", "select_range",
 * "wrongtype"), or NULL when the reason says it all. */
enum pf_reason pf_redis_error_reason(const char *cmd, const char *text,
				     const char **cause);

#endif
