/*
 * The check interface: what a check kind implements (one const struct
 * check_ops per file in checks/, listed once in daemon/registry.c) and
 * what the daemon hands to each probe.
 *
 * Lifecycle and ownership rules (every kind follows them):
 *  - The kind's config is a struct its key table (ops->config, pf_keys.h)
 *    fills from the check's JSON object, after the daemon expanded
 *    ${VAR} / ${file:...} in every string; the check owns it.
 *  - start() begins one probe on the skeleton of pf_probe.h and returns
 *    it (NULL only when out of memory).  The probe owns every resource it
 *    opens.  start() never reports itself: even an immediate failure is
 *    reported on a later turn of the loop (pf_probe_next_turn), so the
 *    scheduler is never re-entered.
 *  - The probe reports exactly once (pf_probe_end); done() takes
 *    res->details (sets it to NULL).  The daemon never touches the probe
 *    after done().
 *  - pf_probe_cancel() may be called any time before done(): it releases
 *    everything synchronously and done() is never called.  Used on
 *    shutdown, reload and by the daemon's backstop timer.
 *  - Each probe enforces its own hard deadline of timeout_ms (its
 *    class's deadline hook knows which phase it is in, so it can say
 *    connect_timeout vs timeout vs job_timeout).  The daemon keeps a
 *    backstop a little later that cancels a probe that failed to report,
 *    and records reason "internal".
 */
#ifndef PF_CHECK_H
#define PF_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct event_base;
struct evdns_base;
struct pf_curlm;
struct pf_keys;
struct pf_probe;

/* Probe failure reasons: SPEC §4, fixed set.  Order is the wire order. */
enum pf_reason {
	PF_REASON_NONE = 0,	/* the probe passed */
	PF_REASON_DNS,
	PF_REASON_CONNECT_REFUSED,
	PF_REASON_CONNECT_TIMEOUT,
	PF_REASON_TIMEOUT,
	PF_REASON_TLS,
	PF_REASON_AUTH,
	PF_REASON_PROTOCOL,
	PF_REASON_WRONG_DATABASE,
	PF_REASON_MISSING_TABLE,
	PF_REASON_MISSING_COLUMN,
	PF_REASON_ASSERTION,
	PF_REASON_HTTP_STATUS,
	PF_REASON_BAD_RESPONSE,
	PF_REASON_JOB_FAILED,
	PF_REASON_JOB_TIMEOUT,
	PF_REASON_QUEUE_BACKLOG,
	PF_REASON_QUEUE_STALLED,
	PF_REASON_READ_ONLY,
	PF_REASON_CONFIG,
	PF_REASON_INTERNAL,
	PF_REASON_COUNT
};

/* "dns", "connect_refused", ...; NULL for PF_REASON_NONE. */
const char *pf_reason_name(enum pf_reason r);
/* Inverse of pf_reason_name; returns -1 for an unknown name. */
int pf_reason_from_name(const char *name);

/* Displayed status of a check: SPEC §4. */
enum pf_status {
	PF_STATUS_UNKNOWN = 0,
	PF_STATUS_PASS,
	PF_STATUS_WARN,
	PF_STATUS_FAIL
};
const char *pf_status_name(enum pf_status s);

#define PF_ERROR_MAX 512
#define PF_HINT_MAX 512
/* Metric families a kind may feed from its results (ops->gauges). */
#define PF_GAUGE_MAX 3

#define PF_CAUSE_MAX 48
#define PF_HINT_VARS 5

/* A value a hint rule's text may name as {name} (pf_hint.h). */
struct pf_hint_var {
	char name[16];
	char value[256];
};

/* The outcome of one probe, filled by the kind. */
struct pf_result {
	enum pf_reason reason;		/* PF_REASON_NONE: passed */
	/* Passed, but with a warning the operator should see (error says
	 * what): the check shows `warn`, which never blocks readiness. */
	bool warn;
	char error[PF_ERROR_MAX];	/* what happened, in the peer's words when it gave some; no secrets */
	/* What to do: chosen by the hint policy (pf_hint.h) when the probe
	 * ends, never written by a kind. */
	char hint[PF_HINT_MAX];
	/* What the peer said beyond the reason, for the kind's hint rules
	 * ("sqlstate:28P01", "tls:untrusted"); "" when nothing. */
	char cause[PF_CAUSE_MAX];
	int aclass;			/* enum pf_addr_class of the peer; 0: unknown */
	struct pf_hint_var vars[PF_HINT_VARS];	/* name "" = unused */
	struct cJSON *details;		/* object of kind details; ownership passes to the daemon in done() */
	/* values for ops->gauges[i]; NAN when not measured */
	double gauge[PF_GAUGE_MAX];
};

/* An empty passing result: no reason, no details, every gauge NAN. */
void pf_result_reset(struct pf_result *r);

/* One Prometheus gauge family a kind feeds, labelled {check}. */
struct pf_gauge {
	const char *metric;		/* "preflight_redis_queue_depth" */
	const char *help;
};

/* What the daemon lends to every probe; outlives all of them. */
struct pf_env {
	struct event_base *base;
	struct evdns_base *dns;
	struct pf_curlm *curl;		/* shared libcurl multi handle (checks with needs_curl) */
	struct pf_sockets *sockets;	/* spare TCP sockets (pf_sockets.h), or NULL */
};

typedef void (*pf_done_fn)(void *arg, struct pf_result *res);

/* What start() gets for one probe; the probe keeps its own copy of what
 * it needs (pf_probe_new copies env, timeout, done and arg). */
struct pf_start {
	const void *cfg;		/* the kind's config: its key table's struct */
	const struct pf_env *env;
	/* the check's ops->memory_size bytes (NULL when 0); only one probe
	 * of a check runs at a time, so the probe may write it */
	void *memory;
	uint64_t timeout_ms;
	pf_done_fn done;
	void *arg;
};

struct check_ops {
	const char *kind;		/* "tcp", "postgres", ... */
	/* The kind's config keys (pf_keys.h): they parse, validate, free and
	 * describe the kind's config struct, and document it.  Keys that
	 * are neither common nor listed here are refused. */
	const struct pf_keys *config;
	uint64_t default_interval_ms;	/* 0: the common default (10s) */
	uint64_t default_timeout_ms;	/* 0: the common default (5s) */
	/* The kind runs on demand unless the check sets an interval (SPEC
	 * §3: a paid round trip must not run all day by default). */
	bool default_on_demand;
	bool timeout_may_exceed_interval;
	bool needs_curl;		/* probes use env->curl */

	/* Metric families fed by pf_result.gauge[i]; metric NULL ends the
	 * list. */
	struct pf_gauge gauges[PF_GAUGE_MAX];

	/* Bytes of per-check memory the daemon keeps for the kind across
	 * probes (and across reloads while the check is unchanged), zeroed at
	 * first, handed to start(); plain data, no pointers.  0: none. */
	size_t memory_size;

	struct pf_probe *(*start)(const struct pf_start *s);
};

#endif
