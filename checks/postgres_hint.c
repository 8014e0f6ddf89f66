/*
 * The postgres kind's own hints: where the server is (for messages), and
 * the remediation for a failure that says more than the reason's
 * built-in hint (TLS variants, auth, socket folders, SQLSTATEs).  Pure.
 */
#include <stdio.h>
#include <string.h>

#include "pf_util.h"
#include "postgres.h"

/* "host:port" (or the socket dir) for hints; never holds a secret. */
const char *pf_pg_where(const struct pf_pg_cfg *c, char *buf, size_t len)
{
	if (c->host == NULL || *c->host == '\0')
		return pf_strlcpy(buf, "the default socket", len), buf;
	if (c->host[0] == '/')
		snprintf(buf, len, "socket directory %s", c->host);
	else
		snprintf(buf, len, "%s:%s", c->host, c->port ? c->port : "5432");
	return buf;
}

void pf_pg_tls_hint(const char *msg, const char *where, char *h, size_t n)
{
	h[0] = '\0';
	if (msg == NULL)
		return;
	/* libpq reports every chain failure (unknown CA, expired, not yet
	 * valid) as "certificate verify failed", so that hint names both. */
	if (strstr(msg, "does not support SSL"))
		snprintf(h, n, "%s does not offer TLS but sslmode requires it:"
			 " turn ssl on at the server, or use sslmode=prefer"
			 " only where the path is private (unix socket, Cloud"
			 " SQL Auth Proxy)", where);
	else if (strstr(msg, "does not match host name"))
		snprintf(h, n, "the certificate of %s does not name the host"
			 " in the URL: connect with a name its subjectAltName"
			 " lists, or reissue the certificate for this name",
			 where);
	else if (strstr(msg, "root certificate file"))
		snprintf(h, n, "sslrootcert names no readable file: mount the"
			 " CA certificate that issued the server's (Cloud SQL:"
			 " server-ca.pem) at that path");
	else if (strstr(msg, "certificate verify failed"))
		snprintf(h, n, "the certificate of %s is not trusted: point"
			 " sslrootcert at the CA that issued it (Cloud SQL:"
			 " server-ca.pem), and check that it has not expired",
			 where);
	else if (strstr(msg, "protocol version") ||
		 strstr(msg, "unsupported protocol"))
		snprintf(h, n, "%s and this client share no TLS version: align"
			 " ssl_min_protocol_version/ssl_max_protocol_version"
			 " in the URL with the server's settings", where);
	else if (strstr(msg, "no pg_hba.conf entry") &&
		 strstr(msg, "no encryption"))
		snprintf(h, n, "no pg_hba.conf line of %s admits this"
			 " unencrypted connection: if it takes clients only"
			 " over TLS (hostssl), set sslmode=verify-full with"
			 " sslrootcert (or sslmode=require); else add a"
			 " pg_hba entry for this client's address", where);
}

/* The hint for a reason when the SQLSTATE has none of its own; w is
 * "server HOST:PORT". */
static void reason_hint(const struct pf_pg_cfg *c, enum pf_reason reason,
			bool private_addr, const char *error, const char *w,
			char *h, size_t n)
{
	const char *db = pf_pg_cfg_dbname(c);

	switch (reason) {
	case PF_REASON_MISSING_TABLE:
	case PF_REASON_MISSING_COLUMN:
		pf_pg_migration_hint(db, NULL, NULL, h, n);
		break;
	case PF_REASON_READ_ONLY:
		snprintf(h, n, "%s is a read-only replica (in recovery): the"
			 " services cannot write database %s there; point the"
			 " URL at the primary, or set \"allow_replica\": true"
			 " if this check is meant for a replica", w, db);
		break;
	case PF_REASON_TLS:
		pf_pg_tls_hint(error, w, h, n);
		break;
	case PF_REASON_AUTH:
		pf_pg_tls_hint(error, w, h, n);
		if (h[0] != '\0')
			break;
		snprintf(h, n, "the server rejected the credentials for database"
			 " %s: check the user and password in the mounted"
			 " secret, that the role exists and may log in (pg_hba"
			 " allows it, SCRAM password set)", db);
		break;
	case PF_REASON_WRONG_DATABASE:
		snprintf(h, n, "point the URL at database %s, or create it and"
			 " grant the role CONNECT on it", db);
		break;
	case PF_REASON_CONNECT_REFUSED:
		if (c->host && c->host[0] == '/')
			snprintf(h, n, "no PostgreSQL socket in %s: is the Cloud"
				 " SQL connector/proxy running and the volume"
				 " mounted there?", c->host);
		break;
	case PF_REASON_CONNECT_TIMEOUT:
		if (!private_addr)
			snprintf(h, n, "nothing accepted the TCP connection to %s:"
				 " check the host, port, firewall rules and"
				 " authorized networks", w);
		break;
	case PF_REASON_PROTOCOL:
		snprintf(h, n, "%s does not speak the PostgreSQL protocol: is"
			 " the host or port pointing at another service?", w);
		break;
	default:
		break;
	}
}

void pf_pg_hint(const struct pf_pg_cfg *c, enum pf_reason reason,
		bool private_addr, const char *sqlstate, const char *error,
		char *h, size_t n)
{
	const char *own = pf_pg_sqlstate_hint(sqlstate);
	char w[256];

	if (own) {
		pf_strlcpy(h, own, n);
		return;
	}
	pf_pg_where(c, w, sizeof w);
	/* a code without a hint of its own, at connect: the server's message
	 * says why, the built-in hints (nothing listens, not PostgreSQL)
	 * would mislead */
	if (sqlstate && (reason == PF_REASON_CONNECT_REFUSED ||
			 reason == PF_REASON_PROTOCOL)) {
		snprintf(h, n, "%s refused the connection with SQLSTATE %s: its"
			 " message (in error) says why", w, sqlstate);
		return;
	}
	reason_hint(c, reason, private_addr, error, w, h, n);
}
