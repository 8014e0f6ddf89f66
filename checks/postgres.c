/*
 * The postgres check kind: one probe = resolve (evdns), non-blocking libpq
 * connect with real authentication, one catalog round trip, then the
 * assertions, in a read-only session.  Owns the probe state machine; config
 * lives in postgres_cfg.c, query text and verdicts in postgres_query.c.
 */
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pf_hint.h"
#include "pf_mask.h"
#include "pf_net.h"
#include "pf_probe.h"
#include "pf_resolve.h"
#include "pf_schema.h"
#include "pf_util.h"
#include "postgres.h"

/* libpq 15 knows ~45 keywords; we add at most 5. */
#define PG_MAX_KEYS 80
#define PG_ADDR_MAX 64

enum pg_phase {
	PG_KICK,		/* start: waiting one loop turn before connecting */
	PG_RESOLVING,		/* evdns lookups of the host list */
	PG_CONNECTING,		/* PQconnectPoll until OK */
	PG_SENDING,		/* PQflush still has query bytes to write */
	PG_READING,		/* waiting for results */
	PG_DONE			/* reported; I/O torn down */
};

struct pg_probe {
	struct pf_probe base;		/* the skeleton: deadline, end, result */
	const struct pf_pg_cfg *cfg;	/* borrowed: outlives the probe */
	enum pg_phase phase;
	struct event *io;		/* owned: libpq's socket readiness */
	struct pf_resolve *resolve;	/* owned while a lookup is pending */
	PGconn *conn;			/* owned; PQfinish in teardown */
	char **hosts;			/* owned: the host list split on ',' */
	size_t n_hosts, host_i;		/* host_i: the one being resolved */
	char *hostaddr;			/* owned: resolved addresses joined by ',' */
	bool resolved_any;		/* hostaddr holds at least one address */
	size_t step;			/* 0: catalog query; i: assertion i-1 */
	struct cJSON *asserts;		/* borrowed from res.details: "assertions" */
	char sqlstate[6];		/* the server's error code, "" when none */
	bool no_password_asked;		/* authenticated without the password */
};

static void on_io(int fd, short what, void *arg);
static void start_connect(struct pg_probe *p);
static void start_libpq(struct pg_probe *p);
static void send_step(struct pg_probe *p);

/* Called by libpq for NOTICE/WARNING messages: the default prints them to
 * stderr, which is the daemon's log stream. */
static void quiet_notice(void *arg, const PGresult *res)
{
	(void)arg;
	(void)res;
}

/* Closes and frees what the probe holds (the skeleton frees the struct). */
static void pg_teardown(struct pf_probe *base)
{
	struct pg_probe *p = (struct pg_probe *)base;

	p->phase = PG_DONE;
	if (p->resolve)
		pf_resolve_cancel(p->resolve);
	p->resolve = NULL;
	if (p->io)
		event_free(p->io);	/* before PQfinish closes the fd */
	p->io = NULL;
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
	for (size_t i = 0; i < p->n_hosts; i++)
		free(p->hosts[i]);
	free(p->hosts);
	free(p->hostaddr);
	p->hosts = NULL;
	p->hostaddr = NULL;
	p->n_hosts = 0;
}

/* Last words: the facts for the hint rules, the trust warning, no
 * password in error. */
static void pg_conclude(struct pf_probe *base)
{
	struct pg_probe *p = (struct pg_probe *)base;

	if (base->res.reason != PF_REASON_NONE)
		pf_pg_hint_facts(p->cfg, p->sqlstate[0] ? p->sqlstate : NULL,
				 &base->res);
	if (base->res.reason == PF_REASON_NONE && p->no_password_asked) {
		/* SPEC §3: a server that never asked for the configured
		 * password lets anyone in: not a pass. */
		base->res.warn = true;
		pf_probe_set(base, PF_REASON_NONE, "the server let this role"
			     " in without asking for the configured password"
			     " (trust or peer authentication in pg_hba.conf):"
			     " anyone who reaches it can connect; require"
			     " scram-sha-256 there");
	}
	pf_mask_secret(base->res.error, sizeof base->res.error, p->cfg->password);
}

static void fail(struct pg_probe *p, enum pf_reason reason, const char *msg)
{
	pf_probe_fail(&p->base, reason, "%s", msg);
}

/* Fails with libpq's words, classified from the server's SQLSTATE (the
 * verbose message carries it) or libpq's own message. */
