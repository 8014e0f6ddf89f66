/*
 * The postgres kind's pure half, part three: what a failure means.  Server
 * errors are classified by their SQLSTATE, which libpq prints when the
 * connection's error verbosity is VERBOSE ("FATAL:  28P01: ..."), never
 * by their text, which a localized server translates.  libpq's own
 * messages (refused, timed out, TLS) are always English: the daemon never
 * calls setlocale().  Also the cleaning of messages.
 */
#include "postgres_query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_mask.h"
#include "pf_text.h"
#include "pf_util.h"

static bool is_state_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

bool pf_pg_message_sqlstate(const char *msg, char state[6])
{
	/* "FATAL:  28P01: ..." — the two spaces after the severity are
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

/* SQLSTATEs and their reason (the hints are postgres_hint.c's rules).
 * A class ("08") matches every code of it. */
static const struct {
	const char *state;
	enum pf_reason reason;
} states[] = {
	{ "28P01", PF_REASON_AUTH },
	{ "28000", PF_REASON_AUTH },
	{ "42501", PF_REASON_AUTH },
	{ "3D000", PF_REASON_WRONG_DATABASE },
	{ "57P03", PF_REASON_CONNECT_REFUSED },
	{ "53300", PF_REASON_CONNECT_REFUSED },
	{ "55000", PF_REASON_CONNECT_REFUSED },
	{ "57P01", PF_REASON_CONNECT_REFUSED },
	{ "57P02", PF_REASON_CONNECT_REFUSED },
	{ "57014", PF_REASON_TIMEOUT },
	{ "08P01", PF_REASON_PROTOCOL },
	{ "0A000", PF_REASON_PROTOCOL },
	{ "08", PF_REASON_CONNECT_REFUSED },
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

/* A verbose message's "LOCATION:  auth_failed, auth.c:326" line says
 * where in the server's source the error was raised: noise here. */
static const char *skip_location(const char *r)
{
	if (strncmp(r, "LOCATION:", 9) != 0)
		return r;
	const char *nl = strchr(r, '\n');
	return nl ? nl : r + strlen(r);
}

/* Joins the message's lines with "; ", without LOCATION lines. */
static size_t join_lines(const char *msg, char *out, size_t cap)
{
	size_t w = 0;

	for (const char *r = skip_location(msg); *r && w + 3 < cap; r++) {
		if (*r == '\n' || *r == '\r') {
			const char *next = skip_location(r + 1);

			if (w > 0 && *next != '\0' && *next != '\n') {
				out[w++] = ';';
				out[w++] = ' ';
			}
			r = next - 1;
			continue;
		}
		out[w++] = *r;
	}
	while (w > 0 && (out[w - 1] == ' ' || out[w - 1] == ';'))
		w--;
	out[w] = '\0';
	return w;
}

void pf_pg_clean_message(char *dst, size_t len, const char *msg,
			 const char *secret)
{
	char joined[2 * PF_ERROR_MAX];
	size_t n;

	if (len == 0)
		return;
	n = join_lines(msg ? msg : "", joined, sizeof joined);
	/* "FATAL:  x" -> "FATAL: x", one line, valid UTF-8, bounded */
	pf_text_clean(joined, n, 0, dst, len);
	pf_mask_secret(dst, len, secret);
}
