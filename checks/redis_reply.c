/*
 * What a Redis error reply means: the SPEC §4 reason and, for the kind's
 * hint rules (redis.c), the cause.  Pure.
 */
#include <string.h>

#include "redis_reply.h"

enum pf_reason pf_redis_error_reason(const char *cmd, const char *text,
				     const char **cause)
{
	*cause = NULL;
	if (strncmp(text, "NOAUTH", 6) == 0) {
		*cause = "noauth";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "WRONGPASS", 9) == 0 || strstr(text, "invalid password") ||
	    strstr(text, "invalid username-password")) {
		*cause = "wrongpass";
		return PF_REASON_AUTH;
	}
	if (strstr(text, "no password is set") ||
	    strstr(text, "without any password configured")) {
		/* Not a pass: the secret we hold protects nothing, or we reached
		 * another server than the one whose password we were given. */
		*cause = "no_password_set";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "NOPERM", 6) == 0) {
		*cause = "noperm";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "LOADING", 7) == 0) {
		*cause = "loading";
		return PF_REASON_PROTOCOL;
	}
	if (strcmp(cmd, "SELECT") == 0 && strstr(text, "out of range")) {
		/* The URL's /DB does not exist there: Redis's "no such database". */
		*cause = "select_range";
		return PF_REASON_WRONG_DATABASE;
	}
	if (strncmp(text, "WRONGTYPE", 9) == 0)
		*cause = "wrongtype";
	return PF_REASON_PROTOCOL;
}
