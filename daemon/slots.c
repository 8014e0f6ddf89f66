/*
 * The scheduler's clock (slots.h): a binary min-heap of armed slots by
 * due time and one timerfd set to the earliest of them.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "pf_util.h"
#include "slots.h"

#define NOT_ARMED SIZE_MAX
/* A slot fires when the clock is this close to its time: the timerfd
 * expires at the nanosecond, our doubles round. */
#define FIRE_SLACK_MS 0.001
/* Slots fired per loop turn: the first round of 10,000 checks puts 100
 * in each slot, and 100 connects hold the loop ~6 ms; the rest fire on
 * the next turns (the timerfd is set to a time already past), with HTTP
 * answers in between. */
#define FIRE_MAX_PER_TURN 32

struct pf_slots {
	struct pf_slot **heap;		/* owned array; the slots are their owners' */
	size_t n;			/* armed slots */
	size_t cap;			/* places in heap */
	size_t users;			/* places reserved (pf_slots_reserve) */
	int fd;				/* owned timerfd */
	struct event *ev;		/* owned: the timerfd's read event */
	double set_ms;			/* what the timerfd is set to; 0: disarmed */
	bool firing;			/* in on_expire: it sets the timerfd once, after */
};

void pf_slot_init(struct pf_slot *t, void (*fire)(void *arg), void *arg)
{
	t->due_ms = 0;
	t->index = NOT_ARMED;
	t->fire = fire;
	t->arg = arg;
}

bool pf_slot_armed(const struct pf_slot *t)
{
	return t->index != NOT_ARMED;
}

double pf_slots_grid(double ms)
{
	return ceil(ms / PF_SLOT_MS) * PF_SLOT_MS;
}

/* ---- the heap ---------------------------------------------------------- */

static void place(struct pf_slots *s, size_t i, struct pf_slot *t)
{
	s->heap[i] = t;
	t->index = i;
}

static void sift_up(struct pf_slots *s, size_t i)
{
	struct pf_slot *t = s->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (s->heap[parent]->due_ms <= t->due_ms)
			break;
		place(s, i, s->heap[parent]);
		i = parent;
	}
	place(s, i, t);
}

static void sift_down(struct pf_slots *s, size_t i)
{
	struct pf_slot *t = s->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= s->n)
			break;
		if (child + 1 < s->n && s->heap[child + 1]->due_ms < s->heap[child]->due_ms)
			child++;
		if (t->due_ms <= s->heap[child]->due_ms)
			break;
		place(s, i, s->heap[child]);
		i = child;
	}
	place(s, i, t);
}

static void heap_remove(struct pf_slots *s, struct pf_slot *t)
{
	size_t i = t->index;
	struct pf_slot *last = s->heap[--s->n];

	t->index = NOT_ARMED;
	if (last == t)
		return;
	place(s, i, last);
	sift_down(s, i);
	sift_up(s, last->index);
}

/* ---- the timerfd ------------------------------------------------------- */

/* Sets the timerfd to the earliest slot, if that changed. */
static void rearm(struct pf_slots *s)
{
	double want = s->n ? s->heap[0]->due_ms : 0;
	struct itimerspec its;

	if (s->firing || want == s->set_ms)
		return;
	memset(&its, 0, sizeof its);
	if (want > 0) {
		double sec = floor(want / 1000.0);

		its.it_value.tv_sec = (time_t)sec;
		its.it_value.tv_nsec = (long)((want - sec * 1000.0) * 1e6);
		/* 0 would disarm: a time at the epoch of the clock is "now" */
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	/* Cannot fail with a valid fd and a normalised time. */
	(void)timerfd_settime(s->fd, TFD_TIMER_ABSTIME, &its, NULL);
	s->set_ms = want;
}

/* The timerfd expired: fire the slots due by now, FIRE_MAX_PER_TURN at
 * most.  Slots armed while firing (a started probe re-arms its check)
 * are later than now, so this loop ends. */
static void on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct pf_slots *s = arg;
	uint64_t expirations;
	double now = pf_mono_ms() + FIRE_SLACK_MS;
	int fired = 0;

	(void)what;
	/* EAGAIN: already read, or the timer was moved since */
	if (read(fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		return;
	s->set_ms = 0;	/* a one-shot timer is disarmed once it expired */
	s->firing = true;
	while (s->n && s->heap[0]->due_ms <= now && fired++ < FIRE_MAX_PER_TURN) {
		struct pf_slot *t = s->heap[0];

		heap_remove(s, t);
		t->fire(t->arg);
	}
	s->firing = false;
	rearm(s);
}

struct pf_slots *pf_slots_new(struct event_base *base, char *err, size_t errlen)
{
	struct pf_slots *s = calloc(1, sizeof *s);

	if (!s) {
		snprintf(err, errlen, "out of memory creating the scheduler's clock");
		return NULL;
	}
	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0) {
		snprintf(err, errlen, "cannot create the scheduler's timer: timerfd_create: %s",
			 strerror(errno));
		free(s);
		return NULL;
	}
	s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_expire, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		snprintf(err, errlen, "out of memory creating the scheduler's clock");
		pf_slots_free(s);
		return NULL;
	}
	return s;
}

void pf_slots_free(struct pf_slots *s)
{
	if (!s)
		return;
	if (s->ev)
		event_free(s->ev);
	close(s->fd);
	free(s->heap);
	free(s);
}

int pf_slots_reserve(struct pf_slots *s)
{
	if (s->users == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct pf_slot **h = realloc(s->heap, cap * sizeof *h);

		if (!h)
			return -1;
		s->heap = h;
		s->cap = cap;
	}
	s->users++;
	return 0;
}

void pf_slots_release(struct pf_slots *s)
{
	if (s->users > 0)
		s->users--;
}

void pf_slots_arm(struct pf_slots *s, struct pf_slot *t, double due_ms)
{
	if (pf_slot_armed(t))
		heap_remove(s, t);
	/* Cannot happen: every owner reserved its place (pf_slots_reserve)
	 * and owns one slot.  Left unarmed rather than overrun the heap. */
	if (s->n == s->cap)
		return;
	t->due_ms = due_ms;
	place(s, s->n++, t);
	sift_up(s, t->index);
	rearm(s);
}

void pf_slots_cancel(struct pf_slots *s, struct pf_slot *t)
{
	if (!pf_slot_armed(t))
		return;
	heap_remove(s, t);
	rearm(s);
}
