/*
 * POST /run (SPEC §6): who may ask for probes, and which probes start.
 * Without credentials only loopback peers (the sidecar's own pod); other
 * peers need `Authorization: Bearer <run_token>`.  A browser page on
 * another origin is refused even from loopback.  Each selected check is
 * handed to the scheduler, which coalesces requests so that a flood
 * cannot multiply probes or paid chat turns.  No evhttp here: http.c
 * passes the request's facts in.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "run.h"
#include "scheduler.h"

bool pf_run_peer_loopback(const char *peer)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!peer)
		return false;
	if (inet_pton(AF_INET, peer, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, peer, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/* Compares without an early exit, so timing does not reveal a prefix. */
static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

/* An Origin header that is not this server's own: a page elsewhere is
 * making the browser POST here (CSRF), which even a loopback peer may be. */
static bool cross_origin(const struct pf_run_req *r)
{
	const char *o = r->origin, *rest;

	if (!o)
		return false;
	if (!r->host)
		return true;
	if (strncasecmp(o, "http://", 7) == 0)
		rest = o + 7;
	else if (strncasecmp(o, "https://", 8) == 0)
		rest = o + 8;
	else
		return true;
	return strcasecmp(rest, r->host) != 0;
}

/* 0 when the request may run probes, else the HTTP status to refuse it
 * with and its message. */
static int authorize(const struct pf_engine *e, const struct pf_run_req *r,
		     const char **why)
{
	const char *token = e->cfg->run_token;
	const char *auth = r->authorization;

	if (cross_origin(r)) {
		*why = "cross-origin request refused";
		return 403;
	}
	if (token && auth && strncmp(auth, "Bearer ", 7) == 0 &&
	    same_secret(auth + 7, token))
		return 0;
	if (pf_run_peer_loopback(r->peer) && (!auth || !token))
		return 0;
	if (!token) {
		*why = "POST /run is allowed only from loopback: set run_token"
		       " (or PREFLIGHT_RUN_TOKEN) to allow it from elsewhere";
		return 403;
	}
	*why = "POST /run needs Authorization: Bearer <run_token>";
	return 401;
}

static void add_run(const struct pf_engine *e, size_t i, cJSON *accepted,
		    cJSON *coalesced)
{
	enum pf_run r = pf_sched_run_now(&e->checks[i]);

	cJSON_AddItemToArray(r == PF_RUN_ACCEPTED ? accepted : coalesced,
			     cJSON_CreateString(e->checks[i].cfg->name));
}

/* Hands the selected checks to the scheduler: one check, a group (its
 * on-demand members included), or every periodic check. */
static int select_runs(const struct pf_engine *e, const struct pf_run_req *r,
		       cJSON *accepted, cJSON *coalesced, const char **why)
{
	const struct pf_config *cfg = e->cfg;
	int i, g;

	if (r->check) {
		if ((i = pf_config_find_check(cfg, r->check)) < 0) {
			*why = "unknown check";
			return 404;
		}
		add_run(e, (size_t)i, accepted, coalesced);
		return 0;
	}
	if (r->group) {
		if ((g = pf_config_find_group(cfg, r->group)) < 0) {
			*why = "unknown group";
			return 404;
		}
		for (size_t k = 0; k < cfg->groups[g].n_checks; k++)
			if ((i = pf_config_find_check(cfg, cfg->groups[g].checks[k])) >= 0)
				add_run(e, (size_t)i, accepted, coalesced);
		return 0;
	}
	for (size_t k = 0; k < e->n_checks; k++)
		if (!e->checks[k].cfg->on_demand)
			add_run(e, k, accepted, coalesced);
	return 0;
}

int pf_run_request(struct pf_engine *e, const struct pf_run_req *r,
		   char **body)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *accepted = cJSON_AddArrayToObject(o, "accepted");
	cJSON *coalesced = cJSON_AddArrayToObject(o, "coalesced");
	const char *why = NULL;
	int code;

	*body = NULL;
	if (!accepted || !coalesced) {
		cJSON_Delete(o);
		return 500;
	}
	code = authorize(e, r, &why);
	if (code == 0 && r->check && r->group) {
		why = "name either check or group, not both";
		code = 400;
	}
	if (code == 0)
		code = select_runs(e, r, accepted, coalesced, &why);
	if (code != 0) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "error", why);
	} else {
		code = 202;
	}
	*body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *body ? code : 500;
}
