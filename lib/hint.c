/*
 * The hint policy (pf_hint.h): the cross-kind rules, the built-in hint of
 * every reason, and the chooser that fills a rule's {placeholders}.
 * Hints are written for the operator who reads /status or the
 * `preflightd check` report at deploy time.  Pure.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pf_hint.h"
#include "pf_net.h"
#include "pf_util.h"

/* 1. Before the kind's own: the address class decides (SPEC §4: the
 * VPC-egress hint applies to every kind whose peer is private). */
static const struct pf_hint_rule by_address[] = {
	{ PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PRIVATE, NULL,
	  "no route to private IP {address}: deploy with Direct VPC egress"
	  " (--network, --subnet, --vpc-egress=private-ranges-only) or a"
	  " Serverless VPC Access connector" },
	{ PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PRIVATE, NULL,
	  "no route to the private address: deploy with Direct VPC egress"
	  " (--network, --subnet, --vpc-egress=private-ranges-only) or a"
	  " Serverless VPC Access connector" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

/* 3. After the kind's own: a connect timeout to an address that is not
 * private (no VPC advice there), and causes lib/xfer.c sets for the http
 * and chat kinds (OpenSSL's words as curl passes them on,
 * pf_xfer_tls_cause). */
static const struct pf_hint_rule by_shared_cause[] = {
	{ PF_REASON_CONNECT_TIMEOUT, PF_ADDR_LOOPBACK, NULL,
	  "nothing accepted the TCP connection to {address} in time: is the"
	  " server overloaded (its accept queue full) or the port firewalled?" },
	{ PF_REASON_CONNECT_TIMEOUT, PF_ADDR_PUBLIC, NULL,
	  "nothing accepted the TCP connection to {address}: check the host,"
	  " the port, firewall rules and authorized networks" },
	{ PF_REASON_TLS, PF_HINT_ANY_ADDR, "tls:untrusted_ca_file",
	  "the server's certificate does not chain to the CA in ca_file:"
	  " point ca_file at the PEM bundle of the CA that issued it" },
	{ PF_REASON_TLS, PF_HINT_ANY_ADDR, "tls:untrusted",
	  "the server's certificate does not chain to a CA of the system"
	  " store: for a private CA, set ca_file to that CA's PEM bundle"
	  " (verification stays on)" },
	{ PF_REASON_TLS, PF_HINT_ANY_ADDR, "tls:name",
	  "the certificate does not name the host in the URL: use a host"
	  " name its subjectAltName lists, or reissue the certificate for"
	  " this name" },
	{ PF_REASON_TLS, PF_HINT_ANY_ADDR, "tls:expired",
	  "the server's certificate is outside its validity period: renew"
	  " it (and check the clocks)" },
	{ PF_REASON_TLS, PF_HINT_ANY_ADDR, "tls:plain",
	  "the port answered without TLS: use http:// for a plain HTTP"
	  " endpoint, or the service's TLS port" },
	{ PF_REASON_NONE, 0, NULL, NULL },
};

/* 4. The built-in hint of each reason; every reason has one
 * (tests/unit/lib/test_hint.c checks). */
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

static bool cause_matches(const char *want, const char *cause)
{
	size_t n;

	if (!want)
		return true;
	n = strlen(want);
	if (n > 0 && want[n - 1] == '*')
		return strncmp(cause, want, n - 1) == 0;
	return strcmp(cause, want) == 0;
}

static bool rule_matches(const struct pf_hint_rule *rule,
			 const struct pf_result *r)
{
	return (rule->reason == PF_REASON_NONE || rule->reason == r->reason) &&
	       (rule->aclass == PF_HINT_ANY_ADDR || rule->aclass == r->aclass) &&
	       cause_matches(rule->cause, r->cause);
}

/* The value of {name}: a var, else a string or number in the details;
 * NULL when neither. */
static const char *lookup(const struct pf_result *r, const char *name,
			  char *num, size_t numlen)
{
	const cJSON *d;

	for (int i = 0; i < PF_HINT_VARS; i++)
		if (r->vars[i].name[0] && strcmp(r->vars[i].name, name) == 0)
			return r->vars[i].value;
	d = r->details ? cJSON_GetObjectItemCaseSensitive(r->details, name) : NULL;
	if (cJSON_IsString(d))
		return d->valuestring;
	if (cJSON_IsNumber(d)) {
		snprintf(num, numlen, "%g", d->valuedouble);
		return num;
	}
	return NULL;
}

/* Fills text's placeholders into out; false when one has no value. */
static bool expand(const char *text, const struct pf_result *r, char *out,
		   size_t len)
{
	out[0] = '\0';
	while (*text) {
		const char *close = text[0] == '{' ? strchr(text, '}') : NULL;
		char name[32], num[32];
		const char *v;
		size_t n = close ? (size_t)(close - text - 1) : 0;

		if (!close || n == 0 || n >= sizeof name) {
			size_t run = strcspn(text + 1, "{") + 1;
			char piece[PF_HINT_MAX];

			snprintf(piece, sizeof piece, "%.*s", (int)run, text);
			pf_strlcat(out, piece, len);
			text += run;
			continue;
		}
		memcpy(name, text + 1, n);
		name[n] = '\0';
		if (!(v = lookup(r, name, num, sizeof num)))
			return false;
		pf_strlcat(out, v, len);
		text = close + 1;
	}
	return true;
}

/* The first rule of table that matches and can be filled. */
static bool try_table(const struct pf_hint_rule *table, struct pf_result *r)
{
	for (; table && table->text; table++)
		if (rule_matches(table, r) &&
		    expand(table->text, r, r->hint, sizeof r->hint))
			return true;
	return false;
}

void pf_hint_choose(const struct pf_hint_rule *kind_rules, struct pf_result *r)
{
	const char *builtin_hint = pf_hint_builtin(r->reason);

	r->hint[0] = '\0';
	if (r->reason == PF_REASON_NONE)
		return;
	if (try_table(by_address, r) || try_table(kind_rules, r) ||
	    try_table(by_shared_cause, r))
		return;
	pf_strlcpy(r->hint, builtin_hint ? builtin_hint : "", sizeof r->hint);
}

void pf_result_cause(struct pf_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->cause, sizeof r->cause, fmt, ap);
	va_end(ap);
}

void pf_result_var(struct pf_result *r, const char *name, const char *fmt, ...)
{
	struct pf_hint_var *slot = NULL;
	va_list ap;

	for (int i = 0; i < PF_HINT_VARS && !slot; i++)
		if (!r->vars[i].name[0] || strcmp(r->vars[i].name, name) == 0)
			slot = &r->vars[i];
	if (!slot)
		return;
	pf_strlcpy(slot->name, name, sizeof slot->name);
	va_start(ap, fmt);
	vsnprintf(slot->value, sizeof slot->value, fmt, ap);
	va_end(ap);
}
