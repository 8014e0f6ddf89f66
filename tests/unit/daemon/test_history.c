/* Unit tests of a check's history (daemon/history.c): the rings of runs
 * and transitions, and the uptime ratios as time moves on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "history.h"

#define T0 1700000000

static void runs_ring_keeps_the_last_100(void)
{
	struct pf_history *h = NULL;
	struct pf_history_run r;

	for (int i = 0; i < 250; i++)
		PF_EXPECT(pf_history_add(&h, T0 + i, i % 3 ? PF_STATUS_PASS :
					 PF_STATUS_FAIL, i % 3 ? PF_STATUS_PASS : PF_STATUS_FAIL,
					 i % 3 ? PF_REASON_NONE : PF_REASON_DNS,
					 i % 3 != 0, (double)i));
	PF_EXPECT(h && h->n_runs == PF_HISTORY_RUNS);
	PF_EXPECT(pf_history_run_at(h, 0, &r) && r.duration_ms == 249.0f);
	PF_EXPECT(r.t == T0 + 249 && r.status == PF_STATUS_FAIL && r.reason == PF_REASON_DNS);
	PF_EXPECT(pf_history_run_at(h, 1, &r) && r.status == PF_STATUS_PASS && r.reason == 0);
	PF_EXPECT(pf_history_run_at(h, 99, &r) && r.duration_ms == 150.0f);
	PF_EXPECT(!pf_history_run_at(h, 100, &r));
	PF_EXPECT(h->n_trans == 0);
	free(h);
}

static void transitions_ring_keeps_the_last_20(void)
{
	struct pf_history *h = NULL;
	enum pf_status s = PF_STATUS_UNKNOWN;
	cJSON *o = cJSON_CreateObject(), *t;

	for (int i = 0; i < 50; i++) {
		enum pf_status next = i % 2 ? PF_STATUS_PASS : PF_STATUS_FAIL;

		pf_history_add(&h, T0 + i, s, next, i % 2 ? PF_REASON_NONE :
			       PF_REASON_TIMEOUT, i % 2, 1.0);
		s = next;
	}
	PF_EXPECT(h->n_trans == PF_HISTORY_TRANSITIONS);
	pf_history_json(h, T0 + 60, o);
	t = cJSON_GetObjectItem(o, "transitions");
	PF_EXPECT(cJSON_GetArraySize(t) == 20);
	/* oldest first: the 31st change (i = 30, pass -> fail, timeout) */
	PF_EXPECT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "to")->valuestring,
		      "fail");
	PF_EXPECT_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(t, 0), "reason")->valuestring,
		      "timeout");
	PF_EXPECT(cJSON_GetArraySize(cJSON_GetObjectItem(o, "history")) == 50);
	cJSON_Delete(o);
	free(h);
}

static void uptime_windows(void)
{
	struct pf_history *h = NULL;

	PF_EXPECT(isnan(pf_history_uptime(NULL, T0, 3600)));
	/* two days ago: an hour of failures */
	for (int i = 0; i < 60; i++)
		pf_history_add(&h, T0 + i * 60, PF_STATUS_FAIL, PF_STATUS_FAIL,
			       PF_REASON_TIMEOUT, false, 1.0);
	/* the last hour: 3 of 4 pass */
	for (int i = 0; i < 40; i++)
		pf_history_add(&h, T0 + 2 * 86400 + i * 60, PF_STATUS_PASS,
			       PF_STATUS_PASS, PF_REASON_NONE, i % 4 != 0, 1.0);
	double now = T0 + 2 * 86400 + 40 * 60;
	PF_EXPECT(fabs(pf_history_uptime(h, (time_t)now, 3600) - 0.75) < 0.001);
	PF_EXPECT(fabs(pf_history_uptime(h, (time_t)now, 86400) - 0.75) < 0.001);
	PF_EXPECT(fabs(pf_history_uptime(h, (time_t)now, 604800) - 30.0 / 100.0) < 0.001);
	/* the week is counted in 6-hour buckets: the failures still count
	 * six days after them, and no longer a week and 6 hours after */
	PF_EXPECT(fabs(pf_history_uptime(h, T0 + 6 * 86400, 604800) - 30.0 / 100.0) < 0.001);
	PF_EXPECT(isnan(pf_history_uptime(h, T0 + 6 * 86400, 86400)));
	PF_EXPECT(fabs(pf_history_uptime(h, T0 + 7 * 86400 + 6 * 3600, 604800) - 0.75) < 0.001);
	/* eight days on, nothing ran: no ratio at all */
	PF_EXPECT(isnan(pf_history_uptime(h, (time_t)now + 8 * 86400, 604800)));
	/* a probe after a long silence clears the stale buckets */
	pf_history_add(&h, (time_t)now + 8 * 86400, PF_STATUS_PASS, PF_STATUS_PASS,
		       PF_REASON_NONE, true, 1.0);
	PF_EXPECT(pf_history_uptime(h, (time_t)now + 8 * 86400, 604800) == 1.0);
	free(h);
}

int main(void)
{
	pf_test("runs: the last 100", runs_ring_keeps_the_last_100);
	pf_test("transitions: the last 20, oldest first", transitions_ring_keeps_the_last_20);
	pf_test("uptime: 1h, 24h, 7d", uptime_windows);
	return pf_test_summary();
}
