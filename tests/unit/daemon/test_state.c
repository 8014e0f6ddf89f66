/* Unit tests for the check state machine (daemon/state.c) and built-in
 * hints (daemon/hints.c): thresholds, counters, freshness, hint precedence
 * and ownership of result details (run under ASan to catch leaks). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "pf_hint.h"

static struct pf_check_cfg make_cfg(unsigned fail_th, unsigned ok_th,
				    bool critical)
{
	struct pf_check_cfg c;

	memset(&c, 0, sizeof c);
	c.name = "db";
	c.interval_ms = 10000;
	c.timeout_ms = 5000;
	c.failure_threshold = fail_th;
	c.success_threshold = ok_th;
	c.critical = critical;
	return c;
}

/* Applies one probe with the given reason at monotonic time mono. */
static bool probe(struct check_state *st, const struct pf_check_cfg *cfg,
		  enum pf_reason r, double mono)
{
	struct pf_result res;
	struct timespec wall = { .tv_sec = 1700000000 + (time_t)(mono / 1000), .tv_nsec = 0 };

	pf_result_reset(&res);
	res.reason = r;
	if (r != PF_REASON_NONE)
		snprintf(res.error, sizeof res.error, "error %s", pf_reason_name(r));
	res.details = cJSON_CreateObject();
	cJSON_AddNumberToObject(res.details, "n", mono);
	return pf_state_apply(st, cfg, &res, 12.5, &wall, mono);
}

static void test_first_result_decides(void)
{
	struct pf_check_cfg cfg = make_cfg(3, 3, true);
	struct check_state st = { 0 };

	PF_EXPECT(st.status == PF_STATUS_UNKNOWN);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_TIMEOUT, 0) == true);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	PF_EXPECT(st.has_run && !st.has_success);
	pf_state_clear(&st);

	PF_EXPECT(probe(&st, &cfg, PF_REASON_NONE, 0) == true);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	PF_EXPECT(st.has_success);
	PF_EXPECT(st.duration_ms == 12.5);
	pf_state_clear(&st);
	PF_EXPECT(st.status == PF_STATUS_UNKNOWN && !st.has_run && st.runs == 0);
}

static void test_failure_threshold(void)
{
	struct pf_check_cfg cfg = make_cfg(3, 1, true);
	struct check_state st = { 0 };

	probe(&st, &cfg, PF_REASON_NONE, 0);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_CONNECT_REFUSED, 1) == false);
	PF_EXPECT(st.status == PF_STATUS_PASS && st.consecutive_failures == 1);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_CONNECT_REFUSED, 2) == false);
	PF_EXPECT(st.status == PF_STATUS_PASS && st.consecutive_failures == 2);
	/* a pass in between resets the count */
	probe(&st, &cfg, PF_REASON_NONE, 3);
	PF_EXPECT(st.consecutive_failures == 0);
	probe(&st, &cfg, PF_REASON_TIMEOUT, 4);
	probe(&st, &cfg, PF_REASON_TIMEOUT, 5);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_TIMEOUT, 6) == true);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	PF_EXPECT(st.consecutive_failures == 3);
	PF_EXPECT(st.last.reason == PF_REASON_TIMEOUT);
	PF_EXPECT_STR(st.last.error, "error timeout");
	/* one pass is enough with success_threshold 1 */
	PF_EXPECT(probe(&st, &cfg, PF_REASON_NONE, 7) == true);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	PF_EXPECT(st.last.reason == PF_REASON_NONE);
	pf_state_clear(&st);
}

