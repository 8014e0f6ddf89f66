/*
 * The postgres kind's pure half, part three: what a failure means.  Server
 * errors are classified by their SQLSTATE, which libpq prints when the
 * connection's error verbosity is VERBOSE ("FATAL:  28P01: ..."), never
 * by their text, which a localized server translates.  libpq's own
 * messages (refused, timed out, TLS) are always English: the daemon never
 * calls setlocale().  Also the cleaning and scrubbing of messages.
 */
#include "postgres_query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_util.h"

static bool is_state_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

bool pf_pg_message_sqlstate(const char *msg, char state[6])
{
	/* "SEVERITY:  XXXXX: " — the two spaces after the severity are
	 * libpq's, the code is 5 of [0-9A-Z]; the severity word itself may be
	 * translated, so it is not matched. */
	for (const char *p = msg ? strstr(msg, ":  ") : NULL; p;
	     p = strstr(p + 1, ":  ")) {
		const char *c = p + 3;
		size_t i = 0;
		while (i < 5 && is_state_char(c[i]))
			i++;
		if (i == 5 && c[5] == ':' && c[6] == ' ') {
			memcpy(state, c, 5);
			state[5] = '\0';
			return true;
		}
	}
	return false;
}

/* SQLSTATEs with their reason and, where the reason's built-in hint
 * would not tell the operator enough, a hint of their own.  A class
 * ("08") matches every code of it. */
static const struct {
	const char *state;
	enum pf_reason reason;
	const char *hint;
} states[] = {
	{ "28P01", PF_REASON_AUTH, NULL },
	{ "28000", PF_REASON_AUTH,
	  "no pg_hba.conf line admits this role, database and address (or the"
	  " role does not exist): if the server takes clients only over TLS"
	  " (hostssl), set sslmode=verify-full with sslrootcert; else add a"
	  " pg_hba entry, or create the role" },
	{ "42501", PF_REASON_AUTH,
	  "the role may not connect to this database: GRANT CONNECT ON"
	  " DATABASE to it (and USAGE on its schemas)" },
	{ "3D000", PF_REASON_WRONG_DATABASE, NULL },
	{ "57P03", PF_REASON_CONNECT_REFUSED,
	  "the server is starting up, shutting down or recovering and does"
	  " not accept connections yet: wait for it, or look at its log if"
	  " this lasts" },
	{ "53300", PF_REASON_CONNECT_REFUSED,
	  "no free connection slots: the server's max_connections, or the"
	  " role's or database's CONNECTION LIMIT, is reached; stop idle"
	  " clients or pool them, or raise the limit" },
	{ "55000", PF_REASON_CONNECT_REFUSED,
	  "the server refused this connection in its current state (e.g. the"
	  " database does not allow connections: ALLOW_CONNECTIONS false)" },
	{ "57P01", PF_REASON_CONNECT_REFUSED, NULL },
	{ "57P02", PF_REASON_CONNECT_REFUSED, NULL },
	{ "57014", PF_REASON_TIMEOUT, NULL },
	{ "08P01", PF_REASON_PROTOCOL, NULL },
	{ "0A000", PF_REASON_PROTOCOL, NULL },
	{ "08", PF_REASON_CONNECT_REFUSED, NULL },
};

static int find_state(const char *state)
{
	if (!state)
		return -1;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		if (strncmp(state, states[i].state, strlen(states[i].state)) == 0)
			return (int)i;
	return -1;
}

enum pf_reason pf_pg_classify_sqlstate(const char *state,
				       enum pf_reason fallback)
{
	int i = find_state(state);

	return i < 0 ? fallback : states[i].reason;
}

const char *pf_pg_sqlstate_hint(const char *state)
{
	int i = find_state(state);

	return i < 0 ? NULL : states[i].hint;
}

static bool has(const char *msg, const char *needle)
{
	return strcasestr(msg, needle) != NULL;
}

