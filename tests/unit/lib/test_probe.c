/* Unit tests for lib/probe.c, the probe skeleton: one report, one
 * teardown, the release on a later loop turn, next-turn steps, the
 * deadline hook, cancel without a report.  A toy kind records what the
 * skeleton did to it; leaks show under valgrind and ASan. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "harness.h"
#include "pf_probe.h"

/* What happened, outside the probe (the probe is freed by then). */
struct log {
	int reports, teardowns, concludes, deadlines, steps;
	enum pf_reason reason;
	char error[PF_ERROR_MAX];
	bool details_seen;
	bool torn_before_report;	/* teardown ran before done(): wrong */
};

struct toy_probe {
	struct pf_probe base;
	struct log *log;
	char *owned;		/* freed by teardown: a leak if it is not */
};

static void toy_deadline(struct pf_probe *b)
{
	struct toy_probe *p = (struct toy_probe *)b;

	p->log->deadlines++;
	pf_probe_set(b, PF_REASON_TIMEOUT, "toy hung");
}

static void toy_conclude(struct pf_probe *b)
{
	struct toy_probe *p = (struct toy_probe *)b;

	p->log->concludes++;
	b->res.details = cJSON_CreateObject();
}

static void toy_teardown(struct pf_probe *b)
{
	struct toy_probe *p = (struct toy_probe *)b;

	p->log->teardowns++;
	free(p->owned);
	p->owned = NULL;
}

static const struct pf_probe_class toy_class = {
	.kind = "toy",
	.size = sizeof(struct toy_probe),
	.deadline = toy_deadline,
	.conclude = toy_conclude,
	.teardown = toy_teardown,
};

static void on_done(void *arg, struct pf_result *res)
{
	struct log *l = arg;

	l->reports++;
	l->torn_before_report = l->teardowns > 0;
	l->reason = res->reason;
	strcpy(l->error, res->error);
	l->details_seen = res->details != NULL;
	cJSON_Delete(res->details);	/* done() takes the details */
	res->details = NULL;
}

static struct event_base *base;
static struct pf_env env;

static struct toy_probe *toy_new(struct log *l, uint64_t timeout_ms)
{
	struct toy_probe *p = pf_probe_new(&toy_class, &(struct pf_start){
		.env = &env, .timeout_ms = timeout_ms, .done = on_done, .arg = l });

	if (p) {
		p->log = l;
		p->owned = strdup("held");
	}
	return p;
}

static void spin(int turns)
{
	for (int i = 0; i < turns; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

static void test_end_once(void)
{
	struct log l = { 0 };
	struct toy_probe *p = toy_new(&l, 5000);

	PF_EXPECT(p != NULL);
	pf_probe_fail(&p->base, PF_REASON_AUTH, "no %s", "entry");
	pf_probe_end(&p->base);			/* ignored */
	pf_probe_fail(&p->base, PF_REASON_DNS, "late");	/* ignored */
	PF_EXPECT(l.reports == 1 && l.teardowns == 1 && l.concludes == 1);
	PF_EXPECT(!l.torn_before_report && l.details_seen);
	PF_EXPECT(l.reason == PF_REASON_AUTH);
	PF_EXPECT_STR(l.error, "no entry");
	spin(2);				/* the release */
	PF_EXPECT(l.reports == 1 && l.teardowns == 1);
}

static void step_then_end(struct pf_probe *b)
{
	struct toy_probe *p = (struct toy_probe *)b;

	p->log->steps++;
	pf_probe_end(b);
}

static void test_next_turn(void)
{
	struct log l = { 0 };
	struct toy_probe *p = toy_new(&l, 5000);

	pf_probe_next_turn(&p->base, step_then_end);
	PF_EXPECT(l.steps == 0 && l.reports == 0);	/* not from start() */
	spin(1);
	PF_EXPECT(l.steps == 1 && l.reports == 1 && l.reason == PF_REASON_NONE);
	spin(2);

	/* the deferred failure of start(): pf_probe_end as the step */
	memset(&l, 0, sizeof l);
	p = toy_new(&l, 5000);
	pf_probe_set(&p->base, PF_REASON_INTERNAL, "out of memory");
	pf_probe_next_turn(&p->base, pf_probe_end);
	PF_EXPECT(l.reports == 0);
	spin(2);
	PF_EXPECT(l.reports == 1 && l.reason == PF_REASON_INTERNAL);
}

static void test_deadline(void)
{
	struct log l = { 0 };
	struct toy_probe *p = toy_new(&l, 20);

	PF_EXPECT(p != NULL);
	event_base_dispatch(base);		/* until nothing is pending */
	PF_EXPECT(l.deadlines == 1 && l.reports == 1 && l.teardowns == 1);
	PF_EXPECT(l.reason == PF_REASON_TIMEOUT);
	PF_EXPECT(pf_probe_left_ms(&(struct pf_probe){ .timeout_ms = 0 }) == 0);
}

static void test_cancel(void)
{
	struct log l = { 0 };
	struct toy_probe *p = toy_new(&l, 20);

	pf_probe_next_turn(&p->base, step_then_end);
	pf_probe_cancel(&p->base);
	pf_probe_cancel(NULL);
	PF_EXPECT(l.teardowns == 1 && l.reports == 0 && l.concludes == 0);
	event_base_dispatch(base);		/* neither step nor deadline */
	PF_EXPECT(l.steps == 0 && l.deadlines == 0 && l.reports == 0);
}

int main(void)
{
	base = event_base_new();
	env.base = base;
	pf_test("one end: conclude, report, teardown; later ends ignored", test_end_once);
	pf_test("next-turn steps and deferred failures", test_next_turn);
	pf_test("the deadline names the phase, then ends", test_deadline);
	pf_test("cancel: teardown, no report, nothing fires", test_cancel);
	event_base_free(base);
	return pf_test_summary();
}
