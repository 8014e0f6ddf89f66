/*
 * Built-in remediation hints: one per failure reason, written for the
 * operator who reads /status or the `preflightd check` report at deploy
 * time.  A check's `hints` and a kind's own hint take precedence (state.c).
 */
#include "check.h"

/* Indexed by enum pf_reason; every reason has a hint (test_state checks). */
static const char *const builtin[PF_REASON_COUNT] = {
	[PF_REASON_NONE] = NULL,
	[PF_REASON_DNS] =
		"the host name does not resolve: check the spelling in the URL, "
		"the DNS settings of the container or node, and that the "
		"service or private zone exists in this environment",
	[PF_REASON_CONNECT_REFUSED] =
		"the host answered but nothing listens on that port: is the "
		"server running, on this port, and listening on this interface "
		"(a Cloud SQL proxy or Redis bound to 127.0.0.1 only)?",
	[PF_REASON_CONNECT_TIMEOUT] =
		"no route to the address: if it is a private IP, deploy with "
		"Direct VPC egress (--network, --subnet, "
		"--vpc-egress=private-ranges-only) or a Serverless VPC Access "
		"connector; otherwise check firewall rules and authorized "
		"networks",
	[PF_REASON_TIMEOUT] =
		"the peer accepted the connection but did not answer in time: "
		"is it overloaded, blocked on locks, or is something in between "
		"swallowing the traffic? Raise the check's timeout only if the "
		"peer is known to be slow",
	[PF_REASON_TLS] =
		"the TLS handshake failed: check the certificate chain, the "
		"host name in the URL against the certificate, and the sslmode "
		"or scheme (https vs http)",
	[PF_REASON_AUTH] =
		"the server rejected the credentials: check the user and "
		"password (or token) in the mounted secret, that it is the "
		"current version, and that the role or user exists",
	[PF_REASON_PROTOCOL] =
		"the peer does not speak the expected protocol: is the port "
		"right (a proxy, another service or a TLS-only endpoint?)",
	[PF_REASON_WRONG_DATABASE] =
		"connected to a different database than expected: fix the "
		"database name in the URL, or create the database and grant "
		"the role CONNECT on it",
	[PF_REASON_MISSING_TABLE] =
		"run the migrations for this database before starting its "
		"workers (mobius_chat: the Chat migration job, before deploying "
		"the Chat API and worker; mobius_rag: RAG init and migrations, "
		"before the chunking and embedding workers), then POST /run",
	[PF_REASON_MISSING_COLUMN] =
		"the schema is older than the code: run the pending migrations "
		"for this database before starting its workers (a missing "
		"column can make a worker silently do nothing, e.g. extract 0 "
		"facts), then POST /run",
	[PF_REASON_ASSERTION] =
		"a data assertion failed: inspect the query's result and fix "
		"the data or the migration that should have produced it",
	[PF_REASON_HTTP_STATUS] =
		"the endpoint answered with an unexpected HTTP status: check "
		"the URL, the bearer token (401/403) and the service's own logs",
	[PF_REASON_BAD_RESPONSE] =
		"the endpoint answered with a body it should not: check that "
		"the URL points at the right service and version",
	[PF_REASON_JOB_FAILED] =
		"the worker picked up the job and reported a failure: read the "
		"error code and the worker's logs; a missing table or column in "
		"its database (see the database checks) fails every job",
	[PF_REASON_JOB_TIMEOUT] =
		"the API accepted the job but no worker completed it: is the "
		"worker running, on the same Redis, with its tables migrated?",
	[PF_REASON_QUEUE_BACKLOG] =
		"the queue keeps growing: no worker is consuming it; is the "
		"worker running, connected to this Redis and reading this key?",
	[PF_REASON_QUEUE_STALLED] =
		"no worker takes jobs from the queue: is the Chat worker "
		"running, on this Redis, with CHAT_QUEUE_TYPE=redis?",
	[PF_REASON_READ_ONLY] =
		"the server is a read-only replica: the services cannot write "
		"there; point the URL at the primary (or set allow_replica if "
		"read-only access is intended)",
	[PF_REASON_CONFIG] =
		"the check's configuration is invalid: fix it and reload "
		"(SIGHUP) or redeploy",
	[PF_REASON_INTERNAL] =
		"preflightd itself failed to run this probe: see its logs and "
		"report the error if it persists",
};

const char *pf_hint_builtin(enum pf_reason r)
{
	if ((int)r <= (int)PF_REASON_NONE || r >= PF_REASON_COUNT)
		return NULL;
	return builtin[r];
}
