/*
 * Classifies Redis error replies into SPEC §4 reasons with a remediation
 * text, and cleans peer text for messages.  Pure functions: no state.
 */
#include <string.h>

#include "redis_reply.h"

enum pf_reason pf_redis_error_reason(const char *cmd, const char *text,
				     const char **hint)
{
	*hint = NULL;
	if (strncmp(text, "NOAUTH", 6) == 0) {
		*hint = "the server requires a password: put it in the URL "
			"(redis://:PASSWORD@host, or redis://USER:PASSWORD@host for an ACL user)";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "WRONGPASS", 9) == 0 || strstr(text, "invalid password") ||
	    strstr(text, "invalid username-password")) {
		*hint = "the password (or ACL user) in the URL is not accepted by this "
			"server: check the secret the service is deployed with";
		return PF_REASON_AUTH;
	}
	if (strstr(text, "no password is set") ||
	    strstr(text, "without any password configured")) {
		/* Not a pass: the secret we hold protects nothing, or we reached
		 * another server than the one whose password we were given. */
		*hint = "the URL carries a password but this server has none "
			"(requirepass unset): is this the Redis you expect? Set "
			"requirepass, or drop the password from the URL";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "NOPERM", 6) == 0) {
		*hint = "the ACL user may not run this command: grant it (ACL SETUSER)";
		return PF_REASON_AUTH;
	}
	if (strncmp(text, "LOADING", 7) == 0) {
		*hint = "Redis is loading its dataset into memory and answers once "
			"loading completes";
		return PF_REASON_PROTOCOL;
	}
	if (strcmp(cmd, "SELECT") == 0 && strstr(text, "out of range")) {
		/* The URL's /DB does not exist there: Redis's "no such database". */
		*hint = "the server has fewer databases than the URL's /DB: fix the "
			"database number in the URL (or `databases` in redis.conf)";
		return PF_REASON_WRONG_DATABASE;
	}
	if (strncmp(text, "WRONGTYPE", 9) == 0)
		*hint = "queue.key holds something other than a list: is it the "
			"right key?";
	return PF_REASON_PROTOCOL;
}

void pf_redis_peer_text(const char *s, size_t n, const char *secret,
			char *out, size_t len)
{
	size_t slen = secret ? strlen(secret) : 0, o = 0;

	if (len == 0)
		return;
	for (size_t i = 0; i < n && o + 4 < len && o < 200; i++) {
		if (slen && n - i >= slen && memcmp(s + i, secret, slen) == 0) {
			memcpy(out + o, "***", 3);
			o += 3;
			i += slen - 1;
			continue;
		}
		out[o++] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : '?';
	}
	out[o] = '\0';
}