/* libpq's own failures, in its (untranslated) words. */
static enum pf_reason classify_libpq(const char *msg)
{
	/* SSL negotiation garbage is protocol (the peer is not PostgreSQL),
	 * but OpenSSL's own errors are tls even when they say "protocol"
	 * ("SSL error: unsupported protocol"). */
	if (has(msg, "no password supplied") || has(msg, "SCRAM") ||
	    has(msg, "SASL") || has(msg, "password authentication"))
		return PF_REASON_AUTH;
	if (has(msg, "invalid response to SSL negotiation"))
		return PF_REASON_PROTOCOL;
	if (has(msg, "SSL error") || has(msg, "SSL SYSCALL") ||
	    has(msg, "does not support SSL") || has(msg, "certificate"))
		return PF_REASON_TLS;
	if (has(msg, "expected authentication request") ||
	    has(msg, "server closed the connection unexpectedly") ||
	    has(msg, "unexpected message") || has(msg, "invalid message") ||
	    has(msg, "lost synchronization") || has(msg, "protocol"))
		return PF_REASON_PROTOCOL;
	if (has(msg, "could not translate host name"))
		return PF_REASON_DNS;
	if (has(msg, "timed out") || has(msg, "no route to host") ||
	    has(msg, "network is unreachable"))
		return PF_REASON_CONNECT_TIMEOUT;
	if (has(msg, "SSL"))
		return PF_REASON_TLS;
	return PF_REASON_CONNECT_REFUSED;
}

enum pf_reason pf_pg_classify_connect(const char *msg)
{
	char state[6];

	if (msg == NULL)
		return PF_REASON_CONNECT_REFUSED;
	/* A server that answered with a well-formed error speaks the protocol:
	 * an unknown code means it refused this connection. */
	if (pf_pg_message_sqlstate(msg, state))
		return pf_pg_classify_sqlstate(state, PF_REASON_CONNECT_REFUSED);
	return classify_libpq(msg);
}

/* A text cut at the buffer's end may end in the first bytes of the
 * secret: drop them. */
static void cut_secret_prefix(char *s, size_t len, const char *secret)
{
	size_t sl = strlen(secret);
	for (size_t k = sl - 1; k > 0 && strlen(s) + 1 >= len; k--) {
		size_t cur = strlen(s);
		if (cur >= k && strncmp(s + cur - k, secret, k) == 0) {
			s[cur - k] = '\0';
			break;
		}
	}
}

void pf_pg_scrub(char *s, size_t len, const char *secret)
{
	/* Shorter secrets cannot be told from ordinary text ("p" would mask
	 * every letter p); libpq does not echo passwords anyway: this is the
	 * second line of defence. */
	if (secret == NULL || strlen(secret) < PF_PG_SCRUB_MIN || len == 0)
		return;
	if (strstr(s, secret) == NULL) {
		cut_secret_prefix(s, len, secret);
		return;
	}
	char *tmp = malloc(len);
	if (tmp == NULL) {
		/* Cannot rewrite: drop the text rather than leak the secret. */
		pf_strlcpy(s, "(message withheld: it contained a secret)", len);
		return;
	}
	tmp[0] = '\0';
	size_t sl = strlen(secret);
	const char *r = s;
	for (const char *hit; (hit = strstr(r, secret)) != NULL; r = hit + sl) {
		size_t used = strlen(tmp), n = (size_t)(hit - r);
		if (used + n >= len)
			n = len - used - 1;
		memcpy(tmp + used, r, n);
		tmp[used + n] = '\0';
		pf_strlcat(tmp, "***", len);
	}
	pf_strlcat(tmp, r, len);
	pf_strlcpy(s, tmp, len);
	free(tmp);
	cut_secret_prefix(s, len, secret);
}

/* A verbose message's "LOCATION:  auth_failed, auth.c:326" line says
 * where in the server's source the error was raised: noise here. */
static const char *skip_location(const char *r)
{
	if (strncmp(r, "LOCATION:", 9) != 0)
		return r;
	const char *nl = strchr(r, '\n');
	return nl ? nl : r + strlen(r);
}

void pf_pg_clean_message(char *dst, size_t len, const char *msg,
			 const char *secret)
{
	size_t w = 0;
	if (len == 0)
		return;
	for (const char *r = msg ? skip_location(msg) : ""; *r && w + 1 < len; r++) {
		if (*r == '\n' || *r == '\r') {
			const char *next = skip_location(r + 1);
			if (w > 0 && *next != '\0' && *next != '\n' && w + 3 < len) {
				dst[w++] = ';';
				dst[w++] = ' ';
			}
			r = next - 1;
			continue;
		}
		char c = *r == '\t' ? ' ' : *r;

		/* "FATAL:  x" -> "FATAL: x"; "; \tIs the server" -> "; Is" */
		if (c == ' ' && w > 0 && dst[w - 1] == ' ')
			continue;
		dst[w++] = c;
	}
	while (w > 0 && (dst[w - 1] == ' ' || dst[w - 1] == ';'))
		w--;
	dst[w] = '\0';
	pf_pg_scrub(dst, len, secret);
}
