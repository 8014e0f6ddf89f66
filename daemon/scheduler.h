/*
 * Probe scheduling for one check: its tick timer, the start-up splay, the
 * backstop that cancels a probe that never reported, POST /run requests,
 * and recording each completed probe into the check's state.
 */
#ifndef PF_SCHEDULER_H
#define PF_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "check.h"

struct pf_engine;

/* Sets up c for cfg (timers allocated, nothing armed).  -1 when out of
 * memory, with nothing left allocated. */
int pf_sched_init(struct pf_engine *e, struct check *c, struct pf_check_cfg *cfg);

/* Delay of check i's first probe among n: none for up to 64 checks, else
 * spread over min(interval, 1 s), deterministic by index so a thousand
 * checks do not fire at once. */
uint64_t pf_sched_splay_ms(size_t i, size_t n, uint64_t interval_ms);

/* What check i's second probe adds to its interval so that from then on
 * the n checks start evenly over the whole interval, not in the first
 * second of it: 10,000 checks at 10 s then make 1,000 probes a second
 * instead of a 10,000-probe burst every 10 s.  0 for up to 64 checks. */
uint64_t pf_sched_spread_ms(size_t i, size_t n, uint64_t interval_ms);

/* Arms check i's first probe (of n) after its splay and records its
 * spread; at once in one-shot mode. */
void pf_sched_first(struct check *c, size_t i, size_t n);

/* Arms the next probe delay_ms from now (replacing any pending tick): at
 * once for 0, else at the first slot boundary after (slots.h). */
void pf_sched_after(struct check *c, uint64_t delay_ms);

/* Plans the next probe for plan_ms (monotonic, pf_mono_ms) and arms the
 * tick for the slot that holds it; the period counts from plan_ms. */
void pf_sched_at(struct check *c, double plan_ms);

/* POST /run (SPEC §6): probe now, or once more right after the one in
 * flight, but start at most once per run_min_spacing; a request while a
 * run is already pending (or the periodic tick will come first) joins it. */
enum pf_run { PF_RUN_ACCEPTED, PF_RUN_COALESCED };
enum pf_run pf_sched_run_now(struct check *c);

/* Moves the kind memory of an unchanged check across a reload. */
void pf_sched_move_memory(struct check *dst, struct check *src);

/* Cancels an in-flight probe and disarms the timers (the state stays). */
void pf_sched_halt(struct check *c);

/* pf_sched_halt, then frees the timers and clears the state. */
void pf_sched_free(struct check *c);

#endif