static void test_success_threshold(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 2, true);
	struct check_state st = { 0 };

	probe(&st, &cfg, PF_REASON_MISSING_TABLE, 0);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_NONE, 1) == false);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	/* still failing: the failure's reason stays visible, details are new */
	PF_EXPECT(st.last.reason == PF_REASON_MISSING_TABLE);
	PF_EXPECT_STR(st.last.error, "error missing_table");
	PF_EXPECT(cJSON_GetObjectItem(st.last.details, "n")->valuedouble == 1);
	PF_EXPECT(st.consecutive_failures == 0 && st.consecutive_successes == 1);
	PF_EXPECT(st.has_success);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_NONE, 2) == true);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	PF_EXPECT(st.last.reason == PF_REASON_NONE);
	/* a single failure turns it back (failure_threshold 1) */
	PF_EXPECT(probe(&st, &cfg, PF_REASON_AUTH, 3) == true);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	/* pass, fail, pass: never two in a row, stays failing */
	probe(&st, &cfg, PF_REASON_NONE, 4);
	probe(&st, &cfg, PF_REASON_AUTH, 5);
	probe(&st, &cfg, PF_REASON_NONE, 6);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	pf_state_clear(&st);
}

static void test_warn_for_non_critical(void)
{
	struct pf_check_cfg cfg = make_cfg(2, 1, false);
	struct check_state st = { 0 };

	PF_EXPECT(probe(&st, &cfg, PF_REASON_DNS, 0) == true);
	PF_EXPECT(st.status == PF_STATUS_WARN);
	probe(&st, &cfg, PF_REASON_NONE, 1);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	probe(&st, &cfg, PF_REASON_DNS, 2);
	PF_EXPECT(st.status == PF_STATUS_PASS);
	PF_EXPECT(probe(&st, &cfg, PF_REASON_DNS, 3) == true);
	PF_EXPECT(st.status == PF_STATUS_WARN);
	/* warn -> warn is not a change */
	PF_EXPECT(probe(&st, &cfg, PF_REASON_DNS, 4) == false);
	pf_state_clear(&st);
}

static void test_counters(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 1, true);
	struct check_state st = { 0 };

	probe(&st, &cfg, PF_REASON_NONE, 0);
	probe(&st, &cfg, PF_REASON_TIMEOUT, 1);
	probe(&st, &cfg, PF_REASON_TIMEOUT, 2);
	probe(&st, &cfg, PF_REASON_AUTH, 3);
	probe(&st, &cfg, PF_REASON_NONE, 4);
	PF_EXPECT(st.runs == 5);
	PF_EXPECT(st.failures[PF_REASON_TIMEOUT] == 2);
	PF_EXPECT(st.failures[PF_REASON_AUTH] == 1);
	PF_EXPECT(st.failures[PF_REASON_NONE] == 0);
	PF_EXPECT(st.failures[PF_REASON_DNS] == 0);
	PF_EXPECT(st.last_success.tv_sec == 1700000000);
	PF_EXPECT(st.last_run_mono_ms == 4);
	pf_state_clear(&st);
}

static void test_freshness_boundary(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 1, true);
	struct check_state st = { 0 };

	/* never run: not fresh */
	PF_EXPECT(!pf_state_fresh(&st, &cfg, 0));
	probe(&st, &cfg, PF_REASON_NONE, 1000);
	/* 2 x 10s + 5s = 25s */
	PF_EXPECT(pf_state_fresh(&st, &cfg, 1000));
	PF_EXPECT(pf_state_fresh(&st, &cfg, 1000 + 24999.9));
	PF_EXPECT(!pf_state_fresh(&st, &cfg, 1000 + 25000));
	PF_EXPECT(!pf_state_fresh(&st, &cfg, 1000 + 60000));
	cfg.interval_ms = 100;
	cfg.timeout_ms = 50;
	PF_EXPECT(pf_state_fresh(&st, &cfg, 1249));
	PF_EXPECT(!pf_state_fresh(&st, &cfg, 1250));
	pf_state_clear(&st);
}

