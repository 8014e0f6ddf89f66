/*
 * The postgres kind's hint rules (pf_hint.h) and the facts that pick and
 * fill them: the cause (the server's SQLSTATE, else libpq's TLS words,
 * else a socket folder) and the vars where, database, socket, sqlstate.
 * The texts are the policy's; this file only says what happened.  Pure.
 */
#include <stdio.h>
#include <string.h>

#include "pf_hint.h"
#include "pf_util.h"
#include "postgres.h"

#define ANY PF_HINT_ANY_ADDR

const struct pf_hint_rule pf_pg_hints[] = {
	/* SQLSTATEs that say more than their reason (any reason) */
	{ PF_REASON_NONE, ANY, "sqlstate:28000",
	  "no pg_hba.conf line admits this role, database and address (or the"
	  " role does not exist): if the server takes clients only over TLS"
	  " (hostssl), set sslmode=verify-full with sslrootcert; else add a"
	  " pg_hba entry, or create the role" },
	{ PF_REASON_NONE, ANY, "sqlstate:42501",
	  "the role may not connect to this database: GRANT CONNECT ON"
	  " DATABASE to it (and USAGE on its schemas)" },
	{ PF_REASON_NONE, ANY, "sqlstate:57P03",
	  "the server is starting up, shutting down or recovering and does"
	  " not accept connections yet: wait for it, or look at its log if"
	  " this lasts" },
	{ PF_REASON_NONE, ANY, "sqlstate:53300",
	  "no free connection slots: the server's max_connections, or the"
	  " role's or database's CONNECTION LIMIT, is reached; stop idle"
	  " clients or pool them, or raise the limit" },
	{ PF_REASON_NONE, ANY, "sqlstate:55000",
	  "the server refused this connection in its current state (e.g. the"
	  " database does not allow connections: ALLOW_CONNECTIONS false)" },
	/* a code without a hint of its own, at connect: the server's message
	 * says why; the built-in hints (nothing listens, not PostgreSQL)
	 * would mislead */
	{ PF_REASON_CONNECT_REFUSED, ANY, "sqlstate:*",
	  "{where} refused the connection with SQLSTATE {sqlstate}: its"
	  " message (in error) says why" },
	{ PF_REASON_PROTOCOL, ANY, "sqlstate:*",
	  "{where} refused the connection with SQLSTATE {sqlstate}: its"
	  " message (in error) says why" },
	/* libpq's TLS failures (libpq reports every chain failure as
	 * "certificate verify failed", so that hint names both causes) */
	{ PF_REASON_NONE, ANY, "pg_tls:no_ssl",
	  "{where} does not offer TLS but sslmode requires it: turn ssl on at"
	  " the server, or use sslmode=prefer only where the path is private"
	  " (unix socket, Cloud SQL Auth Proxy)" },
	{ PF_REASON_NONE, ANY, "pg_tls:name",
	  "the certificate of {where} does not name the host in the URL:"
	  " connect with a name its subjectAltName lists, or reissue the"
	  " certificate for this name" },
	{ PF_REASON_NONE, ANY, "pg_tls:rootcert",
	  "sslrootcert names no readable file: mount the CA certificate that"
	  " issued the server's (Cloud SQL: server-ca.pem) at that path" },
	{ PF_REASON_NONE, ANY, "pg_tls:untrusted",
	  "the certificate of {where} is not trusted: point sslrootcert at the"
	  " CA that issued it (Cloud SQL: server-ca.pem), and check that it"
	  " has not expired" },
	{ PF_REASON_NONE, ANY, "pg_tls:version",
	  "{where} and this client share no TLS version: align"
	  " ssl_min_protocol_version/ssl_max_protocol_version in the URL with"
	  " the server's settings" },
	{ PF_REASON_NONE, ANY, "pg_hba:no_encryption",
	  "no pg_hba.conf line of {where} admits this unencrypted connection:"
	  " if it takes clients only over TLS (hostssl), set"
	  " sslmode=verify-full with sslrootcert (or sslmode=require); else"
	  " add a pg_hba entry for this client's address" },
	/* by reason */
	{ PF_REASON_MISSING_TABLE, ANY, NULL,
	  "run the migrations for database {database}{span} before starting"
	  " its workers" },
	{ PF_REASON_MISSING_COLUMN, ANY, NULL,
	  "run the migrations for database {database}{span} before starting"
	  " its workers" },
	{ PF_REASON_READ_ONLY, ANY, NULL,
	  "{where} is a read-only replica (in recovery): the services cannot"
	  " write database {database} there; point the URL at the primary, or"
	  " set \"allow_replica\": true if this check is meant for a replica" },
	{ PF_REASON_AUTH, ANY, NULL,
	  "the server rejected the credentials for database {database}: check"
	  " the user and password in the mounted secret, that the role exists"
	  " and may log in (pg_hba allows it, SCRAM password set)" },
	{ PF_REASON_WRONG_DATABASE, ANY, NULL,
	  "point the URL at database {database}, or create it and grant the"
	  " role CONNECT on it" },
	{ PF_REASON_CONNECT_REFUSED, ANY, "socket_dir",
	  "no PostgreSQL socket in {socket}: is the Cloud SQL connector/proxy"
	  " running and the volume mounted there?" },
	/* (a private address got the VPC-egress hint before these) */
	{ PF_REASON_CONNECT_TIMEOUT, ANY, NULL,
	  "nothing accepted the TCP connection to {where}: check the host,"
	  " port, firewall rules and authorized networks" },
	{ PF_REASON_PROTOCOL, ANY, NULL,
	  "{where} does not speak the PostgreSQL protocol: is the host or port"
	  " pointing at another service?" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

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

const char *pf_pg_tls_cause(const char *msg)
{
	if (msg == NULL)
		return NULL;
	if (strstr(msg, "does not support SSL"))
		return "pg_tls:no_ssl";
	if (strstr(msg, "does not match host name"))
		return "pg_tls:name";
	if (strstr(msg, "root certificate file"))
		return "pg_tls:rootcert";
	if (strstr(msg, "certificate verify failed"))
		return "pg_tls:untrusted";
	if (strstr(msg, "protocol version") || strstr(msg, "unsupported protocol"))
		return "pg_tls:version";
	if (strstr(msg, "no pg_hba.conf entry") && strstr(msg, "no encryption"))
		return "pg_hba:no_encryption";
	return NULL;
}

void pf_pg_hint_facts(const struct pf_pg_cfg *c, const char *sqlstate,
		      struct pf_result *res)
{
	const char *tls = res->reason == PF_REASON_TLS ||
			  res->reason == PF_REASON_AUTH ?
			  pf_pg_tls_cause(res->error) : NULL;
	char w[256];

	/* the server's code first: it is the same in every language */
	if (sqlstate)
		pf_result_cause(res, "sqlstate:%s", sqlstate);
	else if (tls)
		pf_result_cause(res, "%s", tls);
	else if (c->host && c->host[0] == '/')
		pf_result_cause(res, "socket_dir");
	pf_result_var(res, "where", "%s", pf_pg_where(c, w, sizeof w));
	pf_result_var(res, "database", "%s", pf_pg_cfg_dbname(c));
	if (sqlstate)
		pf_result_var(res, "sqlstate", "%s", sqlstate);
	if (c->host && c->host[0] == '/')
		pf_result_var(res, "socket", "%s", c->host);
}