static void fail_libpq(struct pg_probe *p, const char *prefix)
{
	char msg[PF_ERROR_MAX], full[PF_ERROR_MAX];
	const char *raw = p->conn ? PQerrorMessage(p->conn) : "out of memory";

	if (!pf_pg_message_sqlstate(raw, p->sqlstate))
		p->sqlstate[0] = '\0';
	pf_pg_clean_message(msg, sizeof msg, raw, p->cfg->password);
	snprintf(full, sizeof full, "%s%s", prefix, msg);
	fail(p, pf_pg_classify_connect(raw), full);
}

/* Waits for `what` on libpq's current socket (it can change between
 * PQconnectPoll calls, so it is re-read every time). */
static void wait_io(struct pg_probe *p, enum pg_phase phase, short what)
{
	int fd = PQsocket(p->conn);
	if (fd < 0) {
		fail_libpq(p, "");
		return;
	}
	p->phase = phase;
	event_del(p->io);
	if (event_assign(p->io, p->base.env->base, fd, what, on_io, p) != 0 ||
	    event_add(p->io, NULL) != 0)
		fail(p, PF_REASON_INTERNAL, "cannot watch the libpq socket");
}

/* Called by pf_resolve once per host, on a later loop turn. */
static void on_resolved(void *arg, const struct sockaddr *sa, socklen_t salen,
			const char *err)
{
	struct pg_probe *p = arg;
	char addr[PG_ADDR_MAX];
	(void)salen;

	p->resolve = NULL;
	if (sa == NULL) {
		char msg[PF_ERROR_MAX];
		if (err == NULL)
			snprintf(msg, sizeof msg, "could not resolve %s",
				 p->hosts[p->host_i]);
		fail(p, PF_REASON_DNS, err ? err : msg);
		return;
	}
	pf_addr_str(sa, addr, sizeof addr);
	pf_strlcat(p->hostaddr, addr, p->n_hosts * PG_ADDR_MAX);
	p->resolved_any = true;
	/* one private address of the list makes the peer private */
	if (pf_addr_class(sa) == PF_ADDR_PRIVATE || !p->base.res.aclass)
		p->base.res.aclass = (int)pf_addr_class(sa);
	if (p->n_hosts == 1 && p->base.res.details) {
		cJSON_AddStringToObject(p->base.res.details, "address", addr);
		cJSON_AddStringToObject(p->base.res.details, "address_class",
					pf_addr_class_name(pf_addr_class(sa)));
	}
	p->host_i++;
	start_connect(p);
}

/* Resolves the next host of the list (socket dirs need none), then
 * connects.  hostaddr gets one entry per host, empty for sockets, as libpq
 * requires matching lists. */
static void start_connect(struct pg_probe *p)
{
	for (; p->host_i < p->n_hosts; p->host_i++) {
		const char *h = p->hosts[p->host_i];
		if (p->host_i > 0)
			pf_strlcat(p->hostaddr, ",", p->n_hosts * PG_ADDR_MAX);
		if (h[0] == '/' || h[0] == '\0')
			continue;
		p->phase = PG_RESOLVING;
		p->resolve = pf_resolve_start(p->base.env, h, 0, on_resolved, p);
		if (p->resolve == NULL)
			fail(p, PF_REASON_INTERNAL, "out of memory resolving");
		return;
	}
	start_libpq(p);
}

/* Builds the keyword/value arrays (never a string DSN) and starts libpq. */
static void start_libpq(struct pg_probe *p)
{
	const struct pf_pg_cfg *c = p->cfg;
	const char *keys[PG_MAX_KEYS], *vals[PG_MAX_KEYS];
	size_t n = 0, olen = (c->user_options ? strlen(c->user_options) : 0) + 128;
	char *opts = malloc(olen);

	if (opts == NULL ||
	    pf_pg_session_options(c->user_options, p->base.timeout_ms, opts, olen)) {
		free(opts);
		fail(p, PF_REASON_INTERNAL, "out of memory building options");
		return;
	}
	for (size_t i = 0; i < c->n_conn && n < PG_MAX_KEYS - 6; i++) {
		keys[n] = c->keys[i];
		vals[n++] = c->vals[i];
	}
	if (p->resolved_any) {
		keys[n] = "hostaddr";
		vals[n++] = p->hostaddr;
	}
	keys[n] = "options";
	vals[n++] = opts;
	keys[n] = "application_name";
	vals[n++] = "preflightd";
	if (!c->has_gssencmode) {
		/* Otherwise libpq tries GSS first, which can block on Kerberos. */
		keys[n] = "gssencmode";
		vals[n++] = "disable";
	}
	keys[n] = vals[n] = NULL;
	p->conn = PQconnectStartParams(keys, vals, 0);
	free(opts);		/* libpq keeps its own copies */
	if (p->conn == NULL) {
		fail(p, PF_REASON_INTERNAL, "libpq is out of memory");
		return;
	}
	if (PQstatus(p->conn) == CONNECTION_BAD) {
		fail_libpq(p, "");
		return;
	}
	PQsetNoticeReceiver(p->conn, quiet_notice, NULL);
	/* Server errors then carry their SQLSTATE in the message, which is
	 * what classifies them (the text may be translated). */
	PQsetErrorVerbosity(p->conn, PQERRORS_VERBOSE);
	/* The first PQconnectPoll behaves as if the socket were writable. */
	wait_io(p, PG_CONNECTING, EV_WRITE);
}

