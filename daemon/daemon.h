/*
 * The running daemon's context: the engine (engine.h: loop, resolver,
 * configuration, checks, log), the HTTP server, systemd and the signal
 * events.  Start-up, reload (SIGHUP) and shutdown (SIGTERM/SIGINT) live in
 * daemon.c; scheduling of probes in scheduler.c; the HTTP surface in http.c.
 *
 * Single-threaded: every function runs on the loop's thread.
 */
#ifndef PF_DAEMON_H
#define PF_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "pf_check.h"
#include "render.h"

struct event;
struct pf_http;
struct pf_notify;
struct pf_notifier;
struct pf_reload;

struct pf_daemon;
/* Called after every recorded result (one-shot mode decides when to stop). */
typedef void (*pf_result_hook)(struct pf_daemon *d, void *arg);

struct pf_daemon {
	struct pf_engine eng;		/* what the scheduler and HTTP see; owned */
	struct pf_http *http;		/* owned; NULL in one-shot mode */
	struct pf_notify *notify;	/* owned; NULL when not under systemd */
	struct event *sig_term;		/* owned signal and timer events */
	struct event *sig_int;
	struct event *sig_hup;
	struct event *watchdog;
	char *config_path;		/* owned; NULL: the built-in env profile */
	struct pf_reload *reload;	/* owned: the reload thread; NULL before the first SIGHUP */
	struct pf_notifier *notifier;	/* owned: notifications; NULL when none configured */
	enum pf_status last_overall;	/* for systemd STATUS= on changes */
	pf_result_hook on_result;	/* optional; borrowed */
	void *on_result_arg;
};

/* Creates the loop and resolver and takes ownership of cfg (freed on
 * failure too).  config_path NULL means reloads use the environment
 * profile.  Checks are built but not yet scheduled. */
int pf_daemon_init(struct pf_daemon *d, struct pf_config *cfg,
		   const char *config_path, const struct pf_log *log,
		   bool oneshot, char *err, size_t errlen);

/* Schedules the first probe of every check in selected (parallel to the
 * checks), or with selected NULL of every periodic check (on-demand
 * checks wait for POST /run), spread by the start-up splay. */
void pf_daemon_schedule(struct pf_daemon *d, const bool *selected);

/* Serve mode: binds the HTTP server on listen, installs the signals,
 * announces readiness and runs the loop until SIGTERM.  Returns the exit
 * status (0 after a clean stop, 1 when the listener cannot start). */
int pf_daemon_serve(struct pf_daemon *d, const char *listen);

/* Releases everything the daemon owns (cancels in-flight probes first). */
void pf_daemon_free(struct pf_daemon *d);

/* SIGHUP: reload the configuration, keeping unchanged checks' state; the
 * file is read on a helper thread, the swap happens on the loop later. */
void pf_daemon_reload(struct pf_daemon *d);
/* Starts, reconfigures or stops the notifiers for d->eng.cfg (serve
 * mode); logs when out of memory. */
void pf_daemon_notifiers(struct pf_daemon *d);

/* Waits for a load in progress, then frees (reload.c).  NULL is ignored. */
void pf_reload_free(struct pf_reload *r);

/* SIGTERM: turn not ready, stop probing, exit the loop once in-flight
 * HTTP requests were answered. */
void pf_daemon_stop(struct pf_daemon *d);

#endif
