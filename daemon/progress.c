/*
 * --wait progress (progress.h): a one-second timer that lists the checks
 * the verdict still waits for.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "pf_util.h"
#include "progress.h"
#include "verdict.h"

struct pf_progress {
	const struct pf_engine *e;	/* borrowed */
	int group;
	const bool *only;		/* borrowed */
	double deadline_ms;
	FILE *out;			/* borrowed */
	bool tty;
	bool shown;			/* a line is on the terminal */
	char last[1024];		/* what the plain mode printed last */
	struct event *tick;		/* owned */
};

/* "chat-db, redis" of the selection's checks not ready yet, in buf. */
static size_t failing(const struct pf_progress *p, char *buf, size_t len)
{
	struct pf_view v;
	struct pf_set s;
	size_t n = 0;

	buf[0] = '\0';
	pf_engine_view(p->e, &v);
	v.only = p->group < 0 ? p->only : NULL;
	if (pf_set_init(&s, &v, p->group) < 0)
		return 0;
	for (size_t k = 0; k < s.n; k++) {
		size_t i = s.idx[k];

		if (!v.cfg->checks[i].critical || pf_check_ready(&v, i))
			continue;
		pf_strlcat(buf, n++ ? ", " : "", len);
		pf_strlcat(buf, v.cfg->checks[i].name, len);
	}
	pf_set_free(&s);
	return n;
}

static void show(struct pf_progress *p)
{
	char names[1024], left[32];
	double ms = p->deadline_ms - pf_mono_ms();
	size_t n = failing(p, names, sizeof names);

	pf_duration_format(ms > 0 ? (uint64_t)(ms / 1000.0 + 0.999) * 1000 : 0,
			   left, sizeof left);
	if (p->tty) {
		/* \r and erase-line: one line, updated in place */
		fprintf(p->out, "\r\033[Kwaiting, %s left: %s", left,
			n ? names : "all ready");
		p->shown = true;
	} else if (strcmp(names, p->last) != 0) {
		fprintf(p->out, "waiting, %s left: %s\n", left, n ? names : "all ready");
		pf_strlcpy(p->last, names, sizeof p->last);
	}
	fflush(p->out);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	show(arg);
}

struct pf_progress *pf_progress_new(const struct pf_engine *e, int group,
				    const bool *only, double deadline_mono_ms,
				    FILE *out, bool tty)
{
	struct timeval second = { 1, 0 };
	struct pf_progress *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	*p = (struct pf_progress){ .e = e, .group = group, .only = only,
				   .deadline_ms = deadline_mono_ms, .out = out,
				   .tty = tty };
	p->tick = event_new(e->base, -1, EV_PERSIST, on_tick, p);
	if (!p->tick || event_add(p->tick, &second) < 0) {
		pf_progress_free(p);
		return NULL;
	}
	return p;
}

void pf_progress_free(struct pf_progress *p)
{
	if (!p)
		return;
	if (p->shown) {
		fputs("\r\033[K", p->out);
		fflush(p->out);
	}
	if (p->tick)
		event_free(p->tick);
	free(p);
}
