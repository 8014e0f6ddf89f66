/*
 * The scheduler's clock: every check's next start in one min-heap, woken
 * by one timerfd on CLOCK_MONOTONIC.
 *
 * Why not a libevent timer per check: libevent's default clock is
 * CLOCK_MONOTONIC_COARSE, which moves in 4 ms steps here, so ticks fired
 * up to ~4-5 ms late (p99 3.9 ms at 1,000 checks); its precise mode wakes
 * the loop for every distinct deadline and arms a timerfd every turn,
 * and on this VM a wake-up costs ~40 us.  Here starts are kept on a grid
 * of PF_SLOT_MS: checks due in the same slot start in the same wake-up
 * (1,000 checks at 1 s: at most 100 wake-ups a second), and a wake-up
 * comes when its slot begins, not at the next coarse tick.
 */
#ifndef PF_SLOTS_H
#define PF_SLOTS_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

/* Width of one slot.  Intervals and timeouts in configs are almost always
 * multiples of 10 ms, so a check's period stays exact on this grid. */
#define PF_SLOT_MS 10.0

/* One pending start; embedded in its owner (struct check), which must not
 * move while it is armed. */
struct pf_slot {
	double due_ms;			/* monotonic ms; valid while armed */
	size_t index;			/* place in the heap; SIZE_MAX: not armed */
	void (*fire)(void *arg);
	void *arg;
};

struct pf_slots;

/* A clock on base (one timerfd and its read event), or NULL with err
 * filled. */
struct pf_slots *pf_slots_new(struct event_base *base, char *err, size_t errlen);
/* Every slot must have been cancelled or fired. */
void pf_slots_free(struct pf_slots *s);

/* Makes room for one more slot user (a check): -1 when out of memory.
 * With a place reserved per user, arming never allocates. */
int pf_slots_reserve(struct pf_slots *s);
void pf_slots_release(struct pf_slots *s);

void pf_slot_init(struct pf_slot *t, void (*fire)(void *arg), void *arg);
bool pf_slot_armed(const struct pf_slot *t);

/* Arms (or moves) t to fire at due_ms on the monotonic clock, in ms as
 * pf_mono_ms() reads it; a time already past fires on the next turn. */
void pf_slots_arm(struct pf_slots *s, struct pf_slot *t, double due_ms);
void pf_slots_cancel(struct pf_slots *s, struct pf_slot *t);

/* The first slot boundary at or after ms. */
double pf_slots_grid(double ms);

#endif