static void poll_connect(struct pg_probe *p)
{
	switch (PQconnectPoll(p->conn)) {
	case PGRES_POLLING_READING:
		wait_io(p, PG_CONNECTING, EV_READ);
		break;
	case PGRES_POLLING_WRITING:
		wait_io(p, PG_CONNECTING, EV_WRITE);
		break;
	case PGRES_POLLING_OK:
		p->no_password_asked = p->cfg->password_configured &&
				       !PQconnectionUsedPassword(p->conn);
		if (PQsetnonblocking(p->conn, 1) != 0) {
			fail_libpq(p, "");
			return;
		}
		send_step(p);
		break;
	default:
		fail_libpq(p, "");
		break;
	}
}

/* Writes what libpq buffered; waits for the answer once all is sent. */
static void flush(struct pg_probe *p)
{
	switch (PQflush(p->conn)) {
	case 0:
		wait_io(p, PG_READING, EV_READ);
		break;
	case 1:
		wait_io(p, PG_SENDING, EV_READ | EV_WRITE);
		break;
	default:
		fail_libpq(p, "sending the query: ");
		break;
	}
}

/* Step 0 is the catalog query, then one query per assertion. */
static void send_step(struct pg_probe *p)
{
	const struct pf_pg_cfg *c = p->cfg;
	int ok;

	if (p->step == 0) {
		const char *params[2] = { c->schemas_param, c->names_param };
		ok = PQsendQueryParams(p->conn, pf_pg_catalog_sql, 2, NULL,
				       params, NULL, NULL, 0);
	} else {
		/* Extended protocol: the server refuses several statements. */
		ok = PQsendQueryParams(p->conn, pf_pg_assertion_at(c, p->step - 1)->sql,
				       0, NULL, NULL, NULL, NULL, 0);
	}
	if (!ok) {
		fail_libpq(p, "sending the query: ");
		return;
	}
	flush(p);
}

