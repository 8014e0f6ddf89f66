/*
 * Plumbing every probe shares (PATTERNS.md "Rules for every probe"): the
 * one hard deadline, the idempotent completion funnel and the deferred
 * release.  A kind embeds struct pf_probe in its own probe struct and
 * keeps all kind state (sockets, PGconn, redisAsyncContext, CURL) there.
 *
 * Typical flow:
 *   start:     calloc probe; pf_probe_init(&p->base, ...); begin I/O
 *   any path:  pf_probe_fail(&p->base, reason, "fmt", ...) or
 *              pf_probe_finish(&p->base) after filling p->base.res
 *              -> reports once, then the kind tears its I/O down and calls
 *                 pf_probe_reap() so on_reap runs on a later loop turn
 *   on_reap:   release kind state; pf_probe_release(&p->base); free(p)
 *   cancel:    release kind state; pf_probe_release(&p->base); free(p)
 */
#ifndef PF_PROBE_H
#define PF_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "pf_check.h"

struct event;

struct pf_probe {
	struct event *deadline;		/* the one hard deadline, armed by pf_probe_init */
	struct event *reap;		/* zero-delay event: release on a later loop turn */
	pf_done_fn done_cb;
	void *done_arg;
	bool done;			/* done_cb already called: later reports are ignored */
	struct timespec started;	/* CLOCK_MONOTONIC at init */
	struct pf_result res;		/* filled by the kind; details owned here until done */
};

/* on_deadline and on_reap are libevent callbacks whose arg is `self` (the
 * kind's probe).  Arms the deadline.  Returns -1 when out of memory, with
 * nothing left allocated. */
int pf_probe_init(struct pf_probe *p, const struct pf_env *env,
		  uint64_t timeout_ms,
		  void (*on_deadline)(int, short, void *),
		  void (*on_reap)(int, short, void *), void *self,
		  pf_done_fn done, void *arg);

/* Sets reason and error (printf format) unless the probe already reported. */
void pf_probe_set(struct pf_probe *p, enum pf_reason reason,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Reports res to the daemon once and disarms the deadline.  Returns false
 * when the probe had already reported (a second report is ignored). */
bool pf_probe_finish(struct pf_probe *p);

/* pf_probe_set + pf_probe_finish. */
bool pf_probe_fail(struct pf_probe *p, enum pf_reason reason,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Schedules on_reap for the next loop turn (safe inside library callbacks). */
void pf_probe_reap(struct pf_probe *p);

/* Frees the events and any details not handed over.  Not the probe itself. */
void pf_probe_release(struct pf_probe *p);

/* Milliseconds since pf_probe_init. */
double pf_probe_elapsed_ms(const struct pf_probe *p);

#endif
