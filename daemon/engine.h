/*
 * The engine: what the scheduler, the HTTP surface and POST /run share
 * -- the loop, the probe environment, the loaded configuration and its
 * checks, the log and the generations.  The daemon (daemon.c) embeds and
 * owns it and learns of every result through on_result; nothing below
 * the daemon includes daemon.h, so the call graph has no circle:
 *
 *   main -> daemon -> reload -> engine -> scheduler
 *                  \-> http -> run -> scheduler
 *
 * Single-threaded: every function runs on the loop's thread.
 */
#ifndef PF_ENGINE_H
#define PF_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "pf_check.h"
#include "render.h"

struct pf_engine {
	struct event_base *base;	/* owned by the daemon */
	struct evdns_base *dns;		/* owned by the daemon */
	struct pf_curlm *curl;		/* owned; NULL until a check needs it */
	struct pf_sockets *sockets;	/* owned: spare sockets of tcp and redis */
	struct pf_slots *slots;		/* owned: when each check starts next */
	struct pf_loop_stats loop;	/* every loop turn's CPU time (loop.c) */
	struct pf_env env;		/* lent to every probe: base, dns, curl, sockets */
	struct pf_config *cfg;		/* owned; replaced on reload */
	struct check *checks;		/* owned array parallel to cfg->checks */
	size_t n_checks;
	struct pf_log log;		/* by value; its FILE is borrowed */
	char instance[256];		/* K_REVISION or the host name */
	struct timespec started_at;	/* wall clock at start-up */
	/* bumped on every result and reload: a body rendered at an older
	 * version is out of date */
	uint64_t version;
	/* bumped on every reload: what was rendered for another
	 * configuration is never reused */
	uint64_t generation;
	bool stopping;			/* SIGTERM seen: not ready, no probes */
	bool oneshot;			/* `preflightd check`: faster retries, no splay */
	/* Called by the scheduler after every recorded result (the daemon
	 * bumps the version, tells systemd, ends a one-shot run). */
	void (*on_result)(void *arg, bool status_changed);
	void *on_result_arg;
	/* Called (with on_result_arg) when check i's status changed from
	 * before; NULL: nobody listens (notifications). */
	void (*on_transition)(void *arg, size_t i, enum pf_status before);
	/* borrowed from the notifier, for /metrics; NULL when none */
	const struct pf_notify_stat *notify_stats;
	size_t n_notify;
};

/* A read-only view for rendering, with the clocks read now. */
void pf_engine_view(const struct pf_engine *e, struct pf_view *v);

/* Creates the shared curl multi if cfg has a check that needs it. */
int pf_engine_ensure_curl(struct pf_engine *e, const struct pf_config *cfg,
			  char *err, size_t errlen);

/* A check array for cfg (timers allocated, nothing armed), or NULL. */
struct check *pf_engine_make_checks(struct pf_engine *e, struct pf_config *cfg);

/* Frees a check array of n (cancels what is in flight). */
void pf_engine_free_checks(struct check *cs, size_t n);

#endif