static const char *value_or_null(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The schema verdict from the catalog rows; returns the reason. */
static enum pf_reason schema_verdict(struct pg_probe *p, const PGresult *res,
				     char *err, size_t errlen)
{
	const struct pf_pg_cfg *c = p->cfg;
	int n = PQntuples(res);
	unsigned missing = 0;
	struct pf_pg_row *rows = calloc((size_t)n, sizeof *rows);
	enum pf_reason r;

	if (rows == NULL) {
		pf_strlcpy(err, "out of memory", errlen);
		return PF_REASON_INTERNAL;
	}
	for (int i = 0; i < n; i++) {
		rows[i].nsp = value_or_null(res, i, 3);
		rows[i].rel = value_or_null(res, i, 4);
		rows[i].att = value_or_null(res, i, 5);
		rows[i].kind = PQgetisnull(res, i, 6) ? '\0' : PQgetvalue(res, i, 6)[0];
	}
	r = pf_pg_schema_eval(c->rels.v, c->rels.n, c->schema, rows, (size_t)n,
			      p->base.res.details, err, errlen, &missing);
	free(rows);
	p->base.res.gauge[0] = missing;
	return r;
}

/* The catalog answer: database, version, recovery, present objects.  A
 * replica fails first (the services cannot write there at all), then a
 * wrong database, then missing objects. */
static void catalog_result(struct pg_probe *p, const PGresult *res)
{
	const struct pf_pg_cfg *c = p->cfg;
	cJSON *d = p->base.res.details;
	char err[PF_ERROR_MAX], w[256];

	if (PQntuples(res) < 1 || PQnfields(res) != 7) {
		pf_probe_set(&p->base, PF_REASON_PROTOCOL,
			     "unexpected answer to the catalog query");
		return;
	}
	const char *db = PQgetvalue(res, 0, 0);
	bool recovery = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	cJSON_AddStringToObject(d, "server_version", PQgetvalue(res, 0, 1));
	cJSON_AddStringToObject(d, "database", db);
	cJSON_AddBoolToObject(d, "in_recovery", recovery);
	enum pf_reason r = schema_verdict(p, res, err, sizeof err);
	if (recovery && !c->allow_replica)
		pf_probe_set(&p->base, PF_REASON_READ_ONLY, "%s is in recovery"
			     " (a read-only replica): writes to database %s"
			     " fail there", pf_pg_where(c, w, sizeof w), db);
	else if (c->database && strcmp(db, c->database) != 0)
		pf_probe_set(&p->base, PF_REASON_WRONG_DATABASE,
			     "connected to database %s, expected %s", db,
			     c->database);
	else if (r != PF_REASON_NONE)
		pf_probe_set(&p->base, r, "%s", err);
	if (p->base.res.reason == PF_REASON_MISSING_TABLE ||
	    p->base.res.reason == PF_REASON_MISSING_COLUMN) {
		char span[PF_HINT_MAX];

		pf_pg_migration_span(d, c->model ? pf_schema_last_file(c->model)
					     : NULL, span, sizeof span);
		pf_result_var(&p->base.res, "span", "%s", span);
	}
}

/* An assertion's answer; the first failing one names the probe's error. */
static void assertion_result(struct pg_probe *p, const PGresult *res)
{
	const struct pf_pg_assertion *a = pf_pg_assertion_at(p->cfg, p->step - 1);
	char err[PF_ERROR_MAX];

	if (p->asserts == NULL)
		return;
	if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
		const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		char msg[PF_ERROR_MAX / 2];
		pf_pg_clean_message(msg, sizeof msg, PQresultErrorMessage(res),
				    p->cfg->password);
		cJSON *item = cJSON_CreateObject();
		cJSON_AddStringToObject(item, "name", a->name);
		cJSON_AddNullToObject(item, "value");
		cJSON_AddStringToObject(item, "expect", a->expect);
		cJSON_AddBoolToObject(item, "pass", false);
		cJSON_AddStringToObject(item, "error", msg);
		cJSON_AddItemToArray(p->asserts, item);
		snprintf(err, sizeof err, "assertion %s failed%s: %s", a->name,
			 st && strcmp(st, "25006") == 0 ?
			 " (it tried to write in a read-only session)" : "",
			 msg);
		pf_probe_set(&p->base, PF_REASON_ASSERTION, "%s", err);
		return;
	}
	int nt = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
	int nf = PQresultStatus(res) == PGRES_TUPLES_OK ? PQnfields(res) : 0;
	const char *v = nt == 1 && nf == 1 && !PQgetisnull(res, 0, 0) ?
		PQgetvalue(res, 0, 0) : NULL;
	if (pf_pg_assert_eval(a->name, a->expect, &a->cmp, nt, nf, v,
			      p->asserts, err, sizeof err) != 0 &&
	    p->base.res.reason == PF_REASON_NONE)
		pf_probe_set(&p->base, PF_REASON_ASSERTION, "%s", err);
}

/* One PGresult of the current step.  Returns -1 when the probe ended. */
static int on_result(struct pg_probe *p, const PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
		fail(p, p->step ? PF_REASON_ASSERTION : PF_REASON_PROTOCOL,
		     "COPY is not allowed in a preflight query");
		return -1;
	}
	if (p->step > 0) {
		assertion_result(p, res);
		return 0;
	}
	if (st == PGRES_FATAL_ERROR) {
		char msg[PF_ERROR_MAX];
		pf_pg_clean_message(msg, sizeof msg, PQresultErrorMessage(res),
				    p->cfg->password);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		if (state)
			pf_strlcpy(p->sqlstate, state, sizeof p->sqlstate);
		pf_probe_set(&p->base,
			     pf_pg_classify_sqlstate(state, PF_REASON_INTERNAL),
			     "catalog query failed: %s", msg);
	} else if (st == PGRES_TUPLES_OK) {
		catalog_result(p, res);
	} else {
		pf_probe_set(&p->base, PF_REASON_PROTOCOL,
			     "unexpected answer to the catalog query: %s",
			     PQresStatus(st));
	}
	return 0;
}

/* The current step's results are all in: decide or send the next one. */
static void step_done(struct pg_probe *p)
{
	const struct pf_pg_cfg *c = p->cfg;

	/* Assertions run only on a schema that passed: on a missing table
	 * they would just repeat the same failure in other words. */
	if (p->step == 0 && p->base.res.reason != PF_REASON_NONE) {
		pf_probe_end(&p->base);
		return;
	}
	if (p->step == 0 && c->assertions.n > 0)
		p->asserts = cJSON_AddArrayToObject(p->base.res.details,
						    "assertions");
	if (p->step < c->assertions.n) {
		p->step++;
		send_step(p);
		return;
	}
	pf_probe_end(&p->base);
}