static void test_hint_precedence(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 1, true);
	struct check_state st = { 0 };
	struct pf_result res = { .reason = PF_REASON_MISSING_TABLE, .gauge = { NAN, NAN, NAN } };
	struct timespec wall = { 0 };

	PF_EXPECT(pf_state_hint(&st, &cfg) == NULL);
	probe(&st, &cfg, PF_REASON_NONE, 0);
	PF_EXPECT(pf_state_hint(&st, &cfg) == NULL);
	/* built-in when neither the kind nor the config says anything */
	probe(&st, &cfg, PF_REASON_MISSING_TABLE, 1);
	PF_EXPECT_STR(pf_state_hint(&st, &cfg),
		      pf_hint_builtin(PF_REASON_MISSING_TABLE));
	/* the kind's hint beats the built-in */
	snprintf(res.hint, sizeof res.hint, "run migrations for mobius_chat");
	pf_state_apply(&st, &cfg, &res, 1, &wall, 2);
	PF_EXPECT_STR(pf_state_hint(&st, &cfg), "run migrations for mobius_chat");
	/* the config's hints beat both, but only for their reason */
	cfg.hints = cJSON_Parse("{\"missing_table\":\"run make migrate-chat\","
				"\"auth\":\"rotate the secret\"}");
	PF_EXPECT_STR(pf_state_hint(&st, &cfg), "run make migrate-chat");
	probe(&st, &cfg, PF_REASON_TIMEOUT, 3);
	PF_EXPECT_STR(pf_state_hint(&st, &cfg), pf_hint_builtin(PF_REASON_TIMEOUT));
	probe(&st, &cfg, PF_REASON_AUTH, 4);
	PF_EXPECT_STR(pf_state_hint(&st, &cfg), "rotate the secret");
	cJSON_Delete(cfg.hints);
	pf_state_clear(&st);
}

static void test_details_ownership(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 1, true);
	struct check_state st = { 0 }, moved = { 0 };
	struct pf_result res = { .reason = PF_REASON_NONE, .gauge = { 42, NAN, NAN } };
	struct timespec wall = { .tv_sec = 5 };

	res.details = cJSON_CreateObject();
	cJSON_AddStringToObject(res.details, "k", "v");
	pf_state_apply(&st, &cfg, &res, 3, &wall, 10);
	PF_EXPECT(res.details == NULL);	/* taken */
	PF_EXPECT(st.last.details != NULL);
	PF_EXPECT(st.last.gauge[0] == 42);
	/* a result without details replaces (and frees) the old ones */
	pf_state_apply(&st, &cfg, &res, 3, &wall, 11);
	PF_EXPECT(st.last.details == NULL);
	probe(&st, &cfg, PF_REASON_NONE, 12);
	pf_state_move(&moved, &st);
	PF_EXPECT(st.last.details == NULL && st.runs == 0 && !st.has_run);
	PF_EXPECT(moved.last.details != NULL && moved.runs == 3);
	PF_EXPECT(moved.status == PF_STATUS_PASS);
	pf_state_clear(&st);
	pf_state_clear(&moved);
	PF_EXPECT(moved.last.details == NULL);
}

static void test_out_of_range_reason(void)
{
	struct pf_check_cfg cfg = make_cfg(1, 1, true);
	struct check_state st = { 0 };
	struct pf_result res = { .reason = (enum pf_reason)99, .gauge = { NAN, NAN, NAN } };
	struct timespec wall = { 0 };

	pf_state_apply(&st, &cfg, &res, 1, &wall, 1);
	PF_EXPECT(st.status == PF_STATUS_FAIL);
	PF_EXPECT(st.last.reason == PF_REASON_INTERNAL);
	PF_EXPECT(st.failures[PF_REASON_INTERNAL] == 1);
	pf_state_clear(&st);
}

int main(void)
{
	pf_test("first result decides", test_first_result_decides);
	pf_test("failure threshold", test_failure_threshold);
	pf_test("success threshold", test_success_threshold);
	pf_test("warn for non-critical", test_warn_for_non_critical);
	pf_test("counters per reason", test_counters);
	pf_test("freshness boundary", test_freshness_boundary);
	pf_test("hint precedence", test_hint_precedence);
	pf_test("details ownership", test_details_ownership);
	pf_test("out-of-range reason", test_out_of_range_reason);
	return pf_test_summary();
}
