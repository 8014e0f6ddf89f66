/*
 * The probe skeleton every check kind runs on (PATTERNS.md "Rules for
 * every probe"), written once: allocation, the one hard deadline, the
 * one end, the report on a later loop turn, cancel, and the deferred
 * release.  A kind keeps only its protocol state machine: it embeds
 * struct pf_probe first in its own probe struct and supplies a
 * struct pf_probe_class.
 *
 * Life cycle of one probe:
 *
 *   start()  p = pf_probe_new(&cls, ...)          deadline armed
 *            begin I/O, or pf_probe_next_turn()   never report from start()
 *     ...    I/O callbacks: pf_probe_set() / fill p->res
 *   end      pf_probe_end() or pf_probe_fail()    exactly once takes effect:
 *              cls->conclude  last words (details, warnings)
 *              the hint       chosen by the hint policy (pf_hint.h)
 *              done()         the report; the daemon takes res.details
 *              cls->teardown  close the kind's I/O, free what it owns
 *              next loop turn: the skeleton frees its events and p
 *   deadline cls->deadline says which phase hung (pf_probe_set), then end
 *   cancel   pf_probe_cancel() before the end: teardown and free now,
 *            no report (shutdown, reload, the daemon's backstop)
 *
 * Freeing p itself always waits for a later loop turn, so a kind may end
 * its probe from inside any callback (libpq, curl, evdns, a Redis
 * reply) and return into that library safely.
 */
#ifndef PF_PROBE_H
#define PF_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "pf_check.h"

struct event;
struct pf_hint_rule;
struct pf_probe;

/* What a kind supplies.  Hooks get the struct pf_probe at the start of
 * the kind's own struct (cast it back). */
struct pf_probe_class {
	const char *kind;
	size_t size;			/* sizeof the kind's probe struct */
	/* The deadline passed: set the reason for the phase the probe is in
	 * (pf_probe_set); the skeleton ends the probe afterwards. */
	void (*deadline)(struct pf_probe *p);
	/* Optional: completes p->res (details, warnings) right before the
	 * report; runs once, on every path but cancel. */
	void (*conclude)(struct pf_probe *p);
	/* Closes the kind's I/O and frees what the kind owns, but not the
	 * struct.  Runs exactly once: after the report, or on cancel.  It
	 * may run inside a callback of the kind's own library; a kind whose
	 * library frees a handle itself in some callback drops its pointer
	 * to it before ending (see checks/redis.c).  NULL: nothing to close. */
	void (*teardown)(struct pf_probe *p);
	/* The kind's hint rules (pf_hint.h), or NULL: the shared ones. */
	const struct pf_hint_rule *hints;
};

struct pf_probe {
	const struct pf_probe_class *cls;
	const struct pf_env *env;	/* borrowed from the daemon */
	uint64_t timeout_ms;
	/* the one hard deadline; it and turn live in the probe's own
	 * allocation, after the kind's struct (pf_probe_new) */
	struct event *deadline;
	/* zero-delay event; runs turn_fn on the next loop turn
	 * (pf_probe_next_turn), and after the end frees the probe */
	struct event *turn;
	void (*turn_fn)(struct pf_probe *p);
	pf_done_fn done_cb;
	void *done_arg;
	bool ended;			/* reported (or cancelled): later ends are ignored */
	struct timespec started;	/* CLOCK_MONOTONIC at pf_probe_new */
	struct pf_result res;		/* filled by the kind; details owned here until done */
	/* an IP literal the kind connects to on the next turn, without a
	 * resolver object (pf_resolve_literal_later), and whom to tell */
	struct sockaddr_storage literal;
	socklen_t literal_len;
	void (*literal_cb)(void *arg, const struct sockaddr *sa, socklen_t salen,
			   const char *err);
	void *literal_arg;
};

/* Allocates cls->size zeroed bytes (struct pf_probe first), arms the
 * deadline, resets the result.  NULL when out of memory (nothing
 * allocated). */
void *pf_probe_new(const struct pf_probe_class *cls, const struct pf_start *s);

/* Sets reason and error (printf format) unless the probe has ended. */
void pf_probe_set(struct pf_probe *p, enum pf_reason reason,
		  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The one end: conclude, report, teardown, free on a later turn.  Calls
 * after the first are ignored. */
void pf_probe_end(struct pf_probe *p);

/* pf_probe_set + pf_probe_end. */
void pf_probe_fail(struct pf_probe *p, enum pf_reason reason,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs fn(p) on the next loop turn: how start() defers its first step
 * or reports a failure it found (pf_probe_next_turn(p, pf_probe_end)). */
void pf_probe_next_turn(struct pf_probe *p, void (*fn)(struct pf_probe *p));

/* Before the end: teardown and free now; done() is never called.  NULL
 * and ended probes are ignored (their release is already scheduled). */
void pf_probe_cancel(struct pf_probe *p);

/* Milliseconds since pf_probe_new, and until the deadline (>= 0). */
double pf_probe_elapsed_ms(const struct pf_probe *p);
double pf_probe_left_ms(const struct pf_probe *p);

#endif