static void read_results(struct pg_probe *p)
{
	if (!PQconsumeInput(p->conn)) {
		fail_libpq(p, "reading the answer: ");
		return;
	}
	while (!PQisBusy(p->conn)) {
		PGresult *res = PQgetResult(p->conn);
		if (res == NULL) {
			step_done(p);
			return;
		}
		int rc = on_result(p, res);
		PQclear(res);
		if (rc != 0)
			return;
	}
	wait_io(p, PG_READING, EV_READ);
}

/* libevent: the kick timer or libpq's socket is ready. */
static void on_io(int fd, short what, void *arg)
{
	struct pg_probe *p = arg;
	(void)fd;

	switch (p->phase) {
	case PG_CONNECTING:
		poll_connect(p);
		break;
	case PG_SENDING:
		if ((what & EV_READ) && !PQconsumeInput(p->conn)) {
			fail_libpq(p, "sending the query: ");
			return;
		}
		flush(p);
		break;
	case PG_READING:
		read_results(p);
		break;
	default:
		break;
	}
}

/* The deadline: the phase names what hung. */
static void pg_deadline(struct pf_probe *base)
{
	struct pg_probe *p = (struct pg_probe *)base;
	char w[256], msg[PF_ERROR_MAX];
	enum pf_reason r = PF_REASON_TIMEOUT;
	unsigned long long ms = (unsigned long long)base->timeout_ms;

	pf_pg_where(p->cfg, w, sizeof w);
	if (p->phase == PG_RESOLVING) {
		r = PF_REASON_DNS;
		snprintf(msg, sizeof msg, "resolving %s took longer than %llums",
			 w, ms);
	} else if (p->phase == PG_CONNECTING &&
		   PQstatus(p->conn) == CONNECTION_STARTED) {
		r = PF_REASON_CONNECT_TIMEOUT;
		snprintf(msg, sizeof msg, "no connection to %s within %llums"
			 " (connect timed out)", w, ms);
	} else if (p->phase == PG_CONNECTING) {
		snprintf(msg, sizeof msg, "%s accepted the connection but did not"
			 " complete the PostgreSQL startup within %llums", w, ms);
	} else {
		snprintf(msg, sizeof msg, "no answer to the %s within %llums",
			 p->step ? "assertion" : "catalog query", ms);
	}
	pf_probe_set(base, r, "%s", msg);
}

static const struct pf_probe_class pg_class = {
	.kind = "postgres", .size = sizeof(struct pg_probe),
	.deadline = pg_deadline, .conclude = pg_conclude,
	.teardown = pg_teardown, .hints = pf_pg_hints,
};

/* Splits the host list on ','; a missing host is one default entry. */
static int split_hosts(struct pg_probe *p)
{
	const char *h = p->cfg->host ? p->cfg->host : "";
	size_t n = 1;
	for (const char *r = h; *r; r++)
		n += *r == ',';
	p->hosts = calloc(n, sizeof *p->hosts);
	p->hostaddr = calloc(n, PG_ADDR_MAX);
	if (!p->hosts || !p->hostaddr)
		return -1;
	for (const char *r = h;; r++) {
		size_t len = strcspn(r, ",");
		if ((p->hosts[p->n_hosts] = strndup(r, len)) == NULL)
			return -1;
		p->n_hosts++;
		r += len;
		if (*r == '\0')
			break;
	}
	return 0;
}

/* The first step, on the loop turn after start(). */
static void pg_kick(struct pf_probe *base)
{
	start_connect((struct pg_probe *)base);
}

static struct pf_probe *pg_start(const struct pf_start *s)
{
	struct pg_probe *p = pf_probe_new(&pg_class, s);

	if (p == NULL)
		return NULL;
	p->cfg = s->cfg;
	p->base.res.details = cJSON_CreateObject();
	p->io = event_new(s->env->base, -1, 0, on_io, p);
	if (p->io == NULL || p->base.res.details == NULL ||
	    split_hosts(p) != 0) {
		pf_probe_cancel(&p->base);
		return NULL;
	}
	/* hostaddr given: libpq will not resolve, so neither do we. */
	if (p->cfg->has_hostaddr)
		p->host_i = p->n_hosts;
	/* Connect on the next loop turn: start() never reports by itself. */
	p->phase = PG_KICK;
	pf_probe_next_turn(&p->base, pg_kick);
	return &p->base;
}

const struct check_ops pf_check_postgres = {
	.kind = "postgres", .config = &pf_pg_keys,
	.start = pg_start,
	.gauges = { { "preflight_postgres_missing_objects",
		      "Tables, views and columns the postgres check requires"
		      " but did not find (last probe)." } },
};
