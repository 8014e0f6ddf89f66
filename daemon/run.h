/*
 * POST /run (SPEC §6): authorization and coalescing of on-request probes.
 * Pure apart from the scheduler calls; http.c supplies the request's
 * facts, so the rules are unit-testable without a socket.
 */
#ifndef PF_DAEMON_RUN_H
#define PF_DAEMON_RUN_H

#include <stdbool.h>

struct pf_engine;

/* What the handler needs of one request; every field may be NULL. */
struct pf_run_req {
	const char *peer;		/* the client's numeric address */
	const char *authorization;	/* the Authorization header */
	const char *origin;		/* the Origin header (browsers send it) */
	const char *host;		/* the Host header */
	const char *check;		/* ?check= */
	const char *group;		/* ?group= */
};

/* True for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
bool pf_run_peer_loopback(const char *peer);

/* Runs (or refuses) the request: returns the HTTP status and a malloc'd
 * JSON body in *body: 202 {"accepted":[...],"coalesced":[...]}, else
 * {"error": "..."} with 400, 401 (a token is configured but missing or
 * wrong), 403 (no token configured, or a cross-origin browser request) or
 * 404 (unknown check or group).  500 with *body NULL when out of memory. */
int pf_run_request(struct pf_engine *d, const struct pf_run_req *r,
		   char **body);

#endif
